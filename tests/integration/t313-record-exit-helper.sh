#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# record's exit leaves its memory to a helper that shares it (collector/exitfast.c), so that
# whoever waits for magicpak does not wait for the kernel to take it down; the helper is
# orphaned and PID 1 reaps it, so it is made only where PID 1 reaps (catches or ignores
# SIGCHLD). In a pid namespace whose PID 1 is bash: the helper is made (a CLONE_VM clone), the
# output and exit status pass, and nothing of magicpak's is left, not even a zombie. Under a
# PID 1 that never reaps (python3, SIGCHLD at its default): no helper, so no zombie either.
. "$(dirname "$0")/../lib.sh"
plain_tool_only "the sanitizer builds make no helper (LeakSanitizer checks at exit), and refuse strace"
require_root
require_sqlite3
command -v unshare >/dev/null || skip "no unshare (util-linux)"
command -v strace >/dev/null || skip "no strace"
command -v python3 >/dev/null || skip "no python3"
unshare --pid --fork --mount-proc true 2>/dev/null || skip "cannot make a pid namespace here"
db=$tmp/x.db

# PID 1 a shell (bash catches SIGCHLD)
got=$(unshare --pid --fork --mount-proc bash -c '
	out=$("$1" record --via preload --db "$2" -- /bin/sh -c "echo hello; exit 3"); rc=$?
	echo "out=$out rc=$rc"
	strace -f -qq -e trace=clone,clone3 -o "$3" "$1" record --via preload --db "$2" -- /bin/true
	sleep 0.3
	echo "left=$(ps -eo stat=,comm= | grep -c magicpak)"' bash "$TOOL" "$db" "$tmp/s1" 2>"$err")
assert_contains "PID 1 bash: the command's output and exit status pass through" "$got" "out=hello rc=3"
check "PID 1 bash: the helper is made (a CLONE_VM clone)" grep -qE 'flags=CLONE_VM\)' "$tmp/s1"
assert_contains "PID 1 bash: no process or zombie of magicpak's is left" "$got" "left=0"
assert_eq "PID 1 bash: both sessions are in the history, complete" \
	"$(sql "$db" 'select count(*), sum(complete) from sessions')" "2|2"

# PID 1 that does not reap
unshare --pid --fork --mount-proc python3 -c '
import subprocess, sys
sys.exit(subprocess.call(["strace", "-f", "-qq", "-e", "trace=clone,clone3", "-o", sys.argv[3],
	sys.argv[1], "record", "--via", "preload", "--db", sys.argv[2], "--", "/bin/true"]))' \
	"$TOOL" "$db" "$tmp/s2" 2>"$err"; rc=$?
assert_rc "PID 1 python3: record exits 0" 0
check "PID 1 python3: no helper is made" sh -c '! grep -qE "flags=CLONE_VM\)" "$1"' sh "$tmp/s2"
done_testing
