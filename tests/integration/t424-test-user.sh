#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: ISO-09.
# `magicpak test --user USER[:GROUP]` runs the command as that user, as an image's `USER`
# line does: numbers, or names from the bundle's own /etc/passwd and /etc/group (read inside
# the bundle: its absolute symlinks point into it), no supplementary groups, no capability;
# a set-user-ID root program in the bundle gains nothing (nosuid, no_new_privs); a file the
# user may not read fails the test, and the diagnosis names it with its mode. Bad values are
# refused in one line before anything runs; a caller who is not root is refused.
. "$(dirname "$0")/../lib.sh"
require_root
require_jail
b=$tmp/b
jail_bundle "$b" /usr/bin/id --include /usr/bin/cat --include /usr/bin/touch

run_test "$b" --user 1000 -- id
assert_rc "--user 1000: exit 0" 0
assert_eq "--user 1000: uid 1000, group 0 (no passwd entry, as docker run --user)" "$out" \
	"uid=1000 gid=0 groups=0"
run_test "$b" --user 1000:1001 -- id
assert_eq "--user 1000:1001: that uid and gid, no supplementary group" "$out" \
	"uid=1000 gid=1001 groups=1001"
run_test "$b" --user 0 -- id
assert_eq "--user 0: root, as without it" "$out" "uid=0 gid=0 groups=0"

run_test "$b" --user 1000 -- cat /proc/self/status
has_row "--user: real, effective, saved and fs uid 1000" "$out" "Uid:	1000	1000	1000	1000"
has_row "--user: no capability (CapPrm)" "$out" "CapPrm:	0000000000000000"
has_row "--user: no capability (CapEff)" "$out" "CapEff:	0000000000000000"
has_row "--user: NoNewPrivs 1" "$out" "NoNewPrivs:	1"

# ISO-09: a set-user-ID root copy of id in the bundle, run as uid 1000, stays uid 1000
cp /usr/bin/id "$b/usr/bin/suid-id" && chmod 4755 "$b/usr/bin/suid-id"
run_test "$b" --user 1000 -- suid-id
assert_eq "a set-user-ID root program run as 1000 gains nothing (no euid=0)" "$out" \
	"uid=1000 gid=0 groups=0"

# names from the bundle's /etc, through an absolute symlink that means the bundle's root
mkdir -p "$b/etc" "$b/data"
printf 'root:x:0:0::/:/bin/sh\napp:x:1234:4321::/home/app:/bin/sh\n' >"$b/data/passwd"
ln -s /data/passwd "$b/etc/passwd"
printf 'root:x:0:\napp:x:4321:\nstaff:x:50:\n' >"$b/etc/group"
run_test "$b" --user app -- id -u
assert_eq "--user app: the bundle's uid for app (its /etc/passwd is a link into the bundle)" \
	"$out" "1234"
run_test "$b" --user app -- id -g
assert_eq "--user app: app's group from the bundle's /etc/passwd" "$out" "4321"
run_test "$b" --user app:staff -- id -g
assert_eq "--user app:staff: the group's gid from the bundle's /etc/group" "$out" "50"
run_test "$b" --user 1234 -- id -g
assert_eq "--user 1234: a number the bundle names takes its group there" "$out" "4321"
run_test "$b" --user 1000:staff -- id
assert_eq "--user 1000:staff: a number and a group name" "$out" "uid=1000 gid=50(staff) groups=50(staff)"

# the user cannot write where root could: / of the jail belongs to root
run_test "$b" --user 1000 -- touch /newfile
check "--user 1000: writing / fails (exit 1)" test "$rc" = 1
check "the reason is the permission" grep -q "Permission denied" "$err"
run_test "$b" --user 1000 -- touch /tmp/newfile
assert_rc "--user 1000: /tmp is writable (mode 1777)" 0

# a library the user may not read: the test fails and the diagnosis names it with its mode
lib=$("$TOOL" deps /usr/bin/id | grep -m1 'libselinux\|libc\.so')
chmod 600 "$b$lib"
run_test "$b" --user 1000 -- id
assert_rc "--user 1000 with a library of mode 600: the test fails (exit 1)" 1
assert_contains "the diagnosis names the file, its mode and owner" "$(last_line "$err")" \
	"the command was denied 1 file the bundle has: $lib (mode 600, owner 0:0)"
run_test "$b" -- id
assert_rc "as root the same bundle passes" 0
chmod 644 "$b$lib"

# bad values: one line, the right exit, nothing run
state=$(tree_state "$b")
for v in "" ":" "1000:" ":50" "1:2:3" "nosuch" "1000:nosuch" "4294967295" "99999999999" "-1"; do
	run_test "$b" --user "$v" -- touch /tmp/x
	case $v in nosuch|1000:nosuch|-1) want=3 ;; *) want=2 ;; esac
	assert_rc "--user '$v': exit $want" "$want"
	assert_eq "--user '$v': one line on stderr" "$(wc -l <"$err")" 1
done
run_test "$b" --user nosuch -- id
assert_contains "an unknown name is named, with where it was looked up" "$(cat "$err")" \
	"no user 'nosuch' in the bundle's /etc/passwd"
run_test "$b" --user 1000:nosuch -- id
assert_contains "an unknown group is named" "$(cat "$err")" "no group 'nosuch' in the bundle's /etc/group"
assert_eq "the bundle is unchanged by the refused runs" "$(tree_state "$b")" "$state"

# not root: a jail in a user namespace has one uid; --user is refused, plain test still runs
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	chmod 755 "$tmp"
	as_nobody=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
	"${as_nobody[@]}" "$TOOL" test "$b" --user 1000 -- id >"$tmp/nb.out" 2>"$tmp/nb.err"
	assert_eq "as nobody, --user 1000: exit 3 (cannot set up)" "$?" 3
	check "it says --user needs root" grep -q "needs root" "$tmp/nb.err"
	check "nothing ran" test ! -s "$tmp/nb.out"
fi
done_testing
