#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: TRC-01, TRC-02.
# magicpak record follows every process and thread: fork, vfork, posix_spawn, pthreads (their accesses
# carry the process's pid), a non-leader thread's execve, shell pipelines; every process is in
# `processes` with its parent and executable; a shell loop of 50 commands gives 51+ processes.
. "$(dirname "$0")/../lib.sh"
require_cc
require_sqlite3
require_ptrace
record_fixture procs -pthread

w=$tmp/w
mkdir -p "$w"
cp /bin/true "$w/vfork_true"; cp /bin/true "$w/spawn_true"; cp /bin/cat "$w/texec_cat"
for f in fork.txt thread.txt after_exec.txt; do echo "$f" >"$w/$f"; done
db=$tmp/p.db
record_rc "$db" "$tmp/procs" "$w"
assert_rc "procs: exit 0 (texec_cat's status after the thread's exec)" 0
assert_contains "procs: texec_cat ran after the non-leader thread's exec and printed the file" "$out" "after_exec.txt"
assert_eq "procs: complete session" "$(sql "$db" 'select complete from sessions')" 1
main=$(awk '$1 == "main" {print $2}' <<<"$out")
forkp=$(awk '$1 == "fork" {print $2}' <<<"$out")
vforkp=$(awk '$1 == "vfork" {print $2}' <<<"$out")
spawnp=$(awk '$1 == "spawn" {print $2}' <<<"$out")
check "procs printed its pids (main $main fork $forkp vfork $vforkp spawn $spawnp)" \
	test -n "$main" -a -n "$forkp" -a -n "$vforkp" -a -n "$spawnp"

procs=$(sql "$db" "select pid || ' ' || ifnull(parent_pid, '-') || ' ' || ifnull(executable, '-') from processes where session_id = 1")
printf '%s\n' "$procs" | sed 's/^/    processes: /'
assert_eq "processes: four (main, fork, vfork, spawn child)" "$(printf '%s\n' "$procs" | grep -c .)" 4
check "processes: the fork child, parent main" grep -qE "^$forkp $main " <<<"$procs"
has_row "processes: the vfork child, parent main, running vfork_true" "$procs" "$vforkp $main $w/vfork_true"
has_row "processes: the posix_spawn child, parent main, running spawn_true" "$procs" "$spawnp $main $w/spawn_true"
check "processes: main is there (after its thread's exec, running texec_cat or procs)" \
	grep -qE "^$main [0-9-]+ ($w/texec_cat|$tmp/procs)$" <<<"$procs"
assert_eq "sessions.processes counts them" "$(sql "$db" 'select processes from sessions')" 4

acc=$(sql "$db" "select pid || ' ' || op || ' ' || path || ' ' || errno from file_accesses where session_id = 1")
has_row "the fork child's open, with its pid" "$acc" "$forkp open $w/fork.txt 0"
has_row "the vfork child's exec, with its pid" "$acc" "$vforkp exec $w/vfork_true 0"
has_row "the posix_spawn child's exec, with its pid" "$acc" "$spawnp exec $w/spawn_true 0"
has_row "the thread's open carries the process's pid (not the thread id)" "$acc" "$main open $w/thread.txt 0"
has_row "the non-leader thread's exec, with the process's pid" "$acc" "$main exec $w/texec_cat 0"
has_row "after that exec, texec_cat's open, with the process's pid" "$acc" "$main open $w/after_exec.txt 0"
check "texec_cat loaded its libc after the exec (ld.so traced in the new image)" \
	test "$(sql "$db" "select count(*) from file_accesses where session_id = 1 and pid = $main and op = 'open' and path like '%/libc.so.6' and errno = 0")" -ge 1
check "every access's pid is a process of the session" test "$(sql "$db" "select count(*) from file_accesses f
	where session_id = 1 and not exists (select 1 from processes p where p.session_id = 1 and p.pid = f.pid)")" = 0

# A pipeline: sh forks cat and wc; both have sh as parent.
echo "one" >"$tmp/x"; echo "two" >>"$tmp/x"
record_rc "$db" /bin/sh -c "cat $tmp/x | wc -l"
assert_rc "sh -c 'cat x | wc -l': exit 0" 0
assert_eq "sh -c 'cat x | wc -l': prints 2" "$out" 2
shpid=$(sql "$db" "select pid from processes where session_id = 2 and executable in ('/bin/sh', '/usr/bin/sh', '/bin/dash', '/usr/bin/dash')")
procs=$(sql "$db" "select ifnull(parent_pid, '-') || ' ' || ifnull(executable, '-') from processes where session_id = 2")
printf '%s\n' "$procs" | sed 's/^/    processes: /'
check "pipeline: sh is a process ($shpid)" test -n "$shpid"
check "pipeline: cat ran with sh as parent" grep -qE "^$shpid (/usr)?/bin/cat$" <<<"$procs"
check "pipeline: wc ran with sh as parent" grep -qE "^$shpid (/usr)?/bin/wc$" <<<"$procs"
has_row "pipeline: cat opened x" "$(sql "$db" "select path from file_accesses where session_id = 2 and op = 'open' and errno = 0")" "$tmp/x"
execs=$(sql "$db" "select path from file_accesses where session_id = 2 and op = 'exec' and errno = 0")
check "pipeline: the execs of sh, cat and wc recorded" sh -c 'for p in sh cat wc; do printf "%s\n" "$1" | grep -qE "^(/usr)?/bin/$p$" || exit 1; done' sh "$execs"

# W3's shape: 50 cats from a shell loop (+ the shell, + the $(seq) subshell).
record_rc "$db" /bin/sh -c 'for i in $(seq 50); do cat /etc/hostname >/dev/null; done'
assert_rc "shell loop: exit 0" 0
n=$(sql "$db" 'select count(*) from processes where session_id = 3')
check "shell loop: 51+ processes ($n)" test "$n" -ge 51
assert_eq "shell loop: 50 processes ran cat" \
	"$(sql "$db" "select count(*) from processes where session_id = 3 and executable like '%/cat'")" 50
assert_eq "shell loop: 50 opens of /etc/hostname (folded counts summed)" \
	"$(sql "$db" "select sum(count) from file_accesses where session_id = 3 and op = 'open' and path = '/etc/hostname' and errno = 0")" 50
check "shell loop: every cat has an exit status 0 and an end time" test "$(sql "$db" "select count(*) from processes
	where session_id = 3 and executable like '%/cat' and exit_status = 0 and ended_at is not null")" = 50
done_testing
