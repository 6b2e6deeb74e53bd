#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# i386 system calls (int $0x80 from an x86-64 program, as a 32-bit program makes them) under
# record --via bpf: the probe reads their numbers as i386's and their arguments from ebx, ecx,
# edx, esi, edi, so it records the same open/stat/access/chdir/exec rows as ptrace (which
# decodes them too, t330), dirfds made by i386 dup and fcntl64 included; i386 write and close,
# whose numbers are x86-64's stat and lstat, record nothing. Every i386 number the probe maps
# is made once (old stat and lstat, openat2, dup2, dup3, fcntl, execveat among them); i386
# io_uring_setup makes the session incomplete, as x86-64's does.
. "$(dirname "$0")/../lib.sh"
[ "$(uname -m)" = x86_64 ] || skip "i386 system calls from a 64-bit program are an x86-64 thing"
require_sqlite3
require_cc
require_ptrace
require_bpf
bpf_fixture i386
w=$tmp/w
setup() {
	rm -rf "$w"; mkdir -p "$w/dir"; echo x >"$w/f"; echo x >"$w/dir/inner"; echo x >"$w/dir/rel"
	ln -s f "$w/lnk"
}
# A kernel that takes no int $0x80 from a 64-bit program (ia32 emulation off, or a VM whose
# guest kernel has no such gate: SIGSEGV) has no i386 calls to record, as t330 notes for
# ptrace. Asked of the kernel alone, with one i386 getpid; once it answers, any failure of the
# fixture is a skip (a failure under CI=true).
printf 'int main(void) { long r; __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory"); return r > 0 ? 0 : 1; }\n' >"$tmp/int80.c"
cc_quiet -O0 -o "$tmp/int80" "$tmp/int80.c" || { echo "FAIL: cannot build int80.c"; exit 1; }
"$tmp/int80" 2>/dev/null; r=$?
if [ "$r" -ge 128 ]; then
	echo "N/A i386 system calls: int \$0x80 kills a 64-bit program here (signal $((r - 128)))"
	exit 78
fi
setup
"$tmp/i386" "$w" 2>"$tmp/native.err"; r=$?
[ "$r" = 0 ] || skip "i386 system calls fail here (ia32 emulation off?): $(head -n 1 "$tmp/native.err")"
# fchdir: ptrace stores a chdir row for the directory; the probe only moves its cwd by it
# (the directory's open is stored), as in t711
pick() { grep -E '^(open|stat|access|chdir|exec)\|' | sed "s|$w|W|" | grep -vxF 'chdir|W|0'; }

setup
record_rc "$tmp/p.db" "$tmp/i386" "$w"
assert_rc "i386 calls under ptrace: exit 0 (every call gave what the fixture expects)" 0
setup
record_rc "$tmp/b.db" --via bpf -- "$tmp/i386" "$w"
assert_rc "i386 calls under --via bpf: exit 0" 0
assert_eq "--via bpf: complete" "$(sql "$tmp/b.db" 'select complete from sessions')" 1
prow=$(brows "$tmp/p.db" ptrace | grep "|$w" | pick)
brow=$(brows "$tmp/b.db" bpf | grep "|$w" | pick)
for r in 'open|W/f|0' 'open|W/g|2' 'open|W/c|0' 'stat|W/f|0' 'stat|W/lnk|0' 'stat|W/f2|2' \
	'stat|W/st|2' 'access|W/f|0' 'access|W/nx|2' 'access|W/fa|2' 'access|W/nx2|2' 'open|W/dir|0' \
	'open|W/dir/inner|0' 'open|W/dir/inner2|2' 'open|W/dir/inner3|2' 'chdir|W/dir|0' \
	'open|W/dir/rel|0' 'open|W|0' \
	'access|W/lnk|0' 'exec|W/missing-prog|2' 'stat|W/os|2' 'stat|W/ol|2' 'open|W/o2|2' \
	'open|W/dir/inner4|2' 'open|W/dir/inner5|2' 'open|W/dir/inner6|2' 'exec|W/missing-prog2|2'; do
	has_row "bpf: $r" "$brow" "$r"
done
assert_eq "bpf and ptrace agree on every row under the test's directory" \
	"$(LC_ALL=C comm -3 <(printf '%s\n' "$prow" | LC_ALL=C sort -u) <(printf '%s\n' "$brow" | LC_ALL=C sort -u))" ""
assert_eq "i386 write and close are not read as x86-64's stat and lstat" \
	"$(sql "$tmp/b.db" "select count(*) from file_accesses where path like '%wrongly%'")" 0

# i386 io_uring_setup: the ring's opens pass no tracepoint, so the session says so.
"$tmp/i386" "$w" uring; r=$?
if [ "$r" = 77 ]; then
	echo "N/A i386 io_uring_setup: io_uring is off here (ENOSYS or EPERM natively)"
else
	record_rc "$tmp/u.db" --via bpf --allow-incomplete -- "$tmp/i386" "$w" uring
	assert_rc "i386 io_uring_setup under --via bpf --allow-incomplete: exit 0" 0
	assert_eq "i386 io_uring_setup: the session is incomplete, reason io_uring" \
		"$(sql "$tmp/u.db" 'select complete, incomplete_reason from sessions')" "0|io_uring"
fi

# A 32-bit static program (every call of it i386's).
printf '.data\np: .asciz "/etc/hostname"\n.text\n.globl _start\n_start: mov $5,%%eax\n mov $p,%%ebx\n xor %%ecx,%%ecx\n int $0x80\n mov $1,%%eax\n xor %%ebx,%%ebx\n int $0x80\n' >"$tmp/o32.s"
if as --32 "$tmp/o32.s" -o "$tmp/o32.o" && ld -m elf_i386 -o "$tmp/o32" "$tmp/o32.o"; then
	record_rc "$tmp/b.db" --via bpf -- "$tmp/o32"
	assert_rc "a 32-bit static program under --via bpf: exit 0" 0
	assert_eq "a 32-bit static program: complete" \
		"$(sql "$tmp/b.db" 'select complete from sessions order by id desc limit 1')" 1
	rows=$(brows "$tmp/b.db" bpf)
	has_row "a 32-bit static program: its open of /etc/hostname" "$rows" "open|/etc/hostname|0"
	has_row "a 32-bit static program: its exec" "$rows" "exec|$tmp/o32|0"
else
	fail "cannot assemble and link a 32-bit program (binutils: as --32, ld -m elf_i386)"
fi
done_testing
