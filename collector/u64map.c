/* SPDX-License-Identifier: MIT */
/* collector/u64map.c - see u64map.h. Linear probing over a mixed key. */
#include <stdlib.h>

#include "u64map.h"
#include "xalloc.h"

static size_t slot(const struct u64map *m, uint64_t key)
{
	/* the fold keys are hashes already, but a caller's keys need not be */
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 32) & (m->cap - 1);

	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

size_t u64map_get(const struct u64map *m, uint64_t key)
{
	size_t i;

	if (!m->cap || !key)
		return 0;
	i = slot(m, key);
	return m->keys[i] ? m->vals[i] : 0;
}

static void grow(struct u64map *m)
{
	struct u64map old = *m;

	m->cap = old.cap ? old.cap * 2 : 256;
	m->keys = xcalloc(m->cap, sizeof(*m->keys));
	m->vals = xcalloc(m->cap, sizeof(*m->vals));
	for (size_t i = 0; i < old.cap; i++) {
		if (old.keys[i]) {
			size_t j = slot(m, old.keys[i]);

			m->keys[j] = old.keys[i];
			m->vals[j] = old.vals[i];
		}
	}
	free(old.keys);
	free(old.vals);
}

void u64map_put(struct u64map *m, uint64_t key, size_t val)
{
	size_t i;

	if (!key)
		return;
	if ((m->n + 1) * 4 > m->cap * 3)
		grow(m);
	i = slot(m, key);
	if (!m->keys[i]) {
		m->keys[i] = key;
		m->n++;
	}
	m->vals[i] = val;
}

void u64map_clear(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	*m = (struct u64map)U64MAP_INIT;
}
