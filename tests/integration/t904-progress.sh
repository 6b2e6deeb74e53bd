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
check "record on a terminal: the line is redrawn in place (CR, erase line)" grep -qa $'\r\033\[K' "$tmp/ts"

script -qc "$TOOL -q record --db $tmp/p.db -- sh -c '$loop'" "$tmp/tsq" >/dev/null
check "record -q on a terminal: no progress" sh -c '! grep -qa "recording:" "$1"' sh "$tmp/tsq"

"$TOOL" record --db "$tmp/p.db" -- sh -c "$loop" 2>"$tmp/err"
check "record with stderr not a terminal: no progress" sh -c '! grep -qa "recording:" "$1"' sh "$tmp/err"

# Enough bytes that writing takes longer than the 100 ms between redraws.
script -qc "$TOOL /usr/bin/sqlite3 --include /usr/lib/python3.11/email --include /usr/lib/python3.11/json --oci-archive $tmp/img.tar" "$tmp/ts2" >/dev/null
check "archive writing on a terminal: bytes shown" grep -qaE 'magicpak: writing the image: [0-9.]+ MiB' "$tmp/ts2"
check "archive written" test -s "$tmp/img.tar"
done_testing
