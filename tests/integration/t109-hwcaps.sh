#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: LIB-04.
# glibc-hwcaps subdirectories: H/glibc-hwcaps/x86-64-v3/libh.so is preferred over H/libh.so on a
# CPU with x86-64-v3 (real loader); MAGICPAK_HWCAPS chooses the levels magicpak assumes.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"
unset MAGICPAK_HWCAPS LD_LIBRARY_PATH
/lib64/ld-linux-x86-64.so.2 --help | grep -q 'x86-64-v3 (supported, searched)' ||
	skip "this CPU does not support x86-64-v3"

fx_lib H/libh.so libh.so
fx_lib H/glibc-hwcaps/x86-64-v3/libh.so libh.so
fx_app app H/libh.so "$(fx_runpath "$tmp/H")"
want=$(fx_expect ./app)
check "oracle sanity: the loader takes the x86-64-v3 variant" \
	grep -qx "$tmp/H/glibc-hwcaps/x86-64-v3/libh.so" <<<"$want"
run_tool deps ./app
assert_eq "default (this CPU's levels): same as the loader" "$out" "$want"
MAGICPAK_HWCAPS=x86-64-v3,x86-64-v2 run_tool deps ./app
assert_eq "MAGICPAK_HWCAPS=x86-64-v3,x86-64-v2: the v3 variant" "$out" "$want"
MAGICPAK_HWCAPS= run_tool deps ./app
assert_rc "MAGICPAK_HWCAPS='': exit 0" 0
assert_eq "MAGICPAK_HWCAPS='': H/libh.so" "$(grep libh <<<"$out")" "$tmp/H/libh.so"
MAGICPAK_HWCAPS=x86-64-v2 run_tool deps ./app
assert_eq "MAGICPAK_HWCAPS=x86-64-v2 (no v2 dir): H/libh.so" "$(grep libh <<<"$out")" "$tmp/H/libh.so"

# With a v4 variant too: the loader takes it where the CPU has v4; magicpak told v3,v2 takes v3.
fx_lib H/glibc-hwcaps/x86-64-v4/libh.so libh.so
MAGICPAK_HWCAPS=x86-64-v3,x86-64-v2 run_tool deps ./app
assert_eq "MAGICPAK_HWCAPS=x86-64-v3,x86-64-v2 with a v4 dir present: the v3 variant" \
	"$(grep libh <<<"$out")" "$tmp/H/glibc-hwcaps/x86-64-v3/libh.so"
if /lib64/ld-linux-x86-64.so.2 --help | grep -q 'x86-64-v4 (supported, searched)'; then
	want=$(fx_expect ./app)
	check "oracle sanity: the loader takes the x86-64-v4 variant" \
		grep -qx "$tmp/H/glibc-hwcaps/x86-64-v4/libh.so" <<<"$want"
	run_tool deps ./app
	assert_eq "default on this x86-64-v4 CPU: same as the loader" "$out" "$want"
fi
done_testing
