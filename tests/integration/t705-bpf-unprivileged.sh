#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# BPF-06: without privileges (uid 65534 via setpriv) `--bpf` prints one line saying why and records
# with ptrace alone; `--bpf=required` fails; `--via bpf` fails with "try --via ptrace" and makes no
# session, with kernel.unprivileged_bpf_disabled=2. Root without CAP_SYS_ADMIN but with CAP_BPF
# and CAP_PERFMON is enough.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_root
require_bpf
command -v setpriv >/dev/null || skip "no setpriv"
d=$tmp/nobody; mkdir -p "$d"; chmod 777 "$d"; chmod 755 "$tmp"
# BPF-06 asks for kernel.unprivileged_bpf_disabled=2 (Debian's default); 1 cannot be undone,
# and is as strict for this test
ubd=/proc/sys/kernel/unprivileged_bpf_disabled
if [ -w "$ubd" ] && [ "$(cat "$ubd")" = 0 ]; then
	echo 2 >"$ubd" && trap 'echo 0 >"$ubd"; rm -rf "$tmp"' EXIT
fi
check "kernel.unprivileged_bpf_disabled is 2 or 1 for the unprivileged runs" grep -qx '[12]' "$ubd"
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
# root without CAP_SYS_ADMIN (dropped from the bounding set, so from the effective set at the
# exec): CAP_BPF and CAP_PERFMON (38 and 39, the second word of the capability sets) suffice,
# and lacking either one is refused with the same line
rb() { timeout 20 setpriv --bounding-set="$1" "$TOOL" record --via bpf --db "$tmp/r.db" -- /bin/cat /etc/hostname >/dev/null 2>"$tmp/e4"; }
rb -sys_admin; rc=$?
check "root with CAP_BPF and CAP_PERFMON, without CAP_SYS_ADMIN: --via bpf records (exit $rc: $(head -c 200 "$tmp/e4"))" test "$rc" = 0
assert_eq "... the probe's session" "$(sql "$tmp/r.db" "select count(*) from file_accesses where source = 'bpf' and path = '/etc/hostname'")" 1
for drop in bpf perfmon; do
	rb "-sys_admin,-$drop"; rc=$?
	check "... without CAP_$drop too: refused (exit $rc)" test "$rc" = 1
	assert_one_error_line "... in one line" "$tmp/e4" "eBPF mode unavailable: needs root, or CAP_BPF and CAP_PERFMON; try --via ptrace"
done
done_testing
