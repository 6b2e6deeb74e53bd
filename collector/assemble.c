/* SPDX-License-Identifier: MIT */
/* collector/assemble.c - from inputs, recorded paths and options to a finished bundle. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assemble.h"
#include "bundle.h"
#include "deps.h"
#include "glob.h"
#include "ldcache.h"
#include "log.h"
#include "path.h"
#include "xalloc.h"

void assemble_opts_init(struct assemble_opts *o)
{
	memset(o, 0, sizeof(*o));
	strvec_init(&o->inputs);
	strvec_init(&o->recorded);
	strvec_init(&o->includes);
	strvec_init(&o->excludes);
	strvec_init(&o->mkdirs);
}

void assemble_opts_release(struct assemble_opts *o)
{
	strvec_clear(&o->inputs);
	strvec_clear(&o->recorded);
	strvec_clear(&o->includes);
	strvec_clear(&o->excludes);
	strvec_clear(&o->mkdirs);
}

static bool is_elf_file(const char *path)
{
	unsigned char m[4];
	struct stat st;
	int fd;
	bool r = false;

	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		return false;
	r = read(fd, m, 4) == 4 && !memcmp(m, "\177ELF", 4);
	close(fd);
	return r;
}

char *assemble_install_dest(const char *src, const char *to)
{
	size_t n = strlen(to);
	char *abs = to[0] == '/' ? xstrdup(to) : xasprintf("/%s", to);
	char *r;

	if (n && to[n - 1] == '/')
		r = path_join(abs, path_basename(src));
	else
		r = path_normalize(abs);
	free(abs);
	return r;
}

/* Give the bundle's loader an ld.so.cache for the libraries it found through the host's
 * cache outside the default directories: inside the bundle nothing else would find them. */
static int write_cache(struct bundle *b, const struct deps *d)
{
	static const char *const defaults[] = { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
						"/lib", "/usr/lib" };
	struct strvec names = STRVEC_INIT, paths = STRVEC_INIT;
	struct strbuf sb = STRBUF_INIT;
	bool needed = false;
	int ret = 0;

	for (size_t i = 0; i < deps_nmaps(d); i++) {
		const struct deps_map *m = deps_map(d, i);

		for (size_t j = 0; j < m->n; j++) {
			const struct deps_obj *o = &m->objs[j];
			bool in_default = false;

			if (o->how != DEPS_CACHE || strvec_find(&names, o->cache_key) >= 0)
				continue;
			for (size_t k = 0; k < sizeof(defaults) / sizeof(defaults[0]); k++) {
				char *dir = path_dirname(o->path);

				in_default |= !strcmp(dir, defaults[k]);
				free(dir);
			}
			needed |= !in_default;
			strvec_push(&names, o->cache_key);
			strvec_push(&paths, o->path);
		}
	}
	if (needed) {
		ldcache_write((const char *const *)names.v, (const char *const *)paths.v, names.n, &sb);
		log_info("writing /etc/ld.so.cache with %zu entries", names.n);
		ret = bundle_write_file(b, "/etc/ld.so.cache", sb.buf, sb.len, 0644);
	}
	strbuf_release(&sb);
	strvec_clear(&names);
	strvec_clear(&paths);
	return ret;
}

static int add_maps(struct bundle *b, const struct deps *d, size_t from, const char *first_dest)
{
	int ret;

	for (size_t i = from; i < deps_nmaps(d); i++) {
		const struct deps_map *m = deps_map(d, i);

		for (size_t j = 0; j < m->n; j++) {
			const struct deps_obj *o = &m->objs[j];
			const char *dest = i == from && j == 0 ? first_dest : NULL;

			ret = bundle_add(b, o->path, dest);
			if (ret < 0)
				return ret;
			for (size_t k = 0; k < o->alternates.n; k++) {
				ret = bundle_add(b, o->alternates.v[k], NULL);
				if (ret < 0)
					return ret;
			}
		}
	}
	return 0;
}

/* Recorded paths that never go into a bundle: kernel interfaces, and the output itself. */
static bool skip_recorded(const char *path, const char *output_abs)
{
	return path_has_prefix(path, "/proc") || path_has_prefix(path, "/sys") ||
	       path_has_prefix(path, "/dev") || path_has_prefix(path, output_abs) ||
	       !strcmp(path, "/");
}

/* Resolve every input, include match and recorded ELF file. Returns 0 or the last error. */
static int resolve_all(const struct assemble_opts *o, struct deps *d, struct strvec *matches,
		       struct strvec *recorded, const char *output_abs)
{
	int ret = 0;

	for (size_t i = 0; i < o->inputs.n; i++) {
		int r = deps_resolve(d, o->inputs.v[i]);

		if (r < 0)
			ret = r;
	}
	for (size_t i = 0; i < o->includes.n; i++) {
		char *pat = path_absolute(o->includes.v[i]);
		size_t before = matches->n;
		int r = glob_expand(pat, matches);

		if (r < 0)
			ret = log_errno(r, "--include '%s'", o->includes.v[i]);
		else if (matches->n == before)
			log_warn("--include '%s' matches nothing", o->includes.v[i]);
		free(pat);
	}
	for (size_t i = 0; i < matches->n; i++) {
		if (is_elf_file(matches->v[i])) {
			int r = deps_resolve(d, matches->v[i]);

			if (r < 0)
				ret = r;
		}
	}
	for (size_t i = 0; i < o->recorded.n; i++) {
		const char *p = o->recorded.v[i];
		struct stat st;

		if (skip_recorded(p, output_abs) || lstat(p, &st) < 0) {
			log_debug("recorded '%s' left out", p);
			continue;
		}
		strvec_push(recorded, p);
		/* A library the run dlopen'ed or an executable it ran brings its closure; the
		 * run succeeded, so a library missing now is reported but not fatal. */
		if (S_ISREG(st.st_mode) && is_elf_file(p)) {
			if (deps_resolve(d, p) < 0)
				log_warn("'%s' (used by the recorded run): its libraries are incomplete",
					 p);
		}
	}
	return ret;
}

int assemble(const struct assemble_opts *o)
{
	struct deps_opts dopts = { .library_path = o->library_path };
	struct bundle_opts bopts = { .excludes = &o->excludes };
	struct deps *d = NULL;
	struct bundle *b = NULL;
	struct strvec matches = STRVEC_INIT, recorded = STRVEC_INIT;
	char *output_abs = path_absolute(o->output);
	char *first_dest = NULL;
	int ret;

	dopts.cache_path = getenv("MAGICPAK_LD_SO_CACHE");
	dopts.preload_path = getenv("MAGICPAK_LD_SO_PRELOAD");
	deps_new(&dopts, &d);
	/* Resolve everything before writing anything: a missing library leaves no output. */
	ret = resolve_all(o, d, &matches, &recorded, output_abs);
	if (ret < 0)
		goto out;
	ret = bundle_new(o->output, &bopts, &b);
	if (ret < 0)
		goto out;
	if (o->install_to && deps_nmaps(d))
		first_dest = assemble_install_dest(deps_map(d, 0)->objs[0].path, o->install_to);
	ret = add_maps(b, d, 0, first_dest);
	for (size_t i = 0; i < matches.n && ret >= 0; i++) {
		struct stat st;

		if (lstat(matches.v[i], &st) == 0 && S_ISDIR(st.st_mode))
			ret = bundle_add_tree(b, matches.v[i], NULL);
		else
			ret = bundle_add(b, matches.v[i], NULL);
	}
	/* A recorded directory is created (its listing was used), not copied whole. */
	for (size_t i = 0; i < recorded.n && ret >= 0; i++)
		ret = bundle_add(b, recorded.v[i], NULL);
	for (size_t i = 0; i < o->mkdirs.n && ret >= 0; i++) {
		char *dest = o->mkdirs.v[i][0] == '/' ? path_normalize(o->mkdirs.v[i])
						     : path_join("/", o->mkdirs.v[i]);

		ret = bundle_mkdir(b, dest);
		free(dest);
	}
	if (ret >= 0)
		ret = write_cache(b, d);
	if (ret >= 0 && o->before_commit)
		ret = o->before_commit(o->ctx, bundle_tree(b));
	if (ret >= 0)
		ret = bundle_commit(b);
	if (ret >= 0)
		log_info("bundled into '%s'", o->output);
out:
	free(first_dest);
	free(output_abs);
	bundle_free(b);
	deps_free(d);
	strvec_clear(&matches);
	strvec_clear(&recorded);
	return ret;
}
