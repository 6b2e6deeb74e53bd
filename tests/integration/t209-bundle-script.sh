#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: ELF-02, LIB-10.
# A '#!' script as INPUT: the script, its interpreter with every link on the way (/bin/sh -> dash
# through the /bin -> usr/bin link) and the interpreter's libraries are bundled, and it runs chrooted.
. "$(dirname "$0")/../lib.sh"
require_chroot
CHROOT=$(command -v chroot)
crun() { env -i PATH=/usr/bin:/bin HOME=/ LC_ALL=C timeout 10 "$CHROOT" "$@"; }

mkdir app
printf '#!/bin/sh\necho "script ok $((6 * 7))"\n' >app/s.sh
chmod 755 app/s.sh
run_tool "$tmp/app/s.sh" "$tmp/out"
assert_rc "bundle a #!/bin/sh script: exit 0" 0
check "the script is bundled at its host path" test -f "$tmp/out$tmp/app/s.sh"
cmp -s app/s.sh "$tmp/out$tmp/app/s.sh"; check "the script's contents are kept" test $? = 0
assert_eq "the script's mode is kept" "$(stat -c %a "$tmp/out$tmp/app/s.sh" 2>&1)" 755
# Every link from /bin/sh to the real shell is in the bundle with its host target.
p=/bin/sh
while :; do
	dir=$(dirname "$p")
	# a directory on the way that is a link (e.g. /bin -> usr/bin)
	d=$dir
	while [ "$d" != / ]; do
		if [ -L "$d" ]; then
			assert_eq "link $d on the way to the interpreter kept" "$(readlink "$tmp/out$d" 2>&1)" "$(readlink "$d")"
		fi
		d=$(dirname "$d")
	done
	[ -L "$p" ] || break
	phys=$(realpath -s "$(cd "$(dirname "$p")" && pwd -P)")/$(basename "$p")
	assert_eq "link $p (at $phys) kept with its host target" "$(readlink "$tmp/out$phys" 2>&1)" "$(readlink "$p")"
	t=$(readlink "$p")
	case $t in /*) p=$t ;; *) p=$(cd "$(dirname "$p")" && pwd -P)/$t ;; esac
done
real=$(realpath /bin/sh)
check "the real interpreter ($real) is a file in the bundle" test -f "$tmp/out$real" -a ! -L "$tmp/out$real"
# Its libraries: whatever ld.so would load for it (magicpak deps is checked elsewhere against ld.so).
missing=$("$TOOL" deps "$real" | while read -r l; do [ -e "$tmp/out$l" ] || echo "$l"; done)
assert_eq "every object of the interpreter's closure is in the bundle" "$missing" ""
assert_eq "chroot out $tmp/app/s.sh runs" "$(crun "$tmp/out" "$tmp/app/s.sh" 2>&1)" "script ok 42"

# #!/usr/bin/env NAME: env and NAME (found on PATH) come along.
printf '#!/usr/bin/env bash\necho "env ok $BASH_VERSINFO"\n' >app/e.sh
chmod 755 app/e.sh
run_tool "$tmp/app/e.sh" "$tmp/out2"
assert_rc "bundle a #!/usr/bin/env bash script: exit 0" 0
check "env is bundled" test -f "$tmp/out2/usr/bin/env"
check "bash is bundled" test -e "$tmp/out2$(command -v bash)"
assert_eq "chroot out2 e.sh runs" "$(crun "$tmp/out2" "$tmp/app/e.sh" 2>&1)" "env ok ${BASH_VERSINFO[0]}"

# A script with an interpreter argument (#!/usr/bin/awk -f), through the alternatives link.
printf '#!/usr/bin/awk -f\nBEGIN { print "awk script", 1+1 }\n' >app/a.awk
chmod 755 app/a.awk
run_tool "$tmp/app/a.awk" "$tmp/out3"
assert_rc "bundle a #!/usr/bin/awk -f script: exit 0" 0
assert_eq "chroot out3 a.awk runs" "$(crun "$tmp/out3" "$tmp/app/a.awk" 2>&1)" "awk script 2"

# A script whose interpreter does not exist: refused, nothing written.
printf '#!/no/such/interp\n' >app/bad.sh
chmod 755 app/bad.sh
run_tool "$tmp/app/bad.sh" "$tmp/out4"
check "script with a missing interpreter: exit 1" test "$rc" = 1
assert_one_error_line "script with a missing interpreter: one error line naming it" "$err" /no/such/interp
assert_no_output "script with a missing interpreter" "$tmp/out4"
done_testing
