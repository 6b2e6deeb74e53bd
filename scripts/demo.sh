#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job on a real program, said out loud: resolve /usr/bin/sqlite3 the way ld.so
# would, bundle it into a fresh root, and run it chrooted in that root.
set -euo pipefail
tool=${1:-build/magicpak}
prog=${DEMO_PROGRAM:-/usr/bin/sqlite3}
work=$(mktemp -d /tmp/magicpak-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
out=$work/bundle

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "what ld.so would load for $prog (magicpak deps --tree, nothing is run)"
"$tool" deps --tree "$prog"

step "bundle it: magicpak $prog $out"
"$tool" -v "$prog" "$out"
files=$(find "$out" -type f | wc -l)
links=$(find "$out" -type l | wc -l)
size=$(du -sh "$out" | cut -f1)
echo "bundle: $files files, $links symlinks, $size"
find "$out" -mindepth 1 | sed "s|^$out||" | sort | sed 's/^/  /'

step "run it inside the bundle: chroot $out $prog :memory: 'select 40+2'"
if [ "$(id -u)" = 0 ]; then
	got=$(chroot "$out" "$prog" :memory: 'select 40+2')
	echo "$got"
	[ "$got" = 42 ] || { echo "demo: expected 42" >&2; exit 1; }
	echo "the bundle runs with nothing from the host."
else
	echo "(skipped: chroot needs root)"
fi
