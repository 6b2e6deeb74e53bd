#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# RELIABILITY BPF-05 (io_uring: t712): the TRC-10 syscall matrix (tests/fixtures/record/families.c:
# open, creat, openat, openat2 raw, SYS_open, stat, lstat, fstatat, statx, access, faccessat(2),
# chdir) under record --via bpf gives the same open/stat/access/chdir/exec rows as ptrace,
# every path absolute (relative ones resolved in the probe's events, t700 too); a library
# dlopen'ed through its symlink (libz.so.1 -> libz.so.1.2.13) is stored under the name asked for,
# so a bundle made from the bpf session rebuilds the link and the program passes in the jail.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_ptrace
require_bpf
require_jail
record_fixture families
bpf_fixture dlz
families_setup() {
	local w=$1
	rm -rf "$w"; mkdir -p "$w/dir" "$w/dir2"
	for f in exists dir/f oa2 r1 r2 r3 ul ula tr cm cma co lco coa ut; do echo x >"$w/$f"; done
	ln -s exists "$w/lnk"
}
w=$tmp/w
# fchdir: ptrace stores a chdir row for the directory; the probe only moves its cwd by it (the
# directory's open is stored), so fchdir's row is left out of the comparison
pick() { grep -E '^(open|stat|access|chdir|exec)\|' | sed "s|$w/|W/|" | grep -vxF 'chdir|W/dir2|0'; }
families_setup "$w"
record_rc "$tmp/p.db" "$tmp/families" "$w"
assert_rc "families under ptrace: exit 0" 0
families_setup "$w"
record_rc "$tmp/b.db" --via bpf -- "$tmp/families" "$w"
assert_rc "families under --via bpf: exit 0" 0
assert_eq "--via bpf: complete" "$(sql "$tmp/b.db" 'select complete from sessions')" 1
prow=$(brows "$tmp/p.db" ptrace | grep "|$w/" | pick)
brow=$(brows "$tmp/b.db" bpf | grep "|$w/" | pick)
check "ptrace saw the matrix (${#prow} bytes of rows)" test "$(printf '%s\n' "$prow" | wc -l)" -ge 20
assert_eq "bpf and ptrace agree on every open/stat/access/chdir/exec row of the matrix" \
	"$(LC_ALL=C comm -3 <(printf '%s\n' "$prow" | LC_ALL=C sort -u) <(printf '%s\n' "$brow" | LC_ALL=C sort -u))" ""
for r in 'open|W/oa2|0' 'open|W/created|0' 'open|W/rawopen|2' 'stat|W/dir2|0' 'stat|W/lnk|0' 'access|W/fa2|2' 'chdir|W/dir|0'; do
	has_row "bpf: $r" "$brow" "$r"
done
check "no relative or empty path stored by bpf" test -z "$(sql "$tmp/b.db" "select path from file_accesses where path not like '/%'")"

# a library through its symlink: the requested name is kept, the bundle rebuilds the chain
zl=$(ldconfig -p | awk '$1 == "libz.so.1" && /x86-64/ {print $NF; exit}')
[ -n "$zl" ] && [ -L "$zl" ] || skip "no libz.so.1 symlink in the ld.so cache"
db=$tmp/z.db
record_rc "$db" --via bpf -- "$tmp/dlz"
assert_rc "dlz under --via bpf: exit 0" 0
has_row "the symlink's name is recorded ($zl)" "$(brows "$db" bpf)" "open|$zl|0"
bundle_rc "$db" "$tmp/zb"
assert_rc "bundle from the bpf session" 0
check "the bundle has $zl as a symlink" test -L "$tmp/zb$zl"
assert_eq "with the host's target" "$(readlink "$tmp/zb$zl")" "$(readlink "$zl")"
# the jail mounts a fresh /tmp over the bundle's, so the program (recorded under $tmp) runs from /usr/bin
mkdir -p "$tmp/zb/usr/bin" && cp "$tmp/zb$tmp/dlz" "$tmp/zb/usr/bin/dlz"
run_test "$tmp/zb" --expect-stdout "$("$tmp/dlz")" -- /usr/bin/dlz
assert_rc "the program passes in the jail" 0
done_testing
