#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# BND-11: names that are OCI whiteouts ('.wh.passwd', '.wh..wh..opq') would delete files when an
# image runtime applies the layer: refused with one error naming the path, and nothing is written
# (no archive, no OUTPUT, no temporary file). Without an archive the bundle itself is fine.
. "$(dirname "$0")/../lib.sh"

for name in .wh.passwd .wh..wh..opq; do
	rm -rf src && mkdir -p src/etc && echo x >"src/etc/$name" && echo ok >src/etc/keep
	run_tool /bin/true -i "$tmp/src" out --oci-archive img.tar
	assert_rc "$name: exit 1" 1
	assert_one_error_line "$name: one error line naming the path" "$err" "$tmp/src/etc/$name"
	check "$name: the error says why" grep -q whiteout "$err"
	check "$name: no archive" test ! -e img.tar
	assert_no_output "$name: no OUTPUT" "$tmp/out"
	check "$name: no temporary file" test -z "$(ls -A | grep -E 'magicpak|layer')"
	run_tool /bin/true -i "$tmp/src" --docker-archive dock.tar
	assert_rc "$name, docker archive, no OUTPUT: exit 1" 1
	check "$name: no temporary tree" test -z "$(ls -A | grep -E 'magicpak|dock')"
	# A whiteout-shaped directory is refused too.
	rm -rf src && mkdir -p "src/.wh.dir" && echo x >"src/.wh.dir/f"
	run_tool /bin/true -i "$tmp/src" --oci-archive img.tar
	assert_rc "directory .wh.dir: exit 1" 1
	check "directory .wh.dir: named" grep -qF "$tmp/src/.wh.dir" "$err"
	rm -rf src && mkdir -p src/etc && echo x >"src/etc/$name"
	run_tool /bin/true -i "$tmp/src" plain
	assert_rc "$name without an archive: the bundle is written (exit 0)" 0
	rm -rf plain
done
# '.wh' alone or 'x.wh.y' are ordinary names.
rm -rf src && mkdir -p src && echo 1 >src/.wh && echo 2 >src/x.wh.y
run_tool /bin/true -i "$tmp/src" --oci-archive ok.tar
assert_rc "'.wh' and 'x.wh.y' are not whiteouts: exit 0" 0
done_testing
