#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# RELIABILITY BPF-06, kernel features missing (no privileges: t705). In a private mount namespace
# (the host is left alone): with /sys/kernel/btf/vmlinux hidden (a bind of /dev/null), `--via bpf`
# exits 1 with one line "eBPF mode unavailable: the kernel has no BTF ...; try --via ptrace" and
# makes no session; `--bpf` says so in one line and records with ptrace alone. With tracefs
# unmounted the probe still works (its programs are raw tracepoints, which need no tracefs).
. "$(dirname "$0")/../lib.sh"
require_root
require_sqlite3
require_ptrace
require_bpf
unshare -m true 2>/dev/null || skip "no mount namespaces"
db=$tmp/n.db
rec "$db" --label before -- /bin/true
nobtf() { unshare -m sh -c 'mount --bind /dev/null /sys/kernel/btf/vmlinux && exec timeout 20 "$@"' sh "$TOOL" "$@"; }
nobtf record --db "$db" --via bpf -- /bin/true >/dev/null 2>"$tmp/e1"; rc=$?
assert_eq "no BTF, --via bpf: exit 1" "$rc" 1
assert_one_error_line "no BTF, --via bpf: one line" "$tmp/e1" "eBPF mode unavailable: the kernel has no BTF (/sys/kernel/btf/vmlinux); try --via ptrace"
assert_eq "no BTF, --via bpf: no session was created" "$(sql "$db" 'select count(*) from sessions')" 1
nobtf record --db "$db" --bpf -- /bin/cat /etc/hostname >/dev/null 2>"$tmp/e2"; rc=$?
assert_eq "no BTF, --bpf: records anyway (exit 0)" "$rc" 0
assert_one_error_line "no BTF, --bpf: one line says why" "$tmp/e2" "eBPF probe unavailable: the kernel has no BTF"
assert_eq "no BTF, --bpf: a complete session of ptrace events only" \
	"$(sql "$db" "select complete || '|' || (select group_concat(distinct source) from file_accesses where session_id = s.id) from sessions s order by id desc limit 1")" "1|ptrace"
unshare -m sh -c 'for m in /sys/kernel/tracing /sys/kernel/debug/tracing /sys/kernel/debug; do umount -l "$m" 2>/dev/null; done
	exec timeout 20 "$@"' sh "$TOOL" record --db "$db" --via bpf -- /bin/cat /etc/hostname >/dev/null 2>"$tmp/e3"; rc=$?
assert_eq "no tracefs mounted: --via bpf works (exit 0)" "$rc" 0
has_row "no tracefs mounted: the open is recorded" "$(brows "$db" bpf)" "open|/etc/hostname|0"
done_testing
