/* SPDX-License-Identifier: MIT */
/* tests/bench/gen_history.c - a large history for `scripts/bench.sh history`: SESSIONS sessions
 * of ACCESSES distinct accesses each, written through the store's own insert path
 * (store_session_begin, store_add_access, store_file_version, store_session_end).
 *
 * Build and run (after `make`):
 *   make build/gen_history && build/gen_history [-s SESSIONS] [-n ACCESSES] DB
 *
 * Each session (label "run-N", one process) touches ACCESSES distinct (op, path) pairs drawn
 * from a pool of 50,000 paths under /usr/lib/python3.11, about 1 in 8 failing with ENOENT,
 * and records a version of 1 in 4 files it opens (the size changes every 100 sessions). Every
 * session also opens and maps /usr/lib/x86_64-linux-gnu/libc.so.6, the path the bench
 * reports on. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "store.h"

#define POOL 50000
#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"

int main(int argc, char **argv)
{
	static const int ops[] = { MP_OP_OPEN, MP_OP_STAT, MP_OP_OPEN, MP_OP_ACCESS, MP_OP_OPEN,
				   MP_OP_READLINK, MP_OP_STAT, MP_OP_READDIR };
	static const char *const argv0[] = { "/usr/bin/python3", "-c", "import app", NULL };
	long sessions = 1000, accesses = 10000;
	struct store *st = NULL;
	char **pool = NULL, label[32];
	uint64_t t0 = 1700000000ull * 1000000000ull;
	int opt, ret = 1;

	while ((opt = getopt(argc, argv, "s:n:")) != -1) {
		switch (opt) {
		case 's': sessions = atol(optarg); break;
		case 'n': accesses = atol(optarg); break;
		default:
			fprintf(stderr, "usage: gen_history [-s SESSIONS] [-n ACCESSES] DB\n");
			return 2;
		}
	}
	if (optind + 1 != argc || accesses < 1 || accesses > POOL * 8) {
		fprintf(stderr, "usage: gen_history [-s SESSIONS] [-n ACCESSES] DB\n");
		return 2;
	}
	pool = calloc(POOL, sizeof(*pool));
	for (int i = 0; pool && i < POOL; i++)
		if (asprintf(&pool[i], "/usr/lib/python3.11/site-packages/pkg%03d/sub%02d/module_%05d.py",
			     i % 211, i % 17, i) < 0)
			return 1;
	if (store_open(argv[optind], &st))
		goto out;
	for (long s = 0; s < sessions; s++) {
		struct store_session sess = { label, argv0, "/srv/app", MP_SRC_PTRACE,
					      s % 2 ? "ci-host-b" : "ci-host-a" };
		uint64_t ts = t0 + (uint64_t)s * 60000000000ull;
		pid_t pid = (pid_t)(1000 + s % 30000);
		int64_t id;

		snprintf(label, sizeof(label), "run-%ld", s + 1);
		if (store_session_begin(st, &sess, &id) ||
		    store_proc_start(st, pid, 0, "/srv/app", ts) ||
		    store_proc_exec(st, pid, argv0[0], argv0, "/srv/app", ts) ||
		    store_add_access(st, pid, MP_OP_OPEN, LIBC, O_RDONLY | O_CLOEXEC, 0,
				     MP_SRC_PTRACE, ts + 1000) ||
		    store_file_version(st, LIBC, 'f', 1922136, (int64_t)t0, 4242, NULL))
			goto out;
		for (long i = 1; i < accesses; i++) {
			/* Distinct (op, path) pairs within a session; sessions overlap. */
			long k = (s * 1237 + i) % (POOL * 8);
			int op = ops[k / POOL], err = (k * 2654435761u >> 7) % 8 == 0 ? ENOENT : 0;
			const char *p = pool[k % POOL];

			if (store_add_access(st, pid, op, p, op == MP_OP_OPEN ? O_RDONLY : 0, err,
					     MP_SRC_PTRACE, ts + (uint64_t)i * 1000))
				goto out;
			if (op == MP_OP_OPEN && !err && i % 4 == 0 &&
			    store_file_version(st, p, 'f', 1000 + k % 977 + s / 100, (int64_t)t0,
					       (uint64_t)(k % POOL), NULL))
				goto out;
		}
		if (store_proc_exit(st, pid, 0, ts + 59000000000ull) ||
		    store_session_end(st, 0, true, NULL))
			goto out;
	}
	ret = 0;
out:
	store_free(st);
	for (int i = 0; pool && i < POOL; i++)
		free(pool[i]);
	free(pool);
	return ret;
}
