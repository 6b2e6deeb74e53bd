#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# magicpak record, the basics: `record -- /usr/bin/python3 -c 'import json'` gives one complete ptrace
# session with the right argv and cwd, its files (python3, libc, json/__init__.py) and the exec; then the
# README's sqlite3 questions, copied from README.md, answer right on a database of known content.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3"
db=$tmp/basic.db

mkdir "$tmp/cwd" && cd "$tmp/cwd" || exit 1
record_rc "$db" /usr/bin/python3 -c 'import json'
cd "$tmp" || exit 1
assert_rc "python3 -c 'import json': exit 0" 0
assert_eq "nothing on stderr" "$(cat "$err")" ""
assert_eq "one session" "$(sql "$db" 'select count(*) from sessions')" 1
assert_eq "session: complete=1, source ptrace, exit_status 0, no incomplete_reason" \
	"$(sql "$db" 'select complete, source, exit_status, ifnull(incomplete_reason, "") from sessions')" "1|ptrace|0|"
assert_eq "session: argv is the JSON array of the command" \
	"$(sql "$db" 'select json(argv) from sessions')" '["/usr/bin/python3","-c","import json"]'
assert_eq "session: cwd is where record ran" "$(sql "$db" 'select cwd from sessions')" "$tmp/cwd"
check "session: started_at and ended_at are ISO-8601 UTC with milliseconds, ended >= started" \
	test "$(sql "$db" "select started_at glob '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'
		and ended_at glob '[0-9][0-9][0-9][0-9]-*Z' and ended_at >= started_at from sessions")" = 1
check "session: events, files and processes counted (> 0)" \
	test "$(sql "$db" 'select events > 0 and files > 0 and processes >= 1 from sessions')" = 1
check "session: host is set" test -n "$(sql "$db" 'select host from sessions')"

sf=$(sql "$db" 'select path from session_files where session_id = 1')
has_row "session_files has /usr/bin/python3" "$sf" /usr/bin/python3
check "session_files has libc (…/libc.so.6)" grep -qE '^/(usr/)?lib/x86_64-linux-gnu/libc\.so\.6$' <<<"$sf"
check "session_files has json/__init__.py" grep -qE '^/usr/lib/python3[.0-9]*/json/__init__\.py$' <<<"$sf"
has_row "file_accesses has the exec of /usr/bin/python3 (pid, errno 0, source ptrace)" \
	"$(sql "$db" "select op || ' ' || path || ' ' || errno || ' ' || source || ' ' || (pid > 0) from file_accesses where session_id = 1")" \
	"exec /usr/bin/python3 0 ptrace 1"
assert_eq "processes: one, running /usr/bin/python3, exit 0, cwd $tmp/cwd" \
	"$(sql "$db" 'select executable, exit_status, cwd from processes where session_id = 1')" "/usr/bin/python3|0|$tmp/cwd"
assert_eq "processes: its argv" "$(sql "$db" 'select json(argv) from processes where session_id = 1')" \
	'["/usr/bin/python3","-c","import json"]'

# --- The README's questions, on a database of known content ---
require_cc
record_fixture readwrite
echo a >"$tmp/A.txt"
qdb=$tmp/q.db
record_rc "$qdb" /bin/cat "$tmp/A.txt"                # session 1 reads A too
assert_rc "cat A: exit 0" 0
record_rc "$qdb" "$tmp/readwrite" "$tmp/A.txt" "$tmp/B.txt"   # session 2: reads A, writes B, misses a .so, execs true
assert_rc "readwrite: exit 0" 0
assert_eq "two complete sessions" "$(sql "$qdb" 'select count(*), sum(complete) from sessions')" "2|2"

# The five queries, copied from README.md: each '-- ' comment line and the statement after it.
README=$TESTS_DIR/../README.md
sed -n '/^## The history database/,/^## /p' "$README" | sed -n '/^```sql$/,/^```$/p' | sed '1d;$d' >"$tmp/q.sql"
nq=$(grep -c '^-- ' "$tmp/q.sql")
check "README: at least five queries in the history database section (found $nq)" test "$nq" -ge 5
# query N: the Nth query, with the README's example session (3) replaced by session 2.
query() {
	awk -v n="$1" '/^-- /{k++} k==n' "$tmp/q.sql" | sed 's/session_id = 3/session_id = 2/g' | sql "$qdb"
}
qtitle() { grep '^-- ' "$tmp/q.sql" | sed -n "${1}p"; }
r=$(query 1)
echo "$(qtitle 1)"; printf '%s\n' "$r" | sed 's/^/    /' | head -20
has_row "query 1 (files read): A" "$r" "$tmp/A.txt"
lacks_row "query 1 (files read): not B (written)" "$r" "$tmp/B.txt"
check "query 1 (files read): libc" grep -q 'libc\.so\.6$' <<<"$r"
r=$(query 2)
echo "$(qtitle 2)"; printf '%s\n' "$r" | sed 's/^/    /' | head -20
has_row "query 2 (used by every run): A" "$r" "$tmp/A.txt"
lacks_row "query 2 (used by every run): not B (only session 2)" "$r" "$tmp/B.txt"
lacks_row "query 2 (used by every run): not the fixture (only session 2)" "$r" "$tmp/readwrite"
r=$(query 3)
echo "$(qtitle 3)"; printf '%s\n' "$r" | sed 's/^/    /' | head -20
has_row "query 3 (missing library): session 2, libmagicpak_zz_missing.so.1" "$r" "2|libmagicpak_zz_missing.so.1"
check "query 3 (missing library): nothing for session 1" sh -c '! printf "%s\n" "$1" | grep -q "^1|"' sh "$r"
r=$(query 4)
echo "$(qtitle 4)"; printf '%s\n' "$r" | sed 's/^/    /' | head -20
has_row "query 4 (written): B, by open" "$r" "$tmp/B.txt|open"
check "query 4 (written): not A" sh -c '! printf "%s\n" "$1" | grep -q "^$2|"' sh "$r" "$tmp/A.txt"
r=$(query 5)
echo "$(qtitle 5)"; printf '%s\n' "$r" | sed 's/^/    /' | head -20
check "query 5 (executables): /bin/true ran once" grep -qE '^(/usr)?/bin/true\|1(\||$)' <<<"$r"
# The fixture ran too (then replaced itself with /bin/true by execve): "which executables ran" must list it.
check "query 5 (executables): the fixture $tmp/readwrite, which ran and then exec'd /bin/true, is listed once" \
	grep -qE "^$tmp/readwrite\|1(\||$)" <<<"$r"
check "query 5 (executables): nothing else but the fixture and true" \
	sh -c '! printf "%s\n" "$1" | grep -vE "^((/usr)?/bin/true|$2)\|"' sh "$r" "$tmp/readwrite"
done_testing
