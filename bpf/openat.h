/* SPDX-License-Identifier: MIT */
/* bpf/openat.h - what the probe's kernel side (openat.bpf.c) and user side (collector/probe.c)
 * share besides include/event.h: the counters, the seeding call and the fold table. Includes
 * nothing but, in user space, <string.h>. */
#ifndef BPF_OPENAT_H
#define BPF_OPENAT_H

/* Indexes of the "counters" array (repeats are counted in the fold table). */
enum mp_bpf_counter {
	MP_BPF_DROPPED = 0,    /* records the ring buffer had no room for */
	MP_BPF_UNREADABLE = 1, /* path strings that could not be read, even at sys_exit */
	MP_BPF_TRUNCATED = 2,  /* paths longer than MP_BPF_PATH_MAX - 1 bytes */
	MP_BPF_SENT = 3,       /* records put in the ring buffer */
	MP_BPF_IO_URING = 4,   /* io_uring_setup calls: opens through the ring are unseen */
	MP_BPF_NCOUNTERS
};

#define MP_BPF_PATH_MAX 4096
/* An exec record (MP_REC_PROC_EXEC) carries the new program's argv as the kernel laid it out
 * (mm->arg_start..arg_end), cut at this many bytes: after its path, an empty cwd (the probe
 * does not know it), then the argv strings. */
#define MP_BPF_ARGS_MAX 4096

/* The process that calls openat(MP_BPF_SEED_DFD, NULL, cookie) is followed: its children (not
 * itself) are recorded. The cookie is chosen at random per probe and set before load. */
#define MP_BPF_SEED_DFD (-7331)


/* MP_REC_ACCESS from the probe: the low 32 bits of aux are the dirfd (AT_FDCWD for the cwd) the
 * path is relative to, the high 32 bits the syscall's result (the fd of an open; -1 on error);
 * op MP_OP_CHDIR with flags MP_BPF_FCHDIR and an empty path is fchdir(dirfd). Opens with
 * O_DIRECTORY or O_PATH are never folded, so that user space knows every directory fd. */
#define MP_BPF_FCHDIR 0x80000000U
/* op MP_OP_OPEN with flags MP_BPF_DUPFD and an empty path: dup(dirfd) gave the result fd. */
#define MP_BPF_DUPFD 0x40000000U

/* The fold table (in the "tables" map of openat.bpf.c): an access of an absolute path is sent
 * once and its repeats counted under its fold key. The key: FNV-1a 64 (basis and prime below)
 * over the path with its NUL, 8 bytes at a time, little-endian, the last word zero-padded,
 * then over the two words (tgid << 32 | op) and (flags << 32 | err), mixed (murmur3's
 * finalizer: FNV's last steps hardly reach the top bits) and cut to its top 47 bits, 0 taken
 * as the lowest of them (mp_fold_key_end(); mp_fold_key() in user space). tgid: 0, so that
 * an access is sent once a session and the repeats of every process of the session are
 * counted on it; with `record --bpf-per-process` (fold_by_process) the tgid the records
 * carry (magicpak's pid namespace), one access a process. err: 0 or the positive errno.
 *
 * A slot is one word: the key over a 17-bit count of how many times the access was made (a
 * count that passes 0xffff carries into its top bit, which the program that carried moves at
 * once into the slot's word of wraps: count = (slot & MP_BPF_FOLD_COUNT) + wraps * MP_BPF_FOLD_CARRY). A set
 * is 8 slots, one cache line. A key is looked for in its set of the small first level, and if
 * that set is full, in its set of the second: W4's 4,000 keys sit on about 1,050 lines instead
 * of 2,500 (the table was 4,096 sets of 16-byte slots, 2 lines a set), and the program took 99
 * ns a call instead of 106 (README). A key whose two sets are full is sent again each time. */
#define MP_FNV_BASIS 14695981039346656037ULL
#define MP_FNV_PRIME 1099511628211ULL
#define MP_BPF_FOLD_WAYS 8
#define MP_BPF_FOLD_L0_BITS 10 /* first level: 1,024 sets (64 KiB) */
#define MP_BPF_FOLD_L1_BITS 12 /* second level: 4,096 sets (256 KiB) */
#define MP_BPF_FOLD_L0_SLOTS ((1U << MP_BPF_FOLD_L0_BITS) * MP_BPF_FOLD_WAYS)
#define MP_BPF_FOLD_SLOTS (MP_BPF_FOLD_L0_SLOTS + (1U << MP_BPF_FOLD_L1_BITS) * MP_BPF_FOLD_WAYS)
#define MP_BPF_FOLD_COUNT_BITS 17     /* a slot's count (its top bit: a carry not yet moved) */
#define MP_BPF_FOLD_COUNT ((1ULL << MP_BPF_FOLD_COUNT_BITS) - 1)
#define MP_BPF_FOLD_CARRY (1ULL << (MP_BPF_FOLD_COUNT_BITS - 1))
#define MP_BPF_FOLD_KEY (~MP_BPF_FOLD_COUNT)

/* The end of a fold key: @h, the hash of the path, over the access's other fields. */
static inline __u64 mp_fold_key_end(__u64 h, __u32 tgid, __u32 op, __u32 flags, __s32 err)
{
	h = (h ^ ((__u64)tgid << 32 | op)) * MP_FNV_PRIME;
	h = (h ^ ((__u64)flags << 32 | (__u32)err)) * MP_FNV_PRIME;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	h &= MP_BPF_FOLD_KEY;
	return h ? h : MP_BPF_FOLD_COUNT + 1;
}

/* The first slot of key @k's set on level 0 and on level 1 (independent bits of the key). */
static inline __u32 mp_fold_set0(__u64 k)
{
	return (__u32)(k >> (64 - MP_BPF_FOLD_L0_BITS)) * MP_BPF_FOLD_WAYS;
}

static inline __u32 mp_fold_set1(__u64 k)
{
	return MP_BPF_FOLD_L0_SLOTS +
	       (__u32)((k >> MP_BPF_FOLD_COUNT_BITS) & ((1U << MP_BPF_FOLD_L1_BITS) - 1)) * MP_BPF_FOLD_WAYS;
}

#ifndef __bpf__
#include <string.h>

/* The fold key of an access of @path, as openat.bpf.c computes it from the path it read. */
static inline __u64 mp_fold_key(const char *path, __u32 tgid, __u32 op, __u32 flags, __s32 err)
{
	size_t len = strlen(path) + 1;
	__u64 h = MP_FNV_BASIS;

	for (size_t off = 0; off < len; off += 8) {
		__u64 w = 0; /* little-endian, the last word zero-padded */

		memcpy(&w, path + off, len - off < 8 ? len - off : 8);
		h = (h ^ w) * MP_FNV_PRIME;
	}
	return mp_fold_key_end(h, tgid, op, flags, err);
}
#endif

/* The probe's "tables" map: its one value, mapped by user space. */
struct mp_bpf_tables {
	/* magicpak's tgid in the root namespace, set by the seeding call; read by every syscall
	 * of the machine, so on a cache line of its own, away from the counters' atomic adds */
	__u64 parent_tgid;
	/* set by user space before the seeding call: fold each process's accesses apart (the
	 * tgid in the fold key) rather than the session's together; read with parent_tgid */
	__u64 fold_by_process;
	__u64 pad[6];
	__u64 counters[8];   /* enum mp_bpf_counter */
	__u64 slots[MP_BPF_FOLD_SLOTS]; /* from the third cache line on: sets on cache lines */
	__u32 wraps[MP_BPF_FOLD_SLOTS]; /* per slot: how many times its count passed 0xffff */
};

/* parent_tgid of a probe no run owns (a lingering one, collector/probe.c): no process has
 * this id, so no fork matches it, and every syscall returns after the bit test. */
#define MP_BPF_IDLE_TGID 0xffffffffULL
/* parent_tgid of a probe whose run died (collector/probe.c: kill_orphaned_tree()): its tree
 * is still followed, but no process, not one that reuses the dead run's id, is its parent. */
#define MP_BPF_ORPHAN_TGID 0xfffffffeULL

/* Process ids the probe can follow: Linux's PID_MAX_LIMIT on 64-bit machines. */
#define MP_BPF_PID_LIMIT (4U * 1024 * 1024)

#endif /* BPF_OPENAT_H */
