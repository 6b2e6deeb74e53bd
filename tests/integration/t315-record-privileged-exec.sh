#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Programs whose exec raises privileges, under each source (RELIABILITY TRC-12 d, PRE-10):
# - ptrace as root does not set no_new_privs, so a set-user-ID root program run by nobody in
#   the tree still becomes root, and nothing is said;
# - ptrace as nobody: the kernel runs that program without its privileges (ptrace(2)); the
#   run is recorded whole, and one warning names the program;
# - preload: such a program's loader ignores LD_PRELOAD (AT_SECURE); the command itself exec'd
#   so is a gap of the session, as the kernel decides it: a set-group-ID file without group
#   execute permission (mandatory locking, not set-group-ID) is none, file capabilities are one
#   for a user other than root.
. "$(dirname "$0")/../lib.sh"
require_root
require_sqlite3
require_ptrace
require_preload
nobody=$(id -u nobody 2>/dev/null) || skip "no user 'nobody'"
as_nobody=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
chmod 755 "$tmp"
case ",$(findmnt -no OPTIONS -T "$tmp")," in *,nosuid,*) skip "$tmp is on a nosuid mount" ;; esac
cp /usr/bin/id "$tmp/suid-id" && chmod 4755 "$tmp/suid-id"
db=$tmp/p.db

run_tool record --db "$db" -- "${as_nobody[@]}" "$tmp/suid-id" -u
assert_rc "root records nobody running a set-user-ID root program: exit 0" 0
assert_eq "under a root tracer it becomes root (euid 0), as untraced" "$out" 0
check "and nothing is said about it" bash -c '! grep -q "without its privileges" "$1"' _ "$err"
run_tool record --db "$db" -- grep NoNewPrivs /proc/self/status
assert_eq "a root tracer leaves no_new_privs off" "$out" "NoNewPrivs:	0"

nb=$tmp/nb && mkdir "$nb" && chown nobody "$nb"
out=$(cd "$nb" && "${as_nobody[@]}" "$TOOL" record --db "$nb/nb.db" -- /bin/sh -c \
	"'$tmp/suid-id' -u; '$tmp/suid-id' -u" 2>"$tmp/nb.err"); rc=$?
assert_eq "nobody records the same: exit 0" "$rc" 0
assert_eq "traced by nobody it stays nobody (the kernel ignores the bit)" "$out" "$nobody
$nobody"
assert_eq "one warning, naming the program, for its two runs" \
	"$(grep -c "'$tmp/suid-id' runs without its privileges here" "$tmp/nb.err")" 1
assert_eq "the session is complete: every access was seen" \
	"$(sql "$nb/nb.db" 'SELECT complete FROM sessions')" 1
has_row "its exec is recorded" \
	"$(sql "$nb/nb.db" "SELECT p.path FROM session_paths s JOIN paths p ON p.id = s.path_id")" "$tmp/suid-id"

cp /usr/bin/true "$tmp/sgid-nox" && chgrp "$(id -g nobody)" "$tmp/sgid-nox" && chmod 2745 "$tmp/sgid-nox"
# preload, a child's exec (the library decides): the same 2745 file is no gap either
run_tool record --db "$db" --via preload -- /bin/sh -c "'$tmp/sgid-nox'; :"
assert_eq "--via preload of sh running a 2745 file: no gap" \
	"$(sql "$db" 'SELECT complete FROM sessions ORDER BY id DESC LIMIT 1')" 1

# preload: the command itself, exec'd by magicpak
run_tool record --db "$db" --via preload -- "$tmp/sgid-nox"
assert_rc "--via preload of a 2745 file (no group execute): exit 0" 0
assert_eq "it is no gap: the loader takes LD_PRELOAD there" \
	"$(sql "$db" 'SELECT complete FROM sessions ORDER BY id DESC LIMIT 1')" 1
cp /usr/bin/true "$tmp/sgid" && chgrp "$(id -g nobody)" "$tmp/sgid" && chmod 2755 "$tmp/sgid"
run_tool record --db "$db" --via preload -- "$tmp/sgid"
check "--via preload of a set-group-ID file of another group: a setuid gap" \
	grep -q "preload_gap: setuid exec $tmp/sgid" "$err"
if command -v setcap >/dev/null; then
	cp /usr/bin/true "$tmp/capped" && setcap cap_net_bind_service+ep "$tmp/capped"
	out=$(cd "$nb" && "${as_nobody[@]}" "$TOOL" record --db "$nb/nb.db" --via preload -- \
		"$tmp/capped" 2>&1)
	assert_contains "nobody, --via preload of a +ep file: a setuid gap (AT_SECURE)" "$out" \
		"preload_gap: setuid exec $tmp/capped"
	run_tool record --db "$db" --via preload -- "$tmp/capped"
	check "root, the same file: no gap (root gains no AT_SECURE from capabilities)" \
		bash -c '! grep -q preload_gap "$1"' _ "$err"
elif [ "${CI:-}" = true ]; then
	fail "no setcap (libcap2-bin): file capabilities untested"
fi
done_testing
