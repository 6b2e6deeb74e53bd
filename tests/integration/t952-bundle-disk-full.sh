#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# BND-12 (and SQL-03 for the bundler): bundle on a full disk: `magicpak bundle OUTPUT`, `bundle --oci-archive FILE` and the one-shot
# form, into a small tmpfs that fills at several points (before the first file, inside libc,
# inside python3, on inodes rather than blocks). Each time: exit 1, one error line naming the
# reason, nothing half-written (no OUTPUT, no archive, no temporary tree; the file system holds
# what it held before), and the bytes in use are back to what they were. Then (BND-12) the bundler
# killed with SIGKILL at random points, 12 times: OUTPUT is either absent or complete, never
# half-written under its final name.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_ptrace
require_root
mkdir "$tmp/small"
mount -t tmpfs -o size=64k tmpfs "$tmp/small" 2>/dev/null || skip "cannot mount a tmpfs here"
umount "$tmp/small"
trap 'umount "$tmp/small" 2>/dev/null; rm -rf "$tmp"' EXIT
db=$tmp/r.db
record_rc "$db" /usr/bin/python3 -c 'import json, sqlite3'
assert_rc "record python3" 0
need=$(du -sk --apparent-size "$(readlink -f /usr/bin/python3)" | cut -f1)

state() { (cd "$tmp/small" && find . -printf '%p %s\n' | LC_ALL=C sort; df -k --output=used . | tail -1); }
for fs in size=64k size=1m size=3m size=$((need / 2))k nr_inodes=12; do
	mount -t tmpfs -o "$fs" tmpfs "$tmp/small" || { fail "mount tmpfs $fs"; continue; }
	echo keep >"$tmp/small/sentinel"
	before=$(state)
	for form in dir oci oneshot; do
		case $form in
		dir) run_tool bundle --db "$db" "$tmp/small/out" ;;
		oci) run_tool bundle --db "$db" --oci-archive "$tmp/small/img.tar" ;;
		oneshot) run_tool /usr/bin/python3 "$tmp/small/one" ;;
		esac
		assert_rc "$fs, $form: exit 1" 1
		assert_one_error_line "$fs, $form: one error line" "$err" "magicpak: "
		check "$fs, $form: it says the disk is full" grep -qiE 'no space|disk full|quota|ENOSPC' "$err"
		assert_eq "$fs, $form: nothing half-written (the file system as before)" "$(state)" "$before"
	done
	umount "$tmp/small"
done
# and the same bundle does fit on a large enough tmpfs: the failures above were the disk
mount -t tmpfs -o size=256m tmpfs "$tmp/small"
run_tool bundle --db "$db" "$tmp/small/out"
assert_rc "256 MiB: the bundle fits, exit 0" 0
check "256 MiB: python3 is in it" test -e "$tmp/small/out/usr/bin/python3"
umount "$tmp/small"

# kill -9 of the bundler half-way: a 300 MiB file makes the copy last long enough
dd if=/dev/zero of="$tmp/big" bs=1M count=300 status=none
record_rc "$tmp/big.db" /usr/bin/md5sum "$tmp/big"
assert_rc "record md5sum of a 300 MiB file" 0
absent=0 complete=0 points=
for round in $(seq 12); do
	rm -rf "$tmp/o"
	"$TOOL" bundle --db "$tmp/big.db" "$tmp/o" >/dev/null 2>&1 &
	bp=$!
	wait_exec "$bp"
	d=$(awk -v r="$RANDOM" 'BEGIN{printf "%.3f", (r % 120) / 1000}')
	points="$points $d"
	sleep "$d"
	kill -9 "$bp" 2>/dev/null; wait "$bp" 2>/dev/null
	if [ ! -e "$tmp/o" ]; then
		absent=$((absent + 1)); pass "kill after ${d}s: no OUTPUT"
	else
		complete=$((complete + 1))
		check "kill after ${d}s: OUTPUT exists, so it is complete" cmp -s "$tmp/o$tmp/big" "$tmp/big"
	fi
done
echo "bundler kill points (s):$points; OUTPUT absent $absent times, complete $complete times"
echo "staging directories left by the kills: $(ls -d "$tmp"/o.magicpak-* 2>/dev/null | wc -l)"
# BND-12: the next run removes what the killed bundlers left (their pids are dead).
rm -rf "$tmp/o"
"$TOOL" bundle --db "$tmp/big.db" "$tmp/o" >/dev/null 2>"$tmp/next.err"
rc=$? err=$tmp/next.err
assert_rc "the next bundle into the same OUTPUT" 0
assert_eq "the next run removed every staging directory the kills left" \
	"$(ls -d "$tmp"/o.magicpak-* 2>/dev/null)" ""
done_testing
