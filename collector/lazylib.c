/* SPDX-License-Identifier: MIT */
/* collector/lazylib.c - dlopen() libarchive and libcrypto on first use (see lazylib.h). */
#include <dlfcn.h>
#include <errno.h>

#include "lazylib.h"
#include "log.h"

/* The sonames the build saw (Makefile), else Debian 12's. */
#ifndef LIBARCHIVE_SONAME
#define LIBARCHIVE_SONAME "libarchive.so.13"
#endif
#ifndef LIBCRYPTO_SONAME
#define LIBCRYPTO_SONAME "libcrypto.so.3"
#endif

struct lazy_archive lazy_archive;
struct lazy_crypto lazy_crypto;

/* dlopen @soname and fill @n function pointers @fns named @names. 0 or -ENOENT (logged once
 * by the caller's @state). */
static int load(const char *soname, const char *const *names, void **fns, size_t n, int *state)
{
	void *h;

	if (*state)
		return *state < 0 ? *state : 0;
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
