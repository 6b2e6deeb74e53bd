#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability case: PRE-01 (locale data, iconv's cache, the time zone). glibc opens these
# through its internal open, which no wrapper sees. After setlocale(), newlocale() and
# iconv_open() the library reports the locale files and the iconv cache glibc mapped
# (/proc/self/maps); before tzset(), localtime(), localtime_r(), mktime(), timelocal() and
# ctime() the file the TZ value names (TZDIR, ':', an absolute path, "" for Universal, unset
# for /etc/localtime), with the answer a read open gets. Each once a session: the first
# process reports it, the others find it reported (the ring's once[] slots), so that a shell's
# 200 `cat`s, each setting its locale, do not read their map 200 times (30-90 us each).
# ptrace sees each of these opens:
# preload now reports every one that succeeded, and a bundle of a preload session gives the
# program the same locale, zone and conversion in the jail.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_preload
preload_fixture loctz
db=$tmp/l.db
zi=$tmp/zi
mkdir "$zi"
src=/usr/share/zoneinfo/Europe/Paris
[ -f "$src" ] || src=$(readlink -f /etc/localtime)
[ -f "$src" ] || skip "no time zone file (tzdata) to copy"
for z in Z1 Z2 Z3 Z4 Z5; do cp "$src" "$zi/$z"; done
last() { sql "$db" "select distinct op || '|' || path || '|' || errno from file_accesses
	where session_id = (select max(id) from sessions)" | LC_ALL=C sort -u; }

# 1. each call that reads TZ, each with its own value
TZDIR=$zi record_rc "$db" --via preload -- "$tmp/loctz" tz Z1 Z2 Z3 ":$zi/Z4" Z5 Z6missing
assert_rc "tz: exit 0" 0
assert_eq "tz: the program's output is what it prints natively" "$out" \
	"$(TZDIR=$zi "$tmp/loctz" tz Z1 Z2 Z3 ":$zi/Z4" Z5 Z6missing)"
rows=$(last)
has_row "localtime_r (its first call): \$TZDIR/Z1" "$rows" "open|$zi/Z1|0"
has_row "tzset: \$TZDIR/Z2" "$rows" "open|$zi/Z2|0"
has_row "localtime: \$TZDIR/Z3" "$rows" "open|$zi/Z3|0"
has_row "mktime: TZ=:/absolute names the file itself" "$rows" "open|$zi/Z4|0"
has_row "ctime: \$TZDIR/Z5" "$rows" "open|$zi/Z5|0"
has_row "timelocal: a zone with no file, with its error" "$rows" "open|$zi/Z6missing|2"
assert_eq "tz: one report for each TZ value" \
	"$(sql "$db" "select count(*) from file_accesses where session_id = (select max(id) from sessions)
		and path like '$zi/%'")" 6

# 2. TZ unset: /etc/localtime; TZ="": Universal in the zone directory; TZ=":": no file
record_rc "$db" --via preload -- "$tmp/loctz" show C -
has_row "TZ unset: /etc/localtime" "$(last)" "open|/etc/localtime|$([ -r /etc/localtime ] && echo 0 || echo 2)"
TZDIR=$zi record_rc "$db" --via preload -- "$tmp/loctz" show C ""
has_row "TZ=\"\": \$TZDIR/Universal" "$(last)" "open|$zi/Universal|2"
record_rc "$db" --via preload -- "$tmp/loctz" show C :
assert_rc "TZ=\":\": exit 0" 0
check "TZ=\":\": no zone file" sh -c '! printf "%s\n" "$1" | grep -q "zoneinfo\|localtime"' sh "$(last)"

# 3. locale data: what glibc mapped; "C" loads nothing
record_rc "$db" --via preload -- "$tmp/loctz" set C
assert_rc "setlocale C: exit 0" 0
check "setlocale C: no locale file" sh -c '! printf "%s\n" "$1" | grep -q /usr/lib/locale' sh "$(last)"
if [ -f /usr/lib/locale/C.utf8/LC_CTYPE ]; then
	record_rc "$db" --via preload -- "$tmp/loctz" set C.UTF-8
	assert_eq "setlocale C.UTF-8: the codeset" "$out" "locale C.UTF-8 codeset UTF-8"
	rows=$(last)
	has_row "setlocale C.UTF-8: C.utf8/LC_CTYPE" "$rows" "open|/usr/lib/locale/C.utf8/LC_CTYPE|0"
	has_row "setlocale C.UTF-8: C.utf8/LC_TIME" "$rows" "open|/usr/lib/locale/C.utf8/LC_TIME|0"
	[ -e /usr/lib/locale/locale-archive ] ||
		has_row "setlocale C.UTF-8: the archive glibc tried first" "$rows" "open|/usr/lib/locale/locale-archive|2"
	record_rc "$db" --via preload -- "$tmp/loctz" new C.UTF-8
	has_row "newlocale C.UTF-8: C.utf8/LC_CTYPE" "$(last)" "open|/usr/lib/locale/C.utf8/LC_CTYPE|0"
	# once a session: three processes, one report, by the first
	TZDIR=$zi record_rc "$db" --via preload -- sh -c 'for i in 1 2 3; do "$1" show C.UTF-8 Z1 >/dev/null; done' sh "$tmp/loctz"
	assert_rc "three processes: exit 0" 0
	assert_eq "three processes: LC_CTYPE and the zone file reported once each, by one process" \
		"$(sql "$db" "select path, sum(count), count(distinct pid) from file_accesses where session_id = (select max(id) from sessions)
			and path in ('/usr/lib/locale/C.utf8/LC_CTYPE', '$zi/Z1') group by path order by path")" \
		"$zi/Z1|1|1
/usr/lib/locale/C.utf8/LC_CTYPE|1|1"
	# setlocale("") that the environment makes "C" loads nothing
	LC_ALL= LANG=C record_rc "$db" --via preload -- "$tmp/loctz" set ""
	assert_rc "setlocale \"\" under LANG=C: exit 0" 0
	assert_eq "setlocale \"\" under LANG=C: the C locale" "$out" "locale C codeset ANSI_X3.4-1968"
	check "setlocale \"\" under LANG=C: no locale file" sh -c '! printf "%s\n" "$1" | grep -q /usr/lib/locale' sh "$(last)"
	lc=C.UTF-8
else
	[ "${CI:-}" = true ] && fail "no /usr/lib/locale/C.utf8 (libc-bin) under CI"
	echo "SKIP locale part: no /usr/lib/locale/C.utf8"
	lc=C
fi

# 4. iconv's module cache
cache=$(find /usr/lib /usr/lib64 -name gconv-modules.cache 2>/dev/null | head -n 1)
record_rc "$db" --via preload -- "$tmp/loctz" iconv
assert_eq "iconv: converts" "$out" "iconv 00e9"
if [ -n "$cache" ]; then
	has_row "iconv_open: its cache" "$(last)" "open|$cache|0"
else
	[ "${CI:-}" = true ] && fail "no gconv-modules.cache (libc6) under CI"
	echo "SKIP iconv cache check: no gconv-modules.cache"
fi

# 5. every such file ptrace saw opened, preload reports
require_ptrace
record_rc "$db" --label pt --via ptrace -- "$tmp/loctz" show "$lc" ":$zi/Z1"
record_rc "$db" --label pl --via preload -- "$tmp/loctz" show "$lc" ":$zi/Z1"
assert_rc "show under preload: exit 0" 0
pick() { sql "$db" "select distinct path from file_accesses where session_id = (select id from sessions where label = '$1')
	and op = 'open' and errno = 0 and (path like '/usr/lib/locale/%' or path like '$zi/%' or path like '%/gconv-modules.cache')
	and path not like '%/LC_MESSAGES'" | LC_ALL=C sort; }
pick pt >"$tmp/pt"
pick pl >"$tmp/pl"
check "ptrace saw the zone file opened" grep -qx "$zi/Z1" "$tmp/pt"
assert_eq "preload reports every locale, zone and iconv file ptrace saw opened" \
	"$(LC_ALL=C comm -23 "$tmp/pt" "$tmp/pl")" ""

# 6. the bundle of the preload session gives the program its locale, zone and iconv in the jail
require_jail
want=$("$tmp/loctz" show "$lc" ":$zi/Z1")
run_tool bundle --db "$db" --session pl "$tmp/b"
assert_rc "bundle of the preload session: exit 0" 0
run_test "$tmp/b" --expect-stdout "$want" -- "$tmp/loctz" show "$lc" ":$zi/Z1"
assert_rc "in the jail: the same locale, zone and conversion ($(tr '\n' ' ' <<<"$want"))" 0
done_testing
