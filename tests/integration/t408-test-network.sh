#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Only lo in the jail's network namespace; a service on the host's 127.0.0.1 is unreachable
# (RELIABILITY ISO-03).
. "$(dirname "$0")/../lib.sh"
require_root
require_jail
b=$tmp/cat.b
jail_bundle "$b" /bin/cat
run_test "$b" -- /bin/cat /proc/net/dev
assert_rc "cat /proc/net/dev: exit 0" 0
assert_eq "only lo is listed" "$(printf '%s\n' "$out" | awk -F: 'NR > 2 {gsub(/ /, "", $1); print $1}')" "lo"
check "control: the host has another interface than lo" sh -c 'awk -F: "NR > 2 {print \$1}" /proc/net/dev | grep -qv "^ *lo$"'
if command -v python3 >/dev/null && command -v cc >/dev/null; then
	jail_fixture connect
	jail_bundle "$tmp/c.b" "$tmp/connect" -r /usr/bin/connect
	port=$((20000 + $$ % 20000))
	python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1 &
	srv=$!
	trap 'kill "$srv" 2>/dev/null; rm -rf "$tmp"' EXIT
	check "control: the host service on 127.0.0.1:$port accepts connections" wait_for 5 sh -c '"$1" "$2" >/dev/null' sh "$tmp/connect" "$port"
	run_test "$tmp/c.b" --no-diagnose -- connect "$port"
	assert_rc "in the jail: connecting to 127.0.0.1:$port fails" 1
	assert_eq "in the jail: refused by the jail's own lo" "$out" "connect: Connection refused"
fi
done_testing
