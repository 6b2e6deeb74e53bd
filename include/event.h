/* SPDX-License-Identifier: MIT */
/* include/event.h - the file-access record shared by every source (tracer, preload, BPF)
 * and the store. Includes nothing and uses __u32/__u64 so it compiles after either
 * vmlinux.h or <linux/types.h>. */
#ifndef INCLUDE_EVENT_H
#define INCLUDE_EVENT_H

#define MP_EVENT_VERSION 1

/* User space without <linux/types.h> (or vmlinux.h) before this file: the same typedefs
 * (C11 allows repeating an identical typedef, so a later <linux/types.h> is fine). */
#if !defined(__VMLINUX_H__) && !defined(_ASM_GENERIC_INT_LL64_H)
typedef unsigned int __u32;
typedef unsigned long long __u64;
#endif

/* What was done to a path. The numbers are stored in the database: never renumber. */
enum mp_op {
	MP_OP_OPEN = 1,     /* open, openat, openat2, creat, uselib (flags: the open flags) */
	MP_OP_EXEC = 2,     /* execve, execveat */
	MP_OP_STAT = 3,     /* stat, lstat, newfstatat, statx, name_to_handle_at (flags:
			     * AT_SYMLINK_NOFOLLOW if l*) */
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
	/* ptrace only (the preload library and the probe do not see these): */
	MP_OP_CONNECT = 21, /* connect to an AF_UNIX socket by path (not an abstract name) */
	MP_OP_BIND = 22,    /* bind an AF_UNIX socket to a path: creates the socket file */
	MP_OP_WATCH = 23,   /* inotify_add_watch, fanotify_mark (flags: AT_SYMLINK_NOFOLLOW if the
			     * mark does not follow a final symlink) */
	MP_OP_XATTR = 24,   /* getxattr, setxattr, listxattr, removexattr, their l* and *at forms
			     * (flags: O_WRONLY for set/remove, else 0; AT_SYMLINK_NOFOLLOW for l*) */
	MP_OP_MOUNT = 25,   /* mount, move_mount, mount_setattr, fspick: the mount point
			     * (flags: mount's MS_* flags, else 0) */
	MP_OP_MOUNT_FROM = 26, /* mount's source if a path (bind, move, a device), move_mount's,
				* open_tree: what is mounted (flags as MP_OP_MOUNT) */
	MP_OP_UMOUNT = 27,  /* umount, umount2 (flags: the umount flags) */
	MP_OP_MAX
};

/* A bit in the flags of a stored access: another thread of the process changed the path
 * while the call ran, so the kernel may have used another name than the one stored (ptrace;
 * a successful open is stored with the file it really opened instead). */
#define MP_FLAG_RACED 0x80000000u

/* Where an event came from. Stored in the database: never renumber. */
enum mp_source {
	MP_SRC_PTRACE = 1,
	MP_SRC_PRELOAD = 2,
	MP_SRC_BPF = 3,
};

/* The wire record: what the preload library (and later the BPF probe) sends to the collector,
 * one record per datagram. A fixed header, then len - sizeof(header) bytes of payload:
 *   MP_REC_ACCESS      the path, NUL-terminated (op, flags, err as for the store)
 *   MP_REC_PROC_START  the cwd, NUL-terminated (aux: the parent pid)
 *   MP_REC_PROC_EXEC   the executable path, the cwd, then each argv string, all NUL-terminated
 *                      (aux: the parent pid)
 *   MP_REC_PROC_EXIT   nothing (err: the exit status)
 *   MP_REC_GAP         the path whose accesses cannot be seen, NUL-terminated (op: MP_OP_EXEC,
 *                      flags: enum mp_gap)
 *   MP_REC_LOST        nothing (aux: how many records this process could not send)
 * Integers are in host byte order: sender and collector share one machine. */
#define MP_WIRE_MAGIC 0x4b50504dU /* "MPPK" read as little-endian bytes */
#define MP_WIRE_MAX 65536          /* the largest record a collector must accept */

enum mp_rec_kind {
	MP_REC_ACCESS = 1,
	MP_REC_PROC_START = 2,
	MP_REC_PROC_EXEC = 3,
	MP_REC_PROC_EXIT = 4,
	MP_REC_GAP = 5,
	MP_REC_LOST = 6,
	MP_REC_MAX
};

/* Why a program runs unseen (MP_REC_GAP flags). */
enum mp_gap {
	MP_GAP_STATIC = 1,    /* no PT_INTERP: the loader, and so LD_PRELOAD, never runs */
	MP_GAP_SETUID = 2,    /* set-user/group-ID or file capabilities: AT_SECURE drops LD_PRELOAD */
	MP_GAP_ENV = 3,       /* exec with an environment that lost LD_PRELOAD or MAGICPAK_SOCKET */
	MP_GAP_USER = 4,      /* exec by a process that became another user (setpriv, su, a
			       * server dropping root): the new program cannot reach the socket */
	MP_GAP_ABI = 5,       /* a program of another ABI (i386 on x86-64): its ld.so cannot load
			       * the library, built for the host's */
	MP_GAP_AWAY = 6,      /* exec where the socket or the library is not there (a chroot,
			       * another mount namespace, a removed socket directory) */
};

struct mp_wire {
	__u32 magic;   /* MP_WIRE_MAGIC */
	__u32 version; /* MP_EVENT_VERSION */
	__u32 len;     /* the whole record: header and payload */
	__u32 kind;    /* enum mp_rec_kind */
	__u32 op;      /* enum mp_op (MP_REC_ACCESS, MP_REC_GAP) */
	__u32 pid;     /* thread group id */
	__u32 tid;
	__u32 err;     /* 0 or the positive errno; PROC_EXIT: the exit status */
	__u32 flags;
	__u32 source;  /* enum mp_source */
	__u64 time_ns; /* CLOCK_REALTIME */
	__u64 aux;     /* see the kinds above */
};

_Static_assert(sizeof(struct mp_wire) == 56, "struct mp_wire is part of the wire format");

#endif /* INCLUDE_EVENT_H */
