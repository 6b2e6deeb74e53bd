#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# RELIABILITY SQL-10, scaled to the ~20 s a test may take here (5,000,000 events need ~40 s under
# ptrace): a build-like run of 330,000 path lookups over 110,000 distinct paths
# (tests/fixtures/store/statloop.c) is recorded whole with magicpak's peak RSS under 200 MiB,
# in several batched transactions (store.c flushes every 100,000 distinct rows), the session complete with events = the sum of its rows (E-DB),
# the file intact. (test_store's 250,000-access and 1,000,000-access cases cover the store alone.)
# `report` over it keeps its peak RSS under 60 MiB: its table held each cell in an allocation of
# its own (84 MiB here; 260 MiB for 400,000 paths), now all in one buffer (41 MiB). `report
# --json`, printed as it is made, under 30 MiB (54 MiB held whole; 22 MiB now), and whole. `diff`
# of a session of 60,000 long paths under 40 MiB (below), its groups waiting in files.
. "$(dirname "$0")/../lib.sh"
san_no_leak_scan
require_sqlite3
require_cc
require_ptrace
require_tool /usr/bin/time
require_python3
cc_quiet -O2 -o "$tmp/statloop" "$TESTS_DIR/fixtures/store/statloop.c" || { echo "FAIL: cannot build statloop"; exit 1; }
db=$tmp/l.db
timeout 60 /usr/bin/time -f 'rss %M' -o "$tmp/rss" "$TOOL" record --db "$db" -- "$tmp/statloop" "$tmp/nowhere" 110000 3 >/dev/null 2>"$tmp/err"; rc=$?
assert_eq "record of 330,000 lookups: exit 0" "$rc" 0
rss=$(awk '/^rss/ {print $2}' "$tmp/rss")
# (ASan's shadow memory and quarantine are no measure of magicpak's own use)
[ "${TOOL_SAN:-0}" = 1 ] ||
	check "magicpak's peak RSS ${rss} KiB is under 200 MiB" test "${rss:-999999999}" -lt 204800
assert_eq "one complete session of 330,000+ events" "$(sql "$db" 'select complete, events >= 330000 from sessions')" "1|1"
assert_eq "events = the sum of the rows' counts" \
	"$(sql "$db" 'select events = (select sum(count) from file_accesses) from sessions')" 1
assert_eq "all 110,000 distinct paths are there" \
	"$(sql "$db" "select count(distinct path) from file_accesses where path like '$tmp/nowhere/p%'")" 110000
check "written in several batched transactions ($(sql "$db" 'select count(*) from access_batches'))" \
	test "$(sql "$db" 'select count(*) from access_batches')" -gt 1
assert_eq "integrity_check" "$(sql "$db" 'pragma integrity_check')" ok
timeout 60 /usr/bin/time -f 'rss %M' -o "$tmp/rss" "$TOOL" report --db "$db" >"$tmp/report" 2>"$tmp/err"; rc=$?
assert_eq "report over it: exit 0" "$rc" 0
check "report: a line for each of the 110,000 paths ($(grep -c "^$tmp/nowhere/p" "$tmp/report"))" \
	test "$(grep -c "^$tmp/nowhere/p" "$tmp/report")" -eq 110000
rss=$(awk '/^rss/ {print $2}' "$tmp/rss")
[ "${TOOL_SAN:-0}" = 1 ] ||
	check "report: peak RSS ${rss} KiB is under 60 MiB" test "${rss:-999999999}" -lt 61440
timeout 60 /usr/bin/time -f 'rss %M' -o "$tmp/rss" "$TOOL" report --json --db "$db" >"$tmp/report.json" 2>"$tmp/err"; rc=$?
assert_eq "report --json: exit 0" "$rc" 0
assert_eq "report --json: one JSON array, an object for each of the 110,000 paths" \
	"$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(sum(1 for o in d if o["path"].startswith(sys.argv[2])))' "$tmp/report.json" "$tmp/nowhere/p")" 110000
rss=$(awk '/^rss/ {print $2}' "$tmp/rss")
[ "${TOOL_SAN:-0}" = 1 ] ||
	check "report --json: peak RSS ${rss} KiB is under 30 MiB" test "${rss:-999999999}" -lt 30720
# `diff` of a session that used 60,000 files with 200-byte names (12 MB of output) and a short
# one: each group is written to a file of its own until the walk ends, then printed (held in
# memory with the whole document, 46 MiB here; 34 MiB now, most of it SQLite's sort by path).
db2=$tmp/d.db
long_paths_history "$db2" 60000
for form in text json; do
	flag=; [ $form = json ] && flag=--json
	timeout 60 /usr/bin/time -f 'rss %M' -o "$tmp/rss" "$TOOL" diff $flag --db "$db2" 1 2 >"$tmp/diff.$form" 2>"$tmp/err"; rc=$?
	assert_eq "diff ($form) of the 60,000 files and /bin/true: exit 0" "$rc" 0
	rss=$(awk '/^rss/ {print $2}' "$tmp/rss")
	[ "${TOOL_SAN:-0}" = 1 ] ||
		check "diff ($form): peak RSS ${rss} KiB is under 40 MiB" test "${rss:-999999999}" -lt 40960
done
n1=$(sed -n 's/^only in 1: \([0-9]*\) paths$/\1/p' "$tmp/diff.text")
assert_eq "diff: 'only in 1' counts what it lists" "$n1" "$(sed -n '2,/^only in 2/p' "$tmp/diff.text" | grep -c '^  /')"
assert_eq "diff: the 60,000 files only in 1, in order" \
	"$(sed -n '2,/^only in 2/p' "$tmp/diff.text" | grep "^  $long/p" | sed 's/^  //' | LC_ALL=C sort -c && echo sorted; sed -n '2,/^only in 2/p' "$tmp/diff.text" | grep -c "^  $long/p")" "sorted
60000"
check "diff: /bin/true's own paths only in 2, then the changed ones (none)" \
	sh -c 'sed -n "/^only in 2: [0-9]* paths\{0,1\}$/,\$p" "$1" | grep -q "^changed between them: 0 paths$"' sh "$tmp/diff.text"
assert_eq "diff --json: one document, the 60,000 files in only_a, the sessions 1 and 2" \
	"$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(sum(1 for p in d["only_a"] if p.startswith(sys.argv[2])), d["a"]["id"], d["b"]["id"], d["changed"])' "$tmp/diff.json" "$long/p")" "60000 1 2 []"
done_testing
