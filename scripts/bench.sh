#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# magicpak benchmarks, run by `make bench` (which installs the peers first).
#
# Usage: scripts/bench.sh /abs/path/to/magicpak [SECTION...]
#   SECTION: resolution | all (default: all)
#
# The machines this runs on are shared and noisy, so every comparison is a ratio
# from PAIRED runs in one invocation: in each round magicpak and the peer run back
# to back (the order alternates between rounds), and the table shows the median
# of the per-round ratios. Absolute seconds only size the work. See
# /work/shared/BASELINES.md for the peers' figures. Never time anything in tests.
#
# Environment:
#   BENCH_ROUNDS=N       paired rounds per contender (default 5)
#   BENCH_DIRS="D..."    directories scanned for ELF files
#                        (default: /usr/bin /usr/sbin /usr/lib/x86_64-linux-gnu)
#   BENCH_SKIP="ID..."   contenders to leave out: ldso-loop libtree-loop libtree-all lddtree
#
# Sections are functions named bench_<section>; add a new one (tracing overhead,
# ingest rate, ...) by defining bench_<name> and listing it in SECTIONS.
set -euo pipefail

SECTIONS=(resolution)

ROUNDS=${BENCH_ROUNDS:-5}
DIRS=${BENCH_DIRS:-/usr/bin /usr/sbin /usr/lib/x86_64-linux-gnu}
SKIP=" ${BENCH_SKIP:-} "
LDSO=/lib64/ld-linux-x86-64.so.2
# /usr/bin/python3 explicitly: python3 on PATH may be a pyenv shim without the
# Debian modules (pax-utils' lddtree needs python3-pyelftools).
PY=/usr/bin/python3
GNU_TIME=/usr/bin/time

MAGICPAK=
TMP=
HAVE_MAGICPAK=0

# ---------------------------------------------------------------- helpers

die() {
	echo "bench: $*" >&2
	exit 1
}
note() { echo "bench: $*" >&2; }

cleanup() { if [ -n "$TMP" ]; then rm -rf -- "$TMP"; fi; }

# now: wall-clock seconds with microseconds (bash >= 5 has EPOCHREALTIME).
now() {
	if [ -n "${EPOCHREALTIME:-}" ]; then
		printf '%s\n' "${EPOCHREALTIME/,/.}"
	else
		date +%s.%N
	fi
}

# median: of the numbers on stdin, one a line.
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# minimum of the numbers on stdin.
minimum() { sort -g | head -n 1; }

# timed FN ARGS...: run FN, set T (seconds) and RC; never trips errexit.
T=0
RC=0
timed() {
	local t0 t1
	t0=$(now)
	RC=0
	"$@" || RC=$?
	t1=$(now)
	T=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
}

# peak_rss OUTFILE CMD...: run CMD under GNU time; set RSS_KIB (its peak RSS in
# KiB) and RC; CMD's stdout goes to OUTFILE, its stderr to $TMP/rss.stderr.
RSS_KIB=0
peak_rss() {
	local out=$1
	shift
	RC=0
	"$GNU_TIME" -f %M -o "$TMP/rss" "$@" >"$out" 2>"$TMP/rss.stderr" || RC=$?
	RSS_KIB=$(tail -n 1 "$TMP/rss")
	[[ $RSS_KIB =~ ^[0-9]+$ ]] || die "cannot read peak RSS from $GNU_TIME: $(cat "$TMP/rss")"
}

kib_to_mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.6f\n", a / b; else print "nan" }'; }

skipped() { [[ $SKIP == *" $1 "* ]]; }

print_header() {
	echo "magicpak bench — $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "  kernel:   $(uname -srm)"
	echo "  host:     $(nproc) CPU(s), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "  libc:     $(getconf GNU_LIBC_VERSION 2>/dev/null || echo unknown)"
	if [ "$HAVE_MAGICPAK" = 1 ]; then
		echo "  magicpak: $MAGICPAK ($("$MAGICPAK" --version 2>/dev/null | head -n 1 || true))"
	else
		echo "  magicpak: $MAGICPAK (NOT USABLE: peers only, no ratios)"
	fi
	echo "  rounds:   $ROUNDS (BENCH_ROUNDS), paired, order alternating"
}

# ------------------------------------------------- section: ELF resolution

FILES=()

# collect_elf_files: every regular ET_EXEC/ET_DYN ELF file under $DIRS into FILES
# (not following symlinks; .o relocatables and non-ELF files are left out).
collect_elf_files() {
	local d dirs=()
	for d in $DIRS; do
		[ -d "$d" ] && dirs+=("$d")
	done
	[ ${#dirs[@]} -gt 0 ] || die "none of the directories exists: $DIRS"
	find "${dirs[@]}" -type f -print0 2>/dev/null |
		"$PY" -c '
import struct, sys
counts = {"non-ELF": 0, "ET_REL": 0, "ET_EXEC": 0, "ET_DYN": 0, "other ELF": 0, "unreadable": 0}
with open(sys.argv[1], "wb") as out:
    for p in sys.stdin.buffer.read().split(b"\0"):
        if not p:
            continue
        try:
            with open(p, "rb") as f:
                h = f.read(18)
        except OSError:
            counts["unreadable"] += 1
            continue
        if len(h) < 18 or h[:4] != b"\x7fELF" or h[5] not in (1, 2):
            counts["non-ELF"] += 1
            continue
        t = struct.unpack("<H" if h[5] == 1 else ">H", h[16:18])[0]
        name = {1: "ET_REL", 2: "ET_EXEC", 3: "ET_DYN"}.get(t, "other ELF")
        counts[name] += 1
        if t in (2, 3):
            out.write(p + b"\0")
print(" ".join("%s=%d" % kv for kv in counts.items()))
' "$TMP/files" >"$TMP/counts"
	mapfile -d '' FILES <"$TMP/files"
	[ ${#FILES[@]} -gt 0 ] || die "no ELF executables or shared objects under $DIRS"
}

# The contenders. Each resolves every file in FILES; output is thrown away.
run_magicpak() {
	local rc=0
	"$MAGICPAK" deps "${FILES[@]}" >/dev/null 2>"$TMP/magicpak.stderr" || rc=$?
	# 1 = some library was not found: expected on a real system.
	case $rc in
	0 | 1) return 0 ;;
	*)
		note "magicpak deps exited with $rc; its stderr ends with:"
		tail -n 5 "$TMP/magicpak.stderr" >&2
		return "$rc"
		;;
	esac
}
run_ldso_loop() {
	local f
	# Static executables make ld.so --list crash (SIGSEGV): ignore, and keep
	# the shell's "Segmentation fault" notes off the terminal.
	{
		for f in "${FILES[@]}"; do
			"$LDSO" --list "$f" >/dev/null 2>&1 || true
		done
	} 2>/dev/null
}
run_libtree_loop() {
	local f
	{
		for f in "${FILES[@]}"; do
			libtree -p -vv "$f" >/dev/null 2>&1 || true
		done
	} 2>/dev/null
}
run_libtree_all() { libtree -p -vv "${FILES[@]}" >/dev/null 2>&1 || true; }
# lddtree runs ~20 s, so GNU time's ~1 ms to record its peak memory is noise.
run_lddtree() {
	"$GNU_TIME" -a -o "$TMP/rss.lddtree" -f %M \
		"$PY" /usr/bin/lddtree -l "${FILES[@]}" >/dev/null 2>&1 || true
}

# peer_usable ID: whether the peer's tool is there and works on /bin/sh's target.
peer_usable() {
	local probe
	probe=$(readlink -f /bin/sh)
	case $1 in
	ldso-loop)
		[ -x "$LDSO" ] || { note "skipping ldso-loop: $LDSO not found"; return 1; }
		"$LDSO" --list "$probe" >/dev/null 2>&1 ||
			{ note "skipping ldso-loop: $LDSO --list $probe fails"; return 1; }
		;;
	libtree-loop | libtree-all)
		command -v libtree >/dev/null ||
			{ note "skipping $1: libtree not installed (apt-get install libtree)"; return 1; }
		libtree -p -vv "$probe" >/dev/null 2>&1 ||
			{ note "skipping $1: libtree -p -vv $probe fails"; return 1; }
		;;
	lddtree)
		[ -r /usr/bin/lddtree ] ||
			{ note "skipping lddtree: /usr/bin/lddtree missing (apt-get install pax-utils)"; return 1; }
		"$PY" /usr/bin/lddtree -l "$probe" >/dev/null 2>&1 ||
			{ note "skipping lddtree: '$PY /usr/bin/lddtree -l $probe' fails (python3-pyelftools?)"; return 1; }
		;;
	esac
}

bench_resolution() {
	local ids=(ldso-loop libtree-loop libtree-all lddtree)
	local -A label=(
		[magicpak]="magicpak deps FILE... (one process)"
		[ldso-loop]="loop: ld.so --list FILE"
		[libtree-loop]="loop: libtree -p -vv FILE"
		[libtree-all]="libtree -p -vv FILE... (one process)"
		[lddtree]="lddtree -l FILE... (one process, Python)"
	)
	local -A fn=(
		[ldso-loop]=run_ldso_loop [libtree-loop]=run_libtree_loop
		[libtree-all]=run_libtree_all [lddtree]=run_lddtree
	)
	local -A rss=()
	local active=() id r t_mp t_peer start

	echo
	echo "== ELF dependency resolution =="
	collect_elf_files
	echo "  dirs:     $DIRS"
	echo "  files:    $(cat "$TMP/counts")"
	echo "  workload: ${#FILES[@]} ELF files (ET_EXEC + ET_DYN), every contender resolves all of them"

	for id in "${ids[@]}"; do
		if skipped "$id"; then
			note "skipping $id (BENCH_SKIP)"
		elif peer_usable "$id"; then
			active+=("$id")
		fi
	done

	# Warm-up (untimed): fills the page cache with the files and their libraries
	# and measures peak memory. The slow peers get no warm-up run.
	note "warm-up"
	if [ "$HAVE_MAGICPAK" = 1 ]; then
		peak_rss "$TMP/magicpak.out" "$MAGICPAK" deps "${FILES[@]}"
		rss[magicpak]=$RSS_KIB
		case $RC in
		0 | 1) ;;
		*)
			tail -n 5 "$TMP/rss.stderr" >&2
			die "magicpak deps exited with $RC on the workload"
			;;
		esac
		echo "  magicpak: exit $RC, $(wc -l <"$TMP/magicpak.out") output lines," \
			"$(grep -c . "$TMP/rss.stderr" || true) stderr lines (warm-up run)"
	fi
	if [[ " ${active[*]} " == *" libtree-all "* ]]; then
		peak_rss /dev/null libtree -p -vv "${FILES[@]}"
		rss[libtree-all]=$RSS_KIB
	fi

	: >"$TMP/t.magicpak"
	for id in "${active[@]}"; do : >"$TMP/t.$id" && : >"$TMP/r.$id"; done
	for ((r = 1; r <= ROUNDS; r++)); do
		start=$(now)
		for id in "${active[@]}"; do
			t_mp=
			if [ "$HAVE_MAGICPAK" = 1 ] && ((r % 2 == 1)); then
				timed run_magicpak
				[ "$RC" = 0 ] || die "magicpak failed in round $r"
				t_mp=$T
			fi
			timed "${fn[$id]}"
			t_peer=$T
			if [ "$HAVE_MAGICPAK" = 1 ] && ((r % 2 == 0)); then
				timed run_magicpak
				[ "$RC" = 0 ] || die "magicpak failed in round $r"
				t_mp=$T
			fi
			echo "$t_peer" >>"$TMP/t.$id"
			if [ -n "$t_mp" ]; then
				echo "$t_mp" >>"$TMP/t.magicpak"
				div "$t_peer" "$t_mp" >>"$TMP/r.$id"
			fi
		done
		note "round $r/$ROUNDS done in $(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"
	done

	if [ -s "$TMP/rss.lddtree" ]; then
		rss[lddtree]=$(grep -E '^[0-9]+$' "$TMP/rss.lddtree" | sort -n | tail -n 1 || true)
	fi

	# The table.
	local mp_med="" ldso_med="" med ratio vs_ldso mem
	[ "$HAVE_MAGICPAK" = 1 ] && [ -s "$TMP/t.magicpak" ] && mp_med=$(median <"$TMP/t.magicpak")
	[ -s "$TMP/t.ldso-loop" ] 2>/dev/null && ldso_med=$(median <"$TMP/t.ldso-loop")
	echo
	echo "  median of $ROUNDS paired rounds; ratio = peer time / magicpak time in the same round"
	echo "  (median of the per-round ratios: how many times faster magicpak is);"
	echo "  'x ld.so' = median time / median time of the ld.so loop, comparable with BASELINES.md"
	echo
	printf '  %-42s %10s %10s %9s %9s %10s\n' contender "median s" "min s" ratio "x ld.so" "peak MiB"
	printf '  %-42s %10s %10s %9s %9s %10s\n' "$(printf '%.0s-' {1..42})" ---------- ---------- --------- --------- ----------
	if [ -n "$mp_med" ]; then
		vs_ldso=-
		[ -n "$ldso_med" ] && vs_ldso=$(printf "%.3f" "$(div "$mp_med" "$ldso_med")")
		printf '  %-42s %10.3f %10.3f %9s %9s %10s\n' "${label[magicpak]}" "$mp_med" \
			"$(minimum <"$TMP/t.magicpak")" 1.00 "$vs_ldso" "$(kib_to_mib "${rss[magicpak]}")"
	elif [ "$HAVE_MAGICPAK" = 1 ]; then
		printf '  %-42s %10s %10s %9s %9s %10s\n' "${label[magicpak]}" - - - - "$(kib_to_mib "${rss[magicpak]}")"
	else
		printf '  %-42s %s\n' "${label[magicpak]}" "not measured ($MAGICPAK not usable)"
	fi
	for id in "${ids[@]}"; do
		if [[ " ${active[*]} " != *" $id "* ]]; then
			printf '  %-42s %s\n' "${label[$id]}" "skipped (see above)"
			continue
		fi
		med=$(median <"$TMP/t.$id")
		ratio=-
		[ -s "$TMP/r.$id" ] && ratio=$(grep . "$TMP/r.$id" | median)
		[ "$ratio" = - ] || ratio=$(printf '%.2f' "$ratio")
		vs_ldso=-
		[ -n "$ldso_med" ] && vs_ldso=$(printf "%.3f" "$(div "$med" "$ldso_med")")
		mem=-
		[ -n "${rss[$id]:-}" ] && mem=$(kib_to_mib "${rss[$id]}")
		printf '  %-42s %10.3f %10.3f %9s %9s %10s\n' "${label[$id]}" "$med" \
			"$(minimum <"$TMP/t.$id")" "$ratio" "$vs_ldso" "$mem"
	done

	# The targets (from the issue).
	echo
	echo "  targets:"
	local res
	target_ratio() { # ID MIN TEXT
		res=SKIP
		if [ -s "$TMP/r.$1" ]; then
			res=FAIL
			awk -v r="$(grep . "$TMP/r.$1" | median)" -v m="$2" 'BEGIN { exit !(r > m) }' && res=PASS
		fi
		printf '    %-4s  %s\n' "$res" "$3"
	}
	target_ratio ldso-loop 20 "at least 20x faster than the ld.so --list loop"
	target_ratio libtree-all 1 "faster than one libtree process for all files"
	res=SKIP
	if [ -n "${rss[magicpak]:-}" ]; then
		res=FAIL
		[ "${rss[magicpak]}" -lt $((64 * 1024)) ] && res=PASS
	fi
	printf '    %-4s  %s\n' "$res" "peak memory under 64 MiB (magicpak deps on all ${#FILES[@]} files)"
}

# ---------------------------------------------------------------- main

main() {
	[ $# -ge 1 ] || die "usage: $0 /abs/path/to/magicpak [SECTION...] (sections: ${SECTIONS[*]} all)"
	MAGICPAK=$1
	shift
	[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive integer (got '$ROUNDS')"
	[ -x "$PY" ] || die "$PY is missing (apt-get install python3)"
	[ -x "$GNU_TIME" ] || die "$GNU_TIME is missing (apt-get install time)"

	local want=("$@") s
	[ ${#want[@]} -eq 0 ] && want=(all)
	if [ "${want[*]}" = all ]; then want=("${SECTIONS[@]}"); fi
	for s in "${want[@]}"; do
		declare -F "bench_$s" >/dev/null || die "unknown section '$s' (sections: ${SECTIONS[*]} all)"
	done

	ulimit -c 0 2>/dev/null || true # ld.so --list crashes on static executables
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/magicpak-bench.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	local rc=0
	if [ ! -x "$MAGICPAK" ]; then
		note "WARNING: $MAGICPAK is not an executable: timing the peers only"
	else
		"$MAGICPAK" deps /bin/ls >/dev/null 2>"$TMP/probe.stderr" || rc=$?
		if [ "$rc" = 0 ]; then
			HAVE_MAGICPAK=1
		else
			note "WARNING: '$MAGICPAK deps /bin/ls' exits with $rc: timing the peers only; its stderr:"
			head -n 5 "$TMP/probe.stderr" >&2
		fi
	fi

	local t0
	t0=$(now)
	print_header
	for s in "${want[@]}"; do
		"bench_$s"
	done
	echo
	echo "bench took $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') s"
	[ "$HAVE_MAGICPAK" = 1 ] || return 1
}

main "$@"
