// SPDX-License-Identifier: MIT OR GPL-2.0
/* bpf/openat.bpf.c - the kernel side of `magicpak record --bpf` / `--via bpf` (CO-RE, libbpf).
 *
 * Follows exactly the descendants of the recorded command: a bitmap of tracked tgids (root pid
 * namespace ids), children of magicpak (whose tgid the seeding call gives) or of a tracked
 * process added in sched_process_fork (in the parent's context, before the child runs) and
 * removed in sched_process_exit. Every open/exec/stat/access/chdir syscall of a tracked
 * process is seen at sys_exit only: the arguments are still in the saved registers, and the
 * path string is read after the kernel's getname() has faulted its page in (RELIABILITY
 * BPF-01); a read that still fails is counted. One program on every syscall instead of two
 * was a third of the probe's cost per syscall. Absolute paths are de-duplicated here (first
 * sighting of (tgid, path, op, flags, result) with a count, in the fold table), so the ring
 * buffer carries little; relative paths always go to user space, which resolves them against
 * the process's cwd or dirfd.
 * Records use include/event.h's struct mp_wire; a record the ring buffer has no room for is
 * counted. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "event.h"
#include "openat.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define AT_FDCWD_ (-100)
#define AT_SYMLINK_NOFOLLOW_ 0x100
#if defined(__TARGET_ARCH_arm64)
#define O_DIRECTORY_ 040000 /* asm-generic's 0200000 is O_DIRECT on arm64 */
#else
#define O_DIRECTORY_ 0200000
#endif
#define O_PATH_ 010000000

/* Set by user space before load. */
const volatile __u32 ns_level = 0;    /* level of magicpak's pid namespace (0: the root) */
const volatile __u64 seed_cookie = 0;

/* The processes of the recorded tree, one bit per root-namespace tgid (user space sizes it to
 * pid_max): the question every syscall asks, answered by one load where a hash map took a
 * lookup (and a process's start and end an allocation and a free). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MP_BPF_PID_LIMIT / 64);
	__uint(map_flags, BPF_F_MMAPABLE); /* cleared by a lingering probe (collector/probe.c) */
	__type(key, __u32);
	__type(value, __u64);
} track_bits SEC(".maps");

/* The counters and the fold table (openat.h), in a map user space maps and reads without a
 * system call. Not .bss: libbpf would copy a zeroed image of it into the kernel at load
 * (1.9 ms). The fold table: accesses already sent, by their fold key, with their counts. A
 * repeat reads one cache line, where a hash map read a bucket and an element (a quarter of
 * W4's overhead); an access whose two sets are full is sent again. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mp_bpf_tables);
} tables SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* user space may resize it before load */
} events SEC(".maps");

struct scratch {
	struct mp_wire h;
	char path[MP_BPF_PATH_MAX];
	char args[MP_BPF_ARGS_MAX]; /* an exec's: its argv goes on from its path (on_exec) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} heap SEC(".maps");

static __always_inline struct mp_bpf_tables *get_tables(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tables, &zero);
}

/* Rare events (sends, drops): shared counters, atomic. */
static __always_inline void count(__u32 idx)
{
	struct mp_bpf_tables *t = get_tables();

	if (t && idx < MP_BPF_NCOUNTERS)
		__sync_fetch_and_add(&t->counters[idx], 1);
}

/* Is the probe idle (no run owns it: collector/probe.c resets a lingering one)? Then no fork
 * adds a process: a fork that read its parent's bit before user space cleared the bitmap
 * would set its child's again, and the next run would follow it. (Anything else an old
 * process does meanwhile is cleared after: its folds and counts, its records drained.) */
static __always_inline bool idle(void)
{
	struct mp_bpf_tables *t = get_tables();

	return !t || t->parent_tgid == MP_BPF_IDLE_TGID;
}

static __always_inline bool is_tracked(__u32 tgid)
{
	__u32 idx = tgid / 64;
	__u64 *w = bpf_map_lookup_elem(&track_bits, &idx);

	return w && (*w >> (tgid % 64)) & 1;
}

/* A process whose id is past the bitmap (pid_max raised during the run) is not followed:
 * counted as a drop, which makes the session incomplete. */
static __always_inline void set_tracked(__u32 tgid, bool on)
{
	__u32 idx = tgid / 64;
	__u64 *w = bpf_map_lookup_elem(&track_bits, &idx);

	if (!w) {
		if (on)
			count(MP_BPF_DROPPED);
		return;
	}
	if (on)
		__sync_fetch_and_or(w, 1ULL << (tgid % 64));
	else
		__sync_fetch_and_and(w, ~(1ULL << (tgid % 64)));
}

/* The id of @p (a struct pid) as magicpak's pid namespace sees it. */
static __always_inline __u32 ns_nr(struct pid *p, __u32 root_nr)
{
	unsigned int level;
	__u32 l = ns_level;
	int nr = 0;

	if (!l)
		return root_nr;
	level = BPF_CORE_READ(p, level);
	if (l > level || l > 31)
		return 0;
	bpf_core_read(&nr, sizeof(nr), &p->numbers[l].nr);
	return (__u32)nr;
}

static __always_inline __u32 task_ns_tgid(struct task_struct *t)
{
	return ns_nr(BPF_CORE_READ(t, group_leader, thread_pid), BPF_CORE_READ(t, tgid));
}

static __always_inline __u32 task_ns_tid(struct task_struct *t)
{
	return ns_nr(BPF_CORE_READ(t, thread_pid), BPF_CORE_READ(t, pid));
}

/* Fill the record header in @s for a record of @kind about task @t. */
static __always_inline void header_init(struct scratch *s, __u32 kind, struct task_struct *t)
{
	s->h.magic = MP_WIRE_MAGIC;
	s->h.version = MP_EVENT_VERSION;
	s->h.len = sizeof(s->h);
	s->h.kind = kind;
	s->h.op = 0;
	s->h.pid = task_ns_tgid(t);
	s->h.tid = task_ns_tid(t);
	s->h.err = 0;
	s->h.flags = 0;
	s->h.source = MP_SRC_BPF;
	s->h.time_ns = bpf_ktime_get_boot_ns();
	s->h.aux = 0;
}

static __always_inline struct scratch *scratch_init(__u32 kind, struct task_struct *t)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&heap, &zero);

	if (s)
		header_init(s, kind, t);
	return s;
}

/* Send the record in @s with @n bytes of payload; 0 or a negative errno (counted). @wake:
 * wake user space now, whatever the ring holds. */
static __always_inline long send(struct scratch *s, long n, bool wake)
{
	__u64 size = sizeof(s->h) + (__u64)n;
	long ret;

	if (size > sizeof(*s))
		size = sizeof(*s);
	s->h.len = (__u32)size;
	/* No wake-up per record: user space polls every 25-100 ms, and waking it is an IPI
	 * (50-100 us on these VMs, paid by the traced program). Past half full it is woken. */
	ret = bpf_ringbuf_output(&events, s, size,
				 wake || bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >
						 bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 2
					 ? BPF_RB_FORCE_WAKEUP
					 : BPF_RB_NO_WAKEUP);
	count(ret ? MP_BPF_DROPPED : MP_BPF_SENT);
	return ret;
}

struct hash_ctx {
	struct scratch *s;
	long n;
	__u64 h;
};

/* Hash the @i-th 32 bytes of the path into @c->h: 1 when the path is done, 0 if it goes on. */
static __always_inline long hash_chunk(struct hash_ctx *c, __u32 i)
{
	/* i < MP_BPF_PATH_MAX / 32 (a power of two): the mask changes nothing but shows the
	 * verifier the bound */
	__u32 off = (i * 32) & (MP_BPF_PATH_MAX - 32);
	long rem = c->n - (long)off;
	__u64 h = c->h, w;
	int j;

	if (rem <= 0)
		return 1;
#pragma unroll
	for (j = 0; j < 4; j++) {
		w = *(__u64 *)(c->s->path + off + j * 8);
		if (rem < 8)
			w &= (1ULL << (rem * 8)) - 1;
		h ^= w;
		h *= MP_FNV_PRIME;
		rem -= 8;
		if (rem <= 0)
			break;
	}
	c->h = h;
	return rem <= 0;
}

/* bpf_loop's step past the first 64 bytes */
static long hash_rest(__u32 i, void *arg)
{
	return hash_chunk(arg, i + 2);
}

/* FNV-1a over the @n bytes (NUL included) of @s->path, 8 bytes at a time (openat.h). The
 * first 64 bytes inline, most paths whole; the rest through bpf_loop, whose step the verifier
 * checks once where an unrolled loop had it check 128 (a good part of the probe's start-up).
 * The loop alone cost every path 10 ns more (W4: 4 ms). Global, so that the verifier checks
 * its branches once, not once more for each way through on_call() (0.6 ms a load). */
__attribute__((noinline)) __u64 path_hash(struct scratch *s, long n)
{
	struct hash_ctx c = { .s = s, .n = n, .h = MP_FNV_BASIS };

	if (!s)
		return 0;
	if (!hash_chunk(&c, 0) && !hash_chunk(&c, 1))
		bpf_loop(MP_BPF_PATH_MAX / 32 - 2, hash_rest, &c, 0);
	return c.h;
}

#define FOLD_REPEAT (-1)
#define FOLD_FULL (-2)

/* Look @key up in the set whose first slot is @first: FOLD_REPEAT (its count is raised),
 * FOLD_FULL (not there, no room), or the slot it now holds (send it). Slots are claimed with a
 * compare-and-swap, so two CPUs that meet the same new access send it once. */
static __always_inline int fold_set(struct mp_bpf_tables *t, __u32 first, __u64 key)
{
	int w;

#pragma unroll
	for (w = 0; w < MP_BPF_FOLD_WAYS; w++) {
		__u32 i = first + w; /* in bounds: mp_fold_set0/1() */
		__u64 v = *(volatile __u64 *)&t->slots[i];

		if (v == 0) {
			v = __sync_val_compare_and_swap(&t->slots[i], 0, key | 1);
			if (v == 0)
				return (int)i;
		}
		if ((v & MP_BPF_FOLD_KEY) == key) {
			v = __sync_fetch_and_add(&t->slots[i], 1);
			/* the count passed 0xffff: its carry goes to the slot's wraps (another
			 * 65,535 repeats of the one key before this line are not possible) */
			if ((v & (MP_BPF_FOLD_CARRY - 1)) == MP_BPF_FOLD_CARRY - 1) {
				__sync_fetch_and_add(&t->slots[i], -MP_BPF_FOLD_CARRY);
				__sync_fetch_and_add(&t->wraps[i], 1);
			}
			return FOLD_REPEAT;
		}
	}
	return FOLD_FULL;
}

/* Fold @key (openat.h): in its set of the first level, or if that is full, of the second.
 * Global, like on_call(): inlined, each of its outcomes had the verifier check the rest of
 * on_call() again. */
__attribute__((noinline)) int fold(__u64 key)
{
	struct mp_bpf_tables *t = get_tables();
	int r;

	if (!t)
		return FOLD_FULL;
	r = fold_set(t, mp_fold_set0(key), key);
	return r != FOLD_FULL ? r : fold_set(t, mp_fold_set1(key), key);
}

/* A record that could not be sent frees its slot, so that a later access is sent. Global:
 * inlined, the slot came back from the stack past its bounds check. */
__attribute__((noinline)) int unfold(__u32 slot, __u64 key)
{
	struct mp_bpf_tables *t = get_tables();
	__u64 v;

	if (!t || slot >= MP_BPF_FOLD_SLOTS)
		return 0;
	v = *(volatile __u64 *)&t->slots[slot];
	if ((v & MP_BPF_FOLD_KEY) == key)
		__sync_val_compare_and_swap(&t->slots[slot], v, 0);
	return 0;
}

/* The syscall of a tracked process (@op on the path at @ptr, relative to @dfd, with @flags)
 * returned @ret: read its path, fold or send it. A global function, so that the verifier
 * checks it once, not once for each syscall sys_exit() knows. */
__attribute__((noinline)) int on_call(long ret, __u32 op, __s64 dfd, __u64 ptr, __u32 flags)
{
	struct scratch *s;
	__u32 zero = 0, tgid;
	long n = 1;
	__s32 err = ret < 0 ? (__s32)-ret : 0;
	int slot;
	__u64 key;

	/* the header (a dozen kernel reads) is filled only for a record that is sent, not for
	 * the repeats folded below, most accesses of a busy program */
	s = bpf_map_lookup_elem(&heap, &zero);
	if (!s)
		return 0;
	if (ptr) {
		n = bpf_probe_read_user_str(s->path, sizeof(s->path), (const void *)ptr);
		if (n <= 0) {
			/* EFAULT from the syscall itself (a bad pointer) is the program's error */
			if (ret != -14)
				count(MP_BPF_UNREADABLE);
			return 0;
		}
		if (n >= MP_BPF_PATH_MAX) {
			count(MP_BPF_TRUNCATED);
			return 0;
		}
		if (n == 1) /* "" with AT_EMPTY_PATH: an fd, not a path */
			return 0;
	} else {
		s->path[0] = '\0';
	}
	/* relative paths, chdir, and directories opened (their fd may be a later dirfd) always
	 * go to user space */
	if (s->path[0] != '/' || op == MP_OP_CHDIR ||
	    (op == MP_OP_OPEN && (flags & (O_DIRECTORY_ | O_PATH_)))) {
		slot = FOLD_FULL;
		key = 0;
	} else {
		struct mp_bpf_tables *t = get_tables();

		/* A session's accesses fold together (tgid 0): the first process to make one
		 * sends it, the others' repeats are counted on it. Per process, the tgid the
		 * records carry (magicpak's pid namespace), so that user space can compute the
		 * same key. */
		tgid = 0;
		if (t && t->fold_by_process)
			tgid = ns_level ? task_ns_tgid(bpf_get_current_task_btf())
					: (__u32)(bpf_get_current_pid_tgid() >> 32);
		key = mp_fold_key_end(path_hash(s, n), tgid, op, flags, err);
		slot = fold(key);
		if (slot == FOLD_REPEAT)
			return 0;
	}
	/* the header of an access record: aux is the dirfd and the syscall's result */
	header_init(s, MP_REC_ACCESS, bpf_get_current_task_btf());
	s->h.op = op;
	s->h.flags = flags;
	s->h.err = (__u32)err;
	s->h.aux = (__u64)(__u32)dfd | (__u64)(__u32)(ret < 0 ? -1 : ret) << 32;
	if (send(s, n, false) && slot >= 0)
		unfold((__u32)slot, key);
	return 0;
}

/* Syscall numbers: the probe attaches to the raw sys_exit tracepoint (a link that detaches at
 * once, where 20 per-syscall tracepoints each wait for an RCU grace period when detached,
 * ~0.1 s apiece) and picks the syscalls here. */
#if defined(__TARGET_ARCH_x86)
#define NR_open 2
#define NR_stat 4
#define NR_lstat 6
#define NR_access 21
#define NR_dup 32
#define NR_dup2 33
#define NR_execve 59
#define NR_fcntl 72
#define NR_chdir 80
#define NR_fchdir 81
#define NR_creat 85
#define NR_openat 257
#define NR_newfstatat 262
#define NR_faccessat 269
#define NR_dup3 292
#define NR_execveat 322
#define NR_statx 332
#define NR_openat2 437
#define NR_faccessat2 439
#define NR_io_uring_setup 425
#elif defined(__TARGET_ARCH_arm64)
#define NR_dup 23
#define NR_dup3 24
#define NR_fcntl 25
#define NR_faccessat 48
#define NR_chdir 49
#define NR_fchdir 50
#define NR_openat 56
#define NR_newfstatat 79
#define NR_execve 221
#define NR_execveat 281
#define NR_statx 291
#define NR_openat2 437
#define NR_faccessat2 439
#define NR_io_uring_setup 425
#else
#error "magicpak's BPF probe knows the syscall numbers of x86_64 and arm64 only"
#endif

#if defined(__TARGET_ARCH_x86)
#define SYSCALL_NR(r) ((r)->orig_ax)
#else
#define SYSCALL_NR(r) ((r)->syscallno)
#endif

#if defined(__TARGET_ARCH_x86)
#define TS_COMPAT_ 0x0002 /* thread_info.status: an i386 syscall is running (till user mode) */

/* The x86-64 number of the i386 syscall @nr (int $0x80 from a 64-bit program, or a 32-bit
 * program) among those sys_exit() decodes, whose arguments come in the same order; -1 for
 * the others. Read as its x86-64 namesake, i386's write (4) would be a stat, its close (6)
 * an lstat, its mount (21) an access. Global, so that the verifier checks it once: inlined,
 * each of its results took sys_exit()'s switch through again (1.4 ms more per load). */
__attribute__((noinline)) long i386_nr(long nr)
{
	switch (nr) {
	case 5: return NR_open;
	case 8: return NR_creat;
	case 11: return NR_execve;
	case 12: return NR_chdir;
	case 18: /* oldstat */
	case 106: /* stat */
	case 195: return NR_stat; /* stat64 */
	case 84: /* oldlstat */
	case 107: /* lstat */
	case 196: return NR_lstat; /* lstat64 */
	case 33: return NR_access;
	case 41: return NR_dup;
	case 55: /* fcntl */
	case 221: return NR_fcntl; /* fcntl64 */
	case 63: return NR_dup2;
	case 133: return NR_fchdir;
	case 295: return NR_openat;
	case 300: return NR_newfstatat; /* fstatat64 */
	case 307: return NR_faccessat;
	case 330: return NR_dup3;
	case 358: return NR_execveat;
	case 383: return NR_statx;
	case 425: return NR_io_uring_setup;
	case 437: return NR_openat2;
	case 439: return NR_faccessat2;
	default: return -1;
	}
}

/* The arguments of the syscall at sys_exit: the number and the first five (of its x86-64
 * namesake for an i386 call). */
struct call {
	long nr;
	__u64 a1, a2, a3, a4, a5;
};

/* An i386 syscall passes ebx, ecx, edx, esi, edi (32 bits each: pointers are zero-extended, as
 * the kernel's compat_ptr() does, and an int such as AT_FDCWD is its low half). */
static __always_inline void i386_call(struct call *c, const struct pt_regs *regs)
{
	c->nr = i386_nr((long)regs->orig_ax);
	c->a1 = (__u32)regs->bx;
	c->a2 = (__u32)regs->cx;
	c->a3 = (__u32)regs->dx;
	c->a4 = (__u32)regs->si;
	c->a5 = (__u32)regs->di;
}
#endif

/* The registers are read with plain loads from the task's saved registers (a pointer whose
 * type the verifier knows), where a copy of the whole struct took a helper call (168 bytes,
 * each syscall of a recorded process). A tp_btf program would get that pointer as its
 * argument, but libbpf would then read and parse the running kernel's whole BTF at every
 * load (23 ms). */
SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *unused, long ret)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct task_struct *task;
	struct pt_regs *regs;
	struct call c;

	if (!is_tracked(tgid)) {
		struct mp_bpf_tables *t = get_tables();

		/* Every other process of the machine, while we record and linger: once seeded,
		 * it costs a bit test and a load, not a read of its registers. */
		if (!t || t->parent_tgid)
			return 0;
		regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
		/* the seeding call, from magicpak itself */
		if ((long)SYSCALL_NR(regs) == NR_openat &&
		    (int)PT_REGS_PARM1_SYSCALL(regs) == MP_BPF_SEED_DFD &&
		    PT_REGS_PARM2_SYSCALL(regs) == 0 && seed_cookie &&
		    PT_REGS_PARM3_SYSCALL(regs) == seed_cookie)
			t->parent_tgid = tgid;
		return 0;
	}
	/* the syscall number and its arguments, which a syscall never changes (on arm64 the
	 * first is orig_x0, as libbpf's macros know) */
	task = bpf_get_current_task_btf();
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
#if defined(__TARGET_ARCH_x86)
	/* a direct load (a trusted pointer, relocated by CO-RE), not a helper's read; a kernel
	 * whose thread_info has no status (none yet) is asked for a 32-bit program's code
	 * segment instead (__USER32_CS: int $0x80 from 64-bit code is then read as x86-64) */
	if (bpf_core_field_exists(struct thread_info, status)
		    ? task->thread_info.status & TS_COMPAT_
		    : regs->cs == 0x23)
		i386_call(&c, regs);
	else
#endif
	{
		c.nr = (long)SYSCALL_NR(regs);
		c.a1 = PT_REGS_PARM1_SYSCALL(regs);
		c.a2 = PT_REGS_PARM2_SYSCALL(regs);
		c.a3 = PT_REGS_PARM3_SYSCALL(regs);
		c.a4 = PT_REGS_PARM4_SYSCALL(regs);
		c.a5 = PT_REGS_PARM5_SYSCALL(regs);
	}
	/* Each case calls the global on_call(), which the verifier checks once: with the
	 * decoded call in a variable, the code after the switch was checked once a case. */
	switch (c.nr) {
	case NR_openat:
		return on_call(ret, MP_OP_OPEN, (int)c.a1, c.a2,
			       (__u32)c.a3);
	case NR_openat2: {
		struct open_how *how = (struct open_how *)c.a3;
		__u64 flags = 0;

		if (how)
			bpf_probe_read_user(&flags, sizeof(flags), &how->flags);
		return on_call(ret, MP_OP_OPEN, (int)c.a1,
				c.a2, (__u32)flags);
	}
	/* a successful exec is reported by sched_process_exec (the kernel's copy of the name:
	 * at sys_exit this is the new program); this reads the name of a failed one */
	case NR_execve:
		if (ret == 0)
			return 0;
		return on_call(ret, MP_OP_EXEC, AT_FDCWD_, c.a1, 0);
	case NR_execveat:
		if (ret == 0)
			return 0;
		return on_call(ret, MP_OP_EXEC, (int)c.a1,
				c.a2, (__u32)c.a5);
	case NR_newfstatat:
		return on_call(ret, MP_OP_STAT, (int)c.a1,
				c.a2,
				(__u32)c.a4 & AT_SYMLINK_NOFOLLOW_);
	case NR_statx:
		return on_call(ret, MP_OP_STAT, (int)c.a1,
				c.a2,
				(__u32)c.a3 & AT_SYMLINK_NOFOLLOW_);
	case NR_faccessat:
	case NR_faccessat2:
		return on_call(ret, MP_OP_ACCESS, (int)c.a1,
				c.a2, (__u32)c.a3);
	case NR_chdir:
		return on_call(ret, MP_OP_CHDIR, AT_FDCWD_, c.a1, 0);
	case NR_fchdir:
		return on_call(ret, MP_OP_CHDIR, (int)c.a1, 0, MP_BPF_FCHDIR);
	/* fd copies, so that a dirfd made by dup() still names its directory in user space */
	case NR_dup:
	case NR_dup3:
		return on_call(ret, MP_OP_OPEN, (int)c.a1, 0, MP_BPF_DUPFD);
	case NR_fcntl:
		if (c.a2 != 0 /* F_DUPFD */ && c.a2 != 1030 /* F_DUPFD_CLOEXEC */)
			return 0;
		return on_call(ret, MP_OP_OPEN, (int)c.a1, 0, MP_BPF_DUPFD);
#ifdef NR_open
	case NR_open:
		return on_call(ret, MP_OP_OPEN, AT_FDCWD_, c.a1,
				(__u32)c.a2);
	case NR_creat:
		return on_call(ret, MP_OP_OPEN, AT_FDCWD_, c.a1,
				01101 /* O_CREAT|O_WRONLY|O_TRUNC */);
	case NR_stat:
		return on_call(ret, MP_OP_STAT, AT_FDCWD_, c.a1, 0);
	case NR_lstat:
		return on_call(ret, MP_OP_STAT, AT_FDCWD_, c.a1,
				AT_SYMLINK_NOFOLLOW_);
	case NR_access:
		return on_call(ret, MP_OP_ACCESS, AT_FDCWD_, c.a1,
				(__u32)c.a2);
	case NR_dup2:
		return on_call(ret, MP_OP_OPEN, (int)c.a1, 0, MP_BPF_DUPFD);
#endif
	case NR_io_uring_setup:
		/* the ring's opens never pass these tracepoints: the session must say so */
		count(MP_BPF_IO_URING);
		return 0;
	default:
		return 0;
	}
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid), ctgid = BPF_CORE_READ(child, tgid);
	struct mp_bpf_tables *t = get_tables();
	bool in_tree = is_tracked(ptgid);
	struct scratch *s;

	/* threads share the tgid: only new processes */
	if (ptgid == ctgid || !(in_tree || (t && t->parent_tgid == ptgid)) || idle())
		return 0;
	set_tracked(ctgid, true);
	s = scratch_init(MP_REC_PROC_START, child);
	if (!s)
		return 0;
	s->h.aux = in_tree ? task_ns_tgid(parent) : 0; /* 0: the command itself */
	s->path[0] = '\0';
	send(s, 1, false);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct scratch *s;
	long n;

	if (!is_tracked((__u32)(bpf_get_current_pid_tgid() >> 32)))
		return 0;
	s = scratch_init(MP_REC_PROC_EXEC, p);
	if (!s)
		return 0;
	s->h.op = MP_OP_EXEC;
	n = bpf_probe_read_kernel_str(s->path, sizeof(s->path), BPF_CORE_READ(bprm, filename));
	if (n <= 0 || n > MP_BPF_PATH_MAX) {
		count(MP_BPF_UNREADABLE);
		return 0;
	}
	/* The argv the kernel copied onto the new program's stack: present, already written
	 * (copy_strings), so read without a fault; a last string cut short is ended here. */
	{
		unsigned long start = BPF_CORE_READ(p, mm, arg_start);
		unsigned long len = BPF_CORE_READ(p, mm, arg_end) - start;
		char *rest = s->path + n; /* n <= MP_BPF_PATH_MAX: in path or at args[0] */

		rest[0] = '\0'; /* the cwd: not known here */
		if (len > MP_BPF_ARGS_MAX - 1)
			len = MP_BPF_ARGS_MAX - 1;
		if (start && len && !bpf_probe_read_user(rest + 1, len, (const void *)start)) {
			rest[len] = '\0';
			n += 1 + (long)len;
		} else {
			n += 1;
		}
	}
	send(s, n, false);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(on_exit_task, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	struct mp_bpf_tables *t;
	struct scratch *s;

	/* The process ends with its last thread (do_exit() counts signal->live down before
	 * this tracepoint), not with its leader: a leader that called pthread_exit(), or that
	 * another thread's exec killed, leaves the rest of the process to follow. */
	if (BPF_CORE_READ(p, signal, live.counter) != 0 || !is_tracked(tgid))
		return 0;
	set_tracked(tgid, false);
	s = scratch_init(MP_REC_PROC_EXIT, p);
	if (!s)
		return 0;
	s->h.err = (__u32)BPF_CORE_READ(p, exit_code);
	/* The end of a process magicpak started (the command) wakes it at once: it can end the
	 * session while the kernel takes the process down, a millisecond or more for a large
	 * one (collector/record.c, side_tree_over()). */
	t = get_tables();
	send(s, 0, t && (__u64)(__u32)BPF_CORE_READ(p, real_parent, tgid) == t->parent_tgid);
	return 0;
}
