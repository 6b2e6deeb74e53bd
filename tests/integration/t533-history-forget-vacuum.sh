#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: SQL-06.
# magicpak forget --session ... deletes sessions with every row (counted with sqlite3 before and
# after); magicpak vacuum drops paths nothing refers to and shrinks the file. Neither makes a
# history of a missing or empty file.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
require_cc
record_fixture readwrite
db=$tmp/h.db
history_db "$db"
record_rc "$db" --label big /usr/bin/find /usr/share -maxdepth 3
[ "$rc" = 0 ] || { echo "FAIL: cannot record find"; cat "$err"; exit 1; }
rows() { # rows SESSION: its accesses, batches, versions, processes
	sql "$db" "select (select count(*) from file_accesses where session_id = $1) || ' ' ||
		(select count(*) from access_batches where session_id = $1) || ' ' ||
		(select count(*) from file_versions where session_id = $1) || ' ' ||
		(select count(*) from processes where session_id = $1)"
}
total=$(sql "$db" "select count(*) from accesses")
r2=$(rows 2) r4=$(rows 4)
check "session 2 has rows ($r2)" test "${r2%% *}" -gt 0
n2=${r2%% *} n4=${r4%% *}

run_tool forget --db "$db" --session second
assert_rc "forget --session second: exit 0" 0
assert_eq "forget: says what it deleted" "$out" "forgot session 2"
assert_eq "forget: session 2 gone" "$(sql "$db" "select group_concat(id) from (select id from sessions order by id)")" "1,3,4"
assert_eq "forget: no access, batch, version or process of session 2 left" "$(rows 2)" "0 0 0 0"
assert_eq "forget: exactly its access rows deleted" "$(sql "$db" "select count(*) from accesses")" "$((total - n2))"
assert_eq "forget: session 4 untouched" "$(rows 4)" "$r4"
assert_eq "forget: no orphan access rows" \
	"$(sql "$db" "select count(*) from accesses a where not exists (select 1 from access_batches b where a.id between b.first_id and b.last_id)")" 0

run_tool forget --db "$db" --session last --session 1
assert_rc "forget --session last --session 1: exit 0" 0
assert_eq "forget: two at once" "$(sql "$db" "select group_concat(id) from sessions")" "3"
assert_eq "forget: only session 3's rows remain" "$(sql "$db" "select count(*) from accesses")" "$(sql "$db" "select count(*) from file_accesses where session_id = 3")"

# A spec that matches nothing: nothing deleted, one error line, exit 1.
run_tool forget --db "$db" --session 3 --session nosuch
assert_rc "forget of an unknown label: exit 1" 1
assert_one_error_line "forget of an unknown label: one error line" "$err" "nosuch"
assert_eq "forget of an unknown label: session 3 kept (specs resolved before deleting)" "$(sql "$db" "select count(*) from sessions")" 1
run_tool forget --db "$db"
assert_rc "forget without --session: exit 2" 2

# forget and vacuum make no history where there is none: a missing file stays missing and an
# empty one empty (as sessions, report and diff refuse them), with one line naming the file.
on_db() { # on_db CMD DB: run_tool forget --db DB --session 1, or vacuum --db DB
	if [ "$1" = forget ]; then run_tool forget --db "$2" --session 1; else run_tool vacuum --db "$2"; fi
}
for c in forget vacuum; do
	on_db "$c" "$tmp/none.db"
	check "$c of a missing file: exit 1, nothing created" \
		test "$rc" = 1 -a -z "$(cd "$tmp" && ls -d none.db* 2>/dev/null)"
	assert_one_error_line "$c of a missing file: one line naming it" "$err" \
		"cannot open '$tmp/none.db': No such file or directory"
	: >"$tmp/empty.db"
	on_db "$c" "$tmp/empty.db"
	check "$c of an empty file: exit 1, the file still empty, no -wal or -shm" \
		test "$rc" = 1 -a ! -s "$tmp/empty.db" -a -z "$(cd "$tmp" && ls -d empty.db-* 2>/dev/null)"
	assert_one_error_line "$c of an empty file: one line naming it" "$err" \
		"'$tmp/empty.db' is not a magicpak database (it is empty)"
	rm -f "$tmp"/empty.db* "$tmp"/none.db*
done

# vacuum: the paths only the forgotten sessions used are dropped, and the file shrinks.
paths_before=$(sql "$db" "select count(*) from paths")
size_before=$(( $(stat -c %s "$db") + $(stat -c %s "$db-wal" 2>/dev/null || echo 0) ))
run_tool vacuum --db "$db"
assert_rc "vacuum: exit 0" 0
echo "    $out"
size_after=$(( $(stat -c %s "$db") + $(stat -c %s "$db-wal" 2>/dev/null || echo 0) ))
check "vacuum: the file shrank ($size_before -> $size_after bytes)" test "$size_after" -lt "$size_before"
check "vacuum: to less than half" test "$((size_after * 2))" -lt "$size_before"
assert_eq "vacuum: only used paths left" "$(sql "$db" "select count(*) from paths p where not exists (select 1 from accesses a where a.path_id = p.id) and not exists (select 1 from file_versions v where v.path_id = p.id)")" 0
check "vacuum: paths dropped ($paths_before -> $(sql "$db" "select count(*) from paths"))" test "$(sql "$db" "select count(*) from paths")" -lt "$paths_before"
check "vacuum: reports the number of paths dropped" grep -qE "[1-9][0-9]* unused paths? dropped" <<<"$out"
assert_eq "vacuum: integrity" "$(sql "$db" "pragma integrity_check")" ok
run_tool report --db "$db" --json
json_check "vacuum: session 3 still reads A" "$out" "[p['runs'] for p in d if p['path'] == '$tmp/A.txt'] == [[3]]"

# A session that may still be recording keeps its paths (its writer holds their ids).
sql "$db" "update sessions set complete = 0, incomplete_reason = 'running' where id = 3; insert into paths (path) values ('/unused')"
run_tool vacuum --db "$db"
assert_rc "vacuum with a running session: exit 0" 0
check "vacuum with a running session: warns" grep -q "may still be recording" "$err"
assert_eq "vacuum with a running session: unused path kept" "$(sql "$db" "select count(*) from paths where path = '/unused'")" 1

# At scale: a session of 30,000 paths of its own forgotten, beside one of 30,000 others. Each
# dropped path used to be checked by SQLite against session_paths (no index by path): one
# scan of the table a path, minutes here (run_tool's 20 s kill says so).
cat >"$tmp/many.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
int main(int argc, char **argv)
{
	char p[256];
	struct stat st;
	for (int i = 0; i < atoi(argv[2]); i++) {
		snprintf(p, sizeof(p), "%s/d%d/f%d", argv[1], i / 100, i);
		stat(p, &st);
	}
	return 0;
}
C
cc_quiet -O2 -o "$tmp/many" "$tmp/many.c" || { echo "FAIL: cannot build many.c"; exit 1; }
big=$tmp/big.db
record_rc "$big" --label a "$tmp/many" /nonexistent-a 30000
assert_rc "record: 30,000 paths of its own" 0
record_rc "$big" --label b "$tmp/many" /nonexistent-b 30000
assert_rc "record: 30,000 other paths" 0
paths_before=$(sql "$big" "select count(*) from paths")
run_tool forget --db "$big" --session a
assert_rc "forget a: exit 0" 0
run_tool vacuum --db "$big"
assert_rc "vacuum after forgetting 30,000 paths' session: exit 0 (not killed)" 0
check "vacuum: says 30000 unused paths dropped" grep -q "30000 unused paths dropped" <<<"$out"
assert_eq "vacuum: exactly those paths gone" "$(sql "$big" "select count(*) from paths")" "$((paths_before - 30000))"
assert_eq "vacuum: none of session a's paths left" "$(sql "$big" "select count(*) from paths where path like '/nonexistent-a/%'")" 0
assert_eq "vacuum: every path of session b kept" "$(sql "$big" "select count(*) from session_paths sp join paths p on p.id = sp.path_id where p.path like '/nonexistent-b/%'")" 30000
assert_eq "vacuum: no row names a missing path" "$(sql "$big" "pragma foreign_key_check")" ""
assert_eq "vacuum: integrity" "$(sql "$big" "pragma integrity_check")" ok
done_testing
