#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run unit test binaries (TAP) or integration scripts and print one summary line:
# "N passed, N failed, N skipped". A script exiting 77 is skipped; under CI=true a
# skip is a failure, because CI has every capability the tests ask for. A script exiting 78
# does not apply to this pass (the ASan+UBSan build of magicpak, TOOL_SAN=1: a check that
# needs an uninstrumented binary, such as valgrind or `ulimit -v`), or to this machine's kernel
# (one without ia32 emulation runs no i386 program: t136, t718): counted apart, never a failure.
set -u
kind=$1; shift
pass=0 fail=0 skipped=0 na=0
failed_names=()
for t in "$@"; do
	name=$(basename "$t")
	if [ "${ONLY_ROOT:-0}" = 1 ] && ! grep -q 'require_' "$t" 2>/dev/null; then
		continue
	fi
	log=$(mktemp)
	start=$EPOCHREALTIME
	if [ "$kind" = unit ]; then
		"$t" >"$log" 2>&1; rc=$?
		grep -q '^not ok' "$log" && rc=1
	else
		bash "$t" >"$log" 2>&1; rc=$?
	fi
	secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}')
	case $rc in
	0) pass=$((pass + 1)); printf 'PASS %-40s %ss\n' "$name" "$secs" ;;
	77)
		reason=$(grep -m1 '^SKIP' "$log" || echo "SKIP (no reason given)")
		if [ "${CI:-}" = true ]; then
			fail=$((fail + 1)); failed_names+=("$name")
			printf 'FAIL %-40s skipped under CI=true: %s\n' "$name" "$reason"
		else
			skipped=$((skipped + 1)); printf 'SKIP %-40s %s\n' "$name" "$reason"
		fi ;;
	78)
		na=$((na + 1))
		printf 'N/A  %-40s %s\n' "$name" "$(grep -m1 '^N/A' "$log" | cut -c5-)" ;;
	*)
		fail=$((fail + 1)); failed_names+=("$name")
		printf 'FAIL %-40s (exit %d)\n' "$name" "$rc"
		# its failed checks first (they may be far from the end), then its last lines
		grep -m 10 '^FAIL' "$log" | sed 's/^/    | /'
		sed 's/^/    | /' "$log" | tail -40 ;;
	esac
	rm -f "$log"
done
echo "$kind: $pass passed, $fail failed, $skipped skipped$([ "$na" = 0 ] || echo ", $na not applicable")"
[ "$fail" = 0 ]
