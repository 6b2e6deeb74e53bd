#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# $LIB and $PLATFORM in a RUNPATH, against the real loader. $LIB is lib/x86_64-linux-gnu on
# Debian; $PLATFORM is what glibc's ld.so uses (it may differ from the kernel's AT_PLATFORM:
# glibc 2.36 names it after the CPU, e.g. "haswell"). MAGICPAK_PLATFORM overrides it.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"
unset MAGICPAK_PLATFORM

# Which directories do $LIB and $PLATFORM stand for? Ask the loader with a probe.
fx_lib probe/libprobe.so libprobe.so
fx_app probe/app probe/libprobe.so "$(fx_runpath '$ORIGIN/$LIB/$PLATFORM')"
# The last element of the RUNPATH search path is the plain directory (subdirectories come first).
dirs=$(LD_DEBUG=libs probe/app 2>&1 | grep -m1 'search path=.*(RUNPATH' |
	sed 's/[[:space:]]*(RUNPATH.*//; s/.*://')
rel=${dirs#"$tmp/probe/"}
lib=${rel%/*} platform=${rel##*/}
echo "loader: \$LIB=$lib \$PLATFORM=$platform"
[ -n "$lib" ] && [ -n "$platform" ] || { echo "FAIL: cannot learn \$LIB/\$PLATFORM from the loader"; exit 1; }

fx_lib "T/$lib/libpl.so" libpl.so
fx_lib "T/$platform/libpp.so" libpp.so
fx_lib "T/$lib/$platform/libboth.so" libboth.so
fx_app T/bin/app "T/$lib/libpl.so" "T/$platform/libpp.so" "T/$lib/$platform/libboth.so" \
	"$(fx_runpath '$ORIGIN/../$LIB:$ORIGIN/../$PLATFORM:$ORIGIN/../${LIB}/${PLATFORM}')"
want=$(fx_expect T/bin/app)
check "oracle sanity: the loader finds all three" bash -c '[ "$(grep -c "/T/" <<<"$1")" = 4 ]' _ "$want"
run_tool deps T/bin/app
assert_rc "deps exits 0" 0
assert_eq "\$LIB, \$PLATFORM, \${LIB}, \${PLATFORM}: same as the loader" "$out" "$want"

# MAGICPAK_PLATFORM changes what $PLATFORM expands to.
fx_lib T/otherplat/libpp.so libpp.so
MAGICPAK_PLATFORM=otherplat run_tool deps T/bin/app
# (The exact spelling of the path is checked above; here only which file is picked.)
assert_eq "MAGICPAK_PLATFORM=otherplat: \$PLATFORM expands to otherplat" \
	"$(grep libpp <<<"$out" | xargs -r realpath -e)" "$(realpath -e T/otherplat/libpp.so)"
done_testing
