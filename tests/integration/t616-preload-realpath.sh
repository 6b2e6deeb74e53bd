#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: PRE-01.
# realpath() and canonicalize_file_name() read each component of the name with glibc's internal
# readlink, which no wrapper sees: the library reports those readlinks itself (preload/interpose.c,
# realpath_note()), answering for the components that cannot be symlinks without asking the kernel
# again. ptrace sees glibc's own readlink system calls: both sources must give the same set of
# readlink op|path|errno for names that cross relative and absolute symlinks, "." and ".." (glibc
# reads the component before a ".."), a missing component in the middle and at the end, a file
# used as a directory, a symlink loop, a relative name (no readlink of the cwd's own components),
# a trailing "/", and /proc/self (a symlink the quick path cannot take).
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_ptrace
require_preload
preload_fixture realpath

d=$tmp/d
mkdir -p "$d/a/b/c" "$d/a/x" && : >"$d/a/b/c/file" || exit 1
ln -s a/b "$d/rel" && ln -s "$d/a" "$d/abs" && ln -s rel "$d/rel2" &&
	ln -s loop2 "$d/loop1" && ln -s loop1 "$d/loop2" || exit 1
db=$tmp/rp.db
readlinks() { sql "$db" "select distinct path || '|' || errno from file_accesses
	where session_id = $1 and op = 'readlink'" | sed -E 's#^/proc/[0-9]+#/proc/PID#' | LC_ALL=C sort -u; }
n=0
compare() { # WHAT NAME...: ptrace and preload runs of the fixture on the NAMEs, in $d
	local what=$1; shift
	(cd "$d" && "$TOOL" record --db "$db" -- "$tmp/realpath" "$@" >"$tmp/out1" 2>"$tmp/e1")
	assert_eq "$what: ptrace: record exits 0" "$?" 0
	(cd "$d" && "$TOOL" record --via preload --db "$db" -- "$tmp/realpath" "$@" >"$tmp/out2" 2>"$tmp/e2")
	assert_eq "$what: preload: record exits 0" "$?" 0
	assert_eq "$what: both runs resolved every name the same" "$(cat "$tmp/out2")" "$(cat "$tmp/out1")"
	n=$((n + 2))
	want=$(readlinks $((n - 1)))
	got=$(readlinks $n)
	echo "    $what: ptrace saw $(printf '%s\n' "$want" | grep -c .) distinct readlinks, preload $(printf '%s\n' "$got" | grep -c .)"
	assert_eq "$what: preload reports the readlinks glibc made (path|errno)" \
		"$(LC_ALL=C comm -3 <(printf '%s\n' "$want") <(printf '%s\n' "$got"))" ""
}

compare absolute "$d/a/b/c/file" "$d/rel/c/file" "$d/rel2/c/./file" "$d/abs/b/c/missing" "$d/a/nope/c/file" \
	"$d/a/b/c/file/x" "c:$d/abs/b/" "c:$d/loop1/f" "/proc/self/cwd/a/b" "$d/a/b/c/" "$d/a//b/./c" \
	"$d/a/x/../b/c/file"
grep -q "loop1/f -> error 40\$" "$tmp/out1"
check "absolute: the fixture met the loop (ELOOP)" test $? = 0
check "absolute: glibc read $d/a/x before the .. (ptrace) and /proc/self/cwd" \
	sh -c 'printf "%s\n" "$1" | grep -qxF "$2/a/x|22" && printf "%s\n" "$1" | grep -qxF "/proc/PID/cwd|0"' sh "$want" "$d"
# glibc starts a relative name from getcwd(): it reads none of the cwd's own components
compare relative "a/x/../b/c/file" "./rel/c" "rel2/c/missing"
grep -q "^a/x/../b/c/file -> $d/a/b/c/file\$" "$tmp/out1"
check "relative: the fixture resolved a relative name with .." test $? = 0
assert_eq "relative: no readlink of the cwd or its parents" "$(printf '%s\n' "$got" | grep -vc "^$d/")" 0
done_testing
