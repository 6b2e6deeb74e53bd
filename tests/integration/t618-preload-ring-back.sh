#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A collector that stalls, then drains again: a program under LD_PRELOAD writes a steady trickle
# of new paths into `magicpak collect`'s ring while the collector is stopped (SIGSTOP) for 1.2 s,
# longer than the 0.5 s after which a writer takes an unmarked ring for one its collector left.
# Once the collector runs and marks the ring again, the program takes the ring back: it used to
# send every later record through the socket (a socket(), sendto() and close() each), 24,000 of
# 30,000 here. Twice in one run, so the ring is given up and taken back again. Every path is in
# the session once, and the session is complete.
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
done_testing
