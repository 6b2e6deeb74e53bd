#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A DT_NEEDED containing a slash is opened as is, relative to the current directory, without any
# search (LIB-06). Against the real loader run from the same directory.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"

mkdir -p t/S
cc_quiet -shared -fPIC -o t/S/libslash.so "$FIXTURES/lib.c" || { echo "FAIL: build"; exit 1; }
(cd t/S && cc_quiet -o ../app "$FIXTURES/main.c" -Wl,--no-as-needed ./libslash.so) || { echo "FAIL: build"; exit 1; }
check "fixture: NEEDED is ./libslash.so" bash -c 'readelf -dW t/app | grep -q "NEEDED.*\[\./libslash\.so\]"'
# An absolute DT_NEEDED too.
mkdir -p abs && cc_quiet -shared -fPIC -o abs/libabs.so "$FIXTURES/lib.c" || exit 1
fx_app t/app_abs "$tmp/abs/libabs.so"
check "fixture: NEEDED is $tmp/abs/libabs.so" bash -c 'readelf -dW t/app_abs | grep -q "NEEDED.*\[$1/abs/libabs\.so\]"' _ "$tmp"

want=$(cd t/S && fx_expect ../app)
check "oracle sanity: run from t/S the loader opens ./libslash.so" grep -qx "$tmp/t/S/libslash.so" <<<"$want"
out=$(cd t/S && timeout 20 "$TOOL" deps ../app 2>"$err"); rc=$?
assert_rc "deps run in t/S: exit 0" 0
assert_eq "deps run in t/S: same as the loader" "$out" "$want"
out=$(cd t/S && timeout 20 "$TOOL" deps --tree ../app 2>"$err"); rc=$?
assert_eq "tree: ./libslash.so is direct" "$(tree_how ./libslash.so)" direct

check "oracle sanity: run from t/ the loader cannot open ./libslash.so, even with LD_LIBRARY_PATH=t/S" \
	bash -c 'cd t && ! LD_LIBRARY_PATH=$1/t/S ./app >/dev/null 2>&1' _ "$tmp"
out=$(cd t && LD_LIBRARY_PATH=$tmp/t/S timeout 20 "$TOOL" deps ./app 2>"$err"); rc=$?
assert_rc "deps run in t/ (even with LD_LIBRARY_PATH=t/S): not found, exit 1" 1
assert_contains "stderr names ./libslash.so" "$(cat "$err")" "libslash.so"

want=$(fx_expect t/app_abs)
run_tool deps t/app_abs
assert_eq "absolute DT_NEEDED: same as the loader" "$out" "$want"
run_tool deps --tree t/app_abs
assert_eq "tree: absolute DT_NEEDED is direct" "$(tree_how "$tmp/abs/libabs.so")" direct
done_testing
