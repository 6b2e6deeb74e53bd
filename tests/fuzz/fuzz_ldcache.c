/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_ldcache.c - LIB-08 (c): libFuzzer harness for the ld.so.cache parser (ldcache_parse),
 * then every entry and a lookup of each name, as the resolver does. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hwcaps.h"
#include "ldcache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hwcaps hw;
	static int init;
	struct ldcache *c = NULL;
	size_t n;

	if (!init) {
		/* a fixed CPU, so a finding reproduces on any machine */
		setenv("MAGICPAK_HWCAPS", "v3,v2", 1);
		hwcaps_detect(&hw);
		init = 1;
	}
	if (ldcache_parse(data, size, &c) < 0)
		return 0;
	n = ldcache_count(c);
	for (size_t i = 0; i < n; i++) {
		struct ldcache_entry e;

		ldcache_get(c, i, &e);
		if (!e.name || !e.path)
			abort();
		/* every string must be NUL-terminated inside the copy: strlen reads it all */
		(void)strlen(e.name);
		(void)strlen(e.path);
		if (e.hwcaps)
			(void)strlen(e.hwcaps);
		/* a lookup is a scan: look up the first few names only, or a 40 KiB cache
		 * costs a million comparisons a run */
		if (i < 32) {
			(void)ldcache_lookup(c, e.name, &hw, LDCACHE_ID_X86_64);
			(void)ldcache_lookup(c, e.name, NULL, LDCACHE_ID_I386);
		}
	}
	(void)ldcache_lookup(c, "libc.so.6", &hw, LDCACHE_ID_X86_64);
	ldcache_free(c);
	return 0;
}
