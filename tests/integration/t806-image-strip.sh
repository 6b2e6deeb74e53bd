#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --strip: the bundled ELF copies lose debug sections and unneeded symbols (strip
# --strip-unneeded), the host's files are untouched, the size saved is printed, and the stripped
# bundle still runs chrooted; in an archive the layer holds the stripped copies.
. "$(dirname "$0")/../lib.sh"
require_cc
require_python3

cc_quiet -g -O0 -o "$tmp/hello" "$TESTS_DIR/fixtures/image/hello.c" || { echo "FAIL: cannot build hello"; exit 1; }
before=$(sha256sum <"$tmp/hello")
run_tool "$tmp/hello" plain
assert_rc "without --strip: exit 0" 0
run_tool --strip "$tmp/hello" out
assert_rc "--strip: exit 0" 0
assert_eq "the host's file is unchanged" "$(sha256sum <"$tmp/hello")" "$before"
check "the bundled copy is smaller" test "$(stat -c %s "out$tmp/hello")" -lt "$(stat -c %s "plain$tmp/hello")"
check "the bundled copy has no .debug_info" sh -c '! readelf -S "$1" | grep -q "\.debug_info"' sh "out$tmp/hello"
check "the host's copy still has it" sh -c 'readelf -S "$1" | grep -q "\.debug_info"' sh "$tmp/hello"
check "the size saved is printed" grep -qE '^magicpak: --strip: [0-9]+ ELF files?, .* saved [0-9.]+ KiB' "$err"
check "the saving is not zero" sh -c '! grep -q "saved 0.0 KiB" "$1"' sh "$err"
bundle_size() { du -sb "$1" | cut -f1; }
check "the stripped bundle is smaller than the plain one" test "$(bundle_size out)" -lt "$(bundle_size plain)"
if chroot / /bin/true 2>/dev/null; then
	assert_eq "the stripped bundle runs chrooted" "$(chroot out "$tmp/hello" 2>&1)" "hello from the image"
	assert_eq "a stripped library bundle runs chrooted too" \
		"$(run_tool --strip /usr/bin/sqlite3 sq && chroot sq /usr/bin/sqlite3 :memory: 'select 42' 2>&1)" 42
else
	echo "(chroot not available: runs not checked)"
fi
# In an archive, with --test: the test runs on the stripped tree, the layer holds the stripped copy.
run_tool --strip "$tmp/hello" --oci-archive img.tar
assert_rc "--strip with an archive: exit 0" 0
ocicheck layer img.tar layer.tar
mkdir fresh && tar -x --no-same-owner -C fresh -f layer.tar
assert_eq "the layer holds the stripped copy" "$(sha256sum <"fresh$tmp/hello")" "$(sha256sum <"out$tmp/hello")"
run_tool --strip --strip "$tmp/hello" out2
check "stripping is stable (twice the same bytes)" cmp "out$tmp/hello" "out2$tmp/hello"
done_testing
