#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: ISO-11.
# magicpak test: a passing and a failing test, exit codes 0 / 1 / 3 / 2 and their one-line
# explanations; the command's stdout on stdout, its stderr shown on failure only.
. "$(dirname "$0")/../lib.sh"
require_root
require_jail
b=$tmp/sh.b
jail_bundle "$b" /bin/sh

run_test "$b" -- /bin/sh -c 'echo out; echo noise >&2'
assert_rc "passing command: exit 0" 0
assert_eq "passing command: its stdout on stdout" "$out" "out"
assert_one_error_line "passing command: one 'test passed' line, stderr not shown" "$err" "magicpak: test passed"

run_test "$b" --no-diagnose -- /bin/sh -c 'echo partial; echo oops-on-stderr >&2; exit 42'
assert_rc "failing command (exit 42): exit 1" 1
assert_eq "failing command: its stdout on stdout" "$out" "partial"
check "failing command: its stderr is shown" grep -qx 'oops-on-stderr' "$err"
assert_eq "failing command: the verdict line" "$(last_line "$err")" "magicpak: test failed (exit 42)"
assert_eq "failing command: only one magicpak line" "$(grep -c '^magicpak: ' "$err")" 1

run_test "$b" -- /bin/sh -c 'kill -9 $$'
assert_rc "command killed by SIGKILL: exit 1" 1
assert_contains "command killed by SIGKILL: exit 137 as a shell shows it" "$(last_line "$err")" "test failed (exit 137)"

run_test "$b" -- no-such-command
assert_rc "command not in the bundle: exit 1 (the test ran and failed)" 1
check "command not in the bundle: 'command not found' shown" grep -q 'no-such-command: command not found' "$err"
assert_contains "command not in the bundle: exit 127" "$(last_line "$err")" "test failed (exit 127)"

run_test "$b" --expect-stdout 'something else' -- /bin/sh -c 'echo actual'
assert_rc "wrong output: exit 1" 1
assert_contains "wrong output: the line says how it differs" "$(last_line "$err")" \
	'test failed (exit 0, but its output differs from --expect-stdout: got "actual\n", want "something else")'

run_test "$tmp/no-such-bundle" -- /bin/true
assert_rc "no such bundle: exit 3 (could not set the test up)" 3
assert_one_error_line "no such bundle: one line naming it" "$err" "$tmp/no-such-bundle"
echo x >"$tmp/afile"
run_test "$tmp/afile" -- /bin/true
assert_rc "bundle is a file: exit 3" 3
assert_one_error_line "bundle is a file: one line" "$err" "Not a directory"

run_test "$b"
assert_rc "no command: usage error, exit 2" 2
assert_one_error_line "no command: one line" "$err" "no COMMAND given"
run_test --bogus "$b" -- /bin/true
assert_rc "unknown option: exit 2" 2
assert_one_error_line "unknown option: one line" "$err" "--bogus"
run_test "$b" --timeout abc -- /bin/true
assert_rc "bad --timeout: exit 2" 2
run_test -h
assert_rc "-h: exit 0" 0
assert_contains "-h: usage" "$out" "usage: magicpak test BUNDLE"
check "magicpak help lists test" sh -c '"$1" help | grep -q "^  test "' sh "$TOOL"
done_testing
