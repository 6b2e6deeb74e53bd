/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_path.c - libFuzzer harness for the lexical path operations (collector/path.h).
 * The input is two strings separated by the first newline: a path and a second path (a
 * directory for path_join and path_has_prefix). Checks the contracts, not only memory safety:
 * path_normalize is idempotent, an absolute result has no "//", "/./" or "/../" and stays
 * absolute. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_normal(const char *in, const char *n)
{
	char *again;
	size_t len = strlen(n);

	if (!*n)
		abort(); /* "" becomes "." */
	if (in[0] == '/' && n[0] != '/')
		abort();
	if (in[0] != '/' && n[0] == '/')
		abort();
	if (n[0] == '/' && (strstr(n, "//") || strstr(n, "/./") || strstr(n, "/../") ||
			    (len >= 3 && !strcmp(n + len - 3, "/..")) || !strncmp(n, "/..", 4)))
		abort();
	again = path_normalize(n);
	if (strcmp(again, n))
		abort(); /* not idempotent */
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *a, *b, *nl, *n, *j, *d, *cat;

	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	a = buf;
	nl = strchr(buf, '\n');
	b = nl ? (*nl = '\0', nl + 1) : buf + size;

	n = path_normalize(a);
	check_normal(a, n);
	free(n);

	/* the contract: @dir + "/" + @name, normalised; an absolute @name replaces @dir */
	cat = malloc(size + 2);
	if (!cat)
		abort();
	if (b[0] == '/')
		snprintf(cat, size + 2, "%s", b);
	else
		snprintf(cat, size + 2, "%s/%s", a, b);
	j = path_join(a, b);
	n = path_normalize(cat);
	if (strcmp(j, n))
		abort();
	check_normal(cat, j);
	free(n);
	free(cat);
	(void)path_has_prefix(j, a);
	free(j);

	d = path_dirname(a);
	if (!*d)
		abort();
	free(d);
	(void)path_basename(a);
	(void)path_has_prefix(a, b);
	if (*a == '/') {
		n = path_normalize(a);
		if (!path_has_prefix(n, "/"))
			abort();
		free(n);
	}
	free(buf);
	return 0;
}
