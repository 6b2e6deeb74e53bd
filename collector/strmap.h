/* SPDX-License-Identifier: MIT */
/* collector/strmap.h - a hash map from strings to pointers (open addressing). */
#ifndef COLLECTOR_STRMAP_H
#define COLLECTOR_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct strmap {
	char **keys;   /* owned copies; NULL = empty slot */
	void **vals;   /* borrowed */
	size_t n;
	size_t cap;    /* power of two */
};

#define STRMAP_INIT { NULL, NULL, 0, 0 }

/* The value stored for @key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);
/* True if @key is present (its value may be NULL). */
bool strmap_has(const struct strmap *m, const char *key);
/* Store @val under a copy of @key, replacing any previous value. */
void strmap_put(struct strmap *m, const char *key, void *val);
/* Free the keys and tables (not the values). */
void strmap_clear(struct strmap *m);

#endif /* COLLECTOR_STRMAP_H */
