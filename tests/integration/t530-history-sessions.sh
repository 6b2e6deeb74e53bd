#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# magicpak sessions: the readable table and --json (parsed with Python's json), with labels, exit
# statuses, files, source and completeness; the default database ($MAGICPAK_DB, else ./magicpak.db).
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
require_cc
record_fixture readwrite
db=$tmp/h.db
history_db "$db"

run_tool sessions --db "$db"
assert_rc "sessions: exit 0" 0
printf '%s\n' "$out" | sed 's/^/    /'
assert_eq "sessions: nothing on stderr" "$(cat "$err")" ""
assert_eq "sessions: a header and three rows" "$(printf '%s\n' "$out" | wc -l)" 4
check "sessions: header names every column" \
	grep -qE '^ID +STARTED +LABEL +COMMAND +EXIT +FILES +SOURCE +HOST +COMPLETE$' <<<"$(head -n1 <<<"$out")"
check "sessions: row 1 is 'first', cat A, exit 0, ptrace, complete" \
	grep -qE "^ *1 +[0-9-]+T[0-9:]+ +first +/bin/cat $tmp/A.txt +0 +[0-9]+ +ptrace +[^ ]+ +yes$" <<<"$out"
check "sessions: row 2 is 'second', the fixture, exit 0" \
	grep -qE "^ *2 +[^ ]+ +second +$tmp/readwrite $tmp/A.txt $tmp/B.txt +0 " <<<"$out"
check "sessions: row 3 is 'first' again, exit 1" grep -qE "^ *3 +[^ ]+ +first +/bin/cat .* +1 +[0-9]+ +ptrace" <<<"$out"
# Columns line up: COMMAND starts at the same offset on every line.
check "sessions: columns aligned (COMMAND at one offset)" test "$(awk '{ print index($0, ($1 == "ID") ? "COMMAND" : "/") }' <<<"$out" | sort -u | wc -l)" = 1

run_tool sessions --db "$db" --json
assert_rc "sessions --json: exit 0" 0
json_check "sessions --json: an array of 3 objects" "$out" 'isinstance(d, list) and len(d) == 3'
json_check "sessions --json: ids, labels, exit statuses" "$out" \
	'[(s["id"], s["label"], s["exit_status"]) for s in d] == [(1, "first", 0), (2, "second", 0), (3, "first", 1)]'
json_check "sessions --json: argv is the JSON array, command the joined text" "$out" \
	"d[0]['argv'] == ['/bin/cat', '$tmp/A.txt'] and d[0]['command'] == '/bin/cat $tmp/A.txt'"
json_check "sessions --json: complete, no reason, source ptrace, files > 0, started_at ISO" "$out" \
	'all(s["complete"] is True and s["incomplete_reason"] is None and s["source"] == "ptrace" and s["files"] > 0 and s["started_at"].endswith("Z") for s in d)'
json_check "sessions --json: recorded here (no origin)" "$out" 'all(s["origin_db"] is None and s["merged_from"] is None for s in d)'

# A command with spaces and quotes is shown shell-quoted; an incomplete session shows its reason.
sql "$db" "update sessions set argv = json_array('/bin/echo', 'a b', 'it''s', ''), complete = 0, incomplete_reason = 'killed' where id = 3"
run_tool sessions --db "$db"
check "sessions: arguments shell-quoted" grep -qF "/bin/echo 'a b' 'it'\"'\"'s' ''" <<<"$out"
check "sessions: incomplete with its reason" grep -qE '^ *3 .* no \(killed\)$' <<<"$out"
run_tool sessions --db "$db" --json
json_check "sessions --json: incomplete with its reason" "$out" 'd[2]["complete"] is False and d[2]["incomplete_reason"] == "killed"'

# Default database: $MAGICPAK_DB, else ./magicpak.db.
mkdir "$tmp/cwd" && cp "$db" "$tmp/cwd/magicpak.db"
out=$(cd "$tmp/cwd" && MAGICPAK_DB= "$TOOL" sessions --json 2>"$err"); rc=$?
json_check "sessions: ./magicpak.db by default" "$out" 'len(d) == 3'
out=$(MAGICPAK_DB=$db "$TOOL" sessions --json 2>"$err"); rc=$?
json_check "sessions: \$MAGICPAK_DB" "$out" 'len(d) == 3'

# An empty database: a header only, and [].
record_rc "$tmp/e.db" /bin/true
sql "$tmp/e.db" 'delete from sessions'
run_tool sessions --db "$tmp/e.db"
assert_eq "sessions: no session, the header only" "$(printf '%s\n' "$out" | wc -l)" 1
run_tool sessions --db "$tmp/e.db" --json
json_check "sessions --json: no session, []" "$out" 'd == []'
# a directory named as the history: said so (SQLite calls it a disk I/O error)
mkdir "$tmp/dir.db"
run_tool sessions --db "$tmp/dir.db"
assert_rc "sessions --db DIRECTORY: exit 1" 1
assert_one_error_line "sessions --db DIRECTORY: one line, 'Is a directory'" "$err" "cannot open '$tmp/dir.db': Is a directory"
done_testing
