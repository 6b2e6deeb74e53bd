#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The shared-memory ring between the preload library and the collector (include/ring.h):
# records that go round the ring many times all arrive, in order per process; a writer that
# dies between taking a slot and committing it (with its pid written, or before even that) is
# skipped and counted (events_lost=1), and what others wrote after it is still stored; a slot
# with a nonsense length is counted as bad and dropped without killing the collector; the
# ring file goes away with the collector. Reliability cases: PRE-06, PRE-07.
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
done_testing
