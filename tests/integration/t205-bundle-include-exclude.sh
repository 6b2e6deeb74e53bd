#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --include (a directory brings its whole tree; * and ** globs; an ELF file brings its libraries) and
# --exclude (matched against destination paths and the directories above them, applied last,
# symlink targets included; in this
# one-shot form as the original magicpak matched it, the glob crate's defaults: `*` and `?` cross
# '/', a `**` component matches whole directories; a glob that matches nothing is one warning).
. "$(dirname "$0")/../lib.sh"
Z=/usr/share/zoneinfo
if [ ! -f $Z/Europe/Paris ]; then skip "no $Z/Europe/Paris (tzdata) on this machine"; fi
files_under() { (cd "$1" && find . -mindepth 1 -printf '%P %y %l\n' | LC_ALL=C sort); }

# A directory: its whole tree, as on the host.
run_tool --include $Z/Europe /bin/true "$tmp/d"
assert_rc "--include a directory: exit 0" 0
assert_eq "--include $Z/Europe: the whole tree, as on the host" "$(files_under "$tmp/d$Z/Europe")" "$(files_under $Z/Europe)"
check "--include $Z/Europe: nothing else of zoneinfo" test ! -e "$tmp/d$Z/America"
cmp -s $Z/Europe/Paris "$tmp/d$Z/Europe/Paris"; check "--include a directory: contents equal" test $? = 0

# A trailing /** component: the directory and everything below it.
run_tool --include "$Z/Europe/**" /bin/true "$tmp/dd"
assert_rc "--include '$Z/Europe/**': exit 0" 0
assert_eq "--include '$Z/Europe/**': the whole tree" "$(files_under "$tmp/dd$Z/Europe")" "$(files_under $Z/Europe)"

# * : the entries of one directory.
run_tool --include "$Z/Europe/*" /bin/true "$tmp/s"
assert_rc "--include '$Z/Europe/*': exit 0" 0
assert_eq "--include '$Z/Europe/*': every entry of Europe" "$(files_under "$tmp/s$Z/Europe")" "$(files_under $Z/Europe)"
run_tool --include "$Z/Europe/P*" /bin/true "$tmp/p"
# (a matched link brings its target: Podgorica -> Belgrade)
want=$(cd $Z/Europe && for f in P*; do echo "$f"; [ -L "$f" ] && readlink "$f"; done | LC_ALL=C sort -u)
assert_eq "--include '$Z/Europe/P*': the P* entries and the targets of those that are links" "$(ls "$tmp/p$Z/Europe" 2>&1 | LC_ALL=C sort)" "$want"

# ** in the middle: Paris anywhere under zoneinfo.
run_tool --include "$Z/**/Paris" /bin/true "$tmp/a"
assert_rc "--include '$Z/**/Paris': exit 0" 0
assert_eq "--include '$Z/**/Paris': every Paris under zoneinfo" \
	"$(cd "$tmp/a$Z" 2>/dev/null && find . -name Paris | LC_ALL=C sort)" "$(cd $Z && find . -name Paris | LC_ALL=C sort)"
assert_eq "--include '$Z/**/Paris': nothing but Paris files (and dirs) under zoneinfo" \
	"$(cd "$tmp/a$Z" 2>/dev/null && find . -not -type d -not -name Paris)" ""
# ? and [set]
run_tool --include "$Z/Europe/[PR]ari?" /bin/true "$tmp/q"
assert_eq "--include '$Z/Europe/[PR]ari?': Paris" "$(ls "$tmp/q$Z/Europe" 2>&1)" Paris
# A symlink matched by --include keeps being a link, and its target comes along.
lnk=$(cd $Z && find . -maxdepth 1 -type l -name 'GB' -printf '%P')
if [ -n "$lnk" ]; then
	run_tool --include "$Z/GB" /bin/true "$tmp/l"
	check "--include $Z/GB (a link): a link in the bundle" test -L "$tmp/l$Z/GB"
	assert_eq "--include $Z/GB: same target" "$(readlink "$tmp/l$Z/GB")" "$(readlink $Z/GB)"
	check "--include $Z/GB: its target file is bundled" test -f "$tmp/l$(realpath $Z/GB)"
fi

# An ELF file matched by --include gets its libraries too.
run_tool --include /usr/bin/sqlite3 /bin/true "$tmp/e"
assert_rc "--include /usr/bin/sqlite3 with INPUT /bin/true: exit 0" 0
check "the included sqlite3 is bundled" test -f "$tmp/e/usr/bin/sqlite3"
check "libsqlite3 (needed by the included ELF) is bundled" test -n "$(find "$tmp/e" -name 'libsqlite3.so*' -type f)"
if [ "$(id -u)" = 0 ] && chroot / /bin/true 2>/dev/null; then
	assert_eq "the included sqlite3 runs under chroot" "$(env -i HOME=/ "$(command -v chroot)" "$tmp/e" /usr/bin/sqlite3 :memory: 'select 2*21' 2>&1)" 42
fi
# ... also when matched by a glob.
run_tool --include '/usr/bin/sqlite?' /bin/true "$tmp/e2"
check "--include '/usr/bin/sqlite?': libsqlite3 bundled too" test -n "$(find "$tmp/e2" -name 'libsqlite3.so*' -type f)"

# --exclude the real libc file: no such file in the bundle.
run_tool --exclude /usr/lib/x86_64-linux-gnu/libc.so.6 /bin/true "$tmp/x1"
assert_rc "--exclude the libc file: exit 0" 0
assert_eq "--exclude /usr/lib/x86_64-linux-gnu/libc.so.6: no libc.so.6 in the bundle" "$(cd "$tmp/x1" && find . -name 'libc.so*')" ""
check "--exclude libc: the program itself is still there" test -f "$tmp/x1/usr/bin/true"
# --exclude a symlink target: libsqlite3.so.0 -> libsqlite3.so.0.8.x; excluding the real file drops it,
# the link (a different destination path) may stay but nothing may be written at the excluded path.
real=$(realpath /usr/lib/x86_64-linux-gnu/libsqlite3.so.0 2>/dev/null)
if [ -n "$real" ] && [ "$real" != /usr/lib/x86_64-linux-gnu/libsqlite3.so.0 ]; then
	run_tool --exclude "$real" /usr/bin/sqlite3 "$tmp/x2"
	assert_rc "--exclude the target of libsqlite3.so.0: exit 0" 0
	check "--exclude $real: not in the bundle" test ! -e "$tmp/x2$real" -a ! -L "$tmp/x2$real"
	assert_eq "--exclude $real: no regular libsqlite3 file at all" "$(find "$tmp/x2" -name 'libsqlite3*' -type f)" ""
fi
# --exclude wins over --include.
run_tool --include $Z/Europe --exclude "$Z/Europe/Paris" /bin/true "$tmp/x3"
check "--exclude wins over --include: no Paris" test ! -e "$tmp/x3$Z/Europe/Paris"
check "--exclude wins over --include: Berlin still there" test -f "$tmp/x3$Z/Europe/Berlin"
# --exclude a directory: nothing below it either (as tar and rsync exclude a directory), also
# when it was --include'd whole; its sibling directories stay.
run_tool --include "$Z/**" --exclude "$Z/Europe" /bin/true "$tmp/x3d"
assert_rc "--exclude a directory: exit 0" 0
check "--exclude $Z/Europe: neither it nor anything below it" test ! -e "$tmp/x3d$Z/Europe"
check "--exclude $Z/Europe: America still there" test -d "$tmp/x3d$Z/America"
run_tool --exclude /usr/lib/x86_64-linux-gnu /bin/true "$tmp/x3e"
assert_eq "--exclude /usr/lib/x86_64-linux-gnu: no file below it written" "$(find "$tmp/x3e/usr/lib/x86_64-linux-gnu" -mindepth 1 2>/dev/null)" ""
check "--exclude /usr/lib/x86_64-linux-gnu: no warning that it matches nothing" sh -c '! grep -q "matches nothing" "$1"' sh "$err"
# --exclude with a library found through $ORIGIN/.. (a path with '..' in it, whose chain has no
# destination yet): the glob is tried on nothing outside the path (it read past a 1-byte copy).
if command -v cc >/dev/null; then
	mkdir -p "$tmp/og/bin" "$tmp/og/lib"
	printf 'int foo(void){return 1;}\n' >"$tmp/og/foo.c"
	printf 'int foo(void); int main(void){return foo()-1;}\n' >"$tmp/og/p.c"
	cc -shared -fPIC -o "$tmp/og/lib/libfoo.so" "$tmp/og/foo.c" &&
		cc -o "$tmp/og/bin/prog" "$tmp/og/p.c" -L"$tmp/og/lib" -lfoo -Wl,-rpath,'$ORIGIN/../lib' ||
		{ echo "FAIL: cannot build the \$ORIGIN/.. fixture"; exit 1; }
	run_tool -e /nothing "$tmp/og/bin/prog" "$tmp/x3o"
	assert_rc "-e with a \$ORIGIN/../lib library: exit 0" 0
	check "the library is bundled" test -f "$tmp/x3o$tmp/og/lib/libfoo.so"
elif [ "${CI:-}" = true ]; then
	fail "the \$ORIGIN/.. fixture cannot be built: no C compiler"
fi
# --exclude an INPUT's own path.
run_tool --exclude /usr/bin/true /bin/true "$tmp/x4"
check "--exclude the INPUT path: not written" test ! -e "$tmp/x4/usr/bin/true"

# * crosses '/', as in the original: -e '/usr/lib/*' excludes /usr/lib/x86_64-linux-gnu/libc.so.6 too,
# and -e '*libpcre2*' (no leading '/') every libpcre2 file ls needs.
run_tool -e '/usr/lib/*' /bin/true "$tmp/x5"
check "-e '/usr/lib/*': exit 0 (now $rc), /usr/lib/x86_64-linux-gnu/libc.so.6 excluded, the program there" \
	test "$rc" = 0 -a ! -e "$tmp/x5/usr/lib/x86_64-linux-gnu/libc.so.6" -a -f "$tmp/x5/usr/bin/true"
if ldd /bin/ls 2>/dev/null | grep -q libpcre2; then
	run_tool -e '*libpcre2*' /bin/ls "$tmp/x7"
	check "-e '*libpcre2*' /bin/ls: exit 0 (now $rc), no libpcre2 file or link in the bundle, ls there" \
		sh -c '[ "$1" = 0 ] && [ -z "$(find "$2" -name "*libpcre2*")" ] && [ -f "$2/usr/bin/ls" ]' sh "$rc" "$tmp/x7"
fi
# ? crosses '/' too.
run_tool -e '/usr/lib?x86_64-linux-gnu?libc.so.6' /bin/true "$tmp/x8"
check "-e '/usr/lib?x86_64-linux-gnu?libc.so.6': exit 0 (now $rc), libc.so.6 excluded" \
	test "$rc" = 0 -a ! -e "$tmp/x8/usr/lib/x86_64-linux-gnu/libc.so.6"
# A glob that matches nothing: one warning naming it; the bundle is still written.
run_tool -e '/no/such/*' /bin/true "$tmp/x9"
check "-e '/no/such/*': exit 0 (now $rc), one warning line naming it" \
	sh -c '[ "$1" = 0 ] && [ "$(grep -c . "$2")" = 1 ] && grep -qx "magicpak: warning: --exclude '"'/no/such/\*'"' matches nothing" "$2"' sh "$rc" "$err"
# ** does: -e '/usr/lib/**' excludes everything below /usr/lib.
run_tool -e '/usr/lib/**' /bin/true "$tmp/x6"
assert_rc "-e '/usr/lib/**': exit 0" 0
check "-e '/usr/lib/**' excludes /usr/lib/x86_64-linux-gnu/libc.so.6" test ! -e "$tmp/x6/usr/lib/x86_64-linux-gnu/libc.so.6"
assert_eq "-e '/usr/lib/**': no path below /usr/lib written (find out/usr/lib -mindepth 1)" "$(find "$tmp/x6/usr/lib" -mindepth 1 2>/dev/null)" ""
check "-e '/usr/lib/**': the program itself is still there" test -f "$tmp/x6/usr/bin/true"
done_testing
