#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: LIB-10, BND-08, BND-09.
# The bundle mirrors the host: symlinks recreated with their original targets (the loader link,
# merged-/usr directory links), file modes kept, hard links kept, setuid/setgid dropped with a warning.
. "$(dirname "$0")/../lib.sh"

# Loader link and merged-/usr links, on a bundle that goes through /bin (bash's host path is /bin/bash).
run_tool /bin/bash "$tmp/out"
assert_rc "bundle /bin/bash: exit 0" 0
o=$tmp/out
check "lib64/ld-linux-x86-64.so.2 is a symlink in the bundle" test -L "$o/lib64/ld-linux-x86-64.so.2"
if [ -L /lib64/ld-linux-x86-64.so.2 ]; then
	assert_eq "lib64/ld-linux-x86-64.so.2 has the host target" "$(readlink "$o/lib64/ld-linux-x86-64.so.2")" "$(readlink /lib64/ld-linux-x86-64.so.2)"
fi
for d in lib lib64 bin; do
	if [ -L "/$d" ]; then
		check "/$d is a symlink in the bundle, as on the host" test -L "$o/$d"
		assert_eq "/$d keeps the host target" "$(readlink "$o/$d")" "$(readlink "/$d")"
	else
		check "/$d is a real directory in the bundle, as on the host" test -d "$o/$d" -a ! -L "$o/$d"
	fi
done
check "chroot-relative: out/bin/bash resolves to a file inside the bundle" test -f "$o/bin/bash"

# Modes: every regular file and directory in the bundle has the host's mode (same path on the host).
mode_diff() {
	(cd "$1" && find . -mindepth 1 \( -type f -o -type d \) -printf '%P %m\n' | while read -r p m; do
		h=$(stat -c %a "/$p" 2>/dev/null)
		[ "$h" = "$m" ] || echo "$p bundle=$m host=$h"
	done)
}
assert_eq "every file and directory keeps the host mode" "$(mode_diff "$o")" ""
bad=$(cd "$o" && find . -mindepth 1 -type l -printf '%P %l\n' | while read -r p l; do
	[ "$(readlink "/$p")" = "$l" ] || echo "$p bundle=$l host=$(readlink "/$p")"
done)
assert_eq "every symlink keeps the host target" "$bad" ""

# A mode that differs from the defaults survives: 0750 program, 0640 file.
mkdir src
cp /bin/true src/prog && chmod 0750 src/prog
echo data >src/conf && chmod 0640 src/conf
run_tool --include "$tmp/src/conf" "$tmp/src/prog" "$tmp/m"
assert_rc "bundle with odd modes: exit 0" 0
assert_eq "0750 program keeps its mode" "$(stat -c %a "$tmp/m$tmp/src/prog" 2>&1)" 750
assert_eq "0640 file keeps its mode" "$(stat -c %a "$tmp/m$tmp/src/conf" 2>&1)" 640

# Hard links: a and b are one inode on the host, and in the bundle.
mkdir h && echo same >h/a && ln h/a h/b
run_tool --include "$tmp/h/a" --include "$tmp/h/b" /bin/true "$tmp/hl"
assert_rc "bundle with hard links: exit 0" 0
check "h/a and h/b are in the bundle" test -f "$tmp/hl$tmp/h/a" -a -f "$tmp/hl$tmp/h/b"
assert_eq "h/a and h/b share one inode in the bundle" "$(stat -c %i "$tmp/hl$tmp/h/a" 2>&1)" "$(stat -c %i "$tmp/hl$tmp/h/b" 2>&1)"
assert_eq "link count 2 in the bundle" "$(stat -c %h "$tmp/hl$tmp/h/a" 2>&1)" 2
assert_eq "content kept" "$(cat "$tmp/hl$tmp/h/b" 2>&1)" same
assert_eq "directories on the way (/tmp 1777, \$tmp 700) keep the host mode" "$(mode_diff "$tmp/hl")" ""
# A hard link included through a directory: same.
run_tool --include "$tmp/h" /bin/true "$tmp/hl2"
assert_eq "h/ included as a directory: a and b share one inode" "$(stat -c %i "$tmp/hl2$tmp/h/a" 2>&1)" "$(stat -c %i "$tmp/hl2$tmp/h/b" 2>&1)"

# setuid and setgid bits are dropped, with a warning naming the file; the bundle is still made.
cp /bin/true suid && chmod 4755 suid
cp /bin/true sgid && chmod 2755 sgid
run_tool "$tmp/suid" "$tmp/su"
assert_rc "bundle of a setuid program: exit 0" 0
assert_eq "setuid bit dropped (mode 755)" "$(stat -c %a "$tmp/su$tmp/suid" 2>&1)" 755
check "a warning names the setuid file" grep -q "^magicpak: .*warning.*$tmp/suid" "$err"
check "the warning says setuid" grep -qi "setuid" "$err"
run_tool --include "$tmp/sgid" /bin/true "$tmp/sg"
assert_rc "bundle including a setgid program: exit 0" 0
assert_eq "setgid bit dropped (mode 755)" "$(stat -c %a "$tmp/sg$tmp/sgid" 2>&1)" 755
check "a warning names the setgid file" grep -q "^magicpak: .*warning.*$tmp/sgid" "$err"
assert_eq "no setuid/setgid file anywhere in the bundles" "$(find "$tmp/su" "$tmp/sg" -perm /6000)" ""
assert_eq "the host files are untouched" "$(stat -c %a suid sgid)" "4755
2755"

# File capabilities (ping's cap_net_raw) grant privileges as setuid does: dropped, and said.
if [ "$(id -u)" = 0 ] && command -v setcap >/dev/null; then
	cp /bin/true capped && setcap cap_net_raw+ep capped || fail "cannot setcap a test file"
	run_tool "$tmp/capped" "$tmp/cap"
	assert_rc "bundle of a program with file capabilities: exit 0" 0
	assert_eq "its copy has no file capabilities" "$(getcap "$tmp/cap$tmp/capped")" ""
	check "a warning names the file and its capabilities" grep -q "^magicpak: warning: '$tmp/capped': dropping its file capabilities" "$err"
	run_tool /bin/true "$tmp/nocap"
	check "no such warning for a program without them" sh -c '! grep -q capabilities "$1"' sh "$err"
elif [ "${CI:-}" = true ]; then
	fail "file capabilities cannot be tested: not root or no setcap (libcap2-bin)"
fi
# As root, a file's owner and group are kept in the bundle (as non-root they cannot be).
if [ "$(id -u)" = 0 ]; then
	echo owned >owned && chown 1234:2345 owned && chmod 640 owned
	run_tool --include "$tmp/owned" /bin/true "$tmp/own"
	assert_rc "bundle including a file owned by 1234:2345: exit 0" 0
	assert_eq "as root the copy keeps its owner, group and mode" "$(stat -c '%u:%g %a' "$tmp/own$tmp/owned" 2>&1)" "1234:2345 640"
elif [ "${CI:-}" = true ]; then
	fail "ownership kept as root cannot be tested: not root"
fi
done_testing
