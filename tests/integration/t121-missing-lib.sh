#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A library that cannot be found: the found paths still go to stdout, stderr names the missing
# soname, the object that needs it and the directories searched; exit 1.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"
unset LD_LIBRARY_PATH

fx_lib stub/libgone.so libgone.so
fx_lib L/libok.so libok.so
fx_app app L/libok.so stub/libgone.so "$(fx_runpath "$tmp/R1:$tmp/R2:$tmp/L")"
mkdir R1 R2
check "oracle sanity: the loader cannot find libgone.so" \
	bash -c './app 2>&1 | grep -q "libgone.so: cannot open shared object file"'
LD_LIBRARY_PATH=$tmp/LLP run_tool deps ./app
assert_rc "exit 1" 1
assert_eq "found objects on stdout, in order" "$out" \
	"$(printf '%s\n' "$tmp/app" "$tmp/L/libok.so" /lib/x86_64-linux-gnu/libc.so.6 /lib64/ld-linux-x86-64.so.2)"
assert_one_error_line "one error line naming libgone.so" "$err" libgone.so
e=$(cat "$err")
assert_contains "stderr names the needing object" "$e" "$tmp/app"
for d in "$tmp/R1" "$tmp/R2" "$tmp/L" "$tmp/LLP" /usr/lib/x86_64-linux-gnu; do
	assert_contains "stderr names searched dir $d" "$e" "$d"
done
LD_LIBRARY_PATH=$tmp/LLP run_tool deps --tree ./app
assert_rc "--tree: exit 1" 1
check "--tree: libgone.so tagged not found" grep -q 'libgone\.so => .*\[not found\]' <<<"$out"

# Missing two levels down: the library that needs it is named.
fx_lib L2/libmid.so libmid.so stub/libgone.so
fx_app app2 L2/libmid.so "$(fx_runpath "$tmp/L2")"
run_tool deps ./app2
assert_rc "missing below a library: exit 1" 1
assert_contains "missing below a library: stdout still has libmid" "$out" "$tmp/L2/libmid.so"
assert_contains "missing below a library: stderr names libgone.so" "$(cat "$err")" libgone.so
assert_contains "missing below a library: stderr names libmid.so as the needer" "$(cat "$err")" "$tmp/L2/libmid.so"
done_testing
