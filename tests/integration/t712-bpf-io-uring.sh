#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# RELIABILITY BPF-05, io_uring (E-LOSS): an open made through io_uring is invisible to the probe's
# syscall tracepoints, so a `record --via bpf` of a program that sets up io_uring must not look like
# a clean run: the session is incomplete (reason io_uring) and record exits nonzero, as under
# ptrace (t306). The probe counts io_uring_setup calls of the recorded tree.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_bpf
record_fixture uring
"$tmp/uring" 0; r=$?
[ "$r" = 77 ] && skip "io_uring_setup fails here (kernel.io_uring_disabled?)"
db=$tmp/u.db
record_rc "$db" --via bpf -- "$tmp/uring" 0
check "io_uring under --via bpf: record exits nonzero (exit $rc)" test "$rc" != 0 -a "$rc" -lt 124
assert_eq "io_uring under --via bpf: the session is incomplete, reason io_uring" \
	"$(sql "$db" 'select complete || "|" || ifnull(incomplete_reason, "") from sessions order by id desc limit 1')" "0|io_uring"
record_rc "$db" --via bpf --allow-incomplete -- "$tmp/uring" 0
assert_rc "--allow-incomplete: the command's status" 0
done_testing
