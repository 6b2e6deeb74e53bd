#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --busybox gives a bundle without /bin/sh a shell and applets, in the throwaway layer only;
# a bundle with /bin/sh keeps its own; a dynamically linked busybox is refused.
. "$(dirname "$0")/../lib.sh"
require_root
require_jail
bb=$(command -v busybox) || skip "no busybox on the host"
file -L "$bb" 2>/dev/null | grep -q 'statically linked' || skip "the host's busybox is not static"
b=$tmp/true.b
jail_bundle "$b" /bin/true
run_test "$b" --no-diagnose -- /bin/sh -c 'echo hi'
assert_rc "no /bin/sh and no --busybox: exit 1" 1
check "the error names /bin/sh" grep -q "cannot run '/bin/sh' in the bundle: No such file" "$err"
run_test "$b" --busybox busybox --expect-stdout hi -- /bin/sh -c 'echo hi'
assert_rc "--busybox busybox: /bin/sh -c 'echo hi' passes" 0
run_test "$b" --busybox "$bb" --expect-stdout '/bin/busybox
ok' -- sh -c 'ls /bin/true >/dev/null && readlink /bin/sh && echo ok'
assert_rc "--busybox PATH: sh on PATH, applets (ls, readlink) present" 0
check "the bundle on disk has no busybox, no sh" test -z "$(find "$b" -name busybox -o -name sh)"

s=$tmp/sh.b
jail_bundle "$s" /bin/sh
run_test "$s" --busybox busybox --expect-stdout absent -- /bin/sh -c 'if test -e /bin/busybox; then echo present; else echo absent; fi'
assert_rc "a bundle with /bin/sh: busybox is not used" 0
run_test "$b" --busybox /bin/cat -- /bin/true
assert_rc "--busybox /bin/cat (dynamic): exit 3" 3
assert_one_error_line "--busybox dynamic: one line" "$err" "dynamically linked"
run_test "$b" --busybox no-such-busybox-$$ -- /bin/true
assert_rc "--busybox NAME not found: exit 3" 3
done_testing
