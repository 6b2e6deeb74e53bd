#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# record on a full disk (SQL-03): a clear error naming the database, an intact file, the session not
# marked complete, no traced process left running.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
require_root
mkdir "$tmp/small"
mount -t tmpfs -o size=400k tmpfs "$tmp/small" 2>/dev/null || skip "cannot mount a tmpfs here"
trap 'umount "$tmp/small" 2>/dev/null; rm -rf "$tmp"' EXIT
mark="magicpak-t309-full-$$"
start=$EPOCHREALTIME
TOOL_TIMEOUT=60 record_rc "$tmp/small/f.db" /bin/sh -c "find /usr/share -xdev -type f -newer /etc/hostname >/dev/null 2>&1; : $mark"
check "disk full: nonzero exit, not a crash or a hang (exit $rc, $(elapsed "$start")s)" test "$rc" != 0 -a "$rc" -lt 124
check "disk full: an error naming the database" grep -qF "$tmp/small/f.db" "$err"
check "disk full: the error says the disk is full" grep -qiE 'full|no space' "$err"
check "disk full: every stderr line starts with 'magicpak: '" sh -c '! grep -v "^magicpak: " "$1"' sh "$err"
assert_eq "disk full: integrity_check ok" "$(sql "$tmp/small/f.db" 'PRAGMA integrity_check' 2>&1)" ok
check "disk full: the session is not marked complete" \
	test "$(sql "$tmp/small/f.db" 'select count(*) from sessions where complete = 1' 2>&1)" = 0
left=$(marked_pids "$mark")
check "disk full: no traced process left running (left: ${left:-none})" test -z "$left"
[ -n "$left" ] && kill -9 $left
umount "$tmp/small"
done_testing
