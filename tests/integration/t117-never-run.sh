#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: ELF-09.
# LIB-09: magicpak never runs the target or its interpreter. hello_evil's PT_INTERP is
# $tmp/evilinterp, which creates a marker file when run. magicpak deps must not create it and
# must name $tmp/evilinterp (where ldd names the system ld.so).
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"

cc_quiet -nostdlib -static-pie -fPIE -DMARKER="\"$tmp/marker\"" -o evilinterp "$FIXTURES/evilinterp.c" ||
	skip "cannot link -nostdlib -static-pie"
fx_app hello_evil -Wl,--dynamic-linker="$tmp/evilinterp"
./hello_evil >/dev/null 2>&1
check "oracle sanity: running hello_evil runs evilinterp (marker created)" test -e marker
rm -f marker

run_tool deps ./hello_evil
assert_rc "deps ./hello_evil: exit 0" 0
check "no marker file: the interpreter was not run" test ! -e marker
assert_contains "the output names the real PT_INTERP" "$out" "$tmp/evilinterp"
check "the fake library line printed by evilinterp is not in the output" bash -c '! grep -q evil/libevil <<<"$1"' _ "$out"
assert_contains "libc is listed" "$out" /lib/x86_64-linux-gnu/libc.so.6
run_tool deps --tree ./hello_evil
check "--tree: no marker" test ! -e marker
run_tool deps --json ./hello_evil
check "--json: no marker" test ! -e marker
if command -v strace >/dev/null; then
	strace -f -qq -e trace=execve -o trace "$TOOL" deps ./hello_evil >/dev/null 2>&1
	assert_eq "strace: magicpak execs nothing but itself" "$(grep -c execve trace)" 1
elif [ "${CI:-}" = true ]; then
	fail "strace is missing (scripts/install-deps.sh installs it): execve not traced"
else
	echo "note: no strace; execve not traced"
fi
done_testing
