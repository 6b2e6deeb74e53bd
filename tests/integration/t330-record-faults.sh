#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tracer faults the tracee can cause (TRC-07c, TRC-09, TRC-11, TRC-12b/c); fixture edges2.c.
# - TRC-11: a path whose NUL is the last byte before an unmapped page is read whole; a path in a
#   PROT_NONE page (the kernel says EFAULT) is never a crash or a silent complete session. (The
#   racing path buffer is t331.)
# - TRC-09: an i386 open (int $0x80) from an x86-64 process, and a 32-bit static program: the
#   tracer decodes the i386 table (arch from PTRACE_GET_SYSCALL_INFO) and records /etc/hostname.
# - TRC-12c: the command's own seccomp filter returning EPERM for openat: the command sees EPERM
#   as without magicpak, and magicpak neither crashes nor hangs.
# - TRC-12b: a nested tracer (strace) fails to attach with its own clear EPERM message; no hang.
# - TRC-07c: SIGINT to the foreground process group (Ctrl-C): the command dies of it, magicpak
#   exits 130, stores exit status 130, and leaves no process behind, stopped or not.
. "$(dirname "$0")/../lib.sh"
require_cc
require_sqlite3
require_ptrace
record_fixture edges2 -pthread
db=$tmp/f.db
last() { sql "$db" 'select max(id) from sessions'; }

# --- TRC-11 ---
record_rc "$db" "$tmp/edges2" pageend /etc/hostname
assert_rc "path ending at a page end: exit 0" 0
assert_eq "path ending at a page end: the command's output" "$out" "pageend 1"
has_row "path ending at a page end: stored whole" \
	"$(sql "$db" "select path from file_accesses where session_id = $(last) and op = 'open' and errno = 0")" /etc/hostname
assert_eq "path ending at a page end: the session is complete" "$(sql "$db" "select complete from sessions where id = $(last)")" 1

record_rc "$db" "$tmp/edges2" protnone
check "PROT_NONE path: no signal, no timeout (exit $rc)" test "$rc" -lt 124
assert_eq "PROT_NONE path: the command got EFAULT (14) as without magicpak" "$out" "protnone 14"
s=$(last)
check "PROT_NONE path: stored as a failed access, or the session marked incomplete with the reason" \
	sh -c '[ "$(sqlite3 "$1" "select count(*) from file_accesses where session_id = $2 and errno = 14")" -gt 0 ] ||
		sqlite3 "$1" "select complete || incomplete_reason from sessions where id = $2" | grep -qx "0unreadable_paths=[0-9]*"' sh "$db" "$s"
check "PROT_NONE path: a session marked incomplete makes record exit nonzero" \
	sh -c '[ "$(sqlite3 "$1" "select complete from sessions where id = $2")" = 1 ] || [ "$3" != 0 ]' sh "$db" "$s" "$rc"

# --- TRC-09 ---
if [ "$("$tmp/edges2" int80 /etc/hostname 2>/dev/null)" = "int80 3" ]; then
	record_rc "$db" "$tmp/edges2" int80 /etc/hostname
	s=$(last)
	assert_eq "int \$0x80 open: the command's own result is unchanged" "$out" "int80 3"
	assert_rc "int \$0x80 open: record exits 0 (the i386 call is decoded)" 0
	assert_eq "int \$0x80 open: the session is complete" \
		"$(sql "$db" "select complete from sessions where id = $s")" 1
	has_row "int \$0x80 open: the open of /etc/hostname is recorded" \
		"$(sql "$db" "select op || '|' || path || '|' || errno from file_accesses where session_id = $s")" "open|/etc/hostname|0"
else
	echo "note: int \$0x80 does not work here (ia32 emulation disabled): TRC-09 not run"
fi
printf '.data\np: .asciz "/etc/hostname"\n.text\n.globl _start\n_start: mov $5,%%eax\n mov $p,%%ebx\n xor %%ecx,%%ecx\n int $0x80\n mov $1,%%eax\n xor %%ebx,%%ebx\n int $0x80\n' >o32.s
if as --32 o32.s -o o32.o 2>/dev/null && ld -m elf_i386 -o o32 o32.o 2>/dev/null && ./o32 2>/dev/null; then
	record_rc "$db" "$tmp/o32"
	s=$(last)
	assert_rc "a 32-bit static program: record exits 0" 0
	assert_eq "a 32-bit static program: the session is complete" \
		"$(sql "$db" "select complete from sessions where id = $s")" 1
	has_row "a 32-bit static program: its open of /etc/hostname is recorded" \
		"$(sql "$db" "select op || '|' || path || '|' || errno from file_accesses where session_id = $s")" "open|/etc/hostname|0"
	has_row "a 32-bit static program: its exec is recorded" \
		"$(sql "$db" "select path from file_accesses where session_id = $s and op = 'exec' and errno = 0")" "$tmp/o32"
	# an i386 execve: its argv is an array of 32-bit pointers
	printf '.data\np: .asciz "/bin/echo"\na1: .asciz "echo"\na2: .asciz "hello32"\nargv: .long a1, a2, 0\n.text\n.globl _start\n_start: mov $11,%%eax\n mov $p,%%ebx\n mov $argv,%%ecx\n xor %%edx,%%edx\n int $0x80\n mov $1,%%eax\n xor %%ebx,%%ebx\n int $0x80\n' >x32.s
	as --32 x32.s -o x32.o && ld -m elf_i386 -o x32 x32.o
	record_rc "$db" "$tmp/x32"
	s=$(last)
	assert_eq "a 32-bit execve: echo ran" "$out" "hello32"
	has_row "a 32-bit execve: the new program and its argv are recorded" \
		"$(sql "$db" "select executable || ' ' || argv from processes where session_id = $s")" '/bin/echo ["echo","hello32"]'
else
	echo "note: cannot build or run an i386 program here: the 32-bit ELF part of TRC-09 not run"
fi

# --- TRC-12c: the command's own seccomp filter ---
cat >sec.c <<'EOF'
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
int main(int argc, char **argv)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog p = { sizeof(f) / sizeof(f[0]), f };
	int fd;

	if (argc < 2 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p))
		return 2;
	fd = open(argv[1], O_RDONLY);
	printf("%d %d\n", fd, fd < 0 ? errno : 0);
	return 0;
}
EOF
cc_quiet -o sec sec.c || { echo "FAIL: cannot build sec.c"; exit 1; }
want=$(./sec /etc/hostname)
assert_eq "oracle: under its own filter open gives EPERM" "$want" "-1 1"
record_rc "$db" "$tmp/sec" /etc/hostname
assert_rc "own seccomp filter: exit 0" 0
assert_eq "own seccomp filter: the command sees EPERM as without magicpak" "$out" "$want"

# --- TRC-12b: a nested tracer ---
if command -v strace >/dev/null; then
	record_rc "$db" strace -o /dev/null /bin/true
	check "nested strace: fails (exit $rc), no hang" test "$rc" != 0 -a "$rc" != 124
	check "nested strace: its message says ptrace is not permitted" grep -q "Operation not permitted" "$err"
else
	echo "FAIL: strace not installed (scripts/install-deps.sh installs it)"; t_failed=$((t_failed + 1))
fi

# --- TRC-07c: Ctrl-C, i.e. SIGINT to the foreground process group ---
# A new session with SIGINT at its default (a background job of a script has it ignored).
mark="magicpak-t330-int-$$"
python3 -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL); os.setsid(); os.execvp(sys.argv[1], sys.argv[1:])' \
	"$TOOL" record --db "$db" -- /bin/sh -c "sleep 30; : $mark" >/dev/null 2>"$tmp/int.err" &
mp=$!
wait_exec "$mp"
if wait_for 5 sh -c 'pgrep -f "^/bin/sh -c sleep 30; : $1" >/dev/null && pgrep -x sleep -s "$2" >/dev/null' sh "$mark" "$mp"; then
	kill -INT -- "-$mp"
	wait_for 5 sh -c '! kill -0 "$1" 2>/dev/null' sh "$mp" || { fail "SIGINT: magicpak still running 5 s later"; kill -9 "$mp"; }
	wait "$mp"; rc=$?
	assert_rc "SIGINT to the process group: magicpak exits 130" 130
	assert_eq "SIGINT: exit status 130 stored" "$(sql "$db" "select exit_status from sessions where id = $(last)")" 130
	sleep 0.1
	# (not counting a zombie waiting for its reaper: the helper magicpak's exit leaves to take
	# its memory down, collector/exitfast.c, ends that way, orphaned, till PID 1 reaps it)
	assert_eq "SIGINT: no process of the run is left (stopped or not)" \
		"$(marked_pids "$mark"; ps -o pid=,stat= -s "$mp" | awk '$2 !~ /^Z/')" ""
else
	fail "SIGINT: the command never started"; kill -9 "$mp"; wait "$mp"
fi
done_testing
