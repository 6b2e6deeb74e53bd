#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability case: PRE-09.
# The variadic mode argument of open(2) through the interposer: open(dir, O_RDONLY|O_DIRECTORY)
# with no mode, open(dir, O_TMPFILE|O_RDWR, 0600) linked into a name with linkat, and
# openat(AT_FDCWD, "f", O_CREAT|O_WRONLY, 0640), all under umask 0 (fixtures/preload/openmode.c).
# Under record --via preload the files get exactly 0600 and 0640 and every open is recorded with
# the flags the program passed; under valgrind memcheck, with the interposer preloaded and
# reporting to a collector, there is no memory error and the modes are the same.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_preload
require_tool valgrind
preload_fixture openmode

# modes FILE: "tmpfile OCTAL" and "f OCTAL" from the fixture's output in FILE.
modes() { sed -n 's/^mode //p' "$1"; }
want_modes=$'tmpfile 600\nf 640'
# open_rows DB SESSION DIR: the "open|path|flags|errno" rows of the opens of DIR and DIR/f, sorted.
open_rows() {
	sql "$1" "select distinct op || '|' || path || '|' || flags || '|' || errno from file_accesses
		where session_id = $2 and op = 'open' and path in ('$3', '$3/f')" | LC_ALL=C sort
}

# natively: the fixture's own idea of the modes and of the rows to expect
mkdir "$tmp/native"
"$tmp/openmode" "$tmp/native" >"$tmp/native.out" 2>&1
case $? in
0) ;;
77) skip "$(grep -m1 'no O_TMPFILE' "$tmp/native.out")" ;;
*) echo "FAIL: the fixture fails natively:"; sed 's/^/    /' "$tmp/native.out"; exit 1 ;;
esac
assert_eq "natively: modes 0600 and 0640" "$(modes "$tmp/native.out")" "$want_modes"

# 1. record --via preload
d=$tmp/d; mkdir "$d"
db=$tmp/m.db
record_rc "$db" --via preload -- "$tmp/openmode" "$d"
printf '%s\n' "$out" >"$tmp/rec.out"
assert_rc "record --via preload exits 0" 0
assert_eq "record: the fixture sees modes 0600 and 0640" "$(modes "$tmp/rec.out")" "$want_modes"
assert_eq "record: stat shows 600 for the linked tmpfile, 640 for f" \
	"$(stat -c '%n %a' "$d/tmpfile" "$d/f")" "$d/tmpfile 600"$'\n'"$d/f 640"
assert_eq "record: the tmpfile's contents survived the link" "$(cat "$d/tmpfile")" "tmp"
want=$(sed -n 's/^want //p' "$tmp/rec.out" | LC_ALL=C sort)
check "record: the fixture names its three opens" test "$(grep -c . <<<"$want")" = 3
assert_eq "record: every open recorded with its flags (O_DIRECTORY, O_TMPFILE|O_RDWR, O_CREAT|O_WRONLY), nothing else" \
	"$(open_rows "$db" 1 "$d")" "$want"
rows=$(prows "$db")
has_row "record: the link of the tmpfile to its name recorded" "$rows" "link_to|$d/tmpfile|0"
has_row "record: the stat of the linked name recorded" "$rows" "stat|$d/tmpfile|0"
assert_eq "record: the session is complete, source preload" \
	"$(sql "$db" 'select complete, source from sessions')" "1|preload"

# 2. valgrind memcheck on the fixture with the interposer preloaded, reporting to a collector
v=$tmp/v; mkdir "$v"
sock=$tmp/c.sock
cdb=$tmp/c.db
start_collector "$cdb" "$sock" "$tmp/c.log"
timeout 20 env LD_PRELOAD="$PRELOAD_LIB" MAGICPAK_SOCKET="$sock" \
	valgrind --tool=memcheck --error-exitcode=99 --log-file="$tmp/vg.log" \
	"$tmp/openmode" "$v" >"$tmp/vg.out" 2>"$tmp/vg.err"
rc=$?
kill -TERM "$collector_pid"; wait "$collector_pid"
t_n=$((t_n + 1))
if [ "$rc" = 0 ] && grep -q 'ERROR SUMMARY: 0 errors' "$tmp/vg.log"; then
	pass "valgrind: exit 0, ERROR SUMMARY: 0 errors"
else
	fail "valgrind: exit $rc (99 = memcheck errors, 124 = timeout)"
	grep '^==' "$tmp/vg.log" | head -60 | sed 's/^/    vg: /'; sed 's/^/    stderr: /' "$tmp/vg.err" | head -10
fi
assert_eq "valgrind: the fixture sees modes 0600 and 0640" "$(modes "$tmp/vg.out")" "$want_modes"
assert_eq "valgrind: stat shows 600 and 640" \
	"$(stat -c '%n %a' "$v/tmpfile" "$v/f")" "$v/tmpfile 600"$'\n'"$v/f 640"
assert_eq "valgrind: the collector got every open with its flags" \
	"$(open_rows "$cdb" 1 "$v")" "$(sed -n 's/^want //p' "$tmp/vg.out" | LC_ALL=C sort)"
done_testing
