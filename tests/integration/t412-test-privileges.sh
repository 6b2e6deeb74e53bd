#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: ISO-02.
# Inside: no capabilities, no_new_privs, a real /proc/self/exe, a clean environment (PATH,
# HOME=/, --env), only fds 0-2, a new session without a controlling tty (no TIOCSTI into the
# caller's terminal), read-only /proc/sys (RELIABILITY ISO-05, ISO-09, ISO-11).
. "$(dirname "$0")/../lib.sh"
require_root
require_cc
require_jail
jail_fixture probe
b=$tmp/p.b
jail_bundle "$b" "$tmp/probe" -r /usr/bin/probe --include /usr/bin/cat --include /usr/bin/env
run_test "$b" -- cat /proc/self/status
assert_rc "cat /proc/self/status: exit 0" 0
has_row "CapEff 0" "$out" "CapEff:	0000000000000000"
has_row "CapPrm 0" "$out" "CapPrm:	0000000000000000"
has_row "CapBnd 0" "$out" "CapBnd:	0000000000000000"
has_row "CapAmb 0" "$out" "CapAmb:	0000000000000000"
has_row "NoNewPrivs 1" "$out" "NoNewPrivs:	1"

export MAGICPAK_HOST_SECRET=s3cret
run_test "$b" --env A=1 --env MAGICPAK_PASSED --env MAGICPAK_UNSET_$$ -- env
assert_rc "env: exit 0" 0
assert_eq "env: PATH, HOME=/ and the --env variables only" "$(printf '%s\n' "$out" | LC_ALL=C sort)" "A=1
HOME=/
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MAGICPAK_PASSED=from-host run_test "$b" --env MAGICPAK_PASSED --env HOME=/root -- env
has_row "--env NAME passes the host's value" "$out" "MAGICPAK_PASSED=from-host"
has_row "--env HOME=/root overrides HOME" "$out" "HOME=/root"
check "a host variable is absent" sh -c '! printf "%s\n" "$1" | grep -q MAGICPAK_HOST_SECRET' sh "$out"
run_test "$b" -- cat /proc/1/environ
check "the jail's init does not show the host's environment" sh -c '! printf "%s\n" "$1" | grep -q s3cret' sh "$out"

exec 7</ 8>"$tmp/fd8"
run_test "$b" -- probe
exec 7<&- 8>&-
assert_rc "probe: exit 0" 0
has_row "/proc/self/exe is the command, at its path in the jail" "$out" "exe /usr/bin/probe"
has_row "only fds 0, 1, 2 are open (7 and 8 were open in magicpak)" "$out" "fds 0 1 2"
has_row "a new session (led by the jail's init)" "$out" "sid 1"
has_row "no controlling terminal" "$out" "tty No such device or address"
has_row "TIOCSTI fails on every fd and /dev/tty" "$out" "tiocsti fail"
if command -v script >/dev/null; then
	script -qec "$TOOL test $b -- probe" /dev/null >"$tmp/pty.out" 2>&1
	check "run from a terminal (script): TIOCSTI still fails" grep -q 'tiocsti fail' "$tmp/pty.out"
	check "run from a terminal (script): no controlling terminal" grep -q 'tty No such device' "$tmp/pty.out"
fi
run_test "$b" --busybox busybox -- sh -c 'echo 1 >/proc/sys/kernel/ns_last_pid'
check "/proc/sys is read-only" grep -qi 'read-only file system' "$err"
done_testing
