/* SPDX-License-Identifier: MIT */
/* collector/strbuf.h - growable strings (after git's strbuf) and string vectors (git's strvec). */
#ifndef COLLECTOR_STRBUF_H
#define COLLECTOR_STRBUF_H

#include <stddef.h>

/* buf is always NUL-terminated once initialised; len excludes the NUL. */
struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
};

#define STRBUF_INIT { NULL, 0, 0 }

void strbuf_init(struct strbuf *sb);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_adds(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append @s as a JSON string literal, quotes included. */
void strbuf_add_json(struct strbuf *sb, const char *s);
/* Append @s as one word for a POSIX shell: as it is when it holds only safe characters,
 * else in single quotes (a quote inside as '\''). */
void strbuf_add_shell_word(struct strbuf *sb, const char *s);
void strbuf_reset(struct strbuf *sb);
/* Free the buffer; @sb may be reused after strbuf_init(). */
void strbuf_release(struct strbuf *sb);
/* Hand the buffer to the caller (never NULL) and reset @sb. */
char *strbuf_detach(struct strbuf *sb);

/* A NULL-terminated vector of owned strings. */
struct strvec {
	char **v;
	size_t n;
	size_t alloc;
};

#define STRVEC_INIT { NULL, 0, 0 }

void strvec_init(struct strvec *sv);
/* Append a copy of @s. */
void strvec_push(struct strvec *sv, const char *s);
/* Append @s, taking ownership. */
void strvec_push_owned(struct strvec *sv, char *s);
/* Index of @s in @sv, or -1. */
long strvec_find(const struct strvec *sv, const char *s);
void strvec_clear(struct strvec *sv);

#endif /* COLLECTOR_STRBUF_H */
