/* SPDX-License-Identifier: MIT */
/* collector/xalloc.c - allocation wrappers that die on out-of-memory. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"

static void *check(void *p)
{
	if (!p)
		die("out of memory");
	return p;
}

void *xmalloc(size_t n)
{
	return check(malloc(n ? n : 1));
}

void *xcalloc(size_t nmemb, size_t size)
{
	return check(calloc(nmemb ? nmemb : 1, size ? size : 1));
}

void *xrealloc(void *p, size_t n)
{
	return check(realloc(p, n ? n : 1));
}

char *xstrdup(const char *s)
{
	return check(strdup(s));
}

char *xstrndup(const char *s, size_t n)
{
	return check(strndup(s, n));
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("out of memory");
	return s;
}

void xgrow(void *p, size_t *alloc, size_t need, size_t size)
{
	void **pp = p;
	size_t n = *alloc;

	if (need <= n)
		return;
	n = n ? n : 8;
	while (n < need)
		n *= 2;
	if (n > ((size_t)-1) / size)
		die("out of memory");
	*pp = xrealloc(*pp, n * size);
	*alloc = n;
}
