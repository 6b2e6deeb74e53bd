#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# -c/--compress runs upx on the bundled executables (never the host's), with --upx-arg passed on;
# when upx is not installed, one clear line says so and nothing is written. Debian 12 has no upx
# package, so a stand-in (tests/fixtures/image/fake-upx.sh) shows what would run; a real upx, when
# one is on PATH, is tested too.
. "$(dirname "$0")/../lib.sh"

nope=$tmp/no-upx-here
mkdir -p "$nope"
for o in "-c" "--compress" "--compress --upx-arg --best"; do
	# shellcheck disable=SC2086
	PATH=$nope:/usr/sbin:/usr/bin:/sbin:/bin run_tool $o --upx upx-not-installed /bin/true out --oci-archive img.tar
	assert_rc "$o without upx: exit 1" 1
	assert_one_error_line "$o without upx: one line saying so" "$err" "upx"
	assert_no_output "$o without upx: no OUTPUT" "$tmp/out"
	check "$o without upx: no archive, no temporary file" test -z "$(ls -A | grep -vE '^(\.tool-stderr|no-upx-here)$')"
done
run_tool -c --upx "$tmp/missing/upx" /bin/true out
assert_rc "--upx PATH that does not exist: exit 1" 1
assert_one_error_line "--upx PATH missing: one line naming it" "$err" "$tmp/missing/upx"

# The stand-in: which files, which arguments.
export FAKE_UPX_LOG=$tmp/upx.log
# --upx and --upx-arg without -c: as in the original, no compression, but one warning
run_tool --upx "$TESTS_DIR/fixtures/image/fake-upx.sh" --upx-arg --best /bin/true nocomp
assert_rc "--upx without -c: exit 0" 0
check "upx did not run" test ! -e "$FAKE_UPX_LOG"
assert_eq "one warning line says --upx needs -c" "$(cat "$err")" "magicpak: warning: --upx has no effect without -c/--compress"
check "the bundle is written" test -x nocomp/usr/bin/true
run_tool /bin/true plain
assert_eq "neither option, no -c: no warning" "$rc|$(cat "$err")" "0|"
host_before=$(sha256sum </usr/bin/sqlite3)
run_tool -c --upx "$TESTS_DIR/fixtures/image/fake-upx.sh" --upx-arg --best --upx-arg --lzma /usr/bin/sqlite3 out
assert_rc "-c with a stand-in upx: exit 0" 0
check "upx ran" test -s "$FAKE_UPX_LOG"
check "--upx-arg passed on, in order" grep -qzF -e "$(printf -- "-q\n--best\n--lzma\n--\n")" "$FAKE_UPX_LOG"
files=$(grep '^/' "$FAKE_UPX_LOG")
check "it ran on the bundled sqlite3" grep -q '/usr/bin/sqlite3$' <<<"$files"
check "only on copies in the staging tree, never a host path" test -z "$(grep -v "^$tmp/out\.magicpak-" <<<"$files")"
check "never on a library or the loader" test -z "$(grep -E '\.so' <<<"$files")"
assert_eq "the host's file is unchanged" "$(sha256sum </usr/bin/sqlite3)" "$host_before"
check "the compressed size is reported" grep -q '^magicpak: --compress: 1 ELF file' "$err"

if command -v upx >/dev/null; then
	run_tool -c /usr/bin/sqlite3 real
	assert_rc "-c with the real upx: exit 0" 0
	check "the bundled sqlite3 is smaller" test "$(stat -c %s real/usr/bin/sqlite3)" -lt "$(stat -c %s /usr/bin/sqlite3)"
	if chroot / /bin/true 2>/dev/null; then
		assert_eq "the compressed bundle runs chrooted" "$(chroot real /usr/bin/sqlite3 :memory: 'select 42' 2>&1)" 42
	fi
else
	echo "(no upx on PATH: the real compression is not tested)"
fi
done_testing
