#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `magicpak probe` loads the eBPF probe ahead of the runs and leaves it kept (collector/probe.c:
# keep) for --keep SECONDS: the next `record --via bpf` attaches it instead of loading its own,
# and records as a fresh probe does. Run again, it takes the kept probe over and keeps it for
# its time. `--stop` withdraws a kept or lingering probe's offer (no later run takes it, and
# none is kept after a linger) and the keeper goes; `--status` says which process holds the
# probe on offer, and whether it keeps or still lingers (none for a keeper killed with
# SIGKILL, whose offer is left behind, and which --stop removes). No history is written. Bad input: one line,
# exit 2, nothing loaded; not root, or no child to keep it: one line, exit 1.
. "$(dirname "$0")/../lib.sh"
require_root
require_sqlite3
require_bpf
trap 'pkill -x magicpak-keep; rm -rf "$tmp"' EXIT
pub=/run/magicpak/bpf-probe
db=$tmp/p.db
unset MAGICPAK_DB
export MAGICPAK_BPF_LINGER_MS=100 MAGICPAK_BPF_KEEP_S=0
# (an exited keeper may wait a while for init to reap it: not counted)
keepers() { pgrep -r R,S,D -x magicpak-keep | sort -n | tr '\n' ' '; }
lingers() { pgrep -r R,S,D -x magicpak-linger | tr '\n' ' '; }
quiet() { pkill -x magicpak-keep; [ -z "$(lingers)$(keepers)" ]; }
wait_for 20 quiet || skip "magicpak-linger or magicpak-keep processes of another run do not go away"
pub_pid() { od -An -t d4 -j 40 -N 4 "$pub" 2>/dev/null | tr -d ' '; }
kept_by() { [ "$(keepers)" = "$1 " ] && [ "$(pub_pid)" = "$1" ]; }
none_kept() { [ -z "$(lingers)$(keepers)" ] && [ ! -e "$pub" ]; }
probe() { "$TOOL" probe "$@" >"$tmp/out" 2>"$tmp/err"; }

probe --keep 30; rc=$?
assert_eq "probe --keep 30: exit 0" "$rc" 0
check "it says it loaded the probe and who keeps it, for how long" \
	grep -Eqx 'bpf probe: loaded and attached in [0-9]+\.[0-9] ms; kept for 30 s by pid [0-9]+' "$tmp/out"
assert_eq "nothing on stderr" "$(cat "$tmp/err")" ""
k=$(grep -Eo '[0-9]+$' "$tmp/out")
check "pid $k keeps it once its linger is over, and offers it" wait_for 5 kept_by "$k"
probe --status; rc=$?
assert_eq "probe --status: exit 0" "$rc" 0
assert_eq "it names the keeper" "$(cat "$tmp/out")" "bpf probe: kept loaded by pid $k, its per-syscall program detached"
check "no history was written" sh -c '! ls "$1"/*.db >/dev/null 2>&1' sh "$tmp"

"$TOOL" -v record --db "$db" --via bpf -- cat /etc/hostname >/dev/null 2>"$tmp/r1"; rc=$?
assert_eq "the next record --via bpf: exit 0" "$rc" 0
assert_contains "it attaches the kept probe instead of loading one" "$(cat "$tmp/r1")" \
	"attaching the one pid $k keeps loaded"
assert_eq "its session is complete, with cat's open of /etc/hostname" \
	"$(sql "$db" "select complete || '|' || (select count(*) from file_accesses a where a.session_id = s.id and path = '/etc/hostname' and op = 'open' and errno = 0) from sessions s")" \
	"1|1"
# that run's child keeps nothing after it (MAGICPAK_BPF_KEEP_S=0), and told the keeper to go
check "after that run, no probe is kept (KEEP_S=0) and the keeper is gone" wait_for 5 none_kept

probe --keep 30
k1=$(grep -Eo '[0-9]+$' "$tmp/out")
check "a probe kept again" wait_for 5 kept_by "$k1"
probe --keep 1; rc=$?
assert_eq "probe run again: exit 0" "$rc" 0
check "it takes the kept one over" grep -Eqx "bpf probe: took over the one pid $k1 held; kept for 1 s by pid [0-9]+" "$tmp/out"
k2=$(grep -Eo '[0-9]+$' "$tmp/out")
check "its own child keeps it now, and the one before is gone" wait_for 5 kept_by "$k2"
start=$EPOCHREALTIME
check "kept for 1 s: then gone, its offer withdrawn" wait_for 10 none_kept
check "... not before its second" awk -v s="$(elapsed "$start")" 'BEGIN { exit !(s > 0.5) }'

probe
k3=$(grep -Eo '[0-9]+$' "$tmp/out")
check "probe with no --keep: kept for 600 s" grep -Eq "kept for 600 s by pid $k3\$" "$tmp/out"
check "kept by pid $k3" wait_for 5 kept_by "$k3"
probe --stop; rc=$?
assert_eq "probe --stop: exit 0" "$rc" 0
assert_eq "it says whose probe it let go" "$(cat "$tmp/out")" "bpf probe: the one pid $k3 held is let go"
check "the keeper goes, its offer withdrawn" wait_for 5 none_kept
"$TOOL" -v record --db "$db" --via bpf -- /bin/true >/dev/null 2>"$tmp/r2"
check "the next run loads its own probe" sh -c '! grep -Eq "attaching the one|reusing the one" "$1"' sh "$tmp/r2"
wait_for 5 none_kept
probe --stop; rc=$?
assert_eq "probe --stop with none kept: exit 0" "$rc" 0
assert_eq "... says none is kept" "$(cat "$tmp/out")" "bpf probe: none is kept"
probe --status
assert_eq "probe --status with none kept says so" "$(cat "$tmp/out")" "bpf probe: none is kept"

# a keeper killed with SIGKILL leaves its offer behind: --status does not name it, a run loads its own
probe --keep 30
k4=$(grep -Eo '[0-9]+$' "$tmp/out")
check "kept by pid $k4" wait_for 5 kept_by "$k4"
kill -9 "$k4"
check "its offer is left behind" test -s "$pub"
probe --status
assert_eq "--status: none is kept (the offer's holder is gone)" "$(cat "$tmp/out")" "bpf probe: none is kept"
probe --stop
assert_eq "--stop: none is kept either" "$(cat "$tmp/out")" "bpf probe: none is kept"
check "... and the offer left behind is removed" test ! -e "$pub"
# once more, for a run to find
probe --keep 30
k4=$(grep -Eo '[0-9]+$' "$tmp/out")
check "kept again by pid $k4" wait_for 5 kept_by "$k4"
kill -9 "$k4"
"$TOOL" -v record --db "$db" --via bpf -- /bin/true >/dev/null 2>"$tmp/r3"; rc=$?
assert_eq "the next run: exit 0" "$rc" 0
check "... it loads its own probe" sh -c '! grep -Eq "attaching the one|reusing the one" "$1"' sh "$tmp/r3"
wait_for 5 none_kept

# let go while it lingers: it is not kept after its linger
MAGICPAK_BPF_LINGER_MS=1500 "$TOOL" probe --keep 30 >"$tmp/out"
l=$(grep -Eo '[0-9]+$' "$tmp/out")
check "a lingering probe is offered" wait_for 2 sh -c '[ "$(od -An -t d4 -j 40 -N 4 "$1" 2>/dev/null | tr -d " ")" = "$2" ]' sh "$pub" "$l"
probe --status
assert_eq "--status during the linger" "$(cat "$tmp/out")" "bpf probe: lingering in pid $l, still attached"
probe --stop
assert_eq "--stop during the linger lets it go" "$(cat "$tmp/out")" "bpf probe: the one pid $l held is let go"
check "after its linger it is not kept" wait_for 5 none_kept

# bad input: exit 2, one line, nothing on stdout, nothing loaded
for bad in "--keep 0" "--keep 86401" "--keep 1x" "--keep -1" "--keep" "--stop --keep 5" "--status --stop" \
	"--keep 5 --status" "extra" "--bogus"; do
	# shellcheck disable=SC2086
	probe $bad; rc=$?
	assert_eq "probe $bad: exit 2" "$rc" 2
	assert_one_error_line "probe $bad: one line" "$tmp/err" "probe"
	assert_eq "probe $bad: nothing on stdout" "$(cat "$tmp/out")" ""
done
assert_contains "--keep 0 names the value and the range" "$(probe --keep 0; cat "$tmp/err")" \
	"--keep '0' is not a whole number of seconds from 1 to 86400"
sleep 0.3
check "bad input loaded nothing" none_kept

# setpriv is util-linux's, on every Debian: without it the non-root checks would not run
command -v setpriv >/dev/null || fail "no setpriv: the checks without root cannot run"
if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$TOOL" probe >"$tmp/out" 2>"$tmp/err"; rc=$?
	assert_eq "not root: exit 1" "$rc" 1
	assert_one_error_line "not root: one line" "$tmp/err" "probe: keeping the probe for later runs needs root"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$TOOL" probe --stop >"$tmp/out" 2>"$tmp/err"; rc=$?
	assert_eq "not root, --stop: exit 1" "$rc" 1
	assert_one_error_line "not root, --stop: one line" "$tmp/err" "--stop needs root"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$TOOL" probe --status >"$tmp/out" 2>"$tmp/err"; rc=$?
	assert_eq "not root, --status: exit 1" "$rc" 1
	assert_one_error_line "not root, --status: one line" "$tmp/err" "--status needs root"
fi
MAGICPAK_BPF_LINGER_MS=0 "$TOOL" probe >"$tmp/out" 2>"$tmp/err"; rc=$?
assert_eq "no child to keep it (LINGER_MS=0): exit 1" "$rc" 1
assert_one_error_line "... one line saying so" "$tmp/err" "MAGICPAK_BPF_LINGER_MS=0 turns keeping off"
check "... nothing kept" wait_for 2 none_kept
done_testing
