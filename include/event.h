/* SPDX-License-Identifier: MIT */
/* include/event.h - the file-access record shared by every source (tracer, preload, BPF)
 * and the store. Includes nothing and uses __u32/__u64 so it compiles after either
 * vmlinux.h or <linux/types.h>. */
#ifndef INCLUDE_EVENT_H
#define INCLUDE_EVENT_H

#define MP_EVENT_VERSION 1

/* What was done to a path. The numbers are stored in the database: never renumber. */
enum mp_op {
	MP_OP_OPEN = 1,     /* open, openat, openat2, creat (flags: the open flags) */
	MP_OP_EXEC = 2,     /* execve, execveat */
	MP_OP_STAT = 3,     /* stat, lstat, newfstatat, statx (flags: AT_SYMLINK_NOFOLLOW if l*) */
	MP_OP_ACCESS = 4,   /* access, faccessat, faccessat2 (flags: the mode) */
	MP_OP_READLINK = 5, /* readlink, readlinkat */
	MP_OP_CHDIR = 6,    /* chdir, fchdir */
	MP_OP_MKDIR = 7,    /* mkdir, mkdirat */
	MP_OP_UNLINK = 8,   /* unlink, unlinkat, rmdir (flags: AT_REMOVEDIR for a directory) */
	MP_OP_RENAME_FROM = 9,  /* rename, renameat, renameat2: the old name */
	MP_OP_RENAME_TO = 10,   /* ... the new name */
	MP_OP_LINK_FROM = 11,   /* link, linkat: the existing name */
	MP_OP_LINK_TO = 12,     /* ... the new name */
	MP_OP_SYMLINK = 13,     /* symlink, symlinkat: the link created (the target is not a path access) */
	MP_OP_TRUNCATE = 14,
	MP_OP_CHMOD = 15,   /* chmod, fchmodat */
	MP_OP_CHOWN = 16,   /* chown, lchown, fchownat */
	MP_OP_UTIME = 17,   /* utime, utimes, utimensat, futimesat */
	MP_OP_MKNOD = 18,   /* mknod, mknodat */
	MP_OP_READDIR = 19, /* getdents64 on a directory fd: the directory */
	MP_OP_DLOPEN = 20,  /* dlopen (preload only) */
	MP_OP_MAX
};

/* Where an event came from. Stored in the database: never renumber. */
enum mp_source {
	MP_SRC_PTRACE = 1,
	MP_SRC_PRELOAD = 2,
	MP_SRC_BPF = 3,
};

#endif /* INCLUDE_EVENT_H */
