#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --expect-stdout: trimmed output equals trimmed TEXT, with and without trailing newlines.
. "$(dirname "$0")/../lib.sh"
require_root
require_jail
b=$tmp/sh.b
jail_bundle "$b" /bin/sh
expect() { # expect DESC WANT_RC EXPECTED SCRIPT
	run_test "$b" --no-diagnose --expect-stdout "$3" -- /bin/sh -c "$4"
	assert_rc "$1" "$2"
}
expect "output 'x\\n', want 'x': pass" 0 x 'echo x'
expect "output 'x' (no newline), want 'x\\n': pass" 0 "$(printf 'x\n')
" 'printf x'
expect "output 'x\\n\\n\\n', want 'x': pass" 0 x 'printf "x\n\n\n"'
expect "output '  x ', want 'x': pass (leading/trailing blanks)" 0 x 'printf "  x \n"'
expect "output 'a\\nb', want 'a\\nb\\n': pass (inner newline kept)" 0 "a
b
" 'printf "a\nb"'
expect "output 'a b', want 'a  b': fail (inside is exact)" 1 "a  b" 'echo a b'
expect "output 'ab', want 'a\\nb': fail" 1 "a
b" 'echo ab'
expect "output '42', want '4': fail" 1 4 'echo 42'
expect "output '', want '': pass" 0 "" 'true'
expect "output '', want 'x': fail" 1 x 'true'
done_testing
