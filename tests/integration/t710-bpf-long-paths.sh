#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# RELIABILITY BPF-02: paths near and past the probe's 4,096-byte buffer under record --via bpf. A
# 300-byte and a ~4,000-byte absolute path are stored whole; a relative open in a cwd deeper than
# PATH_MAX is resolved in user space and stored whole (or the session says it could not); a path
# string longer than the buffer (the open fails with ENAMETOOLONG) is never stored cut short: the
# session is incomplete with bpf_truncated_paths=N. Never a silently truncated path in the database.
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_bpf
bpf_fixture rawopen
mk() { # mk LEN: a directory path under $tmp/L of about LEN bytes, made
	local p=$tmp/L
	while [ ${#p} -lt "$1" ]; do p=$p/dddddddddddddddddddddddddddddddddddddddddddddddd; done
	mkdir -p "$p" && printf '%s' "$p"
}
short=$(mk 300)/file; echo x >"$short"
long=$(mk 3990)/file; echo x >"$long"
db=$tmp/l.db
hexes() { sql "$db" "select distinct hex(path) from file_accesses where session_id = (select max(id) from sessions) and path like '$tmp/L/%'"; }
hexof() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n' | tr a-f A-F; }

record_rc "$db" --via bpf -- sh -c '"$1" "$2" && "$1" "$3"' sh "$tmp/rawopen" "$short" "$long"
assert_rc "short and long absolute paths: exit 0" 0
h=$(hexes)
has_row "the ${#short}-byte path is stored whole" "$h" "$(hexof "$short")"
has_row "the ${#long}-byte path is stored whole" "$h" "$(hexof "$long")"
assert_eq "complete" "$(sql "$db" 'select complete from sessions order by id desc limit 1')" 1

# a cwd deeper than PATH_MAX, reached step by step, and a relative open there
deep=$(dirname "$long")
rel=eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee
(cd "$deep" && mkdir -p "$rel/$rel/$rel" && cd "$rel/$rel/$rel" && echo x >file) || { echo "FAIL: cannot make the deep tree"; exit 1; }
full=$deep/$rel/$rel/$rel/file
record_rc "$db" --via bpf -- sh -c 'cd "$1" && cd "$2" && cd "$2" && cd "$2" && "$3" file' sh "$deep" "$rel" "$tmp/rawopen"
h=$(hexes)
inc=$(sql "$db" 'select complete || "|" || ifnull(incomplete_reason, "") from sessions order by id desc limit 1')
if printf '%s\n' "$h" | grep -qxF "$(hexof "$full")"; then
	pass "the ${#full}-byte path of a relative open is stored whole"
	t_n=$((t_n + 1))
else
	check "the ${#full}-byte path is not stored: the session is incomplete ($inc)" grep -q '^0|bpf_' <<<"$inc"
fi
real=$(find "$tmp/L" | while IFS= read -r f; do hexof "$f"; echo; done)
check "every stored path under the tree is a real one (none cut short)" \
	test -z "$(LC_ALL=C comm -23 <(printf '%s\n' "$h" | LC_ALL=C sort -u) <(printf '%s\n' "$real" | LC_ALL=C sort -u))"

# a path string longer than the probe's buffer: the open fails, the path is never stored cut
huge=$deep/$rel/$rel/$rel/$rel/nothing
record_rc "$db" --via bpf -- "$tmp/rawopen" "$huge"
check "a ${#huge}-byte path: the command's open fails, record fails (exit $rc)" test "$rc" != 0
why=$(sql "$db" 'select complete || "|" || ifnull(incomplete_reason, "") from sessions order by id desc limit 1')
check "the session is incomplete, counting the truncated path ($why)" grep -qE '^0\|bpf_truncated_paths=[1-9]' <<<"$why"
assert_eq "nothing under the long tree is stored for that session" "$(hexes)" ""
done_testing
