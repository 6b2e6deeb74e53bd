#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# t900: every examples/*/run.sh passes with this build of magicpak (bundle, test in the jail,
# OCI archive, podman where installed), and prints its size line. An example that says the
# jail cannot be set up here (exit 77) is skipped; if all are, the test is.
. "$(dirname "$0")/../lib.sh"
san_no_leak_scan
require_root
examples=$(cd "$TESTS_DIR/.." && pwd)/examples
ran=0
for run in "$examples"/*/run.sh; do
	name=$(basename "$(dirname "$run")")
	log=$tmp/$name.log
	MAGICPAK=$TOOL timeout 300 bash "$run" >"$log" 2>&1
	rc=$?
	if [ "$rc" = 77 ]; then echo "SKIP example $name: $(tail -n 1 "$log")"; continue; fi
	ran=$((ran + 1))
	t_n=$((t_n + 1))
	if [ "$rc" = 0 ]; then pass "example $name"; else fail "example $name (exit $rc)"; tail -n 30 "$log" | sed 's/^/    /'; fi
	check "example $name prints its size line" grep -q '^size: bundle [0-9]* KiB, .*packages [0-9]* KiB' "$log"
	grep '^size: ' "$log" | sed "s/^/    $name /"
	check "example $name has a Dockerfile with the magicpak stages" \
		grep -q 'FROM scratch' "$examples/$name/Dockerfile"
	check "example $name left no image behind" \
		sh -c '! command -v podman >/dev/null || ! podman images --format "{{.Repository}}" | grep -qx "localhost/magicpak-example-$1"' sh "$name"
done
[ "$ran" -gt 0 ] || skip "no example could set up a jail here"
done_testing
