#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: BND-04.
# magicpak bundle: a recorded file that changed on disk since (size, mtime, or the sha256 of
# record --hash) is reported in one warning line and still bundled; --strict makes it an error that
# writes nothing. A file replaced by another one (a new inode) is never copied. Files the run wrote are
# recorded as it left them, so they do not count as changed.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
db=$tmp/h.db
mkdir "$tmp/data"
echo hello >"$tmp/data/conf"
echo same >"$tmp/data/keep"
rec "$db" -- /bin/cat "$tmp/data/conf" "$tmp/data/keep"

bundle_rc "$db" "$tmp/o-clean"
assert_rc "unchanged: exit 0" 0
assert_eq "unchanged: no warning" "$(cat "$err")" ""

echo more >>"$tmp/data/conf"
bundle_rc "$db" "$tmp/o-warn"
assert_rc "changed (appended): exit 0" 0
assert_eq "changed: exactly one warning line" "$(grep -c . "$err")" 1
check "changed: the warning names the file and the session" grep -q "^magicpak: .*'$tmp/data/conf' changed since session 1 recorded it (size 6, now 11" "$err"
assert_eq "changed: still bundled, as it is now" "$(cat "$tmp/o-warn$tmp/data/conf")" "$(printf 'hello\nmore')"
bundle_rc "$db" --strict "$tmp/o-strict"
assert_rc "--strict: exit 1" 1
check "--strict: the error names the file" grep -q "'$tmp/data/conf' changed since session 1.*--strict" "$err"
assert_no_output "--strict" "$tmp/o-strict"

# Same size, mtime put back: only the hash can tell.
echo abcd >"$tmp/data/h"
rec "$db" --hash -- /bin/cat "$tmp/data/h"
cp -p "$tmp/data/h" "$tmp/ref"
echo wxyz >"$tmp/data/h"
touch -r "$tmp/ref" "$tmp/data/h"
bundle_rc "$db" --session last "$tmp/o-hash"
assert_rc "same size and mtime, other content: exit 0" 0
check "record --hash: the sha256 tells the change" grep -q "'$tmp/data/h' changed since session 2 recorded it.*sha256" "$err"
bundle_rc "$db" --session last --strict "$tmp/o-hash-strict"
assert_rc "record --hash, --strict: exit 1" 1
assert_no_output "record --hash, --strict" "$tmp/o-hash-strict"

# Replaced by another file (rename over it: a new inode): not the file recorded, never copied.
echo SENTINEL-SECRET >"$tmp/data/conf.new"
mv "$tmp/data/conf.new" "$tmp/data/conf"
bundle_rc "$db" --session 1 "$tmp/o-repl"
assert_rc "replaced (new inode): exit 0" 0
check "replaced: the warning says it is not the file recorded" grep -q "not bundling '$tmp/data/conf': it is not the file session 1 recorded" "$err"
check "replaced: not copied" test ! -e "$tmp/o-repl$tmp/data/conf"
check "replaced: the unchanged file next to it is" test -f "$tmp/o-repl$tmp/data/keep"
no_secret "replaced" "$tmp/o-repl"
bundle_rc "$db" --session 1 --strict "$tmp/o-repl-strict"
assert_rc "replaced, --strict: exit 1" 1
assert_no_output "replaced, --strict" "$tmp/o-repl-strict"

# Deleted since the session read it: reported, left out; --strict makes it an error. A file
# the run itself removed (a temporary file) is not reported.
echo gone >"$tmp/data/gone"
rec "$db" --label reader -- /bin/sh -c "cat $tmp/data/gone $tmp/data/keep >/dev/null; echo t >$tmp/data/tmpf; cat $tmp/data/tmpf >/dev/null; rm $tmp/data/tmpf"
rm "$tmp/data/gone"
bundle_rc "$db" --session reader "$tmp/o-gone"
assert_rc "deleted since recorded: exit 0" 0
check "deleted: the warning names it" grep -q "'$tmp/data/gone' no longer exists (session" "$err"
check "deleted: the run's own temporary file is not reported" sh -c '! grep -q "tmpf" "$1"' sh "$err"
check "deleted: the file next to it is bundled" test -f "$tmp/o-gone$tmp/data/keep"
bundle_rc "$db" --session reader --strict "$tmp/o-gone-strict"
assert_rc "deleted, --strict: exit 1" 1
assert_no_output "deleted, --strict" "$tmp/o-gone-strict"

# What the run wrote is recorded as the run left it.
rec "$db" --label writer -- /bin/sh -c "echo one >$tmp/data/out; echo two >>$tmp/data/out; cat $tmp/data/keep >/dev/null"
bundle_rc "$db" --session writer "$tmp/o-writer"
assert_rc "files the run wrote: exit 0" 0
assert_eq "files the run wrote: not reported as changed" "$(grep -c "changed since" "$err")" 0
assert_eq "files the run wrote: bundled as the run left them" "$(cat "$tmp/o-writer$tmp/data/out" 2>&1)" "$(printf 'one\ntwo')"
done_testing
