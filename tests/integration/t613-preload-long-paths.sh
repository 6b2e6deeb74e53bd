#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The preload library builds each record in a small stack buffer first and again at PATH_MAX when
# the path does not fit (preload/emit.c): paths and a cwd longer than that first try are recorded
# whole. A cwd of ~700 bytes: the exec record's cwd and argv, a relative open resolved against it,
# an openat() relative to a directory fd there, an absolute path of ~1,400 bytes, and a fork child
# (announced with its cwd) that opens a file. A static program whose program headers lie past the
# part of the file the library reads first is still reported as a static exec.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_python3
require_preload

seg=$(printf 'd%.0s' $(seq 200))
long=$tmp/$seg/$seg/$seg
mkdir -p "$long/sub/$seg/$seg/$seg"
echo x >"$long/rel" && echo y >"$long/sub/viafd" && echo z >"$long/sub/$seg/$seg/$seg/abs"
echo w >"$long/forked"
abs=$long/sub/$seg/$seg/$seg/abs
check "the cwd is longer than the first try (${#long} bytes)" test "${#long}" -gt 600
check "the absolute path is longer than the first try (${#abs} bytes)" test "${#abs}" -gt 1200

cat >"$tmp/p.py" <<'PY'
import os, sys
open("rel").read()
fd = os.open("sub", os.O_RDONLY | os.O_DIRECTORY)
os.close(os.open("viafd", os.O_RDONLY, dir_fd=fd))
open(sys.argv[1]).read()
pid = os.fork()
if pid == 0:
    open("forked").read()
    os._exit(0)
os.waitpid(pid, 0)
PY

db=$tmp/l.db
cd "$long" || exit 1
record_rc "$db" --via preload -- /usr/bin/python3 "$tmp/p.py" "$abs"
cd "$tmp" || exit 1
assert_rc "record in a long cwd: exit 0" 0
rows=$(prows "$db")
has_row "a relative open in the long cwd: its absolute path" "$rows" "open|$long/rel|0"
has_row "openat() relative to a directory fd under the long cwd" "$rows" "open|$long/sub/viafd|0"
has_row "an absolute path of ${#abs} bytes" "$rows" "open|$abs|0"
has_row "the fork child's open, resolved against its long cwd" "$rows" "open|$long/forked|0"
assert_eq "the command's process: its long cwd and argv" \
	"$(sql "$db" "select cwd = '$long' and argv = json_array('/usr/bin/python3', '$tmp/p.py', '$abs')
		from processes where executable = '/usr/bin/python3' and parent_pid is null")" 1
assert_eq "the fork child is its own process, with the long cwd" \
	"$(sql "$db" "select count(*) from processes where parent_pid is not null and cwd = '$long'")" 1
assert_eq "session complete, nothing lost" "$(sql "$db" 'select complete from sessions')" 1

# A static program with its program header table moved to the end of the file, past the first
# 1,024 bytes the library reads: the kernel reads the table wherever e_phoff says.
printf 'int main(void) { return 0; }\n' >"$tmp/s.c"
cc_quiet -static -o "$tmp/static" "$tmp/s.c" || skip "cannot link a static program (no libc.a)"
python3 - "$tmp/static" "$tmp/farph" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
phoff, = struct.unpack_from("<Q", d, 32)
phentsize, phnum = struct.unpack_from("<HH", d, 54)
table = bytes(d[phoff:phoff + phentsize * phnum])
assert not any(struct.unpack_from("<I", table, i * phentsize)[0] == 3 for i in range(phnum)), "has PT_INTERP"
new = (len(d) + 7) & ~7
d += bytes(new - len(d)) + table
struct.pack_into("<Q", d, 32, new)
open(sys.argv[2], "wb").write(d)
PY
chmod 755 "$tmp/farph"
check "the moved table starts past 1,024 bytes" \
	test "$(python3 -c 'import struct,sys; print(struct.unpack_from("<Q", open(sys.argv[1],"rb").read(), 32)[0])' "$tmp/farph")" -gt 1024
record_rc "$db" --via preload -- sh -c '"$1"; exit 0' sh "$tmp/farph"
assert_eq "program headers past the first read: still a static exec" \
	"$(sql "$db" 'select incomplete_reason from sessions where id = (select max(id) from sessions)')" \
	"preload_gap: static exec $tmp/farph"
done_testing
