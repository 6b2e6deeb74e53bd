#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --stdin delivers the text to the command (through a memfd: no pipe to fill); without it,
# stdin is empty, never magicpak's own.
. "$(dirname "$0")/../lib.sh"
require_root
require_jail
b=$tmp/cat.b
jail_bundle "$b" /bin/cat
run_test "$b" --stdin 'a = 1' --expect-stdout 'a = 1' -- /bin/cat
assert_rc "--stdin 'a = 1' --expect-stdout 'a = 1' -- /bin/cat: pass" 0
assert_eq "cat printed the stdin" "$out" "a = 1"
run_test "$b" --stdin 'a = 2' --expect-stdout 'a = 1' -- /bin/cat
assert_rc "--stdin 'a = 2' --expect-stdout 'a = 1': fail" 1
out=$(echo "magicpak's own stdin" | timeout 20 "$TOOL" test "$b" -- /bin/cat 2>"$err"); rc=$?
assert_rc "no --stdin: pass" 0
assert_eq "no --stdin: the command reads nothing (not magicpak's stdin)" "$out" ""
big=$(head -c 90000 /dev/urandom | base64 -w 100)  # 120 kB: more than a pipe holds, less than one argument may be
run_test "$b" --stdin "$big" -- /bin/cat
assert_rc "120 kB of stdin and stdout: pass" 0
assert_eq "120 kB: stdout is the stdin, whole" "$(printf '%s' "$out" | sha256sum)" "$(printf '%s' "$big" | sha256sum)"
done_testing
