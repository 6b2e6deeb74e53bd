#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# record (ptrace) keeps the tracer and the traced tree on one CPU while that is faster
# (collector/cpupin.h), without the command noticing: `nproc` (sched_getaffinity) says what it
# says without magicpak; two processes that both want a CPU get the whole mask back; a command
# that chose its own CPUs keeps them; MAGICPAK_NO_PIN=1 turns it off.
. "$(dirname "$0")/../lib.sh"
require_ptrace
require_sqlite3
db=$tmp/p.db
all=$(grep Cpus_allowed_list /proc/self/status | cut -f2)

record_rc "$db" -- nproc
assert_rc "nproc: exit 0" 0
assert_eq "nproc: the same count as without magicpak" "$out" "$(nproc)"
record_rc "$db" -- sh -c 'nproc --all; getconf _NPROCESSORS_ONLN'
assert_eq "nproc --all and getconf: unchanged" "$out" "$(nproc --all; getconf _NPROCESSORS_ONLN)"

if [ "$(nproc)" -lt 2 ]; then
	echo "note: one CPU here: nothing is pinned, the rest of this test does not apply"
	done_testing
fi
record_rc "$db" -- sh -c 'grep Cpus_allowed_list /proc/self/status | cut -f2'
check "one sequential command: it runs on one CPU ($out)" test "$(echo "$out" | tr -cd ',-' | wc -c)" = 0
MAGICPAK_NO_PIN=1 record_rc "$db" -- sh -c 'grep Cpus_allowed_list /proc/self/status | cut -f2'
assert_eq "MAGICPAK_NO_PIN=1: the whole mask" "$out" "$all"

# two busy processes: after a moment both run with the whole mask
busy='yes >/dev/null & a=$!; yes >/dev/null & b=$!; sleep 1.5
	grep -h Cpus_allowed_list /proc/$a/status /proc/$b/status | cut -f2; kill $a $b'
record_rc "$db" -- sh -c "$busy"
assert_rc "parallel: exit 0" 0
assert_eq "parallel: both busy processes got the whole mask back" "$out" "$(printf '%s\n%s' "$all" "$all")"
# a command that picked its CPU itself keeps it, even when unpinning happens
first=$(echo "$all" | cut -d, -f1 | cut -d- -f1)
record_rc "$db" -- taskset -c "$first" sh -c "$busy"
assert_eq "own affinity: kept (CPU $first)" "$out" "$(printf '%s\n%s' "$first" "$first")"
done_testing
