/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_glob.c - libFuzzer harness for the --include/--exclude glob matcher
 * (glob_match). The input is the pattern and the path, separated by the first newline. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "glob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *nl, *pat, *path;

	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	pat = buf;
	nl = strchr(buf, '\n');
	path = nl ? (*nl = '\0', nl + 1) : buf + size;
	(void)glob_match(pat, path);
	/* a pattern without wildcards or escapes matches exactly itself */
	if (!strpbrk(pat, "*?[\\") && glob_match(pat, path) != !strcmp(pat, path))
		abort();
	free(buf);
	return 0;
}
