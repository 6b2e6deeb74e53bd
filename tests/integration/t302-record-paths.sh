#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# magicpak record stores paths as the program meant them: absolute; relative ones resolved against the
# process's cwd (tracked across chdir, fchdir and fork) or the dirfd; '.' and '..' folded; symlinks not
# resolved (the stored path is the link's).
. "$(dirname "$0")/../lib.sh"
require_cc
require_sqlite3
require_ptrace
record_fixture paths

w=$tmp/w
mkdir -p "$w/d1/sub" "$w/d2/sub"
for f in rel0.txt d1/f.txt d1/f2.txt d2/g.txt d2/h.txt d1/i.txt d2/j.txt d2/k.txt d2/m.txt d2/sub/n.txt \
	d2/o.txt d2/p.txt d1/q.txt d2/r.txt; do echo x >"$w/$f"; done
ln -s d2 "$w/lnkdir"
ln -s d1/f.txt "$w/lnkfile"

cd "$w" || exit 1
record_rc "$tmp/p.db" "$tmp/paths" "$w"
cd "$tmp" || exit 1
assert_rc "paths: exit 0 (the fixture found every file)" 0
rows=$(sql "$tmp/p.db" "select op || ' ' || path || ' ' || errno from file_accesses where session_id = 1")

has_row "relative path in the starting cwd" "$rows" "open $w/rel0.txt 0"
has_row "relative path after chdir" "$rows" "open $w/d1/f.txt 0"
has_row "'./sub/../f2.txt' folded" "$rows" "open $w/d1/f2.txt 0"
has_row "'../d2/./g.txt' folded" "$rows" "open $w/d2/g.txt 0"
has_row "a missing relative path: absolute, ENOENT" "$rows" "open $w/d1/missing-rel.txt 2"
has_row "stat '../d2'" "$rows" "stat $w/d2 0"
has_row "openat(dirfd, 'h.txt')" "$rows" "open $w/d2/h.txt 0"
has_row "openat(dirfd, '../d1/./i.txt') folded" "$rows" "open $w/d1/i.txt 0"
has_row "fstatat(dirfd, 'g.txt')" "$rows" "stat $w/d2/g.txt 0"
has_row "absolute path with '..' and '.' folded" "$rows" "open $w/d2/j.txt 0"
has_row "a path through a symlinked directory is kept (not resolved)" "$rows" "open $w/lnkdir/k.txt 0"
lacks_row "… and not stored resolved" "$rows" "open $w/d2/k.txt 0"
has_row "stat of a symlink: the link's path" "$rows" "stat $w/lnkfile 0"
has_row "relative chdir('../d2'), then a relative stat" "$rows" "stat $w/d2/m.txt 0"
has_row "fchdir(dirfd) then chdir('sub'), then a relative open" "$rows" "open $w/d2/sub/n.txt 0"
# After chdir through a symlink the cwd is a directory the kernel reached through it: both the link's
# name and the resolved directory name the same file, so either is right (a later '..' is only right
# when it is folded against the kernel's cwd, which is what /proc/PID/cwd gives).
one_of() { # one_of DESC ROWS LINE1 LINE2
	t_n=$((t_n + 1))
	if printf '%s\n' "$2" | grep -qxF -e "$3" -e "$4"; then pass "$1"; else fail "$1: neither '$3' nor '$4'"; fi
}
one_of "chdir through a symlink, then a relative open" "$rows" "open $w/lnkdir/o.txt 0" "open $w/d2/o.txt 0"
one_of "a forked child inherits the cwd" "$rows" "open $w/lnkdir/p.txt 0" "open $w/d2/p.txt 0"
has_row "the child's chdir('..') folds lexically: DIR/d1/q.txt" "$rows" "open $w/d1/q.txt 0"
one_of "the parent's cwd is its own after the child's chdir" "$rows" "open $w/lnkdir/r.txt 0" "open $w/d2/r.txt 0"
check "every stored path is absolute" sh -c '! printf "%s\n" "$1" | awk "{print \$2}" | grep -v "^/"' sh "$rows"
check "no stored path has a '.' or '..' component" \
	sh -c '! printf "%s\n" "$1" | awk "{print \$2}" | grep -E "/\.\.?(/|$)"' sh "$rows"
check "no stored path has '//'" sh -c '! printf "%s\n" "$1" | awk "{print \$2}" | grep -F "//"' sh "$rows"
done_testing
