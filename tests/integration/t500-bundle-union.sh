#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: LIB-11.
# magicpak bundle: the union of several recorded sessions passes a test that neither session's bundle
# passes alone (python3 importing json in one run and sqlite3 in another); the one-shot --test runs
# through the same hook.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3"
/usr/bin/python3 -c 'import sqlite3' 2>/dev/null || skip "python3 has no sqlite3 module"
require_jail
db=$tmp/h.db
rec "$db" --label import-json -- /usr/bin/python3 -c 'import json'
rec "$db" --label import-sqlite -- /usr/bin/python3 -c 'import sqlite3'
t="python3 -c 'import json, sqlite3; print(json.dumps([sqlite3.sqlite_version_info[0]]))'"

TOOL_TIMEOUT=120 bundle_rc "$db" --session import-json --session import-sqlite "$tmp/both" --test --test-command "$t" --test-stdout '[3]'
assert_rc "--session import-json --session import-sqlite --test: passes" 0
check "the union bundle was written" test -x "$tmp/both/usr/bin/python3"
check "it holds json/__init__.py (session 1)" test -n "$(find "$tmp/both" -path '*/json/__init__.py' -type f)"
check "it holds _sqlite3*.so (session 2) and libsqlite3 (its closure)" \
	test -n "$(find "$tmp/both" -name '_sqlite3*.so' -type f)" -a -n "$(find "$tmp/both" -name 'libsqlite3.so*' -type f)"
assert_eq "no warning for unchanged files" "$(grep -c 'changed\|not bundling\|conflict' "$err")" 0

for s in import-json import-sqlite; do
	TOOL_TIMEOUT=120 bundle_rc "$db" --session "$s" "$tmp/only-$s" --test --test-command "$t"
	assert_rc "--session $s alone: the same test fails" 1
	check "--session $s alone: the failure is reported" grep -q 'test failed' "$err"
	assert_no_output "--session $s alone" "$tmp/only-$s"
done

# Ids work as labels do, in any order, and a session named twice counts once.
TOOL_TIMEOUT=120 bundle_rc "$db" -s 2 -s 1 -s import-json "$tmp/ids" --test --test-command "$t"
assert_rc "-s 2 -s 1 -s import-json: passes" 0
assert_eq "ids and labels give the same tree" "$(listing "$tmp/ids")" "$(listing "$tmp/both")"

# --test without --test-command: there is no INPUT to run.
bundle_rc "$db" --all "$tmp/notest" --test
assert_rc "--test without --test-command: usage error" 2
assert_one_error_line "--test without --test-command: one line" "$err" "--test-command"
bundle_rc "$db" --all -r /x "$tmp/noinst"
assert_rc "--install-to: usage error (no INPUT)" 2
done_testing
