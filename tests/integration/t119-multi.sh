#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Several FILEs: the union of their closures, each path once, in first-seen order.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"
unset LD_LIBRARY_PATH

fx_lib L/libone.so libone.so
fx_lib L/libtwo.so libtwo.so
fx_lib L/libshared.so libshared.so
fx_app app1 L/libone.so L/libshared.so "$(fx_runpath "$tmp/L")"
fx_app app2 L/libtwo.so L/libshared.so "$(fx_runpath "$tmp/L")"
union() { awk '!seen[$0]++'; }
want=$( (fx_expect ./app1; fx_expect ./app2) | union)
run_tool deps ./app1 ./app2
assert_rc "two programs: exit 0" 0
assert_eq "two programs: union in first-seen order" "$out" "$want"
run_tool deps ./app1 "$tmp/app1" ./L/../app1
assert_eq "the same file three ways: listed once" "$out" "$(fx_expect ./app1)"
want=$( (fx_expect ./app2; printf '%s\n' "$tmp/L/libone.so") | union)
run_tool deps ./app2 L/libone.so
assert_eq "a program and a library: union" "$out" "$want"
run_tool deps --json ./app1 ./app2
check "--json with two inputs parses" json_ok
done_testing
