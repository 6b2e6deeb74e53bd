/* SPDX-License-Identifier: MIT */
/* collector/glob.c - path globs for --include and --exclude, matched one component at a time. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "glob.h"
#include "log.h"
#include "path.h"
#include "strbuf.h"
#include "xalloc.h"

/* End of the component starting at @s: the next '/' or the NUL. */
static const char *comp_end(const char *s)
{
	return s + strcspn(s, "/");
}

static bool is_dstar(const char *p, const char *pe)
{
	return pe - p == 2 && p[0] == '*' && p[1] == '*';
}

/* Match one set "[...]" at *@pp against @c. Returns 1 on a match, 0 on none (in both cases
 * *@pp moves past the set), or -1 when the set is not terminated within the component, in
 * which case the '[' is an ordinary character (as fnmatch(3) does). */
static int match_set(const char **pp, const char *pe, unsigned char c)
{
	const char *p = *pp + 1;
	bool neg = false, hit = false, first = true;

	if (p < pe && (*p == '!' || *p == '^')) {
		neg = true;
		p++;
	}
	for (;;) {
		unsigned char lo, hi;

		if (p >= pe)
			return -1;
		if (*p == ']' && !first)
			break;
		first = false;
		if (*p == '\\' && p + 1 < pe)
			p++;
		lo = (unsigned char)*p++;
		hi = lo;
		if (p + 1 < pe && *p == '-' && p[1] != ']') {
			p++;
			if (*p == '\\' && p + 1 < pe)
				p++;
			hi = (unsigned char)*p++;
		}
		if (c >= lo && c <= hi)
			hit = true;
	}
	*pp = p + 1;
	return hit != neg;
}

/* Match one pattern element (not '*') at *@pp against @c; advance *@pp on success. */
static bool match_one(const char **pp, const char *pe, unsigned char c)
{
	const char *p = *pp;
	int r;

	switch (*p) {
	case '?':
		*pp = p + 1;
		return true;
	case '[':
		r = match_set(&p, pe, c);
		if (r >= 0) {
			if (r)
				*pp = p;
			return r;
		}
		break; /* unterminated: a literal '[' */
	case '\\':
		if (p + 1 < pe)
			p++;
		break;
	}
	if ((unsigned char)*p != c)
		return false;
	*pp = p + 1;
	return true;
}

/* Match the pattern component [@p, @pe) against the name [@s, @se). Only the last '*' is
 * ever backtracked to, which is enough because '*' cannot cross a '/': linear per star. */
static bool comp_match(const char *p, const char *pe, const char *s, const char *se)
{
	const char *star_p = NULL, *star_s = NULL;

	while (s < se) {
		if (p < pe && *p == '*') {
			while (p < pe && *p == '*')
				p++;
			star_p = p;
			star_s = s;
			continue;
		}
		if (p < pe && match_one(&p, pe, (unsigned char)*s)) {
			s++;
			continue;
		}
		if (!star_p)
			return false;
		p = star_p;
		s = ++star_s;
	}
	while (p < pe && *p == '*')
		p++;
	return p == pe;
}

/* @p: start of a pattern component, or NULL when the pattern is used up; @s: likewise for
 * the path. '**' matches zero, one, two... path components. As in comp_match(), only the
 * last '**' is ever backtracked to: every other pattern component matches exactly one path
 * component, so letting an earlier '**' take more components never helps, and the match
 * stays linear per '**' (trying every split of every '**' recursively is exponential:
 * fuzz_glob found a 180-byte pattern of '**' and '*' components that ran for minutes). */
static bool match_from(const char *p, const char *s)
{
	const char *pe, *se, *star_p = NULL, *star_s = NULL;
	bool star = false;

	for (;;) {
		if (p) {
			pe = comp_end(p);
			if (is_dstar(p, pe)) {
				p = *pe ? pe + 1 : NULL;
				if (!p)
					return true; /* a last '**' takes everything left */
				star = true;
				star_p = p;
				star_s = s;
				continue;
			}
		}
		if (!p && !s)
			return true;
		if (p && s) {
			pe = comp_end(p);
			se = comp_end(s);
			if (comp_match(p, pe, s, se)) {
				p = *pe ? pe + 1 : NULL;
				s = *se ? se + 1 : NULL;
				continue;
			}
		}
		/* a mismatch: let the last '**' take one more component, if there is one */
		if (!star || !star_s)
			return false;
		se = comp_end(star_s);
		star_s = *se ? se + 1 : NULL;
		p = star_p;
		s = star_s;
	}
}

bool glob_match(const char *pattern, const char *path)
{
	return match_from(pattern, path);
}

/* ---- the original magicpak's --exclude matching ---- */

enum lg_kind { LG_CHAR, LG_ANY, LG_SET, LG_STAR, LG_DSTAR };

struct lg_token {
	enum lg_kind kind;
	unsigned cp;          /* LG_CHAR */
	const char *set, *se; /* LG_SET: the specifiers between the brackets */
	bool neg;
};

/* Decode one UTF-8 code point at *@s (not at the NUL) and advance; a byte that starts no
 * valid sequence is U+FFFD, as Rust's to_string_lossy() reads it. */
static unsigned next_cp(const char **s)
{
	const unsigned char *p = (const unsigned char *)*s;
	unsigned cp, n, min;

	if (p[0] < 0x80) {
		*s += 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) {
		cp = p[0] & 0x1f, n = 1, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		cp = p[0] & 0x0f, n = 2, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		cp = p[0] & 0x07, n = 3, min = 0x10000;
	} else {
		*s += 1;
		return 0xfffd;
	}
	for (unsigned i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*s += 1;
			return 0xfffd;
		}
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		*s += 1;
		return 0xfffd;
	}
	*s += n + 1;
	return cp;
}

/* Is @c in the set [@p, @pe)? Each specifier is one character, or "a-z" when a '-' follows
 * a character and something follows the '-' (so a '-' first or last is itself). */
static bool lg_in_set(const char *p, const char *pe, unsigned c)
{
	while (p < pe) {
		const char *q = p, *r;
		unsigned lo = next_cp(&q), hi;

		if (q < pe && *q == '-' && q + 1 < pe) {
			r = q + 1;
			hi = next_cp(&r);
			if (lo <= c && c <= hi)
				return true;
			p = r;
			continue;
		}
		if (c == lo)
			return true;
		p = q;
	}
	return false;
}

/* Find the ']' closing a set whose first specifier starts at @p (a ']' there is one). */
static const char *lg_set_end(const char *p)
{
	if (!*p)
		return NULL;
	next_cp(&p);
	return strchr(p, ']');
}

/* Split @pat into tokens, as the glob crate's Pattern::new() does. */
static size_t lg_parse(const char *pat, struct lg_token *t)
{
	const char *p = pat, *e;
	size_t n = 0;

	while (*p) {
		struct lg_token *k = &t[n++];

		memset(k, 0, sizeof(*k));
		if (*p == '?') {
			k->kind = LG_ANY;
			p++;
		} else if (*p == '*') {
			const char *start = p;

			while (*p == '*')
				p++;
			k->kind = LG_STAR;
			if (p - start == 2 && (start == pat || start[-1] == '/') &&
			    (!*p || *p == '/')) {
				k->kind = LG_DSTAR;
				if (*p)
					p++; /* the '/' is part of the token */
			}
		} else if (*p == '[' && p[1] == '!' && p[2] && p[3] && (e = lg_set_end(p + 2))) {
			k->kind = LG_SET;
			k->neg = true;
			k->set = p + 2;
			k->se = e;
			p = e + 1;
		} else if (*p == '[' && p[1] && p[1] != '!' && p[2] && (e = lg_set_end(p + 1))) {
			k->kind = LG_SET;
			k->set = p + 1;
			k->se = e;
			p = e + 1;
		} else {
			k->kind = LG_CHAR;
			k->cp = next_cp(&p);
		}
	}
	return n;
}

/* Let the states of @on reachable without input follow: a star may match nothing; a '**' may
 * end at the start, after a '/' or at the end of @path (@at is the position in it). */
static void lg_closure(const struct lg_token *t, size_t n, bool *on, const char *path,
		       const char *at)
{
	bool boundary = at == path || at[-1] == '/' || !*at;

	for (size_t i = 0; i < n; i++)
		if (on[i] && (t[i].kind == LG_STAR || (t[i].kind == LG_DSTAR && boundary)))
			on[i + 1] = true;
}

bool glob_match_legacy(const char *pattern, const char *path)
{
	size_t plen = strlen(pattern), n;
	struct lg_token *t = xcalloc(plen + 1, sizeof(*t));
	bool *on = xcalloc(plen + 2, sizeof(*on)), *next = xcalloc(plen + 2, sizeof(*next));
	const char *s = path;
	bool any, r;

	/* The states are token indexes (0..n: n means all matched), run as an NFA over the
	 * path's characters: linear in the path for each token, whatever the stars. */
	n = lg_parse(pattern, t);
	on[0] = true;
	lg_closure(t, n, on, path, s);
	while (*s) {
		unsigned c = next_cp(&s);

		memset(next, 0, (n + 1) * sizeof(*next));
		any = false;
		for (size_t i = 0; i < n; i++) {
			if (!on[i])
				continue;
			switch (t[i].kind) {
			case LG_STAR:
			case LG_DSTAR:
				next[i] = true;
				break;
			case LG_ANY:
				next[i + 1] = true;
				break;
			case LG_SET:
				if (lg_in_set(t[i].set, t[i].se, c) != t[i].neg)
					next[i + 1] = true;
				break;
			case LG_CHAR:
				if (t[i].cp == c)
					next[i + 1] = true;
				break;
			}
		}
		memcpy(on, next, (n + 1) * sizeof(*on));
		lg_closure(t, n, on, path, s);
		for (size_t i = 0; i <= n; i++)
			any |= on[i];
		if (!any)
			break;
	}
	r = !*s && on[n];
	free(t);
	free(on);
	free(next);
	return r;
}

static bool has_magic(const char *p, const char *pe)
{
	for (; p < pe; p++) {
		if (*p == '\\' && p + 1 < pe)
			p++;
		else if (*p == '*' || *p == '?' || *p == '[')
			return true;
	}
	return false;
}

/* Copy a literal component without its escapes. */
static void add_unescaped(struct strbuf *sb, const char *p, const char *pe)
{
	for (; p < pe; p++) {
		if (*p == '\\' && p + 1 < pe)
			p++;
		strbuf_addch(sb, *p);
	}
}

struct expand {
	struct strvec comps; /* pattern components after the literal prefix */
	struct strvec found;
};

static void sb_truncate(struct strbuf *sb, size_t len)
{
	sb->len = len;
	sb->buf[len] = '\0';
}

static void sb_add_comp(struct strbuf *sb, const char *name)
{
	if (sb->len == 0 || sb->buf[sb->len - 1] != '/')
		strbuf_addch(sb, '/');
	strbuf_adds(sb, name);
}

/* @path exists; match it against components @i.. . @follow: @path is the literal prefix,
 * which may itself go through symlinks; below it nothing is followed. */
static void expand_at(struct expand *e, struct strbuf *path, size_t i, bool follow)
{
	const char *c;
	bool dstar, last;
	size_t len = path->len;
	struct dirent *de;
	DIR *dir = NULL;
	int fd;

	if (i == e->comps.n) {
		strvec_push(&e->found, path->buf);
		return;
	}
	c = e->comps.v[i];
	dstar = is_dstar(c, c + strlen(c));
	last = i + 1 == e->comps.n;
	if (dstar)
		expand_at(e, path, i + 1, follow);

	fd = open(path->buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	if (fd < 0) {
		if (errno != ENOTDIR && errno != ELOOP && errno != ENOENT)
			log_debug("glob: cannot read directory '%s': %s", path->buf,
				  strerror(errno));
		return;
	}
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return;
	}
	while ((de = readdir(dir))) {
		struct stat st;
		bool is_dir;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!dstar &&
		    !comp_match(c, c + strlen(c), de->d_name, de->d_name + strlen(de->d_name)))
			continue;
		if (de->d_type != DT_UNKNOWN)
			is_dir = de->d_type == DT_DIR;
		else
			is_dir = !fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) &&
				 S_ISDIR(st.st_mode);
		sb_add_comp(path, de->d_name);
		if (dstar) {
			/* '**' eats this component: stay on '**' inside a directory; anything
			 * else can only end the match. */
			if (is_dir)
				expand_at(e, path, i, false);
			else if (last)
				strvec_push(&e->found, path->buf);
		} else if (last) {
			strvec_push(&e->found, path->buf);
		} else if (is_dir) {
			expand_at(e, path, i + 1, false);
		}
		sb_truncate(path, len);
	}
	closedir(dir);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int glob_expand(const char *pattern, struct strvec *out)
{
	struct expand e = { STRVEC_INIT, STRVEC_INIT };
	struct strbuf prefix = STRBUF_INIT;
	struct stat st;
	const char *p, *pe;
	int n = 0;

	if (pattern[0] != '/')
		return log_error(-EINVAL, "'%s': glob pattern is not absolute", pattern);

	/* Split into the literal prefix and the components from the first wildcard on. Empty
	 * and "." components are dropped; ".." is kept as a name, as the kernel would. */
	strbuf_adds(&prefix, "/");
	for (p = pattern; *p; p = *pe ? pe + 1 : pe) {
		pe = comp_end(p);
		if (pe == p || (pe - p == 1 && *p == '.'))
			continue;
		if (e.comps.n || has_magic(p, pe)) {
			strvec_push_owned(&e.comps, xstrndup(p, (size_t)(pe - p)));
			continue;
		}
		if (prefix.buf[prefix.len - 1] != '/')
			strbuf_addch(&prefix, '/');
		add_unescaped(&prefix, p, pe);
	}

	if (lstat(prefix.buf, &st) < 0)
		goto out;
	expand_at(&e, &prefix, 0, true);

	if (e.found.n)
		qsort(e.found.v, e.found.n, sizeof(*e.found.v), cmp_str);
	for (size_t i = 0; i < e.found.n; i++) {
		if (i && !strcmp(e.found.v[i], e.found.v[i - 1]))
			continue;
		strvec_push(out, e.found.v[i]);
		n++;
	}
out:
	strbuf_release(&prefix);
	strvec_clear(&e.comps);
	strvec_clear(&e.found);
	return n;
}
