#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The one-shot command line: --version, --help listing every option of the README table, the options
# that are accepted and ignored (--cc, --experimental-noload-resolver), -v/--log-level, -L.
. "$(dirname "$0")/../lib.sh"
README=$TESTS_DIR/../README.md

for v in -V --version; do
	run_tool $v
	assert_rc "$v: exit 0" 0
	check "$v: prints a version (magicpak N.N.N)" grep -qE '^magicpak [0-9]+\.[0-9]+(\.[0-9]+)?' <<<"$out"
	assert_eq "$v: one line" "$(printf '%s\n' "$out" | wc -l)" 1
	assert_eq "$v: nothing on stderr" "$(cat "$err")" ""
done
if [ -f "$TESTS_DIR/../VERSION" ]; then
	assert_contains "--version matches the VERSION file" "$out" "$(tr -d '[:space:]' <"$TESTS_DIR/../VERSION")"
fi

# --help: every option in the README table of the one-shot form is listed.
want=$(sed -n '/^### `magicpak \[OPTIONS\] INPUT\.\.\. OUTPUT`/,/^###/p' "$README" | grep '^| `' |
	cut -d'|' -f2 | grep -oE -- '--?[A-Za-z][-A-Za-z]*' | LC_ALL=C sort -u)
check "README table parsed (has --include and -i)" sh -c 'printf "%s\n" "$1" | grep -qx -- --include && printf "%s\n" "$1" | grep -qx -- -i' sh "$want"
for h in -h --help; do
	run_tool $h
	assert_rc "$h: exit 0" 0
	check "$h: prints usage on stdout" grep -q 'usage: magicpak \[OPTIONS\] INPUT\.\.\. OUTPUT' <<<"$out"
	got=$(printf '%s\n' "$out" | grep -oE -- '(^|[[:space:],])--?[A-Za-z][-A-Za-z]*' | sed 's/^[[:space:],]*//' | LC_ALL=C sort -u)
	assert_eq "$h: lists every option of the README table" "$(comm -23 <(printf '%s\n' "$want") <(printf '%s\n' "$got"))" ""
done

# Accepted and ignored: the bundle is the same as without them.
run_tool /bin/true "$tmp/plain"
assert_rc "plain bundle: exit 0" 0
run_tool --cc /no/such/cc --experimental-noload-resolver /bin/true "$tmp/ign"
assert_rc "--cc /no/such/cc --experimental-noload-resolver: exit 0" 0
check "--cc and --experimental-noload-resolver: same bundle" diff -r --no-dereference "$tmp/plain" "$tmp/ign"
run_tool --cc=gcc /bin/true "$tmp/ign2"
assert_rc "--cc=gcc: exit 0" 0

# -v says more on stderr; --log-level Off says nothing, even with a warning to give; stdout stays empty.
cp /bin/true suid && chmod 4755 suid
run_tool "$tmp/suid" "$tmp/w"
check "default level: the setuid warning is shown" grep -qi 'warning' "$err"
run_tool --log-level off "$tmp/suid" "$tmp/w0"
assert_rc "--log-level off: exit 0" 0
assert_eq "--log-level off: nothing on stderr" "$(cat "$err")" ""
run_tool --log-level ERROR "$tmp/suid" "$tmp/w1"
assert_eq "--log-level ERROR (any case): no warning" "$(cat "$err")" ""
run_tool -v /bin/true "$tmp/v"
assert_rc "-v: exit 0" 0
check "-v: says something on stderr" test -s "$err"
check "-v: every stderr line starts with 'magicpak: '" sh -c '! grep -v "^magicpak: " "$1"' sh "$err"
assert_eq "-v: nothing on stdout" "$out" ""
run_tool --log-level Bogus /bin/true "$tmp/lb"
check "--log-level Bogus: exit 2" test "$rc" = 2
assert_one_error_line "--log-level Bogus: one error line" "$err" "Bogus"
assert_no_output "--log-level Bogus" "$tmp/lb"

# -L / --library-path: a library found only through it is bundled.
if command -v cc >/dev/null; then
	mkdir L
	printf 'int g(void){return 0;}\n' >g.c
	printf 'int g(void);\nint main(void){return g();}\n' >m.c
	cc -shared -fPIC -o L/libonlyl.so g.c -Wl,-soname,libonlyl.so && cc -o m m.c -LL -lonlyl
	(unset LD_LIBRARY_PATH; "$TOOL" "$tmp/m" "$tmp/nol" 2>"$err"); rc=$?
	check "without -L: the library is not found (exit 1)" test "$rc" = 1
	run_tool -L "$tmp/L" "$tmp/m" "$tmp/withl"
	assert_rc "-L DIR: exit 0" 0
	check "-L DIR: the library is bundled" test -f "$tmp/withl$tmp/L/libonlyl.so"
	run_tool --library-path "$tmp/L" "$tmp/m" "$tmp/withl2"
	check "--library-path DIR: the library is bundled" test -f "$tmp/withl2$tmp/L/libonlyl.so"
fi
done_testing
