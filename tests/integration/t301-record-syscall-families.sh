#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: TRC-05, TRC-10.
# magicpak record: every syscall family the README lists is recorded with its op, its absolute path and
# its result (errno 0, or ENOENT 2, EEXIST 17, ENOTDIR 20, EINVAL 22), one fixture program calling each
# (glibc wrappers and raw syscalls: openat2, faccessat2, renameat2, stat, lstat, open, rename).
. "$(dirname "$0")/../lib.sh"
require_cc
require_sqlite3
require_ptrace
record_fixture families

# families_setup DIR: the files the fixture expects.
families_setup() {
	local w=$1
	rm -rf "$w"; mkdir -p "$w/dir" "$w/dir2"
	for f in exists dir/f oa2 r1 r2 r3 ul ula tr cm cma co lco coa ut; do echo x >"$w/$f"; done
	ln -s exists "$w/lnk"
}
w=$tmp/w
families_setup "$w"
record_rc "$tmp/f.db" "$tmp/families" "$w"
assert_rc "families: exit 0 (the final execve of /bin/true)" 0
assert_eq "families: one complete session" "$(sql "$tmp/f.db" 'select count(*), sum(complete) from sessions')" "1|1"

rows=$(sql "$tmp/f.db" "select op || ' ' || substr(path, length('$w') + 2) || ' ' || errno
	from file_accesses where session_id = 1 and path like '$w/%'")

while read -r op path errno why; do
	[ -n "$op" ] || continue
	has_row "$why: $op $w/$path errno $errno" "$rows" "$op $path $errno"
done <<'LIST'
open exists 0 open
open missing 2 open-ENOENT
open dir/f 0 openat
open exists/sub 20 openat-ENOTDIR
open oa2 0 openat2(raw)
open oa2missing 2 openat2(raw)-ENOENT
open created 0 creat
open exists 17 open(O_EXCL)-EEXIST
open rawopen 2 SYS_open-ENOENT
stat exists 0 stat
stat nostat 2 stat-ENOENT
stat lnk 0 lstat
stat rawstat 2 SYS_stat-ENOENT
stat rawlstat 2 SYS_lstat-ENOENT
stat dir 0 fstatat
stat dir2 0 statx
stat nostatx 2 statx-ENOENT
stat exists/x 20 statx-ENOTDIR
access exists 0 SYS_access
access noaccess 2 SYS_access-ENOENT
access dir 0 faccessat
access fa2 2 faccessat2(raw)-ENOENT
access dir2 0 access
readlink lnk 0 readlink
readlink lnk2 2 readlinkat-ENOENT
readlink exists 22 readlink-EINVAL
chdir dir 0 chdir
chdir nodir 2 chdir-ENOENT
chdir exists 20 chdir-ENOTDIR
chdir dir2 0 fchdir
mkdir md 0 mkdir
mkdir md 17 mkdir-EEXIST
mkdir mda 0 mkdirat
mkdir nodir/x 2 mkdir-ENOENT
unlink md 0 rmdir
unlink normdir 2 rmdir-ENOENT
unlink ul 0 unlink
unlink noul 2 unlink-ENOENT
unlink ula 0 unlinkat
unlink mda 0 unlinkat(AT_REMOVEDIR)
rename_from r1 0 rename
rename_to r1n 0 rename
rename_from r2 0 renameat
rename_to r2n 0 renameat
rename_from r3 17 renameat2(NOREPLACE)-EEXIST
rename_to exists 17 renameat2(NOREPLACE)-EEXIST
rename_from nor 2 rename-ENOENT
link_from exists 0 link
link_to hl 0 link
link_to hla 0 linkat
link_to hl 17 link-EEXIST
link_from nolink 2 link-ENOENT
symlink sl 0 symlink
symlink sla 0 symlinkat
symlink sl 17 symlink-EEXIST
symlink nodir/sl 2 symlink-ENOENT
truncate tr 0 truncate
truncate notr 2 truncate-ENOENT
chmod cm 0 chmod
chmod cma 0 fchmodat
chmod nocm 2 chmod-ENOENT
chown co 0 chown
chown lco 0 lchown
chown coa 0 fchownat
chown noco 2 chown-ENOENT
utime ut 0 utimensat
utime nout 2 utimes-ENOENT
mknod fifo 0 mknod(FIFO)
mknod fifo 17 mknod-EEXIST
open dir 0 opendir
readdir dir 0 getdents64
exec noexec 2 execve-ENOENT
LIST

# The symlink's target text is not a path the program used: no row for "$w/exists" from symlink().
lacks_row "symlink: the target text is not stored as a symlink path" "$rows" "symlink exists 0"

# execve of /bin/true (outside $w) and its result.
execs=$(sql "$tmp/f.db" "select path || ' ' || errno from file_accesses where session_id = 1 and op = 'exec'")
has_row "exec /bin/true errno 0" "$execs" "/bin/true 0"
has_row "exec of the fixture itself" "$execs" "$tmp/families 0"

# creat's flags are the open flags: O_WRONLY|O_CREAT|O_TRUNC.
assert_eq "creat: flags O_WRONLY|O_CREAT|O_TRUNC" \
	"$(sql "$tmp/f.db" "select (flags & 3) || ' ' || ((flags & 64) != 0) || ' ' || ((flags & 512) != 0) from file_accesses
		where session_id = 1 and op = 'open' and path = '$w/created'")" "1 1 1"

# session_files: only the paths used successfully.
sf=$(sql "$tmp/f.db" "select path from session_files where session_id = 1")
has_row "session_files has $w/exists" "$sf" "$w/exists"
has_row "session_files has $w/dir/f" "$sf" "$w/dir/f"
for p in missing oa2missing nostat noaccess nodir noul notr nout noexec; do
	lacks_row "session_files lacks the failed $w/$p" "$sf" "$w/$p"
done
done_testing
