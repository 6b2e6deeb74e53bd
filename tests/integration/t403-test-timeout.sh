#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: ISO-07, ISO-08, ISO-10.
# --timeout kills the whole jail (exit 1, "timed out", the command's code 124) in about the
# time given, with its background processes; a tester killed with SIGKILL leaves nothing
# running and no mount behind (RELIABILITY ISO-07, ISO-08).
. "$(dirname "$0")/../lib.sh"
require_root
require_jail
b=$tmp/sleep.b
jail_bundle "$b" /bin/sleep /bin/sh
mark=1$$
start=$EPOCHREALTIME
run_test "$b" --timeout 1 --no-diagnose -- /bin/sleep "$mark"
secs=$(elapsed "$start")
assert_rc "sleep with --timeout 1: exit 1" 1
assert_eq "the verdict line" "$(last_line "$err")" "magicpak: test failed (timed out after 1 s)"
check "ended in under 2.5 s (took $secs s)" awk -v s="$secs" 'BEGIN{exit !(s < 2.5)}'
check "no sleep $mark left" wait_for 2 no_marked "sleep $mark"

start=$EPOCHREALTIME
run_test "$b" --timeout 1 --no-diagnose -- /bin/sh -c "sleep 2$mark & sleep 3$mark"
secs=$(elapsed "$start")
assert_rc "background and foreground sleeps, --timeout 1: exit 1" 1
check "ended in under 2.5 s (took $secs s)" awk -v s="$secs" 'BEGIN{exit !(s < 2.5)}'
check "neither sleep left (the pid namespace died)" wait_for 2 no_marked "sleep [23]$mark"

run_test "$b" --timeout 5 -- /bin/sh -c "sleep 4$mark & exit 0"
assert_rc "a background process left by a passing command: exit 0, at once" 0
check "the background process was killed when the command ended" wait_for 2 no_marked "sleep 4$mark"

findmnt -rn >"$tmp/mounts.before"
"$TOOL" test "$b" -- /bin/sh -c "sleep 5$mark & sleep 6$mark" >/dev/null 2>&1 &
pid=$!
wait_exec "$pid"
check "the jailed sleeps started" wait_for 5 sh -c '[ -n "$(pgrep -f "[s]leep 6$1")" ]' sh "$mark"
kill -9 "$pid"; wait "$pid" 2>/dev/null
check "tester killed with SIGKILL: no jailed process left" wait_for 3 no_marked "sleep [56]$mark"
run_test "$b" -- /bin/true
findmnt -rn >"$tmp/mounts.after"
assert_eq "no mount left behind on the host (findmnt before/after)" "$(diff "$tmp/mounts.before" "$tmp/mounts.after")" ""
done_testing
