#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: LIB-03.
# RUNPATH rules, against the real loader:
# (1) an object with RUNPATH ignores every DT_RPATH (its own and its loaders');
# (2) RUNPATH applies only to the object's own DT_NEEDED, it is not inherited.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"
patch() { python3 "$FIXTURES/elfpatch.py" "$@"; }

fx_lib R/libq.so libq.so
fx_lib U/libq.so libq.so
# (1a) libmid: RUNPATH U, loaded by app whose RPATH is R (R holds libq too).
fx_lib M/libmid.so libmid.so U/libq.so "$(fx_runpath "$tmp/U")"
fx_app app1 M/libmid.so "$(fx_rpath "$tmp/M:$tmp/R")"
want=$(fx_expect ./app1)
check "oracle sanity (1a): the loader takes U/libq.so" grep -qx "$tmp/U/libq.so" <<<"$want"
run_tool deps ./app1
assert_eq "(1a) loader's RPATH ignored for an object with RUNPATH: same as the loader" "$out" "$want"
run_tool deps --tree ./app1
assert_eq "(1a) tree: libq.so via runpath" "$(tree_how libq.so)" runpath

# (1b) libboth: its own DT_RPATH R and DT_RUNPATH U (DT_AUXILIARY patched into DT_RUNPATH).
fx_lib B/libboth.so libboth.so U/libq.so "$(fx_rpath "$tmp/R")" -Wl,-f,"$tmp/U"
patch B/libboth.so dyn 0x7ffffffd d_tag 29
readelf -dW B/libboth.so | grep -q "RUNPATH.*$tmp/U" || { echo "FAIL: cannot patch libboth"; exit 1; }
fx_app app1b B/libboth.so "$(fx_runpath "$tmp/B")"
want=$(fx_expect ./app1b)
check "oracle sanity (1b): the loader takes U/libq.so" grep -qx "$tmp/U/libq.so" <<<"$want"
run_tool deps ./app1b
assert_eq "(1b) own RPATH ignored when the object also has RUNPATH: same as the loader" "$out" "$want"

# (2) app2 RUNPATH U2; U2/libup (no paths) needs libdeep, which is only in U2.
fx_lib U2/libdeep.so libdeep.so
fx_lib U2/libup.so libup.so U2/libdeep.so
fx_app app2 U2/libup.so "$(fx_runpath "$tmp/U2")" -Wl,-rpath-link,U2
check "oracle sanity (2): the loader fails to find libdeep.so" \
	bash -c './app2 2>&1 | grep -q "libdeep.so: cannot open shared object file"'
run_tool deps ./app2
assert_rc "(2) RUNPATH not inherited: libdeep.so missing, exit 1" 1
assert_eq "(2) found objects still printed, in order" "$out" \
	"$(printf '%s\n' "$tmp/app2" "$tmp/U2/libup.so" /lib/x86_64-linux-gnu/libc.so.6 /lib64/ld-linux-x86-64.so.2)"
assert_contains "(2) stderr names the missing soname" "$(cat "$err")" libdeep.so
assert_contains "(2) stderr names the object that needs it" "$(cat "$err")" "$tmp/U2/libup.so"
# With LD_LIBRARY_PATH=U2 the loader finds it; so must magicpak.
want=$(LD_LIBRARY_PATH=$tmp/U2 fx_expect ./app2)
LD_LIBRARY_PATH=$tmp/U2 run_tool deps ./app2
assert_eq "(2) with LD_LIBRARY_PATH=U2: same as the loader" "$out" "$want"
done_testing
