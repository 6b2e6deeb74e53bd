#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The diagnosis names a data file the program needs, present on the host and left out of the
# bundle; files absent on the host too are not named.
. "$(dirname "$0")/../lib.sh"
require_root
require_cc
require_jail
jail_fixture readdata
data=/etc/magicpak-test-data-$$
trap 'rm -rf "$tmp" "$data"' EXIT
echo "the data $$" >"$data"
b=$tmp/rd.b
jail_bundle "$b" "$tmp/readdata" -r /bin/readdata
run_test "$b" -- readdata "$data"
assert_rc "the program without its data file: exit 1" 1
check "its error is shown" grep -q "$data: No such file or directory" "$err"
assert_eq "the diagnosis names the data file alone" "$(last_line "$err")" \
	"magicpak: test failed (exit 1): the command looked for 1 file the bundle lacks: $data; to add it: --include $data"
run_test "$b" -- readdata /etc/magicpak-not-on-the-host-either-$$
assert_contains "a file the host lacks too is not named" "$(last_line "$err")" \
	"the command looked for no file that the host has and the bundle lacks"
jail_bundle "$tmp/rd2.b" "$tmp/readdata" -r /bin/readdata --include "$data"
run_test "$tmp/rd2.b" --expect-stdout "the data $$" -- readdata "$data"
assert_rc "bundled with --include $data: pass" 0
done_testing
