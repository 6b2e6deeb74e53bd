/* SPDX-License-Identifier: MIT */
/* collector/path.c - lexical path operations. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "path.h"
#include "strbuf.h"
#include "xalloc.h"

char *path_normalize(const char *path)
{
	size_t len = strlen(path);
	char *out = xmalloc(len + 2);
	bool abs = path[0] == '/';
	size_t o = 0, ups = 0; /* ups: leading ".." kept in a relative path */
	const char *p = path;

	if (abs)
		out[o++] = '/';
	while (*p) {
		const char *e;
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			size_t base = abs ? 1 : 0;

			if (o > base + ups * 3) {
				/* drop the last component */
				while (o > base && out[o - 1] != '/')
					o--;
				if (o > base)
					o--;
			} else if (!abs) {
				if (o > 0)
					out[o++] = '/';
				out[o++] = '.';
				out[o++] = '.';
				ups++;
			}
			/* absolute: ".." at the root stays at the root */
		} else {
			if (o > (abs ? 1 : 0))
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return out;
}

char *path_join(const char *dir, const char *name)
{
	char *tmp, *r;

	if (name[0] == '/')
		return path_normalize(name);
	tmp = xasprintf("%s/%s", dir, name);
	r = path_normalize(tmp);
	free(tmp);
	return r;
}

char *path_dirname(const char *path)
{
	char *n = path_normalize(path);
	char *slash = strrchr(n, '/');

	if (!slash) {
		free(n);
		return xstrdup(".");
	}
	if (slash == n)
		n[1] = '\0';
	else
		*slash = '\0';
	return n;
}

const char *path_basename(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

char *path_absolute(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return path_normalize(path);
	if (!getcwd(cwd, sizeof(cwd)))
		die("cannot get the current directory");
	return path_join(cwd, path);
}

bool path_has_prefix(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

static bool is_exec_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

char *path_search(const char *name, const char *path_env)
{
	char *copy, *rest, *dir, *r = NULL;

	if (strchr(name, '/'))
		return is_exec_file(name) ? path_absolute(name) : NULL;
	copy = xstrdup(path_env ? path_env : "/usr/local/bin:/usr/bin:/bin");
	rest = copy;
	/* strsep, unlike strtok, keeps empty elements. */
	while (!r && (dir = strsep(&rest, ":"))) {
		char *p = path_join(*dir ? dir : ".", name);

		if (is_exec_file(p))
			r = p;
		else
			free(p);
	}
	free(copy);
	return r;
}

const char *path_scratch_dir(void)
{
	struct statfs fs;

	/* A file system in memory: creating and removing a directory, a socket and a 4 MiB
	 * ring on ext4 (inode allocation, page faults read through the page cache) was most of
	 * what `record --via preload` cost a short command. */
	if (statfs("/dev/shm", &fs) == 0 && fs.f_type == 0x01021994 /* TMPFS_MAGIC */ &&
	    access("/dev/shm", W_OK | X_OK) == 0)
		return "/dev/shm";
	return path_spill_dir();
}

const char *path_spill_dir(void)
{
	const char *t = getenv("TMPDIR");

	return t && t[0] == '/' ? t : "/tmp";
}

FILE *path_spill_file(const char *dir)
{
	char *tmpl;
	FILE *f;
	int fd, e;

	/* unnamed from the start where the file system can; else named for an instant */
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		tmpl = xasprintf("%s/magicpak-spill.XXXXXX", dir);
		fd = mkostemp(tmpl, O_CLOEXEC);
		e = errno;
		if (fd >= 0)
			unlink(tmpl);
		free(tmpl);
		if (fd < 0) {
			errno = e;
			return NULL;
		}
	}
	f = fdopen(fd, "w+");
	if (!f) {
		e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

/* The suffix of a directory whose magicpak holds it locked (flock) while it lives. */
#define SCRATCH_LOCKED ".locked"
/* What a directory is called from its mkdtemp() to its rename (path_scratch_mkdtemp): its
 * name for microseconds, or for its whole life where the rename cannot be made. */
#define SCRATCH_NEW "-new"
/* A "-new" one younger than this may be between its mkdtemp() and its flock(): left alone. */
#define SCRATCH_NEW_AGE_S 10

/* The leftovers path_scratch_mkdtemp() removes (path.h). */
static void path_scratch_sweep(const char *dir, const char *prefix,
			       int (*remove_tree)(const char *))
{
	size_t plen = strlen(prefix), slen = strlen(SCRATCH_LOCKED), nwlen = strlen(SCRATCH_NEW);
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		const char *p = de->d_name + plen;
		size_t nlen = strlen(de->d_name);
		char *end, *path;
		long pid;
		struct stat st;
		int lock;
		bool by_lock, fresh;

		if (strncmp(de->d_name, prefix, plen))
			continue;
		fresh = !strncmp(p, SCRATCH_NEW ".", nwlen + 1);
		if (fresh)
			p += nwlen;
		if (*p != '.')
			continue;
		pid = strtol(p + 1, &end, 10);
		if (end == p + 1 || *end != '.' || pid <= 0)
			continue;
		/* A locked one is judged by its lock alone: its PID may name a live process here
		 * and still be dead (a magicpak killed in a container, where it was PID 1), or seem
		 * gone and still live (in another pid namespace). Without the suffix (a file
		 * system without flock, an older magicpak), by the PID, in this pid namespace. A
		 * "-new" one (its magicpak killed before the rename, or one that could not rename
		 * it) by its lock where it has one, else by the PID, once it is old enough. */
		by_lock = nlen > slen && !strcmp(de->d_name + nlen - slen, SCRATCH_LOCKED);
		if (!by_lock && !fresh && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		lock = -1;
		if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
		    (fresh && time(NULL) - st.st_mtime < SCRATCH_NEW_AGE_S)) {
			/* not ours, or maybe not locked yet */
		} else if ((lock = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
			   (flock(lock, LOCK_EX | LOCK_NB) < 0 &&
			    (errno == EWOULDBLOCK || by_lock ||
			     (fresh && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))))) {
			/* its magicpak lives on (or, locked, a file system here cannot tell) */
		} else if (remove_tree) {
			remove_tree(path);
		} else {
			DIR *in = opendir(path);
			struct dirent *e;

			while (in && (e = readdir(in)))
				if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
					unlinkat(dirfd(in), e->d_name, 0);
			if (in)
				closedir(in);
			rmdir(path);
		}
		if (lock >= 0)
			close(lock);
		free(path);
	}
	closedir(d);
}

char *path_scratch_mkdtemp(const char *dir, const char *prefix,
			   int (*remove_tree)(const char *), int *lock)
{
	char *path, *made;
	int e;

	path_scratch_sweep(dir, prefix, remove_tree);
	/* Made under a name a sweep leaves alone while it is young ("PREFIX-new."), locked, then
	 * given its own: no sweep ever finds it unlocked. On a file system without flock,
	 * unlocked, under the name a sweep judges by the PID. */
	made = xasprintf("%s/%s" SCRATCH_NEW ".%d.XXXXXX", dir, prefix, (int)getpid());
	if (!mkdtemp(made)) {
		e = errno;
		free(made);
		errno = e;
		return NULL;
	}
	*lock = open(made, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*lock < 0) {
		e = errno;
		rmdir(made);
		free(made);
		errno = e;
		return NULL;
	}
	if (flock(*lock, LOCK_EX | LOCK_NB) < 0) {
		close(*lock);
		*lock = -1;
	}
	path = xasprintf("%s/%s.%d.%s%s", dir, prefix, (int)getpid(), strrchr(made, '.') + 1,
			 *lock >= 0 ? SCRATCH_LOCKED : "");
	/* a file system without RENAME_NOREPLACE keeps the first name, which a sweep judges by
	 * the lock, or without one by the PID */
	if (renameat2(AT_FDCWD, made, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
		free(path);
		return made;
	}
	free(made);
	return path;
}

int path_write_text(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		ret = -errno;
	close(fd);
	return ret;
}
