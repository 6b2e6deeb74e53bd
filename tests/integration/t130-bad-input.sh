#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: ELF-09.
# Inputs that are not executables (ELF-01, ELF-10): each gives one "magicpak: " line on stderr
# naming the file and the reason, a nonzero exit, quickly, and nothing treated as "static".
. "$(dirname "$0")/../lib.sh"
TOOL_TIMEOUT=10 TOOL_ULIMIT_V=262144

assert_bad_input "missing file" "$tmp/no-such-file" "no such file|not found|does not exist"
mkdir adir
assert_bad_input "a directory" "$tmp/adir" "directory"
mkfifo fifo
assert_bad_input "a FIFO (must not block)" "$tmp/fifo" "fifo|not a regular file|special"
: >empty
assert_bad_input "an empty file" "$tmp/empty" "empty|not an ELF|too (short|small)|truncated"
head -c20 /bin/true >t20
assert_bad_input "a 20-byte ELF stub" "$tmp/t20" "truncated|too (short|small)|not an ELF|ELF header"
echo hi >txt
assert_bad_input "a text file without #!" "$tmp/txt" "not an ELF|not an executable|no #!|script"
cp /usr/lib/x86_64-linux-gnu/libc_nonshared.a . 2>/dev/null && assert_bad_input "an ar archive" "$tmp/libc_nonshared.a" "ar archive|archive"
cp /usr/lib/x86_64-linux-gnu/libc.so ldscript 2>/dev/null && assert_bad_input "a linker script" "$tmp/ldscript" "linker script"
printf 'int f(void){return 0;}\n' >rel.c
if command -v cc >/dev/null && cc -c rel.c -o rel.o; then
	assert_bad_input "ET_REL (cc -c)" "$tmp/rel.o" "relocatable|ET_REL|not an executable or shared object"
fi
cp /bin/true core.fake
python3 "$TESTS_DIR/fixtures/elfpatch.py" core.fake ehdr e_type 4
assert_bad_input "ET_CORE" "$tmp/core.fake" "core|ET_CORE|not an executable or shared object"
cp /bin/true arm64
python3 "$TESTS_DIR/fixtures/elfpatch.py" arm64 ehdr e_machine 183
assert_bad_input "an ELF for another machine (EM_AARCH64)" "$tmp/arm64" "machine|aarch64|architecture|EM_"

# Unreadable: as root reads succeed, so run as nobody.
cp /bin/true unreadable && chmod 000 unreadable
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
	chmod 755 "$tmp"
	out=$(timeout 10 setpriv --reuid=65534 --regid=65534 --clear-groups "$TOOL" deps "$tmp/unreadable" 2>"$err"); rc=$?
	check "unreadable file (as nobody): exit 1" test "$rc" = 1
	assert_one_error_line "unreadable file: one error line naming the file" "$err" "$tmp/unreadable"
	check "unreadable file: the reason" grep -qiE "permission denied|cannot (open|read)" "$err"
elif [ "$(id -u)" != 0 ]; then
	assert_bad_input "an unreadable file" "$tmp/unreadable" "permission denied|cannot (open|read)"
else
	echo "note: root without setpriv: unreadable-file case not tested"
fi

# Usage errors: exit 2.
run_tool deps
check "deps with no FILE: exit 2" test "$rc" = 2
assert_one_error_line "deps with no FILE: one error line" "$err" "magicpak: "
run_tool deps --no-such-option /bin/true
check "unknown option: exit 2" test "$rc" = 2
assert_one_error_line "unknown option: one error line" "$err" "no-such-option"
done_testing
