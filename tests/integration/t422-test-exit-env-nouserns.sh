#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# RELIABILITY ISO-11: the command's fate in the verdict (a SIGSEGV gives "exit 139", exit 42 is t400);
# host secrets and magicpak's own LD_PRELOAD never reach the command (env is PATH and HOME only);
# and as an unprivileged user where no user namespace can be made (user.max_user_namespaces=0 in
# a user namespace of the test's own, so the host's setting is left alone) one line names the
# sysctl, the exit is 3 ("could not set up") and the command never runs: no fallback to a plain
# chroot. (A bundle left unchanged by writes: t410, t413.)
. "$(dirname "$0")/../lib.sh"
require_root
require_cc
require_jail
bb=$(command -v busybox) || skip "no busybox on the host"
file -L "$bb" 2>/dev/null | grep -q 'statically linked' || skip "the host's busybox is not static"
b=$tmp/env.b
jail_bundle "$b" /usr/bin/env /usr/bin/echo
chmod 755 "$tmp"; chmod -R a+rX "$b"

run_test "$b" --busybox busybox --no-diagnose -- sh -c 'kill -SEGV $$'
assert_rc "a command killed by SIGSEGV fails (exit 1)" 1
assert_eq "the verdict names the status 139" "$(last_line "$err")" "magicpak: test failed (exit 139)"

lib=$(dirname "$TOOL")/libmagicpak-preload.so
[ -r "$lib" ] || lib=/usr/lib/x86_64-linux-gnu/libc.so.6
SSH_AUTH_SOCK=/tmp/agent.sock AWS_SECRET_ACCESS_KEY=host-secret LD_PRELOAD=$lib run_test "$b" -- /usr/bin/env
assert_rc "env with host secrets and LD_PRELOAD set on the host: exit 0" 0
assert_eq "only PATH and HOME inside" "$(printf '%s\n' "$out" | sed 's/=.*//' | LC_ALL=C sort | tr '\n' ' ')" "HOME PATH "

jail_fixture nouserns
"$tmp/nouserns" /bin/true || skip "cannot make a user namespace with user.max_user_namespaces=0 here"
"$tmp/nouserns" timeout 20 "$TOOL" test "$b" -- /usr/bin/echo RAN-INSIDE >"$tmp/nu.out" 2>"$tmp/nu.err"; rc=$?
assert_eq "no user namespaces, not root: exit 3 (could not set up)" "$rc" 3
assert_one_error_line "one line naming the sysctl" "$tmp/nu.err" "user.max_user_namespaces"
assert_eq "the command did not run (no plain-chroot fallback)" "$(cat "$tmp/nu.out")" ""
done_testing
