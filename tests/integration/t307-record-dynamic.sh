#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: LIB-11.
# magicpak's one-shot --dynamic: run the program once under record and bundle what it used, with the
# closure of every ELF among it (a dlopen'd Python extension and its library), never /proc, /sys, /dev,
# OUTPUT itself, or the files magicpak's own stdout/stderr point to; --dynamic-stdin, an empty stdin
# otherwise; a failing run is an error that leaves nothing; --db keeps the session.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3"
python3 -c 'import sqlite3' 2>/dev/null || skip "python3 has no sqlite3 module"
require_chroot

# stdout and stderr to files of their own: a user's log files must not end up in the bundle
timeout 30 "$TOOL" /usr/bin/python3 "$tmp/out" --dynamic --dynamic-arg -c \
	--dynamic-arg 'import json, sqlite3; print(json.dumps(1))' >"$tmp/dyn.stdout" 2>"$tmp/dyn.stderr"; rc=$?
check "--dynamic python3 -c 'import json, sqlite3': exit 0 (exit $rc)" test "$rc" = 0
sed 's/^/    stderr: /' "$tmp/dyn.stderr"
check "bundle made" test -x "$tmp/out/usr/bin/python3"
check "bundle: _sqlite3*.so (the extension module python dlopen'd)" \
	test -n "$(find "$tmp/out" -name '_sqlite3*.so' -type f)"
check "bundle: libsqlite3 (the extension's own DT_NEEDED, found by closure)" \
	test -n "$(find "$tmp/out" -name 'libsqlite3.so*' -type f)"
check "bundle: json/__init__.py" test -n "$(find "$tmp/out" -path '*/json/__init__.py' -type f)"
for d in proc sys dev; do
	assert_eq "bundle: nothing under /$d" "$(find "$tmp/out/$d" -mindepth 1 2>/dev/null | head -5)" ""
done
assert_eq "bundle: OUTPUT is not inside itself" "$(find "$tmp/out$tmp" -maxdepth 1 -name 'out*' 2>/dev/null)" ""
assert_eq "bundle: magicpak's stdout/stderr files are not in it (the run only inherited them)" \
	"$(find "$tmp/out$tmp" -maxdepth 1 -name 'dyn.std*' 2>/dev/null)" ""
got=$(timeout 20 chroot "$tmp/out" /usr/bin/python3 -c 'import json, sqlite3; print(json.dumps([1]))' 2>&1)
assert_eq "chroot out python3 -c 'import json, sqlite3; print(json.dumps([1]))' prints [1]" "$got" "[1]"

# --dynamic-stdin TEXT is the run's stdin; cat prints it, not on magicpak's stdout (results
# only) but, with -v -v, as debug lines.
run_tool -v -v /bin/cat "$tmp/cat1" --dynamic --dynamic-stdin hello
assert_rc "--dynamic-stdin hello with cat: exit 0" 0
check "--dynamic-stdin: the run saw 'hello' (a debug line of its stdout)" grep -q -- '--dynamic: stdout: hello' "$err"
assert_eq "--dynamic-stdin: nothing of the run on magicpak's stdout" "$out" ""
check "--dynamic-stdin: bundle made" test -x "$tmp/cat1/bin/cat" -o -x "$tmp/cat1/usr/bin/cat"
# Without it stdin is empty, even when magicpak's stdin never closes.
mkfifo "$tmp/never"
sleep 30 >"$tmp/never" &
holder=$!
start=$EPOCHREALTIME
timeout 20 "$TOOL" /bin/cat "$tmp/cat2" --dynamic <"$tmp/never" >"$tmp/cat2.out" 2>"$err"; rc=$?
secs=$(elapsed "$start")
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
assert_rc "no --dynamic-stdin, stdin a pipe that never closes: cat ends, exit 0" 0
check "no --dynamic-stdin: no waiting on magicpak's stdin (${secs}s)" awk -v s="$secs" 'BEGIN{exit !(s < 5)}'
check "no --dynamic-stdin: bundle made" test -d "$tmp/cat2"

# A failing run: an error naming the status, nothing written.
run_tool /usr/bin/python3 "$tmp/fail" --dynamic --dynamic-arg -c --dynamic-arg 'import sys; print("oops", file=sys.stderr); sys.exit(3)'
check "a dynamic run exiting 3: magicpak fails (exit $rc)" test "$rc" != 0 -a "$rc" -lt 124
check "a dynamic run exiting 3: the message names the status 3" grep -qE '(status|exit(ed)?|code)[^0-9]*3\b' "$err"
check "a dynamic run exiting 3: its stderr is shown" grep -q oops "$err"
assert_no_output "a failing dynamic run" "$tmp/fail"
printf '#!/bin/sh\nkill -SEGV $$\n' >"$tmp/segv.sh"; chmod +x "$tmp/segv.sh"
run_tool "$tmp/segv.sh" "$tmp/segv" --dynamic
check "a dynamic run killed by SIGSEGV: magicpak fails (exit $rc)" test "$rc" = 1
assert_one_error_line "a dynamic run killed by SIGSEGV: one line naming the signal, not a status 139" \
	"$err" "'$tmp/segv.sh' was killed by signal 11"
assert_no_output "a dynamic run killed by a signal" "$tmp/segv"

# --db keeps the session.
run_tool /usr/bin/python3 "$tmp/kept" --dynamic --dynamic-arg -c --dynamic-arg 'import json' --db "$tmp/dyn.db"
assert_rc "--db: exit 0" 0
assert_eq "--db: the session is kept, complete" \
	"$(sql "$tmp/dyn.db" 'select count(*), sum(complete), json_extract(argv, "$[0]"), json_extract(argv, "$[2]") from sessions')" \
	"1|1|/usr/bin/python3|import json"
has_row "--db: the session's files include json/__init__.py" \
	"$(sql "$tmp/dyn.db" "select path from session_files where path like '%/json/__init__.py'" | sed 's|.*/json/|json/|')" "json/__init__.py"
check "--db: what the session used successfully is in the bundle (json/__init__.py)" \
	test -f "$tmp/kept$(sql "$tmp/dyn.db" "select path from session_files where path like '%/json/__init__.py' limit 1")"
check "no temporary database left next to OUTPUT or in the cwd" \
	sh -c '! ls "$1" | grep -E "\.db(-wal|-shm)?$" | grep -v "^dyn\.db"' sh "$tmp"
done_testing
