#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: TRC-03.
# Reliability cases: SQL-01, SQL-02, SQL-06.
# The history store: 8 concurrent `record`s into one file all land; kill -9 of magicpak mid-run leaves
# an intact file, an incomplete session and no tracee; a foreign or newer database is refused and left
# untouched; --label, $MAGICPAK_DB, ./magicpak.db; --hash stores sha256 in file_versions.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace

# --- 8 concurrent recordings into one file ---
db=$tmp/c.db
for i in 1 2 3 4 5 6 7 8; do
	echo "file $i" >"$tmp/in$i"
	timeout 20 "$TOOL" record --db "$db" --label "w$i" -- /bin/sh -c "for j in 1 2 3 4 5; do cat '$tmp/in$i' >/dev/null; done" \
		>"$tmp/c$i.out" 2>"$tmp/c$i.err" &
done
rcs=
for j in $(jobs -p); do wait "$j"; rcs="$rcs$? "; done
assert_eq "8 concurrent records: all exit 0" "$rcs" "0 0 0 0 0 0 0 0 "
check "8 concurrent records: nothing on stderr" sh -c '! cat "$1"/c?.err | grep .' sh "$tmp"
assert_eq "8 concurrent records: integrity_check ok" "$(sql "$db" 'PRAGMA integrity_check')" ok
# the recording connection checks no foreign keys (store.c: session_begin): they must hold
assert_eq "8 concurrent records: foreign_key_check finds no row naming a missing session or path" \
	"$(sql "$db" 'PRAGMA foreign_key_check')" ""
# the summary goes in 32 rows to a statement, the rest one by one (store.c: session_end_sql)
assert_eq "8 concurrent records: each summary (over 32 paths) = what the view computes from the rows" \
	"$(sql "$db" "select count(*) from (select session_id from session_paths group by session_id having count(*) > 32)")|$(sql "$db" "select count(*) from (
		select * from session_paths except select * from session_path_summary)")|$(sql "$db" "select count(*) from (
		select * from session_path_summary except select * from session_paths)")" "8|0|0"
assert_eq "8 concurrent records: 8 complete sessions, labels w1..w8" \
	"$(sql "$db" "select count(*), sum(complete), group_concat(label, ' ') from (select * from sessions order by label)")" \
	"8|8|w1 w2 w3 w4 w5 w6 w7 w8"
for i in 1 2 3 4 5 6 7 8; do
	assert_eq "session w$i: its own file opened 5 times, 5 cat processes" \
		"$(sql "$db" "select (select sum(count) from file_accesses f where f.session_id = s.id and op = 'open' and errno = 0 and path = '$tmp/in$i'),
			(select count(*) from processes p where p.session_id = s.id and executable like '%/cat')
			from sessions s where label = 'w$i'")" "5|5"
done
assert_eq "no session saw another's file" "$(sql "$db" "select count(*) from file_accesses f join sessions s on s.id = f.session_id
	where f.path like '$tmp/in%' and f.path != '$tmp/in' || substr(s.label, 2)")" 0

# --- kill -9 of magicpak mid-run, 5 times into one file ---
kdb=$tmp/k.db
for round in 1 2 3 4 5; do
	mark="magicpak-t305-loop-$$-$round"
	"$TOOL" record --db "$kdb" -- /bin/sh -c "while :; do cat /etc/hostname >/dev/null; done; : $mark" >/dev/null 2>&1 &
	mp=$!
	check "round $round: the loop is running under magicpak" wait_for 10 sh -c '[ -n "$(pgrep -f "[m]agicpak-t305-loop-$1-$2")" ]' sh "$$" "$round"
	# mid-run: the history opens in a thread while the command starts (and may checkpoint
	# first), so the kill waits for this round's session row
	check "round $round: its session is being recorded" wait_for 10 sh -c \
		'[ "$(sqlite3 "$1" "select count(*) from sessions" 2>/dev/null)" = "$2" ]' sh "$kdb" "$round"
	kill -9 "$mp"; wait "$mp" 2>/dev/null
	# EXITKILL: the tree dies with the tracer; allow the kernel a moment.
	wait_for 2 no_marked "$mark"
	left=$(marked_pids "$mark")
	check "round $round: no tracee survives kill -9 of magicpak (left: ${left:-none})" test -z "$left"
	[ -n "$left" ] && kill -9 $left 2>/dev/null
	assert_eq "round $round: integrity_check ok" "$(sql "$kdb" 'PRAGMA integrity_check')" ok
	assert_eq "round $round: $round sessions, all incomplete" \
		"$(sql "$kdb" 'select count(*), sum(complete = 0) from sessions')" "$round|$round"
done
record_rc "$kdb" /bin/true
assert_rc "after the kills, a new record into the same file: exit 0" 0
assert_eq "after the kills: the new session is complete" "$(sql "$kdb" 'select complete from sessions order by id desc limit 1')" 1
assert_eq "after the kills: integrity_check ok" "$(sql "$kdb" 'PRAGMA integrity_check')" ok

# --- foreign, random and newer files are refused and left untouched ---
sql "$tmp/foreign.db" "create table customers (id integer primary key, name text); insert into customers values (1, 'x');"
head -c 65536 /dev/urandom >"$tmp/random.db"
cp "$db" "$tmp/newer.db"; sql "$tmp/newer.db" 'PRAGMA journal_mode = DELETE; PRAGMA user_version = 99' >/dev/null
printf 'hello, not a database\n' >"$tmp/text.db"
for f in foreign random newer text; do
	sum=$(sha256sum <"$tmp/$f.db")
	record_rc "$tmp/$f.db" /bin/true
	check "$f.db: nonzero exit, not a crash (exit $rc)" test "$rc" != 0 -a "$rc" -lt 124
	assert_one_error_line "$f.db: one error line naming the file" "$err" "$tmp/$f.db"
	assert_eq "$f.db: unchanged (sha256)" "$(sha256sum <"$tmp/$f.db")" "$sum"
	assert_eq "$f.db: no -wal or -shm left" "$(ls "$tmp/$f.db-wal" "$tmp/$f.db-shm" "$tmp/$f.db-journal" 2>/dev/null)" ""
	[ $f = newer ] && check "newer.db: the message says the version is newer" grep -qiE 'newer|version' "$err"
done
# The readers too, on a foreign database in WAL mode: their read-only connection left the
# -wal and -shm SQLite made for it beside the refused file.
sql "$tmp/walforeign.db" "PRAGMA journal_mode = WAL; create table t (x); insert into t values (1);" >/dev/null
sum=$(sha256sum <"$tmp/walforeign.db")
for c in sessions report graph; do
	run_tool $c --db "$tmp/walforeign.db"
	check "$c of a foreign WAL database: refused (exit 1)" test "$rc" = 1
	assert_eq "$c of a foreign WAL database: unchanged, and no -wal or -shm left beside it" \
		"$(sha256sum <"$tmp/walforeign.db"; ls "$tmp/walforeign.db-wal" "$tmp/walforeign.db-shm" 2>/dev/null)" "$sum"
done

# --- --label, $MAGICPAK_DB, ./magicpak.db ---
mkdir "$tmp/envdir" "$tmp/defdir"
(cd "$tmp/envdir" && MAGICPAK_DB=$tmp/env.db timeout 20 "$TOOL" record --label envlabel -- /bin/true)
check "MAGICPAK_DB: exit 0" test $? = 0
assert_eq "MAGICPAK_DB: the session is in \$MAGICPAK_DB, with its label" "$(sql "$tmp/env.db" 'select label, complete from sessions')" "envlabel|1"
check "MAGICPAK_DB: no ./magicpak.db made" test ! -e "$tmp/envdir/magicpak.db"
(cd "$tmp/envdir" && MAGICPAK_DB=$tmp/env.db timeout 20 "$TOOL" record --db "$tmp/opt.db" -- /bin/true)
assert_eq "--db wins over MAGICPAK_DB" "$(sql "$tmp/opt.db" 'select count(*) from sessions'):$(sql "$tmp/env.db" 'select count(*) from sessions')" "1:1"
(cd "$tmp/defdir" && unset MAGICPAK_DB && timeout 20 "$TOOL" record -- /bin/true)
check "default: ./magicpak.db" test -f "$tmp/defdir/magicpak.db"
assert_eq "default: one complete session, no label" "$(sql "$tmp/defdir/magicpak.db" 'select ifnull(label, "NULL"), complete from sessions')" "NULL|1"
run_tool record --db "$tmp/l.db" -l short -- /bin/true
assert_eq "-l TEXT: the label" "$(sql "$tmp/l.db" 'select label from sessions')" short

# --- --hash ---
[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3"
printf 'hash me\n' >"$tmp/hashme"
record_rc "$tmp/h.db" --hash -- /usr/bin/python3 -c "open('$tmp/hashme').read()"
assert_rc "--hash python3: exit 0" 0
py_sum=$(sha256sum /usr/bin/python3 | cut -d' ' -f1)
real=$(readlink -f /usr/bin/python3)
fv=$(sql "$tmp/h.db" "select p.path || ' ' || ifnull(v.sha256, 'NULL') || ' ' || v.type from file_versions v join paths p on p.id = v.path_id where v.session_id = 1")
printf '%s\n' "$fv" | grep -E 'python3|hashme' | sed 's/^/    file_versions: /'
check "--hash: file_versions has /usr/bin/python3 with sha256 = sha256sum /usr/bin/python3" \
	grep -qE "^/usr/bin/python3 $py_sum " <<<"$fv"
check "--hash: the file read ($tmp/hashme) has its sha256" \
	grep -qE "^$tmp/hashme $(sha256sum "$tmp/hashme" | cut -d' ' -f1) " <<<"$fv"
check "--hash: every sha256 stored is 64 lowercase hex digits" \
	test "$(sql "$tmp/h.db" "select count(*) from file_versions where sha256 is not null and (length(sha256) != 64 or sha256 glob '*[^0-9a-f]*')")" = 0
assert_eq "--hash: hashme's size, inode and mtime are right" \
	"$(sql "$tmp/h.db" "select v.size || ' ' || v.inode || ' ' || (v.mtime_ns / 1000000000) from file_versions v join paths p on p.id = v.path_id where p.path = '$tmp/hashme'")" \
	"$(stat -c '%s %i %Y' "$tmp/hashme")"
record_rc "$tmp/nh.db" -- /bin/cat "$tmp/hashme"
assert_eq "without --hash: no sha256, but the version is recorded" \
	"$(sql "$tmp/nh.db" "select ifnull(v.sha256, 'NULL') || ' ' || v.size from file_versions v join paths p on p.id = v.path_id where p.path = '$tmp/hashme'")" "NULL 8"
done_testing
