#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `record` opens a current history in a thread while the command starts (store_open_session):
# - a file magicpak made carries application_id "mpak" and the schema version in its own
#   header, checkpointed at once, so the next record can tell from 100 bytes;
# - the command starts at once even while another writer holds the file's write lock, and its
#   session is written when the lock is free; the thread that waits for it is named
#   magicpak-store (top -H, perf --comm);
# - a file that says it is current but is damaged beyond its first page: the command has run,
#   then one line names the file and the cause, a nonzero exit, and the file is unchanged;
# - a file whose header is not current (an older magicpak's, a foreign one) is still refused
#   before the command runs;
# - a FIFO named as the history is refused, not waited on; a record that fails before its
#   command starts leaves no session;
# - with --via preload, the rows of a running session are in the file while it runs, and
#   `sessions` counts them.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
use_dbdir
hdr() { od -An -tx1 -j "$2" -N4 "$1" | tr -d ' \n'; }
db=$dbdir/a.db
rec "$db" -- /bin/true
assert_eq "a new history has application_id 'mpak' in the file's own header" "$(hdr "$db" 68)" 6d70616b
assert_eq "and the schema version (2)" "$(hdr "$db" 60)" 00000002

# another writer holds the lock for 1.5 s: the command still starts at once
sql "$db" "insert into magicpak_meta values ('t545', 'x')"
(printf 'begin immediate;\nupdate magicpak_meta set value = 1 where key = %s;\n' "'t545'"; sleep 1.5; echo 'commit;') |
	sqlite3 -batch "$db" >/dev/null 2>&1 &
lock=$!
sleep 0.3
t0=$EPOCHREALTIME
"$TOOL" record --db "$db" --label locked -- sh -c 'date +%s.%N > "$1"; cat /proc/$PPID/task/*/comm > "$2"' sh \
	"$tmp/started" "$tmp/threads" >/dev/null 2>"$tmp/e1"; rc=$?
wait "$lock"
assert_eq "record while another writer holds the lock: exit 0" "$rc" 0 || sed 's/^/    /' "$tmp/e1"
check "the command started before the lock was free ($(awk -v a="$t0" -v b="$(cat "$tmp/started" 2>/dev/null)" 'BEGIN{printf "%.2f", b-a}') s)" \
	awk -v a="$t0" -v b="$(cat "$tmp/started" 2>/dev/null || echo 1e12)" 'BEGIN{exit !(b - a < 0.6)}'
check "record returned after the lock was free ($(elapsed "$t0") s)" awk -v e="$(elapsed "$t0")" 'BEGIN{exit !(e >= 1.0)}'
assert_eq "its session is complete" "$(sql "$db" "select complete from sessions where label = 'locked'")" 1
has_row "while it waits, magicpak's thread that opens the history is named magicpak-store" "$(cat "$tmp/threads")" magicpak-store
has_row "and holds the command's exec" "$(sql "$db" "select f.path from file_accesses f join sessions s on s.id = f.session_id where s.label = 'locked' and f.op = 'exec' and f.errno = 0")" "$(command -v sh)"

# current by its header, damaged beyond the first page
bad=$dbdir/bad.db
rec "$bad" -- /bin/true
sqlite3 "$bad" 'pragma wal_checkpoint(truncate)' >/dev/null
head -c 4096 "$bad" >"$bad.1" && mv "$bad.1" "$bad" && rm -f "$bad-wal" "$bad-shm"
sum=$(sha256sum <"$bad")
"$TOOL" record --db "$bad" -- sh -c 'touch "$1"' sh "$tmp/ran" >/dev/null 2>"$tmp/e2"; rc=$?
assert_eq "a damaged history: exit 1" "$rc" 1
assert_one_error_line "one line names it and the cause" "$tmp/e2" "'$bad'"
check "the cause is the damage" grep -q 'malformed' "$tmp/e2"
check "the command had run" test -e "$tmp/ran"
assert_eq "the file is unchanged" "$(sha256sum <"$bad")" "$sum"

# a FIFO named as the history: refused, not waited on
mkfifo "$dbdir/fifo.db"
timeout 10 "$TOOL" record --db "$dbdir/fifo.db" -- sh -c 'touch "$1"' sh "$tmp/ran4" >/dev/null 2>"$tmp/e6"; rc=$?
assert_eq "a FIFO as the history: exit 1, not a hang" "$rc" 1
assert_one_error_line "one line names it" "$tmp/e6" "'$dbdir/fifo.db'"

# a record that fails before its command starts leaves no session behind
if unshare -m true 2>/dev/null; then
	nos=$dbdir/nos.db
	rec "$nos" -- /bin/true
	unshare -m sh -c 'mount -t tmpfs -o ro none /dev/shm && TMPDIR=/nonexistent exec "$@"' sh \
		"$TOOL" record --db "$nos" --via preload -- /bin/true >/dev/null 2>"$tmp/e7"; rc=$?
	check "preload with nowhere to put its socket: nonzero exit ($rc)" test "$rc" != 0
	assert_eq "and no session row is left running" "$(sql "$nos" "select count(*) from sessions")" 1
elif [ "${CI:-}" = true ]; then
	fail "no mount namespaces (CI has them)"
fi

# not current by its header: refused before the command runs
old=$dbdir/old.db
rec "$old" -- /bin/true
sql "$old" 'pragma wal_checkpoint(truncate); pragma user_version = 9' >/dev/null
sql "$old" 'pragma wal_checkpoint(truncate)' >/dev/null
"$TOOL" record --db "$old" -- sh -c 'touch "$1"' sh "$tmp/ran2" >/dev/null 2>"$tmp/e3"; rc=$?
assert_eq "a newer schema: exit 1" "$rc" 1
assert_one_error_line "one line: newer than this magicpak understands" "$tmp/e3" "newer than this magicpak"
check "the command did not run" test ! -e "$tmp/ran2"
foreign=$dbdir/f.db
sql "$foreign" 'create table t (x); pragma application_id = 1836081515' >/dev/null
"$TOOL" record --db "$foreign" -- sh -c 'touch "$1"' sh "$tmp/ran3" >/dev/null 2>"$tmp/e4"; rc=$?
assert_eq "a foreign database with our application_id but no schema version: exit 1" "$rc" 1
check "the command did not run" test ! -e "$tmp/ran3"
assert_eq "it is untouched" "$(sql "$foreign" 'select count(*) from sqlite_master')" 1

# --via preload writes a running session's rows while it runs
pre=$dbdir/p.db
rec "$pre" --via preload -- /bin/true
"$TOOL" record --db "$pre" --label live --via preload -- sh -c 'exec 3</etc/hostname; cat /etc/passwd >/dev/null; sleep 2; exec 3</etc/hostname' >/dev/null 2>"$tmp/e5" &
pid=$!
live() { [ -n "$(sql "$pre" "select 1 from file_accesses f join sessions s on s.id = f.session_id where s.label = 'live' and f.path = '/etc/passwd'")" ]; }
wait_for 5 live
got=$(sql "$pre" "select s.complete || ':' || count(*) from file_accesses f join sessions s on s.id = f.session_id where s.label = 'live' and f.path in ('/etc/hostname', '/etc/passwd')")
assert_eq "while the command sleeps, its opens are in the file (session still incomplete)" "$got" "0:2"
js=$("$TOOL" sessions --db "$pre" --json 2>/dev/null)
assert_eq "and sessions counts its files and accesses from them (the session's own counts come at its end)" \
	"$(python3 -c 'import json,sys; s=[x for x in json.load(sys.stdin) if x.get("label") == "live"][0]; print(s["files"] >= 2, s["events"] >= 2, s["processes"] >= 1)' <<<"$js" 2>&1)" "True True True"
wait "$pid"; rc=$?
assert_eq "the record then completes" "$rc:$(sql "$pre" "select complete from sessions where label = 'live'")" "0:1"
assert_eq "the shell's two opens of /etc/hostname, one before and one after a flush, are one row with count 2" \
	"$(sql "$pre" "select count(*) || ':' || sum(count) from file_accesses f join sessions s on s.id = f.session_id where s.label = 'live' and f.path = '/etc/hostname' and f.op = 'open'")" "1:2"
assert_eq "every complete session has all its rows" "$(sql "$pre" "select id from sessions s where complete = 1 and events != (select ifnull(sum(count), 0) from file_accesses f where f.session_id = s.id)")" ""
done_testing
