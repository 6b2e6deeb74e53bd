#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A `record --via bpf` that starts while an earlier run's probe lingers takes that probe over
# (collector/probe.c: linger, warm_take) instead of loading its own, and records exactly what
# a fresh probe would: the earlier (killed) run's leftover processes are killed before its
# probe is offered (RELIABILITY BPF-07), its
# counters (drops) start again from zero, its unread records are not this run's. A probe of
# another shape (ring buffer size), a lingering child that is gone, or a garbage file where
# the probe is published all make the run load its own probe, and the run records normally;
# a probe of another shape is offered again. Names a killed run or child left in
# /run/magicpak are removed.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_bpf
pub=/run/magicpak/bpf-probe
mark="magicpak-t717-$$"
trap 'pkill -f "^sh -c while \[ ! -e $tmp/go \]" 2>/dev/null; rm -rf "$tmp"' EXIT
none_left() { [ -z "$(pgrep -x magicpak-linger)" ]; }
wait_for 20 none_left || skip "magicpak-linger processes of another run do not go away"
db=$tmp/r.db
export MAGICPAK_BPF_LINGER_MS=5000

# Run A is killed (SIGKILL) mid-run with a process of its tree that would open a file later,
# while run B records: the lingering child kills it before it offers A's probe. (So the
# bitmap's reset in reset_idle() is now what ends following a process the kill could not end;
# no test here makes such a process.)
"$TOOL" record --db "$db" --via bpf -- sh -c \
	"setsid sh -c 'while [ ! -e $tmp/go ]; do sleep 0.05; done; cat /etc/os-release >/dev/null && touch $tmp/done; : $mark' >/dev/null 2>&1 </dev/null & sleep 30" &
a=$!
wait_exec "$a"
check "run A is recording" wait_for 10 sh -c \
	'[ "$(sqlite3 "$1" "select count(*) from sessions where ended_at is null" 2>/dev/null)" = 1 ]' sh "$db"
kill -9 "$a"; wait "$a" 2>/dev/null
check "A's probe is published once A is gone" wait_for 5 test -s "$pub"
linger=$(pgrep -x magicpak-linger | head -n 1)
check "by its lingering child" test -n "$linger"
# (the lingering children's command lines hold the marks too: only the shells are matched)
leftover() { pgrep -f "^sh -c while \[ ! -e $tmp/go \]"; }
check "A's leftover process is killed" test -z "$(leftover)"
pub_pid() { od -An -t d4 -j 40 -N 4 "$pub" 2>/dev/null | tr -d ' '; }
assert_eq "the file names that child" "$(pub_pid)" "$linger"

"$TOOL" -v record --db "$db" --via bpf -- sh -c "touch $tmp/go; sleep 1; cat /etc/hostname >/dev/null" 2>"$tmp/b.err"
assert_eq "run B exits 0" "$?" 0
assert_contains "run B says it reused the lingering probe" "$(cat "$tmp/b.err")" \
	"reusing the one pid $linger left loaded"
check "A's child no longer offers it (the file, if any, is B's child's)" \
	sh -c '[ ! -e "$1" ] || [ "$(od -An -t d4 -j 40 -N 4 "$1" | tr -d " ")" != "$2" ]' sh "$pub" "$linger"
b=$(sql "$db" 'select max(id) from sessions')
assert_eq "session B is complete" "$(sql "$db" "select complete from sessions where id = $b")" 1
assert_eq "B recorded its own open" \
	"$(sql "$db" "select count(*) from file_accesses where session_id = $b and path = '/etc/hostname' and op = 'open'")" 1
check "A's leftover process did not open /etc/os-release during B" test ! -e "$tmp/done"
assert_eq "B recorded no /etc/os-release" \
	"$(sql "$db" "select count(*) from file_accesses where session_id = $b and path = '/etc/os-release'")" 0
assert_eq "B's processes are its own: sh, touch, sleep, cat" \
	"$(sql "$db" "select group_concat(executable, ' ') from (select executable from processes where session_id = $b order by pid)" | tr ' ' '\n' | sed 's|.*/||' | sort | tr '\n' ' ')" \
	"cat sh sleep touch "

# The ring is drained: run C is stopped (SIGSTOP) while its command keeps starting processes,
# whose records fill the ring unread; it is killed, and run D, which takes its probe over,
# reads none of them.
check "B's probe is published" wait_for 5 test -s "$pub"
"$TOOL" record --db "$tmp/c.db" --via bpf -- sh -c "while :; do cat /etc/passwd >/dev/null; done; : $mark-c" &
c=$!
wait_exec "$c"
check "run C is recording" wait_for 10 sh -c \
	'[ "$(sqlite3 "$1" "select count(*) from sessions where ended_at is null" 2>/dev/null)" = 1 ]' sh "$tmp/c.db"
kill -STOP "$c"
sleep 0.3
kill -9 "$c"; wait "$c" 2>/dev/null
wait_for 5 sh -c '[ -z "$(pgrep -f "^sh -c while :; do cat /etc/passwd >/dev/null; done; : $1")" ]' sh "$mark-c"
check "C's probe is published" wait_for 5 test -s "$pub"
"$TOOL" -v record --db "$db" --via bpf -- cat /etc/hostname 2>"$tmp/d0.err" >/dev/null
assert_contains "run D reuses C's probe" "$(cat "$tmp/d0.err")" "reusing the one"
d=$(sql "$db" 'select max(id) from sessions')
assert_eq "D's session is complete and holds none of C's unread records" \
	"$(sql "$db" "select complete || '|' || (select count(*) from file_accesses where session_id = $d and path = '/etc/passwd') || '|' || (select count(*) from processes where session_id = $d) from sessions where id = $d")" "1|0|1"

# Counters start again: a run that dropped records leaves a probe whose next run drops none.
wait_for 10 test -s "$pub"
export MAGICPAK_BPF_RINGBUF_PAGES=1
# (per process: each cat sends its opens, many more records than a session's fold sends)
"$TOOL" record --db "$db" --via bpf --bpf-per-process -- \
	sh -c 'for i in $(seq 300); do cat /dev/null /etc/hostname /etc/passwd; done' >/dev/null
assert_eq "a run with a one-page ring buffer drops records (incomplete)" \
	"$(sql "$db" 'select complete from sessions order by id desc limit 1')" 0
check "its probe is published" wait_for 5 test -s "$pub"
"$TOOL" -v record --db "$db" --via bpf -- true 2>"$tmp/c.err"
assert_contains "the next run with the same ring size reuses it" "$(cat "$tmp/c.err")" "reusing the one"
assert_contains "and counts no drop of the run before" "$(cat "$tmp/c.err")" " 0 dropped"
assert_eq "that session is complete" "$(sql "$db" 'select complete from sessions order by id desc limit 1')" 1

# Another shape: a run with the default ring buffer does not take a one-page probe, and
# offers it again (while it runs, the file names the one-page probe's child again).
check "the one-page probe is published again" wait_for 5 test -s "$pub"
onepage=$(pub_pid)
unset MAGICPAK_BPF_RINGBUF_PAGES
"$TOOL" -v record --db "$db" --via bpf -- sh -c "od -An -t d4 -j 40 -N 4 $pub >$tmp/during" 2>"$tmp/d.err"
assert_eq "a run with another ring size exits 0" "$?" 0
check "and loads its own probe" sh -c '! grep -q "reusing the one" "$1"' sh "$tmp/d.err"
assert_eq "that session is complete" "$(sql "$db" 'select complete from sessions order by id desc limit 1')" 1
assert_eq "the one-page probe was offered again while it ran" "$(tr -d ' ' <"$tmp/during")" "$onepage"

# Names left in /run/magicpak by a process killed at the wrong moment (a claim, a file being
# published: "bpf-probe.PID.CLOCK[.new]", CLOCK_MONOTONIC in hex) are removed when a probe is
# next published once made more than 10 s ago; newer ones, and names not of that form, stay.
fresh=$(python3 -c 'import time; print("%x" % time.clock_gettime_ns(time.CLOCK_MONOTONIC))')
made_old=$(python3 -c 'import time; print("%x" % (time.clock_gettime_ns(time.CLOCK_MONOTONIC) - 11 * 10**9))')
touch "$pub.4242.$made_old" "$pub.4243.$made_old.new" "$pub.4244.$fresh" "$pub.4245.$fresh.new" "$pub.4246.xyz"
check "a probe is published" wait_for 5 test -s "$pub"
"$TOOL" record --db "$db" --via bpf -- true 2>/dev/null
check "the next publication removes the names made 11 s ago" \
	wait_for 5 sh -c '[ ! -e "$1.4242.$2" ] && [ ! -e "$1.4243.$2.new" ]' sh "$pub" "$made_old"
check "and keeps the fresh ones and the others" \
	sh -c '[ -e "$1.4244.$2" ] && [ -e "$1.4245.$2.new" ] && [ -e "$1.4246.xyz" ]' sh "$pub" "$fresh"
rm -f "$pub.4244.$fresh" "$pub.4245.$fresh.new" "$pub.4246.xyz"

# A lingering child that is gone: its file names fds nobody holds any more.
check "a probe is published" wait_for 5 test -s "$pub"
for p in $(pgrep -x magicpak-linger); do kill -9 "$p"; done
check "the lingering children are gone" wait_for 5 none_left
check "the killed child's file is still there" test -s "$pub"
"$TOOL" -v record --db "$db" --via bpf -- true 2>"$tmp/e.err"
assert_eq "a run after its lingering child was killed exits 0" "$?" 0
check "and loads its own probe" sh -c '! grep -q "reusing the one" "$1"' sh "$tmp/e.err"
assert_eq "that session is complete" "$(sql "$db" 'select complete from sessions order by id desc limit 1')" 1

# Garbage where the probe is published.
wait_for 5 test -s "$pub"
for p in $(pgrep -x magicpak-linger); do kill -9 "$p"; done
wait_for 5 none_left
head -c 100 /dev/urandom >"$pub"
"$TOOL" -v record --db "$db" --via bpf -- true 2>"$tmp/f.err"
assert_eq "a run finding garbage in $pub exits 0" "$?" 0
check "and loads its own probe" sh -c '! grep -q "reusing the one" "$1"' sh "$tmp/f.err"
assert_eq "that session is complete" "$(sql "$db" 'select complete from sessions order by id desc limit 1')" 1

# Two runs at once after one run: at most one takes the probe, both record completely.
check "a probe is published" wait_for 5 test -s "$pub"
"$TOOL" -v record --db "$tmp/g1.db" --via bpf -- cat /etc/hostname >/dev/null 2>"$tmp/g1.err" &
"$TOOL" -v record --db "$tmp/g2.db" --via bpf -- cat /etc/hostname >/dev/null 2>"$tmp/g2.err" &
wait
reused=$(cat "$tmp"/g[12].err | grep -o 'reusing the one pid [0-9]* left loaded')
check "one of two runs at once reused the probe (or both, each another's)" test -n "$reused"
assert_eq "no probe was taken twice" "$(echo "$reused" | sort | uniq -d)" ""
for g in g1 g2; do
	assert_eq "$g is complete and saw its open" \
		"$(sql "$tmp/$g.db" "select complete || '|' || (select count(*) from file_accesses where path = '/etc/hostname' and op = 'open') from sessions")" "1|1"
done

# MAGICPAK_BPF_LINGER_MS=0: nothing lingers, nothing is published.
for p in $(pgrep -x magicpak-linger); do kill -9 "$p"; done
wait_for 5 none_left
rm -f "$pub"
MAGICPAK_BPF_LINGER_MS=0 "$TOOL" record --db "$db" --via bpf -- true
check "MAGICPAK_BPF_LINGER_MS=0: nothing is published" test ! -e "$pub"
done_testing
