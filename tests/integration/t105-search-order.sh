#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: LIB-08.
# Reliability cases: LIB-03.
# Search order RPATH > LD_LIBRARY_PATH > RUNPATH > ld.so.cache > default dirs. The same soname
# libz.so.1 is in R/, L/, U/, C/ (listed in a private ld.so.cache) and /lib/x86_64-linux-gnu.
# Oracle: the real loader, with our cache mounted on /etc/ld.so.cache in a private mount
# namespace (root); without that, `ldconfig -C cache -p` for the cache step.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"
[ -e /lib/x86_64-linux-gnu/libz.so.1 ] || skip "no /lib/x86_64-linux-gnu/libz.so.1 to shadow"
unset LD_LIBRARY_PATH

for d in R L U C; do fx_lib "$d/libz.so.1" libz.so.1; done
fx_app app_r R/libz.so.1 "$(fx_rpath "$tmp/R")"
fx_app app_u U/libz.so.1 "$(fx_runpath "$tmp/U")"
fx_app app_p C/libz.so.1
echo "$tmp/C" >ld.so.conf
ldconfig -X -C "$tmp/cache" -f "$tmp/ld.so.conf" || { echo "FAIL: ldconfig"; exit 1; }
cache_pick=$(ldconfig -C "$tmp/cache" -p | sed -n 's/^[[:space:]]*libz\.so\.1 (libc6,x86-64[^)]*) => //p' | head -1)
assert_eq "ldconfig -p of our cache lists C/libz.so.1 first" "$cache_pick" "$tmp/C/libz.so.1"
export MAGICPAK_LD_SO_CACHE=$tmp/cache
real=0
can_fake_etc && real=1

# expect_pick DESC WANT_PATH WANT_HOW CACHE LLP PROG
expect_pick() {
	local desc=$1 path=$2 how=$3 cache=$4 llp=$5 prog=$6 want
	if [ "$real" = 1 ]; then
		FX_RUNNER=(in_etc "$cache" "")
		want=$(LD_LIBRARY_PATH=$llp fx_expect "$prog")
		FX_RUNNER=()
		check "oracle sanity: the loader picks $path for $desc" grep -qx "$path" <<<"$want"
	fi
	MAGICPAK_LD_SO_CACHE=${cache:-$tmp/no-such-cache} LD_LIBRARY_PATH=$llp run_tool deps "$prog"
	if [ "$real" = 1 ]; then
		assert_eq "$desc: same as the loader" "$out" "$want"
	else
		assert_contains "$desc: picks $path" "$out" "$path"
	fi
	MAGICPAK_LD_SO_CACHE=${cache:-$tmp/no-such-cache} LD_LIBRARY_PATH=$llp run_tool deps --tree "$prog"
	assert_eq "$desc: tree says $how" "$(tree_how libz.so.1)" "$how"
	assert_eq "$desc: tree path" "$(tree_path libz.so.1)" "$path"
}
expect_pick "RPATH before LD_LIBRARY_PATH" "$tmp/R/libz.so.1" rpath "$tmp/cache" "$tmp/L" ./app_r
expect_pick "LD_LIBRARY_PATH before RUNPATH" "$tmp/L/libz.so.1" LD_LIBRARY_PATH "$tmp/cache" "$tmp/L" ./app_u
expect_pick "RUNPATH before ld.so.cache" "$tmp/U/libz.so.1" runpath "$tmp/cache" "" ./app_u
expect_pick "ld.so.cache before the default dirs" "$tmp/C/libz.so.1" ld.so.cache "$tmp/cache" "" ./app_p
expect_pick "default dirs last (no cache)" /lib/x86_64-linux-gnu/libz.so.1 "default path" "" "" ./app_p
[ "$real" = 1 ] || echo "note: no private mount namespace; cache steps checked against ldconfig -p only"
done_testing
