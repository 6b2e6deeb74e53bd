#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# BPF-06: without privileges (uid 65534 via setpriv) `--bpf` prints one line saying why and records
# with ptrace alone; `--bpf=required` fails; `--via bpf` fails with "try --via ptrace" and makes no
# session.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_root
require_bpf
command -v setpriv >/dev/null || skip "no setpriv"
d=$tmp/nobody; mkdir -p "$d"; chmod 777 "$d"; chmod 755 "$tmp"
nb() { timeout 20 setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$TOOL" "$@"; }
nb record --db "$d/a.db" -- /bin/true 2>"$d/probe.err" || skip "uid 65534 cannot record with ptrace here: $(head -n1 "$d/probe.err")"
nb record --bpf --db "$d/a.db" -- /bin/cat /etc/hostname >/dev/null 2>"$tmp/e1"; rc=$?
check "--bpf without privileges still records (exit $rc)" test "$rc" = 0
assert_one_error_line "--bpf: one line says why" "$tmp/e1" "eBPF probe unavailable: needs root"
assert_eq "the session holds ptrace events only" "$(sql "$d/a.db" "select distinct source from file_accesses where session_id = (select max(id) from sessions)")" ptrace
nb record --bpf=required --db "$d/a.db" -- /bin/true 2>"$tmp/e2"; rc=$?
check "--bpf=required fails (exit $rc)" test "$rc" = 1
assert_one_error_line "--bpf=required: one line" "$tmp/e2" "--bpf=required: eBPF probe unavailable"
n=$(sql "$d/a.db" 'select count(*) from sessions')
nb record --via bpf --db "$d/a.db" -- /bin/true 2>"$tmp/e3"; rc=$?
check "--via bpf fails (exit $rc)" test "$rc" = 1
assert_one_error_line "--via bpf: one line" "$tmp/e3" "eBPF mode unavailable: needs root, or CAP_BPF and CAP_PERFMON; try --via ptrace"
assert_eq "no session was created" "$(sql "$d/a.db" 'select count(*) from sessions')" "$n"
done_testing
