#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: PRE-01, PRE-03, PRE-06.
# record --via preload: a C program calls every wrapped entry point (open..., the fortify __open_2
# and __openat_2 from -O2 -D_FORTIFY_SOURCE=2, the *64 names from -D_FILE_OFFSET_BITS=64, the stat
# family with statx and the old __xstat names, exec family, posix_spawn(p), dlopen, dlmopen, the
# changes, syscall()); each access it expects is in the database with its errno, and errno is what
# the real function left (the fixture checks that itself and exits 1 otherwise).
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_preload

for variant in fortify lfs64; do
	case $variant in
	fortify) preload_fixture allcalls -O2 -D_FORTIFY_SOURCE=2 -ldl ;;
	lfs64) preload_fixture allcalls -O2 -D_FORTIFY_SOURCE=2 -D_FILE_OFFSET_BITS=64 -ldl ;;
	esac
	syms=$(nm -D "$tmp/allcalls" | awk '{print $NF}' | sed 's/@.*//' | sort -u)
	if [ "$variant" = fortify ]; then
		assert_eq "$variant: the fixture calls __open_2 and __openat_2" \
			"$(grep -xcE '__open_2|__openat_2' <<<"$syms")" 2
	else
		assert_eq "$variant: the fixture calls __open64_2, __openat64_2, open64, fopen64, statx" \
			"$(grep -xcE '__open64_2|__openat64_2|open64|fopen64|statx' <<<"$syms")" 5
	fi
	d=$tmp/d-$variant; mkdir "$d"
	# natively first: the fixture's own errno checks hold without the library
	mkdir "$d.native"
	"$tmp/allcalls" "$d.native" >"$tmp/native.want" 2>"$tmp/native.err"
	check "$variant: natively, errno checks pass" test $? = 0
	db=$tmp/$variant.db
	record_rc "$db" --via preload -- "$tmp/allcalls" "$d"
	assert_rc "$variant: record --via preload exits 0 (errno preserved by every wrapper)" 0
	grep '^ERRNO' "$err" | sed 's/^/    /'
	printf '%s\n' "$out" | LC_ALL=C sort -u >"$tmp/want"
	check "$variant: the fixture listed its accesses (> 60)" test "$(wc -l <"$tmp/want")" -gt 60
	missing=$(LC_ALL=C comm -23 "$tmp/want" <(prows "$db"))
	assert_eq "$variant: every expected op|path|errno is recorded" "$missing" ""
	assert_eq "$variant: the session is complete, source preload" \
		"$(sql "$db" 'select complete, source from sessions')" "1|preload"
	assert_eq "$variant: foreign keys hold (the recording connection does not check them)" \
		"$(sql "$db" 'PRAGMA foreign_key_check')|$(sql "$db" 'select count(*) > 0 from file_versions')" "|1"
done
done_testing
