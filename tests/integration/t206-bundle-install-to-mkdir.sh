#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --install-to puts the first INPUT elsewhere in the bundle (a trailing '/' means "into that directory
# under its own name"), and the bundle still runs from there; --mkdir makes empty directories.
. "$(dirname "$0")/../lib.sh"
require_chroot
CHROOT=$(command -v chroot)
crun() { env -i PATH=/usr/bin:/bin HOME=/ LC_ALL=C timeout 10 "$CHROOT" "$@"; }

run_tool -r /app/ /usr/bin/sqlite3 "$tmp/a"
assert_rc "-r /app/: exit 0" 0
check "-r /app/: the input at /app/sqlite3" test -f "$tmp/a/app/sqlite3" -a ! -L "$tmp/a/app/sqlite3"
check "-r /app/: the input is executable" test -x "$tmp/a/app/sqlite3"
cmp -s /usr/bin/sqlite3 "$tmp/a/app/sqlite3"; check "-r /app/: same contents as /usr/bin/sqlite3" test $? = 0
check "-r /app/: not also at its host path" test ! -e "$tmp/a/usr/bin/sqlite3"
assert_eq "chroot a /app/sqlite3 :memory: 'select 1' prints 1" "$(crun "$tmp/a" /app/sqlite3 :memory: 'select 1' 2>&1)" 1

run_tool --install-to /app/run /usr/bin/sqlite3 "$tmp/b"
assert_rc "--install-to /app/run: exit 0" 0
check "--install-to /app/run: the input at /app/run" test -f "$tmp/b/app/run"
assert_eq "--install-to /app/run: /app holds only run" "$(ls "$tmp/b/app" 2>&1)" run
assert_eq "chroot b /app/run :memory: 'select 1' prints 1" "$(crun "$tmp/b" /app/run :memory: 'select 1' 2>&1)" 1

# Only the first INPUT moves; the others stay at their host paths.
run_tool -r /app/ /usr/bin/sqlite3 /bin/bash "$tmp/c"
assert_rc "-r with two inputs: exit 0" 0
check "-r with two inputs: the first at /app/sqlite3" test -f "$tmp/c/app/sqlite3"
check "-r with two inputs: the second at its host path" test -f "$tmp/c/bin/bash"
assert_eq "-r with two inputs: /app holds only sqlite3" "$(ls "$tmp/c/app" 2>&1)" sqlite3
assert_eq "chroot c /bin/bash -c 'echo hi'" "$(crun "$tmp/c" /bin/bash -c 'echo hi' 2>&1)" hi

# A symlink INPUT installed elsewhere: the program found through it runs (awk -> alternatives -> mawk).
run_tool -r /app/awk /usr/bin/awk "$tmp/d"
assert_rc "-r /app/awk /usr/bin/awk: exit 0" 0
assert_eq "chroot d /app/awk 'BEGIN{print 1+1}'" "$(crun "$tmp/d" /app/awk 'BEGIN{print 1+1}' 2>&1)" 2

# --install-to under a directory the host has as a symlink (/bin -> usr/bin on a merged-/usr host):
# the bundle keeps the link, and the installed file goes through it, whatever else needs /bin.
if [ -L /bin ] && [ -d /bin ]; then
	printf '#!/bin/sh\necho hi from the script\n' >"$tmp/s.sh" && chmod +x "$tmp/s.sh"
	run_tool "$tmp/s.sh" "$tmp/l1" -r /bin/
	check "-r /bin/ with a #!/bin/sh script: exit 0 (now $rc), /bin the host's link, the script through it" \
		sh -c '[ "$1" = 0 ] && [ "$(readlink "$2/bin")" = "$(readlink /bin)" ] && [ -f "$2/bin/s.sh" ]' sh "$rc" "$tmp/l1"
	assert_eq "chroot l1 /bin/s.sh" "$(crun "$tmp/l1" /bin/s.sh 2>&1)" "hi from the script"
	run_tool /usr/bin/cat "$tmp/l2" -r /bin/ -i /bin/sh
	check "-r /bin/ -i /bin/sh: exit 0 (now $rc), /bin the host's link" \
		sh -c '[ "$1" = 0 ] && [ "$(readlink "$2/bin")" = "$(readlink /bin)" ]' sh "$rc" "$tmp/l2"
	assert_eq "chroot l2: /bin/cat and /bin/sh run" \
		"$(echo catted | crun "$tmp/l2" /bin/cat 2>&1; crun "$tmp/l2" /bin/sh -c 'echo sh ran' 2>&1)" "$(printf 'catted\nsh ran')"
fi

# --mkdir: empty directories, nested ones made with their parents; repeatable.
run_tool --mkdir /tmp --mkdir /var/lib/app/data --mkdir /run/ /bin/true "$tmp/m"
assert_rc "--mkdir: exit 0" 0
for d in tmp var/lib/app/data run; do
	check "--mkdir /$d: a real directory" test -d "$tmp/m/$d" -a ! -L "$tmp/m/$d"
done
assert_eq "--mkdir /tmp: empty" "$(ls -A "$tmp/m/tmp" 2>&1)" ""
assert_eq "--mkdir /var/lib/app/data: empty" "$(ls -A "$tmp/m/var/lib/app/data" 2>&1)" ""
# --mkdir of a path that the bundle already has as a directory (through the /lib -> usr/lib link) is fine.
run_tool --mkdir /usr/lib /bin/true "$tmp/m2"
assert_rc "--mkdir of a directory the bundle has anyway: exit 0" 0
assert_eq "chroot m2 /bin/true after --mkdir /usr/lib" "$(crun "$tmp/m2" /bin/true 2>&1; echo "rc=$?")" "rc=0"
run_tool --install-to '' /bin/true "$tmp/empty-r"
assert_rc "--install-to '': usage error" 2
assert_one_error_line "--install-to '': one line saying the path is empty" "$err" "--install-to: an empty path"
assert_no_output "--install-to ''" "$tmp/empty-r"
run_tool --mkdir /usr/bin/true /bin/true "$tmp/mkfile"
assert_rc "--mkdir over a file the bundle has: exit 1" 1
assert_one_error_line "--mkdir over a file: one line saying a file is there" "$err" "cannot make directory '/usr/bin/true' in the bundle: a file is there"
assert_no_output "--mkdir over a file" "$tmp/mkfile"
run_tool --mkdir /tmp --mkdir /var/tmp --mkdir /data /bin/true "$tmp/mktmp"
assert_rc "--mkdir /tmp /var/tmp /data: exit 0" 0
assert_eq "/tmp and /var/tmp as systems have them (1777: anyone may make files there), /data 755" \
	"$(stat -c '%a' "$tmp/mktmp/tmp" "$tmp/mktmp/var/tmp" "$tmp/mktmp/data" | tr '\n' ' ')" "1777 1777 755 "
done_testing
