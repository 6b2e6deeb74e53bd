#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The shared-memory ring between the preload library and the collector (include/ring.h):
# records that go round the ring many times all arrive, in order per process; a writer that
# dies between taking a slot and committing it (with its pid written, or before even that) is
# skipped and counted (events_lost=1), and what others wrote after it is still stored; a slot
# with a nonsense length is counted as bad and dropped without killing the collector; the
# ring file goes away with the collector. Reliability cases: PRE-06, PRE-07. While the ring
# works, a writer asks whether the collector lives with a connect() that sends it nothing (a
# datagram woke it on the writer's CPU), and magicpak's collecting loop gives way to the
# command (SCHED_BATCH) while it runs, never the command itself, and not a policy the user set.
# A process maps the ring once, whether the audit module and the preload library both record
# (the library takes the module's ring), the preload library is its own LD_AUDIT module, or
# there is no LD_AUDIT at all.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_preload
preload_fixture stress -pthread
cc_quiet -O2 -I "$TESTS_DIR/../include" -o "$tmp/ringwriter" "$TESTS_DIR/fixtures/preload/ringwriter.c" ||
	{ echo "FAIL: cannot build ringwriter"; exit 1; }
mkdir "$tmp/d"
opens() { sql "$1" "select ifnull(sum(count), 0) from file_accesses where session_id = (select max(id) from sessions)
	and op = 'open' and errno = 0 and (flags & 3) = 0 and path = '$2'"; }

# 1. 4 threads x 100,000 opens: about 40 MB of records through a 4 MiB ring
db=$tmp/many.db
TOOL_TIMEOUT=120 record_rc "$db" --via preload -- "$tmp/stress" threads "$tmp/d" 4 100000
assert_rc "many: exit 0" 0
bad=0
for i in 0 1 2 3; do
	[ "$(opens "$db" "$tmp/d/t$i")" = 100000 ] || { bad=$((bad + 1)); echo "    t$i: $(opens "$db" "$tmp/d/t$i") opens"; }
done
assert_eq "many: 4 x 100,000 opens, each recorded once" "$bad" 0
assert_eq "many: session complete" "$(sql "$db" 'select complete, ifnull(incomplete_reason, "") from sessions')" "1|"
check "many: no ring or socket left in /tmp" sh -c '! ls -d /tmp/magicpak-preload.* 2>/dev/null | grep -q .'

# 2. broken writers, with a long-running collector
sock=$tmp/c.sock
run_pre() { LD_PRELOAD=$PRELOAD_LIB MAGICPAK_SOCKET=$sock "$@"; }
for mode in half blind garbage; do
	db=$tmp/$mode.db
	start_collector "$db" "$sock" "$tmp/$mode.log"
	check "$mode: the collector made its ring next to the socket" test -f "$sock.ring"
	"$tmp/ringwriter" "$sock" "$mode"
	assert_eq "$mode: the broken writer wrote into the ring" "$?" 0
	"$tmp/ringwriter" "$sock" ok "$tmp/after-$mode"
	run_pre cat /etc/hostname >/dev/null
	# the collector skips a dead writer's slot 20 ms after it is found, a header-less one
	# after 2 s; both before SIGTERM here, so what comes after is stored while it runs
	check "$mode: the record after the broken one is stored while the collector runs" \
		wait_for 10 sh -c 'sqlite3 "$1" "select 1 from file_accesses where path = '"'"'$2'"'"'" | grep -q 1' sh "$db" "$tmp/after-$mode"
	kill -TERM "$collector_pid"; wait "$collector_pid"
	case $mode in
	garbage) want="0|bad_records=1" ;;
	*) want="0|events_lost=1" ;;
	esac
	assert_eq "$mode: the session says what was missed" \
		"$(sql "$db" 'select complete, incomplete_reason from sessions')" "$want"
	has_row "$mode: cat's open, written after, is stored" "$(prows "$db")" "open|/etc/hostname|0"
	check "$mode: the ring file is removed with the socket" test ! -e "$sock.ring" -a ! -e "$sock"
done

# 3. asking without waking: a shell that opens a file for 0.3 s asks the socket every 20 ms
# with connect() and sends no empty datagram (the doorbell of a full ring)
if command -v strace >/dev/null; then
	db=$tmp/ask.db
	record_rc "$db" --via preload -- strace -f -qq -e trace=execve,connect,sendto -o "$tmp/ask.trace" \
		sh -c 'for i in $(seq 30); do read -r x </etc/hostname; sleep 0.01; done'
	assert_rc "ask: exit 0" 0
	# the shell is the process strace started (its first execve); a child of it (seq) may
	# ask first, when the collector had just drained as the shell started
	shpid=$(grep -m1 -o '^[0-9]*  *execve(' "$tmp/ask.trace" | grep -o '^[0-9]*')
	n=$(grep -c "^$shpid  *connect(.*magicpak-preload" "$tmp/ask.trace")
	check "ask: the shell asked the collector with connect() ($n times in 0.3 s)" test "$n" -ge 3
	assert_eq "ask: no empty datagram sent to it" "$(grep -c 'sendto(.*"", 0' "$tmp/ask.trace")" 0
	assert_eq "ask: the 30 opens are recorded" "$(opens "$db" /etc/hostname)" 30
else
	fail "strace is missing (scripts/install-deps.sh check installs it)"
fi

# 4. giving way: magicpak's loop is SCHED_BATCH while the command runs, the command keeps
# SCHED_OTHER, and magicpak is back to SCHED_OTHER for the session's end; a policy the user
# chose (chrt -i) is left alone, and the command inherits it as usual
command -v chrt >/dev/null || fail "chrt is missing (util-linux)"
record_rc "$tmp/pol.db" --via preload -- sh -c 'echo "magicpak $(chrt -p $PPID)"; echo "command $(chrt -p $$)"'
echo "$out" >"$tmp/pol"
assert_eq "batch: magicpak collects at SCHED_BATCH while the command runs" \
	"$(sed -n "s/^magicpak .*current scheduling policy: //p" "$tmp/pol")" SCHED_BATCH
assert_eq "batch: the command keeps SCHED_OTHER" \
	"$(sed -n "s/^command .*current scheduling policy: //p" "$tmp/pol")" SCHED_OTHER
# (strace runs magicpak itself here: not the ASan build, which cannot run under ptrace)
if ! command -v strace >/dev/null; then
	fail "strace is missing (scripts/install-deps.sh check installs it)"
elif [ "${TOOL_SAN:-0}" != 1 ]; then
	strace -qq -e trace=sched_setscheduler -o "$tmp/pol.trace" "$TOOL" record --db "$tmp/pol.db" \
		--via preload -- true
	assert_eq "batch: SCHED_BATCH, then SCHED_OTHER again once the command is over" \
		"$(grep -o 'SCHED_[A-Z]*' "$tmp/pol.trace" | tr '\n' ' ')" "SCHED_BATCH SCHED_OTHER "
	chrt -i 0 strace -qq -e trace=sched_setscheduler -o "$tmp/idle.trace" "$TOOL" record \
		--db "$tmp/pol.db" --via preload -- sh -c 'chrt -p $$' >"$tmp/idle.out"
	assert_eq "batch: under chrt -i magicpak changes no policy" "$(grep -c sched_setscheduler "$tmp/idle.trace")" 0
	assert_contains "batch: and the command inherits the user's SCHED_IDLE" "$(cat "$tmp/idle.out")" SCHED_IDLE
fi

# 5. one ring a process: the ring file's mappings in a recorded grep's /proc/self/maps
ringmaps() { sed -n 's/^\(.*\.ring\)$/\1/p' "$1" | grep -c . ; }
record_rc "$tmp/one.db" --via preload -- sh -c 'grep "\.ring$" /proc/self/maps'
assert_rc "one ring: exit 0" 0
echo "$out" >"$tmp/one.maps"
assert_eq "one ring: the audit module and the preload library share one mapping" "$(ringmaps "$tmp/one.maps")" 1
assert_eq "one ring: the session is complete" "$(sql "$tmp/one.db" 'select complete from sessions')" 1
has_row "one ring: grep's exec recorded (the library's record)" "$(prows "$tmp/one.db")" "exec|$(command -v grep)|0"
assert_eq "one ring: the loader's open of libc recorded for grep (the module's record)" \
	"$(sql "$tmp/one.db" "select count(distinct a.pid) from file_accesses a join file_accesses b on a.pid = b.pid
		where a.op = 'open' and a.path like '%/libc.so.6' and b.op = 'exec' and b.path like '%/grep'")" 1
assert_eq "one ring: grep announced once, one process row" \
	"$(sql "$tmp/one.db" "select count(*) from processes where executable like '%/grep'")" 1
mkdir "$tmp/solo" && cp "$PRELOAD_LIB" "$tmp/solo/"
MAGICPAK_PRELOAD_LIB=$tmp/solo/libmagicpak-preload.so record_rc "$tmp/solo.db" --via preload -- \
	sh -c 'grep "\.ring$" /proc/self/maps'
assert_rc "one ring, the preload library as its own LD_AUDIT module: exit 0" 0
echo "$out" >"$tmp/solo.maps"
assert_eq "one ring, the preload library as its own LD_AUDIT module: one mapping" "$(ringmaps "$tmp/solo.maps")" 1
assert_eq "one ring, the preload library as its own LD_AUDIT module: complete" \
	"$(sql "$tmp/solo.db" 'select complete from sessions')" 1
start_collector "$tmp/col.db" "$tmp/col.sock" "$tmp/col.log"
LD_PRELOAD=$PRELOAD_LIB MAGICPAK_SOCKET=$tmp/col.sock grep '\.ring$' /proc/self/maps >"$tmp/col.maps"
kill -TERM "$collector_pid"; wait "$collector_pid"
assert_eq "one ring, LD_PRELOAD alone: the library maps its own" "$(ringmaps "$tmp/col.maps")" 1
has_row "one ring, LD_PRELOAD alone: grep's open of its maps recorded" "$(prows "$tmp/col.db" 1)" "open|/proc/self/maps|0"
done_testing
