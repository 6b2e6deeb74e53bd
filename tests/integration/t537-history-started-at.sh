#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# sessions.started_at is when the command started, not when the history's thread got to write
# the session's row (2-19 ms later): no recorded access (file_accesses.time) and no process of
# the session (processes.started_at) comes before it, under ptrace and under preload.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
db=$tmp/h.db
vias="ptrace"
if [ -r "$PRELOAD_LIB" ] && "$TOOL" record --via preload --db "$tmp/.pp.db" -- /bin/true >/dev/null 2>&1; then
	vias="ptrace preload"
else
	echo "note: no preload recording here; ptrace only"
fi
rm -f "$tmp"/.pp.db*
for i in 1 2 3; do
	for via in $vias; do
		rec "$db" --via "$via" -- /bin/cat /etc/hostname
		rec "$db" --via "$via" -- /bin/sh -c 'cat /etc/hostname; ls / >/dev/null'
	done
done
# one row a session: id source started_at first_access first_process_start (ISO-8601 text,
# which compares as text)
rows=$(sql "$db" "select s.id || ' ' || s.source || ' ' || s.started_at || ' ' ||
	(select min(time) from file_accesses f where f.session_id = s.id) || ' ' ||
	(select min(p.started_at) from processes p where p.session_id = s.id)
	from sessions s order by s.id")
[ "$(printf '%s\n' "$rows" | grep -c .)" = "$(sql "$db" "select count(*) from sessions")" ] ||
	{ echo "FAIL: a session without accesses or processes:"; printf '%s\n' "$rows"; exit 1; }
while read -r id src start first proc; do
	check "session $id ($src): started_at $start <= first access $first and first process $proc" \
		test ! "$start" \> "$first" -a ! "$start" \> "$proc"
done <<<"$rows"
done_testing
