#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The static build (Makefile: STATIC_LIBC=1, the default): magicpak is one executable that needs
# no library, so it records, bundles and resolves in a root that has no glibc at all (an
# alpine or `FROM scratch` stage). It still loads libarchive and libcrypto with dlopen() for
# images and hashes, which a static glibc can do only with the system's glibc of its own
# release: with another, it refuses in one line before anything is written.
. "$(dirname "$0")/../lib.sh"
require_tool readelf
if readelf -lW "$TOOL" | grep -q 'program interpreter'; then
	# CI builds the default, static: a fallback to the shared glibc there is a broken build
	if [ "${CI:-}" = true ] && [ "${TOOL_SAN:-0}" != 1 ]; then
		echo "FAIL: $TOOL is linked with the shared glibc under CI=true (the Makefile fell back: no libc.a or rcrt1.o?)"
		exit 1
	fi
	echo "N/A magicpak is linked with the shared glibc here (the sanitizer build, or STATIC_LIBC=0)"
	exit 78
fi
require_sqlite3
require_ptrace

check "a static PIE" sh -c 'readelf -hW "$1" | grep -q "DYN (Position-Independent Executable"' sh "$TOOL"
check "no DT_NEEDED: no shared library at all" sh -c 'readelf -dW "$1" | grep -q "(FLAGS_1)" && ! readelf -dW "$1" | grep -q NEEDED' sh "$TOOL"

# none of these names is there after a refused run
none_of() {
	for f in "$@"; do [ ! -e "$f" ] && [ -z "$(ls -d "$f".magicpak-* 2>/dev/null)" ] || return 1; done
	[ -z "$(ls -d .magicpak-* 2>/dev/null)" ]
}

# Images and hashes on this system: its glibc is the build's.
run_tool record --hash --db h.db -- /bin/true
assert_rc "record --hash: exit 0" 0
check "record --hash: a sha256 is stored" test "$(sql h.db "select count(*) from file_versions where length(sha256) = 64")" -gt 0
run_tool bundle --db h.db --oci-archive img.tar
assert_rc "bundle --oci-archive: exit 0" 0
check "bundle --oci-archive: the archive is written" test -s img.tar

# Shared objects that stand for another glibc (built here): a libc.so.6 of release 2.99, one
# that names no release, and a libarchive and a libcrypto that need a libc.so.6.
mkdir -p fakes/299 fakes/nover fakes/libs
printf 'const char banner[] = "GNU C Library (fake) stable release version 2.99.";\n' >fakes/299.c
printf 'const char nothing[] = "not a glibc";\n' >fakes/nover.c
printf 'int archive_version_number(void) { return 0; }\n' >fakes/lib.c
so() { gcc -shared -nostdlib -fPIC -Wl,-soname,"$1" -o "$2" "$3" "${@:4}"; }
so libc.so.6 fakes/299/libc.so.6 fakes/299.c || fail "cannot build a fake libc.so.6"
so libc.so.6 fakes/nover/libc.so.6 fakes/nover.c || fail "cannot build a fake libc.so.6"
so libarchive.so.13 fakes/libs/libarchive.so.13 fakes/lib.c -Wl,--no-as-needed fakes/299/libc.so.6
so libcrypto.so.3 fakes/libs/libcrypto.so.3 fakes/lib.c -Wl,--no-as-needed fakes/299/libc.so.6
check "the fake libarchive needs libc.so.6" sh -c 'readelf -dW fakes/libs/libarchive.so.13 | grep -q "NEEDED.*libc.so.6"'

# LD_LIBRARY_PATH comes before the system's libraries for a static glibc's dlopen(): a
# libc.so.6 of another release there is refused, one found on the system's is not.
mkdir -p otherlib emptylib
cp fakes/299/libc.so.6 otherlib/libc.so.6
sessions=$(sql h.db "select count(*) from sessions")
out=$(timeout 20 env LD_LIBRARY_PATH=$tmp/emptylib:$tmp/otherlib "$TOOL" bundle --db h.db --oci-archive img-llp.tar out-llp 2>"$err"); rc=$?
assert_rc "LD_LIBRARY_PATH with another libc.so.6: refused (exit 1)" 1
assert_one_error_line "LD_LIBRARY_PATH: one error line naming libarchive and that libc.so.6" "$err" "needs the same glibc on the system to load it, but $tmp/otherlib/libc.so.6 is glibc 2.99 (found through LD_LIBRARY_PATH: unset it, or take '$tmp/otherlib' out of it)"
check "... which names libarchive.so.13 and both releases" grep -qE "cannot load libarchive\.so\.13: this magicpak has glibc [0-9.]+ built in" "$err"
check "LD_LIBRARY_PATH: no archive, no bundle, no temporary left" none_of img-llp.tar out-llp
out=$(timeout 20 env LD_LIBRARY_PATH=$tmp/otherlib "$TOOL" record --hash --db h.db -- /bin/true 2>"$err"); rc=$?
assert_rc "record --hash refused before the command runs (exit 1)" 1
assert_one_error_line "... one error line naming libcrypto" "$err" "cannot load libcrypto"
assert_eq "... no session added, none lost" "$(sql h.db "select count(*) from sessions")" "$sessions"
out=$(timeout 20 env LD_LIBRARY_PATH=$tmp/otherlib "$TOOL" bundle --db h.db plain-llp 2>"$err"); rc=$?
assert_rc "a bundle without an image needs neither library (exit 0)" 0
# h.db holds a --hash session: without libcrypto its files are compared by size, time and inode
check "... and with a --hash session, no file is called changed" sh -c '! grep -q "changed\|differs" "$1"' sh "$err"
check "... after one line saying libcrypto cannot be loaded" grep -q "cannot load libcrypto" "$err"
check "... the bundle holds /bin/true" test -f plain-llp/bin/true -o -f plain-llp/usr/bin/true
out=$(timeout 20 env LD_LIBRARY_PATH=$tmp/otherlib "$TOOL" -d --db h.db --oci-archive dyn-llp.tar /bin/true dyn-llp 2>"$err"); rc=$?
assert_rc "one-shot --dynamic with an archive: refused (exit 1)" 1
assert_eq "... before the program ran and was recorded" "$(sql h.db "select count(*) from sessions")" "$sessions"
check "... nothing written" none_of dyn-llp.tar dyn-llp
out=$(timeout 20 env LD_LIBRARY_PATH=$tmp/emptylib "$TOOL" bundle --db h.db --oci-archive img-llp2.tar 2>"$err"); rc=$?
assert_rc "LD_LIBRARY_PATH without a libc.so.6: exit 0" 0
check "LD_LIBRARY_PATH without a libc.so.6: the archive is written" test -s img-llp2.tar
# glibc also searches DIR/glibc-hwcaps/x86-64-vN first, an empty element is the working
# directory, and $ORIGIN is magicpak's own directory
mkdir -p hw/glibc-hwcaps/x86-64-v2 cwdlib
cp fakes/299/libc.so.6 hw/glibc-hwcaps/x86-64-v2/libc.so.6
cp fakes/299/libc.so.6 cwdlib/libc.so.6
if grep -qw sse4_2 /proc/cpuinfo; then
	out=$(timeout 20 env LD_LIBRARY_PATH=$tmp/hw "$TOOL" bundle --db h.db --oci-archive img-llp3.tar 2>"$err"); rc=$?
	assert_rc "LD_LIBRARY_PATH, another libc.so.6 in DIR/glibc-hwcaps/x86-64-v2: refused (exit 1)" 1
	assert_one_error_line "... one line naming it and the directory to take out" "$err" "hw/glibc-hwcaps/x86-64-v2/libc.so.6 is glibc 2.99 (found through LD_LIBRARY_PATH: unset it, or take '$tmp/hw' out of it)"
fi
out=$(cd cwdlib && timeout 20 env LD_LIBRARY_PATH=/nonexistent: "$TOOL" bundle --db ../h.db --oci-archive ../img-llp4.tar 2>"$err"); rc=$?
assert_rc "LD_LIBRARY_PATH with an empty element, another libc.so.6 in the working directory: refused (exit 1)" 1
assert_one_error_line "... one line naming the empty element" "$err" "cwdlib/libc.so.6 is glibc 2.99 (found through LD_LIBRARY_PATH's empty element, the working directory: unset it, or take that element out)"
check "... no archive" none_of img-llp4.tar
up=$(dirname "$(readlink -f "$TOOL")" | sed 's,/[^/]*,/..,g')
out=$(timeout 20 env LD_LIBRARY_PATH="\$ORIGIN$up$tmp/otherlib" "$TOOL" bundle --db h.db --oci-archive img-llp5.tar 2>"$err"); rc=$?
assert_rc "LD_LIBRARY_PATH with \$ORIGIN leading to another libc.so.6: refused (exit 1)" 1
assert_one_error_line "... one line naming it and the element as written" "$err" "otherlib/libc.so.6 is glibc 2.99 (found through LD_LIBRARY_PATH: unset it, or take '\$ORIGIN$up$tmp/otherlib' out of it)"
check "... no archive" none_of img-llp5.tar

# A root holding magicpak alone, with a /proc (the tracer reads it) in a mount namespace of
# its own (root only).
if [ "$(id -u)" != 0 ] || ! chroot / /bin/true 2>/dev/null; then
	[ "${CI:-}" = true ] && fail "chroot does not work here (CI has it)"
	echo "the chroot checks need root and chroot: not run"
	done_testing
fi

r=$tmp/root
mkdir -p "$r/proc" "$r/tmp" "$r/bin"
cp "$TOOL" "$r/bin/magicpak"
inroot() { # inroot OUT ERR CMD...: run CMD chrooted into $r; $rc
	local o=$1 e=$2; shift 2
	timeout 60 unshare -m --propagation private sh -c 'mount -t proc proc "$1/proc" && shift && exec chroot "$@"' \
		sh "$r" "$r" "$@" >"$o" 2>"$e"
	rc=$?
}
inroot v.out v.err /bin/magicpak --version
check "chroot without glibc: --version runs (exit $rc: $(head -c 200 v.err))" test "$rc" = 0
check "chroot without glibc: prints the version" grep -qE '^magicpak [0-9]' v.out
inroot d.out d.err /bin/magicpak deps /bin/magicpak
check "chroot without glibc: deps runs (exit $rc: $(head -c 200 d.err))" test "$rc" = 0
assert_eq "chroot without glibc: a static executable is its own closure" "$(cat d.out)" /bin/magicpak
inroot r.out r.err /bin/magicpak record --db /tmp/h.db -- /bin/magicpak --version
check "chroot without glibc: record runs (exit $rc: $(head -c 200 r.err))" test "$rc" = 0
has_row "chroot without glibc: the run's exec is in its history (read with sqlite3)" \
	"$(sql "$r/tmp/h.db" "select distinct op || ' ' || path from file_accesses")" "exec /bin/magicpak"
inroot b.out b.err /bin/magicpak bundle --db /tmp/h.db /tmp/out
check "chroot without glibc: bundle runs (exit $rc: $(head -c 200 b.err))" test "$rc" = 0
check "chroot without glibc: the bundle holds the program" cmp "$r/tmp/out/bin/magicpak" "$TOOL"

# Another glibc on the system (the root's default directories, no ld.so.cache): refused in one
# line each, before anything is run or written, the history kept.
lib=$r/lib/x86_64-linux-gnu
mkdir -p "$lib"
in_rtmp() { (cd "$r/tmp" && "$@"); }
cp fakes/libs/libarchive.so.13 fakes/libs/libcrypto.so.3 "$lib/"
sessions=$(sql "$r/tmp/h.db" "select count(*) from sessions")
for f in 299 nover missing; do
	case $f in
	299) why='/lib/x86_64-linux-gnu/libc.so.6 is glibc 2\.99 \(build magicpak there, or with STATIC_LIBC=0\)' ;;
	nover) why='/lib/x86_64-linux-gnu/libc.so.6 names no glibc release' ;;
	# no libc.so.6 the model of dlopen() finds: the system's loader is asked instead
	missing) why="$(readelf -lW /bin/sh | sed -n 's/.*interpreter: \(.*\)]$/\1/p' | sed 's/\./\\./g'): No such file or directory \(build magicpak there" ;;
	esac
	rm -f "$lib/libc.so.6"
	[ "$f" = missing ] || cp "fakes/$f/libc.so.6" "$lib/libc.so.6"
	inroot o.out "$err" /bin/magicpak bundle --db /tmp/h.db --oci-archive "/tmp/img-$f.tar" "/tmp/out-$f"
	assert_rc "system glibc $f: bundle --oci-archive refused (exit 1)" 1
	assert_one_error_line "system glibc $f: one error line naming libarchive" "$err" "cannot load libarchive"
	check "system glibc $f: the reason: $why" grep -qE "$why" "$err"
	check "system glibc $f: no archive, no bundle, no temporary left" in_rtmp none_of "img-$f.tar" "out-$f"
	inroot o.out "$err" /bin/magicpak record --hash --db /tmp/h.db -- /bin/magicpak --version
	assert_rc "system glibc $f: record --hash refused before the command runs (exit 1)" 1
	assert_one_error_line "system glibc $f: one error line naming libcrypto" "$err" "cannot load libcrypto"
	assert_eq "system glibc $f: no session added, none lost" "$(sql "$r/tmp/h.db" "select count(*) from sessions")" "$sessions"
	inroot o.out "$err" /bin/magicpak -d --db /tmp/h.db --oci-archive "/tmp/dyn-$f.tar" /bin/magicpak "/tmp/dyn-$f"
	assert_rc "system glibc $f: one-shot --dynamic with an archive: refused (exit 1)" 1
	assert_eq "system glibc $f: ... before the program ran and was recorded" "$(sql "$r/tmp/h.db" "select count(*) from sessions")" "$sessions"
	check "system glibc $f: ... nothing written" in_rtmp none_of "dyn-$f.tar" "dyn-$f"
	inroot o.out "$err" /bin/magicpak bundle --db /tmp/h.db "/tmp/plain-$f"
	assert_rc "system glibc $f: a bundle without an image needs neither library (exit 0)" 0
done


done_testing
