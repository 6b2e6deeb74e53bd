#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run the integration tests twice at once: against build/magicpak (make check-integration)
# and against the ASan+UBSan build (check-integration-san), sharing one lock (tests/run.sh,
# TEST_LOCK). One after the other they took 21 minutes on a slow 2-vCPU VM, most of it
# waiting on processes, sleeps and disk; side by side about 12. The plain pass prints as it
# goes; the sanitized pass's lines follow it. Exit status: nonzero if either failed.
set -u
cd "$(dirname "$0")/.."
lock=$(mktemp /tmp/magicpak-test-lock.XXXXXX)
log=$(mktemp /tmp/magicpak-test-san.XXXXXX)
trap 'rm -f "$lock" "$log"' EXIT
make="${MAKE:-make}"
start=$EPOCHREALTIME
TEST_LOCK=$lock "$make" --no-print-directory check-integration-san >"$log" 2>&1 &
san=$!
TEST_LOCK=$lock "$make" --no-print-directory check-integration
rc=$?
wait "$san"
san_rc=$?
cat "$log"
awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "both integration passes: %.0f s\n", b-a}'
[ "$rc" = 0 ] && [ "$san_rc" = 0 ]
