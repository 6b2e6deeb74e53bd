#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: ISO-09.
# `magicpak test --user USER[:GROUP]` runs the command as that user, as an image's `USER`
# line does: numbers, or names from the bundle's own /etc/passwd and /etc/group (read inside
# the bundle: its absolute symlinks point into it), the supplementary groups that file gives
# the user and no others, no capability; a set-user-ID root program in the bundle gains
# nothing (nosuid, no_new_privs); a file the user may not read fails the test, and the
# diagnosis names it with its mode, or the directory that refused it. Bad values (an id no
# process can have, a FIFO for /etc/passwd) are refused in one line before anything runs;
# so is --user where the jail has no namespaces of its own as root (not root; a plain chroot).
. "$(dirname "$0")/../lib.sh"
require_root
require_jail
b=$tmp/b
jail_bundle "$b" /usr/bin/id --include /usr/bin/cat --include /usr/bin/touch

run_test "$b" --user 1000 -- id
assert_rc "--user 1000: exit 0" 0
assert_eq "--user 1000: uid 1000, group 0 (no passwd entry, as docker run --user)" "$out" \
	"uid=1000 gid=0 groups=0"
# the tester itself in a supplementary group: the command must not keep it
out=$(setpriv --groups 4242 "$TOOL" test "$b" --user 1000:1001 -- id 2>"$err")
assert_eq "--user 1000:1001 from a root in group 4242: that uid and gid, no other group" \
	"$out" "uid=1000 gid=1001 groups=1001"
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

# names from the bundle's /etc, through an absolute symlink that means the bundle's root;
# the groups that list the user are its supplementary groups, as with docker run --user
mkdir -p "$b/etc" "$b/data"
printf 'root:x:0:0::/:/bin/sh\napp:x:1234:4321::/home/app:/bin/sh\nevil:x:4294967295:0::/:/bin/sh\n' \
	>"$b/data/passwd"
ln -s /data/passwd "$b/etc/passwd"
printf 'root:x:0:\napp:x:4321:\nstaff:x:50:app,other\nwheel:x:10:other\nneg:x:4294967295:\n' >"$b/etc/group"
run_test "$b" --user app -- id
assert_eq "--user app: the bundle's uid and group for app (its /etc/passwd is a link into the bundle), and staff, which lists it" \
	"$out" "uid=1234(app) gid=4321(app) groups=4321(app),50(staff)"
run_test "$b" --user app:staff -- id -g
assert_eq "--user app:staff: the group's gid from the bundle's /etc/group" "$out" "50"
run_test "$b" --user 1234 -- id -g
assert_eq "--user 1234: a number the bundle names takes its group there" "$out" "4321"
run_test "$b" --user 1000:staff -- id
assert_eq "--user 1000:staff: a number and a group name; no supplementary group for a uid the bundle does not name" \
	"$out" "uid=1000 gid=50(staff) groups=50(staff)"
run_test "$b" --user evil -- id
assert_rc "--user evil (uid 4294967295 in the bundle): refused, exit 2" 2
assert_contains "it names the id no process can have" "$(cat "$err")" "the bundle's /etc/passwd gives 'evil' the id 4294967295"
check "and nothing ran" test -z "$out"
run_test "$b" --user 1000:neg -- id
assert_rc "--user 1000:neg (gid 4294967295 in the bundle): refused, exit 2" 2
rm "$b/data/passwd" && mkfifo "$b/data/passwd"
run_test "$b" --user app -- id
assert_rc "a FIFO for /etc/passwd is not read (no hang): no user 'app', exit 3" 3
rm "$b/data/passwd" "$b/etc/passwd" "$b/etc/group"

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
	"the command was denied 1 file the bundle has: $lib (mode 600, owner 0:0; not readable by uid 1000)"
run_test "$b" -- id
assert_rc "as root the same bundle passes" 0
chmod 644 "$b$lib"
# a directory the user may not search: the diagnosis names the directory
mkdir -p "$b/private" && echo secret >"$b/private/f" && chmod 700 "$b/private"
run_test "$b" --user 1000 -- cat /private/f
assert_rc "--user 1000 reading a file in a mode-700 directory: the test fails" 1
assert_contains "the diagnosis names the directory that refused it" "$(last_line "$err")" \
	"/private/f (directory /private: mode 700, owner 0:0; not searchable by uid 1000)"

# bad values: one line, the right exit, nothing run
for v in "" ":" "1000:" ":50" "1:2:3" "nosuch" "1000:nosuch" "4294967295" "99999999999" "-1"; do
	run_test "$b" --user "$v" -- id
	case $v in nosuch|1000:nosuch|-1) want=3 ;; *) want=2 ;; esac
	assert_rc "--user '$v': exit $want" "$want"
	assert_eq "--user '$v': one line on stderr" "$(wc -l <"$err")" 1
	check "--user '$v': nothing ran" test -z "$out"
done
run_test "$b" --user nosuch -- id
assert_contains "an unknown name is named, with where it was looked up" "$(cat "$err")" \
	"no user 'nosuch' in the bundle's /etc/passwd"
run_test "$b" --user 1000:nosuch -- id
assert_contains "an unknown group is named" "$(cat "$err")" "no group 'nosuch' in the bundle's /etc/group"
# a plain chroot shares the host's processes: another user there could signal or trace them
run_test "$b" --user 1000 --isolation chroot -- id
assert_rc "--user 1000 --isolation chroot: refused, exit 3" 3
assert_contains "it says why" "$(cat "$err")" "not a plain chroot, where the command would share the host's processes"
check "nothing ran" test -z "$out"

# not root: a jail in a user namespace has one uid; --user 1000 is refused, --user 0 is the
# caller itself there and runs
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	chmod 755 "$tmp"
	as_nobody=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
	"${as_nobody[@]}" "$TOOL" test "$b" --user 1000 -- id >"$tmp/nb.out" 2>"$tmp/nb.err"
	assert_eq "as nobody, --user 1000: exit 3 (cannot set up)" "$?" 3
	check "it says --user needs the namespaces as root" grep -q "needs the jail's namespaces as root" "$tmp/nb.err"
	check "nothing ran" test ! -s "$tmp/nb.out"
	"${as_nobody[@]}" "$TOOL" test "$b" --user 0 -- id -u >"$tmp/nb.out" 2>"$tmp/nb.err"
	assert_eq "as nobody, --user 0 (the jail's own root): exit 0" "$?" 0
	assert_eq "and uid 0 inside" "$(cat "$tmp/nb.out")" 0
elif [ "${CI:-}" = true ]; then
	fail "no user nobody or no setpriv: --user from a non-root caller is untested"
fi
done_testing
