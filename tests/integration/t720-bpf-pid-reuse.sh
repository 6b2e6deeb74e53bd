#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# BPF-04, pid reuse: a process of the recorded tree ends (sched_process_exit clears its bit),
# and an unrelated process outside the tree is then given the same pid (the kernel's
# ns_last_pid set just below it, as root): its open of a marker is never recorded, while the
# tree's own opens before and after are.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_root
require_bpf
[ -w /proc/sys/kernel/ns_last_pid ] || skip "cannot set /proc/sys/kernel/ns_last_pid here"
db=$tmp/r.db
mkdir -p "$tmp/t"
: >"$tmp/t/before"; : >"$tmp/t/after"
# the tree: a child that names its pid and ends; then the command waits for the go file
"$TOOL" record --db "$db" --via bpf -- sh -c '
	sh -c "cat \"$1/before\" >/dev/null; echo \$\$ >\"$1/child.tmp\"; mv \"$1/child.tmp\" \"$1/child\""
	while [ ! -e "$1/go" ]; do sleep 0.01; done
	cat "$1/after" >/dev/null' sh "$tmp/t" &
rec=$!
check "the recorded child ran" wait_for 10 test -s "$tmp/t/child"
child=$(cat "$tmp/t/child")
wait_for 5 sh -c '! kill -0 "$1" 2>/dev/null' sh "$child"
# give an unrelated process (a child of this test's shell) the pid the ended child had
got=
for try in $(seq 50); do
	echo $((child - 1)) >/proc/sys/kernel/ns_last_pid
	(exec cat "$tmp/t/marker-$try" 2>/dev/null) &
	p=$!
	wait "$p"
	if [ "$p" = "$child" ]; then got=$try; break; fi
done
touch "$tmp/t/go"
wait "$rec"
assert_eq "record exits 0" "$?" 0
check "an unrelated process got the ended child's pid $child (try ${got:-none} of 50)" test -n "$got"
assert_eq "the unrelated process's open, under the reused pid, is not recorded" \
	"$(sql "$db" "select count(*) from file_accesses where path like '$tmp/t/marker-%'")" 0
assert_eq "the tree's opens before and after are" \
	"$(sql "$db" "select group_concat(path, ' ') from (select distinct path from file_accesses
		where path in ('$tmp/t/before', '$tmp/t/after') order by path)")" "$tmp/t/after $tmp/t/before"
done_testing
