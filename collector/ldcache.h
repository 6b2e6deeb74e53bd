/* SPDX-License-Identifier: MIT */
/* collector/ldcache.h - read and write /etc/ld.so.cache in the format glibc 2.36's ldconfig writes. */
#ifndef COLLECTOR_LDCACHE_H
#define COLLECTOR_LDCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "hwcaps.h"
#include "strbuf.h"

struct ldcache;

/* The flags of an entry, by the ABI of its library (ldconfig's FLAG_ELF_LIBC6 with the
 * architecture bits): what each ABI's ld.so accepts (_dl_cache_check_flags). */
#define LDCACHE_ID_X86_64 0x0303  /* FLAG_ELF_LIBC6 | FLAG_X8664_LIB64 */
#define LDCACHE_ID_I386 0x0003    /* FLAG_ELF_LIBC6 (i386's also takes 1, FLAG_ELF) */
#define LDCACHE_ID_AARCH64 0x0a03 /* FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64 */

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
 * does for the ABI whose entries have flags @id: entries of another ABI are ignored; of the
 * entries with a glibc-hwcaps subdirectory, the one with the best priority in @hw->levels
 * wins over an entry without one; legacy-hwcap entries count where their bits are this
 * CPU's (x86-64: from @hw; i386, LDCACHE_ID_I386: sse2 and platform i686, and no
 * glibc-hwcaps entry, @hw unused). Borrowed; NULL if none. */
const char *ldcache_lookup(const struct ldcache *c, const char *name, const struct hwcaps *hw,
			   int32_t id);

size_t ldcache_count(const struct ldcache *c);
/* Fill @e with entry @i (0 <= i < count). */
void ldcache_get(const struct ldcache *c, size_t i, struct ldcache_entry *e);

/* Append to @out a new-format cache (no hwcaps extension) mapping each name to its path,
 * with the flags @ids[i] (NULL: all LDCACHE_ID_X86_64), sorted the way ld.so's binary search
 * expects (by name, then by flags, higher first, as ldconfig does). Deterministic. */
void ldcache_write(const char *const *names, const char *const *paths, const int32_t *ids,
		   size_t n, struct strbuf *out);

#endif /* COLLECTOR_LDCACHE_H */
