/* SPDX-License-Identifier: MIT */
/* tests/unit/test_deps_dlopen.c - deps_resolve_dlopen(): the objects a static program's
 * dlopen() loads, against the real loader's `ld.so --list` of the same library, and the
 * LD_LIBRARY_PATH rules a static glibc applies (glibc-hwcaps subdirectories, $ORIGIN, an empty
 * element), with shared objects built here. lazylib.c checks the glibc of what it finds. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deps.h"
#include "hwcaps.h"
#include "log.h"
#include "path.h"
#include "strbuf.h"
#include "tap.h"
#include "xalloc.h"

#define RTLD	"/lib64/ld-linux-x86-64.so.2"
#define ARCHIVE "libarchive.so.13"

static char tmp[] = "/tmp/test_deps_dlopen.XXXXXX";

/* The map of dlopen(@name) with LD_LIBRARY_PATH @llp (NULL: none); its return in @ret. */
static struct deps *resolve(const char *name, const char *llp, int *ret)
{
	const struct deps_opts o = {.library_path = llp};
	enum log_level lv = log_level;
	struct deps *d;

	deps_new(&o, &d);
	log_level = LOG_OFF;
	*ret = deps_resolve_dlopen(d, name);
	log_level = lv;
	return d;
}

/* The object of the last map whose soname or file name is @name, or NULL. */
static const struct deps_obj *find(const struct deps *d, const char *name)
{
	const struct deps_map *m = deps_map(d, deps_nmaps(d) - 1);

	for (size_t i = 1; i < m->n; i++)
		if (strvec_find(&m->objs[i].names, name) >= 0 ||
		    !strcmp(strrchr(m->objs[i].path, '/') + 1, name))
			return &m->objs[i];
	return NULL;
}

/* Real paths of the objects `ld.so --list @path` shows, one per line, sorted, into @out. */
static int ld_list(const char *path, struct strvec *out)
{
	char cmd[PATH_MAX + 64], line[PATH_MAX + 256];
	FILE *p;

	/* as the model was asked: no LD_LIBRARY_PATH */
	snprintf(cmd, sizeof(cmd), "env -u LD_LIBRARY_PATH " RTLD " --list '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	while (fgets(line, sizeof(line), p)) {
		char *at = strstr(line, "/"), real[PATH_MAX];

		if (!at || strstr(line, "linux-vdso"))
			continue;
		at[strcspn(at, " \n")] = '\0';
		if (realpath(at, real))
			strvec_push(out, real);
	}
	return pclose(p) == 0 ? 0 : -EIO;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A shared object named @soname at @path whose data holds @banner (a fake libc.so.6). */
static int build_so(const char *path, const char *soname, const char *banner)
{
	char *src = xasprintf("%s/fake.c", tmp), *cmd;
	FILE *f = fopen(src, "w");
	int rc;

	if (!f)
		return -errno;
	fprintf(f, "const char banner[] = \"%s\";\n", banner);
	fclose(f);
	cmd = xasprintf("gcc -shared -nostdlib -fPIC -Wl,-soname,%s -o '%s' '%s'", soname, path,
			src);
	rc = system(cmd);
	free(cmd);
	free(src);
	return rc == 0 ? 0 : -EIO;
}

int main(void)
{
	struct deps *d;
	const struct deps_obj *o;
	const struct deps_map *m;
	int ret;

	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}

	/* the system's libraries: what the real loader lists for the library found */
	d = resolve(ARCHIVE, NULL, &ret);
	m = deps_map(d, 0);
	if (m->n < 2 || ret) {
		if (getenv("CI") && !strcmp(getenv("CI"), "true"))
			ok(0, "%s is installed under CI=true (make deps)", ARCHIVE);
		else
			skip(ARCHIVE " is not installed here");
	} else {
		struct strvec want = STRVEC_INIT, got = STRVEC_INIT;
		char self[PATH_MAX];

		ok(realpath("/proc/self/exe", self) && !strcmp(m->objs[0].path, self),
		   "objs[0] is this program (%s)", m->objs[0].path);
		ok(m->objs[0].nedges == 1 && m->objs[0].edges[0].target == 1 &&
			   !strcmp(m->objs[0].edges[0].name, ARCHIVE),
		   "its one edge is the name dlopen() was given, to objs[1]");
		is_int(m->objs[1].how, DEPS_CACHE, "%s comes from ld.so.cache", ARCHIVE);
		is_int(ld_list(m->objs[1].path, &want), 0, "ld.so --list %s", m->objs[1].path);
		/* which lists what the library needs, not the library */
		if (realpath(m->objs[1].path, self))
			strvec_push(&want, self);
		for (size_t i = 1; i < m->n; i++) {
			char real[PATH_MAX];

			if (realpath(m->objs[i].path, real))
				strvec_push(&got, real);
		}
		qsort(want.v, want.n, sizeof(*want.v), cmp);
		qsort(got.v, got.n, sizeof(*got.v), cmp);
		is_int((long)got.n, (long)want.n, "as many objects as ld.so lists (%zu)", want.n);
		for (size_t i = 0; i < want.n && i < got.n; i++)
			is_str(got.v[i], want.v[i], "object %zu", i);
		ok((o = find(d, "libc.so.6")) && o->how != DEPS_INTERP,
		   "libc.so.6 is among them, found by search like any library");
		ok((o = find(d, "ld-linux-x86-64.so.2")) && o->how == DEPS_CACHE,
		   "so is the loader: a static program has no PT_INTERP (%s)",
		   o ? deps_how_name(o->how) : "missing");
		strvec_clear(&want);
		strvec_clear(&got);
	}
	deps_free(d);

	/* LD_LIBRARY_PATH, searched first; its glibc-hwcaps subdirectories before it (with
	 * shared objects built here) */
	if (system("command -v gcc >/dev/null 2>&1") != 0) {
		if (getenv("CI") && !strcmp(getenv("CI"), "true"))
			ok(0, "gcc is installed under CI=true (make deps)");
		else
			skip("no gcc to build shared objects with");
	} else {
		struct hwcaps hw;
		char *dir = xasprintf("%s/lib", tmp), *sub = NULL,
		     *fake = xasprintf("%s/libc.so.6", dir);
		char *llp;

		hwcaps_detect(&hw);
		mkdir(dir, 0755);
		is_int(build_so(fake, "libc.so.6", "stable release version 2.99."), 0,
		       "a fake libc.so.6 built");
		d = resolve("libc.so.6", dir, &ret);
		ok((o = find(d, "libc.so.6")) && !strcmp(o->path, fake) &&
			   o->how == DEPS_LD_LIBRARY_PATH,
		   "dlopen(libc.so.6) with LD_LIBRARY_PATH=DIR: DIR/libc.so.6 (%s)",
		   o ? o->path : "none");
		deps_free(d);
		/* the element it was found through, as written: the first of two that are one */
		{
			char *want = xasprintf("%s/", dir);

			llp = xasprintf("/nonexistent:%s:%s", want, dir);
			d = resolve("libc.so.6", llp, &ret);
			o = find(d, "libc.so.6");
			ok(o && o->llp_element && !strcmp(o->llp_element, want),
			   "LD_LIBRARY_PATH=%s: found through '%s', as written (%s)", llp, want,
			   o && o->llp_element ? o->llp_element : "none");
			deps_free(d);
			free(llp);
			free(want);
		}
		if (hw.levels.n) {
			char *hwdir = xasprintf("%s/glibc-hwcaps", dir);

			sub = xasprintf("%s/glibc-hwcaps/%s", dir, hw.levels.v[hw.levels.n - 1]);
			mkdir(hwdir, 0755);
			mkdir(sub, 0755);
			free(hwdir);
			free(sub);
			sub = xasprintf("%s/glibc-hwcaps/%s/libc.so.6", dir,
					hw.levels.v[hw.levels.n - 1]);
			is_int(build_so(sub, "libc.so.6", "2.98"), 0, "one in DIR/glibc-hwcaps/%s",
			       hw.levels.v[hw.levels.n - 1]);
			d = resolve("libc.so.6", dir, &ret);
			ok((o = find(d, "libc.so.6")) && !strcmp(o->path, sub),
			   "... is taken before DIR/libc.so.6 (%s)", o ? o->path : "none");
			deps_free(d);
		} else {
			skip("this CPU supports no glibc-hwcaps level");
		}
		/* $ORIGIN is the directory of the program itself */
		{
			char self[PATH_MAX], *origin;

			ok(realpath("/proc/self/exe", self) != NULL, "realpath /proc/self/exe");
			origin = path_dirname(self);
			{
				/* $ORIGIN/../..(to /)/DIR */
				struct strbuf up = STRBUF_INIT;

				strbuf_adds(&up, "$ORIGIN");
				for (const char *q = origin; *q; q++)
					if (*q == '/' && q[1])
						strbuf_adds(&up, "/..");
				strbuf_adds(&up, dir);
				llp = strbuf_detach(&up);
			}
			d = resolve("libc.so.6", llp, &ret);
			o = find(d, "libc.so.6");
			ok(o && o->how == DEPS_LD_LIBRARY_PATH && o->llp_element &&
				   !strcmp(o->llp_element, llp),
			   "LD_LIBRARY_PATH=%s: $ORIGIN expanded, the fake found (%s), through "
			   "the element as written (%s)", llp, o ? o->path : "none",
			   o && o->llp_element ? o->llp_element : "none");
			deps_free(d);
			free(llp);
			free(origin);
		}
		/* an empty element: the working directory */
		{
			char cwd[PATH_MAX];

			ok(getcwd(cwd, sizeof(cwd)) && chdir(dir) == 0, "into DIR");
			d = resolve("libc.so.6", "/nonexistent:", &ret);
			o = find(d, "libc.so.6");
			ok(o && o->how == DEPS_LD_LIBRARY_PATH && path_has_prefix(o->path, dir) &&
				   o->llp_element && !strcmp(o->llp_element, ""),
			   "LD_LIBRARY_PATH=/nonexistent: (an empty element): the one in the "
			   "working "
			   "directory (%s)",
			   o ? o->path : "none");
			deps_free(d);
			ok(chdir(cwd) == 0, "back");
		}
		hwcaps_release(&hw);
		free(sub);
		free(fake);
		free(dir);
	}

	/* a name found nowhere */
	d = resolve("libnothing-here.so.7", NULL, &ret);
	m = deps_map(d, 0);
	is_int(ret, -ENOENT, "a name found nowhere: -ENOENT");
	ok(m->n == 1 && m->objs[0].nedges == 1 && m->objs[0].edges[0].target == -1 &&
		   m->objs[0].edges[0].how == DEPS_NOT_FOUND,
	   "... and a map of the program alone, its edge not found");
	deps_free(d);

	{
		char *cmd = xasprintf("rm -rf '%s'", tmp);

		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmp);
		free(cmd);
	}
	return done_testing();
}
