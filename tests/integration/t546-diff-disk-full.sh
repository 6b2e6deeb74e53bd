#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `diff` writes its three groups to unnamed files in $TMPDIR until its walk ends, then prints
# them (t543 measures why). With no room there: exit 1, one line saying the disk is full, and
# nothing printed (no document cut short); the history untouched.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
require_root
require_cc
require_python3
cc_quiet -O2 -o "$tmp/statloop" "$TESTS_DIR/fixtures/store/statloop.c" || { echo "FAIL: cannot build statloop"; exit 1; }
mkdir "$tmp/small"
mount -t tmpfs -o size=64k tmpfs "$tmp/small" 2>/dev/null || skip "cannot mount a tmpfs here"
trap 'umount "$tmp/small" 2>/dev/null; rm -rf "$tmp"' EXIT
# 2,000 files with 200-byte names: the group "only in 1" is 420 kB, the tmpfs 64 KiB
db=$tmp/d.db
long_paths_history "$db" 2000
sum=$(sql "$db" 'select count(*), sum(count) from session_paths')
for flag in "" --json; do
	TMPDIR=$tmp/small "$TOOL" diff $flag --db "$db" 1 2 >"$tmp/out" 2>"$tmp/err"; rc=$?
	assert_eq "diff $flag, TMPDIR full: exit 1" "$rc" 1
	assert_eq "diff $flag, TMPDIR full: nothing printed" "$(wc -c <"$tmp/out")" 0
	check "diff $flag, TMPDIR full: one line saying so ($(cat "$tmp/err"))" \
		grep -qxF "magicpak: diff: cannot write a temporary file: No space left on device" "$tmp/err"
	assert_eq "diff $flag, TMPDIR full: one line" "$(wc -l <"$tmp/err")" 1
	assert_eq "diff $flag, TMPDIR full: nothing left in TMPDIR" "$(ls -A "$tmp/small")" ""
done
assert_eq "the history is as it was" "$(sql "$db" 'select count(*), sum(count) from session_paths')" "$sum"
# and with room, the same diff whole
"$TOOL" diff --db "$db" 1 2 >"$tmp/out" 2>"$tmp/err"; rc=$?
assert_eq "diff with room in TMPDIR: exit 0" "$rc" 0
assert_eq "diff with room: the 2,000 files only in 1" "$(grep -c "^  $long/p" "$tmp/out")" 2000
done_testing
