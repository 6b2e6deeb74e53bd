#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: TRC-06.
# magicpak record runs the command as if without magicpak: its exit status (128+N for signal N; 127 not
# found, 126 not executable, with one error line), stdout and stdin its own (1 MiB through, no deadlock),
# SIGUSR1 and SIGTERM sent to magicpak reach the command, and --timeout ends the whole tree.
. "$(dirname "$0")/../lib.sh"
san_no_leak_scan
require_cc
require_sqlite3
require_ptrace
record_fixture sigwait
db=$tmp/r.db

record_rc "$db" /bin/sh -c 'exit 3'
assert_rc "sh -c 'exit 3': exit 3" 3
record_rc "$db" /bin/sh -c 'kill -TERM $$'
assert_rc "a command killed by SIGTERM: exit 143" 143
record_rc "$db" /bin/sh -c 'kill -SEGV $$'
assert_rc "a command killed by SIGSEGV: exit 139" 139
assert_eq "the SIGSEGV session is complete" \
	"$(sql "$db" "select complete from sessions where id = 3")" 1

record_rc "$db" /no/such/command --flag
assert_rc "command not found (/no/such/command): exit 127" 127
assert_one_error_line "not found: one magicpak error line naming the command" "$err" /no/such/command
record_rc "$db" magicpak-no-such-command-xyz
assert_rc "command not found on PATH: exit 127" 127
assert_one_error_line "not found on PATH: one magicpak error line naming it" "$err" magicpak-no-such-command-xyz
printf '#!/bin/sh\necho hi\n' >"$tmp/noexec.sh"; chmod 644 "$tmp/noexec.sh"
record_rc "$db" "$tmp/noexec.sh"
assert_rc "not executable: exit 126" 126
assert_one_error_line "not executable: one magicpak error line naming it" "$err" "$tmp/noexec.sh"

# 1 MiB of stdout passes through intact, and fast.
head -c 1048576 /dev/urandom >"$tmp/big"
start=$EPOCHREALTIME
timeout 20 "$TOOL" record --db "$db" -- /bin/cat "$tmp/big" >"$tmp/big.out" 2>"$err"; rc=$?
secs=$(elapsed "$start")
assert_rc "cat of 1 MiB: exit 0" 0
check "cat of 1 MiB: stdout identical to the file" cmp -s "$tmp/big" "$tmp/big.out"
check "cat of 1 MiB: under 10 s, no deadlock (${secs}s)" awk -v s="$secs" 'BEGIN{exit !(s < 10)}'
# 1 MiB on stderr too, while stdout goes elsewhere
timeout 20 "$TOOL" record --db "$db" -- /bin/sh -c "cat '$tmp/big' >&2" 2>"$tmp/big.err" >/dev/null; rc=$?
check "1 MiB on stderr: identical, exit 0 (exit $rc)" sh -c '[ "$1" = 0 ] && cmp -s "$2" "$3"' sh "$rc" "$tmp/big" "$tmp/big.err"
# the command's stdout is magicpak's stdout itself, not a pipe in between
ls -l /proc/self/fd/1 >/dev/null
timeout 20 "$TOOL" record --db "$db" -- /bin/sh -c 'readlink /proc/$$/fd/1' >"$tmp/fd1.out" 2>"$err"
assert_eq "the command's stdout is the same file magicpak got (no pipe)" "$(cat "$tmp/fd1.out")" "$tmp/fd1.out"

got=$(echo hi | timeout 20 "$TOOL" record --db "$db" -- /bin/cat 2>"$err")
assert_eq "stdin passes through: echo hi | record -- cat" "$got" hi

# magicpak's exit leaves nothing running: the helper that takes its memory down after it
# (collector/exitfast.c) shares its command line, and goes once magicpak is gone.
for via in ptrace preload; do
	"$TOOL" record --db "$db" --via $via -- /bin/true exitfast.$$ >/dev/null 2>"$err"; rc=$?
	assert_rc "--via $via: /bin/true exits 0" 0
	check "--via $via: no magicpak process is left once it exited" \
		wait_for 5 no_marked "record --db $db --via $via -- /bin/true exitfast.$$"
done

# SIGUSR1 to magicpak reaches the command.
rm -f "$tmp/ready"
"$TOOL" record --db "$db" -- "$tmp/sigwait" "$tmp/ready" >"$tmp/usr1.out" 2>"$err" &
mp=$!
if wait_for 10 test -e "$tmp/ready"; then
	kill -USR1 "$mp"
	wait "$mp"; rc=$?
	assert_rc "SIGUSR1 to magicpak: the command handled it (exit 42)" 42
	assert_eq "SIGUSR1: the command printed that it got it" "$(cat "$tmp/usr1.out")" "got SIGUSR1"
else
	fail "sigwait never became ready under magicpak"; kill -9 "$mp"; wait "$mp"
fi
# SIGTERM to magicpak reaches the command.
rm -f "$tmp/ready"
"$TOOL" record --db "$db" -- "$tmp/sigwait" "$tmp/ready" >"$tmp/term.out" 2>"$err" &
mp=$!
if wait_for 10 test -e "$tmp/ready"; then
	kill -TERM "$mp"
	wait "$mp"; rc=$?
	assert_rc "SIGTERM to magicpak: the command handled it (exit 43)" 43
	assert_eq "SIGTERM: the command printed that it got it" "$(cat "$tmp/term.out")" "got SIGTERM"
else
	fail "sigwait never became ready under magicpak"; kill -9 "$mp"; wait "$mp"
fi
# SIGTERM to magicpak running a command that does not handle it: the command dies of it, 143.
"$TOOL" record --db "$db" -- /bin/sleep 30.$$1 >/dev/null 2>"$err" &
mp=$!
wait_for 5 pgrep -f "^/bin/sleep 30.$$1" >/dev/null   # the sleep itself runs (not magicpak's own argv)
kill -TERM "$mp"
start=$EPOCHREALTIME
wait "$mp"; rc=$?
assert_rc "SIGTERM to magicpak over sleep: exit 143" 143
check "SIGTERM over sleep: ended at once ($(elapsed "$start")s)" awk -v s="$(elapsed "$start")" 'BEGIN{exit !(s < 3)}'
check "SIGTERM over sleep: no sleep left" no_marked "sleep 30.$$1"

# SIGTERM sent early, while magicpak is still starting the command, is not lost either: 150 tries at
# delays of 0 to 6 ms after magicpak's exec; each must end at once with 143 (the command dies of it, or magicpak does first).
lost=
for i in $(seq 0 149); do
	"$TOOL" record --db "$tmp/early.db" -- /bin/sleep 2 >/dev/null 2>&1 &
	mp=$!
	wait_exec "$mp" || { fail "magicpak (pid $mp) never started"; break; }
	sleep "$(awk -v i="$i" 'BEGIN{printf "%.4f", (i % 20) * 0.0003}')"
	start=$EPOCHREALTIME
	kill -TERM "$mp"; wait "$mp"; r=$?
	[ "$r" = 143 ] && awk -v s="$(elapsed "$start")" 'BEGIN{exit !(s < 2)}' || lost="$lost try$i:exit$r,$(elapsed "$start")s"
done
assert_eq "SIGTERM to magicpak at its start (150 tries): never lost (exit 143 at once each time)" "$lost" ""

# --timeout 1 on sleep 100: about 1 s, exit 124, nothing left, session incomplete with reason timeout.
start=$EPOCHREALTIME
run_tool record --db "$db" --timeout 1 -- /bin/sh -c "sleep 100.$$2; :"
secs=$(elapsed "$start")
assert_rc "--timeout 1: exit 124" 124
check "--timeout 1: ended in about 1 s (${secs}s)" awk -v s="$secs" 'BEGIN{exit !(s >= 0.9 && s < 3)}'
check "--timeout 1: no process of the tree left (sleep 100.$$2)" no_marked "sleep 100.$$2"
check "--timeout 1: says so on stderr" grep -qi 'time' "$err"
assert_eq "--timeout 1: session incomplete, reason timeout" \
	"$(sql "$db" "select complete, incomplete_reason from sessions order by id desc limit 1")" "0|timeout"

# The same under preload and the probe: exit 124 (not the SIGKILL's 137), and the whole tree
# gone, a background child too (the probe follows it; preload's records name it).
for via in preload bpf; do
	m=$$$([ $via = preload ] && echo 3 || echo 4)
	if ! "$TOOL" record --db "$tmp/via.db" --via $via -- /bin/true >/dev/null 2>&1; then
		[ "${CI:-}" = true ] && fail "--via $via cannot run here (CI has it)"
		echo "SKIP --timeout under --via $via: it cannot run here"
		continue
	fi
	start=$EPOCHREALTIME
	run_tool record --db "$db" --via $via --timeout 1 -- /bin/sh -c "sleep 30.$m & sleep 31.$m; :"
	secs=$(elapsed "$start")
	assert_rc "--via $via --timeout 1: exit 124" 124
	check "--via $via --timeout 1: ended in about 1 s (${secs}s)" awk -v s="$secs" 'BEGIN{exit !(s >= 0.9 && s < 5)}'
	check "--via $via --timeout 1: no process of the tree left, the background one too" \
		wait_for 3 no_marked "sleep 3[01].$m"
	assert_eq "--via $via --timeout 1: session incomplete, reason timeout" \
		"$(sql "$db" "select complete, incomplete_reason from sessions order by id desc limit 1")" "0|timeout"
done

# A --timeout that is not whole seconds, or a --label that could never select its session, is
# a usage error before anything runs ("-1" was read as no timeout at all).
n0=$(sql "$db" "select count(*) from sessions")
for a in "--timeout=-1" "--timeout=0.3" "--timeout=" "--timeout=99999999999" "--label=2" "--label=last" "--label="; do
	rm -f "$tmp/ran"
	run_tool record --db "$db" "$a" -- /bin/sh -c 'touch "$1"' sh "$tmp/ran"
	assert_rc "record $a: usage error" 2
	assert_one_error_line "record $a: one line naming the option" "$err" "${a%%=*}"
	check "record $a: the command did not run" test ! -e "$tmp/ran"
done
assert_eq "no session was added by them" "$(sql "$db" "select count(*) from sessions")" "$n0"
for a in "--linger=-1" "--linger=x" "--linger="; do
	run_tool record --db "$db" "$a" -- /bin/true
	assert_rc "record $a: usage error" 2
	assert_one_error_line "record $a: one line naming the option" "$err" "--linger"
done
run_tool record --db "$db" --linger 1 --via preload -- /bin/true
assert_rc "record --linger --via preload: usage error" 2
assert_one_error_line "record --linger --via preload: one line says ptrace only" "$err" "--linger works with --via ptrace only"
run_tool record --db "$db" --bpf-per-process --via preload -- touch "$tmp/ran"
assert_rc "record --bpf-per-process without the probe: usage error" 2
assert_one_error_line "record --bpf-per-process without the probe: one line says it needs the probe" "$err" \
	"--bpf-per-process needs the probe"
check "record --bpf-per-process without the probe: the command did not run" test ! -e "$tmp/ran"

# --linger: once the command's first process ends, what it left running (a background child, a
# daemon in its own session) is killed S seconds later; what they did before is recorded.
mark=$((RANDOM + 20000))
start=$(date +%s)
record_rc "$db" --label linger --linger 2 -- /bin/sh -c "sleep $mark & setsid sh -c 'sleep 0.3; cat /etc/hostname; sleep $((mark + 1))' & exit 3"
assert_rc "record --linger: the command's own exit status (3)" 3
check "record --linger: it returned after the linger time, not after the sleeps" test $(($(date +%s) - start)) -lt 15
check "record --linger: one warning says how many were killed" grep -qE "^magicpak: warning: '/bin/sh' ended and left [23] processes running: killed them 2 s later" "$err"
sleep 0.2
check "record --linger: the background child is gone" sh -c "! pgrep -f '^sleep $mark\$' >/dev/null"
check "record --linger: the daemon in its own session is gone" sh -c "! pgrep -f 'sleep $((mark + 1))\$' >/dev/null"
assert_eq "record --linger: what the daemon read before is recorded" \
	"$(sql "$db" "select count(*) from file_accesses a join sessions s on s.id = a.session_id where s.label = 'linger' and a.path = '/etc/hostname' and a.op = 'open' and a.errno = 0")" 1
assert_eq "record --linger: the session is complete" "$(sql "$db" "select complete from sessions where label = 'linger'")" 1
start=$(date +%s)
record_rc "$db" --linger 0 -- /bin/sh -c "sleep $mark & exit 0"
check "record --linger 0: what is left is killed at once" test $(($(date +%s) - start)) -lt 5
record_rc "$db" --linger 5 -- /bin/true
check "record --linger with nothing left: no warning" sh -c '! grep -q warning "$1"' sh "$err"
# Without --linger the whole tree is waited for, as before.
start=$EPOCHREALTIME
record_rc "$db" -- /bin/sh -c 'sleep 1 & exit 0'
check "record without --linger: waits for the background child (>= 1 s)" \
	awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{exit !(b - a >= 1)}'
done_testing
