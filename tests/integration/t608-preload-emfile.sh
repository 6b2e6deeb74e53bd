#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: PRE-03.
# record --via preload of a program that uses up its file descriptors (RLIMIT_NOFILE small, opens
# until EMFILE): it sees the same thing as without the library (the same fds at main, as many opens
# before EMFILE, EMFILE from every call that needs an fd, the others working, errno 0 at main: the
# fixture checks errno itself and exits 1 otherwise), and its accesses are still recorded, the
# failed ones with errno 24: the library needs no fd of the program's for a record. Three ways:
# the program lowers its own limit; it starts with a small limit (the library cannot put its
# socket out of the way at fd 1000); it starts with one fd left (the library could take it).
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_preload
preload_fixture emfile -D_FORTIFY_SOURCE=2
# only fds 0-2 open in both runs: what the test harness left open is not the point
for fd in $(cd /proc/$$/fd && ls); do
	case $fd in 0 | 1 | 2 | 255) ;; *) eval "exec $fd>&-" ;; esac
done

# mode_args: the fixture's arguments for $mode, in args
mode_args() {
	case $mode in
	self) args=(32) ;;
	start-small) args=(start 32 29) ;;
	start-one) args=(start 16 1) ;;
	esac
}

for mode in self start-small start-one; do
	mode_args
	d=$tmp/$mode; mkdir "$d" "$d.native"
	touch "$d/fill" "$d/after" "$d/after2" "$d.native/fill" "$d.native/after" "$d.native/after2"
	"$tmp/emfile" "$d.native" "${args[@]}" >"$tmp/native-$mode.out" 2>"$tmp/native.err"
	check "$mode: natively, the fixture's errno checks pass" test $? = 0
	sed -i "s|$d.native|$d|g" "$tmp/native-$mode.out"
	db=$tmp/$mode.db
	record_rc "$db" --via preload -- "$tmp/emfile" "$d" "${args[@]}"
	assert_rc "$mode: record --via preload exits 0 (errno 0 at main, EMFILE where natively)" 0
	grep '^ERRNO' "$err" | sed 's/^/    /'
	assert_eq "$mode: the program saw what it sees without the library" \
		"$(grep -v '^A ' <<<"$out")" "$(grep -v '^A ' "$tmp/native-$mode.out")"
	want=$(grep '^A ' <<<"$out" | sed 's/^A //' | LC_ALL=C sort -u)
	check "$mode: the fixture listed its accesses" test "$(grep -c . <<<"$want")" -ge 10
	assert_eq "$mode: every access recorded, the failed opens with EMFILE" \
		"$(LC_ALL=C comm -23 <(printf '%s\n' "$want") <(prows "$db"))" ""
	assert_eq "$mode: session complete, nothing lost" \
		"$(sql "$db" 'select complete || "|" || ifnull(incomplete_reason, "") from sessions')" "1|"
done

# The same through `collect` with its ring file removed: a socket is made for each record and closed
# (never one of the program's fds kept), so the program still sees what it sees natively; the
# records that found no fd for it are counted lost and reported once the program has closed its
# fds: the session says so, it is never silently complete.
sock=$tmp/c.sock
for mode in self start-small start-one; do
	mode_args
	d=$tmp/c-$mode; mkdir "$d"
	touch "$d/fill" "$d/after" "$d/after2"
	db=$tmp/c-$mode.db
	start_collector "$db" "$sock" "$tmp/c.log"
	rm -f "$sock.ring"
	out=$(LD_PRELOAD=$PRELOAD_LIB MAGICPAK_SOCKET=$sock timeout 20 "$tmp/emfile" "$d" "${args[@]}" 2>"$err")
	rc=$?
	kill -INT "$collector_pid"; wait "$collector_pid"
	assert_rc "collect, no ring, $mode: the fixture exits 0" 0
	assert_eq "collect, no ring, $mode: the program saw what it sees without the library" \
		"$(grep -v '^A ' <<<"$out")" "$(grep -v '^A ' "$tmp/native-$mode.out")"
	rows=$(prows "$db")
	has_row "collect, no ring, $mode: the last access recorded" "$rows" "access|$d/end|2"
	check "collect, no ring, $mode: the records that found no fd are reported lost" \
		grep -qE '^0\|events_lost=[1-9]' <(sql "$db" 'select complete || "|" || ifnull(incomplete_reason, "") from sessions')
done
done_testing
