#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# RELIABILITY BPF-07: magicpak killed with SIGKILL during `record --via bpf`: every BPF program and
# link it held (their ids read from its /proc/PID/fdinfo) is gone from the kernel, nothing is
# pinned under /sys/fs/bpf, and the session is left incomplete ("running") in an intact file.
# The command dies with magicpak (PR_SET_PDEATHSIG), and so does what it started (a sleep in the
# background): the probe's linger child kills the tree the probe still follows, as ptrace's
# EXITKILL does under --via ptrace.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_bpf
command -v bpftool >/dev/null || skip "no bpftool"
mark="magicpak-t713-$$"
trap 'pkill -f "^sh -c [s]leep 30; : $mark" 2>/dev/null; pkill -f "^sleep 31\.$$" 2>/dev/null; rm -rf "$tmp"' EXIT
pinned_before=$(ls -A /sys/fs/bpf 2>/dev/null)
db=$tmp/k.db
"$TOOL" record --db "$db" --via bpf -- sh -c "sleep 31.$$ & sleep 30; : $mark" >/dev/null 2>&1 &
pid=$!
wait_exec "$pid"
check "the probe is attached (the command is running)" wait_for 10 sh -c '[ -n "$(pgrep -f "^sh -c [s]leep 31.* : $1")" ]' sh "$mark"
check "and its background sleep" wait_for 10 sh -c '[ -n "$(pgrep -f "^sleep 31\.$1")" ]' sh "$$"
ids() { grep -h "^$1:" /proc/"$pid"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un; }
# mid-run, as in the recipe: the history opens while the command starts, so wait for its row
check "the session is being recorded" wait_for 10 sh -c \
	'[ "$(sqlite3 "$1" "select count(*) from sessions where ended_at is null" 2>/dev/null)" = 1 ]' sh "$db"
progs=$(ids prog_id) links=$(ids link_id)
check "magicpak holds BPF programs ($(echo $progs))" test -n "$progs"
check "and links ($(echo $links))" test -n "$links"
kill -9 "$pid"; wait "$pid" 2>/dev/null
gone() { ! bpftool "$1" show id "$2" >/dev/null 2>&1; }
for i in $progs; do check "program $i is gone" wait_for 5 gone prog "$i"; done
for i in $links; do check "link $i is gone" wait_for 5 gone link "$i"; done
assert_eq "nothing pinned under /sys/fs/bpf" "$(ls -A /sys/fs/bpf 2>/dev/null)" "$pinned_before"
assert_eq "the database is intact" "$(sql "$db" 'pragma integrity_check')" ok
assert_eq "the session is incomplete (running)" "$(sql "$db" 'select complete || "|" || incomplete_reason from sessions')" "0|running"
check "the command died with magicpak" wait_for 5 sh -c '[ -z "$(pgrep -f "^sh -c [s]leep 31.* : $1")" ]' sh "$mark"
check "and what it started (the background sleep)" wait_for 5 sh -c '[ -z "$(pgrep -f "^sleep 31\.$1")" ]' sh "$$"
done_testing
