#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# RELIABILITY LIB-10 on a layout without merged /usr (Debian before bookworm, or
# `debootstrap --no-merged-usr`): /bin, /lib and /lib64 are real directories, and /lib64's
# loader is a symlink into /lib/x86_64-linux-gnu. A root of that shape is made from this host's
# files, and magicpak (a static binary) runs chrooted in it: a recorded run's bundle, the
# one-shot form's, and `deps` keep that shape (real directories, the loader's symlink and its
# target), take a library from /usr/local/lib through the root's own ld.so.cache (not the
# host's), and the bundles pass their test runs in the jail. t201 checks the merged layout of this host.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"
require_root
require_cc
require_jail
file "$TOOL" | grep -q 'static' || { plain_tool_only "magicpak is not a static binary here"; skip "magicpak is not a static binary: it cannot run chrooted"; }
command -v ldconfig >/dev/null || skip "no ldconfig"
multi=x86_64-linux-gnu
r=$tmp/root
mkdir -p "$r"/{bin,lib/$multi,lib64,usr/bin,usr/lib/$multi,usr/local/lib,etc,tmp,proc,dev}
chmod 1777 "$r/tmp"
cp /usr/bin/true "$r/bin/"
cp /usr/lib/$multi/libc.so.6 /usr/lib/$multi/ld-linux-x86-64.so.2 "$r/lib/$multi/"
ln -s /lib/$multi/ld-linux-x86-64.so.2 "$r/lib64/ld-linux-x86-64.so.2"
fx_lib "$r/usr/local/lib/libfoo.so.1" libfoo.so.1
fx_app "$r/usr/bin/app" "$r/usr/local/lib/libfoo.so.1"
cp "$TOOL" "$r/magicpak"
echo /usr/local/lib >"$r/etc/ld.so.conf"
ldconfig -r "$r" || { echo "FAIL: ldconfig -r cannot build the root's cache"; exit 1; }
check "oracle sanity: the root's own ld.so.cache names /usr/local/lib/libfoo.so.1" \
	bash -c 'ldconfig -p -C "$1/etc/ld.so.cache" | grep -q "=> /usr/local/lib/libfoo.so.1"' _ "$r"
# in_root CMD...: CMD run chrooted in the root, with its own /proc and the host's /dev
in_root() {
	unshare -m sh -c 'mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" && exec chroot "$@"' "$r" "$r" "$@"
}
check "oracle sanity: the root runs app (its loader through /lib64, libfoo through its cache)" \
	grep -qx /usr/local/lib/libfoo.so.1 <<<"$(in_root /usr/bin/app)"

in_root /magicpak record --db /tmp/r.db -- /usr/bin/app >"$tmp/rec.out" 2>&1
assert_eq "record in the root: exit 0" "$?" 0
in_root /magicpak bundle --db /tmp/r.db /out >"$tmp/bundle.out" 2>&1
assert_eq "bundle in the root: exit 0" "$?" 0
in_root /magicpak /bin/true /out2 >"$tmp/one.out" 2>&1
assert_eq "one-shot form in the root: exit 0" "$?" 0
for b in out out2; do
	for d in bin lib lib64; do
		[ "$b/$d" = out/bin ] && continue # the recorded run used nothing in /bin
		check "$b: /$d is a real directory, as in the root" \
			bash -c '[ -d "$1" ] && [ ! -L "$1" ]' _ "$r/$b/$d"
	done
	assert_eq "$b: /lib64/ld-linux-x86-64.so.2 is the root's symlink" \
		"$(readlink "$r/$b/lib64/ld-linux-x86-64.so.2")" "/lib/$multi/ld-linux-x86-64.so.2"
	check "$b: and its target is a regular file" test -f "$r/$b/lib/$multi/ld-linux-x86-64.so.2"
	check "$b: libc from /lib/$multi" test -f "$r/$b/lib/$multi/libc.so.6"
	check "$b: no libc under /usr/lib/$multi" test ! -e "$r/$b/usr/lib/$multi/libc.so.6"
done
check "out: libfoo.so.1 from /usr/local/lib (the root's cache)" test -f "$r/out/usr/local/lib/libfoo.so.1"
check "out: the recorded program" test -f "$r/out/usr/bin/app"
out=$(in_root /magicpak deps /usr/bin/app 2>&1)
assert_eq "deps in the root: the loader's picks on that layout" "$out" "/usr/bin/app
/usr/local/lib/libfoo.so.1
/lib/$multi/libc.so.6
/lib64/ld-linux-x86-64.so.2"

run_test "$r/out" -- /usr/bin/app
assert_rc "the recorded run's bundle passes its test run in the jail" 0
assert_contains "inside, the loader took /usr/local/lib/libfoo.so.1 (the bundle's cache)" "$out" \
	"/usr/local/lib/libfoo.so.1"
run_test "$r/out2" -- /bin/true
assert_rc "the one-shot bundle passes its test run in the jail" 0
done_testing
