#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The session's end begun early (collector/record.c early_end, store_session_end_prepare): when
# the command's exit is seen (--via preload: its exit record and the doorbell it rings,
# include/ring.h exit_bell; --via bpf: the probe wakes magicpak at the command's end) and no
# other process of the tree is known to run, the end's transaction is written while the kernel
# takes the command down, and only committed once it is reaped. What it writes must be what the
# end would have written: the summary (session_paths) equal to the view computed from the
# accesses, the exit status the reaping gave. A process the collector did not know of (a child
# whose first call comes after its parent's exit) rolls the early end back and its accesses
# are in; one that runs on does not keep the history's write lock from another recorder.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_preload

py=/usr/bin/python3
[ -x "$py" ] || skip "no $py"
# the summary the end stored, against the one computed from the session's accesses
summary_same() {
	sql "$1" "select (select count(*) from (select * from session_paths where session_id = $2
		except select * from session_path_summary where session_id = $2))
		+ (select count(*) from (select * from session_path_summary where session_id = $2
		except select * from session_paths where session_id = $2))
		+ (select count(*) = 0 from session_paths where session_id = $2)"
}
# (the parent waits 0.2 s first, so that the history, opened in a thread meanwhile, is ready
# for the early end: a new file takes tens of ms)
cat >"$tmp/late.py" <<'EOF'
import os, sys, time
# the parent exits with 3 after 0.2 s; the child makes its first call (an open) DELAY s later
delay, mark = float(sys.argv[1]), sys.argv[2]
if os.fork() == 0:
    time.sleep(0.2 + delay)
    open(mark).read()
    os._exit(0)
time.sleep(0.2)
os._exit(3)
EOF
echo mark >"$tmp/mark"
# a large process (200 MB touched), whose end takes the kernel tens of ms: time for the probe's
# reader to pass the command's end on before the reaping, on a loaded machine too
big="import time; time.sleep(0.2); import json, email, http.client, sqlite3, decimal, argparse, sys; b = b'x' * (200 << 20); sys.exit(3)"

for via in preload bpf; do
	if [ $via = bpf ]; then
		(require_bpf) >/dev/null || { [ "${CI:-}" = true ] && fail "bpf: the eBPF probe cannot run here (CI)"
			echo "SKIP bpf part: the eBPF probe cannot run here"; break; }
	fi
	# 1. a one-process command: begun early, committed as it was written
	db=$tmp/$via.db
	run_tool -v -v record --db "$db" --via $via -- "$py" -B -c "$big"
	assert_rc "$via: the command's exit status" 3
	assert_contains "$via: the end was written before the reaping" "$(cat "$err")" "the session's end is written early"
	check "$via: and committed as it was" sh -c '! grep -q "early end is rolled back" "$1"' sh "$err"
	assert_eq "$via: the session: exit 3, complete" "$(sql "$db" 'select exit_status, complete from sessions')" "3|1"
	assert_eq "$via: its summary is the one its accesses give" "$(summary_same "$db" 1)" 0
	check "$via: and has json's module in it" sh -c '[ "$(sqlite3 "$1" "select count(*) from session_paths sp join paths p on p.id = sp.path_id where p.path like '"'"'%/json/__init__.py'"'"' and sp.results & 1")" -ge 1 ]' sh "$db"

	# 2. a child whose first call comes 20 ms after its parent ended
	run_tool -v -v record --db "$db" --via $via -- "$py" -B "$tmp/late.py" 0.02 "$tmp/mark"
	assert_rc "$via late child: the command's exit status" 3
	assert_eq "$via late child: the session: exit 3, complete, 2 processes" \
		"$(sql "$db" 'select exit_status, complete, processes from sessions where id = 2')" "3|1|2"
	check "$via late child: the child's open is in" sh -c '[ "$(sqlite3 "$1" "select sum(count) from file_accesses where session_id = 2 and op = '"'"'open'"'"' and path = '"'"'$2'"'"' and errno = 0")" = 1 ]' sh "$db" "$tmp/mark"
	check "$via late child: and in the summary" sh -c '[ "$(sqlite3 "$1" "select sp.count from session_paths sp join paths p on p.id = sp.path_id where sp.session_id = 2 and p.path = '"'"'$2'"'"'")" = 1 ]' sh "$db" "$tmp/mark"
	assert_eq "$via late child: the summary is the one its accesses give" "$(summary_same "$db" 2)" 0
	if [ $via = preload ]; then
		# the collector heard of the child only after the parent's exit record: the end
		# begun early is rolled back (for what came after it; or, on a slow machine, held
		# past its 100 ms first)
		assert_contains "preload late child: the early end was rolled back for it" "$(cat "$err")" \
			"early end is rolled back:"
	else
		# the probe saw the child's fork before its parent's end: the end waited for it
		check "bpf late child: no end begun while the child ran" sh -c '! grep -q "early end is rolled back" "$1"' sh "$err"
	fi
done

# 3. a child that runs on for 2 s after its parent: the early end is given up within
# EARLY_HOLD_MS, and another recorder writes into the same history meanwhile
db=$tmp/hold.db
"$TOOL" -v -v record --db "$db" --via preload -- "$py" -B "$tmp/late.py" 2 "$tmp/mark" 2>"$tmp/hold.err" &
first=$!
sleep 0.5
t0=$EPOCHREALTIME
run_tool record --db "$db" --via preload -- /bin/true
assert_rc "hold: a second recorder into the same history" 0
check "hold: it ended while the first still ran ($(elapsed "$t0") s)" kill -0 "$first"
wait "$first"
assert_eq "hold: the first ended with its command's status" "$?" 3
assert_contains "hold: its early end was given up" "$(cat "$tmp/hold.err")" "early end is rolled back: held too long"
assert_eq "hold: both sessions ended, complete" "$(sql "$db" 'select id, exit_status, complete from sessions order by id')" "1|3|1
2|0|1"
assert_eq "hold: the first's summary is the one its accesses give" "$(summary_same "$db" 1)" 0
check "hold: the child's open is in the first session" sh -c '[ "$(sqlite3 "$1" "select sum(count) from file_accesses where session_id = 1 and path = '"'"'$2'"'"' and errno = 0")" = 1 ]' sh "$db" "$tmp/mark"
done_testing
