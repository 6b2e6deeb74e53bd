#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: LIB-11, TRC-10.
# Reliability cases: PRE-01.
# The differential test: real programs (python3 -c 'import json', gcc compiling a file, sh running a
# pipeline, perl -e, git status in a temp repo, getent passwd) recorded with ptrace and with preload. Every path
# ptrace saw must be seen by preload, except these explained classes, each checked by pattern:
#   glibc-internal  files glibc opens with its internal, uninterposable open (locale data, gconv
#                   cache, locale.alias, message catalogues, /etc/localtime)
#   tempname        a random temporary name that differs between the two runs (gcc's /tmp/cc*.s)
# Every op counts, connect, bind, watch, xattr and the mounts included (the library wraps their
# public calls); glibc's internal connect to nscd's socket is glibc-internal too.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
require_preload
GLIBC_INTERNAL='^/usr/lib/locale/|^/usr/share/locale/|/gconv/gconv-modules|^/etc/localtime$|^/usr/share/zoneinfo/|^(/var)?/run/nscd/socket$'
TEMPNAME='^/tmp/cc[A-Za-z0-9]{6}\.[a-z]+$'

cd "$tmp" || exit 1
printf 'int main(void) { return 0; }\n' >a.c
git init -q repo && (cd repo && echo x >f && git add f && git -c user.email=t@t -c user.name=t commit -qm m) || exit 1
# git status rewrites its index until the stat data settles: settle it first
(cd repo && git status >/dev/null && sleep 1.1 && git status >/dev/null && git status >/dev/null)

db=$tmp/diff.db
n=0
compare() { # NAME DIR COMMAND...
	local name=$1 dir=$2 missed unexplained; shift 2
	(cd "$dir" && "$TOOL" record --db "$db" -- "$@" >/dev/null 2>"$tmp/e1"); local r1=$?
	(cd "$dir" && "$TOOL" record --via preload --db "$db" -- "$@" >/dev/null 2>"$tmp/e2"); local r2=$?
	n=$((n + 2))
	assert_eq "$name: both runs exit 0" "$r1 $r2" "0 0"
	assert_eq "$name: the preload session is complete" \
		"$(sql "$db" "select complete || ' ' || source from sessions where id = $n")" "1 preload"
	missed=$(sql "$db" "select distinct path from file_accesses where session_id = $((n - 1))
		except select distinct path from file_accesses where session_id = $n")
	unexplained=$(printf '%s\n' "$missed" | grep -vE "$GLIBC_INTERNAL|$TEMPNAME" | grep .)
	assert_eq "$name: every path ptrace saw, preload saw too (apart from the listed classes)" "$unexplained" ""
	echo "    $name: ptrace $(sql "$db" "select count(distinct path) from file_accesses where session_id = $((n - 1))") paths," \
		"preload $(sql "$db" "select count(distinct path) from file_accesses where session_id = $n");" \
		"glibc-internal $(printf '%s\n' "$missed" | grep -cE "$GLIBC_INTERNAL"), tempname $(printf '%s\n' "$missed" | grep -cE "$TEMPNAME")"
}
[ -x /usr/bin/python3 ] && compare python3 "$tmp" /usr/bin/python3 -c 'import json'
command -v gcc >/dev/null && compare gcc "$tmp" gcc -c a.c -o a.o
compare sh "$tmp" sh -c 'cat /etc/hostname | sort | wc -l'
command -v perl >/dev/null && compare perl "$tmp" perl -e 'print 1'
compare git "$tmp/repo" git status
# NSS: glibc reads nsswitch.conf and /etc/passwd with its internal open; the library reports
# them from getpwnam() (preload/interpose.c), so they are no explained class
command -v getent >/dev/null && compare getent "$tmp" getent passwd root
done_testing
