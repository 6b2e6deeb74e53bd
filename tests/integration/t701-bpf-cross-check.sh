#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: TRC-10.
# record --cross-check: ptrace, the preload library and the probe at once. A static busybox and
# a program making a raw openat syscall are seen by ptrace and BPF and reported as missed by
# preload, with the reason; every event is stored with its source and `report --sources`
# shows who saw each path. Also `record --bpf` (ptrace + probe, both stored).
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_ptrace
require_preload
require_bpf
bb=$(command -v busybox) || skip "no busybox (busybox-static)"
file -L "$bb" | grep -q 'statically linked' || skip "$bb is not static"
bpf_fixture rawopen
echo static >"$tmp/static.txt"; echo raw >"$tmp/raw.txt"
db=$tmp/x.db
record_rc "$db" --cross-check -- sh -c '"$1" cat "$2" >/dev/null; "$3" "$4"; env -u TZ LC_ALL=C.UTF-8 date >/dev/null' sh "$bb" "$tmp/static.txt" "$tmp/rawopen" "$tmp/raw.txt"
assert_rc "record --cross-check exits 0" 0
sed 's/^/    /' "$err"
check "a summary line counts each source" grep -qE '^magicpak: cross-check: [0-9]+ paths .*ptrace saw [0-9]+ preload saw [0-9]+ bpf saw [0-9]+' "$err"
block() { awk -v h="$1" 'index($0, "magicpak: cross-check: missed by ") == 1 { on = ($0 == h) ; next } on' "$err"; }
check "the static busybox's read: missed by preload (static binary)" \
	grep -qF "  $tmp/static.txt (seen by ptrace,bpf)" <(block "magicpak: cross-check: missed by preload (static binary):")
check "the raw syscall's open: missed by preload (raw syscall)" \
	grep -qF "  $tmp/raw.txt (seen by ptrace,bpf)" <(block "magicpak: cross-check: missed by preload (raw syscall):")
# glibc's own opens and the kernel's mapping of ld.so are named as such, not as raw syscalls
# (C.UTF-8 is libc-bin's own locale, /usr/lib/locale/C.utf8: always there on Debian). The
# locale directory glibc tried first (C.UTF-8) is missed by preload; the data it loaded
# (C.utf8) and the time zone file preload reports (t615).
check "date's locale candidates: missed by preload (glibc-internal open)" \
	grep -qE "^  /usr/lib/locale/C\.UTF-8/LC_[A-Z]+ \(seen by ptrace,bpf\)" <(block "magicpak: cross-check: missed by preload (glibc-internal open):")
check "date's locale data: seen by preload" \
	sh -c '! grep -q "/usr/lib/locale/C.utf8/LC_CTYPE " "$1"' sh <(block "magicpak: cross-check: missed by preload (glibc-internal open):")
if [ -e /etc/localtime ]; then
	check "date's time zone file: seen by preload" \
		sh -c '! grep -q "/etc/localtime" "$1"' sh "$err"
fi
check "the library's own read of /proc/self/maps is named as such" \
	sh -c '! grep -q "/proc/self/maps" "$1" || grep -qF "  /proc/self/maps (seen by ptrace,bpf)" "$2"' sh "$err" \
	<(block "magicpak: cross-check: missed by preload (the preload library's own open):")
check "no glibc or loader file is called a raw syscall" \
	sh -c '! grep -qE "/(locale|gconv|zoneinfo)/|localtime|ld-linux" "$1"' sh <(block "magicpak: cross-check: missed by preload (raw syscall):")
check "nothing of ours is missed by bpf" sh -c '! grep -q "missed by bpf" "$1" || ! grep -A100 "missed by bpf" "$1" | grep -q "$2"' sh "$err" "$tmp"
for s in ptrace preload bpf; do
	check "events stored with source $s" test "$(sql "$db" "select count(*) from file_accesses where source = '$s'")" -gt 0
done
run_tool report --db "$db" --sources --session last
assert_rc "report --sources" 0
has_row "report --sources: the static read, seen by ptrace and bpf, missed by preload" \
	"$(printf '%s\n' "$out" | awk '{print $2, $3, $4}')" "$tmp/static.txt ptrace,bpf preload"
has_row "report --sources: the raw open, seen by ptrace and bpf, missed by preload" \
	"$(printf '%s\n' "$out" | awk '{print $2, $3, $4}')" "$tmp/raw.txt ptrace,bpf preload"
run_tool report --db "$db" --sources --session last --json
json_check "report --sources --json" "$out" \
	"any(r['path'] == '$tmp/raw.txt' and r['seen_by'] == ['ptrace', 'bpf'] and r['missed_by'] == ['preload'] for r in d)"
# --bpf: ptrace plus the probe; both sources stored, and they agree
db2=$tmp/b.db
record_rc "$db2" --bpf -- "$tmp/rawopen" "$tmp/raw.txt"
assert_rc "record --bpf exits 0" 0
assert_eq "record --bpf: the session is ptrace's, complete" "$(sql "$db2" 'select source, complete from sessions')" "ptrace|1"
has_row "record --bpf: bpf saw the raw open" "$(brows "$db2" bpf)" "open|$tmp/raw.txt|0"
has_row "record --bpf: ptrace saw it too" "$(brows "$db2" ptrace)" "open|$tmp/raw.txt|0"
record_rc "$db2" --bpf --via preload -- "$tmp/rawopen" "$tmp/raw.txt"
has_row "record --bpf --via preload: bpf saw the raw open" "$(brows "$db2" bpf)" "open|$tmp/raw.txt|0"
# magicpak's own libraries, which the loader opens in the command, are no access of the command
assert_eq "no session holds magicpak's preload or audit library (any source)" \
	"$(sql "$db" "select distinct path from file_accesses where path like '%libmagicpak-%'"; sql "$db2" "select distinct path from file_accesses where path like '%libmagicpak-%'")" ""
run_tool bundle --db "$db" --all "$tmp/xb"
check "and a bundle of the cross-check session holds neither" sh -c '! find "$1" -name "libmagicpak-*" | grep -q .' sh "$tmp/xb"
done_testing
