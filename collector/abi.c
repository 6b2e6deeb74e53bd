/* SPDX-License-Identifier: MIT */
/* collector/abi.c - the ABIs whose programs this host runs (abi.h). */
#include <elf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "ldcache.h"
#include "path.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__x86_64__)
/* Debian's SYSTEM_DIRS for each ("ld.so --help" lists them) */
static const char *const x86_64_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib",
};
static const char *const i386_dirs[] = {
	"/lib/i386-linux-gnu", "/usr/lib/i386-linux-gnu", "/lib", "/usr/lib",
};
static const char *const lib32_dirs[] = { "/lib32", "/usr/lib32", "/lib", "/usr/lib" };
static struct abi abis[] = {
	{ "x86-64", ELFCLASS64, EM_X86_64, "/lib64/ld-linux-x86-64.so.2", "lib/x86_64-linux-gnu",
	  NULL, x86_64_dirs, N(x86_64_dirs), LDCACHE_ID_X86_64, true, false },
	/* glibc sets $PLATFORM "i686" on any CPU that is one; i386's glibc 2.36 has no
	 * glibc-hwcaps levels, only the legacy subdirectories (i686, sse2, tls) */
	{ "i386", ELFCLASS32, EM_386, "/lib/ld-linux.so.2", "lib/i386-linux-gnu", "i686",
	  i386_dirs, N(i386_dirs), LDCACHE_ID_I386, false, true },
};

/* Which i386 loader is installed: the biarch one (/lib/ld-linux.so.2 a link into lib32)
 * searches /lib32 and /usr/lib32, and its $LIB is "lib32". */
static void i386_init(struct abi *a)
{
	static bool done;
	char real[PATH_MAX];

	if (done)
		return;
	done = true;
	/* (/lib32, or /usr/lib32 where /lib32 is a link into a merged /usr) */
	if (realpath(a->rtld, real) && (!strncmp(real, "/lib32/", 7) ||
					!strncmp(real, "/usr/lib32/", 11))) {
		a->dirs = lib32_dirs;
		a->ndirs = N(lib32_dirs);
		a->lib = "lib32";
	}
}
#elif defined(__aarch64__)
static const char *const aarch64_dirs[] = {
	"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib", "/usr/lib",
};
static struct abi abis[] = {
	{ "AArch64", ELFCLASS64, EM_AARCH64, "/lib/ld-linux-aarch64.so.1", "lib/aarch64-linux-gnu",
	  NULL, aarch64_dirs, N(aarch64_dirs), LDCACHE_ID_AARCH64, false, false },
};
#else
#error "unsupported host architecture"
#endif

const struct abi *abi_host(void)
{
	return &abis[0];
}

const struct abi *abi_of(unsigned char ei_class, uint16_t machine)
{
	for (size_t i = 0; i < N(abis); i++) {
		if (abis[i].ei_class != ei_class || abis[i].machine != machine)
			continue;
#if defined(__x86_64__)
		if (machine == EM_386)
			i386_init(&abis[i]);
#endif
		return &abis[i];
	}
	return NULL;
}

bool abi_in_system_dir(const struct abi *a, const char *path)
{
	for (size_t i = 0; i < a->ndirs; i++)
		if (path_has_prefix(path, a->dirs[i]))
			return true;
	return false;
}
