#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: PRE-08.
# Reliability cases: PRE-05, PRE-06, PRE-07.
# record --via preload under stress: a 10 kHz signal handler that opens files during wrapped opens
# (every open recorded, no deadlock), 8 threads, vfork children (the parent still recorded after
# them), SIGKILL right after an open (the open is recorded), 100 processes at once (every one of
# their opens recorded), and a program that dup2()s over every fd (nothing written into its files).
# A record killed with SIGKILL leaves its socket and 4 MiB ring behind; the next record removes
# them.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_preload
preload_fixture stress -pthread
S=$tmp/stress
mkdir "$tmp/d" && touch "$tmp/d/main" "$tmp/d/sig"

# per-path open count (successful opens) in the last session
opens() { sql "$1" "select ifnull(sum(count), 0) from file_accesses where session_id = (select max(id) from sessions)
	and op = 'open' and errno = 0 and (flags & 3) = 0 and path = '$2'"; }

db=$tmp/sig.db
TOOL_TIMEOUT=60 record_rc "$db" --via preload -- "$S" sigopen "$tmp/d" 20000
assert_rc "sigopen: exit 0, no deadlock (60 s limit)" 0
read -r _ nmain _ nsig <<<"$out"
check "sigopen: the handler ran during the loop ($nsig times)" test "${nsig:-0}" -gt 10
assert_eq "sigopen: every open of the main loop recorded" "$(opens "$db" "$tmp/d/main")" "$nmain"
assert_eq "sigopen: every open in the signal handler recorded" "$(opens "$db" "$tmp/d/sig")" "$nsig"
assert_eq "sigopen: session complete" "$(sql "$db" 'select complete from sessions')" 1

db=$tmp/thr.db
record_rc "$db" --via preload -- "$S" threads "$tmp/d" 8 2000
assert_rc "threads: exit 0" 0
bad=0
for i in 0 1 2 3 4 5 6 7; do
	[ "$(opens "$db" "$tmp/d/t$i")" = 2000 ] || { bad=$((bad + 1)); echo "    t$i: $(opens "$db" "$tmp/d/t$i") opens"; }
done
assert_eq "threads: 8 x 2000 opens, each recorded" "$bad" 0

db=$tmp/vf.db
record_rc "$db" --via preload -- "$S" vfork "$tmp/d"
assert_rc "vfork: exit 0" 0
rows=$(prows "$db")
has_row "vfork: the child's exec of /bin/true recorded (by the new image)" "$rows" "exec|/bin/true|0"
has_row "vfork: the child's failed exec recorded" "$rows" "exec|$tmp/d/missing-exe|2"
has_row "vfork: the parent is still recorded after its vfork children" "$rows" "open|$tmp/d/after|2"
assert_eq "vfork: /bin/true ran in a child process of the command" \
	"$(sql "$db" "select count(*) from processes p join processes q on p.parent_pid = q.pid
		where p.executable = '/bin/true' and q.executable = '$S'")" 1

db=$tmp/kill.db
touch "$tmp/d/killed"
record_rc "$db" --via preload --allow-incomplete -- "$S" killme "$tmp/d/killed"
assert_rc "killme: exit 137 (SIGKILL passed through)" 137
has_row "killme: the open right before SIGKILL is recorded" "$(prows "$db")" "open|$tmp/d/killed|0"
assert_eq "killme: the process's exit status is 137" \
	"$(sql "$db" "select exit_status from processes where executable = '$S'")" 137

db=$tmp/many.db
for i in $(seq 100); do echo "$i" >"$tmp/d/f$i"; done
record_rc "$db" --via preload -- sh -c 'for i in $(seq 100); do cat "$1/f$i" >/dev/null & done; wait' sh "$tmp/d"
assert_rc "100 concurrent cats: exit 0" 0
assert_eq "100 concurrent cats: all 100 opens recorded" \
	"$(sql "$db" "select count(distinct path) from file_accesses where op = 'open' and errno = 0 and path glob '$tmp/d/f*'")" 100
assert_eq "100 concurrent cats: 100 cat processes" \
	"$(sql "$db" "select count(*) from processes where executable like '%/cat'")" 100
assert_eq "100 concurrent cats: session complete" "$(sql "$db" 'select complete from sessions')" 1

# PRE-08: the program dup2()s a file of its own over every fd; the library must notice its socket
# is gone and never write a record into the program's file.
cat >"$tmp/dupall.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	for (int n = 3; n < 1100; n++)
		if (n != fd)
			dup2(fd, n);
	for (int i = 0; i < 50; i++)
		close(open("/etc/hostname", O_RDONLY));
	return write(fd, "end\n", 4) == 4 ? 0 : 1;
}
C
cc_quiet -O2 -o "$tmp/dupall" "$tmp/dupall.c" || exit 1
db=$tmp/dup.db
record_rc "$db" --via preload -- "$tmp/dupall" "$tmp/out.dat"
assert_rc "dupall: exit 0" 0
assert_eq "dupall: out.dat holds only what the program wrote" "$(cat "$tmp/out.dat")" "end"
assert_eq "dupall: its 50 opens after the dup2s are recorded" "$(opens "$db" /etc/hostname)" 50

"$TOOL" record --db "$db" --via preload -- sleep 5 >/dev/null 2>&1 &
mp=$!
stale() { ls -d /dev/shm/magicpak-preload."$mp".* "${TMPDIR:-/tmp}"/magicpak-preload."$mp".* 2>/dev/null; }
has_stale() { [ -n "$(stale)" ]; }
wait_for 5 has_stale
left=$(stale)
kill -KILL "$mp"; wait "$mp" 2>/dev/null
pkill -f '^sleep 5$' 2>/dev/null
check "a record killed with SIGKILL leaves its socket directory ($left)" test -n "$left" -a -d "$left"
record_rc "$db" --via preload -- /bin/true
assert_rc "the next record: exit 0" 0
check "and it removed the dead record's directory, ring and socket" test ! -e "$left"
done_testing
