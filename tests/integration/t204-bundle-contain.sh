#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: BND-03.
# Containment (E-CONTAIN, BND-01, BND-02): nothing a bundle run writes can land outside OUTPUT, whether
# through a symlink already in OUTPUT, a symlink the bundle itself recreates from the host, or lexical
# tricks in --mkdir and --install-to.
. "$(dirname "$0")/../lib.sh"
san_no_leak_scan

# (a) BND-01: OUTPUT already holds out/etc -> $tmp/sentinel/etc. It is not empty: refused.
contain_setup
mkdir out && ln -s "$tmp/sentinel/etc" out/etc
contain_setup
run_tool --include /etc/hostname /bin/cat "$tmp/out"
assert_rc "BND-01 out/etc -> sentinel/etc: refused, exit 1" 1
assert_one_error_line "BND-01: one error line naming OUTPUT" "$err" "$tmp/out"
check "BND-01: no hostname written into the sentinel" test ! -e "$tmp/sentinel/etc/hostname"
assert_eq "BND-01: out still holds only its link" "$(listing out)" "etc 777 l $tmp/sentinel/etc"
assert_eq "BND-01: no out.magicpak-* left" "$(ls -d out.magicpak-* 2>/dev/null)" ""
contain_check "BND-01" "$tmp/out"

# (b) a symlink the bundle itself recreates: the host has $tmp/src/etc -> $tmp/sentinel2 (absolute, out of
# the bundle's tree) and $tmp/sentinel2/x. Including the link and a file reached through it must give
# out$tmp/src/etc -> $tmp/sentinel2 (verbatim) and the file at out$tmp/sentinel2/x, and must not write
# into the real $tmp/sentinel2 (the naive write of out$tmp/src/etc/x follows the new link to the host).
mkdir -p src sentinel2
echo "host file x" >sentinel2/x
ln -s "$tmp/sentinel2" src/etc
listing sentinel2 >.s2.list
s2sum=$(sha256sum sentinel2/x)
contain_setup
run_tool --include "$tmp/src/etc" --include "$tmp/src/etc/x" /bin/true "$tmp/out2"
assert_rc "bundle-made link: exit 0" 0
check "bundle-made link: out2$tmp/src/etc is a symlink" test -L "$tmp/out2$tmp/src/etc"
assert_eq "bundle-made link: its target is verbatim" "$(readlink "$tmp/out2$tmp/src/etc")" "$tmp/sentinel2"
check "bundle-made link: the file is at out2$tmp/sentinel2/x" test -f "$tmp/out2$tmp/sentinel2/x" -a ! -L "$tmp/out2$tmp/sentinel2/x"
assert_eq "bundle-made link: its content" "$(cat "$tmp/out2$tmp/sentinel2/x" 2>&1)" "host file x"
check "bundle-made link: host sentinel2/x unchanged" test "$(sha256sum sentinel2/x)" = "$s2sum"
contain_check "bundle-made link" "$tmp/out2" "$tmp/sentinel2=$tmp/.s2.list"
# The same with the file listed first (the order of the work must not matter).
contain_setup
run_tool --include "$tmp/src/etc/x" --include "$tmp/src/etc" /bin/true "$tmp/out3"
assert_rc "bundle-made link, other order: exit 0" 0
assert_eq "bundle-made link, other order: same tree" "$(listing "$tmp/out3")" "$(listing "$tmp/out2")"
contain_check "bundle-made link, other order" "$tmp/out3" "$tmp/sentinel2=$tmp/.s2.list"
# A relative link that climbs out: src/up -> ../../../../../../../../..$tmp/sentinel2, then a file through it.
ln -s "../../../../../../../../..$tmp/sentinel2" src/up
contain_setup
run_tool --include "$tmp/src/up" --include "$tmp/src/up/x" /bin/true "$tmp/out4"
assert_rc "climbing relative link: exit 0" 0
assert_eq "climbing relative link: kept verbatim" "$(readlink "$tmp/out4$tmp/src/up" 2>&1)" "../../../../../../../../..$tmp/sentinel2"
check "climbing relative link: the file is inside the bundle" test -f "$tmp/out4$tmp/sentinel2/x"
contain_check "climbing relative link" "$tmp/out4" "$tmp/sentinel2=$tmp/.s2.list"

# (c) BND-02: --mkdir and --install-to with .. stay inside, normalised and clamped to the bundle root.
contain_setup
run_tool --mkdir "/../../..$tmp/sentinel/etc/pwn" --install-to ../../../x /bin/true "$tmp/out5"
if [ "$rc" = 0 ]; then
	check "--mkdir /../../..\$tmp/sentinel/etc/pwn: made at out5\$tmp/sentinel/etc/pwn" test -d "$tmp/out5$tmp/sentinel/etc/pwn" -a ! -L "$tmp/out5$tmp/sentinel/etc/pwn"
	check "--install-to ../../../x: the program at out5/x" test -f "$tmp/out5/x"
	check "--install-to ../../../x: nothing at \$tmp/x or /x" test ! -e "$tmp/x" -a ! -e /x
else
	assert_one_error_line "BND-02: refused with one error line naming the option" "$err" ".."
	assert_no_output "BND-02 refused" "$tmp/out5"
fi
check "BND-02: no pwn in the real sentinel" test ! -e "$tmp/sentinel/etc/pwn"
contain_check "BND-02" "$tmp/out5"
# --mkdir through a symlink the bundle recreated: out/src/etc -> $tmp/sentinel2; --mkdir $tmp/src/etc/made
contain_setup
run_tool --include "$tmp/src/etc" --mkdir "$tmp/src/etc/made" /bin/true "$tmp/out6"
check "--mkdir through a bundle-made link: nothing made in the real sentinel2" test ! -e "$tmp/sentinel2/made"
if [ "$rc" = 0 ]; then
	check "--mkdir through a bundle-made link: made inside the bundle" test -d "$tmp/out6$tmp/sentinel2/made" -o -d "$tmp/out6$tmp/src/etc/made"
fi
contain_check "--mkdir through a bundle-made link" "$tmp/out6" "$tmp/sentinel2=$tmp/.s2.list"
# --install-to through a bundle-made link.
contain_setup
run_tool --include "$tmp/src/etc" --install-to "$tmp/src/etc/prog" /bin/true "$tmp/out7"
check "--install-to through a bundle-made link: nothing written in the real sentinel2" test ! -e "$tmp/sentinel2/prog"
if [ "$rc" = 0 ]; then
	check "--install-to through a bundle-made link: the program is inside the bundle" test -f "$tmp/out7$tmp/sentinel2/prog"
fi
contain_check "--install-to through a bundle-made link" "$tmp/out7" "$tmp/sentinel2=$tmp/.s2.list"
done_testing
