#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every ```sql block of README.md's "The history database" section, run against a database recorded
# from fixtures of known behaviour (tests/lib.sh history_db: 1 cat A, 2 readwrite A B, 3 cat A C;
# then 4 cat A again with --hash, 5 cat A with --cross-check, ptrace and preload together),
# each query (a '-- ' title and the statement after it) checked by its title. A query the README
# gains without a check here fails the test, so the README cannot drift from the schema.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
require_cc
require_preload
record_fixture readwrite
db=$tmp/h.db
history_db "$db"
record_rc "$db" --label hashed --hash /bin/cat "$tmp/A.txt"
[ "$rc" = 0 ] || { echo "FAIL: cannot record session 4:"; cat "$err"; exit 1; }
record_rc "$db" --label both --cross-check /bin/cat "$tmp/A.txt"
[ "$rc" = 0 ] || { echo "FAIL: cannot record session 5:"; cat "$err"; exit 1; }
cat_path=$(sql "$db" "select path from file_accesses where session_id = 1 and op = 'exec' and errno = 0")
README=$TESTS_DIR/../README.md
sed -n '/^## The history database/,/^## /p' "$README" | sed -n '/^```sql$/,/^```$/{/^```/d;p}' >"$tmp/q.sql"
nq=$(grep -c '^-- ' "$tmp/q.sql")
check "README: at least five queries in the history section (found $nq)" test "$nq" -ge 5
check "README: every query runs on the current schema" sqlite3 -bail "$db" <"$tmp/q.sql" >/dev/null
# The README's example session is 3; here it is session 2 (readwrite).
for ((i = 1; i <= nq; i++)); do
	title=$(grep '^-- ' "$tmp/q.sql" | sed -n "${i}p")
	r=$(awk -v n="$i" '/^-- /{k++} k==n' "$tmp/q.sql" | sed 's/session_id = 3/session_id = 2/g' | sql "$db" 2>&1)
	echo "$title"; printf '%s\n' "$r" | head -8 | sed 's/^/    /'
	case $title in
	"-- Which files did run 3 read?")
		has_row "$title: A" "$r" "$tmp/A.txt"
		lacks_row "$title: not B (written)" "$r" "$tmp/B.txt" ;;
	"-- Which files did every run use?")
		has_row "$title: A" "$r" "$tmp/A.txt"
		lacks_row "$title: not B (run 2 only)" "$r" "$tmp/B.txt" ;;
	"-- Which runs looked for a shared library and never found it?")
		assert_eq "$title: run 2, libmagicpak_zz_missing.so.1, nothing else" "$r" "2|libmagicpak_zz_missing.so.1" ;;
	"-- Which files did the command write or change?")
		has_row "$title: B by open" "$r" "$tmp/B.txt|open"
		check "$title: not A" sh -c '! grep -q "^$1|" <<EOT
$2
EOT' sh "$tmp/A.txt" "$r" ;;
	"-- Which executables ran, and how many times?")
		check "$title: /bin/true once" grep -qE '^(/usr)?/bin/true\|1$' <<<"$r"
		has_row "$title: the fixture once" "$r" "$tmp/readwrite|1"
		r5=$(awk -v n="$i" '/^-- /{k++} k==n' "$tmp/q.sql" | sed 's/session_id = 3/session_id = 5/g' | sql "$db" 2>&1)
		assert_eq "$title: cat once in run 5, recorded by ptrace and preload at once" "$r5" "$cat_path|1" ;;
	"-- Which sessions came from which host and database?")
		check "$title: three local sessions" grep -qE '^1\|[^|]*\|' <<<"$r" ;;
	"-- Which files changed between runs?")
		paths=$(cut -d'|' -f1 <<<"$r")
		has_row "$title: A (sizes 4 and 5)" "$paths" "$tmp/A.txt"
		lacks_row "$title: not cat, the same file hashed in run 4 and not in the others" "$paths" "$cat_path" ;;
	*)
		fail "no check for the README query '$title': add one to $(basename "$0")" ;;
	esac
done
done_testing
