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
 * once and its repeats counted under its fold key, FNV-1a 64 (basis and prime below) over the
 * path with its NUL, 8 bytes at a time, little-endian, the last word zero-padded, then over
 * the two words (tgid << 32 | op) and (flags << 32 | err), 0 taken as 1 (mp_fold_key_end();
 * mp_fold_key() in user space). tgid: as the records carry it (magicpak's pid namespace); err:
 * 0 or the positive errno. mp_fold_set() picks the key's set; a key is in one of its MP_BPF_FOLD_WAYS
 * slots, whose count is how many times the access was made. */
#define MP_FNV_BASIS 14695981039346656037ULL
#define MP_FNV_PRIME 1099511628211ULL
#define MP_BPF_FOLD_BITS 12
#define MP_BPF_FOLD_SETS (1U << MP_BPF_FOLD_BITS)
#define MP_BPF_FOLD_WAYS 8

/* The end of a fold key: @h, the hash of the path, over the access's other fields. */
static inline __u64 mp_fold_key_end(__u64 h, __u32 tgid, __u32 op, __u32 flags, __s32 err)
{
	h = (h ^ ((__u64)tgid << 32 | op)) * MP_FNV_PRIME;
	h = (h ^ ((__u64)flags << 32 | (__u32)err)) * MP_FNV_PRIME;
	return h ? h : 1;
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

/* The set of fold key @k: the top bits of @k mixed (murmur3's finalizer). FNV's last steps
 * hardly reach the top bits, so without it the keys of one path with other ops, flags or
 * errors all fell in the same set. */
static inline __u32 mp_fold_set(__u64 k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return (__u32)(k >> (64 - MP_BPF_FOLD_BITS));
}

struct fold_slot {
	__u64 key;
	__u64 count;
};
struct fold_set { /* two cache lines: a repeat in the first four slots reads one */
	struct fold_slot slot[MP_BPF_FOLD_WAYS];
};

/* The probe's "tables" map: its one value, mapped by user space. */
struct mp_bpf_tables {
	/* magicpak's tgid in the root namespace, set by the seeding call; read by every syscall
	 * of the machine, so on a cache line of its own, away from the counters' atomic adds */
	__u64 parent_tgid;
	__u64 pad[7];
	__u64 counters[8];   /* enum mp_bpf_counter */
	struct fold_set sets[MP_BPF_FOLD_SETS]; /* from the third cache line on */
};

/* parent_tgid of a probe no run owns (a lingering one, collector/probe.c): no process has
 * this id, so no fork matches it, and every syscall returns after the bit test. */
#define MP_BPF_IDLE_TGID 0xffffffffULL

/* Process ids the probe can follow: Linux's PID_MAX_LIMIT on 64-bit machines. */
#define MP_BPF_PID_LIMIT (4U * 1024 * 1024)

#endif /* BPF_OPENAT_H */
