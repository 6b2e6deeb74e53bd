#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Progress on a terminal (issue 10): `record` shows a live count of processes and files,
# archive writing shows bytes; nothing when stderr is not a terminal or with -q.
. "$(dirname "$0")/../lib.sh"
command -v script >/dev/null || skip "script(1) is not installed"
loop="for i in \$(seq 40); do cat /etc/hostname >/dev/null; sleep 0.01; done"

script -qc "$TOOL record --db $tmp/p.db -- sh -c '$loop'" "$tmp/ts" >/dev/null
check "record on a terminal: a live line with processes and files" \
	grep -qaE 'magicpak: recording: [0-9]+ processes, [0-9]+ files' "$tmp/ts"
check "record on a terminal of unknown size (script's pty): the line is redrawn in place" grep -qa $'\r\033\[K' "$tmp/ts"

# On a real terminal (tmux, 60x10) the command's output and the status line must both stay
# readable: the status keeps the bottom row, the output scrolls above it, and a partial line
# the command is still writing is not erased.
if command -v tmux >/dev/null; then
	cat >"$tmp/prog.sh" <<PROG
for i in \$(seq 1 25); do echo "line \$i"; cat /etc/hostname >/dev/null; done
printf 'partial: '
while [ ! -e "$tmp/go" ]; do cat /etc/hostname >/dev/null; sleep 0.05; done
echo done
PROG
	export TMUX_TMPDIR=$tmp
	tmux -f /dev/null new-session -d -s mp -x 60 -y 10 "env PS1='$ ' bash --norc --noprofile"
	trap 'tmux kill-server 2>/dev/null; rm -rf "$tmp"' EXIT
	tmux send-keys -t mp "clear; $TOOL record --db $tmp/t.db -- sh $tmp/prog.sh; echo EXIT=\$?" Enter
	pane() { tmux capture-pane -p -t mp; }
	prompt_last() { grep -v '^$' "$1" | tail -n 1 | grep -q '^\$ *$'; }
	for _ in $(seq 100); do
		pane >"$tmp/during"
		tail -n 1 "$tmp/during" | grep -q 'magicpak: recording: .* files' && grep -q '^partial:' "$tmp/during" && break
		sleep 0.1
	done
	check "tmux: while recording, the status is on the bottom row" \
		sh -c 'tail -n 1 "$1" | grep -qE "^magicpak: recording: [0-9]+ processes, [0-9]+ files"' sh "$tmp/during"
	check "tmux: the command's partial line stands just above it, not erased" \
		sh -c 'tail -n 2 "$1" | head -n 1 | grep -qx "partial: *"' sh "$tmp/during"
	check "tmux: the command's last full lines are intact" grep -qx 'line 25' "$tmp/during"
	touch "$tmp/go"
	for _ in $(seq 100); do pane >"$tmp/after"; grep -q '^EXIT=' "$tmp/after" && break; sleep 0.1; done
	check "tmux: the partial line is completed by the command" grep -qx 'partial: done' "$tmp/after"
	check "tmux: record exited 0" grep -qx 'EXIT=0' "$tmp/after"
	check "tmux: the status line is gone when record ends" sh -c '! grep -q "magicpak: recording" "$1"' sh "$tmp/after"
	# The whole screen scrolls again afterwards: 12 more lines push everything up to the last row.
	tmux send-keys -t mp "clear; seq 1 12" Enter
	# till the prompt follows the 12 (a pane caught between the two has 11 above the 12)
	for _ in $(seq 100); do pane >"$tmp/seq"; grep -qx 12 "$tmp/seq" && prompt_last "$tmp/seq" && break; sleep 0.1; done
	assert_eq "tmux: after record, output scrolls over the whole screen again" \
		"$(grep -v '^$' "$tmp/seq" | tail -n 2 | head -n 1)" 12
	check "tmux: the bottom row is used again (the prompt is on it)" sh -c 'tail -n 1 "$1" | grep -q "^\\$"' sh "$tmp/seq"
	# Ctrl-Z: the shell gets the whole screen back while record is stopped (it kept the
	# region, and the shell's output then left the bottom row blank).
	rm -f "$tmp/go"
	tmux send-keys -t mp "clear; $TOOL record --db $tmp/t.db -- sh $tmp/prog.sh" Enter
	for _ in $(seq 100); do pane >"$tmp/z"; tail -n 1 "$tmp/z" | grep -q 'magicpak: recording' && break; sleep 0.1; done
	tmux send-keys -t mp C-z
	for _ in $(seq 100); do pane >"$tmp/z"; grep -q 'Stopped' "$tmp/z" && break; sleep 0.1; done
	tmux send-keys -t mp "clear; seq 1 12" Enter
	for _ in $(seq 100); do pane >"$tmp/z"; grep -qx 12 "$tmp/z" && prompt_last "$tmp/z" && break; sleep 0.1; done
	assert_eq "tmux: Ctrl-Z during record: the shell's output scrolls over the whole screen" \
		"$(grep -v '^$' "$tmp/z" | tail -n 2 | head -n 1)" 12
	tmux send-keys -t mp "fg" Enter
	for _ in $(seq 100); do pane >"$tmp/fg"; tail -n 1 "$tmp/fg" | grep -q 'magicpak: recording' && break; sleep 0.1; done
	check "tmux: after fg the status takes the bottom row again" sh -c 'tail -n 1 "$1" | grep -q "^magicpak: recording"' sh "$tmp/fg"
	touch "$tmp/go"
	for _ in $(seq 100); do pane >"$tmp/fg2"; grep -qE '(^|: )done$' "$tmp/fg2" && ! grep -q 'magicpak: recording' "$tmp/fg2" && break; sleep 0.1; done
	check "tmux: and the run ends normally, its status line gone" sh -c 'grep -qE "(^|: )done$" "$1" && ! grep -q "magicpak: recording" "$1"' sh "$tmp/fg2"
	tmux kill-server 2>/dev/null
elif [ "${CI:-}" = true ]; then
	fail "tmux is not installed (scripts/install-deps.sh installs it)"
fi

script -qc "$TOOL -q record --db $tmp/p.db -- sh -c '$loop'" "$tmp/tsq" >/dev/null
check "record -q on a terminal: no progress" sh -c '! grep -qa "recording:" "$1"' sh "$tmp/tsq"

"$TOOL" record --db "$tmp/p.db" -- sh -c "$loop" 2>"$tmp/err"
check "record with stderr not a terminal: no progress" sh -c '! grep -qa "recording:" "$1"' sh "$tmp/err"

# Enough bytes that writing takes longer than the 100 ms between redraws.
script -qc "$TOOL /usr/bin/sqlite3 --include /usr/lib/python3.11/email --include /usr/lib/python3.11/json --oci-archive $tmp/img.tar" "$tmp/ts2" >/dev/null
check "archive writing on a terminal: bytes shown" grep -qaE 'magicpak: writing the image: [0-9.]+ MiB' "$tmp/ts2"
check "archive written" test -s "$tmp/img.tar"

# A warning while the status line is drawn starts a line of its own (it was glued to the status).
mkdir "$tmp/many" && (cd "$tmp/many" && touch $(seq -f 'f%04g' 8000)) && mkfifo "$tmp/many/zzfifo"
script -qc "$TOOL /bin/true -i $tmp/many $tmp/many.b" "$tmp/ts3" >/dev/null
check "bundling on a terminal: the status was drawn" grep -qaE 'magicpak: bundling: [0-9]+ files' "$tmp/ts3"
check "bundling on a terminal: the warning erased it first" grep -qa $'\r\033\[Kmagicpak: warning: skipping .*zzfifo' "$tmp/ts3"
done_testing
