#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# RELIABILITY ISO-02, ISO-04: the jail's /proc is a fresh procfs of its own pid namespace (no host
# pid visible, /proc/1/root not readable, /proc/sys read-only: t412), and its /dev holds only the
# harmless nodes (no block device) on a nodev mount, where mknod of a block device fails with EPERM.
# Control: as root on the host, mknod of the same node works, so the check can fail.
. "$(dirname "$0")/../lib.sh"
require_root
require_jail
bb=$(command -v busybox) || skip "no busybox on the host"
file -L "$bb" 2>/dev/null | grep -q 'statically linked' || skip "the host's busybox is not static"
b=$tmp/true.b
jail_bundle "$b" /bin/true
sleep 60 &
host_pid=$!
run_test "$b" --busybox busybox -- sh -c 'ls /proc | grep -E "^[0-9]+$"; echo "--"; readlink /proc/1/root || echo "unreadable"'
kill "$host_pid"; wait "$host_pid" 2>/dev/null
assert_rc "ls /proc in the jail: exit 0" 0
pids=$(printf '%s\n' "$out" | sed '/^--$/,$d')
check "only the jail's own few pids in /proc ($(echo $pids))" sh -c '[ -n "$1" ] && [ "$(printf "%s\n" "$1" | wc -l)" -le 4 ]' sh "$pids"
lacks_row "the host's sleep (pid $host_pid) is not in the jail's /proc" "$pids" "$host_pid"
lacks_row "the jail's init's root does not lead to the host's /" "$(printf '%s\n' "$out" | sed '1,/^--$/d')" "/"
run_test "$b" --busybox busybox -- sh -c 'grep -E " /(proc|dev) " /proc/self/mounts'
assert_rc "mounts: exit 0" 0
check "/proc is a proc mount" grep -qE '^proc /proc proc ' <<<"$out"
check "/dev is a nodev, nosuid tmpfs" grep -qE '^tmpfs /dev tmpfs [^ ]*nosuid,nodev' <<<"$out"
run_test "$b" --busybox busybox -- sh -c 'ls /dev; echo "--"; find /dev -type b'
assert_rc "ls /dev: exit 0" 0
assert_eq "/dev holds only the harmless nodes and the usual links" "$(printf '%s\n' "$out" | sed '/^--$/,$d' | LC_ALL=C sort | tr '\n' ' ')" \
	"fd full null random shm stderr stdin stdout tty urandom zero "
assert_eq "no block device under /dev" "$(printf '%s\n' "$out" | sed '1,/^--$/d')" ""
# control: root on the host may make the node
mknod "$tmp/blk" b 7 0 2>/dev/null
check "control: mknod of a block device works on the host as root" test -b "$tmp/blk"
rm -f "$tmp/blk"
run_test "$b" --busybox busybox --no-diagnose -- sh -c 'mknod /tmp/blk b 7 0 && head -c1 /tmp/blk >/dev/null && echo MADE'
assert_rc "mknod in the jail fails (exit 1)" 1
check "mknod: Operation not permitted" grep -q 'mknod: /tmp/blk: Operation not permitted' "$err"
check "nothing was read from a block device" sh -c '! printf "%s\n" "$1" | grep -q MADE' sh "$out"
run_test "$b" --busybox busybox --no-diagnose -- sh -c 'mknod /dev/blk b 7 0 && echo MADE'
assert_rc "mknod in /dev fails too (exit 1)" 1
done_testing
