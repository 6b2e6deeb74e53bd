#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: SQL-09 (a record running while --all reads).
# magicpak bundle: which sessions are chosen. Default "last"; --session ID|LABEL|last; --all; --since
# (ISO date, date and time, epoch seconds); an unknown session; incomplete sessions refused unless
# --allow-incomplete.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
db=$tmp/h.db
mkdir "$tmp/src"
for f in a b c; do echo "file $f" >"$tmp/src/$f"; done
rec "$db" --label first -- /bin/cat "$tmp/src/a"
rec "$db" --label second -- /bin/cat "$tmp/src/b"
rec "$db" --label third -- /bin/cat "$tmp/src/c"
has() { [ -f "$1$tmp/src/$2" ]; }
picked() { local o=$1 r=""; for f in a b c; do has "$o" $f && r="$r$f"; done; echo "$r"; }

bundle_rc "$db" "$tmp/o-default"
assert_rc "no selector: exit 0" 0
assert_eq "no selector is 'last': only session 3's file" "$(picked "$tmp/o-default")" "c"
check "the program itself is bundled (exec recorded), with its libraries" test -e "$tmp/o-default/bin/cat" -a -n "$(find "$tmp/o-default" -name 'libc.so.6')"
bundle_rc "$db" --session last "$tmp/o-last"
assert_eq "--session last" "$(picked "$tmp/o-last")" "c"
bundle_rc "$db" --session first --session 2 "$tmp/o-l1"
assert_eq "--session first --session 2" "$(picked "$tmp/o-l1")" "ab"
# A label names its latest session.
rec "$db" --label first -- /bin/cat "$tmp/src/b"
bundle_rc "$db" --session first "$tmp/o-relabel"
assert_eq "a label names its latest session" "$(picked "$tmp/o-relabel")" "b"
bundle_rc "$db" --all "$tmp/o-all"
assert_rc "--all: exit 0" 0
assert_eq "--all" "$(picked "$tmp/o-all")" "abc"

sql "$db" "update sessions set started_at = '2020-01-01T00:00:00.000Z' where id = 1"
sql "$db" "update sessions set started_at = '2022-06-01T12:30:00.000Z' where id = 2"
bundle_rc "$db" --since 2021-01-01 "$tmp/o-since"
assert_rc "--since 2021-01-01: exit 0" 0
assert_eq "--since 2021-01-01: sessions 2.. only" "$(picked "$tmp/o-since")" "bc"
bundle_rc "$db" --since 2022-06-01T12:30:01Z "$tmp/o-since2"
assert_eq "--since 2022-06-01T12:30:01Z: session 2 left out" "$(picked "$tmp/o-since2")" "bc"
check "--since 2022-06-01T12:30:01Z: only sessions 3 and 4 (no a)" test ! -e "$tmp/o-since2$tmp/src/a"
bundle_rc "$db" --since "$(date -u -d 2022-06-01T12:00:00 +%s)" "$tmp/o-since3"
assert_eq "--since EPOCH" "$(picked "$tmp/o-since3")" "bc"
bundle_rc "$db" --since 2999-01-01 "$tmp/o-none"
assert_rc "--since in the future: exit 1" 1
assert_one_error_line "--since in the future: one line" "$err" "no session"
bundle_rc "$db" --since yesterday "$tmp/o-bad"
assert_rc "--since yesterday: usage error" 2
for bad in 2099-02-31 2023-04-31T10:00 2023-01-01T24:30; do
	bundle_rc "$db" --since "$bad" "$tmp/o-bad"
	assert_rc "--since $bad (no such time): usage error, not read as the days after" 2
	assert_one_error_line "--since $bad: one line naming it" "$err" "$bad"
	assert_no_output "--since $bad" "$tmp/o-bad"
done
bundle_rc "$db" --all --session 1 "$tmp/o-bad"
assert_rc "--all with --session: usage error, not one of them ignored" 2
assert_one_error_line "--all with --session: one line" "$err" "--all and --session"
bundle_rc "$db" --session nosuch "$tmp/o-nosuch"
assert_rc "--session nosuch: exit 1" 1
assert_one_error_line "--session nosuch: one line naming it" "$err" "nosuch"
assert_no_output "--session nosuch" "$tmp/o-nosuch"
bundle_rc "$tmp/missing.db" "$tmp/o-nodb"
assert_rc "a missing database: exit 1" 1
check "a missing database is not created" test ! -e "$tmp/missing.db"

# SQL-09: --all takes the sessions finished when it starts; one still being recorded is left
# out with a warning naming it (named, it is refused as incomplete).
"$TOOL" record --db "$db" --label live -- /bin/sh -c "cat $tmp/src/c >/dev/null; while [ ! -e $tmp/stop ] && [ -d $tmp ]; do sleep 0.05; done" >/dev/null 2>&1 &
live=$!
for i in $(seq 100); do [ -n "$(sql "$db" "select id from sessions where label = 'live'")" ] && break; sleep 0.05; done
lid=$(sql "$db" "select id from sessions where label = 'live'")
bundle_rc "$db" --all "$tmp/o-live"
assert_rc "--all while a record runs: exit 0" 0
assert_eq "--all while a record runs: one warning naming it" "$(cat "$err")" "magicpak: warning: session $lid is still being recorded: left out"
assert_eq "--all while a record runs: the finished sessions' files" "$(picked "$tmp/o-live")" "abc"
bundle_rc "$db" --session live "$tmp/o-live1"
assert_rc "the running session named: exit 1 (incomplete)" 1
assert_one_error_line "the running session named: one line naming it" "$err" "session $lid is incomplete (running)"
# a history whose only session is still being recorded: nothing to bundle, one line says why
"$TOOL" record --db "$tmp/only.db" --label live2 -- /bin/sh -c "while [ ! -e $tmp/stop ] && [ -d $tmp ]; do sleep 0.05; done" >/dev/null 2>&1 &
live2=$!
for i in $(seq 100); do [ -n "$(sql "$tmp/only.db" "select id from sessions" 2>/dev/null)" ] && break; sleep 0.05; done
bundle_rc "$tmp/only.db" --all "$tmp/o-only"
assert_rc "--all with only a running session: exit 1" 1
assert_eq "--all with only a running session: the warning naming it, then the error saying so" "$(cat "$err")" \
	"magicpak: warning: session 1 is still being recorded: left out
magicpak: no finished session in '$tmp/only.db': 1 still being recorded"
assert_no_output "--all with only a running session" "$tmp/o-only"
touch "$tmp/stop"; wait "$live" "$live2"
# An incomplete session (killed by --timeout) is refused, naming it and its reason.
"$TOOL" record --db "$db" --label slow --timeout 1 -- /bin/sh -c "cat $tmp/src/a; sleep 5" >/dev/null 2>&1
assert_eq "the timed-out session is incomplete" "$(sql "$db" "select complete, incomplete_reason from sessions where label = 'slow'")" "0|timeout"
sid=$(sql "$db" "select id from sessions where label = 'slow'")
bundle_rc "$db" --session slow "$tmp/o-inc"
assert_rc "an incomplete session: exit 1" 1
assert_one_error_line "an incomplete session: one line naming it and the reason" "$err" "session $sid is incomplete (timeout)"
assert_no_output "an incomplete session" "$tmp/o-inc"
bundle_rc "$db" --all "$tmp/o-inc-all"
assert_rc "--all with an incomplete session among them: exit 1" 1
bundle_rc "$db" --session slow --allow-incomplete "$tmp/o-inc-ok"
assert_rc "--allow-incomplete: exit 0" 0
check "--allow-incomplete: a warning names the session" grep -q "session $sid is incomplete" "$err"
check "--allow-incomplete: what it used is bundled" test -f "$tmp/o-inc-ok$tmp/src/a"
done_testing
