#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A session still being recorded and `forget`. forget refuses it (one line naming the session
# and why, exit 1, nothing deleted), while a session whose recorder was killed (it never ends)
# can still be forgotten; --force forgets even a live one. A recorder whose session's row is
# gone (forget --force, or deleted by hand) writes no row for it (PRAGMA foreign_key_check finds
# nothing), says so in one line and exits 1, also when a later record has taken the freed id
# meanwhile; the next record works.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
require_preload
san_no_leak_scan
db=$tmp/fr.db
echo late >"$tmp/late.txt"
rec "$db" -- /bin/true
has_session() { [ "$(sql "$db" "select count(*) from sessions where label = '$1'")" = 1 ]; }
# start_rec LABEL ARGS...: record ARGS with LABEL in the background ($rpid; stderr in
# $tmp/LABEL.err), once its session's row is in the file.
start_rec() {
	local l=$1; shift
	"$TOOL" record --db "$db" --label "$l" "$@" >/dev/null 2>"$tmp/$l.err" &
	rpid=$!
	wait_for 10 has_session "$l" || { echo "FAIL: session $l never appeared:"; cat "$tmp/$l.err"; exit 1; }
}
# no_orphans: no row points nowhere: PRAGMA foreign_key_check, and every accesses row in a
# batch (accesses has no foreign key)
no_orphans() {
	[ -z "$(sql "$db" "pragma foreign_key_check")" ] && [ "$(sql "$db" "select count(*) from accesses a
		where not exists (select 1 from access_batches b where a.id between b.first_id and b.last_id)")" = 0 ]
}
# next_record DESC: a record after it works, and the file has no rows pointing nowhere.
next_record() {
	record_rc "$db" --label "after-$1" /bin/cat /etc/hostname
	check "$1: the next record works (exit 0, complete), no row points nowhere" \
		test "$rc|$(sql "$db" "select complete from sessions where label = 'after-$1'")" = "0|1" -a \
		"$(no_orphans && echo yes)" = yes
	[ "$rc" = 0 ] || sed 's/^/    /' "$err"
}

# The user review's case: forget while a --via preload recorder runs.
start_rec run --via preload -- sh -c 'cat /etc/hostname; sleep 1.5'
id=$(sql "$db" "select id from sessions where label = 'run'")
run_tool forget --db "$db" --session run
check "forget of a session being recorded: exit 1, the session kept" \
	test "$rc" = 1 -a "$(sql "$db" "select count(*) from sessions where label = 'run'")" = 1
assert_one_error_line "forget of a session being recorded: one line naming it and why" "$err" \
	"session $id of '$db': it is still being recorded"
wait "$rpid"; r=$?
assert_eq "forget of a session being recorded: the recording ends well (exit 0, complete, rows)" \
	"$r|$(sql "$db" "select complete from sessions where label = 'run'")|$(sql "$db" "select count(*) > 0 from file_accesses where session_id = $id and path = '/etc/hostname'")" \
	"0|1|1"
next_record refused

# A recorder killed with SIGKILL leaves its session never ended, and provably abandoned (the
# kernel dropped its lock): forget takes it without --force.
start_rec killed -- sh -c 'cat /etc/hostname; sleep 30'
id=$(sql "$db" "select id from sessions where label = 'killed'")
state() { "$TOOL" sessions --db "$db" | awk -v id="$id" '$1 == id' | grep -o 'no (.*)'; }
assert_eq "sessions: while its recorder runs, the session is running" "$(state)" "no (running)"
kill -9 "$rpid"; wait "$rpid" 2>/dev/null
[ "$(sql "$db" "select ended_at is null from sessions where label = 'killed'")" = 1 ] ||
	{ echo "FAIL: the killed recorder's session ended"; exit 1; }
assert_eq "sessions: once its recorder is killed, it says so" "$(state)" "no (recorder gone)"
"$TOOL" sessions --db "$db" --json >"$tmp/s.json" 2>/dev/null
assert_eq "sessions --json says the same" \
	"$(python3 -c 'import json,sys; print([s["incomplete_reason"] for s in json.load(open(sys.argv[1])) if s["label"] == "killed"])' "$tmp/s.json")" \
	"['recorder gone']"
run_tool forget --db "$db" --session killed
assert_eq "forget of a killed recorder's session: exit 0, gone" \
	"$rc|$out|$(sql "$db" "select count(*) from sessions where label = 'killed'")" \
	"0|forgot session $id|0"

# --force forgets a session being recorded: its recorder (preload: it writes while running)
# stops writing, says so, exits 1.
start_rec forced --via preload -- sh -c 'cat /etc/hostname; sleep 1.2; cat "$1"; sleep 0.3' sh "$tmp/late.txt"
id=$(sql "$db" "select id from sessions where label = 'forced'")
run_tool forget --db "$db" --force --session forced
assert_eq "forget --force of a session being recorded: exit 0" "$rc|$out" "0|forgot session $id"
wait "$rpid"; r=$?
check "forget --force: its recorder exits 1 (exit $r)" test "$r" = 1
assert_one_error_line "forget --force: its recorder says so in one line" "$tmp/forced.err" \
	"session $id was deleted from '$db' while it was being recorded"
check "forget --force: no row of it left, none pointing nowhere" \
	test "$(sql "$db" "select count(*) from file_accesses where session_id = $id")" = 0 -a "$(no_orphans && echo yes)" = yes
next_record forced

# The row deleted by hand under a ptrace recorder, which writes only at its end.
start_rec by-hand -- sh -c 'cat /etc/hostname; sleep 1'
sql "$db" "delete from sessions where label = 'by-hand'"
wait "$rpid"; r=$?
check "deleted by hand (ptrace): the recorder exits 1 (exit $r)" test "$r" = 1
assert_one_error_line "deleted by hand (ptrace): it says so in one line" "$tmp/by-hand.err" \
	"was deleted from '$db' while it was being recorded"
check "deleted by hand (ptrace): no row points nowhere" no_orphans
next_record by-hand

# Deleted, and its id taken by the next record before the recorder writes again: the recorder
# tells that session from its own (its start) and writes nothing into it.
start_rec reused --via preload -- sh -c 'sleep 1.2; cat "$1"; sleep 1.2' sh "$tmp/late.txt"
id=$(sql "$db" "select id from sessions where label = 'reused'")
sql "$db" "delete from sessions where label = 'reused'"
rec "$db" --label taker -- /bin/true
[ "$(sql "$db" "select id from sessions where label = 'taker'")" = "$id" ] ||
	{ echo "FAIL: the freed id $id was not taken again"; exit 1; }
wait "$rpid"; r=$?
check "id taken again: the recorder exits 1 (exit $r) with one line: its session was deleted" \
	test "$r|$(grep -c . "$tmp/reused.err")|$(grep -c "^magicpak: session $id was deleted from '$db'" "$tmp/reused.err")" = "1|1|1"
assert_eq "id taken again: the session that took it holds none of the recorder's rows, none points nowhere" \
	"$(sql "$db" "select count(*) from file_accesses where session_id = $id and path = '$tmp/late.txt'")|$(sql "$db" "select label, complete, exit_status from sessions where id = $id")|$(no_orphans && echo ok)" \
	"0|taker|1|0|ok"
next_record reused
done_testing
