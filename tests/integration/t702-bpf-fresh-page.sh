#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# BPF-01: a path on a page not faulted in when the syscall starts (a file-backed MAP_PRIVATE page,
# its cache dropped, passed straight to a raw openat) is still read: the probe reads the string at
# sys_exit. No empty path in the database, none counted unreadable.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_bpf
bpf_fixture freshpage
echo fresh >"$tmp/target.txt"
for i in 1 2 3; do
	printf '%s\0' "$tmp/target.txt" >"$tmp/path$i"; truncate -s 4096 "$tmp/path$i"
done
sync
db=$tmp/f.db
for i in 1 2 3; do
	echo 1 >/proc/sys/vm/drop_caches 2>/dev/null
	record_rc "$db" --via bpf -- "$tmp/freshpage" "$tmp/path$i"
	assert_rc "run $i: freshpage exits 0" 0
	has_row "run $i: the open of the path on the fresh page is recorded" "$(brows "$db" bpf)" "open|$tmp/target.txt|0"
	assert_eq "run $i: complete (no unreadable path)" "$(sql "$db" 'select complete from sessions order by id desc limit 1')" 1
done
assert_eq "no empty path" "$(sql "$db" "select count(*) from file_accesses where path = '' or path is null")" 0
done_testing
