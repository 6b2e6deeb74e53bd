#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Graph shapes (LIB-11a): a cycle A <-> B, a diamond, and a 500-deep chain, which must resolve in
# under 2 s. Against the real loader.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"

# Cycle: libcya needs libcyb, libcyb needs libcya.
fx_lib stub/libcya.so libcya.so
fx_lib G/libcyb.so libcyb.so stub/libcya.so "$(fx_runpath '$ORIGIN')"
fx_lib G/libcya.so libcya.so G/libcyb.so "$(fx_runpath '$ORIGIN')"
# Diamond: libtop needs libl and libr, both need libbot.
fx_lib G/libbot.so libbot.so
fx_lib G/libl.so libl.so G/libbot.so "$(fx_runpath '$ORIGIN')"
fx_lib G/libr.so libr.so G/libbot.so "$(fx_runpath '$ORIGIN')"
fx_lib G/libtop.so libtop.so G/libl.so G/libr.so "$(fx_runpath '$ORIGIN')"
fx_app app G/libcya.so G/libtop.so "$(fx_runpath "$tmp/G")" -Wl,-rpath-link,G
want=$(fx_expect ./app)
check "oracle sanity: cycle and diamond load" bash -c '[ "$(grep -c /G/ <<<"$1")" = 6 ]' _ "$want"
run_tool deps ./app
assert_rc "cycle + diamond: exit 0" 0
assert_eq "cycle + diamond: same as the loader, each once" "$out" "$want"
run_tool deps G/libcya.so
assert_rc "cycle, library input: exit 0" 0
assert_eq "cycle, library input: same as ld.so --list" "$out" \
	"$(printf '%s\n' "$tmp/G/libcya.so"; ld_list "$tmp/G/libcya.so")"

# 500-deep chain libch0 -> libch1 -> ... -> libch499, each found through its RUNPATH $ORIGIN.
n=500
cc_quiet -c -fPIC -o lib.o "$FIXTURES/lib.c" || exit 1
mkdir C
ld -shared -soname "libch$((n - 1)).so" -o "C/libch$((n - 1)).so" lib.o || exit 1
for ((i = n - 2; i >= 0; i--)); do
	ld -shared -soname "libch$i.so" --enable-new-dtags -rpath '$ORIGIN' -o "C/libch$i.so" lib.o \
		--no-as-needed "C/libch$((i + 1)).so" || { echo "FAIL: ld libch$i"; exit 1; }
done
fx_app chain C/libch0.so "$(fx_runpath "$tmp/C")" -Wl,-rpath-link,C
want=$(fx_expect ./chain)
check "oracle sanity: the loader loads all $n" bash -c '[ "$(grep -c /C/libch <<<"$1")" = "$2" ]' _ "$want" "$n"
start=$EPOCHREALTIME
run_tool deps ./chain
secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}')
assert_rc "$n-deep chain: exit 0" 0
assert_eq "$n-deep chain: same as the loader" "$out" "$want"
check "$n-deep chain in under 2 s (took ${secs}s)" awk -v s="$secs" 'BEGIN{exit !(s < 2)}'
start=$EPOCHREALTIME
run_tool deps --tree ./chain
secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}')
assert_rc "$n-deep chain --tree: exit 0" 0
check "$n-deep chain --tree in under 2 s (took ${secs}s)" awk -v s="$secs" 'BEGIN{exit !(s < 2)}'
done_testing
