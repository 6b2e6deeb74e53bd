#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# After `record --via bpf`, a child named magicpak-linger holds the probe's links and maps for
# MAGICPAK_BPF_LINGER_MS (collector/probe.c: linger): it is nobody's child in the session, it
# holds nothing else (no history file, no terminal), it is gone soon after, and with
# MAGICPAK_BPF_LINGER_MS=0 there is none. A second run started meanwhile records normally
# (t717: it takes the probe over).
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_bpf
db=$tmp/l.db
lingerers() { pgrep -x magicpak-linger | sort -n; }
none_left() { [ -z "$(lingerers)" ]; }
wait_for 20 none_left || skip "magicpak-linger processes of another run do not go away"

MAGICPAK_BPF_LINGER_MS=3000 "$TOOL" record --db "$db" --via bpf -- sh -c 'cat /etc/hostname >/dev/null'
assert_eq "record --via bpf exits 0" "$?" 0
pids=$(lingerers)
assert_eq "one magicpak-linger child after the run" "$(echo "$pids" | grep -c .)" 1
pid=$(echo "$pids" | head -n 1)
# (its pipe from magicpak, until it has read the end of it)
fds_of() { ls -l /proc/"$1"/fd 2>/dev/null | awk 'NR > 1 { print $NF }' | grep -v '^pipe:' | sort | uniq -c | awk '{ print $1, $2 }'; }
want=$(printf '3 anon_inode:bpf-map\n4 anon_inode:bpf_link')
wait_for 5 sh -c '[ "$(ls -l /proc/"$1"/fd 2>/dev/null | grep -c pipe:)" = 0 ]' sh "$pid"
assert_eq "it holds the four links (sys_exit, fork, exec, exit), the three maps a next run takes over (tables, track_bits, events), nothing else" \
	"$(fds_of "$pid")" "$want"
check "record returned while it still lives (record does not wait for it)" kill -0 "$pid"
# It shares magicpak's memory: neither a handler of magicpak's nor a default action (a core
# dump) may run in it. A terminal's signals to the process group stay blocked there.
blocked() { # blocked PID SIGNO: is SIGNO in PID's blocked mask?
	local m
	m=$(awk '/^SigBlk:/ { print $2 }' /proc/"$1"/status) || return 1
	[ $(( (0x$m >> ($2 - 1)) & 1 )) = 1 ]
}
for sig in 1:HUP 2:INT 3:QUIT 15:TERM 20:TSTP; do
	check "it blocks SIG${sig#*:}" blocked "$pid" "${sig%%:*}"
done
for sig in INT QUIT TSTP TERM HUP; do kill -s "$sig" "$pid" 2>/dev/null; done
sleep 0.2
check "... and runs on after them" \
	sh -c 'kill -0 "$1" && [ "$(awk "/^State:/ { print \$2 }" /proc/"$1"/status)" != T ]' sh "$pid"
assert_eq "the session's processes are sh and cat only" \
	"$(sql "$db" "select group_concat(executable, ' ') from (select executable from processes order by pid)" | tr ' ' '\n' | sed 's|.*/||' | sort | tr '\n' ' ')" \
	"cat sh "
# a run that loads its own probe next to the lingering links (another ring size: it does not
# take the lingering probe over, t717)
MAGICPAK_BPF_RINGBUF_PAGES=128 "$TOOL" record --db "$db" --via bpf -- sh -c 'cat /etc/hostname >/dev/null'
assert_eq "a run while the first one's links linger is recorded complete" \
	"$(sql "$db" 'select complete from sessions order by id desc limit 1')" 1
check "the lingering child is gone within 10 s" wait_for 10 sh -c '! kill -0 "$1" 2>/dev/null' sh "$pid"
check "and so is every other one" wait_for 20 none_left
MAGICPAK_BPF_LINGER_MS=0 "$TOOL" record --db "$db" --via bpf -- true
assert_eq "MAGICPAK_BPF_LINGER_MS=0: no linger child" "$(lingerers)" ""
done_testing
