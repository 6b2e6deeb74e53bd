#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Programs whose exec raises privileges, under each source (RELIABILITY TRC-12 d, PRE-10):
# - ptrace as root does not set no_new_privs, so a set-user-ID root program run by nobody in
#   the tree still becomes root, and nothing is said;
# - ptrace as nobody (no CAP_SYS_PTRACE), or as root without CAP_SYS_ADMIN (no_new_privs for
#   the seccomp filter): the kernel runs such a program (set-user-ID, execute-only 4711, file
#   capabilities; not a set-user-ID script) without its privileges; the run is recorded
#   whole, and one warning a program says why;
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

# root without CAP_SYS_ADMIN (docker --cap-add SYS_PTRACE): the seccomp filter needs
# no_new_privs there, and that drops the bit too: said
out=$(setpriv --bounding-set -sys_admin "$TOOL" record --db "$db" -- "${as_nobody[@]}" "$tmp/suid-id" -u 2>"$tmp/nosa.err")
assert_eq "root without CAP_SYS_ADMIN: the program runs unprivileged" "$out" "$nobody"
assert_contains "and a warning says why" "$(cat "$tmp/nosa.err")" \
	"'$tmp/suid-id' runs without its privileges here: under the no_new_privs that the tracer's seccomp filter needs without CAP_SYS_ADMIN"

nb=$tmp/nb && mkdir "$nb" && chown nobody "$nb"
cp /usr/bin/id "$tmp/xonly-id" && chmod 4711 "$tmp/xonly-id"
printf '#!/bin/sh\necho script\n' >"$tmp/suid-script" && chmod 4755 "$tmp/suid-script"
setcap_ok=false
if command -v setcap >/dev/null; then
	cp /usr/bin/id "$tmp/cap-id" && setcap cap_net_bind_service+ep "$tmp/cap-id" && setcap_ok=true
elif [ "${CI:-}" = true ]; then
	fail "no setcap (libcap2-bin): file capabilities untested"
fi
cmd="'$tmp/suid-id' -u; '$tmp/suid-id' -u; '$tmp/suid-script'"
$setcap_ok && cmd="$cmd; '$tmp/cap-id' -u"
out=$(cd "$nb" && "${as_nobody[@]}" "$TOOL" record --db "$nb/nb.db" -- /bin/sh -c "$cmd" 2>"$tmp/nb.err"); rc=$?
assert_eq "nobody records them: exit 0" "$rc" 0
assert_eq "traced by nobody it stays nobody" "$(head -2 <<<"$out")" "$nobody
$nobody"
assert_eq "one warning for suid-id's two runs" \
	"$(grep -c "'$tmp/suid-id' runs without its privileges here: traced by a user without CAP_SYS_PTRACE" "$tmp/nb.err")" 1
if $setcap_ok; then
	assert_eq "one for the +ep one" "$(grep -c "'$tmp/cap-id' runs without its privileges" "$tmp/nb.err")" 1
fi
assert_eq "none for the set-user-ID script (the kernel ignores a script's bits) or sh: $($setcap_ok && echo 2 || echo 1) in all" \
	"$(grep -c "without its privileges" "$tmp/nb.err")" "$($setcap_ok && echo 2 || echo 1)"
assert_eq "the session is complete: every access was seen" \
	"$(sql "$nb/nb.db" 'SELECT complete FROM sessions')" 1
has_row "its exec is recorded" \
	"$(sql "$nb/nb.db" "SELECT p.path FROM session_paths s JOIN paths p ON p.id = s.path_id")" "$tmp/suid-id"
# an execute-only (4711) one: warned too; nobody may not read its memory (undumpable), so
# its paths are unreadable and the session says so
out=$(cd "$nb" && "${as_nobody[@]}" "$TOOL" record --db "$nb/nb.db" -- /bin/sh -c "'$tmp/xonly-id' -u" 2>"$tmp/nb.err")
assert_eq "nobody records a 4711 program: it stays nobody" "$out" "$nobody"
assert_eq "one warning for it" "$(grep -c "'$tmp/xonly-id' runs without its privileges" "$tmp/nb.err")" 1
assert_contains "and the session is incomplete: its paths could not be read" \
	"$(sql "$nb/nb.db" 'SELECT incomplete_reason FROM sessions ORDER BY id DESC LIMIT 1')" unreadable_paths

# preload, a child's exec (the library decides): a set-user-ID script is no gap, an
# execute-only set-user-ID program is one
out=$(cd "$nb" && "${as_nobody[@]}" "$TOOL" record --db "$nb/nb.db" --via preload -- /bin/sh -c \
	"'$tmp/suid-script'; :" 2>&1); rc=$?
assert_eq "nobody, --via preload of sh running a set-user-ID script: exit 0" "$rc" 0
assert_eq "no gap: its interpreter is not privileged" \
	"$(sql "$nb/nb.db" 'SELECT complete FROM sessions ORDER BY id DESC LIMIT 1')" 1
out=$(cd "$nb" && "${as_nobody[@]}" "$TOOL" record --db "$nb/nb.db" --via preload -- /bin/sh -c \
	"'$tmp/xonly-id' -u; :" 2>&1)
assert_contains "nobody, --via preload of sh running a 4711 program: a setuid gap" "$out" \
	"preload_gap: setuid exec $tmp/xonly-id"
out=$(cd "$nb" && "${as_nobody[@]}" "$TOOL" record --db "$nb/nb.db" --via preload -- "$tmp/xonly-id" -u 2>&1)
assert_contains "nobody, --via preload of the 4711 program itself: a setuid gap" "$out" \
	"preload_gap: setuid exec $tmp/xonly-id"

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
if $setcap_ok; then
	cp /usr/bin/true "$tmp/capped" && setcap cap_net_bind_service+ep "$tmp/capped"
	out=$(cd "$nb" && "${as_nobody[@]}" "$TOOL" record --db "$nb/nb.db" --via preload -- \
		"$tmp/capped" 2>&1)
	assert_contains "nobody, --via preload of a +ep file: a setuid gap (AT_SECURE)" "$out" \
		"preload_gap: setuid exec $tmp/capped"
	cp /usr/bin/true "$tmp/capped-i" && setcap cap_net_bind_service+i "$tmp/capped-i"
	out=$(cd "$nb" && "${as_nobody[@]}" "$TOOL" record --db "$nb/nb.db" --via preload -- /bin/sh -c \
		"'$tmp/capped-i'; :" 2>&1); rc=$?
	assert_eq "nobody, --via preload of sh running a +i file (raises nothing): no gap" \
		"$rc $(sql "$nb/nb.db" 'SELECT complete FROM sessions ORDER BY id DESC LIMIT 1')" "0 1"
	run_tool record --db "$db" --via preload -- "$tmp/capped"
	assert_rc "root, --via preload of the +ep file: exit 0" 0
	assert_eq "no gap: root gains no AT_SECURE from capabilities" \
		"$(sql "$db" 'SELECT complete FROM sessions ORDER BY id DESC LIMIT 1')" 1
fi
done_testing
