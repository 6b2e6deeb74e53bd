#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Corrupt PT_DYNAMIC and dynamic string table (ELF-04, ELF-05), patched into copies of /bin/ls:
# one "magicpak: " error line naming the file, exit 1, fast, no crash, allocations bounded.
. "$(dirname "$0")/../lib.sh"
TOOL_TIMEOUT=10
TOOL_ULIMIT_V=262144   # E-IN: memory stays below ulimit -v 262144
patch() { python3 "$TESTS_DIR/fixtures/elfpatch.py" "$@"; }
mk() { local f=$1; shift; cp /bin/ls "$f" && patch "$f" "$@"; }
DT_NULL=0 DT_NEEDED=1 DT_STRTAB=5 DT_STRSZ=10
[ "$(patch /bin/ls dyn-count $DT_NEEDED)" -ge 2 ] || skip "/bin/ls has fewer than 2 DT_NEEDED"
read -r dynoff dynsz < <(patch /bin/ls dyn-offset)
strsz=$(LC_ALL=C readelf -dW /bin/ls | awk '$2 == "(STRSZ)" {print $3}')
needed1=$(LC_ALL=C readelf -dW /bin/ls | awk '$2 == "(NEEDED)" {print $5}' | sed -n 2p | tr -d '[]')

mk dyn_huge phdr 2 p_filesz $((1 << 60))
assert_bad_input "PT_DYNAMIC p_filesz 2**60" "$tmp/dyn_huge" "dynamic|PT_DYNAMIC|truncated|corrupt|malformed"
mk dyn_odd phdr 2 p_filesz $((dynsz - 8))
assert_bad_input "PT_DYNAMIC p_filesz not a multiple of 16" "$tmp/dyn_odd" "dynamic|PT_DYNAMIC|corrupt|malformed|size"
mk dyn_two phdr 4 p_type 2
assert_bad_input "two PT_DYNAMIC" "$tmp/dyn_two" "dynamic|PT_DYNAMIC"
# p_offset pointing at the ELF header: ld.so reads the dynamic section at p_vaddr, so the
# file still runs and its libraries are /bin/ls's. magicpak must read it the same way.
mk dyn_hdr phdr 2 p_offset 0
run_tool deps "$tmp/dyn_hdr"
assert_eq "PT_DYNAMIC p_offset=0: read at p_vaddr as ld.so does (exit $rc)" \
	"$(printf '%s\n' "$out" | tail -n +2)" "$("$TOOL" deps /bin/ls | tail -n +2)"
check "PT_DYNAMIC p_offset=0: the real loader agrees that it runs" "$tmp/dyn_hdr" --version

# No DT_NULL: the segment ends right after the last real entry. Not necessarily an error, but
# the walk must stop at the segment end: no crash, no hang, and if it succeeds, ls's libraries.
nreal=$(LC_ALL=C readelf -dW /bin/ls | grep -c '^ *0x' )
mk dyn_nonull phdr 2 p_filesz $(( (nreal - 1) * 16 ))
run_tool deps "$tmp/dyn_nonull"
check "no DT_NULL: exit 0 or 1, no signal/timeout (exit $rc)" test "$rc" = 0 -o "$rc" = 1

mk str_unmapped dyn $DT_STRTAB d_val 0x7fff00000000
assert_bad_input "DT_STRTAB not covered by any PT_LOAD" "$tmp/str_unmapped" "DT_STRTAB|string table|strtab"
mk str_size dyn $DT_STRSZ d_val $((1 << 40))
assert_bad_input "DT_STRSZ 2**40" "$tmp/str_size" "DT_STRSZ|string table|strtab"
mk str_off dyn $DT_NEEDED d_val $((strsz + 100)) 1
assert_bad_input "DT_NEEDED offset past DT_STRSZ" "$tmp/str_off" "DT_NEEDED"
check "DT_NEEDED offset past DT_STRSZ: the message gives the index and offset" \
	grep -qE "DT_NEEDED.*(\[1\]|#1|1).*(0x[0-9a-f]+|[0-9]+)" "$err"
# A NEEDED string not NUL-terminated within DT_STRSZ: cut DT_STRSZ in the middle of the second
# NEEDED string.
off=$(python3 -c '
import sys
d = open("/bin/ls", "rb").read()
name = sys.argv[1].encode() + b"\0"
print(d.index(name))' "$needed1")
read -r stroff < <(python3 - "$needed1" <<'PY'
import struct, sys
d = open("/bin/ls", "rb").read()
phoff, = struct.unpack_from("<Q", d, 32); phnum, = struct.unpack_from("<H", d, 56)
loads = []; dynoff = dynsz = 0
for i in range(phnum):
    t, _, o, v, _, fs = struct.unpack_from("<IIQQQQ", d, phoff + 56 * i)
    if t == 1: loads.append((v, o, fs))
    if t == 2: dynoff, dynsz = o, fs
strtab = next(v for e in range(dynoff, dynoff + dynsz, 16)
              for t, v in [struct.unpack_from("<qQ", d, e)] if t == 5)
for v, o, fs in loads:
    if v <= strtab < v + fs:
        print(strtab - v + o); break
PY
)
mk str_nonul dyn $DT_STRSZ d_val $((off - stroff + 3))
assert_bad_input "a DT_NEEDED string with no NUL within DT_STRSZ" "$tmp/str_nonul" "DT_NEEDED|DT_STRSZ|string"
done_testing
