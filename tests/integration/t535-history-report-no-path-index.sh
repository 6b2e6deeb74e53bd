#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# session_paths has no index by path (a recording would pay a page per path it touched): a
# report on a few paths searches session by session, one on many paths copies the rows into
# a temporary table indexed by path; both give the same answers. A file made by an older
# magicpak, with session_paths_by_path, reports the same and loses the index on its next
# record, with every row kept.
. "$(dirname "$0")/../lib.sh"
san_no_leak_scan
require_sqlite3
require_ptrace
db=$tmp/h.db
mkdir -p "$tmp/miss"

# 300 sessions, each looking up two paths no other session looks up (and failing: ENOENT
# rows are summary rows too) besides what the shell shares with the others.
for i in $(seq 300); do
	"$TOOL" record --db "$db" --label "run-$i" -- /bin/sh -c \
		"test -e $tmp/miss/a$i; test -e $tmp/miss/b$i; cat /etc/hostname" >/dev/null 2>"$tmp/rec.err" ||
		{ echo "FAIL: cannot record session $i:"; cat "$tmp/rec.err"; exit 1; }
done
assert_eq "a new file: no index on session_paths" \
	"$(sql "$db" "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'session_paths'")" 0
assert_eq "300 sessions, each with its summary rows" \
	"$(sql "$db" "SELECT count(DISTINCT session_id) FROM session_paths")" 300

# Many paths times many sessions: copied and indexed.
run_tool -v -v report --db "$db" --json
assert_rc "report (every path): exit 0" 0
all=$out
check "report (every path): rows copied and indexed by path" grep -q 'rows copied and indexed by path' "$err"
json_check "report (every path): a2 looked up by run-2 only, never found" "$all" \
	"[(p['runs'], p['missing_in']) for p in d if p['path'] == '$tmp/miss/a2'] == [([], [2])]"
json_check "report (every path): /etc/hostname read by all 300 runs" "$all" \
	"[p['runs'] for p in d if p['path'] == '/etc/hostname'] == [list(range(1, 301))]"
json_check "report (every path): one entry per path that a session touched" "$all" \
	"len(d) == $(sql "$db" "SELECT count(DISTINCT path_id) FROM session_paths")"

# One path: searched session by session, the same entry.
for p in /etc/hostname "$tmp/miss/a2" "$tmp/miss/b300"; do
	run_tool -v -v report --db "$db" --json --path "$p"
	assert_rc "report --path $p: exit 0" 0
	check "report --path $p: searched session by session" grep -q 'searched session by session' "$err"
	printf '%s' "$all" >"$tmp/all.json"
	json_check "report --path $p: the same entry as in the report on every path" "$out" \
		"d == [p for p in json.load(open('$tmp/all.json')) if p['path'] == '$p']"
done

# A glob over the 600 lookups: copied; two sessions: searched; the same answers.
run_tool -v -v report --db "$db" --json --path "$tmp/miss/*"
assert_rc "report --path miss/*: exit 0" 0
check "report --path miss/* (600 paths x 300 sessions): copied" grep -q 'rows copied' "$err"
json_check "report --path miss/*: 600 paths, each missing in one run" "$out" \
	"len(d) == 600 and all(len(p['missing_in']) == 1 and not p['runs'] for p in d)"
run_tool -v -v report --db "$db" --json --session run-7 --session 150
assert_rc "report --session run-7 --session 150: exit 0" 0
check "report on two sessions: searched" grep -q 'searched session by session' "$err"
json_check "report on two sessions: a7, b7, a150, b150 missing in their own run" "$out" \
	"sorted((p['path'].rsplit('/', 1)[1], p['missing_in']) for p in d if '/miss/' in p['path']) == [('a150', [150]), ('a7', [7]), ('b150', [150]), ('b7', [7])]"
json_check "report on two sessions: /etc/hostname in runs 7 and 150" "$out" \
	"[p['runs'] for p in d if p['path'] == '/etc/hostname'] == [[7, 150]]"

# A session never ended (killed: no summary rows) is read from its accesses alongside either
# way: searched (one path, two sessions) and copied (every path).
live=$tmp/live.db
sqlite3 "$db" ".backup '$live'"
sql "$live" "UPDATE sessions SET ended_at = NULL, complete = 0, incomplete_reason = 'running'
	WHERE id = 5; DELETE FROM session_paths WHERE session_id = 5"
run_tool -v -v report --db "$live" --json --path "$tmp/miss/a5"
check "session 5 never ended, report --path a5: searched" grep -q 'searched session by session' "$err"
json_check "session 5 never ended, report --path a5: missing in run 5" "$out" \
	"[(p['path'], p['missing_in']) for p in d] == [('$tmp/miss/a5', [5])]"
run_tool report --db "$live" --json --session 5 --session 6 --path "$tmp/miss/*"
json_check "session 5 never ended, report on sessions 5 and 6: a5, b5, a6, b6" "$out" \
	"sorted((p['path'].rsplit('/', 1)[1], p['missing_in']) for p in d) == [('a5', [5]), ('a6', [6]), ('b5', [5]), ('b6', [6])]"
run_tool -v -v report --db "$live" --json
check "session 5 never ended, report on every path: copied" grep -q 'rows copied' "$err"
assert_eq "session 5 never ended, report on every path: the same as before it was killed" "$out" "$all"

# A file made before: the index is there. Reports are the same; the next record drops it.
old=$tmp/old.db
sqlite3 "$db" ".backup '$old'"
sql "$old" "CREATE INDEX session_paths_by_path ON session_paths (path_id, session_id)"
rows=$(sql "$old" "SELECT count(*) FROM session_paths")
run_tool report --db "$old" --json
assert_rc "report on a file with the old index: exit 0" 0
assert_eq "report on a file with the old index: the same" "$out" "$all"
check "a report (read-only) leaves the index" test "$(sql "$old" "SELECT count(*) FROM sqlite_master WHERE name = 'session_paths_by_path'")" = 1
"$TOOL" record --db "$old" -- /bin/cat /etc/hostname >/dev/null 2>"$tmp/rec.err" ||
	{ echo "FAIL: cannot record into the old file:"; cat "$tmp/rec.err"; exit 1; }
assert_eq "the next record drops session_paths_by_path" \
	"$(sql "$old" "SELECT count(*) FROM sqlite_master WHERE name = 'session_paths_by_path'")" 0
assert_eq "every summary row kept, the new session's added" \
	"$(sql "$old" "SELECT count(*) FROM session_paths WHERE session_id <= 300")" "$rows"
check "the new session has its summary rows" test "$(sql "$old" "SELECT count(*) FROM session_paths WHERE session_id = 301")" -gt 0
assert_eq "the schema version stays 2" "$(sql "$old" "PRAGMA user_version")" 2
assert_eq "integrity_check" "$(sql "$old" "PRAGMA integrity_check")" ok
run_tool report --db "$old" --json --session 1 --session 200 --path "$tmp/miss/*"
json_check "after: the same answers for sessions 1 and 200" "$out" \
	"sorted((p['path'].rsplit('/', 1)[1], p['missing_in']) for p in d) == [('a1', [1]), ('a200', [200]), ('b1', [1]), ('b200', [200])]"
done_testing
