#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: ELF-09 (an i386 program on an x86-64 host), PRE-02 (its preload gap). Its own ld.so
# (/lib/ld-linux.so.2, Debian's libc6-i386) loads it, searching i386 directories (/lib32,
# /usr/lib32, then /lib, /usr/lib), the i386 entries of ld.so.cache and the legacy i386
# subdirectories (tls, i686, sse2), with $LIB and $PLATFORM of its own, and skipping x86-64
# libraries. magicpak deps resolves it the same way (the oracle: that loader's --list, run
# here), a library input too, and a bundle of it runs in the jail. Preload records it as a gap:
# the i386 loader cannot load the x86-64 library.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"
unset LD_LIBRARY_PATH
rtld32=/lib/ld-linux.so.2
[ -x "$rtld32" ] || skip "no i386 loader $rtld32 (libc6-i386; scripts/install-deps.sh check installs it)"
command -v as >/dev/null && command -v ld >/dev/null || skip "no as/ld (binutils)"
libc32=$(ldconfig -p | sed -n 's/^[[:space:]]*libc\.so\.6 (libc6) => //p' | head -n 1)
[ -n "$libc32" ] || skip "no i386 libc.so.6 in ld.so.cache"

# i386 and x86-64 shared objects from assembly: no i386 C toolchain needed
printf '.globl f\nf: ret\n' >f.s
as --32 f.s -o f32.o && as --64 f.s -o f64.o || { echo "FAIL: as"; exit 1; }
so32() { mkdir -p "$(dirname "$1")"; ld -m elf_i386 -shared -soname "$(basename "$1")" -o "$1" f32.o "${@:2}"; }
so64() { mkdir -p "$(dirname "$1")"; ld -m elf_x86_64 -shared -soname "$(basename "$1")" -o "$1" f64.o "${@:2}"; }
# prog32 OUT MAIN.s LIBS... [-- LD-ARGS]: an i386 program linked against the i386 libc
prog32() {
	local out=$1 src=$2; shift 2
	as --32 "$src" -o "$out.o" && ld -m elf_i386 -dynamic-linker "$rtld32" -o "$out" "$out.o" "$libc32" "$@"
}
printf '.globl _start\n_start: push $0\n call exit\n' >exit.s
printf '.section .rodata\nm: .string "hello from i386"\n.text\n.globl _start\n_start: push $m\n call puts\n push $0\n call exit\n' >hello.s

# legacy subdirectories, in their order: tls/i686/sse2, tls/i686, tls/sse2, tls, i686/sse2,
# i686, sse2, then the directory
for d in h h/sse2 h/i686 h/i686/sse2; do so32 $d/libh.so.1; done
for d in h h/sse2; do so32 $d/libh2.so.1; done
so32 lib32/liblib.so.1                                 # $LIB
so32 plat-i686/libplat.so.1                            # $PLATFORM
so64 d64/libd.so.1; so32 d32/libd.so.1                 # an x86-64 one first: skipped
so32 dep/libdep.so.1; so32 d32/libneeds.so.1 dep/libdep.so.1 # needs one the RPATH finds
prog32 "$tmp/p32" exit.s h/libh.so.1 h/libh2.so.1 lib32/liblib.so.1 \
	plat-i686/libplat.so.1 d32/libd.so.1 d32/libneeds.so.1 \
	--disable-new-dtags -rpath '$ORIGIN/h:$ORIGIN/$LIB:$ORIGIN/plat-$PLATFORM:$ORIGIN/d64:$ORIGIN/d32:$ORIGIN/dep' ||
	{ echo "FAIL: cannot link an i386 program"; exit 1; }
# A kernel without ia32 emulation (ia32_emulation=0, or a guest built without it) refuses to
# exec any i386 file: then the i386 loader cannot be the oracle and nothing i386 runs in the
# jail. What magicpak decides is still checked, against what that loader takes (the answers
# below, which the loader gave on kernels that run it); the test ends N/A naming what it left.
"$tmp/p32" 2>"$tmp/p32.err"; r=$?
runs32=1
if [ "$r" = 126 ] && grep -q 'Exec format error' "$tmp/p32.err"; then
	runs32=0
else
	assert_eq "the i386 program runs here (ia32 emulation)" "$r" 0
fi

# "name => path" of every library, from the real i386 loader and from magicpak deps --tree
oracle() { "$rtld32" --list "$@" | sed -n 's/^[[:space:]]*\([^ ]*\) => \(\/[^ ]*\) (0x.*/\1 \2/p' | LC_ALL=C sort; }
ours() { printf '%s\n' "$out" | sed -n 's/^ *\([^ ]*\) => \(\/[^ ]*\) \[.*/\1 \2/p' | grep -v '^ld-linux' | LC_ALL=C sort -u; }
run_tool deps --tree "$tmp/p32"
assert_rc "deps of the i386 program: exit 0" 0
if [ "$runs32" = 1 ]; then
	want=$(oracle "$tmp/p32")
else
	want=$(printf '%s\n' "libc.so.6 $libc32" "libd.so.1 $tmp/d32/libd.so.1" \
		"libdep.so.1 $tmp/dep/libdep.so.1" "libh.so.1 $tmp/h/i686/sse2/libh.so.1" \
		"libh2.so.1 $tmp/h/sse2/libh2.so.1" "liblib.so.1 $tmp/lib32/liblib.so.1" \
		"libneeds.so.1 $tmp/d32/libneeds.so.1" "libplat.so.1 $tmp/plat-i686/libplat.so.1" |
		LC_ALL=C sort)
fi
[ "$runs32" = 1 ] && check "the i386 loader takes libh.so.1 from h/i686/sse2, libh2.so.1 from h/sse2 (legacy subdirectories)" \
	bash -c 'grep -qx "libh.so.1 $2/h/i686/sse2/libh.so.1" <<<"$1" && grep -qx "libh2.so.1 $2/h/sse2/libh2.so.1" <<<"$1"' _ "$want" "$tmp"
assert_eq "deps finds what the i386 loader loads (legacy subdirectories, \$LIB, \$PLATFORM, DT_RPATH, an x86-64 one skipped)" \
	"$(ours)" "$want"
check "libc.so.6 is the i386 one" grep -qx "libc.so.6 $libc32" <<<"$(ours)"
check "the interpreter is the i386 loader" grep -qF "$rtld32 [interpreter]" <<<"$out"

# a library input (no interpreter of its own: the i386 loader's rules)
LD_LIBRARY_PATH=$tmp/dep run_tool deps --tree "$tmp/d32/libneeds.so.1"
assert_rc "an i386 library input: exit 0" 0
assert_eq "its dependency, through LD_LIBRARY_PATH" "$(tree_path libdep.so.1)" "$tmp/dep/libdep.so.1"
# LD_LIBRARY_PATH with an x86-64 library first
prog32 "$tmp/p32b" exit.s d32/libd.so.1 || { echo "FAIL: link"; exit 1; }
LD_LIBRARY_PATH=$tmp/d64:$tmp/d32 run_tool deps --tree "$tmp/p32b"
[ "$runs32" = 1 ] &&
	assert_eq "LD_LIBRARY_PATH: the x86-64 libd.so.1 skipped, the i386 one taken" \
		"$(ours | grep '^libd')" "$(LD_LIBRARY_PATH=$tmp/d64:$tmp/d32 oracle "$tmp/p32b" | grep '^libd')"
check "... which is d32's" grep -qx "libd.so.1 $tmp/d32/libd.so.1" <<<"$(ours)"
# the ELF-09 recipe: an i386 .so given alone
so32 "$tmp/alone/lib32.so"
run_tool deps "$tmp/alone/lib32.so"
assert_rc "deps lib32.so (i386, no dependencies): exit 0" 0
# the x86-64 one only: not found, as the loader says
LD_LIBRARY_PATH=$tmp/d64 run_tool deps "$tmp/p32b"
assert_rc "only an x86-64 libd.so.1 on the path: exit 1" 1
check "its message names it not found" grep -q "cannot find 'libd.so.1'" "$err"
# (it says "wrong ELF class: ELFCLASS64": it skipped that one, and found no other)
[ "$runs32" = 1 ] && check "the i386 loader cannot load it either" sh -c '! LD_LIBRARY_PATH=$1 "$2" --list "$3" 2>&1 | grep -q "libd.so.1 => /"' sh "$tmp/d64" "$rtld32" "$tmp/p32b"

# ld.so.cache: an i386 and an x86-64 library of one soname outside the default directories;
# each program takes its own ABI's entry
so32 c32/libcached.so.1; so64 c64/libcached.so.1
printf '%s\n' "$tmp/c64" "$tmp/c32" >ld.so.conf
ldconfig -X -C "$tmp/cache" -f "$tmp/ld.so.conf" || { echo "FAIL: ldconfig"; exit 1; }
prog32 "$tmp/p32c" exit.s c32/libcached.so.1 || { echo "FAIL: link"; exit 1; }
MAGICPAK_LD_SO_CACHE=$tmp/cache run_tool deps --tree "$tmp/p32c"
assert_rc "cache: the i386 program: exit 0" 0
assert_eq "cache: it takes the i386 entry" "$(tree_path libcached.so.1)" "$tmp/c32/libcached.so.1"
assert_eq "cache: found through ld.so.cache" "$(tree_how libcached.so.1)" ld.so.cache
if [ "$runs32" = 1 ] && can_fake_etc; then
	assert_eq "cache: the i386 loader with that cache agrees" \
		"$(in_etc "$tmp/cache" "" "$rtld32" --list "$tmp/p32c" | sed -n 's/^[[:space:]]*libcached.so.1 => \([^ ]*\) .*/\1/p')" \
		"$tmp/c32/libcached.so.1"
fi
# a legacy-hwcap entry (ldconfig lists ch/sse2's with hwcap 0x1): the i386 loader takes it
so32 ch/libhw.so.1; so32 ch/sse2/libhw.so.1
printf '%s\n' "$tmp/ch" >ld2.so.conf
ldconfig -X -C "$tmp/cache2" -f "$tmp/ld2.so.conf" || { echo "FAIL: ldconfig"; exit 1; }
check "cache: ldconfig lists an i386 entry with a hwcap" sh -c 'ldconfig -C "$1" -p | grep -q "libhw.so.1 (ELF, hwcap: 0x0000000000000001)"' sh "$tmp/cache2"
prog32 "$tmp/p32h" exit.s ch/libhw.so.1 || { echo "FAIL: link"; exit 1; }
MAGICPAK_LD_SO_CACHE=$tmp/cache2 run_tool deps --tree "$tmp/p32h"
assert_eq "cache: the sse2 entry, as i386's ld.so takes it" "$(tree_path libhw.so.1)" "$tmp/ch/sse2/libhw.so.1"
if [ "$runs32" = 1 ] && can_fake_etc; then
	assert_eq "cache: the i386 loader with that cache agrees (sse2)" \
		"$(in_etc "$tmp/cache2" "" "$rtld32" --list "$tmp/p32h" | sed -n 's/^[[:space:]]*libhw.so.1 => \([^ ]*\) .*/\1/p')" \
		"$tmp/ch/sse2/libhw.so.1"
fi
# a broken i386 file first on an x86-64 program's path is skipped, as its loader skips it
printf '.globl _start\n_start: mov $60,%%eax\n xor %%edi,%%edi\n syscall\n' >exit64.s
so64 b64/libq.so.1; so32 b32/libq.so.1; head -c 200 b32/libq.so.1 >b32/t && mv b32/t b32/libq.so.1
as --64 exit64.s -o exit64.o && ld -m elf_x86_64 -dynamic-linker /lib64/ld-linux-x86-64.so.2 \
	-o "$tmp/m64" exit64.o b64/libq.so.1 -rpath "$tmp/b32:$tmp/b64" || { echo "FAIL: link"; exit 1; }
run_tool deps --tree "$tmp/m64"
assert_rc "an x86-64 program, a truncated i386 libq.so.1 first: exit 0" 0
assert_eq "it takes the x86-64 one after it" "$(tree_path libq.so.1)" "$tmp/b64/libq.so.1"
check "as the x86-64 loader does" sh -c '/lib64/ld-linux-x86-64.so.2 --list "$1" | grep -q "libq.so.1 => $2"' sh "$tmp/m64" "$tmp/b64/libq.so.1"

prog32 "$tmp/hello32" hello.s || { echo "FAIL: link"; exit 1; }
# preload cannot see into it (its ld.so refuses the x86-64 library): a gap, named
run_tool record --db "$tmp/g.db" --via preload -- "$tmp/hello32"
assert_eq "record --via preload of the i386 program: incomplete, with the gap named" \
	"$(sqlite3 "$tmp/g.db" 'select complete, incomplete_reason from sessions')" \
	"0|preload_gap: exec of another ABI $tmp/hello32"

# a bundle of an i386 program runs in the jail, printing through the i386 libc
require_jail
[ "$runs32" = 1 ] && assert_eq "hello32 runs here" "$("$tmp/hello32")" "hello from i386"
run_tool "$tmp/hello32" "$tmp/b"
assert_rc "bundle of the i386 program: exit 0" 0
check "the bundle holds the i386 libc" test -e "$tmp/b$libc32"
check "and the i386 loader" test -e "$tmp/b$rtld32"
if [ "$runs32" = 1 ]; then
	run_test "$tmp/b" --expect-stdout "hello from i386" -- "$tmp/hello32"
	assert_rc "it runs in the jail and prints its line" 0
fi
# a library the cache found outside the default directories: the bundle's ld.so.cache gives
# the i386 loader its entry, with i386 flags
MAGICPAK_LD_SO_CACHE=$tmp/cache run_tool "$tmp/p32c" "$tmp/bc"
assert_rc "bundle of the program whose library came from the cache: exit 0" 0
assert_eq "its ld.so.cache holds an i386 (libc6) entry for it" \
	"$(ldconfig -C "$tmp/bc/etc/ld.so.cache" -p | sed -n 's/^[[:space:]]*\(libcached.so.1 ([^)]*)\) => \(.*\)/\1 \2/p')" \
	"libcached.so.1 (libc6) $tmp/c32/libcached.so.1"
if [ "$runs32" = 1 ]; then
	run_test "$tmp/bc" -- "$tmp/p32c"
	assert_rc "and the i386 loader in the jail finds it there" 0
elif [ "$t_failed" = 0 ]; then
	echo "$t_n checks, 0 failed"
	echo "N/A i386 programs do not run here (Exec format error: no ia32 emulation): checked against the loader's known answers, not run"
	exit 78
fi
done_testing
