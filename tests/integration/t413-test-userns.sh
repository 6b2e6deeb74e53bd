#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: ISO-09, ISO-11.
# Not root: the jail is made in a user namespace (uid 0 inside mapped to the caller); the
# command has no capabilities and cannot change the bundle. Root without CAP_SYS_ADMIN (a
# container build's RUN step) makes it the same way, where it failed "Operation not permitted".
. "$(dirname "$0")/../lib.sh"
require_root
command -v setpriv >/dev/null || skip "no setpriv"
setpriv --reuid=65534 --regid=65534 --clear-groups unshare -U true 2>/dev/null || skip "no unprivileged user namespaces here"
chmod 755 "$tmp"
b=$tmp/nb.b
jail_bundle "$b" /bin/cat /bin/sh
chown -R 65534:65534 "$b"
tree_state "$b" >"$tmp/before"
as_nobody() { out=$(setpriv --reuid=65534 --regid=65534 --clear-groups timeout 20 "$TOOL" test "$@" 2>"$err"); rc=$?; }
as_nobody "$b" -- /bin/cat /proc/self/status /proc/self/uid_map
assert_rc "as nobody: exit 0" 0
has_row "CapEff 0" "$out" "CapEff:	0000000000000000"
has_row "NoNewPrivs 1" "$out" "NoNewPrivs:	1"
check "uid 0 inside is 65534 outside" grep -qE '^ +0 +65534 +1$' <<<"$out"
as_nobody "$b" -- /bin/sh -c 'echo junk >/usr/bin/cat && mkdir /x'
as_nobody "$b" --expect-stdout 'a = 1' --stdin 'a = 1' -- /bin/cat
assert_rc "as nobody: stdin and expected output" 0
tree_state "$b" >"$tmp/after"
assert_eq "as nobody: the bundle is unchanged after writes" "$(diff "$tmp/before" "$tmp/after")" ""
as_nobody "$b" -- /bin/sh -c 'exit 5'
assert_rc "as nobody: a failing command: exit 1" 1
no_admin() { out=$(setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin timeout 20 "$TOOL" test "$@" 2>"$err"); rc=$?; }
no_admin "$b" -- /bin/cat /proc/self/status /proc/self/uid_map /proc/sys/kernel/hostname
assert_rc "root without CAP_SYS_ADMIN: the jail is made (exit 0)" 0 || sed 's/^/    /' "$err"
has_row "root without CAP_SYS_ADMIN: CapEff 0 inside" "$out" "CapEff:	0000000000000000"
check "root without CAP_SYS_ADMIN: uid 0 inside is 0 outside, in a user namespace" grep -qE '^ +0 +0 +1$' <<<"$out"
has_row "root without CAP_SYS_ADMIN: the jail's own host name" "$out" "magicpak"
no_admin "$b" -- /bin/sh -c 'echo junk >/usr/bin/cat'
tree_state "$b" >"$tmp/after2"
assert_eq "root without CAP_SYS_ADMIN: the bundle is unchanged after a write" "$(diff "$tmp/before" "$tmp/after2")" ""
done_testing
