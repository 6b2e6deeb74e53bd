#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A program under LD_PRELOAD writes a steady trickle of new paths into `magicpak collect`'s ring.
# 1. The collector stalls, then drains again: it is stopped (SIGSTOP) for 1.2 s, longer than the
#    0.5 s after which a writer takes an unmarked ring for one its collector left. Once the
#    collector runs and marks the ring again, the program takes the ring back: it used to send
#    every later record through the socket (a socket(), sendto() and close() each, waiting
#    whenever 10 were queued), 24,000 of 30,000 here. Twice in one run, so the ring is given up
#    and taken back again. Every path is in the session once, and the session is complete.
# 2. The collector is killed (SIGKILL) and another started on the same socket: the program maps
#    the new collector's ring (and never writes into the dead one's again), where it used to send
#    the new one everything through the socket. What it made while no collector was there is
#    lost, and counted.
# 3. The program starts before any collector: it maps the ring of the one that comes.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_preload
preload_fixture newpaths
n=30000
sock=$tmp/c.sock db=$tmp/c.db

"$TOOL" --log-level debug collect --db "$db" --socket "$sock" >"$tmp/c.log" 2>&1 3>&- &
collector_pid=$!
wait_for 10 grep -q 'collecting into session' "$tmp/c.log" || { echo "FAIL: collector did not start:"; sed 's/^/    /' "$tmp/c.log"; exit 1; }
# about 5,000 paths a second: 6 s or more, the two stops well inside it
LD_PRELOAD=$PRELOAD_LIB MAGICPAK_SOCKET=$sock timeout 120 "$tmp/newpaths" /nonexistent-t618 "$n" 100 &
prog=$!
for at in 0.7 1.2; do
	sleep "$at"
	kill -STOP "$collector_pid"
	sleep 1.2
	kill -CONT "$collector_pid"
done
check "the program was still running after the second stop (the stops fell inside it)" kill -0 "$prog"
wait "$prog"
assert_eq "the program ends (exit 0)" "$?" 0
kill -TERM "$collector_pid"; wait "$collector_pid"; rc=$?
assert_eq "SIGTERM ends the collector with exit 0" "$rc" 0
assert_eq "the session is complete" "$(sql "$db" 'select complete, ifnull(incomplete_reason, "") from sessions')" "1|"
assert_eq "each of the $n paths once" \
	"$(sql "$db" "select count(*), count(distinct path_id) from session_paths sp join paths p on p.id = sp.path_id where p.path like '/nonexistent-t618/%'")" "$n|$n"
line=$(grep -E '^magicpak: debug: [0-9]+ records, [0-9]+ of them through the socket' "$tmp/c.log")
check "the collector says how many records came through the socket ($line)" test -n "$line"
via_socket=$(sed -E 's/.* records, ([0-9]+) of them.*/\1/' <<<"$line")
# Only what the socket's queue held when each stop began goes through it (a dozen a stop: the
# kernel queues about 10 datagrams for a receiver that does not read, then the sender waits);
# without the ring taken back, everything after the first stop did.
check "after each stop the program took the ring back: $via_socket of $n records through the socket (at most $((n / 10)))" \
	test "${via_socket:-$n}" -le $((n / 10))

# 2. killed and restarted
sock=$tmp/k.sock db=$tmp/k.db
"$TOOL" --log-level debug collect --db "$db" --socket "$sock" >"$tmp/k1.log" 2>&1 3>&- &
collector_pid=$!
wait_for 10 grep -q 'collecting into session' "$tmp/k1.log" || { echo "FAIL: collector did not start:"; sed 's/^/    /' "$tmp/k1.log"; exit 1; }
LD_PRELOAD=$PRELOAD_LIB MAGICPAK_SOCKET=$sock timeout 120 "$tmp/newpaths" /nonexistent-t618k "$n" 100 &
prog=$!
sleep 1
kill -KILL "$collector_pid"; wait "$collector_pid" 2>/dev/null
sleep 0.3
"$TOOL" --log-level debug collect --db "$db" --socket "$sock" >"$tmp/k2.log" 2>&1 3>&- &
collector_pid=$!
wait_for 10 grep -q 'collecting into session' "$tmp/k2.log" || { echo "FAIL: collector did not restart:"; sed 's/^/    /' "$tmp/k2.log"; exit 1; }
check "restart: the program was still running after it (the restart fell inside it)" kill -0 "$prog"
wait "$prog"
assert_eq "restart: the program ends (exit 0)" "$?" 0
kill -TERM "$collector_pid"; wait "$collector_pid"; rc=$?
assert_eq "restart: the new collector exits 1 (its session is incomplete: records were lost)" "$rc" 1
assert_eq "restart: the new session says how many were lost" \
	"$(sql "$db" 'select complete, incomplete_reason like "events_lost=%" from sessions where id = 2')" "0|1"
last=$(sql "$db" "select count(*) from session_paths sp join paths p on p.id = sp.path_id
	where sp.session_id = 2 and p.path = '/nonexistent-t618k/d$(((n - 1) / 100))/f$((n - 1))'")
assert_eq "restart: the program's last path is in the new session" "$last" 1
got=$(sql "$db" "select count(*) from session_paths sp join paths p on p.id = sp.path_id
	where sp.session_id = 2 and p.path like '/nonexistent-t618k/%'")
check "restart: the new session has most of the paths made after the restart ($got of $n)" \
	test "$got" -ge $((n / 2))
line=$(grep -E '^magicpak: debug: [0-9]+ records, [0-9]+ of them through the socket' "$tmp/k2.log")
via_socket=$(sed -E 's/.* records, ([0-9]+) of them.*/\1/' <<<"$line")
total=$(sed -E 's/^magicpak: debug: ([0-9]+) records.*/\1/' <<<"$line")
check "restart: the program mapped the new collector's ring: $via_socket of its $total records through the socket (at most $((n / 10)))" \
	test -n "$line" -a "${via_socket:-$n}" -le $((n / 10))

# 3. no collector yet
sock=$tmp/l.sock db=$tmp/l.db
LD_PRELOAD=$PRELOAD_LIB MAGICPAK_SOCKET=$sock timeout 120 "$tmp/newpaths" /nonexistent-t618l 20000 100 &
prog=$!
sleep 0.8
"$TOOL" --log-level debug collect --db "$db" --socket "$sock" >"$tmp/l.log" 2>&1 3>&- &
collector_pid=$!
wait_for 10 grep -q 'collecting into session' "$tmp/l.log" || { echo "FAIL: collector did not start:"; sed 's/^/    /' "$tmp/l.log"; exit 1; }
check "late: the program was still running when the collector came" kill -0 "$prog"
wait "$prog"
kill -TERM "$collector_pid"; wait "$collector_pid"
assert_eq "late: the session says how many records were lost before it" \
	"$(sql "$db" 'select complete, incomplete_reason like "events_lost=%" from sessions')" "0|1"
line=$(grep -E '^magicpak: debug: [0-9]+ records, [0-9]+ of them through the socket' "$tmp/l.log")
via_socket=$(sed -E 's/.* records, ([0-9]+) of them.*/\1/' <<<"$line")
total=$(sed -E 's/^magicpak: debug: ([0-9]+) records.*/\1/' <<<"$line")
check "late: the program mapped the collector's ring: $via_socket of $total records through the socket (at most 2000)" \
	test -n "$line" -a "${via_socket:-20000}" -le 2000 -a "${total:-0}" -ge 5000
done_testing
