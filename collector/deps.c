/* SPDX-License-Identifier: MIT */
/* collector/deps.c - static model of glibc 2.36's ld.so: which file each DT_NEEDED becomes.
 *
 * The rules follow elf/dl-load.c (_dl_map_object, open_path, fillin_rpath, open_verify),
 * elf/dl-deps.c (breadth-first order) and elf/rtld.c (preload, where ld.so itself sits in
 * the link map). Nothing of the target is run or mapped: files are read with pread(). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abi.h"
#include "caps.h"
#include "deps.h"
#include "hwcaps.h"
#include "ldcache.h"
#include "log.h"
#include "path.h"
#include "script.h"
#include "strmap.h"
#include "xalloc.h"

/* What opening a candidate path found; cached per path for the whole run. */
struct cand {
	int err;             /* 0, or -errno from open/read */
	enum elfobj_fit fit; /* when err == 0: for the ld.so of its own ABI (WRONG_ABI: one this
			      * host does not run); whether it is the map's ABI is loadable()'s */
	char *why;           /* reason when not loadable */
	char *script;        /* the first bytes of a "#!" script, else NULL */
	size_t script_len;
	struct elfobj elf;   /* parsed (all of it) when fit == ELFOBJ_FIT */
};

struct deps {
	struct deps_opts opts;
	const struct abi *abi; /* of the map being resolved: its program's (abi.h) */
	struct hwcaps hw;
	struct ldcache *cache; /* NULL if absent or corrupt */
	bool cache_loaded;
	struct strmap cands;   /* path -> struct cand */
	struct strmap dirs;    /* directory -> (void *)1 exists, (void *)2 does not */
	struct strmap subdirs; /* search directory -> struct strvec of existing subdirs */
	struct strvec preload; /* entries of /etc/ld.so.preload */
	bool preload_loaded;
	struct deps_map *maps;
	size_t nmaps, amaps;
	struct strbuf why;
};

/* Per-map state while resolving. */
struct ctx {
	struct deps *d;
	struct deps_map *m;
	size_t alloc;
	const char *input;     /* for messages */
	char *main_origin;     /* $ORIGIN of the program */
	char *rtld_path;       /* the loader, placed in the map on first use */
	struct strvec rtld_names;
	dev_t rtld_dev;
	ino_t rtld_ino;
	bool rtld_placed;
	const char *secure;    /* why the program runs in secure-execution mode, or NULL */
	struct strvec llp;     /* LD_LIBRARY_PATH, expanded */
	struct strvec llp_written; /* its elements as written, one per llp entry */
	struct strmap names;   /* name -> index + 1 of the first object answering to it */
	int ret;
};

const char *deps_how_name(enum deps_how how)
{
	static const char *const names[] = {
		[DEPS_INPUT] = "input",
		[DEPS_SCRIPT] = "script interpreter",
		[DEPS_INTERP] = "interpreter",
		[DEPS_PRELOAD] = "ld.so.preload",
		[DEPS_RPATH] = "rpath",
		[DEPS_LD_LIBRARY_PATH] = "LD_LIBRARY_PATH",
		[DEPS_RUNPATH] = "runpath",
		[DEPS_CACHE] = "ld.so.cache",
		[DEPS_DEFAULT] = "default path",
		[DEPS_DIRECT] = "direct",
		[DEPS_LOADED] = "already loaded",
		[DEPS_NOT_FOUND] = "not found",
	};
	return names[how];
}

void deps_new(const struct deps_opts *opts, struct deps **out)
{
	struct deps *d = xcalloc(1, sizeof(*d));

	if (opts)
		d->opts = *opts;
	if (!d->opts.cache_path)
		d->opts.cache_path = "/etc/ld.so.cache";
	if (!d->opts.preload_path)
		d->opts.preload_path = "/etc/ld.so.preload";
	if (!d->opts.path_env)
		d->opts.path_env = getenv("PATH") ? getenv("PATH") : "/usr/local/bin:/usr/bin:/bin";
	hwcaps_detect(&d->hw);
	d->abi = abi_host();
	*out = d;
}

static bool dir_exists(struct deps *d, const char *dir)
{
	void *v = strmap_get(&d->dirs, dir);
	struct stat st;

	if (!v) {
		v = (void *)(uintptr_t)(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? 1 : 2);
		strmap_put(&d->dirs, dir, v);
	}
	return v == (void *)1;
}

/* Open and check @path as ld.so's open_verify() would. Cached. */
static struct cand *candidate(struct deps *d, const char *path)
{
	struct cand *c = strmap_get(&d->cands, path);
	int fd;

	if (c)
		return c;
	c = xcalloc(1, sizeof(*c));
	strmap_put(&d->cands, path, c);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		c->err = -errno;
		return c;
	}
	c->err = elfobj_read(fd, &c->elf, &d->why);
	if (c->err == 0) {
		c->fit = elfobj_fits(&c->elf, abi_of(c->elf.ei_class, c->elf.machine));
		if (c->fit == ELFOBJ_BAD) {
			strbuf_reset(&d->why);
			strbuf_addf(&d->why, "ELF file with an unsupported byte order or OS ABI");
		}
	} else if (c->err == -ENOEXEC) {
		/* Not ELF: keep the start of a "#!" script for resolve_file(). */
		char head[SCRIPT_LINE_MAX];
		ssize_t n = pread(fd, head, sizeof(head), 0);

		if (n >= 2 && head[0] == '#' && head[1] == '!') {
			c->script = xmalloc((size_t)n);
			memcpy(c->script, head, (size_t)n);
			c->script_len = (size_t)n;
		}
	}
	if (c->err < 0 || c->fit != ELFOBJ_FIT)
		c->why = xstrdup(d->why.buf ? d->why.buf : "");
	close(fd);
	return c;
}

/* Would the map's ld.so load @ca (its ABI's, class and machine)? */
static bool loadable(const struct deps *d, const struct cand *ca)
{
	return !ca->err && ca->fit == ELFOBJ_FIT && ca->elf.ei_class == d->abi->ei_class &&
	       ca->elf.machine == d->abi->machine;
}

/* Is @path, normalised lexically, in one of the system directories or below? ld.so's
 * is_trusted_path_normalize(), which a secure-execution program's own $ORIGIN must pass. */
static bool trusted_path(const struct abi *a, const char *path)
{
	char *n = path[0] == '/' ? path_normalize(path) : NULL;
	bool ok = n && abi_in_system_dir(a, n);

	free(n);
	return ok;
}

/* Expand the dynamic string tokens in one search-path element (or a DT_NEEDED name with a
 * slash) of object @idx, as _dl_dst_substitute does. Returns NULL when the element must be
 * dropped: a $ORIGIN with no value, or one that secure-execution mode refuses (only a whole
 * leading "$ORIGIN" or "$ORIGIN/...", and for the program itself only a result in a system
 * directory). */
static char *expand_dst(struct ctx *c, long idx, const char *s, const char *origin_dir)
{
	struct deps *d = c->d;
	struct strbuf sb = STRBUF_INIT;
	const char *const start = s;
	bool used_origin = false;
	static const struct {
		const char *name;
	} tokens[] = { { "ORIGIN" }, { "LIB" }, { "PLATFORM" } };

	strbuf_adds(&sb, "");
	while (*s) {
		size_t i, n = 0;
		bool matched = false;

		if (*s != '$') {
			strbuf_addch(&sb, *s++);
			continue;
		}
		for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
			size_t len = strlen(tokens[i].name);

			if (s[1] == '{' && !strncmp(s + 2, tokens[i].name, len) && s[2 + len] == '}') {
				n = len + 3;
			} else if (!strncmp(s + 1, tokens[i].name, len) &&
				   !(s[1 + len] == '_' || (s[1 + len] >= 'a' && s[1 + len] <= 'z') ||
				     (s[1 + len] >= 'A' && s[1 + len] <= 'Z') ||
				     (s[1 + len] >= '0' && s[1 + len] <= '9'))) {
				n = len + 1;
			} else {
				continue;
			}
			matched = true;
			break;
		}
		if (!matched) {
			strbuf_addch(&sb, *s++);
			continue;
		}
		if (i == 0) {
			if (c->secure && (s != start || (s[n] && s[n] != '/'))) {
				log_warn("%s: '%s' is ignored in secure-execution mode (%s): $ORIGIN "
					 "only as the whole start of an element", c->input, start,
					 c->secure);
				origin_dir = NULL;
			}
			if (!origin_dir) {
				strbuf_release(&sb);
				return NULL;
			}
			strbuf_adds(&sb, origin_dir);
			used_origin = true;
		} else if (i == 1) {
			strbuf_adds(&sb, d->abi->lib);
		} else {
			strbuf_adds(&sb, d->abi->platform ? d->abi->platform : d->hw.platform);
		}
		s += n;
	}
	if (c->secure && used_origin && idx == 0 && !trusted_path(d->abi, sb.buf)) {
		log_warn("%s: '%s' is ignored in secure-execution mode (%s): the program's $ORIGIN "
			 "gives '%s', not in a system directory", c->input, start, c->secure, sb.buf);
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb);
}

/* Split a search path (RPATH, RUNPATH or LD_LIBRARY_PATH) of object @idx into directories as
 * fillin_rpath does: DSTs expanded, trailing slashes removed, an empty element meaning the
 * current directory, duplicates dropped. Relative directories are made absolute against the
 * cwd. @written (or NULL): each kept element as it was written, for messages. */
static void split_path(struct ctx *c, long idx, const char *list, const char *seps,
		       const char *origin_dir, struct strvec *out, struct strvec *written)
{
	char *copy = xstrdup(list), *p = copy;

	for (;;) {
		char *e = p + strcspn(p, seps);
		char end = *e;
		char *x, *abs;

		*e = '\0';
		x = expand_dst(c, idx, p, origin_dir);
		if (x) {
			size_t len = strlen(x);

			if (!*x)
				log_warn("empty element in a library search path: searching the current directory");
			/* ld.so joins the text as it is ("/a/b/../lib"): removing ".." here would
			 * name another file when "b" is a symlink. Only trailing slashes go. */
			while (len > 1 && x[len - 1] == '/')
				x[--len] = '\0';
			abs = x[0] == '/' ? xstrdup(x) : path_absolute(*x ? x : ".");
			if (strvec_find(out, abs) < 0) {
				strvec_push_owned(out, abs);
				if (written)
					strvec_push(written, p);
			} else {
				free(abs);
			}
			free(x);
		}
		if (!end)
			break;
		p = e + 1;
	}
	free(copy);
}


/* $ORIGIN of a library: the directory part of the path it was found at, taken as text
 * the way _dl_new_object() does (no symlink or ".." resolution). */
static char *origin_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	return slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
}

/* Object @idx answers to @name from now on (ld.so's l_libname list). */
static void add_name(struct ctx *c, size_t idx, const char *name)
{
	struct deps_obj *o = &c->m->objs[idx];

	if (strvec_find(&o->names, name) < 0)
		strvec_push(&o->names, name);
	if (!strmap_has(&c->names, name))
		strmap_put(&c->names, name, (void *)(uintptr_t)(idx + 1));
}

static struct deps_obj *add_obj(struct ctx *c, const char *path, enum deps_how how, long loader,
				const struct elfobj *elf)
{
	struct deps_map *m = c->m;
	struct deps_obj *o;

	xgrow(&m->objs, &c->alloc, m->n + 1, sizeof(*m->objs));
	o = &m->objs[m->n++];
	memset(o, 0, sizeof(*o));
	o->path = xstrdup(path);
	o->how = how;
	o->loader = loader;
	o->via = -1;
	o->elf = elf;
	strvec_init(&o->alternates);
	strvec_init(&o->names);
	add_name(c, m->n - 1, path);
	if (elf && elf->soname)
		add_name(c, m->n - 1, elf->soname);
	return &m->objs[m->n - 1];
}

/* The other glibc-hwcaps variants of the library at @path, for bundling: the machine that
 * runs the bundle may pick another one. */
static void find_alternates(struct deps *d, struct deps_obj *o)
{
	static const char *const levels[] = { "x86-64-v4", "x86-64-v3", "x86-64-v2" };
	const char *name = path_basename(o->path);
	char *dir = origin_of(o->path), *base, *hw;
	const char *p = strstr(dir, "/glibc-hwcaps/");

	if (!d->abi->hwcaps) {
		free(dir);
		return;
	}
	/* The base directory is the one above glibc-hwcaps/LEVEL, if the file is in one. */
	base = p && !strchr(p + strlen("/glibc-hwcaps/"), '/') ? xstrndup(dir, (size_t)(p - dir))
							       : xstrdup(dir);
	hw = xasprintf("%s/glibc-hwcaps", base);
	if (dir_exists(d, hw)) {
		for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
			char *alt = xasprintf("%s/%s/%s", hw, levels[i], name);
			struct cand *ca;

			if (strcmp(alt, o->path) && (ca = candidate(d, alt)) && loadable(d, ca))
				strvec_push_owned(&o->alternates, alt);
			else
				free(alt);
		}
		if (strcmp(base, dir)) {
			char *alt = xasprintf("%s/%s", base, name);
			struct cand *ca = candidate(d, alt);

			if (loadable(d, ca))
				strvec_push_owned(&o->alternates, alt);
			else
				free(alt);
		}
	}
	free(hw);
	free(base);
	free(dir);
}

/* Result of looking in one place. */
enum found { FOUND_NONE, FOUND_OK, FOUND_BAD };

/* Try @path as a library; FOUND_BAD means ld.so would stop with an error. */
static enum found try_file(struct ctx *c, const char *path, struct cand **out)
{
	struct cand *ca = candidate(c->d, path);

	*out = ca;
	/* open_path() goes on after ENOENT and EACCES, and after a file of another class
	 * or machine (open_verify() looks at nothing else of it first); anything else wrong
	 * with a file that exists is an error. */
	if (ca->err == -ENOENT || ca->err == -EACCES || ca->err == -ENOTDIR)
		return FOUND_NONE;
	if (ca->elf.identified && (ca->elf.ei_class != c->d->abi->ei_class ||
				   ca->elf.machine != c->d->abi->machine))
		return FOUND_NONE;
	if (ca->err < 0 || ca->fit != ELFOBJ_FIT)
		return FOUND_BAD;
	return FOUND_OK;
}

/* The directories ld.so tries for search directory @dir, best first: its glibc-hwcaps and
 * legacy subdirectories, then @dir itself, keeping only those that exist (ld.so marks the
 * others as nonexistent and never tries them again). Computed once per directory. */
static const struct strvec *search_subdirs(struct deps *d, const char *dir)
{
	/* (another ABI than the host's keeps its lists apart: "i386:DIR") */
	char *key = d->abi == abi_host() ? NULL : xasprintf("%s:%s", d->abi->name, dir);
	struct strvec *v = strmap_get(&d->subdirs, key ? key : dir);
	const struct strvec *legacy = d->abi->legacy32 ? &d->hw.legacy32
				      : d->abi->hwcaps ? &d->hw.legacy : NULL;
	size_t nlev = d->abi->hwcaps ? d->hw.levels.n : 0, nleg = legacy ? legacy->n : 0;
	const char *sep = dir[strlen(dir) - 1] == '/' ? "" : "/";

	if (v) {
		free(key);
		return v;
	}
	v = xcalloc(1, sizeof(*v));
	for (size_t i = 0; i <= nlev + nleg; i++) {
		char *sub;

		if (i < nlev)
			sub = xasprintf("%s%sglibc-hwcaps/%s", dir, sep, d->hw.levels.v[i]);
		else if (i < nlev + nleg)
			sub = xasprintf("%s%s%s", dir, sep, legacy->v[i - nlev]);
		else
			sub = xstrdup(dir);
		/* A legacy platform of "x86_64" repeats entries: try each once. */
		if (dir_exists(d, sub) && strvec_find(v, sub) < 0)
			strvec_push_owned(v, sub);
		else
			free(sub);
	}
	strmap_put(&d->subdirs, key ? key : dir, v);
	free(key);
	return v;
}

/* Look for @name in @dir and its glibc-hwcaps and legacy subdirectories, best first. */
static enum found try_dir(struct ctx *c, const char *dir, const char *name, char **path,
			  struct cand **ca)
{
	const struct strvec *subs = search_subdirs(c->d, dir);

	for (size_t i = 0; i < subs->n; i++) {
		const char *sub = subs->v[i];
		char *p = xasprintf("%s%s%s", sub, sub[strlen(sub) - 1] == '/' ? "" : "/", name);
		enum found f = try_file(c, p, ca);

		if (f != FOUND_NONE) {
			*path = p;
			return f;
		}
		free(p);
	}
	return FOUND_NONE;
}

/* $ORIGIN for object @idx, when @text uses a DST at all (NULL otherwise). The program's is
 * the directory of its real path (ld.so takes it from /proc/self/exe), computed on first
 * use since realpath() costs a readlink per component. Owned by the caller. */
static char *origin_for(struct ctx *c, long idx, const char *text)
{
	char real[PATH_MAX];

	if (!strchr(text, '$'))
		return NULL;
	if (idx != 0)
		return origin_of(c->m->objs[idx].path);
	if (!c->main_origin)
		c->main_origin = realpath(c->input, real) ? path_dirname(real)
							  : path_dirname(c->input);
	return xstrdup(c->main_origin);
}

static struct strvec *rpath_dirs(struct ctx *c, struct deps_obj *o, const char *list, long idx)
{
	char *origin;

	if (!o->rpath_dirs) {
		o->rpath_dirs = xcalloc(1, sizeof(*o->rpath_dirs));
		/* The program's $ORIGIN is its real directory; a library's is where it was found. */
		origin = origin_for(c, idx, list);
		split_path(c, idx, list, ":", origin, o->rpath_dirs, NULL);
		free(origin);
	}
	return o->rpath_dirs;
}

/* Index of the loaded object that answers to @name, or -1. The loader itself counts as
 * loaded from the start (rtld.c sets it up before any DT_NEEDED), even before it is
 * placed in the link map. */
static long find_loaded(struct ctx *c, const char *name, bool *is_rtld)
{
	*is_rtld = false;
	void *v = strmap_get(&c->names, name);

	if (v)
		return (long)(uintptr_t)v - 1;
	if (c->rtld_path && !c->rtld_placed && strvec_find(&c->rtld_names, name) >= 0) {
		*is_rtld = true;
		return -1;
	}
	return -1;
}

static long place_rtld(struct ctx *c, long loader)
{
	struct cand *ca = candidate(c->d, c->rtld_path);
	add_obj(c, c->rtld_path, DEPS_INTERP, loader, loadable(c->d, ca) ? &ca->elf : NULL);

	for (size_t i = 0; i < c->rtld_names.n; i++)
		add_name(c, c->m->n - 1, c->rtld_names.v[i]);
	c->rtld_placed = true;
	return (long)c->m->n - 1;
}

static void report_missing(struct ctx *c, long loader, const char *name, const char *searched)
{
	c->m->nmissing++;
	c->ret = -ENOENT;
	log_error(0, "%s: cannot find '%s' needed by '%s' (searched: %s)", c->input, name,
		  c->m->objs[loader].path, searched);
}

/* The heart of it: _dl_map_object() for DT_NEEDED @name of object @loader. Returns the
 * index of the object in the map, or -1 (reported). */
static long map_object(struct ctx *c, long loader, const char *name, struct deps_edge *e)
{
	struct deps *d = c->d;
	struct deps_obj *lo = &c->m->objs[loader];
	struct strbuf searched = STRBUF_INIT;
	char *found = NULL;
	struct cand *ca = NULL;
	enum found f = FOUND_NONE;
	enum deps_how how = DEPS_NOT_FOUND;
	long via = -1, idx;
	bool is_rtld;
	const struct elfobj *le = lo->elf;
	const char *llp_el = "";

	e->name = name;
	e->via = -1;
	idx = find_loaded(c, name, &is_rtld);
	if (idx >= 0 || is_rtld) {
		e->target = is_rtld ? place_rtld(c, loader) : idx;
		e->how = is_rtld ? DEPS_INTERP : DEPS_LOADED;
		return e->target;
	}

	if (strchr(name, '/')) {
		/* A name with a slash is opened as it is (DSTs expanded), relative to the cwd. */
		char *origin = origin_for(c, loader, name);
		char *x = expand_dst(c, loader, name, origin);

		free(origin);
		if (x) {
			char *abs = x[0] == '/' ? xstrdup(x) : path_absolute(x);

			f = try_file(c, abs, &ca);
			if (f != FOUND_NONE)
				found = xstrdup(abs);
			strbuf_adds(&searched, abs);
			free(abs);
			free(x);
		}
		how = DEPS_DIRECT;
		if (name[0] != '/')
			log_warn("%s: '%s' needs '%s', a path relative to the current directory",
				 c->input, lo->path, name);
		goto done;
	}

	/* DT_RPATH of the loader and of its loaders, unless the loader has DT_RUNPATH. */
	if (!le || !le->runpath) {
		for (long l = loader; l >= 0 && f == FOUND_NONE; l = c->m->objs[l].loader) {
			struct deps_obj *lobj = &c->m->objs[l];
			struct strvec *dirs;

			/* An object with DT_RUNPATH has its DT_RPATH ignored (get_dynamic_info). */
			if (!lobj->elf || !lobj->elf->rpath || lobj->elf->runpath)
				continue;
			dirs = rpath_dirs(c, lobj, lobj->elf->rpath, l);
			for (size_t i = 0; i < dirs->n && f == FOUND_NONE; i++) {
				strbuf_addf(&searched, "%s:", dirs->v[i]);
				f = try_dir(c, dirs->v[i], name, &found, &ca);
				how = DEPS_RPATH;
				via = l;
			}
		}
	}
	for (size_t i = 0; i < c->llp.n && f == FOUND_NONE; i++) {
		strbuf_addf(&searched, "%s:", c->llp.v[i]);
		f = try_dir(c, c->llp.v[i], name, &found, &ca);
		how = DEPS_LD_LIBRARY_PATH;
		llp_el = c->llp_written.v[i];
	}
	if (f == FOUND_NONE && le && le->runpath) {
		struct strvec dirs = STRVEC_INIT;
		char *origin = origin_for(c, loader, le->runpath);

		split_path(c, loader, le->runpath, ":", origin, &dirs, NULL);
		free(origin);
		for (size_t i = 0; i < dirs.n && f == FOUND_NONE; i++) {
			strbuf_addf(&searched, "%s:", dirs.v[i]);
			f = try_dir(c, dirs.v[i], name, &found, &ca);
			how = DEPS_RUNPATH;
		}
		strvec_clear(&dirs);
	}
	if (f == FOUND_NONE) {
		bool nodeflib = le && (le->flags_1 & DF_1_NODEFLIB);
		const char *cached = d->cache ? ldcache_lookup(d->cache, name,
							       d->abi->hwcaps ? &d->hw : NULL,
							       d->abi->cache_id)
					      : NULL;

		/* With DF_1_NODEFLIB a cache entry in a default directory is not used either. */
		if (d->cache)
			strbuf_adds(&searched, "ld.so.cache:");
		if (cached && !(nodeflib && abi_in_system_dir(d->abi, cached))) {
			f = try_file(c, cached, &ca);
			if (f != FOUND_NONE)
				found = xstrdup(cached);
			how = DEPS_CACHE;
		}
		for (size_t i = 0; i < d->abi->ndirs && f == FOUND_NONE && !nodeflib; i++) {
			strbuf_addf(&searched, "%s:", d->abi->dirs[i]);
			f = try_dir(c, d->abi->dirs[i], name, &found, &ca);
			how = DEPS_DEFAULT;
		}
	}
done:
	if (searched.len && searched.buf[searched.len - 1] == ':')
		searched.buf[--searched.len] = '\0';
	if (f == FOUND_BAD) {
		log_error(0, "%s: '%s' needed by '%s' was found at '%s' but ld.so would refuse it: %s",
			  c->input, name, lo->path, found, ca->why);
		c->m->nmissing++;
		c->ret = -ENOENT;
		f = FOUND_NONE;
	} else if (f == FOUND_NONE) {
		report_missing(c, loader, name, searched.len ? searched.buf : "nothing");
	}
	strbuf_release(&searched);
	if (f == FOUND_NONE) {
		free(found);
		e->target = -1;
		e->how = DEPS_NOT_FOUND;
		return -1;
	}

	/* A file already loaded under another name is the same object (same dev/ino). */
	for (size_t i = 0; i < c->m->n; i++) {
		const struct elfobj *oe = c->m->objs[i].elf;

		if (oe && oe->dev == ca->elf.dev && oe->ino == ca->elf.ino) {
			add_name(c, i, name);
			free(found);
			e->target = (long)i;
			e->how = DEPS_LOADED;
			return e->target;
		}
	}
	if (c->rtld_path && !c->rtld_placed && ca->elf.dev == c->rtld_dev &&
	    ca->elf.ino == c->rtld_ino) {
		strvec_push(&c->rtld_names, name);
		free(found);
		e->target = place_rtld(c, loader);
		e->how = DEPS_INTERP;
		return e->target;
	}

	struct deps_obj *o = add_obj(c, found, how, loader, &ca->elf);

	free(found);
	o->via = via;
	add_name(c, c->m->n - 1, name);
	if (how == DEPS_CACHE)
		o->cache_key = xstrdup(name);
	if (how == DEPS_LD_LIBRARY_PATH)
		o->llp_element = xstrdup(llp_el);
	find_alternates(d, o);
	e->target = (long)c->m->n - 1;
	e->how = how;
	e->via = via;
	return e->target;
}

static void load_preload(struct deps *d)
{
	char buf[8192];
	ssize_t n;
	int fd;

	if (d->preload_loaded)
		return;
	d->preload_loaded = true;
	fd = open(d->opts.preload_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* rtld.c splits the file at blanks, newlines and colons. */
	for (char *save = NULL, *t = strtok_r(buf, " \t\n:", &save); t;
	     t = strtok_r(NULL, " \t\n:", &save))
		strvec_push(&d->preload, t);
}

static void load_cache(struct deps *d)
{
	int ret;

	if (d->cache_loaded)
		return;
	d->cache_loaded = true;
	ret = ldcache_open(d->opts.cache_path, &d->cache);
	if (ret == -EINVAL)
		log_warn("ignoring corrupt ld.so.cache '%s'", d->opts.cache_path);
	else if (ret < 0 && ret != -ENOENT)
		log_errno(0, "cannot read '%s'", d->opts.cache_path);
	if (ret < 0)
		d->cache = NULL;
}

static struct deps_map *new_map(struct deps *d)
{
	struct deps_map *m;

	xgrow(&d->maps, &d->amaps, d->nmaps + 1, sizeof(*d->maps));
	m = &d->maps[d->nmaps++];
	memset(m, 0, sizeof(*m));
	return m;
}

/* LD_LIBRARY_PATH (deps_opts), split and expanded for @c's program. */
static void set_library_path(struct ctx *c)
{
	const char *list = c->d->opts.library_path;
	char *origin;

	if (!list || !*list)
		return;
	if (c->secure) {
		log_warn("%s: LD_LIBRARY_PATH is ignored: the program runs in secure-execution "
			 "mode (%s)", c->input, c->secure);
		return;
	}
	origin = origin_for(c, 0, list);
	split_path(c, 0, list, ":;", origin, &c->llp, &c->llp_written);
	free(origin);
}

/* Breadth-first over the link map as elf/dl-deps.c does: each object's DT_NEEDED in order;
 * an object joins the queue when it is first seen. */
static void map_needed(struct ctx *c)
{
	struct deps_map *m = c->m;

	for (size_t qi = 0; qi < m->n; qi++) {
		struct deps_obj *o = &m->objs[qi];
		const struct elfobj *oe = o->elf;
		size_t nn;

		if (!oe || !oe->dynamic || !oe->needed.n)
			continue;
		nn = oe->needed.n;
		o->edges = xcalloc(nn, sizeof(*o->edges));
		o->nedges = nn;
		for (size_t k = 0; k < nn; k++) {
			struct deps_edge e;

			map_object(c, (long)qi, oe->needed.v[k], &e);
			/* map_object may have moved m->objs. */
			m->objs[qi].edges[k] = e;
		}
	}
}

static void ctx_release(struct ctx *c)
{
	free(c->main_origin);
	free(c->rtld_path);
	strvec_clear(&c->rtld_names);
	strvec_clear(&c->llp);
	strvec_clear(&c->llp_written);
	strmap_clear(&c->names);
}

/* Resolve the ELF program @path (already read into @elf). */
static int resolve_elf(struct deps *d, const char *path, const struct elfobj *elf,
		       enum deps_how how)
{
	struct ctx c = { .d = d, .input = path, .ret = 0 };
	char cwd[PATH_MAX], why[64];
	struct deps_map *m;

	m = new_map(d);
	c.m = m;
	if (d->opts.caller_exec && (c.secure = caps_exec_privileged(path, NULL, why, sizeof(why))))
		m->secure = xstrdup(c.secure);
	/* the program's ABI is the map's: an i386 one's ld.so takes i386 libraries only */
	d->abi = abi_of(elf->ei_class, elf->machine);
	if (!d->abi)
		d->abi = abi_host();
	/* $ORIGIN of the program comes from /proc/self/exe: its real path. */
	add_obj(&c, path, how, -1, elf);
	strvec_init(&c.rtld_names);
	strvec_init(&c.llp);
	strvec_init(&c.llp_written);

	if (!elf->interp && !(elf->dynamic && elf->needed.n)) {
		m->is_static = elf->type == ET_EXEC || !elf->dynamic || !elf->soname;
		goto out;
	}
	/* The kernel opens a relative interpreter against the cwd of the exec: ours stands for
	 * it, and the object gets that absolute path (a bundle's source must be one) */
	if (!elf->interp) {
		c.rtld_path = xstrdup(d->abi->rtld);
	} else if (elf->interp[0] == '/' || !getcwd(cwd, sizeof(cwd))) {
		c.rtld_path = xstrdup(elf->interp); /* (no current directory: as it is) */
	} else {
		c.rtld_path = path_join(cwd, elf->interp);
	}
	if (elf->interp) {
		struct cand *ca;

		if (elf->interp[0] != '/')
			log_warn("%s: relative interpreter '%s' is resolved against the current "
				 "directory of the exec: '%s' here", path, elf->interp, c.rtld_path);
		ca = candidate(d, c.rtld_path);
		if (!loadable(d, ca)) {
			char other[64] = "";

			if (!ca->err && ca->fit == ELFOBJ_FIT)
				snprintf(other, sizeof(other), "an ELF file for %s, not %s",
					 elfobj_machine_name(ca->elf.machine), d->abi->name);
			c.ret = log_error(-ENOENT, "%s: interpreter '%s': %s", path, elf->interp,
					  ca->err == -ENOENT ? "No such file or directory" :
					  *other ? other : ca->why ? ca->why : strerror(-ca->err));
			m->nmissing++;
			goto out;
		}
	}
	{
		struct cand *ca = candidate(d, c.rtld_path);

		strvec_push(&c.rtld_names, c.rtld_path);
		if (loadable(d, ca)) {
			if (ca->elf.soname)
				strvec_push(&c.rtld_names, ca->elf.soname);
			c.rtld_dev = ca->elf.dev;
			c.rtld_ino = ca->elf.ino;
		}
	}
	load_cache(d);
	set_library_path(&c);

	/* ld.so.preload objects come right after the program and are searched as its
	 * DT_NEEDED would be; a missing one is ignored with a message, as rtld.c does. */
	load_preload(d);
	for (size_t i = 0; i < d->preload.n; i++) {
		struct deps_edge e;
		int saved = c.ret;
		size_t miss = m->nmissing;
		enum log_level lv = log_level;

		log_level = LOG_OFF;
		long t = map_object(&c, 0, d->preload.v[i], &e);
		log_level = lv;
		if (t < 0) {
			c.ret = saved;
			m->nmissing = miss;
			log_warn("object '%s' from %s cannot be preloaded: ignored",
				 d->preload.v[i], d->opts.preload_path);
		} else if (m->objs[t].how != DEPS_INTERP && m->objs[t].loader == 0 &&
			   (size_t)t == m->n - 1) {
			m->objs[t].how = DEPS_PRELOAD;
		}
	}

	map_needed(&c);
	/* ld.so sits where it was first needed; never needed, it is last. Only a program
	 * with PT_INTERP loads it without being asked. */
	if (!c.rtld_placed && elf->interp)
		place_rtld(&c, 0);
out:
	ctx_release(&c);
	return c.ret;
}

static int resolve_file(struct deps *d, const char *file, enum deps_how how, int depth);

/* "#!/usr/bin/env [-S] [-i] [VAR=x] NAME ...": the program env will run. */
static char *env_target(const char *arg)
{
	char *copy = xstrdup(arg), *save = NULL, *r = NULL;

	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (w[0] == '-' || strchr(w, '='))
			continue;
		r = xstrdup(w);
		break;
	}
	free(copy);
	return r;
}

static int resolve_script(struct deps *d, const char *file, const char *buf, size_t len,
			  enum deps_how how, int depth)
{
	char *interp = NULL, *arg = NULL, *target = NULL, *ipath = NULL;
	struct deps_map *m;
	struct ctx c = { .d = d };
	int ret;

	ret = script_parse(buf, len, &interp, &arg);
	if (ret == -ENAMETOOLONG)
		return log_error(-ENOEXEC, "%s: '#!' interpreter name longer than the %d bytes the "
				 "kernel reads", file, SCRIPT_LINE_MAX - 1);
	if (ret < 0)
		return log_error(-ENOEXEC, "%s: '#!' line names no interpreter", file);
	/* depth counts the scripts already passed on the way here. */
	if (depth >= SCRIPT_MAX_NESTING) {
		ret = log_error(-ELOOP, "%s: more than %d levels of '#!' scripts (execve fails with "
				"ELOOP)", file, SCRIPT_MAX_NESTING);
		goto out;
	}
	m = new_map(d);
	m->is_script = true;
	c.m = m;
	add_obj(&c, file, how, -1, NULL);
	/* The kernel opens a relative interpreter against the cwd of the exec. */
	ipath = path_absolute(interp);
	if (candidate(d, ipath)->err == -ENOENT) {
		/* named with the script, as an ELF file's missing PT_INTERP is */
		ret = log_error(-ENOENT, "%s: '#!' interpreter '%s': No such file or directory",
				file, interp);
		m->nmissing++;
		goto out;
	}
	ret = resolve_file(d, ipath, DEPS_SCRIPT, depth + 1);
	if (ret < 0 && ret != -ENOENT)
		goto out;
	if (!strcmp(path_basename(interp), "env") && arg && (target = env_target(arg))) {
		char *tpath = strchr(target, '/') ? path_absolute(target) : path_search(target, d->opts.path_env);
		int r2;

		if (!tpath) {
			ret = log_error(-ENOENT, "%s: '%s' (run by env) not found on PATH", file,
					target);
			goto out;
		}
		r2 = resolve_file(d, tpath, DEPS_SCRIPT, depth + 1);
		free(tpath);
		if (r2 < 0)
			ret = r2;
	}
out:
	strmap_clear(&c.names);
	free(interp);
	free(arg);
	free(target);
	free(ipath);
	return ret;
}

static int resolve_file(struct deps *d, const char *file, enum deps_how how, int depth)
{
	char *abs = path_absolute(file);
	struct cand *ca = candidate(d, abs);
	int ret;

	if (ca->script) {
		ret = resolve_script(d, abs, ca->script, ca->script_len, how, depth);
	} else if (ca->err < 0) {
		ret = log_error(ca->err, "%s: %s", file, ca->why ? ca->why : strerror(-ca->err));
	} else if (ca->fit == ELFOBJ_BAD) {
		ret = log_error(-ENOEXEC, "%s: %s", file, ca->why);
	} else if (ca->fit != ELFOBJ_FIT) {
		ret = log_error(-ENOEXEC, "%s: ELF file for %s (%d-bit), not loadable on this host",
				file, elfobj_machine_name(ca->elf.machine),
				ca->elf.ei_class == ELFCLASS64 ? 64 : 32);
	} else {
		ret = resolve_elf(d, abs, &ca->elf, how);
	}
	free(abs);
	return ret;
}

int deps_resolve(struct deps *d, const char *file)
{
	return resolve_file(d, file, DEPS_INPUT, 0);
}

int deps_resolve_dlopen(struct deps *d, const char *name)
{
	char real[PATH_MAX];
	const char *self = realpath("/proc/self/exe", real) ? real : "/proc/self/exe";
	struct ctx c = { .d = d, .input = self, .ret = 0 };
	struct deps_obj *prog;
	struct deps_edge e;

	c.m = new_map(d);
	d->abi = abi_host();
	/* No DT_RPATH, DT_RUNPATH or PT_INTERP to follow, and no /etc/ld.so.preload (only
	 * rtld.c reads it): the loader is found by its soname, like any library. */
	add_obj(&c, self, DEPS_INPUT, -1, NULL);
	strvec_init(&c.rtld_names);
	strvec_init(&c.llp);
	strvec_init(&c.llp_written);
	load_cache(d);
	set_library_path(&c);
	map_object(&c, 0, name, &e);
	prog = &c.m->objs[0];
	prog->edges = xcalloc(1, sizeof(*prog->edges));
	prog->edges[0] = e;
	prog->nedges = 1;
	map_needed(&c);
	ctx_release(&c);
	return c.ret;
}

size_t deps_nmaps(const struct deps *d)
{
	return d->nmaps;
}

const struct deps_map *deps_map(const struct deps *d, size_t i)
{
	return &d->maps[i];
}

static void free_cand(struct cand *c)
{
	if (!c)
		return;
	elfobj_release(&c->elf);
	free(c->why);
	free(c->script);
	free(c);
}

void deps_free(struct deps *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nmaps; i++) {
		struct deps_map *m = &d->maps[i];

		free(m->secure);
		for (size_t j = 0; j < m->n; j++) {
			struct deps_obj *o = &m->objs[j];

			free(o->path);
			free(o->cache_key);
			free(o->llp_element);
			strvec_clear(&o->alternates);
			strvec_clear(&o->names);
			free(o->edges);
			if (o->rpath_dirs) {
				strvec_clear(o->rpath_dirs);
				free(o->rpath_dirs);
			}
		}
		free(m->objs);
	}
	free(d->maps);
	for (size_t i = 0; i < d->cands.cap; i++)
		if (d->cands.keys && d->cands.keys[i])
			free_cand(d->cands.vals[i]);
	strmap_clear(&d->cands);
	strmap_clear(&d->dirs);
	for (size_t i = 0; i < d->subdirs.cap; i++) {
		if (d->subdirs.keys[i]) {
			strvec_clear(d->subdirs.vals[i]);
			free(d->subdirs.vals[i]);
		}
	}
	strmap_clear(&d->subdirs);
	strvec_clear(&d->preload);
	ldcache_free(d->cache);
	hwcaps_release(&d->hw);
	strbuf_release(&d->why);
	free(d);
}
