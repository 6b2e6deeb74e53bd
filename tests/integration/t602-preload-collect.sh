#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: PRE-07.
# magicpak collect: a long-running collector for programs started with LD_PRELOAD and
# MAGICPAK_SOCKET; SIGTERM ends its session complete. Killed with SIGKILL, it leaves an incomplete
# session; a program that ran on meanwhile counts what it could not send and says so to the next
# collector (whose session is then incomplete: events_lost=N). Garbage on the socket (short, wrong
# magic or version, bad length, random bytes) is counted and dropped; the collector lives on.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_preload
preload_fixture stress
sock=$tmp/c.sock
db=$tmp/c.db
run_pre() { LD_PRELOAD=$PRELOAD_LIB MAGICPAK_SOCKET=$sock "$@"; }

# 1. the basic use
start_collector "$db" "$sock" "$tmp/c1.log"
run_pre cat /etc/hostname >/dev/null
kill -TERM "$collector_pid"; wait "$collector_pid"; rc=$?
assert_eq "collect: SIGTERM ends it with exit 0" "$rc" 0
assert_eq "collect: one complete preload session" "$(sql "$db" 'select count(*), sum(complete), min(source) from sessions')" "1|1|preload"
has_row "collect: cat's open of /etc/hostname recorded" "$(prows "$db" 1)" "open|/etc/hostname|0"
has_row "collect: cat's exec recorded" "$(prows "$db" 1)" "exec|/usr/bin/cat|0"
check "collect: the socket is removed at the end" test ! -e "$sock"
assert_eq "collect: foreign keys hold (the recording connection does not check them)" \
	"$(sql "$db" 'PRAGMA foreign_key_check')|$(sql "$db" 'select count(*) > 0 from session_paths')" "|1"

# 2. the collector restarted mid-run
start_collector "$db" "$sock" "$tmp/c2.log"
mkfifo "$tmp/ctl"
touch "$tmp/a" "$tmp/b" "$tmp/c"
S=$tmp/stress
run_pre "$S" stepper - <"$tmp/ctl" >"$tmp/steps" 2>&1 &
stepper=$!
exec 3>"$tmp/ctl"
step() { echo "$1" >&3; wait_for 10 sh -c '[ "$(grep -c done "$1")" -ge "$2" ]' sh "$tmp/steps" "$2"; }
step "$tmp/a" 1
# the collector writes what it received within a moment of quiet; wait for it, then kill it
check "restart: the first open reaches the database" wait_for 10 sh -c \
	'sqlite3 "$1" "select 1 from file_accesses where path = '"'"'$2'"'"'" | grep -q 1' sh "$db" "$tmp/a"
kill -KILL "$collector_pid"; wait "$collector_pid" 2>/dev/null
step "$tmp/b" 2                     # the collector is gone: this record is lost, and counted
start_collector "$db" "$sock" "$tmp/c3.log"
step "$tmp/c" 3                     # sent, after the report of the one lost
exec 3>&-
wait "$stepper"
kill -TERM "$collector_pid"; wait "$collector_pid"; rc=$?
assert_eq "restart: the new collector exits 1 (its session is incomplete)" "$rc" 1
assert_eq "restart: the killed collector's session stays incomplete (running)" \
	"$(sql "$db" 'select complete, incomplete_reason from sessions where id = 2')" "0|running"
has_row "restart: the open before the kill is in the first session" "$(prows "$db" 2)" "open|$tmp/a|0"
assert_eq "restart: the new session is incomplete with events_lost=1" \
	"$(sql "$db" 'select complete, incomplete_reason from sessions where id = 3')" "0|events_lost=1"
has_row "restart: the open after the restart is in the new session" "$(prows "$db" 3)" "open|$tmp/c|0"
lacks_row "restart: the open during the gap is nowhere" "$(prows "$db" 3; prows "$db" 2)" "open|$tmp/b|0"

# 3. garbage on the socket (an empty datagram is not garbage: it is the doorbell of a writer
# that filled the shared-memory ring, include/ring.h)
start_collector "$db" "$sock" "$tmp/c4.log"
python3 - "$sock" <<'PY'
import os, socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
def hdr(magic=0x4b50504d, version=1, length=None, kind=1, op=1, pid=4242, path=b"/garbage/ok\0"):
    n = 56 + len(path) if length is None else length
    return struct.pack("=10I2Q", magic, version, n, kind, op, pid, pid, 0, 0, 2, time.time_ns(), 0) + path
for d in [b"x", b"\0" * 55, os.urandom(56), os.urandom(4000),
          hdr(magic=0xdeadbeef), hdr(version=99), hdr(length=57), hdr(kind=77), hdr(op=999),
          hdr(path=b"/no/nul"), hdr(kind=3, path=b"\0\0")]:
    s.sendto(d, sys.argv[1])
s.sendto(hdr(), sys.argv[1])
PY
run_pre cat /etc/hostname >/dev/null
kill -TERM "$collector_pid"; wait "$collector_pid"
check "garbage: the collector survived it (its log says so)" grep -q "11 malformed records dropped" "$tmp/c4.log"
assert_eq "garbage: the session is incomplete with bad_records=11" \
	"$(sql "$db" 'select complete, incomplete_reason from sessions where id = 4')" "0|bad_records=11"
has_row "garbage: the one valid record is stored" "$(prows "$db" 4)" "open|/garbage/ok|0"
has_row "garbage: later records are stored" "$(prows "$db" 4)" "open|/etc/hostname|0"

# 4. no collector at all: the program runs on, and asks the socket whether one came back at most
# once every 20 ms after the second refusal, not once a record (2,000 opens here)
if command -v strace >/dev/null; then
	mkdir -p "$tmp/nc"
	strace -f -qq --seccomp-bpf -e trace=sendto -o "$tmp/nc.trace" \
		env LD_PRELOAD="$PRELOAD_LIB" MAGICPAK_SOCKET="$tmp/none.sock" "$S" threads "$tmp/nc" 1 2000 \
		>"$tmp/nc.out" 2>&1; rc=$?
	assert_eq "no collector: the program runs on (exit 0)" "$rc" 0
	n=$(grep -c 'sendto(' "$tmp/nc.trace")
	check "no collector: few sends tried for 2,000 opens ($n)" test "$n" -ge 2 -a "$n" -lt 200
else
	fail "strace is missing (scripts/install-deps.sh check installs it)"
fi

# a --label that could never select its session is refused before the collector starts
run_tool collect --db "$tmp/lab.db" --socket "$tmp/lab.sock" --label 42
assert_rc "collect --label 42: usage error" 2
assert_one_error_line "collect --label 42: one line naming it" "$err" "--label '42'"
check "collect --label 42: no socket, no history" test ! -e "$tmp/lab.sock" -a ! -e "$tmp/lab.db"
# a second collector on a socket a live one listens on: refused before it makes a history
start_collector "$tmp/first.db" "$tmp/busy.sock" "$tmp/first.log"
run_tool collect --db "$tmp/second.db" --socket "$tmp/busy.sock"
assert_rc "a second collector on a live socket: exit 1" 1
assert_one_error_line "one line: another collector is listening" "$err" "another collector is listening on '$tmp/busy.sock'"
check "and no history made for it" test ! -e "$tmp/second.db" -a ! -e "$tmp/second.db-wal"
kill -TERM "$collector_pid"; wait "$collector_pid" 2>/dev/null
done_testing
