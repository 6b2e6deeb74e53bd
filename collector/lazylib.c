/* SPDX-License-Identifier: MIT */
/* collector/lazylib.c - dlopen() libarchive and libcrypto on first use (see lazylib.h). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hwcaps.h"
#include "interp.h"
#include "lazylib.h"
#include "log.h"
#include "xalloc.h"

/* The sonames the build saw (Makefile), else Debian 12's. */
#ifndef LIBARCHIVE_SONAME
#define LIBARCHIVE_SONAME "libarchive.so.13"
#endif
#ifndef LIBCRYPTO_SONAME
#define LIBCRYPTO_SONAME "libcrypto.so.3"
#endif

struct lazy_archive lazy_archive;
struct lazy_crypto lazy_crypto;

/* The glibc release ("2.36") that @path (its loader or its libc.so.6) is, from its banner
 * "... release version 2.36.", into @ver; 0 or -errno (-ENOMSG: no banner). */
static int glibc_release(const char *path, char *ver, size_t size)
{
	static const char key[] = "release version ";
	struct stat sb;
	const char *p, *map;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -ENOMSG;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0)
		ret = -errno;
	if (ret != -ENOMSG || sb.st_size <= 0) {
		close(fd);
		return ret;
	}
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -errno;
	p = memmem(map, (size_t)sb.st_size, key, sizeof(key) - 1);
	if (p) {
		const char *v = p + sizeof(key) - 1, *end = map + sb.st_size;

		/* "2.36." ends at the dot that no digit follows */
		while (v + n < end && n + 1 < size &&
		       ((v[n] >= '0' && v[n] <= '9') ||
			(v[n] == '.' && v + n + 1 < end && v[n + 1] >= '0' && v[n + 1] <= '9')))
			n++;
		if (n) {
			memcpy(ver, v, n);
			ver[n] = '\0';
			ret = 0;
		}
	}
	munmap((void *)map, (size_t)sb.st_size);
	return ret;
}

/* Is @path of this magicpak's own glibc release? 0, or -ENOENT with one line said, ending
 * with @hint. */
static int own_release(const char *soname, const char *path, const char *hint)
{
	const char *ours = gnu_get_libc_version();
	char ver[32];
	int ret = glibc_release(path, ver, sizeof(ver));

	if (ret < 0)
		return log_error(-ENOENT,
				 "cannot load %s: this magicpak has glibc %s built in and needs the "
				 "same glibc on the system to load it, but %s%s%s%s",
				 soname, ours, path, ret == -ENOMSG ? " names no glibc release" : ": ",
				 ret == -ENOMSG ? "" : strerror(-ret), hint);
	if (strcmp(ver, ours))
		return log_error(-ENOENT,
				 "cannot load %s: this magicpak has glibc %s built in and needs the "
				 "same glibc on the system to load it, but %s is glibc %s%s",
				 soname, ours, path, ver, hint);
	return 0;
}

/* Is the libc.so.6 in @dir, or in a subdirectory of it the loader searches first (hwcaps.h:
 * glibc-hwcaps levels, then the legacy ones), of our release? 0, or -ENOENT said. */
static int dir_libc_ours(const char *soname, const char *dir, const struct hwcaps *hw)
{
	size_t nlev = hw->levels.n, nleg = hw->legacy.n;
	int ret = 0;

	for (size_t i = 0; !ret && i <= nlev + nleg; i++) {
		char *libc = i < nlev ? xasprintf("%s/glibc-hwcaps/%s/libc.so.6", dir, hw->levels.v[i])
			     : i < nlev + nleg ? xasprintf("%s/%s/libc.so.6", dir, hw->legacy.v[i - nlev])
					       : xasprintf("%s/libc.so.6", dir);

		if (access(libc, F_OK) == 0) {
			char *hint = xasprintf(" (found through LD_LIBRARY_PATH: unset it, or take "
					       "'%s' out of it)", dir);

			ret = own_release(soname, libc, hint);
			free(hint);
		}
		free(libc);
	}
	return ret;
}

/* A magicpak linked statically with glibc (the Makefile's default) carries its own glibc,
 * and dlopen() loads the system's libc.so.6 and ld.so beside it, whose internals it sets
 * up as its own release lays them out: another release may crash there. Refuse that with
 * a reason instead. A dynamic magicpak (it has an interpreter) shares the system's.
 * MAGICPAK_SYSTEM_RTLD names another loader to compare (tests). */
static int same_glibc(const char *soname)
{
	const char *rtld = getenv("MAGICPAK_SYSTEM_RTLD"), *p = getenv("LD_LIBRARY_PATH");
	struct hwcaps hw;
	int ret;

	if (interp_own())
		return 0;
	if (!rtld || !*rtld)
		rtld = SYSTEM_RTLD; /* the one whose glibc dlopen() brings along */
	if ((ret = own_release(soname, rtld, " (build magicpak there, or with STATIC_LIBC=0)")) < 0)
		return ret;
	if (!p || !*p)
		return 0; /* set but empty: no directory, as for glibc */
	/* The static glibc read LD_LIBRARY_PATH at start and searches it before the cache (a
	 * shared magicpak's DT_RPATH came first): any libc.so.6 there may be the one dlopen()
	 * takes, so each must be ours. An empty element is the working directory; one with a
	 * $ORIGIN, $LIB or $PLATFORM token is not expanded here (not checked). */
	hwcaps_detect(&hw);
	while (!ret && p) {
		size_t n = strcspn(p, ":;");
		char *dir = n ? xstrndup(p, n) : xstrdup(".");

		if (!strchr(dir, '$'))
			ret = dir_libc_ours(soname, dir, &hw);
		free(dir);
		p = p[n] ? p + n + 1 : NULL;
	}
	hwcaps_release(&hw);
	return ret;
}

/* dlopen @soname and fill @n function pointers @fns named @names. 0 or -ENOENT (logged once
 * by the caller's @state). */
static int load(const char *soname, const char *const *names, void **fns, size_t n, int *state)
{
	void *h;

	if (*state)
		return *state < 0 ? *state : 0;
	if (same_glibc(soname) < 0)
		return *state = -ENOENT;
	h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return *state = log_error(-ENOENT, "cannot load %s: %s", soname, dlerror());
	for (size_t i = 0; i < n; i++) {
		fns[i] = dlsym(h, names[i]);
		if (!fns[i])
			return *state = log_error(-ENOENT, "%s has no %s", soname, names[i]);
	}
	*state = 1;
	return 0;
}

#define LAZY_NAME(f) #f,

int lazy_archive_load(void)
{
	static const char *const names[] = { LAZY_ARCHIVE_FUNCS(LAZY_NAME) };
	static int state;

	_Static_assert(sizeof(lazy_archive) == sizeof(names) / sizeof(names[0]) * sizeof(void *),
		       "one pointer per name");
	return load(LIBARCHIVE_SONAME, names, (void **)&lazy_archive,
		    sizeof(names) / sizeof(names[0]), &state);
}

int lazy_crypto_load(void)
{
	static const char *const names[] = { LAZY_CRYPTO_FUNCS(LAZY_NAME) };
	static int state;

	_Static_assert(sizeof(lazy_crypto) == sizeof(names) / sizeof(names[0]) * sizeof(void *),
		       "one pointer per name");
	return load(LIBCRYPTO_SONAME, names, (void **)&lazy_crypto,
		    sizeof(names) / sizeof(names[0]), &state);
}
