#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# RELIABILITY SQL-07 through the commands (test_store covers the store: a chmod 444 file, an
# unwritable directory as nobody, a read-only remount): with the database's directory bind-mounted
# read-only in a private mount namespace, `bundle`, `sessions` and `report` still work (read-only
# open), and `record` fails with one line naming the database and the cause, leaving it intact.
# As nobody, a database in a directory nobody cannot write: one line "cannot create ...". A
# history copied as one file (its WAL checkpointed) into a directory nobody cannot write is
# read (immutable: no -shm can be made there); one with WAL content beside it is refused in one
# line saying why, not "attempt to write a readonly database".
. "$(dirname "$0")/../lib.sh"
require_root
require_sqlite3
require_ptrace
unshare -m true 2>/dev/null || skip "no mount namespaces"
use_dbdir
d=$dbdir/ro; mkdir -p "$d"
db=$d/x.db
rec "$db" --label one -- /bin/cat /etc/hostname
sum=$(cat "$db" "$db-wal" 2>/dev/null | sha256sum)
ro() { unshare -m sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec timeout 20 "$@"' sh "$d" "$TOOL" "$@"; }
ro bundle --db "$db" "$tmp/out" >/dev/null 2>"$tmp/e1"; rc=$?
assert_eq "bundle from a read-only database: exit 0" "$rc" 0 || sed 's/^/    /' "$tmp/e1"
check "the bundle holds the recorded file" test -f "$tmp/out/etc/hostname"
ro sessions --db "$db" >"$tmp/s.out" 2>"$tmp/e2"; rc=$?
assert_eq "sessions on a read-only database: exit 0" "$rc" 0
check "it lists the session" grep -q 'one' "$tmp/s.out"
ro report --db "$db" --session last >/dev/null 2>"$tmp/e3"; rc=$?
assert_eq "report on a read-only database: exit 0" "$rc" 0
ro record --db "$db" -- /bin/true >/dev/null 2>"$tmp/e4"; rc=$?
assert_eq "record into a read-only database: exit 1" "$rc" 1
assert_one_error_line "record: one line naming the database" "$tmp/e4" "$db"
check "and the cause (read-only)" grep -qi 'read-only' "$tmp/e4"
assert_eq "the database is unchanged" "$(cat "$db" "$db-wal" 2>/dev/null | sha256sum)" "$sum"
command -v setpriv >/dev/null || { done_testing; }
u=$dbdir/nw; mkdir -p "$u"; chmod 755 "$dbdir" "$u"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all timeout 20 "$TOOL" record --db "$u/n.db" -- /bin/true >/dev/null 2>"$tmp/e5"; rc=$?
assert_eq "as nobody, an unwritable directory: exit 1" "$rc" 1
assert_one_error_line "one line: cannot create the database, permission denied" "$tmp/e5" "cannot create '$u/n.db': Permission denied"
check "no file is created" test ! -e "$u/n.db"
# a history nobody made in a directory then closed to it: its -wal and -shm are there for it
# to write, so record goes on (SQLite creates and removes neither); without the -shm it cannot
w=$dbdir/closed; mkdir -p "$w"; chmod 777 "$w"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all timeout 20 "$TOOL" record --db "$w/c.db" -- /bin/true >/dev/null 2>&1
chmod 555 "$w"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all timeout 20 "$TOOL" record --db "$w/c.db" -- /bin/true >/dev/null 2>"$tmp/e8"; rc=$?
assert_eq "as nobody, its own history in a directory closed since: exit 0" "$rc" 0 || sed 's/^/    /' "$tmp/e8"
assert_eq "both sessions are in it, complete" "$(sql "$w/c.db" 'select count(*) from sessions where complete = 1')" 2
# the sqlite3 shell (root), the last connection, checkpointed and removed both as it closed
check "the sqlite3 shell took the -wal and -shm away" test ! -e "$w/c.db-wal" -a ! -e "$w/c.db-shm"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all timeout 20 "$TOOL" record --db "$w/c.db" -- /bin/true >/dev/null 2>"$tmp/e9"; rc=$?
assert_eq "without them: exit 1" "$rc" 1
assert_one_error_line "one line: the -wal cannot be created, permission denied" "$tmp/e9" "cannot create '$w/c.db-wal': Permission denied"
assert_eq "and the history still holds its 2 sessions" "$(sql "$w/c.db" 'select count(*) from sessions')" 2
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all timeout 20 "$TOOL" "$@"; }
sql "$db" 'pragma wal_checkpoint(truncate)' >/dev/null
cp "$db" "$u/copy.db"
nobody sessions --db "$u/copy.db" >"$tmp/s6.out" 2>"$tmp/e6"; rc=$?
assert_eq "as nobody, a history copied alone into a directory it cannot write: sessions exit 0" "$rc" 0 || sed 's/^/    /' "$tmp/e6"
check "it lists the session" grep -q 'one' "$tmp/s6.out"
nobody report --db "$u/copy.db" --session one >/dev/null 2>"$tmp/e7"; rc=$?
assert_eq "and report on it: exit 0" "$rc" 0
check "nothing is created beside it" test ! -e "$u/copy.db-shm" -a ! -e "$u/copy.db-wal"
cp "$db" "$u/s.db"; cp "$db-shm" "$u/s.db-shm"
nobody sessions --db "$u/s.db" >"$tmp/s9.out" 2>"$tmp/e9"; rc=$?
assert_eq "the same with its -shm and no WAL beside it: exit 0" "$rc" 0 || sed 's/^/    /' "$tmp/e9"
rec "$db" --label two -- /bin/true
cp "$db" "$u/w.db"; cp "$db-wal" "$u/w.db-wal"
nobody sessions --db "$u/w.db" >/dev/null 2>"$tmp/e8"; rc=$?
assert_eq "with its WAL beside it: exit 1" "$rc" 1
assert_one_error_line "one line naming it and the directory it cannot write" "$tmp/e8" "cannot read '$u/w.db': its WAL needs a 'w.db-shm' file beside it, in a directory this user may not write"
done_testing
