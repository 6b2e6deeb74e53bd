/* SPDX-License-Identifier: MIT */
/* Reliability cases also covered here: LIB-08. */
/* tests/unit/test_ldcache.c - ld.so.cache reading against `ldconfig -p`, writing against the
 * real ld.so (in a chroot, as root), and corrupt input. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hwcaps.h"
#include "ldcache.h"
#include "strbuf.h"
#include "tap.h"
#include "xalloc.h"

#define SYS_CACHE "/etc/ld.so.cache"
#define X8664 0x0303

static bool ci(void)
{
	const char *v = getenv("CI");

	return v && !strcmp(v, "true");
}

/* A skip that is a failure under CI=true, where every capability is present. */
static void skip_or_fail(const char *reason)
{
	if (ci())
		ok(0, "not skipped under CI=true: %s", reason);
	else
		skip(reason);
}

/* ---- reading files and running programs ---- */

static int read_file(const char *path, struct strbuf *sb)
{
	char buf[8192];
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		strbuf_add(sb, buf, (size_t)r);
	close(fd);
	return r < 0 ? -EIO : 0;
}

static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	bool good;

	if (fd < 0)
		return -errno;
	good = write(fd, data, len) == (ssize_t)len;
	close(fd);
	return good ? 0 : -EIO;
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
	struct strbuf sb = STRBUF_INIT;
	int ret;

	strbuf_init(&sb);
	ret = read_file(from, &sb);
	if (!ret)
		ret = write_file(to, sb.buf, sb.len, mode);
	strbuf_release(&sb);
	return ret;
}

/* Run @argv (PATH search), output discarded. Returns the exit status, or -1. */
static int run(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void mkdirs(const char *root, const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel), *s;

	for (s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
	free(p);
}

/* ---- `ldconfig -p` ---- */

struct ldp_entry {
	char *name, *desc, *path;
};

struct ldp {
	struct ldp_entry *e;
	size_t n, alloc;
	long count; /* from "N libs found in cache" */
};

static void ldp_release(struct ldp *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->e[i].name);
		free(l->e[i].desc);
		free(l->e[i].path);
	}
	free(l->e);
}

/* Lines look like "\tNAME (libc6,x86-64[, hwcap: \"x86-64-v3\"]) => PATH". */
static int ldconfig_p(const char *cache, struct ldp *l)
{
	char cmd[512], *line = NULL;
	size_t cap = 0;
	FILE *f;

	memset(l, 0, sizeof(*l));
	l->count = -1;
	snprintf(cmd, sizeof(cmd),
		 "PATH=$PATH:/sbin:/usr/sbin; ldconfig -p -C '%s' 2>/dev/null", cache);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		char *open_paren, *arrow;
		struct ldp_entry *e;

		if (line[0] != '\t') {
			if (strstr(line, "libs found in cache"))
				l->count = strtol(line, NULL, 10);
			continue;
		}
		line[strcspn(line, "\n")] = '\0';
		open_paren = strstr(line, " (");
		arrow = strstr(line, ") => ");
		if (!open_paren || !arrow || arrow < open_paren)
			continue;
		xgrow(&l->e, &l->alloc, l->n + 1, sizeof(*l->e));
		e = &l->e[l->n++];
		e->name = xstrndup(line + 1, (size_t)(open_paren - line - 1));
		e->desc = xstrndup(open_paren + 2, (size_t)(arrow - open_paren - 2));
		e->path = xstrdup(arrow + 5);
	}
	free(line);
	return pclose(f) == 0 && l->count >= 0 ? 0 : -1;
}

/* The part of print_entry() in ldconfig's elf/cache.c that we can reproduce. */
static char *describe(const struct ldcache_entry *e)
{
	static const char *const type[] = { "libc4", "ELF", "libc5", "libc6" };
	struct strbuf sb = STRBUF_INIT;
	int t = e->flags & 0xff, req = e->flags & 0xff00;

	strbuf_init(&sb);
	strbuf_adds(&sb, t < 4 ? type[t] : "unknown");
	if (req == 0x0300)
		strbuf_adds(&sb, ",x86-64");
	else if (req == 0x0800)
		strbuf_adds(&sb, ",x32");
	else if (req)
		strbuf_addf(&sb, ",%d", req);
	if (e->hwcaps)
		strbuf_addf(&sb, ", hwcap: \"%s\"", e->hwcaps);
	return strbuf_detach(&sb);
}

/* Compare every entry of @c with `ldconfig -p -C @file`. Returns -1 if ldconfig is absent. */
static int compare_with_ldconfig(const struct ldcache *c, const char *file, const char *what)
{
	struct ldp l;
	size_t i, bad = SIZE_MAX;

	if (ldconfig_p(file, &l) < 0) {
		ldp_release(&l);
		return -1;
	}
	is_int(ldcache_count(c), l.count, "%s: entry count as ldconfig -p", what);
	is_int(l.n, l.count, "%s: ldconfig -p printed every entry", what);
	for (i = 0; i < l.n && i < ldcache_count(c) && bad == SIZE_MAX; i++) {
		struct ldcache_entry e;
		char *desc;
		size_t dl;

		ldcache_get(c, i, &e);
		desc = describe(&e);
		/* Legacy hwcap entries print a raw hwcap value we do not expose. */
		dl = strlen(desc);
		if (strcmp(e.name, l.e[i].name) || strcmp(e.path, l.e[i].path) ||
		    (strcmp(desc, l.e[i].desc) &&
		     !(e.hwcaps == NULL && !strncmp(desc, l.e[i].desc, dl) &&
		       !strncmp(l.e[i].desc + dl, ", hwcap: 0x", 11))))
			bad = i;
		free(desc);
	}
	if (!ok(bad == SIZE_MAX, "%s: every entry equals ldconfig -p (name, flags, hwcaps, path)",
		what)) {
		struct ldcache_entry e;

		ldcache_get(c, bad, &e);
		printf("#   entry %zu: ours '%s' => '%s', ldconfig '%s (%s) => %s'\n", bad, e.name,
		       e.path, l.e[bad].name, l.e[bad].desc, l.e[bad].path);
	}
	ldp_release(&l);
	return 0;
}

/* ---- (a), (b): the system cache ---- */

static void test_system_cache(const struct hwcaps *hw)
{
	static const char *const names[] = { "libc.so.6", "libz.so.1", "libm.so.6" };
	struct ldcache *c = NULL;
	struct ldp l;
	size_t i, j, checked = 0, wrong = 0;
	int ret;

	ret = ldcache_open(SYS_CACHE, &c);
	if (ret == -ENOENT) {
		skip_or_fail(SYS_CACHE " does not exist");
		return;
	}
	is_int(ret, 0, "ldcache_open(" SYS_CACHE ")");
	if (ret < 0)
		return;
	if (compare_with_ldconfig(c, SYS_CACHE, SYS_CACHE) < 0 || ldconfig_p(SYS_CACHE, &l) < 0) {
		skip_or_fail("ldconfig -p does not work");
		ldcache_free(c);
		return;
	}

	/* ld.so takes the first "(libc6,x86-64)" entry without hwcaps for a name. */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *want = NULL;

		for (j = 0; j < l.n && !want; j++)
			if (!strcmp(l.e[j].name, names[i]) && !strcmp(l.e[j].desc, "libc6,x86-64"))
				want = l.e[j].path;
		if (!want) {
			skip("name not in the system cache");
			continue;
		}
		is_str(ldcache_lookup(c, names[i], hw, LDCACHE_ID_X86_64), want, "lookup %s as ldconfig -p lists it",
		       names[i]);
	}
	/* The same for every name that has no glibc-hwcaps or legacy-hwcap variant. */
	for (i = 0; i < l.n; i++) {
		const char *want = NULL, *got;
		bool plain = true;

		for (j = 0; j < l.n; j++) {
			if (strcmp(l.e[j].name, l.e[i].name))
				continue;
			if (strstr(l.e[j].desc, "hwcap"))
				plain = false;
			else if (!want && !strcmp(l.e[j].desc, "libc6,x86-64"))
				want = l.e[j].path;
		}
		if (!plain)
			continue;
		got = ldcache_lookup(c, l.e[i].name, hw, LDCACHE_ID_X86_64);
		checked++;
		if (!(got == want || (got && want && !strcmp(got, want)))) {
			if (!wrong++)
				printf("#   %s: got %s, want %s\n", l.e[i].name,
				       got ? got : "(null)", want ? want : "(null)");
		}
	}
	ok(checked > 0 && wrong == 0, "lookup of all %zu names agrees with ldconfig -p", checked);
	ok(ldcache_lookup(c, "libmagicpak-no-such-library.so.1", hw, LDCACHE_ID_X86_64) == NULL,
	   "a missing name gives NULL");
	ldp_release(&l);
	ldcache_free(c);
}

/* Writing the system cache's x86-64 entries back, from a shuffled order, must reproduce
 * ldconfig's order exactly: that is the order ld.so's binary search was tested against. */
static void test_sort_like_ldconfig(void)
{
	struct ldcache *c = NULL, *w = NULL;
	struct strbuf out = STRBUF_INIT;
	const char **names, **paths;
	size_t n = 0, i, k, total, bad = SIZE_MAX;

	if (ldcache_open(SYS_CACHE, &c) < 0) {
		skip_or_fail("no readable " SYS_CACHE);
		return;
	}
	total = ldcache_count(c);
	names = xcalloc(total + 1, sizeof(*names));
	paths = xcalloc(total + 1, sizeof(*paths));
	/* A fixed shuffle: walk with a stride coprime to the count. */
	for (k = 0, i = 0; k < total; k++, i = (i + 7919) % total) {
		struct ldcache_entry e;

		ldcache_get(c, i, &e);
		if (e.flags != X8664 || e.hwcaps)
			continue;
		names[n] = e.name;
		paths[n] = e.path;
		n++;
	}
	strbuf_init(&out);
	ldcache_write(names, paths, NULL, n, &out);
	is_int(ldcache_parse(out.buf, out.len, &w), 0, "rewritten system cache parses");
	if (w) {
		size_t j = 0;

		for (i = 0; i < total && bad == SIZE_MAX; i++) {
			struct ldcache_entry e, f;

			ldcache_get(c, i, &e);
			if (e.flags != X8664 || e.hwcaps)
				continue;
			ldcache_get(w, j++, &f);
			if (strcmp(e.name, f.name))
				bad = i;
		}
		if (!ok(bad == SIZE_MAX && j == ldcache_count(w),
			"%zu entries come out in ldconfig's order", n))
			printf("#   first difference at system entry %zu\n", bad);
	}
	ldcache_free(w);
	ldcache_free(c);
	strbuf_release(&out);
	free(names);
	free(paths);
}

/* ---- (c) round trip ---- */

static const char *const rt_names[] = {
	"libfoo.so.1", "libfoo.so.10", "libfoo.so.9", "libfoo.so.2.0", "libbar-2.so",
	"libbar-10.so", "libA.so", "liba.so", "lib.so", "libx.so.1.2.3", "libx.so.1.2.10",
	"libc.so.6", "ld-linux-x86-64.so.2", "libfoo.so", "libz.so.1",
};
#define RT_N (sizeof(rt_names) / sizeof(rt_names[0]))

static void test_round_trip(const struct hwcaps *hw)
{
	const char *names[RT_N], *paths[RT_N], *rnames[RT_N], *rpaths[RT_N];
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	struct ldcache *c = NULL;
	char file[] = "/tmp/magicpak-ldcache-XXXXXX";
	size_t i, good = 0;
	int fd;

	for (i = 0; i < RT_N; i++) {
		names[i] = rt_names[i];
		paths[i] = xasprintf("/lib/rt/%s", rt_names[i]);
		rnames[RT_N - 1 - i] = names[i];
		rpaths[RT_N - 1 - i] = paths[i];
	}
	strbuf_init(&a);
	strbuf_init(&b);
	ldcache_write(names, paths, NULL, RT_N, &a);
	ldcache_write(rnames, rpaths, NULL, RT_N, &b);
	ok(a.len == b.len && !memcmp(a.buf, b.buf, a.len), "output does not depend on input order");
	ok(a.len > 20 && !memcmp(a.buf, "glibc-ld.so.cache1.1", 20), "new-format magic");

	is_int(ldcache_parse(a.buf, a.len, &c), 0, "written cache parses");
	if (c) {
		is_int(ldcache_count(c), RT_N, "entry count");
		for (i = 0; i < RT_N; i++) {
			const char *got = ldcache_lookup(c, names[i], hw, LDCACHE_ID_X86_64);

			good += got && !strcmp(got, paths[i]);
		}
		is_int(good, RT_N, "every name looks up to its path");
		for (i = 0, good = 0; i < ldcache_count(c); i++) {
			struct ldcache_entry e;

			ldcache_get(c, i, &e);
			good += e.flags == X8664 && !e.hwcaps;
		}
		is_int(good, RT_N, "every entry has flags 0x0303 and no hwcaps");
		/* _dl_cache_libcmp compares numbers, so leading zeros do not matter to ld.so. */
		is_str(ldcache_lookup(c, "libfoo.so.01", hw, LDCACHE_ID_X86_64), "/lib/rt/libfoo.so.1",
		       "libfoo.so.01 finds libfoo.so.1, as in ld.so");
		ok(!ldcache_lookup(c, "libfoo.so.3", hw, LDCACHE_ID_X86_64), "libfoo.so.3 is not there");
		ldcache_free(c);
	}

	/* ldconfig itself reads what we wrote. */
	fd = mkstemp(file);
	if (fd < 0 || write(fd, a.buf, a.len) != (ssize_t)a.len) {
		skip("cannot write a temporary file");
	} else if (ldcache_parse(a.buf, a.len, &c) == 0) {
		if (compare_with_ldconfig(c, file, "written cache") < 0)
			skip_or_fail("ldconfig -p does not work");
		ldcache_free(c);
	}
	if (fd >= 0) {
		close(fd);
		unlink(file);
	}

	strbuf_reset(&a);
	ldcache_write(NULL, NULL, NULL, 0, &a);
	c = NULL;
	is_int(ldcache_parse(a.buf, a.len, &c), 0, "an empty written cache is still a cache");
	is_int(ldcache_count(c), 0, "with no entries");
	ok(!ldcache_lookup(c, "libc.so.6", hw, LDCACHE_ID_X86_64), "and finds nothing");
	ldcache_free(c);

	for (i = 0; i < RT_N; i++)
		free((char *)paths[i]);
	strbuf_release(&a);
	strbuf_release(&b);
}

/* ---- hand-made caches: old format, hwcaps extension, legacy hwcaps, corruption ---- */

struct raw {
	int32_t flags;
	const char *name, *path;
	uint64_t hwcap;
};

static void put32(struct strbuf *sb, uint32_t v)
{
	char b[4] = { (char)v, (char)(v >> 8), (char)(v >> 16), (char)(v >> 24) };

	strbuf_add(sb, b, 4);
}

static void put64(struct strbuf *sb, uint64_t v)
{
	put32(sb, (uint32_t)v);
	put32(sb, (uint32_t)(v >> 32));
}

static void set32(struct strbuf *sb, size_t at, uint32_t v)
{
	sb->buf[at] = (char)v;
	sb->buf[at + 1] = (char)(v >> 8);
	sb->buf[at + 2] = (char)(v >> 16);
	sb->buf[at + 3] = (char)(v >> 24);
}

enum layout { NEW_ONLY, OLD_ONLY, OLD_AND_NEW };

/* A cache laid out as ldconfig does, entries in the given order; @hw names the glibc-hwcaps
 * section (an entry refers to index i with hwcap = 1 << 62 | i). */
static void build(struct strbuf *sb, enum layout lay, const struct raw *e, size_t n,
		  const char *const *hw, size_t nhw)
{
	struct strbuf blob = STRBUF_INIT;
	size_t *noff = xcalloc(n + 1, sizeof(*noff)), *poff = xcalloc(n + 1, sizeof(*poff));
	size_t *hoff = xcalloc(nhw + 1, sizeof(*hoff));
	size_t i, old_end = 16 + 12 * n, base = 0, strings, ext;

	strbuf_init(&blob);
	for (i = 0; i < n; i++) {
		noff[i] = blob.len;
		strbuf_add(&blob, e[i].name, strlen(e[i].name) + 1);
		poff[i] = blob.len;
		strbuf_add(&blob, e[i].path, strlen(e[i].path) + 1);
	}
	for (i = 0; i < nhw; i++) {
		hoff[i] = blob.len;
		strbuf_add(&blob, hw[i], strlen(hw[i]) + 1);
	}

	if (lay != NEW_ONLY) {
		strbuf_add(sb, "ld.so-1.7.0", 12);
		put32(sb, (uint32_t)n);
		/* Old offsets count from the end of the old entries. */
		strings = 0;
		if (lay == OLD_AND_NEW)
			strings = ((old_end + 7) & ~(size_t)7) - old_end + 48 + 24 * n;
		for (i = 0; i < n; i++) {
			put32(sb, (uint32_t)e[i].flags);
			put32(sb, (uint32_t)(strings + noff[i]));
			put32(sb, (uint32_t)(strings + poff[i]));
		}
		if (lay == OLD_ONLY) {
			strbuf_add(sb, blob.buf, blob.len);
			goto out;
		}
		while (sb->len % 8)
			strbuf_addch(sb, '\0');
	}
	base = sb->len;
	strings = 48 + 24 * n; /* relative to the new header */
	ext = (base + strings + blob.len + 3) & ~(size_t)3;
	strbuf_add(sb, "glibc-ld.so.cache1.1", 20);
	put32(sb, (uint32_t)n);
	put32(sb, (uint32_t)blob.len);
	put32(sb, 2);
	put32(sb, nhw ? (uint32_t)ext : 0);
	put32(sb, 0);
	put32(sb, 0);
	put32(sb, 0);
	for (i = 0; i < n; i++) {
		put32(sb, (uint32_t)e[i].flags);
		put32(sb, (uint32_t)(strings + noff[i]));
		put32(sb, (uint32_t)(strings + poff[i]));
		put32(sb, 0);
		put64(sb, e[i].hwcap);
	}
	strbuf_add(sb, blob.buf, blob.len);
	if (nhw) {
		while (sb->len % 4)
			strbuf_addch(sb, '\0');
		put32(sb, (uint32_t)-358342284);
		put32(sb, 1);
		put32(sb, 1); /* cache_extension_tag_glibc_hwcaps */
		put32(sb, 0);
		put32(sb, (uint32_t)(sb->len + 8));
		put32(sb, (uint32_t)(4 * nhw));
		for (i = 0; i < nhw; i++) /* file offsets */
			put32(sb, (uint32_t)(base + strings + hoff[i]));
	}
out:
	strbuf_release(&blob);
	free(noff);
	free(poff);
	free(hoff);
}

/* Sorted as ldconfig sorts: names descending, higher flags first, glibc-hwcaps entries
 * first by subdirectory name, then legacy hwcaps by number of bits, then by value, both
 * descending (so "tls", bit 63, comes before a platform). */
static const struct raw hw_ents[] = {
	{ X8664, "libfoo.so.1", "/hwcaps/v2/libfoo.so.1", 1ULL << 62 | 0 },
	{ X8664, "libfoo.so.1", "/hwcaps/v3/libfoo.so.1", 1ULL << 62 | 1 },
	{ X8664, "libfoo.so.1", "/hwcaps/v4/libfoo.so.1", 1ULL << 62 | 2 },
	{ X8664, "libfoo.so.1", "/plain/libfoo.so.1", 0 },
	{ 0x0003, "libfoo.so.1", "/lib32/libfoo.so.1", 0 },
	{ X8664, "libbaz.so.3", "/xeon_phi/libbaz.so.3", 1ULL << (48 + 3) },
	{ X8664, "libbaz.so.3", "/weird-bit/libbaz.so.3", 1ULL << 5 },
	{ X8664, "libbaz.so.3", "/plain/libbaz.so.3", 0 },
	{ X8664, "libbar.so.2", "/haswell/avx512_1/libbar.so.2",
	  1ULL << (48 + 2) | 1ULL << 2 },
	{ X8664, "libbar.so.2", "/tls/libbar.so.2", 1ULL << 63 },
	{ X8664, "libbar.so.2", "/haswell/libbar.so.2", 1ULL << (48 + 2) },
	{ X8664, "libbar.so.2", "/plain/libbar.so.2", 0 },
	{ X8664, "libabi.so.1", "/isa-v4/libabi.so.1", 1ULL << 62 | 3ULL << 32 | 1 },
	{ X8664, "libabi.so.1", "/plain/libabi.so.1", 0 },
};
static const char *const hw_names[] = { "x86-64-v2", "x86-64-v3", "x86-64-v4" };
#define HW_N (sizeof(hw_ents) / sizeof(hw_ents[0]))

static void fake_hw(struct hwcaps *hw, const char *levels, const char *platform, bool avx512)
{
	char *l = xstrdup(levels), *tok, *save = NULL;

	strvec_init(&hw->levels);
	strvec_init(&hw->legacy);
	strvec_init(&hw->legacy32);
	for (tok = strtok_r(l, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		strvec_push(&hw->levels, tok);
	free(l);
	if (avx512)
		strvec_push(&hw->legacy, "avx512_1");
	strvec_push(&hw->legacy, "x86_64");
	hw->platform = xstrdup(platform);
}

static void test_hwcaps_entries(void)
{
	struct strbuf sb = STRBUF_INIT;
	struct ldcache *c = NULL;
	struct hwcaps hw;
	char file[] = "/tmp/magicpak-ldcache-XXXXXX";
	int fd;

	strbuf_init(&sb);
	build(&sb, NEW_ONLY, hw_ents, HW_N, hw_names, 3);
	is_int(ldcache_parse(sb.buf, sb.len, &c), 0, "cache with glibc-hwcaps extension parses");
	if (!c)
		goto out;
	{
		struct ldcache_entry e;

		ldcache_get(c, 1, &e);
		is_str(e.hwcaps, "x86-64-v3", "entry 1 is in glibc-hwcaps/x86-64-v3");
		ldcache_get(c, 3, &e);
		is_str(e.hwcaps, NULL, "entry 3 has no hwcaps subdirectory");
	}
	fd = mkstemp(file);
	if (fd >= 0 && write(fd, sb.buf, sb.len) == (ssize_t)sb.len) {
		if (compare_with_ldconfig(c, file, "hand-made hwcaps cache") < 0)
			skip_or_fail("ldconfig -p does not work");
	}
	if (fd >= 0) {
		close(fd);
		unlink(file);
	}

	fake_hw(&hw, "x86-64-v4,x86-64-v3,x86-64-v2", "haswell", true);
	is_str(ldcache_lookup(c, "libfoo.so.1", &hw, LDCACHE_ID_X86_64), "/hwcaps/v4/libfoo.so.1",
	       "v4 CPU: the best glibc-hwcaps entry wins");
	is_str(ldcache_lookup(c, "libbar.so.2", &hw, LDCACHE_ID_X86_64), "/haswell/avx512_1/libbar.so.2",
	       "legacy entry for haswell+avx512_1 is taken on such a CPU");
	is_str(ldcache_lookup(c, "libbaz.so.3", &hw, LDCACHE_ID_X86_64), "/plain/libbaz.so.3",
	       "unknown hwcap bits and another platform are skipped");
	is_str(ldcache_lookup(c, "libabi.so.1", &hw, LDCACHE_ID_X86_64), "/isa-v4/libabi.so.1",
	       "ISA level v4 entry usable with v4");
	hwcaps_release(&hw);

	fake_hw(&hw, "x86-64-v3,x86-64-v2", "haswell", false);
	is_str(ldcache_lookup(c, "libfoo.so.1", &hw, LDCACHE_ID_X86_64), "/hwcaps/v3/libfoo.so.1",
	       "v3 CPU: x86-64-v3 beats x86-64-v2, v4 unusable");
	is_str(ldcache_lookup(c, "libbar.so.2", &hw, LDCACHE_ID_X86_64), "/tls/libbar.so.2",
	       "without avx512_1 the next usable entry, tls, is taken");
	is_str(ldcache_lookup(c, "libabi.so.1", &hw, LDCACHE_ID_X86_64), "/plain/libabi.so.1",
	       "ISA level v4 entry skipped without v4");
	hwcaps_release(&hw);

	fake_hw(&hw, "x86-64-v2,x86-64-v3", "x86_64", false);
	is_str(ldcache_lookup(c, "libfoo.so.1", &hw, LDCACHE_ID_X86_64), "/hwcaps/v2/libfoo.so.1",
	       "priority follows the order of hw->levels");
	is_str(ldcache_lookup(c, "libbar.so.2", &hw, LDCACHE_ID_X86_64), "/tls/libbar.so.2",
	       "platform x86_64: the tls entry is usable");
	hwcaps_release(&hw);

	fake_hw(&hw, "", "x86_64", false);
	is_str(ldcache_lookup(c, "libfoo.so.1", &hw, LDCACHE_ID_X86_64), "/plain/libfoo.so.1",
	       "no levels: the plain entry");
	hwcaps_release(&hw);
	is_str(ldcache_lookup(c, "libfoo.so.1", NULL, LDCACHE_ID_X86_64), "/plain/libfoo.so.1",
	       "NULL hwcaps: the plain entry");
	ldcache_free(c);
	c = NULL;

	/* ld.so binary-searches the file order and so do we: in an ascending (wrong) order
	 * only the middle entry of three can be found. */
	{
		static const struct raw asc[] = {
			{ X8664, "liba.so.1", "/a", 0 },
			{ X8664, "libb.so.1", "/b", 0 },
			{ X8664, "libc.so.1", "/c", 0 },
		};

		strbuf_reset(&sb);
		build(&sb, NEW_ONLY, asc, 3, NULL, 0);
		if (ldcache_parse(sb.buf, sb.len, &c) == 0)
			ok(!ldcache_lookup(c, "liba.so.1", NULL, LDCACHE_ID_X86_64) &&
				   !ldcache_lookup(c, "libc.so.1", NULL, LDCACHE_ID_X86_64) &&
				   ldcache_lookup(c, "libb.so.1", NULL, LDCACHE_ID_X86_64),
			   "a mis-sorted cache misses names as ld.so's binary search does");
		ldcache_free(c);
	}
out:
	strbuf_release(&sb);
}

static const struct raw old_ents[] = {
	{ X8664, "libz.so.1", "/old/libz.so.1", 0 },
	{ 0x0003, "libm.so.6", "/old32/libm.so.6", 0 },
	{ X8664, "libm.so.6", "/old/libm.so.6", 0 },
	{ X8664, "libc.so.6", "/old/libc.so.6", 0 },
};

static void test_old_formats(void)
{
	struct strbuf sb = STRBUF_INIT;
	struct ldcache *c = NULL;
	struct ldcache_entry e;

	strbuf_init(&sb);
	build(&sb, OLD_ONLY, old_ents, 4, NULL, 0);
	is_int(ldcache_parse(sb.buf, sb.len, &c), 0, "old format alone parses (ld.so reads it)");
	is_int(ldcache_count(c), 4, "with its 4 entries");
	is_str(ldcache_lookup(c, "libm.so.6", NULL, LDCACHE_ID_X86_64), "/old/libm.so.6",
	       "old format: lookup skips the 32-bit entry");
	ldcache_free(c);
	c = NULL;

	/* nlibs larger than the file in the old header. */
	set32(&sb, 12, 1000);
	is_int(ldcache_parse(sb.buf, sb.len, &c), -EINVAL, "old format with nlibs too large");
	set32(&sb, 12, 4);
	set32(&sb, 16 + 4, (uint32_t)sb.len);
	is_int(ldcache_parse(sb.buf, sb.len, &c), -EINVAL, "old format with offset past the end");

	strbuf_reset(&sb);
	build(&sb, OLD_AND_NEW, old_ents, 3, NULL, 0);
	is_int(ldcache_parse(sb.buf, sb.len, &c), 0, "old format followed by the new one parses");
	if (c) {
		ldcache_get(c, 2, &e);
		is_str(e.path, "/old/libm.so.6", "new-format offsets count from the new header");
		is_str(ldcache_lookup(c, "libz.so.1", NULL, LDCACHE_ID_X86_64), "/old/libz.so.1", "and lookups work");
	}
	ldcache_free(c);
	strbuf_release(&sb);
}

static void test_corrupt(void)
{
	static const struct raw ents[] = {
		{ X8664, "libz.so.1", "/lib/libz.so.1", 0 },
		{ X8664, "libc.so.6", "/lib/libc.so.6", 0 },
	};
	struct strbuf good = STRBUF_INIT, sb = STRBUF_INIT, sys = STRBUF_INIT;
	struct ldcache *c = NULL;
	size_t len, i, accepted = 0;
	unsigned int seed = 12345;

	strbuf_init(&good);
	strbuf_init(&sb);
	strbuf_init(&sys);
	build(&good, NEW_ONLY, ents, 2, NULL, 0);

	is_int(ldcache_parse(NULL, 0, &c), -EINVAL, "empty input");
	is_int(ldcache_parse(good.buf, 37, &c), -EINVAL, "37 bytes");
	is_int(ldcache_parse(good.buf, 48, &c), -EINVAL, "a bare 48-byte header: ld.so wants more");
	if (read_file(SYS_CACHE, &sys) == 0 && sys.len > 100) {
		is_int(ldcache_parse(sys.buf, sys.len / 2, &c), -EINVAL,
		       "system cache truncated at half");
		is_int(ldcache_parse(sys.buf, sys.len, &c), 0, "the untruncated one is fine");
		ldcache_free(c);
		c = NULL;
	} else {
		skip("no system cache");
		skip("no system cache");
	}

	strbuf_reset(&sb);
	strbuf_add(&sb, good.buf, good.len);
	set32(&sb, 20, 1U << 31);
	is_int(ldcache_parse(sb.buf, sb.len, &c), -EINVAL, "nlibs = 2^31");
	set32(&sb, 20, UINT32_MAX);
	is_int(ldcache_parse(sb.buf, sb.len, &c), -EINVAL, "nlibs = 2^32 - 1");
	set32(&sb, 20, (uint32_t)((sb.len - 48) / 24 + 1));
	is_int(ldcache_parse(sb.buf, sb.len, &c), -EINVAL, "nlibs one more than fits");

	strbuf_reset(&sb);
	strbuf_add(&sb, good.buf, good.len);
	set32(&sb, 48 + 4, (uint32_t)sb.len);
	is_int(ldcache_parse(sb.buf, sb.len, &c), -EINVAL, "key offset at the end of the file");
	set32(&sb, 48 + 4, UINT32_MAX);
	is_int(ldcache_parse(sb.buf, sb.len, &c), -EINVAL, "key offset 2^32 - 1");
	strbuf_reset(&sb);
	strbuf_add(&sb, good.buf, good.len);
	set32(&sb, 48 + 24 + 8, (uint32_t)sb.len + 1000);
	is_int(ldcache_parse(sb.buf, sb.len, &c), -EINVAL, "path offset past the end");
	is_int(ldcache_parse(good.buf, good.len - 1, &c), -EINVAL,
	       "last string without its NUL");

	strbuf_reset(&sb);
	strbuf_add(&sb, good.buf, good.len);
	sb.buf[28] = 3;
	is_int(ldcache_parse(sb.buf, sb.len, &c), -EINVAL, "big-endian flag");
	sb.buf[28] = 0;
	is_int(ldcache_parse(sb.buf, sb.len, &c), 0, "unknown endianness is accepted");
	ldcache_free(c);
	c = NULL;

	strbuf_reset(&sb);
	strbuf_add(&sb, "ld.so-1.7.0", 11);
	is_int(ldcache_parse(sb.buf, sb.len, &c), -EINVAL, "old magic alone");
	strbuf_reset(&sb);
	strbuf_add(&sb, "garbage garbage garbage garbage garbage garbage garbage", 55);
	is_int(ldcache_parse(sb.buf, sb.len, &c), -EINVAL, "no magic");

	/* Every truncation and random corruption of a cache with an extension: never a
	 * crash (run under ASan/UBSan), and lookups in whatever parses stay inside it. */
	strbuf_reset(&sb);
	build(&sb, NEW_ONLY, hw_ents, HW_N, hw_names, 3);
	for (len = 0; len <= sb.len; len++) {
		if (ldcache_parse(sb.buf, len, &c) == 0) {
			accepted++;
			ldcache_lookup(c, "libfoo.so.1", NULL, LDCACHE_ID_X86_64);
			ldcache_free(c);
			c = NULL;
		}
	}
	ok(accepted >= 1, "truncations: %zu of %zu lengths accepted, none crashed", accepted,
	   sb.len + 1);
	for (i = 0, accepted = 0; i < 20000; i++) {
		struct strbuf m = STRBUF_INIT;
		struct hwcaps hw;
		int k, flips;

		strbuf_init(&m);
		strbuf_add(&m, sb.buf, sb.len);
		flips = 1 + (int)(rand_r(&seed) % 4);
		for (k = 0; k < flips; k++) {
			size_t at = (size_t)rand_r(&seed) % m.len;

			m.buf[at] = (char)(rand_r(&seed) % 4 ? rand_r(&seed) : 0);
		}
		if (ldcache_parse(m.buf, m.len, &c) == 0) {
			size_t j;

			accepted++;
			fake_hw(&hw, "x86-64-v4,x86-64-v3,x86-64-v2", "haswell", true);
			for (j = 0; j < HW_N; j++)
				ldcache_lookup(c, hw_ents[j].name, &hw, LDCACHE_ID_X86_64);
			for (j = 0; j < ldcache_count(c); j++) {
				struct ldcache_entry e;

				ldcache_get(c, j, &e);
				ldcache_lookup(c, e.name, &hw, LDCACHE_ID_X86_64);
			}
			hwcaps_release(&hw);
			ldcache_free(c);
			c = NULL;
		}
		strbuf_release(&m);
	}
	ok(1, "20000 random corruptions: %zu accepted, none crashed", accepted);

	strbuf_release(&good);
	strbuf_release(&sb);
	strbuf_release(&sys);
}

/* ---- (d) the real ld.so reads a written cache ---- */

static const char lib_c[] = "int magicpak_test_value(void) { return 42; }\n";
static const char main_c[] =
	"#include <stdio.h>\n"
	"int magicpak_test_value(void);\n"
	"int main(void)\n"
	"{\n"
	"\tprintf(\"magicpak-cache-ok %d\\n\", magicpak_test_value());\n"
	"\treturn 0;\n"
	"}\n";

/* Run /prog inside @root; returns its exit status (or -1) and its stdout in @out. */
static int run_in_chroot(const char *root, char *out, size_t outsz)
{
	int fds[2], status;
	ssize_t r;
	size_t got = 0;
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(fds[1], 1);
		dup2(null, 2);
		close(fds[0]);
		if (chroot(root) < 0 || chdir("/") < 0)
			_exit(126);
		execl("/prog", "prog", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (got + 1 < outsz && (r = read(fds[0], out + got, outsz - 1 - got)) > 0)
		got += (size_t)r;
	out[got] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_real_loader(void)
{
	char root[] = "/tmp/magicpak-chroot-XXXXXX";
	char *ccv[] = { "cc", "--version", NULL };
	struct ldcache *sys = NULL;
	struct strbuf cache = STRBUF_INIT;
	const char *libc;
	char *p, *lib, *src_lib, *src_main, *prog, *ldso_real = NULL, out[256];
	const char *names[400], *paths[400];
	char *owned[400];
	size_t n = 0, i;
	int status;

	if (geteuid() != 0) {
		skip_or_fail("chroot needs root");
		return;
	}
	if (run(ccv) != 0) {
		skip_or_fail("no cc to build the test program");
		return;
	}
	if (ldcache_open(SYS_CACHE, &sys) < 0 || !(libc = ldcache_lookup(sys, "libc.so.6", NULL, LDCACHE_ID_X86_64)) ||
	    !(ldso_real = realpath("/lib64/ld-linux-x86-64.so.2", NULL)) || !mkdtemp(root)) {
		skip_or_fail("cannot find libc.so.6 and ld.so, or no temporary directory");
		ldcache_free(sys);
		free(ldso_real);
		return;
	}

	mkdirs(root, "lib64");
	mkdirs(root, "etc");
	mkdirs(root, "src");
	mkdirs(root, "opt/magicpak/lib");
	p = xasprintf("%s%s", root, libc);
	*strrchr(p, '/') = '\0';
	mkdirs(root, p + strlen(root) + 1);
	free(p);

	src_lib = xasprintf("%s/src/lib.c", root);
	src_main = xasprintf("%s/src/main.c", root);
	lib = xasprintf("%s/opt/magicpak/lib/libmagicpaktest.so.1", root);
	prog = xasprintf("%s/prog", root);
	write_file(src_lib, lib_c, strlen(lib_c), 0644);
	write_file(src_main, main_c, strlen(main_c), 0644);
	{
		char *soname = "-Wl,-soname,libmagicpaktest.so.1";
		char *ldir = xasprintf("-L%s/opt/magicpak/lib", root);
		char *cc_lib[] = { "cc", "-shared", "-fPIC", soname, "-o", lib, src_lib, NULL };
		char *cc_main[] = { "cc", "-o", prog, src_main, ldir, "-l:libmagicpaktest.so.1",
				    NULL };
		bool built = run(cc_lib) == 0 && run(cc_main) == 0;

		free(ldir);
		if (!built) {
			skip_or_fail("cc cannot build the test program");
			goto out;
		}
	}
	p = xasprintf("%s/lib64/ld-linux-x86-64.so.2", root);
	status = copy_file(ldso_real, p, 0755);
	free(p);
	p = xasprintf("%s%s", root, libc);
	status = status ?: copy_file(libc, p, 0755);
	free(p);
	if (status) {
		skip_or_fail("cannot copy ld.so and libc into the chroot");
		goto out;
	}

	/* Decoys around the real name, numeric neighbours included, so that a wrong sort
	 * order makes ld.so's binary search miss. */
	names[n] = "libmagicpaktest.so.1";
	paths[n++] = "/opt/magicpak/lib/libmagicpaktest.so.1";
	names[n] = "libc.so.6";
	paths[n++] = libc;
	for (i = 0; i < 300; i++) {
		owned[i] = xasprintf(i % 3 == 0   ? "libmagicpaktest.so.%zu"
				     : i % 3 == 1 ? "libdecoy%zu.so.1"
						  : "libmagicpaktest%zu.so.1",
				     i % 3 == 0 ? i / 3 + 2 : i);
		names[n] = owned[i];
		paths[n++] = "/nonexistent/decoy.so";
	}

	strbuf_init(&cache);
	ldcache_write(names, paths, NULL, n, &cache);
	p = xasprintf("%s/etc/ld.so.cache", root);
	write_file(p, cache.buf, cache.len, 0644);
	status = run_in_chroot(root, out, sizeof(out));
	ok(status == 0 && !strcmp(out, "magicpak-cache-ok 42\n"),
	   "the real ld.so finds a library through our cache (%zu entries)", n);
	if (status != 0)
		printf("#   exit status %d, output '%s'\n", status, out);

	/* Control: without the entry the program must not start, so the cache did the work. */
	strbuf_reset(&cache);
	ldcache_write(names + 1, paths + 1, NULL, n - 1, &cache);
	write_file(p, cache.buf, cache.len, 0644);
	status = run_in_chroot(root, out, sizeof(out));
	ok(status != 0, "without the entry ld.so cannot find it (exit %d)", status);
	free(p);
	for (i = 0; i < 300; i++)
		free(owned[i]);
out:
	rm_rf(root);
	strbuf_release(&cache);
	free(src_lib);
	free(src_main);
	free(lib);
	free(prog);
	free(ldso_real);
	ldcache_free(sys);
}

static void test_open(void)
{
	struct ldcache *c = NULL;

	is_int(ldcache_open("/nonexistent/ld.so.cache", &c), -ENOENT, "missing file is -ENOENT");
	is_int(ldcache_open("/dev/null", &c), -EINVAL, "an empty file is -EINVAL");
	ok(ldcache_count(NULL) == 0 && !ldcache_lookup(NULL, "libc.so.6", NULL, LDCACHE_ID_X86_64),
	   "NULL cache is empty");
	ldcache_free(NULL);
}

/* One soname for three ABIs' loaders (x86-64 0x0303, i386 libc6 0x0003, i386 "ELF" 1):
 * written by flags, higher first, as ldconfig sorts them; each loader takes its own, i386's
 * the libc6 entry before the ELF one (the first it meets), and never the x86-64 one. */
static void test_abi_ids(const struct hwcaps *hw)
{
	const char *names[] = { "libx.so.1", "libx.so.1", "libx.so.1", "liby.so.1" };
	const char *paths[] = { "/elf/libx.so.1", "/64/libx.so.1", "/32/libx.so.1", "/elf/liby.so.1" };
	const int32_t ids[] = { 1, LDCACHE_ID_X86_64, LDCACHE_ID_I386, 1 };
	struct strbuf out = STRBUF_INIT;
	struct ldcache *c = NULL;
	struct ldcache_entry e;

	ldcache_write(names, paths, ids, 4, &out);
	is_int(ldcache_parse(out.buf, out.len, &c), 0, "a cache of three ABIs' entries parses");
	ldcache_get(c, 1, &e);
	ok(e.flags == LDCACHE_ID_X86_64, "libx.so.1's entries by flags, highest first (0x%x)", e.flags);
	ldcache_get(c, 3, &e);
	ok(e.flags == 1, "the ELF entry last (0x%x)", e.flags);
	is_str(ldcache_lookup(c, "libx.so.1", hw, LDCACHE_ID_X86_64), "/64/libx.so.1",
	       "x86-64 takes its own entry");
	is_str(ldcache_lookup(c, "libx.so.1", NULL, LDCACHE_ID_I386), "/32/libx.so.1",
	       "i386 takes the libc6 entry");
	is_str(ldcache_lookup(c, "liby.so.1", NULL, LDCACHE_ID_I386), "/elf/liby.so.1",
	       "i386 takes an ELF entry");
	ok(!ldcache_lookup(c, "liby.so.1", hw, LDCACHE_ID_X86_64), "x86-64 never takes an ELF entry");
	ldcache_free(c);
	strbuf_release(&out);
}

int main(void)
{
	struct hwcaps hw;

	unsetenv("MAGICPAK_HWCAPS");
	unsetenv("MAGICPAK_PLATFORM");
	hwcaps_detect(&hw);
	test_open();
	test_system_cache(&hw);
	test_sort_like_ldconfig();
	test_round_trip(&hw);
	test_abi_ids(&hw);
	test_hwcaps_entries();
	test_old_formats();
	test_corrupt();
	test_real_loader();
	hwcaps_release(&hw);
	return done_testing();
}
