#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ELF-02, the kernel's limits on '#!' scripts, with the kernel itself as the oracle (each script is
# exec'd with execv(2), which never falls back to a shell): a chain of scripts, each naming the next,
# runs up to 5 scripts deep and fails with ELOOP at 6; magicpak resolves the same depths and refuses
# the deeper one with one error line. A '#!' line longer than the 256 bytes the kernel reads: a long
# argument is cut and the script still runs; an interpreter name that does not end inside them makes
# the exec fail (ENOEXEC), and magicpak says so instead of resolving a cut name.
. "$(dirname "$0")/../lib.sh"
require_python3
TOOL_TIMEOUT=10
# kexec FILE: "ran" if execv(FILE) ran it (the script prints "hi"), else the errno name.
kexec() {
	python3 -c '
import errno, os, sys
try:
    os.execv(sys.argv[1], [sys.argv[1]])
except OSError as e:
    print(errno.errorcode[e.errno])' "$1" | sed 's/^hi$/ran/'
}
sh_closure=$("$TOOL" deps /bin/sh | LC_ALL=C sort)

# s0 is a script run by /bin/sh; sN is a script whose interpreter is s(N-1).
printf '#!/bin/sh\necho hi\n' >s0
chmod +x s0
for i in 1 2 3 4 5; do printf '#!%s/s%d\n' "$tmp" $((i - 1)) >s$i; chmod +x s$i; done
for i in 0 1 2 3 4; do
	d=$((i + 1))
	assert_eq "oracle: a chain of $d script(s) runs" "$(kexec "$tmp/s$i")" ran
	run_tool deps "$tmp/s$i"
	assert_rc "a chain of $d script(s): exit 0" 0
	want=$(for j in $(seq "$i" -1 0); do echo "$tmp/s$j"; done; echo "$sh_closure")
	assert_eq "a chain of $d script(s): every script and the closure of /bin/sh" \
		"$(LC_ALL=C sort <<<"$out")" "$(LC_ALL=C sort <<<"$want")"
done
assert_eq "oracle: a chain of 6 scripts fails with ELOOP" "$(kexec "$tmp/s5")" ELOOP
run_tool deps "$tmp/s5"
assert_rc "a chain of 6 scripts: exit 1" 1
assert_one_error_line "a chain of 6 scripts: one error line" "$err" "levels of '#!'"
check "a chain of 6 scripts: the line names a script of the chain" grep -qE "$tmp/s[0-5]" "$err"
run_tool "$tmp/s5" "$tmp/out6"
assert_rc "a chain of 6 scripts, one-shot form: exit 1" 1
assert_no_output "a chain of 6 scripts, one-shot form" "$tmp/out6"

# A 300-byte argument: the kernel passes the first bytes of it and runs /bin/sh.
python3 -c 'import sys; open(sys.argv[1], "w").write("#!/bin/sh " + "x" * 300 + "\necho hi\n")' longarg
chmod +x longarg
# /bin/sh takes the cut argument as a script name and fails, but execv itself succeeded.
assert_eq "oracle: a 300-byte argument is cut, the exec succeeds" "$(kexec "$tmp/longarg" 2>/dev/null)" ""
run_tool deps "$tmp/longarg"
assert_rc "a 300-byte argument: exit 0" 0
assert_eq "a 300-byte argument: the script and the closure of /bin/sh" \
	"$(LC_ALL=C sort <<<"$out")" "$(printf '%s\n' "$tmp/longarg" "$sh_closure" | LC_ALL=C sort)"

# An interpreter name of /////...//bin/sh: the '#!' line is L bytes before its newline.
# mk_long NAME L [nonl]: such a script (without any newline when "nonl" is given).
mk_long() {
	python3 -c '
import sys
name, n, nonl = sys.argv[1], int(sys.argv[2]), len(sys.argv) > 3
interp = "/" * (n - 2 - len("bin/sh")) + "bin/sh"
open(name, "w").write("#!" + interp + ("" if nonl else "\necho hi\n"))' "$@"
	chmod +x "$1"
}
mk_long l255 255
mk_long l256 256
mk_long n254 254 nonl
mk_long n255 255 nonl
mk_long n256 256 nonl
for f in l255 n254 n255; do
	k=$(kexec "$tmp/$f")
	# n25x have no "echo hi": the kernel ran them if execv raised nothing.
	[ "$f" != l255 ] && [ -z "$k" ] && k=ran
	assert_eq "oracle: $f (the interpreter name ends inside the kernel's buffer) runs" "$k" ran
	run_tool deps "$tmp/$f"
	assert_rc "$f: exit 0" 0
	assert_eq "$f: the script and the closure of /bin/sh" \
		"$(LC_ALL=C sort <<<"$out")" "$(printf '%s\n' "$tmp/$f" "$sh_closure" | LC_ALL=C sort)"
done
for f in l256 n256; do
	assert_eq "oracle: $f (the interpreter name may be cut) fails with ENOEXEC" "$(kexec "$tmp/$f")" ENOEXEC
	run_tool deps "$tmp/$f"
	assert_rc "$f: exit 1" 1
	assert_one_error_line "$f: one error line naming the script" "$err" "$tmp/$f"
	check "$f: the reason is the interpreter name's length" grep -qiE "interpreter.*(long|255)" "$err"
	assert_eq "$f: nothing on stdout" "$out" ""
done
done_testing
