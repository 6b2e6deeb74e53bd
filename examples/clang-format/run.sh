#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/clang-format/run.sh - the Dockerfile's job without a container daemon: bundle
# clang-format (its ELF closure: libclang-cpp, libLLVM), test it in the jail, write an OCI
# archive and, where podman is installed, load and run it.
. "$(dirname "$0")/../common.sh"

say "bundle /usr/bin/clang-format, test it in the jail, then write the bundle and its image"
mp /usr/bin/clang-format bundle --test \
	--test-stdin 'int main(  ){ }' --test-stdout 'int main() {}' \
	--oci-archive clang-format.tar --tag "$tag" --entrypoint /usr/bin/clang-format ||
	{ rc=$?; jail_or_skip $rc; exit 1; }

say "the same test again, as its own step"
mp test bundle --stdin 'int main(  ){ }' --expect-stdout 'int main() {}' -- clang-format
echo
if have_podman; then
	podman_load clang-format.tar
	got=$(echo 'int main(  ){ }' | podman_run -i "$image")
	[ "$got" = 'int main() {}' ] || { echo "podman run printed '$got'"; exit 1; }
	echo "podman run: $got"
fi
sizes bundle clang-format.tar
