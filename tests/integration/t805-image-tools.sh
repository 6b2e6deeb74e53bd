#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: BND-14.
# The archives with real tools: skopeo inspect oci-archive: and docker-archive:, umoci unpack (the
# root file system equals the bundle and the program runs chrooted in it), podman load then
# podman run prints the expected output, for both formats.
. "$(dirname "$0")/../lib.sh"
require_root
require_tool skopeo
require_python3

tag=magicpak-t805-$$
cleanup_images() { podman rmi -f "localhost/$tag:oci" "localhost/$tag:docker" >/dev/null 2>&1; }
trap 'cleanup_images; rm -rf "$tmp"' EXIT

run_tool /usr/bin/sqlite3 out --oci-archive img.tar --tag "$tag:oci" --entrypoint /usr/bin/sqlite3 --cmd :memory:
assert_rc "OCI archive of sqlite3: exit 0" 0
run_tool /usr/bin/sqlite3 --docker-archive dock.tar --tag "$tag:docker" --entrypoint /usr/bin/sqlite3
assert_rc "docker archive of sqlite3: exit 0" 0

insp=$(skopeo inspect oci-archive:img.tar 2>&1); rc=$?
check "skopeo inspect oci-archive: succeeds" test "$rc" = 0
assert_contains "skopeo: architecture" "$insp" '"Architecture": "amd64"'
mdigest=$(tar -xOf img.tar index.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifests"][0]["digest"])')
assert_contains "skopeo: the manifest digest" "$insp" "\"Digest\": \"$mdigest\""
insp=$(skopeo inspect docker-archive:dock.tar 2>&1); rc=$?
check "skopeo inspect docker-archive: succeeds" test "$rc" = 0
assert_contains "skopeo (docker): architecture" "$insp" '"Architecture": "amd64"'
check "skopeo copy oci-archive: to an OCI directory" skopeo copy -q oci-archive:img.tar oci:copied:x

if command -v umoci >/dev/null; then
	mkdir layout && tar -xf img.tar -C layout
	check "umoci unpack" umoci unpack --image "layout:$tag:oci" bundle
	check "umoci's rootfs = the bundle (diff -r --no-dereference)" diff -r --no-dereference out bundle/rootfs
	assert_eq "the program runs chrooted in umoci's rootfs" \
		"$(chroot bundle/rootfs /usr/bin/sqlite3 :memory: 'select 6*7' 2>&1)" 42
else
	fail "umoci not installed (scripts/install-deps.sh check installs it)"
fi

if command -v podman >/dev/null; then
	cleanup_images
	check "podman load -i OCI archive" sh -c 'podman load -i img.tar >load.log 2>&1'
	assert_eq "podman run (OCI, the image's Entrypoint and Cmd, SQL on stdin) prints the expected output" \
		"$(echo 'select 40+2;' | podman_run -i "localhost/$tag:oci" 2>&1)" 42
	assert_eq "podman run (OCI) with arguments replacing Cmd" \
		"$(podman_run "localhost/$tag:oci" :memory: 'select 2*21' 2>&1)" 42
	check "podman load -i docker archive" sh -c 'podman load -i dock.tar >>load.log 2>&1'
	assert_eq "podman run (docker) prints the expected output" \
		"$(podman_run "localhost/$tag:docker" :memory: "select 'docker'" 2>&1)" docker
	assert_eq "podman keeps the digest of the manifest it loaded" \
		"$(podman image inspect --format '{{.Digest}}' "localhost/$tag:oci" 2>&1)" "$mdigest"
else
	fail "podman not installed (scripts/install-deps.sh check installs it)"
fi
done_testing
