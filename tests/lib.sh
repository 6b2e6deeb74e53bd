# SPDX-License-Identifier: MIT
# tests/lib.sh - sourced by every integration test: a private temp dir, the tool, assertions,
# capability checks that try the real thing and skip (exit 77) with a reason.
set -u
TOOL=${TOOL:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/magicpak}
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Debian's python3, not a pyenv shim ahead of it on PATH: the shim is a shell script that
# costs 0.4-1 s a call here, and the tests call python3 about 130 times.
if [ -x /usr/bin/python3 ]; then
	PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v '/\.pyenv/' | paste -sd: -)
	export PATH
fi
tmp=$(mktemp -d /tmp/magicpak-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

# A `record --via bpf` keeps its probe loaded for a minute after it (collector/probe.c:
# keep), which the next run attaches: t721 tests that; elsewhere each test's runs load their
# own probe, as each test expects.
export MAGICPAK_BPF_KEEP_S=${MAGICPAK_BPF_KEEP_S:-0}

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
# plain_tool_only REASON: this test needs an uninstrumented magicpak (valgrind, an allocator
# preloaded into it, its memory use): not applicable in the ASan+UBSan pass (TOOL_SAN=1).
plain_tool_only() { if [ "${TOOL_SAN:-0}" = 1 ]; then echo "N/A $*"; exit 78; fi; }
# san_no_leak_scan: in the ASan+UBSan pass, this test's many runs of magicpak skip
# LeakSanitizer's scan at exit (50 ms a run on the slower VMs: `magicpak --version` takes 81 ms
# with it, 31 without); the lighter tests of the same commands keep it, as do the unit tests.
san_no_leak_scan() {
	if [ "${TOOL_SAN:-0}" = 1 ]; then export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"; fi
}
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
# shared_tool: $stool is $TOOL if it runs on the shared glibc, else its twin linked so (Makefile:
# magicpak-shared; the default build is static), for what works on shared objects only: an
# LD_PRELOAD fault injector in magicpak, valgrind's malloc. Skips without it.
shared_tool() {
	stool=$TOOL
	readelf -lW "$TOOL" | grep -q 'program interpreter' && return
	stool=$TOOL-shared
	[ -x "$stool" ] || skip "needs $stool, the shared-glibc twin of the static $TOOL (make $stool)"
}
require_cc() { command -v cc >/dev/null || skip "no C compiler"; }
# A C compiler is a test-time tool for building fixtures, never used by magicpak itself.
cc_quiet() { cc "$@" 2>&1 | grep -v 'warning: ' >&2; return "${PIPESTATUS[0]}"; }

# run_tool ARGS...: run "$TOOL ARGS..." (killed after ${TOOL_TIMEOUT:-20} s); sets $out (stdout),
# $rc (exit status; 124 on timeout) and $err (the file holding stderr).
err=$tmp/.tool-stderr
# With TOOL_ULIMIT_V=KiB set, the tool runs under `ulimit -v KiB` (not in the ASan pass,
# TOOL_SAN=1: ASan reserves terabytes of address space for its shadow memory).
run_tool() {
	out=$(if [ -n "${TOOL_ULIMIT_V:-}" ] && [ "${TOOL_SAN:-0}" != 1 ]; then ulimit -v "$TOOL_ULIMIT_V" || exit 99; fi
		timeout "${TOOL_TIMEOUT:-20}" "$TOOL" "$@" 2>"$err"); rc=$?
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

# --- one-shot bundler helpers (t200-t249) ---
# listing DIR: the tree under DIR, one "PATH MODE TYPE LINKTARGET" line per entry, sorted.
listing() { (cd "$1" && find . -mindepth 1 -printf '%P %m %y %l\n' | LC_ALL=C sort); }
# assert_no_output DESC NAME: nothing named NAME or NAME.magicpak-* exists (a failed run left nothing).
assert_no_output() {
	local left
	left=$(cd "$(dirname "$2")" && ls -d -- "$(basename "$2")" "$(basename "$2")".magicpak-* 2>/dev/null)
	assert_eq "$1: nothing named $(basename "$2") or $(basename "$2").magicpak-* left" "$left" ""
}
# contain_setup: the E-CONTAIN fixture. $tmp/sentinel/{etc/passwd,victim} with their sha256 sums and a
# listing of $tmp/sentinel saved, then $tmp/stamp. Make every other fixture BEFORE calling it.
# Calling it again keeps the sentinel and only renews the stamp.
contain_setup() {
	if [ ! -e "$tmp/.sentinel.sums" ]; then
		mkdir -p "$tmp/sentinel/etc"
		echo "root:x:0:0:sentinel:/root:/bin/sh" >"$tmp/sentinel/etc/passwd"
		echo "sentinel victim" >"$tmp/sentinel/victim"
		(cd "$tmp/sentinel" && sha256sum etc/passwd victim) >"$tmp/.sentinel.sums"
		listing "$tmp/sentinel" >"$tmp/.sentinel.list"
	fi
	sleep 0.05; touch "$tmp/stamp"; sleep 0.05
}
# contain_check DESC OUT [DIR...]: E-CONTAIN after a run that wrote (at most) OUT. The sentinel sums and
# listing are unchanged, and `find / -xdev -newer $tmp/stamp` (minus OUT, /proc and the stamp) lists nothing
# unexpected. The whole machine is busy with other work, so "unexpected" means: anything under $tmp other
# than $tmp itself and its own bookkeeping, or anywhere else a non-directory named like an entry of the
# bundle or like OUT.magicpak-*; other tests' directories (/tmp/magicpak-test.*) are left out. Each DIR
# given is also checked the same way as the sentinel (its listing must not change: pass its listing file
# as saved with `listing DIR >FILE` in DIR=FILE form).
contain_check() {
	local desc=$1 o=$2 found bad
	shift 2
	check "$desc: sentinel contents unchanged" sh -c 'cd "$1/sentinel" && sha256sum -c --quiet "$1/.sentinel.sums"' sh "$tmp"
	assert_eq "$desc: sentinel tree unchanged" "$(listing "$tmp/sentinel")" "$(cat "$tmp/.sentinel.list")"
	local d
	for d in "$@"; do
		assert_eq "$desc: ${d%%=*} unchanged" "$(listing "${d%%=*}")" "$(cat "${d#*=}")"
	done
	if [ -d "$o" ]; then find "$o" -mindepth 1 -printf '%f\n' | LC_ALL=C sort -u; fi >"$tmp/.bundle-names"
	found=$(find / -xdev -newer "$tmp/stamp" -not -path "$o" -not -path "$o/*" -not -path '/proc/*' \
		-not -path "$tmp/stamp" -not -path "$tmp" -not -path "$tmp/.*" -printf '%y %p\n' 2>/dev/null)
	bad=$(printf '%s\n' "$found" | awk -v tmp="$tmp" -v o="$(basename "$o")" -v nf="$tmp/.bundle-names" '
		FILENAME == nf { if ($0 != "") want[$0] = 1; next }
		$0 == "" { next }
		{ t = substr($0, 1, 1); p = substr($0, 3); b = p; sub(/.*\//, "", b) }
		index(p, tmp "/") == 1 { print p; next }
		p ~ /^\/tmp\/magicpak-test\./ { next }
		b ~ ("^" o "\\.magicpak-") { print p; next }
		t != "d" && (b in want) { print p }' "$tmp/.bundle-names" -)
	assert_eq "$desc: nothing unexpected written outside the bundle (find / -xdev -newer stamp)" "$bad" ""
}
# --- end of one-shot bundler helpers ---

# --- record helpers (t300-t339) ---
# sql DB QUERY...: run QUERY with the sqlite3 shell (no header, '|' separator), rows on stdout.
sql() { local d=$1; shift; sqlite3 -batch -noheader "$d" "$@"; }
require_sqlite3() { command -v sqlite3 >/dev/null || skip "no sqlite3 shell"; }
# require_ptrace: magicpak record works at all here (it needs ptrace and seccomp).
require_ptrace() {
	"$TOOL" record --db "$tmp/.probe.db" -- /bin/true >/dev/null 2>&1 || {
		echo "magicpak record -- /bin/true failed here:"; "$TOOL" record --db "$tmp/.probe2.db" -- /bin/true 2>&1 | sed 's/^/    /'
		skip "magicpak record cannot trace /bin/true here (ptrace or seccomp not available?)"; }
	rm -f "$tmp"/.probe*.db*
}
# record_fixture NAME [CC-ARGS...]: build tests/fixtures/record/NAME.c into $tmp/NAME.
record_fixture() {
	local n=$1; shift
	cc_quiet -O0 -g -o "$tmp/$n" "$TESTS_DIR/fixtures/record/$n.c" "$@" || { echo "FAIL: cannot build fixture $n"; exit 1; }
}
# record_rc DB ARGS...: run `magicpak record --db DB ARGS...` (under timeout ${TOOL_TIMEOUT:-20}); sets $out, $rc, $err.
record_rc() { local d=$1; shift; run_tool record --db "$d" "$@"; }
# has_row DESC ROWS LINE: LINE is one of the newline-separated ROWS (exact match).
has_row() {
	t_n=$((t_n + 1))
	if printf '%s\n' "$2" | grep -qxF -- "$3"; then pass "$1"; else
		fail "$1: no row '$3' among:"; printf '%s\n' "$2" | head -40 | sed 's/^/    /'; fi
}
# lacks_row DESC ROWS LINE: LINE is not among ROWS.
lacks_row() {
	t_n=$((t_n + 1))
	if printf '%s\n' "$2" | grep -qxF -- "$3"; then fail "$1: unexpected row '$3'"; else pass "$1"; fi
}
# wait_for SECONDS COMMAND...: poll (every 50 ms) until COMMAND succeeds; fails after SECONDS.
wait_for() {
	local end; end=$(awk -v s="$1" -v n="$EPOCHREALTIME" 'BEGIN{printf "%.3f", n+s}'); shift
	until "$@"; do
		awk -v e="$end" -v n="$EPOCHREALTIME" 'BEGIN{exit !(n > e)}' && return 1
		sleep 0.05
	done
}
# elapsed START: seconds since START (an $EPOCHREALTIME value), two decimals.
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}'; }
# wait_exec PID [PROGRAM]: wait (5 s at most) until the background job PID has exec'd PROGRAM (default
# $TOOL). Signal a job only after that: bash's forked child runs the script's EXIT trap (rm -rf $tmp)
# when a signal kills it before its exec.
wait_exec() {
	local want; want=$(readlink -f "${2:-$TOOL}")
	wait_for 5 sh -c '[ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$2" ]' sh "$1" "$want"
}
# marked_pids TEXT: the pids of processes whose command line contains TEXT (a literal, no regex
# characters), never the pgrep or a shell that has TEXT only in its own pattern argument.
marked_pids() { pgrep -f "[${1:0:1}]${1:1}"; }
no_marked() { [ -z "$(marked_pids "$1")" ]; }
# --- end of record helpers ---

# --- jail helpers (t400-t429) ---
# jail_fixture NAME: build tests/fixtures/jail/NAME.c into $tmp/NAME.
jail_fixture() {
	cc_quiet -O0 -o "$tmp/$1" "$TESTS_DIR/fixtures/jail/$1.c" || { echo "FAIL: cannot build fixture $1"; exit 1; }
}
# jail_bundle OUT ARGS...: make a bundle with `$TOOL ARGS... OUT`; a failure ends the test.
jail_bundle() {
	local o=$1; shift
	"$TOOL" "$@" "$o" >"$tmp/.bundle.log" 2>&1 || { echo "FAIL: cannot bundle $* into $o:"; sed 's/^/    /' "$tmp/.bundle.log"; exit 1; }
}
# require_jail: `magicpak test` can set up a jail here (root, or user namespaces); else skip.
require_jail() {
	[ -e "$tmp/.jail-true" ] || jail_bundle "$tmp/.jail-true" /bin/true
	"$TOOL" test "$tmp/.jail-true" --no-diagnose -- /bin/true >/dev/null 2>"$tmp/.jail.err"
	case $? in
	0) ;;
	3) skip "magicpak test cannot set up a jail here: $(cat "$tmp/.jail.err")" ;;
	*) echo "FAIL: magicpak test -- /bin/true in a bundle of /bin/true:"; sed 's/^/    /' "$tmp/.jail.err"; exit 1 ;;
	esac
}
# run_test ARGS...: run_tool test ARGS... (sets $out, $rc, $err).
run_test() { run_tool test "$@"; }
# tree_state DIR: listing plus the sha256 of every regular file, to compare a tree before/after.
tree_state() { listing "$1"; (cd "$1" && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2); }
# last_line FILE: the last "magicpak: " line of FILE.
last_line() { grep '^magicpak: ' "$1" | tail -n 1; }
# --- end of jail helpers ---

# --- history bundle helpers (t500-t529) ---
# rec DB ARGS...: `magicpak record --db DB ARGS...`; a failure ends the test.
rec() {
	local d=$1; shift
	"$TOOL" record --db "$d" "$@" >"$tmp/.rec.out" 2>&1 || { echo "FAIL: magicpak record --db $d $* failed:"; sed 's/^/    /' "$tmp/.rec.out"; exit 1; }
}
# bundle_rc DB ARGS...: run `magicpak bundle --db DB ARGS...`; sets $out, $rc, $err.
bundle_rc() { local d=$1; shift; run_tool bundle --db "$d" "$@"; }
# use_dbdir: $dbdir, a directory for databases next to $tmp (removed with it): contain_check flags
# anything new under $tmp, and a read-only SQLite open still updates the database's -shm file.
use_dbdir() { dbdir=$tmp.db; mkdir -p "$dbdir"; trap 'rm -rf "$tmp" "$dbdir"' EXIT; }
# no_secret DESC DIR: nothing under DIR holds SENTINEL-SECRET.
no_secret() { check "$1: no SENTINEL-SECRET under $(basename "$2")" sh -c '! grep -rq SENTINEL-SECRET "$1" 2>/dev/null' sh "$2"; }
# --- end of history bundle helpers ---

# --- history helpers (t530-t559) ---
# json_check DESC JSON PYTHON: JSON parses (json.load) and the Python expression PYTHON, with the
# document as `d`, is true; on failure the expression's value (or the parse error) is shown.
json_check() {
	t_n=$((t_n + 1))
	local why
	if why=$(printf '%s' "$2" | python3 -c '
import json, sys
d = json.load(sys.stdin)
v = eval(sys.argv[1])
if not v:
    print("false: " + sys.argv[1]); sys.exit(1)' "$3" 2>&1); then pass "$1"; else
		fail "$1: $why"; printf '%s\n' "$2" | head -20 | sed 's/^/    /'; fi
}
# history_db DB: record the known sessions t530-t559 use into DB (needs record_fixture readwrite):
#   1 "first"  cat A (A="one")           2 "second" readwrite A B (A changed to "two!", B written,
#   3 "first"  cat A C (C missing)          a library missing, exec /bin/true)
history_db() {
	local d=$1
	echo one >"$tmp/A.txt"
	record_rc "$d" --label first /bin/cat "$tmp/A.txt"
	[ "$rc" = 0 ] || { echo "FAIL: cannot record session 1:"; cat "$err"; exit 1; }
	sleep 0.02; echo 'two!' >"$tmp/A.txt"
	record_rc "$d" --label second "$tmp/readwrite" "$tmp/A.txt" "$tmp/B.txt"
	[ "$rc" = 0 ] || { echo "FAIL: cannot record session 2:"; cat "$err"; exit 1; }
	record_rc "$d" --label first /bin/cat "$tmp/A.txt" "$tmp/C.txt"
	[ "$rc" = 1 ] || { echo "FAIL: session 3 (cat of a missing file) exit $rc, want 1:"; cat "$err"; exit 1; }
}
# long_paths_history DB N: N empty files p0... with 200-byte names in the directory $long, and
# in DB two sessions: 1 stats each of them once ($tmp/statloop, which the caller built from
# tests/fixtures/store/statloop.c), 2 runs /bin/true. For `diff` at size (t543, t546).
long_paths_history() {
	local d=$1 n=$2
	long=$tmp/e/$(printf 'x%.0s' $(seq 180))
	mkdir -p "$long"
	python3 -c 'import os, sys
for i in range(int(sys.argv[2])): os.close(os.open("%s/p%d" % (sys.argv[1], i), os.O_CREAT | os.O_WRONLY, 0o644))' "$long" "$n"
	"$TOOL" record --db "$d" -- "$tmp/statloop" "$long" "$n" 1 >/dev/null 2>"$tmp/err" ||
		{ echo "FAIL: cannot record the $n stats: $(head -n 3 "$tmp/err")"; exit 1; }
	"$TOOL" record --db "$d" -- /bin/true >/dev/null 2>"$tmp/err" ||
		{ echo "FAIL: cannot record /bin/true: $(head -n 3 "$tmp/err")"; exit 1; }
}
# --- end of history helpers ---

# --- preload helpers (t600-t629) ---
# PRELOAD_LIB: the library next to $TOOL.
PRELOAD_LIB=${PRELOAD_LIB:-$(dirname "$TOOL")/libmagicpak-preload.so}
# require_preload: the library is built and `record --via preload -- /bin/true` works here.
require_preload() {
	[ -r "$PRELOAD_LIB" ] || skip "no $PRELOAD_LIB (make builds it)"
	"$TOOL" record --via preload --db "$tmp/.pprobe.db" -- /bin/true >/dev/null 2>&1 || {
		echo "magicpak record --via preload -- /bin/true failed here:"
		"$TOOL" record --via preload --db "$tmp/.pprobe2.db" -- /bin/true 2>&1 | sed 's/^/    /'
		skip "magicpak record --via preload cannot run /bin/true here"; }
	rm -f "$tmp"/.pprobe*.db*
}
# preload_fixture NAME [CC-ARGS...]: build tests/fixtures/preload/NAME.c into $tmp/NAME (or -o).
preload_fixture() {
	local n=$1; shift
	cc_quiet -O2 -g -o "$tmp/$n" "$TESTS_DIR/fixtures/preload/$n.c" "$@" || { echo "FAIL: cannot build fixture $n"; exit 1; }
}
# prows DB [SESSION]: "op|path|errno" of every access in SESSION (default: the last), sorted, unique.
prows() { sql "$1" "select distinct op || '|' || path || '|' || errno from file_accesses
	where session_id = ${2:-(select max(id) from sessions)}" | LC_ALL=C sort -u; }
# start_collector DB SOCK LOG: `magicpak collect -v` in the background ($collector_pid), ready when it logs
# that it is collecting (a stale socket file of a killed collector may still be there before).
start_collector() {
	"$TOOL" -v collect --db "$1" --socket "$2" >"$3" 2>&1 3>&- &
	collector_pid=$!
	wait_for 10 grep -q 'collecting into session' "$3" || { echo "FAIL: collector did not start:"; sed 's/^/    /' "$3"; exit 1; }
}
# --- end of preload helpers ---

# --- image helpers (t800-t829) ---
# ocicheck CMD ARCHIVE...: tests/fixtures/image/ocicheck.py (verify, verify-docker, layer-check,
# layer, config, index, tv), which reads the archive with Python's tarfile/gzip/hashlib/json.
ocicheck() { python3 "$TESTS_DIR/fixtures/image/ocicheck.py" "$@"; }
require_python3() { command -v python3 >/dev/null || skip "no python3"; }
# require_tool NAME: skip unless NAME is installed (scripts/install-deps.sh check installs them).
require_tool() { command -v "$1" >/dev/null || skip "$1 not installed (scripts/install-deps.sh check installs it)"; }
# cfg ARCHIVE PYEXPR: evaluate PYEXPR on the image config `c` (a dict), print the result.
cfg() { ocicheck config "$1" | python3 -c 'import json,sys; c=json.load(sys.stdin); print(eval(sys.argv[1]))' "$2"; }
# podman_run ARGS...: podman run with the flags these machines need (runc, cgroupfs, no network).
podman_run() {
	timeout 120 podman run --rm --runtime runc --cgroup-manager cgroupfs --network none \
		--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$@"
}
# only_files DIR: the names in DIR other than the test library's own dot files, sorted.
only_files() { (cd "$1" && ls -A | grep -v '^\.tool-stderr$' | LC_ALL=C sort); }
# --- end of image helpers ---

# --- bpf helpers (t700-t729) ---
# require_bpf: the eBPF probe really loads here (`record --via bpf -- /bin/true` works); else skip
# with its one-line reason (a build without clang/bpftool, no root, no BTF, no tracepoints).
require_bpf() {
	"$TOOL" record --via bpf --db "$tmp/.bprobe.db" -- /bin/true >/dev/null 2>"$tmp/.bprobe.err" || {
		skip "the eBPF probe cannot run here: $(grep -m1 '^magicpak: ' "$tmp/.bprobe.err")"; }
	rm -f "$tmp"/.bprobe*
}
# bpf_fixture NAME [CC-ARGS...]: build tests/fixtures/bpf/NAME.c into $tmp/NAME.
bpf_fixture() {
	local n=$1; shift
	cc_quiet -O0 -g -o "$tmp/$n" "$TESTS_DIR/fixtures/bpf/$n.c" "$@" || { echo "FAIL: cannot build fixture $n"; exit 1; }
}
# brows DB SOURCE [SESSION]: "op|path|errno" of every access SOURCE recorded in SESSION (default: the
# last), sorted, unique.
brows() { sql "$1" "select distinct op || '|' || path || '|' || errno from file_accesses
	where source = '$2' and session_id = ${3:-(select max(id) from sessions)}" | LC_ALL=C sort -u; }
# --- end of bpf helpers ---
