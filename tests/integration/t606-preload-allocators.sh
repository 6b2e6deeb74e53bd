#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability case: PRE-04.
# record --via preload with a replacement allocator preloaded next to the interposer: Debian's
# jemalloc (its init opens /proc/sys/vm/overcommit_memory while holding its init lock, and the
# interposer's dlsym allocates) and tcmalloc_minimal. Two ways a user gets there:
#   outer: `LD_PRELOAD=ALLOC magicpak record --via preload -- ls /` (record puts its library first
#          and keeps the user's LD_PRELOAD after it: LD_PRELOAD=interposer:ALLOC);
#   front: the command sets its own LD_PRELOAD with the allocator in front of the interposer
#          (sh -c 'LD_PRELOAD=ALLOC:$LD_PRELOAD exec ls /').
# Each run ends (timeout 20), exits 0, prints ls's output, the session is complete and holds
# ls's open and listing of /. The allocator really is in the process (cat /proc/self/maps shows it
# mapped next to the interposer). The allocator's own open of overcommit_memory is reported when
# the interposer saw it, not required (it may run before the interposer is ready).
. "$(dirname "$0")/../lib.sh"
plain_tool_only "an allocator preloaded into magicpak cannot replace ASan's"
require_sqlite3
require_preload
libdir=/usr/lib/x86_64-linux-gnu
declare -A alloc=([jemalloc]=$libdir/libjemalloc.so.2 [tcmalloc]=$libdir/libtcmalloc_minimal.so.4)
for a in jemalloc tcmalloc; do
	[ -r "${alloc[$a]}" ] || skip "${alloc[$a]} not installed (scripts/install-deps.sh check installs libjemalloc2 and libtcmalloc-minimal4)"
done
want_ls=$(ls /)
lib_real=$(readlink -f "$PRELOAD_LIB")

# rec_alloc NAME DB ARGS...: `timeout 20 env LD_PRELOAD=... magicpak record --via preload --db DB
# -- ARGS...`, with LD_PRELOAD given only for the "outer" way; sets $out, $rc, $err.
rec_alloc() {
	local how=$1 d=$2; shift 2
	if [ "$how" = outer ]; then
		out=$(timeout 20 env LD_PRELOAD="$A" "$TOOL" record --via preload --db "$d" -- "$@" 2>"$err"); rc=$?
	else
		out=$(timeout 20 "$TOOL" record --via preload --db "$d" -- \
			sh -c 'LD_PRELOAD="$1:$LD_PRELOAD"; export LD_PRELOAD; shift; exec "$@"' sh "$A" "$@" 2>"$err"); rc=$?
	fi
}

for a in jemalloc tcmalloc; do
	A=${alloc[$a]}
	for how in outer front; do
		t="$a, $how"
		db=$tmp/$a-$how.db
		rec_alloc "$how" "$db" ls /
		check "$t: the run ends (not killed by timeout 20)" test "$rc" != 124
		assert_rc "$t: record exits 0" 0
		assert_eq "$t: ls's output is printed" "$out" "$want_ls"
		assert_eq "$t: one session, complete, source preload" \
			"$(sql "$db" 'select count(*), sum(complete), min(source) from sessions')" "1|1|preload"
		rows=$(prows "$db")
		has_row "$t: ls's open of / recorded" "$rows" "open|/|0"
		has_row "$t: ls's listing of / recorded" "$rows" "readdir|/|0"
		if [ "$a" = jemalloc ]; then
			if grep -qxF 'open|/proc/sys/vm/overcommit_memory|0' <<<"$rows"; then
				echo "note: $t: jemalloc's open of /proc/sys/vm/overcommit_memory was recorded"
			else
				echo "note: $t: jemalloc's open of /proc/sys/vm/overcommit_memory ran before the interposer was ready (not recorded)"
			fi
		fi

		# the allocator is really loaded, next to the interposer
		rec_alloc "$how" "$tmp/maps.db" cat /proc/self/maps
		assert_rc "$t: record of cat /proc/self/maps exits 0" 0
		maps=$(awk '$6 ~ /^\// {print $6}' <<<"$out" | sort -u)
		has_row "$t: $(basename "$A") is mapped in the command" "$maps" "$(readlink -f "$A")"
		has_row "$t: the interposer is mapped in the command" "$maps" "$lib_real"
	done
done
done_testing
