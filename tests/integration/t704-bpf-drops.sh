#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# BPF-03: with a one-page ring buffer (MAGICPAK_BPF_RINGBUF_PAGES=1) and 20,000 distinct opens the
# ring overflows while magicpak is stopped: the drops are counted in the kernel and the session
# is incomplete with the count; with the default ring the same load loses nothing.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_bpf
bpf_fixture many
mkdir -p "$tmp/m"
db=$tmp/m.db
# magicpak (the command's parent) is stopped while the opens happen: nothing reads the ring
MAGICPAK_BPF_RINGBUF_PAGES=1 record_rc "$db" --via bpf -- sh -c \
	'kill -STOP $PPID; "$1" "$2" 20000; kill -CONT $PPID' sh "$tmp/many" "$tmp/m"
check "record fails: the session is incomplete (exit $rc)" test "$rc" != 0
why=$(sql "$db" 'select incomplete_reason from sessions order by id desc limit 1')
check "the reason counts the drops ($why)" grep -qE '^bpf_events_dropped=[1-9][0-9]*$' <<<"$why"
check "the error line says so" grep -q 'incomplete (bpf_events_dropped=' "$err"
check "and names the setting that makes the ring larger" grep -q 'a larger ring for the probe: MAGICPAK_BPF_RINGBUF_PAGES=1024' "$err"
MAGICPAK_BPF_RINGBUF_PAGES=3 record_rc "$db" --via bpf -- /bin/true
assert_rc "a ring size that is not a power of two is refused" 1
record_rc "$db" --via bpf -- "$tmp/many" "$tmp/m" 20000
assert_rc "the default ring: no drops" 0
assert_eq "all 20,000 opens recorded" \
	"$(sql "$db" "select count(distinct path) from file_accesses where path like '$tmp/m/m-%' and session_id = (select max(id) from sessions)")" 20000
done_testing
