#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An fd on the host's / inherited by magicpak (exec 7</) does not reach the command: fchdir(7)
# and openat(7, ...) fail. Control: the fixture reads the file when given such an fd directly.
. "$(dirname "$0")/../lib.sh"
require_root
require_cc
require_jail
jail_fixture fdescape
secret=$tmp/host-only-secret
echo "host secret $$" >"$secret"
b=$tmp/fd.b
jail_bundle "$b" "$tmp/fdescape" -r /bin/fdescape
exec 7</
ctl=$("$tmp/fdescape" 7 "$secret" 2>/dev/null)
assert_eq "control: with fd 7 on the host's /, the fixture reads the host file" "$ctl" "host secret $$"
run_test "$b" --no-diagnose -- /bin/fdescape 7 "$secret"
exec 7<&-
assert_rc "in the jail: the escape fails (exit 1)" 1
check "in the jail: the host file was not read" sh -c '! printf "%s\n" "$1" | grep -q "host secret"' sh "$out"
check "in the jail: fd 7 is not open (EBADF)" grep -q 'fdescape: fchdir: Bad file descriptor' "$err"
done_testing
