#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/fuzz/run.sh BUILD NAME... - run each libFuzzer harness BUILD/NAME for FUZZ_SECONDS
# (default 60) as RELIABILITY.md ELF-11 asks: -rss_limit_mb=512 and a 1 s per-input timeout.
# ASan's quarantine is cut to 64 MB: its default 256 MB plus the allocator's caches passed 512 MB
# after a few million runs of fuzz_elf with no leak at all (76 MB RSS with a 16 MB quarantine). First every committed seed
# in tests/fuzz/corpus/NAME (crashers kept as regression seeds included) is run once; then the
# harness fuzzes from those seeds, a few real files of this system (ELF binaries, the
# ld.so.cache), and what earlier runs found (BUILD/corpus/NAME, kept out of git). A crash,
# leak, timeout or OOM is a finding: it is saved under BUILD/findings/ and the run fails.
# Prints one line per harness: runs, exec/s, corpus size, coverage.
set -u
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=64
build=$1; shift
secs=${FUZZ_SECONDS:-60}
here=$(cd "$(dirname "$0")" && pwd)
fail=0
summary=()

system_seeds() { # NAME DIR: copy a few real inputs (never committed)
	case $1 in
	fuzz_elf)
		for f in /bin/true /usr/lib/x86_64-linux-gnu/libdl.so.2 /usr/bin/env; do
			[ -f "$f" ] && head -c 65536 "$f" >"$2/sys-$(basename "$f")"
		done ;;
	fuzz_ldcache)
		[ -f /etc/ld.so.cache ] && head -c 65536 /etc/ld.so.cache >"$2/sys-ld.so.cache" ;;
	esac
	return 0
}

for name in "$@"; do
	bin=$build/$name
	seeds=$here/corpus/$name
	work=$build/corpus/$name
	sys=$build/seeds/$name
	findings=$build/findings
	log=$build/$name.log
	mkdir -p "$work" "$sys" "$findings"
	system_seeds "$name" "$sys"
	[ -x "$bin" ] || { echo "FAIL $name: $bin not built"; fail=1; continue; }
	# regression: every committed seed once
	if ! "$bin" -runs=0 -rss_limit_mb=512 -timeout=1 -artifact_prefix="$findings/$name-seed-" "$seeds" >"$log" 2>&1; then
		echo "FAIL $name: a committed seed fails (regression):"; tail -30 "$log" | sed 's/^/    | /'
		fail=1; continue
	fi
	"$bin" -max_total_time="$secs" -rss_limit_mb=512 -timeout=1 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$findings/$name-" \
		"$work" "$seeds" "$sys" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	corp=$(ls "$work" | wc -l)
	line=$(printf '%-13s %4ss  runs=%s  exec/s=%s  cov=%s  corpus=%s' "$name" "$secs" \
		"${runs:-?}" "${eps:-?}" "${cov:-?}" "$corp")
	if [ $rc -ne 0 ]; then
		fail=1
		echo "FAIL $line (exit $rc)"
		grep -E 'ERROR: |SUMMARY: |Test unit written|^    #[0-9]' "$log" | head -25 | sed 's/^/    | /'
	else
		echo "PASS $line"
	fi
	summary+=("$line")
done
[ $fail = 0 ] && echo "fuzz: no findings" || echo "fuzz: FINDINGS (see $build/findings and $build/*.log)"
exit $fail
