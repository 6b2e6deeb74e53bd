#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Static and static-pie executables: just the file, exit 0 (ELF-10).
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"

cc_quiet -static -o st "$FIXTURES/main.c" || skip "cannot link -static (no libc.a)"
cc_quiet -static-pie -o stpie "$FIXTURES/main.c" || skip "cannot link -static-pie"
check "fixture: st has no PT_INTERP" bash -c '[ -z "$(readelf -lW st | grep interpreter)" ]'
check "fixture: stpie has PT_DYNAMIC and no PT_INTERP" \
	bash -c 'readelf -lW stpie | grep -q DYNAMIC && [ -z "$(readelf -lW stpie | grep interpreter)" ]'
for f in st stpie; do
	run_tool deps ./$f
	assert_rc "$f: exit 0" 0
	assert_eq "$f: just the file" "$out" "$tmp/$f"
	run_tool deps --tree ./$f
	assert_rc "$f --tree: exit 0" 0
	run_tool deps --json ./$f
	assert_rc "$f --json: exit 0" 0
	check "$f --json parses" json_ok
	assert_contains "$f --json names the file" "$out" "\"$tmp/$f\""
done
run_tool deps ./st ./stpie ./st
assert_eq "two static files (one twice): each once, in order" "$out" "$(printf '%s\n' "$tmp/st" "$tmp/stpie")"
done_testing
