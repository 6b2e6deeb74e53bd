#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A program that asks for new paths faster than the collector writes them (400,000 stats, each
# of a path not seen before, in about half a second natively): the preload ring fills, the
# program waits for room, and every record still goes through the ring. The collector stores in
# bounded steps and marks the ring alive while it drains: it used to take the whole ring in one
# go and write it in one transaction, and past RING_STALE_NS without a drain the program's
# library took the collector for dead and sent each record as a datagram from then on (five
# times slower, 97% of the records). Under `record --via preload` and under `magicpak collect`:
# the session complete, every path in it once, and (in a build without ASan, whose slower
# writes could pass that time in one step) no record through the socket.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_preload
preload_fixture newpaths
n=400000

# 1. record --via preload
db=$tmp/r.db
TOOL_TIMEOUT=120 record_rc "$db" --via preload -- "$tmp/newpaths" /nonexistent-t617/a "$n"
assert_rc "record: exit 0" 0
assert_eq "record: the session is complete" "$(sql "$db" 'select complete, ifnull(incomplete_reason, "") from sessions')" "1|"
assert_eq "record: each of the $n new paths once" \
	"$(sql "$db" "select count(*), count(distinct path_id) from session_paths sp join paths p on p.id = sp.path_id where p.path like '/nonexistent-t617/a/%'")" "$n|$n"
assert_eq "record: each one a failed stat (ENOENT)" \
	"$(sql "$db" "select count(*) from file_accesses where path like '/nonexistent-t617/a/%' and op = 'stat' and errno = 2")" "$n"
TOOL_TIMEOUT=120 run_tool --log-level debug record --via preload --db "$tmp/r2.db" -- "$tmp/newpaths" /nonexistent-t617/b "$n"
assert_rc "record (debug): exit 0" 0
line=$(grep -E '^magicpak: debug: [0-9]+ records, [0-9]+ of them through the socket' "$err")
check "record: says how many records came through the socket ($line)" test -n "$line"
if [ "${TOOL_SAN:-0}" != 1 ]; then
	assert_eq "record: none of them through the socket (the ring was never given up)" \
		"$(sed -E 's/.* records, ([0-9]+) of them.*/\1/' <<<"$line")" 0
fi

# 2. a long-running `magicpak collect`
sock=$tmp/c.sock cdb=$tmp/c.db
"$TOOL" --log-level debug collect --db "$cdb" --socket "$sock" >"$tmp/c.log" 2>&1 3>&- &
collector_pid=$!
wait_for 10 grep -q 'collecting into session' "$tmp/c.log" || { echo "FAIL: collector did not start:"; sed 's/^/    /' "$tmp/c.log"; exit 1; }
LD_PRELOAD=$PRELOAD_LIB MAGICPAK_SOCKET=$sock timeout 120 "$tmp/newpaths" /nonexistent-t617/c "$n"
assert_eq "collect: the program ends (exit 0)" "$?" 0
kill -TERM "$collector_pid"; wait "$collector_pid"; rc=$?
assert_eq "collect: SIGTERM ends it with exit 0" "$rc" 0
assert_eq "collect: the session is complete" "$(sql "$cdb" 'select complete, ifnull(incomplete_reason, "") from sessions')" "1|"
assert_eq "collect: each of the $n new paths once" \
	"$(sql "$cdb" "select count(*) from session_paths sp join paths p on p.id = sp.path_id where p.path like '/nonexistent-t617/c/%'")" "$n"
line=$(grep -E '^magicpak: debug: [0-9]+ records, [0-9]+ of them through the socket' "$tmp/c.log")
check "collect: says how many records came through the socket ($line)" test -n "$line"
if [ "${TOOL_SAN:-0}" != 1 ]; then
	assert_eq "collect: none of them through the socket" "$(sed -E 's/.* records, ([0-9]+) of them.*/\1/' <<<"$line")" 0
fi
done_testing
