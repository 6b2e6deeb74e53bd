#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A loaded object answers to its soname, not only to the name it was found under: app NEEDs
# libfile.so, the file L/libfile.so has DT_SONAME libsn.so; libmpx (loaded later) NEEDs libsn.so
# and its RUNPATH M/ holds another libsn.so. The loader reuses L/libfile.so (LIB-07).
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"

fx_lib stub/libfile.so libfile.so
fx_lib L/libfile.so libsn.so
fx_lib M/libsn.so libsn.so
fx_lib L/libmpx.so libmpx.so M/libsn.so "$(fx_runpath '$ORIGIN/../M')"
fx_app app stub/libfile.so L/libmpx.so "$(fx_runpath '$ORIGIN/L')"

want=$(fx_expect ./app)
check "oracle sanity: the loader does not load M/libsn.so" bash -c '! grep -q /M/ <<<"$1"' _ "$want"
run_tool deps ./app
assert_rc "deps exits 0" 0
assert_eq "deps ./app lists exactly the loader's link map" "$out" "$want"

run_tool deps --tree ./app
check "tree: libsn.so is satisfied by the already loaded L/libfile.so" \
	grep -qE "libsn\.so => $tmp/L/libfile\.so \[already loaded\]" <<<"$out"
done_testing
