#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# magicpak bundle from recorded sessions (t204 does the one-shot form):
# BND-01: OUTPUT already holding out/etc -> sentinel/etc is refused, nothing written through it.
# BND-03: symlinks a run lstat'ed are recreated verbatim (absolute, climbing, self-loop, a 41-link
#   chain, dangling, a target with a newline); a loop or an over-long chain is kept as links with
#   a warning, never a failed bundle, and the host-side target is never written (E-CONTAIN).
# BND-05: a recorded FIFO and devices are skipped (a FIFO with a warning), never opened for reading.
# BND-06: magic links the run used (/proc/self/fd/0, /dev/stdin, /proc/self/exe) are not followed
#   or copied: no /proc or /dev in the bundle.
# BND-12: a recorded file deleted before bundling is left out (reported with -v), the rest bundled.
# BND-13: OUTPUT inside a recorded directory is not copied into itself; two bundlers racing on
#   one OUTPUT: one writes it, the other fails with one line, never a mixed tree.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
use_dbdir
db=$dbdir/l.db
s=$tmp/srcl; mkdir -p "$s"
ln -s /etc "$s/abs"
ln -s ../../../../../../../../.. "$s/climb"
ln -s self "$s/self"
for i in $(seq 1 41); do ln -s "c$((i + 1))" "$s/c$i"; done
echo end >"$s/c42"
ln -s "$tmp/nowhere" "$s/dangling"
ln -s "$(printf 'a\nb')" "$s/nl"
echo gone >"$tmp/gone.txt"
rec "$db" -- sh -c 'ls -l "$1"/* >/dev/null; cat "$1/c2" /proc/self/fd/0 </etc/hostname >/dev/null
	cat /dev/stdin </etc/hostname >/dev/null; readlink /proc/self/exe >/dev/null; cat "$2"' sh "$s" "$tmp/gone.txt"
rm "$tmp/gone.txt"
mkdir "$tmp/out1" && ln -s "$tmp/sentinel/etc" "$tmp/out1/etc"
contain_setup

# BND-01
bundle_rc "$db" "$tmp/out1"
assert_rc "BND-01: OUTPUT with a symlink in it: refused, exit 1" 1
assert_one_error_line "BND-01: one line naming OUTPUT" "$err" "$tmp/out1"
check "BND-01: nothing written through out1/etc" test ! -e "$tmp/sentinel/etc/hostname"
assert_eq "BND-01: out1 holds only its link" "$(listing "$tmp/out1")" "etc 777 l $tmp/sentinel/etc"

# BND-03, BND-06, BND-12
o=$tmp/out
TOOL_TIMEOUT=30 run_tool -v bundle --db "$db" "$o"
assert_rc "bundle: exit 0 (loops, dangling links and a gone file are not fatal)" 0
for l in abs climb self dangling nl $(seq -f 'c%g' 1 41); do
	[ -L "$o$s/$l" ] && [ "$(readlink "$o$s/$l")" = "$(readlink "$s/$l")" ] || { fail "BND-03: $l recreated verbatim"; continue; }
	pass "BND-03: $l recreated verbatim"; t_n=$((t_n + 1))
done
check "BND-03: the end of the 40-link chain the run read is bundled" test -f "$o$s/c42" -a ! -L "$o$s/c42"
check "BND-03: a warning names the self-loop" grep -qF "'$s/self': more than 40 symlinks" "$err"
check "BND-03: a warning names the dangling link" grep -qF "'$s/dangling': dangling symlink" "$err"
check "BND-03: abs -> /etc led to /etc/hostname inside the bundle" test -f "$o/etc/hostname"
check "BND-06: no /proc in the bundle" test ! -e "$o/proc"
check "BND-06: no /dev in the bundle" test ! -e "$o/dev"
for l in /proc/self/fd/0 /dev/stdin /proc/self/exe; do
	check "BND-06: -v lists $l as skipped" grep -qF "skipped '$l': a kernel interface, never bundled" "$err"
done
check "BND-12: the gone file is not in the bundle" test ! -e "$o$tmp/gone.txt"
check "BND-12: it is reported" grep -qF "'$tmp/gone.txt' no longer exists (session" "$err"
contain_check "BND-03" "$o"

# BND-05: a FIFO and devices the run used: bundling neither blocks nor copies them
mkfifo "$tmp/fifo"
rec "$db" -- sh -c 'echo x >"$1" & cat "$1" >/dev/null; head -c 10 /dev/zero >/dev/null; cat /dev/null' sh "$tmp/fifo"
TOOL_TIMEOUT=20 run_tool bundle --db "$db" "$tmp/outf"
assert_rc "BND-05: bundle with a recorded FIFO and devices: exit 0, no blocking" 0
check "BND-05: a warning names the FIFO" grep -qF "skipping '$tmp/fifo': FIFO" "$err"
assert_eq "BND-05: no FIFO, device or /dev in the bundle" "$(find "$tmp/outf" \( -type p -o -type c -o -type b -o -path "$tmp/outf/dev" \) -print)" ""

# BND-13: OUTPUT inside a recorded directory
rec "$db" -- find "$tmp" -maxdepth 2
run_tool bundle --db "$db" "$tmp/inside"
assert_rc "BND-13: OUTPUT inside the recorded tree: exit 0" 0
check "BND-13: the bundle does not contain itself" test ! -e "$tmp/inside$tmp/inside"
check "BND-13: it holds the rest of the tree" test -d "$tmp/inside$tmp/srcl"
# two bundlers on one OUTPUT
"$TOOL" bundle --db "$db" "$tmp/race" >/dev/null 2>"$tmp/r1" & p1=$!
"$TOOL" bundle --db "$db" "$tmp/race" >/dev/null 2>"$tmp/r2" & p2=$!
wait "$p1"; r1=$?; wait "$p2"; r2=$?
assert_eq "BND-13: racing bundlers: one succeeds, one fails" "$(printf '%s\n' "$r1" "$r2" | sort | tr '\n' ' ')" "0 1 "
loser=$tmp/r1; winner=$p2; [ "$r1" = 0 ] && { loser=$tmp/r2; winner=$p1; }
# (or, had the winner finished before the loser started, that OUTPUT is there now)
check "BND-13: the loser says in one line that the other bundler holds OUTPUT" \
	sh -c '[ "$(grep -c . "$1")" = 1 ] && grep -qxF -e "magicpak: '"'"'$2'"'"': output directory locked by pid $3 (another magicpak bundle is writing it)" -e "magicpak: '"'"'$2'"'"': output directory is not empty" "$1"' \
	sh "$loser" "$tmp/race" "$winner" || sed 's/^/    /' "$loser"
assert_eq "BND-13: the winner's tree equals a bundle made alone" "$(listing "$tmp/race")" "$(listing "$tmp/inside")"
assert_eq "BND-13: no race.magicpak-* left" "$(ls -d "$tmp"/race.magicpak-* 2>/dev/null)" ""
# a bundler that holds OUTPUT (its lock, "OUTPUT.magicpak-lock" next to a new OUTPUT, taken
# here by flock(1) as a bundler in the middle of a long copy would hold it) makes another stop
# at once, naming it
command -v flock >/dev/null || skip "no flock (util-linux)"
hold() { # hold FILE_OR_DIR: flock it in the background ($holder), until release
	flock -o "$1" sleep 60 & holder=$!
	check "BND-13: the stand-in bundler holds its lock on $(basename "$1")" \
		wait_for 10 sh -c '! flock -n "$1" true' sh "$1"
}
release() { pkill -P "$holder" sleep; wait "$holder" 2>/dev/null; }
: >"$tmp/race2.magicpak-lock"
hold "$tmp/race2.magicpak-lock"
echo "$holder" >"$tmp/race2.magicpak-lock"
start=$(date +%s%N)
run_tool bundle --db "$db" "$tmp/race2"
took=$((($(date +%s%N) - start) / 1000000))
assert_rc "BND-13: a second bundler on a new OUTPUT while the first runs: exit 1" 1
assert_one_error_line "BND-13: it names the first one's pid" "$err" \
	"'$tmp/race2': output directory locked by pid $holder (another magicpak bundle is writing it)"
check "BND-13: it stops at once (${took} ms)" test "$took" -lt 2000
check "BND-13: it wrote nothing" test ! -e "$tmp/race2"
assert_eq "BND-13: and left the first one's lock alone" "$(ls -d "$tmp"/race2.magicpak-* 2>/dev/null)" \
	"$tmp/race2.magicpak-lock"
release
run_tool bundle --db "$db" "$tmp/race2"
assert_rc "BND-13: once that bundler is gone (killed: its lock file left, unlocked), the next one runs: exit 0" 0
assert_eq "BND-13: and removes the lock file at its end" "$(ls -d "$tmp"/race2.magicpak-* 2>/dev/null)" ""
# an existing empty OUTPUT is itself the lock: its pid is read from its staging directory in it
mkdir -p "$tmp/race4"
hold "$tmp/race4"
mkdir "$tmp/race4/.magicpak-$holder.AbCdEf"
run_tool bundle --db "$db" "$tmp/race4"
assert_rc "BND-13: existing OUTPUT another bundler is filling: exit 1" 1
assert_one_error_line "BND-13: it names that bundler's pid, not 'not empty'" "$err" \
	"'$tmp/race4': output directory locked by pid $holder"
check "BND-13: and leaves its staging directory alone" test -d "$tmp/race4/.magicpak-$holder.AbCdEf"
release
# a lock file beside an OUTPUT that exists: a bundler killed between its commit and its end
# left it (removed by the next bundler into that OUTPUT), or is there still (left alone)
mkdir -p "$tmp/race5"
echo 4194304 >"$tmp/race5.magicpak-lock"
run_tool bundle --db "$db" "$tmp/race5"
assert_rc "BND-13: into an existing OUTPUT with a stale lock file beside it: exit 0" 0
check "BND-13: the stale lock file is removed" test ! -e "$tmp/race5.magicpak-lock"
mkdir -p "$tmp/race6"
: >"$tmp/race6.magicpak-lock"
hold "$tmp/race6.magicpak-lock"
run_tool bundle --db "$db" "$tmp/race6"
assert_rc "BND-13: into an existing OUTPUT whose lock file a bundler still holds: exit 0" 0
check "BND-13: that lock file is left to its holder" test -e "$tmp/race6.magicpak-lock"
release
done_testing
