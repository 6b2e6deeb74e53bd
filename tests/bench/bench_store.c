/* SPDX-License-Identifier: MIT */
/* tests/bench/bench_store.c - ingest speed of the store: N accesses (pid, a path from a pool of
 * 5,000, op, result) through store_add_access() and store_session_end(), into a new file.
 *
 * Build and run (after `make`):
 *   make build/bench_store && build/bench_store [-n N] [-d] [DB]
 * or by hand:
 *   cc -std=gnu11 -D_GNU_SOURCE -O2 -Iinclude -Icollector -o build/bench_store \
 *      tests/bench/bench_store.c build/libmagicpak.a $(pkg-config --libs libelf sqlite3)
 *
 * Two workloads, each into a fresh database (DB, default a file in a new temporary directory):
 *   repeated  8 pids, paths drawn at random from the pool, 4 ops, 1 in 8 fails with ENOENT:
 *             identical accesses fold into one row (a build or a Python import looks so);
 *   distinct  (with -d, or always as the second run) every access has its own pid, so every
 *             access is its own row: the worst case for the database. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "store.h"

#define POOL 5000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(const char *db, long n, bool distinct, char **pool)
{
	static const int ops[] = { MP_OP_OPEN, MP_OP_STAT, MP_OP_ACCESS, MP_OP_READLINK };
	static const char *const argv[] = { "bench", NULL };
	struct store_session sess = { "bench", argv, "/", MP_SRC_PTRACE, "localhost" };
	struct store *st = NULL;
	uint64_t x = 88172645463325252ull, t0;
	double start, added, ended;
	int64_t id;
	int ret;

	unlink(db);
	if ((ret = store_open(db, &st)) || (ret = store_session_begin(st, &sess, &id)))
		goto out;
	t0 = (uint64_t)time(NULL) * 1000000000u;
	start = now();
	for (long i = 0; i < n; i++) {
		x ^= x << 13; /* xorshift64 */
		x ^= x >> 7;
		x ^= x << 17;
		ret = store_add_access(st, distinct ? (pid_t)(1000 + i) : (pid_t)(1000 + (x & 7)),
				       ops[(x >> 3) & 3], pool[(x >> 8) % POOL], 0,
				       (x >> 40) % 8 == 0 ? ENOENT : 0, MP_SRC_PTRACE,
				       t0 + (uint64_t)i * 1000);
		if (ret)
			goto out;
	}
	added = now();
	if ((ret = store_session_end(st, 0, true, NULL)))
		goto out;
	ended = now();
	printf("%-9s %ld accesses: add %.3f s, end (flush) %.3f s, total %.3f s"
	       " = %.2fM accesses/s\n",
	       distinct ? "distinct" : "repeated", n, added - start, ended - added, ended - start,
	       (double)n / (ended - start) / 1e6);
out:
	store_free(st);
	return ret;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/bench_store.XXXXXX", db[4096], *pool[POOL];
	bool only_distinct = false, tmp = false;
	long n = 1000000;
	int opt, ret;

	while ((opt = getopt(argc, argv, "n:d")) != -1) {
		switch (opt) {
		case 'n': n = atol(optarg); break;
		case 'd': only_distinct = true; break;
		default:
			fprintf(stderr, "usage: bench_store [-n N] [-d] [DB]\n");
			return 2;
		}
	}
	if (optind < argc) {
		snprintf(db, sizeof(db), "%s", argv[optind]);
	} else {
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			return 1;
		}
		snprintf(db, sizeof(db), "%s/bench.db", dir);
		tmp = true;
	}
	for (int i = 0; i < POOL; i++) {
		if (asprintf(&pool[i], "/usr/lib/python3.11/site-packages/pkg%03d/module_%04d.py",
			     i % 97, i) < 0)
			return 1;
	}
	ret = only_distinct ? 0 : run(db, n, false, pool);
	if (!ret)
		ret = run(db, n, true, pool);
	for (int i = 0; i < POOL; i++)
		free(pool[i]);
	if (tmp) {
		char side[4200];

		unlink(db);
		snprintf(side, sizeof(side), "%s-wal", db);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", db);
		unlink(side);
		rmdir(dir);
	}
	return ret ? 1 : 0;
}
