#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The probe's fold table (bpf/openat.h): repeats of an access are counted in the kernel under
# its fold key, in sets of MP_BPF_FOLD_WAYS slots. An access whose set is full is sent again
# each time instead of folded, and its count must still come out right; so must the counts
# of a magicpak run in a pid namespace of its own, where the key carries the namespace's pid
# (and magicpak, pid 1 there, must not wait for its linger child).
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_bpf

# A program that computes fold keys with the header's mp_fold_key(), finds 12 paths of one
# set for its own pid (more than a set holds), creates them and opens each one 3 times.
cat >"$tmp/full.c" <<'CEOF'
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>
#include "event.h"
#include "openat.h"

int main(int argc, char **argv)
{
	static unsigned short per_set[MP_BPF_FOLD_SETS];
	static char paths[1 << 17][64];
	enum { WANT = MP_BPF_FOLD_WAYS + 4 };
	unsigned set = 0, found = 0;
	int n;

	for (n = 0; n < (1 << 17); n++) {
		uint64_t k;

		snprintf(paths[n], sizeof(paths[n]), "%s/f%d", argv[1], n);
		k = mp_fold_key(paths[n], (uint32_t)getpid(), MP_OP_OPEN, O_RDONLY, 0);
		if (++per_set[mp_fold_set(k)] == WANT) {
			set = mp_fold_set(k);
			break;
		}
	}
	for (int i = 0; i <= n && found < WANT; i++) {
		uint64_t k = mp_fold_key(paths[i], (uint32_t)getpid(), MP_OP_OPEN, O_RDONLY, 0);

		if (mp_fold_set(k) != set)
			continue;
		close(open(paths[i], O_WRONLY | O_CREAT, 0644));
		for (int r = 0; r < 3; r++)
			close(open(paths[i], O_RDONLY));
		printf("%s\n", paths[i]);
		found++;
	}
	return found == WANT ? 0 : 1;
}
CEOF
cc_quiet -O1 -I"$TESTS_DIR/../include" -I"$TESTS_DIR/../bpf" -o "$tmp/full" "$tmp/full.c" ||
	{ echo "FAIL: cannot build full.c"; exit 1; }
mkdir -p "$tmp/d"
db=$tmp/f.db
run_tool record --db "$db" --via bpf -- "$tmp/full" "$tmp/d"
echo "$out" >"$tmp/paths"
assert_rc "the program found and opened 12 paths of one set" 0
assert_eq "12 paths" "$(grep -c . "$tmp/paths")" 12
counts=$(sql "$db" "select path || '|' || sum(count) from file_accesses where op = 'open' and flags = 0
	and errno = 0 and path like '$tmp/d/f%' group by path order by path")
assert_eq "each was opened 3 times, folded or not" "$counts" "$(sort "$tmp/paths" | sed 's/$/|3/')"

# In a pid namespace of its own (magicpak's pid 1 there), the counts as in the root one.
command -v unshare >/dev/null || skip "no unshare (util-linux)"
bpf_fixture repeat
if ! unshare --pid --fork true 2>/dev/null; then
	[ "${CI:-}" = true ] && { echo "FAIL: unshare --pid does not work here"; exit 1; }
	skip "no pid namespaces (unshare --pid)"
fi
ndb=$tmp/ns.db
# magicpak is pid 1 there: its lingering child must not be waited for (it once was: a hang)
timeout 60 unshare --pid --fork "$TOOL" record --db "$ndb" --via bpf -- "$tmp/repeat" 200 100 /etc/magicpak-t716.missing
assert_eq "record as pid 1 of a pid namespace exits 0, without waiting for its linger child" "$?" 0
assert_eq "folded in the kernel in a pid namespace: the counts are the calls made" \
	"$(sql "$ndb" "select op || '|' || errno || '|' || sum(count) from file_accesses
		where path in ('/etc/hostname', '/etc/magicpak-t716.missing') group by op, errno order by op")" \
	"$(printf 'open|0|200\nstat|2|100')"
done_testing
