#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A library found through ld.so.cache in a non-default directory still loads inside the bundle: magicpak
# writes the bundle its own etc/ld.so.cache. Fixture: libfoo.so.1 in $tmp/weird/lib (not a default
# directory), a program linked against it without any rpath, and a cache made by ldconfig -C listing
# that directory (MAGICPAK_LD_SO_CACHE points magicpak at it).
. "$(dirname "$0")/../lib.sh"
require_cc
F=$TESTS_DIR/fixtures/bundle
unset LD_LIBRARY_PATH
mkdir -p weird/lib
cc_quiet -shared -fPIC -o weird/lib/libfoo.so.1 "$F/foo.c" -Wl,-soname,libfoo.so.1 || { echo "FAIL: cc libfoo"; exit 1; }
ln -s libfoo.so.1 weird/lib/libfoo.so
cc_quiet -o prog "$F/usefoo.c" -Lweird/lib -lfoo || { echo "FAIL: cc prog"; exit 1; }
check "fixture: prog has no RPATH/RUNPATH" sh -c '! readelf -d prog | grep -qE "RPATH|RUNPATH"'
printf '%s\n' "$tmp/weird/lib" /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu >ld.so.conf
ldconfig -X -C "$tmp/ld.so.cache" -f "$tmp/ld.so.conf" || { echo "FAIL: ldconfig"; exit 1; }
check "fixture: the cache lists libfoo.so.1" sh -c 'ldconfig -p -C "$1" | grep -q "libfoo.so.1 .*=> $2/weird/lib/libfoo.so.1"' sh "$tmp/ld.so.cache" "$tmp"
export MAGICPAK_LD_SO_CACHE=$tmp/ld.so.cache

run_tool deps --tree "$tmp/prog"
assert_rc "deps --tree: exit 0" 0
assert_contains "deps --tree: libfoo.so.1 found through ld.so.cache" "$out" "libfoo.so.1 => $tmp/weird/lib/libfoo.so.1 [ld.so.cache]"

run_tool "$tmp/prog" "$tmp/out"
assert_rc "bundle: exit 0" 0
check "bundle has libfoo.so.1 at its host path" test -f "$tmp/out$tmp/weird/lib/libfoo.so.1"
check "bundle has etc/ld.so.cache" test -f "$tmp/out/etc/ld.so.cache" -a ! -L "$tmp/out/etc/ld.so.cache"
check "ldconfig -p -C out/etc/ld.so.cache lists libfoo.so.1 at its path" \
	sh -c 'ldconfig -p -C "$1/out/etc/ld.so.cache" | grep -q "libfoo.so.1 (libc6,x86-64.*=> $1/weird/lib/libfoo.so.1\$"' sh "$tmp"
check "the bundle's cache is not the host's /etc/ld.so.cache" sh -c '! cmp -s "$1" /etc/ld.so.cache' sh "$tmp/out/etc/ld.so.cache"
# Every cache entry points at a file that is in the bundle.
bad=$(ldconfig -p -C "$tmp/out/etc/ld.so.cache" | sed -n 's/.* => //p' | while read -r p; do
	[ -e "$tmp/out$p" ] || echo "$p"
done)
assert_eq "every entry of the bundle's cache is in the bundle" "$bad" ""
if [ "$(id -u)" = 0 ] && chroot / /bin/true 2>/dev/null; then
	assert_eq "chroot out $tmp/prog prints what libfoo says" "$(env -i timeout 10 "$(command -v chroot)" "$tmp/out" "$tmp/prog" 2>&1)" "hello from libfoo"
else
	echo "note: no chroot here; the bundle was not run"
fi

# Without a cache entry for a non-default directory, the bundle needs no cache of its own.
run_tool /bin/true "$tmp/plain"
assert_rc "bundle of /bin/true: exit 0" 0
check "bundle of /bin/true needs no etc/ld.so.cache" test ! -e "$tmp/plain/etc/ld.so.cache"
# --exclude the cache: not written.
run_tool --exclude /etc/ld.so.cache "$tmp/prog" "$tmp/nocache"
check "--exclude /etc/ld.so.cache: no cache written" test ! -e "$tmp/nocache/etc/ld.so.cache"
done_testing
