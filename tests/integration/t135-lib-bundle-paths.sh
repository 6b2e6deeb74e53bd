#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Library paths that depend on where the program is, through to the bundle (LIB-01, LIB-02,
# LIB-04, LIB-06); t106, t104, t109 and t111 check `deps` alone.
# - LIB-01: link/bin/app -> ../../real/bin/app with RUNPATH $ORIGIN/../lib: the bundle holds the
#   symlink, real/bin/app and real/lib/libfoo.so (never the decoy link/lib/libfoo.so), and runs.
# - LIB-02: an empty RPATH element (-rpath /nonexistent:) is the current directory: deps run in
#   cwdlib/ agrees with the loader and warns; a run recorded in cwdlib/ bundles cwdlib/libfoo.so
#   (the recorded cwd, not magicpak's), and the bundle passes its test run from that directory.
# - LIB-04: every glibc-hwcaps variant of a library is bundled (the machine that runs the bundle
#   may pick another), not only the one this CPU takes.
# - LIB-06: DT_NEEDED ./libslash.so: a run recorded in t/S bundles t/S/libslash.so, and the bundle
#   passes its test run from t/S.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"
require_sqlite3
require_ptrace
unset LD_LIBRARY_PATH MAGICPAK_HWCAPS
# The jail of `magicpak test` has a fresh /tmp, which would hide fixtures under $tmp: build them
# in $wd, under /var/tmp; bundles and databases stay in $tmp.
wd=$(mktemp -d /var/tmp/magicpak-t135.XXXXXX) || exit 1
trap 'rm -rf "$tmp" "$wd"' EXIT
cd "$wd" || exit 1
# jail_ok: magicpak test can set up a jail here (exit 3 means it cannot: then a note, and the runs
# in the jail are left out; everything else is still checked).
jail_ok() {
	[ -e "$tmp/.jail-true" ] || jail_bundle "$tmp/.jail-true" /bin/true
	"$TOOL" test "$tmp/.jail-true" --no-diagnose -- /bin/true >/dev/null 2>"$tmp/.jail.err"
	[ $? != 3 ] && return 0
	echo "note: magicpak test cannot set up a jail here: $(cat "$tmp/.jail.err")"; return 1
}

# --- LIB-01 ---
fx_lib real/lib/libfoo.so libfoo.so
fx_lib link/lib/libfoo.so libfoo.so
fx_app real/bin/app real/lib/libfoo.so "$(fx_runpath '$ORIGIN/../lib')"
mkdir -p link/bin && ln -s ../../real/bin/app link/bin/app
run_tool "$wd/link/bin/app" "$tmp/B1"
assert_rc "LIB-01: bundle link/bin/app: exit 0" 0
check "LIB-01: the bundle has link/bin/app as a symlink to ../../real/bin/app" \
	test "$(readlink "$tmp/B1$wd/link/bin/app")" = ../../real/bin/app
check "LIB-01: the bundle has real/bin/app" test -f "$tmp/B1$wd/real/bin/app" -a ! -L "$tmp/B1$wd/real/bin/app"
check "LIB-01: the bundle has real/lib/libfoo.so" test -f "$tmp/B1$wd/real/lib/libfoo.so"
check "LIB-01: the decoy link/lib/libfoo.so is not bundled" test ! -e "$tmp/B1$wd/link/lib/libfoo.so"
# In the jail /proc is mounted, so ld.so takes $ORIGIN from /proc/self/exe as on the host (a bare
# chroot without /proc would fall back to the exec'd path, and look in link/lib).
if jail_ok; then
	run_test "$tmp/B1" -- "$wd/link/bin/app"
	assert_rc "LIB-01: the bundle passes its test of link/bin/app" 0
	assert_contains "LIB-01: inside, the loader took real/lib/libfoo.so" "$out" "$wd/real/bin/../lib/libfoo.so"
fi

# --- LIB-02 ---
mkdir cwdlib
cc_quiet -shared -fPIC -o cwdlib/libfoo.so "$FIXTURES/lib.c" -Wl,-soname,libfoo.so || exit 1
fx_app app_empty cwdlib/libfoo.so "$(fx_rpath /nonexistent:)"
check "fixture: app_empty has RPATH '/nonexistent:'" bash -c 'readelf -dW app_empty | grep -q "RPATH.*\[/nonexistent:\]"'
want=$(cd cwdlib && fx_expect ../app_empty)
check "oracle: run in cwdlib/ the loader takes cwdlib/libfoo.so" grep -qx "$wd/cwdlib/libfoo.so" <<<"$want"
out=$(cd cwdlib && timeout 20 "$TOOL" deps ../app_empty 2>"$err"); rc=$?
assert_rc "LIB-02: deps run in cwdlib/: exit 0" 0
assert_eq "LIB-02: deps run in cwdlib/: same as the loader" "$out" "$want"
check "LIB-02: a warning says the empty element searches the current directory" \
	grep -qiE '^magicpak: warning: .*empty.*current directory' "$err"
db=$tmp/l.db
(cd cwdlib && "$TOOL" record --db "$db" -- ../app_empty >/dev/null 2>"$err"); rc=$?
assert_rc "LIB-02: record run in cwdlib/: exit 0" 0
bundle_rc "$db" "$tmp/B2"
assert_rc "LIB-02: bundle of that session: exit 0" 0
check "LIB-02: the bundle holds cwdlib/libfoo.so (the recorded cwd)" test -f "$tmp/B2$wd/cwdlib/libfoo.so"
record_rc "$db" /bin/sh -c "cd $wd/cwdlib && ../app_empty"
assert_rc "LIB-02: record of sh -c 'cd cwdlib && ../app_empty': exit 0" 0
bundle_rc "$db" "$tmp/B3"
assert_rc "LIB-02: bundle of that session: exit 0" 0
if jail_ok; then
	run_test "$tmp/B3" -- /bin/sh -c "cd $wd/cwdlib && ../app_empty"
	assert_rc "LIB-02: the bundle passes its test run from cwdlib/" 0
	assert_contains "LIB-02: inside, the loader took libfoo.so from the empty RPATH element" "$out" "libfoo.so"
fi

# --- LIB-04 ---
fx_lib H/libh.so libh.so
fx_lib H/glibc-hwcaps/x86-64-v2/libh.so libh.so
fx_lib H/glibc-hwcaps/x86-64-v3/libh.so libh.so
fx_lib H/glibc-hwcaps/x86-64-v4/libh.so libh.so
fx_app app_h H/libh.so "$(fx_runpath "$wd/H")"
run_tool "$wd/app_h" "$tmp/B4"
assert_rc "LIB-04: bundle app_h: exit 0" 0
for v in "" glibc-hwcaps/x86-64-v2/ glibc-hwcaps/x86-64-v3/ glibc-hwcaps/x86-64-v4/; do
	check "LIB-04: the bundle holds H/${v}libh.so" test -f "$tmp/B4$wd/H/${v}libh.so"
done
# traced: the run opened the one variant this CPU takes; the bundle of the session holds
# every variant too, and the run's own pick is among what the session recorded
record_rc "$db" "$wd/app_h"
assert_rc "LIB-04: record app_h: exit 0" 0
used=$(sql "$db" "SELECT p.path FROM session_paths s JOIN paths p ON p.id = s.path_id
	WHERE s.session_id = (SELECT max(id) FROM sessions) AND p.path LIKE '$wd/H/%libh.so'")
check "LIB-04: the session holds the variant the loader opened" test -n "$used"
bundle_rc "$db" "$tmp/B4r"
assert_rc "LIB-04: bundle of the recorded run: exit 0" 0
for v in "" glibc-hwcaps/x86-64-v2/ glibc-hwcaps/x86-64-v3/ glibc-hwcaps/x86-64-v4/; do
	check "LIB-04: the recorded run's bundle holds H/${v}libh.so" test -f "$tmp/B4r$wd/H/${v}libh.so"
done
# Each bundle on lesser CPUs (RELIABILITY LIB-04): qemu-x86_64 with a Nehalem CPU (x86-64-v2)
# and its baseline qemu64 (v1), the bundle as the file-system prefix (-L); the host's H/ moved
# away, so that a variant the bundle lacked could not be taken from the host.
if command -v qemu-x86_64 >/dev/null; then
	mv H H.away
	for B in B4 B4r; do
		got=$(qemu-x86_64 -cpu Nehalem -L "$tmp/$B" "$tmp/$B$wd/app_h" 2>&1)
		assert_contains "LIB-04: $B under a Nehalem CPU loads the x86-64-v2 variant" "$got" \
			"$wd/H/glibc-hwcaps/x86-64-v2/libh.so"
		got=$(qemu-x86_64 -cpu qemu64 -L "$tmp/$B" "$tmp/$B$wd/app_h" 2>&1)
		assert_contains "LIB-04: $B under a baseline CPU loads H/libh.so" "$got" "$wd/H/libh.so"
	done
	mv H.away H
elif [ "${CI:-}" = true ]; then
	fail "LIB-04: qemu-x86_64 is missing (qemu-user): the bundles cannot run on a lesser CPU"
fi

# --- LIB-06 ---
mkdir -p t/S
cc_quiet -shared -fPIC -o t/S/libslash.so "$FIXTURES/lib.c" || exit 1
(cd t/S && cc_quiet -o ../app "$FIXTURES/main.c" -Wl,--no-as-needed ./libslash.so) || exit 1
(cd t/S && "$TOOL" record --db "$db" -- ../app >/dev/null 2>"$err"); rc=$?
assert_rc "LIB-06: record run in t/S: exit 0" 0
bundle_rc "$db" "$tmp/B6"
assert_rc "LIB-06: bundle of that session: exit 0" 0
check "LIB-06: the bundle holds t/S/libslash.so (relative to the recorded cwd)" test -f "$tmp/B6$wd/t/S/libslash.so"
check "LIB-06: and t/app" test -f "$tmp/B6$wd/t/app"
record_rc "$db" /bin/sh -c "cd $wd/t/S && ../app"
bundle_rc "$db" "$tmp/B7"
assert_rc "LIB-06: bundle of sh -c 'cd t/S && ../app': exit 0" 0
if jail_ok; then
	run_test "$tmp/B7" -- /bin/sh -c "cd $wd/t/S && ../app"
	assert_rc "LIB-06: the bundle passes its test run from t/S" 0
	assert_contains "LIB-06: inside, the loader took ./libslash.so" "$out" "./libslash.so"
fi
done_testing
