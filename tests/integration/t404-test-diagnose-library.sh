#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The diagnosis names a library deliberately left out of the bundle, first, with the
# --include that adds it; a bundle made with that --include passes.
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
done_testing
