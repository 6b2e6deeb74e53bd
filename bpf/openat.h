/* SPDX-License-Identifier: MIT */
/* bpf/openat.h - what the probe's kernel side (openat.bpf.c) and user side (collector/probe.c)
 * share besides include/event.h: the counters and the seeding call. Includes nothing. */
#ifndef BPF_OPENAT_H
#define BPF_OPENAT_H

/* Indexes of the per-CPU "counters" map. */
enum mp_bpf_counter {
	MP_BPF_DROPPED = 0,    /* records the ring buffer had no room for */
	MP_BPF_UNREADABLE = 1, /* path strings that could not be read, even at sys_exit */
	MP_BPF_TRUNCATED = 2,  /* paths longer than MP_BPF_PATH_MAX - 1 bytes */
	MP_BPF_REPEATS = 3,    /* accesses folded into an earlier identical one in the kernel */
	MP_BPF_SENT = 4,       /* records put in the ring buffer */
	MP_BPF_IO_URING = 5,   /* io_uring_setup calls: opens through the ring are unseen */
	MP_BPF_NCOUNTERS
};

#define MP_BPF_PATH_MAX 4096

/* The process that calls openat(MP_BPF_SEED_DFD, NULL, cookie) is followed: its children (not
 * itself) are recorded. The cookie is chosen at random per probe and set before load. */
#define MP_BPF_SEED_DFD (-7331)

/* Values of the "tracked" map. */
#define MP_BPF_TRACK_RECORD 1 /* a process of the recorded tree */
#define MP_BPF_TRACK_PARENT 2 /* magicpak itself: its children are followed, it is not */

/* MP_REC_ACCESS from the probe: the low 32 bits of aux are the dirfd (AT_FDCWD for the cwd) the
 * path is relative to, the high 32 bits the syscall's result (the fd of an open; -1 on error);
 * op MP_OP_CHDIR with flags MP_BPF_FCHDIR and an empty path is fchdir(dirfd). Opens with
 * O_DIRECTORY or O_PATH are never folded, so that user space knows every directory fd. */
#define MP_BPF_FCHDIR 0x80000000U
/* op MP_OP_OPEN with flags MP_BPF_DUPFD and an empty path: dup(dirfd) gave the result fd. */
#define MP_BPF_DUPFD 0x40000000U

/* The key of the "seen" map, where the probe folds repeats of an access of an absolute path
 * (the value: how many times it was made). hash: FNV-1a of the path with its NUL, 8 bytes at
 * a time, the last word zero-padded (probe_path_hash() in user space); tgid: in the root pid
 * namespace; err: 0 or the positive errno. */
struct seen_key {
	__u64 hash;
	__u32 tgid;
	__u32 op;
	__u32 flags;
	__s32 err;
};

#endif /* BPF_OPENAT_H */
