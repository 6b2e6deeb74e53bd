#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: SQL-08.
# magicpak bundle on recorded paths a hostile program (or a hand-edited database: the schema is public)
# may hold (RELIABILITY BND-02, BND-11): '..' climbing (folded lexically, clamped at /, and still checked
# against the recorded file), a newline in a name (copied exactly), a relative, an empty path, a NUL byte
# (each ignored with a warning naming it). Nothing is ever written outside OUTPUT (E-CONTAIN).
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
use_dbdir
db=$dbdir/h.db
mkdir -p "$tmp/src"
echo plain >"$tmp/src/f"
nl="$tmp/src/a
b"
echo newline >"$nl"
for n in dd1 dd2 rel empty nul; do echo "$n" >"$tmp/src/$n"; done
rec "$db" -- /bin/cat "$tmp/src/f" "$nl" "$tmp/src/dd1" "$tmp/src/dd2" "$tmp/src/rel" "$tmp/src/empty" "$tmp/src/nul"
# Rewrite the stored names (paths are interned: accesses and versions follow).
q() { printf "%s" "$1" | sed "s/'/''/g"; }
sql "$db" "update paths set path = '/../../..$(q "$tmp")/src/dd1' where path = '$(q "$tmp")/src/dd1'"
sql "$db" "update paths set path = '$(q "$tmp")/src/../../../../../..$(q "$tmp")/sentinel/etc/passwd' where path = '$(q "$tmp")/src/dd2'"
sql "$db" "update paths set path = 'etc/rel' where path = '$(q "$tmp")/src/rel'"
sql "$db" "update paths set path = '' where path = '$(q "$tmp")/src/empty'"
sql "$db" "update paths set path = CAST('$(q "$tmp")/src/f' || char(0) || 'x' AS BLOB) where path = '$(q "$tmp")/src/nul'"
contain_setup
bundle_rc "$db" "$tmp/out"
assert_rc "hostile rows: exit 0 (each reported)" 0
sed 's/^/    stderr: /' "$err"
check "'..' from the root: a warning naming the row and what it became" grep -q "recorded path '/../../..$tmp/src/dd1' climbs with '..'; taken as '$tmp/src/dd1'" "$err"
check "'..' from the root: clamped at /, the recorded file bundled" test -f "$tmp/out$tmp/src/dd1"
check "'..' to another file: named in a warning" grep -q "not bundling '$tmp/sentinel/etc/passwd': it is not the file session 1 recorded" "$err"
check "'..' to another file: that file is not read into the bundle" test ! -e "$tmp/out$tmp/sentinel/etc/passwd"
assert_eq "a newline in a name: copied exactly" "$(cat "$tmp/out$nl" 2>&1)" "newline"
check "a newline in a name: messages escape it (one line each)" sh -c '! grep -q "^b" "$1"' sh "$err"
check "a relative path: ignored, with a warning naming it" grep -q "recorded path 'etc/rel' is not absolute; ignored" "$err"
check "a relative path: nothing made for it" test ! -e "$tmp/out/etc/rel"
check "an empty path: ignored, with a warning" grep -q "recorded path '' is empty; ignored" "$err"
check "a NUL byte: ignored, with a warning" grep -q "recorded path '$tmp/src/f' holds a NUL byte; ignored" "$err"
check "the plain file is bundled" test -f "$tmp/out$tmp/src/f"
contain_check "hostile rows" "$tmp/out"

# The same through the one-shot options (BND-02).
contain_setup
run_tool --mkdir "/../../..$tmp/sentinel/etc/pwn" --install-to ../../../x /bin/true "$tmp/out2"
assert_rc "one-shot --mkdir/--install-to with '..': exit 0" 0
check "--mkdir with '..': clamped inside the bundle" test -d "$tmp/out2$tmp/sentinel/etc/pwn"
check "--install-to ../../../x: /x in the bundle" test -f "$tmp/out2/x"
contain_check "one-shot '..' options" "$tmp/out2"
done_testing
