#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: LIB-07.
# DT_NEEDED breadth-first link-map order and soname de-duplication, against the real loader.
# app -> mpa mpb (libc); mpa -> mpc; mpb -> mpd mpa; mpc -> mpd (its RUNPATH names M/ first).
# Breadth-first gives mpa mpb libc mpc mpd (depth-first would give mpa mpc mpd mpb); the mpd
# that mpb loads from L/ satisfies mpc's NEEDED too, so M/libmpd.so (same soname) is never loaded.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"

fx_lib M/libmpd.so libmpd.so
fx_lib L/libmpd.so libmpd.so
fx_lib L/libmpc.so libmpc.so M/libmpd.so "$(fx_runpath '$ORIGIN/../M')"
fx_lib L/libmpa.so libmpa.so L/libmpc.so "$(fx_runpath '$ORIGIN')"
fx_lib L/libmpb.so libmpb.so L/libmpd.so L/libmpa.so "$(fx_runpath '$ORIGIN')"
fx_app app L/libmpa.so L/libmpb.so "$(fx_runpath '$ORIGIN/L')"

want=$(fx_expect ./app)
assert_eq "oracle sanity: the loader loads breadth-first and M/libmpd.so never" \
	"$(printf '%s\n' "$want" | sed -n 's|^.*/\([LM]/libmp.\.so\)$|\1|p' | tr '\n' ' ')" "L/libmpa.so L/libmpb.so L/libmpc.so L/libmpd.so "
run_tool deps ./app
assert_rc "deps exits 0" 0
assert_eq "deps ./app lists exactly the loader's link map, in order" "$out" "$want"
first=$(printf '%s\n' "$out" | head -1)
assert_eq "the input comes first, absolute and normalised" "$first" "$tmp/app"

run_tool deps "$tmp/./L/../app"
assert_eq "input given as $tmp/./L/../app is printed normalised" "$(printf '%s\n' "$out" | head -1)" "$tmp/app"

run_tool deps --tree ./app
assert_rc "deps --tree exits 0" 0
assert_eq "tree: libmpa.so found through the app's RUNPATH" "$(tree_how libmpa.so)" runpath
assert_eq "tree: libmpa.so path" "$(tree_path libmpa.so)" "$tmp/L/libmpa.so"
assert_eq "tree: libc.so.6 from ld.so.cache" "$(tree_how libc.so.6)" ld.so.cache
assert_eq "tree: libc.so.6 path" "$(tree_path libc.so.6)" /lib/x86_64-linux-gnu/libc.so.6
check "tree: mpc's libmpd.so is the one already loaded from L/" \
	grep -qE "libmpd\.so => $tmp/L/libmpd\.so \[already loaded\]" <<<"$out"
check "tree: M/libmpd.so (same soname, other file) appears nowhere" \
	bash -c '! grep -q "/M/libmpd.so" <<<"$1"' _ "$out"
check "tree: ld-linux-x86-64.so.2 is tagged interpreter or already loaded" \
	grep -qE 'ld-linux-x86-64\.so\.2 => /lib64/ld-linux-x86-64\.so\.2 \[(interpreter|already loaded)\]' <<<"$out"
assert_eq "tree: its last line says what reading files cannot tell (RELIABILITY LIB-11)" "$(tail -n 1 <<<"$out")" \
	"(not covered: objects loaded with dlopen() at run time (NSS modules, gconv modules, plugins): 'magicpak record' a run to find them)"

run_tool deps --json ./app
assert_rc "deps --json exits 0" 0
check "--json output parses" json_ok
for p in $want; do
	assert_contains "--json names $p" "$out" "\"$p\""
done
assert_contains "--json says what it cannot tell" "$out" '"not_covered":["objects loaded with dlopen() at run time'
run_tool deps ./app
check "the plain list stays one path a line (no note)" sh -c '! grep -qv "^/" "$1"' sh <(printf '%s\n' "$out")
done_testing
