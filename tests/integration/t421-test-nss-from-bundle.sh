#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# RELIABILITY ISO-06 (CVE-2019-14271 class): a bundle whose etc/nsswitch.conf says "passwd: evil"
# and which carries libnss_evil.so.2 (its constructor prints EVIL-NSS-RAN) never gets that code
# run by the tester: `magicpak test B -- /bin/true`, as root and as nobody (user namespace), and a
# failing command (whose diagnosis reruns it), print no marker. Control: a program in the bundle
# that calls getpwnam does load the module, so the marker can appear.
. "$(dirname "$0")/../lib.sh"
require_root
require_cc
require_jail
command -v setpriv >/dev/null || skip "no setpriv"
jail_fixture getpw
cc_quiet -O0 -shared -fPIC -o "$tmp/libnss_evil.so.2" "$TESTS_DIR/fixtures/jail/evilnss.c" ||
	{ echo "FAIL: cannot build libnss_evil.so.2"; exit 1; }
chmod 755 "$tmp"
b=$tmp/evil.b
jail_bundle "$b" "$tmp/getpw" /bin/true /bin/false -r /usr/bin/getpw
libdir=$(dirname "$(readlink -f "$(ldd /bin/true | awk '/libc\.so/ {print $3}')")")
mkdir -p "$b/etc" "$b$libdir"
printf 'passwd: evil\ngroup: evil\nshadow: evil\nhosts: evil\n' >"$b/etc/nsswitch.conf"
cp "$tmp/libnss_evil.so.2" "$b$libdir/"
chmod -R a+rX "$b"

run_test "$b" --no-diagnose -- /usr/bin/getpw nobody
assert_rc "control: getpw fails as written (exit 1)" 1
check "control: getpwnam inside the bundle loads its NSS module" grep -q 'EVIL-NSS-RAN' "$err"

run_test "$b" -- /bin/true
assert_rc "as root: /bin/true passes" 0
check "as root: no code from the bundle ran in the tester" sh -c '! grep -q EVIL-NSS-RAN "$1"' sh "$err"
run_test "$b" -- /bin/false
assert_rc "as root: /bin/false fails (with the diagnosis)" 1
check "as root, failing with the diagnosis: no code from the bundle ran" sh -c '! grep -q EVIL-NSS-RAN "$1"' sh "$err"

nb() { timeout 20 setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$TOOL" "$@"; }
nb test "$b" --no-diagnose -- /bin/true >/dev/null 2>"$tmp/nb.err"; rc=$?
if [ "$rc" = 3 ]; then
	echo "note: no user namespaces for nobody here: $(cat "$tmp/nb.err")"
else
	check "as nobody: /bin/true passes (exit $rc)" test "$rc" = 0
	check "as nobody: no code from the bundle ran in the tester" sh -c '! grep -q EVIL-NSS-RAN "$1"' sh "$tmp/nb.err"
fi
done_testing
