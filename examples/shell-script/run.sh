#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/shell-script/run.sh - a '#!/bin/sh' script: magicpak follows the #! line to the
# interpreter and bundles it with its libraries; the script goes to /usr/local/bin/greet.
. "$(dirname "$0")/../common.sh"
cp "$EXAMPLE_DIR/greet.sh" greet

say "the closure of a script starts at its interpreter"
mp deps "$work/greet"

say "bundle it as /usr/local/bin/greet, test it in the jail, write the image"
mp "$work/greet" --install-to /usr/local/bin/greet bundle --test \
	--test-stdin world --test-stdout 'hello, world' \
	--oci-archive greet.tar --tag "$tag" --entrypoint /usr/local/bin/greet ||
	{ rc=$?; jail_or_skip $rc; exit 1; }
mp test bundle --stdin "$(printf 'ada\ngrace')" --expect-stdout "$(printf 'hello, ada\nhello, grace')" -- greet
(cd bundle && find . -type f | LC_ALL=C sort)
if have_podman; then
	podman_load greet.tar
	got=$(echo podman | podman_run -i "$image")
	[ "$got" = 'hello, podman' ] || { echo "podman run printed '$got'"; exit 1; }
	echo "podman run: $got"
fi
sizes bundle greet.tar
