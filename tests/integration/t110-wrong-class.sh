#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: ELF-09.
# A library of the wrong class (ELF32 i386) or machine (EM_AARCH64) earlier in the search path is
# skipped, and the next candidate is used (LIB-05). Against the real loader.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"
unset LD_LIBRARY_PATH

mkdir W32 A64
printf '.text\n.globl fixture32\nfixture32: ret\n' >w.s
if as --32 w.s -o w.o 2>/dev/null && ld -m elf_i386 -shared -soname libw.so -o W32/libw.so w.o 2>/dev/null; then
	:
else
	skip "the toolchain cannot make an i386 shared object (as --32 / ld -m elf_i386)"
fi
check "fixture: W32/libw.so is ELF32" bash -c 'od -An -tx1 -j4 -N1 W32/libw.so | grep -q 01'
fx_lib real/libw.so libw.so
cp real/libw.so A64/libw.so
python3 "$FIXTURES/elfpatch.py" A64/libw.so ehdr e_machine 183
fx_app app real/libw.so

for llp in "$tmp/W32:$tmp/real" "$tmp/A64:$tmp/real" "$tmp/W32:$tmp/A64:$tmp/real"; do
	want=$(LD_LIBRARY_PATH=$llp fx_expect ./app)
	check "oracle sanity: LD_LIBRARY_PATH=$llp: the loader takes real/libw.so" \
		grep -qx "$tmp/real/libw.so" <<<"$want"
	run_tool deps --library-path "$llp" ./app
	assert_rc "--library-path $llp: exit 0" 0
	assert_eq "--library-path $llp: same as the loader" "$out" "$want"
done
# The same through RUNPATH.
fx_app app2 real/libw.so "$(fx_runpath "$tmp/W32:$tmp/A64:$tmp/real")"
want=$(fx_expect ./app2)
run_tool deps ./app2
assert_eq "RUNPATH W32:A64:real: same as the loader" "$out" "$want"
# Only wrong-class candidates: not found.
fx_app app3 real/libw.so "$(fx_runpath "$tmp/W32:$tmp/A64")"
check "oracle sanity: with only W32 and A64 the loader fails" bash -c '! ./app3 >/dev/null 2>&1'
run_tool deps ./app3
assert_rc "only wrong-class candidates: exit 1" 1
assert_contains "only wrong-class candidates: stderr names libw.so" "$(cat "$err")" libw.so
check "the i386 and aarch64 files are never listed" bash -c '! grep -qE "W32|A64" <<<"$1"' _ "$out"
done_testing
