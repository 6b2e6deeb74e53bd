/* SPDX-License-Identifier: MIT */
/* collector/tree.c - whole directory trees: walk, copy, remove; and a file's data copied with
 * its holes. Every walk goes through directory fds relative to their parent, never through
 * symlinks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "strbuf.h"
#include "strmap.h"
#include "tree.h"
#include "xalloc.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read the names in @dirfd (a dup is consumed by fdopendir), sorted. */
static int read_names(int dirfd, const char *rel, struct strvec *names)
{
	DIR *d;
	struct dirent *de;
	int fd = dup(dirfd);

	if (fd < 0)
		return log_errno(-errno, "cannot read directory '%s'", *rel ? rel : ".");
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return log_errno(-errno, "cannot read directory '%s'", *rel ? rel : ".");
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		strvec_push(names, de->d_name);
	}
	closedir(d);
	if (names->n)
		qsort(names->v, names->n, sizeof(*names->v), cmp_str);
	return 0;
}

/* Directories are opened through dirfds relative to their parent, so a path longer than
 * PATH_MAX is walked like any other. */
static int walk_dir(int dirfd, struct strbuf *rel, tree_walk_fn fn, void *ctx)
{
	struct strvec names = STRVEC_INIT;
	size_t base = rel->len;
	int ret;

	ret = read_names(dirfd, rel->buf ? rel->buf : "", &names);
	for (size_t i = 0; i < names.n && ret >= 0; i++) {
		struct stat st;

		rel->len = base;
		if (rel->buf)
			rel->buf[base] = '\0';
		if (base)
			strbuf_addch(rel, '/');
		strbuf_adds(rel, names.v[i]);
		if (fstatat(dirfd, names.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			ret = log_errno(-errno, "cannot stat '%s' in the bundle", rel->buf);
			break;
		}
		ret = fn(ctx, dirfd, names.v[i], rel->buf, &st);
		if (ret < 0 || !S_ISDIR(st.st_mode))
			continue;
		int sub = openat(dirfd, names.v[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (sub < 0) {
			ret = log_errno(-errno, "cannot open directory '%s' in the bundle", rel->buf);
			break;
		}
		ret = walk_dir(sub, rel, fn, ctx);
		close(sub);
	}
	rel->len = base;
	if (rel->buf)
		rel->buf[base] = '\0';
	strvec_clear(&names);
	return ret;
}

int tree_walk(const char *tree, tree_walk_fn fn, void *ctx)
{
	struct strbuf rel = STRBUF_INIT;
	int fd, ret;

	fd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return log_errno(-errno, "cannot open '%s'", tree);
	strbuf_adds(&rel, "");
	ret = walk_dir(fd, &rel, fn, ctx);
	close(fd);
	strbuf_release(&rel);
	return ret;
}

static int remove_at(int dirfd, const char *name)
{
	struct stat st;
	int fd, ret = 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* A directory without write permission (0555) cannot lose its entries otherwise. */
	if ((st.st_mode & 0700) != 0700)
		fchmod(fd, (st.st_mode & 07777) | 0700);
	struct strvec names = STRVEC_INIT;

	ret = read_names(fd, name, &names);
	for (size_t i = 0; i < names.n && ret >= 0; i++)
		ret = remove_at(fd, names.v[i]);
	strvec_clear(&names);
	close(fd);
	if (ret >= 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		ret = -errno;
	return ret;
}

int tree_remove(const char *path)
{
	int ret = remove_at(AT_FDCWD, path);

	if (ret < 0)
		return log_errno(ret, "cannot remove '%s'", path);
	return 0;
}

/* ---- a file's data ---- */

/* Copy [@off, @end) from @in to @out at the same offsets. -ENODATA: @in ended early. */
static int copy_range(int in, int out, off_t off, off_t end, bool *use_cfr)
{
	static char buf[1 << 16];

	while (off < end) {
		size_t want = (size_t)(end - off);
		ssize_t n, w;

		if (*use_cfr) {
			loff_t oi = off, oo = off;

			n = copy_file_range(in, &oi, out, &oo,
					    want < (1u << 30) ? want : (1u << 30), 0);
			/* Older kernels refuse copies across file systems, some file systems
			 * refuse it altogether; read(2)/write(2) always work. */
			if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
				      errno == EOPNOTSUPP)) {
				*use_cfr = false;
				continue;
			}
		} else {
			n = pread(in, buf, want < sizeof(buf) ? want : sizeof(buf), off);
			for (w = 0; n > 0 && w < n;) {
				ssize_t k = pwrite(out, buf + w, (size_t)(n - w), off + w);

				if (k < 0) {
					if (errno == EINTR)
						continue;
					return -errno;
				}
				w += k;
			}
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENODATA;
		off += n;
	}
	return 0;
}

int tree_copy_data(int in, int out, off_t size)
{
	bool use_cfr = true;
	off_t off = 0, data, hole;
	int ret;

	while (off < size) {
		data = lseek(in, off, SEEK_DATA);
		if (data < 0) {
			if (errno == ENXIO)
				break; /* only a hole is left */
			data = off;
			hole = size;
		} else {
			hole = lseek(in, data, SEEK_HOLE);
			if (hole < 0 || hole > size)
				hole = size;
		}
		if (data >= size)
			break;
		ret = copy_range(in, out, data, hole, &use_cfr);
		if (ret)
			return ret;
		off = hole;
	}
	if (ftruncate(out, size) < 0)
		return -errno;
	return 0;
}

/* ---- copying a tree ---- */

struct tree_copy {
	int dstfd;
	bool root;            /* owners are kept */
	struct strmap inodes; /* "dev:ino" of a file with several names -> its first rel (owned) */
	struct strvec dirs;   /* directories made, their modes set once they are filled */
	struct strvec modes;  /* the mode of each of dirs, as text */
};

static int copy_reg(struct tree_copy *t, int dirfd, const char *name, const char *rel,
		    const struct stat *st)
{
	char key[64];
	const char *first;
	int in, out, ret;

	if (st->st_nlink > 1) {
		snprintf(key, sizeof(key), "%ju:%ju", (uintmax_t)st->st_dev, (uintmax_t)st->st_ino);
		first = strmap_get(&t->inodes, key);
		if (first)
			return linkat(t->dstfd, first, t->dstfd, rel, 0) < 0 ?
				log_errno(-errno, "cannot link '%s' in the copy", rel) : 0;
		strmap_put(&t->inodes, key, xstrdup(rel));
	}
	in = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (in < 0)
		return log_errno(-errno, "cannot open '%s' to copy it", rel);
	out = openat(t->dstfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		ret = log_errno(-errno, "cannot create '%s' in the copy", rel);
		close(in);
		return ret;
	}
	ret = tree_copy_data(in, out, st->st_size);
	if (ret < 0)
		log_errno(ret, "cannot copy '%s'", rel);
	/* the owner first: chown clears the setuid and setgid bits */
	else if ((t->root && fchown(out, st->st_uid, st->st_gid) < 0) ||
		 fchmod(out, st->st_mode & 07777) < 0)
		ret = log_errno(-errno, "cannot set the owner and mode of '%s' in the copy", rel);
	close(in);
	close(out);
	return ret;
}

static int copy_entry(void *ctx, int dirfd, const char *name, const char *rel,
		      const struct stat *st)
{
	struct tree_copy *t = ctx;
	char target[4096];
	ssize_t n;
	int ret = 0;

	switch (st->st_mode & S_IFMT) {
	case S_IFDIR:
		/* filled first with the owner's rights, given its own mode at the end */
		if (mkdirat(t->dstfd, rel, 0700) < 0)
			return log_errno(-errno, "cannot create directory '%s' in the copy", rel);
		strvec_push(&t->dirs, rel);
		strvec_push_owned(&t->modes, xasprintf("%o", (unsigned)(st->st_mode & 07777)));
		break;
	case S_IFREG:
		return copy_reg(t, dirfd, name, rel, st);
	case S_IFLNK:
		n = readlinkat(dirfd, name, target, sizeof(target));
		if (n < 0 || (size_t)n >= sizeof(target))
			return log_errno(n < 0 ? -errno : -ENAMETOOLONG, "cannot read symlink '%s'", rel);
		target[n] = '\0';
		if (symlinkat(target, t->dstfd, rel) < 0)
			return log_errno(-errno, "cannot create symlink '%s' in the copy", rel);
		break;
	case S_IFIFO:
	case S_IFCHR:
	case S_IFBLK:
		if (mknodat(t->dstfd, rel, st->st_mode & (S_IFMT | 07777), st->st_rdev) < 0)
			return log_errno(-errno, "cannot create '%s' in the copy", rel);
		break;
	default:
		log_debug("copy: '%s' skipped (a socket)", rel);
		return 0;
	}
	if (t->root && fchownat(t->dstfd, rel, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		ret = log_errno(-errno, "cannot set the owner of '%s' in the copy", rel);
	return ret;
}

int tree_copy(const char *src, const char *dst)
{
	struct tree_copy t = { .root = geteuid() == 0, .inodes = STRMAP_INIT, .dirs = STRVEC_INIT,
			       .modes = STRVEC_INIT };
	struct stat st;
	int ret;

	t.dstfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t.dstfd < 0)
		return log_errno(-errno, "cannot open '%s'", dst);
	ret = tree_walk(src, copy_entry, &t);
	if (ret >= 0 && !stat(src, &st) && fchmod(t.dstfd, st.st_mode & 07777) < 0)
		ret = log_errno(-errno, "cannot set the mode of '%s'", dst);
	/* children before parents: a 0555 directory is closed only once it is full */
	for (size_t i = t.dirs.n; ret >= 0 && i-- > 0;)
		if (fchmodat(t.dstfd, t.dirs.v[i], (mode_t)strtoul(t.modes.v[i], NULL, 8), 0) < 0)
			ret = log_errno(-errno, "cannot set the mode of '%s' in the copy", t.dirs.v[i]);
	for (size_t i = 0; i < t.inodes.cap; i++)
		if (t.inodes.keys && t.inodes.keys[i])
			free(t.inodes.vals[i]);
	strmap_clear(&t.inodes);
	strvec_clear(&t.dirs);
	strvec_clear(&t.modes);
	close(t.dstfd);
	return ret;
}
