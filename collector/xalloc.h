/* SPDX-License-Identifier: MIT */
/* collector/xalloc.h - allocation that dies on out-of-memory, so it is never an error path. */
#ifndef COLLECTOR_XALLOC_H
#define COLLECTOR_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Formatted string owned by the caller. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Grow *@p (of *@alloc elements of @size) to hold at least @need elements. */
void xgrow(void *p, size_t *alloc, size_t need, size_t size);

#endif /* COLLECTOR_XALLOC_H */
