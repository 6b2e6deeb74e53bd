/* SPDX-License-Identifier: MIT */
/* collector/u64map.h - a hash map from nonzero 64-bit keys to integers (open addressing): the
 * probe's fold keys, looked up once per folded access at the end of a run, where formatting
 * each key as a string for a strmap took 0.3 us (W4: 1.2 ms of its 4,000). */
#ifndef COLLECTOR_U64MAP_H
#define COLLECTOR_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64map {
	uint64_t *keys; /* 0 = empty slot: a walk over all entries reads slots 0 .. cap-1 */
	size_t *vals;
	size_t n;
	size_t cap;     /* power of two */
};

#define U64MAP_INIT { NULL, NULL, 0, 0 }

/* The value stored for @key (nonzero), or 0. */
size_t u64map_get(const struct u64map *m, uint64_t key);
/* Store @val under @key (nonzero), replacing any previous value. */
void u64map_put(struct u64map *m, uint64_t key, size_t val);
/* Free the tables. */
void u64map_clear(struct u64map *m);

#endif /* COLLECTOR_U64MAP_H */
