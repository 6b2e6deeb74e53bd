#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: LIB-08.
# ld.so.cache finds a library in a non-default directory. Our own cache (ldconfig -C) lists C/;
# MAGICPAK_LD_SO_CACHE points magicpak at it. Oracles: `ldconfig -C cache -p`, and the real
# loader with that cache mounted on /etc/ld.so.cache in a private mount namespace (root).
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"
unset LD_LIBRARY_PATH

fx_lib C/libcached.so.3 libcached.so.3
fx_lib C2/libcdep.so.1 libcdep.so.1
fx_lib C/libcached2.so libcached2.so C2/libcdep.so.1
fx_app app C/libcached.so.3 C/libcached2.so -Wl,-rpath-link,C2
printf '%s\n' "$tmp/C" "$tmp/C2" >ld.so.conf
ldconfig -X -C "$tmp/cache" -f "$tmp/ld.so.conf" || { echo "FAIL: ldconfig"; exit 1; }
pick() { ldconfig -C "$tmp/cache" -p | sed -n "s/^[[:space:]]*$1 (libc6,x86-64[^)]*) => //p" | head -1; }
export MAGICPAK_LD_SO_CACHE=$tmp/cache

run_tool deps ./app
assert_rc "deps with MAGICPAK_LD_SO_CACHE: exit 0" 0
assert_contains "libcached.so.3 as ldconfig -p lists it" "$out" "$(pick 'libcached\.so\.3')"
assert_contains "libcached2.so as ldconfig -p lists it" "$out" "$(pick 'libcached2\.so')"
assert_contains "libcdep.so.1 (needed by libcached2) as ldconfig -p lists it" "$out" "$(pick 'libcdep\.so\.1')"
run_tool deps --tree ./app
assert_eq "tree: libcached.so.3 via ld.so.cache" "$(tree_how libcached.so.3)" ld.so.cache
assert_eq "tree: libcdep.so.1 via ld.so.cache" "$(tree_how libcdep.so.1)" ld.so.cache
if can_fake_etc; then
	FX_RUNNER=(in_etc "$tmp/cache" "")
	want=$(fx_expect ./app)
	FX_RUNNER=()
	check "oracle sanity: the real loader takes C/libcached.so.3" grep -qx "$tmp/C/libcached.so.3" <<<"$want"
	run_tool deps ./app
	assert_eq "same as the real loader reading that cache" "$out" "$want"
else
	echo "note: no private mount namespace; compared with ldconfig -p only"
fi

# Without the cache entry (the system cache), the libraries are not found.
MAGICPAK_LD_SO_CACHE=/etc/ld.so.cache run_tool deps ./app
assert_rc "with the system cache: not found, exit 1" 1
assert_contains "with the system cache: stderr names libcached.so.3" "$(cat "$err")" libcached.so.3
# A missing cache file is not an error by itself: default dirs are still searched.
fx_app app_plain
MAGICPAK_LD_SO_CACHE=$tmp/no-such-cache run_tool deps ./app_plain
assert_rc "with a missing cache file: exit 0" 0
assert_contains "with a missing cache file: libc from the default dir" "$out" /lib/x86_64-linux-gnu/libc.so.6
done_testing
