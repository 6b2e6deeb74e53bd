#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TRC-11, the racing path buffer: a thread flips the buffer between /etc/hostname and /etc/passwd
# while the main thread opens it 10,000 times (fixture edges2.c, which counts by inode which file
# each open really reached). Only those two names may be stored as opened (errno 0), and each file
# the program really opened is among them. A tracer that reads the path at syscall entry, apart
# from the kernel's own copy, can store a torn name ("/etc/hosswd") as opened: this test fails then.
. "$(dirname "$0")/../lib.sh"
require_cc
require_sqlite3
require_ptrace
record_fixture edges2 -pthread
db=$tmp/f.db
last() { sql "$db" 'select max(id) from sessions'; }

record_rc "$db" "$tmp/edges2" race 10000
assert_rc "racing path buffer: exit 0" 0
s=$(last)
opened=$(sql "$db" "select distinct path from file_accesses where session_id = $s and op = 'open' and errno = 0 and path like '/etc/%' and path <> '/etc/ld.so.cache'" | LC_ALL=C sort)
check "racing path buffer: only /etc/hostname and /etc/passwd stored as opened (got: $(echo $opened))" \
	sh -c '! printf "%s\n" "$1" | grep -vxE "/etc/(hostname|passwd)" | grep -q .' sh "$opened"
for f in hostname passwd; do
	n=$(sed -n "s/.*$f=\([0-9]*\).*/\1/p" <<<"$out")
	if [ "${n:-0}" -gt 0 ]; then
		has_row "racing path buffer: /etc/$f, opened $n times, is stored" "$opened" "/etc/$f"
	fi
done

# The same race on stat(2): no file descriptor tells which name the kernel used. A torn name
# (one that does not exist) is never stored as a success without the 'raced' flag.
record_rc "$db" "$tmp/edges2" statrace 10000
assert_rc "racing stat: exit 0 (a flagged race is not a coverage gap)" 0
s=$(last)
torn=$(sql "$db" "select distinct path from file_accesses where session_id = $s and op = 'stat' and errno = 0
	and (flags & 2147483648) = 0 and path like '/etc/%' and path not in ('/etc/hostname', '/etc/passwd')")
assert_eq "racing stat: no torn name stored as a clean success" "$torn" ""
assert_eq "racing stat: complete" "$(sql "$db" "select complete from sessions where id = $s")" 1
done_testing
