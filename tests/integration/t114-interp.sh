#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# PT_INTERP is listed, under its PT_INTERP name, where ld.so puts it in the link map: at the first
# DT_NEEDED naming its soname, else last. Shared-library inputs list the host interpreter only
# when a DT_NEEDED reaches it.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"
unset LD_LIBRARY_PATH
rtld=/lib64/ld-linux-x86-64.so.2
alt=/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
[ -e "$alt" ] || alt=/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2

fx_lib L/libi.so libi.so
fx_app app L/libi.so "$(fx_runpath "$tmp/L")"
want=$(fx_expect ./app)
run_tool deps ./app
assert_rc "plain program: exit 0" 0
assert_eq "plain program: same as the loader (interpreter where libc needs it)" "$out" "$want"
assert_eq "plain program: interpreter listed once" "$(grep -c ld-linux <<<"$out")" 1
run_tool deps --tree ./app
check "tree: a line for the interpreter tagged [interpreter]" grep -q "$rtld.*\[interpreter\]" <<<"$out"

# The interpreter named first among the DT_NEEDED: ld.so puts it first.
fx_app app_first "$rtld" L/libi.so "$(fx_runpath "$tmp/L")"
check "fixture: app_first NEEDs ld-linux-x86-64.so.2 first" \
	bash -c 'readelf -dW app_first | grep -m1 NEEDED | grep -q ld-linux-x86-64.so.2'
want=$(fx_expect ./app_first)
check "oracle sanity: the loader lists the interpreter right after the program" \
	bash -c '[ "$(sed -n 2p <<<"$1")" = "$2" ]' _ "$want" "$rtld"
run_tool deps ./app_first
assert_eq "interpreter NEEDed first: same as the loader" "$out" "$want"

# Another PT_INTERP path for the same loader: listed under the PT_INTERP name, once.
fx_app app_alt L/libi.so "$(fx_runpath "$tmp/L")" -Wl,--dynamic-linker="$alt"
want=$(fx_expect ./app_alt)
check "oracle sanity: the loader names itself $alt" grep -qx "$alt" <<<"$want"
run_tool deps ./app_alt
assert_eq "PT_INTERP $alt: same as the loader" "$out" "$want"

# No DT_NEEDED at all: the interpreter is still loaded (by the kernel): listed last.
cc_quiet -nostdlib -pie -fPIE -o nolibc "$FIXTURES/nolibc.c" || { echo "FAIL: build nolibc"; exit 1; }
check "fixture: nolibc has PT_INTERP and runs" bash -c '[ -n "$(readelf -lW nolibc | grep interpreter)" ] && ./nolibc'
run_tool deps ./nolibc
assert_rc "no DT_NEEDED: exit 0" 0
assert_eq "no DT_NEEDED: the program and its interpreter" "$out" "$(printf '%s\n' "$tmp/nolibc" "$rtld")"

# Shared-library inputs.
fx_lib solo/libsolo.so libsolo.so -nostdlib
check "fixture: libsolo.so has no DT_NEEDED" bash -c '! readelf -dW solo/libsolo.so | grep -q NEEDED'
run_tool deps solo/libsolo.so
assert_rc "library without NEEDED: exit 0" 0
assert_eq "library without NEEDED: just the file" "$out" "$tmp/solo/libsolo.so"
fx_lib solo/libc_user.so libc_user.so
run_tool deps solo/libc_user.so
assert_eq "library needing libc: libc, then ld-linux (needed by libc), as ld.so --list" \
	"$out" "$(printf '%s\n' "$tmp/solo/libc_user.so"; ld_list "$tmp/solo/libc_user.so")"
done_testing
