#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: LIB-10.
# The one-shot bundler on the system's own programs: each bundle runs under chroot and does its job
# (sqlite3, bash, awk through /etc/alternatives, perl). The bundle holds only what magicpak put there.
. "$(dirname "$0")/../lib.sh"
require_chroot
# The bundles have no locale files: run with a clean environment so a host LANG=C.UTF-8 does not make
# programs complain about a locale the bundle was never asked to carry.
CHROOT=$(command -v chroot)
crun() { env -i PATH=/usr/bin:/bin HOME=/ LC_ALL=C timeout 10 "$CHROOT" "$@"; }

# sqlite3
run_tool /usr/bin/sqlite3 "$tmp/sq"
assert_rc "bundle /usr/bin/sqlite3: exit 0" 0
assert_eq "chroot sq sqlite3 :memory: 'select 40+2' prints 42" "$(crun "$tmp/sq" /usr/bin/sqlite3 :memory: 'select 40+2' 2>&1)" 42
check "sqlite3 bundle has libsqlite3" test -n "$(find "$tmp/sq" -name 'libsqlite3.so.0*' -type f)"

# bash
run_tool /bin/bash "$tmp/ba"
assert_rc "bundle /bin/bash: exit 0" 0
assert_eq "chroot ba /bin/bash -c 'echo hi' prints hi" "$(crun "$tmp/ba" /bin/bash -c 'echo hi' 2>&1)" hi

# awk: /usr/bin/awk -> /etc/alternatives/awk -> /usr/bin/mawk (or gawk), each link kept as a link
awk_l1=$(readlink /usr/bin/awk) || skip "/usr/bin/awk is not a symlink here"
awk_l2=$(readlink /etc/alternatives/awk) || skip "/etc/alternatives/awk is not a symlink here"
run_tool /usr/bin/awk "$tmp/aw"
assert_rc "bundle /usr/bin/awk: exit 0" 0
check "usr/bin/awk is a symlink in the bundle" test -L "$tmp/aw/usr/bin/awk"
assert_eq "usr/bin/awk keeps its host target" "$(readlink "$tmp/aw/usr/bin/awk")" "$awk_l1"
check "etc/alternatives/awk is a symlink in the bundle" test -L "$tmp/aw/etc/alternatives/awk"
assert_eq "etc/alternatives/awk keeps its host target" "$(readlink "$tmp/aw/etc/alternatives/awk")" "$awk_l2"
real=$(readlink -f /usr/bin/awk)
check "the real awk ($real) is a regular file in the bundle" test -f "$tmp/aw$real" -a ! -L "$tmp/aw$real"
assert_eq "chroot aw /usr/bin/awk 'BEGIN{print 1+1}' prints 2" "$(crun "$tmp/aw" /usr/bin/awk 'BEGIN{print 1+1}' 2>&1)" 2

# perl: the interpreter alone runs a script file. `perl -e` reads its (empty) script file from
# /dev/null, a device magicpak never bundles, so it needs /dev/null inside the root: the test makes
# that node itself (a run-time need of perl, like /proc for many programs, not a library).
run_tool /usr/bin/perl "$tmp/pl"
assert_rc "bundle /usr/bin/perl: exit 0" 0
echo 'print 6*7' >"$tmp/pl/t.pl"
assert_eq "chroot pl /usr/bin/perl /t.pl (print 6*7) prints 42" "$(crun "$tmp/pl" /usr/bin/perl /t.pl 2>&1)" 42
rm "$tmp/pl/t.pl"
pe=$(crun "$tmp/pl" /usr/bin/perl -e 'print 6*7' 2>&1)
case $pe in
*"Can't open /dev/null"*) echo "note: perl -e needs /dev/null in the bundle (got: $pe)" ;;
esac
mkdir -p "$tmp/pl/dev" && mknod -m 666 "$tmp/pl/dev/null" c 1 3
assert_eq "chroot pl /usr/bin/perl -e 'print 6*7' prints 42 (with a /dev/null node)" "$(crun "$tmp/pl" /usr/bin/perl -e 'print 6*7' 2>&1)" 42
done_testing
