#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: TRC-05, TRC-10.
# The seccomp filter only makes magicpak faster, never blind: the same programs recorded with and
# without --no-seccomp give the same set of (op, path, errno).
. "$(dirname "$0")/../lib.sh"
require_cc
require_sqlite3
require_ptrace
record_fixture families
record_fixture procs -pthread

families_setup() {
	local w=$1
	rm -rf "$w"; mkdir -p "$w/dir" "$w/dir2"
	for f in exists dir/f oa2 r1 r2 r3 ul ula tr cm cma co lco coa ut; do echo x >"$w/$f"; done
	ln -s exists "$w/lnk"
}
procs_setup() {
	local w=$1
	rm -rf "$w"; mkdir -p "$w"
	cp /bin/true "$w/vfork_true"; cp /bin/true "$w/spawn_true"; cp /bin/cat "$w/texec_cat"
	for f in fork.txt thread.txt after_exec.txt; do echo "$f" >"$w/$f"; done
}
# accesses DB SESSION: the sorted distinct "op path errno" of a session.
accesses() { sql "$1" "select distinct op || ' ' || path || ' ' || errno from file_accesses where session_id = $2" | LC_ALL=C sort; }

w=$tmp/w
db=$tmp/s.db
session=0
# compare NAME SETUP COMMAND...: record with and without --no-seccomp, compare.
compare() {
	local name=$1 setup=$2 a b
	shift 2
	$setup "$w"
	record_rc "$db" "$@" >/dev/null
	assert_rc "$name with seccomp: exit 0" 0
	$setup "$w"
	record_rc "$db" --no-seccomp -- "$@"
	assert_rc "$name --no-seccomp: exit 0" 0
	session=$((session + 2))
	a=$(accesses "$db" $((session - 1)))
	b=$(accesses "$db" "$session")
	check "$name: both sessions complete" test "$(sql "$db" "select sum(complete) from sessions where id >= $((session - 1))")" = 2
	check "$name: a real number of accesses ($(printf '%s\n' "$a" | grep -c .))" test "$(printf '%s\n' "$a" | grep -c .)" -ge 20
	assert_eq "$name: the same (op, path, errno) set with and without --no-seccomp (diff: - seccomp, + no seccomp)" "$b" "$a"
}
compare families families_setup "$tmp/families" "$w"
compare procs procs_setup "$tmp/procs" "$w"
noop() { :; }
compare "sh pipeline" noop /bin/sh -c "ls -la /etc >/dev/null; cat /etc/hostname | wc -c >/dev/null; ! test -e /nonexistent"
compare python3 noop /usr/bin/python3 -c 'import json, os; os.listdir("/etc"); os.path.exists("/nonexistent")'
done_testing
