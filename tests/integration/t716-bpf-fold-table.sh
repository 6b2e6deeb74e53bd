#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The probe's fold table (bpf/openat.h): repeats of an access are counted in the kernel under
# its fold key, in a set of MP_BPF_FOLD_WAYS slots on the first level, or if that is full, on
# the second. An access whose two sets are full is sent again each time instead of folded, and
# its count must still come out right; so must a count past 16 bits (a slot's own count
# carries into a word of its own); so must the counts
# of a magicpak run in a pid namespace of its own, where under --bpf-per-process the key
# carries the namespace's pid (and magicpak, pid 1 there, must not wait for its linger child).
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_bpf

# A program that computes fold keys with the header's mp_fold_key() and finds, for a session
# (tgid 0 in the key: the default fold), 12 paths with one set on both levels and 8 more with the same first-level set: it creates
# and opens the 8 first (they fill the first level's set), then the 12 (8 fill their second
# set, 4 find no room), each 3 times.
cat >"$tmp/full.c" <<'CEOF'
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/types.h>
#include "event.h"
#include "openat.h"

enum { LIMIT = 1 << 25, BOTH = MP_BPF_FOLD_WAYS + 4, FIRST = MP_BPF_FOLD_WAYS };

/* "DIR/fN" into @path (the directory written once: snprintf for each of the millions of
 * names the search tries took most of its 20 s on a slow VM) */
static uint64_t key(const char *dir, int n, char *path, size_t size)
{
	static size_t dlen;
	char digits[16];
	size_t k = 0;

	if (!dlen) {
		dlen = (size_t)snprintf(path, size, "%s/f", dir);
		if (dlen + sizeof(digits) >= size)
			exit(2);
	}
	do
		digits[k++] = (char)('0' + n % 10);
	while ((n /= 10));
	for (size_t i = 0; i < k; i++)
		path[dlen + i] = digits[k - 1 - i];
	path[dlen + k] = '\0';
	return mp_fold_key(path, 0, MP_OP_OPEN, O_RDONLY, 0);
}

static void open3(const char *path)
{
	close(open(path, O_WRONLY | O_CREAT, 0644));
	for (int r = 0; r < 3; r++)
		close(open(path, O_RDONLY));
	printf("%s\n", path);
}

static void *huge(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		exit(2);
	madvise(p, size, MADV_HUGEPAGE);
	return p;
}

int main(int argc, char **argv)
{
	/* by (set on level 0, set on level 1); each name's pair, for the second pass. On huge
	 * pages where there are: millions of random updates missed the TLB each time. */
	unsigned char *per = huge(1u << 22);
	uint32_t *seen = huge(LIMIT * sizeof(uint32_t));
	static int both[BOTH], first[FIRST];
	unsigned c = 0, nb = 0, nf = 0;
	char path[256];
	int n;

	(void)argc;
	for (n = 0; n < LIMIT; n++) {
		uint64_t k = key(argv[1], n, path, sizeof(path));

		c = seen[n] = mp_fold_set0(k) / MP_BPF_FOLD_WAYS << 12 |
			      (mp_fold_set1(k) - MP_BPF_FOLD_L0_SLOTS) / MP_BPF_FOLD_WAYS;
		if (++per[c] == BOTH)
			break;
	}
	for (int i = 0; i < LIMIT && (nb < BOTH || nf < FIRST); i++) {
		if (i > n) {
			uint64_t k = key(argv[1], i, path, sizeof(path));

			seen[i] = mp_fold_set0(k) / MP_BPF_FOLD_WAYS << 12 |
				  (mp_fold_set1(k) - MP_BPF_FOLD_L0_SLOTS) / MP_BPF_FOLD_WAYS;
		}
		if (seen[i] >> 12 != c >> 12)
			continue;
		if (seen[i] == c && nb < BOTH)
			both[nb++] = i;
		else if (seen[i] != c && nf < FIRST)
			first[nf++] = i;
	}
	if (nb < BOTH || nf < FIRST)
		return 1;
	for (unsigned i = 0; i < FIRST; i++) {
		key(argv[1], first[i], path, sizeof(path));
		open3(path);
	}
	for (unsigned i = 0; i < BOTH; i++) {
		key(argv[1], both[i], path, sizeof(path));
		open3(path);
	}
	return 0;
}
CEOF
cc_quiet -O1 -I"$TESTS_DIR/../include" -I"$TESTS_DIR/../bpf" -o "$tmp/full" "$tmp/full.c" ||
	{ echo "FAIL: cannot build full.c"; exit 1; }
mkdir -p "$tmp/d"
db=$tmp/f.db
# each path of the program's and its summed count (DB)
open_counts() {
	sql "$1" "select path || '|' || sum(count) from file_accesses where op = 'open' and flags = 0
		and errno = 0 and path like '$tmp/d/f%' group by path order by path"
}
# its probe lingers long enough for the run after it to take it over (below)
MAGICPAK_BPF_LINGER_MS=5000 run_tool -v record --db "$db" --via bpf -- "$tmp/full" "$tmp/d"
echo "$out" >"$tmp/paths"
assert_rc "the program found and opened 20 paths of one first-level set, 12 of one second-level set" 0
assert_eq "20 paths" "$(grep -c . "$tmp/paths")" 20
# 8 on the first level and 8 on the second fold their 2 repeats; the last 4 are sent each
# time (the program's other accesses are made once each)
assert_eq "32 repeats folded in the kernel: both levels used, the 4 left over sent" \
	"$(grep -o '[0-9]* repeats folded in the kernel' "$err")" "32 repeats folded in the kernel"
assert_eq "each was opened 3 times, folded or not" "$(open_counts "$db")" \
	"$(sort "$tmp/paths" | sed 's/$/|3/')"

# The same paths again, through the probe that run left: its lingering child reset it, the
# second level too, since a set of the first was full (probe.c: second_level_used()). A key
# left there would fold the first open of its path as a repeat of the run before: not sent.
check "that run's probe is published for the next" wait_for 10 test -s /run/magicpak/bpf-probe
db2=$tmp/f2.db
run_tool -v record --db "$db2" --via bpf -- "$tmp/full" "$tmp/d"
assert_rc "again, with the probe left loaded: exit 0" 0
assert_contains "again: it reused the probe" "$(cat "$err")" "reusing the one pid "
assert_eq "again: 32 repeats folded in the kernel" \
	"$(grep -o '[0-9]* repeats folded in the kernel' "$err")" "32 repeats folded in the kernel"
assert_eq "again: each was opened 3 times" "$(open_counts "$db2")" \
	"$(sort "$tmp/paths" | sed 's/$/|3/')"

# A count past 16 bits: 140,000 opens of one path (its slot's count passes 0xffff twice).
bpf_fixture repeat
wdb=$tmp/w.db
run_tool record --db "$wdb" --via bpf -- "$tmp/repeat" 140000 70000 /etc/magicpak-t716.missing
assert_rc "140,000 opens and 70,000 stats recorded" 0
assert_eq "counts past 65,535 in the kernel's fold table come out whole" \
	"$(sql "$wdb" "select op || '|' || errno || '|' || sum(count) from file_accesses
		where path in ('/etc/hostname', '/etc/magicpak-t716.missing') group by op, errno order by op")" \
	"$(printf 'open|0|140000\nstat|2|70000')"

# In a pid namespace of its own (magicpak's pid 1 there), the counts as in the root one.
command -v unshare >/dev/null || skip "no unshare (util-linux)"
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
# per process, the key carries the pid magicpak's namespace gives (user space computes it from
# the record's): a count that did not come back to its row would leave 1
timeout 60 unshare --pid --fork "$TOOL" record --db "$ndb" --via bpf --bpf-per-process -- \
	"$tmp/repeat" 200 100 /etc/magicpak-t716.missing
assert_eq "--bpf-per-process in a pid namespace exits 0" "$?" 0
assert_eq "folded per process in a pid namespace: the counts are the calls made, on one row each" \
	"$(sql "$ndb" "select op || '|' || errno || '|' || count from file_accesses
		where session_id = (select max(id) from sessions)
		and path in ('/etc/hostname', '/etc/magicpak-t716.missing') order by op")" \
	"$(printf 'open|0|200\nstat|2|100')"
done_testing
