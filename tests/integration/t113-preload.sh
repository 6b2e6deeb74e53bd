#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: LIB-07.
# /etc/ld.so.preload entries (MAGICPAK_LD_SO_PRELOAD names the file): loaded right after the
# program, before its DT_NEEDED; they can satisfy a later NEEDED of the same soname. Oracle: the
# real loader with that file mounted as /etc/ld.so.preload in a private mount namespace (root).
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"
unset LD_LIBRARY_PATH LD_PRELOAD

fx_lib P/libpre1.so libpre1.so
fx_lib P/libpre2.so libpre2.so
fx_lib P/libfoo.so libfoo.so
fx_lib U/libfoo.so libfoo.so
fx_app app U/libfoo.so "$(fx_runpath "$tmp/U")"
# Whitespace and colons both separate entries in ld.so.preload.
printf '%s %s:\n%s\n' "$tmp/P/libpre1.so" "$tmp/P/libfoo.so" "$tmp/P/libpre2.so" >preload
export MAGICPAK_LD_SO_PRELOAD=$tmp/preload

run_tool deps ./app
assert_rc "deps with a preload file: exit 0" 0
assert_eq "preloaded objects come right after the program, in file order" \
	"$(sed -n 2,4p <<<"$out")" "$(printf '%s\n' "$tmp/P/libpre1.so" "$tmp/P/libfoo.so" "$tmp/P/libpre2.so")"
check "the preloaded libfoo.so satisfies app's NEEDED libfoo.so: U/libfoo.so not listed" \
	bash -c '! grep -q /U/libfoo.so <<<"$1"' _ "$out"
run_tool deps --tree ./app
check "tree: a line tagged ld.so.preload" grep -q '\[ld.so.preload\]' <<<"$out"
if can_fake_etc; then
	cp /etc/ld.so.cache syscache 2>/dev/null || : >syscache
	FX_RUNNER=(in_etc "$tmp/syscache" "$tmp/preload")
	want=$(fx_expect ./app)
	FX_RUNNER=()
	check "oracle sanity: the loader preloads P/libpre1.so" grep -qx "$tmp/P/libpre1.so" <<<"$want"
	run_tool deps ./app
	assert_eq "same as the real loader with that /etc/ld.so.preload" "$out" "$want"
else
	echo "note: no private mount namespace; the loader order was not compared"
fi

MAGICPAK_LD_SO_PRELOAD=$tmp/no-such-file run_tool deps ./app
assert_rc "a missing preload file: exit 0" 0
assert_contains "a missing preload file: U/libfoo.so is used" "$out" "$tmp/U/libfoo.so"
done_testing
