#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The LD_AUDIT module reads the exec-time environment (MAGICPAK_SOCKET) from the initial stack
# through ld.so's __libc_stack_end, not from /proc/self/environ (an open, a read and a close in
# every process, about 30 us each: 200 short `cat`s took 3-6 ms longer): under record --via
# preload, no process of a shell command opens /proc/self/environ, and what only the module
# sees (the loader's own opens) is recorded for each process: one with many arguments (the
# environment starts after them), one started with an environment of its own (env -i with
# only the three variables record sets). The module finds that symbol in ld.so's own hash table
# at the loader's first la_objopen(), with no DT_NEEDED at all: the loader no longer opens the
# cache and ld.so again for the audit namespace of each process. The module takes each
# record's time through the vDSO it finds in the auxiliary vector after the environment, not
# through a clock_gettime system call (it has no libc to find the vDSO for it).
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_preload
require_tool strace
# magicpak runs under strace here: the ASan build's LeakSanitizer refuses to run under ptrace,
# and its runtime reads /proc/self/environ itself
plain_tool_only "strace runs magicpak too: the ASan build cannot run under ptrace"
audit_lib=$(dirname "$PRELOAD_LIB")/libmagicpak-audit.so
assert_eq "the module has no DT_NEEDED (no libc, no ld.so)" "$(readelf -dW "$audit_lib" | grep -c NEEDED)" 0
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
# magicpak's own lines aside (it is static, but looks the loader up for its own reasons)
cmd_pids=$(awk '/execve?\(|openat\(.*"\/etc\/hostname"/ {print $1}' "$tmp/strace.log" | sort -u)
assert_eq "no process of the command opened ld.so (the audit namespace needs none)" \
	"$(grep -F -f <(printf '%s \n' $cmd_pids) "$tmp/strace.log" | grep -c 'ld-linux[^"]*\.so\.[0-9]*", O_RDONLY')" 0
assert_eq "the session is complete" "$(sql "$db" 'select complete from sessions')" 1
for p in sh cat; do
	exe=$(command -v "$p")
	pids=$(sql "$db" "select count(distinct pid) from file_accesses where op = 'exec' and errno = 0 and path like '%/$p'")
	loader=$(sql "$db" "select count(distinct a.pid) from file_accesses a where a.path = '/etc/ld.so.cache'
		and a.pid in (select pid from file_accesses where op = 'exec' and errno = 0 and path like '%/$p')")
	check "$p ($exe): ran ($pids processes)" test "$pids" -ge 1
	assert_eq "$p: the loader's open of /etc/ld.so.cache is recorded for each of its processes" "$loader" "$pids"
done

# the vDSO: no clock_gettime system call in a recorded process, where a native one makes none
printf '#include <time.h>\nint main(void) { struct timespec t; return clock_gettime(CLOCK_REALTIME, &t); }\n' >"$tmp/clk.c"
if cc -O2 -o "$tmp/clk" "$tmp/clk.c" 2>/dev/null && strace -qq -e trace=clock_gettime -o "$tmp/clk.log" "$tmp/clk" &&
	[ ! -s "$tmp/clk.log" ]; then
	strace -f -qq -e trace=clock_gettime -o "$tmp/vdso.log" "$TOOL" record --via preload --db "$tmp/v.db" -- \
		cat /etc/hostname >/dev/null 2>&1
	assert_eq "vDSO: the recorded process makes no clock_gettime system call" "$(grep -c clock_gettime "$tmp/vdso.log")" 0
	check "vDSO: the loader's open of libc still has its time" test \
		"$(sql "$tmp/v.db" "select count(*) from accesses a join paths p on p.id = a.path_id
			where p.path like '%/libc.so.6' and a.first_ns > 0")" -ge 1
else
	echo "SKIP vDSO case: clock_gettime is a system call here even through libc's vDSO"
fi

done_testing
