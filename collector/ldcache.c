/* SPDX-License-Identifier: MIT */
/* collector/ldcache.c - read /etc/ld.so.cache and look names up in it exactly as glibc 2.36's
 * ld.so does on x86-64 (elf/dl-cache.c), and write caches that ld.so accepts. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ldcache.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

/*
 * The on-disk layout (glibc sysdeps/generic/dl-cache.h), all little-endian on x86-64:
 *
 * old format, "ld.so-1.7.0":   char magic[11]; pad; uint32 nlibs;            (16 bytes)
 *                              { int32 flags; uint32 key, value; } [nlibs]  (12 bytes each)
 *                              string table; offsets relative to its start
 * new format, "glibc-ld.so.cache" "1.1":
 *                              char magic[17], version[3]; uint32 nlibs, len_strings;
 *                              uint8 flags (endianness), pad[3]; uint32 extension_offset;
 *                              uint32 unused[3];                              (48 bytes)
 *                              { int32 flags; uint32 key, value, osversion; uint64 hwcap; }
 *                                                                            (24 bytes each)
 *                              strings; offsets relative to the new header
 * Old ldconfig wrote the old format with the new one hidden at the start of its string table,
 * aligned to 8. The new header is then not at offset 0, and its string offsets are relative
 * to it, while the extension directory and the glibc-hwcaps names use file offsets.
 */
#define OLD_MAGIC "ld.so-1.7.0"
#define NEW_MAGIC "glibc-ld.so.cache1.1"

enum {
	OLD_MAGIC_LEN = sizeof(OLD_MAGIC) - 1,
	NEW_MAGIC_LEN = sizeof(NEW_MAGIC) - 1,
	OLD_HDR = 16,
	OLD_ENTRY = 12,
	NEW_HDR = 48,
	NEW_ENTRY = 24,
	NEW_ALIGN = 8, /* __alignof__(struct cache_file_new) on x86-64 */
	EXT_HDR = 8,
	EXT_SECTION = 16,
	EXT_TAG_GLIBC_HWCAPS = 1,
	ENDIAN_LITTLE = 2,
};

#define EXT_MAGIC ((uint32_t)-358342284)
#define HWCAP_EXTENSION (1ULL << 62)
#define HWCAP_ISA_LEVEL_MASK 0x3ffULL
#define HWCAP_TLS (1ULL << 63)
/* _DL_FIRST_PLATFORM and _DL_PLATFORMS_COUNT from sysdeps/x86/dl-procinfo.h. */
#define FIRST_PLATFORM 48
#define HWCAP_PLATFORM (0xfULL << FIRST_PLATFORM)
/* HWCAP_IMPORTANT for x86-64: HWCAP_X86_64 | HWCAP_X86_AVX512_1; i386's has HWCAP_X86_SSE2. */
#define HWCAP_X86_SSE2 (1ULL << 0)
#define HWCAP_X86_64 (1ULL << 1)
#define HWCAP_X86_AVX512_1 (1ULL << 2)

struct ldcache_ent {
	const char *name;
	const char *path;
	uint64_t hwcap;
	int32_t flags;
};

struct ldcache {
	char *buf; /* the whole file, with a NUL appended */
	size_t len;
	/* Offset of the last NUL inside the file, or -1: a string starting at or before it is
	 * terminated inside the file. */
	long last_nul;
	struct ldcache_ent *ents; /* in file order: ld.so binary-searches that order */
	size_t n;
	bool hwcap_data; /* new-format entries, which carry hwcap */
	/* The glibc-hwcaps section: subdirectory name per index, NULL where unusable. */
	const char **hwnames;
	size_t nhw;
};

static uint32_t rd32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static uint64_t rd64(const char *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* elf/dl-cache.c _dl_cache_libcmp: runs of digits compare as numbers, so "libfoo.so.10" sorts
 * after "libfoo.so.9" and "libfoo.so.01" equals "libfoo.so.1". glibc accumulates the numbers
 * in int and lets them wrap; unsigned arithmetic gives the same bits without undefined
 * behaviour. Characters compare as (signed) char, as on x86-64. */
static int libcmp(const char *p1, const char *p2)
{
	while (*p1) {
		if (is_digit(*p1)) {
			unsigned int v1, v2;

			if (!is_digit(*p2))
				return 1;
			v1 = (unsigned int)(*p1++ - '0');
			v2 = (unsigned int)(*p2++ - '0');
			while (is_digit(*p1))
				v1 = v1 * 10 + (unsigned int)(*p1++ - '0');
			while (is_digit(*p2))
				v2 = v2 * 10 + (unsigned int)(*p2++ - '0');
			if (v1 != v2)
				return (int)(v1 - v2);
		} else if (is_digit(*p2)) {
			return -1;
		} else if (*p1 != *p2) {
			return (signed char)*p1 - (signed char)*p2;
		} else {
			p1++;
			p2++;
		}
	}
	return -(signed char)*p2;
}

/* Say why a cache is rejected, for -v; the caller warns once with the path. */
static int corrupt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int corrupt(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (log_level < LOG_DEBUG)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_debug("corrupt ld.so.cache: %s", msg);
	return -EINVAL;
}

/* The string at file offset @off, or NULL unless it starts and ends inside the file. */
static const char *str_at(const struct ldcache *c, uint64_t off)
{
	if (off >= c->len || (long)off > c->last_nul)
		return NULL;
	return c->buf + off;
}

/* elf/dl-cache.h cache_extension_load() and cache_extension_verify(). A malformed extension
 * is not a corrupt cache for ld.so: it only makes every glibc-hwcaps entry unusable (their
 * priority stays 0), so it leaves nhw at 0 rather than failing. */
static void load_extension(struct ldcache *c, uint32_t ext_off)
{
	uint64_t count, i, hw_off = 0, hw_size = 0;
	bool found = false;

	if (ext_off == 0 || ext_off % 4 || (uint64_t)ext_off + EXT_HDR > c->len)
		return;
	if (rd32(c->buf + ext_off) != EXT_MAGIC)
		return;
	count = rd32(c->buf + ext_off + 4);
	if ((uint64_t)ext_off + EXT_HDR + count * EXT_SECTION > c->len)
		return;
	for (i = 0; i < count; i++) {
		const char *s = c->buf + ext_off + EXT_HDR + i * EXT_SECTION;
		uint64_t off = rd32(s + 8), size = rd32(s + 12);

		/* One section past the end discards the whole directory. */
		if (off + size > c->len)
			return;
		/* Unknown tags are skipped; a repeated tag replaces the earlier one. */
		if (rd32(s) == EXT_TAG_GLIBC_HWCAPS) {
			hw_off = off;
			hw_size = size;
			found = true;
		}
	}
	if (!found || hw_size == 0 || hw_off % 4 || hw_size % 4)
		return;

	c->nhw = hw_size / 4;
	c->hwnames = xcalloc(c->nhw, sizeof(*c->hwnames));
	for (i = 0; i < c->nhw; i++)
		c->hwnames[i] = str_at(c, rd32(c->buf + hw_off + 4 * i));
}

/* Entries of the new format whose header starts at file offset @base. */
static int parse_new(struct ldcache *c, size_t base)
{
	const char *h = c->buf + base;
	size_t avail = c->len - base, i;
	uint32_t nlibs = rd32(h + 20);
	unsigned char endian = (unsigned char)h[28];

	/* cache_file_new_matches_endian(): 0 means "unknown" and is accepted. */
	if (endian != 0 && (endian & 3) != ENDIAN_LITTLE)
		return corrupt("wrong endianness");
	/* Written so that it cannot overflow, as ld.so checks it. */
	if ((avail - NEW_HDR) / NEW_ENTRY < nlibs || nlibs > INT_MAX)
		return corrupt("%u entries do not fit in %zu bytes", nlibs, avail);

	c->n = nlibs;
	c->ents = xcalloc(nlibs ? nlibs : 1, sizeof(*c->ents));
	c->hwcap_data = true;
	for (i = 0; i < nlibs; i++) {
		const char *e = h + NEW_HDR + i * NEW_ENTRY;
		struct ldcache_ent *ent = &c->ents[i];

		ent->flags = (int32_t)rd32(e);
		ent->hwcap = rd64(e + 16);
		/* ld.so checks offsets lazily, against the bytes after the header; we insist
		 * that every string is inside the file and terminated before it ends. */
		ent->name = str_at(c, base + (uint64_t)rd32(e + 4));
		ent->path = str_at(c, base + (uint64_t)rd32(e + 8));
		if (!ent->name || !ent->path)
			return corrupt("entry %zu points outside the file", i);
	}
	load_extension(c, rd32(h + 32));
	return 0;
}

static int parse_old(struct ldcache *c, uint32_t nlibs)
{
	size_t strtab = OLD_HDR + (size_t)nlibs * OLD_ENTRY, i;

	c->n = nlibs;
	c->ents = xcalloc(nlibs ? nlibs : 1, sizeof(*c->ents));
	for (i = 0; i < nlibs; i++) {
		const char *e = c->buf + OLD_HDR + i * OLD_ENTRY;
		struct ldcache_ent *ent = &c->ents[i];

		ent->flags = (int32_t)rd32(e);
		ent->name = str_at(c, strtab + (uint64_t)rd32(e + 4));
		ent->path = str_at(c, strtab + (uint64_t)rd32(e + 8));
		if (!ent->name || !ent->path)
			return corrupt("entry %zu points outside the file", i);
	}
	return 0;
}

/* The format detection of _dl_load_cache_lookup(): the new format at offset 0 first, then
 * the old format, with the new format after its entries if there is one. */
static int parse(struct ldcache *c)
{
	const char *b = c->buf;
	size_t i;

	c->last_nul = -1;
	for (i = c->len; i-- > 0;) {
		if (b[i] == '\0') {
			c->last_nul = (long)i;
			break;
		}
	}

	/* ld.so wants strictly more than the header, and the entries to fit. */
	if (c->len > NEW_HDR && !memcmp(b, NEW_MAGIC, NEW_MAGIC_LEN))
		return parse_new(c, 0);
	if (c->len > OLD_HDR && !memcmp(b, OLD_MAGIC, OLD_MAGIC_LEN)) {
		uint32_t nlibs = rd32(b + 12);
		size_t off;

		if ((c->len - OLD_HDR) / OLD_ENTRY < nlibs || nlibs > INT_MAX)
			return corrupt("%u entries do not fit in %zu bytes", nlibs, c->len);
		off = OLD_HDR + (size_t)nlibs * OLD_ENTRY;
		off = (off + NEW_ALIGN - 1) & ~(size_t)(NEW_ALIGN - 1);
		if (c->len >= off + NEW_HDR && !memcmp(b + off, NEW_MAGIC, NEW_MAGIC_LEN))
			return parse_new(c, off);
		return parse_old(c, nlibs);
	}
	return corrupt("no cache magic in %zu bytes", c->len);
}

/* Takes @buf (len + 1 bytes) in every case. */
static int parse_owned(char *buf, size_t len, struct ldcache **out)
{
	struct ldcache *c = xcalloc(1, sizeof(*c));
	int ret;

	buf[len] = '\0';
	c->buf = buf;
	c->len = len;
	ret = parse(c);
	if (ret < 0) {
		ldcache_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

int ldcache_parse(const void *data, size_t len, struct ldcache **out)
{
	char *buf = xmalloc(len + 1);

	if (len)
		memcpy(buf, data, len);
	return parse_owned(buf, len, out);
}

int ldcache_open(const char *path, struct ldcache **out)
{
	char *buf = NULL;
	size_t len = 0, alloc = 0;
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		log_debug("cannot open '%s': %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = log_errno(-errno, "cannot stat '%s'", path);
		goto out;
	}
	/* Read to end of file rather than trusting st_size: ldconfig replaces the file by
	 * rename, but a file being written in place would otherwise be cut short. */
	/* One spare byte to see end of file without growing, one for the NUL. */
	alloc = st.st_size > 0 ? (size_t)st.st_size + 2 : 4096;
	buf = xmalloc(alloc);
	for (;;) {
		ssize_t r;

		if (len + 1 >= alloc)
			xgrow(&buf, &alloc, alloc * 2, 1);
		r = read(fd, buf + len, alloc - 1 - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = log_errno(-errno, "cannot read '%s'", path);
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	ret = parse_owned(buf, len, out);
	buf = NULL;
	if (ret < 0)
		log_debug("'%s' is not a usable ld.so.cache", path);
out:
	free(buf);
	close(fd);
	return ret;
}

void ldcache_free(struct ldcache *c)
{
	if (!c)
		return;
	free(c->buf);
	free(c->ents);
	free(c->hwnames);
	free(c);
}

size_t ldcache_count(const struct ldcache *c)
{
	return c ? c->n : 0;
}

static bool hwcap_is_extension(uint64_t hwcap)
{
	/* dl_cache_hwcap_extension(): bit 62 alone in the upper half, apart from the ISA level
	 * bits; the lower half is the index into the glibc-hwcaps section. */
	return ((hwcap >> 32) & ~HWCAP_ISA_LEVEL_MASK) == (HWCAP_EXTENSION >> 32);
}

void ldcache_get(const struct ldcache *c, size_t i, struct ldcache_entry *e)
{
	const struct ldcache_ent *ent = &c->ents[i];
	uint32_t idx = (uint32_t)ent->hwcap;

	e->name = ent->name;
	e->path = ent->path;
	e->flags = ent->flags;
	e->hwcaps = NULL;
	if (c->hwcap_data && hwcap_is_extension(ent->hwcap) && idx < c->nhw)
		e->hwcaps = c->hwnames[idx];
}

/* What ld.so's search_cache() derives from the CPU, recovered from struct hwcaps. */
struct lookup {
	const struct ldcache *c;
	const struct hwcaps *hw;
	int32_t id;         /* the entries' flags this ABI takes */
	uint64_t exclude;   /* legacy hwcap bits this CPU lacks */
	uint64_t platform;  /* 1 << _dl_string_platform(), or all ones if unknown */
	unsigned int isa_1; /* GNU_PROPERTY_X86_ISA_1_* bits of the CPU */
	uint32_t *prio;     /* per glibc-hwcaps index; computed on first use */
};

static void lookup_init(struct lookup *lk, const struct ldcache *c, const struct hwcaps *hw,
			int32_t id)
{
	uint64_t dl_hwcap = HWCAP_X86_64;

	memset(lk, 0, sizeof(*lk));
	lk->c = c;
	lk->hw = hw;
	lk->id = id;
	lk->platform = UINT64_MAX;
	lk->isa_1 = 1; /* baseline: every x86-64 CPU */
	if (id == LDCACHE_ID_I386) {
		/* i386's init_cpu_features() on an x86-64 CPU: HWCAP_X86_SSE2 and platform
		 * "i686" (_dl_x86_platforms[1]); no glibc-hwcaps levels (hw unused) */
		lk->hw = NULL;
		dl_hwcap = HWCAP_X86_SSE2;
		lk->platform = 1ULL << (FIRST_PLATFORM + 1);
	} else if (hw) {
		/* hwcaps_detect() lists "avx512_1" on its own exactly when ld.so sets
		 * HWCAP_X86_AVX512_1, and x86_64 is always set. */
		if (strvec_find(&hw->legacy, "avx512_1") >= 0)
			dl_hwcap |= HWCAP_X86_AVX512_1;
		/* _dl_string_platform() on x86-64 knows only these two (platforms 2 and 3). */
		if (hw->platform && !strcmp(hw->platform, "haswell"))
			lk->platform = 1ULL << (FIRST_PLATFORM + 2);
		else if (hw->platform && !strcmp(hw->platform, "xeon_phi"))
			lk->platform = 1ULL << (FIRST_PLATFORM + 3);
		if (strvec_find(&hw->levels, "x86-64-v2") >= 0)
			lk->isa_1 |= 1 << 1;
		if (strvec_find(&hw->levels, "x86-64-v3") >= 0)
			lk->isa_1 |= 1 << 2;
		if (strvec_find(&hw->levels, "x86-64-v4") >= 0)
			lk->isa_1 |= 1 << 3;
	}
	lk->exclude = ~(dl_hwcap | HWCAP_PLATFORM | HWCAP_TLS);
}

/* glibc_hwcaps_priorities_init(): merge the cache's section (sorted by ldconfig) with the
 * active subdirectories sorted by name, so an unsorted section gets the same partial
 * matches as in ld.so. Priority is the position in hw->levels plus one; 0 = unusable. */
static void compute_priorities(struct lookup *lk)
{
	const struct ldcache *c = lk->c;
	size_t nl = lk->hw ? lk->hw->levels.n : 0, li = 0, ri = 0, i, j;
	size_t *ord = xmalloc((nl ? nl : 1) * sizeof(*ord));
	char **lv = lk->hw ? lk->hw->levels.v : NULL;

	lk->prio = xcalloc(c->nhw, sizeof(*lk->prio));
	/* A stable insertion sort by name, as sort_priorities_by_name() does. */
	for (i = 0; i < nl; i++) {
		for (j = i; j > 0 && strcmp(lv[ord[j - 1]], lv[i]) > 0; j--)
			ord[j] = ord[j - 1];
		ord[j] = i;
	}
	while (li < c->nhw && ri < nl) {
		int cmp;

		/* ld.so does not advance past an offset outside the file (and overruns its
		 * array); we give it priority 0 and go on. */
		if (!c->hwnames[li]) {
			li++;
			continue;
		}
		cmp = strcmp(c->hwnames[li], lv[ord[ri]]);
		if (cmp == 0)
			lk->prio[li++] = (uint32_t)ord[ri++] + 1;
		else if (cmp < 0)
			li++;
		else
			ri++;
	}
	free(ord);
}

static uint32_t hwcaps_priority(struct lookup *lk, uint64_t hwcap)
{
	uint32_t idx = (uint32_t)hwcap;

	if (idx >= lk->c->nhw)
		return 0;
	if (!lk->prio)
		compute_priorities(lk);
	return lk->prio[idx];
}

/* dl_cache_hwcap_isa_level_compatible() from sysdeps/x86: the upper half carries the ISA
 * level ldconfig read from the library's GNU property note. x86 masks 32-bit shift counts
 * to five bits, which is what ld.so's "1 << level" does for a corrupt level. */
static bool isa_level_ok(const struct lookup *lk, uint64_t hwcap)
{
	unsigned int level = (unsigned int)((hwcap >> 32) & HWCAP_ISA_LEVEL_MASK) & 31;
	unsigned int bit = 1U << level;

	return (bit & lk->isa_1) == bit;
}

/*
 * search_cache() of glibc 2.36 elf/dl-cache.c, on the entries in file order. ldconfig sorts
 * them (descending by _dl_cache_libcmp), and this binary search over that order is our
 * index: O(log n) per lookup with no extra structure, and on a cache that is not sorted it
 * misses exactly the names ld.so misses. The legacy-hwcap rules are those of 2.36 (2.37
 * dropped them): an entry whose hwcap bits name something the CPU lacks, or another
 * platform, is skipped. The osversion test is left out: ld.so 2.36 only applies it under
 * LD_ASSUME_KERNEL-style overrides, and ldconfig writes versions below any running kernel.
 */
static const char *search(struct lookup *lk, const char *name)
{
	const struct ldcache *c = lk->c;
	long left = 0, right = (long)c->n - 1;
	const char *best = NULL;
	uint32_t best_prio = 0;

	while (left <= right) {
		long middle = left + (right - left) / 2;
		int cmp = libcmp(name, c->ents[middle].name);

		if (cmp == 0) {
			/* Back up to the first entry with this name, then walk forward. */
			left = middle;
			while (middle > 0 && libcmp(name, c->ents[middle - 1].name) == 0)
				middle--;
			do {
				const struct ldcache_ent *e = &c->ents[middle];
				bool named = false;

				if (middle > left && libcmp(name, e->name) != 0)
					break;
				/* _dl_cache_check_flags(): x86-64's takes its own flags only,
				 * i386's (the generic one) FLAG_ELF too */
				if (e->flags != lk->id &&
				    !(lk->id == LDCACHE_ID_I386 && e->flags == 1))
					continue;
				if (c->hwcap_data) {
					named = hwcap_is_extension(e->hwcap);
					if (named && !isa_level_ok(lk, e->hwcap))
						continue;
					/* ldconfig puts glibc-hwcaps entries first, so the first
					 * plain entry ends the search once there is a match. */
					if (!named && best)
						break;
					if (!named && (e->hwcap & lk->exclude))
						continue;
					if ((e->hwcap & HWCAP_PLATFORM) &&
					    (e->hwcap & HWCAP_PLATFORM) != lk->platform)
						continue;
					if (named) {
						uint32_t p = hwcaps_priority(lk, e->hwcap);

						if (p == 0 || (best && p >= best_prio))
							continue;
						best_prio = p;
					}
				}
				best = e->path;
				if (!named)
					break;
			} while (++middle <= right);
			break;
		}
		if (cmp < 0)
			left = middle + 1;
		else
			right = middle - 1;
	}
	return best;
}

const char *ldcache_lookup(const struct ldcache *c, const char *name, const struct hwcaps *hw,
			   int32_t id)
{
	struct lookup lk;
	const char *ret;

	if (!c || !name || !c->n)
		return NULL;
	lookup_init(&lk, c, hw, id);
	ret = search(&lk, name);
	free(lk.prio);
	return ret;
}

/* ldconfig's compare() for entries without hwcap: descending by _dl_cache_libcmp, then by
 * flags, higher first (@ids, NULL: all equal). Ties keep input order, as ldconfig's sorted
 * insertion keeps them in the order it found them. */
static int write_cmp(const char *const *names, const int32_t *ids, size_t a, size_t b)
{
	int r = libcmp(names[b], names[a]);

	if (r)
		return r;
	if (ids && ids[a] != ids[b])
		return ids[a] > ids[b] ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* A merge sort of indices: stable, and well defined for any comparator (qsort is not). */
static void sort_indices(const char *const *names, const int32_t *ids, size_t *idx, size_t *tmp,
			 size_t n)
{
	size_t mid = n / 2, i = 0, j = mid, k = 0;

	if (n < 2)
		return;
	sort_indices(names, ids, idx, tmp, mid);
	sort_indices(names, ids, idx + mid, tmp, n - mid);
	while (i < mid && j < n)
		tmp[k++] = write_cmp(names, ids, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
	while (i < mid)
		tmp[k++] = idx[i++];
	while (j < n)
		tmp[k++] = idx[j++];
	memcpy(idx, tmp, n * sizeof(*idx));
}

static void put32(struct strbuf *sb, uint32_t v)
{
	char b[4] = { (char)v, (char)(v >> 8), (char)(v >> 16), (char)(v >> 24) };

	strbuf_add(sb, b, sizeof(b));
}

void ldcache_write(const char *const *names, const char *const *paths, const int32_t *ids,
		   size_t n, struct strbuf *out)
{
	size_t *idx = xmalloc((n ? n : 1) * sizeof(*idx));
	size_t *tmp = xmalloc((n ? n : 1) * sizeof(*tmp));
	uint64_t strtab = NEW_HDR + (uint64_t)n * NEW_ENTRY, strlen_total = 0, off;
	size_t i;

	for (i = 0; i < n; i++) {
		idx[i] = i;
		strlen_total += strlen(names[i]) + 1 + strlen(paths[i]) + 1;
	}
	/* A 48-byte file is "too short" for ld.so, so an empty cache gets one NUL of strings. */
	if (n == 0)
		strlen_total = 1;
	/* Offsets are 32-bit; a cache this large could not have been held in memory anyway. */
	if (strtab + strlen_total > UINT32_MAX)
		die("ld.so.cache with %zu entries exceeds 4 GiB", n);
	sort_indices(names, ids, idx, tmp, n);

	strbuf_add(out, NEW_MAGIC, NEW_MAGIC_LEN);
	put32(out, (uint32_t)n);
	put32(out, (uint32_t)strlen_total);
	put32(out, ENDIAN_LITTLE); /* flags, then three bytes of padding */
	put32(out, 0);             /* extension_offset: none */
	put32(out, 0);
	put32(out, 0);
	put32(out, 0);

	off = strtab;
	for (i = 0; i < n; i++) {
		size_t k = idx[i];
		uint64_t name_off = off, path_off = off + strlen(names[k]) + 1;

		off = path_off + strlen(paths[k]) + 1;
		put32(out, (uint32_t)(ids ? ids[k] : LDCACHE_ID_X86_64));
		put32(out, (uint32_t)name_off);
		put32(out, (uint32_t)path_off);
		put32(out, 0); /* osversion */
		put32(out, 0); /* hwcap, low and high */
		put32(out, 0);
	}
	for (i = 0; i < n; i++) {
		strbuf_add(out, names[idx[i]], strlen(names[idx[i]]) + 1);
		strbuf_add(out, paths[idx[i]], strlen(paths[idx[i]]) + 1);
	}
	if (n == 0)
		strbuf_addch(out, '\0');
	free(idx);
	free(tmp);
}
