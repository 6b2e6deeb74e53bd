// SPDX-License-Identifier: MIT OR GPL-2.0
/* bpf/openat.bpf.c - the kernel side of `magicpak record --bpf` / `--via bpf` (CO-RE, libbpf).
 *
 * Follows exactly the descendants of the recorded command: a hash map of tracked tgids (root
 * pid namespace ids) seeded with magicpak's own tgid as a parent-only entry, children added
 * in sched_process_fork (in the parent's context, before the child runs) and removed in
 * sched_process_exit. For every open/exec/stat/access/chdir syscall of a tracked process the
 * path pointer is kept at sys_enter and the string read at sys_exit, when the kernel's
 * getname() has faulted the page in (RELIABILITY BPF-01); a read that still fails is counted.
 * Absolute paths are de-duplicated here (first sighting of (tgid, path, op, flags, result)
 * with a count), so the ring buffer carries little; relative paths always go to user space,
 * which resolves them against the process's cwd or dirfd. Records use include/event.h's
 * struct mp_wire; a record the ring buffer has no room for is counted. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "event.h"
#include "openat.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define AT_FDCWD_ (-100)
#define AT_SYMLINK_NOFOLLOW_ 0x100
#define O_DIRECTORY_ 0200000
#define O_PATH_ 010000000

/* Set by user space before load. */
const volatile __u32 ns_level = 0;    /* level of magicpak's pid namespace (0: the root) */
const volatile __u64 seed_cookie = 0;

/* Not preallocated (here and in "seen"): allocating every entry at load was a tenth of the
 * probe's start-up, for maps that mostly stay small. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192); /* processes of the tree alive at once */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u32);
} tracked SEC(".maps");

struct inflight {
	__u64 ptr;
	__u32 op;
	__u32 flags;
	__s64 dfd;
	__u32 active; /* a syscall of ours is under way in this thread */
	__u32 pad;
};

/* per thread (task local storage: no hashing, gone with the thread) */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct inflight);
} inflight SEC(".maps");

/* Accesses already sent. When it is full an access is simply sent again (not folded). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* its bucket array is allocated at load: 16 B each */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct seen_key);
	__type(value, __u64);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* user space may resize it before load */
} events SEC(".maps");

struct scratch {
	struct mp_wire h;
	char path[MP_BPF_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} heap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MP_BPF_NCOUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += 1;
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

/* Send the record in @s with @n bytes of payload; 0 or a negative errno (counted). */
static __always_inline long send(struct scratch *s, long n)
{
	__u64 size = sizeof(s->h) + (__u64)n;
	long ret;

	if (size > sizeof(*s))
		size = sizeof(*s);
	s->h.len = (__u32)size;
	/* No wake-up per record: user space polls every 100 ms, and waking it is an IPI
	 * (50-100 us on these VMs, paid by the traced program). Past half full it is woken. */
	ret = bpf_ringbuf_output(&events, s, size,
				 bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >
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

static long hash_step(__u32 i, void *arg)
{
	struct hash_ctx *c = arg;
	/* i < MP_BPF_PATH_MAX / 8 (a power of two): the mask changes nothing but shows the
	 * verifier the bound */
	__u32 off = (i * 8) & (MP_BPF_PATH_MAX - 8);
	long rem = c->n - (long)off;
	__u64 w;

	if (rem <= 0)
		return 1;
	w = *(__u64 *)(c->s->path + off);
	if (rem < 8)
		w &= (1ULL << (rem * 8)) - 1;
	c->h ^= w;
	c->h *= 1099511628211ULL;
	return 0;
}

/* FNV-1a over the @n bytes (NUL included) of @s->path, 8 bytes at a time. bpf_loop, not an
 * unrolled loop: the verifier checks the step once instead of 512 times, which was a good
 * part of the probe's start-up. */
static __always_inline __u64 path_hash(struct scratch *s, long n)
{
	struct hash_ctx c = { .s = s, .n = n, .h = 14695981039346656037ULL };

	bpf_loop(MP_BPF_PATH_MAX / 8, hash_step, &c, 0);
	return c.h;
}

static __always_inline int on_enter(__u32 op, __s64 dfd, __u64 ptr, __u32 flags)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 *v = bpf_map_lookup_elem(&tracked, &tgid);
	struct inflight *in;

	if (!v || *v != MP_BPF_TRACK_RECORD)
		return 0;
	in = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!in)
		return 0;
	in->ptr = ptr;
	in->op = op;
	in->flags = flags;
	in->dfd = dfd;
	in->active = 1;
	return 0;
}

/* The header of an access record for the syscall @in that returned @ret. */
static __always_inline void access_header(struct scratch *s, const struct inflight *in, long ret)
{
	header_init(s, MP_REC_ACCESS, bpf_get_current_task_btf());
	s->h.op = in->op;
	s->h.flags = in->flags;
	s->h.err = ret < 0 ? (__u32)-ret : 0;
	s->h.aux = (__u64)(__u32)in->dfd | (__u64)(__u32)(ret < 0 ? -1 : ret) << 32;
}

static __always_inline int on_exit(long ret)
{
	__u64 id;
	struct inflight *p = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0, 0);
	struct inflight in;
	struct scratch *s;
	struct seen_key k;
	__u64 one = 1, *cnt;
	__u32 zero = 0;
	long n = 1;

	if (!p || !p->active)
		return 0;
	in = *p;
	p->active = 0;
	id = bpf_get_current_pid_tgid();
	/* the header (a dozen kernel reads) is filled only for a record that is sent, not for
	 * the repeats folded below, most accesses of a busy program */
	s = bpf_map_lookup_elem(&heap, &zero);
	if (!s)
		return 0;
	if (in.ptr) {
		n = bpf_probe_read_user_str(s->path, sizeof(s->path), (const void *)in.ptr);
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
	if (s->path[0] != '/' || in.op == MP_OP_CHDIR ||
	    (in.op == MP_OP_OPEN && (in.flags & (O_DIRECTORY_ | O_PATH_)))) {
		access_header(s, &in, ret);
		return send(s, n) ? 0 : 0;
	}
	k.hash = path_hash(s, n);
	k.tgid = id >> 32;
	k.op = in.op;
	k.flags = in.flags;
	k.err = ret < 0 ? (__s32)-ret : 0;
	cnt = bpf_map_lookup_elem(&seen, &k);
	if (cnt) {
		__sync_fetch_and_add(cnt, 1);
		count(MP_BPF_REPEATS);
		return 0;
	}
	bpf_map_update_elem(&seen, &k, &one, BPF_NOEXIST);
	access_header(s, &in, ret);
	if (send(s, n))
		bpf_map_delete_elem(&seen, &k); /* let a later one through */
	return 0;
}

/* Syscall numbers: the probe attaches to the raw sys_enter/sys_exit tracepoints (2 links that
 * detach at once, where 40 per-syscall tracepoints each wait for an RCU grace period when
 * detached, ~0.1 s apiece) and picks the syscalls here. */
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

SEC("raw_tp/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	__u64 a0, a1, a2;

	switch (id) {
	case NR_openat:
		a0 = PT_REGS_PARM1_CORE_SYSCALL(regs);
		a1 = PT_REGS_PARM2_CORE_SYSCALL(regs);
		a2 = PT_REGS_PARM3_CORE_SYSCALL(regs);
		if ((int)a0 == MP_BPF_SEED_DFD && a1 == 0 && seed_cookie && a2 == seed_cookie) {
			__u32 tgid = bpf_get_current_pid_tgid() >> 32, v = MP_BPF_TRACK_PARENT;

			bpf_map_update_elem(&tracked, &tgid, &v, BPF_ANY);
			return 0;
		}
		return on_enter(MP_OP_OPEN, (int)a0, a1, (__u32)a2);
	case NR_openat2: {
		struct open_how *how = (struct open_how *)PT_REGS_PARM3_CORE_SYSCALL(regs);
		__u64 flags = 0;

		if (how)
			bpf_probe_read_user(&flags, sizeof(flags), &how->flags);
		return on_enter(MP_OP_OPEN, (int)PT_REGS_PARM1_CORE_SYSCALL(regs),
				PT_REGS_PARM2_CORE_SYSCALL(regs), (__u32)flags);
	}
	/* a successful exec is reported by sched_process_exec (the kernel's copy of the name:
	 * the old memory is gone at sys_exit); sys_exit reads the name of a failed one */
	case NR_execve:
		return on_enter(MP_OP_EXEC, AT_FDCWD_, PT_REGS_PARM1_CORE_SYSCALL(regs), 0);
	case NR_execveat:
		return on_enter(MP_OP_EXEC, (int)PT_REGS_PARM1_CORE_SYSCALL(regs),
				PT_REGS_PARM2_CORE_SYSCALL(regs), (__u32)PT_REGS_PARM5_CORE_SYSCALL(regs));
	case NR_newfstatat:
		return on_enter(MP_OP_STAT, (int)PT_REGS_PARM1_CORE_SYSCALL(regs),
				PT_REGS_PARM2_CORE_SYSCALL(regs),
				(__u32)PT_REGS_PARM4_CORE_SYSCALL(regs) & AT_SYMLINK_NOFOLLOW_);
	case NR_statx:
		return on_enter(MP_OP_STAT, (int)PT_REGS_PARM1_CORE_SYSCALL(regs),
				PT_REGS_PARM2_CORE_SYSCALL(regs),
				(__u32)PT_REGS_PARM3_CORE_SYSCALL(regs) & AT_SYMLINK_NOFOLLOW_);
	case NR_faccessat:
	case NR_faccessat2:
		return on_enter(MP_OP_ACCESS, (int)PT_REGS_PARM1_CORE_SYSCALL(regs),
				PT_REGS_PARM2_CORE_SYSCALL(regs), (__u32)PT_REGS_PARM3_CORE_SYSCALL(regs));
	case NR_chdir:
		return on_enter(MP_OP_CHDIR, AT_FDCWD_, PT_REGS_PARM1_CORE_SYSCALL(regs), 0);
	case NR_fchdir:
		return on_enter(MP_OP_CHDIR, (int)PT_REGS_PARM1_CORE_SYSCALL(regs), 0, MP_BPF_FCHDIR);
	/* fd copies, so that a dirfd made by dup() still names its directory in user space */
	case NR_dup:
	case NR_dup3:
		return on_enter(MP_OP_OPEN, (int)PT_REGS_PARM1_CORE_SYSCALL(regs), 0, MP_BPF_DUPFD);
	case NR_fcntl:
		a1 = PT_REGS_PARM2_CORE_SYSCALL(regs);
		if (a1 != 0 /* F_DUPFD */ && a1 != 1030 /* F_DUPFD_CLOEXEC */)
			return 0;
		return on_enter(MP_OP_OPEN, (int)PT_REGS_PARM1_CORE_SYSCALL(regs), 0, MP_BPF_DUPFD);
#ifdef NR_open
	case NR_open:
		return on_enter(MP_OP_OPEN, AT_FDCWD_, PT_REGS_PARM1_CORE_SYSCALL(regs),
				(__u32)PT_REGS_PARM2_CORE_SYSCALL(regs));
	case NR_creat:
		return on_enter(MP_OP_OPEN, AT_FDCWD_, PT_REGS_PARM1_CORE_SYSCALL(regs),
				01101 /* O_CREAT|O_WRONLY|O_TRUNC */);
	case NR_stat:
		return on_enter(MP_OP_STAT, AT_FDCWD_, PT_REGS_PARM1_CORE_SYSCALL(regs), 0);
	case NR_lstat:
		return on_enter(MP_OP_STAT, AT_FDCWD_, PT_REGS_PARM1_CORE_SYSCALL(regs),
				AT_SYMLINK_NOFOLLOW_);
	case NR_access:
		return on_enter(MP_OP_ACCESS, AT_FDCWD_, PT_REGS_PARM1_CORE_SYSCALL(regs),
				(__u32)PT_REGS_PARM2_CORE_SYSCALL(regs));
	case NR_dup2:
		return on_enter(MP_OP_OPEN, (int)PT_REGS_PARM1_CORE_SYSCALL(regs), 0, MP_BPF_DUPFD);
#endif
	case NR_io_uring_setup: {
		/* the ring's opens never pass these tracepoints: the session must say so */
		__u32 tgid = bpf_get_current_pid_tgid() >> 32, *v = bpf_map_lookup_elem(&tracked, &tgid);

		if (v && *v == MP_BPF_TRACK_RECORD)
			count(MP_BPF_IO_URING);
		return 0;
	}
	default:
		return 0;
	}
}

SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	return on_exit(ret);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid), ctgid = BPF_CORE_READ(child, tgid);
	__u32 one = MP_BPF_TRACK_RECORD;
	__u32 *v = bpf_map_lookup_elem(&tracked, &ptgid);
	struct scratch *s;

	if (!v || ptgid == ctgid)
		return 0;
	bpf_map_update_elem(&tracked, &ctgid, &one, BPF_ANY);
	s = scratch_init(MP_REC_PROC_START, child);
	if (!s)
		return 0;
	s->h.aux = *v == MP_BPF_TRACK_RECORD ? task_ns_tgid(parent) : 0;
	s->path[0] = '\0';
	send(s, 1);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 *v = bpf_map_lookup_elem(&tracked, &tgid);
	struct inflight *in;
	struct scratch *s;
	long n;

	if (!v || *v != MP_BPF_TRACK_RECORD)
		return 0;
	/* the name at sys_exit would be read from the new program's memory */
	in = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0, 0);
	if (in)
		in->active = 0;
	s = scratch_init(MP_REC_PROC_EXEC, p);
	if (!s)
		return 0;
	s->h.op = MP_OP_EXEC;
	n = bpf_probe_read_kernel_str(s->path, sizeof(s->path), BPF_CORE_READ(bprm, filename));
	if (n <= 0) {
		count(MP_BPF_UNREADABLE);
		return 0;
	}
	send(s, n);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(on_exit_task, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	__u32 *v;
	struct scratch *s;

	if (BPF_CORE_READ(p, pid) != tgid)
		return 0;
	v = bpf_map_lookup_elem(&tracked, &tgid);
	if (!v || *v != MP_BPF_TRACK_RECORD)
		return 0;
	bpf_map_delete_elem(&tracked, &tgid);
	s = scratch_init(MP_REC_PROC_EXIT, p);
	if (!s)
		return 0;
	s->h.err = (__u32)BPF_CORE_READ(p, exit_code);
	send(s, 0);
	return 0;
}
