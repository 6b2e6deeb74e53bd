#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: LIB-02, LIB-03.
# LD_LIBRARY_PATH from the environment and from --library-path (which replaces it), with empty
# elements meaning the current directory, against the real loader run with the same value.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"

fx_lib L1/libll.so libll.so
fx_lib L2/libll.so libll.so
fx_app app L1/libll.so
unset LD_LIBRARY_PATH

want=$(LD_LIBRARY_PATH=$tmp/L1:$tmp/L2 fx_expect ./app)
check "oracle sanity: LD_LIBRARY_PATH=L1:L2 loads L1/libll.so" grep -qx "$tmp/L1/libll.so" <<<"$want"
LD_LIBRARY_PATH=$tmp/L1:$tmp/L2 run_tool deps ./app
assert_eq "environment LD_LIBRARY_PATH=L1:L2: same as the loader" "$out" "$want"
LD_LIBRARY_PATH=$tmp/L1:$tmp/L2 run_tool deps --tree ./app
assert_eq "tree: libll.so via LD_LIBRARY_PATH" "$(tree_how libll.so)" LD_LIBRARY_PATH

want=$(LD_LIBRARY_PATH=$tmp/L2 fx_expect ./app)
run_tool deps --library-path "$tmp/L2" ./app
assert_eq "--library-path L2: same as the loader with LD_LIBRARY_PATH=L2" "$out" "$want"
LD_LIBRARY_PATH=$tmp/L1 run_tool deps --library-path "$tmp/L2" ./app
assert_eq "--library-path L2 replaces the environment's LD_LIBRARY_PATH=L1" "$out" "$want"

# Empty elements are the current directory: leading, trailing and doubled colons.
for llp in ":$tmp/L1" "$tmp/nonexistent:" "$tmp/nonexistent::$tmp/L1"; do
	want=$(cd L2 && LD_LIBRARY_PATH=$llp fx_expect ../app)
	check "oracle sanity: LD_LIBRARY_PATH='$llp' in L2/ loads L2/libll.so" \
		grep -qx "$tmp/L2/libll.so" <<<"$want"
	out=$(cd L2 && LD_LIBRARY_PATH=$llp timeout 20 "$TOOL" deps ../app 2>"$err"); rc=$?
	assert_eq "environment LD_LIBRARY_PATH='$llp' run in L2/: same as the loader" "$out" "$want"
	out=$(cd L2 && timeout 20 "$TOOL" deps --library-path "$llp" ../app 2>"$err"); rc=$?
	assert_eq "--library-path '$llp' run in L2/: same as the loader" "$out" "$want"
done

# An empty LD_LIBRARY_PATH is no path at all (not the current directory): libll.so is missing.
check "oracle sanity: LD_LIBRARY_PATH='' in L2/ does not find libll.so" \
	bash -c 'cd L2 && ! LD_LIBRARY_PATH= ../app >/dev/null 2>&1'
out=$(cd L2 && timeout 20 "$TOOL" deps --library-path "" ../app 2>"$err"); rc=$?
assert_rc "--library-path '': libll.so not found, exit 1" 1
assert_contains "--library-path '': stderr names libll.so" "$(cat "$err")" libll.so
done_testing
