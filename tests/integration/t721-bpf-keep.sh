#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# After its linger, the child of `record --via bpf` keeps the probe no run took for
# MAGICPAK_BPF_KEEP_S seconds (collector/probe.c: keep), its per-syscall program loaded and
# attached to nothing, as a process named magicpak-keep holding the three maps, that program
# and the links of the three process programs (fork, exec, exit). The next run attaches the
# program instead of loading its own and records as a fresh probe does; the keeper goes once
# that run's linger is over, and that run's own child keeps the same programs after it. A
# keeper ends at its time, on SIGTERM, SIGINT or SIGHUP (not on one sent while it lingered),
# or when a newer probe replaces its own, withdrawing what it published each time; with
# MAGICPAK_BPF_KEEP_S=0 there is none.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_bpf
command -v bpftool >/dev/null || skip "no bpftool (scripts/install-deps.sh installs it)"
trap 'pkill -x magicpak-keep; rm -rf "$tmp"' EXIT
pub=/run/magicpak/bpf-probe
db=$tmp/k.db
export MAGICPAK_BPF_LINGER_MS=100 MAGICPAK_BPF_KEEP_S=30
# (a keeper that has exited may wait a while for its parent, init, to reap it: not counted)
keepers() { pgrep -r R,S,D -x magicpak-keep | sort -n; }
gone() { local st; st=$(awk '{ print $3 }' /proc/"$1"/stat 2>/dev/null); [ -z "$st" ] || [ "$st" = Z ]; }
quiet() { pkill -x magicpak-keep; [ -z "$(pgrep -x magicpak-linger)$(keepers)" ]; }
wait_for 20 quiet || skip "magicpak-linger or magicpak-keep processes of another run do not go away"
pub_pid() { od -An -t d4 -j 40 -N 4 "$pub" 2>/dev/null | tr -d ' '; }
published_by() { [ "$(pub_pid)" = "$1" ]; }
fds_of() { ls -l /proc/"$1"/fd 2>/dev/null | awk 'NR > 1 { print $NF }' | sort | uniq -c | awk '{ print $1, $2 }'; }
# the ids of the programs behind PID's fds of KIND (prog: the programs it holds; link: those
# on its links; any: both), sorted, one line
prog_ids() {
	local f
	for f in /proc/"$1"/fdinfo/*; do
		case $2 in any) ;; *) grep -q "^$2_type:" "$f" 2>/dev/null || continue ;; esac
		awk '/^prog_id:/ { print $2 }' "$f" 2>/dev/null
	done | sort -n | tr '\n' ' '
}
# the name of a program (bpftool)
prog_name() { bpftool prog show id "$1" 2>/dev/null | awk 'NR == 1 { for (i = 1; i < NF; i++) if ($i == "name") print $(i + 1) }'; }
# unattached IDS: bpftool lists the links, and none of them runs one of IDS
unattached() {
	local links
	links=$(bpftool link show) || return 1
	for i in $1; do grep -Eq " prog $i( |\$)" <<<"$links" && return 1; done
	return 0
}
loaded() { for i in $1; do bpftool prog show id "$i" >/dev/null 2>&1 || return 1; done; }
unloaded() { for i in $1; do bpftool prog show id "$i" >/dev/null 2>&1 && return 1; done; return 0; }
one_keeper() { [ "$(keepers | grep -c .)" = 1 ]; }
rec() { "$TOOL" "$@" >/dev/null; }

rec record --db "$db" --via bpf -- cat /etc/hostname
assert_eq "run A exits 0" "$?" 0
check "after A's linger, one magicpak-keep" wait_for 5 one_keeper
k=$(keepers)
check "it publishes its probe" wait_for 5 published_by "$k"
assert_eq "it holds the three maps, one program and three links, nothing else" \
	"$(fds_of "$k")" "$(printf '3 anon_inode:bpf-map\n1 anon_inode:bpf-prog\n3 anon_inode:bpf_link')"
read -r sysid _ <<<"$(prog_ids "$k" prog)"
lids=$(prog_ids "$k" link)
ids=$(prog_ids "$k" any)
assert_eq "the program is sys_exit's" "$(prog_name "$sysid")" sys_exit
assert_eq "the links run the fork, exec and exit programs" \
	"$(for i in $lids; do prog_name "$i"; done | sort | tr '\n' ' ')" "on_exec on_exit_task on_fork "
check "loaded" loaded "$ids"
check "sys_exit's attached to nothing" unattached "$sysid"
check "it left the run's directory and session" sh -c \
	'[ "$(readlink /proc/"$1"/cwd)" = / ] && [ "$(ps -o sid= -p "$1" | tr -d " ")" = "$1" ]' sh "$k"

# B attaches them: its command sees them on links while it runs
"$TOOL" -v record --db "$db" --via bpf -- sh -c \
	'cat /etc/hostname >/dev/null; bpftool link show >"$1"; awk "{ print \$3 }" /proc/"$2"/stat >"$3"' \
	sh "$tmp/during" "$k" "$tmp/kstate" 2>"$tmp/b.err"
assert_eq "run B exits 0" "$?" 0
assert_contains "B attaches the kept probe" "$(cat "$tmp/b.err")" "attaching the one pid $k keeps loaded"
check "while B runs, each of the four programs is on a link" \
	sh -c 'for i in $1; do grep -Eq " prog $i( |\$)" "$2" || exit 1; done' sh "$ids" "$tmp/during"
b=$(sql "$db" 'select max(id) from sessions')
assert_eq "B's session is complete, with cat's open of /etc/hostname" \
	"$(sql "$db" "select complete || '|' || (select count(*) from file_accesses where session_id = $b and path = '/etc/hostname' and op = 'open' and errno = 0) from sessions where id = $b")" \
	"1|1"
assert_eq "and its processes: sh, cat, bpftool, awk" \
	"$(sql "$db" "select executable from processes where session_id = $b" | sed 's|.*/||' | sort | tr '\n' ' ')" "awk bpftool cat sh "
# (its exit, tearing down the memory of the run it outlived, is left out of B's start)
check "A's keeper was still there while B's command ran" grep -qx '[RSD]' "$tmp/kstate"
check "the keeper of A's probe is gone" wait_for 5 gone "$k"
check "after B's linger, one keeper again" wait_for 5 one_keeper
k2=$(keepers)
check "another process" test "$k2" != "$k"
assert_eq "keeping the same programs: loaded once, for A" "$(prog_ids "$k2" any)" "$ids"
check "sys_exit's attached to nothing again" unattached "$sysid"

# SIGTERM: it ends, withdraws what it published, and the programs go
check "the file names B's keeper" wait_for 5 published_by "$k2"
kill -TERM "$k2"
check "SIGTERM ends a keeper" wait_for 5 gone "$k2"
check "which withdraws its file" test ! -e "$pub"
check "and its programs are unloaded" wait_for 5 unloaded "$ids"
for sig in INT HUP; do
	rec record --db "$db" --via bpf -- true
	wait_for 5 one_keeper && kp=$(keepers) && wait_for 5 published_by "$kp"
	kill -s "$sig" "$kp"
	check "SIG$sig ends a keeper too" wait_for 5 gone "$kp"
	check "its file withdrawn" test ! -e "$pub"
done

# a signal sent while the child lingered (blocked then) does not end the keeping
MAGICPAK_BPF_LINGER_MS=1500 rec record --db "$db" --via bpf -- true
assert_eq "a run with a 1.5 s linger exits 0" "$?" 0
lp=$(pgrep -x magicpak-linger)
check "it lingers" test -n "$lp"
kill -TERM "$lp"
check "that child keeps the probe after its linger" wait_for 5 sh -c '[ "$(pgrep -r R,S,D -x magicpak-keep)" = "$1" ]' sh "$lp"
sleep 0.5
check "and still does 0.5 s later" published_by "$lp"
pkill -x magicpak-keep; wait_for 5 gone "$lp"

# its time
MAGICPAK_BPF_KEEP_S=1 rec record --db "$db" --via bpf -- true
assert_eq "a run with MAGICPAK_BPF_KEEP_S=1 exits 0" "$?" 0
check "a keeper" wait_for 5 one_keeper
k3=$(keepers)
sleep 0.3
check "alive 0.3 s later" test "$(keepers)" = "$k3"
check "gone within 5 s" wait_for 5 gone "$k3"
check "its file withdrawn" test ! -e "$pub"

# a newer probe of another shape (a one-page ring: it loads its own) replaces the kept one,
# whose keeper goes
rec record --db "$db" --via bpf -- true
check "a keeper" wait_for 5 one_keeper
k4=$(keepers)
wait_for 5 published_by "$k4"
MAGICPAK_BPF_RINGBUF_PAGES=1 "$TOOL" -v record --db "$db" --via bpf -- true 2>"$tmp/d.err"
assert_eq "a run with another ring size exits 0" "$?" 0
check "and loads its own probe" sh -c '! grep -q "the one a previous run" "$1"' sh "$tmp/d.err"
check "the keeper of the replaced probe goes" wait_for 5 gone "$k4"
check "the newer one is kept" wait_for 5 one_keeper
check "and published" wait_for 5 published_by "$(keepers)"
check "no keeper left once they are ended" wait_for 5 quiet

MAGICPAK_BPF_KEEP_S=0 rec record --db "$db" --via bpf -- true
assert_eq "a run with MAGICPAK_BPF_KEEP_S=0 exits 0" "$?" 0
check "its linger ends" wait_for 5 sh -c '[ -z "$(pgrep -x magicpak-linger)" ]'
assert_eq "MAGICPAK_BPF_KEEP_S=0: no keeper after the linger" "$(keepers)" ""
check "nothing published" test ! -e "$pub"
done_testing
