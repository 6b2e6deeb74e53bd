#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The classic chroot escape (mkdir, chroot, chdir("..") x 64, chroot(".")) fails in the jail;
# the same fixture does escape a plain chroot, so the check can fail (RELIABILITY ISO-01).
. "$(dirname "$0")/../lib.sh"
require_root
require_cc
require_chroot
require_jail
jail_fixture escape
secret=$tmp/host-only-secret
echo "host secret $$" >"$secret"
b=$tmp/esc.b
jail_bundle "$b" "$tmp/escape" -r /bin/escape --mkdir /tmp
naive=$(chroot "$b" /bin/escape "$secret" 2>/dev/null)
assert_eq "control: the fixture escapes a plain chroot and reads the host file" "$naive" "host secret $$"
run_test "$b" --no-diagnose -- /bin/escape "$secret"
assert_rc "in the jail: the escape fails (exit 1)" 1
check "in the jail: the host file was not read" sh -c '! printf "%s\n" "$1" | grep -q "host secret"' sh "$out"
check "in the jail: chroot was refused (no CAP_SYS_CHROOT)" grep -q 'escape: chroot /tmp/x: Operation not permitted' "$err"
done_testing
