#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# DF_1_NODEFLIB (-z nodefaultlib): for that object's own DT_NEEDED, ld.so.cache and the default
# directories are skipped; its dependencies' lookups are not affected. Against the real loader.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"
[ -e /lib/x86_64-linux-gnu/libz.so.1 ] || skip "no /lib/x86_64-linux-gnu/libz.so.1"
unset LD_LIBRARY_PATH

# app: nodefaultlib, RUNPATH D; D/libc.so.6 is a symlink to the system libc, D/libw.so needs
# libz.so.1 (found by the loader through the cache: libw has no NODEFLIB).
mkdir D && ln -s /lib/x86_64-linux-gnu/libc.so.6 D/libc.so.6
fx_lib D/libw.so libw.so /lib/x86_64-linux-gnu/libz.so.1
fx_app app D/libw.so "$(fx_runpath "$tmp/D")" -Wl,-z,nodefaultlib
check "oracle sanity: app has NODEFLIB" bash -c 'readelf -dW app | grep -q "Flags:.*NODEFLIB"'
want=$(fx_expect ./app)
check "oracle sanity: the loader takes libc from D/ and libz from the system" \
	bash -c 'grep -qx "$1/D/libc.so.6" <<<"$2" && grep -q "^/.*lib/x86_64-linux-gnu/libz.so.1$" <<<"$2"' _ "$tmp" "$want"
run_tool deps ./app
assert_rc "deps exits 0" 0
assert_eq "NODEFLIB app: same as the loader" "$out" "$want"
run_tool deps --tree ./app
assert_eq "tree: libc.so.6 via runpath (cache skipped)" "$(tree_how libc.so.6)" runpath

# app2: nodefaultlib and needs libz.so.1 itself, which only the cache/default dirs have.
fx_app app2 D/libw.so /lib/x86_64-linux-gnu/libz.so.1 "$(fx_runpath "$tmp/D")" -Wl,-z,nodefaultlib
check "oracle sanity: the loader cannot find libz.so.1 for app2" \
	bash -c './app2 2>&1 | grep -q "libz.so.1: cannot open shared object file"'
run_tool deps ./app2
assert_rc "NODEFLIB app needing libz.so.1 directly: not found, exit 1" 1
assert_contains "stderr names libz.so.1" "$(cat "$err")" libz.so.1
assert_contains "stderr names app2 as the one needing it" "$(cat "$err")" "$tmp/app2"
done_testing
