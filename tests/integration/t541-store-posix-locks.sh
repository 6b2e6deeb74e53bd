#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# RELIABILITY SQL-05, the POSIX-lock traps: closing any second fd a process has on a database file
# drops every lock SQLite holds on it, and a second SQLite copy in one process does the same. So:
# only store.c and history.c include <sqlite3.h>; the preload library (which lives inside other
# programs, some with their own libsqlite3) has no sqlite3_ symbol and does not need libsqlite3;
# and under strace, record (--via bpf and --via preload: no ptrace of magicpak's own), bundle,
# sessions, report and merge never hold two fds on one database file at once.
. "$(dirname "$0")/../lib.sh"
# LeakSanitizer cannot run under strace (ptrace): the ASan pass checks leaks elsewhere
[ "${TOOL_SAN:-0}" = 1 ] && export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
require_sqlite3
require_tool strace
src=$(cd "$TESTS_DIR/.." && pwd)
assert_eq "only store.c and history.c include <sqlite3.h>" \
	"$(cd "$src" && grep -l '#include <sqlite3.h>' collector/*.c collector/*.h preload/*.c preload/*.h include/*.h 2>/dev/null | LC_ALL=C sort | tr '\n' ' ')" \
	"collector/history.c collector/store.c "
lib=$(dirname "$TOOL")/libmagicpak-preload.so
if [ -r "$lib" ]; then
	assert_eq "the preload library has no sqlite3_ symbol" "$(nm -D "$lib" | grep -c 'sqlite3_')" 0
	check "the preload library does not need libsqlite3" sh -c '! readelf -d "$1" | grep -q "NEEDED.*sqlite"' sh "$lib"
fi

# two_fds TRACE DB: every "pid fd" that held DB (the file itself) while another fd of the
# same process held it too; nothing when the rule holds.
two_fds() {
	awk -v db="$2" '
	{ pid = $1 }
	/ openat\(/ && index($0, "\"" db "\"") && match($0, /= [0-9]+$/) {
		fd = substr($0, RSTART + 2); if (n[pid] > 0) print pid, fd; n[pid]++; held[pid " " fd] = 1; next }
	/ close\(/ && match($0, /close\([0-9]+\)/) {
		fd = substr($0, RSTART + 6, RLENGTH - 7); if (held[pid " " fd]) { delete held[pid " " fd]; n[pid]-- } }' "$1"
}
db=$tmp/s.db other=$tmp/o.db
rec "$db" --label one -- /bin/cat /etc/hostname
rec "$other" --label two -- /bin/cat /etc/hostname
st() { strace -f -qq -e trace=openat,open,close -o "$tmp/trace" timeout 20 "$TOOL" "$@" >/dev/null 2>"$tmp/st.err"; }
run_traced() { # run_traced DESC ARGS...: the command succeeds, and never two fds on $db at once
	local d=$1; shift
	st "$@"; local r=$?
	check "$d: exit 0 (exit $r)" test "$r" = 0 || sed 's/^/    /' "$tmp/st.err"
	check "$d: strace saw the database opened" grep -qF "\"$db\"" "$tmp/trace"
	assert_eq "$d: never two fds on the database at once" "$(two_fds "$tmp/trace" "$db")" ""
}
run_traced "bundle" bundle --db "$db" "$tmp/out1"
run_traced "sessions" sessions --db "$db"
run_traced "report" report --db "$db" --session last
run_traced "merge into it" merge "$db" "$other"
if "$TOOL" record --via bpf --db "$tmp/.p.db" -- /bin/true >/dev/null 2>&1; then
	run_traced "record --via bpf" record --via bpf --db "$db" -- /bin/cat /etc/hostname
fi
if [ -r "$lib" ]; then
	run_traced "record --via preload" record --via preload --db "$db" -- /bin/cat /etc/hostname
fi
assert_eq "the database is intact" "$(sql "$db" 'pragma integrity_check')" ok
done_testing
