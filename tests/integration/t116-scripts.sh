#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# #! scripts (ELF-02): the interpreter and its closure; for #!/usr/bin/env NAME, env and NAME as
# found on PATH, and their closures. Oracle: ld.so --list of each interpreter. Compared as sets,
# with the script first and every path once.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"
export PATH=/usr/bin:/bin
[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3"
sorted() { printf '%s\n' "$@" | grep . | sort -u; }

printf '#!/bin/sh\necho hi\n' >s.sh
printf '#!/usr/bin/env python3\nprint("hi")\n' >p.py
printf '#!/usr/bin/env -S python3 -u\nprint("hi")\n' >pS.py
printf '#!%s/s.sh\n' "$tmp" >chain
printf '#! /bin/sh -e\n' >spaced
chmod +x s.sh p.py pS.py chain spaced

sh_set=$(sorted /bin/sh $(ld_list /bin/sh))
env_py=$(sorted /usr/bin/env $(ld_list /usr/bin/env) /usr/bin/python3 $(ld_list /usr/bin/python3))
# check_script FILE WANT_SET_WITHOUT_FILE
check_script() {
	run_tool deps "$1"
	assert_rc "$1: exit 0" 0
	assert_eq "$1: the script comes first" "$(head -1 <<<"$out")" "$tmp/$1"
	assert_eq "$1: the interpreter closure (as sets)" "$(sorted $(tail -n +2 <<<"$out"))" "$2"
	assert_eq "$1: every path once" "$(sort <<<"$out" | uniq -d)" ""
}
check_script s.sh "$sh_set"
check_script spaced "$sh_set"
check_script p.py "$env_py"
check_script pS.py "$env_py"
check_script chain "$(sorted "$tmp/s.sh" $sh_set)"

# A text file that is not a script is rejected (t130 has the details); a script with a missing
# interpreter is an error naming it.
printf '#!%s/no-such-interp\n' "$tmp" >badi
chmod +x badi
run_tool deps ./badi
check "missing interpreter: nonzero exit" test "$rc" != 0
assert_contains "missing interpreter: stderr names it" "$(cat "$err")" "$tmp/no-such-interp"
assert_one_error_line "missing interpreter: one line naming the script too" "$err" "/badi: '#!' interpreter '$tmp/no-such-interp': No such file"
done_testing
