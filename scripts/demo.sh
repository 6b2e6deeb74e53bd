#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job on a real program, said out loud: resolve /usr/bin/sqlite3 the way ld.so
# would, record a run of it into the default history database, bundle what it used, and
# prove the bundle in the jail.
set -euo pipefail
tool=${1:-build/magicpak}
prog=${DEMO_PROGRAM:-/usr/bin/sqlite3}
db=${MAGICPAK_DB:-magicpak.db}
work=$(mktemp -d /tmp/magicpak-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
out=$work/bundle

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "what ld.so would load for $prog (magicpak deps --tree; nothing is run)"
"$tool" deps --tree "$prog"

step "record a run into $db: magicpak record --label demo -- $prog :memory: 'select 40+2'"
# -v -v: also which CPU the tracer shares with the command, and how many stat/access/readlink
# calls it answered itself at their first stop
"$tool" -v -v record --db "$db" --label demo -- "$prog" :memory: 'select 40+2'
echo "the session, as sqlite3 shows it:"
sqlite3 -header -column "$db" "SELECT id, label, exit_status, complete, events, files, processes
	FROM sessions ORDER BY id DESC LIMIT 1"
echo "files it read:"
sqlite3 "$db" "SELECT DISTINCT path FROM file_accesses WHERE session_id =
	(SELECT max(id) FROM sessions) AND op = 'open' AND errno = 0" | sed 's/^/  /'

step "bundle it from a recorded run and test it in the jail before writing it"
"$tool" -v "$prog" "$out" --dynamic --dynamic-arg :memory: --dynamic-arg 'select 40+2' \
	--db "$db" --test --test-command "sqlite3 :memory: 'select 40+2'" --test-stdout 42
files=$(find "$out" -type f | wc -l)
links=$(find "$out" -type l | wc -l)
echo "bundle: $files files, $links symlinks, $(du -sh "$out" | cut -f1)"
find "$out" -mindepth 1 | sed "s|^$out||" | sort | sed 's/^/  /'

step "run it in the jail: magicpak test $out -- sqlite3 :memory: 'select 40+2'"
"$tool" test "$out" --expect-stdout 42 -- sqlite3 :memory: 'select 40+2'

step "as the image's non-root USER would run it: magicpak test --user 1000"
"$tool" test "$out" --user 1000 --expect-stdout 42 -- sqlite3 :memory: 'select 40+2'

step "where namespaces are refused (a docker build RUN step), a plain chroot of a copy: --isolation chroot"
"$tool" test "$out" --isolation chroot --expect-stdout 42 -- sqlite3 :memory: 'select 40+2'

step "the history: magicpak sessions, and magicpak report for the library"
"$tool" sessions --db "$db"
"$tool" report --db "$db" --path '**/libsqlite3.so*'

step "the same run through the other sources: --via preload (no ptrace), and ptrace, preload and the eBPF probe at once"
"$tool" record --db "$db" --label demo-preload --via preload -- "$prog" :memory: 'select 40+2'
"$tool" record --db "$db" --label demo-all --cross-check -- "$prog" :memory: 'select 40+2' ||
	echo "(exit $?: a source could not run here)"
echo "which source saw what (magicpak report --sources --session demo-all):"
"$tool" report --db "$db" --sources --session demo-all | head -n 12
echo "the probe alone, twice in a row: the second run takes over the probe the first left loaded;"
echo "a third, after that one's linger: it attaches the probe a magicpak-keep process kept loaded"
for i in 1 2 3; do
	[ "$i" = 3 ] && sleep 0.5
	"$tool" -v record --db "$db" --label "demo-bpf-$i" --via bpf -- "$prog" :memory: 'select 40+2' 2>&1 |
		grep -E 'reusing|attaching|session [0-9]+ ' || echo "(the eBPF probe cannot run here)"
done
echo "the probe loaded ahead with magicpak probe (then the first run after a long pause attaches it), and let go after"
"$tool" probe --stop
if "$tool" probe --keep 60; then
	sleep 0.5
	"$tool" -v record --db "$db" --label demo-bpf-4 --via bpf -- "$prog" :memory: 'select 40+2' 2>&1 |
		grep -E 'attaching|session [0-9]+ '
	"$tool" probe --stop
fi

step "preload reports what glibc reads for a lookup (nsswitch.conf, /etc/passwd): a bundle of getent from a --via preload run works"
"$tool" record --db "$db" --label demo-getent --via preload -- getent passwd root >/dev/null
"$tool" report --db "$db" --session demo-getent 2>/dev/null | grep -E '/etc/(nsswitch.conf|passwd)' | head -n 4
"$tool" bundle --db "$db" --session demo-getent "$work/getent" >/dev/null &&
	"$tool" test "$work/getent" --expect-stdout "$(getent passwd root)" -- "$(command -v getent)" passwd root

step "and the locale data and time zone file glibc loads: a bundle of date from a --via preload run prints what date prints"
export_env="TZ=Asia/Tokyo LC_ALL=C.UTF-8"
env $export_env "$tool" record --db "$db" --label demo-date --via preload -- date -d @0 '+%c %Z' >/dev/null
"$tool" report --db "$db" --session demo-date 2>/dev/null | grep -E 'zoneinfo|/usr/lib/locale/.*/LC_(CTYPE|TIME)' | head -n 3
"$tool" bundle --db "$db" --session demo-date "$work/date" >/dev/null &&
	"$tool" test "$work/date" --env TZ=Asia/Tokyo --env LC_ALL=C.UTF-8 \
		--expect-stdout "$(env $export_env date -d @0 '+%c %Z')" -- date -d @0 '+%c %Z'

if [ -x /lib/ld-linux.so.2 ] && command -v as >/dev/null && libc32=$(ldconfig -p |
	sed -n 's/^[[:space:]]*libc\.so\.6 (libc6) => //p' | head -n 1) && [ -n "$libc32" ]; then
	step "an i386 program on this x86-64 host: resolved as its own ld.so would, bundled, run in the jail"
	printf '.section .rodata\nm: .string "hello from i386"\n.text\n.globl _start\n_start: push $m\n call puts\n push $0\n call exit\n' >"$work/h32.s"
	as --32 "$work/h32.s" -o "$work/h32.o" &&
		ld -m elf_i386 -dynamic-linker /lib/ld-linux.so.2 -o "$work/hello32" "$work/h32.o" "$libc32"
	"$tool" deps --tree "$work/hello32"
	if "$work/hello32" >/dev/null 2>&1; then
		"$tool" "$work/hello32" "$work/b32" && "$tool" test "$work/b32" --expect-stdout "hello from i386" -- "$work/hello32"
	else
		echo "(this kernel runs no i386 program: no ia32 emulation; resolved, not run)"
	fi
fi

step "an OCI image from the recorded session, without a container daemon"
"$tool" bundle --db "$db" --session demo --oci-archive "$work/sqlite.tar" --tag sqlite:demo \
	--entrypoint "$prog"
echo "image archive: $(du -h "$work/sqlite.tar" | cut -f1), sha256 $(sha256sum "$work/sqlite.tar" | cut -c1-16)..."

if ! readelf -lW "$tool" 2>/dev/null | grep -q 'program interpreter'; then
	step "magicpak is one static executable: it bundles itself, and records in that root, which has no glibc"
	"$tool" "$tool" "$work/self" --install-to /bin/magicpak
	echo "its bundle: $(cd "$work/self" && find . -mindepth 1 | sed 's|^\.||' | sort | tr '\n' ' ')($(du -sh "$work/self" | cut -f1))"
	mkdir -p "$work/self/proc" "$work/self/tmp"
	unshare -m --propagation private sh -c 'mount -t proc proc "$1/proc" && chroot "$1" /bin/magicpak record --db /tmp/h.db -- /bin/magicpak --version' sh "$work/self"
	echo "what that run opened there (sqlite3 on the bundle's /tmp/h.db):"
	sqlite3 "$work/self/tmp/h.db" "SELECT DISTINCT op, path FROM file_accesses WHERE errno = 0" | sed 's/^/  /'
fi

step "and with a library left out, the jail says what is missing"
rm -rf "$work/broken"
"$tool" "$prog" "$work/broken" -e '**/libsqlite3.so*' --test \
	--test-command "sqlite3 :memory: 'select 40+2'" || echo "(exit $?, as expected: nothing was written)"
echo
echo "done: $db holds $(sqlite3 "$db" 'SELECT count(*) FROM sessions') session(s)."
