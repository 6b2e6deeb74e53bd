/* SPDX-License-Identifier: MIT */
/* collector/bundle.c - build a root file system tree from host paths without ever writing
 * outside it, then move it into place: one rename, or its entries into an existing OUTPUT. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bundle.h"
#include "glob.h"
#include "log.h"
#include "path.h"
#include "progress.h"
#include "tree.h"
#include "strbuf.h"
#include "xalloc.h"

/* The kernel gives up after 40 symlinks in one lookup (MAXSYMLINKS); so do we. */
#define BUNDLE_MAX_LINKS 40

/* Every path inside the bundle is resolved from its root fd as if chrooted there, so that
 * no symlink in the tree - ours (/lib -> usr/lib) or a hostile one (/etc -> /) - leads out. */
#define RESOLVE_BUNDLE (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
/* A single name inside a directory fd we already hold: no symlinks at all. */
#define RESOLVE_HERE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)

/* A set of strings (open addressing, linear probing). */
struct strset {
	char **slot;
	size_t cap, n;
};

/* First bundle path of each multiply linked host inode, for hard links. */
struct ino_ent {
	dev_t dev;
	ino_t ino;
	char *dest; /* NULL: empty slot */
	bool dead;  /* @dest was replaced by a generated file */
};

struct inomap {
	struct ino_ent *slot;
	size_t cap, n;
};

/* A directory whose final mode lacks u+rwx; applied at commit so we can fill it first. */
struct dir_mode {
	char *dest;
	mode_t mode;
};

struct bundle {
	char *output;
	char *staging;
	int rootfd; /* O_PATH on staging */
	int lockfd;     /* OUTPUT or the lock file, flock()ed while we run (lock_output) */
	char *lockpath; /* "OUTPUT.magicpak-lock" */
	bool lock_made; /* we hold the lock file: removed at the end */
	/* OUTPUT existed (an empty directory): the tree is staged inside it, in a hidden
	 * directory, and its entries moved in at commit. Renaming over OUTPUT would lose its
	 * mode and owner, and cannot work at all on a mount point or ".". */
	bool output_existed;
	int outfd; /* O_PATH on the existing OUTPUT, or -1 */
	bool committed;
	bool is_root;
	dev_t stage_dev, out_dev;
	ino_t stage_ino, out_ino;
	struct strvec excludes;
	bool legacy_excludes;
	size_t *exclude_hits;        /* paths each exclude glob matched */
	bool no_dirs;                /* walk_src: create no directories (chain ends excluded) */
	struct strset done; /* bundle paths created (or requested and present) */
	struct inomap inodes;
	struct dir_mode *modes;
	size_t nmodes, amodes;
	unsigned long tmpseq;
};

/* What resolving a host path ended on. */
enum fin_kind { FIN_NONE, FIN_DIR, FIN_REG };

struct fin {
	enum fin_kind kind;
	int fd; /* FIN_DIR: O_PATH directory; FIN_REG: opened for reading */
	struct stat st;
	char *host; /* resolved host path, free of symlinks */
};

static int add_dir_contents(struct bundle *b, int hostfd, const char *host, const char *dest);

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t hash_str(const char *s)
{
	return hash_bytes(s, strlen(s), 14695981039346656037ULL);
}

static bool strset_has(const struct strset *set, const char *s)
{
	size_t i;

	if (!set->cap)
		return false;
	for (i = hash_str(s) & (set->cap - 1); set->slot[i]; i = (i + 1) & (set->cap - 1))
		if (!strcmp(set->slot[i], s))
			return true;
	return false;
}

static void strset_add(struct strset *set, const char *s)
{
	size_t i;

	if (strset_has(set, s))
		return;
	if ((set->n + 1) * 2 > set->cap) {
		struct strset big = { xcalloc(set->cap ? set->cap * 2 : 64, sizeof(char *)),
				      set->cap ? set->cap * 2 : 64, set->n };

		for (size_t j = 0; j < set->cap; j++) {
			if (!set->slot[j])
				continue;
			for (i = hash_str(set->slot[j]) & (big.cap - 1); big.slot[i];
			     i = (i + 1) & (big.cap - 1))
				;
			big.slot[i] = set->slot[j];
		}
		free(set->slot);
		*set = big;
	}
	for (i = hash_str(s) & (set->cap - 1); set->slot[i]; i = (i + 1) & (set->cap - 1))
		;
	set->slot[i] = xstrdup(s);
	set->n++;
}

static void strset_release(struct strset *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slot[i]);
	free(set->slot);
	memset(set, 0, sizeof(*set));
}

static size_t ino_hash(dev_t dev, ino_t ino, size_t cap)
{
	uint64_t h = hash_bytes(&dev, sizeof(dev), 14695981039346656037ULL);

	return hash_bytes(&ino, sizeof(ino), h) & (cap - 1);
}

static struct ino_ent *inomap_slot(const struct inomap *m, dev_t dev, ino_t ino)
{
	size_t i;

	for (i = ino_hash(dev, ino, m->cap); m->slot[i].dest; i = (i + 1) & (m->cap - 1))
		if (m->slot[i].dev == dev && m->slot[i].ino == ino)
			break;
	return &m->slot[i];
}

static const char *inomap_get(const struct inomap *m, dev_t dev, ino_t ino)
{
	const struct ino_ent *e;

	if (!m->cap)
		return NULL;
	e = inomap_slot(m, dev, ino);
	return e->dest && !e->dead ? e->dest : NULL;
}

static void inomap_put(struct inomap *m, dev_t dev, ino_t ino, const char *dest)
{
	struct ino_ent *e;

	if ((m->n + 1) * 2 > m->cap) {
		struct inomap big = { xcalloc(m->cap ? m->cap * 2 : 64, sizeof(*m->slot)),
				      m->cap ? m->cap * 2 : 64, m->n };

		for (size_t j = 0; j < m->cap; j++)
			if (m->slot[j].dest)
				*inomap_slot(&big, m->slot[j].dev, m->slot[j].ino) = m->slot[j];
		free(m->slot);
		*m = big;
	}
	e = inomap_slot(m, dev, ino);
	if (!e->dest)
		m->n++;
	free(e->dest);
	e->dev = dev;
	e->ino = ino;
	e->dest = xstrdup(dest);
	e->dead = false;
}

/* @dest no longer holds the copied inode: never link to it again. */
static void inomap_forget_dest(struct inomap *m, const char *dest)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slot[i].dest && !strcmp(m->slot[i].dest, dest))
			m->slot[i].dead = true;
}

static void inomap_release(struct inomap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slot[i].dest);
	free(m->slot);
	memset(m, 0, sizeof(*m));
}

static void sb_truncate(struct strbuf *sb, size_t len)
{
	sb->len = len;
	sb->buf[len] = '\0';
}

/* openat2(2) has no glibc wrapper. Returns the fd or -errno. */
static int sys_openat2(int dirfd, const char *path, int flags, mode_t mode,
		       unsigned long long resolve)
{
	struct open_how how;
	long fd;
	int tries = 0;

	memset(&how, 0, sizeof(how));
	how.flags = (unsigned long long)(unsigned int)(flags | O_CLOEXEC);
	how.mode = (flags & O_CREAT) ? mode : 0;
	how.resolve = resolve;
	/* RESOLVE_IN_ROOT fails with EAGAIN when a rename or mount raced with the lookup. */
	do {
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	} while (fd < 0 && errno == EAGAIN && ++tries < 16);
	return fd < 0 ? -errno : (int)fd;
}

/* Open @dest (absolute, normalised, a bundle path) resolved inside the bundle. */
static int root_open(struct bundle *b, const char *dest, int flags)
{
	const char *rel = dest + strspn(dest, "/");

	return sys_openat2(b->rootfd, *rel ? rel : ".", flags, 0, RESOLVE_BUNDLE);
}

/* Bundle paths are absolute and normalised; ".." never climbs above the bundle root. */
static int dest_normalize(const char *dest, char **out)
{
	char *tmp;

	*out = NULL;
	if (!dest || !*dest)
		return -EINVAL;
	if (dest[0] == '/') {
		*out = path_normalize(dest);
		return 0;
	}
	tmp = xasprintf("/%s", dest);
	*out = path_normalize(tmp);
	free(tmp);
	return 0;
}

static bool exclude_match(const struct bundle *b, const char *g, const char *path)
{
	return b->legacy_excludes ? glob_match_legacy(g, path) : glob_match(g, path);
}

/* Does an exclude glob match @dest, or a directory above it (a glob naming a directory keeps
 * everything under it out, as "never write a path that matches" means for a directory)? */
static bool excluded(struct bundle *b, const char *dest)
{
	char *up = NULL;
	bool hit = false;

	/* Every glob is tried, so that one whose paths an earlier one also matched is not
	 * reported as matching nothing. */
	for (size_t i = 0; i < b->excludes.n; i++) {
		const char *g = b->excludes.v[i];
		const char *by = exclude_match(b, g, dest) ? dest : NULL;

		/* the directories above, "/a" and "/a/b" of "/a/b/c" (of an absolute path only:
		 * a chain's "" has none), each cut from one copy and put back */
		for (const char *s = dest[0] == '/' ? strchr(dest + 1, '/') : NULL; s && !by;
		     s = strchr(s + 1, '/')) {
			if (!up)
				up = xstrdup(dest);
			up[s - dest] = '\0';
			if (exclude_match(b, g, up))
				by = up;
			else
				up[s - dest] = '/';
		}
		if (by) {
			log_debug("not bundling '%s': excluded by '%s'%s%s", dest, g,
				  by == dest ? "" : ", which matches ", by == dest ? "" : by);
			b->exclude_hits[i]++;
			hit = true;
			if (by == up)
				up[strlen(up)] = '/';
		}
	}
	free(up);
	return hit;
}

void bundle_warn_unused_excludes(const struct bundle *b)
{
	for (size_t i = 0; i < b->excludes.n; i++)
		if (!b->exclude_hits[i])
			log_warn("--exclude '%s' matches nothing", b->excludes.v[i]);
}

/* Kernel file systems: their files are generated, and reading some never ends. */
static const char *virtual_root(const char *host)
{
	static const char *const roots[] = { "/proc", "/sys", "/dev" };

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (path_has_prefix(host, roots[i]))
			return roots[i];
	return NULL;
}

static const char *type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFCHR:
		return "character device";
	case S_IFBLK:
		return "block device";
	case S_IFIFO:
		return "FIFO";
	case S_IFSOCK:
		return "socket";
	default:
		return "special file";
	}
}

static bool changed(const struct stat *a, const struct stat *b)
{
	return (a->st_mode & S_IFMT) != (b->st_mode & S_IFMT) || a->st_dev != b->st_dev ||
	       a->st_ino != b->st_ino;
}

/* Make directory @name in @parentfd; @dest names it in messages and the mode list. An
 * existing directory is fine; anything else in the way is an error, and a dangling symlink
 * is never created through. */
static int create_dir(struct bundle *b, int parentfd, const char *name, const char *dest,
		      mode_t mode, const struct stat *st)
{
	struct stat cur;
	int fd = -1, ret = 0;

	if (mkdirat(parentfd, name, 0700) < 0) {
		ret = -errno;
		if (ret != -EEXIST)
			return log_errno(ret, "cannot create directory '%s' in the bundle", dest);
		if (fstatat(parentfd, name, &cur, AT_SYMLINK_NOFOLLOW) < 0)
			return log_errno(-errno, "cannot stat '%s' in the bundle", dest);
		/* Made earlier as a mere parent (mode 0755): now its host mode is known. */
		if (S_ISDIR(cur.st_mode) && !st)
			return 0;
		/* Never create through a symlink: its target is not in the bundle (yet). */
		if (S_ISLNK(cur.st_mode))
			return log_error(-ENOTDIR, "cannot create directory '%s' in the bundle: "
					 "it is a dangling symlink", dest);
		if (!S_ISDIR(cur.st_mode))
			return log_error(-ENOTDIR, "cannot create directory '%s' in the bundle: "
					 "a file is in the way", dest);
		ret = 0;
	}
	fd = sys_openat2(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, RESOLVE_HERE);
	if (fd < 0)
		return log_errno(fd, "cannot open directory '%s' in the bundle", dest);
	if (st && b->is_root && fchown(fd, st->st_uid, st->st_gid) < 0) {
		ret = log_errno(-errno, "cannot change the owner of '%s' in the bundle", dest);
		goto out;
	}
	/* setgid on a directory only sets the group of new files, so it is harmless to keep. */
	mode &= S_ISGID | S_ISVTX | 0777;
	if (fchmod(fd, mode | S_IRWXU) < 0) {
		ret = log_errno(-errno, "cannot set the mode of '%s' in the bundle", dest);
		goto out;
	}
	if ((mode & S_IRWXU) != S_IRWXU) {
		xgrow(&b->modes, &b->amodes, b->nmodes + 1, sizeof(*b->modes));
		b->modes[b->nmodes].dest = xstrdup(dest);
		b->modes[b->nmodes++].mode = mode;
	}
out:
	close(fd);
	return ret;
}

/* An O_PATH fd on directory @dir of the bundle, created (mode 0755) if missing. */
static int open_dir(struct bundle *b, const char *dir, int *out)
{
	struct strbuf pre = STRBUF_INIT;
	char *name = NULL;
	const char *p, *e;
	int fd, parent = -1, ret = 0;

	*out = -1;
	fd = root_open(b, dir, O_PATH | O_DIRECTORY);
	if (fd >= 0) {
		*out = fd;
		return 0;
	}
	if (fd != -ENOENT)
		return log_errno(fd, "cannot open directory '%s' in the bundle", dir);

	parent = root_open(b, "/", O_PATH | O_DIRECTORY);
	if (parent < 0)
		return log_errno(parent, "cannot open the bundle root");
	for (p = dir + strspn(dir, "/"); *p; p = e + strspn(e, "/")) {
		e = p + strcspn(p, "/");
		free(name);
		name = xstrndup(p, (size_t)(e - p));
		strbuf_addch(&pre, '/');
		strbuf_adds(&pre, name);
		fd = root_open(b, pre.buf, O_PATH | O_DIRECTORY);
		if (fd == -ENOENT) {
			/* Not marked done: a later bundle_add() of the host directory still
			 * gives it the host's mode and owner. */
			ret = create_dir(b, parent, name, pre.buf, 0755, NULL);
			if (ret)
				goto out;
			fd = root_open(b, pre.buf, O_PATH | O_DIRECTORY);
		}
		if (fd < 0) {
			ret = log_errno(fd, "cannot open directory '%s' in the bundle", pre.buf);
			goto out;
		}
		close(parent);
		parent = fd;
	}
	*out = parent;
	parent = -1;
out:
	if (parent >= 0)
		close(parent);
	free(name);
	strbuf_release(&pre);
	return ret;
}

static int open_parent(struct bundle *b, const char *dest, int *out)
{
	char *dir = path_dirname(dest);
	int ret = open_dir(b, dir, out);

	free(dir);
	return ret;
}

static int make_dir(struct bundle *b, const char *dest, mode_t mode, const struct stat *st,
		    bool check_excludes)
{
	int parent = -1, ret;

	if (!strcmp(dest, "/") || strset_has(&b->done, dest))
		return 0;
	if (check_excludes && excluded(b, dest))
		return 0;
	ret = open_parent(b, dest, &parent);
	if (ret)
		return ret;
	ret = create_dir(b, parent, path_basename(dest), dest, mode, st);
	if (!ret)
		strset_add(&b->done, dest);
	close(parent);
	return ret;
}

/* Recreate a symlink verbatim; the target is never looked at here. */
static int make_symlink(struct bundle *b, const char *dest, const char *target,
			const struct stat *st)
{
	char cur[PATH_MAX];
	const char *name = path_basename(dest);
	int parent = -1, ret;
	ssize_t n;

	if (strset_has(&b->done, dest) || excluded(b, dest))
		return 0;
	ret = open_parent(b, dest, &parent);
	if (ret)
		return ret;
	if (symlinkat(target, parent, name) < 0) {
		ret = -errno;
		if (ret != -EEXIST) {
			log_errno(ret, "cannot create symlink '%s' in the bundle", dest);
			goto out;
		}
		n = readlinkat(parent, name, cur, sizeof(cur));
		if (n < 0 || (size_t)n >= sizeof(cur) || memcmp(cur, target, (size_t)n) ||
		    target[n]) {
			log_error(ret, "cannot create symlink '%s' -> '%s' in the bundle: "
				  "something else is there", dest, target);
			goto out;
		}
		ret = 0;
	}
	if (st && b->is_root &&
	    fchownat(parent, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
		ret = log_errno(-errno, "cannot change the owner of '%s' in the bundle", dest);
		goto out;
	}
	strset_add(&b->done, dest);
out:
	close(parent);
	return ret;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Create regular file @dest from @srcfd (@st its fstat, @host its name) or from @data:
 * written under a temporary name in the same directory and renamed into place, so no
 * half-written file ever carries the final name. @replace: an existing file at @dest is
 * replaced (generated files); otherwise that is an error. */
static int write_reg(struct bundle *b, const char *dest, int srcfd, const struct stat *st,
		     const char *host, const void *data, size_t len, mode_t mode, bool replace)
{
	const char *name = path_basename(dest);
	char *tmp = NULL;
	int parent = -1, fd = -1, ret, tries = 0;
	struct stat after;

	ret = open_parent(b, dest, &parent);
	if (ret)
		return ret;
	do {
		free(tmp);
		tmp = xasprintf(".magicpak-tmp.%ld.%lu", (long)getpid(), ++b->tmpseq);
		fd = sys_openat2(parent, tmp, O_WRONLY | O_CREAT | O_EXCL, 0600, RESOLVE_HERE);
	} while (fd == -EEXIST && ++tries < 100);
	if (fd < 0) {
		ret = log_errno(fd, "cannot create a file next to '%s' in the bundle", dest);
		free(tmp);
		tmp = NULL;
		goto out;
	}

	if (srcfd >= 0) {
		ret = tree_copy_data(srcfd, fd, st->st_size);
		if (ret == -ENODATA) {
			ret = log_error(-EAGAIN, "'%s': changed while bundling (it shrank)", host);
			goto out;
		}
		if (ret) {
			log_errno(ret, "cannot copy '%s' to '%s%s'", host, b->output, dest);
			goto out;
		}
		/* A file that grows is copied up to its size at open time; say so. */
		if (!fstat(srcfd, &after) &&
		    (after.st_size != st->st_size || after.st_mtim.tv_sec != st->st_mtim.tv_sec ||
		     after.st_mtim.tv_nsec != st->st_mtim.tv_nsec))
			log_warn("'%s': changed during copy", host);
	} else {
		ret = write_all(fd, data, len);
		if (ret) {
			log_errno(ret, "cannot write '%s%s'", b->output, dest);
			goto out;
		}
	}
	/* chown first: it would clear set-id bits set before it. */
	if (st && b->is_root && fchown(fd, st->st_uid, st->st_gid) < 0) {
		ret = log_errno(-errno, "cannot change the owner of '%s' in the bundle", dest);
		goto out;
	}
	if (fchmod(fd, mode) < 0) {
		ret = log_errno(-errno, "cannot set the mode of '%s' in the bundle", dest);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		ret = log_errno(-errno, "cannot write '%s%s'", b->output, dest);
		goto out;
	}
	fd = -1;

	if (replace) {
		if (renameat(parent, tmp, parent, name) < 0)
			ret = -errno;
	} else if (renameat2(parent, tmp, parent, name, RENAME_NOREPLACE) < 0) {
		ret = -errno;
		/* Some file systems lack RENAME_NOREPLACE; link(2) never replaces either. */
		if (ret == -EINVAL) {
			ret = linkat(parent, tmp, parent, name, 0) < 0 ? -errno : 0;
			if (!ret)
				unlinkat(parent, tmp, 0);
		}
	}
	if (ret) {
		if (ret == -EEXIST)
			log_error(ret, "cannot create '%s' in the bundle: something else is there",
				  dest);
		else
			log_errno(ret, "cannot create '%s' in the bundle", dest);
		goto out;
	}
	free(tmp);
	tmp = NULL;
out:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlinkat(parent, tmp, 0);
	free(tmp);
	close(parent);
	return ret;
}

/* Hard link bundle path @dest to @first, which is already in the bundle. */
static int link_in_bundle(struct bundle *b, const char *first, const char *dest)
{
	int from = -1, to = -1, ret;

	ret = open_parent(b, first, &from);
	if (!ret)
		ret = open_parent(b, dest, &to);
	if (!ret && linkat(from, path_basename(first), to, path_basename(dest), 0) < 0)
		ret = -errno;
	if (from >= 0)
		close(from);
	if (to >= 0)
		close(to);
	return ret;
}

/* Copy the regular file open on @fd (@st: its fstat) to @dest. */
static int copy_reg(struct bundle *b, int fd, const struct stat *st, const char *host,
		    const char *dest)
{
	const char *first;
	mode_t mode = st->st_mode & 07777;
	int ret;

	progress.files++;
	progress.bytes += (uint64_t)st->st_size;
	progress_tick();

	if (strset_has(&b->done, dest) || excluded(b, dest))
		return 0;
	if (st->st_nlink > 1 && (first = inomap_get(&b->inodes, st->st_dev, st->st_ino))) {
		ret = link_in_bundle(b, first, dest);
		if (!ret) {
			strset_add(&b->done, dest);
			return 0;
		}
		log_debug("cannot hard link '%s' to '%s' in the bundle (%s), copying", dest, first,
			  strerror(-ret));
	}
	if (mode & (S_ISUID | S_ISGID)) {
		log_warn("'%s': dropping the setuid/setgid bits", host);
		mode &= ~(mode_t)(S_ISUID | S_ISGID);
	}
	/* File capabilities (ping's cap_net_raw) grant privileges as setuid does, and go the
	 * same way: the copy is a plain file, said out loud. */
	if (fgetxattr(fd, "security.capability", NULL, 0) > 0)
		log_warn("'%s': dropping its file capabilities (security.capability); a non-root "
			 "user in the image runs it without them", host);
	ret = write_reg(b, dest, fd, st, host, NULL, 0, mode, false);
	if (ret)
		return ret;
	strset_add(&b->done, dest);
	if (st->st_nlink > 1)
		inomap_put(&b->inodes, st->st_dev, st->st_ino, dest);
	return 0;
}

static void replace_fd(int *fd, int nfd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = nfd;
}

/* Resolve host path @src one component at a time with lstat, the way the kernel would,
 * but by hand so each symlink on the way can be recreated (@create) in the bundle at its
 * own path. Directories on the way are created too (@create), with their host modes.
 * Ends on a directory or an opened regular file in @fin, or FIN_NONE when the path is
 * skipped (special file, kernel file system, dangling symlink) after a warning. */
static int walk_src(struct bundle *b, const char *src, bool create, struct fin *fin)
{
	struct strbuf res = STRBUF_INIT; /* resolved so far; "" is "/" */
	char target[PATH_MAX];
	char *rest = NULL, *name = NULL, *tmp;
	const char *p, *vroot;
	struct stat st, fst;
	int dirfd = -1, fd = -1, links = 0, ret = 0;
	ssize_t n;

	fin->kind = FIN_NONE;
	fin->fd = -1;
	fin->host = NULL;
	if (src[0] != '/')
		return log_error(-EINVAL, "'%s': source is not an absolute path", src);
	dirfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return log_errno(-errno, "cannot open '/'");
	strbuf_add(&res, "", 0);
	rest = xstrdup(src);
	for (p = rest;;) {
		size_t len, base;
		bool last;

		p += strspn(p, "/");
		if (!*p)
			break;
		len = strcspn(p, "/");
		free(name);
		name = xstrndup(p, len);
		p += len;
		p += strspn(p, "/");
		last = !*p;

		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			/* @res holds no symlinks, so its lexical parent is its real parent. */
			tmp = strrchr(res.buf, '/');
			if (tmp)
				sb_truncate(&res, (size_t)(tmp - res.buf));
			fd = openat(dirfd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0) {
				ret = log_errno(-errno, "cannot resolve '%s'", src);
				goto out;
			}
			replace_fd(&dirfd, fd);
			fd = -1;
			continue;
		}
		base = res.len;
		strbuf_addch(&res, '/');
		strbuf_adds(&res, name);

		vroot = virtual_root(res.buf);
		if (vroot) {
			if (links)
				log_warn("skipping '%s': it leads into %s", src, vroot);
			else
				log_warn("skipping '%s': %s is not bundled", src, vroot);
			goto out;
		}
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			ret = -errno;
			if (ret == -ENOENT && links) {
				log_warn("'%s': dangling symlink, '%s' does not exist", src,
					 res.buf);
				ret = 0;
			} else {
				log_errno(ret, "cannot stat '%s'", res.buf);
			}
			goto out;
		}

		if (S_ISLNK(st.st_mode)) {
			if (++links > BUNDLE_MAX_LINKS) {
				/* A loop, or a chain longer than the kernel follows (the host gets
				 * ELOOP too): the links made so far stay as they are. The caller
				 * decides whether that is fatal, so only a warning here. */
				ret = -ELOOP;
				log_warn("'%s': more than %d symlinks to follow (a loop?); kept as links",
					 src, BUNDLE_MAX_LINKS);
				goto out;
			}
			n = readlinkat(dirfd, name, target, sizeof(target));
			if (n < 0 || (size_t)n >= sizeof(target)) {
				ret = log_errno(n < 0 ? -errno : -ENAMETOOLONG,
						"cannot read symlink '%s'", res.buf);
				goto out;
			}
			target[n] = '\0';
			if (create) {
				ret = make_symlink(b, res.buf, target, &st);
				if (ret)
					goto out;
			}
			/* Go on at the target, relative to the link's directory. */
			sb_truncate(&res, base);
			tmp = xasprintf("%s/%s", target, p);
			free(rest);
			rest = tmp;
			p = rest;
			if (target[0] == '/') {
				sb_truncate(&res, 0);
				fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (fd < 0) {
					ret = log_errno(-errno, "cannot open '/'");
					goto out;
				}
				replace_fd(&dirfd, fd);
				fd = -1;
			}
			continue;
		}

		if (S_ISDIR(st.st_mode)) {
			fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0 || fstat(fd, &fst) < 0 || changed(&st, &fst)) {
				ret = log_error(-EAGAIN, "'%s': changed while bundling", res.buf);
				goto out;
			}
			if (create && !last && !b->no_dirs) {
				ret = make_dir(b, res.buf, st.st_mode, &st, false);
				if (ret)
					goto out;
			}
			replace_fd(&dirfd, fd);
			fd = -1;
			continue;
		}

		if (!last) {
			ret = log_errno(-ENOTDIR, "cannot resolve '%s': '%s'", src, res.buf);
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			log_warn("skipping '%s': %s", res.buf, type_name(st.st_mode));
			goto out;
		}
		/* O_NONBLOCK: should a FIFO have been swapped in since the lstat, open(2) must
		 * not wait for a writer; the fstat below then rejects it. */
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
			if (ret == -ELOOP || ret == -ENOENT || ret == -ENXIO)
				ret = log_error(-EAGAIN, "'%s': changed while bundling", res.buf);
			else
				log_errno(ret, "cannot open '%s'", res.buf);
			goto out;
		}
		if (fstat(fd, &fst) < 0) {
			ret = log_errno(-errno, "cannot stat '%s'", res.buf);
			goto out;
		}
		if (changed(&st, &fst)) {
			ret = log_error(-EAGAIN, "'%s': changed while bundling", res.buf);
			goto out;
		}
		fin->kind = FIN_REG;
		fin->fd = fd;
		fd = -1;
		fin->st = fst;
		fin->host = strbuf_detach(&res);
		goto out;
	}

	/* Every component was a directory (or "/", ".", ".."): the result is @dirfd. */
	if (fstat(dirfd, &fin->st) < 0) {
		ret = log_errno(-errno, "cannot stat '%s'", res.len ? res.buf : "/");
		goto out;
	}
	fin->kind = FIN_DIR;
	fin->fd = dirfd;
	dirfd = -1;
	fin->host = res.len ? strbuf_detach(&res) : xstrdup("/");
out:
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	free(name);
	free(rest);
	strbuf_release(&res);
	return ret;
}

static bool is_ours(const struct bundle *b, const struct stat *st)
{
	return (st->st_dev == b->stage_dev && st->st_ino == b->stage_ino) ||
	       (b->output_existed && st->st_dev == b->out_dev && st->st_ino == b->out_ino);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add one directory entry @name of host directory @dfd (@host) at bundle path @dest. */
static int add_entry(struct bundle *b, int dfd, const char *name, const char *host,
		     const char *dest)
{
	char target[PATH_MAX];
	struct stat st, fst;
	int fd = -1, ret = 0;
	ssize_t n;

	if (virtual_root(host)) {
		log_debug("not bundling '%s': kernel file system", host);
		return 0;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT) {
			log_warn("'%s': vanished while bundling", host);
			return 0;
		}
		return log_errno(-errno, "cannot stat '%s'", host);
	}
	/* Never copy the bundle into itself when the output lies inside the source tree. */
	if (is_ours(b, &st))
		return 0;

	switch (st.st_mode & S_IFMT) {
	case S_IFLNK:
		n = readlinkat(dfd, name, target, sizeof(target));
		if (n < 0 || (size_t)n >= sizeof(target))
			return log_errno(n < 0 ? -errno : -ENAMETOOLONG, "cannot read symlink '%s'",
					 host);
		target[n] = '\0';
		return make_symlink(b, dest, target, &st);
	case S_IFDIR:
		if (excluded(b, dest))
			return 0;
		fd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &fst) < 0 || changed(&st, &fst)) {
			ret = log_error(-EAGAIN, "'%s': changed while bundling", host);
			break;
		}
		ret = make_dir(b, dest, st.st_mode, &st, false);
		if (!ret)
			ret = add_dir_contents(b, fd, host, dest);
		break;
	case S_IFREG:
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
			if (ret == -ELOOP || ret == -ENOENT || ret == -ENXIO)
				return log_error(-EAGAIN, "'%s': changed while bundling", host);
			return log_errno(ret, "cannot open '%s'", host);
		}
		if (fstat(fd, &fst) < 0 || changed(&st, &fst)) {
			ret = log_error(-EAGAIN, "'%s': changed while bundling", host);
			break;
		}
		ret = copy_reg(b, fd, &fst, host, dest);
		break;
	default:
		log_warn("skipping '%s': %s", host, type_name(st.st_mode));
		return 0;
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Everything below host directory @hostfd (O_PATH, named @host) goes below @dest, in name
 * order so the result - which name of a hard-linked inode is the copy - is reproducible.
 * An entry that fails is reported and the others still added; returns the first error. */
static int add_dir_contents(struct bundle *b, int hostfd, const char *host, const char *dest)
{
	struct strvec names = STRVEC_INIT;
	struct dirent *de;
	DIR *dir = NULL;
	int fd, ret = 0, r;

	fd = openat(hostfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return log_errno(-errno, "cannot read directory '%s'", host);
	dir = fdopendir(fd);
	if (!dir) {
		ret = log_errno(-errno, "cannot read directory '%s'", host);
		close(fd);
		return ret;
	}
	errno = 0;
	while ((de = readdir(dir))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strvec_push(&names, de->d_name);
		errno = 0;
	}
	if (errno) {
		ret = log_errno(-errno, "cannot read directory '%s'", host);
		goto out;
	}
	if (names.n)
		qsort(names.v, names.n, sizeof(*names.v), cmp_str);
	for (size_t i = 0; i < names.n; i++) {
		char *chost = xasprintf("%s/%s", strcmp(host, "/") ? host : "", names.v[i]);
		char *cdest = xasprintf("%s/%s", strcmp(dest, "/") ? dest : "", names.v[i]);

		r = add_entry(b, dirfd(dir), names.v[i], chost, cdest);
		if (r && !ret)
			ret = r;
		free(chost);
		free(cdest);
	}
out:
	closedir(dir);
	strvec_clear(&names);
	return ret;
}

static bool has_dotdot(const char *path)
{
	for (const char *p = path; (p = strstr(p, "..")); p += 2)
		if ((p == path || p[-1] == '/') && (p[2] == '/' || !p[2]))
			return true;
	return false;
}

static int add_common(struct bundle *b, const char *src, const char *dest, bool tree);

/* @dest, a bundle path given to a host file of another name (--install-to), lies below a
 * directory the host reaches through a symlink (/bin -> usr/bin on a merged-/usr host): the
 * bundle keeps that link as the host has it as soon as anything needs a path through it, so
 * the directories on the way are made now as the host has them, links included, and @dest
 * goes through the link (/bin/app is /usr/bin/app) instead of a real /bin taking its place. */
static int keep_host_links(struct bundle *b, const char *dest)
{
	struct strbuf pre = STRBUF_INIT;
	char *dir = path_dirname(dest), *upto = NULL;
	const char *p, *e;
	struct stat st;
	bool link = false;
	int ret = 0;

	for (p = dir + strspn(dir, "/"); *p; p = e + strspn(e, "/")) {
		e = p + strcspn(p, "/");
		strbuf_addch(&pre, '/');
		strbuf_add(&pre, p, (size_t)(e - p));
		if (lstat(pre.buf, &st) < 0)
			break;
		if (S_ISLNK(st.st_mode)) {
			if (stat(pre.buf, &st) < 0 || !S_ISDIR(st.st_mode))
				break;
			link = true;
		} else if (!S_ISDIR(st.st_mode)) {
			break;
		}
		free(upto);
		upto = xstrdup(pre.buf);
	}
	if (link && !virtual_root(upto))
		ret = add_common(b, upto, NULL, false);
	free(upto);
	free(dir);
	strbuf_release(&pre);
	return ret;
}

static int add_common(struct bundle *b, const char *src, const char *dest, bool tree)
{
	struct fin fin = { FIN_NONE, -1, { 0 }, NULL };
	char *key = NULL, *ndest = NULL;
	const char *target;
	int ret = 0;

	if (src[0] != '/')
		return log_error(-EINVAL, "'%s': source is not an absolute path", src);
	/* With no "..", the lexical form names the same file, so it can serve as a key. */
	if (!has_dotdot(src))
		key = path_normalize(src);
	if (dest) {
		if (dest_normalize(dest, &ndest))
			return log_error(-EINVAL, "'%s': empty destination path", src);
		if (key && !strcmp(key, ndest)) {
			free(ndest);
			ndest = NULL;
		}
	}
	if (!tree && strset_has(&b->done, ndest ? ndest : key ? key : ""))
		goto out;
	/* An excluded path is not wanted at all: not even the directories leading to it. */
	if (excluded(b, ndest ? ndest : key ? key : ""))
		goto out;

	if (ndest) {
		ret = keep_host_links(b, ndest);
		if (ret)
			goto out;
	}
	/* Where does the chain end? At an excluded file, the directories on the way are not
	 * wanted (the links are: a link to an excluded file is kept, dangling). */
	b->no_dirs = false;
	if (!ndest && b->excludes.n) {
		enum log_level saved = log_level;

		log_level = LOG_OFF; /* the real walk below reports any problem */
		if (walk_src(b, src, false, &fin) == 0 && fin.kind == FIN_REG &&
		    excluded(b, fin.host))
			b->no_dirs = true;
		log_level = saved;
		if (fin.fd >= 0)
			close(fin.fd);
		fin.fd = -1;
		free(fin.host);
		fin.host = NULL;
	}
	ret = walk_src(b, src, !ndest, &fin);
	b->no_dirs = false;
	if (ret || fin.kind == FIN_NONE)
		goto out;
	target = ndest ? ndest : fin.host;
	if (fin.kind == FIN_REG) {
		ret = copy_reg(b, fin.fd, &fin.st, fin.host, target);
	} else if (!excluded(b, target)) {
		ret = make_dir(b, target, fin.st.st_mode, &fin.st, false);
		if (!ret && tree)
			ret = add_dir_contents(b, fin.fd, fin.host, target);
	}
	/* Remember the path as asked for too: adding it again is then a lookup. */
	if (!ret && key && !ndest && strset_has(&b->done, fin.host))
		strset_add(&b->done, key);
out:
	if (fin.fd >= 0)
		close(fin.fd);
	free(fin.host);
	free(key);
	free(ndest);
	return ret;
}

int bundle_add(struct bundle *b, const char *src, const char *dest)
{
	return add_common(b, src, dest, false);
}

int bundle_add_tree(struct bundle *b, const char *src, const char *dest)
{
	return add_common(b, src, dest, true);
}

int bundle_mkdir(struct bundle *b, const char *dest)
{
	char *d = NULL;
	int ret;

	if (dest_normalize(dest, &d))
		return log_error(-EINVAL, "empty directory path for the bundle");
	/* /tmp and /var/tmp as every system has them: anyone may make files there */
	ret = make_dir(b, d, !strcmp(d, "/tmp") || !strcmp(d, "/var/tmp") ? 01777 : 0755, NULL,
		       true);
	/* make_dir() takes a path already in the bundle as done, a file too */
	if (!ret && !excluded(b, d)) {
		int fd = root_open(b, d, O_RDONLY | O_DIRECTORY);

		if (fd == -ENOTDIR)
			ret = log_error(-ENOTDIR, "cannot make directory '%s' in the bundle: a file "
					"is there", d);
		if (fd >= 0)
			close(fd);
	}
	free(d);
	return ret;
}

int bundle_write_file(struct bundle *b, const char *dest, const void *data, size_t len, mode_t mode)
{
	char *d = NULL;
	int ret = 0;

	if (dest_normalize(dest, &d))
		return log_error(-EINVAL, "empty file path for the bundle");
	if (!strcmp(d, "/")) {
		ret = log_error(-EISDIR, "cannot write a file over the bundle root");
		goto out;
	}
	if (excluded(b, d))
		goto out;
	ret = write_reg(b, d, -1, NULL, NULL, data, len, mode & 07777, true);
	if (ret)
		goto out;
	strset_add(&b->done, d);
	inomap_forget_dest(&b->inodes, d);
out:
	free(d);
	return ret;
}

bool bundle_has(struct bundle *b, const char *dest)
{
	char *d = NULL;
	bool has;
	int fd;

	if (dest_normalize(dest, &d))
		return false;
	has = strset_has(&b->done, d);
	if (!has) {
		fd = root_open(b, d, O_PATH | O_NOFOLLOW);
		has = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
	free(d);
	return has;
}

/* 0: empty; 1: not empty; <0: -errno. */
static int dir_is_empty(const char *path)
{
	struct dirent *de;
	DIR *dir;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		ret = -errno;
		close(fd);
		return ret;
	}
	while ((de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			ret = 1;
			break;
		}
	closedir(dir);
	return ret;
}

static void remove_tree_at(int parentfd, const char *name);

/* Remove the staging directories "<output>.magicpak-<pid>.XXXXXX" next to @output, or with
 * @inside ".magicpak-<pid>.XXXXXX" in it, of bundlers that died (kill -9, power loss) before
 * they could clean up (RELIABILITY BND-12). */
static void remove_stale_staging(const char *output, bool inside)
{
	char *dir = inside ? xstrdup(output) : path_dirname(output);
	char *prefix = inside ? xstrdup(".magicpak-")
			      : xasprintf("%s.magicpak-", path_basename(output));
	size_t plen = strlen(prefix);
	struct strvec stale = STRVEC_INIT;
	struct dirent *de;
	DIR *d;
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		goto out;
	}
	while ((de = readdir(d))) {
		char *end;
		long pid;

		if (strncmp(de->d_name, prefix, plen))
			continue;
		pid = strtol(de->d_name + plen, &end, 10);
		if (end == de->d_name + plen || *end != '.' || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			strvec_push(&stale, de->d_name);
	}
	for (size_t i = 0; i < stale.n; i++) {
		log_info("removing '%s/%s', left by a bundler that died", dir, stale.v[i]);
		remove_tree_at(dirfd(d), stale.v[i]);
	}
	closedir(d);
out:
	strvec_clear(&stale);
	free(prefix);
	free(dir);
}

/* The pid a live bundler of OUTPUT named in its lock file, or in its staging directory
 * ".magicpak-<pid>.XXXXXX" inside OUTPUT; 0 if none can be read. */
static long lock_owner(const char *output, int lockfd)
{
	char buf[32];
	struct dirent *de;
	long pid = 0;
	ssize_t n;
	DIR *d;
	int fd;

	/* (the owner writes its pid right after it takes the lock: give it a moment) */
	for (int i = 0; lockfd >= 0 && i < 50; i++) {
		if ((n = pread(lockfd, buf, sizeof(buf) - 1, 0)) > 0) {
			buf[n] = '\0';
			return strtol(buf, NULL, 10);
		}
		usleep(1000);
	}
	if (lockfd >= 0)
		return 0;
	fd = open(output, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (!pid && (de = readdir(d)))
		if (!strncmp(de->d_name, ".magicpak-", 10))
			pid = strtol(de->d_name + 10, NULL, 10);
	closedir(d);
	return pid;
}

/* One bundler at a time into OUTPUT (RELIABILITY BND-13): an flock on OUTPUT itself when it
 * exists (@exists), else on "OUTPUT.magicpak-lock" next to it, made for the run and holding
 * our pid, removed at its end. A second bundler stops at once, naming the first one's pid,
 * where it used to find OUTPUT taken only after its copy. Where the file system gives us no
 * flock (NFSv4 wants a descriptor open for writing: EBADF on a directory), the run goes on
 * unlocked, as before. Returns 0 (locked or not), 1 when OUTPUT appeared while we took the
 * lock file (look again), or -errno (logged). */
static int lock_output(struct bundle *b, bool exists)
{
	struct stat st, fst;
	char pid[24];
	int fd, n;

	if (exists)
		fd = open(b->output, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	else
		fd = open(b->lockpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return log_errno(-errno, "cannot open '%s' to lock it",
				 exists ? b->output : b->lockpath);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		long owner = e == EWOULDBLOCK ? lock_owner(b->output, exists ? -1 : fd) : 0;

		close(fd);
		if (e != EWOULDBLOCK) {
			log_debug("cannot lock '%s' (%s): bundling without a lock",
				  exists ? b->output : b->lockpath, strerror(e));
			return 0;
		}
		if (owner > 0)
			return log_error(-EBUSY, "'%s': output directory locked by pid %ld "
					 "(another magicpak bundle is writing it)", b->output, owner);
		return log_error(-EBUSY, "'%s': output directory locked by another magicpak bundle",
				 b->output);
	}
	if (!exists) {
		/* The file may have been removed by the bundler that held it, after we opened it:
		 * then our lock is on nothing anyone else sees. */
		if (fstat(fd, &fst) < 0 || lstat(b->lockpath, &st) < 0 || changed(&st, &fst)) {
			close(fd);
			return 1;
		}
		n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
		if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
			log_debug("cannot write our pid into '%s'", b->lockpath);
		/* the bundler before us finished meanwhile: OUTPUT is there now */
		if (lstat(b->output, &st) == 0) {
			unlink(b->lockpath);
			close(fd);
			return 1;
		}
		b->lock_made = true;
	} else {
		/* A lock file beside an OUTPUT that exists: left by a bundler killed between its
		 * commit and its end, unless that bundler still holds it (it is between the
		 * two now). Removed while we hold it, so that no one takes it meanwhile. */
		int lf = open(b->lockpath, O_RDWR | O_NOFOLLOW | O_CLOEXEC);

		if (lf >= 0) {
			if (flock(lf, LOCK_EX | LOCK_NB) == 0 && fstat(lf, &fst) == 0 &&
			    lstat(b->lockpath, &st) == 0 && !changed(&st, &fst))
				unlink(b->lockpath);
			close(lf);
		}
	}
	b->lockfd = fd;
	return 0;
}

int bundle_new(const char *output, const struct bundle_opts *opts, struct bundle **out)
{
	struct bundle *b = NULL;
	struct stat st, fst;
	size_t len;
	int fd, ret = 0, tries = 0;

	*out = NULL;
	if (!output || !*output)
		return log_error(-EINVAL, "empty output directory name");
	b = xcalloc(1, sizeof(*b));
	b->rootfd = -1;
	b->outfd = -1;
	b->lockfd = -1;
	b->output = xstrdup(output);
	/* "out/" and "out" are the same directory, but "out/.magicpak-..." is not a sibling. */
	len = strlen(b->output);
	while (len > 1 && b->output[len - 1] == '/')
		b->output[--len] = '\0';
	if (!strcmp(b->output, "/")) {
		ret = log_error(-EINVAL, "'/': cannot be the output directory");
		goto out;
	}
	b->lockpath = xasprintf("%s.magicpak-lock", b->output);

again:
	if (lstat(b->output, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			ret = log_error(-EEXIST, "'%s': output directory is a symlink", output);
			goto out;
		}
		if (!S_ISDIR(st.st_mode)) {
			ret = log_error(-ENOTDIR, "'%s': output exists and is not a directory",
					output);
			goto out;
		}
		/* Every later step works on this very directory: no one can swap another in. */
		b->outfd = open(b->output, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (b->outfd < 0 || fstat(b->outfd, &fst) < 0) {
			ret = log_errno(-errno, "cannot open output directory '%s'", output);
			goto out;
		}
		if (changed(&st, &fst)) {
			ret = log_error(-EAGAIN, "'%s': output directory changed while checking it",
					output);
			goto out;
		}
		if ((ret = lock_output(b, true)) < 0)
			goto out;
		remove_stale_staging(b->output, true);
		ret = dir_is_empty(b->output);
		if (ret < 0) {
			log_errno(ret, "cannot read output directory '%s'", output);
			goto out;
		}
		if (ret > 0) {
			ret = log_error(-ENOTEMPTY, "'%s': output directory is not empty", output);
			goto out;
		}
		b->output_existed = true;
		b->out_dev = st.st_dev;
		b->out_ino = st.st_ino;
	} else if (errno != ENOENT) {
		ret = log_errno(-errno, "cannot stat output directory '%s'", output);
		goto out;
	} else if ((ret = lock_output(b, false)) < 0) {
		goto out;
	} else if (ret > 0) {
		if (++tries < 100)
			goto again;
		ret = log_error(-EAGAIN, "'%s': output directory changed while locking it", output);
		goto out;
	}

	remove_stale_staging(b->output, false);
	/* The pid in the name lets a later run tell a dead bundler's leftovers from a live one. */
	if (b->output_existed)
		b->staging = xasprintf("%s/.magicpak-%d.XXXXXX", b->output, (int)getpid());
	else
		b->staging = xasprintf("%s.magicpak-%d.XXXXXX", b->output, (int)getpid());
	if (!mkdtemp(b->staging)) {
		ret = log_errno(-errno, "cannot create a staging directory next to '%s'", output);
		free(b->staging);
		b->staging = NULL;
		goto out;
	}
	fd = open(b->staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || fchmod(fd, 0755) < 0) {
		/* mkdtemp(3) makes it 0700; the top of a root file system is 0755. */
		ret = log_errno(-errno, "cannot set up staging directory '%s'", b->staging);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	b->stage_dev = st.st_dev;
	b->stage_ino = st.st_ino;
	b->rootfd = open(b->staging, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (b->rootfd < 0) {
		ret = log_errno(-errno, "cannot open staging directory '%s'", b->staging);
		goto out;
	}
	fd = root_open(b, "/", O_PATH | O_DIRECTORY);
	if (fd < 0) {
		ret = fd;
		if (ret == -ENOSYS)
			log_error(ret, "openat2(2) is not available: Linux 5.6 or later is needed");
		else
			log_errno(ret, "cannot open staging directory '%s'", b->staging);
		goto out;
	}
	close(fd);

	if (opts && opts->excludes)
		for (size_t i = 0; i < opts->excludes->n; i++)
			strvec_push(&b->excludes, opts->excludes->v[i]);
	b->exclude_hits = xcalloc(b->excludes.n + 1, sizeof(*b->exclude_hits));
	b->legacy_excludes = opts && opts->legacy_excludes;
	b->is_root = geteuid() == 0;
	*out = b;
	b = NULL;
	ret = 0;
out:
	bundle_free(b);
	return ret;
}

static int cmp_mode_desc(const void *a, const void *b)
{
	return -strcmp(((const struct dir_mode *)a)->dest, ((const struct dir_mode *)b)->dest);
}

const char *bundle_tree(const struct bundle *b)
{
	return b->staging;
}

/* Is bundle path @dest ("/usr") a top entry of the tree? */
static bool is_top(const char *dest)
{
	return dest[0] == '/' && dest[1] && !strchr(dest + 1, '/');
}

/* Move every top entry of the staging directory into the existing OUTPUT, never over
 * anything; on a failure, what was moved goes back (or is removed), so OUTPUT is left as
 * empty as it was. The staging directory, emptied, is removed. */
static int commit_in_place(struct bundle *b)
{
	const char *stage = path_basename(b->staging);
	struct strvec names = STRVEC_INIT;
	struct dirent *de;
	struct stat st;
	DIR *dir = NULL;
	size_t moved = 0;
	int fd, stagefd = -1, ret = 0;

	/* Nothing but our staging directory may have appeared in OUTPUT meanwhile. */
	fd = openat(b->outfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		ret = log_errno(-errno, "cannot read output directory '%s'", b->output);
		if (fd >= 0)
			close(fd);
		return ret;
	}
	while ((de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, stage))
			ret = -ENOTEMPTY;
	closedir(dir);
	if (ret)
		return log_error(ret, "'%s': output directory is not empty", b->output);

	stagefd = openat(b->outfd, stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (stagefd < 0 || fstat(stagefd, &st) < 0 || st.st_dev != b->stage_dev ||
	    st.st_ino != b->stage_ino) {
		ret = log_errno(stagefd < 0 ? -errno : -EAGAIN,
				"cannot open staging directory '%s'", b->staging);
		goto out;
	}
	fd = dup(stagefd);
	dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		ret = log_errno(-errno, "cannot read staging directory '%s'", b->staging);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	while ((de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strvec_push(&names, de->d_name);
	closedir(dir);

	for (moved = 0; moved < names.n; moved++) {
		const char *n = names.v[moved];

		if (renameat2(stagefd, n, b->outfd, n, RENAME_NOREPLACE) == 0)
			continue;
		ret = -errno;
		/* Some file systems lack RENAME_NOREPLACE: look first, then rename. */
		if (ret == -EINVAL && fstatat(b->outfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
		    errno == ENOENT) {
			ret = renameat(stagefd, n, b->outfd, n) < 0 ? -errno : 0;
			if (!ret)
				continue;
		}
		if (ret == -EEXIST || ret == -EINVAL)
			log_error(-EEXIST, "'%s': '%s' appeared in the output directory meanwhile",
				  b->output, n);
		else
			log_errno(ret, "cannot move '%s' into '%s'", n, b->output);
		break;
	}
	for (size_t i = 0; i < b->nmodes && !ret; i++) {
		if (!is_top(b->modes[i].dest))
			continue;
		fd = openat(b->outfd, b->modes[i].dest + 1, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			    O_CLOEXEC);
		if (fd < 0 || fchmod(fd, b->modes[i].mode) < 0)
			ret = log_errno(-errno, "cannot set the mode of '%s' in the bundle",
					b->modes[i].dest);
		if (fd >= 0)
			close(fd);
	}
	if (ret) {
		/* Back into the staging directory (removed with it), or removed where it is. */
		while (moved--)
			if (renameat(b->outfd, names.v[moved], stagefd, names.v[moved]) < 0)
				remove_tree_at(b->outfd, names.v[moved]);
		goto out;
	}
	b->committed = true;
	if (unlinkat(b->outfd, stage, AT_REMOVEDIR) < 0)
		log_warn("cannot remove the empty staging directory '%s': %s", b->staging,
			 strerror(errno));
out:
	if (stagefd >= 0)
		close(stagefd);
	strvec_clear(&names);
	return ret;
}

int bundle_commit(struct bundle *b)
{
	int fd, ret = 0;

	if (b->committed)
		return 0;
	/* Deepest first, so each directory is still ours to enter while its children change. */
	if (b->nmodes)
		qsort(b->modes, b->nmodes, sizeof(*b->modes), cmp_mode_desc);
	for (size_t i = 0; i < b->nmodes; i++) {
		/* A top directory moved into an existing OUTPUT gets its mode once moved: moving
		 * a directory to another parent needs write permission on it. */
		if (b->output_existed && is_top(b->modes[i].dest))
			continue;
		fd = root_open(b, b->modes[i].dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (fd < 0)
			return log_errno(fd, "cannot open '%s' in the bundle", b->modes[i].dest);
		if (fchmod(fd, b->modes[i].mode) < 0)
			ret = log_errno(-errno, "cannot set the mode of '%s' in the bundle",
					b->modes[i].dest);
		close(fd);
		if (ret)
			return ret;
	}

	if (b->output_existed)
		return commit_in_place(b);
	/* When there was no OUTPUT, RENAME_NOREPLACE keeps a directory that appeared meanwhile
	 * from being replaced. */
	if (renameat2(AT_FDCWD, b->staging, AT_FDCWD, b->output, RENAME_NOREPLACE) < 0) {
		ret = -errno;
		if (ret == -EINVAL)
			ret = rename(b->staging, b->output) < 0 ? -errno : 0;
	}
	if (ret == -EEXIST || ret == -ENOTEMPTY)
		return log_error(ret, "'%s': output directory is not empty", b->output);
	if (ret)
		return log_errno(ret, "cannot rename '%s' to '%s'", b->staging, b->output);
	b->committed = true;
	return 0;
}

/* Remove @name below @parentfd and everything under it, through directory fds and without
 * following any symlink. Best effort: this only cleans up after a failed run. */
static void remove_tree_at(int parentfd, const char *name)
{
	struct strvec names = STRVEC_INIT;
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int fd;

	if (fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlinkat(parentfd, name, 0);
		return;
	}
	fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	/* A directory given its final, read-only mode at commit must be writable again. */
	if ((st.st_mode & S_IRWXU) != S_IRWXU)
		fchmod(fd, 0700);
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return;
	}
	while ((de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strvec_push(&names, de->d_name);
	for (size_t i = 0; i < names.n; i++)
		remove_tree_at(dirfd(dir), names.v[i]);
	closedir(dir);
	strvec_clear(&names);
	unlinkat(parentfd, name, AT_REMOVEDIR);
}

void bundle_free(struct bundle *b)
{
	if (!b)
		return;
	if (b->rootfd >= 0)
		close(b->rootfd);
	if (b->staging && !b->committed) {
		if (b->outfd >= 0)
			remove_tree_at(b->outfd, path_basename(b->staging));
		else
			remove_tree_at(AT_FDCWD, b->staging);
	}
	if (b->outfd >= 0)
		close(b->outfd);
	if (b->lock_made)
		unlink(b->lockpath); /* while we hold it: a bundler that opened it looks again */
	if (b->lockfd >= 0)
		close(b->lockfd);
	free(b->lockpath);
	for (size_t i = 0; i < b->nmodes; i++)
		free(b->modes[i].dest);
	free(b->modes);
	strset_release(&b->done);
	inomap_release(&b->inodes);
	strvec_clear(&b->excludes);
	free(b->exclude_hits);
	free(b->staging);
	free(b->output);
	free(b);
}
