#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: TRC-05.
# magicpak report and diff on sessions of known behaviour: runs, first/last seen, ops, ENOENT lookups,
# changed content; globs ('*' stays in a directory, '**' crosses); sessions by id, label and 'last';
# readable tables and --json (parsed with Python's json).
. "$(dirname "$0")/../lib.sh"
san_no_leak_scan
require_sqlite3
require_ptrace
require_cc
record_fixture readwrite
db=$tmp/h.db
history_db "$db"
A=$tmp/A.txt B=$tmp/B.txt C=$tmp/C.txt

# --- report ---
run_tool report --db "$db" --path "$tmp/*"
assert_rc "report --path TMP/*: exit 0" 0
printf '%s\n' "$out" | sed 's/^/    /'
check "report: header" grep -qE '^PATH +RUNS +FIRST SEEN +LAST SEEN +OPS +ENOENT IN +CHANGED$' <<<"$(head -n1 <<<"$out")"
check "report: A used by runs 1-3, read, content changed (2 contents)" \
	grep -qE "^$A +3: 1-3 +[0-9T:.-]+Z +[0-9T:.-]+Z +read +- +yes \(2 contents\)$" <<<"$out"
check "report: B written by run 2" grep -qE "^$B +1: 2 .* write +- +-$" <<<"$out"
check "report: C never found, ENOENT in run 3" grep -qE "^$C +0 .* - +1: 3 +-$" <<<"$out"
check "report: the fixture executed in run 2" grep -qE "^$tmp/readwrite +1: 2 .*exec" <<<"$out"
check "report: first seen <= last seen for A" sh -c 'set -- $(grep "^$1 " <<EOT
$2
EOT
); [ "$4" \< "$5" ] || [ "$4" = "$5" ]' sh "$A" "$out"

run_tool report --db "$db" --path "$tmp/*" --json
assert_rc "report --json: exit 0" 0
json_check "report --json: A, B, C and the fixture, sorted" "$out" \
	"[p['path'] for p in d] == sorted(['$A', '$B', '$C', '$tmp/readwrite'])"
json_check "report --json: A in runs [1,2,3], read, opened 3 times, changed, 2 contents" "$out" \
	"[(p['runs'], p['run_count'], p['ops'], p['op_names'], p['accesses'], p['changed'], p['contents']) for p in d if p['path'] == '$A'] == [([1, 2, 3], 3, ['read'], ['open'], 3, True, 2)]"
json_check "report --json: A's versions: sizes 4 then 5 (one per run)" "$out" \
	"[[(v['session'], v['size']) for v in p['versions']] for p in d if p['path'] == '$A'] == [[(1, 4), (2, 5), (3, 5)]]"
json_check "report --json: C missing in run 3 only, never used" "$out" \
	"[(p['runs'], p['missing_in']) for p in d if p['path'] == '$C'] == [([], [3])]"
json_check "report --json: B written in run 2, ISO times" "$out" \
	"[(p['runs'], p['ops'], p['first_seen'][-1], p['first_seen'] <= p['last_seen']) for p in d if p['path'] == '$B'] == [([2], ['write'], 'Z', True)]"

# Globs: '*' does not cross '/', '**' does; several --path are united.
run_tool report --db "$db" --path "${tmp%/*}/*" --json
json_check "report: '${tmp%/*}/*' does not reach into $tmp" "$out" "not [p for p in d if p['path'].startswith('$tmp/')]"
run_tool report --db "$db" --path "${tmp%/*}/**/A.txt" --path "$tmp/B*" --json
json_check "report: '**' crosses directories; two --path united" "$out" "[p['path'] for p in d] == ['$A', '$B']"
run_tool report --db "$db" --path '/**/libmagicpak_zz_missing.so.1' --json
json_check "report: the missing library, looked up (ENOENT) in run 2 only" "$out" \
	"len(d) >= 1 and all(p['missing_in'] == [2] and p['runs'] == [] for p in d)"

# Sessions: by label (the latest with it), 'last', ids.
run_tool report --db "$db" --path "$tmp/*" --session first --json
json_check "report --session first: the latest 'first' (3): A and C" "$out" \
	"[(p['path'], p['runs'], p['missing_in']) for p in d] == [('$A', [3], []), ('$C', [], [3])]"
json_check "report --session first: one version, so not changed" "$out" "d[0]['changed'] is False and len(d[0]['versions']) == 1"
run_tool report --db "$db" --path "$tmp/*" --session last --json
json_check "report --session last: session 3" "$out" "[p['path'] for p in d] == ['$A', '$C']"
run_tool report --db "$db" --path "$tmp/*" --session 1 --session second --json
json_check "report --session 1 --session second: A changed between them, B, the fixture" "$out" \
	"[(p['path'], p['runs'], p['changed']) for p in d] == [('$A', [1, 2], True), ('$B', [2], False), ('$tmp/readwrite', [2], False)]"
run_tool report --db "$db" --session 2 --json
json_check "report --session 2 without --path: every path of session 2" "$out" \
	"'$B' in [p['path'] for p in d] and '$C' not in [p['path'] for p in d] and all(2 in p['runs'] + p['missing_in'] + p['failed_in'] for p in d)"
run_tool report --db "$db" --path "$tmp/nothing*"
assert_rc "report: no match is not an error" 0
assert_eq "report: no match, the header only" "$(printf '%s\n' "$out" | wc -l)" 1
run_tool report --db "$db" --path "$tmp/nothing*" --json
json_check "report --json: no match, []" "$out" 'd == []'

# --- diff ---
run_tool diff --db "$db" 1 second
assert_rc "diff 1 second: exit 0" 0
printf '%s\n' "$out" | sed 's/^/    /'
check "diff: 'only in 1 (first)' section" grep -qE '^only in 1 \(first\): [0-9]+ paths?$' <<<"$out"
check "diff: 'only in 2 (second)' section" grep -qE '^only in 2 \(second\): [0-9]+ paths?$' <<<"$out"
check "diff: changed: 1 path" grep -qE '^changed between them: 1 path$' <<<"$out"
check "diff: A changed, size 4 -> 5" grep -qE "^  $A  size 4 -> 5" <<<"$out"
check "diff: B only in 2" sh -c 'sed -n "/^only in 2/,/^changed/p" <<EOT | grep -qxF "  $1"
$2
EOT' sh "$B" "$out"

run_tool diff --db "$db" --json 1 second
assert_rc "diff --json: exit 0" 0
json_check "diff --json: a and b are the sessions" "$out" "d['a']['id'] == 1 and d['b']['id'] == 2 and d['b']['label'] == 'second'"
json_check "diff --json: B and the fixture only in b, not in a" "$out" \
	"'$B' in d['only_b'] and '$tmp/readwrite' in d['only_b'] and '$B' not in d['only_a']"
json_check "diff --json: /bin/cat (or /usr/bin/cat) only in a" "$out" "any(p.endswith('/bin/cat') for p in d['only_a'])"
json_check "diff --json: A changed (size 4 -> 5), nothing else" "$out" \
	"[(c['path'], c['a']['size'], c['b']['size']) for c in d['changed']] == [('$A', 4, 5)]"
json_check "diff --json: C (never found) is in neither" "$out" "'$C' not in d['only_a'] + d['only_b']"
run_tool diff --db "$db" --json second last
json_check "diff second last: A is the same file in both (not changed)" "$out" "d['changed'] == [] and d['b']['id'] == 3"
run_tool diff --db "$db" --json 3 first
json_check "diff 3 first: a session against itself, nothing" "$out" "d['only_a'] == d['only_b'] == d['changed'] == []"
# diff writes its groups to unnamed files in $TMPDIR before printing: none there, no output
TMPDIR=$tmp/no-such-dir "$TOOL" diff --db "$db" 1 second >"$tmp/diff.out" 2>"$tmp/diff.err"; rc=$?
assert_eq "diff with TMPDIR missing: exit 1" "$rc" 1
assert_eq "diff with TMPDIR missing: nothing printed" "$(wc -c <"$tmp/diff.out")" 0
check "diff with TMPDIR missing: one line naming it" \
	grep -qxF "magicpak: diff: cannot make a temporary file in '$tmp/no-such-dir' (TMPDIR): No such file or directory" "$tmp/diff.err"
assert_eq "diff with TMPDIR missing: one line" "$(wc -l <"$tmp/diff.err")" 1
TMPDIR=$tmp/no-such-dir "$TOOL" diff --db "$db" --json 3 first >"$tmp/diff.out" 2>"$tmp/diff.err"; rc=$?
assert_eq "diff with nothing to show needs no TMPDIR: exit 0" "$rc" 0
json_check "diff with nothing to show, TMPDIR missing: the three groups empty" "$(cat "$tmp/diff.out")" \
	"d['only_a'] == d['only_b'] == d['changed'] == []"
TMPDIR=$tmp/no-such-dir "$TOOL" diff --db "$db" 99 1 >"$tmp/diff.out" 2>"$tmp/diff.err"; rc=$?
check "diff of a missing session, TMPDIR missing: it names the session, not TMPDIR (exit $rc)" \
	sh -c '[ "$1" != 0 ] && grep -q "99" "$2" && ! grep -q TMPDIR "$2"' sh "$rc" "$tmp/diff.err"
# --- report against the raw accesses ---
# report reads the per-session summary session_paths (written when a session ends); for every
# path it must say what the raw rows of the public view file_accesses say. Then again with
# session 2 made to look killed (no ended_at, so no summary): report falls back to its rows.
raw_report() { # raw_report DB REPORT_JSON: compare; prints "ok" or the differences
	python3 - "$1" "$2" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.text_factory = bytes
O_WRONLY, O_RDWR, O_CREAT, O_TRUNC = 1, 2, 0o100, 0o1000
STAT = {b'stat', b'access', b'chdir', b'link_from'}
READ = {b'readlink', b'readdir', b'dlopen'}
want = {}
for sid, op, path, flags, err, t0, t1, n in db.execute(
        "SELECT session_id, op, path, flags, errno, time, last_time, count FROM file_accesses"):
    w = want.setdefault(path.decode(), {'runs': set(), 'missing_in': set(), 'failed_in': set(),
                                        'op_names': set(), 'ops': set(), 'accesses': 0,
                                        'first_seen': t0.decode(), 'last_seen': t1.decode()})
    w['first_seen'] = min(w['first_seen'], t0.decode())
    w['last_seen'] = max(w['last_seen'], t1.decode())
    if err == 0:
        w['runs'].add(sid)
        w['op_names'].add(op.decode())
        w['accesses'] += n
        if op == b'open':
            if flags & 3 != O_WRONLY: w['ops'].add('read')
            if flags & 3 != 0 or flags & (O_CREAT | O_TRUNC): w['ops'].add('write')
        elif op == b'exec': w['ops'].add('exec')
        elif op in STAT: w['ops'].add('stat')
        elif op in READ: w['ops'].add('read')
        else: w['ops'].add('write')
    elif err == 2:
        w['missing_in'].add(sid)
    else:
        w['failed_in'].add(sid)
got = {}
for p in json.loads(open(sys.argv[2]).read()):
    got[p['path']] = {k: set(p[k]) if isinstance(p[k], list) else p[k]
                      for k in ('runs', 'missing_in', 'failed_in', 'op_names', 'ops',
                                'accesses', 'first_seen', 'last_seen')}
bad = [(k, want.get(k), got.get(k)) for k in sorted(set(want) | set(got))
       if want.get(k) != got.get(k)]
print('ok %d paths' % len(want) if not bad and want else 'differ: %r' % bad[:5])
PY
}
raw=$tmp/raw.db
cp "$db" "$raw"
[ ! -e "$db-wal" ] || cp "$db-wal" "$raw-wal"
run_tool report --db "$raw" --json
assert_rc "report --json, every path: exit 0" 0
printf '%s' "$out" >"$tmp/report.json"
assert_eq "report = the raw accesses, for every path" \
	"$(raw_report "$raw" "$tmp/report.json" | sed 's/^ok [1-9][0-9]* paths$/ok/')" ok
assert_eq "session_paths = session_path_summary for the ended sessions" \
	"$(sqlite3 "$raw" "SELECT (SELECT count(*) FROM session_paths) || ' ' || (SELECT count(*) FROM (
	   SELECT * FROM session_paths EXCEPT SELECT * FROM session_path_summary)) || ' ' ||
	   (SELECT count(*) FROM (SELECT * FROM session_path_summary EXCEPT SELECT * FROM session_paths))")" \
	"$(sqlite3 "$raw" "SELECT count(*) FROM session_paths") 0 0"
sqlite3 "$raw" "UPDATE sessions SET ended_at = NULL, complete = 0, incomplete_reason = 'running'
		WHERE id = 2; DELETE FROM session_paths WHERE session_id = 2"
run_tool report --db "$raw" --json
printf '%s' "$out" >"$tmp/report.json"
assert_eq "session 2 never ended: report = the raw accesses (from its rows)" \
	"$(raw_report "$raw" "$tmp/report.json" | sed 's/^ok [1-9][0-9]* paths$/ok/')" ok
run_tool report --db "$raw" --path "$tmp/*" --session 2 --json
json_check "session 2 never ended: report --session 2 still sees B written" "$out" \
	"[(p['path'], p['runs'], p['ops']) for p in d if p['path'] == '$B'] == [('$B', [2], ['write'])]"
run_tool diff --db "$raw" --json 1 2
json_check "session 2 never ended: diff 1 2 still has B only in 2, A changed" "$out" \
	"'$B' in d['only_b'] and [c['path'] for c in d['changed']] == ['$A']"
assert_eq "session 2 never ended: session_files from its rows" \
	"$(sqlite3 "$raw" "SELECT count(*) FROM session_files WHERE session_id = 2 AND path = '$B'")" 1
run_tool forget --db "$raw" --session 3
assert_rc "forget --session 3: exit 0" 0
assert_eq "forget deletes the session's session_paths rows" \
	"$(sqlite3 "$raw" "SELECT count(*) FROM session_paths WHERE session_id = 3")" 0
# a relative --path could match no stored path: a usage error, not an empty report
run_tool report --db "$db" --path etc/hostname
assert_rc "report --path etc/hostname (relative): usage error" 2
assert_one_error_line "report --path etc/hostname: one line saying paths are absolute" "$err" "paths are stored absolute"
# options after the operands, as bundle and the one-shot form take them
run_tool diff 1 2 --db "$db" --json
assert_rc "diff 1 2 --db FILE --json: exit 0" 0
check "and its output is the JSON document" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(not ("only_a" in d and "changed" in d))' "$out"
done_testing
