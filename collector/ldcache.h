/* SPDX-License-Identifier: MIT */
/* collector/ldcache.h - read and write /etc/ld.so.cache in the format glibc 2.36's ldconfig writes. */
#ifndef COLLECTOR_LDCACHE_H
#define COLLECTOR_LDCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "hwcaps.h"
#include "strbuf.h"

struct ldcache;

/* One entry, as listed by `ldconfig -p`. Strings are borrowed from the cache. */
struct ldcache_entry {
	const char *name;   /* the soname key, e.g. "libc.so.6" */
	const char *path;   /* e.g. "/lib/x86_64-linux-gnu/libc.so.6" */
	int32_t flags;      /* FLAG_ELF_LIBC6 | FLAG_X8664_LIB64 = 0x0303 on x86-64 */
	const char *hwcaps; /* glibc-hwcaps subdirectory name, or NULL */
};

/* Read the cache at @path into memory (never mapped: a concurrent ldconfig cannot fault us).
 * Returns 0, -ENOENT if it does not exist, -EINVAL if it is corrupt (the caller warns
 * "ignoring corrupt ld.so.cache" and goes on without it, as ld.so does), or another -errno.
 * Accepts the new format ("glibc-ld.so.cache1.1", with the hwcaps extension), the old
 * format ("ld.so-1.7.0"), and the old format followed by the new one. */
int ldcache_open(const char *path, struct ldcache **out);
/* Same, from a buffer (copied). Used by the fuzz harness. */
int ldcache_parse(const void *data, size_t len, struct ldcache **out);
void ldcache_free(struct ldcache *c);

/* The path ld.so would take from the cache for @name, as glibc 2.36's _dl_load_cache_lookup
 * does on x86-64: entries of another ABI (flags) are ignored; of the entries with a
 * glibc-hwcaps subdirectory, the one with the best priority in @hw->levels wins over an
 * entry without one; legacy-hwcap entries are skipped. Borrowed; NULL if none. */
const char *ldcache_lookup(const struct ldcache *c, const char *name, const struct hwcaps *hw);

size_t ldcache_count(const struct ldcache *c);
/* Fill @e with entry @i (0 <= i < count). */
void ldcache_get(const struct ldcache *c, size_t i, struct ldcache_entry *e);

/* Append to @out a new-format cache (no hwcaps extension) mapping each name to its path,
 * with x86-64 flags, sorted the way ld.so's binary search expects. Deterministic. */
void ldcache_write(const char *const *names, const char *const *paths, size_t n, struct strbuf *out);

#endif /* COLLECTOR_LDCACHE_H */
