#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: LIB-03.
# DT_RPATH of the object itself and of its loaders up the chain, against the real loader.
# app (RPATH R:R2) -> libr1 (no path, in R) -> libr2 (in R2: found through app's RPATH)
# -> libr3 (in R3, libr2's own RPATH R3:R4) -> libr4 (in R4: found through libr2's RPATH,
# two loaders up from libr3, which has no RPATH).
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"

fx_lib R4/libr4.so libr4.so
fx_lib R3/libr3.so libr3.so R4/libr4.so
fx_lib R2/libr2.so libr2.so R3/libr3.so "$(fx_rpath '$ORIGIN/../R3:$ORIGIN/../R4')"
fx_lib R/libr1.so libr1.so R2/libr2.so -Wl,-rpath-link,R3:R4
fx_app app R/libr1.so "$(fx_rpath "$tmp/R:$tmp/R2")" -Wl,-rpath-link,R2:R3:R4

want=$(fx_expect ./app)
check "oracle sanity: the loader finds all four through RPATHs" \
	grep -q "$tmp/R2/../R4/libr4.so" <<<"$want"
run_tool deps ./app
assert_rc "deps exits 0" 0
assert_eq "deps ./app lists exactly the loader's link map" "$out" "$want"

run_tool deps --tree ./app
assert_eq "tree: libr1.so through the app's own RPATH" "$(tree_how libr1.so)" rpath
assert_eq "tree: libr2.so (needed by libr1) through the RPATH of the app" \
	"$(tree_how libr2.so)" "rpath of $tmp/app"
assert_eq "tree: libr3.so through libr2's own RPATH" "$(tree_how libr3.so)" rpath
assert_eq "tree: libr4.so (needed by libr3) through the RPATH of libr2, two loaders up" \
	"$(tree_how libr4.so)" "rpath of $tmp/R2/libr2.so"
assert_eq "tree: libr4.so path as the loader opened it" "$(tree_path libr4.so)" "$tmp/R2/../R4/libr4.so"
done_testing
