/* SPDX-License-Identifier: MIT */
/* collector/abi.h - the ABIs whose programs this host runs, and what each one's ld.so takes
 * as given: its path, its system directories, $LIB, $PLATFORM, the ld.so.cache entries it
 * accepts, whether it searches glibc-hwcaps subdirectories.
 *
 * Why: an x86-64 kernel with ia32 emulation also runs i386 programs, under their own ld.so
 * (/lib/ld-linux.so.2), which finds i386 libraries in i386 directories and skips the x86-64
 * ones; magicpak deps and bundles resolve such a program as that loader would (RELIABILITY
 * ELF-09), where they used to refuse it. Debian ships that loader two ways, with other
 * system directories: multiarch (libc6:i386, /lib/i386-linux-gnu) and biarch (libc6-i386,
 * /lib32): the one /lib/ld-linux.so.2 is decides. */
#ifndef COLLECTOR_ABI_H
#define COLLECTOR_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct abi {
	const char *name;           /* "x86-64", "i386", "AArch64" */
	unsigned char ei_class;     /* ELFCLASS32 / ELFCLASS64 */
	uint16_t machine;           /* EM_* */
	const char *rtld;           /* its ld.so: the loader of inputs that name none (libraries) */
	const char *lib;            /* what $LIB expands to (Debian's slibdir without its '/') */
	const char *platform;       /* $PLATFORM, or NULL: the host's, worked out by hwcaps.c */
	const char *const *dirs;    /* SYSTEM_DIRS, in order */
	size_t ndirs;
	int32_t cache_id;           /* the flags of the ld.so.cache entries it takes (ldcache.h) */
	bool hwcaps;                /* it searches glibc-hwcaps subdirectories (x86-64's levels) */
	bool legacy32;              /* its legacy subdirectories are i386's (hwcaps.h legacy32),
				     * else the host's (legacy) when hwcaps is set, else none */
};

/* The host's own ABI. */
const struct abi *abi_host(void);
/* The ABI of an ELF file of class @ei_class for machine @machine, if this host runs it;
 * NULL otherwise. */
const struct abi *abi_of(unsigned char ei_class, uint16_t machine);
/* Is @path under one of @a's system directories (ld.so's test for DF_1_NODEFLIB)? */
bool abi_in_system_dir(const struct abi *a, const char *path);

#endif /* COLLECTOR_ABI_H */
