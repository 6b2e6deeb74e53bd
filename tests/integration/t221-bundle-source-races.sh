#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# magicpak bundle against sources that change or cannot be read:
# BND-04: a recorded regular file swapped over and over between a real file and a symlink to a
#   secret while 30 bundles run: no bundle ever holds SENTINEL-SECRET (each either copies the
#   recorded file, keeps the link as a link, or refuses "changed while bundling").
# BND-07: a 2 GiB sparse file stays sparse in the bundle (t802: in the image); a file appended to
#   while it is copied is copied whole up to some length, never past the writer, never garbage.
# BND-09: a recorded file nobody may read, bundled as nobody: an error naming it, nonzero exit,
#   never a silent zero-length copy (setuid dropped and modes kept: t201).
. "$(dirname "$0")/../lib.sh"
san_no_leak_scan
require_sqlite3
require_ptrace
use_dbdir
db=$dbdir/r.db
mkdir -p "$tmp/src"
echo real-config >"$tmp/real"; cp "$tmp/real" "$tmp/src/conf"
echo SENTINEL-SECRET >"$tmp/secret"
truncate -s 2G "$tmp/src/sparse" && echo end >>"$tmp/src/sparse"
rec "$db" --label race -- cat "$tmp/src/conf" "$tmp/src/sparse"

# BND-07: sparse
o=$tmp/sp
bundle_rc "$db" "$o"
assert_rc "bundle with a 2 GiB sparse file: exit 0" 0
assert_eq "the sparse file keeps its size" "$(stat -c %s "$o$tmp/src/sparse")" "$(stat -c %s "$tmp/src/sparse")"
check "and stays sparse (under 1 MiB on disk: $(du -k "$o$tmp/src/sparse" | cut -f1) KiB)" test "$(du -k "$o$tmp/src/sparse" | cut -f1)" -lt 1024
assert_eq "its end is there" "$(tail -c 4 "$o$tmp/src/sparse")" end
rm -rf "$o"

# BND-04: the swap loop
( while :; do ln -sfn "$tmp/secret" "$tmp/src/conf.tmp" && mv -T "$tmp/src/conf.tmp" "$tmp/src/conf"
	cp "$tmp/real" "$tmp/src/conf.new" && mv -T "$tmp/src/conf.new" "$tmp/src/conf"; done ) 2>/dev/null &
swapper=$!
trap 'kill "$swapper" 2>/dev/null; rm -rf "$tmp" "$dbdir"' EXIT
ok=0 refused=0 leaks=0
for i in $(seq 30); do
	"$TOOL" bundle --db "$db" --session race "$tmp/o$i" >/dev/null 2>"$tmp/e$i"; r=$?
	if grep -rqs SENTINEL-SECRET "$tmp/o$i"; then leaks=$((leaks + 1)); fi
	if [ "$r" = 0 ]; then ok=$((ok + 1)); else refused=$((refused + 1)); fi
	rm -rf "$tmp/o$i"
done
kill "$swapper"; wait "$swapper" 2>/dev/null
assert_eq "BND-04: no bundle holds the secret ($ok written, $refused refused)" "$leaks" 0
check "BND-04: every refusal says why" sh -c 'for f in "$1"/e*; do [ -s "$f" ] || continue; grep -q "^magicpak: " "$f" || exit 1; done' sh "$tmp"

# BND-07: a file that grows while it is copied
head -c 8M /dev/urandom >"$tmp/src/grow"
rec "$db" --label grow -- cat "$tmp/src/grow"
( for i in $(seq 200); do printf 'appended-%04d\n' "$i" >>"$tmp/src/grow"; done ) &
bundle_rc "$db" --session grow "$tmp/g"
wait
if [ "$rc" = 0 ]; then
	n=$(stat -c %s "$tmp/g$tmp/src/grow")
	check "BND-07: the copy of the growing file is a prefix of it ($n bytes)" cmp -s -n "$n" "$tmp/g$tmp/src/grow" "$tmp/src/grow"
	check "BND-07: at least what was recorded" test "$n" -ge 8388608
else
	check "BND-07: refused with a line naming the file" grep -qF "$tmp/src/grow" "$err"
fi

# BND-09: unreadable for the bundling user
command -v setpriv >/dev/null || { done_testing; }
echo private >"$tmp/src/locked"; chmod 000 "$tmp/src/locked"
rec "$db" --label locked -- cat "$tmp/src/locked"
chmod 755 "$tmp" "$dbdir" "$tmp/src"; chmod 644 "$db"; chmod 777 "$dbdir"; mkdir -m 777 "$tmp/nb"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all timeout 20 "$TOOL" bundle --db "$db" --session locked "$tmp/nb/out" >/dev/null 2>"$tmp/e-nb"; rc=$?
check "BND-09: an unreadable recorded file: nonzero exit ($rc)" test "$rc" != 0 -a "$rc" -lt 124
check "BND-09: one line names it and says why" grep -qE "^magicpak: .*$tmp/src/locked.*(Permission denied|cannot)" "$tmp/e-nb"
check "BND-09: no output, so no zero-length copy" test ! -e "$tmp/nb/out$tmp/src/locked"
done_testing
