#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The diagnosis names a library deliberately left out of the bundle, first, with the
# --include that adds it; a bundle made with that --include passes. A bundle whose program is
# there but whose ELF interpreter (ld.so), or a script's '#!' one, is not: the interpreter is
# named, the kernel's own open that the traced command never makes.
. "$(dirname "$0")/../lib.sh"
require_root
require_jail
[ -x /usr/bin/sqlite3 ] || skip "no /usr/bin/sqlite3"
lib=$(ldd /usr/bin/sqlite3 | awk '/libsqlite3\.so/ {print $1}')
[ -n "$lib" ] || skip "/usr/bin/sqlite3 does not use a shared libsqlite3"
b=$tmp/sq.b
jail_bundle "$b" /usr/bin/sqlite3 -e '**/libsqlite3.so*'
check "the bundle really lacks $lib" test -z "$(find "$b" -name 'libsqlite3.so*')"

run_test "$b" --expect-stdout 42 -- sqlite3 :memory: 'select 40+2'
assert_rc "sqlite3 without its library: exit 1" 1
check "ld.so's error is shown" grep -q "$lib" "$err"
line=$(last_line "$err")
echo "    $line"
check "the diagnosis names $lib first" grep -qE "the command looked for [0-9]+ files? the bundle lacks: (/usr)?/lib/x86_64-linux-gnu/$lib[,;]" <<<"$line"
check "the line ends with the --include for it" grep -qE "to add (it|them):( --include [^ ]+)*? --include (/usr)?/lib/x86_64-linux-gnu/$lib( |$)" <<<"$line"
check "nothing from /proc, /dev, /tmp or the ld.so cache" sh -c '! printf "%s\n" "$1" | grep -qE "(/proc/|/dev/|/tmp/|ld\.so\.cache)"' sh "$line"
check "no file the bundle has is named (sqlite3 itself, libc)" sh -c '! printf "%s\n" "$1" | grep -qE "(bin/sqlite3|libc\.so)"' sh "$line"
check "the bundle on disk is unchanged by the diagnosis (still no libsqlite3)" test -z "$(find "$b" -name 'libsqlite3.so*')"

run_test "$b" --no-diagnose -- sqlite3 :memory: 'select 40+2'
assert_rc "--no-diagnose: exit 1" 1
assert_eq "--no-diagnose: no diagnosis" "$(last_line "$err")" "magicpak: test failed (exit 127)"

inc=$(grep -oE -- "--include [^ ]+" <<<"$line" | head -1 | cut -d' ' -f2)
jail_bundle "$tmp/sq2.b" /usr/bin/sqlite3 --include "$inc"
run_test "$tmp/sq2.b" --expect-stdout 42 -- sqlite3 :memory: 'select 40+2'
assert_rc "bundled again with the suggested --include $inc: pass" 0
ld=$(readelf -lW /usr/bin/sqlite3 | sed -n 's/.*interpreter: \(.*\)]$/\1/p')
nold=$tmp/nold.b
jail_bundle "$nold" /usr/bin/sqlite3 -e "$(readlink -f "$ld")" -e "$ld"
run_test "$nold" -- /usr/bin/sqlite3 :memory: 'select 1'
assert_rc "sqlite3 without its ELF interpreter: exit 1" 1
check "the diagnosis names the interpreter ($ld)" grep -qE "the bundle lacks: [^;]*$ld" <<<"$(last_line "$err")" ||
	echo "    $(last_line "$err")"
if [ -x /usr/bin/dash ]; then
	printf '#!/usr/bin/dash\nexit 0\n' >"$tmp/scr"; chmod +x "$tmp/scr"
	mkdir -p "$nold/usr/local/bin"; cp "$tmp/scr" "$nold/usr/local/bin/scr"
	run_test "$nold" -- /usr/local/bin/scr
	check "a script whose '#!' interpreter (/usr/bin/dash) the bundle lacks: it is named" \
		grep -qE "the bundle lacks: [^;]*/usr/bin/dash" <<<"$(last_line "$err")" || echo "    $(last_line "$err")"
fi
done_testing
