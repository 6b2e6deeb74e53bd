#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two preload records at once, one of them in its own pid namespace (`unshare --pid`): to that one
# every pid of the host looks gone. Its start, which sweeps the socket and ring directories that
# killed records left in /dev/shm, used to judge by the pid alone and removed the live record's
# directory: the host record's later children could not reach its collector and their opens were
# lost, in a session still marked complete. A live record's directory is locked, and kept.
. "$(dirname "$0")/../lib.sh"
require_root
require_sqlite3
require_preload
command -v unshare >/dev/null || skip "no unshare(1)"
unshare --pid --fork --mount-proc true 2>/dev/null || skip "cannot make a pid namespace here"

echo one >"$tmp/one" && echo two >"$tmp/two"
db=$tmp/host.db
"$TOOL" record --db "$db" --via preload -- sh -c '
	i=0; while [ ! -e "$1/go" ]; do i=$((i + 1)); [ $i -lt 400 ] || exit 9; sleep 0.05; done
	cat "$1/one" "$1/two" >/dev/null' sh "$tmp" >"$tmp/host.out" 2>&1 &
host=$!
mine() { ls -d /dev/shm/magicpak-preload."$host".* "${TMPDIR:-/tmp}"/magicpak-preload."$host".* 2>/dev/null; }
has_mine() { [ -n "$(mine)" ]; }
wait_for 10 has_mine
dir=$(mine)
check "the host record made its socket directory ($dir)" test -n "$dir" -a -d "$dir"

unshare --pid --fork --mount-proc "$TOOL" record --db "$tmp/ns.db" --via preload -- /bin/true 2>"$err"; rc=$?
assert_rc "a record in a pid namespace: exit 0" 0
check "and the host record's directory is still there" test -n "$dir" -a -d "$dir"

touch "$tmp/go"
wait "$host"; rc=$?
err=$tmp/host.out assert_rc "the host record: exit 0" 0
rows=$(prows "$db")
has_row "its child's open after the other record started is recorded" "$rows" "open|$tmp/one|0"
has_row "and the next one" "$rows" "open|$tmp/two|0"
assert_eq "its session is complete" "$(sql "$db" 'select complete from sessions')" 1
check "its directory is removed after it" test ! -e "$dir"
done_testing
