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

#include "deps.h"
#include "interp.h"
#include "lazylib.h"
#include "log.h"
#include "path.h"
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

/* The glibc objects that carry a release banner: what a static glibc sets up as its own. */
static bool is_glibc(const struct deps_obj *o)
{
	const char *base = path_basename(o->path), *so = o->elf ? o->elf->soname : NULL;

	return o->elf && (!strcmp(base, "libc.so.6") || !strncmp(base, "ld-linux", 8) ||
			  (so && (!strcmp(so, "libc.so.6") || !strncmp(so, "ld-linux", 8))));
}

/* The hint for @o, found through LD_LIBRARY_PATH: the element it was found through (in it
 * or in one of its glibc-hwcaps subdirectories), as the user wrote it. */
static char *llp_hint(const struct deps_obj *o)
{
	if (!o->llp_element || !*o->llp_element)
		return xstrdup(" (found through LD_LIBRARY_PATH's empty element, the working "
			       "directory: unset it, or take that element out)");
	return xasprintf(" (found through LD_LIBRARY_PATH: unset it, or take '%s' out of it)",
			 o->llp_element);
}

/* A magicpak linked statically with glibc (the Makefile's default) carries its own glibc,
 * and dlopen() loads a libc.so.6 and ld.so beside it, whose internals it sets up as its own
 * release lays them out: another release may crash there. Refuse that with a reason
 * instead. Which ones it would load is deps.c's model of that dlopen() (LD_LIBRARY_PATH,
 * then ld.so.cache and the default directories, then what the library needs): the same
 * files, found the same way. Where it finds no glibc (the library missing, or a layout it
 * does not know), the system's loader, as the build saw it, is checked instead. A dynamic
 * magicpak (it has an interpreter) shares the system's. */
static int same_glibc(const char *soname)
{
	const struct deps_opts opts = { .library_path = getenv("LD_LIBRARY_PATH") };
	enum log_level lv = log_level;
	const struct deps_map *m;
	struct deps *d;
	int ret = 0, checked = 0;

	if (interp_own())
		return 0;
	deps_new(&opts, &d);
	log_level = LOG_OFF; /* a miss is dlopen()'s to report */
	deps_resolve_dlopen(d, soname);
	log_level = lv;
	m = deps_map(d, deps_nmaps(d) - 1);
	for (size_t i = 1; !ret && i < m->n; i++) {
		const struct deps_obj *o = &m->objs[i];
		char *hint;

		if (!is_glibc(o))
			continue;
		checked++;
		hint = o->how == DEPS_LD_LIBRARY_PATH
			       ? llp_hint(o)
			       : xstrdup(" (build magicpak there, or with STATIC_LIBC=0)");
		ret = own_release(soname, o->path, hint);
		free(hint);
	}
	deps_free(d);
	/* None found (the library missing, or a layout the model does not know): the loader
	 * the system's programs run under still tells its glibc. */
	if (!ret && !checked)
		ret = own_release(soname, interp_system(),
				  " (build magicpak there, or with STATIC_LIBC=0)");
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
