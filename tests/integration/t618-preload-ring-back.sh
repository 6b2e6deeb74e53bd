#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A program under LD_PRELOAD writes a steady trickle of new paths into `magicpak collect`'s ring
# (a stat every 100 us or so) until the test tells it to stop.
# 1. The collector stalls, then drains again: it is stopped (SIGSTOP) for 1.2 s, longer than the
#    0.5 s after which a writer takes an unmarked ring for one its collector left. Once the
#    collector runs and marks the ring again, the program takes the ring back: it used to send
#    every later record through the socket (a socket(), sendto() and close() each, waiting
#    whenever 10 were queued), three quarters of them here. Twice in one run, so the ring is
#    given up and taken back again. Every path is in the session once, and the session is
#    complete.
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

# trickle NAME: the program in the background ($prog), writing /nonexistent-t618/NAME/... into
# $sock until $tmp/NAME.stop exists; it prints how many paths it made into $tmp/NAME.n.
trickle() {
	LD_PRELOAD=$PRELOAD_LIB MAGICPAK_SOCKET=$sock timeout 120 \
		"$tmp/newpaths" "/nonexistent-t618/$1" 100000000 100 "$tmp/$1.stop" >"$tmp/$1.n" &
	prog=$!
}
# stop NAME: stop it; 0 if it ended with exit 0
stop() { touch "$tmp/$1.stop"; wait "$prog"; }
# collector LOG: `magicpak collect --log-level debug` on $sock into $db ($collector_pid)
collector() {
	"$TOOL" --log-level debug collect --db "$db" --socket "$sock" >"$1" 2>&1 3>&- &
	collector_pid=$!
	wait_for 10 grep -q 'collecting into session' "$1" || { echo "FAIL: collector did not start:"; sed 's/^/    /' "$1"; exit 1; }
}
# socket_count LOG: "TOTAL SOCKET" from the collector's debug line (records, through the socket)
socket_count() {
	sed -nE 's/^magicpak: debug: ([0-9]+) records, ([0-9]+) of them through the socket.*/\1 \2/p' "$1"
}
# paths SESSION NAME: how many of NAME's paths SESSION has
paths() {
	sql "$db" "select count(*) from session_paths sp join paths p on p.id = sp.path_id
		where sp.session_id = $1 and p.path like '/nonexistent-t618/$2/%'"
}

# 1. stopped twice, then drained again
sock=$tmp/c.sock db=$tmp/c.db
collector "$tmp/c.log"
trickle stall
for at in 0.7 0.7; do
	sleep "$at"
	kill -STOP "$collector_pid"
	sleep 1.2
	kill -CONT "$collector_pid"
done
sleep 1.5 # the program goes on after the second stop
stop stall
assert_eq "stall: the program ends (exit 0)" "$?" 0
made=$(cat "$tmp/stall.n")
kill -TERM "$collector_pid"; wait "$collector_pid"; rc=$?
assert_eq "stall: SIGTERM ends the collector with exit 0" "$rc" 0
assert_eq "stall: the session is complete" "$(sql "$db" 'select complete, ifnull(incomplete_reason, "") from sessions')" "1|"
assert_eq "stall: each of the $made paths the program made, once" "$(paths 1 stall)" "$made"
read -r total via_socket < <(socket_count "$tmp/c.log")
check "stall: the collector says how many records came through the socket ($via_socket of $total)" test -n "$via_socket"
# Only what the socket's queue held when each stop began goes through it (a dozen a stop: the
# kernel queues about 10 datagrams for a receiver that does not read, then the sender waits);
# without the ring taken back, everything after the first stop did.
check "stall: the ring was given up at each stop (some records through the socket: $via_socket)" \
	test "${via_socket:-0}" -ge 2
check "stall: and taken back after each: $via_socket of $total records through the socket (at most a tenth)" \
	test "$made" -ge 2000 -a "${via_socket:-$total}" -le $((total / 10))

# 2. killed and restarted
sock=$tmp/k.sock db=$tmp/k.db
collector "$tmp/k1.log"
trickle kill
sleep 1
kill -KILL "$collector_pid"; wait "$collector_pid" 2>/dev/null
sleep 0.3
collector "$tmp/k2.log"
sleep 1.5 # the program goes on with the new collector
check "restart: the program is still running (it outlived its collector)" kill -0 "$prog"
stop kill
assert_eq "restart: the program ends (exit 0)" "$?" 0
made=$(cat "$tmp/kill.n")
kill -TERM "$collector_pid"; wait "$collector_pid"; rc=$?
assert_eq "restart: the new collector exits 1 (its session is incomplete: records were lost)" "$rc" 1
assert_eq "restart: the new session says how many were lost" \
	"$(sql "$db" 'select complete, incomplete_reason like "events_lost=%" from sessions where id = 2')" "0|1"
assert_eq "restart: the program's last path is in the new session" \
	"$(sql "$db" "select count(*) from session_paths sp join paths p on p.id = sp.path_id where sp.session_id = 2
		and p.path = '/nonexistent-t618/kill/d$(((made - 1) / 100))/f$((made - 1))'")" 1
read -r total via_socket < <(socket_count "$tmp/k2.log")
check "restart: the new session has the paths it got ($(paths 2 kill) of the $made made; $total records)" \
	test "$(paths 2 kill)" -ge 1000
check "restart: the program mapped the new collector's ring: $via_socket of $total records through the socket (at most a tenth)" \
	test -n "$via_socket" -a "${via_socket:-1}" -le $((total / 10))

# 3. no collector yet
sock=$tmp/l.sock db=$tmp/l.db
trickle late
sleep 0.8
collector "$tmp/l.log"
sleep 1.5
check "late: the program is still running when the collector has come" kill -0 "$prog"
stop late
assert_eq "late: the program ends (exit 0)" "$?" 0
kill -TERM "$collector_pid"; wait "$collector_pid"
assert_eq "late: the session says how many records were lost before it" \
	"$(sql "$db" 'select complete, incomplete_reason like "events_lost=%" from sessions')" "0|1"
read -r total via_socket < <(socket_count "$tmp/l.log")
check "late: the program mapped the collector's ring: $via_socket of $total records through the socket (at most a tenth)" \
	test -n "$via_socket" -a "${total:-0}" -ge 1000 -a "${via_socket:-1}" -le $((total / 10))
done_testing
