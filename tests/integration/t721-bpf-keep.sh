#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# After its linger, the child of `record --via bpf` keeps the probe no run took, loaded and
# attached to nothing, for MAGICPAK_BPF_KEEP_S seconds (collector/probe.c: keep), as a process
# named magicpak-keep holding the three maps and four programs and no link. The next run
# attaches those programs instead of loading its own and records as a fresh probe does; the
# keeper then goes, and that run's own child keeps the same programs after it. A keeper ends at
# its time, on SIGTERM, or when a newer probe replaces its own, withdrawing what it published
# each time; with MAGICPAK_BPF_KEEP_S=0 there is none.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_bpf
command -v bpftool >/dev/null || skip "no bpftool (scripts/install-deps.sh installs it)"
pub=/run/magicpak/bpf-probe
db=$tmp/k.db
export MAGICPAK_BPF_LINGER_MS=100 MAGICPAK_BPF_KEEP_S=30
# (a keeper that has exited may wait a while for its parent, init, to reap it: not counted)
keepers() { pgrep -r R,S,D -x magicpak-keep | sort -n; }
gone() { local st; st=$(awk '{ print $3 }' /proc/"$1"/stat 2>/dev/null); [ -z "$st" ] || [ "$st" = Z ]; }
quiet() { pkill -x magicpak-keep; [ -z "$(pgrep -x magicpak-linger)$(keepers)" ]; }
wait_for 20 quiet || skip "magicpak-linger or magicpak-keep processes of another run do not go away"
pub_pid() { od -An -t d4 -j 40 -N 4 "$pub" 2>/dev/null | tr -d ' '; }
fds_of() { ls -l /proc/"$1"/fd 2>/dev/null | awk 'NR > 1 { print $NF }' | sort | uniq -c | awk '{ print $1, $2 }'; }
# the ids of the programs a process holds, sorted, one line
prog_ids() { grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{ print $2 }' | sort -n | tr '\n' ' '; }
# the ids of the programs some link attaches
linked() { bpftool link show | sed -n 's/.* prog \([0-9]*\).*/\1/p' | sort -n | tr '\n' ' '; }
one_keeper() { [ "$(keepers | grep -c .)" = 1 ]; }

"$TOOL" record --db "$db" --via bpf -- cat /etc/hostname >/dev/null
assert_eq "run A exits 0" "$?" 0
check "after A's linger, one magicpak-keep" wait_for 5 one_keeper
k=$(keepers)
check "it publishes its probe" wait_for 5 sh -c '[ "$(od -An -t d4 -j 40 -N 4 "$1" 2>/dev/null | tr -d " ")" = "$2" ]' sh "$pub" "$k"
assert_eq "it holds the three maps and the four programs, no link, nothing else" \
	"$(fds_of "$k")" "$(printf '3 anon_inode:bpf-map\n4 anon_inode:bpf-prog')"
ids=$(prog_ids "$k")
assert_eq "four programs" "$(wc -w <<<"$ids")" 4
attached=$(linked)
check "none of them is attached" sh -c 'for i in $1; do case " $2" in *" $i "*) exit 1 ;; esac; done' sh "$ids" "$attached"

"$TOOL" -v record --db "$db" --via bpf -- cat /etc/hostname 2>"$tmp/b.err" >/dev/null
assert_eq "run B exits 0" "$?" 0
assert_contains "B attaches the kept probe" "$(cat "$tmp/b.err")" "reusing the one a previous run left loaded (pid $k)"
b=$(sql "$db" 'select max(id) from sessions')
assert_eq "B's session is complete, with cat's open of /etc/hostname and cat alone" \
	"$(sql "$db" "select complete || '|' || (select count(*) from file_accesses where session_id = $b and path = '/etc/hostname' and op = 'open' and errno = 0) || '|' || (select group_concat(executable) from processes where session_id = $b) from sessions where id = $b")" \
	"1|1|/usr/bin/cat"
check "the keeper of A's probe is gone" wait_for 5 gone "$k"
check "after B's linger, one keeper again" wait_for 5 one_keeper
k2=$(keepers)
check "another process" test "$k2" != "$k"
assert_eq "keeping the same programs: loaded once, for A" "$(prog_ids "$k2")" "$ids"
check "attached to nothing again" sh -c 'for i in $1; do case " $2" in *" $i "*) exit 1 ;; esac; done' sh "$ids" "$(linked)"

# SIGTERM: it ends, and withdraws what it published
check "the file names B's keeper" wait_for 5 sh -c '[ "$(od -An -t d4 -j 40 -N 4 "$1" 2>/dev/null | tr -d " ")" = "$2" ]' sh "$pub" "$k2"
kill -TERM "$k2"
check "SIGTERM ends a keeper" wait_for 5 gone "$k2"
check "which withdraws its file" test ! -e "$pub"
check "and its programs are unloaded" wait_for 5 sh -c 'for i in $1; do ! bpftool prog show id "$i" >/dev/null 2>&1 || exit 1; done' sh "$ids"

# its time
MAGICPAK_BPF_KEEP_S=1 "$TOOL" record --db "$db" --via bpf -- true
check "MAGICPAK_BPF_KEEP_S=1: a keeper" wait_for 5 one_keeper
k3=$(keepers)
check "gone within 5 s" wait_for 5 gone "$k3"
check "its file withdrawn" test ! -e "$pub"

# a newer probe of another shape (a one-page ring: it loads its own) replaces the kept one,
# whose keeper goes
"$TOOL" record --db "$db" --via bpf -- true
check "a keeper" wait_for 5 one_keeper
k4=$(keepers)
MAGICPAK_BPF_RINGBUF_PAGES=1 "$TOOL" -v record --db "$db" --via bpf -- true 2>"$tmp/d.err"
check "a run with another ring size loads its own probe" sh -c '! grep -q "reusing the one" "$1"' sh "$tmp/d.err"
check "the keeper of the replaced probe goes" wait_for 5 gone "$k4"
check "the newer one is kept" wait_for 5 one_keeper
check "and published" sh -c '[ "$(od -An -t d4 -j 40 -N 4 "$1" | tr -d " ")" = "$2" ]' sh "$pub" "$(keepers)"
pkill -x magicpak-keep
wait_for 5 quiet

MAGICPAK_BPF_KEEP_S=0 "$TOOL" record --db "$db" --via bpf -- true
wait_for 5 sh -c '[ -z "$(pgrep -x magicpak-linger)" ]'
assert_eq "MAGICPAK_BPF_KEEP_S=0: no keeper after the linger" "$(keepers)" ""
check "nothing published" test ! -e "$pub"
done_testing
