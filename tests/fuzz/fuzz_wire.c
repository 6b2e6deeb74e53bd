/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_wire.c - libFuzzer harness for the record decoder on the collector socket
 * (collect_feed). The input is a stream of datagrams: each takes the length its header
 * claims (when that fits in what is left), else the rest of the input, so the fuzzer can
 * build sequences of valid records (start, exec, access, exit, pid reuse) as well as broken
 * ones. Each run gets a fresh collector and a new session; the in-memory store is opened
 * once per 1000 runs (its schema setup costs more than a run), so a finding reproduces. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "event.h"
#include "log.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const argv[] = { "fuzz", NULL };
	struct store_session s = { "fuzz", argv, "/", MP_SRC_PRELOAD, "fuzzhost" };
	struct collect_stats stats;
	struct collect *c = NULL;
	static struct store *st;
	static unsigned runs;
	char why[256];
	int64_t id;
	pid_t *alive;
	size_t n;

	if (runs++ % 1000 == 0) {
		store_free(st);
		st = NULL;
		if (store_open(":memory:", &st) < 0)
			abort();
	}
	if (store_session_begin(st, &s, &id) < 0 || collect_open(NULL, st, 1, &c) < 0)
		abort();
	while (size > 0) {
		size_t take = size;
		uint32_t len;

		if (size >= sizeof(struct mp_wire)) {
			memcpy(&len, data + offsetof(struct mp_wire, len), sizeof(len));
			if (len > 0 && len <= size)
				take = len;
		}
		if (take > MP_WIRE_MAX + 1)
			take = MP_WIRE_MAX + 1; /* what collect_drain() can receive at most */
		/* a copy of exactly the datagram's size, so ASan sees any read past it */
		{
			uint8_t *d = malloc(take);

			if (!d)
				abort();
			memcpy(d, data, take);
			(void)collect_feed(c, d, take);
			free(d);
		}
		data += take;
		size -= take;
	}
	alive = collect_alive(c, &n);
	for (size_t i = 0; i < n; i++)
		collect_reaped(c, alive[i], 0);
	free(alive);
	collect_get_stats(c, &stats);
	collect_incomplete_reason(c, why, sizeof(why));
	if (strlen(why) >= sizeof(why))
		abort();
	collect_free(c);
	if (store_session_end(st, 0, why[0] == '\0', why[0] ? why : NULL) < 0)
		abort();
	return 0;
}
