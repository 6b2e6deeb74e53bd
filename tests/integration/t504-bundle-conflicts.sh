#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: BND-04.
# magicpak bundle across runs that disagree (RELIABILITY BND-10) and the two-step symlink attack: a name
# recorded as a symlink in one run and as a directory (with a file in it) in another. Rule: a path that
# was a regular file in one session and a directory, or had files under it, in another is a conflict:
# one warning names the path and both sessions (an error with --strict); the bundle follows the host as
# it is now, and a file is read only if it is the very file (inode) a session recorded. Never a read of
# a file no run used, never a write outside OUTPUT.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
use_dbdir
db=$dbdir/c.db
mkdir -p "$tmp/c" "$tmp/target"
echo run1 >"$tmp/c/a"
rec "$db" -- /bin/cat "$tmp/c/a"
rm "$tmp/c/a"; mkdir "$tmp/c/a"; echo run2 >"$tmp/c/a/b"
rec "$db" -- /bin/cat "$tmp/c/a/b"
rm -r "$tmp/c/a"; echo SENTINEL-SECRET >"$tmp/target/b"; ln -s ../target "$tmp/c/a"
rec "$db" -- /bin/ls -l "$tmp/c/a"
contain_setup
bundle_rc "$db" --session 1 --session 2 --session 3 "$tmp/out"
assert_rc "BND-10: exit 0 (reported)" 0
sed 's/^/    stderr: /' "$err"
check "BND-10: a conflict naming the path and both sessions" \
	grep -qE "conflict: '$tmp/c/a' was a regular file in session 1(, but session 2 used '$tmp/c/a/b' below it| and a symlink to a directory in session 3)" "$err"
check "BND-10: a/b now leads elsewhere: not read" grep -q "not bundling '$tmp/c/a/b': it is not the file session 2 recorded" "$err"
check "BND-10: the link is kept as a link" test -L "$tmp/out$tmp/c/a"
no_secret "BND-10" "$tmp/out"
contain_check "BND-10" "$tmp/out"
bundle_rc "$db" --session 1 --session 2 --session 3 --strict "$tmp/out-strict"
assert_rc "BND-10 --strict: exit 1" 1
check "BND-10 --strict: the conflict is an error" grep -q "conflict: '$tmp/c/a'.*--strict" "$err"
assert_no_output "BND-10 --strict" "$tmp/out-strict"

# The two-step symlink attack: run 1 sees T/x as a symlink to a secret directory, run 2 reads T/x/file
# when x was a real directory; by bundle time T/x is the symlink again.
db=$dbdir/t.db
mkdir -p "$tmp/T" "$tmp/secret"
echo SENTINEL-SECRET >"$tmp/secret/file"
ln -s "$tmp/secret" "$tmp/T/x"
rec "$db" --label one -- /bin/ls -l "$tmp/T/x"
rm "$tmp/T/x"; mkdir "$tmp/T/x"; echo public >"$tmp/T/x/file"
rec "$db" --label two -- /bin/cat "$tmp/T/x/file"
rm -r "$tmp/T/x"; ln -s "$tmp/secret" "$tmp/T/x"
secret_before=$(listing "$tmp/secret"; cat "$tmp/secret/file")
contain_setup
bundle_rc "$db" --session one --session two "$tmp/out2"
assert_rc "two-step: exit 0 (reported)" 0
sed 's/^/    stderr: /' "$err"
check "two-step: the file is refused, naming it and the symlink's session" \
	grep -q "not bundling '$tmp/T/x/file': it is not the file session 2 recorded (inode [0-9]*, now [0-9]*); '$tmp/T/x' was a symlink in session 1" "$err"
no_secret "two-step" "$tmp/out2"
check "two-step: nothing named 'file' in the bundle" test -z "$(find "$tmp/out2" -name file)"
assert_eq "two-step: the secret directory is untouched" "$(listing "$tmp/secret"; cat "$tmp/secret/file")" "$secret_before"
contain_check "two-step" "$tmp/out2"
bundle_rc "$db" --session one --session two --strict "$tmp/out3"
assert_rc "two-step --strict: exit 1" 1
assert_no_output "two-step --strict" "$tmp/out3"
# With the real directory back, the recorded file is bundled.
rm "$tmp/T/x"; mkdir "$tmp/T/x"; echo other >"$tmp/T/x/file"
bundle_rc "$db" --session two "$tmp/out4"
check "a new file at the recorded name (new inode): still refused" grep -q "not bundling '$tmp/T/x/file'" "$err"
done_testing
