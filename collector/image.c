/* SPDX-License-Identifier: MIT */
/* collector/image.c - strip and compress a bundle's ELF copies, and stream it into a
 * reproducible OCI image layout tar or `docker save` archive (libarchive, zlib, libcrypto). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <elf.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "elfobj.h"
#include "image.h"
#include "lazylib.h"
#include "log.h"
#include "progress.h"
#include "tree.h"
#include "path.h"
#include "strmap.h"
#include "xalloc.h"

extern char **environ;

#define IO_CHUNK (256 * 1024)
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"

void image_opts_init(struct image_opts *o)
{
	memset(o, 0, sizeof(*o));
	strvec_init(&o->entrypoint);
	strvec_init(&o->cmd);
	strvec_init(&o->env);
	strvec_init(&o->labels);
	strvec_init(&o->expose);
	strvec_init(&o->upx_args);
	o->upx = NULL; /* "upx" */
	o->strip_tool = "strip";
	o->source_date_epoch = getenv("SOURCE_DATE_EPOCH");
}

void image_opts_release(struct image_opts *o)
{
	strvec_clear(&o->entrypoint);
	strvec_clear(&o->cmd);
	strvec_clear(&o->env);
	strvec_clear(&o->labels);
	strvec_clear(&o->expose);
	strvec_clear(&o->upx_args);
	free(o->tag_full);
	free(o->upx_path);
	free(o->strip_path);
	o->tag_full = o->upx_path = o->strip_path = NULL;
}

bool image_wants_archive(const struct image_opts *o)
{
	return o->oci_archive || o->docker_archive;
}

/* ------------------------------------------------------------------ checking options */

static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n;
		uint32_t cp;

		if (*p < 0x80) {
			p++;
			continue;
		} else if ((*p & 0xe0) == 0xc0) {
			n = 1, cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 2, cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 3, cp = *p & 0x07;
		} else {
			return false;
		}
		p++;
		for (int i = 0; i < n; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (*p & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

static int check_strings(const char *opt, const struct strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!valid_utf8(sv->v[i]))
			return log_error(-EINVAL, "%s '%s': not valid UTF-8 (image JSON holds text only)",
					 opt, sv->v[i]);
	return 0;
}

static int check_pairs(const char *opt, const struct strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++) {
		const char *eq = strchr(sv->v[i], '=');

		if (!eq || eq == sv->v[i])
			return log_error(-EINVAL, "%s '%s': expected KEY=VALUE", opt, sv->v[i]);
	}
	return check_strings(opt, sv);
}

static bool tag_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || (!first && (c == '.' || c == '-'));
}

/* NAME[:TAG] after the docker reference grammar, loosely: lowercase path components of
 * [a-z0-9._-] separated by '/', an optional registry host[:port] first, a tag of
 * [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; a digest ("@sha256:...") is not a tag. */
static int check_tag(struct image_opts *o)
{
	const char *t = o->tag, *slash = strrchr(t, '/'), *colon = strrchr(t, ':');
	const char *first_slash = strchr(t, '/');
	size_t namelen;

	if (!*t || strchr(t, '@'))
		goto bad;
	if (colon && (!slash || colon > slash)) {
		const char *tag = colon + 1;

		if (!*tag || strlen(tag) > 128 || !tag_char(*tag, true))
			goto bad;
		for (const char *p = tag + 1; *p; p++)
			if (!tag_char(*p, false))
				goto bad;
		namelen = (size_t)(colon - t);
		o->tag_full = xstrdup(t);
	} else {
		namelen = strlen(t);
		o->tag_full = xasprintf("%s:latest", t);
	}
	if (!namelen || t[0] == '/' || t[namelen - 1] == '/' || namelen > 255)
		goto bad;
	for (size_t i = 0; i < namelen; i++) {
		char c = t[i];
		/* The registry part (before the first '/') may hold a port and capitals. */
		bool in_host = first_slash && t + i < first_slash;

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-' || c == '/')
			continue;
		if (in_host && ((c >= 'A' && c <= 'Z') || c == ':'))
			continue;
		goto bad;
	}
	if (strstr(t, "//"))
		goto bad;
	/* A port in the registry part: one ':' and digits up to the '/'. */
	if (first_slash) {
		const char *c = memchr(t, ':', (size_t)(first_slash - t));

		if (c && (c + 1 == first_slash ||
			  strspn(c + 1, "0123456789") != (size_t)(first_slash - c - 1)))
			goto bad;
	}
	/* Each path component (after a registry host) is letters and digits joined by one '.',
	 * one or two '_', or any run of '-' (the reference grammar of OCI distribution): podman
	 * and docker refuse "../x", "-x", "a..b" when they load the archive. */
	for (const char *p = t, *end = t + namelen, *e; p < end; p = e + 1) {
		bool host = p == t && first_slash &&
			    (memchr(t, '.', (size_t)(first_slash - t)) ||
			     memchr(t, ':', (size_t)(first_slash - t)) ||
			     !strncmp(t, "localhost/", 10));

		e = memchr(p, '/', (size_t)(end - p));
		if (!e)
			e = end;
		if (host) {
			/* a host name: labels of letters, digits and '-', one '.' between them */
			const char *he = memchr(p, ':', (size_t)(e - p));

			if (!he)
				he = e;
			if (he[-1] == '.')
				goto bad;
			for (const char *q = p, *le; q < he; q = le + 1) {
				le = memchr(q, '.', (size_t)(he - q));
				if (!le)
					le = he;
				if (le == q || !isalnum((unsigned char)*q) ||
				    !isalnum((unsigned char)le[-1]))
					goto bad;
			}
			continue;
		}
		if (!isalnum((unsigned char)p[0]) || !isalnum((unsigned char)e[-1]))
			goto bad;
		for (const char *q = p; q < e;) {
			size_t run = strspn(q, "._-");

			if (run > (size_t)(e - q))
				run = (size_t)(e - q);
			if (run && !(run == 1 || (run == 2 && !strncmp(q, "__", 2)) ||
				     strspn(q, "-") >= run))
				goto bad;
			q += run ? run : 1;
		}
	}
	return 0;
bad:
	free(o->tag_full);
	o->tag_full = NULL;
	return log_error(-EINVAL, "--tag '%s': expected NAME[:TAG], NAME of lowercase letters, "
			 "digits, '.', '_', '-' and '/' (like sqlite:3 or registry.example/app:1)", t);
}

/* PORT or PORT/tcp|udp|sctp, 1-65535. */
static int check_port(const char *s)
{
	char *end;
	unsigned long n;

	if (*s < '0' || *s > '9')
		goto bad;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || n < 1 || n > 65535)
		goto bad;
	if (*end && strcmp(end, "/tcp") && strcmp(end, "/udp") && strcmp(end, "/sctp"))
		goto bad;
	return 0;
bad:
	return log_error(-EINVAL, "--expose '%s': expected PORT or PORT/PROTO (1-65535, tcp, udp "
			 "or sctp)", s);
}

/* The archive @path (of option @opt) can be written, before anything is built: it is new or
 * a regular file (it is replaced by a rename: a device, a symlink or a directory there would
 * be replaced too, /dev/null by a file), in a directory that exists and that we may write. */
static int check_archive_path(const char *opt, const char *path)
{
	char *dir = path_dirname(path), *probe = xasprintf("%s/.magicpak-probe-XXXXXX", dir);
	struct stat st;
	int fd, ret = 0;

	if (!lstat(path, &st) && !S_ISREG(st.st_mode))
		ret = log_error(-EINVAL, "%s '%s': not a regular file"
				" (it is %s); give a new path, or a file to replace", opt, path,
				S_ISDIR(st.st_mode) ? "a directory" : S_ISLNK(st.st_mode) ? "a symlink" :
				S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" :
				S_ISFIFO(st.st_mode) ? "a FIFO" : "a socket");
	/* a file made and removed there: root passes access() where nothing can be made */
	else if ((fd = mkstemp(probe)) < 0)
		ret = log_errno(-errno, "%s '%s': cannot write in '%s'", opt, path, dir);
	else if (close(fd) || unlink(probe))
		ret = log_errno(-errno, "%s '%s': cannot write in '%s'", opt, path, dir);
	free(probe);
	free(dir);
	return ret;
}

/* The first option given that describes only the image, or NULL. */
static const char *image_only_option(const struct image_opts *o)
{
	return o->tag ? "--tag" : o->entrypoint.n ? "--entrypoint" : o->cmd.n ? "--cmd" :
	       o->env.n ? "--env" : o->labels.n ? "--label" : o->expose.n ? "--expose" :
	       o->workdir ? "--workdir" : o->user ? "--user" : NULL;
}

int image_opts_check(struct image_opts *o)
{
	const char *only = image_only_option(o);
	int ret;

	/* as in the original magicpak, they only say how to compress: not silently lost */
	if (!o->compress && (o->upx || o->upx_args.n))
		log_warn("%s has no effect without -c/--compress", o->upx ? "--upx" : "--upx-arg");
	/* A bundle directory has no config: such an option would be silently lost. */
	if (!image_wants_archive(o) && only)
		return log_error(-EINVAL, "%s describes an image archive, and none is asked for: "
				 "add --oci-archive FILE or --docker-archive FILE", only);

	/* before anything is built: a bundle without the archive asked for is no success */
	if (image_wants_archive(o) && ((ret = lazy_archive_load()) < 0 || (ret = lazy_crypto_load()) < 0))
		return ret;
	o->epoch = 0;
	if (o->source_date_epoch && *o->source_date_epoch) {
		const char *s = o->source_date_epoch;
		char *end;

		errno = 0;
		long long v = strtoll(s, &end, 10);

		/* Year 9999 at most: "created" is an RFC 3339 date. */
		if (*s < '0' || *s > '9' || *end || errno || v > 253402300799LL)
			return log_error(-EINVAL, "SOURCE_DATE_EPOCH '%s': expected a number of "
					 "seconds since 1970 (at most 253402300799)", s);
		o->epoch = v;
	}
	if (o->tag && (ret = check_tag(o)) < 0)
		return ret;
	if ((ret = check_strings("--entrypoint", &o->entrypoint)) < 0 ||
	    (ret = check_strings("--cmd", &o->cmd)) < 0 || (ret = check_pairs("--env", &o->env)) < 0 ||
	    (ret = check_pairs("--label", &o->labels)) < 0)
		return ret;
	for (size_t i = 0; i < o->expose.n; i++)
		if ((ret = check_port(o->expose.v[i])) < 0)
			return ret;
	if (o->workdir && (o->workdir[0] != '/' || !valid_utf8(o->workdir)))
		return log_error(-EINVAL, "--workdir '%s': expected an absolute path in UTF-8",
				 o->workdir);
	if (o->user) {
		const char *colon = strchr(o->user, ':');

		if (!*o->user || !valid_utf8(o->user) || o->user[0] == ':' ||
		    (colon && (!colon[1] || strchr(colon + 1, ':'))))
			return log_error(-EINVAL, "--user '%s': expected USER[:GROUP] or UID[:GID]",
					 o->user);
	}
	if ((o->oci_archive && (ret = check_archive_path("--oci-archive", o->oci_archive)) < 0) ||
	    (o->docker_archive &&
	     (ret = check_archive_path("--docker-archive", o->docker_archive)) < 0))
		return ret;
	if (o->oci_archive && o->docker_archive) {
		char *a = path_absolute(o->oci_archive), *b = path_absolute(o->docker_archive);
		bool same = !strcmp(a, b);

		free(a);
		free(b);
		if (same)
			return log_error(-EINVAL, "--oci-archive and --docker-archive name the same "
					 "file '%s'", o->oci_archive);
	}
	if (o->compress) {
		const char *upx = o->upx ? o->upx : "upx";

		free(o->upx_path);
		o->upx_path = path_search(upx, getenv("PATH"));
		if (!o->upx_path)
			return log_error(-ENOENT, "--compress: '%s' not found (install upx, e.g. "
					 "apt-get install upx-ucl, or give --upx PATH); nothing "
					 "written", upx);
	}
	if (o->strip) {
		free(o->strip_path);
		o->strip_path = path_search(o->strip_tool, getenv("PATH"));
		if (!o->strip_path)
			return log_error(-ENOENT, "--strip: '%s' not found (install binutils); "
					 "nothing written", o->strip_tool);
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ------------------------------------------------------------------ strip and upx */

enum elf_pick { PICK_STRIP, PICK_UPX };

struct elf_scan {
	enum elf_pick pick;
	const char *tree;
	struct strmap seen;      /* "dev:ino" of regular files already listed */
	struct strvec files;     /* paths (tree + "/" + rel) to process */
	unsigned long long before;
	struct strbuf why;
};

static int scan_elf(void *ctx, int dirfd, const char *name, const char *rel,
		    const struct stat *st)
{
	struct elf_scan *s = ctx;
	struct elfobj eo;
	char key[64];
	int fd, r;

	if (!S_ISREG(st->st_mode) || st->st_size < 64)
		return 0;
	snprintf(key, sizeof(key), "%ju:%ju", (uintmax_t)st->st_dev, (uintmax_t)st->st_ino);
	if (strmap_has(&s->seen, key))
		return 0;
	strmap_put(&s->seen, key, NULL);
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return log_errno(-errno, "cannot open '%s' in the bundle", rel);
	memset(&eo, 0, sizeof(eo));
	strbuf_reset(&s->why);
	if (s->pick == PICK_STRIP)
		r = elfobj_peek(fd, &eo, &s->why);
	else
		r = elfobj_read(fd, &eo, &s->why);
	close(fd);
	if (r == 0) {
		bool take;

		if (s->pick == PICK_STRIP)
			take = eo.type == ET_EXEC || eo.type == ET_DYN;
		else /* executables: static, or PIE with PT_INTERP; never ld.so or a library
		      * (libc.so.6 has a PT_INTERP too, and a DT_SONAME) */
			take = (st->st_mode & 0111) && !eo.soname &&
			       (eo.type == ET_EXEC || (eo.type == ET_DYN && eo.interp));
		if (take) {
			char *full = xasprintf("%s/%s", s->tree, rel);

			if (strlen(full) >= PATH_MAX)
				log_warn("'%s': path too long to hand to a tool; left as it is", rel);
			else {
				strvec_push(&s->files, full);
				s->before += (unsigned long long)st->st_size;
			}
			free(full);
		}
	}
	elfobj_release(&eo);
	return 0;
}

/* Run @argv with stdout sent to stderr (ours carries results only). Returns its exit
 * status, or -errno when it could not run. */
static int run_tool(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r, status;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r)
		return log_errno(-r, "cannot run '%s'", argv[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return log_errno(-errno, "waiting for '%s'", argv[0]);
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static unsigned long long size_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? (unsigned long long)st.st_size : 0;
}

/* Run @tool on each file (in batches); @pre are the arguments before the files. A failure
 * on one batch is retried file by file so one odd file does not hide the others. */
static int run_on_files(const char *tool, const char *const *pre, size_t npre,
			const struct strvec *extra, const struct strvec *files, int warn_status,
			const char *what)
{
	const size_t batch = 64;
	int ret = 0;

	for (size_t i = 0; i < files->n; i += batch) {
		size_t n = files->n - i < batch ? files->n - i : batch;
		struct strvec argv = STRVEC_INIT;
		int r;

		strvec_push(&argv, tool);
		for (size_t k = 0; k < npre; k++)
			strvec_push(&argv, pre[k]);
		for (size_t k = 0; extra && k < extra->n; k++)
			strvec_push(&argv, extra->v[k]);
		strvec_push(&argv, "--");
		size_t fixed = argv.n;

		for (size_t k = 0; k < n; k++)
			strvec_push(&argv, files->v[i + k]);
		r = run_tool(argv.v);
		if (r < 0) {
			strvec_clear(&argv);
			return r;
		}
		if (r != 0 && n > 1) {
			/* Again one by one, to name the file that fails. */
			for (size_t k = 0; k < n && ret >= 0; k++) {
				free(argv.v[fixed]);
				argv.v[fixed] = xstrdup(files->v[i + k]);
				for (size_t j = fixed + 1; j < argv.n; j++)
					free(argv.v[j]);
				argv.n = fixed + 1;
				argv.v[argv.n] = NULL;
				r = run_tool(argv.v);
				if (r < 0)
					ret = r;
				else if (r == warn_status)
					log_warn("%s: '%s' left as it is (%s exited with %d)", what,
						 files->v[i + k], tool, r);
				else if (r)
					ret = log_error(-EIO, "%s: '%s' failed on '%s' (exit %d)", what,
							tool, files->v[i + k], r);
			}
		} else if (r == warn_status && n == 1) {
			log_warn("%s: '%s' left as it is (%s exited with %d)", what, files->v[i], tool,
				 r);
		} else if (r) {
			ret = log_error(-EIO, "%s: '%s' failed on '%s' (exit %d)", what, tool,
					files->v[i], r);
		}
		strvec_clear(&argv);
		if (ret < 0)
			return ret;
	}
	return ret;
}

static int process_elves(struct image_opts *o, const char *tree, enum elf_pick pick)
{
	char *abs = path_absolute(tree);
	struct elf_scan s = { .pick = pick, .tree = abs };
	int ret;

	strvec_init(&s.files);
	ret = tree_walk(tree, scan_elf, &s);
	if (ret < 0)
		goto out;
	if (pick == PICK_STRIP) {
		/* strip 2.40 rewrites the file in place, so hard links stay links. */
		static const char *const pre[] = { "--strip-unneeded" };

		ret = run_on_files(o->strip_path, pre, 1, NULL, &s.files, -1, "--strip");
		o->strip_files = s.files.n;
		o->strip_before = s.before;
		o->strip_after = 0;
		for (size_t i = 0; i < s.files.n; i++)
			o->strip_after += size_of(s.files.v[i]);
	} else {
		/* upx: 0 done, 2 a warning (already packed, too small, not supported). */
		static const char *const pre[] = { "-q" };

		ret = run_on_files(o->upx_path, pre, 1, &o->upx_args, &s.files, 2, "--compress");
		o->upx_files = s.files.n;
		o->upx_before = s.before;
		o->upx_after = 0;
		for (size_t i = 0; i < s.files.n; i++)
			o->upx_after += size_of(s.files.v[i]);
	}
out:
	strmap_clear(&s.seen);
	strvec_clear(&s.files);
	strbuf_release(&s.why);
	free(abs);
	return ret;
}

static bool is_whiteout(const char *name)
{
	return !strncmp(name, ".wh.", 4);
}

/* The names an image cannot hold; checked by image_prepare() too, so that OUTPUT is not
 * written either. */
static int check_name(const char *name, const char *rel, const struct stat *st)
{
	if (is_whiteout(name))
		return log_error(-EINVAL, "'/%s': names starting with '.wh.' are OCI whiteouts (an "
				 "image runtime would delete files instead); refusing to write the "
				 "image", rel);
	if (S_ISSOCK(st->st_mode))
		return log_error(-EINVAL, "'/%s' is a socket, which a tar cannot carry; refusing to "
				 "write the image", rel);
	return 0;
}

static int check_entry(void *ctx, int dirfd, const char *name, const char *rel,
		       const struct stat *st)
{
	return check_name(name, rel, st);
}

int image_prepare(void *ctx, const char *tree)
{
	struct image_opts *o = ctx;
	int ret;

	if (image_wants_archive(o) && (ret = tree_walk(tree, check_entry, NULL)) < 0)
		return ret;
	/* A user name is looked up in the image's /etc/passwd (a group name in /etc/group),
	 * which a bundle has only when it was asked for: the container would not start. */
	if (image_wants_archive(o) && o->user && strspn(o->user, "0123456789:") != strlen(o->user)) {
		char *passwd = xasprintf("%s/etc/passwd", tree), *group = xasprintf("%s/etc/group", tree);
		bool gname = strchr(o->user, ':') &&
			     strspn(strchr(o->user, ':') + 1, "0123456789") != strlen(strchr(o->user, ':') + 1);

		if (access(passwd, F_OK) || (gname && access(group, F_OK)))
			log_warn("--user '%s': the bundle has no /etc/passwd%s to find a name in "
				 "(--include it, or give numbers)", o->user, gname ? " or /etc/group" : "");
		free(passwd);
		free(group);
	}

	if (o->strip && (ret = process_elves(o, tree, PICK_STRIP)) < 0)
		return ret;
	if (o->compress && (ret = process_elves(o, tree, PICK_UPX)) < 0)
		return ret;
	return o->next ? o->next(o->next_ctx, tree) : 0;
}

/* ------------------------------------------------------------------ the layer */

struct digest {
	EVP_MD_CTX *md;
	uint64_t size;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
};

static void digest_init(struct digest *d)
{
	d->md = CR(EVP_MD_CTX_new)();
	if (!d->md || !CR(EVP_DigestInit_ex)(d->md, CR(EVP_sha256)(), NULL))
		die("out of memory (sha256)");
	d->size = 0;
	d->hex[0] = '\0';
}

static void digest_add(struct digest *d, const void *p, size_t n)
{
	CR(EVP_DigestUpdate)(d->md, p, n);
	d->size += n;
}

static void digest_final(struct digest *d)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	CR(EVP_DigestFinal_ex)(d->md, md, &n);
	for (unsigned int i = 0; i < n; i++)
		snprintf(d->hex + 2 * i, 3, "%02x", md[i]);
	CR(EVP_MD_CTX_free)(d->md);
	d->md = NULL;
}

static void digest_release(struct digest *d)
{
	CR(EVP_MD_CTX_free)(d->md);
	d->md = NULL;
}

struct arch_count {
	uint16_t machine;
	unsigned char cls, data;
	unsigned long n;
	char *example; /* owned: the first file seen */
};

struct layer {
	struct archive *a;
	int gz_fd, raw_fd;         /* temporary files (unlinked), -1 when not wanted */
	const char *gz_name, *raw_name; /* for messages */
	z_stream z;
	bool z_ready;
	unsigned char *zbuf;
	struct digest diff, blob;  /* uncompressed (diff_id) and compressed (the blob) */
	int err;                   /* first write error (-errno) */
	int64_t epoch;
	struct strmap inodes;      /* "dev:ino" -> first entry name (owned) */
	struct strvec link_names;  /* owns the values of inodes */
	struct arch_count *arch;
	size_t narch, aarch;
	struct strbuf why;
	unsigned char *iobuf;
};

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int gz_flush(struct layer *l)
{
	size_t n = IO_CHUNK - l->z.avail_out;
	int r;

	if (!n)
		return 0;
	digest_add(&l->blob, l->zbuf, n);
	r = write_all(l->gz_fd, l->zbuf, n);
	l->z.next_out = l->zbuf;
	l->z.avail_out = IO_CHUNK;
	return r;
}

static la_ssize_t layer_write_cb(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct layer *l = ctx;
	int r;

	digest_add(&l->diff, buf, len);
	if (l->raw_fd >= 0 && (r = write_all(l->raw_fd, buf, len)) < 0) {
		l->err = l->err ? l->err : r;
		AR(archive_set_error)(a, -r, "cannot write '%s'", l->raw_name);
		return -1;
	}
	if (l->gz_fd < 0)
		return (la_ssize_t)len;
	l->z.next_in = (Bytef *)buf;
	l->z.avail_in = (uInt)len;
	while (l->z.avail_in) {
		if (deflate(&l->z, Z_NO_FLUSH) == Z_STREAM_ERROR) {
			AR(archive_set_error)(a, EIO, "zlib deflate failed");
			l->err = l->err ? l->err : -EIO;
			return -1;
		}
		if (l->z.avail_out == 0 && (r = gz_flush(l)) < 0) {
			l->err = l->err ? l->err : r;
			AR(archive_set_error)(a, -r, "cannot write '%s'", l->gz_name);
			return -1;
		}
	}
	return (la_ssize_t)len;
}

static int layer_finish_gz(struct layer *l)
{
	int z, r;

	if (l->gz_fd < 0)
		return 0;
	do {
		z = deflate(&l->z, Z_FINISH);
		if (z == Z_STREAM_ERROR)
			return log_error(-EIO, "zlib deflate failed");
		if ((r = gz_flush(l)) < 0)
			return log_errno(r, "cannot write '%s'", l->gz_name);
	} while (z != Z_STREAM_END);
	return 0;
}

static void note_arch(struct layer *l, const struct elfobj *eo, const char *rel)
{
	for (size_t i = 0; i < l->narch; i++) {
		if (l->arch[i].machine == eo->machine && l->arch[i].cls == eo->ei_class &&
		    l->arch[i].data == eo->ei_data) {
			l->arch[i].n++;
			return;
		}
	}
	xgrow(&l->arch, &l->aarch, l->narch + 1, sizeof(*l->arch));
	l->arch[l->narch++] = (struct arch_count){ eo->machine, eo->ei_class, eo->ei_data, 1,
						   xstrdup(rel) };
}

/* Write the regular file's data, keeping holes as holes (GNU sparse 1.0 in PAX) when the
 * file has fewer blocks than its size needs. */
static int layer_file_data(struct layer *l, int fd, const char *rel, const struct stat *st,
			   struct archive_entry *e, bool *wrote_header)
{
	off_t size = st->st_size, off = 0;
	bool sparse = (off_t)st->st_blocks * 512 < size;
	int ret = 0;

	if (sparse) {
		/* Data regions from SEEK_DATA/SEEK_HOLE; a file system without them reports one
		 * region, the whole file. */
		while (off < size) {
			off_t data = lseek(fd, off, SEEK_DATA), hole;

			if (data < 0)
				break;
			hole = lseek(fd, data, SEEK_HOLE);
			if (hole < 0 || hole > size)
				hole = size;
			AR(archive_entry_sparse_add_entry)(e, data, hole - data);
			off = hole;
		}
		/* The map must end at the file's size. */
		AR(archive_entry_sparse_add_entry)(e, size, 0);
	}
	if (AR(archive_write_header)(l->a, e) < ARCHIVE_WARN)
		return log_error(-EINVAL, "'%s' cannot be carried by a tar: %s", rel,
				 AR(archive_error_string)(l->a));
	*wrote_header = true;
	/* The writer takes the whole logical stream and skips the holes itself; the holes
	 * are fed from a zero buffer without reading the file. */
	off = 0;
	while (off < size) {
		off_t data = sparse ? lseek(fd, off, SEEK_DATA) : off, end;

		if (data < 0)
			data = size; /* ENXIO: only a hole remains */
		while (off < data) {
			size_t n = (size_t)(data - off < IO_CHUNK ? data - off : IO_CHUNK);

			memset(l->iobuf, 0, n);
			if (AR(archive_write_data)(l->a, l->iobuf, n) < 0)
				return log_error(l->err ? l->err : -EIO, "writing the layer: %s",
						 AR(archive_error_string)(l->a));
			off += (off_t)n;
		}
		if (off >= size)
			break;
		end = sparse ? lseek(fd, off, SEEK_HOLE) : size;
		if (end < 0 || end > size)
			end = size;
		while (off < end) {
			size_t want = (size_t)(end - off < IO_CHUNK ? end - off : IO_CHUNK);
			ssize_t n = pread(fd, l->iobuf, want, off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return log_errno(-errno, "cannot read '%s' in the bundle", rel);
			if (n == 0)
				return log_error(-EIO, "'%s' in the bundle shrank while it was archived",
						 rel);
			if (AR(archive_write_data)(l->a, l->iobuf, (size_t)n) < 0)
				return log_error(l->err ? l->err : -EIO, "writing the layer: %s",
						 AR(archive_error_string)(l->a));
			off += n;
			progress.bytes += (uint64_t)n;
			progress_tick();
		}
	}
	return ret;
}

static int layer_entry(void *ctx, int dirfd, const char *name, const char *rel,
		       const struct stat *st)
{
	struct layer *l = ctx;
	struct archive_entry *e = NULL;
	char key[64], *target = NULL;
	const char *first;
	bool wrote = false;
	int fd = -1, ret = 0;

	if ((ret = check_name(name, rel, st)) < 0)
		return ret;
	e = AR(archive_entry_new)();
	AR(archive_entry_set_pathname)(e, rel);
	AR(archive_entry_set_mtime)(e, l->epoch, 0);
	AR(archive_entry_set_uid)(e, 0);
	AR(archive_entry_set_gid)(e, 0);
	AR(archive_entry_set_perm)(e, st->st_mode & 07777);
	if (S_ISDIR(st->st_mode)) {
		AR(archive_entry_set_filetype)(e, AE_IFDIR);
	} else if (S_ISLNK(st->st_mode)) {
		size_t cap = (size_t)st->st_size + 1 > 256 ? (size_t)st->st_size + 1 : 256;
		ssize_t n;

		for (;;) {
			target = xrealloc(target, cap);
			n = readlinkat(dirfd, name, target, cap);
			if (n < 0) {
				ret = log_errno(-errno, "cannot read the link '%s' in the bundle", rel);
				goto out;
			}
			if ((size_t)n < cap)
				break;
			cap *= 2;
		}
		target[n] = '\0';
		AR(archive_entry_set_filetype)(e, AE_IFLNK);
		AR(archive_entry_set_symlink)(e, target);
	} else if (S_ISREG(st->st_mode)) {
		AR(archive_entry_set_filetype)(e, AE_IFREG);
		if (st->st_nlink > 1) {
			snprintf(key, sizeof(key), "%ju:%ju", (uintmax_t)st->st_dev,
				 (uintmax_t)st->st_ino);
			first = strmap_get(&l->inodes, key);
			if (first) {
				/* Walked in order, so the target is an earlier entry. */
				AR(archive_entry_set_hardlink)(e, first);
				AR(archive_entry_set_size)(e, 0);
				goto header;
			}
			strvec_push(&l->link_names, rel);
			strmap_put(&l->inodes, key, l->link_names.v[l->link_names.n - 1]);
		}
		AR(archive_entry_set_size)(e, st->st_size);
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			ret = log_errno(-errno, "cannot open '%s' in the bundle", rel);
			goto out;
		}
		if (st->st_size >= 64) {
			struct elfobj eo;

			memset(&eo, 0, sizeof(eo));
			strbuf_reset(&l->why);
			if (elfobj_peek(fd, &eo, &l->why) == 0 &&
			    (eo.type == ET_EXEC || eo.type == ET_DYN))
				note_arch(l, &eo, rel);
			elfobj_release(&eo);
		}
		ret = layer_file_data(l, fd, rel, st, e, &wrote);
		goto out;
	} else if (S_ISFIFO(st->st_mode)) {
		AR(archive_entry_set_filetype)(e, AE_IFIFO);
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		AR(archive_entry_set_filetype)(e, S_ISCHR(st->st_mode) ? AE_IFCHR : AE_IFBLK);
		AR(archive_entry_set_rdev)(e, st->st_rdev);
	}
header:
	if (AR(archive_write_header)(l->a, e) < ARCHIVE_WARN)
		ret = log_error(l->err ? l->err : -EINVAL, "'/%s' cannot be carried by a tar: %s",
				rel, AR(archive_error_string)(l->a));
out:
	if (fd >= 0)
		close(fd);
	free(target);
	AR(archive_entry_free)(e);
	return ret;
}

/* A tar writer for reproducible archives: PAX only where ustar cannot hold an entry
 * (long or non-ASCII names, big files), names stored as their bytes. */
static struct archive *tar_writer(void)
{
	struct archive *a = AR(archive_write_new)();

	if (!a)
		die("out of memory (libarchive)");
	AR(archive_write_set_format_pax_restricted)(a);
	/* A name that is not ASCII gets a PAX path record holding its bytes (with
	 * hdrcharset=BINARY) because image_write() runs in the C locale. */
	/* Bytes, not the locale's idea of them: the same archive whatever LANG says. */
	AR(archive_write_set_bytes_per_block)(a, 10240);
	return a;
}

/* Temporary file next to @final, already unlinked; for streaming a layer. */
static int temp_unlinked(const char *final, const char *what)
{
	char *dir = path_dirname(final), *tmpl = xasprintf("%s/.magicpak-%s-XXXXXX", dir, what);
	int fd = mkostemp(tmpl, O_CLOEXEC);

	if (fd < 0)
		fd = log_errno(-errno, "cannot create a temporary file in '%s'", dir);
	else
		unlink(tmpl);
	free(tmpl);
	free(dir);
	return fd;
}

struct layer_out {
	struct digest diff, blob; /* sha256 of the uncompressed and the compressed layer */
	int gz_fd, raw_fd;        /* rewound temporary files, or -1 */
	char arch[72], variant[8];
};

static const char *arch_name(const struct arch_count *a, const char **variant)
{
	bool le = a->data == ELFDATA2LSB, b64 = a->cls == ELFCLASS64;

	*variant = NULL;
	switch (a->machine) {
	case EM_X86_64: return "amd64";
	case EM_386: return "386";
	case EM_AARCH64: *variant = "v8"; return "arm64";
	case EM_ARM: *variant = "v7"; return "arm";
	case EM_PPC64: return le ? "ppc64le" : "ppc64";
	case EM_PPC: return "ppc";
	case EM_S390: return "s390x";
	case EM_RISCV: return b64 ? "riscv64" : "riscv32";
	case EM_MIPS: return b64 ? (le ? "mips64le" : "mips64") : (le ? "mipsle" : "mips");
#ifdef EM_LOONGARCH
	case EM_LOONGARCH: return "loong64";
#endif
	default: return NULL;
	}
}

static int pick_arch(struct layer *l, struct layer_out *out)
{
	const struct arch_count *best = NULL;
	const char *name, *variant;

	for (size_t i = 0; i < l->narch; i++)
		if (!best || l->arch[i].n > best->n)
			best = &l->arch[i];
	if (!best) {
		struct utsname u;

		uname(&u);
		name = !strcmp(u.machine, "x86_64") ? "amd64" : !strcmp(u.machine, "aarch64") ? "arm64"
										  : u.machine;
		log_warn("no ELF executable or library in the bundle: image architecture '%s' (this "
			 "machine)", name);
		snprintf(out->arch, sizeof(out->arch), "%s", name);
		return 0;
	}
	for (size_t i = 0; i < l->narch; i++)
		if (&l->arch[i] != best)
			log_warn("the bundle mixes architectures: '/%s' is %s, '/%s' %s; the image says "
				 "%s", best->example, elfobj_machine_name(best->machine),
				 l->arch[i].example, elfobj_machine_name(l->arch[i].machine),
				 elfobj_machine_name(best->machine));
	name = arch_name(best, &variant);
	if (!name)
		return log_error(-EINVAL, "'/%s': no OCI architecture name for ELF %s", best->example,
				 elfobj_machine_name(best->machine));
	snprintf(out->arch, sizeof(out->arch), "%s", name);
	snprintf(out->variant, sizeof(out->variant), "%s", variant ? variant : "");
	return 0;
}

/* Stream @tree into the layer: gzip-compressed when @gz, uncompressed when @raw (both
 * temporary files next to their archive). */
static int write_layer(const struct image_opts *o, const char *tree, struct layer_out *out)
{
	struct layer l;
	int ret = 0;

	memset(&l, 0, sizeof(l));
	l.gz_fd = l.raw_fd = -1;
	l.epoch = o->epoch;
	l.iobuf = xmalloc(IO_CHUNK);
	strvec_init(&l.link_names);
	digest_init(&l.diff);
	digest_init(&l.blob);
	out->gz_fd = out->raw_fd = -1;
	if (o->oci_archive) {
		l.gz_name = o->oci_archive;
		if ((l.gz_fd = temp_unlinked(o->oci_archive, "layer")) < 0) {
			ret = l.gz_fd;
			goto out;
		}
		l.zbuf = xmalloc(IO_CHUNK);
		/* windowBits 15 + 16: a gzip wrapper whose header has no name and mtime 0. */
		if (deflateInit2(&l.z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			die("out of memory (zlib)");
		l.z_ready = true;
		l.z.next_out = l.zbuf;
		l.z.avail_out = IO_CHUNK;
	}
	if (o->docker_archive) {
		l.raw_name = o->docker_archive;
		if ((l.raw_fd = temp_unlinked(o->docker_archive, "layer")) < 0) {
			ret = l.raw_fd;
			goto out;
		}
	}
	l.a = tar_writer();
	if (AR(archive_write_open2)(l.a, &l, NULL, layer_write_cb, NULL, NULL) != ARCHIVE_OK) {
		ret = log_error(-EIO, "cannot start the layer: %s", AR(archive_error_string)(l.a));
		goto out;
	}
	ret = tree_walk(tree, layer_entry, &l);
	if (ret < 0)
		goto out;
	if (AR(archive_write_close)(l.a) != ARCHIVE_OK) {
		ret = log_error(l.err ? l.err : -EIO, "cannot finish the layer: %s",
				AR(archive_error_string)(l.a));
		goto out;
	}
	if ((ret = layer_finish_gz(&l)) < 0 || (ret = pick_arch(&l, out)) < 0)
		goto out;
	digest_final(&l.diff);
	digest_final(&l.blob);
	out->diff = l.diff;
	out->blob = l.blob;
	l.diff.md = l.blob.md = NULL;
	if (l.gz_fd >= 0 && lseek(l.gz_fd, 0, SEEK_SET) < 0)
		ret = log_errno(-errno, "cannot rewind the layer");
	if (l.raw_fd >= 0 && lseek(l.raw_fd, 0, SEEK_SET) < 0)
		ret = log_errno(-errno, "cannot rewind the layer");
	if (ret < 0)
		goto out;
	if (!o->oci_archive)
		out->blob = out->diff; /* the docker layer is the uncompressed one */
	out->gz_fd = l.gz_fd;
	out->raw_fd = l.raw_fd;
	l.gz_fd = l.raw_fd = -1;
out:
	if (l.a)
		AR(archive_write_free)(l.a);
	if (l.z_ready)
		deflateEnd(&l.z);
	if (l.gz_fd >= 0)
		close(l.gz_fd);
	if (l.raw_fd >= 0)
		close(l.raw_fd);
	digest_release(&l.diff);
	digest_release(&l.blob);
	strmap_clear(&l.inodes);
	strvec_clear(&l.link_names);
	for (size_t i = 0; i < l.narch; i++)
		free(l.arch[i].example);
	free(l.arch);
	strbuf_release(&l.why);
	free(l.zbuf);
	free(l.iobuf);
	return ret;
}

/* ------------------------------------------------------------------ canonical JSON */

static void json_str(struct strbuf *sb, const char *s)
{
	strbuf_add_json(sb, s);
}

static void json_key(struct strbuf *sb, bool *first, const char *key)
{
	if (!*first)
		strbuf_addch(sb, ',');
	*first = false;
	json_str(sb, key);
	strbuf_addch(sb, ':');
}

static void json_array(struct strbuf *sb, const struct strvec *sv)
{
	strbuf_addch(sb, '[');
	for (size_t i = 0; i < sv->n; i++) {
		if (i)
			strbuf_addch(sb, ',');
		json_str(sb, sv->v[i]);
	}
	strbuf_addch(sb, ']');
}

/* Length of the KEY part of "KEY=VALUE". */
static size_t key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* Later KEY=VALUE pairs replace earlier ones of the same KEY, in place. */
static void dedup_pairs(const struct strvec *in, struct strvec *out)
{
	for (size_t i = 0; i < in->n; i++) {
		size_t k = key_len(in->v[i]), j;

		for (j = 0; j < out->n; j++) {
			if (key_len(out->v[j]) == k && !strncmp(out->v[j], in->v[i], k)) {
				free(out->v[j]);
				out->v[j] = xstrdup(in->v[i]);
				break;
			}
		}
		if (j == out->n)
			strvec_push(out, in->v[i]);
	}
}

static int cmp_key(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t kx = key_len(x), ky = key_len(y);
	int c = memcmp(x, y, kx < ky ? kx : ky);

	return c ? c : (kx > ky) - (kx < ky);
}

static void rfc3339(int64_t epoch, char *buf, size_t len)
{
	time_t t = (time_t)epoch;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void build_config(const struct image_opts *o, const struct layer_out *lo, struct strbuf *sb)
{
	struct strvec env = STRVEC_INIT, labels = STRVEC_INIT, ports = STRVEC_INIT, pathdef =
		STRVEC_INIT;
	char created[64];
	bool f = true, c = true;

	rfc3339(o->epoch, created, sizeof(created));
	strvec_push(&pathdef, "PATH=" IMAGE_DEFAULT_PATH);
	dedup_pairs(&pathdef, &env);
	dedup_pairs(&o->env, &env);
	dedup_pairs(&o->labels, &labels);
	if (labels.n)
		qsort(labels.v, labels.n, sizeof(*labels.v), cmp_key);
	for (size_t i = 0; i < o->expose.n; i++) {
		char *p = strchr(o->expose.v[i], '/') ? xstrdup(o->expose.v[i])
						       : xasprintf("%s/tcp", o->expose.v[i]);

		/* "080" and "80" are one port. */
		char *rest;
		unsigned long n = strtoul(p, &rest, 10);
		char *norm = xasprintf("%lu%s", n, rest);

		free(p);
		if (strvec_find(&ports, norm) < 0)
			strvec_push(&ports, norm);
		free(norm);
	}
	if (ports.n)
		qsort(ports.v, ports.n, sizeof(*ports.v), cmp_str);

	strbuf_addch(sb, '{');
	json_key(sb, &f, "architecture");
	json_str(sb, lo->arch);
	json_key(sb, &f, "config");
	strbuf_addch(sb, '{');
	if (o->cmd.n) {
		json_key(sb, &c, "Cmd");
		json_array(sb, &o->cmd);
	}
	if (o->entrypoint.n) {
		json_key(sb, &c, "Entrypoint");
		json_array(sb, &o->entrypoint);
	}
	json_key(sb, &c, "Env");
	json_array(sb, &env);
	if (ports.n) {
		json_key(sb, &c, "ExposedPorts");
		strbuf_addch(sb, '{');
		for (size_t i = 0; i < ports.n; i++) {
			if (i)
				strbuf_addch(sb, ',');
			json_str(sb, ports.v[i]);
			strbuf_adds(sb, ":{}");
		}
		strbuf_addch(sb, '}');
	}
	if (labels.n) {
		json_key(sb, &c, "Labels");
		strbuf_addch(sb, '{');
		for (size_t i = 0; i < labels.n; i++) {
			char *k = xstrndup(labels.v[i], key_len(labels.v[i]));

			if (i)
				strbuf_addch(sb, ',');
			json_str(sb, k);
			strbuf_addch(sb, ':');
			json_str(sb, labels.v[i] + strlen(k) + 1);
			free(k);
		}
		strbuf_addch(sb, '}');
	}
	if (o->user) {
		json_key(sb, &c, "User");
		json_str(sb, o->user);
	}
	if (o->workdir) {
		json_key(sb, &c, "WorkingDir");
		json_str(sb, o->workdir);
	}
	strbuf_addch(sb, '}');
	json_key(sb, &f, "created");
	json_str(sb, created);
	json_key(sb, &f, "history");
	strbuf_adds(sb, "[{\"created\":");
	json_str(sb, created);
	strbuf_adds(sb, ",\"created_by\":\"magicpak\"}]");
	json_key(sb, &f, "os");
	json_str(sb, "linux");
	json_key(sb, &f, "rootfs");
	strbuf_addf(sb, "{\"diff_ids\":[\"sha256:%s\"],\"type\":\"layers\"}", lo->diff.hex);
	if (lo->variant[0]) {
		json_key(sb, &f, "variant");
		json_str(sb, lo->variant);
	}
	strbuf_addch(sb, '}');
	strvec_clear(&env);
	strvec_clear(&labels);
	strvec_clear(&ports);
	strvec_clear(&pathdef);
}

static void sha256_hex(const void *p, size_t n, char *hex)
{
	struct digest d;

	digest_init(&d);
	digest_add(&d, p, n);
	digest_final(&d);
	memcpy(hex, d.hex, 2 * 32 + 1);
}

/* ------------------------------------------------------------------ the archives */

struct member {
	char *name;             /* owned */
	bool dir;
	const struct strbuf *data; /* borrowed, or NULL with fd */
	int fd;                 /* a rewound file of @size bytes, or -1 */
	uint64_t size;
};

static int cmp_member(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name, ((const struct member *)b)->name);
}

static void add_member(struct member *m, size_t *n, char *name, const struct strbuf *data, int fd,
		       uint64_t size)
{
	m[*n] = (struct member){ name, !data && fd < 0, data, fd, data ? data->len : size };
	(*n)++;
}

/* Write @members (sorted here) as a tar at @path: to a temporary name beside it, renamed
 * when complete. */
static int write_outer(const char *path, const struct image_opts *o, struct member *m, size_t n,
		       unsigned char *buf)
{
	struct archive *a = NULL;
	char *dir = path_dirname(path), *tmpl = xasprintf("%s/.%s.magicpak-XXXXXX", dir,
							   path_basename(path));
	mode_t um = umask(0);
	int fd, ret = 0;

	umask(um);
	qsort(m, n, sizeof(*m), cmp_member);
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0) {
		ret = log_errno(-errno, "cannot create a temporary file in '%s'", dir);
		goto out;
	}
	if (fchmod(fd, 0666 & ~um) < 0) {
		ret = log_errno(-errno, "cannot set the mode of '%s'", tmpl);
		goto out;
	}
	a = tar_writer();
	if (AR(archive_write_open_fd)(a, fd) != ARCHIVE_OK) {
		ret = log_error(-EIO, "cannot write '%s': %s", tmpl, AR(archive_error_string)(a));
		goto out;
	}
	for (size_t i = 0; i < n && ret >= 0; i++) {
		struct archive_entry *e = AR(archive_entry_new)();

		AR(archive_entry_set_pathname)(e, m[i].name);
		AR(archive_entry_set_mtime)(e, o->epoch, 0);
		AR(archive_entry_set_uid)(e, 0);
		AR(archive_entry_set_gid)(e, 0);
		AR(archive_entry_set_filetype)(e, m[i].dir ? AE_IFDIR : AE_IFREG);
		AR(archive_entry_set_perm)(e, m[i].dir ? 0755 : 0644);
		if (!m[i].dir)
			AR(archive_entry_set_size)(e, (la_int64_t)m[i].size);
		if (AR(archive_write_header)(a, e) != ARCHIVE_OK)
			ret = log_error(-EIO, "cannot write '%s': %s", tmpl, AR(archive_error_string)(a));
		AR(archive_entry_free)(e);
		if (ret < 0)
			break;
		if (m[i].data && m[i].data->len &&
		    AR(archive_write_data)(a, m[i].data->buf, m[i].data->len) < 0)
			ret = log_error(-EIO, "cannot write '%s': %s", tmpl, AR(archive_error_string)(a));
		for (uint64_t left = m[i].fd >= 0 ? m[i].size : 0; left && ret >= 0;) {
			ssize_t r = read(m[i].fd, buf, left < IO_CHUNK ? left : IO_CHUNK);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				ret = log_errno(r < 0 ? -errno : -EIO, "cannot read back the layer");
				break;
			}
			if (AR(archive_write_data)(a, buf, (size_t)r) < 0)
				ret = log_error(-EIO, "cannot write '%s': %s", tmpl,
						AR(archive_error_string)(a));
			left -= (uint64_t)r;
		}
	}
	if (ret >= 0 && AR(archive_write_close)(a) != ARCHIVE_OK)
		ret = log_error(-EIO, "cannot write '%s': %s", tmpl, AR(archive_error_string)(a));
	if (ret >= 0 && fsync(fd) < 0)
		ret = log_errno(-errno, "cannot write '%s'", tmpl);
	if (ret >= 0 && rename(tmpl, path) < 0)
		ret = log_errno(-errno, "cannot rename '%s' to '%s'", tmpl, path);
out:
	if (a)
		AR(archive_write_free)(a);
	if (fd >= 0) {
		close(fd);
		if (ret < 0)
			unlink(tmpl);
	}
	free(tmpl);
	free(dir);
	return ret;
}

static int write_oci(const struct image_opts *o, const struct layer_out *lo,
		     const struct strbuf *config, unsigned char *buf)
{
	struct strbuf manifest = STRBUF_INIT, index = STRBUF_INIT, layout = STRBUF_INIT;
	char cfg_hex[65], man_hex[65];
	struct member m[7];
	size_t n = 0;
	int ret;

	sha256_hex(config->buf, config->len, cfg_hex);
	strbuf_addf(&manifest,
		    "{\"config\":{\"digest\":\"sha256:%s\",\"mediaType\":\"" MT_OCI_CONFIG
		    "\",\"size\":%zu},\"layers\":[{\"digest\":\"sha256:%s\",\"mediaType\":\"" MT_OCI_LAYER
		    "\",\"size\":%" PRIu64 "}],\"mediaType\":\"" MT_OCI_MANIFEST
		    "\",\"schemaVersion\":2}",
		    cfg_hex, config->len, lo->blob.hex, lo->blob.size);
	sha256_hex(manifest.buf, manifest.len, man_hex);
	strbuf_adds(&index, "{\"manifests\":[{");
	if (o->tag_full) {
		strbuf_adds(&index, "\"annotations\":{\"org.opencontainers.image.ref.name\":");
		json_str(&index, o->tag_full);
		strbuf_adds(&index, "},");
	}
	strbuf_addf(&index,
		    "\"digest\":\"sha256:%s\",\"mediaType\":\"" MT_OCI_MANIFEST "\",\"size\":%zu}],"
		    "\"mediaType\":\"" MT_OCI_INDEX "\",\"schemaVersion\":2}",
		    man_hex, manifest.len);
	strbuf_adds(&layout, "{\"imageLayoutVersion\":\"1.0.0\"}");

	add_member(m, &n, xstrdup("blobs"), NULL, -1, 0);
	add_member(m, &n, xstrdup("blobs/sha256"), NULL, -1, 0);
	add_member(m, &n, xasprintf("blobs/sha256/%s", cfg_hex), config, -1, 0);
	add_member(m, &n, xasprintf("blobs/sha256/%s", man_hex), &manifest, -1, 0);
	add_member(m, &n, xasprintf("blobs/sha256/%s", lo->blob.hex), NULL, lo->gz_fd,
		   lo->blob.size);
	add_member(m, &n, xstrdup("index.json"), &index, -1, 0);
	add_member(m, &n, xstrdup("oci-layout"), &layout, -1, 0);
	ret = write_outer(o->oci_archive, o, m, n, buf);
	if (ret >= 0)
		log_info("wrote '%s' (OCI image, manifest sha256:%s)", o->oci_archive, man_hex);
	for (size_t i = 0; i < n; i++)
		free(m[i].name);
	strbuf_release(&manifest);
	strbuf_release(&index);
	strbuf_release(&layout);
	return ret;
}

static int write_docker(const struct image_opts *o, const struct layer_out *lo,
			const struct strbuf *config, unsigned char *buf)
{
	struct strbuf manifest = STRBUF_INIT, version = STRBUF_INIT;
	char cfg_hex[65];
	struct member m[5];
	size_t n = 0;
	int ret;

	sha256_hex(config->buf, config->len, cfg_hex);
	/* The `docker save` layout: <config>.json, <layer id>/layer.tar (uncompressed, as
	 * docker writes it) with its VERSION, and manifest.json naming them. */
	strbuf_addf(&manifest, "[{\"Config\":\"%s.json\",\"Layers\":[\"%s/layer.tar\"],\"RepoTags\":[",
		    cfg_hex, lo->diff.hex);
	if (o->tag_full)
		json_str(&manifest, o->tag_full);
	strbuf_adds(&manifest, "]}]");
	strbuf_adds(&version, "1.0");
	add_member(m, &n, xasprintf("%s.json", cfg_hex), config, -1, 0);
	add_member(m, &n, xstrdup(lo->diff.hex), NULL, -1, 0);
	add_member(m, &n, xasprintf("%s/VERSION", lo->diff.hex), &version, -1, 0);
	add_member(m, &n, xasprintf("%s/layer.tar", lo->diff.hex), NULL, lo->raw_fd, lo->diff.size);
	add_member(m, &n, xstrdup("manifest.json"), &manifest, -1, 0);
	ret = write_outer(o->docker_archive, o, m, n, buf);
	if (ret >= 0)
		log_info("wrote '%s' (docker archive, config sha256:%s)", o->docker_archive, cfg_hex);
	for (size_t i = 0; i < n; i++)
		free(m[i].name);
	strbuf_release(&manifest);
	strbuf_release(&version);
	return ret;
}

int image_write(const struct image_opts *o, const char *tree)
{
	struct layer_out lo;
	struct strbuf config = STRBUF_INIT;
	unsigned char *buf = NULL;
	int ret;

	locale_t c_locale = (locale_t)0, prev = (locale_t)0;

	memset(&lo, 0, sizeof(lo));
	lo.gz_fd = lo.raw_fd = -1;
	if (!image_wants_archive(o))
		return 0;
	if ((ret = lazy_archive_load()) < 0 || (ret = lazy_crypto_load()) < 0)
		return ret;
	/* libarchive converts names through the locale: pin it, so LANG cannot change the
	 * bytes of the archive. */
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (c_locale)
		prev = uselocale(c_locale);
	progress_start("writing the image");
	ret = write_layer(o, tree, &lo);
	progress_stop();
	if (ret < 0)
		goto out;
	build_config(o, &lo, &config);
	buf = xmalloc(IO_CHUNK);
	if (o->oci_archive)
		ret = write_oci(o, &lo, &config, buf);
	if (ret >= 0 && o->docker_archive)
		ret = write_docker(o, &lo, &config, buf);
out:
	if (lo.gz_fd >= 0)
		close(lo.gz_fd);
	if (lo.raw_fd >= 0)
		close(lo.raw_fd);
	strbuf_release(&config);
	free(buf);
	if (c_locale) {
		uselocale(prev);
		freelocale(c_locale);
	}
	return ret;
}
