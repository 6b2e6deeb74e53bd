#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# RELIABILITY SQL-04. Crash snapshots: during a long `record` (find /usr, ~85,000 events, several
# batches and automatic checkpoints) magicpak is stopped (SIGSTOP) at 6 points and its database,
# -wal and -shm copied as a crash at that instant would leave them; each copy passes
# integrity_check, holds the sessions committed before it whole (events = sum of row counts, E-DB),
# and shows the running session incomplete, never complete. (A power cut that loses the page cache
# needs a block-device fault injector: see the map.) Then an fsync that fails (an LD_PRELOAD shim
# returning EIO, as a failing disk does) is reported: record exits nonzero with a line naming the
# database and the I/O error, and the file stays intact. store.c uses WAL with synchronous=NORMAL.
. "$(dirname "$0")/../lib.sh"
san_no_leak_scan
require_sqlite3
require_cc
require_ptrace
shared_tool   # for the LD_PRELOAD fault injector below
db=$tmp/x.db
rec "$db" --label a -- /bin/cat /etc/hostname
rec "$db" --label b -- /bin/ls /usr
edb() { # edb DB: every complete session has all its rows
	sql "$1" "select id from sessions s where complete = 1 and
		events != (select ifnull(sum(count), 0) from file_accesses f where f.session_id = s.id)"
}
"$TOOL" record --db "$db" --label long -- find /usr -xdev -type f -name '*.py' >/dev/null 2>"$tmp/long.err" &
pid=$!
wait_exec "$pid"
n=0 running=()
for i in 1 2 3 4 5 6; do
	sleep 0.3
	kill -STOP "$pid" 2>/dev/null || break
	# the session may be complete once the command is gone and magicpak is closing
	if pgrep -P "$pid" -x find >/dev/null; then running[$i]=1; else running[$i]=0; fi
	mkdir "$tmp/snap$i"
	for f in "$db" "$db-wal" "$db-shm"; do [ -e "$f" ] && cp "$f" "$tmp/snap$i/"; done
	kill -CONT "$pid"
	n=$i
done
wait "$pid"; rc=$?
assert_eq "the long record itself completes (exit 0)" "$rc" 0
check "at least 3 snapshots taken while it ran ($n)" test "$n" -ge 3
for i in $(seq "$n"); do
	s=$tmp/snap$i/x.db
	assert_eq "snapshot $i: integrity_check ok" "$(sql "$s" 'pragma integrity_check' 2>&1)" ok
	assert_eq "snapshot $i: sessions a and b committed before it are there, complete" \
		"$(sql "$s" "select group_concat(label || complete) from sessions where id <= 2")" "a1,b1"
	assert_eq "snapshot $i: every complete session has all its rows" "$(edb "$s")" ""
	st=$(sql "$s" "select complete from sessions where label = 'long'")
	[ "${running[$i]}" = 1 ] &&
		check "snapshot $i: the running session is absent or incomplete ('$st')" test "$st" != 1
done
assert_eq "the database after the run: every complete session has all its rows" "$(edb "$db")" ""

# fsync fails with EIO during the automatic checkpoint (an LD_PRELOAD shim: $stool, the shared-glibc build)
cc_quiet -shared -fPIC -o "$tmp/failsync.so" "$TESTS_DIR/fixtures/store/failsync.c" || { echo "FAIL: cannot build failsync.so"; exit 1; }
db2=$tmp/y.db
rec "$db2" -- /bin/true
LD_PRELOAD=$tmp/failsync.so timeout 20 "$stool" record --db "$db2" -- find /usr -xdev -type f -name '*.py' >/dev/null 2>"$tmp/sync.err"; rc=$?
check "a sync was attempted and failed" grep -q 'failsync: fsync -> EIO' "$tmp/sync.err"
check "record reports it: nonzero exit ($rc)" test "$rc" != 0 -a "$rc" -lt 124
check "a line names the database and the I/O error" grep -qE "^magicpak: .*'$db2'.*(I/O error|Input/output error)" "$tmp/sync.err"
assert_eq "the file stays intact" "$(sql "$db2" 'pragma integrity_check')" ok
assert_eq "and every complete session has all its rows" "$(edb "$db2")" ""

# the same fault in the checkpoint that a record makes in its thread while the command runs
# (WAL past 500 frames): the run's session is kept, complete, and the error still reported
db3=$tmp/z.db
rec "$db3" -- /bin/true
n3=$(sql "$db3" 'select count(*) from sessions')
# about 550 frames into the WAL, left there (no checkpoint, none at close)
printf '.dbconfig no_ckpt_on_close on\nPRAGMA wal_autocheckpoint = 0;\nINSERT INTO magicpak_meta VALUES (%s, randomblob(1100000));\nDELETE FROM magicpak_meta WHERE key = %s;\n' \
	"'t540'" "'t540'" | sqlite3 -batch "$db3" >/dev/null
check "the WAL is past 500 frames" test "$(stat -c %s "$db3-wal")" -gt $((500 * 4120))
LD_PRELOAD=$tmp/failsync.so timeout 20 "$stool" record --db "$db3" --label late -- sh -c 'sleep 0.5' >/dev/null 2>"$tmp/sync3.err"; rc=$?
check "a sync was attempted and failed (the thread's checkpoint)" grep -q 'failsync: fsync -> EIO' "$tmp/sync3.err"
check "record reports it: nonzero exit ($rc)" test "$rc" != 0 -a "$rc" -lt 124
check "a line names the database and the I/O error" grep -qE "^magicpak: .*'$db3'.*(I/O error|Input/output error)" "$tmp/sync3.err"
assert_eq "the run's session is there, complete" "$(sql "$db3" "select count(*) || '|' || min(complete) from sessions where label = 'late'"):$(sql "$db3" 'select count(*) from sessions')" "1|1:$((n3 + 1))"
assert_eq "every complete session has all its rows" "$(edb "$db3")" ""
done_testing
