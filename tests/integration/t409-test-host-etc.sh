#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The host's /etc is not visible in the jail: /etc/hostname is absent unless bundled.
. "$(dirname "$0")/../lib.sh"
require_root
require_jail
[ -f /etc/hostname ] || skip "the host has no /etc/hostname"
b=$tmp/cat.b
jail_bundle "$b" /bin/cat
run_test "$b" -- /bin/cat /etc/hostname
assert_rc "cat /etc/hostname in a bundle without it: exit 1" 1
check "cat says it is missing" grep -q '/etc/hostname: No such file or directory' "$err"
assert_contains "the diagnosis names it" "$(last_line "$err")" "--include /etc/hostname"
run_test "$b" -- /bin/cat /etc/passwd
assert_rc "nor the host's /etc/passwd: exit 1" 1
jail_bundle "$tmp/cat2.b" /bin/cat --include /etc/hostname
run_test "$tmp/cat2.b" -- /bin/cat /etc/hostname
assert_rc "bundled with --include /etc/hostname: exit 0" 0
assert_eq "it reads the bundled copy" "$out" "$(cat /etc/hostname)"
done_testing
