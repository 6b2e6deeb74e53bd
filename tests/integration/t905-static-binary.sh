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

# Another glibc release on the system: refused, one line each, nothing written, history kept.
printf 'ld.so (GNU libc) stable release version 2.99.\n' >fake-ld.so
printf 'not a loader\n' >noversion
sessions=$(sql h.db "select count(*) from sessions")
for f in fake-ld.so noversion missing; do
	case $f in
	fake-ld.so) why='is glibc 2\.99' ;;
	noversion) why='names no glibc release' ;;
	missing) why='missing: No such file or directory' ;;
	esac
	out=$(MAGICPAK_SYSTEM_RTLD=$tmp/$f timeout 20 "$TOOL" bundle --db h.db --oci-archive "img-$f.tar" "out-$f" 2>"$err"); rc=$?
	assert_rc "$f: bundle --oci-archive refused (exit 1)" 1
	assert_one_error_line "$f: one error line naming libarchive" "$err" "cannot load libarchive"
	check "$f: the reason: $why" grep -qE "$why" "$err"
	check "$f: no archive, no bundle, no temporary left" none_of "img-$f.tar" "out-$f"
	out=$(MAGICPAK_SYSTEM_RTLD=$tmp/$f timeout 20 "$TOOL" record --hash --db h.db -- /bin/true 2>"$err"); rc=$?
	assert_rc "$f: record --hash refused before the command runs (exit 1)" 1
	assert_one_error_line "$f: one error line naming libcrypto" "$err" "cannot load libcrypto"
	assert_eq "$f: no session added, none lost" "$(sql h.db "select count(*) from sessions")" "$sessions"
	out=$(MAGICPAK_SYSTEM_RTLD=$tmp/$f timeout 20 "$TOOL" bundle --db h.db "plain-$f" 2>"$err"); rc=$?
	assert_rc "$f: a bundle without an image needs neither library (exit 0)" 0
	# h.db holds a --hash session: without libcrypto its files are compared by size, time and inode
	check "$f: ... and with a --hash session, no file is called changed" sh -c '! grep -q "changed\|differs" "$1"' sh "$err"
	check "$f: ... after one line saying libcrypto cannot be loaded" grep -q "cannot load libcrypto" "$err"
	check "$f: ... the bundle holds /bin/true" test -f "plain-$f/bin/true" -o -f "plain-$f/usr/bin/true"
	out=$(MAGICPAK_SYSTEM_RTLD=$tmp/$f timeout 20 "$TOOL" -d --db h.db --oci-archive "dyn-$f.tar" /bin/true "dyn-$f" 2>"$err"); rc=$?
	assert_rc "$f: one-shot --dynamic with an archive: refused (exit 1)" 1
	assert_eq "$f: ... before the program ran and was recorded" "$(sql h.db "select count(*) from sessions")" "$sessions"
	check "$f: ... nothing written" none_of "dyn-$f.tar" "dyn-$f"
done

# LD_LIBRARY_PATH comes before the system's libraries for a static glibc's dlopen(): a
# libc.so.6 of another release there is refused too, one found on the system's is not.
mkdir -p otherlib emptylib
cp fake-ld.so otherlib/libc.so.6
out=$(timeout 20 env LD_LIBRARY_PATH=$tmp/emptylib:$tmp/otherlib "$TOOL" bundle --db h.db --oci-archive img-llp.tar 2>"$err"); rc=$?
assert_rc "LD_LIBRARY_PATH with another libc.so.6: refused (exit 1)" 1
assert_one_error_line "LD_LIBRARY_PATH: one error line naming that libc.so.6" "$err" "$tmp/otherlib/libc.so.6 is glibc 2.99"
check "LD_LIBRARY_PATH: no archive" none_of img-llp.tar
out=$(timeout 20 env LD_LIBRARY_PATH=$tmp/emptylib "$TOOL" bundle --db h.db --oci-archive img-llp2.tar 2>"$err"); rc=$?
assert_rc "LD_LIBRARY_PATH without a libc.so.6: exit 0" 0
check "LD_LIBRARY_PATH without a libc.so.6: the archive is written" test -s img-llp2.tar
# glibc also searches DIR/glibc-hwcaps/x86-64-vN first, and an empty element is the working directory
mkdir -p hw/glibc-hwcaps/x86-64-v2 cwdlib
cp fake-ld.so hw/glibc-hwcaps/x86-64-v2/libc.so.6
cp fake-ld.so cwdlib/libc.so.6
out=$(timeout 20 env LD_LIBRARY_PATH=$tmp/hw "$TOOL" bundle --db h.db --oci-archive img-llp3.tar 2>"$err"); rc=$?
assert_rc "LD_LIBRARY_PATH, another libc.so.6 in DIR/glibc-hwcaps/x86-64-v2: refused (exit 1)" 1
assert_one_error_line "... one line naming it and the directory to take out" "$err" "hw/glibc-hwcaps/x86-64-v2/libc.so.6 is glibc 2.99 (found through LD_LIBRARY_PATH: unset it, or take '$tmp/hw' out of it)"
out=$(cd cwdlib && timeout 20 env LD_LIBRARY_PATH=/nonexistent: "$TOOL" bundle --db ../h.db --oci-archive ../img-llp4.tar 2>"$err"); rc=$?
assert_rc "LD_LIBRARY_PATH with an empty element, another libc.so.6 in the working directory: refused (exit 1)" 1
check "... no archive" none_of img-llp4.tar

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


done_testing
