#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A command that creates directories, modifies and removes bundled files writes into a
# throwaway layer: the bundle on disk (listing and contents) is the same afterwards, and
# nothing is left on the host (RELIABILITY ISO-11). A program bundled from under /tmp runs:
# the jail's /tmp keeps what the bundle has there (else it is a fresh tmpfs), and writes there
# are thrown away too.
. "$(dirname "$0")/../lib.sh"
require_root
require_jail
b=$tmp/w.b
jail_bundle "$b" /bin/sh /bin/mkdir /bin/rm /bin/cat
tree_state "$b" >"$tmp/before"
ls -a /tmp >"$tmp/tmp.before"
run_test "$b" --expect-stdout 'x
changed' -- /bin/sh -c 'mkdir /tmp2 && echo x >/tmp2/x && mkdir -p /etc/new && echo y >/etc/new/y &&
	echo changed >/usr/bin/mkdir && rm /usr/bin/rm && cat /tmp2/x /usr/bin/mkdir'
assert_rc "the writes succeed inside: pass" 0
tree_state "$b" >"$tmp/after"
assert_eq "bundle listing and sha256 sums identical before and after" "$(diff "$tmp/before" "$tmp/after")" ""
check "no /tmp2 in the bundle" test ! -e "$b/tmp2"
run_test "$b" -- /bin/sh -c 'test ! -e /tmp2 && test -x /usr/bin/rm'
assert_rc "the next run starts from the bundle again" 0
ls -a /tmp >"$tmp/tmp.after"
check "no jail directory left in the host's /tmp" sh -c '! diff "$1" "$2" | grep -q "^> .*jail"' sh "$tmp/tmp.before" "$tmp/tmp.after"
# a program that lives under /tmp (as the tests' own programs do)
mkdir -p "$tmp/prog" && cp /bin/cat "$tmp/prog/mycat" && echo data >"$tmp/prog/data"
"$TOOL" "$tmp/prog/mycat" /bin/sh "$tmp/t.b" -i "$tmp/prog/data" >/dev/null 2>&1 || fail "bundle a program from /tmp"
tree_state "$tmp/t.b" >"$tmp/t.before"
run_test "$tmp/t.b" --expect-stdout data -- "$tmp/prog/mycat" "$tmp/prog/data"
assert_rc "a program bundled from /tmp runs in the jail" 0
run_test "$tmp/t.b" --expect-stdout w -- /bin/sh -c "echo w >/tmp/w && $tmp/prog/mycat /tmp/w"
assert_rc "its /tmp is writable there" 0
tree_state "$tmp/t.b" >"$tmp/t.after"
assert_eq "that bundle is unchanged too" "$(diff "$tmp/t.before" "$tmp/t.after")" ""
done_testing
