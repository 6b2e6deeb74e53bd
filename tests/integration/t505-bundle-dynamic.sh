#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The one-shot --dynamic is "record, then bundle from that session": with --db the session is kept, and
# `magicpak bundle` from it gives the very same tree (one code path). Its recorded files are checked
# like any session's.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
mkdir "$tmp/src"; echo data >"$tmp/src/in"
run_tool /bin/cat "$tmp/one" --dynamic --dynamic-arg "$tmp/src/in" --db "$tmp/d.db"
assert_rc "--dynamic --db: exit 0" 0
check "--dynamic: the file the run read is bundled" test -f "$tmp/one$tmp/src/in"
# magicpak's stdout carries results only: what the program printed is not on it (the original
# magicpak captured it too, and logged it at Debug); -vv shows it on stderr.
assert_eq "--dynamic: the program's stdout is not on magicpak's stdout" "$out" ""
run_tool -v -v /bin/cat "$tmp/one-v" --dynamic --dynamic-arg "$tmp/src/in"
check "--dynamic -vv: exit 0, stdout empty, the program's stdout in a debug line on stderr" \
	sh -c '[ "$1" = 0 ] && [ -z "$2" ] && grep -q "^magicpak: debug: --dynamic: stdout: data$" "$3"' sh "$rc" "$out" "$err"

# INPUT names a file, as without --dynamic (and as the original read it): a bare name is the file in
# the current directory, never a command looked up on PATH; a missing one fails before anything runs.
mkdir "$tmp/bin" "$tmp/cwd"
printf '#!/bin/sh\necho ran >"%s/ran"\n' "$tmp" >"$tmp/bin/mp-probe" && chmod +x "$tmp/bin/mp-probe"
(cd "$tmp/cwd" && PATH="$tmp/bin:$PATH" timeout 20 "$TOOL" mp-probe "$tmp/o-probe" -d >"$tmp/probe.out" 2>"$err"); rc=$?
check "-d with a bare INPUT missing here: exit 1, nothing on PATH ran, nothing on stdout" \
	sh -c '[ "$1" = 1 ] && [ ! -e "$2/ran" ] && [ ! -s "$2/probe.out" ]' sh "$rc" "$tmp"
assert_one_error_line "-d with a bare INPUT missing here: one line naming it" "$err" "cannot run 'mp-probe'"
cp /bin/true "$tmp/cwd/my true"
(cd "$tmp/cwd" && timeout 20 "$TOOL" "my true" ../o-bare -d 2>"$err"); rc=$?
check "-d with a bare INPUT in the current directory: exit 0, it is bundled" \
	sh -c '[ "$1" = 0 ] && [ -x "$2/o-bare$2/cwd/my true" ]' sh "$rc" "$tmp"
bundle_rc "$tmp/d.db" "$tmp/two" -i /bin/cat
assert_rc "bundle from the kept session: exit 0" 0
assert_eq "bundle --session last -i INPUT gives the one-shot --dynamic tree" "$(tree_state "$tmp/two")" "$(tree_state "$tmp/one")"
assert_eq "one session recorded" "$(sql "$tmp/d.db" 'select count(*), sum(complete) from sessions')" "1|1"
check "every regular file the run used has a recorded version" test "$(sql "$tmp/d.db" "select count(*) from session_files s join paths p on p.path = s.path left join file_versions v on v.path_id = p.id and v.session_id = s.session_id where v.type is null and s.path like '$tmp/%'")" = 0
# The one-shot --exclude matches as the original magicpak did ('*' crosses '/'): -e '*.pyc' leaves no
# compiled module of the recorded python3 run. `magicpak bundle -e` keeps its documented rule.
if [ -x /usr/bin/python3 ]; then
	run_tool /usr/bin/python3 "$tmp/py" -d --dynamic-arg -c --dynamic-arg 'import json' -e '*.pyc' -e '*/__pycache__'
	check "-d python3 -e '*.pyc' -e '*/__pycache__': exit 0 (now $rc), no .pyc file in the bundle, json there" \
		sh -c '[ "$1" = 0 ] && [ -z "$(find "$2" -name "*.pyc")" ] && [ -n "$(find "$2" -path "*/json/__init__.py")" ]' sh "$rc" "$tmp/py"
fi
bundle_rc "$tmp/d.db" "$tmp/bx" -i /bin/cat -e '/usr/lib/*.so.6'
check "bundle -e '/usr/lib/*.so.6' (its own rule: '*' stays in a directory): exit 0 (now $rc), libc.so.6 kept" \
	test "$rc" = 0 -a -f "$tmp/bx/usr/lib/x86_64-linux-gnu/libc.so.6"
# A file changed since the run: the same check as bundle's.
echo changed >>"$tmp/src/in"
bundle_rc "$tmp/d.db" --strict "$tmp/three"
assert_rc "bundle --strict after a change: exit 1" 1

# --install-to puts the input elsewhere: the recorded run used it at its host path, where it
# was bundled a second time (a full copy).
cp /bin/cat "$tmp/mycat"
run_tool "$tmp/mycat" "$tmp/inst.b" --dynamic --dynamic-arg "$tmp/src/in" -r /opt/mycat
assert_rc "--dynamic -r: exit 0" 0
check "--dynamic -r: the input is at its --install-to path" test -x "$tmp/inst.b/opt/mycat"
check "--dynamic -r: and not also at its host path" test ! -e "$tmp/inst.b$tmp/mycat"
check "--dynamic -r: what the run read is bundled" test -f "$tmp/inst.b$tmp/src/in"

# A program that starts a daemon and exits (gpg and its gpg-agent): the build went on waiting
# for the daemon. What it left running is killed 5 s after it ends; what the daemon used by
# then is bundled too.
mark=$((RANDOM + 20000))
cat >"$tmp/daemonize" <<EOF
#!/bin/sh
(setsid sh -c 'sleep 0.3; cat "$tmp/src/daemon-data" >/dev/null; sleep $mark' </dev/null >/dev/null 2>&1 &)
echo started
EOF
chmod +x "$tmp/daemonize"
echo d >"$tmp/src/daemon-data"
start=$(date +%s)
TOOL_TIMEOUT=60 run_tool "$tmp/daemonize" "$tmp/daemon.b" --dynamic
assert_rc "--dynamic of a program that leaves a daemon: exit 0" 0
check "--dynamic: done some 5 s after the program ended, not when the daemon would end" test $(($(date +%s) - start)) -lt 30
check "--dynamic: a warning says what was killed" grep -qE "^magicpak: warning: '.*daemonize' ended and left [0-9]+ process(es)? running: killed (it|them) 5 s later" "$err"
check "--dynamic: the daemon is gone" sh -c "! pgrep -f 'sleep $mark\$' >/dev/null"
check "--dynamic: what the daemon read before is bundled" test -f "$tmp/daemon.b$tmp/src/daemon-data"

# A bad image option is found before the program runs: it is not recorded, nothing is written.
n=$(sql "$tmp/d.db" 'select count(*) from sessions')
run_tool /bin/cat "$tmp/badtag" --dynamic --dynamic-arg "$tmp/src/in" --db "$tmp/d.db" --oci-archive "$tmp/badtag.tar" --tag 'Not A Tag'
assert_rc "--dynamic with a bad --tag: usage error (exit 2)" 2
assert_one_error_line "--dynamic with a bad --tag: one line naming it" "$err" "--tag"
assert_eq "--dynamic with a bad --tag: the program was not run and recorded" "$(sql "$tmp/d.db" 'select count(*) from sessions')" "$n"
check "--dynamic with a bad --tag: nothing written" test ! -e "$tmp/badtag" -a ! -e "$tmp/badtag.tar"
done_testing
