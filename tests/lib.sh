# SPDX-License-Identifier: MIT
# tests/lib.sh - sourced by every integration test: a private temp dir, the tool, assertions,
# capability checks that try the real thing and skip (exit 77) with a reason.
set -u
TOOL=${TOOL:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/magicpak}
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d /tmp/magicpak-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

t_n=0 t_failed=0
fail() { echo "FAIL: $*"; t_failed=$((t_failed + 1)); }
pass() { echo "ok: $*"; }
check() { # check DESCRIPTION COMMAND... : run the command, pass if it succeeds
	local d=$1; shift
	t_n=$((t_n + 1))
	if "$@"; then pass "$d"; else fail "$d"; fi
}
assert_eq() { # assert_eq DESCRIPTION GOT WANT
	t_n=$((t_n + 1))
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1"; diff -u <(printf '%s\n' "$3") <(printf '%s\n' "$2") | sed 's/^/    /'; fi
}
assert_contains() { # assert_contains DESCRIPTION HAYSTACK NEEDLE
	t_n=$((t_n + 1))
	case $2 in *"$3"*) pass "$1" ;; *) fail "$1: '$3' not in: $2" ;; esac
}
skip() { echo "SKIP $*"; exit 77; }
done_testing() {
	echo "$t_n checks, $t_failed failed"
	[ "$t_n" -gt 0 ] || { echo "FAIL: no checks ran"; exit 1; }
	[ "$t_failed" = 0 ]
	exit $?
}
# E-IN: a failed run prints exactly one line starting "magicpak: " on stderr.
assert_one_error_line() { # assert_one_error_line DESCRIPTION STDERR_FILE NEEDLE
	local lines
	lines=$(grep -c . "$2")
	t_n=$((t_n + 1))
	if [ "$lines" = 1 ] && grep -q '^magicpak: ' "$2" && grep -qF -- "$3" "$2"; then
		pass "$1"
	else
		fail "$1: want one 'magicpak: ...$3...' line, got:"; sed 's/^/    /' "$2"
	fi
}

require_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }
require_chroot() {
	require_root
	chroot / /bin/true 2>/dev/null || skip "chroot does not work here"
}
require_cc() { command -v cc >/dev/null || skip "no C compiler"; }
# A C compiler is a test-time tool for building fixtures, never used by magicpak itself.
cc_quiet() { cc "$@" 2>&1 | grep -v 'warning: ' >&2; return "${PIPESTATUS[0]}"; }

# run_tool ARGS...: run "$TOOL ARGS..." (killed after ${TOOL_TIMEOUT:-20} s); sets $out (stdout),
# $rc (exit status; 124 on timeout) and $err (the file holding stderr).
err=$tmp/.tool-stderr
run_tool() {
	out=$(timeout "${TOOL_TIMEOUT:-20}" "$TOOL" "$@" 2>"$err"); rc=$?
}
# assert_rc DESCRIPTION WANT: the last run_tool exited WANT (stderr shown on failure).
assert_rc() {
	t_n=$((t_n + 1))
	if [ "$rc" = "$2" ]; then pass "$1"; else fail "$1: exit $rc, want $2"; sed 's/^/    stderr: /' "$err"; fi
}

# assert_bad_input DESC FILE REASON_REGEX: `deps FILE` fails (exit 1, no signal, no timeout) in under 2 s with
# one "magicpak: " line naming FILE and matching the reason (extended regex, any case).
assert_bad_input() {
	local desc=$1 f=$2 re=$3 start secs
	start=$EPOCHREALTIME
	run_tool deps "$f"
	secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}')
	check "$desc: nonzero exit, not a timeout (exit $rc, ${secs}s)" test "$rc" != 0 -a "$rc" != 124 -a "$rc" -lt 128
	check "$desc: exit 1" test "$rc" = 1
	assert_one_error_line "$desc: one error line naming the file" "$err" "$f"
	check "$desc: the reason matches /$re/" grep -qiE -- "$re" "$err"
	assert_eq "$desc: nothing on stdout" "$out" ""
	check "$desc: under 2 s" awk -v s="$secs" 'BEGIN{exit !(s < 2)}'
}
