#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: PRE-10.
# The user's own LD_PRELOAD is kept and chained: a preload library of the test's own (its getenv
# answers for MYWRAP_PROBE, its open logs and calls the next open) still runs under
# record --via preload, in the command and in a child a shell starts, while the opens are
# recorded. The preload library at a path holding a space or ':' (which LD_PRELOAD cannot carry:
# ld.so splits it there) is refused with one error line before anything runs; a socket path
# holding a space and ':' (MAGICPAK_SOCKET is not split) works with collect.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_preload
cc_quiet -O2 -shared -fPIC -o "$tmp/libmywrap.so" "$TESTS_DIR/fixtures/preload/mywrap.c" -ldl ||
	{ echo "FAIL: cannot build libmywrap.so"; exit 1; }
preload_fixture chain
echo hello >"$tmp/data"
reason() { sql "$1" 'select complete || "|" || ifnull(incomplete_reason, "") from sessions where id = (select max(id) from sessions)'; }

# natively with the user's library: what the user expects to keep
out=$(LD_PRELOAD=$tmp/libmywrap.so "$tmp/chain" "$tmp/data" 2>"$tmp/native.err")
assert_eq "natively: the user's library answers getenv" "$(head -n 1 <<<"$out")" "MYWRAP_PROBE=wrapped"
check "natively: the user's open wrapper runs" grep -qxF "mywrap: open $tmp/data" "$tmp/native.err"

db=$tmp/u.db
out=$(LD_PRELOAD=$tmp/libmywrap.so timeout 20 "$TOOL" record --via preload --db "$db" -- "$tmp/chain" "$tmp/data" 2>"$err")
rc=$?
assert_rc "user's LD_PRELOAD: record exits 0" 0
assert_eq "user's LD_PRELOAD: its getenv still answers, the open still works" "$out" \
	"MYWRAP_PROBE=wrapped
opened $tmp/data"
check "user's LD_PRELOAD: its open wrapper still runs (chained after magicpak's)" \
	grep -qxF "mywrap: open $tmp/data" "$err"
has_row "user's LD_PRELOAD: the open is recorded" "$(prows "$db")" "open|$tmp/data|0"
assert_eq "user's LD_PRELOAD: session complete" "$(reason "$db")" "1|"

out=$(LD_PRELOAD=$tmp/libmywrap.so timeout 20 "$TOOL" record --via preload --db "$db" -- \
	sh -c '"$1" "$2"' sh "$tmp/chain" "$tmp/data" 2>"$err")
rc=$?
assert_rc "a child of sh: record exits 0" 0
assert_eq "a child of sh: the user's getenv still answers" "$(head -n 1 <<<"$out")" "MYWRAP_PROBE=wrapped"
check "a child of sh: the user's open wrapper still runs" grep -qxF "mywrap: open $tmp/data" "$err"
rows=$(prows "$db")
has_row "a child of sh: its exec recorded" "$rows" "exec|$tmp/chain|0"
has_row "a child of sh: its open recorded" "$rows" "open|$tmp/data|0"
assert_eq "a child of sh: session complete (LD_PRELOAD not lost)" "$(reason "$db")" "1|"

# The wrappers' real functions are found as dlsym(RTLD_NEXT) finds them: the library reads the
# GNU hash tables of the objects loaded after it (preload.c), and with MAGICPAK_DEBUG set compares
# each answer with dlsym()'s. The user's library after magicpak's (as record chains them), before
# it, and python3 with its extension modules.
for order in "$PRELOAD_LIB:$tmp/libmywrap.so" "$tmp/libmywrap.so:$PRELOAD_LIB"; do
	out=$(MAGICPAK_DEBUG=1 LD_PRELOAD=$order "$tmp/chain" "$tmp/data" 2>"$tmp/dbg.err")
	assert_eq "LD_PRELOAD=$(basename "${order%%:*}"):...: the program runs, the user's getenv answers" \
		"$out" "MYWRAP_PROBE=wrapped
opened $tmp/data"
	assert_eq "LD_PRELOAD=$(basename "${order%%:*}"):...: every real function is the one dlsym(RTLD_NEXT) gives" \
		"$(grep -c 'differs from dlsym' "$tmp/dbg.err")" 0
	assert_eq "LD_PRELOAD=$(basename "${order%%:*}"):...: the walk finds every one dlsym() finds" \
		"$(grep -c 'missed what dlsym' "$tmp/dbg.err")" 0
done
MAGICPAK_DEBUG=1 LD_PRELOAD=$PRELOAD_LIB /usr/bin/python3 -c 'import json, sqlite3, decimal' 2>"$tmp/dbg.err"
assert_eq "python3: every real function is the one dlsym(RTLD_NEXT) gives" \
	"$(grep -c 'differs from dlsym' "$tmp/dbg.err")" 0
# a walk that found no definition where an object has one falls back to dlsym(): correct, but
# the slow way each process pays, and not something "differs" above can see
assert_eq "python3: the walk finds every real function dlsym() finds" \
	"$(grep -c 'missed what dlsym' "$tmp/dbg.err")" 0

# the library at a path LD_PRELOAD cannot carry
for bad in "lib dir" "lib:dir"; do
	mkdir "$tmp/$bad"
	cp "$PRELOAD_LIB" "$tmp/$bad/libmagicpak-preload.so"
	db=$tmp/bad.db
	MAGICPAK_PRELOAD_LIB="$tmp/$bad/libmagicpak-preload.so" record_rc "$db" --via preload -- \
		sh -c 'touch "$1"' sh "$tmp/ran"
	assert_rc "library in '$bad': record exits 1" 1
	assert_one_error_line "library in '$bad': one error line naming it and why" "$err" \
		"the preload library path '$tmp/$bad/libmagicpak-preload.so' holds a space or ':'"
	check "library in '$bad': the command never ran" test ! -e "$tmp/ran"
done

# a socket path with a space and ':' (collect)
mkdir "$tmp/s p:c"
sock="$tmp/s p:c/sock"
db=$tmp/c.db
start_collector "$db" "$sock" "$tmp/c.log"
out=$(LD_PRELOAD="$PRELOAD_LIB $tmp/libmywrap.so" MAGICPAK_SOCKET=$sock timeout 20 "$tmp/chain" "$tmp/data" 2>"$err")
rc=$?
kill -TERM "$collector_pid"; wait "$collector_pid"; crc=$?
assert_rc "socket in 's p:c': the program exits 0" 0
assert_eq "socket in 's p:c': the user's library chained (a space-separated LD_PRELOAD)" \
	"$(head -n 1 <<<"$out")" "MYWRAP_PROBE=wrapped"
assert_eq "socket in 's p:c': the collector ends complete (exit 0)" "$crc" 0
rows=$(prows "$db")
has_row "socket in 's p:c': the open recorded" "$rows" "open|$tmp/data|0"
has_row "socket in 's p:c': the exec recorded" "$rows" "exec|$tmp/chain|0"
done_testing
