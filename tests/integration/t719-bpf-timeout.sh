#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `record --via bpf --timeout`: the command's whole tree is killed when time is up, including
# processes forked just before the deadline, which the probe has reported but magicpak may not
# have read yet (its reader sleeps up to 100 ms between passes). A survivor would keep record
# waiting for it, as the child subreaper, for its 60 s. Exit 124, a session marked "timeout".
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_bpf
mark="magicpak-t719-$$"
trap 'pkill -f "^sleep 6[01]\.$$" 2>/dev/null; rm -rf "$tmp"' EXIT
db=$tmp/t.db
# a new sleeper every 10 ms until the deadline; each one is orphaned when its shell dies
start=$EPOCHREALTIME
timeout --preserve-status 30 "$TOOL" record --db "$db" --via bpf --timeout 1 -- \
	sh -c "while :; do sleep 60.$$ & sleep 0.01; done; : $mark" >/dev/null 2>"$tmp/err"
rc=$?
secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%d", b-a}')
assert_eq "record exits 124 at the timeout ($(head -c 300 "$tmp/err"))" "$rc" 124
check "record is done within 10 s ($secs s)" test "$secs" -lt 10
assert_eq "no sleeper of the tree survives" "$(pgrep -fc "^sleep 60\.$$")" 0
assert_eq "the session is incomplete: timeout" \
	"$(sql "$db" 'select complete || "|" || incomplete_reason from sessions')" "0|timeout"
check "sleepers were forked (and recorded)" test "$(sql "$db" "select count(*) from processes where argv like '%sleep%60.$$%'")" -gt 10
done_testing
