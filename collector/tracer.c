/* SPDX-License-Identifier: MIT */
/* collector/tracer.c - run a command under ptrace, stopped by a seccomp-bpf filter only at the
 * path-taking syscalls, and report each path it touches with the syscall's result. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "mountsrc.h"
#include "log.h"
#include "strbuf.h"
#include "cpupin.h"
#include "sigkeep.h"
#include "tracer.h"
#include "xalloc.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
/* Linux 6.13 and 6.15; numbers above 402 are the same on x86-64 and i386 */
#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#define SYS_getxattrat 464
#define SYS_listxattrat 465
#define SYS_removexattrat 466
#endif
#ifndef SYS_open_tree_attr
#define SYS_open_tree_attr 467
#endif
/* <linux/fanotify.h>, <linux/inotify.h>, <linux/mount.h>: not included for a few flags, since
 * <linux/mount.h> clashes with glibc's <sys/mount.h> before glibc 2.36 */
#define TRACER_FAN_MARK_DONT_FOLLOW 0x04u
#define TRACER_FAN_MARK_FLUSH 0x80u
#define TRACER_IN_DONT_FOLLOW 0x02000000u
#define TRACER_MOVE_MOUNT_F_EMPTY_PATH 0x04u
#define TRACER_MOVE_MOUNT_T_EMPTY_PATH 0x40u
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define X32_SYSCALL_BIT 0x40000000u
/* SECCOMP_RET_DATA of our filter, so a RET_TRACE from a filter the command installed itself
 * is told apart. */
#define TRACER_SECCOMP_DATA 0x4d50u
#define TRACER_PAGE 4096ul
#define TRACER_ARG_MAX (128u * 1024u) /* MAX_ARG_STRLEN: longest single argv string */
#define TRACER_ARGC_MAX 65536u

#define OPEN_CREAT_FLAGS (O_CREAT | O_WRONLY | O_TRUNC)

/* The syscalls the filter stops, most frequent first: the filter is a linear chain run on
 * every syscall of the tracee. */
static const unsigned traced_nrs[] = {
	SYS_openat, SYS_newfstatat, SYS_open, SYS_stat, SYS_lstat, SYS_access, SYS_readlink,
	SYS_statx, SYS_getdents64, SYS_execve, SYS_faccessat, SYS_faccessat2, SYS_readlinkat,
	SYS_openat2, SYS_creat, SYS_execveat, SYS_chdir, SYS_fchdir, SYS_mkdir, SYS_mkdirat,
	SYS_rmdir, SYS_unlink, SYS_unlinkat, SYS_rename, SYS_renameat, SYS_renameat2, SYS_link,
	SYS_linkat, SYS_symlink, SYS_symlinkat, SYS_truncate, SYS_chmod, SYS_fchmodat,
	SYS_fchmodat2, SYS_chown, SYS_lchown, SYS_fchownat, SYS_utime, SYS_utimes, SYS_utimensat,
	SYS_futimesat, SYS_mknod, SYS_mknodat, SYS_getdents, SYS_connect, SYS_bind,
	SYS_lgetxattr, SYS_getxattr, SYS_llistxattr, SYS_listxattr, SYS_setxattr, SYS_lsetxattr,
	SYS_removexattr, SYS_lremovexattr, SYS_getxattrat, SYS_listxattrat, SYS_setxattrat,
	SYS_removexattrat, SYS_inotify_add_watch, SYS_fanotify_mark, SYS_name_to_handle_at,
	SYS_uselib, SYS_mount, SYS_umount2, SYS_open_tree, SYS_open_tree_attr, SYS_move_mount,
	SYS_fspick, SYS_mount_setattr, SYS_io_uring_setup,
	SYS_sched_getaffinity, SYS_sched_setaffinity, /* cpupin.h: the pinning kept hidden */
	/* seen so that the tracer stops answering this task's queries (query_here()) */
	SYS_setuid, SYS_setgid, SYS_setreuid, SYS_setregid, SYS_setresuid, SYS_setresgid,
	SYS_setfsuid, SYS_setfsgid, SYS_setgroups, SYS_capset, SYS_chroot, SYS_pivot_root,
	SYS_unshare, SYS_setns, SYS_landlock_restrict_self,
	/* not open_by_handle_at: it takes a mount fd and a handle, no path (name_to_handle_at,
	 * which made the handle, is recorded) */
};
#define N_TRACED (sizeof(traced_nrs) / sizeof(traced_nrs[0]))
/* prctl stops only for these options, which change what exec grants (query_here()) */
static const unsigned traced_prctl[] = { 24 /* PR_CAPBSET_DROP */, 28 /* PR_SET_SECUREBITS */,
					 47 /* PR_CAP_AMBIENT */ };
#define N_PRCTL (sizeof(traced_prctl) / sizeof(traced_prctl[0]))
/* load arch, check arch, load nr, check x32, 2 x 3 for AT_EMPTY_PATH, 2 + N_PRCTL for prctl,
 * one jump per syscall, two returns */
#define FILTER_LEN (N_TRACED + 12 + 2 + N_PRCTL)
_Static_assert(FILTER_LEN < 256, "the filter's forward jumps are 8 bits");

/* A working directory, shared by the tasks cloned with CLONE_FS (threads). */
struct tracer_fs {
	unsigned refs;
	char *cwd;
	bool own_root; /* chroot or pivot_root seen: its root may not be the tracer's */
};

enum task_flags {
	TASK_INITIAL = 1 << 0,    /* auto-attached: its first stop not seen yet */
	TASK_IN_SYSCALL = 1 << 1, /* decoded at entry, the exit stop is awaited */
	TASK_PRE_EXEC = 1 << 2,   /* the command, before its first exec */
	TASK_CWD = 1 << 3,        /* chdir/fchdir in flight: reread the cwd at exit */
	TASK_EXEC = 1 << 4,       /* execve/execveat in flight, argv in @argv */
	/* Another running task shares its memory (a thread; not a vfork child, whose parent
	 * waits): a path may change between our read and the kernel's (TRC-11), so it is read
	 * again at the exit stop. */
	TASK_SHARED_VM = 1 << 5,
	TASK_COMPAT = 1 << 6,     /* the syscall being decoded is i386 (32-bit pointers) */
	TASK_AFFINITY = 1 << 7,   /* sched_getaffinity in flight: show the unpinned mask */
	TASK_OWN_AFFINITY = 1 << 8, /* it set its own CPU mask: never touched, never hidden */
	TASK_NO_FD = 1 << 9,      /* an MP_OP_OPEN whose result is not an fd (uselib) */
	/* Its credentials, namespaces or LSM label may differ from the tracer's: it changed
	 * them, or exec'd a set-id file. Its queries are not answered by the tracer. */
	TASK_OWN_VIEW = 1 << 10,
};

struct tracer_pend {
	enum mp_op op;
	uint32_t flags;
	size_t off; /* into task->pbuf */
	/* TASK_SHARED_VM: where the path was read, and the bytes read (in pbuf) */
	uint64_t addr;
	size_t raw_off, raw_len;
};

struct task {
	struct task *next; /* hash chain */
	pid_t tid, tgid;
	unsigned flags;
	long nr; /* syscall number at entry (PTRACE_SYSCALL mode) */
	struct tracer_fs *fs;
	int nev;
	struct tracer_pend ev[2];
	uint64_t aff_ptr; /* TASK_AFFINITY: the mask buffer */
	char *pbuf; /* the in-flight syscall's absolute paths, NUL-separated */
	size_t plen, palloc;
	struct strvec argv;
};

/* A stop from a pid not known yet: a new child that stopped before its parent's
 * PTRACE_EVENT_FORK was reported (ptrace(2) allows it; TRC-01). */
struct tracer_orphan {
	pid_t tid;
	int status;
};

struct tracer {
	const struct tracer_ops *ops;
	void *ctx;
	struct tracer_result *res;
	struct task **buckets;
	size_t nbuckets, ntasks;
	struct task *last;
	pid_t root;
	bool root_gone;      /* the command's first process has ended */
	bool seccomp; /* the filter is in place: resume with PTRACE_CONT between path syscalls */
	struct tracer_orphan *orphans;
	size_t norphans, aorphans;
	char *sbuf;  /* a string read from the tracee */
	char *fdbuf; /* readlink of /proc/TID/fd/N */
	struct cpupin pin; /* tracer and tree on one CPU (cpupin.h) */
	bool query_here; /* query_here() may answer stat/access/readlink itself */
	char *label;     /* the tracer's LSM label (/proc/self/attr/current), or NULL */
};

/* Set before the run for the signal handlers; tracer_run() is not reentrant. */
static volatile sig_atomic_t fwd_pid;
static volatile sig_atomic_t timer_fired;
/* Signals that arrived before the command existed, delivered once it does. */
static volatile sig_atomic_t fwd_pending;

static const int fwd_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
#define N_FWD (sizeof(fwd_signals) / sizeof(fwd_signals[0]))

/* ---- signals sent to magicpak ---- */

static void on_fwd_signal(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	pid_t pid = fwd_pid;

	/* A signal from the terminal (SI_KERNEL) went to the whole foreground process group,
	 * the command included: a second copy would be delivered twice. */
	if (si->si_code != SI_KERNEL) {
		if (pid > 0)
			kill(pid, sig);
		else
			fwd_pending |= 1 << sig;
	}
	errno = saved;
}

static volatile sig_atomic_t pin_check;

static void on_pin_timer(int sig)
{
	(void)sig;
	pin_check = 1;
}

/* The tree's tasks that run where we put them (not those that chose their own CPUs). */
static void pin_check_now(struct tracer *tr, timer_t timer)
{
	pid_t *tids;
	size_t n = 0;

	/* even one task: the CPU may be taken by others (four records started together) */
	tids = xmalloc((tr->ntasks + 1) * sizeof(*tids));
	for (size_t i = 0; i < tr->nbuckets; i++)
		for (struct task *t = tr->buckets[i]; t; t = t->next)
			if (!(t->flags & TASK_OWN_AFFINITY) && n < tr->ntasks)
				tids[n++] = t->tid;
	if (cpupin_check(&tr->pin, tids, n))
		timer_delete(timer);
	free(tids);
}

static void on_timer(int sig)
{
	timer_fired = 1;
}

/* ---- the task table ---- */

static size_t task_hash(const struct tracer *tr, pid_t tid)
{
	return ((uint32_t)tid * 2654435761u) & (tr->nbuckets - 1);
}

static struct task *task_find(struct tracer *tr, pid_t tid)
{
	struct task *t;

	if (tr->last && tr->last->tid == tid)
		return tr->last;
	for (t = tr->buckets[task_hash(tr, tid)]; t; t = t->next) {
		if (t->tid == tid) {
			tr->last = t;
			return t;
		}
	}
	return NULL;
}

static void task_link(struct tracer *tr, struct task *t)
{
	size_t h;

	if (tr->ntasks + 1 > tr->nbuckets) {
		struct task **old = tr->buckets;
		size_t n = tr->nbuckets;

		tr->nbuckets *= 2;
		tr->buckets = xcalloc(tr->nbuckets, sizeof(*tr->buckets));
		for (size_t i = 0; i < n; i++) {
			while (old[i]) {
				struct task *x = old[i];

				old[i] = x->next;
				h = task_hash(tr, x->tid);
				x->next = tr->buckets[h];
				tr->buckets[h] = x;
			}
		}
		free(old);
	}
	h = task_hash(tr, t->tid);
	t->next = tr->buckets[h];
	tr->buckets[h] = t;
	tr->ntasks++;
}

static void task_unlink(struct tracer *tr, struct task *t)
{
	struct task **pp = &tr->buckets[task_hash(tr, t->tid)];

	while (*pp && *pp != t)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = t->next;
		tr->ntasks--;
	}
	if (tr->last == t)
		tr->last = NULL;
}

static struct tracer_fs *fs_new(const char *cwd)
{
	struct tracer_fs *fs = xmalloc(sizeof(*fs));

	fs->refs = 1;
	fs->cwd = xstrdup(cwd);
	fs->own_root = false;
	return fs;
}

static void fs_put(struct tracer_fs *fs)
{
	if (fs && --fs->refs == 0) {
		free(fs->cwd);
		free(fs);
	}
}

static struct task *task_new(struct tracer *tr, pid_t tid, pid_t tgid, struct tracer_fs *fs)
{
	struct task *t = xcalloc(1, sizeof(*t));

	t->tid = tid;
	t->tgid = tgid;
	t->fs = fs;
	t->nr = -1;
	strvec_init(&t->argv);
	task_link(tr, t);
	return t;
}

static void task_clear_syscall(struct task *t)
{
	/* not TASK_COMPAT: decode_abi() sets it for the decode() that clears the rest */
	t->flags &= ~(TASK_IN_SYSCALL | TASK_CWD | TASK_EXEC | TASK_AFFINITY | TASK_NO_FD);
	t->nev = 0;
	t->plen = 0;
	if (t->argv.n)
		strvec_clear(&t->argv);
}

static void task_free(struct tracer *tr, struct task *t)
{
	task_unlink(tr, t);
	fs_put(t->fs);
	strvec_clear(&t->argv);
	free(t->pbuf);
	free(t);
}

/* ---- reading the tracee ---- */

static ssize_t peek_string(pid_t tid, uint64_t addr, char *buf, size_t max)
{
	size_t got = 0;

	/* PTRACE_PEEKDATA reads aligned words; strace falls back to it the same way. */
	while (got < max) {
		uint64_t a = addr + got, base = a & ~7ul;
		size_t skip = a - base, n;
		long w;
		char *z;

		errno = 0;
		w = ptrace(PTRACE_PEEKDATA, tid, (void *)base, NULL);
		if (errno)
			return -errno;
		n = sizeof(w) - skip;
		if (n > max - got)
			n = max - got;
		memcpy(buf + got, (char *)&w + skip, n);
		z = memchr(buf + got, '\0', n);
		if (z)
			return z - buf;
		got += n;
	}
	return -ENAMETOOLONG;
}

/* Read the NUL-terminated string at @addr into @buf (@max bytes, NUL included) in
 * page-bounded chunks, so a string that ends just before an unmapped page is still read.
 * Returns its length or -errno. */
static ssize_t read_string(pid_t tid, uint64_t addr, char *buf, size_t max)
{
	size_t got = 0;

	while (got < max) {
		uint64_t a = addr + got;
		size_t want = TRACER_PAGE - (a & (TRACER_PAGE - 1));
		struct iovec local, remote;
		ssize_t n;
		char *z;

		if (want > max - got)
			want = max - got;
		local.iov_base = buf + got;
		local.iov_len = want;
		remote.iov_base = (void *)a;
		remote.iov_len = want;
		n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
		if (n < 0) {
			if (errno == ENOSYS || errno == EPERM)
				return peek_string(tid, addr, buf, max);
			return -errno;
		}
		if (n == 0)
			return -EFAULT;
		z = memchr(buf + got, '\0', (size_t)n);
		if (z)
			return z - buf;
		got += (size_t)n;
	}
	return -ENAMETOOLONG;
}

static int read_mem(pid_t tid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };
	ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);

	if (n == (ssize_t)len)
		return 0;
	if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
		for (size_t off = 0; off < len; off += sizeof(long)) {
			long w;
			size_t k = len - off < sizeof(w) ? len - off : sizeof(w);

			errno = 0;
			w = ptrace(PTRACE_PEEKDATA, tid, (void *)(addr + off), NULL);
			if (errno)
				return -errno;
			memcpy((char *)buf + off, &w, k);
		}
		return 0;
	}
	return -EFAULT;
}

/* Write @len bytes at @addr of the tracee; 0 or -errno. */
static int write_mem(pid_t tid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec local = { (void *)buf, len }, remote = { (void *)addr, len };

	if (process_vm_writev(tid, &local, 1, &remote, 1, 0) == (ssize_t)len)
		return 0;
	/* read-only mapping or no process_vm_writev: word by word */
	for (size_t o = 0; o < len; o += sizeof(long)) {
		long w = 0;
		size_t k = len - o < sizeof(long) ? len - o : sizeof(long);

		if (k < sizeof(long)) {
			errno = 0;
			w = ptrace(PTRACE_PEEKDATA, tid, (void *)(addr + o), NULL);
			if (errno)
				return -errno;
		}
		memcpy(&w, (const char *)buf + o, k);
		if (ptrace(PTRACE_POKEDATA, tid, (void *)(addr + o), (void *)w) < 0)
			return -errno;
	}
	return 0;
}

/* The path an fd of @tid refers to (borrowed, in tr->fdbuf), or NULL when it has none
 * (pipe, socket, closed fd). */
static const char *fd_path(struct tracer *tr, pid_t tid, int fd)
{
	char link[64];
	ssize_t n;

	if (fd < 0)
		return NULL;
	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)tid, fd);
	n = readlink(link, tr->fdbuf, PATH_MAX);
	if (n <= 0 || n >= PATH_MAX || tr->fdbuf[0] != '/')
		return NULL;
	tr->fdbuf[n] = '\0';
	return tr->fdbuf;
}

/* ---- paths ---- */

/* Write @base (absolute and normal, or NULL) joined with @rel into @out, folding "." and
 * ".." lexically and collapsing "//" the way path_normalize() does, without allocating.
 * @out holds strlen(base) + strlen(rel) + 3 bytes. Returns the length. */
static size_t norm_join(char *out, const char *base, const char *rel)
{
	size_t o = 0;
	const char *p = rel;

	if (base && rel[0] != '/') {
		o = strlen(base);
		memcpy(out, base, o);
		while (o > 0 && out[o - 1] == '/')
			o--;
	}
	while (*p) {
		const char *e;
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchrnul(p, '/');
		n = (size_t)(e - p);
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			/* ".." at the root stays at the root */
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return o;
}

static void push_path(struct task *t, enum mp_op op, uint32_t flags, const char *base,
		      const char *rel)
{
	size_t need = (base ? strlen(base) : 0) + strlen(rel) + 3;
	size_t n;

	if (t->nev >= 2)
		return;
	xgrow(&t->pbuf, &t->palloc, t->plen + need, 1);
	n = norm_join(t->pbuf + t->plen, base, rel);
	t->ev[t->nev].op = op;
	t->ev[t->nev].flags = flags;
	t->ev[t->nev].off = t->plen;
	t->ev[t->nev].addr = 0;
	t->nev++;
	t->plen += n + 1;
}

/* Keep the @n bytes of @raw read at @addr with the last event, to be compared at exit. */
static void keep_raw(struct task *t, uint64_t addr, const char *raw, size_t n)
{
	struct tracer_pend *e = &t->ev[t->nev - 1];

	xgrow(&t->pbuf, &t->palloc, t->plen + n + 1, 1);
	memcpy(t->pbuf + t->plen, raw, n + 1);
	e->addr = addr;
	e->raw_off = t->plen;
	e->raw_len = n;
	t->plen += n + 1;
}

/* TRC-11: the file a successful open reached, when another thread could have changed the
 * path under it: @path (as read at entry) if it names the file open as @fd, else the fd's
 * own path. Reading the path again is not enough: a buffer flipped back and forth is read
 * torn the same way twice. */
static const char *opened_path(struct tracer *tr, struct task *t, const char *path, int fd)
{
	char link[64];
	struct stat a, b;

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)t->tid, fd);
	if (stat(link, &b) == 0 && stat(path, &a) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		return path;
	tr->res->raced++;
	return fd_path(tr, t->tid, fd) ?: path;
}

/* Operations that leave the name as it was: after success it must still exist. */
static bool looks_only(enum mp_op op)
{
	return op == MP_OP_STAT || op == MP_OP_ACCESS || op == MP_OP_READLINK;
}

/* TRC-11: did another thread change the path of event @e while the syscall ran? Then what
 * was read at entry may not be what the kernel used. */
static bool path_changed(struct tracer *tr, struct task *t, const struct tracer_pend *e)
{
	ssize_t n = read_string(t->tid, e->addr, tr->sbuf, PATH_MAX);

	return n != (ssize_t)e->raw_len || memcmp(tr->sbuf, t->pbuf + e->raw_off, (size_t)n);
}

/* The file @fd itself (AT_EMPTY_PATH, fchdir, getdents). */
static void add_fd(struct tracer *tr, struct task *t, enum mp_op op, uint32_t flags, int fd)
{
	const char *p;

	if (fd == AT_FDCWD) {
		push_path(t, op, flags, NULL, t->fs->cwd);
		return;
	}
	p = fd_path(tr, t->tid, fd);
	if (p)
		push_path(t, op, flags, NULL, p);
}

/* The path at @addr, relative to @dirfd. @empty: AT_EMPTY_PATH or a NULL path mean @dirfd
 * itself. An empty path without it fails with ENOENT and names no file: not recorded. */
static void add_path(struct tracer *tr, struct task *t, enum mp_op op, uint32_t flags, int dirfd,
		     uint64_t addr, bool empty)
{
	const char *base = NULL;
	ssize_t n;
	int nev;

	if (!addr) {
		if (empty)
			add_fd(tr, t, op, flags, dirfd);
		return;
	}
	n = read_string(t->tid, addr, tr->sbuf, PATH_MAX);
	if (n < 0) {
		/* ENAMETOOLONG: the kernel refuses it too; anything else we could not read */
		if (n != -ENAMETOOLONG)
			tr->res->lost_strings++;
		return;
	}
	if (n == 0) {
		if (empty)
			add_fd(tr, t, op, flags, dirfd);
		return;
	}
	if (tr->sbuf[0] != '/') {
		if (dirfd == AT_FDCWD) {
			base = t->fs->cwd;
		} else {
			base = fd_path(tr, t->tid, dirfd);
			if (!base)
				return;
		}
	}
	nev = t->nev;
	push_path(t, op, flags, base, tr->sbuf);
	if ((t->flags & TASK_SHARED_VM) && t->nev > nev)
		keep_raw(t, addr, tr->sbuf, (size_t)n);
}

/* The path an AF_UNIX socket address at @addr (@len bytes, bind or connect) names, relative
 * to the cwd as the kernel takes it. Another family, an abstract name (a NUL first: no file),
 * an unnamed address and an invalid length name no file: nothing recorded. */
static void add_sockaddr(struct tracer *tr, struct task *t, enum mp_op op, uint64_t addr,
			 uint64_t len)
{
	const size_t off = offsetof(struct sockaddr_un, sun_path);
	struct sockaddr_un sun;
	char path[sizeof(sun.sun_path) + 1];
	size_t n;
	int nev;

	/* unix_validate_addr(): at most sizeof(struct sockaddr_un); the family is read first
	 * so another family's longer address is not read at all */
	if (!addr || len <= off || len > sizeof(sun))
		return;
	if (read_mem(t->tid, addr, &sun, off) < 0) {
		tr->res->lost_strings++;
		return;
	}
	if (sun.sun_family != AF_UNIX)
		return;
	if (read_mem(t->tid, addr, &sun, (size_t)len) < 0) {
		tr->res->lost_strings++;
		return;
	}
	/* the kernel ends the name at @len or at its first NUL (unix_mkname_bsd()) */
	n = strnlen(sun.sun_path, (size_t)len - off);
	if (!n)
		return;
	memcpy(path, sun.sun_path, n);
	path[n] = '\0';
	nev = t->nev;
	push_path(t, op, 0, path[0] == '/' ? NULL : t->fs->cwd, path);
	/* TRC-11: compared again at exit only when the NUL is inside the address: read as a
	 * string, a name that ends at @len runs on into whatever follows */
	if ((t->flags & TASK_SHARED_VM) && t->nev > nev && n < (size_t)len - off)
		keep_raw(t, addr + off, path, n);
}

/* mount(2): the target, and the source where it names a file (include/mountsrc.h). */
static void add_mount(struct tracer *tr, struct task *t, const uint64_t *a)
{
	unsigned long flags = mp_mount_flags((unsigned long)a[3]);
	enum mp_mount_source how = mp_mount_source(flags);
	bool source = how == MP_MOUNT_SRC_PATH ||
		      (how == MP_MOUNT_SRC_IF_ABSOLUTE && a[0] &&
		       read_string(t->tid, a[0], tr->sbuf, PATH_MAX) > 0 && tr->sbuf[0] == '/');

	if (source)
		add_path(tr, t, MP_OP_MOUNT_FROM, (uint32_t)flags, AT_FDCWD, a[0], false);
	add_path(tr, t, MP_OP_MOUNT, (uint32_t)flags, AT_FDCWD, a[1], false);
}

static void read_argv(struct tracer *tr, struct task *t, uint64_t addr)
{
	uint64_t ptrs[64];

	if (!tr->ops->proc || !addr)
		return;
	if (t->flags & TASK_COMPAT) {
		/* i386: an array of 32-bit pointers */
		uint32_t p32[64];

		for (size_t i = 0; i < TRACER_ARGC_MAX; i += 64) {
			if (read_mem(t->tid, addr + i * 4, p32, sizeof(p32)) < 0 &&
			    read_mem(t->tid, addr + i * 4, p32, 4) < 0)
				return;
			for (size_t k = 0; k < 64; k++) {
				if (!p32[k] || read_string(t->tid, p32[k], tr->sbuf, TRACER_ARG_MAX) < 0)
					return;
				strvec_push(&t->argv, tr->sbuf);
			}
		}
		return;
	}
	for (size_t i = 0; i < TRACER_ARGC_MAX;) {
		uint64_t a = addr + i * sizeof(uint64_t);
		size_t n = (TRACER_PAGE - (a & (TRACER_PAGE - 1))) / sizeof(uint64_t);

		if (n > 64)
			n = 64;
		if (read_mem(t->tid, a, ptrs, n * sizeof(uint64_t)) < 0)
			return;
		for (size_t k = 0; k < n; k++, i++) {
			if (!ptrs[k])
				return;
			if (read_string(t->tid, ptrs[k], tr->sbuf, TRACER_ARG_MAX) < 0)
				return;
			strvec_push(&t->argv, tr->sbuf);
		}
	}
}

/* ---- decoding ---- */

#define I386_UMOUNT 22         /* umount(path): umount2(path, 0) */
#define I386_SOCKETCALL 102    /* socketcall(call, args): bind and connect before Linux 4.3 */
#define I386_FANOTIFY_MARK 339 /* the 64-bit mask in two arguments */
#define I386_SYS_BIND 2        /* socketcall's call numbers, <linux/net.h> */
#define I386_SYS_CONNECT 3

/* The x86-64 number of the i386 path syscall @nr (int $0x80 from a 64-bit program, or a
 * 32-bit program), whose arguments come in the same order (decode_abi() rearranges the
 * three that do not); -1 for any other syscall. */
static long i386_to_x86_64(uint64_t nr)
{
	static const struct {
		unsigned short i386, x86_64;
	} map[] = {
		{ 5, SYS_open },	{ 8, SYS_creat },	{ 9, SYS_link },
		{ 10, SYS_unlink },	{ 11, SYS_execve },	{ 12, SYS_chdir },
		{ 14, SYS_mknod },	{ 15, SYS_chmod },	{ 16, SYS_lchown },
		{ 18, SYS_stat },	{ 30, SYS_utime },	{ 33, SYS_access },
		{ 38, SYS_rename },	{ 39, SYS_mkdir },	{ 40, SYS_rmdir },
		{ 83, SYS_symlink },	{ 84, SYS_lstat },	{ 85, SYS_readlink },
		{ 92, SYS_truncate },	{ 106, SYS_stat },	{ 107, SYS_lstat },
		{ 133, SYS_fchdir },	{ 141, SYS_getdents },	{ 182, SYS_chown },
		{ 193, SYS_truncate },	{ 195, SYS_stat },	{ 196, SYS_lstat },
		{ 198, SYS_lchown },	{ 212, SYS_chown },	{ 220, SYS_getdents64 },
		{ 271, SYS_utimes },	{ 295, SYS_openat },	{ 296, SYS_mkdirat },
		{ 297, SYS_mknodat },	{ 298, SYS_fchownat },	{ 299, SYS_futimesat },
		{ 300, SYS_newfstatat }, { 301, SYS_unlinkat }, { 302, SYS_renameat },
		{ 303, SYS_linkat },	{ 304, SYS_symlinkat }, { 305, SYS_readlinkat },
		{ 306, SYS_fchmodat },	{ 307, SYS_faccessat }, { 320, SYS_utimensat },
		{ 353, SYS_renameat2 }, { 358, SYS_execveat },	{ 383, SYS_statx },
		{ 425, SYS_io_uring_setup }, { 437, SYS_openat2 }, { 439, SYS_faccessat2 },
		{ 452, SYS_fchmodat2 },	{ 21, SYS_mount },	{ 52, SYS_umount2 },
		{ 86, SYS_uselib },	{ 226, SYS_setxattr },	{ 227, SYS_lsetxattr },
		{ 229, SYS_getxattr },	{ 230, SYS_lgetxattr }, { 232, SYS_listxattr },
		{ 233, SYS_llistxattr }, { 235, SYS_removexattr }, { 236, SYS_lremovexattr },
		{ 292, SYS_inotify_add_watch }, { 341, SYS_name_to_handle_at },
		{ 361, SYS_bind },	{ 362, SYS_connect },	{ 428, SYS_open_tree },
		{ 429, SYS_move_mount }, { 433, SYS_fspick },	{ 442, SYS_mount_setattr },
		{ SYS_getxattrat, SYS_getxattrat }, { SYS_listxattrat, SYS_listxattrat },
		{ SYS_setxattrat, SYS_setxattrat }, { SYS_removexattrat, SYS_removexattrat },
		{ SYS_open_tree_attr, SYS_open_tree_attr },
		/* with their arguments rearranged by decode_abi(): */
		{ I386_UMOUNT, SYS_umount2 }, { I386_SOCKETCALL, SYS_socket },
		{ I386_FANOTIFY_MARK, SYS_fanotify_mark },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].i386 == nr)
			return map[i].x86_64;
	return -1;
}

enum decode_result { DECODE_NOT_PATH, DECODE_DONE, DECODE_UNKNOWN };

/* Decode syscall @nr (x86-64 numbering) at its entry. Path arguments are read now, while
 * the tracee's memory holds them; the events are sent at the exit stop with the result. */
static void syscall_exit(struct tracer *tr, struct task *t, int64_t rval, bool is_error);

/* Whether @path is @dir or below it. */
static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

/* stat, access and readlink change nothing: the tracer makes the same call on the same name
 * itself, at the seccomp stop, and the tracee goes on without an exit stop (one stop a
 * call instead of two: in a compile most path calls are these). The answer is the
 * tracee's own when it sees the files as the tracer does: the same credentials, root,
 * mount namespace and LSM label (TASK_OWN_VIEW, fs->own_root mark a task that may not),
 * and no other task that shares its memory could change the name meanwhile (TASK_SHARED_VM:
 * TRC-11 needs the exit stop). A relative name is looked up from the tracee's own cwd or
 * dirfd, through /proc/TID/cwd and /proc/TID/fd/N, so that ".." and symlinks go as they go
 * for the tracee. What another process changes between this call and the tracee's is the
 * one difference: the result recorded is the one at the stop. */
static void query_here(struct tracer *tr, struct task *t, uint64_t nr, int dirfd,
		       uint64_t name, const uint64_t *a)
{
	const char *raw = tr->sbuf, *abs;
	char path[PATH_MAX], buf[PATH_MAX];
	struct statx stx;
	struct stat st;
	int n, r;

	/* !name: no string was read (add_fd), tr->sbuf holds another call's */
	if (!tr->query_here || !tr->seccomp || t->nev != 1 || t->fs->own_root || !name ||
	    (t->flags & (TASK_SHARED_VM | TASK_OWN_VIEW | TASK_COMPAT)) || !raw[0])
		return;
	/* /proc/self, /proc/thread-self, /dev/fd, /dev/stdin name the process that looks:
	 * here that would be the tracer */
	abs = t->pbuf + t->ev[0].off;
	if (under(abs, "/proc") || under(abs, "/dev"))
		return;
	if (raw[0] == '/')
		n = snprintf(path, sizeof(path), "%s", raw);
	else if (dirfd == AT_FDCWD)
		n = snprintf(path, sizeof(path), "/proc/%d/cwd/%s", (int)t->tid, raw);
	else
		n = snprintf(path, sizeof(path), "/proc/%d/fd/%d/%s", (int)t->tid, dirfd, raw);
	if (n < 0 || (size_t)n >= sizeof(path))
		return;
	switch (nr) {
	case SYS_stat:
		if (!a[1])
			return; /* EFAULT for the tracee */
		r = fstatat(AT_FDCWD, path, &st, 0);
		break;
	case SYS_lstat:
		if (!a[1])
			return;
		r = fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW);
		break;
	case SYS_newfstatat:
		if (!a[2])
			return;
		r = fstatat(AT_FDCWD, path, &st, (int)a[3]);
		break;
	case SYS_statx:
		if (!a[4])
			return;
		r = statx(AT_FDCWD, path, (int)a[2], (unsigned)a[3], &stx);
		break;
	case SYS_access:
		r = (int)syscall(SYS_faccessat, AT_FDCWD, path, (int)a[1]);
		break;
	case SYS_faccessat:
		r = (int)syscall(SYS_faccessat, AT_FDCWD, path, (int)a[2]);
		break;
	case SYS_faccessat2:
		r = (int)syscall(SYS_faccessat2, AT_FDCWD, path, (int)a[2], (int)a[3]);
		break;
	case SYS_readlink:
	case SYS_readlinkat: {
		int64_t size = (int)(nr == SYS_readlink ? a[2] : a[3]);
		uint64_t out = nr == SYS_readlink ? a[1] : a[2];

		if (!out)
			return;
		if (size <= 0) { /* checked before the lookup */
			r = -1;
			errno = EINVAL;
		} else {
			r = readlinkat(AT_FDCWD, path, buf, sizeof(buf)) < 0 ? -1 : 0;
		}
		break;
	}
	default:
		return;
	}
	syscall_exit(tr, t, r < 0 ? -(int64_t)errno : 0, r < 0);
	tr->res->answered++;
}

/* An open of /proc/.../attr/... for writing may change the task's LSM label (AppArmor's
 * change_profile, SELinux's setexeccon): its queries are its own from then on. */
static void watch_label(struct task *t)
{
	const char *p;

	if (t->nev != 1 || (t->ev[0].flags & O_ACCMODE) == O_RDONLY)
		return;
	p = t->pbuf + t->ev[0].off;
	if (under(p, "/proc") && strstr(p, "/attr/"))
		t->flags |= TASK_OWN_VIEW;
}

static enum decode_result decode(struct tracer *tr, struct task *t, uint64_t nr,
				 const uint64_t *a)
{
	int fd0 = (int)a[0], fd2 = (int)a[2];

	task_clear_syscall(t);
	switch (nr) {
	case SYS_open:
		add_path(tr, t, MP_OP_OPEN, (uint32_t)a[1], AT_FDCWD, a[0], false);
		watch_label(t);
		break;
	case SYS_creat:
		add_path(tr, t, MP_OP_OPEN, OPEN_CREAT_FLAGS, AT_FDCWD, a[0], false);
		break;
	case SYS_openat:
		add_path(tr, t, MP_OP_OPEN, (uint32_t)a[2], fd0, a[1], false);
		watch_label(t);
		break;
	case SYS_openat2: {
		uint64_t how_flags = 0; /* struct open_how starts with the u64 flags */

		read_mem(t->tid, a[2], &how_flags, sizeof(how_flags));
		add_path(tr, t, MP_OP_OPEN, (uint32_t)how_flags, fd0, a[1], false);
		watch_label(t);
		break;
	}
	case SYS_execve:
		add_path(tr, t, MP_OP_EXEC, 0, AT_FDCWD, a[0], false);
		read_argv(tr, t, a[1]);
		t->flags |= TASK_EXEC;
		break;
	case SYS_execveat:
		add_path(tr, t, MP_OP_EXEC, 0, fd0, a[1], a[4] & AT_EMPTY_PATH);
		read_argv(tr, t, a[2]);
		t->flags |= TASK_EXEC;
		break;
	case SYS_stat:
		add_path(tr, t, MP_OP_STAT, 0, AT_FDCWD, a[0], false);
		query_here(tr, t, nr, AT_FDCWD, a[0], a);
		break;
	case SYS_lstat:
		add_path(tr, t, MP_OP_STAT, AT_SYMLINK_NOFOLLOW, AT_FDCWD, a[0], false);
		query_here(tr, t, nr, AT_FDCWD, a[0], a);
		break;
	/* With AT_EMPTY_PATH these are fstat() on an open file, not a path lookup: the
	 * seccomp filter lets them through, so they are not recorded in either mode. */
	case SYS_newfstatat:
		if (!(a[3] & AT_EMPTY_PATH)) {
			add_path(tr, t, MP_OP_STAT, a[3] & AT_SYMLINK_NOFOLLOW, fd0, a[1], false);
			query_here(tr, t, nr, fd0, a[1], a);
		}
		break;
	case SYS_statx:
		if (!(a[2] & AT_EMPTY_PATH)) {
			add_path(tr, t, MP_OP_STAT, a[2] & AT_SYMLINK_NOFOLLOW, fd0, a[1], false);
			query_here(tr, t, nr, fd0, a[1], a);
		}
		break;
	case SYS_access:
		add_path(tr, t, MP_OP_ACCESS, (uint32_t)a[1], AT_FDCWD, a[0], false);
		query_here(tr, t, nr, AT_FDCWD, a[0], a);
		break;
	case SYS_faccessat:
		add_path(tr, t, MP_OP_ACCESS, (uint32_t)a[2], fd0, a[1], false);
		query_here(tr, t, nr, fd0, a[1], a);
		break;
	case SYS_faccessat2:
		add_path(tr, t, MP_OP_ACCESS, (uint32_t)a[2], fd0, a[1], a[3] & AT_EMPTY_PATH);
		query_here(tr, t, nr, fd0, a[1], a);
		break;
	case SYS_readlink:
		add_path(tr, t, MP_OP_READLINK, 0, AT_FDCWD, a[0], false);
		query_here(tr, t, nr, AT_FDCWD, a[0], a);
		break;
	case SYS_readlinkat:
		/* an empty path reads the symlink an O_PATH fd refers to (Linux 2.6.39) */
		add_path(tr, t, MP_OP_READLINK, 0, fd0, a[1], true);
		query_here(tr, t, nr, fd0, a[1], a);
		break;
	case SYS_chroot:
	case SYS_pivot_root:
		t->fs->own_root = true;
		t->flags |= TASK_OWN_VIEW;
		return DECODE_DONE;
	case SYS_setuid:
	case SYS_setgid:
	case SYS_setreuid:
	case SYS_setregid:
	case SYS_setresuid:
	case SYS_setresgid:
	case SYS_setfsuid:
	case SYS_setfsgid:
	case SYS_setgroups:
	case SYS_capset:
	case SYS_unshare:
	case SYS_setns:
	case SYS_landlock_restrict_self:
		t->flags |= TASK_OWN_VIEW;
		return DECODE_DONE;
	case SYS_prctl:
		for (size_t k = 0; k < N_PRCTL; k++)
			if (a[0] == traced_prctl[k])
				t->flags |= TASK_OWN_VIEW;
		return DECODE_DONE;
	case SYS_chdir:
		add_path(tr, t, MP_OP_CHDIR, 0, AT_FDCWD, a[0], false);
		t->flags |= TASK_CWD;
		break;
	case SYS_fchdir:
		add_fd(tr, t, MP_OP_CHDIR, 0, fd0);
		t->flags |= TASK_CWD;
		break;
	case SYS_mkdir:
		add_path(tr, t, MP_OP_MKDIR, 0, AT_FDCWD, a[0], false);
		break;
	case SYS_mkdirat:
		add_path(tr, t, MP_OP_MKDIR, 0, fd0, a[1], false);
		break;
	case SYS_rmdir:
		add_path(tr, t, MP_OP_UNLINK, AT_REMOVEDIR, AT_FDCWD, a[0], false);
		break;
	case SYS_unlink:
		add_path(tr, t, MP_OP_UNLINK, 0, AT_FDCWD, a[0], false);
		break;
	case SYS_unlinkat:
		add_path(tr, t, MP_OP_UNLINK, a[2] & AT_REMOVEDIR, fd0, a[1], false);
		break;
	case SYS_rename:
		add_path(tr, t, MP_OP_RENAME_FROM, 0, AT_FDCWD, a[0], false);
		add_path(tr, t, MP_OP_RENAME_TO, 0, AT_FDCWD, a[1], false);
		break;
	case SYS_renameat:
	case SYS_renameat2:
		add_path(tr, t, MP_OP_RENAME_FROM, 0, fd0, a[1], false);
		add_path(tr, t, MP_OP_RENAME_TO, 0, fd2, a[3], false);
		break;
	case SYS_link:
		add_path(tr, t, MP_OP_LINK_FROM, 0, AT_FDCWD, a[0], false);
		add_path(tr, t, MP_OP_LINK_TO, 0, AT_FDCWD, a[1], false);
		break;
	case SYS_linkat:
		add_path(tr, t, MP_OP_LINK_FROM, 0, fd0, a[1], a[4] & AT_EMPTY_PATH);
		add_path(tr, t, MP_OP_LINK_TO, 0, fd2, a[3], false);
		break;
	case SYS_symlink:
		add_path(tr, t, MP_OP_SYMLINK, 0, AT_FDCWD, a[1], false);
		break;
	case SYS_symlinkat:
		add_path(tr, t, MP_OP_SYMLINK, 0, (int)a[1], a[2], false);
		break;
	case SYS_truncate:
		add_path(tr, t, MP_OP_TRUNCATE, 0, AT_FDCWD, a[0], false);
		break;
	case SYS_chmod:
		add_path(tr, t, MP_OP_CHMOD, 0, AT_FDCWD, a[0], false);
		break;
	case SYS_fchmodat:
		add_path(tr, t, MP_OP_CHMOD, 0, fd0, a[1], false);
		break;
	case SYS_fchmodat2:
		add_path(tr, t, MP_OP_CHMOD, 0, fd0, a[1], a[3] & AT_EMPTY_PATH);
		break;
	case SYS_chown:
	case SYS_lchown:
		add_path(tr, t, MP_OP_CHOWN, 0, AT_FDCWD, a[0], false);
		break;
	case SYS_fchownat:
		add_path(tr, t, MP_OP_CHOWN, 0, fd0, a[1], a[4] & AT_EMPTY_PATH);
		break;
	case SYS_utime:
	case SYS_utimes:
		add_path(tr, t, MP_OP_UTIME, 0, AT_FDCWD, a[0], false);
		break;
	case SYS_futimesat:
	case SYS_utimensat:
		/* a NULL path (futimens) changes the file @dirfd refers to */
		add_path(tr, t, MP_OP_UTIME, 0, fd0, a[1], true);
		break;
	case SYS_mknod:
		add_path(tr, t, MP_OP_MKNOD, 0, AT_FDCWD, a[0], false);
		break;
	case SYS_mknodat:
		add_path(tr, t, MP_OP_MKNOD, 0, fd0, a[1], false);
		break;
	case SYS_getdents:
	case SYS_getdents64:
		add_fd(tr, t, MP_OP_READDIR, 0, fd0);
		break;
	case SYS_connect:
		add_sockaddr(tr, t, MP_OP_CONNECT, a[1], a[2]);
		break;
	case SYS_bind:
		add_sockaddr(tr, t, MP_OP_BIND, a[1], a[2]);
		break;
	case SYS_getxattr:
	case SYS_listxattr:
		add_path(tr, t, MP_OP_XATTR, O_RDONLY, AT_FDCWD, a[0], false);
		break;
	case SYS_lgetxattr:
	case SYS_llistxattr:
		add_path(tr, t, MP_OP_XATTR, AT_SYMLINK_NOFOLLOW, AT_FDCWD, a[0], false);
		break;
	case SYS_setxattr:
	case SYS_removexattr:
		add_path(tr, t, MP_OP_XATTR, O_WRONLY, AT_FDCWD, a[0], false);
		break;
	case SYS_lsetxattr:
	case SYS_lremovexattr:
		add_path(tr, t, MP_OP_XATTR, O_WRONLY | AT_SYMLINK_NOFOLLOW, AT_FDCWD, a[0], false);
		break;
	case SYS_getxattrat:
	case SYS_listxattrat:
		add_path(tr, t, MP_OP_XATTR, a[2] & AT_SYMLINK_NOFOLLOW, fd0, a[1],
			 a[2] & AT_EMPTY_PATH);
		break;
	case SYS_setxattrat:
	case SYS_removexattrat:
		add_path(tr, t, MP_OP_XATTR, O_WRONLY | (a[2] & AT_SYMLINK_NOFOLLOW), fd0, a[1],
			 a[2] & AT_EMPTY_PATH);
		break;
	case SYS_inotify_add_watch:
		add_path(tr, t, MP_OP_WATCH, a[2] & TRACER_IN_DONT_FOLLOW ? AT_SYMLINK_NOFOLLOW : 0,
			 AT_FDCWD, a[1], false);
		break;
	case SYS_fanotify_mark:
		/* a NULL path marks @dirfd itself; a flush names nothing */
		if (!(a[1] & TRACER_FAN_MARK_FLUSH))
			add_path(tr, t, MP_OP_WATCH,
				 a[1] & TRACER_FAN_MARK_DONT_FOLLOW ? AT_SYMLINK_NOFOLLOW : 0,
				 (int)a[3], a[4], true);
		break;
	case SYS_name_to_handle_at:
		/* follows a final symlink only with AT_SYMLINK_FOLLOW */
		add_path(tr, t, MP_OP_STAT, a[4] & AT_SYMLINK_FOLLOW ? 0 : AT_SYMLINK_NOFOLLOW, fd0,
			 a[1], a[4] & AT_EMPTY_PATH);
		break;
	case SYS_uselib:
		add_path(tr, t, MP_OP_OPEN, O_RDONLY, AT_FDCWD, a[0], false);
		t->flags |= TASK_NO_FD;
		break;
	case SYS_mount:
		add_mount(tr, t, a);
		break;
	case SYS_umount2:
		add_path(tr, t, MP_OP_UMOUNT, (uint32_t)a[1], AT_FDCWD, a[0], false);
		break;
	/* The new mount API. An empty path with its EMPTY_PATH flag means an fd, which was
	 * recorded when it was opened, or which is a detached mount (fsmount, open_tree's
	 * clone) that no path names: not recorded. */
	case SYS_open_tree:
	case SYS_open_tree_attr:
		add_path(tr, t, MP_OP_MOUNT_FROM, 0, fd0, a[1], false);
		break;
	case SYS_move_mount:
		add_path(tr, t, MP_OP_MOUNT_FROM, 0, fd0, a[1], false);
		add_path(tr, t, MP_OP_MOUNT, 0, fd2, a[3], false);
		break;
	case SYS_fspick:
	case SYS_mount_setattr:
		add_path(tr, t, MP_OP_MOUNT, 0, fd0, a[1], false);
		break;
	case SYS_io_uring_setup:
		tr->res->used_io_uring = true;
		return DECODE_NOT_PATH;
	case SYS_sched_getaffinity: {
		struct task *of = a[0] ? task_find(tr, (pid_t)a[0]) : t;

		/* a task of the tree pinned by us: it is told the mask it would have had */
		if (tr->pin.active && of && !(of->flags & TASK_OWN_AFFINITY) && a[2]) {
			t->aff_ptr = a[2];
			t->flags |= TASK_AFFINITY | TASK_IN_SYSCALL;
		}
		return DECODE_DONE;
	}
	case SYS_sched_setaffinity: {
		struct task *of = a[0] ? task_find(tr, (pid_t)a[0]) : t;

		if (of)
			of->flags |= TASK_OWN_AFFINITY;
		return DECODE_DONE;
	}
	default:
		return DECODE_NOT_PATH;
	}
	if (t->nev || (t->flags & (TASK_CWD | TASK_EXEC)))
		t->flags |= TASK_IN_SYSCALL;
	return DECODE_DONE;
}

static void proc_event(struct tracer *tr, struct tracer_proc *p)
{
	p->time_ns = clock_real_ns();
	if (tr->ops->proc)
		tr->ops->proc(tr->ctx, p);
}

static void refresh_cwd(struct task *t)
{
	char link[64], buf[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/cwd", (int)t->tid);
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n <= 0 || buf[0] != '/') {
		/* no /proc: the lexical form of what was asked for */
		if (t->nev && t->ev[0].op == MP_OP_CHDIR) {
			free(t->fs->cwd);
			t->fs->cwd = xstrdup(t->pbuf + t->ev[0].off);
		}
		return;
	}
	buf[n] = '\0';
	free(t->fs->cwd);
	t->fs->cwd = xstrdup(buf);
}

/* The exit stop of a decoded syscall: send its events with the result. */
static void syscall_exit(struct tracer *tr, struct task *t, int64_t rval, bool is_error)
{
	int err = is_error ? (int)-rval : 0;
	struct tracer_access a;

	/* ERESTARTSYS..ERESTART_RESTARTBLOCK: interrupted, the call is made again */
	if (err >= 512 && err <= 516) {
		task_clear_syscall(t);
		return;
	}
	a.pid = t->tgid;
	a.tid = t->tid;
	a.err = err;
	a.time_ns = clock_real_ns();
	for (int i = 0; i < t->nev; i++) {
		a.op = t->ev[i].op;
		a.flags = t->ev[i].flags;
		a.path = t->pbuf + t->ev[i].off;
		if (t->ev[i].addr && !(t->flags & TASK_EXEC)) {
			if (a.op == MP_OP_OPEN && !err && rval >= 0 && !(t->flags & TASK_NO_FD)) {
				a.path = opened_path(tr, t, a.path, (int)rval);
			} else if (path_changed(tr, t, &t->ev[i]) ||
				   (!err && looks_only(a.op) && lstat(a.path, &(struct stat){ 0 }) < 0)) {
				/* changed since entry, or a successful look at a name that is
				 * not there: torn the same way at both reads */
				a.flags |= MP_FLAG_RACED;
				tr->res->raced++;
			}
		}
		if (tr->ops->access) {
			tr->ops->access(tr->ctx, &a);
			tr->res->accesses++;
		}
	}
	if ((t->flags & TASK_AFFINITY) && !err && rval > 0)
		write_mem(t->tid, t->aff_ptr, &tr->pin.orig,
			  (size_t)rval < sizeof(tr->pin.orig) ? (size_t)rval : sizeof(tr->pin.orig));
	if ((t->flags & TASK_CWD) && !err)
		refresh_cwd(t);
	if ((t->flags & TASK_EXEC) && !err && t->nev) {
		struct tracer_proc p = { .what = TRACER_PROC_EXEC, .pid = t->tgid };
		static const char *const no_args[] = { NULL };

		p.exe = t->pbuf + t->ev[0].off;
		p.argv = t->argv.n ? (const char *const *)t->argv.v : no_args;
		p.cwd = t->fs->cwd;
		proc_event(tr, &p);
	}
	task_clear_syscall(t);
}

/* ---- stops ---- */

static void resume(struct tracer *tr, struct task *t, int sig)
{
	int req = (!tr->seccomp || (t->flags & TASK_IN_SYSCALL)) ? PTRACE_SYSCALL : PTRACE_CONT;

	/* ESRCH: killed meanwhile (SIGKILL, or another thread's exec); its exit is reported */
	ptrace(req, t->tid, NULL, (void *)(long)sig);
}

/* Decode a syscall of whatever ABI @arch says: x86-64 as it is, i386 through
 * i386_to_x86_64() (TRC-09). An x32 call, or an i386 path syscall not known, is counted as
 * undecoded; returns DECODE_NOT_PATH for the rest (the filter stops every i386 call). */
static enum decode_result decode_abi(struct tracer *tr, struct task *t, uint32_t arch,
				     uint64_t nr, const uint64_t *args)
{
	uint64_t a[6];
	long n;

	t->flags &= ~TASK_COMPAT;
	if (arch == AUDIT_ARCH_X86_64 && !(nr & X32_SYSCALL_BIT))
		return decode(tr, t, nr, args);
	task_clear_syscall(t);
	/* Its i386 calls (setuid32, chroot, ...) are not all decoded: the tracer answers none of
	 * its queries from now on (query_here()). */
	t->flags |= TASK_OWN_VIEW;
	if (arch != AUDIT_ARCH_I386) {
		tr->res->undecoded++;
		return DECODE_UNKNOWN;
	}
	n = i386_to_x86_64(nr);
	if (n < 0)
		return DECODE_NOT_PATH;
	for (int i = 0; i < 6; i++)
		a[i] = (uint32_t)args[i]; /* pointers and ints are 32 bits; signed fds stay signed as int */
	switch (nr) {
	case I386_UMOUNT:
		a[1] = 0;
		break;
	case I386_FANOTIFY_MARK:
		/* (fd, flags, mask low, mask high, dirfd, path) */
		a[2] |= a[3] << 32;
		a[3] = a[4];
		a[4] = a[5];
		break;
	case I386_SOCKETCALL: {
		uint32_t sa[3];

		if (a[0] != I386_SYS_BIND && a[0] != I386_SYS_CONNECT)
			return DECODE_NOT_PATH;
		n = a[0] == I386_SYS_BIND ? SYS_bind : SYS_connect;
		/* the arguments are an array of three 32-bit words; unreadable: EFAULT */
		if (read_mem(t->tid, a[1], sa, sizeof(sa)) < 0)
			return DECODE_NOT_PATH;
		for (int i = 0; i < 3; i++)
			a[i] = sa[i];
		break;
	}
	}
	t->flags |= TASK_COMPAT;
	return decode(tr, t, (uint64_t)n, a);
}

/* A SIGTRAP|0x80 stop: syscall entry (PTRACE_SYSCALL mode) or exit. */
static void on_syscall_stop(struct tracer *tr, struct task *t)
{
	/* Zeroed: valgrind 3.19 does not know that PTRACE_GET_SYSCALL_INFO fills it, and would
	 * report every use of it as uninitialised. */
	struct __ptrace_syscall_info si = { 0 };

	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, (void *)sizeof(si), &si) <= 0) {
		resume(tr, t, 0);
		return;
	}
	if (si.op == PTRACE_SYSCALL_INFO_ENTRY) {
		t->nr = si.arch == AUDIT_ARCH_X86_64 ? (long)si.entry.nr : -1;
		decode_abi(tr, t, si.arch, si.entry.nr, si.entry.args);
	} else if (si.op == PTRACE_SYSCALL_INFO_EXIT) {
		/* The command's own seccomp() before its exec: once the filter is in, only the
		 * filtered syscalls need to stop. */
		if ((t->flags & TASK_PRE_EXEC) && t->nr == SYS_seccomp && !si.exit.is_error &&
		    !si.exit.rval)
			tr->seccomp = true;
		if (t->flags & TASK_IN_SYSCALL)
			syscall_exit(tr, t, si.exit.rval, si.exit.is_error);
		t->nr = -1;
	}
	resume(tr, t, 0);
}

static void on_seccomp_stop(struct tracer *tr, struct task *t)
{
	struct __ptrace_syscall_info si = { 0 }; /* zeroed for valgrind, see on_syscall_stop() */

	/* In PTRACE_SYSCALL mode the entry stop already decoded it. */
	if (!tr->seccomp) {
		resume(tr, t, 0);
		return;
	}
	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, (void *)sizeof(si), &si) <= 0 ||
	    si.op != PTRACE_SYSCALL_INFO_SECCOMP) {
		tr->res->undecoded++;
		resume(tr, t, 0);
		return;
	}
	if (si.seccomp.ret_data != TRACER_SECCOMP_DATA) {
		/* a filter of the command's own */
		resume(tr, t, 0);
		return;
	}
	if (decode_abi(tr, t, si.arch, si.seccomp.nr, si.seccomp.args) == DECODE_NOT_PATH &&
	    si.arch == AUDIT_ARCH_X86_64 && si.seccomp.nr != SYS_io_uring_setup)
		tr->res->undecoded++;
	/* With TASK_IN_SYSCALL set this is PTRACE_SYSCALL: on Linux >= 4.8 the next stop
	 * is the syscall-exit stop (entry -> seccomp -> exit). */
	resume(tr, t, 0);
}

/* The clone flags of the fork/vfork/clone/clone3 @t is stopped in. */
static unsigned long clone_flags(struct task *t)
{
	struct user_regs_struct regs;
	unsigned long nr;
	uint64_t arg;

	if (ptrace(PTRACE_GETREGS, t->tid, NULL, &regs) < 0)
		return 0;
	nr = regs.orig_rax;
	if (regs.cs == 0x23) { /* i386: number and first argument in eax, ebx */
		arg = regs.rbx & 0xffffffffu;
		if (nr == 120)
			return arg;
		if (nr == 190)
			return CLONE_VM | CLONE_VFORK;
		if (nr == 435)
			goto clone3;
		return 0;
	}
	arg = regs.rdi;
	switch (nr) {
	case SYS_clone:
		return arg;
	case SYS_vfork:
		return CLONE_VM | CLONE_VFORK;
	case SYS_clone3:
		goto clone3;
	default:
		return 0;
	}
clone3:
	/* struct clone_args starts with the u64 flags */
	if (read_mem(t->tid, arg, &arg, sizeof(arg)) < 0)
		return 0;
	return arg;
}

static void task_exited(struct tracer *tr, struct task *t, int status);

static struct tracer_orphan *orphan_find(struct tracer *tr, pid_t tid)
{
	for (size_t i = 0; i < tr->norphans; i++)
		if (tr->orphans[i].tid == tid)
			return &tr->orphans[i];
	return NULL;
}

static void orphan_drop(struct tracer *tr, struct tracer_orphan *o)
{
	*o = tr->orphans[--tr->norphans];
}

static void on_new_task(struct tracer *tr, struct task *parent)
{
	unsigned long msg = 0, flags;
	struct tracer_orphan *o;
	struct tracer_fs *fs;
	struct task *c;
	pid_t tid;

	if (ptrace(PTRACE_GETEVENTMSG, parent->tid, NULL, &msg) < 0 || !msg)
		return;
	tid = (pid_t)msg;
	if (task_find(tr, tid))
		return;
	flags = clone_flags(parent);
	if (flags & CLONE_FS) {
		fs = parent->fs;
		fs->refs++;
	} else {
		fs = fs_new(parent->fs->cwd);
		fs->own_root = parent->fs->own_root;
	}
	c = task_new(tr, tid, (flags & CLONE_THREAD) ? parent->tgid : tid, fs);
	c->flags = TASK_INITIAL | (parent->flags & (TASK_OWN_AFFINITY | TASK_OWN_VIEW));
	if (flags & (CLONE_NEWNS | CLONE_NEWUSER))
		c->flags |= TASK_OWN_VIEW;
	if ((flags & CLONE_VM) && !(flags & CLONE_VFORK)) {
		c->flags |= TASK_SHARED_VM;
		parent->flags |= TASK_SHARED_VM;
	} else if ((flags & CLONE_VM) && (parent->flags & TASK_SHARED_VM)) {
		/* vfork of a thread: its parent waits, the other threads run on */
		c->flags |= TASK_SHARED_VM;
	}
	if (!(flags & CLONE_THREAD)) {
		struct tracer_proc p = { .what = TRACER_PROC_START, .pid = tid };

		p.parent = parent->tgid;
		p.cwd = fs->cwd;
		tr->res->processes++;
		proc_event(tr, &p);
	}
	if (tr->res->timed_out)
		kill(tid, SIGKILL);
	o = orphan_find(tr, tid);
	if (o) {
		/* its first stop came before this event: resume it now */
		orphan_drop(tr, o);
		c->flags &= ~TASK_INITIAL;
		resume(tr, c, 0);
	} else if (kill(tid, 0) < 0 && errno == ESRCH) {
		/* killed (SIGKILL) before its first stop, and its death already reaped as an
		 * unknown pid: it will never report */
		task_exited(tr, c, W_EXITCODE(0, SIGKILL));
	}
}

/* An LSM label as /proc/PID/attr/current shows it, or NULL (no LSM that labels tasks: the
 * read fails with EINVAL). */
static char *read_label(const char *path)
{
	char buf[256];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return xstrdup(buf);
}

/* Whether the program @t just exec'd may run with other credentials or another LSM label
 * than the tracer: a set-user-ID or set-group-ID file (the kernel honours them under a
 * root tracer), or a label that differs (an AppArmor or SELinux profile for the program). */
static bool exec_changed_view(struct tracer *tr, struct task *t)
{
	char link[64];
	struct stat st;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)t->tid);
	if (stat(link, &st) < 0 || (st.st_mode & (S_ISUID | S_ISGID)))
		return true;
	if (tr->label) {
		char *label;
		bool same;

		snprintf(link, sizeof(link), "/proc/%d/attr/current", (int)t->tid);
		label = read_label(link);
		same = label && !strcmp(label, tr->label);
		free(label);
		return !same;
	}
	return false;
}

/* PTRACE_EVENT_EXEC: the exec succeeded. When a non-leader thread execs, it takes over the
 * thread group id; the old leader is gone without a report of its own (ptrace(2),
 * "execve(2) under ptrace"). */
static struct task *on_exec(struct tracer *tr, struct task *t)
{
	unsigned long former = 0;
	struct task *x;

	if (ptrace(PTRACE_GETEVENTMSG, t->tid, NULL, &former) == 0 && (pid_t)former != t->tid &&
	    former) {
		x = task_find(tr, (pid_t)former);
		if (x) {
			pid_t tid = t->tid;

			task_free(tr, t);
			task_unlink(tr, x);
			x->tid = tid;
			x->tgid = tid;
			task_link(tr, x);
			t = x;
		}
	}
	t->flags &= ~(TASK_PRE_EXEC | TASK_SHARED_VM); /* a new memory of its own */
	if (tr->query_here && !(t->flags & TASK_OWN_VIEW) && exec_changed_view(tr, t))
		t->flags |= TASK_OWN_VIEW;
	return t;
}

static void task_exited(struct tracer *tr, struct task *t, int status)
{
	if (t->tid == t->tgid) {
		struct tracer_proc p = { .what = TRACER_PROC_EXIT, .pid = t->tgid };

		p.status = status;
		proc_event(tr, &p);
		if (t->tgid == tr->root) {
			tr->root_gone = true;
			if (WIFEXITED(status))
				tr->res->exit_code = WEXITSTATUS(status);
			else if (WIFSIGNALED(status))
				tr->res->exit_code = 128 + WTERMSIG(status);
			fwd_pid = 0;
		}
	}
	task_free(tr, t);
}

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

static void on_wait(struct tracer *tr, pid_t pid, int status)
{
	struct task *t = task_find(tr, pid);
	int sig, event;

	if (!t) {
		struct tracer_orphan *o = orphan_find(tr, pid);

		if (WIFSTOPPED(status) && !o) {
			xgrow(&tr->orphans, &tr->aorphans, tr->norphans + 1, sizeof(*tr->orphans));
			tr->orphans[tr->norphans].tid = pid;
			tr->orphans[tr->norphans].status = status;
			tr->norphans++;
			if (tr->res->timed_out)
				kill(pid, SIGKILL);
		} else if (!WIFSTOPPED(status) && o) {
			orphan_drop(tr, o);
		}
		return;
	}
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		task_exited(tr, t, status);
		return;
	}
	if (!WIFSTOPPED(status))
		return;
	sig = WSTOPSIG(status);
	event = (unsigned)status >> 16;
	if (t->flags & TASK_INITIAL) {
		t->flags &= ~TASK_INITIAL;
		if (event == PTRACE_EVENT_STOP) {
			resume(tr, t, 0);
			return;
		}
	}
	if (sig == (SIGTRAP | 0x80)) {
		on_syscall_stop(tr, t);
		return;
	}
	switch (event) {
	case 0:
		/* signal-delivery-stop: deliver it */
		resume(tr, t, sig);
		break;
	case PTRACE_EVENT_SECCOMP:
		on_seccomp_stop(tr, t);
		break;
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
	case PTRACE_EVENT_CLONE:
		on_new_task(tr, t);
		resume(tr, t, 0);
		break;
	case PTRACE_EVENT_EXEC:
		t = on_exec(tr, t);
		resume(tr, t, 0);
		break;
	case PTRACE_EVENT_STOP:
		/* Group-stop of a PTRACE_SEIZEd tracee: stay stopped but let SIGCONT end it;
		 * the end of the stop is reported as PTRACE_EVENT_STOP with SIGTRAP. */
		if (is_stop_signal(sig))
			ptrace(PTRACE_LISTEN, t->tid, NULL, NULL);
		else
			resume(tr, t, 0);
		break;
	default:
		resume(tr, t, 0);
		break;
	}
}

/* Stops from pids whose parent never reported them (the parent died between fork and the
 * event): take them on as processes of their own. */
static void adopt_orphans(struct tracer *tr)
{
	while (tr->norphans) {
		struct tracer_orphan o = tr->orphans[--tr->norphans];
		char link[64], buf[PATH_MAX];
		struct tracer_proc p = { .what = TRACER_PROC_START, .pid = o.tid };
		struct task *t;
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/%d/cwd", (int)o.tid);
		n = readlink(link, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		t = task_new(tr, o.tid, o.tid, fs_new(n > 0 ? buf : "/"));
		p.cwd = t->fs->cwd;
		tr->res->processes++;
		proc_event(tr, &p);
		resume(tr, t, 0);
	}
}

/* Processes (not threads) still in the tree. */
static uint64_t count_processes(const struct tracer *tr)
{
	uint64_t n = tr->norphans;

	for (size_t i = 0; i < tr->nbuckets; i++)
		for (const struct task *t = tr->buckets[i]; t; t = t->next)
			n += t->tid == t->tgid;
	return n;
}

static void kill_all(struct tracer *tr)
{
	for (size_t i = 0; i < tr->nbuckets; i++)
		for (struct task *t = tr->buckets[i]; t; t = t->next)
			kill(t->tgid, SIGKILL);
	for (size_t i = 0; i < tr->norphans; i++)
		kill(tr->orphans[i].tid, SIGKILL);
}

/* ---- the command ---- */

/* Jump from instruction @from to @to (both indices in the program). */
#define JUMP_TO(from, to) ((unsigned char)((to) - (from) - 1))

static void build_filter(struct sock_filter *f)
{
	/* Layout: 0 ld arch; 1 x86-64?; 2 ld nr; 3 x32?; 4-6 newfstatat with AT_EMPTY_PATH;
	 * 7-9 statx with AT_EMPTY_PATH; prctl and its options; then one test per traced
	 * syscall; ALLOW; TRACE. */
	const size_t list = 10 + 2 + N_PRCTL, allow = list + N_TRACED, trace = allow + 1;
	size_t i = 0;

	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	/* another ABI (i386 int 0x80): stop, to be counted as undecoded */
	f[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0,
					    JUMP_TO(i, trace));
	i++;
	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
	/* x32 */
	f[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT,
					    JUMP_TO(i, trace), 0);
	i++;
	/* fstat() is newfstatat(fd, "", buf, AT_EMPTY_PATH) in glibc, and statx can be the
	 * same: no path is looked up, so let them run without a stop (the filter cannot read
	 * the path string; a non-empty path with AT_EMPTY_PATH is resolved as usual by the
	 * kernel and goes unrecorded: a documented gap). */
	struct {
		int nr;
		size_t arg;
	} empty[] = { { SYS_newfstatat, 3 }, { SYS_statx, 2 } };
	for (size_t k = 0; k < 2; k++) {
		f[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, empty[k].nr, 0, 2);
		i++;
		f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						      offsetof(struct seccomp_data, args[empty[k].arg]));
		f[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, AT_EMPTY_PATH,
						    JUMP_TO(i, allow), JUMP_TO(i, trace));
		i++;
	}
	/* prctl: its option decides (the accumulator then holds it, not the number) */
	f[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_prctl, 0, 1 + N_PRCTL);
	i++;
	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, args[0]));
	for (size_t k = 0; k < N_PRCTL; k++) {
		f[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, traced_prctl[k],
						    JUMP_TO(i, trace),
						    k + 1 < N_PRCTL ? 0 : JUMP_TO(i, allow));
		i++;
	}
	for (size_t k = 0; k < N_TRACED; k++) {
		f[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, traced_nrs[k],
						    JUMP_TO(i, trace), 0);
		i++;
	}
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					      SECCOMP_RET_TRACE | TRACER_SECCOMP_DATA);
}

static void install_filter(struct sock_fprog *prog)
{
	if (!syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog))
		return;
	/* Without CAP_SYS_ADMIN a filter needs no_new_privs, which also makes setuid programs
	 * run without their privileges; root keeps them (TRC-12). */
	if (errno == EACCES && !prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog);
	/* failing that, the tracer stays in PTRACE_SYSCALL mode */
}

static _Noreturn void run_child(char *const argv[], const struct tracer_opts *opts,
				struct sock_fprog *prog, const struct sigaction *old, int errfd)
{
	int err;

	/* async-signal-safe calls only: the caller may have threads */
	for (size_t i = 0; i < N_FWD; i++)
		sigaction(fwd_signals[i], &old[i], NULL);
	sigaction(SIGCHLD, &old[N_FWD], NULL);
	sigkeep_restore();
	if (opts->stdin_fd >= 0 && opts->stdin_fd != 0) {
		if (dup2(opts->stdin_fd, 0) < 0) {
			err = errno;
			goto fail;
		}
		close(opts->stdin_fd);
	}
	/* A caller that changed its uid (magicpak test --user) is not dumpable, nor then is
	 * this fork of it, and the tracer could not seize us: this process may be (its exec
	 * decides for the program). */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	/* kill(), not raise(): stop before any filter is in, so the tracer sees everything
	 * (TRC-04). The tracer seizes us and sends SIGCONT. */
	kill(getpid(), SIGSTOP);
	if (prog)
		install_filter(prog);
	execvp(argv[0], argv);
	err = errno;
fail:
	if (write(errfd, &err, sizeof(err)) < 0) {
		/* nothing left to tell it with */
	}
	_exit(err == ENOENT ? 127 : 126);
}

static void report_exec_error(int fd, const char *cmd, struct tracer_result *res)
{
	int err = 0;

	if (read(fd, &err, sizeof(err)) != sizeof(err) || !err)
		return;
	if (err == ENOENT && !strchr(cmd, '/'))
		log_error(0, "%s: command not found", cmd);
	else
		log_errno(-err, "%s", cmd);
	res->exit_code = err == ENOENT ? 127 : 126;
}

/* A timer sending @sig to this thread after @first_ms, then every @every_ms. */
static int start_timer(int sig, long first_ms, long every_ms, timer_t *out)
{
	struct sigevent sev = { 0 };
	struct itimerspec its = { 0 };

	/* Aimed at this thread so waitpid() returns EINTR; repeated in case the signal came
	 * just before waitpid() went to sleep. */
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = sig;
	sev.sigev_notify_thread_id = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, out) < 0)
		return -errno;
	its.it_value.tv_sec = first_ms / 1000;
	its.it_value.tv_nsec = first_ms % 1000 * 1000000;
	its.it_interval.tv_sec = every_ms / 1000;
	its.it_interval.tv_nsec = every_ms % 1000 * 1000000;
	if (timer_settime(*out, 0, &its, NULL) < 0) {
		int ret = -errno;

		timer_delete(*out);
		return ret;
	}
	return 0;
}

int tracer_run(char *const argv[], const struct tracer_opts *opts, const struct tracer_ops *ops,
	       void *ctx, struct tracer_result *res)
{
	static const struct tracer_ops no_ops;
	struct sock_filter filter[FILTER_LEN];
	struct sock_fprog prog = { .len = FILTER_LEN, .filter = filter };
	struct sigaction old[N_FWD + 1], old_alrm, sa;
	struct tracer tr = { 0 };
	struct tracer_proc start = { .what = TRACER_PROC_START };
	struct task *root;
	char cwd[PATH_MAX];
	int errpipe[2] = { -1, -1 };
	bool have_timer = false, have_alrm = false, have_pin_timer = false, have_vtalrm = false;
	uint64_t timeout_at = 0, linger_at = 0; /* CLOCK_MONOTONIC ms; 0: not set */
	struct sigaction old_vtalrm;
	timer_t timer, pin_timer;
	pid_t pid = -1;
	int ret = 0, status;

	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	tr.ops = ops ? ops : &no_ops;
	tr.ctx = ctx;
	tr.res = res;
	tr.nbuckets = 64;
	tr.buckets = xcalloc(tr.nbuckets, sizeof(*tr.buckets));
	tr.sbuf = xmalloc(TRACER_ARG_MAX + 1);
	tr.fdbuf = xmalloc(PATH_MAX + 1);
	/* MAGICPAK_NO_QUERY_HERE=1: every query waits for its exit stop (query_here()) */
	{
		const char *e = getenv("MAGICPAK_NO_QUERY_HERE");

		tr.query_here = !(e && *e && strcmp(e, "0")) &&
				!access("/proc/self/cwd", F_OK);
		tr.label = read_label("/proc/self/attr/current");
	}
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "/");
	build_filter(filter);

	if (pipe2(errpipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		ret = log_errno(-errno, "cannot create a pipe");
		goto out_free;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fwd_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < N_FWD; i++)
		sigaction(fwd_signals[i], &sa, &old[i]);
	/* waitpid() needs the exit reports: no SIG_IGN on SIGCHLD during the run */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, &old[N_FWD]);
	fwd_pid = 0;
	fwd_pending = 0;
	timer_fired = 0;

	cpupin_start(&tr.pin);
	pid = fork();
	if (pid < 0) {
		ret = log_errno(-errno, "cannot fork");
		goto out_signals;
	}
	if (pid == 0) {
		close(errpipe[0]);
		run_child(argv, opts, opts->no_seccomp ? NULL : &prog, old, errpipe[1]);
	}
	close(errpipe[1]);
	errpipe[1] = -1;

	if (waitpid(pid, &status, WSTOPPED) < 0 || !WIFSTOPPED(status)) {
		ret = log_error(-ECHILD, "'%s' did not start", argv[0]);
		goto out_kill;
	}
	if (ptrace(PTRACE_SEIZE, pid, NULL,
		   (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK |
				  PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
				  PTRACE_O_TRACEEXEC | PTRACE_O_TRACESECCOMP |
				  PTRACE_O_EXITKILL)) < 0) {
		ret = log_errno(-errno, "cannot trace '%s'", argv[0]);
		goto out_kill;
	}
	/* strace's startup_child() does the same: seize the stopped child, then continue it */
	kill(pid, SIGCONT);

	tr.root = pid;
	root = task_new(&tr, pid, pid, fs_new(cwd));
	root->flags = TASK_INITIAL | TASK_PRE_EXEC;
	res->processes = 1;
	start.pid = pid;
	start.cwd = cwd;
	proc_event(&tr, &start);
	{
		sigset_t block, prev;

		/* Hand over what arrived during start-up, without racing the handler. */
		sigemptyset(&block);
		for (size_t i = 0; i < N_FWD; i++)
			sigaddset(&block, fwd_signals[i]);
		sigprocmask(SIG_BLOCK, &block, &prev);
		fwd_pid = pid;
		for (size_t i = 0; i < N_FWD; i++)
			if (fwd_pending & (1 << fwd_signals[i]))
				kill(pid, fwd_signals[i]);
		fwd_pending = 0;
		sigprocmask(SIG_SETMASK, &prev, NULL);
	}

	/* the timeout's timer, and the linger's once the first process ends */
	if (opts->timeout_s || opts->linger) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_timer;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, &old_alrm);
		have_alrm = true;
	}
	if (opts->timeout_s) {
		timeout_at = clock_mono_ms() + (uint64_t)opts->timeout_s * 1000;
		ret = start_timer(SIGALRM, (long)opts->timeout_s * 1000, 1000, &timer);
		if (ret < 0) {
			log_errno(ret, "cannot set the timeout");
			goto out_kill;
		}
		have_timer = true;
	}

	if (tr.pin.active) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_pin_timer; /* no SA_RESTART: waitpid() returns to check */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGVTALRM, &sa, &old_vtalrm);
		have_vtalrm = true;
		pin_check = 0;
		if (start_timer(SIGVTALRM, CPUPIN_CHECK_MS, CPUPIN_CHECK_MS, &pin_timer) == 0)
			have_pin_timer = true;
	}
	for (;;) {
		pid_t w;

		if (pin_check) {
			pin_check = 0;
			if (tr.pin.active)
				pin_check_now(&tr, pin_timer);
		}
		if (tr.root_gone && opts->linger && !linger_at && (tr.ntasks || tr.norphans)) {
			/* the timer fires at the linger time unless the timeout comes first */
			linger_at = clock_mono_ms() + (uint64_t)opts->linger_s * 1000;
			if (!opts->timeout_s || linger_at < timeout_at) {
				if (have_timer)
					timer_delete(timer);
				have_timer = start_timer(SIGALRM, (long)opts->linger_s * 1000 + 1,
							 1000, &timer) == 0;
				if (!have_timer) {
					/* no timer: end it now rather than never */
					linger_at = clock_mono_ms();
					timer_fired = 1;
				}
			}
		}
		if (timer_fired) {
			timer_fired = 0;
			if (linger_at && clock_mono_ms() >= linger_at) {
				if (!res->lingered)
					res->lingered = count_processes(&tr);
				kill_all(&tr);
			} else if (opts->timeout_s && clock_mono_ms() >= timeout_at) {
				res->timed_out = true;
				kill_all(&tr);
			}
		}
		if (!tr.ntasks) {
			if (!tr.norphans)
				break;
			adopt_orphans(&tr);
		}
		w = waitpid(-1, &status, __WALL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				log_errno(-errno, "waitpid");
			break;
		}
		on_wait(&tr, w, status);
	}
	pid = -1;
	report_exec_error(errpipe[0], argv[0], res);
	if (res->timed_out)
		res->exit_code = 124;
	else if (res->exit_code < 0)
		res->exit_code = 1;
	res->used_seccomp = tr.seccomp;
	goto out_signals;

out_kill:
	kill_all(&tr);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, __WALL);
	}
out_signals:
	if (have_timer)
		timer_delete(timer);
	if (have_alrm)
		sigaction(SIGALRM, &old_alrm, NULL);
	if (have_pin_timer && tr.pin.active)
		timer_delete(pin_timer);
	if (have_vtalrm)
		sigaction(SIGVTALRM, &old_vtalrm, NULL);
	if (tr.pin.active)
		sched_setaffinity(0, sizeof(tr.pin.orig), &tr.pin.orig);
	cpupin_free(&tr.pin);
	fwd_pid = 0;
	for (size_t i = 0; i < N_FWD; i++)
		sigaction(fwd_signals[i], &old[i], NULL);
	sigaction(SIGCHLD, &old[N_FWD], NULL);
out_free:
	for (size_t i = 0; i < tr.nbuckets; i++)
		while (tr.buckets[i])
			task_free(&tr, tr.buckets[i]);
	free(tr.buckets);
	free(tr.orphans);
	free(tr.sbuf);
	free(tr.fdbuf);
	free(tr.label);
	if (errpipe[0] >= 0)
		close(errpipe[0]);
	if (errpipe[1] >= 0)
		close(errpipe[1]);
	return ret;
}
