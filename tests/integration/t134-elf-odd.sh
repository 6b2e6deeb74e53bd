#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ELF inputs that are odd but not all wrong (ELF-05, ELF-06, ELF-07, ELF-08, ELF-09):
# - ELF-05: 10,000 DT_NEEDED entries (one name repeated) resolve once each; a 5,000-byte and a
#   256-byte DT_NEEDED name (longer than NAME_MAX) are one error naming the entry.
# - ELF-06: a relative PT_INTERP (lib/ld.so) is resolved against the current directory, as the
#   kernel does at exec, with a warning; where it does not exist, an error naming it.
# - ELF-07: magicpak reads no sections: section headers made nonsense (sh_size 2**62, every sh_name
#   past the string table, e_shstrndx SHN_XINDEX with sh_link 0, sections overlapping the headers,
#   sh_link out of range) change nothing, the libraries still come from PT_DYNAMIC.
# - ELF-08: the input truncated and rewritten while magicpak reads it, 300 times: never a signal
#   (no SIGBUS from a mapping), each run exit 0 or one error line.
# - ELF-09: an i386 library is resolved (this host runs i386: t136); a 32-bit ARM library, a
#   big-endian ppc64 header, an x86-64 header in big-endian byte order and an x86-64 file with
#   OS ABI FreeBSD: one error line with the real reason (machine, byte order, OS ABI), and
#   nothing is run (t117 checks "never run" with strace).
. "$(dirname "$0")/../lib.sh"
san_no_leak_scan
require_python3
TOOL_TIMEOUT=10 TOOL_ULIMIT_V=262144
patch() { python3 "$TESTS_DIR/fixtures/elfpatch.py" "$@"; }
mkelf() { python3 "$TESTS_DIR/fixtures/mkelf.py" "$@"; }
libc_closure=$("$TOOL" deps /bin/true | tail -n +2)

# --- ELF-05: many and long DT_NEEDED ---
mkelf one.so libc.so.6
run_tool deps "$tmp/one.so"
assert_rc "fixture sanity: a generated object needing libc.so.6 resolves (exit 0)" 0
assert_eq "fixture sanity: its closure is libc's" "$(tail -n +2 <<<"$out")" "$libc_closure"
mkelf many.so $(for i in $(seq 10000); do echo libc.so.6; done)
check "fixture: many.so has 10,000 DT_NEEDED" test "$(patch many.so dyn-count 1)" = 10000
run_tool deps "$tmp/many.so"
assert_rc "10,000 DT_NEEDED of one name: exit 0" 0
assert_eq "10,000 DT_NEEDED of one name: each library once" "$(tail -n +2 <<<"$out")" "$libc_closure"
mkelf long5000.so libc.so.6 "$(head -c 5000 /dev/zero | tr '\0' a)"
assert_bad_input "a 5,000-byte DT_NEEDED" "$tmp/long5000.so" "DT_NEEDED"
check "a 5,000-byte DT_NEEDED: the message names the entry [1]" grep -qF "DT_NEEDED[1]" "$err"
mkelf long256.so "$(head -c 256 /dev/zero | tr '\0' a)"
assert_bad_input "a 256-byte DT_NEEDED (longer than NAME_MAX)" "$tmp/long256.so" "DT_NEEDED"

# --- ELF-06: a relative PT_INTERP ---
if command -v cc >/dev/null; then
	printf 'int main(void){return 0;}\n' >h.c
	cc -o relinterp h.c -Wl,--dynamic-linker=lib/ld.so || { echo "FAIL: cannot build relinterp"; exit 1; }
	mkdir -p D/lib E
	ln -s /lib64/ld-linux-x86-64.so.2 D/lib/ld.so
	check "oracle: run from D/ (which has lib/ld.so) it runs" sh -c 'cd D && ../relinterp'
	check "oracle: run from E/ it cannot" sh -c 'cd E && ! ../relinterp 2>/dev/null'
	out=$(cd D && timeout 10 "$TOOL" deps ../relinterp 2>"$err"); rc=$?
	assert_rc "relative PT_INTERP, run in D/: exit 0" 0
	check "relative PT_INTERP: a warning names it and the current directory" \
		grep -qE "^magicpak: warning: .*'lib/ld.so'.*current directory" "$err"
	check "relative PT_INTERP: listed as the interpreter, made absolute against D/" grep -qx "$PWD/D/lib/ld.so" <<<"$out"
	check "relative PT_INTERP: libc listed" grep -qx /lib/x86_64-linux-gnu/libc.so.6 <<<"$out"
	# bundled (one-shot, and from a session recorded in D/): the interpreter at that path
	(cd D && timeout 30 "$TOOL" ../relinterp ../O6 >/dev/null 2>"$err"); rc=$?
	assert_rc "relative PT_INTERP, one-shot from D/: exit 0 ($(head -c 200 "$err"))" 0
	check "the bundle holds the interpreter where D/ had it" test -e "O6$PWD/D/lib/ld.so"
	(cd D && timeout 30 "$TOOL" record --db ../r6.db -- ../relinterp >/dev/null 2>"$err"); rc=$?
	assert_rc "relative PT_INTERP, recorded in D/: exit 0 ($(head -c 200 "$err"))" 0
	if [ "$rc" = 0 ]; then
		# (against the bundler's directory, as deps: run where the session ran)
		(cd D && timeout 30 "$TOOL" bundle --db ../r6.db ../B6 >/dev/null 2>"$err"); rc=$?
		assert_rc "relative PT_INTERP, bundled in D/ from a session recorded there: exit 0 ($(head -c 200 "$err"))" 0
		check "that bundle holds the interpreter too" test -e "B6$PWD/D/lib/ld.so"
	fi
	out=$(cd E && timeout 10 "$TOOL" deps ../relinterp 2>"$err"); rc=$?
	assert_rc "relative PT_INTERP, run in E/ (no lib/ld.so there): exit 1" 1
	check "relative PT_INTERP missing: the error names it" grep -qE "^magicpak: .*interpreter 'lib/ld.so'" "$err"
else
	echo "FAIL: no C compiler for the relative-PT_INTERP fixture"; t_failed=$((t_failed + 1))
fi

# --- ELF-07: sections are never read ---
ls_closure=$("$TOOL" deps /bin/ls | tail -n +2)
check "fixture sanity: /bin/ls has section headers" test "$(LC_ALL=C readelf -hW /bin/ls | awk '/Number of section headers/ {print $5}')" -gt 1
sec_case() { # sec_case DESC FILE
	run_tool deps "$tmp/$2"
	assert_rc "$1: exit 0" 0
	assert_eq "$1: the libraries of /bin/ls, from PT_DYNAMIC" "$(tail -n +2 <<<"$out")" "$ls_closure"
	assert_eq "$1: no message" "$(cat "$err")" ""
}
cp /bin/ls s_size && patch s_size shdr 1 sh_size $((1 << 62))
sec_case "one section with sh_size 2**62" s_size
cp /bin/ls s_name && patch s_name shdr-all sh_name 0xfffffff0
sec_case "every sh_name 0xfffffff0" s_name
cp /bin/ls s_xindex && patch s_xindex ehdr e_shstrndx 0xffff && patch s_xindex shdr0 sh_link 0
sec_case "e_shstrndx SHN_XINDEX, section 0 sh_link 0" s_xindex
cp /bin/ls s_overlap && patch s_overlap shdr-all sh_offset 0 && patch s_overlap shdr-all sh_size 0x1000
sec_case "every section overlapping the ELF header and each other" s_overlap
cp /bin/ls s_link && patch s_link shdr-all sh_link 0xffff
sec_case "every sh_link out of range" s_link
cp /bin/ls s_shoff && patch s_shoff ehdr e_shoff -16
sec_case "e_shoff wraps (2**64-16)" s_shoff

# --- ELF-08: the file changes while magicpak reads it ---
big=
for f in /usr/lib/x86_64-linux-gnu/libLLVM-14.so.1 /usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0 \
	/usr/lib/x86_64-linux-gnu/libcrypto.so.3 /usr/lib/x86_64-linux-gnu/libc.so.6; do
	[ -f "$f" ] && { big=$f; break; }
done
cp "$big" big.so
(while :; do truncate -s 4096 big.so; cp "$big" big.so; truncate -s 100 big.so; cp "$big" big.so; done) 2>/dev/null &
flipper=$!
bad=0 errs=0
for i in $(seq 300); do
	timeout 10 "$TOOL" deps "$tmp/big.so" >/dev/null 2>"$tmp/race.err"; r=$?
	if [ "$r" != 0 ] && [ "$r" != 1 ]; then bad=$((bad + 1)); echo "run $i: exit $r"; cat "$tmp/race.err"; fi
	if [ "$r" = 1 ]; then
		errs=$((errs + 1))
		[ "$(grep -c . "$tmp/race.err")" = 1 ] && grep -qF "$tmp/big.so" "$tmp/race.err" ||
			{ bad=$((bad + 1)); echo "run $i: not one error line naming the file:"; cat "$tmp/race.err"; }
	fi
done
kill "$flipper"; wait "$flipper" 2>/dev/null
assert_eq "300 runs on $(basename "$big") rewritten meanwhile: no signal, no timeout, one error line when it fails ($errs failed)" "$bad" 0

# --- ELF-09: another class, machine, byte order, OS ABI ---
printf '.text\n.globl f\nf: ret\n' >w.s
if as --32 w.s -o w.o 2>/dev/null && ld -m elf_i386 -shared -soname libw.so -o lib32.so w.o 2>/dev/null; then
	# i386 runs here (ia32 emulation): resolved as its own loader would (t136)
	run_tool deps "$tmp/lib32.so"
	assert_rc "an i386 shared object: resolved for the i386 loader, exit 0" 0
	# 32-bit ARM does not: e_machine 40
	cp lib32.so libarm.so
	python3 -c '
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[18:20] = (40).to_bytes(2, "little")
open(sys.argv[1], "wb").write(b)' libarm.so
	assert_bad_input "a 32-bit ARM shared object" "$tmp/libarm.so" "ARM.*32-bit"
else
	echo "FAIL: the toolchain cannot make an i386 shared object"; t_failed=$((t_failed + 1))
fi
# A big-endian header: EI_DATA 2 and e_type, e_machine written big-endian (libelf and magicpak
# must read them in that order: ET_DYN, EM_PPC64 = 21).
cp /bin/true be_ppc64
python3 -c '
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[5] = 2; b[16:18] = (3).to_bytes(2, "big"); b[18:20] = (21).to_bytes(2, "big")
open(sys.argv[1], "wb").write(b)' be_ppc64
assert_bad_input "a big-endian ppc64 object" "$tmp/be_ppc64" "PowerPC64|ppc64"
cp /bin/true be_x86
python3 -c '
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[5] = 2; b[16:18] = (3).to_bytes(2, "big"); b[18:20] = (62).to_bytes(2, "big")
open(sys.argv[1], "wb").write(b)' be_x86
assert_bad_input "an x86-64 header in big-endian byte order" "$tmp/be_x86" "byte order"
cp /bin/true fbsd
python3 -c '
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[7] = 9
open(sys.argv[1], "wb").write(b)' fbsd
check "oracle: ld.so refuses OS ABI FreeBSD" sh -c '/lib64/ld-linux-x86-64.so.2 --list "$1" 2>&1 | grep -q "OS ABI"' sh "$tmp/fbsd"
assert_bad_input "an x86-64 file with OS ABI FreeBSD" "$tmp/fbsd" "OS ABI"
done_testing
