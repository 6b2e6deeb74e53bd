#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# RELIABILITY SQL-09: a reader that keeps a read transaction open (the sqlite3 shell, held on a
# FIFO) while 4 `record`s write into the same file: every record completes (WAL readers never
# block the writer), the reader keeps seeing its snapshot, and magicpak's own readers (sessions,
# bundle) run meanwhile. The WAL grows while the reader pins it; once the reader is gone it is
# reused from the start: more recordings do not grow it past that size, and `magicpak vacuum`
# truncates it.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
db=$tmp/r.db
work=(find /usr/lib/python3 /usr/share/perl -xdev -name '*.p[ym]')
[ -d /usr/lib/python3 ] || work=(find /usr/lib -xdev -maxdepth 3)
rec "$db" --label first -- /bin/true
mkfifo "$tmp/fifo"
sqlite3 -batch -noheader "$db" <"$tmp/fifo" >"$tmp/reader.out" 2>&1 &
reader=$!
exec 9>"$tmp/fifo"
echo "BEGIN; SELECT 'before', count(*) FROM sessions;" >&9
check "the reader has its snapshot" wait_for 5 grep -q '^before|1$' "$tmp/reader.out"
pids=()
for i in 1 2 3 4; do
	"$TOOL" record --db "$db" --label "w$i" -- "${work[@]}" >/dev/null 2>"$tmp/w$i.err" &
	pids+=($!)
done
run_tool sessions --db "$db"
assert_rc "magicpak sessions while 4 writers and a reader are busy" 0
fails=0
for i in 1 2 3 4; do wait "${pids[$((i - 1))]}" || { fails=$((fails + 1)); sed 's/^/    /' "$tmp/w$i.err"; }; done
assert_eq "all 4 records end with exit 0 while the reader holds its snapshot" "$fails" 0
echo "SELECT 'during', count(*) FROM sessions;" >&9
check "the reader still sees its snapshot (1 session)" wait_for 5 grep -q '^during|1$' "$tmp/reader.out"
bundle_rc "$db" --all "$tmp/out"
assert_rc "magicpak bundle --all while the reader is open" 0
pinned=$(stat -c %s "$db-wal")
echo "COMMIT;" >&9; exec 9>&-
wait "$reader"
assert_eq "all 5 sessions are complete" "$(sql "$db" 'select count(*), sum(complete) from sessions')" "5|5"
for i in 1 2 3; do rec "$db" --label "after$i" -- "${work[@]}"; done
after=$(stat -c %s "$db-wal")
check "once the reader is gone the WAL is reused: $after bytes after 3 more runs <= $pinned while pinned" test "$after" -le "$pinned"
run_tool vacuum --db "$db"
assert_rc "magicpak vacuum" 0
check "vacuum leaves the WAL empty ($(stat -c %s "$db-wal" 2>/dev/null || echo none))" sh -c '[ ! -s "$1-wal" ]' sh "$db"
assert_eq "integrity_check" "$(sql "$db" 'pragma integrity_check')" ok
done_testing
