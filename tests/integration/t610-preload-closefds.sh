#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: PRE-08.
# Programs that close or reuse the recorder's fds: (a) a daemon's start, close_range(3, ~0U, 0) or
# closefrom(3), then its own file put on every fd from 3 to 1100 and on each fd >= 1000 the
# library held (none now); (c) a bash script that does `exec 3>&-`, `exec 255<file` and
# `exec 1000>>file` .. 1003 (where the library used to keep its socket: bash took that
# close-on-exec fd for one of its own, undid the redirection, and the script's writes to fd 1000
# went to the socket). Nothing is ever written into the program's files, the program works as
# without the library, and records still arrive: every open after the fds were taken is
# recorded, the session complete. Under record (records in the shared-memory ring) and under
# collect with the ring file removed (a socket for every record).
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_preload
preload_fixture closefds
C=$tmp/closefds
opens() { sql "$1" "select ifnull(sum(count), 0) from file_accesses where op = 'open' and errno = 0 and path = '$2'"; }
cat >"$tmp/script.sh" <<'SH'
exec 3>&-
exec 255<"$D/in.txt"
for n in 1000 1001 1002 1003; do eval "exec $n>>\"\$D/out.dat\""; done
i=0
while [ $i -lt 20 ]; do read -r line </etc/hostname; i=$((i + 1)); done
/bin/cat "$D/in.txt" >/dev/null
read -r x <&255
echo "255: $x"
ls -l /proc/$$/fd/1000 | sed 's/.*-> //'
echo end >&1000
SH
echo "first line" >"$tmp/in.txt"
D=$tmp bash "$tmp/script.sh" >"$tmp/native.out" 2>&1
rm -f "$tmp/out.dat"
sock=$tmp/c.sock

for how in record collect; do
	for mode in close_range closefrom; do
		db=$tmp/$how-$mode.db
		rm -f "$tmp/out.dat"
		if [ $how = record ]; then
			record_rc "$db" --via preload -- "$C" "$mode" "$tmp/out.dat" 50
		else
			start_collector "$db" "$sock" "$tmp/c.log"
			rm -f "$sock.ring"
			out=$(LD_PRELOAD=$PRELOAD_LIB LD_AUDIT=$PRELOAD_LIB MAGICPAK_SOCKET=$sock \
				timeout 20 "$C" "$mode" "$tmp/out.dat" 50 2>"$err")
			rc=$?
			kill -INT "$collector_pid"; wait "$collector_pid"
		fi
		assert_rc "$how $mode: exit 0" 0
		assert_eq "$how $mode: out.dat holds only what the program wrote" "$(cat "$tmp/out.dat")" "end"
		assert_eq "$how $mode: its 50 opens after taking the fds are recorded" "$(opens "$db" /etc/hostname)" 50
		assert_eq "$how $mode: session complete" \
			"$(sql "$db" 'select complete || "|" || ifnull(incomplete_reason, "") from sessions')" "1|"
	done

	db=$tmp/$how-bash.db
	rm -f "$tmp/out.dat"
	if [ $how = record ]; then
		record_rc "$db" --via preload -- env D="$tmp" bash "$tmp/script.sh"
	else
		start_collector "$db" "$sock" "$tmp/c.log"
		rm -f "$sock.ring"
		out=$(D=$tmp LD_PRELOAD=$PRELOAD_LIB LD_AUDIT=$PRELOAD_LIB MAGICPAK_SOCKET=$sock \
			timeout 20 bash "$tmp/script.sh" 2>"$err")
		rc=$?
		kill -INT "$collector_pid"; wait "$collector_pid"
	fi
	assert_rc "$how bash exec 255< 1000>>: exit 0" 0
	assert_eq "$how bash exec 255< 1000>>: the script printed what it prints without the library (fd 1000 is its file)" \
		"$out" "$(cat "$tmp/native.out")"
	assert_eq "$how bash exec 255< 1000>>: out.dat holds only what the script wrote" "$(cat "$tmp/out.dat")" "end"
	assert_eq "$how bash exec 255< 1000>>: bash's 20 opens of /etc/hostname after the exec recorded" \
		"$(opens "$db" /etc/hostname)" 20
	rows=$(prows "$db")
	has_row "$how bash exec 255< 1000>>: the later cat's exec recorded" "$rows" "exec|/bin/cat|0"
	check "$how bash exec 255< 1000>>: the later cat's open recorded" \
		test "$(opens "$db" "$tmp/in.txt")" -ge 2
	assert_eq "$how bash exec 255< 1000>>: session complete" \
		"$(sql "$db" 'select complete || "|" || ifnull(incomplete_reason, "") from sessions')" "1|"
done
done_testing
