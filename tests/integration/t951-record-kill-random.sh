#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SQL-02, TRC-03: kill -9 of magicpak at random points during `record`, 20 times into one database (t305 does 5
# at one point): each time the file passes PRAGMA integrity_check, no session is marked
# complete, and no tracee survives; afterwards a new record into the same file completes.
# Then SQL-02: 4 concurrent writers into one file, all killed at one random point, 25 rounds.
. "$(dirname "$0")/../lib.sh"
san_no_leak_scan
require_sqlite3
require_ptrace

db=$tmp/k.db
echo data >"$tmp/in"
rounds=20
delays=
for round in $(seq $rounds); do
	mark="magicpak-t951-$$-$round"
	# a tracee that keeps the tracer and the store busy: execs, opens, stats, new files
	"$TOOL" record --db "$db" -- /bin/sh -c "i=0; while :; do cat '$tmp/in' >/dev/null; ls '$tmp' >/dev/null;
		i=\$((i+1)); : >'$tmp/f'\$((i % 50)); done; : $mark" >/dev/null 2>&1 &
	mp=$!
	wait_exec "$mp"
	# a random point: 0 to 1.2 s after the exec (early ones hit the schema setup and the session
	# insert, late ones the row buffer and its flushes)
	d=$(awk -v r="$RANDOM" 'BEGIN{printf "%.3f", (r % 1200) / 1000}')
	delays="$delays $d"
	sleep "$d"
	kill -9 "$mp"; wait "$mp" 2>/dev/null
	wait_for 3 no_marked "$mark"
	left=$(marked_pids "$mark")
	check "round $round (kill after ${d}s): no tracee survives (left: ${left:-none})" test -z "$left"
	[ -n "$left" ] && kill -9 $left 2>/dev/null
	if [ -e "$db" ]; then
		assert_eq "round $round: integrity_check ok" "$(sql "$db" 'PRAGMA integrity_check')" ok
		n=$(sql "$db" 'select count(*) || "|" || coalesce(sum(complete), 0) from sessions' 2>/dev/null || echo "0|0")
		check "round $round: at most $round sessions, none complete ($n)" \
			sh -c '[ "${1#*|}" = 0 ] && [ "${1%|*}" -le "$2" ]' sh "$n" "$round"
	else
		pass "round $round: killed before the database was created"
	fi
done
echo "kill points (s):$delays"
check "some sessions were begun before their kill" test "$(sql "$db" 'select count(*) from sessions')" -ge 10
record_rc "$db" /bin/true
assert_rc "after 20 kills, a new record into the same file: exit 0" 0
assert_eq "after 20 kills: the new session is the only complete one" \
	"$(sql "$db" 'select count(*) from sessions where complete = 1'):$(sql "$db" 'select complete from sessions order by id desc limit 1')" "1:1"
assert_eq "after 20 kills: integrity_check ok" "$(sql "$db" 'PRAGMA integrity_check')" ok
assert_eq "after 20 kills: no -journal left" "$(ls "$db-journal" 2>/dev/null)" ""

# SQL-02: 4 writers at a time
db4=$tmp/k4.db
points= failed_before=$t_failed
for round in $(seq 25); do
	mark="magicpak-t951-4w-$$-$round"
	mps=()
	for w in 1 2 3 4; do
		"$TOOL" record --db "$db4" --label "r$round-w$w" -- /bin/sh -c "while :; do cat '$tmp/in' >/dev/null;
			: >'$tmp/w$w'; done; : $mark" >/dev/null 2>&1 &
		mps+=($!)
	done
	for p in "${mps[@]}"; do wait_exec "$p"; done
	d=$(awk -v r="$RANDOM" 'BEGIN{printf "%.3f", (r % 600) / 1000}')
	points="$points $d"
	sleep "$d"
	kill -9 "${mps[@]}"; wait "${mps[@]}" 2>/dev/null
	wait_for 3 no_marked "$mark"
	left=$(marked_pids "$mark")
	[ -n "$left" ] && { fail "4 writers, round $round: tracees survive: $left"; kill -9 $left; }
	ic=$(sql "$db4" 'PRAGMA integrity_check' 2>&1)
	[ "$ic" = ok ] || fail "4 writers, round $round (kill after ${d}s): integrity_check: $ic"
	# all four killed before one committed the schema leave a file with no tables yet (the
	# next record makes them): no session at all, so none complete
	nc=0
	[ "$(sql "$db4" "select count(*) from sqlite_master where name = 'sessions'")" = 0 ] ||
		nc=$(sql "$db4" 'select count(*) from sessions where complete = 1' 2>&1)
	[ "$nc" = 0 ] || fail "4 writers, round $round: $nc sessions marked complete"
done
echo "4-writer kill points (s):$points"
t_n=$((t_n + 1))
if [ "$t_failed" = "$failed_before" ]; then pass "4 writers x 25 kills: integrity_check ok, no session complete, no tracee left each time"
else t_failed=$((t_failed - 1)); fail "4 writers x 25 kills: see the failures above"; fi
assert_eq "4 writers: every begun session is incomplete" \
	"$(sql "$db4" 'select count(*) = sum(complete = 0) and count(*) > 0 from sessions')" 1
record_rc "$db4" /bin/true
assert_rc "4 writers: the next record recovers the file, exit 0" 0
assert_eq "4 writers: integrity_check ok at the end" "$(sql "$db4" 'PRAGMA integrity_check')" ok
done_testing
