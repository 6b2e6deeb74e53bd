#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: PRE-06.
# A spawn storm under record --via preload (the plan's 10,000 scaled down to 2,000): 8 threads open
# files in a loop while the main thread starts 2,000 short processes, in turn with posix_spawn,
# vfork+execve and fork+execve, each opening a file of its own. The parent neither hangs nor
# crashes, every child's exec and open is recorded, as a process of its own whose parent is the
# fixture, every open of every thread is recorded, and the session is complete. Then the same
# through a shell loop (1,000 cats, each started by a preloaded sh).
. "$(dirname "$0")/../lib.sh"
san_no_leak_scan
require_sqlite3
require_cc
require_preload
preload_fixture spawnstorm -pthread
S=$tmp/spawnstorm
N=2000
mkdir "$tmp/d"
for i in $(seq 0 $((N - 1))); do : >"$tmp/d/f$i"; done
for i in 0 1 2 3 4 5 6 7; do : >"$tmp/d/t$i"; done
q() { sql "$db" "$1"; }

db=$tmp/storm.db
TOOL_TIMEOUT=60 record_rc "$db" --via preload -- "$S" "$tmp/d" "$N" 8
assert_rc "storm: exit 0, no hang (60 s limit), no crash" 0
assert_eq "storm: every spawn worked and its child exited 0" "$(head -n 1 <<<"$out")" "spawned $N failed 0"
assert_eq "storm: every child's open recorded (one distinct file each)" \
	"$(q "select count(distinct path) from file_accesses where op = 'open' and errno = 0 and path glob '$tmp/d/f*'")" "$N"
assert_eq "storm: each child's open recorded by that child's process" \
	"$(q "select count(*) from file_accesses a join processes p on p.session_id = a.session_id and p.pid = a.pid
		where a.op = 'open' and a.errno = 0 and a.path glob '$tmp/d/f*' and p.executable = '$S'
		and p.argv like '%\"child\"%' and p.argv like '%' || a.path || '\"]'")" "$N"
assert_eq "storm: $N children plus the fixture, each a process of the session" \
	"$(q "select count(*) from processes where executable = '$S'")" "$((N + 1))"
assert_eq "storm: every child's parent is the fixture" \
	"$(q "select count(*) from processes p join processes q on p.parent_pid = q.pid and q.session_id = p.session_id
		where p.executable = '$S' and q.executable = '$S' and q.argv not like '%\"child\"%'")" "$N"
assert_eq "storm: every child exited 0" \
	"$(q "select count(*) from processes where executable = '$S' and exit_status = 0")" "$((N + 1))"
assert_eq "storm: $N execs of the fixture recorded, besides the command's own" \
	"$(q "select ifnull(sum(count), 0) from file_accesses where op = 'exec' and errno = 0 and path = '$S'")" "$((N + 1))"
bad=0
for i in 0 1 2 3 4 5 6 7; do
	want=$(awk -v t="t$i" '$1 == t { print $2 }' <<<"$out")
	got=$(q "select ifnull(sum(count), 0) from file_accesses where op = 'open' and errno = 0 and path = '$tmp/d/t$i'")
	[ -n "$want" ] && [ "$want" -gt 0 ] && [ "$got" = "$want" ] || { bad=$((bad + 1)); echo "    t$i: opened ${want:-?}, recorded $got"; }
done
assert_eq "storm: every open of each of the 8 threads recorded" "$bad" 0
assert_eq "storm: session complete" "$(q 'select complete || "|" || ifnull(incomplete_reason, "") from sessions')" "1|"

db=$tmp/loop.db
record_rc "$db" --via preload -- sh -c 'i=0; while [ $i -lt 1000 ]; do cat "$1/f$i"; i=$((i + 1)); done' sh "$tmp/d"
assert_rc "shell loop: exit 0" 0
assert_eq "shell loop: every cat's open recorded" \
	"$(q "select count(distinct path) from file_accesses where op = 'open' and errno = 0 and path glob '$tmp/d/f*'")" 1000
assert_eq "shell loop: 1000 cat processes, each a child of sh" \
	"$(q "select count(*) from processes p join processes q on p.parent_pid = q.pid
		where p.executable like '%/cat' and q.executable in ('/usr/bin/sh', '/bin/sh')")" 1000
assert_eq "shell loop: session complete" "$(q 'select complete || "|" || ifnull(incomplete_reason, "") from sessions')" "1|"
done_testing
