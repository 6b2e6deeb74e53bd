#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The LD_AUDIT module reads the exec-time environment (MAGICPAK_SOCKET) from the initial stack
# through ld.so's __libc_stack_end, not from /proc/self/environ (an open, a read and a close in
# every process, about 30 us each: 200 short `cat`s took 3-6 ms longer): under record --via
# preload, no process of a shell command opens /proc/self/environ, and what only the module
# sees (the loader's own opens) is recorded for each process: one with many arguments (the
# environment starts after them), one started with an environment of its own (env -i with
# only the three variables record sets).
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_preload
require_tool strace
# magicpak runs under strace here: the ASan build's LeakSanitizer refuses to run under ptrace,
# and its runtime reads /proc/self/environ itself
plain_tool_only "strace runs magicpak too: the ASan build cannot run under ptrace"
audit_lib=$(dirname "$PRELOAD_LIB")/libmagicpak-audit.so
readelf -dW "$audit_lib" 2>/dev/null | grep -q 'NEEDED.*ld-' ||
	skip "$audit_lib was built without ld.so to link against (Makefile: RTLD): it reads /proc/self/environ"
db=$tmp/a.db
strace -f -qq -e trace=open,openat -o "$tmp/strace.log" \
	"$TOOL" record --via preload --db "$db" -- sh -c \
	'cat /etc/hostname /etc/hostname /etc/hostname /etc/hostname /etc/hostname /etc/hostname \
		/etc/hostname /etc/hostname /etc/hostname /etc/hostname /etc/hostname >/dev/null
	env -i LD_PRELOAD="$LD_PRELOAD" LD_AUDIT="$LD_AUDIT" MAGICPAK_SOCKET="$MAGICPAK_SOCKET" \
		/bin/cat /etc/passwd >/dev/null' \
	2>"$tmp/err"
assert_eq "record exits 0" "$?" 0
check "no process opened /proc/self/environ" sh -c '! grep -q "/proc/self/environ" "$1"' sh "$tmp/strace.log"
check "strace saw the command's opens (the log is not empty)" grep -q '"/etc/passwd"' "$tmp/strace.log"
assert_eq "the session is complete" "$(sql "$db" 'select complete from sessions')" 1
for p in sh cat; do
	exe=$(command -v "$p")
	pids=$(sql "$db" "select count(distinct pid) from file_accesses where op = 'exec' and errno = 0 and path like '%/$p'")
	loader=$(sql "$db" "select count(distinct a.pid) from file_accesses a where a.path = '/etc/ld.so.cache'
		and a.pid in (select pid from file_accesses where op = 'exec' and errno = 0 and path like '%/$p')")
	check "$p ($exe): ran ($pids processes)" test "$pids" -ge 1
	assert_eq "$p: the loader's open of /etc/ld.so.cache is recorded for each of its processes" "$loader" "$pids"
done
done_testing
