#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# $ORIGIN, against the real loader (run directly, as the kernel runs it: ld.so takes the main
# program's $ORIGIN from /proc/self/exe, i.e. symlinks resolved):
# (1) real/bin/app with RUNPATH $ORIGIN/../lib, run through link/bin/app -> ../../real/bin/app,
#     with a decoy link/lib/libfoo.so: real/lib/libfoo.so is loaded (LIB-01);
# (2) a library's $ORIGIN is the directory of the path it was found at.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"

fx_lib real/lib/libfoo.so libfoo.so
fx_lib link/lib/libfoo.so libfoo.so
fx_app real/bin/app real/lib/libfoo.so "$(fx_runpath '$ORIGIN/../lib')"
mkdir -p link/bin && ln -s ../../real/bin/app link/bin/app

want=$(fx_expect link/bin/app)
check "oracle sanity: the loader takes real/lib/libfoo.so" grep -q "$tmp/real/bin/../lib/libfoo.so" <<<"$want"
run_tool deps link/bin/app
assert_rc "deps link/bin/app exits 0" 0
assert_eq "deps link/bin/app: same as the loader (real/lib, not the decoy)" "$out" "$want"
assert_eq "the input is printed as given (absolute), not symlink-resolved" \
	"$(printf '%s\n' "$out" | head -1)" "$tmp/link/bin/app"
check "the decoy link/lib/libfoo.so is not listed" bash -c '! grep -q "link/lib" <<<"$1"' _ "$out"

# (2) app2 RUNPATH $tmp/P/sub (a symlink to ../Q); P/sub/libo.so has RUNPATH $ORIGIN/dep.
# The loader opens $tmp/P/sub/libo.so, so its $ORIGIN is $tmp/P/sub and libdep comes from
# $tmp/P/sub/dep (= Q/dep), whose twin P/dep/libdep.so is a decoy.
fx_lib Q/dep/libdep.so libdep.so
fx_lib P/dep/libdep.so libdep.so
fx_lib Q/libo.so libo.so Q/dep/libdep.so "$(fx_runpath '$ORIGIN/dep')"
ln -s ../Q P/sub
fx_app app2 Q/libo.so "$(fx_runpath "$tmp/P/sub")" -Wl,-rpath-link,Q/dep
want=$(fx_expect ./app2)
check "oracle sanity: the loader takes P/sub/dep/libdep.so" grep -qx "$tmp/P/sub/dep/libdep.so" <<<"$want"
run_tool deps ./app2
assert_eq "library \$ORIGIN = directory of the path it was found at: same as the loader" "$out" "$want"

# (3) ".." after a symlinked directory is resolved by the kernel, not lexically: app3's RUNPATH
# is $tmp/S/../lib with S -> deep/dir, so the loader opens deep/lib/libfoo.so; the lexical
# "normalisation" $tmp/lib/libfoo.so is a decoy (a different file).
fx_lib deep/lib/libfoo.so libfoo.so
fx_lib lib/libfoo.so libfoo.so
mkdir -p deep/dir && ln -s deep/dir S
fx_app app3 deep/lib/libfoo.so "$(fx_runpath "$tmp/S/../lib")"
want=$(fx_expect ./app3)
check "oracle sanity: the loader opens S/../lib/libfoo.so (= deep/lib)" grep -qx "$tmp/S/../lib/libfoo.so" <<<"$want"
run_tool deps ./app3
assert_eq "RUNPATH through a symlinked dir and '..': same as the loader" "$out" "$want"
check "the decoy $tmp/lib/libfoo.so is not listed" bash -c '! grep -qx "$1/lib/libfoo.so" <<<"$2"' _ "$tmp" "$out"
done_testing
