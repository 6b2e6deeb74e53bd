#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/nss-iconv/run.sh - `getent hosts localhost` and `iconv -f utf-8 -t latin1` in a
# '#!/bin/sh' script. ld.so resolution alone bundles sh, getent, iconv and libc, but glibc
# opens /etc/nsswitch.conf, /etc/hosts, gconv-modules and ISO8859-1.so itself at run time:
# without --dynamic the test fails and names them; with it, they are bundled and it passes.
. "$(dirname "$0")/../common.sh"
mkdir -p app && cp "$EXAMPLE_DIR/resolve.sh" app/resolve.sh
want=$(app/resolve.sh)
printf 'on the host:\n%s\n' "$want"

say "library-only bundling (this test is expected to fail)"
if mp "$work/app/resolve.sh" /usr/bin/getent /usr/bin/iconv --install-to /app/resolve.sh without --test \
	--test-stdout "$want" 2>without.err; then
	echo "the bundle without --dynamic passed: the example no longer shows the failure"; exit 1
else
	rc=$?; jail_or_skip $rc; tail -n 1 without.err; [ "$rc" = 1 ] || exit 1
fi

say "--dynamic: run the script once, recorded, and bundle every file it used"
mp "$work/app/resolve.sh" /usr/bin/getent /usr/bin/iconv --install-to /app/resolve.sh bundle --dynamic -e "$work/**" --test --test-stdout "$want" \
	--oci-archive nss-iconv.tar --tag "$tag" --entrypoint /app/resolve.sh ||
	{ rc=$?; jail_or_skip $rc; exit 1; }
mp test bundle --expect-stdout "$want" -- /app/resolve.sh
echo "bundled at run time:"
(cd bundle && find etc usr/lib/x86_64-linux-gnu/gconv -type f 2>/dev/null | LC_ALL=C sort | sed 's|^|  /|')
if have_podman; then
	podman_load nss-iconv.tar
	got=$(podman_run "$image")
	[ "$got" = "$want" ] || { echo "podman run printed '$got'"; exit 1; }
	echo "podman run: $got"
fi
sizes bundle nss-iconv.tar
