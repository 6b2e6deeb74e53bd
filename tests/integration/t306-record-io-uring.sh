#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: TRC-08.
# io_uring opens are invisible to ptrace: a command that sets up io_uring gives an incomplete session
# (reason io_uring) and a nonzero exit, unless --allow-incomplete, which passes the command's status.
. "$(dirname "$0")/../lib.sh"
require_cc
require_sqlite3
require_ptrace
record_fixture uring
"$tmp/uring" 0; r=$?
[ "$r" = 77 ] && skip "io_uring_setup fails here (kernel.io_uring_disabled?)"
db=$tmp/u.db

record_rc "$db" "$tmp/uring" 0
check "io_uring, command exits 0: record exits nonzero (exit $rc)" test "$rc" != 0 -a "$rc" != 77 -a "$rc" -lt 124
check "io_uring: stderr says why (io_uring)" grep -qi 'io_uring' "$err"
check "io_uring: stderr lines start with 'magicpak: '" sh -c '! grep -v "^magicpak: " "$1"' sh "$err"
assert_eq "io_uring: session incomplete, reason io_uring, exit_status 0 kept" \
	"$(sql "$db" 'select complete, incomplete_reason, exit_status from sessions where id = 1')" "0|io_uring|0"
has_row "io_uring: what ptrace saw is still recorded" \
	"$(sql "$db" "select op || ' ' || path from file_accesses where session_id = 1 and errno = 0")" "open /etc/hostname"

record_rc "$db" --allow-incomplete -- "$tmp/uring" 0
assert_rc "--allow-incomplete, command exits 0: exit 0" 0
record_rc "$db" --allow-incomplete -- "$tmp/uring" 5
assert_rc "--allow-incomplete, command exits 5: exit 5" 5
assert_eq "--allow-incomplete: sessions still incomplete with reason io_uring" \
	"$(sql "$db" 'select group_concat(complete || incomplete_reason) from sessions where id > 1')" "0io_uring,0io_uring"
record_rc "$db" "$tmp/uring" 5
check "io_uring, command exits 5, no --allow-incomplete: nonzero (exit $rc)" test "$rc" != 0

# A command without io_uring is complete, and --allow-incomplete changes nothing for it.
record_rc "$db" --allow-incomplete -- /bin/sh -c 'exit 4'
assert_rc "no io_uring, --allow-incomplete: the command's status (4)" 4
assert_eq "no io_uring: complete" "$(sql "$db" 'select complete, ifnull(incomplete_reason, "") from sessions order by id desc limit 1')" "1|"
done_testing
