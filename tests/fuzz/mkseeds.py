#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/fuzz/mkseeds.py - write the binary seeds of fuzz_ldcache and fuzz_wire into
# tests/fuzz/corpus/ (run once; the outputs are committed, each under 1 KiB).
# The fuzz_elf seeds (each under 2 KiB) were made with gcc 12 on Debian 12, page size 16 to keep
# them small (F="-Wl,-z,max-page-size=16 -Wl,-z,noseparate-code -Wl,--build-id=none
# -fno-asynchronous-unwind-tables -s -Wl,--no-as-needed"):
#   libx.so:   gcc -shared -fPIC -nostdlib -Wl,-soname,libx.so.1 -Wl,-rpath,'$ORIGIN/../lib' $F x.c -lc -lm
#   exe-rpath: gcc -nostartfiles -fPIE -pie $F -Wl,--disable-new-dtags -Wl,-rpath,/opt/lib:/x s.c -lc -ldl
#   static:    gcc -nostdlib -static $F s.c
# with x.c "int f(void){return 1;}" and s.c "void _start(void){for(;;);}"; header-only is the
# first 64 bytes of libx.so. run.sh adds /bin/true, libdl.so.2, /usr/bin/env and
# /etc/ld.so.cache (first 64 KiB) of the machine it runs on.
import os
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))


def put(name, sub, data):
    d = os.path.join(here, 'corpus', sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


# ld.so.cache, glibc 2.36 (sysdeps/generic/dl-cache.h)
X8664 = 0x0303
NEW_MAGIC = b'glibc-ld.so.cache1.1'
OLD_MAGIC = b'ld.so-1.7.0\0'
EXT_MAGIC = 0xEAA42174
HWCAP_EXT = 1 << 62


def new_cache(entries, hwcaps=None, base=0):
    """entries: (flags, key, value, hwcap-index-or-None). Offsets count from the start of
    the new-format header (@base bytes into the file when after an old cache)."""
    hdr_len = 20 + 4 + 4 + 1 + 3 + 4 + 12
    ent_len = 24 * len(entries)
    strings = bytearray()
    offs = {}

    def s(x):
        if x not in offs:
            offs[x] = hdr_len + ent_len + len(strings) + base
            strings.extend(x.encode() + b'\0')
        return offs[x]

    ents = b''
    for flags, key, value, hw in entries:
        hwcap = 0 if hw is None else (HWCAP_EXT | hw)
        ents += struct.pack('<iIIIQ', flags, s(key), s(value), 0, hwcap)
    hw_offs = [s(h) for h in (hwcaps or [])]
    ext = b''
    ext_off = 0
    if hwcaps:
        body_len = hdr_len + ent_len + len(strings)
        pad = (-body_len) % 8
        strings.extend(b'\0' * pad)
        ext_off = hdr_len + ent_len + len(strings) + base
        arr = b''.join(struct.pack('<I', o) for o in hw_offs)
        sec_start = ext_off + 8 + 16
        ext = struct.pack('<II', EXT_MAGIC, 1) + struct.pack('<IIII', 1, 0, sec_start, len(arr)) + arr
    hdr = NEW_MAGIC + struct.pack('<IIB3sI3I', len(entries), len(strings), 2, b'\0' * 3,
                                  ext_off, 0, 0, 0)
    assert len(hdr) == hdr_len
    return hdr + ents + bytes(strings) + ext


def old_cache(entries):
    strings = bytearray()
    offs = {}

    def s(x):
        if x not in offs:
            offs[x] = len(strings)
            strings.extend(x.encode() + b'\0')
        return offs[x]

    ents = b''.join(struct.pack('<iII', f, s(k), s(v)) for f, k, v in entries)
    return OLD_MAGIC + struct.pack('<I', len(entries)) + ents + bytes(strings)


libs = [(X8664, 'libc.so.6', '/lib/x86_64-linux-gnu/libc.so.6', None),
        (X8664, 'libfoo.so.1', '/opt/hw/glibc-hwcaps/x86-64-v3/libfoo.so.1', 0),
        (X8664, 'libfoo.so.1', '/usr/lib/libfoo.so.1', None),
        (0x0001, 'libz.so.1', '/usr/lib32/libz.so.1', None)]
put('new-hwcaps', 'fuzz_ldcache', new_cache(libs, ['x86-64-v3', 'x86-64-v2']))
put('new-plain', 'fuzz_ldcache', new_cache(libs[:1] + libs[2:]))
old = old_cache([(X8664, 'libc.so.6', '/lib/x86_64-linux-gnu/libc.so.6')])
put('old', 'fuzz_ldcache', old)
pad = (-len(old)) % 8
put('old-then-new', 'fuzz_ldcache', old + b'\0' * pad + new_cache(libs[:1], base=len(old) + pad))
put('magic-only', 'fuzz_ldcache', NEW_MAGIC)

# wire records (include/event.h): struct mp_wire, then the payload
MAGIC, VERSION = 0x4b50504d, 1


def rec(kind, pid, payload=b'', op=0, err=0, flags=0, aux=0, tid=None):
    n = 56 + len(payload)
    return struct.pack('<IIIIIIIIIIQQ', MAGIC, VERSION, n, kind, op, pid, tid or pid, err, flags, 2,
                       1_700_000_000_000_000_000, aux) + payload


start = rec(2, 100, b'/home/u\0', aux=1)
exe = rec(3, 100, b'/bin/sh\0/home/u\0sh\0-c\0true\0', aux=1)
acc = rec(1, 100, b'/etc/ld.so.cache\0', op=1, flags=0o2000000)
acc_err = rec(1, 100, b'/nonexistent\0', op=3, err=2)
child = rec(2, 101, b'/tmp\0', aux=100)
gap = rec(5, 101, b'/bin/busybox\0', op=2, flags=1)
lost = rec(6, 100, aux=3)
ex = rec(4, 101, err=0) + rec(4, 100, err=1)
put('session', 'fuzz_wire', start + exe + acc + acc_err + child + gap + lost + ex)
put('access', 'fuzz_wire', acc)
put('exec', 'fuzz_wire', exe)
put('pid-reuse', 'fuzz_wire', start + rec(4, 100) + start + acc + rec(4, 100) + acc)
put('bad-len', 'fuzz_wire', struct.pack('<IIII', MAGIC, VERSION, 9999, 1) + b'\0' * 40)
sys.exit(0)
