#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An existing empty OUTPUT is written into, not replaced by a rename (as the original magicpak
# wrote into it): it keeps its own mode and owner, and a mount point (a Docker volume at /bundle)
# or "." works, for the one-shot form and `magicpak bundle` alike. The tree is staged in a hidden
# directory inside OUTPUT and its top entries moved in at the end: a failed run leaves OUTPUT as
# empty as it was, and what a killed run left inside is removed by the next one.
. "$(dirname "$0")/../lib.sh"
require_chroot
CHROOT=$(command -v chroot)
crun() { env -i PATH=/usr/bin:/bin HOME=/ LC_ALL=C timeout 10 "$CHROOT" "$@"; }
hidden() { ls -A "$1" | grep -c '^\.magicpak-'; }

# OUTPUT ".": the current directory, empty.
mkdir dot
(cd dot && timeout 20 "$TOOL" /bin/true . 2>"$err"); rc=$?
check "OUTPUT '.': exit 0 (now $rc), the bundle in it, no staging left" \
	sh -c '[ "$1" = 0 ] && [ -f dot/usr/bin/true ] && [ "$(ls -A dot | grep -c "^\.magicpak-")" = 0 ]' sh "$rc"
assert_eq "OUTPUT '.': chroot dot /bin/true" "$(crun "$tmp/dot" /bin/true 2>&1; echo "rc=$?")" "rc=0"

# An existing OUTPUT keeps its mode and owner.
mkdir own && chmod 0750 own && chown 1234:2345 own
run_tool /bin/true "$tmp/own"
assert_eq "existing OUTPUT: exit 0, its mode and owner kept, the bundle in it" \
	"$rc $(stat -c '%a %u:%g' own) $(test -f own/usr/bin/true && echo bundled) $(hidden own)" "0 750 1234:2345 bundled 0"
# ... and a failed run leaves it as it was: empty, same mode and owner, nothing hidden left.
mkdir own2 && chmod 0750 own2 && chown 1234:2345 own2
run_tool "$tmp/no-such-input" "$tmp/own2"
assert_eq "existing OUTPUT, failed run: exit 1, still empty, mode and owner kept" \
	"$rc $(stat -c '%a %u:%g' own2) [$(ls -A own2)]" "1 750 1234:2345 []"
run_tool /bin/true "$tmp/own2" --test --test-command false
assert_eq "existing OUTPUT, failing --test: exit 1, still empty, mode and owner kept" \
	"$rc $(stat -c '%a %u:%g' own2) [$(ls -A own2)]" "1 750 1234:2345 []"

# A staging directory a killed bundler left inside OUTPUT (its pid is dead) is removed by the next run.
mkdir left && mkdir -p left/.magicpak-999999999.AbCdEf/usr
run_tool /bin/true "$tmp/left"
assert_eq "OUTPUT holding only a dead bundler's staging directory: exit 0, it is gone" \
	"$rc $(hidden left) $(test -f left/usr/bin/true && echo bundled)" "0 0 bundled"

# A mount point: rename(2) over it fails (EBUSY); the bundle is written into the mounted directory.
mkdir src mnt
mount --bind "$tmp/src" "$tmp/mnt" 2>/dev/null || skip "cannot bind-mount here"
trap 'umount "$tmp/mnt" 2>/dev/null; umount "$tmp/mnt2" 2>/dev/null; rm -rf "$tmp"' EXIT
run_tool /bin/true "$tmp/mnt"
assert_eq "OUTPUT a mount point: exit 0, the bundle in the mounted directory, no staging left" \
	"$rc $(test -f src/usr/bin/true && echo bundled) $(hidden src)" "0 bundled 0"
assert_eq "OUTPUT a mount point: chroot mnt /bin/true" "$(crun "$tmp/mnt" /bin/true 2>&1; echo "rc=$?")" "rc=0"
umount "$tmp/mnt"

# `magicpak bundle OUTPUT` goes through the same bundler.
if command -v sqlite3 >/dev/null && "$TOOL" record --db "$tmp/.probe.db" -- /bin/true >/dev/null 2>&1; then
	use_dbdir
	trap 'umount "$tmp/mnt2" 2>/dev/null; rm -rf "$tmp" "$dbdir"' EXIT
	rec "$dbdir/r.db" /bin/true
	mkdir src2 mnt2 && mount --bind "$tmp/src2" "$tmp/mnt2"
	bundle_rc "$dbdir/r.db" "$tmp/mnt2"
	assert_eq "bundle OUTPUT, a mount point: exit 0, the bundle in it" \
		"$rc $(test -f src2/usr/bin/true && echo bundled) $(hidden src2)" "0 bundled 0"
	umount "$tmp/mnt2"
fi
done_testing
