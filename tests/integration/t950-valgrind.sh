#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# E-IN clean-run oracle, issue 9: valgrind memcheck on the resolver and the tracer with real programs: no memory
# error and no definite or indirect leak (--error-exitcode=1). `still reachable` blocks (libelf's,
# SQLite's and OpenSSL's process-wide caches) do not count. Valgrind does not emulate seccomp()
# (it warns "unhandled syscall 317"), so under it the tracer runs in PTRACE_SYSCALL mode.
. "$(dirname "$0")/../lib.sh"
plain_tool_only "valgrind runs the uninstrumented build, not the ASan one"
require_tool valgrind
require_sqlite3
require_ptrace
# valgrind replaces malloc only in shared objects: a static build (the default) is checked
# through its shared-glibc twin, the same code
shared_tool

# vg NAME ARGS...: run "$TOOL ARGS..." under memcheck; $rc, $tmp/NAME.out, $tmp/NAME.vg
vg() {
	local name=$1; shift
	timeout 300 valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--show-leak-kinds=definite,indirect --track-fds=no --log-file="$tmp/$name.vg" \
		"$stool" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
}
# clean NAME WANT_RC: exit WANT_RC (not 99, valgrind's) and an empty valgrind log
clean() {
	t_n=$((t_n + 1))
	if [ "$rc" = "$2" ] && ! grep -q '^==[0-9]*== [A-Z]' "$tmp/$1.vg"; then
		pass "$1: exit $2, no memcheck error"
	else
		fail "$1: exit $rc (want $2; 99 = memcheck errors)"; head -60 "$tmp/$1.vg" | sed 's/^/    vg: /'
		sed 's/^/    stderr: /' "$tmp/$1.err" | head -10
	fi
}

# the resolver
vg deps-python3 deps /usr/bin/python3; clean deps-python3 0
check "deps-python3: libc in the closure" grep -q 'libc.so.6' "$tmp/deps-python3.out"
vg deps-tree-ls deps --tree /bin/ls; clean deps-tree-ls 0
vg deps-json deps --json /usr/bin/python3 /bin/ls /usr/bin/sqlite3; clean deps-json 0
vg deps-script deps /usr/bin/ldd; clean deps-script 0   # a "#!" script: the interpreter's closure
printf 'hello\n' >notelf; vg deps-notelf deps notelf; clean deps-notelf 1   # the error path
head -c 200 /bin/true >trunc; vg deps-trunc deps trunc; clean deps-trunc 1

# the tracer
vg record-true record --db "$tmp/r.db" -- /bin/true; clean record-true 0
vg record-sh record --db "$tmp/r.db" -- /bin/sh -c 'ls / >/dev/null; cat /etc/hostname >/dev/null; (true &) ; wait'
clean record-sh 0
vg record-python record --db "$tmp/r.db" -- /usr/bin/python3 -c 'import json, os; os.listdir("/")'
clean record-python 0
vg record-fail record --db "$tmp/r.db" -- /bin/false; clean record-fail 1
assert_eq "record: 4 sessions, all complete" "$(sql "$tmp/r.db" 'select count(*), sum(complete) from sessions')" "4|4"

# Not the bundler: it needs openat2(2) (RESOLVE_BENEATH), which valgrind 3.19 does not emulate
# (syscall 437 fails with ENOSYS under it); the bundler runs under ASan+UBSan instead (SAN=1).
done_testing
