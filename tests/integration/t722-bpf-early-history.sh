#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# While a run loads its own probe (none kept from an earlier run), the history is opened on the
# other CPU, and the session begins only once the command starts (collector/store.c:
# store_open_early). Checked: the opening is said (-v -v) and the session it begins is whole,
# started before the command's first access, under --via bpf and under --bpf (ptrace beside the
# probe); when the programs then fail to load (bpf(BPF_PROG_LOAD) refused by a seccomp filter),
# `--via bpf` exits 1 with its one line and the history gains nothing: no session, the file
# and its WAL unchanged, still whole (RELIABILITY BPF-06); `--bpf` records with ptrace alone,
# in the session opened early.
. "$(dirname "$0")/../lib.sh"
require_root
require_sqlite3
require_ptrace
require_bpf
require_cc
bpf_fixture no_prog_load
# no probe outlives a run here, and none an earlier test left is taken: every run loads its own
export MAGICPAK_BPF_LINGER_MS=0
pkill -x magicpak-keep 2>/dev/null
wait_for 5 sh -c '! pgrep -x magicpak-linger >/dev/null && ! pgrep -r R,S,D -x magicpak-keep >/dev/null' ||
	fail "a lingering or kept probe of an earlier test is still there"
db=$tmp/h.db
rec "$db" --label before -- /bin/true
sessions() { sql "$db" 'select count(*) from sessions'; }

"$TOOL" -v -v record --db "$db" --via bpf -- /bin/cat /etc/hostname >/dev/null 2>"$tmp/e1"; rc=$?
assert_eq "--via bpf, loading its probe: exit 0" "$rc" 0
assert_contains "--via bpf: the history is opened while the probe loads" "$(cat "$tmp/e1")" \
	"bpf probe: loading it, and opening '$db' meanwhile"
assert_contains "--via bpf: ... and the session begun once the command ran" "$(cat "$tmp/e1")" \
	"begun, in"
assert_contains "--via bpf: ... said so" "$(cat "$tmp/e1")" "ahead of the command and while it ran"
assert_eq "--via bpf: a second, complete session" "$(sql "$db" "select id || '|' || complete || '|' || source from sessions where id = (select max(id) from sessions)")" "2|1|bpf"
has_row "--via bpf: the open is recorded" "$(brows "$db" bpf)" "open|/etc/hostname|0"
assert_eq "--via bpf: no access comes before the session's start" \
	"$(sql "$db" "select count(*) from file_accesses a join sessions s on s.id = a.session_id where s.id = 2 and a.time < s.started_at")" 0

"$TOOL" -v -v record --db "$db" --bpf -- /bin/cat /etc/hostname >/dev/null 2>"$tmp/e2"; rc=$?
assert_eq "--bpf, loading its probe: exit 0" "$rc" 0
assert_contains "--bpf: the history is opened while the probe loads" "$(cat "$tmp/e2")" \
	"bpf probe: loading it, and opening '$db' meanwhile"
assert_eq "--bpf: a complete session of both sources" \
	"$(sql "$db" "select complete || '|' || (select group_concat(distinct source) from (select source from file_accesses where session_id = s.id order by source)) from sessions s where id = 3")" "1|bpf,ptrace"

before=$(sql "$db" 'select group_concat(id) from sessions')
# the file and its WAL, byte for byte (the -shm is an index SQLite may rebuild on any open)
files() { (cd "$tmp" && sha256sum h.db h.db-wal 2>/dev/null); }
files_before=$(files)
"$tmp/no_prog_load" "$TOOL" record --db "$db" --via bpf -- /bin/true >/dev/null 2>"$tmp/e3"; rc=$?
assert_eq "programs refused, --via bpf: exit 1" "$rc" 1
assert_one_error_line "programs refused, --via bpf: one line" "$tmp/e3" \
	"eBPF mode unavailable: cannot load the BPF program: Operation not permitted"
"$tmp/no_prog_load" "$TOOL" -v -v record --db "$db" --via bpf -- /bin/true >/dev/null 2>"$tmp/e4"; rc=$?
assert_eq "programs refused, -v -v: exit 1" "$rc" 1
assert_contains "programs refused: the history had been opened meanwhile" "$(cat "$tmp/e4")" \
	"bpf probe: loading it, and opening '$db' meanwhile"
assert_eq "programs refused: no session was begun" "$(sql "$db" 'select group_concat(id) from sessions')" "$before"
assert_eq "programs refused: the history is whole" "$(sql "$db" 'pragma integrity_check')" ok
assert_eq "programs refused: the file and its WAL are as they were" "$(files)" "$files_before"

"$tmp/no_prog_load" "$TOOL" record --db "$db" --bpf -- /bin/cat /etc/hostname >/dev/null 2>"$tmp/e5"; rc=$?
assert_eq "programs refused, --bpf: records anyway (exit 0)" "$rc" 0
assert_one_error_line "programs refused, --bpf: one line says why" "$tmp/e5" \
	"eBPF probe unavailable: cannot load the BPF program"
assert_eq "programs refused, --bpf: a complete session of ptrace events only" \
	"$(sql "$db" "select id || '|' || complete || '|' || (select group_concat(distinct source) from file_accesses where session_id = s.id) from sessions s where id = (select max(id) from sessions)")" "4|1|ptrace"
has_row "programs refused, --bpf: the open is recorded" "$(brows "$db" ptrace)" "open|/etc/hostname|0"
done_testing
