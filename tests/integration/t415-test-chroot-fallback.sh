#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Where the jail's namespaces are refused - a `docker build` RUN step: root without
# CAP_SYS_ADMIN under Docker's default seccomp profile, which the dockerseccomp fixture sets up
# - the test runs in a plain chroot of a throwaway copy of the bundle, with one warning line,
# instead of failing with exit 3; --isolation chooses. The copy is removed, the bundle is left
# alone, and what the command leaves running is killed.
. "$(dirname "$0")/../lib.sh"
require_root
require_cc
require_chroot
jail_fixture dockerseccomp
jail_fixture escape
"$tmp/dockerseccomp" true || { echo "FAIL: the dockerseccomp fixture does not run here"; exit 1; }
"$tmp/dockerseccomp" unshare -U true 2>/dev/null && { echo "FAIL: the fixture let unshare through"; exit 1; }
export TMPDIR=$tmp/scratch
mkdir "$TMPDIR"
b=$tmp/fb.b
jail_bundle "$b" "$tmp/escape" -r /bin/escape -i /bin/cat -i /bin/sh -i /bin/sleep -i /usr/bin/setsid
tree_state "$b" >"$tmp/before"
docker_test() { out=$(timeout 30 "$tmp/dockerseccomp" "$TOOL" test "$@" 2>"$err"); rc=$?; }

docker_test "$b" -- /bin/cat /proc/self/status
assert_rc "no namespaces: the test still runs (a plain chroot has no /proc: cat fails, exit 1)" 1
docker_test "$b" --stdin 'hello' --expect-stdout hello -- /bin/sh -c 'cat; echo junk >/usr/bin/cat; echo x >/dev/null; : </dev/zero; ls /proc 2>/dev/null; exit 0'
assert_rc "no namespaces: a plain chroot runs it (exit 0)" 0
assert_eq "no namespaces: stdin reaches the command, its stdout is shown" "$out" "hello"
check "no namespaces: one warning says the namespaces were refused and why" \
	grep -q "^magicpak: warning: test: the jail's namespaces are refused here (cannot create a user namespace .*Operation not permitted); testing in a plain chroot of a copy of the bundle instead: not isolated" "$err"
assert_eq "no namespaces: exactly one warning" "$(grep -c warning "$err")" 1
check "no namespaces: the verdict says the test was not isolated" grep -q "test passed: '/bin/sh' exited 0 with the expected output (in a plain chroot, not isolated)" "$err"
tree_state "$b" >"$tmp/after"
assert_eq "no namespaces: the bundle is unchanged after the command wrote into its copy" "$(diff "$tmp/before" "$tmp/after")" ""
assert_eq "no namespaces: the copy is removed" "$(ls -A "$TMPDIR")" ""

# The copy a killed magicpak left (its pid gone) is removed by the next test, a live one's kept.
mkdir -p "$TMPDIR/magicpak-chroot.999999.AbCdEf/usr/bin" "$TMPDIR/magicpak-chroot.$$.AbCdEf/usr"
touch "$TMPDIR/magicpak-chroot.999999.AbCdEf/usr/bin/x"
docker_test "$b" -- /bin/true
assert_eq "a dead magicpak's copy is removed, a live one's is not" "$(ls -A "$TMPDIR")" "magicpak-chroot.$$.AbCdEf"
rm -rf "${TMPDIR:?}"/*
# sweep_case MSG EXPECTED DEAD HELD [YOUNG]: copies in $TMPDIR a killed magicpak left, DEAD (with a
# file in it) and HELD (locked by a flock(1) that stays), both a minute old, and YOUNG made now;
# after a test, the names left (one line) must be EXPECTED.
sweep_case() {
	local msg=$1 expected=$2 dead=$TMPDIR/$3 held=$TMPDIR/$4 holder
	mkdir -p "$dead/usr/bin" "$held"
	touch "$dead/usr/bin/x"
	touch -d '-1 min' "$dead" "$held"
	[ -z "${5:-}" ] || mkdir "$TMPDIR/$5"
	flock "$held" sleep 30 &
	holder=$!
	wait_for 5 sh -c '! flock -n "$1" true' sh "$held"
	docker_test "$b" -- /bin/true
	assert_eq "$msg" "$(ls -A "$TMPDIR" | tr '\n' ' ')" "$expected"
	kill "$holder"; wait "$holder" 2>/dev/null
	rm -rf "${TMPDIR:?}"/*
}
# A copy made with its lock (".locked") is judged by the lock alone: unlocked, it is a killed
# magicpak's even when its pid is alive here (PID 1 in a container); locked, it is in use.
sweep_case "an unlocked copy is removed though its pid is alive, a locked one is kept" \
	"magicpak-chroot.1.GhIjKl.locked " magicpak-chroot.1.AbCdEf.locked magicpak-chroot.1.GhIjKl.locked
# One still under its first name ("-new", from its mkdtemp to its rename): a magicpak killed in
# between left it. Once 10 s old it is judged by its lock; a younger one may not be locked yet.
sweep_case "a killed magicpak's copy still under its first name is removed, a locked or young one kept" \
	"magicpak-chroot-new.1.GhIjKl magicpak-chroot-new.1.MnOpQr " magicpak-chroot-new.1.AbCdEf \
	magicpak-chroot-new.1.GhIjKl magicpak-chroot-new.1.MnOpQr

# A test in another pid namespace, to which this one's pid is gone, leaves its copy alone (the
# copy is locked while it is in use): the command, reading its copy after the other test, passes.
"$tmp/dockerseccomp" "$TOOL" test "$b" --no-diagnose -- \
	/bin/sh -c 'i=0; while [ ! -e /go ]; do i=$((i+1)); [ $i -lt 400 ] || exit 9; sleep 0.05; done; exec /bin/cat /bin/sleep >/dev/null' 2>"$tmp/live.err" &
tpid=$!
wait_for 10 sh -c 'ls "$1"/magicpak-chroot.*/bin/sleep >/dev/null 2>&1' sh "$TMPDIR"
unshare --pid --fork --mount-proc "$tmp/dockerseccomp" "$TOOL" test "$b" -- /bin/sleep 0 2>"$err"; rc=$?
assert_rc "a test in a pid namespace: exit 0" 0
assert_eq "and the copy of the test running beside it is still there" "$(ls -A "$TMPDIR" | grep -c '^magicpak-chroot\.')" 1
for c in "$TMPDIR"/magicpak-chroot.*; do touch "$c/go"; done
wait "$tpid"; rc=$?
err=$tmp/live.err assert_rc "that test passes, its copy whole to its end" 0
assert_eq "and its copy is removed after it" "$(ls -A "$TMPDIR")" ""

echo "host secret $$" >"$tmp/secret-$$"
docker_test "$b" --no-diagnose -- /bin/escape "$tmp/secret-$$"
assert_rc "no namespaces: the classic chroot escape fails (no CAP_SYS_CHROOT inside)" 1
check "no namespaces: chroot was refused inside" grep -q 'escape: chroot /tmp/x: Operation not permitted' "$err"

# What the command leaves behind: a background child, and a daemon in its own session.
mark=$((RANDOM + 40000))
docker_test "$b" -- /bin/sh -c "sleep $mark & setsid sleep $((mark + 1)) & exit 0"
assert_rc "no namespaces: a command that leaves processes behind passes" 0
sleep 0.3
check "no namespaces: its background child was killed" sh -c "! pgrep -f '^sleep $mark\$' >/dev/null"
check "no namespaces: its setsid daemon was killed" sh -c "! pgrep -f '^sleep $((mark + 1))\$' >/dev/null"
# magicpak killed mid-test (SIGTERM; SIGKILL, which its helper learns as its parent-death
# signal): no pid namespace ends the tree, the helper does; they lived on as root before.
for sig in TERM KILL; do
	m=$((mark + 10))
	"$tmp/dockerseccomp" "$TOOL" test "$b" --no-diagnose -- /bin/sh -c "sleep $m & setsid sleep $((m + 1)) & sleep $((m + 2))" 2>/dev/null &
	tpid=$!
	wait_for 10 pgrep -f "^sleep $((m + 2))\$" >/dev/null || fail "the test did not start"
	kill -$sig $tpid
	wait $tpid 2>/dev/null
	sleep 0.3
	check "magicpak killed with SIG$sig mid-test: nothing it ran is left" sh -c "! pgrep -f '^sleep $m\$|^sleep $((m + 1))\$|^sleep $((m + 2))\$' >/dev/null"
	mark=$((mark + 10))
done
rm -rf "${TMPDIR:?}"/*

start=$(date +%s)
docker_test "$b" -T 1 --no-diagnose -- /bin/sh -c "sleep $((mark + 2)); true"
assert_rc "no namespaces: --timeout fails the test" 1
check "no namespaces: the time-out is said" grep -q 'test failed (timed out after 1 s)' "$err"
check "no namespaces: it stops at the time-out, not when the command would end" test $(($(date +%s) - start)) -lt 10
check "no namespaces: the timed-out command is killed" sh -c "! pgrep -f '^sleep $((mark + 2))\$' >/dev/null"

# The diagnosis still names what the bundle lacks (ls's own libraries are not in it).
lb=$tmp/ls.b
jail_bundle "$lb" /bin/cat
cp /bin/ls "$lb/usr/bin/ls"
docker_test "$lb" -- /bin/ls /
assert_rc "no namespaces: a bundle lacking a library fails (exit 1)" 1
lib=$(ldd /bin/ls | awk '$1 ~ /^lib(selinux|pcre2|acl|cap)/ {print $3; exit}')
[ -n "$lib" ] || lib=$(ldd /bin/ls | awk '$1 !~ /^(linux-vdso|libc\.|\/)/ {print $3; exit}')
if [ -n "$lib" ]; then
	check "no namespaces: the diagnosis names the missing $(basename "$lib")" grep -qF "$(basename "$lib")" "$err"
fi

# A command that needs /proc, which the plain chroot lacks: the diagnosis says so.
docker_test "$b" -- /bin/sh -c 'read x </proc/self/status'
assert_rc "no namespaces: a command reading /proc fails (exit 1)" 1
check "no namespaces: the diagnosis names the /proc path and says there is no /proc" \
	grep -q "test failed (exit 2): the command looked for /proc/self/status, and the jail has no /proc here" "$err"

docker_test "$b" --isolation namespaces -- /bin/true
assert_rc "--isolation namespaces: refused namespaces are a set-up failure (exit 3)" 3
assert_one_error_line "--isolation namespaces: one line says why" "$err" "cannot create a user namespace"

# The one-shot form of the original magicpak, as a Dockerfile's RUN step runs it.
out=$(cd "$tmp" && timeout 60 "$tmp/dockerseccomp" "$TOOL" /bin/cat --test --test-command /bin/cat --test-stdin hi --test-stdout hi "$tmp/one" 2>"$err"); rc=$?
assert_rc "one-shot --test under Docker's profile: passes (exit 0)" 0
check "one-shot --test: the output is written" test -x "$tmp/one/bin/cat"
check "one-shot --test: the warning is shown" grep -q "testing in a plain chroot" "$err"
# --test-timeout there: the test and what it started are killed, nothing is written
out=$(cd "$tmp" && timeout 60 "$tmp/dockerseccomp" "$TOOL" /bin/sleep --test --test-command 'sleep 2718 & exec sleep 2719' --test-timeout 2 "$tmp/slow" 2>"$err"); rc=$?
assert_rc "one-shot --test-timeout under Docker's profile: fails (exit 1)" 1
check "one-shot --test-timeout: says it timed out" grep -q "test failed (timed out after 2 s)" "$err"
check "one-shot --test-timeout: nothing written" test ! -e "$tmp/slow"
check "one-shot --test-timeout: nothing of the test is left running" wait_for 5 no_marked "sleep 271[89]"
pkill -f "[s]leep 271[89]"

# Asked for outright, without a seccomp filter.
run_test "$b" --isolation chroot --expect-stdout ok -- /bin/sh -c 'echo ok'
assert_rc "--isolation chroot: passes (exit 0)" 0
check "--isolation chroot: no warning when asked for" sh -c "! grep -q warning '$err'"
check "--isolation chroot: the verdict says so" grep -q "(in a plain chroot, not isolated)" "$err"
run_test "$b" --isolation chrooted -- /bin/true
assert_rc "--isolation chrooted: usage error (exit 2)" 2
assert_one_error_line "--isolation chrooted: one line naming the value" "$err" "--isolation: 'chrooted' is not auto, namespaces or chroot"
if command -v setpriv >/dev/null; then
	chmod 755 "$tmp"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups timeout 20 "$TOOL" test "$b" --isolation chroot -- /bin/true 2>"$err"); rc=$?
	assert_rc "--isolation chroot as nobody: set-up failure (exit 3)" 3
	assert_one_error_line "--isolation chroot as nobody: one line says it needs root" "$err" "a plain chroot needs root with CAP_SYS_CHROOT"
fi
done_testing
