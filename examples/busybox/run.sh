#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/busybox/run.sh - a static binary: `magicpak deps` prints it alone, and the bundle is
# that one file (plus an empty /tmp); no ld.so, no libc.
. "$(dirname "$0")/../common.sh"
bb=$(readlink -f "$(command -v busybox)")
file -L "$bb" 2>/dev/null | grep -q 'statically linked' || { echo "$bb is not static"; exit 1; }

say "a static executable has no closure"
mp deps "$bb"
[ "$(mp deps "$bb" | tail -n 1)" = "$bb" ]

say "bundle it, test it in the jail, write the image"
mp "$bb" bundle --mkdir /tmp --test --test-command "$bb echo ok" --test-stdout ok \
	--oci-archive busybox.tar --tag "$tag" --entrypoint "$bb" || { rc=$?; jail_or_skip $rc; exit 1; }
mp test bundle --stdin 'b a c' --expect-stdout 'a b c' -- "$bb" sh -c 'read -r x y z; echo "$y $x $z"'
(cd bundle && find . -mindepth 1 | LC_ALL=C sort)
[ "$(cd bundle && find . -type f | wc -l)" = 1 ] || { echo "the bundle holds more than busybox"; exit 1; }
if have_podman; then
	podman_load busybox.tar
	got=$(podman_run "$image" sh -c 'echo $((6 * 7))')
	[ "$got" = 42 ] || { echo "podman run printed '$got'"; exit 1; }
	echo "podman run: $got"
fi
sizes bundle busybox.tar
