#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability case: PRE-01 (NSS). glibc reads /etc/nsswitch.conf and each database's file
# through its internal open, which no wrapper sees; the library reports them from the lookups'
# public entry points (getpwnam, getgrgid, getaddrinfo, getservbyname, ...; the rarer
# networks, rpc, ethers, netgroup, aliases and gshadow too), once a process,
# with the answer a read open gets. A bundle of `getent passwd root` recorded under preload
# then runs in the jail: it used to lack /etc/nsswitch.conf and /etc/passwd.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_preload
getent=$(command -v getent) || skip "no getent"
db=$tmp/n.db

record_rc "$db" --label pw --via preload -- "$getent" passwd root daemon
assert_rc "getent passwd root daemon: exit 0" 0
rows=$(prows "$db")
has_row "getent passwd: /etc/nsswitch.conf reported" "$rows" "open|/etc/nsswitch.conf|0"
has_row "getent passwd: /etc/passwd reported" "$rows" "open|/etc/passwd|0"
assert_eq "two lookups, one process: each file reported once" \
	"$(sql "$db" "select sum(count) from file_accesses where session_id = (select max(id) from sessions)
		and path in ('/etc/passwd', '/etc/nsswitch.conf') and op = 'open'")" 2
assert_eq "the session is complete" "$(sql "$db" 'select complete from sessions where label = "pw"')" 1

record_rc "$db" --via preload -- "$getent" group root
has_row "getent group: /etc/group reported" "$(prows "$db")" "open|/etc/group|0"
record_rc "$db" --via preload -- "$getent" hosts localhost
has_row "getent hosts: /etc/hosts reported" "$(prows "$db")" "open|/etc/hosts|0"
has_row "getent hosts: /etc/host.conf reported, with the answer a read open gets" "$(prows "$db")" \
	"open|/etc/host.conf|$([ -r /etc/host.conf ] && echo 0 || echo 2)"
# the enumerations (no key: gethostent, getprotoent, ...)
record_rc "$db" --via preload -- "$getent" hosts
has_row "getent hosts (all of them): /etc/hosts reported" "$(prows "$db")" "open|/etc/hosts|0"
if [ -e /etc/protocols ]; then
	record_rc "$db" --via preload -- "$getent" protocols
	has_row "getent protocols (all of them): /etc/protocols reported" "$(prows "$db")" "open|/etc/protocols|0"
fi
if [ -e /etc/services ]; then
	record_rc "$db" --via preload -- "$getent" services ssh
	has_row "getent services: /etc/services reported" "$(prows "$db")" "open|/etc/services|0"
	# getaddrinfo() with a service by name reads the services database too
	record_rc "$db" --via preload -- /usr/bin/python3 -c 'import socket; socket.getaddrinfo("localhost", "ssh")'
	rows=$(prows "$db")
	has_row "getaddrinfo(host, 'ssh'): /etc/hosts reported" "$rows" "open|/etc/hosts|0"
	has_row "getaddrinfo(host, 'ssh'): /etc/services reported" "$rows" "open|/etc/services|0"
	record_rc "$db" --via preload -- /usr/bin/python3 -c 'import socket; socket.getaddrinfo("localhost", "22")'
	lacks_row "getaddrinfo(host, '22'): a numeric service reads no services database" "$(prows "$db")" \
		"open|/etc/services|0"
fi

# the rarer databases, each with the answer a read open gets (a file this machine lacks: 2)
ans() { [ -r "$1" ] && echo 0 || echo 2; }
for q in "networks loopback:/etc/networks" "networks:/etc/networks" "rpc portmapper:/etc/rpc" \
	"rpc:/etc/rpc" "gshadow root:/etc/gshadow" "aliases:/etc/aliases" \
	"ethers 00:11:22:33:44:55:/etc/ethers" "netgroup nosuchgroup:/etc/netgroup"; do
	file=${q##*:} args=${q%:*}
	# shellcheck disable=SC2086
	record_rc "$db" --label "db-${args%% *}" --via preload -- "$getent" $args
	has_row "getent $args: $file reported" "$(prows "$db")" "open|$file|$(ans "$file")"
done

# getlogin() (logname): /proc/self/loginuid, and for a login uid set there, passwd
if logname=$(command -v logname); then
	record_rc "$db" --via preload -- "$logname"
	has_row "logname: /proc/self/loginuid reported" "$(prows "$db")" "open|/proc/self/loginuid|0"
	# root may set its login uid once (audit): then getlogin() looks it up
	if sh -c 'echo 0 >/proc/self/loginuid' 2>/dev/null; then
		record_rc "$db" --via preload -- sh -c 'echo 0 >/proc/self/loginuid && exec "$1"' sh "$logname"
		assert_eq "logname with login uid 0: root" "$out" root
		has_row "logname with login uid 0: /etc/passwd reported" "$(prows "$db")" "open|/etc/passwd|0"
	else
		echo "SKIP login uid part: /proc/self/loginuid cannot be set here (not root, or set already)"
	fi
fi

# ptrace sees glibc's own opens: every NSS file it saw, preload now reports too
require_ptrace
record_rc "$db" --label pt --via ptrace -- "$getent" passwd root daemon
sql "$db" "select distinct path from file_accesses where session_id = (select id from sessions where label = 'pt')
	and op = 'open' and path in ('/etc/nsswitch.conf', '/etc/passwd', '/etc/group')" | LC_ALL=C sort >"$tmp/pt"
sql "$db" "select distinct path from file_accesses where session_id = (select id from sessions where label = 'pw')
	and op = 'open'" | LC_ALL=C sort >"$tmp/pw"
check "ptrace saw getent open /etc/passwd" grep -qx /etc/passwd "$tmp/pt"
missed=$(LC_ALL=C comm -23 "$tmp/pt" "$tmp/pw")
assert_eq "preload reports every NSS file ptrace saw getent open" "$missed" ""

# the bundle of the preload session runs in the jail
require_jail
run_tool bundle --db "$db" --session pw "$tmp/b"
assert_rc "bundle of the preload session: exit 0" 0
check "the bundle holds /etc/passwd and /etc/nsswitch.conf" test -f "$tmp/b/etc/passwd" -a -f "$tmp/b/etc/nsswitch.conf"
run_test "$tmp/b" --expect-stdout "$("$getent" passwd root)" -- "$getent" passwd root
assert_rc "getent passwd root runs in the jail and prints root's line" 0
if [ -r /etc/networks ] && want=$("$getent" networks loopback); then
	record_rc "$db" --label net --via preload -- "$getent" networks loopback
	run_tool bundle --db "$db" --session net "$tmp/bn"
	assert_rc "bundle of getent networks loopback (preload): exit 0" 0
	run_test "$tmp/bn" --expect-stdout "$want" -- "$getent" networks loopback
	assert_rc "getent networks loopback runs in the jail and prints its line" 0
fi
done_testing
