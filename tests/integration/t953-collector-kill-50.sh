#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# PRE-07 (the recorder's channel), issue 9: the collector killed (SIGKILL) while 50 preloaded processes report to it: every process runs
# to its normal end (exit 0, its own output intact: no hang on a full or dead socket, no
# SIGPIPE), the database passes integrity_check, the killed collector's session stays incomplete
# (reason "running") and holds only rows the processes really made, and a new collector on the
# same socket path starts (the stale socket file is replaced) and records normally.
. "$(dirname "$0")/../lib.sh"
san_no_leak_scan
require_sqlite3
require_cc
require_preload
preload_fixture stress
sock=$tmp/c.sock
db=$tmp/c.db
n=50 opens=200000
run_pre() { LD_PRELOAD=$PRELOAD_LIB MAGICPAK_SOCKET=$sock "$@"; }

start_collector "$db" "$sock" "$tmp/c1.log"
pids=()
for i in $(seq $n); do
	mkdir "$tmp/d$i"; touch "$tmp/d$i/t0"
	run_pre timeout 60 "$tmp/stress" threads "$tmp/d$i" 1 $opens >"$tmp/p$i.out" 2>"$tmp/p$i.err" &
	pids+=($!)
done
# kill it while they send (the collector stores rows in batches, so the database may not show
# them yet; the senders' being alive is the check)
sleep 0.3
running=0
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
kill -KILL "$collector_pid"; wait "$collector_pid" 2>/dev/null
echo "killed the collector with $running of $n senders still running"
check "the collector was killed while senders were still running ($running)" test "$running" -gt 0
bad=0
for i in $(seq $n); do
	wait "${pids[$((i - 1))]}"; rc=$?
	if [ "$rc" != 0 ] || [ "$(cat "$tmp/p$i.out")" != "threads 1 $opens" ]; then
		bad=$((bad + 1)); echo "  sender $i: exit $rc, out '$(cat "$tmp/p$i.out")', err '$(head -c 200 "$tmp/p$i.err")'"
	fi
done
assert_eq "all $n senders end normally with their output (exit 0, 'threads 1 $opens')" "$bad" 0
assert_eq "integrity_check ok" "$(sql "$db" 'PRAGMA integrity_check')" ok
assert_eq "the killed collector's session: incomplete, 'running'" \
	"$(sql "$db" 'select count(*), complete, incomplete_reason from sessions')" "1|0|running"
assert_eq "its rows are only the senders' opens of their own t0 (or their exec)" \
	"$(sql "$db" "select count(*) from file_accesses where not ((op = 'open' and path glob '$tmp/d*/t0' and errno = 0)
		or op = 'exec' or path not like '$tmp/%')")" 0
check "no collector left" sh -c '! kill -0 "$1" 2>/dev/null' sh "$collector_pid"

start_collector "$db" "$sock" "$tmp/c2.log"
run_pre cat /etc/hostname >/dev/null
kill -TERM "$collector_pid"; wait "$collector_pid"; rc=$?
assert_eq "a new collector on the same socket: SIGTERM exit 0" "$rc" 0
assert_eq "the new session is complete" "$(sql "$db" 'select complete from sessions where id = 2')" 1
has_row "the new session has cat's open" "$(prows "$db" 2)" "open|/etc/hostname|0"
assert_eq "integrity_check ok at the end" "$(sql "$db" 'PRAGMA integrity_check')" ok
done_testing
