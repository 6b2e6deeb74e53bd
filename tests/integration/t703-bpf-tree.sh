#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# BPF-04: children of children are followed (the kernel adds them at fork), and an unrelated
# process opening a marker path in a loop meanwhile is never recorded.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_bpf
bpf_fixture forktree
mkdir -p "$tmp/t"
(while :; do cat "$tmp/t/outside-marker" 2>/dev/null; sleep 0.005; done) &
loop=$!
db=$tmp/t.db
record_rc "$db" --via bpf -- "$tmp/forktree" "$tmp/t" 30
assert_rc "forktree exits 0" 0
kill "$loop"; wait "$loop" 2>/dev/null
assert_eq "all 30 grandchildren's opens are recorded" \
	"$(sql "$db" "select count(distinct path) from file_accesses where path like '$tmp/t/gc-%'")" 30
assert_eq "the children's open is recorded once per child" \
	"$(sql "$db" "select count(distinct pid) from file_accesses where path = '$tmp/t/child'")" 30
assert_eq "the unrelated loop's marker is never recorded" \
	"$(sql "$db" "select count(*) from file_accesses where path like '%outside-marker%'")" 0
assert_eq "61 processes: the command, 30 children, 30 grandchildren" "$(sql "$db" 'select count(*) from processes')" 61
assert_eq "grandchildren have their parent" \
	"$(sql "$db" "select count(*) from processes p join processes q on q.pid = p.parent_pid and q.session_id = p.session_id where q.parent_pid is not null")" 30
done_testing
