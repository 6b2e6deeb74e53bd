#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Agreement with the real loader on the whole system: for every regular x86-64 ELF executable or
# shared object under /usr/bin, /usr/sbin and /usr/lib/x86_64-linux-gnu, `magicpak deps FILE`
# (one run per file) must name exactly the set of objects `ld.so --list FILE` prints. The oracle
# rules and their exceptions are documented in tests/fixtures/agreement.py. Passes only at 100%.
. "$(dirname "$0")/../lib.sh"
unset LD_LIBRARY_PATH LD_PRELOAD MAGICPAK_LD_SO_CACHE MAGICPAK_LD_SO_PRELOAD MAGICPAK_HWCAPS MAGICPAK_PLATFORM
[ -x /lib64/ld-linux-x86-64.so.2 ] || skip "no /lib64/ld-linux-x86-64.so.2 (not x86-64 glibc)"

# Under ASan (TOOL_SAN=1) every fourth file: each run's start-up and leak scan made the whole
# comparison 105 s there, against 20 s with the plain build.
[ "${TOOL_SAN:-0}" = 1 ] && export AGREEMENT_EVERY=4
start=$EPOCHREALTIME
python3 "$TESTS_DIR/fixtures/agreement.py" "$TOOL" /usr/bin /usr/sbin /usr/lib/x86_64-linux-gnu >report
rc=$?
secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')
grep '^DISAGREE' report | head -50
summary=$(tail -1 report)
echo "$summary (${secs}s)"
total=$(sed -n 's/^agree [0-9]* \/ total \([0-9]*\)$/\1/p' <<<"$summary")
check "more than 100 ELF files compared" test "${total:-0}" -gt 100
check "every file agrees with ld.so --list ($summary)" test "$rc" = 0
check "the whole comparison takes under 60 s (${secs}s)" awk -v s="$secs" 'BEGIN{exit !(s < 60)}'
done_testing
