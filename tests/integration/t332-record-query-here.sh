#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The tracer answers stat, access and readlink itself at the seccomp stop (tracer.c:
# query_here), with no exit stop. Every answer must be the one the kernel gave the tracee:
# fixture queries.c asks about names of every kind (relative, dirfd-relative, "..", symlinks,
# dangling, looping, through a file, bad flags, names of the asking process itself such as
# /dev/fd/N and /proc/self/fd/N, no name at all), then, as root, from a child that became
# nobody (secret/ is closed to it), from a child in a chroot, and from a child exec'd
# without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (nobodys/ is closed to it). The rows of a run with the
# answers and of a run with MAGICPAK_NO_QUERY_HERE=1 (every result from its exit stop) are
# the same, row for row. (Counts: each name is asked from three places, root with a dirfd,
# root from its cwd, nobody with a dirfd; "dir/../file" and "../q/file" are stored as file.)
. "$(dirname "$0")/../lib.sh"
require_cc
require_sqlite3
require_ptrace
record_fixture queries
db=$tmp/q.db
q=$tmp/q
chmod 0711 "$tmp" # nobody may pass
mkdir -p "$q/dir/inner" "$q/secret" "$q/root"
echo x >"$q/file"
cp /bin/true "$q/exe"
ln -s file "$q/link"
ln -s nowhere "$q/dangling"
ln -s loop "$q/loop"
echo s >"$q/secret/file"
chmod 0700 "$q/secret"
echo c >"$q/root/only-in-chroot"
echo c >"$q/root/file"
mkdir "$q/nobodys"; echo n >"$q/nobodys/file"; chown -R 65534 "$q/nobodys"; chmod 0700 "$q/nobodys"

rows() {
	sql "$db" "select op, path, flags, errno, sum(count) from file_accesses where session_id = $1
		and (path like '$q/%' or path in ('$q', '/only-in-chroot', '/file')
		     or path like '/dev/%' or path like '/proc/%/fd/77')
		group by op, path, flags, errno order by op, path, flags, errno"
}
run_tool -v -v record --db "$db" -- "$tmp/queries" "$q"
assert_rc "answered here: exit 0" 0
answered=$(sed -n 's/.*ptrace: \([0-9]*\) stat.access.readlink calls answered.*/\1/p' "$err")
check "the tracer answered queries itself ($answered)" test "${answered:-0}" -gt 100
MAGICPAK_NO_QUERY_HERE=1 run_tool -v -v record --db "$db" -- "$tmp/queries" "$q"
assert_rc "MAGICPAK_NO_QUERY_HERE=1: exit 0" 0
assert_eq "MAGICPAK_NO_QUERY_HERE=1: none answered" \
	"$(sed -n 's/.*ptrace: \([0-9]*\) stat.access.readlink calls answered.*/\1/p' "$err")" 0
a=$(rows 1) b=$(rows 2)
check "the run has rows ($(echo "$a" | grep -c .))" test "$(echo "$a" | grep -c .)" -gt 60
assert_eq "the same rows, results and counts with and without the tracer's answers" "$a" "$b"
has_row "a missing name: ENOENT" "$a" "stat|$q/missing|0|2|9"
has_row "readlink of a file: EINVAL" "$a" "readlink|$q/file|0|22|18"
has_row "a name through a file: ENOTDIR" "$a" "stat|$q/file/through|0|20|9"
has_row "a symlink loop followed: ELOOP" "$a" "stat|$q/loop|0|40|9"
if [ "$(id -u)" = 0 ]; then
	has_row "nobody is refused secret/file (the tracer, root, is not)" "$a" "stat|$q/secret/file|0|13|3"
	has_row "root is not" "$a" "stat|$q/secret/file|0|0|6"
	has_row "in the chroot, /only-in-chroot is there" "$a" "stat|/only-in-chroot|0|0|1"
	has_row "and access says so" "$a" "access|/only-in-chroot|4|0|1"
	has_row "root without CAP_DAC_* after an exec is refused nobodys/file" "$a" "stat|$q/nobodys/file|0|13|1"
fi
has_row "/dev/fd/77, open in the command only, is there" "$a" "stat|/dev/fd/77|0|0|1"
has_row "/proc/self/fd/77 too" "$a" "stat|/proc/self/fd/77|0|0|1"
done_testing
