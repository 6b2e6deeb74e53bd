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
# a trailing "/", a file followed by "/.." (glibc checks with faccessat that it is a directory
# and stops), and /proc/self (a symlink the quick path cannot take). Each name is recorded in
# its own session pair, so that what one name reads cannot hide what another misses.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_ptrace
require_preload
preload_fixture realpath

d=$tmp/d
mkdir -p "$d/a/b/c" "$d/a/x" && : >"$d/a/b/c/file" || exit 1
ln -s a/b "$d/rel" && ln -s "$d/a" "$d/abs" && ln -s rel "$d/rel2" && ln -s a/b/c/file "$d/flink" &&
	ln -s loop2 "$d/loop1" && ln -s loop1 "$d/loop2" || exit 1
db=$tmp/rp.db
# the readlinks and the accesses (glibc's directory check) of session $1, /proc/PID as /proc/PID
calls() { sql "$db" "select distinct op || '|' || path || '|' || errno from file_accesses
	where session_id = $1 and op in ('readlink', 'access')" | sed -E 's#/proc/[0-9]+#/proc/PID#' | LC_ALL=C sort -u; }
n=0
compare() { # NAME: ptrace and preload runs of the fixture on NAME alone, in $d
	local name=$1
	(cd "$d" && "$TOOL" record --db "$db" -- "$tmp/realpath" "$name" >"$tmp/out1" 2>"$tmp/e1") &&
		(cd "$d" && "$TOOL" record --via preload --db "$db" -- "$tmp/realpath" "$name" >"$tmp/out2" 2>"$tmp/e2")
	assert_eq "$name: both records exit 0" "$?" 0
	assert_eq "$name: both runs resolve it the same" "$(cat "$tmp/out2")" "$(cat "$tmp/out1")"
	n=$((n + 2))
	want=$(calls $((n - 1)))
	got=$(calls $n)
	assert_eq "$name: preload reports the readlinks and accesses glibc made ($(grep -c '^readlink' <<<"$want") readlinks)" \
		"$(LC_ALL=C comm -3 <(printf '%s\n' "$want") <(printf '%s\n' "$got"))" ""
}

for name in "$d/a/b/c/file" "$d/rel/c/file" "$d/rel2/c/./file" "$d/abs/b/c/missing" "$d/a/nope/c/file" \
	"$d/a/b/c/file/x" "c:$d/abs/b/" "c:$d/loop1/f" "/proc/self/cwd/a/b" "$d/a/b/c/" "$d/a//b/./c" \
	"$d/a/x/../b/c/file" "$d/a/b/c/file/../x" "$d/flink/../x" "$d/a/b/c/file/" "$d/a/b/c/." \
	"a/x/../b/c/file" "./rel/c" "rel2/c/missing"; do
	compare "$name"
	case $name in
	*loop1*) check "$name: the fixture met the loop (ELOOP)" grep -q 'error 40$' "$tmp/out1" ;;
	*/a/x/../*) check "$name: glibc read a/x before the .. (ptrace)" grep -qxF "readlink|$d/a/x|22" <<<"$want" ;;
	*file/../x) check "$name: glibc stopped at the file with ENOTDIR (its faccessat)" \
		sh -c 'grep -q "error 20$" "$1" && ! grep -q "|$2/a/b/c/x|" <<EOT
$3
EOT' sh "$tmp/out1" "$d" "$want" ;;
	/proc/*) check "$name: glibc read /proc/self/cwd (a symlink)" grep -qxF "readlink|/proc/PID/cwd|0" <<<"$want" ;;
	c:*) ;;
	[!/]*) assert_eq "$name: no readlink of the cwd or its parents" "$(grep '^readlink' <<<"$got" | grep -vc "^readlink|$d/")" 0 ;;
	esac
done
done_testing
