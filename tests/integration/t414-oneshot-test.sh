#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# magicpak's one-shot --test: the bundle is tested in the jail before it becomes OUTPUT;
# a failing test writes nothing and says what the bundle lacks.
. "$(dirname "$0")/../lib.sh"
require_root

# A passing test with the output checked: OUTPUT appears.
"$TOOL" /usr/bin/sqlite3 "$tmp/ok" --test --test-command "sqlite3 :memory: 'select 40+2'" \
	--test-stdout 42 2>"$tmp/err"
assert_eq "passing --test: exit 0" "$?" 0
check "passing --test: OUTPUT written" test -x "$tmp/ok/usr/bin/sqlite3"
check "the test's busybox is not in the bundle" test ! -e "$tmp/ok/bin/busybox" -a ! -e "$tmp/ok/usr/bin/busybox"

# Default test command: the input as installed, here through --install-to.
"$TOOL" /bin/true "$tmp/def" -r /app/ --test 2>"$tmp/err"
assert_eq "default test command (/app/true): exit 0" "$?" 0

# The default test command is the installed input as one shell word: a space or a quote in its
# path is quoted for /bin/sh -c (the bundles are fine; the test must pass).
mkdir -p "$tmp/sp ace" && cp /bin/true "$tmp/sp ace/my true"
"$TOOL" "$tmp/sp ace/my true" "$tmp/q1" --test 2>"$tmp/err"
assert_eq "default test of an input with spaces in its path: exit 0" "$?" 0
check "default test of an input with spaces: OUTPUT written" test -x "$tmp/q1$tmp/sp ace/my true"
"$TOOL" /bin/true "$tmp/q2" -r 'my app/' --test 2>"$tmp/err"
assert_eq "default test with -r 'my app/': exit 0" "$?" 0
check "default test with -r 'my app/': OUTPUT written" test -x "$tmp/q2/my app/true"
"$TOOL" /bin/true "$tmp/q3" -r "/a'b/" --test 2>"$tmp/err"
assert_eq "default test with -r \"/a'b/\": exit 0" "$?" 0
check "default test with -r \"/a'b/\": OUTPUT written" test -x "$tmp/q3/a'b/true"

# A --busybox that is not there is an error, as in the original magicpak (which failed on
# which(busybox)), not a test run without it: exit 3 (cannot set up), one line naming it, nothing written.
exit3_nothing() { check "$1: exit 3 (now $rc), nothing named $(basename "$2") or $(basename "$2").magicpak-* left" \
	sh -c '[ "$1" = 3 ] && ! ls -d "$2" "$2".magicpak-* >/dev/null 2>&1' sh "$rc" "$2"; }
run_tool /bin/true "$tmp/bb1" --test --busybox /nonexistent
exit3_nothing "--busybox /nonexistent" "$tmp/bb1"
assert_one_error_line "--busybox /nonexistent: one line naming it" "$err" "'/nonexistent': not found"
run_tool /bin/true "$tmp/bb2" --test --busybox no-such-busybox
exit3_nothing "--busybox NAME not on PATH" "$tmp/bb2"
assert_one_error_line "--busybox NAME not on PATH: one line naming it" "$err" "'no-such-busybox': not found on PATH"
# The default busybox, not on PATH, for a bundle without /bin/sh.
PATH=/nowhere "$TOOL" /bin/ls "$tmp/bb3" --test 2>"$err"; rc=$?
exit3_nothing "default busybox not on PATH, bundle without /bin/sh" "$tmp/bb3"
assert_one_error_line "default busybox not on PATH: one line naming it" "$err" "'busybox': not found on PATH"

# Output mismatch: exit 1, nothing written, one line saying what was printed.
"$TOOL" /usr/bin/sqlite3 "$tmp/bad" --test --test-command "sqlite3 :memory: 'select 1+2'" \
	--test-stdout 42 2>"$tmp/err"
assert_eq "wrong output: exit 1" "$?" 1
assert_no_output "wrong output" "$tmp/bad"
assert_contains "wrong output: says what it printed" "$(cat "$tmp/err")" "expected '42'"

# --test-stdin reaches the command.
"$TOOL" /bin/cat "$tmp/cat" --test --test-command cat --test-stdin 'a = 1' \
	--test-stdout 'a = 1' 2>"$tmp/err"
assert_eq "--test-stdin delivered: exit 0" "$?" 0

# A missing library: exit 1, nothing written, the diagnosis names it with --include.
"$TOOL" /usr/bin/sqlite3 "$tmp/nolib" -e '**/libsqlite3.so*' --test \
	--test-command "sqlite3 :memory: 'select 1'" 2>"$tmp/err"
assert_eq "excluded library: exit 1" "$?" 1
assert_no_output "excluded library" "$tmp/nolib"
check "excluded library: the diagnosis names it" \
	grep -qE '^magicpak: test failed \(exit 127\): .*libsqlite3\.so\.0.*--include [^ ]*libsqlite3\.so\.0' "$tmp/err"

# --test-timeout: a test that never ends (a server as its own default test) fails after S
# seconds, with what it left killed, instead of holding the build; none of it is written.
trap 'pkill -f "[s]leep 314[12]"; rm -rf "$tmp"' EXIT
start=$EPOCHREALTIME
timeout 60 "$TOOL" /bin/sleep "$tmp/slow" --test --test-command "sleep 3141 & exec sleep 3142" \
	--test-timeout 2 2>"$tmp/err"
rc=$?
secs=$(elapsed "$start")
assert_eq "--test-timeout: exit 1" "$rc" 1
check "--test-timeout: it took about 2 s, not the test's 3142 ($secs s)" awk -v s="$secs" 'BEGIN{exit !(s >= 1.9 && s < 20)}'
assert_no_output "--test-timeout" "$tmp/slow"
assert_one_error_line "--test-timeout: one line saying so" "$tmp/err" "test failed (timed out after 2 s)"
check "--test-timeout: nothing of the test is left running" wait_for 5 no_marked "sleep 314[12]"
"$TOOL" /bin/true "$tmp/quick" --test --test-timeout 30 2>"$tmp/err"
assert_eq "--test-timeout longer than the test: exit 0" "$?" 0
check "--test-timeout longer than the test: OUTPUT written" test -x "$tmp/quick/bin/true" -o -x "$tmp/quick/usr/bin/true"
"$TOOL" /bin/true "$tmp/zero" --test --test-timeout 0 2>"$tmp/err"
assert_eq "--test-timeout 0 (none, the default): exit 0" "$?" 0
for bad in -1 1.5 abc ''; do
	run_tool /bin/true "$tmp/never" --test --test-timeout "$bad"
	assert_rc "--test-timeout '$bad': a usage error (exit 2)" 2
	assert_one_error_line "--test-timeout '$bad': one line naming the option" "$err" "--test-timeout"
done
assert_no_output "bad --test-timeout" "$tmp/never"
done_testing
