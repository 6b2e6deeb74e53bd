#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: TRC-10.
# magicpak record: the path-taking syscalls beyond the open/stat families (tests/fixtures/record/
# cov2.c): AF_UNIX bind and connect (a server on $w/s, a client; a relative name; an abstract name
# and an AF_INET address store nothing), inotify_add_watch and fanotify_mark (watch),
# name_to_handle_at (stat; open_by_handle_at takes no path), uselib (open), the xattr family (xattr:
# flags & 3 is 1 for set/remove, AT_SYMLINK_NOFOLLOW for l*), mount/umount old and new API
# (mount, mount_from, umount; in the fixture's own mount namespace, root only, EPERM stored
# otherwise). Each is stored with its op, absolute path and the errno the kernel gave the fixture
# (setxattr may fail with ENOTSUP, uselib with ENOSYS: the fixture prints what it got); the
# session is complete (nothing undecoded); the same rows with --no-seccomp; i386 forms through
# int $0x80 (socketcall connect, umount, fanotify_mark's split mask, inotify_add_watch).
. "$(dirname "$0")/../lib.sh"
require_cc
require_sqlite3
require_ptrace
record_fixture cov2

cov2_setup() {
	local w=$1
	rm -rf "$w"; mkdir -p "$w/dir" "$w/mnt"
	echo x >"$w/f"; ln -s f "$w/lnk"
}
# rows DB SESSION: "op name errno" of the session's accesses under $w, name relative to $w.
rows() {
	sql "$1" "select distinct op || ' ' || substr(path, length('$w') + 2) || ' ' || errno
		from file_accesses where session_id = $2 and path like '$w/%'"
}
w=$tmp/w
db=$tmp/c.db
cov2_setup "$w"
record_rc "$db" "$tmp/cov2" "$w"
assert_rc "cov2: exit 0" 0
assert_eq "cov2: one complete session" "$(sql "$db" 'select count(*), sum(complete) from sessions')" "1|1"
said=$out
check "the fixture printed its calls ($(printf '%s\n' "$said" | grep -c .))" \
	test "$(printf '%s\n' "$said" | grep -c .)" -ge 30
got=$(rows "$db" 1)

# every call the fixture made, with the errno the kernel gave it
while read -r op name errno; do
	[ -n "$op" ] && [ "$op" != - ] || continue
	has_row "$op $name errno $errno" "$got" "$op $name $errno"
done <<<"$said"

# these do not depend on the file system or privileges
for r in 'bind s 0' 'connect s 0' 'connect nosock 2' 'bind rs 0' 'watch dir 0' 'watch nodir 2' \
	'stat nof 2' 'xattr noxattr 2' 'xattr dir/noat 2' 'mount nomnt 2'; do
	has_row "always: $r" "$got" "$r"
done
if [ "$(id -u)" = 0 ] && printf '%s\n' "$said" | grep -qxF 'mount mnt 0'; then
	for r in 'mount mnt 0' 'umount mnt 0' 'mount_from dir 0'; do
		has_row "root: $r" "$got" "$r"
	done
	assert_eq "mount --bind: flags MS_BIND on source and target" \
		"$(sql "$db" "select distinct op || ' ' || flags from file_accesses
			where op in ('mount', 'mount_from') and flags != 0 and path like '$w/%' order by op")" \
		"mount 4096
mount_from 4096"
fi
# nothing for names that are no file
assert_eq "abstract socket names and AF_INET store nothing; no relative path" \
	"$(sql "$db" "select path from file_accesses where path like '%abstract%' or path like '%cov2-%'
		or path not like '/%'")" ""
assert_eq "open_by_handle_at: no access besides name_to_handle_at's stat of f" \
	"$(sql "$db" "select count(*) from file_accesses where path = '$w/f' and op not in
		('stat', 'watch', 'xattr', 'open')")" 0
# flags
assert_eq "xattr flags: set/remove O_WRONLY, get/list 0, l* AT_SYMLINK_NOFOLLOW" \
	"$(sql "$db" "select distinct substr(path, length('$w') + 2) || ' ' || (flags & 3) || ' ' ||
		((flags & 256) != 0) from file_accesses where op = 'xattr' and path in ('$w/f', '$w/lnk')
		order by 1")" \
	"f 0 0
f 1 0
lnk 0 1
lnk 1 1"
assert_eq "name_to_handle_at without AT_SYMLINK_FOLLOW: stat flags AT_SYMLINK_NOFOLLOW" \
	"$(sql "$db" "select distinct flags from file_accesses where op = 'stat' and path = '$w/f'")" 256
assert_eq "the op names are in the public view" \
	"$(sql "$db" "select count(distinct op) from file_accesses where op in
		('connect', 'bind', 'watch', 'xattr', 'mount', 'umount')")" 6
sf=$(sql "$db" "select path from session_files where session_id = 1")
has_row "session_files has the socket the server bound" "$sf" "$w/s"
lacks_row "session_files lacks the socket nobody bound" "$sf" "$w/nosock"

# the seccomp filter only makes it faster: the same rows stopping at every syscall
cov2_setup "$w"
record_rc "$db" --no-seccomp -- "$tmp/cov2" "$w"
assert_rc "cov2 --no-seccomp: exit 0" 0
assert_eq "--no-seccomp: complete" "$(sql "$db" 'select complete from sessions where id = 2')" 1
assert_eq "the same rows with and without --no-seccomp (- seccomp, + no seccomp)" \
	"$(rows "$db" 2 | LC_ALL=C sort)" "$(printf '%s\n' "$got" | LC_ALL=C sort)"

# i386 (TRC-09): only where int $0x80 works (ia32 emulation)
cov2_setup "$w"
if "$tmp/cov2" "$w" int80 >/dev/null 2>&1; then
	cov2_setup "$w"
	record_rc "$db" "$tmp/cov2" "$w" int80
	assert_rc "int80: exit 0" 0
	assert_eq "int80: complete" "$(sql "$db" 'select complete from sessions where id = 3')" 1
	said=$out
	got=$(rows "$db" 3)
	check "int80: the fixture printed its calls" test "$(printf '%s\n' "$said" | grep -c .)" -ge 5
	while read -r op name errno; do
		[ -n "$op" ] || continue
		has_row "int80: $op $name errno $errno" "$got" "$op $name $errno"
	done <<<"$said"
	has_row "int80: socketcall connect" "$got" "connect s32 0"
else
	echo "note: int \$0x80 does not work here (ia32 emulation disabled): the i386 part not run"
fi
done_testing
