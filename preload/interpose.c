/* SPDX-License-Identifier: MIT */
/* preload/interpose.c - one wrapper per libc entry point that takes a path. Each calls the
 * real function (found once with dlsym(RTLD_NEXT)), keeps the errno it left, records the
 * access unless the library itself is running (emit_busy), puts errno back and returns the
 * real result. Built without _FILE_OFFSET_BITS=64, so open and open64 are separate symbols. */
#include <dirent.h>
#include <dlfcn.h>
#include <aliases.h>
#include <grp.h>
#include <gshadow.h>
#include <iconv.h>
#include <locale.h>
#include <netdb.h>
#include <netinet/ether.h>
#include <rpc/netdb.h>
#include <pwd.h>
#include <shadow.h>
#include <errno.h>
#include <elf.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <ftw.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <termios.h>
#include <time.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#include "emit.h"
#include "event.h"
#include "interp.h"
#include "mountsrc.h"
#include "preload.h"

/* Entry points the headers do not declare (fortify, the old stat ABI). */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
int __xstat(int ver, const char *path, struct stat *st);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags);
int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev);
int __xmknodat(int ver, int dirfd, const char *path, mode_t mode, dev_t *dev);
int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags);

#define REAL_LIST(X)                                                                       \
	X(open) X(open64) X(openat) X(openat64) X(__open_2) X(__open64_2) X(__openat_2)    \
	X(__openat64_2) X(creat) X(creat64) X(fopen) X(fopen64) X(freopen) X(freopen64)    \
	X(stat) X(stat64) X(lstat) X(lstat64) X(fstatat) X(fstatat64) X(statx) X(__xstat)  \
	X(__xstat64) X(__lxstat) X(__lxstat64) X(__fxstatat) X(__fxstatat64) X(access)     \
	X(faccessat) X(euidaccess) X(eaccess) X(readlink) X(readlinkat) X(opendir)         \
	X(fdopendir) X(execve) X(execveat) X(fexecve) X(posix_spawn) X(posix_spawnp)       \
	X(dlopen) X(dlmopen) X(chdir) X(fchdir) X(mkdir) X(mkdirat) X(unlink) X(unlinkat)  \
	X(rmdir) X(rename) X(renameat) X(renameat2) X(link) X(linkat) X(symlink)           \
	X(symlinkat) X(truncate) X(truncate64) X(chmod) X(fchmodat) X(chown) X(lchown)     \
	X(fchownat) X(utime) X(utimes) X(utimensat) X(futimesat) X(lutimes) X(mknod)       \
	X(mknodat) X(__xmknod) X(__xmknodat) X(syscall) X(_exit) X(_Exit) X(bind) X(connect)  \
	X(getxattr) X(lgetxattr) X(setxattr) X(lsetxattr) X(listxattr) X(llistxattr)        \
	X(removexattr) X(lremovexattr) X(inotify_add_watch) X(fanotify_mark) X(mount)        \
	X(umount2)

#define DECLARE_REAL(name) static __typeof__(name) *r_##name;
REAL_LIST(DECLARE_REAL)

static void *lookup(const char *name)
{
	void *p;

	/* dlsym may allocate, and an allocator may open files (jemalloc, PRE-04): the guard
	 * sends those calls straight through, unrecorded. */
	emit_busy++;
	p = dlsym(RTLD_NEXT, name);
	emit_busy--;
	return p;
}

/* What dlsym(RTLD_NEXT, @name) gives this library: the first definition in the objects loaded
 * after @self (its link map in the program's namespace), in load order, which for the objects
 * of a program's start is the order of the global scope the loader searches. Read from their
 * GNU hash tables: the ~95 dlsym() calls of preload_resolve() took every process 40 us
 * (uprobes), each finding the caller's object and walking the scope. dlsym() itself when @self
 * is NULL, for an object without a GNU hash table, for an IFUNC (which dlsym() runs), and for a
 * name no object after this one defines. */
static void *next_symbol(const struct link_map *self, const char *name, bool check)
{
	void *p = NULL;

	if (!self)
		return lookup(name);
	for (const struct link_map *l = self->l_next; l; l = l->l_next) {
		unsigned type;

		p = emit_elf_symbol(l->l_addr, l->l_ld, name, &type);
		if (type == EMIT_SYM_NO_TABLE || (p && type == STT_GNU_IFUNC))
			return lookup(name);
		if (p)
			break;
	}
	/* none after this copy (a library dlopen()ed rather than preloaded is last) */
	if (!p) {
		p = lookup(name);
		/* MAGICPAK_DEBUG: a definition the walk missed (t611) */
		if (check && p && self->l_next)
			emit_debug("RTLD_NEXT lookup missed what dlsym() finds for", name);
		return p;
	}
	/* MAGICPAK_DEBUG: say where this differs from dlsym() (t611) */
	if (check && p != lookup(name))
		emit_debug("RTLD_NEXT lookup differs from dlsym() for", name);
	return p;
}

void preload_resolve(const struct link_map *self)
{
	const char *dbg = getenv("MAGICPAK_DEBUG");
	bool check = dbg && *dbg;

#define RESOLVE(name) if (!r_##name) r_##name = (__typeof__(r_##name))next_symbol(self, #name, check);
	REAL_LIST(RESOLVE)
}

/* Make sure r_<name> is set; a wrapper called while dlsym itself runs (before anything is
 * resolved) falls back to the raw system call where there is one. */
#define REAL(name)                                                                         \
	do {                                                                               \
		if (__builtin_expect(!r_##name, 0) && !emit_busy)                          \
			r_##name = (__typeof__(r_##name))lookup(#name);                    \
	} while (0)

/* `real`, the function @name found on first use, for the wrappers few programs call (no
 * dlsym at every start); without it, return @fail with ENOSYS. */
#define LAZY_REAL(name, fail)                                                              \
	static __typeof__(name) *real;                                                     \
                                                                                           \
	if (!real && !emit_busy)                                                           \
		real = (__typeof__(real))lookup(#name);                                    \
	if (!real)                                                                         \
		NOSYS(fail)

static inline int recording(void)
{
	return preload_active && !emit_busy;
}

/* A call that failed with EFAULT named no path that could be read (reading it here would
 * crash the program where the kernel answered EFAULT). A NULL @path is @dirfd's own file
 * (futimens, fexecve). */
static inline void rec(int op, int dirfd, const char *path, uint32_t flags, int failed, int e)
{
	if (recording() && !(failed && e == EFAULT))
		emit_access(op, dirfd, path, flags, failed ? e : 0);
}

#define NOSYS(ret)                                                                         \
	do {                                                                               \
		errno = ENOSYS;                                                            \
		return ret;                                                                \
	} while (0)

/* ---- open ---- */

static mode_t open_mode(int flags, va_list ap)
{
	/* Only when the mode argument exists (RELIABILITY PRE-09): O_CREAT, or all of
	 * O_TMPFILE (which includes O_DIRECTORY). */
	return __OPEN_NEEDS_MODE(flags) ? (mode_t)va_arg(ap, int) : 0;
}

#define OPEN_WRAPPER(name)                                                                 \
	EXPORT int name(const char *path, int flags, ...)                                  \
	{                                                                                  \
		va_list ap;                                                                \
		mode_t mode;                                                               \
		int ret, e;                                                                \
                                                                                           \
		va_start(ap, flags);                                                       \
		mode = open_mode(flags, ap);                                               \
		va_end(ap);                                                                \
		REAL(name);                                                                \
		if (!r_##name)                                                             \
			return (int)RAW(SYS_openat, AT_FDCWD, path, flags, mode);      \
		ret = r_##name(path, flags, mode);                                         \
		e = errno;                                                                 \
		rec(MP_OP_OPEN, AT_FDCWD, path, (uint32_t)flags, ret < 0, e);              \
		errno = e;                                                                 \
		return ret;                                                                \
	}
OPEN_WRAPPER(open)
OPEN_WRAPPER(open64)

#define OPENAT_WRAPPER(name)                                                               \
	EXPORT int name(int dirfd, const char *path, int flags, ...)                       \
	{                                                                                  \
		va_list ap;                                                                \
		mode_t mode;                                                               \
		int ret, e;                                                                \
                                                                                           \
		va_start(ap, flags);                                                       \
		mode = open_mode(flags, ap);                                               \
		va_end(ap);                                                                \
		REAL(name);                                                                \
		if (!r_##name)                                                             \
			return (int)RAW(SYS_openat, dirfd, path, flags, mode);         \
		ret = r_##name(dirfd, path, flags, mode);                                  \
		e = errno;                                                                 \
		rec(MP_OP_OPEN, dirfd, path, (uint32_t)flags, ret < 0, e);                 \
		errno = e;                                                                 \
		return ret;                                                                \
	}
OPENAT_WRAPPER(openat)
OPENAT_WRAPPER(openat64)

/* _FORTIFY_SOURCE: open(path, flags) without a mode compiles to __open_2. */
#define OPEN2_WRAPPER(name)                                                                \
	EXPORT int name(const char *path, int flags)                                       \
	{                                                                                  \
		int ret, e;                                                                \
                                                                                           \
		REAL(name);                                                                \
		if (!r_##name)                                                             \
			return (int)RAW(SYS_openat, AT_FDCWD, path, flags, 0);         \
		ret = r_##name(path, flags);                                               \
		e = errno;                                                                 \
		rec(MP_OP_OPEN, AT_FDCWD, path, (uint32_t)flags, ret < 0, e);              \
		errno = e;                                                                 \
		return ret;                                                                \
	}
OPEN2_WRAPPER(__open_2)
OPEN2_WRAPPER(__open64_2)

#define OPENAT2_WRAPPER(name)                                                              \
	EXPORT int name(int dirfd, const char *path, int flags)                            \
	{                                                                                  \
		int ret, e;                                                                \
                                                                                           \
		REAL(name);                                                                \
		if (!r_##name)                                                             \
			return (int)RAW(SYS_openat, dirfd, path, flags, 0);            \
		ret = r_##name(dirfd, path, flags);                                        \
		e = errno;                                                                 \
		rec(MP_OP_OPEN, dirfd, path, (uint32_t)flags, ret < 0, e);                 \
		errno = e;                                                                 \
		return ret;                                                                \
	}
OPENAT2_WRAPPER(__openat_2)
OPENAT2_WRAPPER(__openat64_2)

#define CREAT_WRAPPER(name)                                                                \
	EXPORT int name(const char *path, mode_t mode)                                     \
	{                                                                                  \
		int ret, e;                                                                \
                                                                                           \
		REAL(name);                                                                \
		if (!r_##name)                                                             \
			NOSYS(-1);                                                         \
		ret = r_##name(path, mode);                                                \
		e = errno;                                                                 \
		rec(MP_OP_OPEN, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, ret < 0, e); \
		errno = e;                                                                 \
		return ret;                                                                \
	}
CREAT_WRAPPER(creat)
CREAT_WRAPPER(creat64)

/* The open flags fopen(3) passes for @mode (glibc libio/fileops.c). */
static uint32_t fopen_flags(const char *mode)
{
	uint32_t f = 0, acc = O_RDONLY;

	if (!mode)
		return 0;
	switch (mode[0]) {
	case 'w': acc = O_WRONLY; f = O_CREAT | O_TRUNC; break;
	case 'a': acc = O_WRONLY; f = O_CREAT | O_APPEND; break;
	default: break;
	}
	for (const char *m = mode + 1; *m && *m != ','; m++) {
		if (*m == '+')
			acc = O_RDWR;
		else if (*m == 'e')
			f |= O_CLOEXEC;
		else if (*m == 'x')
			f |= O_EXCL;
	}
	return f | acc;
}

#define FOPEN_WRAPPER(name)                                                                \
	EXPORT FILE *name(const char *path, const char *mode)                              \
	{                                                                                  \
		FILE *ret;                                                                 \
		int e;                                                                     \
                                                                                           \
		REAL(name);                                                                \
		if (!r_##name)                                                             \
			NOSYS(NULL);                                                       \
		ret = r_##name(path, mode);                                                \
		e = errno;                                                                 \
		rec(MP_OP_OPEN, AT_FDCWD, path, fopen_flags(mode), !ret, e);               \
		errno = e;                                                                 \
		return ret;                                                                \
	}
FOPEN_WRAPPER(fopen)
FOPEN_WRAPPER(fopen64)

#define FREOPEN_WRAPPER(name)                                                              \
	EXPORT FILE *name(const char *path, const char *mode, FILE *stream)                \
	{                                                                                  \
		FILE *ret;                                                                 \
		int e;                                                                     \
                                                                                           \
		REAL(name);                                                                \
		if (!r_##name)                                                             \
			NOSYS(NULL);                                                       \
		ret = r_##name(path, mode, stream);                                        \
		e = errno;                                                                 \
		/* a NULL path reopens the same file with a new mode: no new path */       \
		if (path)                                                                  \
			rec(MP_OP_OPEN, AT_FDCWD, path, fopen_flags(mode), !ret, e);       \
		errno = e;                                                                 \
		return ret;                                                                \
	}
FREOPEN_WRAPPER(freopen)
FREOPEN_WRAPPER(freopen64)

/* ---- stat ---- */

#define STAT_WRAPPER(name, st_type, nofollow)                                              \
	EXPORT int name(const char *path, st_type *st)                                     \
	{                                                                                  \
		int ret, e;                                                                \
                                                                                           \
		REAL(name);                                                                \
		if (!r_##name)                                                             \
			return (int)RAW(SYS_newfstatat, AT_FDCWD, path, st, nofollow); \
		ret = r_##name(path, st);                                                  \
		e = errno;                                                                 \
		rec(MP_OP_STAT, AT_FDCWD, path, nofollow, ret < 0, e);                     \
		errno = e;                                                                 \
		return ret;                                                                \
	}
STAT_WRAPPER(stat, struct stat, 0)
STAT_WRAPPER(stat64, struct stat64, 0)
STAT_WRAPPER(lstat, struct stat, AT_SYMLINK_NOFOLLOW)
STAT_WRAPPER(lstat64, struct stat64, AT_SYMLINK_NOFOLLOW)

/* fstat()-like calls (AT_EMPTY_PATH with ""): not a path lookup, as in the tracer. */
static inline int is_fd_stat(const char *path, int flags)
{
	return (flags & AT_EMPTY_PATH) && path && !path[0];
}

#define FSTATAT_WRAPPER(name, st_type)                                                     \
	EXPORT int name(int dirfd, const char *path, st_type *st, int flags)               \
	{                                                                                  \
		int ret, e;                                                                \
                                                                                           \
		REAL(name);                                                                \
		if (!r_##name)                                                             \
			return (int)RAW(SYS_newfstatat, dirfd, path, st, flags);       \
		ret = r_##name(dirfd, path, st, flags);                                    \
		e = errno;                                                                 \
		if (!is_fd_stat(path, flags))                                              \
			rec(MP_OP_STAT, dirfd, path, (uint32_t)flags & AT_SYMLINK_NOFOLLOW, \
			    ret < 0, e);                                                   \
		errno = e;                                                                 \
		return ret;                                                                \
	}
FSTATAT_WRAPPER(fstatat, struct stat)
FSTATAT_WRAPPER(fstatat64, struct stat64)

EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *stx)
{
	int ret, e;

	REAL(statx);
	if (!r_statx)
		return (int)RAW5(SYS_statx, dirfd, path, flags, mask, stx);
	ret = r_statx(dirfd, path, flags, mask, stx);
	e = errno;
	if (!is_fd_stat(path, flags))
		rec(MP_OP_STAT, dirfd, path, (uint32_t)flags & AT_SYMLINK_NOFOLLOW, ret < 0, e);
	errno = e;
	return ret;
}

/* The pre-2.33 stat ABI, still exported by glibc 2.36 for old binaries. */
#define XSTAT_WRAPPER(name, st_type, nofollow)                                             \
	EXPORT int name(int ver, const char *path, st_type *st)                            \
	{                                                                                  \
		int ret, e;                                                                \
                                                                                           \
		REAL(name);                                                                \
		if (!r_##name)                                                             \
			NOSYS(-1);                                                         \
		ret = r_##name(ver, path, st);                                             \
		e = errno;                                                                 \
		rec(MP_OP_STAT, AT_FDCWD, path, nofollow, ret < 0, e);                     \
		errno = e;                                                                 \
		return ret;                                                                \
	}
XSTAT_WRAPPER(__xstat, struct stat, 0)
XSTAT_WRAPPER(__xstat64, struct stat64, 0)
XSTAT_WRAPPER(__lxstat, struct stat, AT_SYMLINK_NOFOLLOW)
XSTAT_WRAPPER(__lxstat64, struct stat64, AT_SYMLINK_NOFOLLOW)

#define FXSTATAT_WRAPPER(name, st_type)                                                    \
	EXPORT int name(int ver, int dirfd, const char *path, st_type *st, int flags)      \
	{                                                                                  \
		int ret, e;                                                                \
                                                                                           \
		REAL(name);                                                                \
		if (!r_##name)                                                             \
			NOSYS(-1);                                                         \
		ret = r_##name(ver, dirfd, path, st, flags);                               \
		e = errno;                                                                 \
		if (!is_fd_stat(path, flags))                                              \
			rec(MP_OP_STAT, dirfd, path, (uint32_t)flags & AT_SYMLINK_NOFOLLOW, \
			    ret < 0, e);                                                   \
		errno = e;                                                                 \
		return ret;                                                                \
	}
FXSTATAT_WRAPPER(__fxstatat, struct stat)
FXSTATAT_WRAPPER(__fxstatat64, struct stat64)

/* ---- access, readlink ---- */

EXPORT int access(const char *path, int mode)
{
	int ret, e;

	REAL(access);
	if (!r_access)
		return (int)RAW(SYS_faccessat, AT_FDCWD, path, mode, 0);
	ret = r_access(path, mode);
	e = errno;
	rec(MP_OP_ACCESS, AT_FDCWD, path, (uint32_t)mode, ret < 0, e);
	errno = e;
	return ret;
}

EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	int ret, e;

	REAL(faccessat);
	if (!r_faccessat)
		NOSYS(-1);
	ret = r_faccessat(dirfd, path, mode, flags);
	e = errno;
	rec(MP_OP_ACCESS, dirfd, path, (uint32_t)mode, ret < 0, e);
	errno = e;
	return ret;
}

#define EUIDACCESS_WRAPPER(name)                                                           \
	EXPORT int name(const char *path, int mode)                                        \
	{                                                                                  \
		int ret, e;                                                                \
                                                                                           \
		REAL(name);                                                                \
		if (!r_##name)                                                             \
			NOSYS(-1);                                                         \
		ret = r_##name(path, mode);                                                \
		e = errno;                                                                 \
		rec(MP_OP_ACCESS, AT_FDCWD, path, (uint32_t)mode, ret < 0, e);             \
		errno = e;                                                                 \
		return ret;                                                                \
	}
EUIDACCESS_WRAPPER(euidaccess)
EUIDACCESS_WRAPPER(eaccess)

EXPORT ssize_t readlink(const char *path, char *buf, size_t size)
{
	ssize_t ret;
	int e;

	REAL(readlink);
	if (!r_readlink)
		return RAW(SYS_readlinkat, AT_FDCWD, path, buf, size);
	ret = r_readlink(path, buf, size);
	e = errno;
	rec(MP_OP_READLINK, AT_FDCWD, path, 0, ret < 0, e);
	errno = e;
	return ret;
}

EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	ssize_t ret;
	int e;

	REAL(readlinkat);
	if (!r_readlinkat)
		return RAW(SYS_readlinkat, dirfd, path, buf, size);
	ret = r_readlinkat(dirfd, path, buf, size);
	e = errno;
	rec(MP_OP_READLINK, dirfd, path, 0, ret < 0, e);
	errno = e;
	return ret;
}

/* ---- directories ---- */

EXPORT DIR *opendir(const char *path)
{
	DIR *ret;
	int e;

	REAL(opendir);
	if (!r_opendir)
		NOSYS(NULL);
	ret = r_opendir(path);
	e = errno;
	/* glibc opens with these flags; a stream opened is a stream read (getdents) */
	rec(MP_OP_OPEN, AT_FDCWD, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_DIRECTORY, !ret, e);
	if (ret)
		rec(MP_OP_READDIR, AT_FDCWD, path, 0, 0, 0);
	errno = e;
	return ret;
}

EXPORT DIR *fdopendir(int fd)
{
	DIR *ret;
	int e;

	REAL(fdopendir);
	if (!r_fdopendir)
		NOSYS(NULL);
	ret = r_fdopendir(fd);
	e = errno;
	if (ret && recording())
		emit_access_fd(MP_OP_READDIR, fd, 0, 0);
	errno = e;
	return ret;
}

/* scandir() and nftw() open and stat through glibc's internal calls, past the wrappers above:
 * what they did is reported from their arguments and results. */

/* A directory listed by scandir(): opened as opendir() opens it, and read. */
static void scandir_note(int dirfd, const char *path, int ret, int e)
{
	rec(MP_OP_OPEN, dirfd, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_DIRECTORY, ret < 0, e);
	if (ret >= 0)
		rec(MP_OP_READDIR, dirfd, path, 0, 0, 0);
}

#define SCANDIR_WRAPPER(name, atname, dirent_t)                                            \
	EXPORT int name(const char *path, struct dirent_t ***list,                         \
			int (*filter)(const struct dirent_t *),                             \
			int (*compar)(const struct dirent_t **, const struct dirent_t **))  \
	{                                                                                  \
		int ret, e;                                                                \
		LAZY_REAL(name, -1);                                                       \
		ret = real(path, list, filter, compar);                                    \
		e = errno;                                                                 \
		scandir_note(AT_FDCWD, path, ret, e);                                      \
		errno = e;                                                                 \
		return ret;                                                                \
	}                                                                                  \
	EXPORT int atname(int dirfd, const char *path, struct dirent_t ***list,            \
			    int (*filter)(const struct dirent_t *),                         \
			    int (*compar)(const struct dirent_t **, const struct dirent_t **)) \
	{                                                                                  \
		int ret, e;                                                                \
		LAZY_REAL(atname, -1);                                                     \
		ret = real(dirfd, path, list, filter, compar);                             \
		e = errno;                                                                 \
		scandir_note(dirfd, path, ret, e);                                         \
		errno = e;                                                                 \
		return ret;                                                                \
	}

SCANDIR_WRAPPER(scandir, scandirat, dirent)
SCANDIR_WRAPPER(scandir64, scandirat64, dirent64)

/* A walk by nftw() or ftw(): the caller's callback and flags, and its root as given and made
 * absolute at the call, for the paths handed to the callback are the root's plus a suffix
 * even after FTW_CHDIR (or the callback) changed the cwd. On the wrapper's stack; the one in
 * progress on this thread in walk_cur (a walk started from a callback puts the outer one
 * back; a callback that leaves by longjmp() leaves it set, and the next walk replaces it). */
struct walk {
	void *fn;
	int flags;
	int steps;
	const char *root;
	size_t rootlen;
	int abslen; /* <= 0: the root could not be made absolute */
	char abs[PATH_MAX];
};
static __thread struct walk *walk_cur __attribute__((tls_model("initial-exec")));

/* What the walk did for the entry it hands the callback (glibc's io/ftw.c): a stat, or with
 * FTW_PHYS an lstat (FTW_NS: it failed, with EACCES or ENOENT; FTW_SLN: a symlink whose stat
 * failed and whose lstat did); a directory it descends into opened and read (FTW_DNR: the
 * open refused). */
static void walk_note(const char *path, int type)
{
	struct walk *w = walk_cur;
	char full[PATH_MAX];
	int e = errno, nofollow = (w->flags & FTW_PHYS) ? AT_SYMLINK_NOFOLLOW : 0;

	w->steps++;
	if (w->abslen > 0 && path[0] != '/' && !strncmp(path, w->root, w->rootlen)) {
		const char *rest = path + w->rootlen;
		size_t k = (size_t)w->abslen, rl = strlen(rest);

		if (k + rl + 2 > sizeof(full))
			goto out;
		memcpy(full, w->abs, k);
		if (*rest && *rest != '/')
			full[k++] = '/';
		memcpy(full + k, rest, rl + 1);
		path = full;
	}
	if (type == FTW_SLN) {
		rec(MP_OP_STAT, AT_FDCWD, path, 0, 1, ENOENT);
		rec(MP_OP_STAT, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, 0, 0);
	} else {
		rec(MP_OP_STAT, AT_FDCWD, path, (uint32_t)nofollow, type == FTW_NS,
		    e == ENOENT ? ENOENT : EACCES);
	}
	if (type == FTW_D || type == FTW_DP || type == FTW_DNR) {
		rec(MP_OP_OPEN, AT_FDCWD, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_DIRECTORY,
		    type == FTW_DNR, EACCES);
		if (type != FTW_DNR)
			rec(MP_OP_READDIR, AT_FDCWD, path, 0, 0, 0);
	}
out:
	errno = e;
}

/* A stat's error: the root's, when the walk failed before its first step (glibc calls no
 * callback when the root cannot be stat'ed). */
static int stat_errno(int e)
{
	return e == ENOENT || e == EACCES || e == ENOTDIR || e == ELOOP || e == ENAMETOOLONG ||
	       e == EOVERFLOW;
}

#define WALK_WRAPPER(name, ftw_params, ftw_args, params, args, nflags, ...)                \
	static int name##_step ftw_params                                                  \
	{                                                                                  \
		void *fn = walk_cur->fn;                                                   \
                                                                                           \
		walk_note(path, type);                                                     \
		return ((int(*) ftw_params)fn) ftw_args;                                    \
	}                                                                                  \
	EXPORT int name params                                                             \
	{                                                                                  \
		struct walk w, *outer = walk_cur;                                          \
		int ret, e;                                                                \
		LAZY_REAL(name, -1);                                                       \
		if (!recording() || !path)                                                 \
			return real args;                                                  \
		w.fn = (void *)fn;                                                         \
		w.flags = (nflags);                                                        \
		w.steps = 0;                                                               \
		w.root = path;                                                             \
		w.rootlen = strlen(path);                                                  \
		w.abslen = path[0] == '/' ? 0                                              \
					  : emit_resolve(AT_FDCWD, path, w.abs, sizeof(w.abs));    \
		walk_cur = &w;                                                             \
		ret = real(path, name##_step, n, ##__VA_ARGS__);                           \
		e = errno;                                                                 \
		walk_cur = outer;                                                          \
		if (ret < 0 && !w.steps && stat_errno(e))                                  \
			rec(MP_OP_STAT, AT_FDCWD, path,                                    \
			    (w.flags & FTW_PHYS) ? AT_SYMLINK_NOFOLLOW : 0, 1, e);         \
		errno = e;                                                                 \
		return ret;                                                                \
	}

WALK_WRAPPER(nftw,
	     (const char *path, const struct stat *st, int type, struct FTW *f),
	     (path, st, type, f),
	     (const char *path, int (*fn)(const char *, const struct stat *, int, struct FTW *),
	      int n, int flags),
	     (path, fn, n, flags), flags, flags)
WALK_WRAPPER(nftw64,
	     (const char *path, const struct stat64 *st, int type, struct FTW *f),
	     (path, st, type, f),
	     (const char *path, int (*fn)(const char *, const struct stat64 *, int, struct FTW *),
	      int n, int flags),
	     (path, fn, n, flags), flags, flags)
WALK_WRAPPER(ftw, (const char *path, const struct stat *st, int type), (path, st, type),
	     (const char *path, int (*fn)(const char *, const struct stat *, int), int n),
	     (path, fn, n), 0)
WALK_WRAPPER(ftw64, (const char *path, const struct stat64 *st, int type),
	     (path, st, type),
	     (const char *path, int (*fn)(const char *, const struct stat64 *, int), int n),
	     (path, fn, n), 0)

EXPORT int chdir(const char *path)
{
	char abs[PATH_MAX];
	int ret, e, n = -1;

	REAL(chdir);
	if (!r_chdir)
		NOSYS(-1);
	/* a relative path names a place under the old cwd: resolve it before the change */
	if (recording())
		n = emit_resolve(AT_FDCWD, path, abs, sizeof(abs));
	ret = r_chdir(path);
	e = errno;
	if (n >= 0)
		rec(MP_OP_CHDIR, AT_FDCWD, abs, 0, ret < 0, e);
	errno = e;
	return ret;
}

EXPORT int fchdir(int fd)
{
	int ret, e;

	REAL(fchdir);
	if (!r_fchdir)
		NOSYS(-1);
	ret = r_fchdir(fd);
	e = errno;
	if (recording())
		emit_access_fd(MP_OP_CHDIR, fd, 0, ret < 0 ? e : 0);
	errno = e;
	return ret;
}

/* ---- changes ---- */

#define PATH_MODE_WRAPPER(name, op, mtype)                                                 \
	EXPORT int name(const char *path, mtype mode)                                      \
	{                                                                                  \
		int ret, e;                                                                \
                                                                                           \
		REAL(name);                                                                \
		if (!r_##name)                                                             \
			NOSYS(-1);                                                         \
		ret = r_##name(path, mode);                                                \
		e = errno;                                                                 \
		rec(op, AT_FDCWD, path, 0, ret < 0, e);                                    \
		errno = e;                                                                 \
		return ret;                                                                \
	}
PATH_MODE_WRAPPER(mkdir, MP_OP_MKDIR, mode_t)
PATH_MODE_WRAPPER(chmod, MP_OP_CHMOD, mode_t)
PATH_MODE_WRAPPER(truncate, MP_OP_TRUNCATE, off_t)
PATH_MODE_WRAPPER(truncate64, MP_OP_TRUNCATE, off64_t)

EXPORT int mkdirat(int dirfd, const char *path, mode_t mode)
{
	int ret, e;

	REAL(mkdirat);
	if (!r_mkdirat)
		NOSYS(-1);
	ret = r_mkdirat(dirfd, path, mode);
	e = errno;
	rec(MP_OP_MKDIR, dirfd, path, 0, ret < 0, e);
	errno = e;
	return ret;
}

EXPORT int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	int ret, e;

	REAL(fchmodat);
	if (!r_fchmodat)
		NOSYS(-1);
	ret = r_fchmodat(dirfd, path, mode, flags);
	e = errno;
	rec(MP_OP_CHMOD, dirfd, path, 0, ret < 0, e);
	errno = e;
	return ret;
}

#define PATH_ONLY_WRAPPER(name, op, flags)                                                 \
	EXPORT int name(const char *path)                                                  \
	{                                                                                  \
		int ret, e;                                                                \
                                                                                           \
		REAL(name);                                                                \
		if (!r_##name)                                                             \
			NOSYS(-1);                                                         \
		ret = r_##name(path);                                                      \
		e = errno;                                                                 \
		rec(op, AT_FDCWD, path, flags, ret < 0, e);                                \
		errno = e;                                                                 \
		return ret;                                                                \
	}
PATH_ONLY_WRAPPER(unlink, MP_OP_UNLINK, 0)
PATH_ONLY_WRAPPER(rmdir, MP_OP_UNLINK, AT_REMOVEDIR)

EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
	int ret, e;

	REAL(unlinkat);
	if (!r_unlinkat)
		NOSYS(-1);
	ret = r_unlinkat(dirfd, path, flags);
	e = errno;
	rec(MP_OP_UNLINK, dirfd, path, (uint32_t)flags & AT_REMOVEDIR, ret < 0, e);
	errno = e;
	return ret;
}

static void rec2(int op1, int d1, const char *p1, int op2, int d2, const char *p2, int failed,
		 int e)
{
	rec(op1, d1, p1, 0, failed, e);
	rec(op2, d2, p2, 0, failed, e);
}

EXPORT int rename(const char *from, const char *to)
{
	int ret, e;

	REAL(rename);
	if (!r_rename)
		NOSYS(-1);
	ret = r_rename(from, to);
	e = errno;
	rec2(MP_OP_RENAME_FROM, AT_FDCWD, from, MP_OP_RENAME_TO, AT_FDCWD, to, ret < 0, e);
	errno = e;
	return ret;
}

EXPORT int renameat(int fd1, const char *from, int fd2, const char *to)
{
	int ret, e;

	REAL(renameat);
	if (!r_renameat)
		NOSYS(-1);
	ret = r_renameat(fd1, from, fd2, to);
	e = errno;
	rec2(MP_OP_RENAME_FROM, fd1, from, MP_OP_RENAME_TO, fd2, to, ret < 0, e);
	errno = e;
	return ret;
}

EXPORT int renameat2(int fd1, const char *from, int fd2, const char *to, unsigned int flags)
{
	int ret, e;

	REAL(renameat2);
	if (!r_renameat2)
		NOSYS(-1);
	ret = r_renameat2(fd1, from, fd2, to, flags);
	e = errno;
	rec2(MP_OP_RENAME_FROM, fd1, from, MP_OP_RENAME_TO, fd2, to, ret < 0, e);
	errno = e;
	return ret;
}

EXPORT int link(const char *from, const char *to)
{
	int ret, e;

	REAL(link);
	if (!r_link)
		NOSYS(-1);
	ret = r_link(from, to);
	e = errno;
	rec2(MP_OP_LINK_FROM, AT_FDCWD, from, MP_OP_LINK_TO, AT_FDCWD, to, ret < 0, e);
	errno = e;
	return ret;
}

EXPORT int linkat(int fd1, const char *from, int fd2, const char *to, int flags)
{
	int ret, e;

	REAL(linkat);
	if (!r_linkat)
		NOSYS(-1);
	ret = r_linkat(fd1, from, fd2, to, flags);
	e = errno;
	rec2(MP_OP_LINK_FROM, fd1, from, MP_OP_LINK_TO, fd2, to, ret < 0, e);
	errno = e;
	return ret;
}

EXPORT int symlink(const char *target, const char *path)
{
	int ret, e;

	REAL(symlink);
	if (!r_symlink)
		NOSYS(-1);
	ret = r_symlink(target, path);
	e = errno;
	rec(MP_OP_SYMLINK, AT_FDCWD, path, 0, ret < 0, e);
	errno = e;
	return ret;
}

EXPORT int symlinkat(const char *target, int dirfd, const char *path)
{
	int ret, e;

	REAL(symlinkat);
	if (!r_symlinkat)
		NOSYS(-1);
	ret = r_symlinkat(target, dirfd, path);
	e = errno;
	rec(MP_OP_SYMLINK, dirfd, path, 0, ret < 0, e);
	errno = e;
	return ret;
}

#define CHOWN_WRAPPER(name)                                                                \
	EXPORT int name(const char *path, uid_t uid, gid_t gid)                            \
	{                                                                                  \
		int ret, e;                                                                \
                                                                                           \
		REAL(name);                                                                \
		if (!r_##name)                                                             \
			NOSYS(-1);                                                         \
		ret = r_##name(path, uid, gid);                                            \
		e = errno;                                                                 \
		rec(MP_OP_CHOWN, AT_FDCWD, path, 0, ret < 0, e);                           \
		errno = e;                                                                 \
		return ret;                                                                \
	}
CHOWN_WRAPPER(chown)
CHOWN_WRAPPER(lchown)

EXPORT int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	int ret, e;

	REAL(fchownat);
	if (!r_fchownat)
		NOSYS(-1);
	ret = r_fchownat(dirfd, path, uid, gid, flags);
	e = errno;
	rec(MP_OP_CHOWN, dirfd, path, 0, ret < 0, e);
	errno = e;
	return ret;
}

EXPORT int utime(const char *path, const struct utimbuf *t)
{
	int ret, e;

	REAL(utime);
	if (!r_utime)
		NOSYS(-1);
	ret = r_utime(path, t);
	e = errno;
	rec(MP_OP_UTIME, AT_FDCWD, path, 0, ret < 0, e);
	errno = e;
	return ret;
}

#define UTIMES_WRAPPER(name)                                                               \
	EXPORT int name(const char *path, const struct timeval tv[2])                      \
	{                                                                                  \
		int ret, e;                                                                \
                                                                                           \
		REAL(name);                                                                \
		if (!r_##name)                                                             \
			NOSYS(-1);                                                         \
		ret = r_##name(path, tv);                                                  \
		e = errno;                                                                 \
		rec(MP_OP_UTIME, AT_FDCWD, path, 0, ret < 0, e);                           \
		errno = e;                                                                 \
		return ret;                                                                \
	}
UTIMES_WRAPPER(utimes)
UTIMES_WRAPPER(lutimes)

EXPORT int utimensat(int dirfd, const char *path, const struct timespec ts[2], int flags)
{
	int ret, e;

	REAL(utimensat);
	if (!r_utimensat)
		NOSYS(-1);
	ret = r_utimensat(dirfd, path, ts, flags);
	e = errno;
	/* a NULL path is futimens(dirfd): the file itself */
	rec(MP_OP_UTIME, dirfd, path, 0, ret < 0, e);
	errno = e;
	return ret;
}

EXPORT int futimesat(int dirfd, const char *path, const struct timeval tv[2])
{
	int ret, e;

	REAL(futimesat);
	if (!r_futimesat)
		NOSYS(-1);
	ret = r_futimesat(dirfd, path, tv);
	e = errno;
	rec(MP_OP_UTIME, dirfd, path, 0, ret < 0, e);
	errno = e;
	return ret;
}

EXPORT int mknod(const char *path, mode_t mode, dev_t dev)
{
	int ret, e;

	REAL(mknod);
	if (!r_mknod)
		NOSYS(-1);
	ret = r_mknod(path, mode, dev);
	e = errno;
	rec(MP_OP_MKNOD, AT_FDCWD, path, 0, ret < 0, e);
	errno = e;
	return ret;
}

EXPORT int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	int ret, e;

	REAL(mknodat);
	if (!r_mknodat)
		NOSYS(-1);
	ret = r_mknodat(dirfd, path, mode, dev);
	e = errno;
	rec(MP_OP_MKNOD, dirfd, path, 0, ret < 0, e);
	errno = e;
	return ret;
}

EXPORT int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev)
{
	int ret, e;

	REAL(__xmknod);
	if (!r___xmknod)
		NOSYS(-1);
	ret = r___xmknod(ver, path, mode, dev);
	e = errno;
	rec(MP_OP_MKNOD, AT_FDCWD, path, 0, ret < 0, e);
	errno = e;
	return ret;
}

EXPORT int __xmknodat(int ver, int dirfd, const char *path, mode_t mode, dev_t *dev)
{
	int ret, e;

	REAL(__xmknodat);
	if (!r___xmknodat)
		NOSYS(-1);
	ret = r___xmknodat(ver, dirfd, path, mode, dev);
	e = errno;
	rec(MP_OP_MKNOD, dirfd, path, 0, ret < 0, e);
	errno = e;
	return ret;
}

/* ---- exec ---- */

extern char **environ;

/* Would the new program still load this library and find the socket? */
static int env_keeps_us(char *const envp[])
{
	int pre = 0, sock = 0;

	if (!envp)
		return 0;
	for (char *const *e = envp; *e; e++) {
		if (!strncmp(*e, "LD_PRELOAD=", 11))
			pre = preload_self[0] && strstr(*e + 11, preload_self) != NULL;
		else if (!strncmp(*e, "MAGICPAK_SOCKET=", 16))
			sock = (*e)[16] != '\0';
	}
	return pre && sock;
}

/* Is @path the dynamic loader this process runs under (interp.h)? Raw system calls: this may
 * run in a vfork child. */
static int is_own_loader(const char *path)
{
	const char *ld = interp_own();
	struct stat a, b;
	int e = errno, same;

	same = ld && RAW(SYS_newfstatat, AT_FDCWD, ld, &a, 0) == 0 &&
	       RAW(SYS_newfstatat, AT_FDCWD, path, &b, 0) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
	errno = e;
	return same;
}

/* Before an exec of @dirfd/@path: say so when the new program will run unseen. Only
 * syscalls and a send: this may run in a vfork child, which shares our memory. */
static int exec_check_in(int dirfd, const char *path, char *const envp[], size_t size)
{
	char abs[size];
	uint32_t gap;
	int n = emit_resolve(dirfd, path, abs, size);

	if (n < 0)
		return n;
	gap = emit_exec_gap(abs);
	if (gap == MP_GAP_STATIC && is_own_loader(abs))
		gap = 0;
	if (!gap && !env_keeps_us(envp) && !emit_stat_err(abs))
		gap = MP_GAP_ENV;
	/* an exec that will fail (no such file) runs nothing unseen */
	if (!gap && (gap = emit_reach_gap(preload_self)) && emit_stat_err(abs))
		gap = 0;
	if (gap)
		emit_gap(abs, gap);
	return 0;
}

static void exec_check(int dirfd, const char *path, char *const envp[])
{
	if (recording() && exec_check_in(dirfd, path, envp, PATH_SMALL) == EMIT_SHORT)
		exec_check_in(dirfd, path, envp, PATH_MAX);
}

static int do_execve(const char *path, char *const argv[], char *const envp[])
{
	int ret, e;

	REAL(execve);
	if (!r_execve)
		NOSYS(-1);
	exec_check(AT_FDCWD, path, envp);
	ret = r_execve(path, argv, envp);
	/* only a failed exec returns; a successful one is reported by the new image */
	e = errno;
	rec(MP_OP_EXEC, AT_FDCWD, path, 0, 1, e);
	errno = e;
	return ret;
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	return do_execve(path, argv, envp);
}

EXPORT int execv(const char *path, char *const argv[])
{
	return do_execve(path, argv, environ);
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		    int flags)
{
	int ret, e;

	REAL(execveat);
	if (!r_execveat)
		NOSYS(-1);
	exec_check(dirfd, path, envp);
	ret = r_execveat(dirfd, path, argv, envp, flags);
	e = errno;
	rec(MP_OP_EXEC, dirfd, (flags & AT_EMPTY_PATH) && path && !*path ? NULL : path, 0, 1, e);
	errno = e;
	return ret;
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	int ret, e;

	REAL(fexecve);
	if (!r_fexecve)
		NOSYS(-1);
	exec_check(fd, NULL, envp);
	ret = r_fexecve(fd, argv, envp);
	e = errno;
	rec(MP_OP_EXEC, fd, NULL, 0, 1, e);
	errno = e;
	return ret;
}

/* execvp(3) done here, through do_execve, so that every place tried along PATH is seen the
 * way the tracer sees it (glibc's own search calls its internal __execve). Same rules as
 * glibc 2.36 posix/execvpe.c: ENOEXEC runs the file with /bin/sh; EACCES is remembered and
 * the search goes on; ENOENT, ESTALE, ENOTDIR, ENODEV, ETIMEDOUT go on; anything else
 * stops. */
static void exec_script(const char *file, char *const argv[], char *const envp[])
{
	size_t argc = 0;

	while (argv[argc])
		argc++;
	{
		char *nargv[argc + 3];

		nargv[0] = (char *)"/bin/sh";
		nargv[1] = (char *)file;
		for (size_t i = 1; i <= argc; i++)
			nargv[i + 1] = argv[i];
		nargv[argc + 2] = NULL;
		do_execve("/bin/sh", nargv, envp);
	}
}

static int do_execvpe(const char *file, char *const argv[], char *const envp[])
{
	const char *path, *p, *end;
	int got_eacces = 0;
	size_t flen;

	if (!file || !*file) {
		errno = ENOENT;
		return -1;
	}
	if (strchr(file, '/')) {
		do_execve(file, argv, envp);
		if (errno == ENOEXEC) {
			int e = errno;

			exec_script(file, argv, envp);
			errno = e;
		}
		return -1;
	}
	flen = strlen(file);
	if (flen >= NAME_MAX + 1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	for (p = path;; p = end + 1) {
		char buf[PATH_MAX];
		size_t dlen;

		end = strchrnul(p, ':');
		dlen = (size_t)(end - p);
		if (dlen + 1 + flen + 1 <= sizeof(buf)) {
			memcpy(buf, p, dlen);
			if (dlen)
				buf[dlen++] = '/';
			memcpy(buf + dlen, file, flen + 1);
			do_execve(buf, argv, envp);
			if (errno == ENOEXEC) {
				int e = errno;

				exec_script(buf, argv, envp);
				errno = e;
			}
			switch (errno) {
			case EACCES:
				got_eacces = 1;
				break;
			case ENOENT:
			case ESTALE:
			case ENOTDIR:
			case ENODEV:
			case ETIMEDOUT:
				break;
			default:
				return -1;
			}
		}
		if (!*end)
			break;
	}
	if (got_eacces)
		errno = EACCES;
	return -1;
}

EXPORT int execvp(const char *file, char *const argv[])
{
	return do_execvpe(file, argv, environ);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	return do_execvpe(file, argv, envp);
}

/* execl and friends: the variable arguments into an array on the stack. */
#define COLLECT_ARGS(arg, last, envp_out)                                                  \
	size_t argc = 1;                                                                   \
	va_list ap;                                                                        \
                                                                                           \
	va_start(ap, arg);                                                                 \
	while (va_arg(ap, char *))                                                         \
		argc++;                                                                    \
	va_end(ap);                                                                        \
	char *argv[argc + 1];                                                              \
	argv[0] = (char *)arg;                                                             \
	va_start(ap, arg);                                                                 \
	for (size_t i = 1; i <= argc; i++)                                                 \
		argv[i] = va_arg(ap, char *);                                              \
	if (last)                                                                          \
		envp_out = va_arg(ap, char **);                                            \
	va_end(ap)

EXPORT int execl(const char *path, const char *arg, ...)
{
	char **envp = environ;

	COLLECT_ARGS(arg, 0, envp);
	return do_execve(path, argv, envp);
}

EXPORT int execle(const char *path, const char *arg, ...)
{
	char **envp = environ;

	COLLECT_ARGS(arg, 1, envp);
	return do_execve(path, argv, envp);
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
	char **envp = environ;

	COLLECT_ARGS(arg, 0, envp);
	return do_execvpe(file, argv, envp);
}

/* posix_spawnp() searches PATH inside the child, through glibc's internal execve: report
 * the places it will try (the ones missing, then the one found) from here. */
static void spawnp_search(const char *file, char *const envp[])
{
	const char *path = getenv("PATH"), *p, *end;
	size_t flen = strlen(file);

	if (!path)
		path = "/bin:/usr/bin";
	for (p = path;; p = end + 1) {
		char buf[PATH_MAX];
		size_t dlen;
		int err;

		end = strchrnul(p, ':');
		dlen = (size_t)(end - p);
		if (dlen + 1 + flen + 1 <= sizeof(buf)) {
			memcpy(buf, p, dlen);
			if (dlen)
				buf[dlen++] = '/';
			memcpy(buf + dlen, file, flen + 1);
			err = emit_stat_err(buf);
			if (!err) {
				exec_check(AT_FDCWD, buf, envp);
				return;
			}
			emit_access(MP_OP_EXEC, AT_FDCWD, buf, 0, err);
		}
		if (!*end)
			return;
	}
}

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	int ret;

	REAL(posix_spawn);
	if (!r_posix_spawn)
		return ENOSYS;
	exec_check(AT_FDCWD, path, envp);
	ret = r_posix_spawn(pid, path, fa, attr, argv, envp);
	/* the result is the error number; errno is left alone */
	if (ret)
		rec(MP_OP_EXEC, AT_FDCWD, path, 0, 1, ret);
	return ret;
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	int ret;

	REAL(posix_spawnp);
	if (!r_posix_spawnp)
		return ENOSYS;
	if (file && strchr(file, '/'))
		exec_check(AT_FDCWD, file, envp);
	else if (file && *file && recording())
		spawnp_search(file, envp);
	ret = r_posix_spawnp(pid, file, fa, attr, argv, envp);
	if (ret)
		rec(MP_OP_EXEC, AT_FDCWD, file, 0, 1, ret);
	return ret;
}

/* ---- sockets, extended attributes, watches, mounts: the ops ptrace records too ---- */

/* bind() and connect() to an AF_UNIX socket named by a path (not an abstract name, not
 * another family): the path, ended as the kernel ends it, at @len or its first NUL. */
static void rec_sockaddr(int op, const struct sockaddr *addr, socklen_t len, int failed, int e)
{
	const size_t off = offsetof(struct sockaddr_un, sun_path);
	const struct sockaddr_un *sun = (const struct sockaddr_un *)addr;
	char path[sizeof(sun->sun_path) + 1];
	size_t n = 0;

	/* the kernel reads the address after the descriptor: EBADF and ENOTSOCK read nothing */
	if (!addr || (failed && (e == EFAULT || e == EBADF || e == ENOTSOCK)) || len <= off ||
	    len > sizeof(*sun) || addr->sa_family != AF_UNIX)
		return;
	while (n < len - off && sun->sun_path[n])
		n++;
	if (!n)
		return;
	memcpy(path, sun->sun_path, n);
	path[n] = '\0';
	rec(op, AT_FDCWD, path, 0, failed, e);
}

#define SOCKADDR_WRAPPER(name, op)                                                         \
	EXPORT int name(int fd, const struct sockaddr *addr, socklen_t len)                \
	{                                                                                  \
		int ret, e;                                                                \
                                                                                           \
		REAL(name);                                                                \
		if (!r_##name)                                                             \
			NOSYS(-1);                                                         \
		ret = r_##name(fd, addr, len);                                             \
		e = errno;                                                                 \
		rec_sockaddr(op, addr, len, ret < 0, e);                                   \
		errno = e;                                                                 \
		return ret;                                                                \
	}
SOCKADDR_WRAPPER(bind, MP_OP_BIND)
SOCKADDR_WRAPPER(connect, MP_OP_CONNECT)

/* The xattr family: O_WRONLY for set and remove, AT_SYMLINK_NOFOLLOW for the l* names (the
 * flags the tracer stores). Get and list return ssize_t, set and remove int. */
#define XATTR_WRAPPER(rtype, name, flags, params, args)                                    \
	EXPORT rtype name params                                                           \
	{                                                                                  \
		rtype ret;                                                                 \
		int e;                                                                     \
                                                                                           \
		REAL(name);                                                                \
		if (!r_##name)                                                             \
			NOSYS(-1);                                                         \
		ret = r_##name args;                                                       \
		e = errno;                                                                 \
		rec(MP_OP_XATTR, AT_FDCWD, path, (flags), ret < 0, e);                     \
		errno = e;                                                                 \
		return ret;                                                                \
	}
#define XATTR_GET(name, flags)                                                             \
	XATTR_WRAPPER(ssize_t, name, flags,                                                \
		      (const char *path, const char *an, void *v, size_t n), (path, an, v, n))
#define XATTR_LIST(name, flags)                                                            \
	XATTR_WRAPPER(ssize_t, name, flags, (const char *path, char *list, size_t n),      \
		      (path, list, n))
#define XATTR_SET(name, flags)                                                             \
	XATTR_WRAPPER(int, name, flags,                                                    \
		      (const char *path, const char *an, const void *v, size_t n, int fl), \
		      (path, an, v, n, fl))
#define XATTR_REMOVE(name, flags)                                                          \
	XATTR_WRAPPER(int, name, flags, (const char *path, const char *an), (path, an))
XATTR_GET(getxattr, 0)
XATTR_GET(lgetxattr, AT_SYMLINK_NOFOLLOW)
XATTR_LIST(listxattr, 0)
XATTR_LIST(llistxattr, AT_SYMLINK_NOFOLLOW)
XATTR_SET(setxattr, O_WRONLY)
XATTR_SET(lsetxattr, O_WRONLY | AT_SYMLINK_NOFOLLOW)
XATTR_REMOVE(removexattr, O_WRONLY)
XATTR_REMOVE(lremovexattr, O_WRONLY | AT_SYMLINK_NOFOLLOW)

EXPORT int inotify_add_watch(int fd, const char *path, uint32_t mask)
{
	int ret, e;

	REAL(inotify_add_watch);
	if (!r_inotify_add_watch)
		NOSYS(-1);
	ret = r_inotify_add_watch(fd, path, mask);
	e = errno;
	/* EBADF, EINVAL: the descriptor or the mask was refused before the path was read */
	if (!(ret < 0 && (e == EBADF || e == EINVAL)))
		rec(MP_OP_WATCH, AT_FDCWD, path, mask & IN_DONT_FOLLOW ? AT_SYMLINK_NOFOLLOW : 0,
		    ret < 0, e);
	errno = e;
	return ret;
}

EXPORT int fanotify_mark(int fd, unsigned int flags, uint64_t mask, int dirfd, const char *path)
{
	int ret, e;

	REAL(fanotify_mark);
	if (!r_fanotify_mark)
		NOSYS(-1);
	ret = r_fanotify_mark(fd, flags, mask, dirfd, path);
	e = errno;
	/* a NULL path marks @dirfd itself (as the tracer records it); a flush names nothing;
	 * EBADF and EINVAL: refused before the path was read */
	if ((flags & FAN_MARK_FLUSH) || (ret < 0 && (e == EBADF || e == EINVAL)))
		;
	else if (path)
		rec(MP_OP_WATCH, dirfd, path, flags & FAN_MARK_DONT_FOLLOW ? AT_SYMLINK_NOFOLLOW : 0,
		    ret < 0, e);
	else if (recording() && dirfd >= 0)
		emit_access_fd(MP_OP_WATCH, dirfd, 0, ret < 0 ? e : 0);
	errno = e;
	return ret;
}

/* mount: the mount point, and the source where it names a file (include/mountsrc.h), as the
 * tracer records them. */
EXPORT int mount(const char *src, const char *target, const char *fstype, unsigned long flags,
		 const void *data)
{
	unsigned long f = mp_mount_flags(flags);
	enum mp_mount_source how = mp_mount_source(f);
	int ret, e;

	REAL(mount);
	if (!r_mount)
		NOSYS(-1);
	ret = r_mount(src, target, fstype, flags, data);
	e = errno;
	if (src && !(ret < 0 && e == EFAULT) && src[0] &&
	    (how == MP_MOUNT_SRC_PATH || (how == MP_MOUNT_SRC_IF_ABSOLUTE && src[0] == '/')))
		rec(MP_OP_MOUNT_FROM, AT_FDCWD, src, (uint32_t)f, ret < 0, e);
	rec(MP_OP_MOUNT, AT_FDCWD, target, (uint32_t)f, ret < 0, e);
	errno = e;
	return ret;
}

EXPORT int umount2(const char *target, int flags)
{
	int ret, e;

	REAL(umount2);
	if (!r_umount2)
		NOSYS(-1);
	ret = r_umount2(target, flags);
	e = errno;
	rec(MP_OP_UMOUNT, AT_FDCWD, target, (uint32_t)flags, ret < 0, e);
	errno = e;
	return ret;
}

/* umount() is umount2() with no flags (glibc's calls it internally, where no wrapper sees it) */
EXPORT int umount(const char *target)
{
	return umount2(target, 0);
}

/* ---- realpath: glibc resolves each component with its internal readlink ---- */

/* How many of the components ahead in @rest (after the resolved prefix @rname, @d bytes) are
 * known to be no symlink, so that glibc's readlink of each answered EINVAL, without asking the
 * kernel one by one: all of them when realpath() returned @result and that is the lexical
 * form of the whole name (a name met no symlink on its way iff it resolves to itself), else
 * all but the last one or two when an openat2(RESOLVE_NO_SYMLINKS) of their directory
 * succeeds. 0 when
 * @rest has a ".." (glibc reads the component before it, which the lexical form drops) or
 * when neither holds. cc1 calls realpath() for every include directory and header it looks
 * at, 7 components deep: asking the kernel for each doubled its readlinks (W2: 2 ms). */
static int plain_ahead(const char *rname, size_t d, const char *rest, const char *result,
		       char lex[PATH_MAX])
{
	size_t o = d, ends[2] = { d, d }; /* where the last two components start */
	int k = 0;

	memcpy(lex, rname, d);
	for (const char *p = rest; *p;) {
		const char *e;

		while (*p == '/')
			p++;
		for (e = p; *e && *e != '/'; e++)
			;
		if (e - p == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		if (e > p && !(e - p == 1 && p[0] == '.')) {
			if (o + 1 + (size_t)(e - p) + 1 > PATH_MAX)
				return 0;
			ends[1] = ends[0];
			ends[0] = o;
			if (lex[o - 1] != '/')
				lex[o++] = '/';
			memcpy(lex + o, p, (size_t)(e - p));
			o += (size_t)(e - p);
			k++;
		}
		p = e;
	}
	lex[o] = '\0';
	if (result && !strcmp(lex, result))
		return k;
	/* the directory of the last component, else (cc1 looks for "bits/x.h" in every include
	 * directory) the one above */
	for (int up = 1; up <= 2 && k > up; up++) {
		struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
					.resolve = RESOLVE_NO_SYMLINKS };
		long fd;

		lex[ends[up - 1]] = '\0';
		fd = RAW(SYS_openat2, AT_FDCWD, lex, &how, sizeof(how));
		if (fd >= 0) {
			RAW(SYS_close, fd, 0, 0, 0);
			return k - up;
		}
		if (errno != ENOENT && errno != ENOTDIR)
			break;
	}
	return 0;
}

/* Does what is left of the name after a component (@end) need that component to be a directory
 * before anything else is read: only slashes left, a "/." at the end, or a ".." to come? glibc's
 * suffix_requires_dir_check(), after which it tests the component with faccessat("COMPONENT/")
 * and stops if that fails (so "/etc/passwd/../hosts" stops at ENOTDIR). */
static bool suffix_needs_dir(const char *end)
{
	while (*end == '/') {
		while (*end == '/')
			end++;
		if (!*end)
			return true;
		if (*end++ != '.')
			return false;
		/* a trailing "/.", or "/.." anywhere; "/./" goes on */
		if (!*end || (*end == '.' && (!end[1] || end[1] == '/')))
			return true;
	}
	return false;
}

/* Report the readlinks glibc's realpath() made resolving @path (glibc 2.36,
 * stdlib/canonicalize.c): one per component, from the cwd or "/", "." skipped, ".." taking the
 * last component off, a symlink's target read in its place; each with the answer the kernel
 * gives now (plain_ahead() answers for the components that cannot be symlinks). It stops where
 * glibc does: at the first answer other than EINVAL or a symlink, or at a component that the
 * rest of the name needs to be a directory and is not (glibc's faccessat(), reported too).
 * @result: what realpath() returned, or NULL. */
static void realpath_note(const char *path, const char *result)
{
	char rname[PATH_MAX], more[PATH_MAX], tgt[PATH_MAX];
	const char *p;
	size_t d;
	int e = errno, hops = 0, plain, n, err;

	if (!path || !*path || !recording() || strlen(path) >= sizeof(more))
		goto out;
	n = path[0] == '/' ? 1 : emit_resolve(AT_FDCWD, ".", rname, sizeof(rname));
	if (n <= 0)
		goto out;
	rname[0] = '/';
	rname[n] = '\0';
	d = (size_t)n;
	memcpy(more, path, strlen(path) + 1);
	p = more;
	plain = plain_ahead(rname, d, p, result, tgt);
	while (*p) {
		const char *end;
		size_t len;
		long r;

		while (*p == '/')
			p++;
		for (end = p; *end && *end != '/'; end++)
			;
		len = (size_t)(end - p);
		if (len == 0 || (len == 1 && p[0] == '.')) {
			p = end;
			continue;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (d > 1 && rname[d - 1] != '/')
				d--;
			if (d > 1)
				d--;
			rname[d] = '\0';
			p = end;
			continue;
		}
		if (d + 1 + len + 1 > sizeof(rname))
			break;
		if (rname[d - 1] != '/')
			rname[d++] = '/';
		memcpy(rname + d, p, len);
		d += len;
		rname[d] = '\0';
		p = end;
		if (plain > 0) {
			plain--;
			r = -1;
			errno = EINVAL;
		} else {
			r = RAW(SYS_readlinkat, AT_FDCWD, rname, tgt, sizeof(tgt) - 1);
		}
		err = r < 0 ? errno : 0;
		emit_access(MP_OP_READLINK, AT_FDCWD, rname, 0, err);
		if (r < 0) {
			/* not a symlink: glibc goes on after EINVAL, but first asks whether it is a
			 * directory when the rest needs one ("/", "/." or a "/.." to come) */
			if (suffix_needs_dir(p)) {
				if (d + 2 > sizeof(rname))
					break;
				rname[d] = '/';
				rname[d + 1] = '\0';
				r = RAW5(SYS_faccessat2, AT_FDCWD, rname, F_OK, AT_EACCESS, 0);
				emit_access(MP_OP_ACCESS, AT_FDCWD, rname, F_OK, r < 0 ? errno : 0);
				rname[d] = '\0';
				if (r < 0)
					break;
			} else if (err != EINVAL) {
				break;
			}
			continue;
		}
		/* a symlink: its target, then the rest of the name, in its place */
		if (++hops > 40 || (size_t)r + strlen(p) + 1 > sizeof(tgt))
			break;
		memcpy(tgt + r, p, strlen(p) + 1);
		memcpy(more, tgt, (size_t)r + strlen(p) + 1);
		p = more;
		if (more[0] == '/') {
			d = 1;
		} else {
			while (d > 1 && rname[d - 1] != '/')
				d--;
			if (d > 1)
				d--;
		}
		rname[d] = '\0';
		plain = plain_ahead(rname, d, p, NULL, tgt);
	}
out:
	errno = e;
}

EXPORT char *realpath(const char *path, char *resolved)
{
	char *ret;
	int e;
	LAZY_REAL(realpath, NULL);

	ret = real(path, resolved);
	e = errno;
	realpath_note(path, ret);
	errno = e;
	return ret;
}

EXPORT char *canonicalize_file_name(const char *path)
{
	char *ret;
	int e;
	LAZY_REAL(canonicalize_file_name, NULL);

	ret = real(path);
	e = errno;
	realpath_note(path, ret);
	errno = e;
	return ret;
}

/* ---- NSS: glibc reads its databases with its internal open ---- */

/* The files a lookup in each NSS database reads (glibc 2.36: /etc/nsswitch.conf, then the
 * "files" service's file; for host names also host.conf, and resolv.conf for "dns"), which
 * glibc opens through its internal open, past every
 * wrapper. The service modules it loads (libnss_systemd.so.2, ...) the audit module sees. */
enum nss_db {
	NSS_PASSWD, NSS_GROUP, NSS_SHADOW, NSS_HOSTS, NSS_SERVICES, NSS_PROTOCOLS, NSS_NETWORKS,
	NSS_RPC, NSS_ETHERS, NSS_NETGROUP, NSS_ALIASES, NSS_GSHADOW
};

static const char *const nss_files[][4] = {
	[NSS_PASSWD] = { "/etc/nsswitch.conf", "/etc/passwd" },
	[NSS_GROUP] = { "/etc/nsswitch.conf", "/etc/group" },
	[NSS_SHADOW] = { "/etc/nsswitch.conf", "/etc/shadow" },
	[NSS_HOSTS] = { "/etc/nsswitch.conf", "/etc/host.conf", "/etc/hosts", "/etc/resolv.conf" },
	[NSS_SERVICES] = { "/etc/nsswitch.conf", "/etc/services" },
	[NSS_PROTOCOLS] = { "/etc/nsswitch.conf", "/etc/protocols" },
	[NSS_NETWORKS] = { "/etc/nsswitch.conf", "/etc/networks" },
	[NSS_RPC] = { "/etc/nsswitch.conf", "/etc/rpc" },
	[NSS_ETHERS] = { "/etc/nsswitch.conf", "/etc/ethers" },
	[NSS_NETGROUP] = { "/etc/nsswitch.conf", "/etc/netgroup" },
	[NSS_ALIASES] = { "/etc/nsswitch.conf", "/etc/aliases" },
	[NSS_GSHADOW] = { "/etc/nsswitch.conf", "/etc/gshadow" },
};

/* databases this process has reported (a fork's child inherits them: its parent's rows name
 * the files already) */
static unsigned nss_seen;

/* The error a read open of @path would get now (0: none): glibc's internal open checks the
 * effective ids, as faccessat2's AT_EACCESS (Linux 5.8) does. */
static int read_open_err(const char *path)
{
	long r = RAW(SYS_faccessat2, AT_FDCWD, path, R_OK, AT_EACCESS);

	if (r < 0 && errno == ENOSYS)
		r = RAW(SYS_faccessat, AT_FDCWD, path, R_OK, 0);
	return r < 0 ? errno : 0;
}

/* Report the files a lookup in @db reads, once a process, as opens with the answer a read
 * open would get now. */
static void nss_note(enum nss_db db)
{
	int e = errno;
	unsigned seen;

	/* (a plain load first: a program looking up thousands of names, ls -l, pays no locked
	 * read-modify-write for each) */
	if (!recording() || (__atomic_load_n(&nss_seen, __ATOMIC_RELAXED) & (1u << db)) ||
	    ((seen = __atomic_fetch_or(&nss_seen, 1u << db, __ATOMIC_RELAXED)) & (1u << db)))
		return;
	/* the first lookup: glibc stats / (a chroot since?) and nsswitch.conf (changed since?) */
	if (!seen) {
		emit_access(MP_OP_STAT, AT_FDCWD, "/", 0, emit_stat_err("/"));
		emit_access(MP_OP_STAT, AT_FDCWD, nss_files[db][0], 0,
			    emit_stat_err(nss_files[db][0]));
	}
	for (int i = 0; i < 4 && nss_files[db][i]; i++)
		emit_access(MP_OP_OPEN, AT_FDCWD, nss_files[db][i], O_RDONLY | O_CLOEXEC,
			    read_open_err(nss_files[db][i]));
	errno = e;
}

/* A call whose files glibc opens internally: @note reports them, then the real function
 * (found on first use) runs, whose errno and result the caller gets untouched; without it,
 * @fail (the function's own error result) and ENOSYS. */
#define NOTED_WRAPPER(type, name, note, fail, params, args)                                \
	EXPORT type name params                                                            \
	{                                                                                  \
		LAZY_REAL(name, fail);                                                     \
		note;                                                                      \
		return real args;                                                          \
	}
/* an NSS lookup in @db */
#define NSS_WRAPPER(type, name, db, fail, params, args) \
	NOTED_WRAPPER(type, name, nss_note(db), fail, params, args)

NSS_WRAPPER(struct passwd *, getpwnam, NSS_PASSWD, NULL, (const char *n), (n))
NSS_WRAPPER(struct passwd *, getpwuid, NSS_PASSWD, NULL, (uid_t u), (u))
NSS_WRAPPER(int, getpwnam_r, NSS_PASSWD, ENOSYS,
	    (const char *n, struct passwd *p, char *b, size_t l, struct passwd **r), (n, p, b, l, r))
NSS_WRAPPER(int, getpwuid_r, NSS_PASSWD, ENOSYS,
	    (uid_t u, struct passwd *p, char *b, size_t l, struct passwd **r), (u, p, b, l, r))
NSS_WRAPPER(struct passwd *, getpwent, NSS_PASSWD, NULL, (void), ())
NSS_WRAPPER(struct group *, getgrnam, NSS_GROUP, NULL, (const char *n), (n))
NSS_WRAPPER(struct group *, getgrgid, NSS_GROUP, NULL, (gid_t g), (g))
NSS_WRAPPER(int, getgrnam_r, NSS_GROUP, ENOSYS,
	    (const char *n, struct group *p, char *b, size_t l, struct group **r), (n, p, b, l, r))
NSS_WRAPPER(int, getgrgid_r, NSS_GROUP, ENOSYS,
	    (gid_t g, struct group *p, char *b, size_t l, struct group **r), (g, p, b, l, r))
NSS_WRAPPER(struct group *, getgrent, NSS_GROUP, NULL, (void), ())
NSS_WRAPPER(int, getgrouplist, NSS_GROUP, -1, (const char *u, gid_t g, gid_t *gs, int *n),
	    (u, g, gs, n))
NSS_WRAPPER(int, initgroups, NSS_GROUP, -1, (const char *u, gid_t g), (u, g))
NSS_WRAPPER(struct spwd *, getspnam, NSS_SHADOW, NULL, (const char *n), (n))
NSS_WRAPPER(int, getspnam_r, NSS_SHADOW, ENOSYS,
	    (const char *n, struct spwd *p, char *b, size_t l, struct spwd **r), (n, p, b, l, r))
NSS_WRAPPER(struct hostent *, gethostbyname, NSS_HOSTS, NULL, (const char *n), (n))
NSS_WRAPPER(struct hostent *, gethostbyname2, NSS_HOSTS, NULL, (const char *n, int af), (n, af))
NSS_WRAPPER(struct hostent *, gethostbyaddr, NSS_HOSTS, NULL, (const void *a, socklen_t l, int t),
	    (a, l, t))
NSS_WRAPPER(int, gethostbyname_r, NSS_HOSTS, ENOSYS,
	    (const char *n, struct hostent *h, char *b, size_t l, struct hostent **r, int *he),
	    (n, h, b, l, r, he))
NSS_WRAPPER(int, gethostbyname2_r, NSS_HOSTS, ENOSYS,
	    (const char *n, int af, struct hostent *h, char *b, size_t l, struct hostent **r,
	     int *he),
	    (n, af, h, b, l, r, he))
/* A host lookup reads the services database too for a service given by name (getaddrinfo()
 * without AI_NUMERICSERV; getnameinfo() asked for one without NI_NUMERICSERV). */
EXPORT int getaddrinfo(const char *n, const char *srv, const struct addrinfo *h,
		       struct addrinfo **r)
{
	LAZY_REAL(getaddrinfo, EAI_SYSTEM);
	nss_note(NSS_HOSTS);
	if (srv && srv[strspn(srv, "0123456789")] && !(h && (h->ai_flags & AI_NUMERICSERV)))
		nss_note(NSS_SERVICES);
	return real(n, srv, h, r);
}

EXPORT int getnameinfo(const struct sockaddr *a, socklen_t al, char *h, socklen_t hl, char *srv,
		       socklen_t sl, int f)
{
	LAZY_REAL(getnameinfo, EAI_SYSTEM);
	if (h && hl && !(f & NI_NUMERICHOST))
		nss_note(NSS_HOSTS);
	if (srv && sl && !(f & NI_NUMERICSERV))
		nss_note(NSS_SERVICES);
	return real(a, al, h, hl, srv, sl, f);
}
NSS_WRAPPER(struct servent *, getservbyname, NSS_SERVICES, NULL, (const char *n, const char *p),
	    (n, p))
NSS_WRAPPER(struct servent *, getservbyport, NSS_SERVICES, NULL, (int port, const char *p),
	    (port, p))
NSS_WRAPPER(struct protoent *, getprotobyname, NSS_PROTOCOLS, NULL, (const char *n), (n))
NSS_WRAPPER(struct protoent *, getprotobynumber, NSS_PROTOCOLS, NULL, (int n), (n))
/* the enumerations (getent DATABASE without a key) */
NSS_WRAPPER(int, getpwent_r, NSS_PASSWD, ENOSYS,
	    (struct passwd *p, char *b, size_t l, struct passwd **r), (p, b, l, r))
NSS_WRAPPER(int, getgrent_r, NSS_GROUP, ENOSYS,
	    (struct group *p, char *b, size_t l, struct group **r), (p, b, l, r))
NSS_WRAPPER(struct spwd *, getspent, NSS_SHADOW, NULL, (void), ())
NSS_WRAPPER(struct hostent *, gethostent, NSS_HOSTS, NULL, (void), ())
NSS_WRAPPER(struct servent *, getservent, NSS_SERVICES, NULL, (void), ())
NSS_WRAPPER(struct protoent *, getprotoent, NSS_PROTOCOLS, NULL, (void), ())
/* getlogin(): glibc reads /proc/self/loginuid; a uid there it looks up in passwd, none
 * (4294967295) sends it to utmp, for the terminal on fd 0 if there is one. Once a process. */
static int login_seen;

static void login_note(void)
{
	int e = errno;
	char buf[16];
	long n;

	if (!recording() || __atomic_exchange_n(&login_seen, 1, __ATOMIC_RELAXED))
		return;
	n = emit_read_file("/proc/self/loginuid", buf, sizeof(buf) - 1);
	emit_access(MP_OP_OPEN, AT_FDCWD, "/proc/self/loginuid", O_RDONLY | O_CLOEXEC,
		    n < 0 ? errno : 0);
	if (n > 0) {
		buf[n] = '\0';
		if (strtoul(buf, NULL, 10) != 4294967295UL) {
			nss_note(NSS_PASSWD);
		} else {
			struct termios t;

			if (RAW(SYS_ioctl, 0, TCGETS, &t, 0) == 0)
				emit_access(MP_OP_OPEN, AT_FDCWD, "/var/run/utmp", O_RDONLY | O_CLOEXEC,
					    read_open_err("/var/run/utmp"));
		}
	}
	errno = e;
}

NOTED_WRAPPER(char *, getlogin, login_note(), NULL, (void), ())
NOTED_WRAPPER(int, getlogin_r, login_note(), ENOSYS, (char *b, size_t l), (b, l))
NSS_WRAPPER(char *, cuserid, NSS_PASSWD, NULL, (char *s), (s))
/* the rarer databases, as `getent networks|rpc|ethers|netgroup|aliases|gshadow` asks them */
NSS_WRAPPER(struct netent *, getnetbyname, NSS_NETWORKS, NULL, (const char *n), (n))
NSS_WRAPPER(struct netent *, getnetbyaddr, NSS_NETWORKS, NULL, (uint32_t a, int t), (a, t))
NSS_WRAPPER(struct netent *, getnetent, NSS_NETWORKS, NULL, (void), ())
NSS_WRAPPER(struct rpcent *, getrpcbyname, NSS_RPC, NULL, (const char *n), (n))
NSS_WRAPPER(struct rpcent *, getrpcbynumber, NSS_RPC, NULL, (int n), (n))
NSS_WRAPPER(struct rpcent *, getrpcent, NSS_RPC, NULL, (void), ())
NSS_WRAPPER(int, ether_hostton, NSS_ETHERS, -1, (const char *h, struct ether_addr *a), (h, a))
NSS_WRAPPER(int, ether_ntohost, NSS_ETHERS, -1, (char *h, const struct ether_addr *a), (h, a))
NSS_WRAPPER(int, setnetgrent, NSS_NETGROUP, 0, (const char *g), (g))
NSS_WRAPPER(int, innetgr, NSS_NETGROUP, 0,
	    (const char *g, const char *h, const char *u, const char *d), (g, h, u, d))
NSS_WRAPPER(struct aliasent *, getaliasbyname, NSS_ALIASES, NULL, (const char *n), (n))
NSS_WRAPPER(struct aliasent *, getaliasent, NSS_ALIASES, NULL, (void), ())
NSS_WRAPPER(struct sgrp *, getsgnam, NSS_GSHADOW, NULL, (const char *n), (n))
NSS_WRAPPER(struct sgrp *, getsgent, NSS_GSHADOW, NULL, (void), ())
NSS_WRAPPER(int, getnetbyname_r, NSS_NETWORKS, ENOSYS,
	    (const char *n, struct netent *e, char *b, size_t l, struct netent **r, int *he),
	    (n, e, b, l, r, he))
NSS_WRAPPER(int, getnetbyaddr_r, NSS_NETWORKS, ENOSYS,
	    (uint32_t a, int t, struct netent *e, char *b, size_t l, struct netent **r, int *he),
	    (a, t, e, b, l, r, he))
NSS_WRAPPER(int, getnetent_r, NSS_NETWORKS, ENOSYS,
	    (struct netent *e, char *b, size_t l, struct netent **r, int *he), (e, b, l, r, he))
NSS_WRAPPER(int, getrpcbyname_r, NSS_RPC, ENOSYS,
	    (const char *n, struct rpcent *e, char *b, size_t l, struct rpcent **r), (n, e, b, l, r))
NSS_WRAPPER(int, getrpcbynumber_r, NSS_RPC, ENOSYS,
	    (int n, struct rpcent *e, char *b, size_t l, struct rpcent **r), (n, e, b, l, r))
NSS_WRAPPER(int, getrpcent_r, NSS_RPC, ENOSYS,
	    (struct rpcent *e, char *b, size_t l, struct rpcent **r), (e, b, l, r))
NSS_WRAPPER(int, getaliasbyname_r, NSS_ALIASES, ENOSYS,
	    (const char *n, struct aliasent *e, char *b, size_t l, struct aliasent **r),
	    (n, e, b, l, r))
NSS_WRAPPER(int, getaliasent_r, NSS_ALIASES, ENOSYS,
	    (struct aliasent *e, char *b, size_t l, struct aliasent **r), (e, b, l, r))
NSS_WRAPPER(int, getsgnam_r, NSS_GSHADOW, ENOSYS,
	    (const char *n, struct sgrp *e, char *b, size_t l, struct sgrp **r), (n, e, b, l, r))
NSS_WRAPPER(int, getsgent_r, NSS_GSHADOW, ENOSYS,
	    (struct sgrp *e, char *b, size_t l, struct sgrp **r), (e, b, l, r))

/* ---- locale data, iconv's module cache, the time zone ----
 *
 * glibc opens these with its internal open too. Locale data and iconv's cache it maps and
 * keeps mapped: after a call that may load them, the files under those names in
 * /proc/self/maps are reported as opened (what glibc found and loaded, not every candidate
 * it tried). The time zone file it reads and closes: its name is worked out as tzset() does.
 * Each is reported once a session (emit_once(): the first process that loads a locale, the
 * others find it reported), not once a process: reading /proc/self/maps costs 30-90 us on
 * these VMs, which a shell's 200 `cat`s, each setting its locale, paid 200 times. Message
 * catalogs (gettext), and iconv's cache read for mbrtowc() and its kind, are still unseen. */

/* FNV-1a of @s into @h (what emit_once() keys on) */
static uint64_t fnv(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL; /* "a" "bc" is not "ab" "c" */
}
#define FNV_BASIS 14695981039346656037ULL

#define LOCALE_DIR "/usr/lib/locale"  /* glibc's default locale path (without LOCPATH) */
#define LOCALE_ARCHIVE LOCALE_DIR "/locale-archive"
#define LOCALE_ALIAS "/usr/share/locale/locale.alias"
#define TZ_DEFAULT "/etc/localtime"
#define TZ_DIR "/usr/share/zoneinfo"
#define GCONV_CACHE "/gconv-modules.cache"

/* The first MAP_SCANS calls of a process that may load locale data or iconv's cache read the
 * map; later ones (a program that sets LC_NUMERIC to "C" and back around every number it
 * prints) do not: what they load, an earlier call loaded. One scan at a time (map_buf). */
#define MAP_SCANS 8
enum { MAP_LOCALE = 1, MAP_GCONV = 2 };
static unsigned map_scans;
static int map_busy;
static char map_buf[8192];
static int locale_fallback_seen; /* the archive and alias file reported (once a process) */

/* Is @path, mapped, locale data (under LOCALE_DIR or a LOCPATH directory: 2 for a file of a
 * locale directory, 1 for the archive) or iconv's cache (1)? 0: neither. */
static int map_wanted(const char *path, size_t n, unsigned want)
{
	if (want & MAP_GCONV)
		return n > sizeof(GCONV_CACHE) - 1 &&
		       !memcmp(path + n - (sizeof(GCONV_CACHE) - 1), GCONV_CACHE,
			       sizeof(GCONV_CACHE) - 1);
	if (!strncmp(path, LOCALE_DIR "/", sizeof(LOCALE_DIR)))
		return strcmp(path, LOCALE_ARCHIVE) ? 2 : 1;
	for (const char *d = getenv("LOCPATH"), *e; d && *d; d = *e ? e + 1 : e) {
		size_t dl;

		e = strchrnul(d, ':');
		dl = (size_t)(e - d);
		if (dl && n > dl + 1 && !memcmp(path, d, dl) && path[dl] == '/')
			return 2;
	}
	return 0;
}

/* Report the files of @want mapped now; the number of locale directory files among them. */
static int map_note(unsigned want)
{
	size_t have = 0, skip_line = 0;
	int fd, dir_files = 0;
	uint64_t last = 0;

	fd = (int)RAW(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	for (;;) {
		long n = RAW(SYS_read, fd, map_buf + have, sizeof(map_buf) - 1 - have, 0);
		char *line = map_buf, *nl;

		if (n <= 0)
			break;
		have += (size_t)n;
		map_buf[have] = '\0';
		while ((nl = memchr(line, '\n', have - (size_t)(line - map_buf)))) {
			char *path = memchr(line, '/', (size_t)(nl - line));

			*nl = '\0';
			if (skip_line) {
				skip_line = 0;
			} else if (path) {
				size_t pl = (size_t)(nl - path);
				uint64_t h = fnv(FNV_BASIS, path);
				int w;

				/* a file mapped in several pieces is one open; one since
				 * deleted was there, but is no longer */
				if (h != last && !(pl > 10 && !strcmp(nl - 10, " (deleted)")) &&
				    (w = map_wanted(path, pl, want))) {
					emit_access(MP_OP_OPEN, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
					dir_files += w == 2;
				}
				last = h;
			}
			line = nl + 1;
		}
		have -= (size_t)(line - map_buf);
		if (have == sizeof(map_buf) - 1) {
			have = 0; /* a line longer than the buffer: not a path of ours */
			skip_line = 1;
		}
		memmove(map_buf, line, have);
	}
	RAW(SYS_close, fd, 0, 0, 0);
	return dir_files;
}

/* After a call that may have loaded @want (what @key names, unless the session has it): report
 * what is mapped. Locale files found in a directory of LOCALE_DIR mean glibc looked in the
 * archive first and, missing it, in the alias file: reported too, with the answers a read
 * open gets. */
static void loaded_note(unsigned want, uint64_t key)
{
	int e = errno, dir_files;

	/* the scan's buffer first: a key taken by a call that then could not scan would leave
	 * the session without the files */
	if (!recording() || __atomic_load_n(&map_scans, __ATOMIC_RELAXED) >= MAP_SCANS ||
	    __atomic_exchange_n(&map_busy, 1, __ATOMIC_ACQUIRE)) {
		errno = e;
		return;
	}
	if (!emit_once(key)) {
		__atomic_store_n(&map_busy, 0, __ATOMIC_RELEASE);
		errno = e;
		return;
	}
	__atomic_add_fetch(&map_scans, 1, __ATOMIC_RELAXED);
	dir_files = map_note(want);
	if (dir_files && !getenv("LOCPATH") && !locale_fallback_seen) {
		int err = read_open_err(LOCALE_ARCHIVE);

		locale_fallback_seen = 1;
		if (err) {
			emit_access(MP_OP_OPEN, AT_FDCWD, LOCALE_ARCHIVE, O_RDONLY | O_CLOEXEC, err);
			emit_access(MP_OP_OPEN, AT_FDCWD, LOCALE_ALIAS, O_RDONLY | O_CLOEXEC,
				    read_open_err(LOCALE_ALIAS));
		}
	}
	__atomic_store_n(&map_busy, 0, __ATOMIC_RELEASE);
	errno = e;
}

/* "C" and "POSIX" are built in; NULL only asks. */
static int locale_loads(const char *name)
{
	return name && strcmp(name, "C") && strcmp(name, "POSIX");
}

/* The key of locale @name loaded for @what (a category, or a newlocale() mask): the files
 * depend on LOCPATH too, and what "" names on the environment. */
static uint64_t locale_key(char kind, int what, const char *name)
{
	static const char *const vars[] = { "LC_ALL", "LANG", "LC_CTYPE", "LC_NUMERIC", "LC_TIME",
		"LC_COLLATE", "LC_MONETARY", "LC_MESSAGES", "LC_PAPER", "LC_NAME", "LC_ADDRESS",
		"LC_TELEPHONE", "LC_MEASUREMENT", "LC_IDENTIFICATION" };
	char w[16];
	uint64_t h;

	snprintf(w, sizeof(w), "%c%d", kind, what);
	h = fnv(fnv(fnv(FNV_BASIS, w), name), getenv("LOCPATH"));
	if (!*name)
		for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
			h = fnv(h, getenv(vars[i]));
	return h;
}

/* setlocale() gives the name it set (its result): "C" after LANG=C loads nothing */
EXPORT char *setlocale(int category, const char *locale)
{
	char *r;

	LAZY_REAL(setlocale, NULL);
	r = real(category, locale);
	if (r && locale && locale_loads(r))
		loaded_note(MAP_LOCALE, locale_key('L', category, r));
	return r;
}

EXPORT locale_t newlocale(int mask, const char *locale, locale_t base)
{
	locale_t r;

	LAZY_REAL(newlocale, (locale_t)0);
	r = real(mask, locale, base);
	if (r && locale_loads(locale))
		loaded_note(MAP_LOCALE, locale_key('N', mask, locale));
	return r;
}

/* glibc reads its cache at the first iconv_open() of a process, whatever the pair */
EXPORT iconv_t iconv_open(const char *to, const char *from)
{
	iconv_t r;

	LAZY_REAL(iconv_open, (iconv_t)-1);
	r = real(to, from);
	if (r != (iconv_t)-1)
		loaded_note(MAP_GCONV, fnv(FNV_BASIS, "gconv"));
	return r;
}

/* The time zone file tzset() reads for the TZ value @tz (NULL: unset) into @buf: NULL when
 * it reads none. */
static const char *tz_file(const char *tz, char *buf, size_t size)
{
	const char *dir;
	int n;

	if (tz && !*tz)
		tz = "Universal"; /* TZ="": UTC, from the file of that name */
	else if (tz && *tz == ':')
		tz++;
	if (!tz)
		return TZ_DEFAULT;
	if (!*tz)
		return NULL; /* TZ=":" */
	if (*tz == '/')
		return tz;
	dir = getenv("TZDIR");
	n = snprintf(buf, size, "%s/%s", dir && *dir ? dir : TZ_DIR, tz);
	return n > 0 && (size_t)n < size ? buf : NULL;
}

/* tzset()'s file, reported as opened with the answer a read open gets: by the calls that
 * read TZ each time, when TZ differs from the last one reported (@every); by the others
 * (localtime_r(), ctime_r(): glibc reads TZ at their first call only), once a process. */
static uint64_t tz_seen; /* FNV-1a of the TZ value reported, 0: none yet */

static void tz_note(int every)
{
	int e = errno;
	const char *tz, *file;
	uint64_t h;
	char buf[512];

	if (!recording() || (!every && __atomic_load_n(&tz_seen, __ATOMIC_RELAXED)))
		return;
	tz = getenv("TZ");
	h = fnv(FNV_BASIS, tz ? tz : "\n") | 1;
	if (__atomic_exchange_n(&tz_seen, h, __ATOMIC_RELAXED) == h) {
		errno = e;
		return;
	}
	file = tz_file(tz, buf, sizeof(buf));
	if (file) {
		int err = read_open_err(file);
		char ek[16];

		/* keyed with its answer: a zone missing then installed is reported again */
		snprintf(ek, sizeof(ek), "%d", err);
		if (emit_once(fnv(fnv(fnv(FNV_BASIS, "tz"), file), ek)))
			emit_access(MP_OP_OPEN, AT_FDCWD, file, O_RDONLY | O_CLOEXEC, err);
	}
	errno = e;
}

/* a call that reads TZ (@every time, or at its first call only) */
#define TZ_WRAPPER(type, name, every, fail, params, args) \
	NOTED_WRAPPER(type, name, tz_note(every), fail, params, args)

TZ_WRAPPER(void, tzset, 1, , (void), ())
TZ_WRAPPER(struct tm *, localtime, 1, NULL, (const time_t *t), (t))
TZ_WRAPPER(struct tm *, localtime_r, 0, NULL, (const time_t *t, struct tm *tm), (t, tm))
TZ_WRAPPER(time_t, mktime, 1, (time_t)-1, (struct tm *tm), (tm))
TZ_WRAPPER(time_t, timelocal, 1, (time_t)-1, (struct tm *tm), (tm))
TZ_WRAPPER(char *, ctime, 1, NULL, (const time_t *t), (t))
TZ_WRAPPER(char *, ctime_r, 0, NULL, (const time_t *t, char *b), (t, b))

/* ---- dlopen ---- */

/* dlopen() must be a tail call: glibc takes the caller's RPATH/RUNPATH and $ORIGIN from the
 * return address, which must stay the program's. What was loaded is reported exactly by the
 * LD_AUDIT half (la_objopen); here only a request for a file named by path. */
static void dlopen_note(const char *file)
{
	int e = errno;

	if (file && strchr(file, '/') && recording())
		emit_access(MP_OP_DLOPEN, AT_FDCWD, file, 0, emit_stat_err(file));
	errno = e;
}

EXPORT void *dlopen(const char *file, int mode)
{
	REAL(dlopen);
	dlopen_note(file);
	return r_dlopen(file, mode);
}

EXPORT void *dlmopen(Lmid_t lmid, const char *file, int mode)
{
	REAL(dlmopen);
	dlopen_note(file);
	return r_dlmopen(lmid, file, mode);
}

/* ---- syscall(2) with a path-taking number ---- */

EXPORT long syscall(long nr, ...)
{
	long a[6], ret;
	va_list ap;
	int e;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	REAL(syscall);
	if (!r_syscall)
		NOSYS(-1);
	if ((nr == SYS_execve || nr == SYS_execveat) && recording()) {
		if (nr == SYS_execve)
			exec_check(AT_FDCWD, (const char *)a[0], (char *const *)a[2]);
		else
			exec_check((int)a[0], (const char *)a[1], (char *const *)a[3]);
	}
	ret = r_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	e = errno;
	if (recording()) {
		int f = ret < 0;
		const char *p0 = (const char *)a[0], *p1 = (const char *)a[1];
		int d0 = (int)a[0], d2 = (int)a[2];

		switch (nr) {
		case SYS_open: rec(MP_OP_OPEN, AT_FDCWD, p0, (uint32_t)a[1], f, e); break;
		case SYS_creat: rec(MP_OP_OPEN, AT_FDCWD, p0, O_CREAT | O_WRONLY | O_TRUNC, f, e); break;
		case SYS_openat: rec(MP_OP_OPEN, d0, p1, (uint32_t)a[2], f, e); break;
		case SYS_openat2:
			rec(MP_OP_OPEN, d0, p1, a[2] ? (uint32_t) * (const uint64_t *)a[2] : 0, f, e);
			break;
		case SYS_execve: rec(MP_OP_EXEC, AT_FDCWD, p0, 0, 1, e); break;
		case SYS_execveat: rec(MP_OP_EXEC, d0, p1, 0, 1, e); break;
		case SYS_stat: rec(MP_OP_STAT, AT_FDCWD, p0, 0, f, e); break;
		case SYS_lstat: rec(MP_OP_STAT, AT_FDCWD, p0, AT_SYMLINK_NOFOLLOW, f, e); break;
		case SYS_newfstatat:
			if (!is_fd_stat(p1, (int)a[3]))
				rec(MP_OP_STAT, d0, p1, (uint32_t)a[3] & AT_SYMLINK_NOFOLLOW, f, e);
			break;
		case SYS_statx:
			if (!is_fd_stat(p1, (int)a[2]))
				rec(MP_OP_STAT, d0, p1, (uint32_t)a[2] & AT_SYMLINK_NOFOLLOW, f, e);
			break;
		case SYS_access: rec(MP_OP_ACCESS, AT_FDCWD, p0, (uint32_t)a[1], f, e); break;
		case SYS_faccessat:
		case SYS_faccessat2: rec(MP_OP_ACCESS, d0, p1, (uint32_t)a[2], f, e); break;
		case SYS_readlink: rec(MP_OP_READLINK, AT_FDCWD, p0, 0, f, e); break;
		case SYS_readlinkat: rec(MP_OP_READLINK, d0, p1, 0, f, e); break;
		case SYS_chdir: rec(MP_OP_CHDIR, AT_FDCWD, p0, 0, f, e); break;
		case SYS_fchdir:
			if (recording())
				emit_access_fd(MP_OP_CHDIR, d0, 0, f ? e : 0);
			break;
		case SYS_mkdir: rec(MP_OP_MKDIR, AT_FDCWD, p0, 0, f, e); break;
		case SYS_mkdirat: rec(MP_OP_MKDIR, d0, p1, 0, f, e); break;
		case SYS_rmdir: rec(MP_OP_UNLINK, AT_FDCWD, p0, AT_REMOVEDIR, f, e); break;
		case SYS_unlink: rec(MP_OP_UNLINK, AT_FDCWD, p0, 0, f, e); break;
		case SYS_unlinkat: rec(MP_OP_UNLINK, d0, p1, (uint32_t)a[2] & AT_REMOVEDIR, f, e); break;
		case SYS_rename:
			rec2(MP_OP_RENAME_FROM, AT_FDCWD, p0, MP_OP_RENAME_TO, AT_FDCWD, p1, f, e);
			break;
		case SYS_renameat:
		case SYS_renameat2:
			rec2(MP_OP_RENAME_FROM, d0, p1, MP_OP_RENAME_TO, d2, (const char *)a[3], f, e);
			break;
		case SYS_link:
			rec2(MP_OP_LINK_FROM, AT_FDCWD, p0, MP_OP_LINK_TO, AT_FDCWD, p1, f, e);
			break;
		case SYS_linkat:
			rec2(MP_OP_LINK_FROM, d0, p1, MP_OP_LINK_TO, d2, (const char *)a[3], f, e);
			break;
		case SYS_symlink: rec(MP_OP_SYMLINK, AT_FDCWD, p1, 0, f, e); break;
		case SYS_symlinkat: rec(MP_OP_SYMLINK, (int)a[1], (const char *)a[2], 0, f, e); break;
		case SYS_truncate: rec(MP_OP_TRUNCATE, AT_FDCWD, p0, 0, f, e); break;
		case SYS_chmod: rec(MP_OP_CHMOD, AT_FDCWD, p0, 0, f, e); break;
		case SYS_fchmodat: rec(MP_OP_CHMOD, d0, p1, 0, f, e); break;
		case SYS_chown:
		case SYS_lchown: rec(MP_OP_CHOWN, AT_FDCWD, p0, 0, f, e); break;
		case SYS_fchownat: rec(MP_OP_CHOWN, d0, p1, 0, f, e); break;
		case SYS_utime:
		case SYS_utimes: rec(MP_OP_UTIME, AT_FDCWD, p0, 0, f, e); break;
		case SYS_utimensat:
		case SYS_futimesat: rec(MP_OP_UTIME, d0, p1, 0, f, e); break;
		case SYS_mknod: rec(MP_OP_MKNOD, AT_FDCWD, p0, 0, f, e); break;
		case SYS_mknodat: rec(MP_OP_MKNOD, d0, p1, 0, f, e); break;
		default: break;
		}
	}
	errno = e;
	return ret;
}

/* ---- exit: the status, for processes that leave without exit(3) ---- */

EXPORT void _exit(int status)
{
	REAL(_exit);
	if (recording())
		emit_exit(status & 0xff);
	if (r__exit)
		r__exit(status);
	for (;;)
		RAW(SYS_exit_group, status, 0, 0, 0);
}

EXPORT void _Exit(int status)
{
	REAL(_Exit);
	if (recording())
		emit_exit(status & 0xff);
	if (r__Exit)
		r__Exit(status);
	for (;;)
		RAW(SYS_exit_group, status, 0, 0, 0);
}
