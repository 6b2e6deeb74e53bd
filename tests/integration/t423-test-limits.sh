#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability case: ISO-10 (resource limits).
# As root the jail runs in a throwaway cgroup (v2, or the v1 pids and memory hierarchies) with
# pids.max and memory.max: a bounded fork storm (3,000 sleeping processes, never an endless
# bomb, so that a broken limit cannot take the machine down) under --pids-max 200 fails with
# "the test hit its pids.max (200)" and leaves no process and no cgroup behind; a memory hog
# (600 MB through tail) under --memory-max 100M fails with the OOM message; a normal test
# passes with the defaults; --pids-max 0 disables the limit; the one-shot --test takes the same
# options; bad values are usage errors; a cgroup left by a killed magicpak is removed by the next
# test. Without a cgroup (MAGICPAK_CGROUP_ROOT pointing
# nowhere) RLIMIT_AS stands in, and as nobody (user-namespace mode) RLIMIT_NPROC.
. "$(dirname "$0")/../lib.sh"
require_root
require_jail
b=$tmp/b
jail_bundle "$b" /bin/sh /bin/sleep /usr/bin/head /usr/bin/tail
mark=3$$
# storm N: a shell loop starting N background sleeps, then exiting 0.
storm() { echo "i=0; while [ \$i -lt $1 ]; do sleep $mark & i=\$((i+1)); done; echo started"; }
# cgroups_of PID: the cgroups a magicpak with that pid made and left, anywhere below /sys/fs/cgroup.
cgroups_of() { find /sys/fs/cgroup -maxdepth 6 -type d -name "magicpak-test-$1-*" 2>/dev/null; }

# The fork storm, in the background so that its pid names its cgroup.
"$TOOL" -v test "$b" --pids-max 200 --timeout 20 -- /bin/sh -c "$(storm 3000)" >"$tmp/storm.out" 2>"$tmp/storm.err" &
pid=$!
wait "$pid"; rc=$?
t_n=$((t_n + 1))
if [ "$rc" = 1 ]; then pass "fork storm under --pids-max 200: exit 1"; else fail "fork storm: exit $rc, want 1"; sed 's/^/    /' "$tmp/storm.err"; fi
assert_eq "fork storm: the verdict names pids.max" "$(last_line "$tmp/storm.err" | sed 's/(exit [0-9]*)/(exit N)/')" \
	"magicpak: test failed (exit N): the test hit its pids.max (200)"
check "fork storm: -v says a cgroup holds the limits" grep -q '^magicpak: test: limits in cgroup v[12] .*magicpak-test-.*pids.max 200' "$tmp/storm.err"
check "fork storm: no sleep $mark left" wait_for 3 no_marked "sleep $mark"
assert_eq "fork storm: no cgroup left behind" "$(cgroups_of "$pid")" ""

# The memory hog: tail keeps a line that never ends, 600 MB of it.
start=$EPOCHREALTIME
run_test "$b" --memory-max 100M --timeout 20 -- /bin/sh -c 'head -c 600M /dev/zero | tail'
secs=$(elapsed "$start")
assert_rc "memory hog under --memory-max 100M: exit 1" 1
assert_eq "memory hog: the verdict names the OOM killer" "$(last_line "$err")" \
	"magicpak: test failed (exit 137): the command was killed by the OOM killer (memory.max 100M)"
check "memory hog: ended in under 10 s (took $secs s)" awk -v s="$secs" 'BEGIN{exit !(s < 10)}'

# A normal test with the defaults, and the limits disabled.
run_tool -v test "$b" --expect-stdout hello -- /bin/sh -c 'echo hello'
assert_rc "a normal test passes with the default limits" 0
check "defaults: pids.max 1024 and a memory.max" grep -qE '^magicpak: test: limits in cgroup v[12] .*: pids.max 1024, memory.max [0-9]+[KMGT]?$' "$err"
run_test "$b" --pids-max 0 --timeout 20 -- /bin/sh -c "$(storm 300)"
assert_rc "--pids-max 0: 300 background processes are fine (exit 0)" 0
check "--pids-max 0: no sleep $mark left" wait_for 3 no_marked "sleep $mark"
run_test "$b" --pids-max 250 --timeout 20 -- /bin/sh -c "$(storm 200)"
assert_rc "200 processes under --pids-max 250: exit 0" 0
run_tool -v test "$b" --pids-max max --memory-max 0 -- /bin/sh -c 'echo hi'
assert_rc "--pids-max max --memory-max 0: exit 0" 0
check "no limit at all: no cgroup is made" grep -q '^magicpak: test: no pids or memory limit' "$err"
check "no sleep $mark left at all" wait_for 3 no_marked "sleep $mark"

# A magicpak killed with SIGKILL leaves its cgroup; the next test removes it.
"$TOOL" test "$b" -- /bin/sh -c "sleep $mark" >/dev/null 2>&1 &
pid=$!
wait_exec "$pid"
check "killed tester: the jailed sleep started" wait_for 5 sh -c '[ -n "$(pgrep -f "[s]leep $1")" ]' sh "$mark"
kill -9 "$pid"; wait "$pid" 2>/dev/null
check "killed tester: no sleep $mark left" wait_for 3 no_marked "sleep $mark"
check "killed tester: its cgroup is left" test -n "$(cgroups_of "$pid")"
run_test "$b" -- /bin/sh -c :
assert_rc "the next test passes" 0
assert_eq "the next test removed the stale cgroup" "$(cgroups_of "$pid")" ""

# Bad values are usage errors (exit 2).
for v in -1 abc 10Q 1.5 99999999999; do
	run_test "$b" --pids-max "$v" -- /bin/sh -c :
	assert_rc "--pids-max $v: usage error" 2
done
for v in 10Q 1MB -5 ''; do
	run_test "$b" --memory-max "$v" -- /bin/sh -c :
	assert_rc "--memory-max '$v': usage error" 2
done

# The one-shot form's --test takes the same options; nothing is written on a limit hit.
run_tool /bin/sh /bin/sleep "$tmp/o" --test --test-command "$(storm 3000)" --pids-max 100
assert_rc "one-shot --test, fork storm under --pids-max 100: exit 1" 1
assert_eq "one-shot: the verdict names pids.max" "$(last_line "$err" | sed 's/(exit [0-9]*)/(exit N)/')" \
	"magicpak: test failed (exit N): the test hit its pids.max (100); nothing written to the output"
check "one-shot: no output written" test ! -e "$tmp/o"
check "one-shot: no sleep $mark left" wait_for 3 no_marked "sleep $mark"

# No cgroup: RLIMIT_AS stands in for memory.max (a hit is the command's own failure).
MAGICPAK_CGROUP_ROOT=$tmp/nowhere run_tool -v test "$b" --memory-max 100M --no-diagnose -- /bin/sh -c 'head -c 600M /dev/zero | tail'
assert_rc "no cgroup: the memory hog still fails (exit 1)" 1
check "no cgroup: -v says setrlimit stands in" grep -q '^magicpak: test: no cgroup for the limits (.*); setrlimit instead: RLIMIT_NPROC 1024 (not binding for root), RLIMIT_AS 100M' "$err"
# As nobody (user-namespace mode): RLIMIT_NPROC stops the fork storm.
if command -v setpriv >/dev/null && chmod 755 "$tmp" &&
	setpriv --reuid=65534 --regid=65534 --clear-groups "$TOOL" test "$b" --no-diagnose -- /bin/sh -c : 2>/dev/null; then
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups timeout 20 "$TOOL" -v test "$b" --pids-max 50 --no-diagnose -- /bin/sh -c "$(storm 3000)" 2>"$err"); rc=$?
	assert_rc "as nobody, fork storm under --pids-max 50 (RLIMIT_NPROC): exit 1" 1
	check "as nobody: -v names RLIMIT_NPROC 50" grep -q '^magicpak: test: no cgroup for the limits (not root); setrlimit instead: RLIMIT_NPROC 50,' "$err"
	check "as nobody: no sleep $mark left" wait_for 3 no_marked "sleep $mark"
else
	echo "note: nobody cannot set up a jail here (no user namespaces): RLIMIT_NPROC not checked"
fi
done_testing
