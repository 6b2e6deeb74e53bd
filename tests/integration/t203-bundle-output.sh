#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# OUTPUT rules: it must not exist or be an empty directory, and not a symlink; a refused or failed
# run gives one error line, a nonzero exit, and leaves nothing named OUTPUT or OUTPUT.magicpak-*.
. "$(dirname "$0")/../lib.sh"

# A non-empty OUTPUT is refused and left as it was.
mkdir full && echo keep >full/file && mkdir full/sub
before=$(listing full; cat full/file)
run_tool /bin/true "$tmp/full"
assert_rc "non-empty OUTPUT: exit 1" 1
assert_one_error_line "non-empty OUTPUT: one error line naming it" "$err" "$tmp/full"
check "non-empty OUTPUT: the reason says not empty" grep -qi "not empty" "$err"
assert_eq "non-empty OUTPUT: unchanged" "$(listing full; cat full/file)" "$before"
assert_eq "non-empty OUTPUT: no full.magicpak-* left" "$(ls -d full.magicpak-* 2>/dev/null)" ""
# A directory holding only a dot file is not empty either.
mkdir dotted && : >dotted/.hidden
run_tool /bin/true "$tmp/dotted"
assert_rc "OUTPUT with only a dot file: exit 1" 1
assert_eq "OUTPUT with only a dot file: unchanged" "$(listing dotted)" ".hidden 644 f "

# An empty existing directory works; the bundle runs from it.
mkdir empty
run_tool /bin/true "$tmp/empty"
assert_rc "empty existing OUTPUT: exit 0" 0
check "empty existing OUTPUT: it is a directory holding the bundle" test -f "$tmp/empty/usr/bin/true" -a ! -L "$tmp/empty"
assert_eq "empty existing OUTPUT: no empty.magicpak-* left" "$(ls -d empty.magicpak-* 2>/dev/null)" ""
# OUTPUT that does not exist: made, with no temporary left.
run_tool /bin/true "$tmp/new"
assert_rc "new OUTPUT: exit 0" 0
check "new OUTPUT: made" test -d "$tmp/new/usr"
assert_eq "new OUTPUT: no new.magicpak-* left" "$(ls -d new.magicpak-* 2>/dev/null)" ""
# A relative OUTPUT is relative to the current directory.
mkdir -p cwd && (cd cwd && "$TOOL" /bin/true rel 2>"$err")
check "relative OUTPUT: made under the current directory" test -f "$tmp/cwd/rel/usr/bin/true"

# OUTPUT being a symlink (to an empty dir, or dangling) is refused; the target stays empty.
mkdir target && ln -s target link
run_tool /bin/true "$tmp/link"
assert_rc "OUTPUT a symlink to an empty directory: exit 1" 1
assert_one_error_line "OUTPUT a symlink: one error line naming it" "$err" "$tmp/link"
assert_eq "OUTPUT a symlink: the link target is still empty" "$(listing target)" ""
check "OUTPUT a symlink: the link is still a link" test -L link
assert_eq "OUTPUT a symlink: no link.magicpak-* left" "$(ls -d link.magicpak-* 2>/dev/null)" ""
ln -s "$tmp/nowhere" dangling
run_tool /bin/true "$tmp/dangling"
assert_rc "OUTPUT a dangling symlink: exit 1" 1
check "OUTPUT a dangling symlink: nothing made at its target" test ! -e "$tmp/nowhere"
assert_eq "OUTPUT a dangling symlink: no dangling.magicpak-* left" "$(ls -d dangling.magicpak-* 2>/dev/null)" ""
# OUTPUT a regular file.
echo x >afile
run_tool /bin/true "$tmp/afile"
assert_rc "OUTPUT a regular file: exit 1" 1
assert_one_error_line "OUTPUT a regular file: one error line naming it" "$err" "$tmp/afile"
assert_eq "OUTPUT a regular file: unchanged" "$(cat afile)" x

# Failures leave nothing behind.
run_tool "$tmp/no-such-input" "$tmp/o1"
assert_rc "missing INPUT: exit 1" 1
assert_no_output "missing INPUT" "$tmp/o1"
run_tool /bin/true "$tmp/no-such-input" "$tmp/o2"
assert_rc "second INPUT missing: exit 1" 1
assert_no_output "second INPUT missing" "$tmp/o2"
run_tool --include "$tmp/no-such-include" /bin/true "$tmp/o3"
# (a glob that matches nothing is a warning naming it, or an error that leaves nothing)
if [ "$rc" = 0 ]; then
	check "--include matching nothing: a warning names it" grep -q "^magicpak: .*$tmp/no-such-include" "$err"
else
	assert_no_output "--include matching nothing, refused" "$tmp/o3"
fi
if command -v cc >/dev/null; then
	mkdir L
	printf 'int g(void){return 0;}\n' >g.c
	printf 'int g(void);\nint main(void){return g();}\n' >m.c
	cc -shared -fPIC -o L/libgone.so g.c && cc -o m m.c -LL -lgone -Wl,-rpath,"$tmp/L" && rm L/libgone.so
	run_tool "$tmp/m" "$tmp/o4"
	assert_rc "missing library: exit 1" 1
	assert_one_error_line "missing library: one error line naming it" "$err" libgone.so
	assert_no_output "missing library" "$tmp/o4"
	# ... also into an existing empty directory: it stays, empty.
	mkdir o5
	run_tool "$tmp/m" "$tmp/o5"
	assert_rc "missing library, existing empty OUTPUT: exit 1" 1
	assert_eq "missing library, existing empty OUTPUT: still empty" "$(listing o5)" ""
	assert_eq "missing library, existing empty OUTPUT: no o5.magicpak-* left" "$(ls -d o5.magicpak-* 2>/dev/null)" ""
fi
done_testing
