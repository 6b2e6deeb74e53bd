/* SPDX-License-Identifier: MIT */
/* collector/assemble.c - from inputs, recorded paths and options to a finished bundle. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abi.h"
#include "assemble.h"
#include "hash.h"
#include "bundle.h"
#include "deps.h"
#include "glob.h"
#include "lazylib.h"
#include "ldcache.h"
#include "log.h"
#include "path.h"
#include "progress.h"
#include "store.h"
#include "strmap.h"
#include "xalloc.h"

void assemble_opts_init(struct assemble_opts *o)
{
	memset(o, 0, sizeof(*o));
	strvec_init(&o->inputs);
	strvec_init(&o->includes);
	strvec_init(&o->excludes);
	strvec_init(&o->mkdirs);
}

void assemble_opts_release(struct assemble_opts *o)
{
	strvec_clear(&o->inputs);
	free(o->sessions);
	o->sessions = NULL;
	o->nsessions = o->asessions = 0;
	strvec_clear(&o->includes);
	strvec_clear(&o->excludes);
	strvec_clear(&o->mkdirs);
}

void assemble_add_session(struct assemble_opts *o, int64_t id)
{
	for (size_t i = 0; i < o->nsessions; i++)
		if (o->sessions[i] == id)
			return;
	xgrow(&o->sessions, &o->asessions, o->nsessions + 1, sizeof(*o->sessions));
	o->sessions[o->nsessions++] = id;
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
	struct strvec names = STRVEC_INIT, paths = STRVEC_INIT;
	int32_t *ids = NULL;
	size_t nids = 0, aids = 0;
	struct strbuf sb = STRBUF_INIT;
	bool needed = false;
	int ret = 0;

	for (size_t i = 0; i < deps_nmaps(d); i++) {
		const struct deps_map *m = deps_map(d, i);

		for (size_t j = 0; j < m->n; j++) {
			const struct deps_obj *o = &m->objs[j];
			/* each entry with its ABI's flags: an i386 ld.so takes only its own */
			const struct abi *a = o->elf ? abi_of(o->elf->ei_class, o->elf->machine) : NULL;
			bool in_default = false, seen = false;
			char *dir;

			if (o->how != DEPS_CACHE)
				continue;
			if (!a)
				a = abi_host();
			for (size_t k = 0; k < names.n && !seen; k++)
				seen = !strcmp(names.v[k], o->cache_key) && ids[k] == a->cache_id;
			if (seen)
				continue;
			dir = path_dirname(o->path);
			for (size_t k = 0; k < a->ndirs; k++)
				in_default |= !strcmp(dir, a->dirs[k]);
			free(dir);
			needed |= !in_default;
			strvec_push(&names, o->cache_key);
			strvec_push(&paths, o->path);
			xgrow(&ids, &aids, nids + 1, sizeof(*ids));
			ids[nids++] = a->cache_id;
		}
	}
	if (needed) {
		ldcache_write((const char *const *)names.v, (const char *const *)paths.v, ids, names.n,
			      &sb);
		log_info("writing /etc/ld.so.cache with %zu entries", names.n);
		ret = bundle_write_file(b, "/etc/ld.so.cache", sb.buf, sb.len, 0644);
	}
	strbuf_release(&sb);
	strvec_clear(&names);
	strvec_clear(&paths);
	free(ids);
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

/* One recorded version of a path (see store_file_version()). */
struct hver {
	int64_t session;
	char type;
	bool has_size, has_mtime, has_inode;
	int64_t size, mtime_ns;
	uint64_t inode;
	char *sha256;
};

/* One path of the union of the chosen sessions, under its normalised name. */
struct hentry {
	char *path;
	int64_t *sess;            /* sessions that used it */
	size_t nsess, asess;
	int64_t readlink_session; /* a session that read it as a symlink, or 0 */
	struct hver *v;
	size_t nv, av;
	bool regular;             /* lstat'ed as a regular file when checked */
	bool removed;             /* a session unlinked or renamed it away: may be gone */
	dev_t dev;                /* what was checked, for the check after copying */
	ino_t ino;
};

struct history {
	struct strmap map;        /* path -> struct hentry */
	struct strmap warned;     /* raw paths already warned about */
	struct hentry **list;     /* sorted by path once loaded */
	size_t n, a;
	int64_t cur;              /* the session being loaded */
	int err;                  /* first conflict or change found, with --strict */
};

/* A path fit for one log line: control bytes and backslashes escaped. Up to four results
 * live at once (a rotating set of buffers). */
static const char *quote(const char *s)
{
	static char bufs[4][2 * 4096 + 16];
	static unsigned next;
	char *b = bufs[next++ % 4], *o = b;

	for (; *s && o < b + sizeof(bufs[0]) - 8; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\') {
			*o++ = '\\';
			*o++ = '\\';
		} else if (c == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			o += snprintf(o, 5, "\\x%02x", c);
		} else {
			*o++ = (char)c;
		}
	}
	*o = '\0';
	return b;
}

static bool has_dotdot(const char *path)
{
	for (const char *p = path; (p = strstr(p, "..")); p += 2)
		if ((p == path || p[-1] == '/') && (p[2] == '/' || !p[2]))
			return true;
	return false;
}

/* The normalised name of a recorded path, or NULL (after one warning per path) when the
 * row cannot name a file: a NUL byte in it, empty, or relative. */
static char *recorded_name(struct history *h, const char *path, size_t len)
{
	char *n, *key;
	bool warn;

	/* Warn once per stored path (one row per op would repeat it); a NUL byte makes the
	 * text a prefix of the stored path, so the key says so. */
	key = strlen(path) != len ? xasprintf("%s//NUL/%zu", path, len) : xstrdup(path);
	warn = !strmap_has(&h->warned, key);
	if (strlen(path) != len) {
		if (warn)
			log_warn("session %" PRId64 ": recorded path '%s' holds a NUL byte; ignored",
				 h->cur, quote(path));
		n = NULL;
	} else if (path[0] != '/') {
		if (warn)
			log_warn("session %" PRId64 ": recorded path '%s' is %s; ignored", h->cur,
				 quote(path), *path ? "not absolute" : "empty");
		n = NULL;
	} else {
		n = path_normalize(path);
		warn = warn && has_dotdot(path);
		if (warn)
			log_warn("session %" PRId64 ": recorded path '%s' climbs with '..'; taken as "
				 "'%s'", h->cur, quote(path), quote(n));
	}
	if (warn)
		strmap_put(&h->warned, key, NULL);
	free(key);
	return n;
}

static struct hentry *hentry_get(struct history *h, const char *path, bool create)
{
	struct hentry *e = strmap_get(&h->map, path);

	if (e || !create)
		return e;
	e = xcalloc(1, sizeof(*e));
	e->path = xstrdup(path);
	strmap_put(&h->map, path, e);
	xgrow(&h->list, &h->a, h->n + 1, sizeof(*h->list));
	h->list[h->n++] = e;
	return e;
}

static int load_used(void *ctx, const char *path, size_t len, int op)
{
	struct history *h = ctx;
	struct hentry *e;
	char *n = recorded_name(h, path, len);

	if (!n)
		return 0;
	e = hentry_get(h, n, true);
	free(n);
	if (!e->nsess || e->sess[e->nsess - 1] != h->cur) {
		xgrow(&e->sess, &e->asess, e->nsess + 1, sizeof(*e->sess));
		e->sess[e->nsess++] = h->cur;
	}
	if (op == MP_OP_READLINK && !e->readlink_session)
		e->readlink_session = h->cur;
	if (op == MP_OP_UNLINK || op == MP_OP_RENAME_FROM)
		e->removed = true;
	return 0;
}

static int load_version(void *ctx, const struct store_version *v)
{
	struct history *h = ctx;
	struct hentry *e;
	struct hver *hv;
	char *n;

	/* Its rows were all warned about by load_used(), which saw the same paths. */
	if (strlen(v->path) != v->path_len || v->path[0] != '/')
		return 0;
	n = path_normalize(v->path);
	e = hentry_get(h, n, false);
	free(n);
	if (!e)
		return 0;
	xgrow(&e->v, &e->av, e->nv + 1, sizeof(*e->v));
	hv = &e->v[e->nv++];
	hv->session = h->cur;
	hv->type = v->type;
	hv->has_size = v->has_size;
	hv->has_mtime = v->has_mtime;
	hv->has_inode = v->has_inode;
	hv->size = v->size;
	hv->mtime_ns = v->mtime_ns;
	hv->inode = v->inode;
	hv->sha256 = v->sha256 && strlen(v->sha256) == 64 ? xstrdup(v->sha256) : NULL;
	return 0;
}

static int cmp_hentry(const void *a, const void *b)
{
	return strcmp((*(struct hentry *const *)a)->path, (*(struct hentry *const *)b)->path);
}

/* A problem that --strict turns into an error: an error then, else a warning. */
static void problem(const struct assemble_opts *o, struct history *h, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void problem(const struct assemble_opts *o, struct history *h, const char *fmt, ...)
{
	char msg[16384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o->strict) {
		log_error(0, "%s (--strict)", msg);
		if (!h->err)
			h->err = -ESTALE;
	} else {
		log_warn("%s", msg);
	}
}

static const struct hver *version_of_type(const struct hentry *e, char type)
{
	for (size_t i = 0; i < e->nv; i++)
		if (e->v[i].type == type)
			return &e->v[i];
	return NULL;
}

/* BND-10: a path that was a file in one run and a directory in another. The bundle follows
 * the host as it is now; each file below is still checked against its own version. */
static void find_conflicts(const struct assemble_opts *o, struct history *h)
{
	for (size_t i = 0; i < h->n; i++) {
		const struct hentry *e = h->list[i];
		const struct hver *f = version_of_type(e, 'f'), *d = version_of_type(e, 'd');
		size_t plen = strlen(e->path);

		if (f && d) {
			const struct hentry *sl = d->session == e->readlink_session ? e : NULL;

			problem(o, h, "conflict: '%s' was a regular file in session %" PRId64
				" and %s in session %" PRId64 "; bundling it as it is now",
				quote(e->path), f->session,
				sl ? "a symlink to a directory" : "a directory", d->session);
			continue;
		}
		if (!f)
			continue;
		/* Names below e->path sort after it, together (bytes after '/' ... ). */
		for (size_t j = i + 1; j < h->n; j++) {
			const struct hentry *c = h->list[j];

			if (strncmp(c->path, e->path, plen))
				break;
			if (c->path[plen] != '/')
				continue;
			problem(o, h, "conflict: '%s' was a regular file in session %" PRId64
				", but session %" PRId64 " used '%s' below it; bundling it as it is now",
				quote(e->path), f->session, c->sess[0], quote(c->path));
			break;
		}
	}
}

static void history_release(struct history *h)
{
	for (size_t i = 0; i < h->n; i++) {
		struct hentry *e = h->list[i];

		for (size_t j = 0; j < e->nv; j++)
			free(e->v[j].sha256);
		free(e->v);
		free(e->sess);
		free(e->path);
		free(e);
	}
	free(h->list);
	strmap_clear(&h->map);
	strmap_clear(&h->warned);
	memset(h, 0, sizeof(*h));
}

/* Read the union of o->sessions from o->db. An incomplete session is an error unless
 * o->allow_incomplete. */
static int history_load(const struct assemble_opts *o, struct history *h)
{
	struct store *st = NULL;
	char *why = NULL;
	bool complete;
	int ret;

	if (!o->nsessions)
		return 0;
	ret = store_open_readonly(o->db, &st);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < o->nsessions; i++) {
		h->cur = o->sessions[i];
		ret = store_session_complete(st, h->cur, &complete, &why);
		if (ret < 0)
			goto out;
		if (!complete && !o->allow_incomplete) {
			ret = log_error(-EIO, "session %" PRId64 " is incomplete (%s): it may have used "
					"files that were not seen; --allow-incomplete bundles it anyway",
					h->cur, why ? why : "incomplete");
			goto out;
		}
		if (!complete)
			log_warn("session %" PRId64 " is incomplete (%s): the bundle may lack files it "
				 "used", h->cur, why ? why : "incomplete");
		free(why);
		why = NULL;
		ret = store_session_used(st, h->cur, load_used, h);
		if (!ret)
			ret = store_session_versions(st, h->cur, load_version, h);
		if (ret < 0)
			goto out;
	}
	if (h->n)
		qsort(h->list, h->n, sizeof(*h->list), cmp_hentry);
	log_info("%zu session%s used %zu paths", o->nsessions, o->nsessions == 1 ? "" : "s", h->n);
	find_conflicts(o, h);
	ret = h->err;
out:
	free(why);
	store_free(st);
	return ret;
}

/* Is the file at @e->path now (@now) the one version @v recorded, unchanged? For the hash,
 * the file is opened and checked to be that inode first. */
static bool same_content(const struct hentry *e, const struct hver *v, const struct stat *now)
{
	char hex[65] = "";
	struct stat fst;
	int fd;
	bool same;

	if ((v->has_size && v->size != (int64_t)now->st_size) ||
	    (v->has_mtime && v->mtime_ns != (int64_t)now->st_mtim.tv_sec * 1000000000 +
						   now->st_mtim.tv_nsec))
		return false;
	if (!v->sha256)
		return true;
	fd = open(e->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	same = fstat(fd, &fst) == 0 && fst.st_dev == now->st_dev && fst.st_ino == now->st_ino &&
	       S_ISREG(fst.st_mode);
	/* No libcrypto to hash with (said once by lazylib): the size, time and inode above are
	 * all that can be compared, and they matched. */
	if (same && lazy_crypto_load() == 0)
		same = hash_sha256_fd(fd, hex) == 0 && !strcmp(hex, v->sha256);
	close(fd);
	return same;
}

/* May recorded path @e be read? 0: yes; 1: no, left out (warned); <0: error (--strict).
 * Only regular files are read; a directory is only created, a symlink recreated. */
static int check_identity(const struct assemble_opts *o, struct history *h, struct hentry *e)
{
	const struct hver *by_inode = NULL, *v;
	struct stat now;
	struct strbuf rec = STRBUF_INIT, note = STRBUF_INIT;
	char *dir;
	int ret = 0;

	if (stat(e->path, &now) < 0) {
		/* Gone since a session read it: as much a change as new content, unless a
		 * session removed it itself (a temporary file). */
		if (errno == ENOENT && !e->removed && (v = version_of_type(e, 'f'))) {
			problem(o, h, "'%s' no longer exists (session %" PRId64 " read it)",
				quote(e->path), v->session);
			return o->strict ? h->err : 1;
		}
		return 0;
	}
	if (!S_ISREG(now.st_mode))
		return 0;
	strbuf_adds(&note, "");
	for (size_t i = 0; i < e->nv; i++) {
		v = &e->v[i];
		if (v->type != 'f' || !v->has_inode || v->inode != (uint64_t)now.st_ino)
			continue;
		if (same_content(e, v, &now)) {
			e->regular = true;
			e->dev = now.st_dev;
			e->ino = now.st_ino;
			strbuf_release(&note);
			return 0;
		}
		by_inode = v;
	}
	if (by_inode) {
		/* The very file a session used, since changed: report it and copy it. */
		strbuf_addf(&rec, "size %" PRId64 ", now %lld", by_inode->size,
			    (long long)now.st_size);
		if (by_inode->has_mtime &&
		    by_inode->mtime_ns != (int64_t)now.st_mtim.tv_sec * 1000000000 + now.st_mtim.tv_nsec)
			strbuf_adds(&rec, "; modified since");
		else if (by_inode->sha256)
			strbuf_adds(&rec, "; sha256 differs");
		problem(o, h, "'%s' changed since session %" PRId64 " recorded it (%s)", quote(e->path),
			by_inode->session, rec.buf);
		strbuf_release(&rec);
		strbuf_release(&note);
		if (o->strict)
			return h->err;
		e->regular = true;
		e->dev = now.st_dev;
		e->ino = now.st_ino;
		return 0;
	}
	/* Not a file any chosen session recorded under this name: never read it. Say why it
	 * may be another file: a directory above it recorded as a symlink. */
	for (dir = path_dirname(e->path); strcmp(dir, "/");) {
		struct hentry *p = hentry_get(h, dir, false);
		char *up;

		if (p && p->readlink_session) {
			strbuf_addf(&note, "; '%s' was a symlink in session %" PRId64, quote(dir),
				    p->readlink_session);
			break;
		}
		up = path_dirname(dir);
		free(dir);
		dir = up;
	}
	free(dir);
	if (!(v = version_of_type(e, 'f')))
		problem(o, h, "not bundling '%s': no session recorded which file it was%s",
			quote(e->path), note.buf);
	else
		problem(o, h, "not bundling '%s': it is not the file session %" PRId64 " recorded "
			"(inode %" PRIu64 ", now %llu)%s", quote(e->path), v->session, v->inode,
			(unsigned long long)now.st_ino, note.buf);
	strbuf_release(&note);
	ret = o->strict ? h->err : 1;
	return ret;
}

/* Resolve every input, include match and recorded ELF file. Returns 0 or the last error. */
static int resolve_all(const struct assemble_opts *o, struct deps *d, struct strvec *matches,
		       struct history *hist, struct strvec *recorded, const char *output_abs)
{
	struct stat installed = { 0 };
	int ret = 0;

	/* --install-to puts the first input elsewhere: a recorded run of it (--dynamic) used it
	 * at its host path, which is not to be bundled a second time */
	if (o->install_to && o->inputs.n && stat(o->inputs.v[0], &installed) < 0)
		installed.st_ino = 0;
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
	for (size_t i = 0; i < hist->n; i++) {
		struct hentry *e = hist->list[i];
		const char *p = e->path;
		struct stat st;
		int r;

		if (skip_recorded(p, output_abs)) {
			/* listed as skipped (RELIABILITY BND-06): /proc/self/fd/0, /dev/stdin */
			log_info("skipped '%s': %s", p,
				 path_has_prefix(p, output_abs) ? "the output itself"
				 : !strcmp(p, "/") ? "the root" : "a kernel interface, never bundled");
			continue;
		}
		/* Checked before anything reads the file, even its ELF header (a file gone
		 * since a session read it is reported there). */
		r = check_identity(o, hist, e);
		if (r < 0) {
			ret = r;
			continue;
		}
		if (r > 0)
			continue;
		if (lstat(p, &st) < 0) {
			log_info("recorded '%s' is gone; left out", quote(p));
			continue;
		}
		if (installed.st_ino && S_ISREG(st.st_mode) && st.st_dev == installed.st_dev &&
		    st.st_ino == installed.st_ino) {
			log_debug("recorded '%s' is the input --install-to puts at %s; not bundled "
				  "twice", p, o->install_to);
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
	struct bundle_opts bopts = { .excludes = &o->excludes,
				     .legacy_excludes = o->legacy_excludes };
	struct deps *d = NULL;
	struct bundle *b = NULL;
	struct strvec matches = STRVEC_INIT, recorded = STRVEC_INIT;
	struct history hist;
	char *output_abs = path_absolute(o->output);
	char *first_dest = NULL;
	int ret;

	dopts.cache_path = getenv("MAGICPAK_LD_SO_CACHE");
	dopts.preload_path = getenv("MAGICPAK_LD_SO_PRELOAD");
	memset(&hist, 0, sizeof(hist));
	deps_new(&dopts, &d);
	/* OUTPUT first: a bad one is the only thing said. Its staging directory goes away
	 * with bundle_free() unless committed. */
	ret = bundle_new(o->output, &bopts, &b);
	if (ret < 0)
		goto out;
	ret = history_load(o, &hist);
	if (ret < 0)
		goto out;
	/* Resolve everything before writing anything: a missing library leaves no output. */
	ret = resolve_all(o, d, &matches, &hist, &recorded, output_abs);
	if (ret >= 0)
		ret = hist.err;
	if (ret < 0)
		goto out;
	progress_start("bundling");
	if (o->install_to && deps_nmaps(d))
		first_dest = assemble_install_dest(deps_map(d, 0)->objs[0].path, o->install_to);
	ret = add_maps(b, d, 0, first_dest);
	for (size_t i = 0; i < matches.n && ret >= 0; i++) {
		struct stat st;

		if (lstat(matches.v[i], &st) == 0 && S_ISDIR(st.st_mode))
			ret = bundle_add_tree(b, matches.v[i], NULL);
		else
			ret = bundle_add(b, matches.v[i], NULL);
		if (ret == -ELOOP)
			ret = log_errno(ret, "cannot bundle '%s'", quote(matches.v[i]));
	}
	/* A recorded directory is created (its listing was used), not copied whole. */
	for (size_t i = 0; i < recorded.n && ret >= 0; i++) {
		const struct hentry *e = strmap_get(&hist.map, recorded.v[i]);
		struct stat st;

		ret = bundle_add(b, recorded.v[i], NULL);
		/* A symlink loop the run only looked at (lstat, readlink): the links are kept,
		 * with the warning bundle_add gave; the host cannot resolve it either. */
		if (ret == -ELOOP) {
			ret = 0;
			continue;
		}
		/* The bundler opened it again: make sure no one swapped another file in between
		 * (the bundler itself checks its own lstat against what it opened). */
		if (ret >= 0 && e && e->regular &&
		    (stat(e->path, &st) < 0 || st.st_dev != e->dev || st.st_ino != e->ino))
			ret = log_error(-EAGAIN, "'%s': changed while bundling; nothing written",
					quote(e->path));
	}
	for (size_t i = 0; i < o->mkdirs.n && ret >= 0; i++) {
		char *dest = o->mkdirs.v[i][0] == '/' ? path_normalize(o->mkdirs.v[i])
						     : path_join("/", o->mkdirs.v[i]);

		ret = bundle_mkdir(b, dest);
		free(dest);
	}
	progress_stop();
	if (ret >= 0)
		ret = write_cache(b, d);
	if (ret >= 0)
		bundle_warn_unused_excludes(b);
	if (ret >= 0 && o->before_commit)
		ret = o->before_commit(o->ctx, bundle_tree(b));
	if (ret >= 0)
		ret = bundle_commit(b);
	if (ret >= 0)
		log_info("bundled into '%s'", o->output);
out:
	progress_stop();
	free(first_dest);
	free(output_abs);
	bundle_free(b);
	deps_free(d);
	strvec_clear(&matches);
	strvec_clear(&recorded);
	history_release(&hist);
	return ret;
}
