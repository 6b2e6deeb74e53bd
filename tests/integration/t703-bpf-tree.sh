#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# BPF-04: children of children are followed (the kernel adds them at fork), and an unrelated
# process opening a marker path in a loop meanwhile is never recorded. A process is followed
# until its last thread ends, not its leader: after the main thread's pthread_exit(), and
# after an exec from another thread (which kills the leader first).
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_bpf
bpf_fixture forktree
mkdir -p "$tmp/t"
(while :; do cat "$tmp/t/outside-marker" 2>/dev/null; sleep 0.005; done) &
loop=$!
db=$tmp/t.db
record_rc "$db" --via bpf -- "$tmp/forktree" "$tmp/t" 30
assert_rc "forktree exits 0" 0
kill "$loop"; wait "$loop" 2>/dev/null
assert_eq "all 30 grandchildren's opens are recorded" \
	"$(sql "$db" "select count(distinct path) from file_accesses where path like '$tmp/t/gc-%'")" 30
assert_eq "the children's open of one path is one row for the session, counting all 30" \
	"$(sql "$db" "select count(*) || '|' || sum(count) from file_accesses where path = '$tmp/t/child'")" "1|30"
assert_eq "the unrelated loop's marker is never recorded" \
	"$(sql "$db" "select count(*) from file_accesses where path like '%outside-marker%'")" 0
assert_eq "61 processes: the command, 30 children, 30 grandchildren" "$(sql "$db" 'select count(*) from processes')" 61
assert_eq "grandchildren have their parent" \
	"$(sql "$db" "select count(*) from processes p join processes q on q.pid = p.parent_pid and q.session_id = p.session_id where q.parent_pid is not null")" 30
pdb=$tmp/p.db
record_rc "$pdb" --via bpf --bpf-per-process -- "$tmp/forktree" "$tmp/t" 30
assert_rc "forktree --bpf-per-process exits 0" 0
assert_eq "--bpf-per-process: the children's open is one row per child" \
	"$(sql "$pdb" "select count(distinct pid) || '|' || sum(count) from file_accesses where path = '$tmp/t/child'")" "30|30"

cat >"$tmp/leader.c" <<'CEOF'
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static char dir[4096];
static void *run(void *arg)
{
	char p[4200];

	usleep(100000); /* the leader is gone by now */
	snprintf(p, sizeof(p), "%s/after-leader", dir);
	close(open(p, O_RDONLY));
	if (arg) { /* exec from this thread: the kernel kills the leader first */
		snprintf(p, sizeof(p), "%s/after-exec", dir);
		execl("/bin/cat", "cat", p, (char *)NULL);
	}
	return NULL;
}
int main(int argc, char **argv)
{
	pthread_t t;

	snprintf(dir, sizeof(dir), "%s", argv[1]);
	pthread_create(&t, NULL, run, argc > 2 ? argv[2] : NULL);
	if (argc > 2)
		pthread_join(t, NULL); /* never returns: the exec replaces the process */
	pthread_exit(NULL);
}
CEOF
cc_quiet -O1 -pthread -o "$tmp/leader" "$tmp/leader.c" || { echo "FAIL: cannot build leader.c"; exit 1; }
mkdir -p "$tmp/l"; : >"$tmp/l/after-leader"; : >"$tmp/l/after-exec"
record_rc "$db" --via bpf -- "$tmp/leader" "$tmp/l"
assert_rc "leader: exits 0 after its main thread's pthread_exit()" 0
assert_eq "an open after the leader's pthread_exit() is recorded" \
	"$(sql "$db" "select count(*) from file_accesses where session_id = (select max(id) from sessions) and path = '$tmp/l/after-leader'")" 1
record_rc "$db" --via bpf -- "$tmp/leader" "$tmp/l" exec
assert_rc "leader exec: cat exits 0" 0
assert_eq "after an exec from another thread, the new program's open is recorded" \
	"$(sql "$db" "select count(*) from file_accesses where session_id = (select max(id) from sessions) and path = '$tmp/l/after-exec' and op = 'open'")" 1
done_testing
