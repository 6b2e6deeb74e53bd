#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The layer (BND-08, BND-11, BND-14, BND-07): hostile names copied exactly (newline, quotes, a
# leading '-', spaces, \xff, a 255-byte component, a long path), hard links as tar hardlinks to an
# earlier entry, symlink targets verbatim, no entry starting with / or holding .., parents before
# children; extracted into a fresh directory it equals the bundle (diff -r --no-dereference);
# a sparse file stays small.
. "$(dirname "$0")/../lib.sh"
san_no_leak_scan
require_python3

s=$tmp/src
mkdir -p "$s/d i r" "$s/-lead" "$s/$(printf 'nl\nname')" "$s/q'u\"ote" "$s/$(printf 'x\xffy')"
long=$(printf 'L%.0s' $(seq 255))
mkdir -p "$s/$long"
deep=$s; for i in $(seq 12); do deep=$deep/deep-directory-$i; done
mkdir -p "$deep" && echo deep >"$deep/file"
echo a >"$s/a" && ln "$s/a" "$s/b" && ln "$s/a" "$s/d i r/c"
echo x >"$s/$long/f"
printf 'n\n' >"$s/$(printf 'nl\nname')/$(printf 'f\nile')"
echo q >"$s/q'u\"ote/\"f\""
echo ff >"$s/$(printf 'x\xffy')/$(printf '\xfe')"
echo é >"$s/d i r/é.txt"
ln -s /etc/hostname "$s/abs-link"
ln -s ../../../../../../x "$s/climb-link"
ln -s does-not-exist "$s/dangling"
ln -s "$(printf 'tar\nget')" "$s/nl-link"
ln -s "$long/f" "$s/long-link"
truncate -s 2G "$s/sparse" && echo end >>"$s/sparse"
chmod 0750 "$s/d i r"; chmod 1777 "$s/-lead"

run_tool /bin/true -i "$s" out --oci-archive img.tar --docker-archive dock.tar
assert_rc "bundle with hostile names and two archives: exit 0" 0
check "the bundle holds the names (sanity)" test -e "out$s/$(printf 'nl\nname')/$(printf 'f\nile')"
assert_eq "OCI layer: no / or .., parents first, hardlinks earlier, 0:0, mtime 0" "$(ocicheck layer-check img.tar 0)" ok
assert_eq "docker layer: the same" "$(ocicheck layer-check dock.tar 0)" ok
assert_eq "OCI archive verifies" "$(ocicheck verify img.tar)" ok

tv=$(ocicheck tv img.tar)
rel=${s#/}
check "a second name of an inode is a hardlink entry to the first" \
	grep -qxF "h $rel/b -> $rel/a" <<<"$tv"
check "a third name too" grep -qxF "h $rel/d i r/c -> $rel/a" <<<"$tv"
check "absolute symlink target verbatim" grep -qxF "l $rel/abs-link -> /etc/hostname" <<<"$tv"
check "climbing symlink target verbatim" grep -qxF "l $rel/climb-link -> ../../../../../../x" <<<"$tv"
check "dangling symlink kept" grep -qxF "l $rel/dangling -> does-not-exist" <<<"$tv"
check "255-byte component carried" grep -qxF "f $rel/$long/f" <<<"$tv"

ocicheck layer img.tar layer.tar
mkdir fresh
tar -x --no-same-owner -C fresh -f layer.tar 2>tar.err
check "GNU tar extracts the layer" test -d "fresh$s"
# same_sparse A B: the same size, holes and data (only the data is read: diff would read the
# 2 GiB of holes, 12 s here)
same_sparse() {
	python3 - "$1" "$2" <<'PY'
import os, sys
def segments(path):
    fd = os.open(path, os.O_RDONLY); end = os.fstat(fd).st_size; out = []; off = 0
    while off < end:
        try: d = os.lseek(fd, off, os.SEEK_DATA)
        except OSError: break
        h = os.lseek(fd, d, os.SEEK_HOLE); out.append((d, os.pread(fd, h - d, d))); off = h
    os.close(fd); return end, out
sys.exit(0 if segments(sys.argv[1]) == segments(sys.argv[2]) else 1)
PY
}
check "extracted layer = bundle (diff -r --no-dereference; the sparse file apart)" \
	diff -r --no-dereference --exclude=sparse out fresh
check "extracted sparse file = the bundle's: size, holes and data" same_sparse "out$s/sparse" "fresh$s/sparse"
assert_eq "same listing (path mode type target)" "$(listing fresh)" "$(listing out)"
assert_eq "hard links shared after extraction" "$(stat -c %i "fresh$s/a")" "$(stat -c %i "fresh$s/b")"
assert_eq "symlink with a newline in its target, verbatim" "$(readlink "fresh$s/nl-link")" "$(printf 'tar\nget')"
check "the sparse file is stored as holes: archive under 1 MiB" test "$(stat -c %s img.tar)" -lt 1048576
assert_eq "the sparse file extracted: size" "$(stat -c %s "fresh$s/sparse")" "$(stat -c %s "$s/sparse")"
assert_eq "the sparse file extracted: its end" "$(tail -c 4 "fresh$s/sparse")" end
# The docker layer (uncompressed) extracts to the same tree.
ocicheck layer dock.tar dlayer.tar
mkdir dfresh && tar -x --no-same-owner -C dfresh -f dlayer.tar 2>/dev/null
check "docker layer = bundle" diff -r --no-dereference --exclude=sparse out dfresh
check "docker layer's sparse file = the bundle's" same_sparse "out$s/sparse" "dfresh$s/sparse"
done_testing
