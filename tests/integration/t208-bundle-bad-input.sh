#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: ELF-01.
# Bad input through the one-shot form (E-IN): one "magicpak: " line on stderr naming the file, a
# nonzero exit (1; 2 for usage errors), quickly, without blocking, and nothing written: no OUTPUT and
# no OUTPUT.magicpak-*.
. "$(dirname "$0")/../lib.sh"
TOOL_TIMEOUT=10

n=0
bad_input() { # bad_input DESC FILE REASON_REGEX
	local desc=$1 f=$2 re=$3 o
	n=$((n + 1)); o=$tmp/out$n
	run_tool "$f" "$o"
	check "$desc: exit 1 (got $rc; 124 = timeout)" test "$rc" = 1
	assert_one_error_line "$desc: one error line naming the file" "$err" "$f"
	check "$desc: the reason matches /$re/" grep -qiE -- "$re" "$err"
	assert_eq "$desc: nothing on stdout" "$out" ""
	assert_no_output "$desc" "$o"
}
bad_input "missing input" "$tmp/no-such-file" "no such file|not found|does not exist"
mkdir adir
bad_input "a directory" "$tmp/adir" "directory"
mkfifo fifo
start=$SECONDS
bad_input "a FIFO (must not block)" "$tmp/fifo" "fifo|not a regular file|special"
check "a FIFO: did not block (under 5 s)" test $((SECONDS - start)) -lt 5
: >empty
bad_input "an empty file" "$tmp/empty" "empty|not an ELF|too (short|small)|truncated"
echo hello >txt
bad_input "a text file without #!" "$tmp/txt" "not an ELF|not an executable|no #!|script"
if [ -f /usr/lib/x86_64-linux-gnu/libc_nonshared.a ]; then
	bad_input "an ar archive" /usr/lib/x86_64-linux-gnu/libc_nonshared.a "ar archive|archive"
fi
if [ -f /usr/lib/x86_64-linux-gnu/libc.so ] && ! [ -L /usr/lib/x86_64-linux-gnu/libc.so ]; then
	bad_input "a linker script" /usr/lib/x86_64-linux-gnu/libc.so "linker script"
fi
cp /bin/true arm64
python3 "$TESTS_DIR/fixtures/elfpatch.py" arm64 ehdr e_machine 183
bad_input "an ELF for another machine (e_machine 183)" "$tmp/arm64" "machine|aarch64|architecture|EM_"
# A good input followed by a bad one: still nothing written.
run_tool /bin/true "$tmp/no-such-file" "$tmp/outgb"
check "good then missing: exit 1" test "$rc" = 1
assert_one_error_line "good then missing: one error line naming the missing file" "$err" "$tmp/no-such-file"
assert_no_output "good then missing" "$tmp/outgb"

# A library that cannot be found: a program whose DT_NEEDED library was deleted after linking.
if command -v cc >/dev/null; then
	mkdir L
	printf 'int g(void){return 0;}\n' >g.c
	printf 'int g(void);\nint main(void){return g();}\n' >m.c
	if cc -shared -fPIC -o L/libgone.so g.c && cc -o needsgone m.c -LL -lgone; then
		rm L/libgone.so
		run_tool "$tmp/needsgone" "$tmp/outlib"
		check "missing library: exit 1" test "$rc" = 1
		assert_one_error_line "missing library: one error line naming the library" "$err" libgone.so
		check "missing library: the line names the program too" grep -qF "$tmp/needsgone" "$err"
		assert_no_output "missing library" "$tmp/outlib"
	else
		echo "FAIL: cannot build the missing-library fixture"; t_failed=$((t_failed + 1))
	fi
fi

# OUTPUT not empty.
mkdir full && echo keep >full/f
run_tool /bin/true "$tmp/full"
check "OUTPUT not empty: exit 1" test "$rc" = 1
assert_one_error_line "OUTPUT not empty: one error line naming it" "$err" "$tmp/full"
assert_eq "OUTPUT not empty: unchanged" "$(listing full)" "f 644 f "

# Usage errors: exit 2, one error line.
run_tool
check "no arguments: exit 2" test "$rc" = 2
assert_one_error_line "no arguments: one error line" "$err" "usage"
run_tool /bin/true
check "one argument: exit 2" test "$rc" = 2
assert_one_error_line "one argument: one error line" "$err" "OUTPUT"
check "one argument: /bin/true not taken as OUTPUT" test ! -e "$tmp/true"
run_tool --no-such-option /bin/true "$tmp/outopt"
check "unknown option: exit 2" test "$rc" = 2
assert_one_error_line "unknown option: one error line naming it" "$err" "no-such-option"
assert_no_output "unknown option" "$tmp/outopt"
run_tool -Z /bin/true "$tmp/outopt2"
check "unknown short option: exit 2" test "$rc" = 2
assert_one_error_line "unknown short option: one error line" "$err" "Z"
# the option itself is named, not its cluster; a flag given a value is said to take none
run_tool -vZ /bin/true "$tmp/outopt3"
assert_one_error_line "unknown short option in a cluster (-vZ): named alone" "$err" "unknown option '-Z'"
run_tool -Zv /bin/true "$tmp/outopt3"
assert_one_error_line "unknown short option starting a cluster (-Zv): named alone" "$err" "unknown option '-Z'"
run_tool --dynamic=yes /bin/true "$tmp/outopt3"
check "--dynamic=yes: exit 2" test "$rc" = 2
assert_one_error_line "--dynamic=yes: one line saying it takes no value" "$err" "option '--dynamic' takes no value"
assert_no_output "options given wrong" "$tmp/outopt3"
run_tool /bin/true "$tmp/outmiss" --include
check "--include without its argument: exit 2" test "$rc" = 2
assert_one_error_line "--include without its argument: one error line" "$err" "include"
done_testing
