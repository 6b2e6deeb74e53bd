#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: SQL-06.
# magicpak merge OUT IN...: two databases whose ids clash (both have session 1) are copied with new
# ids, every row remapped (paths, processes, accesses, versions), hosts and origins kept apart;
# merging again duplicates nothing; a session still being recorded is copied as incomplete and
# copied again once complete; sessions that share an origin (db_id, id) but are different runs
# (copies of one history, an id freed by forget) are each copied; an input that is not a
# magicpak database, or has an older schema, fails with one line and stays untouched.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
require_cc
record_fixture readwrite
a=$tmp/host-a.db b=$tmp/host-b.db all=$tmp/all.db
history_db "$a"                                       # sessions 1-3 on "host a"
echo bee >"$tmp/only-b.txt"
record_rc "$b" --label b-cat /bin/cat "$tmp/only-b.txt" # session 1 on "host b": the clash
record_rc "$b" --label b-ls /bin/ls "$tmp"              # session 2
sql "$a" "update sessions set host = 'host-a'"
sql "$b" "update sessions set host = 'host-b'"
fa_a=$(sql "$a" "select count(*) from file_accesses"); fa_b=$(sql "$b" "select count(*) from file_accesses")

run_tool merge "$all" "$a" "$b"
assert_rc "merge all.db a b: exit 0" 0
printf '%s\n' "$out" | sed 's/^/    /'
check "merge: says 3 copied from a" grep -qF "$a: 3 sessions copied, 0 already there" <<<"$out"
check "merge: says 2 copied from b" grep -qF "$b: 2 sessions copied, 0 already there" <<<"$out"
assert_eq "merge: 5 sessions with ids 1-5" "$(sql "$all" "select group_concat(id) from (select id from sessions order by id)")" "1,2,3,4,5"
assert_eq "merge: labels in order, hosts kept apart" \
	"$(sql "$all" "select group_concat(label || '@' || host, ' ') from (select * from sessions order by id)")" \
	"first@host-a second@host-a first@host-a b-cat@host-b b-ls@host-b"
assert_eq "merge: origin session ids kept (the clash: two origin 1s)" \
	"$(sql "$all" "select group_concat(origin_session_id) from (select * from sessions order by id)")" "1,2,3,1,2"
assert_eq "merge: origin_db is the source's db_id" \
	"$(sql "$all" "select count(*) from sessions where id <= 3 and origin_db = '$(sql "$a" "select value from magicpak_meta where key = 'db_id'")'")|$(sql "$all" "select count(*) from sessions where id > 3 and origin_db = '$(sql "$b" "select value from magicpak_meta where key = 'db_id'")'")" "3|2"
assert_eq "merge: merged_from names each file" \
	"$(sql "$all" "select group_concat(merged_from, ' ') from (select * from sessions order by id)")" "$a $a $a $b $b"
check "merge: OUT has its own db_id" test "$(sql "$all" "select count(distinct value) from magicpak_meta where key = 'db_id' and value not in ('$(sql "$a" "select value from magicpak_meta where key = 'db_id'")', '$(sql "$b" "select value from magicpak_meta where key = 'db_id'")')")" = 1
assert_eq "merge: every access row copied" "$(sql "$all" "select count(*) from file_accesses")" "$((fa_a + fa_b))"
# Row by row, with the paths remapped: the file_accesses of each source session equal its copy's.
for s in 1 2 3; do
	assert_eq "merge: a's session $s accesses = all's session $s" \
		"$(sql "$all" "select pid, op, path, flags, errno, source, time, last_time, count from file_accesses where session_id = $s order by 1,2,3,4,5")" \
		"$(sql "$a" "select pid, op, path, flags, errno, source, time, last_time, count from file_accesses where session_id = $s order by 1,2,3,4,5")"
done
for s in 1 2; do
	assert_eq "merge: b's session $s accesses = all's session $((s + 3))" \
		"$(sql "$all" "select pid, op, path, flags, errno, count from file_accesses where session_id = $((s + 3)) order by 1,2,3,4,5")" \
		"$(sql "$b" "select pid, op, path, flags, errno, count from file_accesses where session_id = $s order by 1,2,3,4,5")"
done
assert_eq "merge: processes copied" \
	"$(sql "$all" "select session_id, pid, executable, exit_status from processes order by session_id, id")" \
	"$( (sql "$a" "select session_id, pid, executable, exit_status from processes order by session_id, id"
	     sql "$b" "select session_id + 3, pid, executable, exit_status from processes order by session_id, id"))"
assert_eq "merge: file versions copied, paths remapped" \
	"$(sql "$all" "select v.session_id, p.path, v.size, v.inode from file_versions v join paths p on p.id = v.path_id order by 1, 2")" \
	"$( (sql "$a" "select v.session_id, p.path, v.size, v.inode from file_versions v join paths p on p.id = v.path_id order by 1, 2"
	     sql "$b" "select v.session_id + 3, p.path, v.size, v.inode from file_versions v join paths p on p.id = v.path_id order by 1, 2"))"
assert_eq "merge: each path once in OUT" "$(sql "$all" "select count(*) - count(distinct path) from paths")" 0
assert_eq "merge: integrity" "$(sql "$all" "pragma integrity_check")" ok
assert_eq "merge: foreign keys hold" "$(sql "$all" "pragma foreign_key_check")" ""
run_tool sessions --db "$all" --json
json_check "merge: sessions --json shows origins and hosts" "$out" \
	"[(s['id'], s['host'], s['origin_session_id'], s['merged_from']) for s in d] == [(1, 'host-a', 1, '$a'), (2, 'host-a', 2, '$a'), (3, 'host-a', 3, '$a'), (4, 'host-b', 1, '$b'), (5, 'host-b', 2, '$b')]"
run_tool report --db "$all" --path "$tmp/*.txt" --json
json_check "merge: report on OUT sees A in 1-3 and only-b in 4" "$out" \
	"[(p['path'], p['runs']) for p in d if p['runs']] == [('$tmp/A.txt', [1, 2, 3]), ('$tmp/B.txt', [2]), ('$tmp/only-b.txt', [4])]"
run_tool diff --db "$all" --json b-cat 1
json_check "merge: diff across hosts works" "$out" "'$tmp/only-b.txt' in d['only_a'] and '$tmp/A.txt' in d['only_b']"

# Again, and in another order: nothing duplicated.
before=$(sql "$all" "select count(*) from accesses")
run_tool merge "$all" "$b" "$a"
assert_rc "merge again: exit 0" 0
check "merge again: nothing copied from b" grep -qF "$b: 0 sessions copied, 2 already there" <<<"$out"
check "merge again: nothing copied from a" grep -qF "$a: 0 sessions copied, 3 already there" <<<"$out"
assert_eq "merge again: still 5 sessions" "$(sql "$all" "select count(*) from sessions")" 5
assert_eq "merge again: no access row added" "$(sql "$all" "select count(*) from accesses")" "$before"
run_tool merge --json "$all" "$a"
json_check "merge --json: one input, nothing copied, 3 already there" "$out" \
	"d['inputs'] == [{'file': '$a', 'copied': 0, 'already_there': 3, 'recopied': 0, 'accesses': 0}]"
# OUT merged into a third database, then a again: the origin (a's db_id, id) is what counts.
run_tool merge "$tmp/third.db" "$all" "$a"
check "merge of a merged database keeps the first origin: a's sessions are not copied twice" \
	grep -qF "$a: 0 sessions copied, 3 already there" <<<"$out"
assert_eq "third.db: 5 sessions" "$(sql "$tmp/third.db" "select count(*) from sessions")" 5
# A database merged into itself: nothing to do.
run_tool merge "$a" "$a"
assert_rc "merge a a: exit 0" 0
assert_eq "merge a a: still 3 sessions" "$(sql "$a" "select count(*) from sessions")" 3

# A session still being recorded ("running") is copied as incomplete, and again once it is complete.
record_rc "$tmp/c.db" --label growing /bin/cat "$tmp/A.txt"
sql "$tmp/c.db" "update sessions set complete = 0, incomplete_reason = 'running', ended_at = null, exit_status = null"
run_tool merge "$all" "$tmp/c.db"
assert_eq "running session: copied as incomplete" \
	"$(sql "$all" "select id, complete, incomplete_reason from sessions where label = 'growing'")" "6|0|running"
run_tool sessions --db "$all"
check "running session: sessions shows it incomplete" grep -qE '^ *6 .* no \(running\)$' <<<"$out"
sql "$tmp/c.db" "update sessions set complete = 1, incomplete_reason = null, exit_status = 0"
run_tool merge "$all" "$tmp/c.db"
check "running session: merged again once complete" grep -qF "1 copied again" <<<"$out"
assert_eq "running session: one copy, now complete, same id" \
	"$(sql "$all" "select id, complete, ifnull(incomplete_reason, '') from sessions where label = 'growing'")" "6|1|"
assert_eq "running session: its rows once" \
	"$(sql "$all" "select count(*) from file_accesses where session_id = 6")" "$(sql "$tmp/c.db" "select count(*) from file_accesses")"

# The origin (db_id, id) alone is not a session's identity. A history copied with cp keeps its
# db_id, so sessions recorded later into each copy share db_id and ids; they are different
# sessions (another start, command or host) and both arrive. OUT here was made with the UNIQUE
# sessions_by_origin index an earlier magicpak made, which merge turns into a plain one.
c1=$tmp/copy-a.db c2=$tmp/copy-b.db
record_rc "$c1" -- /bin/true
run_tool vacuum --db "$c1"
cp "$c1" "$c2"
record_rc "$c1" --label copy-A /bin/cat "$tmp/A.txt"
record_rc "$c2" --label copy-B /bin/cat "$tmp/only-b.txt"
run_tool merge "$tmp/copies.db" "$c1"
sql "$tmp/copies.db" "drop index sessions_by_origin;
	create unique index sessions_by_origin on sessions (origin_db, origin_session_id)"
run_tool merge "$tmp/copies.db" "$c2"
assert_eq "copies sharing a db_id: exit 0, the later session of the second copy is copied" \
	"$rc|$out" "0|$c2: 1 session copied, 1 already there"
assert_eq "copies sharing a db_id: both later sessions in OUT, the common one once" \
	"$(sql "$tmp/copies.db" "select group_concat(ifnull(label, '-')) from (select label from sessions order by id)")" "-,copy-A,copy-B"
assert_eq "copies sharing a db_id: copy-B's accesses are its own" \
	"$(sql "$tmp/copies.db" "select distinct path from file_accesses f join sessions s on s.id = f.session_id where s.label = 'copy-B' and path like '$tmp/%'")" "$tmp/only-b.txt"
assert_eq "copies sharing a db_id: sessions_by_origin is no longer UNIQUE" \
	"$(sql "$tmp/copies.db" "select sql from sqlite_master where name = 'sessions_by_origin'")" \
	"CREATE INDEX sessions_by_origin ON sessions (origin_db, origin_session_id)"
run_tool merge "$tmp/copies.db" "$c1" "$c2"
assert_eq "copies sharing a db_id, merged again: nothing copied, still 3 sessions" \
	"$out|$(sql "$tmp/copies.db" "select count(*) from sessions")" \
	"$c1: 0 sessions copied, 2 already there"$'\n'"$c2: 0 sessions copied, 2 already there|3"
# forget of the latest session frees its id, which the next record takes again: another session.
r=$tmp/reuse.db
record_rc "$r" -- /bin/true
record_rc "$r" --label first-run /bin/cat "$tmp/A.txt"
run_tool merge "$tmp/reuse-out.db" "$r"
run_tool forget --db "$r" --session last
record_rc "$r" --label second-run /bin/cat "$tmp/only-b.txt"
[ "$(sql "$r" "select id from sessions where label = 'second-run'")" = 2 ] || { echo "FAIL: forget did not free id 2"; exit 1; }
run_tool merge "$tmp/reuse-out.db" "$r"
check "reused id: the new session is copied" grep -qF "$r: 1 session copied, 1 already there" <<<"$out"
assert_eq "reused id: both sessions of that id in OUT" \
	"$(sql "$tmp/reuse-out.db" "select group_concat(ifnull(label, '-')) from (select label from sessions order by id)")" "-,first-run,second-run"
run_tool merge "$tmp/reuse-out.db" "$r"
assert_eq "reused id, merged again: nothing copied, still 3 sessions, foreign keys hold" \
	"$out|$(sql "$tmp/reuse-out.db" "select count(*) from sessions; pragma foreign_key_check")" \
	"$r: 0 sessions copied, 2 already there|3"

# An input with an older schema: its one true error line, OUT not created, the input unchanged.
sqlite3 "$a" ".backup '$tmp/v1.db'"
sql "$tmp/v1.db" "pragma user_version = 1"
sum=$(sha256sum <"$tmp/v1.db")
run_tool merge "$tmp/m7.db" "$tmp/v1.db"
check "merge of an older schema: exit 1, OUT not created" test "$rc" = 1 -a ! -e "$tmp/m7.db"
assert_one_error_line "merge of an older schema: one error line, the true one" "$err" \
	"'$tmp/v1.db' has the older magicpak schema version 1"
assert_eq "merge of an older schema: the input unchanged" "$(sha256sum <"$tmp/v1.db")" "$sum"

# Bad inputs: one error line, exit 1, the input unchanged, OUT not created.
head -c 65536 /dev/urandom >"$tmp/r.db"
sum=$(sha256sum <"$tmp/r.db")
run_tool merge "$tmp/new.db" "$a" "$tmp/r.db"
assert_rc "merge of random bytes: exit 1" 1
assert_one_error_line "merge of random bytes: one error line" "$err" "$tmp/r.db"
assert_eq "merge of random bytes: the file is unchanged" "$(sha256sum <"$tmp/r.db")" "$sum"
check "merge of random bytes: OUT not created" test ! -e "$tmp/new.db"
sqlite3 "$tmp/other.db" "create table runs (id integer primary key); insert into runs values (1)"
sum=$(sha256sum <"$tmp/other.db")
run_tool merge "$all" "$tmp/other.db"
assert_rc "merge of another application's database: exit 1" 1
assert_one_error_line "merge of another application's database: one error line" "$err" "not a magicpak database"
assert_eq "merge of another application's database: unchanged" "$(sha256sum <"$tmp/other.db")" "$sum"
run_tool merge "$all" "$tmp/missing.db"
assert_rc "merge of a missing file: exit 1" 1
assert_one_error_line "merge of a missing file: one error line" "$err" "$tmp/missing.db"
run_tool merge "$all"
assert_rc "merge without IN: exit 2" 2
done_testing
