#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Special files met through --include (BND-05): devices, FIFOs and sockets are never opened (a FIFO
# would block, /dev/zero never ends) and are skipped with a warning; /proc, /sys and /dev are never copied.
. "$(dirname "$0")/../lib.sh"
TOOL_TIMEOUT=15

mkdir sp && mkfifo sp/fifo && echo data >sp/file
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$tmp/sp/sock"
start=$SECONDS
run_tool --include /dev/zero --include "$tmp/sp/fifo" --include "$tmp/sp" /bin/true "$tmp/out"
check "special files: finished (exit $rc, not a timeout)" test "$rc" != 124
check "special files: in bounded time (under 10 s)" test $((SECONDS - start)) -lt 10
assert_rc "special files: exit 0 (skipped, not fatal)" 0
check "the FIFO is not in the bundle" test ! -e "$tmp/out$tmp/sp/fifo"
check "the socket is not in the bundle" test ! -e "$tmp/out$tmp/sp/sock"
check "/dev/zero is not in the bundle" test ! -e "$tmp/out/dev/zero"
check "the regular file next to them is" test -f "$tmp/out$tmp/sp/file"
check "a warning names the FIFO" grep -q "^magicpak: .*warning.*$tmp/sp/fifo" "$err"
check "a warning names /dev/zero" grep -q "^magicpak: .*warning.*/dev/zero" "$err"
assert_eq "no device, FIFO or socket anywhere in the bundle" "$(find "$tmp/out" \( -type b -o -type c -o -type p -o -type s \))" ""
size=$(du -sk "$tmp/out" | cut -f1)
check "bundle size bounded (${size} KiB < 20 MiB)" test "$size" -lt 20480

# /proc, /sys and /dev are never copied, even when asked.
run_tool --include /proc/self/status --include /sys/kernel/mm --include /dev/null /bin/true "$tmp/out2"
check "/proc, /sys, /dev: finished (exit $rc, not a timeout)" test "$rc" != 124
assert_eq "/proc, /sys, /dev: nothing of them in the bundle" "$(ls -d "$tmp/out2/proc" "$tmp/out2/sys" "$tmp/out2/dev" 2>/dev/null)" ""
done_testing
