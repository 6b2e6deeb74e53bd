/* SPDX-License-Identifier: MIT */
/* collector/record.c - glue between the tracer's callbacks and the store. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "clock.h"
#include "collect.h"
#include "cpupin.h"
#include "hash.h"
#include "log.h"
#include "progress.h"
#include "openat.h"
#include "path.h"
#include "probe.h"
#include "record.h"
#include "sigkeep.h"
#include "store.h"
#include "strbuf.h"
#include "strmap.h"
#include "u64map.h"
#include "tracer.h"
#include "xalloc.h"

struct rec {
	struct store *st;
	const struct record_opts *o;
	struct strmap versioned; /* paths whose version is recorded */
	struct strmap changing;  /* paths the run wrote or changed: versioned at its end */
	struct strvec changed;   /* the same, in order */
	int err;                 /* first store error */
	struct strmap *xc;       /* --cross-check: path -> bit (1 << source) of who saw it */
	struct strmap *exes;     /* --cross-check: pid -> the last program it executed */
	struct strmap *xc_pid;   /* --cross-check: path -> the first pid ptrace or bpf saw use it */
	pid_t root_pid;          /* the command's pid */
	const char *own_dir;     /* --cross-check: magicpak's socket directory, not the command's */
	const char *injected[2]; /* the preload and audit libraries magicpak put in the command */
	bool store_started;      /* ptrace: store_open_start() was called */
	bool have_cpus;          /* ptrace: @cpus is our mask before the tracer pinned us */
	cpu_set_t cpus;
	/* ptrace: why the kernel runs a privileged program unprivileged in this tree, or NULL */
	const char *unprivileged;
	struct strmap execs_checked; /* ... and the programs (path, inode, ctime) checked */
};

/* A path of magicpak's own (the preload library looking for its ring next to the socket
 * magicpak made), seen in the command's processes: not the command's access. */
static bool own_path(const struct rec *r, const char *path)
{
	for (int i = 0; i < 2; i++)
		if (r->injected[i] && !strcmp(path, r->injected[i]))
			return true; /* the loader opening magicpak's libraries: never bundled */
	return r->own_dir && path_has_prefix(path, r->own_dir);
}

/* Record what a file was when the run first used it, so that a bundle made later can tell
 * whether the file it copies is the one the run used (and unchanged). Kernel file systems
 * are never bundled, and hashing /proc/kcore would never end. */
static void note_version(struct rec *r, const char *path)
{
	struct stat st;
	char hex[65] = "";
	char type;

	if (strmap_has(&r->versioned, path))
		return;
	strmap_put(&r->versioned, path, NULL);
	if (path[0] != '/' || path_has_prefix(path, "/proc") || path_has_prefix(path, "/sys") ||
	    path_has_prefix(path, "/dev") || stat(path, &st) < 0)
		return;
	type = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : 'o';
	if (type == 'f' && r->o->hash && hash_sha256_file(path, hex) < 0)
		hex[0] = '\0';
	store_file_version(r->st, path, type, st.st_size,
			   (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
			   st.st_ino, hex[0] ? hex : NULL);
}

static bool modifies(const struct tracer_access *a)
{
	switch (a->op) {
	case MP_OP_OPEN:
		return (a->flags & O_ACCMODE) != O_RDONLY || (a->flags & (O_CREAT | O_TRUNC));
	case MP_OP_MKDIR:
	case MP_OP_RENAME_TO:
	case MP_OP_LINK_TO:
	case MP_OP_SYMLINK:
	case MP_OP_TRUNCATE:
	case MP_OP_CHMOD:
	case MP_OP_CHOWN:
	case MP_OP_UTIME:
	case MP_OP_MKNOD:
	case MP_OP_BIND:
		return true;
	case MP_OP_XATTR:
		return (a->flags & O_ACCMODE) == O_WRONLY;
	default:
		return false;
	}
}

/* What a successful-or-not access means for the file versions of the session. */
static void note_access(struct rec *r, int op, const char *path, uint32_t flags, int err)
{
	struct tracer_access a = { .op = (enum mp_op)op, .flags = flags };

	if (err)
		return;
	/* A file the run writes is recorded as the run left it: a bundle made afterwards
	 * should not call the run's own output "changed". Every other successful access
	 * records the file as it was then. */
	if (modifies(&a)) {
		if (!strmap_has(&r->changing, path)) {
			strmap_put(&r->changing, path, NULL);
			strvec_push(&r->changed, path);
		}
		return;
	}
	if (op != MP_OP_UNLINK && op != MP_OP_RENAME_FROM)
		note_version(r, path);
}

static void xc_note(struct rec *r, pid_t pid, const char *path, int op, int source);

/* Open the history and start the session row for @o's command (from the current directory
 * and host name) while the command starts: store_open_session(); or, @early, only when that
 * can wait for the command to start (store_open_early(); *@st NULL if it cannot, 0 returned). */
static int begin_session(const struct record_opts *o, int source, bool early, struct store **st)
{
	char cwd[PATH_MAX], host[256] = "";
	struct store_session s = { 0 };

	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';
	gethostname(host, sizeof(host) - 1);
	s.label = o->label;
	s.argv = (const char *const *)o->argv;
	s.cwd = cwd;
	s.source = source;
	s.host = host;
	if (early) {
		*st = store_open_early(o->db, &s);
		return 0;
	}
	return store_open_session(o->db, &s, st);
}

/* The history opened while a probe loads (begin_side_and_session()). */
struct early_session {
	const struct record_opts *o;
	int source;
	struct store *st; /* NULL: opened after the probe, as usual */
};

/* Why the kernel will run a program whose exec raises privileges without them in the tree
 * record traces (ptrace(2), prctl(2)), or NULL: no CAP_SYS_PTRACE, or no_new_privs, which
 * the tracer's seccomp filter needs without CAP_SYS_ADMIN (tracer.c install_filter). */
static const char *unprivileged_execs(const struct record_opts *o)
{
	if (!caps_have(19 /* CAP_SYS_PTRACE */))
		return "traced by a user without CAP_SYS_PTRACE";
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1)
		return "under no_new_privs";
	if (!o->no_seccomp && !caps_have(21 /* CAP_SYS_ADMIN */))
		return "under the no_new_privs that the tracer's seccomp filter needs without "
		       "CAP_SYS_ADMIN";
	return NULL;
}

/* The real uid and gid of process @pid (/proc/PID/status), left as they are if unreadable. */
static void proc_ids(pid_t pid, uid_t *uid, gid_t *gid)
{
	char path[64], line[256];
	unsigned v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Uid: %u", &v) == 1)
			*uid = v;
		else if (sscanf(line, "Gid: %u", &v) == 1)
			*gid = v;
	}
	fclose(f);
}

/* There, such a program's run may not be what it is untraced (RELIABILITY TRC-12): said once
 * a program (a path, until its inode or mode changes). */
static void check_exec_privileges(struct rec *r, const struct tracer_access *a)
{
	char key[PATH_MAX + 64];
	struct caps_who who;
	struct stat st;

	if (a->op != MP_OP_EXEC || a->err || !r->unprivileged || stat(a->path, &st) < 0)
		return;
	snprintf(key, sizeof(key), "%ju:%jd.%ld:%s", (uintmax_t)st.st_ino, (intmax_t)st.st_ctim.tv_sec,
		 st.st_ctim.tv_nsec, a->path);
	if (strmap_has(&r->execs_checked, key))
		return;
	strmap_put(&r->execs_checked, key, NULL);
	/* as the process that ran it (its real ids are the exec's own: a set-user-ID exec
	 * changes the effective ones only), with our no_new_privs, which it would have had
	 * untraced */
	caps_who_self(&who);
	proc_ids(a->pid, &who.uid, &who.gid);
	who.permitted = who.inheritable = 0;
	if (collect_exec_gap(a->path, &who) == MP_GAP_SETUID)
		log_warn("'%s' runs without its privileges here: %s, the kernel ignores its "
			 "set-user-ID or set-group-ID bit or file capabilities, so it may fail or "
			 "behave otherwise than untraced; record as root to see it as it runs",
			 a->path, r->unprivileged);
}

static void on_access(void *ctx, const struct tracer_access *a)
{
	struct rec *r = ctx;
	int ret;

	if (own_path(r, a->path))
		return;
	check_exec_privileges(r, a);
	ret = store_add_access(r->st, a->pid, a->op, a->path, a->flags, a->err, MP_SRC_PTRACE,
			       a->time_ns);
	if (ret < 0 && !r->err)
		r->err = ret;
	xc_note(r, a->pid, a->path, a->op, MP_SRC_PTRACE);
	note_access(r, a->op, a->path, a->flags, a->err);
	progress.files = r->versioned.n;
	progress_tick();
}

/* ptrace: open the history in a thread once the command is forked (its first event), not
 * before: glibc's first thread installs its handler for SIGSETXID (33), which would reset a
 * SIG_IGN the command should have inherited. The thread gets our mask from before the tracer
 * pinned us to the command's CPU (cpupin.h). */
static void start_store(struct rec *r)
{
	cpu_set_t pinned;
	bool swap;

	if (r->store_started)
		return;
	r->store_started = true;
	swap = r->have_cpus && sched_getaffinity(0, sizeof(pinned), &pinned) == 0 &&
	       !CPU_EQUAL(&pinned, &r->cpus) && sched_setaffinity(0, sizeof(r->cpus), &r->cpus) == 0;
	store_open_start(r->st);
	if (swap)
		sched_setaffinity(0, sizeof(pinned), &pinned);
}

static void on_proc(void *ctx, const struct tracer_proc *p)
{
	struct rec *r = ctx;
	int ret = 0;

	start_store(r);
	switch (p->what) {
	case TRACER_PROC_START:
		progress.processes++;
		ret = store_proc_start(r->st, p->pid, p->parent, p->cwd, p->time_ns);
		if (!p->parent && !r->root_pid)
			r->root_pid = p->pid;
		break;
	case TRACER_PROC_EXEC:
		ret = store_proc_exec(r->st, p->pid, p->exe, p->argv, p->cwd, p->time_ns);
		if (r->exes && p->exe) {
			char key[16];

			snprintf(key, sizeof(key), "%d", (int)p->pid);
			free(strmap_get(r->exes, key));
			strmap_put(r->exes, key, xstrdup(p->exe));
		}
		break;
	case TRACER_PROC_EXIT: {
		int code = WIFSIGNALED(p->status) ? 128 + WTERMSIG(p->status)
						  : WEXITSTATUS(p->status);

		ret = store_proc_exit(r->st, p->pid, code, p->time_ns);
		break;
	}
	}
	if (ret < 0 && !r->err)
		r->err = ret;
}

/* ---- the eBPF probe and the cross-check's preload socket, read by a thread ---- */

/* One record the thread kept, its path already absolute (a process start's: its cwd then);
 * stored by the main thread (the store is not shared between threads), during the run with
 * --via bpf (side_store_some), else when it is over. */
struct side_ev {
	uint32_t kind, op, flags, err;
	pid_t pid, parent;
	int source;
	uint64_t time_ns;
	uint64_t count;          /* times made: > 1 when the probe folded repeats */
	uint64_t fold_key;       /* the probe's key for its repeats (bpf/openat.h), or 0 */
	char *path;
	char *argv;              /* an exec's from the probe: its strings, each NUL-ended, or NULL */
	size_t argv_len;         /* bytes of argv */
};

struct side {
	struct probe *p;         /* NULL: no probe */
	int sock;                /* -1: no preload socket (--cross-check only) */
	pthread_t th;
	bool running;            /* started and not yet joined (side_free()) */
	bool leave;              /* the process exits after side_free(): probe_leave() */
	int stop;                /* set under drain_mu by side_stop(); read with __atomic builtins */
	pthread_mutex_t drain_mu; /* held by the thread while it reads the probe and the socket */
	int wake[2];             /* side_stop() and side_sync() write to wake[1] */
	int ready;               /* eventfd: the thread made a pass that pushed events or
				  * answered side_sync(); -1 before side_start() */
	unsigned sync_req;       /* side_sync()'s requests, and the last one answered */
	unsigned sync_done;      /* (both with __atomic builtins) */
	pthread_mutex_t mu;      /* v, n and cap, while the thread runs */
	struct side_ev *v;
	size_t n, cap;
	size_t stored;           /* v[0 .. stored) are in the store (with count 1) */
	size_t indexed;          /* v[0 .. indexed) are in folded (side_index()) */
	struct strmap cwd;       /* "pid" -> its cwd (owned) */
	struct strmap dirfds;    /* "pid:fd" -> the directory it was opened on (owned) */
	char *cwd0;              /* the command's */
	uint64_t unresolved;     /* relative paths whose dirfd could not be read */
	struct probe_stats ps;
	bool probe_failed;       /* side_start() failed because of the probe */
	struct strmap gaps;      /* preload: programs that ran unseen, path -> (void *)reason */
	/* the probe's fold key (bpf/openat.h) -> index + 1 of the access it sent; filled by the
	 * main thread (side_index()), not the reader: growing it for 600,000 new paths took the
	 * reader 30% of its time, and stalls past what the probe's ring holds (events dropped) */
	struct u64map folded;
	enum probe_fold fold;    /* whose repeats fold together: the session's or a process's */
	/* pid -> SIDE_RUNNING or SIDE_ENDED, by the last process event pushed (under mu), so that
	 * side_alive(), every 2 ms of a --timeout's kill, reads the processes, not every event */
	struct u64map procs;
	bool repeats_added;      /* the kernel's counts are in v[] and ps (side_stop() runs twice) */
	bool live;               /* --via bpf (side_start()): what it reads is stored while the
				  * command runs, so it makes collect_pass_ms()'s passes; otherwise
				  * it is stored at the end, and it reads every COLLECT_PASS_MAX_MS */
};

/* A side that side_free() may take before or without side_start(). */
#define SIDE_INIT { .sock = -1, .wake = { -1, -1 }, .ready = -1 }

enum { SIDE_RUNNING = 1, SIDE_ENDED = 2 }; /* struct side's procs */

/* Add an event; an exec's @argv (@argv_len bytes of NUL-ended strings, or NULL) with it, so
 * that side_store_some() never copies the exec without it. */
static void side_push_argv(struct side *sd, uint32_t kind, const struct mp_wire *w, int source,
			   const char *path, const char *argv, size_t argv_len, uint64_t fold_key)
{
	struct side_ev *e;
	char *copy = argv ? xmalloc(argv_len) : NULL;

	pthread_mutex_lock(&sd->mu);
	if (sd->n == sd->cap) {
		sd->cap = sd->cap ? sd->cap * 2 : 1024;
		sd->v = xrealloc(sd->v, sd->cap * sizeof(*sd->v));
	}
	e = &sd->v[sd->n++];
	e->kind = kind;
	e->op = w->op;
	e->flags = w->flags;
	e->err = w->err;
	e->pid = (pid_t)w->pid;
	e->parent = (pid_t)w->aux;
	e->source = source;
	e->time_ns = w->time_ns;
	e->count = 1;
	e->fold_key = fold_key;
	e->path = path ? xstrdup(path) : NULL;
	if (copy)
		memcpy(copy, argv, argv_len);
	e->argv = copy;
	e->argv_len = copy ? argv_len : 0;
	if ((kind == MP_REC_PROC_START || kind == MP_REC_PROC_EXEC || kind == MP_REC_PROC_EXIT) &&
	    e->pid > 0)
		u64map_put(&sd->procs, (uint64_t)e->pid,
			   kind == MP_REC_PROC_EXIT ? SIDE_ENDED : SIDE_RUNNING);
	pthread_mutex_unlock(&sd->mu);
}

static void side_push(struct side *sd, uint32_t kind, const struct mp_wire *w, int source,
		      const char *path)
{
	side_push_argv(sd, kind, w, source, path, NULL, 0, 0);
}

/* Index the events @v (@n of them, from v[sd->indexed] on: the array or a copy of its end) by
 * their fold keys. The main thread's. */
static void side_index(struct side *sd, const struct side_ev *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].fold_key)
			u64map_put(&sd->folded, v[i].fold_key, sd->indexed + i + 1);
	sd->indexed += n;
}

/* The processes the probe saw start (fork or exec) and not end, so far: owned, *@n of them.
 * --timeout kills them: under --via bpf, the probe is what knows the tree. */
static pid_t *side_alive(struct side *sd, size_t *n)
{
	pid_t *v;
	size_t nv = 0;

	pthread_mutex_lock(&sd->mu);
	v = xmalloc((sd->procs.n + 1) * sizeof(*v));
	for (size_t i = 0; i < sd->procs.cap; i++)
		if (sd->procs.keys[i] && sd->procs.vals[i] == SIDE_RUNNING)
			v[nv++] = (pid_t)sd->procs.keys[i];
	pthread_mutex_unlock(&sd->mu);
	*n = nv;
	return v;
}

/* Has the probe seen @root end, and every other process it saw start? As the probe sends a
 * child's start from its parent's fork, before that parent can end, the tree is then over;
 * only its reaping is left. */
static bool side_tree_over(struct side *sd, pid_t root)
{
	bool over;

	pthread_mutex_lock(&sd->mu);
	over = u64map_get(&sd->procs, (uint64_t)root) == SIDE_ENDED;
	for (size_t i = 0; over && i < sd->procs.cap; i++)
		if (sd->procs.keys[i] && sd->procs.vals[i] == SIDE_RUNNING)
			over = false;
	pthread_mutex_unlock(&sd->mu);
	return over;
}

/* The kernel folded @count accesses under key @k (probe_repeats): the access it sent gets them. */
static void side_on_repeat(void *ctx, uint64_t k, uint64_t count)
{
	struct side *sd = ctx;
	size_t i = u64map_get(&sd->folded, k);

	if (i && i <= sd->n)
		sd->v[i - 1].count += count - 1;
}

static const char *side_cwd(struct side *sd, pid_t pid)
{
	char key[16];
	const char *c;

	snprintf(key, sizeof(key), "%d", (int)pid);
	c = strmap_get(&sd->cwd, key);
	return c ? c : sd->cwd0;
}

static void side_set_cwd(struct side *sd, pid_t pid, char *cwd)
{
	char key[16];

	snprintf(key, sizeof(key), "%d", (int)pid);
	free(strmap_get(&sd->cwd, key));
	strmap_put(&sd->cwd, key, cwd);
}

/* readlink(/proc/PID/what) as an owned string, or NULL. */
static char *proc_link(pid_t pid, const char *what)
{
	char p[64], buf[PATH_MAX];
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/%d/%s", (int)pid, what);
	n = readlink(p, buf, sizeof(buf) - 1);
	if (n <= 0 || buf[0] != '/')
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

/* @path of process @pid, relative to @dirfd (AT_FDCWD: its cwd), made absolute; NULL when
 * the directory cannot be told any more. */
static char *side_resolve(struct side *sd, pid_t pid, int64_t dirfd, const char *path)
{
	char *dir, *abs;

	if (path[0] == '/')
		return path_normalize(path);
	if (dirfd == AT_FDCWD)
		return path_join(side_cwd(sd, pid), path);
	{
		char what[32];

		snprintf(what, sizeof(what), "%d:%lld", (int)pid, (long long)dirfd);
		dir = strmap_get(&sd->dirfds, what);
		if (dir)
			return path_join(dir, path);
		/* opened before the probe saw it (inherited): ask /proc while it is there */
		snprintf(what, sizeof(what), "fd/%lld", (long long)dirfd);
		dir = proc_link(pid, what);
	}
	if (!dir)
		return NULL;
	abs = path_join(dir, path);
	free(dir);
	return abs;
}

/* The directory @abs names as the kernel reached it, symlinks resolved: the base of later
 * relative paths, as a process's getcwd() (ptrace, preload) is. "cd link; cat ../x" reads
 * the x beside link's target, not beside link. @abs itself when it is gone already. Owned. */
static char *physical(const char *abs)
{
	char *p = realpath(abs, NULL);

	return p ? p : xstrdup(abs);
}

static void side_on_probe(void *ctx, const struct mp_wire *w, const char *payload, size_t len)
{
	struct side *sd = ctx;
	uint64_t fold_key = 0;
	char *abs;

	if (len && payload[len - 1] != '\0')
		return;
	switch (w->kind) {
	case MP_REC_PROC_START: {
		const char *pc = w->aux ? side_cwd(sd, (pid_t)w->aux) : sd->cwd0;

		side_set_cwd(sd, (pid_t)w->pid, xstrdup(pc));
		/* the child has its parent's fds, and so its directory fds */
		if (w->aux) {
			char pre[16], key[32];
			size_t np = (size_t)snprintf(pre, sizeof(pre), "%d:", (int)w->aux);
			struct strvec add = STRVEC_INIT;

			for (size_t i = 0; sd->dirfds.keys && i < sd->dirfds.cap; i++)
				if (sd->dirfds.keys[i] && !strncmp(sd->dirfds.keys[i], pre, np))
					strvec_push(&add, sd->dirfds.keys[i]);
			for (size_t i = 0; i < add.n; i++) {
				snprintf(key, sizeof(key), "%d:%s", (int)w->pid, add.v[i] + np);
				free(strmap_get(&sd->dirfds, key));
				strmap_put(&sd->dirfds, key, xstrdup(strmap_get(&sd->dirfds, add.v[i])));
			}
			strvec_clear(&add);
		}
		side_push(sd, w->kind, w, MP_SRC_BPF, pc);
		break;
	}
	case MP_REC_PROC_EXEC: {
		size_t at = strlen(payload) + 1;

		if (!len || !payload[0])
			return;
		abs = side_resolve(sd, (pid_t)w->pid, AT_FDCWD, payload);
		if (!abs) {
			sd->unresolved++;
			return;
		}
		/* then an empty cwd and the argv (openat.h, MP_BPF_ARGS_MAX) */
		if (at + 1 < len && payload[at] == '\0')
			side_push_argv(sd, w->kind, w, MP_SRC_BPF, abs, payload + at + 1,
				       len - at - 1, 0);
		else
			side_push(sd, w->kind, w, MP_SRC_BPF, abs);
		free(abs);
		break;
	}
	case MP_REC_PROC_EXIT:
		side_push(sd, w->kind, w, MP_SRC_BPF, NULL);
		break;
	case MP_REC_ACCESS:
		if (w->op == MP_OP_OPEN && (w->flags & MP_BPF_DUPFD)) {
			char from[32], to[32];
			const char *d;

			snprintf(from, sizeof(from), "%d:%d", (int)w->pid, (int32_t)(w->aux & 0xffffffffU));
			snprintf(to, sizeof(to), "%d:%d", (int)w->pid, (int32_t)(w->aux >> 32));
			d = strmap_get(&sd->dirfds, from);
			if (!w->err && d && strcmp(from, to)) {
				free(strmap_get(&sd->dirfds, to));
				strmap_put(&sd->dirfds, to, xstrdup(d));
			}
			return;
		}
		if (w->op == MP_OP_CHDIR && (w->flags & MP_BPF_FCHDIR)) {
			char *c = NULL, key[32];

			snprintf(key, sizeof(key), "%d:%d", (int)w->pid, (int32_t)(w->aux & 0xffffffffU));
			if (!w->err && strmap_get(&sd->dirfds, key))
				c = xstrdup(strmap_get(&sd->dirfds, key));
			else if (!w->err)
				c = proc_link((pid_t)w->pid, "cwd");

			if (c)
				side_set_cwd(sd, (pid_t)w->pid, c);
			return;
		}
		if (!len || !payload[0])
			return;
		abs = side_resolve(sd, (pid_t)w->pid, (int32_t)(w->aux & 0xffffffffU), payload);
		if (!abs) {
			sd->unresolved++;
			return;
		}
		if (w->op == MP_OP_CHDIR && !w->err)
			side_set_cwd(sd, (pid_t)w->pid, physical(abs));
		if (w->op == MP_OP_OPEN && !w->err && (w->flags & (O_DIRECTORY | O_PATH))) {
			char key[32];

			snprintf(key, sizeof(key), "%d:%d", (int)w->pid, (int32_t)(w->aux >> 32));
			free(strmap_get(&sd->dirfds, key));
			strmap_put(&sd->dirfds, key, physical(abs));
		}
		/* an absolute path the probe may have folded repeats of (openat.bpf.c) */
		if (payload[0] == '/' && w->op != MP_OP_CHDIR &&
		    !(w->op == MP_OP_OPEN && (w->flags & (O_DIRECTORY | O_PATH))))
			fold_key = probe_fold_key(payload,
						  sd->fold == PROBE_FOLD_PROCESS ? w->pid : 0, w->op,
						  w->flags, (int32_t)w->err);
		side_push_argv(sd, w->kind, w, MP_SRC_BPF, abs, NULL, 0, fold_key);
		free(abs);
		break;
	default:
		break;
	}
}

/* A datagram of the preload library (--cross-check): only its accesses are kept, ptrace
 * has the processes. */
static void side_on_dgram(struct side *sd, const char *buf, size_t len)
{
	struct mp_wire w;
	const char *s, *end = buf + len;

	if (len <= sizeof(w))
		return;
	memcpy(&w, buf, sizeof(w));
	if (w.magic != MP_WIRE_MAGIC || w.version != MP_EVENT_VERSION || w.len != len)
		return;
	s = buf + sizeof(w);
	if (!memchr(s, '\0', (size_t)(end - s)) || s[0] != '/')
		return;
	switch (w.kind) {
	case MP_REC_ACCESS:
		if (w.op >= 1 && w.op < MP_OP_MAX)
			side_push(sd, MP_REC_ACCESS, &w, MP_SRC_PRELOAD, s);
		break;
	case MP_REC_PROC_EXEC:
		w.op = MP_OP_EXEC;
		w.flags = w.err = 0;
		side_push(sd, MP_REC_ACCESS, &w, MP_SRC_PRELOAD, s);
		break;
	case MP_REC_GAP:
		strmap_put(&sd->gaps, s, (void *)(uintptr_t)w.flags);
		w.op = MP_OP_EXEC;
		w.flags = w.err = 0;
		side_push(sd, MP_REC_ACCESS, &w, MP_SRC_PRELOAD, s);
		break;
	default:
		break;
	}
}

static void side_drain_sock(struct side *sd)
{
	static char buf[MP_WIRE_MAX];
	ssize_t n;

	if (sd->sock < 0)
		return;
	while ((n = recv(sd->sock, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		side_on_dgram(sd, buf, (size_t)n);
}

static void *side_thread(void *arg)
{
	struct side *sd = arg;
	uint64_t started = clock_mono_ms();

	/* its own name in top -H and perf (--comm), as the history's thread (store.c) */
	prctl(PR_SET_NAME, "magicpak-side", 0, 0, 0);
	while (!__atomic_load_n(&sd->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd pf[3];
		char buf[64];
		nfds_t n = 0;
		size_t before;
		bool pushed;
		unsigned req;

		pf[n++] = (struct pollfd){ sd->wake[0], POLLIN, 0 };
		if (sd->p)
			pf[n++] = (struct pollfd){ probe_fd(sd->p), POLLIN, 0 };
		if (sd->sock >= 0)
			pf[n++] = (struct pollfd){ sd->sock, POLLIN, 0 };
		/* the ring buffer wakes it past half full (bpf/openat.bpf.c), the socket at every
		 * datagram; otherwise a pass at collect_pass_ms(), as --via preload's loop */
		poll(pf, n, sd->live ? collect_pass_ms(clock_mono_ms() - started) : COLLECT_PASS_MAX_MS);
		while (read(sd->wake[0], buf, sizeof(buf)) > 0)
			;
		/* a request seen before the pass is answered by it */
		req = __atomic_load_n(&sd->sync_req, __ATOMIC_ACQUIRE);
		pthread_mutex_lock(&sd->drain_mu);
		if (__atomic_load_n(&sd->stop, __ATOMIC_ACQUIRE)) {
			pthread_mutex_unlock(&sd->drain_mu);
			break;
		}
		/* n changes only in this section until the stop: then side_stop() pushes */
		before = sd->n;
		if (sd->p)
			probe_poll(sd->p, 0);
		side_drain_sock(sd);
		pushed = sd->n != before;
		pthread_mutex_unlock(&sd->drain_mu);
		if (pushed || req != __atomic_load_n(&sd->sync_done, __ATOMIC_RELAXED)) {
			uint64_t one = 1;

			__atomic_store_n(&sd->sync_done, req, __ATOMIC_RELEASE);
			if (write(sd->ready, &one, sizeof(one)) < 0) {
				/* the counter is full: the loop is woken already */
			}
		}
	}
	return NULL;
}

/* Have the thread read everything the probe and the socket hold now, and wait (at most a
 * second) until it has: --timeout's kill must know the processes started just before. */
static void side_sync(struct side *sd)
{
	unsigned req;
	uint64_t end = clock_mono_ms() + 1000, now;

	if (!sd->running || sd->stop) /* the main thread is stop's only writer */
		return;
	req = __atomic_add_fetch(&sd->sync_req, 1, __ATOMIC_ACQ_REL);
	if (write(sd->wake[1], "s", 1) < 0) {
		/* the pipe is full: the thread is being woken anyway */
	}
	while ((int)(__atomic_load_n(&sd->sync_done, __ATOMIC_ACQUIRE) - req) < 0 &&
	       (now = clock_mono_ms()) < end) {
		struct pollfd pf = { sd->ready, POLLIN, 0 };
		uint64_t count;

		poll(&pf, 1, (int)(end - now));
		/* a count an earlier pass left would wake every poll(); the caller's loop stores
		 * what is waiting after this anyway */
		if (read(sd->ready, &count, sizeof(count)) < 0) {
			/* nothing yet */
		}
	}
}

/* Start the thread that reads the probe and the socket (side_start() made them). What they
 * receive meanwhile waits in the ring buffer or the socket. -errno with @why on failure. */
static int side_run(struct side *sd, char *why, size_t size)
{
	sigset_t all, old;
	int ret;

	if (sd->running || (!sd->p && sd->sock < 0))
		return 0;
	/* the thread takes no signals: SIGCHLD and the forwarded ones stay the main thread's */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(&sd->th, NULL, side_thread, sd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		snprintf(why, size, "cannot start a thread: %s", strerror(ret));
		return -ret;
	}
	sd->running = true;
	return 0;
}

/* The probe is to be loaded (probe_open()): the history is opened meanwhile, when it can be. */
static void open_while_loading(void *arg)
{
	struct early_session *e = arg;

	begin_session(e->o, e->source, true, &e->st);
	if (e->st)
		log_debug("bpf probe: loading it, and opening '%s' meanwhile", e->o->db);
}

/* Open and attach the probe (when @want) before the command is started, opening the history
 * meanwhile into @early's store (may be NULL) if the probe loads; @sock_path: also bind the
 * socket the preload library sends to; then start the thread that reads them, unless @live
 * (--via bpf: side_run() starts it later, and what it reads is stored while the command
 * runs). -errno with @why on failure. */
static int side_start(struct side *sd, bool want, enum probe_fold fold, const char *sock_path,
		      bool live, struct early_session *early, char *why, size_t size)
{
	char cwd[PATH_MAX];
	int ret;

	memset(sd, 0, sizeof(*sd));
	pthread_mutex_init(&sd->mu, NULL);
	pthread_mutex_init(&sd->drain_mu, NULL);
	sd->sock = -1;
	sd->wake[0] = sd->wake[1] = sd->ready = -1;
	sd->live = live;
	sd->fold = fold;
	sd->cwd0 = xstrdup(getcwd(cwd, sizeof(cwd)) ? cwd : "/");
	if (want) {
		ret = probe_open(&sd->p, side_on_probe, sd, early ? open_while_loading : NULL, early,
				 why, size);
		if (ret == 0)
			ret = probe_attach(sd->p, fold, why, size);
		if (ret < 0) {
			sd->probe_failed = true;
			return ret;
		}
	}
	if (sock_path) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int rcv = 4 << 20;

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
		sd->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (sd->sock < 0 || bind(sd->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			ret = -errno;
			snprintf(why, size, "cannot bind '%s': %s", sock_path, strerror(-ret));
			return ret;
		}
		setsockopt(sd->sock, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	}
	if (!sd->p && sd->sock < 0)
		return 0;
	if (pipe2(sd->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		ret = -errno;
		snprintf(why, size, "cannot create a pipe: %s", strerror(-ret));
		return ret;
	}
	if ((sd->ready = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		ret = -errno;
		snprintf(why, size, "cannot create an eventfd: %s", strerror(-ret));
		return ret;
	}
	return live ? 0 : side_run(sd, why, size);
}

/* Stop the thread and read what is left. The stop is set under drain_mu, which the thread
 * holds while it reads, so once it is set the thread reads nothing more: this reads at once,
 * instead of waking the thread and waiting for it to exit (0.3-0.9 ms of the end on these
 * VMs); side_free() joins it. */
static void side_stop(struct side *sd)
{
	if (sd->running && !sd->stop) {
		pthread_mutex_lock(&sd->drain_mu);
		__atomic_store_n(&sd->stop, 1, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&sd->drain_mu);
		if (write(sd->wake[1], "x", 1) < 0) {
			/* the thread wakes up within COLLECT_PASS_MAX_MS anyway */
		}
	}
	if (sd->p)
		while (probe_poll(sd->p, 0) > 0)
			;
	side_drain_sock(sd);
	/* Once, the command being over: the probe's counters, and the repeats the kernel folded,
	 * which become the count of the access it sent (the key holds the record's pid, in any
	 * pid namespace). No other thread pushes now. */
	side_index(sd, sd->v + sd->indexed, sd->n - sd->indexed);
	if (sd->p && !sd->repeats_added) {
		probe_get_stats(sd->p, &sd->ps);
		sd->ps.repeats = probe_repeats(sd->p, side_on_repeat, sd);
		sd->repeats_added = true;
	} else if (sd->p) {
		/* again after an early stop (early_end): drops counted since */
		uint64_t repeats = sd->ps.repeats;

		probe_get_stats(sd->p, &sd->ps);
		sd->ps.repeats = repeats;
	}
}

static void side_free(struct side *sd)
{
	side_stop(sd);
	if (sd->running) {
		pthread_join(sd->th, NULL);
		sd->running = false;
	}
	if (sd->leave)
		probe_leave(sd->p);
	else
		probe_destroy(sd->p);
	sd->p = NULL;
	if (sd->sock >= 0)
		close(sd->sock);
	sd->sock = -1;
	for (int i = 0; i < 2; i++)
		if (sd->wake[i] >= 0)
			close(sd->wake[i]);
	if (sd->ready >= 0)
		close(sd->ready);
	sd->wake[0] = sd->wake[1] = sd->ready = -1;
	for (size_t i = 0; i < sd->n; i++) {
		free(sd->v[i].path);
		free(sd->v[i].argv);
	}
	free(sd->v);
	sd->v = NULL;
	sd->n = sd->cap = sd->stored = sd->indexed = 0;
	pthread_mutex_destroy(&sd->mu);
	pthread_mutex_destroy(&sd->drain_mu);
	for (size_t i = 0; i < sd->cwd.cap; i++)
		if (sd->cwd.keys && sd->cwd.keys[i])
			free(sd->cwd.vals[i]);
	strmap_clear(&sd->cwd);
	for (size_t i = 0; i < sd->dirfds.cap; i++)
		if (sd->dirfds.keys && sd->dirfds.keys[i])
			free(sd->dirfds.vals[i]);
	strmap_clear(&sd->dirfds);
	strmap_clear(&sd->gaps);
	u64map_clear(&sd->folded);
	u64map_clear(&sd->procs);
	free(sd->cwd0);
	sd->cwd0 = NULL;
}

/* Store one event the thread kept, made @count times. */
static int side_store_ev(struct side *sd, const struct side_ev *e, uint64_t count, struct rec *r,
			 bool procs, uint64_t *accesses, uint64_t *processes)
{
	int ret = 0;

	switch (e->kind) {
	case MP_REC_PROC_START:
		if (procs) {
			ret = store_proc_start(r->st, e->pid, e->parent,
					       e->path ? e->path : side_cwd(sd, e->pid), e->time_ns);
			(*processes)++;
		}
		break;
	case MP_REC_PROC_EXEC: {
		const char *one[] = { e->path, NULL }, **argv = one;

		if (procs && e->argv) {
			size_t n = 0, k = 0;

			for (size_t i = 0; i < e->argv_len; i++)
				n += !e->argv[i];
			argv = xmalloc((n + 1) * sizeof(*argv));
			for (size_t i = 0; i < e->argv_len; i += strlen(e->argv + i) + 1)
				argv[k++] = e->argv + i;
			argv[k] = NULL;
		}
		if (procs)
			ret = store_proc_exec(r->st, e->pid, e->path, argv, NULL, e->time_ns);
		if (argv != one)
			free(argv);
		if (!ret)
			ret = store_add_access(r->st, e->pid, MP_OP_EXEC, e->path, 0, 0, e->source,
					       e->time_ns);
		xc_note(r, e->pid, e->path, MP_OP_EXEC, e->source);
		if (procs)
			note_access(r, MP_OP_EXEC, e->path, 0, 0);
		(*accesses)++;
		break;
	}
	case MP_REC_PROC_EXIT:
		if (procs) {
			int st = (int)e->err;

			ret = store_proc_exit(r->st, e->pid,
					      WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st),
					      e->time_ns);
		}
		break;
	case MP_REC_ACCESS:
		if (own_path(r, e->path))
			break;
		ret = store_add_access_n(r->st, e->pid, (int)e->op, e->path, e->flags, (int)e->err,
					 e->source, e->time_ns, count);
		xc_note(r, e->pid, e->path, (int)e->op, e->source);
		if (procs)
			note_access(r, (int)e->op, e->path, e->flags, (int)e->err);
		*accesses += count;
		break;
	default:
		break;
	}
	return ret;
}

/* Whether events wait to be stored (the thread may be adding some). */
static bool side_pending(struct side *sd)
{
	bool ret;

	pthread_mutex_lock(&sd->mu);
	ret = sd->n > sd->stored;
	pthread_mutex_unlock(&sd->mu);
	return ret;
}

/* Store what the thread has kept since the last call, while it runs (--via bpf: the end of
 * the session then has less to write). The entries are copied out under the lock: the
 * thread may grow the array meanwhile. Their count is 1 until side_stop() adds the kernel's
 * folded repeats, which side_store() then stores on top. */
static void side_store_some(struct side *sd, struct rec *r, bool procs, uint64_t *accesses,
			    uint64_t *processes)
{
	struct side_ev *copy;
	size_t from = sd->stored, n;

	pthread_mutex_lock(&sd->mu);
	n = sd->n - from;
	copy = n ? xmalloc(n * sizeof(*copy)) : NULL;
	if (n)
		memcpy(copy, sd->v + from, n * sizeof(*copy));
	pthread_mutex_unlock(&sd->mu);
	if (sd->indexed == from)
		side_index(sd, copy, n);
	for (size_t i = 0; i < n; i++) {
		int ret = side_store_ev(sd, &copy[i], 1, r, procs, accesses, processes);

		if (ret < 0 && !r->err)
			r->err = ret;
	}
	free(copy);
	sd->stored = from + n;
}

/* Store what the thread kept into the current session, once it has stopped (side_stop);
 * @procs: the probe is the only source, so its process events make the process rows. */
static void side_store(struct side *sd, struct rec *r, bool procs, uint64_t *accesses,
		       uint64_t *processes)
{
	for (size_t i = 0; i < sd->n; i++) {
		struct side_ev *e = &sd->v[i];
		int ret = 0;

		if (i >= sd->stored)
			ret = side_store_ev(sd, e, e->count, r, procs, accesses, processes);
		else if (e->kind == MP_REC_ACCESS && e->count > 1 && !own_path(r, e->path)) {
			/* stored while the command ran; the kernel's repeats fold into its row */
			ret = store_add_access_n(r->st, e->pid, (int)e->op, e->path, e->flags,
						 (int)e->err, e->source, e->time_ns, e->count - 1);
			*accesses += e->count - 1;
		}
		/* in the store now: a second call (after an early end) adds nothing again */
		e->count = 1;
		if (ret < 0 && !r->err)
			r->err = ret;
	}
	sd->stored = sd->n;
}

/* Why the probe's part of a session is incomplete, appended to @why (if still empty). */
static void side_reason(const struct side *sd, char *why, size_t size)
{
	if (!sd->p || why[0])
		return;
	if (sd->ps.io_uring)
		snprintf(why, size, "io_uring");
	else if (sd->ps.dropped)
		snprintf(why, size, "bpf_events_dropped=%llu", (unsigned long long)sd->ps.dropped);
	else if (sd->ps.unreadable)
		snprintf(why, size, "bpf_unreadable_paths=%llu",
			 (unsigned long long)sd->ps.unreadable);
	else if (sd->ps.truncated)
		snprintf(why, size, "bpf_truncated_paths=%llu", (unsigned long long)sd->ps.truncated);
	else if (sd->unresolved)
		snprintf(why, size, "bpf_unresolved_paths=%llu", (unsigned long long)sd->unresolved);
}

static void side_log(const struct side *sd)
{
	if (!sd->p)
		return;
	log_info("bpf probe: %llu records, %llu repeats folded in the kernel, %llu dropped, "
		 "%llu unreadable paths", (unsigned long long)sd->ps.sent,
		 (unsigned long long)sd->ps.repeats, (unsigned long long)sd->ps.dropped,
		 (unsigned long long)sd->ps.unreadable);
}

/* ---- --cross-check: which source saw which path ---- */

static bool xc_op(int op)
{
	return op == MP_OP_OPEN || op == MP_OP_EXEC || op == MP_OP_STAT || op == MP_OP_ACCESS;
}

static void xc_note(struct rec *r, pid_t pid, const char *path, int op, int source)
{
	uintptr_t bits;

	if (!r->xc || !xc_op(op) || path[0] != '/')
		return;
	bits = (uintptr_t)strmap_get(r->xc, path);
	strmap_put(r->xc, path, (void *)(bits | (1u << source)));
	if (source != MP_SRC_PRELOAD && !strmap_has(r->xc_pid, path))
		strmap_put(r->xc_pid, path, (void *)(uintptr_t)pid);
}

static const char *const src_name[] = { [MP_SRC_PTRACE] = "ptrace", [MP_SRC_PRELOAD] = "preload",
					[MP_SRC_BPF] = "bpf" };

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Why preload did not see a program it reported as a gap (enum mp_gap). */
static const char *gap_reason(uintptr_t gap)
{
	switch (gap) {
	case MP_GAP_STATIC: return "static binary";
	case MP_GAP_SETUID: return "setuid binary";
	case MP_GAP_USER: return "run as another user";
	case MP_GAP_ABI: return "program of another ABI (i386)";
	case MP_GAP_AWAY: return "run out of the collector's reach (chroot, mount namespace)";
	case MP_GAP_ENV: return "exec without LD_PRELOAD";
	default: return "static or setuid binary";
	}
}

/* Files glibc opens itself, through its internal open (not the exported one, so no
 * interposer sees it): locale data, iconv modules, the time zone, NSS files, sysconf's. */
static bool glibc_internal(const char *path)
{
	static const char *const dirs[] = { "/usr/lib/locale/", "/usr/share/locale/",
		"/usr/share/i18n/", "/usr/share/zoneinfo/" };
	static const char *const files[] = { "/etc/localtime", "/etc/nsswitch.conf",
		"/etc/passwd", "/etc/group", "/etc/shadow", "/etc/hosts", "/etc/resolv.conf",
		"/etc/host.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols",
		"/etc/networks", "/etc/netgroup", "/etc/ethers", "/etc/rpc",
		"/proc/sys/kernel/ngroups_max", "/sys/devices/system/cpu/online",
		"/proc/self/maps", "/proc/sys/vm/overcommit_memory" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (!strncmp(path, dirs[i], strlen(dirs[i])))
			return true;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!strcmp(path, files[i]))
			return true;
	return strstr(path, "/gconv/") != NULL;
}

/* Why @missed did not see @path, as far as magicpak can tell. */
static const char *xc_reason(const struct rec *r, const struct side *sd, const char *path,
			     int missed, bool io_uring)
{
	const char *base = path_basename(path);

	/* The kernel maps a program's interpreter at exec, with no open: only the audit module
	 * names it. An open of ld.so a syscall source saw is the loader loading itself again
	 * for the audit module's namespace, which only --cross-check injects. */
	if (!strncmp(base, "ld-", 3) && strstr(base, ".so"))
		return missed == MP_SRC_PRELOAD ? "ld.so opened for the preload library's audit module"
						: "the ELF interpreter, mapped by the kernel";
	if (missed == MP_SRC_PRELOAD) {
		uintptr_t pid = (uintptr_t)strmap_get(r->xc_pid, path);
		const char *exe = NULL;
		char key[16];

		if (strmap_has(&sd->gaps, path))
			return gap_reason((uintptr_t)strmap_get(&sd->gaps, path));
		if (pid && (pid_t)pid == r->root_pid && !strcmp(base, path_basename(r->o->argv[0])))
			return "the command's PATH search, before the library loads";
		/* the library's own: the audit module's environment, where it was built without
		 * ld.so to read the stack; the map it reads after a locale or iconv load (a
		 * program's own open of it, preload sees) */
		if (!strcmp(path, "/proc/self/environ") || !strcmp(path, "/proc/self/maps"))
			return "the preload library's own open";
		snprintf(key, sizeof(key), "%d", (int)pid);
		if (pid && r->exes)
			exe = strmap_get(r->exes, key);
		if (exe && strmap_has(&sd->gaps, exe))
			return gap_reason((uintptr_t)strmap_get(&sd->gaps, exe));
		if (exe) {
			int gap = collect_exec_gap(exe, NULL);

			if (gap)
				return gap_reason((uintptr_t)gap);
		}
		if (!strcmp(path, "/etc/ld.so.cache") || !strcmp(path, "/etc/ld.so.preload") ||
		    strstr(base, ".so") || strstr(path, "/glibc-hwcaps/") || strstr(path, "/tls/"))
			return "loader-internal open";
		if (glibc_internal(path))
			return "glibc-internal open";
		return "raw syscall";
	}
	if (io_uring)
		return "io_uring";
	if (missed == MP_SRC_BPF && sd->ps.dropped)
		return "dropped events";
	return "other";
}

/* Print, for each source, the paths it missed that another one saw, grouped by reason. */
static void xc_print(const struct rec *r, const struct side *sd, unsigned have, bool io_uring)
{
	char **paths = xcalloc(r->xc->n + 1, sizeof(*paths));
	size_t n = 0, seen[MP_SRC_BPF + 1] = { 0 };
	/* the order the groups are printed in; a reason not listed comes after them */
	static const char *const reasons[] = { "static binary", "setuid binary",
		"static or setuid binary", "run as another user", "exec without LD_PRELOAD",
		"program of another ABI (i386)", "raw syscall", "glibc-internal open", "loader-internal open",
		"the ELF interpreter, mapped by the kernel",
		"ld.so opened for the preload library's audit module",
		"the command's PATH search, before the library loads", "the preload library's own open",
		"io_uring",
		"dropped events", "other" };

	for (size_t i = 0; i < r->xc->cap; i++)
		if (r->xc->keys[i])
			paths[n++] = r->xc->keys[i];
	qsort(paths, n, sizeof(*paths), cmp_str);
	for (size_t i = 0; i < n; i++)
		for (int s = 1; s <= MP_SRC_BPF; s++)
			seen[s] += ((uintptr_t)strmap_get(r->xc, paths[i]) >> s) & 1;
	fprintf(stderr, "magicpak: cross-check: %zu paths (open, exec, stat, access):", n);
	for (int s = 1; s <= MP_SRC_BPF; s++)
		if (have & (1u << s))
			fprintf(stderr, " %s saw %zu", src_name[s], seen[s]);
	fputc('\n', stderr);
	for (int m = 1; m <= MP_SRC_BPF; m++) {
		size_t nr = sizeof(reasons) / sizeof(reasons[0]), norder = 0;
		const char **why, **order;

		if (!(have & (1u << m)))
			continue;
		/* each missed path's reason, asked once: it may read the program's file */
		why = xcalloc(n + 1, sizeof(*why));
		order = xcalloc(nr + n + 1, sizeof(*order));
		for (size_t k = 0; k < nr; k++)
			order[norder++] = reasons[k];
		for (size_t i = 0; i < n; i++) {
			size_t k = 0;

			if ((uintptr_t)strmap_get(r->xc, paths[i]) & (1u << m))
				continue;
			why[i] = xc_reason(r, sd, paths[i], m, io_uring);
			while (k < norder && strcmp(order[k], why[i]))
				k++;
			if (k == norder)
				order[norder++] = why[i];
		}
		for (size_t k = 0; k < norder; k++) {
			size_t cnt = 0;

			for (size_t i = 0; i < n; i++) {
				uintptr_t bits = (uintptr_t)strmap_get(r->xc, paths[i]);
				struct strbuf by = STRBUF_INIT;

				if (!why[i] || strcmp(why[i], order[k]))
					continue;
				if (!cnt++)
					fprintf(stderr, "magicpak: cross-check: missed by %s (%s):\n", src_name[m],
						order[k]);
				for (int s = 1; s <= MP_SRC_BPF; s++)
					if (bits & (1u << s))
						strbuf_addf(&by, "%s%s", by.len ? "," : "", src_name[s]);
				fprintf(stderr, "  %s (seen by %s)\n", paths[i], by.buf);
				strbuf_release(&by);
			}
		}
		free(order);
		free(why);
	}
	free(paths);
}

const char *record_default_db(void)
{
	const char *e = getenv("MAGICPAK_DB");

	return e && *e ? e : "magicpak.db";
}

static int record_preload(const struct record_opts *o, struct record_result *res);
static int record_bpf_only(const struct record_opts *o, struct record_result *res);

/* Start the probe (--bpf, --via bpf, --cross-check) and the cross-check's socket before the
 * command. Without the probe, --bpf says why in one line and goes on; --bpf=required and
 * --via bpf fail (logged). Under --via bpf the thread that reads them is started once the
 * command has exec'd (record_bpf_only(): side_run()): making a thread took 0.2-0.5 ms here,
 * which the command's start would wait for, and its stack mapped while a vfork child shares
 * our memory would interrupt that child's CPU (as for the history's thread). */
static int side_begin(const struct record_opts *o, struct side *sd, const char *sock,
		      struct early_session *early)
{
	bool want = o->bpf != RECORD_BPF_OFF || o->cross_check || o->via == RECORD_VIA_BPF;
	bool live = o->via == RECORD_VIA_BPF;
	enum probe_fold fold = o->bpf_per_process ? PROBE_FOLD_PROCESS : PROBE_FOLD_SESSION;
	char why[256] = "";
	int ret;

	ret = side_start(sd, want, fold, sock, live, early, why, sizeof(why));
	if (ret < 0 && sd->probe_failed) {
		side_free(sd);
		if (o->via == RECORD_VIA_BPF)
			return log_error(ret, "eBPF mode unavailable: %s; try --via ptrace", why);
		if (o->bpf == RECORD_BPF_REQUIRED)
			return log_error(ret, "--bpf=required: eBPF probe unavailable: %s", why);
		log_warn("%s: eBPF probe unavailable: %s; recording without it",
			 o->cross_check ? "--cross-check" : "--bpf", why);
		ret = side_start(sd, false, fold, sock, live, NULL, why, sizeof(why));
	}
	if (ret < 0) {
		side_free(sd);
		return log_error(ret, "%s", why);
	}
	sd->leave = o->leave_memory;
	return 0;
}

/* Wait for the history (store_wait), then end the session with @res's exit code (127 when
 * @ret, the recording's result, is an error), completeness and reason. Returns @ret, or else
 * the store's -errno (logged). */
static int end_session(const struct record_opts *o, struct store *st, int ret,
		       struct record_result *res)
{
	int r2 = store_wait(st, &res->session);

	if (r2 < 0)
		return ret < 0 ? ret : r2;
	r2 = store_session_end(st, ret < 0 ? 127 : res->exit_code, res->complete,
			       res->complete ? NULL : res->why);
	if (r2 < 0 && ret == 0)
		ret = log_errno(r2, "cannot finish session %lld in '%s'", (long long)res->session,
				o->db);
	/* the session is in; a checkpoint that failed meanwhile is still this run's error */
	if (r2 == 0 && (r2 = store_late_error(st)) < 0 && ret == 0)
		ret = r2;
	return ret;
}

/* The probe and the socket when @o wants them (side_begin), then the history and the session
 * (begin_session): the probe first, so that without it there is no session (RELIABILITY
 * BPF-06). While the probe's programs load, the history is opened on the other CPU, and the
 * session begins only once the command starts (store_open_early()): otherwise that opening
 * runs beside the command, or after it (W0), 1.5-1.7 ms of a cold run here (README, Speed).
 * -errno, logged, if either fails. */
static int begin_side_and_session(const struct record_opts *o, struct side *sd, const char *sock,
				  int source, struct store **st)
{
	bool side = o->bpf != RECORD_BPF_OFF || o->cross_check || o->via == RECORD_VIA_BPF;
	struct early_session early = { o, source, NULL };
	int ret;

	if (side && (ret = side_begin(o, sd, sock, &early)) < 0) {
		/* the history was opened, no session begun: nothing is written */
		store_free(early.st);
		return ret;
	}
	if (early.st) {
		store_open_now(early.st);
		*st = early.st;
		return 0;
	}
	return begin_session(o, source, false, st);
}

/* The end of a session begun early: once the recorded tree looks over, but before the kernel
 * has taken its last process down (a millisecond or more for a large program, which the
 * user waits for anyway), the end's transaction is written (store_session_end_prepare), so
 * that only its commit is left after the reaping. Tried once a run; a prepared end is given
 * up after EARLY_HOLD_MS, so that a process the recorder did not know of yet does not keep
 * the history's write lock from other writers. */
#define EARLY_HOLD_MS 100

struct early_end {
	bool tried;
	uint64_t held_since; /* CLOCK_MONOTONIC ms the end was prepared, 0: not prepared */
};

static void early_end_begin(struct early_end *e, struct store *st)
{
	/* the history still opening (a new file takes tens of ms): the next pass tries again */
	if (!store_ready(st))
		return;
	e->tried = true;
	if (store_session_end_prepare(st) > 0)
		e->held_since = clock_mono_ms();
}

/* How long the loop may wait (@wait_ms, -1: no limit) with a prepared end held. */
static int early_end_wait(struct early_end *e, struct store *st, int wait_ms)
{
	uint64_t now, left;

	if (!e->held_since)
		return wait_ms;
	now = clock_mono_ms();
	if (now >= e->held_since + EARLY_HOLD_MS || store_session_end_stale(st)) {
		store_session_end_cancel(st, store_session_end_stale(st) ? "more came after it"
									   : "held too long");
		e->held_since = 0;
		return wait_ms;
	}
	left = e->held_since + EARLY_HOLD_MS - now;
	return wait_ms < 0 || (uint64_t)wait_ms > left ? (int)left : wait_ms;
}

/* Set (@set) or restore an environment variable for the traced command. */
static void env_swap(const char *name, const char *val, char **saved)
{
	const char *old = getenv(name);

	*saved = old ? xstrdup(old) : NULL;
	setenv(name, val, 1);
}

static void env_restore(const char *name, char *saved)
{
	if (saved)
		setenv(name, saved, 1);
	else
		unsetenv(name);
	free(saved);
}

int record_run(const struct record_opts *o, struct record_result *res)
{
	struct tracer_opts topts = { .timeout_s = o->timeout_s, .no_seccomp = o->no_seccomp,
				     .stdin_fd = o->stdin_fd, .linger = o->linger,
				     .linger_s = o->linger_s };
	struct tracer_ops ops = { .access = on_access, .proc = on_proc };
	struct tracer_result tres = { 0 };
	struct rec r = { .o = o, .changed = STRVEC_INIT, .unprivileged = unprivileged_execs(o) };
	char *xdir = NULL, sock[64] = "";
	int xlock = -1;
	struct strmap xc = STRMAP_INIT, exes = STRMAP_INIT, xc_pid = STRMAP_INIT;
	struct side sd = SIDE_INIT;
	char *lib = NULL, *audit = NULL, *saved[3] = { NULL, NULL, NULL };
	bool env_set = false;
	uint64_t side_acc = 0, side_procs = 0;
	char linger_when[32] = "at once";
	int ret;

	if (o->via == RECORD_VIA_BPF)
		return record_bpf_only(o, res);
	if (o->via == RECORD_VIA_PRELOAD)
		return record_preload(o, res);
	memset(res, 0, sizeof(*res));
	if (o->cross_check) {
		r.xc = &xc;
		r.exes = &exes;
		r.xc_pid = &xc_pid;
		/* the preload library rides along in the traced command's environment */
		lib = record_preload_lib();
		if (lib && strpbrk(lib, " :\t\n")) {
			free(lib);
			lib = NULL;
		}
		if (!lib)
			log_warn("--cross-check: no preload library; comparing ptrace and bpf only");
		else
			audit = record_audit_lib(lib);
		r.injected[0] = lib;
		r.injected[1] = audit;
		if (lib && (xdir = path_scratch_mkdtemp("/tmp", "magicpak-xcheck", NULL, &xlock))) {
			snprintf(sock, sizeof(sock), "%s/sock", xdir);
			r.own_dir = xdir;
		}
	}
	ret = begin_side_and_session(o, &sd, sock[0] ? sock : NULL, MP_SRC_PTRACE, &r.st);
	if (ret < 0)
		goto out;
	r.have_cpus = sched_getaffinity(0, sizeof(r.cpus), &r.cpus) == 0;
	if (sd.sock >= 0) {
		struct strbuf pre = STRBUF_INIT, aud = STRBUF_INIT;
		const char *op = getenv("LD_PRELOAD"), *oa = getenv("LD_AUDIT");

		strbuf_addf(&pre, "%s%s%s", lib, op && *op ? ":" : "", op && *op ? op : "");
		strbuf_addf(&aud, "%s%s%s", audit, oa && *oa ? ":" : "", oa && *oa ? oa : "");
		env_swap("LD_PRELOAD", pre.buf, &saved[0]);
		env_swap("LD_AUDIT", aud.buf, &saved[1]);
		env_swap("MAGICPAK_SOCKET", sock, &saved[2]);
		env_set = true;
		strbuf_release(&pre);
		strbuf_release(&aud);
	}
	progress_start_beside("recording");
	ret = tracer_run(o->argv, &topts, &ops, &r, &tres);
	progress_stop();
	if (env_set) {
		env_restore("LD_PRELOAD", saved[0]);
		env_restore("LD_AUDIT", saved[1]);
		env_restore("MAGICPAK_SOCKET", saved[2]);
	}
	side_stop(&sd);
	if (ret < 0) {
		snprintf(res->why, sizeof(res->why), "tracer failed");
		end_session(o, r.st, ret, res);
		goto out;
	}
	side_store(&sd, &r, false, &side_acc, &side_procs);
	for (size_t i = 0; i < r.changed.n; i++)
		note_version(&r, r.changed.v[i]);
	if (tres.raced)
		log_warn("%llu paths were changed by another thread during the call; opens are "
			 "stored with the file they reached, other calls flagged 'raced'",
			 (unsigned long long)tres.raced);
	log_debug("ptrace: %llu stat/access/readlink calls answered at their seccomp stop",
		  (unsigned long long)tres.answered);
	if (o->linger_s)
		snprintf(linger_when, sizeof(linger_when), "%u s later", o->linger_s);
	if (tres.lingered)
		log_warn("'%s' ended and left %llu process%s running: killed %s %s; what %s would "
			 "have used afterwards is not recorded", o->argv[0],
			 (unsigned long long)tres.lingered, tres.lingered == 1 ? "" : "es",
			 tres.lingered == 1 ? "it" : "them", linger_when, tres.lingered == 1 ? "it" : "they");
	res->exit_code = tres.exit_code;
	res->accesses = tres.accesses + side_acc;
	res->processes = tres.processes;
	/* A gap in coverage must never look like a clean run (RELIABILITY E-LOSS). */
	res->complete = true;
	if (tres.used_io_uring)
		snprintf(res->why, sizeof(res->why), "io_uring");
	else if (tres.timed_out)
		snprintf(res->why, sizeof(res->why), "timeout");
	else if (tres.lost_strings)
		snprintf(res->why, sizeof(res->why), "unreadable_paths=%llu",
			 (unsigned long long)tres.lost_strings);
	else if (tres.undecoded)
		snprintf(res->why, sizeof(res->why), "undecoded_syscalls=%llu",
			 (unsigned long long)tres.undecoded);
	else if (r.err)
		snprintf(res->why, sizeof(res->why), "store_error");
	side_reason(&sd, res->why, sizeof(res->why));
	res->complete = !res->why[0];
	ret = end_session(o, r.st, 0, res);
	res->files = r.versioned.n;
	side_log(&sd);
	if (o->cross_check)
		xc_print(&r, &sd, 1u << MP_SRC_PTRACE | (sd.sock >= 0 ? 1u << MP_SRC_PRELOAD : 0) |
				  (sd.p ? 1u << MP_SRC_BPF : 0), tres.used_io_uring);
out:
	side_free(&sd);
	if (sock[0]) {
		unlink(sock);
		rmdir(xdir);
	}
	if (xlock >= 0)
		close(xlock);
	free(xdir);
	store_close(r.st);
	if (o->leave_memory)
		return ret;
	free(lib);
	free(audit);
	for (size_t i = 0; i < exes.cap; i++)
		if (exes.keys && exes.keys[i])
			free(exes.vals[i]);
	strmap_clear(&exes);
	strmap_clear(&xc);
	strmap_clear(&xc_pid);
	strmap_clear(&r.versioned);
	strmap_clear(&r.changing);
	strmap_clear(&r.execs_checked);
	strvec_clear(&r.changed);
	store_free(r.st);
	return ret;
}

/* ---- the preload source: LD_PRELOAD + LD_AUDIT and a socket, no ptrace ---- */

#define PRELOAD_LIB_NAME "libmagicpak-preload.so"

char *record_preload_lib(void)
{
	const char *e = getenv("MAGICPAK_PRELOAD_LIB");
	char exe[PATH_MAX], cand[PATH_MAX + 64], *dir;
	ssize_t n;

	if (e && *e) {
		if (access(e, R_OK) == 0)
			return path_absolute(e);
		log_errno(-errno, "MAGICPAK_PRELOAD_LIB: cannot read '%s'", e);
		return NULL;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		log_errno(-errno, "cannot read /proc/self/exe to find " PRELOAD_LIB_NAME);
		return NULL;
	}
	exe[n] = '\0';
	dir = path_dirname(exe);
	snprintf(cand, sizeof(cand), "%s/" PRELOAD_LIB_NAME, dir);
	if (access(cand, R_OK) == 0)
		goto found;
	snprintf(cand, sizeof(cand), "%s/../lib/magicpak/" PRELOAD_LIB_NAME, dir);
	if (access(cand, R_OK) == 0)
		goto found;
	log_error(0, "cannot find " PRELOAD_LIB_NAME " in '%s' or '%s/../lib/magicpak' "
		  "(make builds it; or set MAGICPAK_PRELOAD_LIB)", dir, dir);
	free(dir);
	return NULL;
found:
	free(dir);
	return path_normalize(cand);
}

#define AUDIT_LIB_NAME "libmagicpak-audit.so"

char *record_audit_lib(const char *preload_lib)
{
	char *dir = path_dirname(preload_lib), *cand = xasprintf("%s/" AUDIT_LIB_NAME, dir);

	free(dir);
	if (access(cand, R_OK) == 0)
		return cand;
	log_debug("no '%s': the preload library is the LD_AUDIT module too", cand);
	free(cand);
	return xstrdup(preload_lib);
}

struct prec {
	struct rec r;
	struct collect *c;
};

static void preload_on_access(void *ctx, pid_t pid, int op, const char *path, uint32_t flags,
			      int err)
{
	struct rec *r = ctx;

	if (err == 0 && path[0] == '/' &&
	    (op == MP_OP_EXEC || (op == MP_OP_OPEN && (flags & O_ACCMODE) != O_WRONLY)))
		note_version(r, path);
}

/* With LD_AUDIT set, glibc 2.36 sets up static TLS before it loads the preloads, so their
 * initial-exec TLS must fit in the surplus (512 bytes by default): a preloaded jemalloc fails
 * with "cannot allocate memory in static TLS block" (glibc bug 31991, jemalloc #2472; Debian's
 * libjemalloc2 needs 1,600). A larger surplus, which the user's own GLIBC_TUNABLES override. */
#define PRELOAD_TLS_TUNABLE "glibc.rtld.optional_static_tls=4096"

/* The command's environment: ours with @lib first in LD_PRELOAD and @audit first in LD_AUDIT
 * (the user's own kept after them), MAGICPAK_SOCKET and GLIBC_TUNABLES. Owned by the caller. */
static char **preload_env(const char *lib, const char *audit, const char *sock)
{
	extern char **environ;
	const char *tun = getenv("GLIBC_TUNABLES");
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = xcalloc(n + 5, sizeof(*env));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) && strncmp(environ[i], "LD_AUDIT=", 9) &&
		    strncmp(environ[i], "MAGICPAK_SOCKET=", 16) &&
		    strncmp(environ[i], "GLIBC_TUNABLES=", 15))
			env[k++] = xstrdup(environ[i]);
	{
		struct strbuf sb = STRBUF_INIT;

		/* the user's tunables last: glibc keeps the last value of a repeated name */
		strbuf_addf(&sb, "GLIBC_TUNABLES=%s", PRELOAD_TLS_TUNABLE);
		if (tun && *tun)
			strbuf_addf(&sb, ":%s", tun);
		env[k++] = strbuf_detach(&sb);
	}
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "LD_AUDIT" : "LD_PRELOAD", *old = getenv(name);
		struct strbuf sb = STRBUF_INIT;

		strbuf_addf(&sb, "%s=%s", name, i ? audit : lib);
		if (old && *old)
			strbuf_addf(&sb, ":%s", old);
		env[k++] = strbuf_detach(&sb);
	}
	{
		struct strbuf sb = STRBUF_INIT;

		strbuf_addf(&sb, "MAGICPAK_SOCKET=%s", sock);
		env[k++] = strbuf_detach(&sb);
	}
	env[k] = NULL;
	return env;
}

/* Rows that make a write worth a transaction while the command runs (store_flush_some), and
 * how often --via bpf looks again for the history while what the probe saw waits for it. */
#define FLUSH_MIN_ROWS 64
#define STORE_POLL_MS 10

static const int preload_fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

/* Write what is waiting while the command runs: FLUSH_MIN_ROWS rows, or any once a second,
 * so that a long quiet command is seen as it runs. *@flushed: when it last wrote. */
static void flush_while_running(struct store *st, uint64_t *flushed)
{
	uint64_t now = clock_mono_ms();

	if (store_flush_some(st, now - *flushed >= 1000 ? 1 : FLUSH_MIN_ROWS, STORE_FLUSH_STEP) > 0)
		*flushed = now;
}

/* Did the last write leave rows (at most STORE_FLUSH_STEP a write) for a history that is
 * open? Then the loop polls without sleeping until they are in. */
static bool flush_behind(struct store *st)
{
	return store_ready(st) && store_pending(st) >= FLUSH_MIN_ROWS;
}

/* Block SIGCHLD and the signals forwarded to the command, read them from a signalfd
 * (*@sfd; the old mask in *@oldmask), and become the child subreaper: orphans of the tree
 * come back to us, so "all done" is waitpid()'s ECHILD. Logs and returns -errno. */
static int catch_signals(sigset_t *oldmask, int *sfd)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	for (size_t i = 0; i < sizeof(preload_fwd) / sizeof(preload_fwd[0]); i++)
		sigaddset(&mask, preload_fwd[i]);
	sigprocmask(SIG_BLOCK, &mask, oldmask);
	*sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (*sfd < 0)
		return log_errno(-errno, "cannot create a signalfd");
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	return 0;
}

/* Fork and exec the command with @env; its exec error comes back through a pipe. */
static pid_t preload_spawn(const struct record_opts *o, char **env, const sigset_t *oldmask,
			   int *errfd)
{
	pid_t parent = getpid(), pid;
	cpu_set_t mask, here;
	bool pinned = false;
	int pfd[2], cpu;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	/* The child starts on our CPU: the scheduler would put it on an idle one, and waking a
	 * halted vCPU took up to 2 ms on these VMs, while ours is free as soon as vfork() blocks
	 * us. Both take the mask back at once (the child before its exec). */
	if ((cpu = sched_getcpu()) >= 0 && sched_getaffinity(0, sizeof(mask), &mask) == 0) {
		CPU_ZERO(&here);
		CPU_SET(cpu, &here);
		pinned = sched_setaffinity(0, sizeof(here), &here) == 0;
	}
	/* vfork: the child borrows our memory until it execs, instead of copying the page
	 * tables (0.3-0.6 ms of every run). It only makes system calls; signals stay blocked
	 * here (catch_signals) until just before the exec. */
	pid = vfork();
	if (pinned)
		sched_setaffinity(0, sizeof(mask), &mask);
	if (pid < 0) {
		int ret = -errno;

		close(pfd[0]);
		close(pfd[1]);
		return ret;
	}
	if (pid == 0) {
		int err;

		/* No ptrace EXITKILL in these modes: the command at least dies with magicpak
		 * (its own children do not: they are not ours to find once magicpak is gone). */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(126);
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		sigkeep_restore();
		if (o->stdin_fd >= 0 && o->stdin_fd != 0) {
			if (dup2(o->stdin_fd, 0) < 0)
				_exit(126);
			close(o->stdin_fd);
		}
		execvpe(o->argv[0], o->argv, env);
		err = errno;
		if (write(pfd[1], &err, sizeof(err)) < 0) {
			/* nothing left to tell it with */
		}
		_exit(err == ENOENT ? 127 : 126);
	}
	close(pfd[1]);
	*errfd = pfd[0];
	return pid;
}

static int record_preload(const struct record_opts *o, struct record_result *res)
{
	struct prec p = { .r = { .o = o, .changed = STRVEC_INIT } };
	struct side sd = SIDE_INIT;
	struct early_end early = { 0 };
	uint64_t side_acc = 0, side_procs = 0;
	struct collect_stats cs;
	char *dir = NULL, *sock = NULL;
	char *lib = NULL, *audit = NULL, **env = NULL, *exe = NULL;
	sigset_t oldmask;
	int ret, sfd = -1, errfd = -1, status = 0, err = 0, dir_lock = -1;
	bool dir_made = false, child_done = false, timed_out = false, masked = false, batched = false;
	uint64_t deadline = o->timeout_s ? clock_mono_ms() + (uint64_t)o->timeout_s * 1000 : 0;
	uint64_t flushed = clock_mono_ms();
	pid_t child = -1;

	memset(res, 0, sizeof(*res));
	lib = record_preload_lib();
	if (!lib)
		return -ENOENT;
	/* ld.so splits LD_PRELOAD at spaces and colons (RELIABILITY PRE-10) */
	if (strpbrk(lib, " :\t\n")) {
		ret = log_error(-EINVAL, "the preload library path '%s' holds a space or ':', which "
				"LD_PRELOAD cannot carry; install it elsewhere", lib);
		free(lib);
		return ret;
	}
	ret = begin_side_and_session(o, &sd, NULL, MP_SRC_PRELOAD, &p.r.st);
	if (ret < 0)
		goto out;
	dir = path_scratch_mkdtemp(path_scratch_dir(), "magicpak-preload", NULL, &dir_lock);
	if (!dir) {
		ret = log_errno(-errno, "cannot create a directory for the socket");
		goto out;
	}
	dir_made = true;
	sock = xasprintf("%s/sock", dir);
	ret = collect_open(sock, p.r.st, getpid(), &p.c);
	if (ret < 0)
		goto out;
	collect_on_access(p.c, preload_on_access, &p.r);
	audit = record_audit_lib(lib);
	p.r.injected[0] = lib;
	p.r.injected[1] = audit;
	collect_ignore(p.c, lib);
	collect_ignore(p.c, audit);
	env = preload_env(lib, audit, sock);

	/* Signals for the command are forwarded; SIGCHLD is read from a signalfd. */
	masked = true;
	if ((ret = catch_signals(&oldmask, &sfd)) < 0)
		goto end;

	exe = path_search(o->argv[0], getenv("PATH"));
	child = preload_spawn(o, env, &oldmask, &errfd);
	if (child < 0) {
		ret = log_errno(child, "cannot fork");
		goto end;
	}
	/* the loop below only collects while the command runs; the history thread, started
	 * next, inherits it */
	batched = cpupin_batch();
	store_open_start(p.r.st);
	/* The command itself is exec'd by us, not by a preloaded process: the places execvp()
	 * tried along PATH, and whether the program will run unseen, are told from here. */
	if (!strchr(o->argv[0], '/')) {
		const char *pe = getenv("PATH"), *q, *e;

		for (q = pe ? pe : "/bin:/usr/bin";; q = e + 1) {
			char cand[PATH_MAX];
			int n;

			e = strchrnul(q, ':');
			n = snprintf(cand, sizeof(cand), "%.*s%s%s", (int)(e - q), q,
				     e > q ? "/" : "", o->argv[0]);
			if (n > 0 && (size_t)n < sizeof(cand)) {
				char *abs = path_absolute(cand);
				bool hit = exe && !strcmp(abs, exe);

				if (!hit)
					collect_add_access(p.c, child, MP_OP_EXEC, abs,
							   access(cand, X_OK) < 0 ? errno : EACCES);
				free(abs);
				if (hit)
					break;
			}
			if (!*e)
				break;
		}
	}
	if (exe) {
		int gap = collect_exec_gap(exe, NULL);

		/* the command itself is exec'd by us, not by a preloaded process */
		if (gap)
			collect_add_gap(p.c, child, gap, exe);
	}

	for (;;) {
		struct pollfd pfd[2] = { { collect_fd(p.c), POLLIN, 0 }, { sfd, POLLIN, 0 } };
		int wait_ms = -1;
		pid_t w;

		if (deadline) {
			uint64_t now = clock_mono_ms();

			wait_ms = now >= deadline ? 0 : (int)(deadline - now);
		}
		wait_ms = early_end_wait(&early, p.r.st, wait_ms);
		if (!child_done && flush_behind(p.r.st))
			wait_ms = 0;
		if (poll(pfd, 2, collect_poll_ms(p.c, wait_ms)) < 0 && errno != EINTR) {
			ret = log_errno(-errno, "poll");
			break;
		}
		collect_drain(p.c);
		/* the command's exit record came (it rang: include/ring.h exit_bell) and no other
		 * process is known to run: the end goes in while the kernel takes it down. Not
		 * with a probe or socket beside it, whose events are stored after the run. */
		if (!child_done && !early.tried && !sd.p && sd.sock < 0 &&
		    collect_tree_over(p.c, child))
			early_end_begin(&early, p.r.st);
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				if (si.ssi_signo != SIGCHLD && !child_done)
					kill(child, (int)si.ssi_signo);
		}
		if (deadline && !timed_out && clock_mono_ms() >= deadline) {
			size_t n;
			pid_t *alive = collect_alive(p.c, &n);

			timed_out = true;
			if (!child_done)
				kill(child, SIGKILL);
			for (size_t i = 0; i < n; i++)
				kill(alive[i], SIGKILL);
			free(alive);
			deadline = 0;
		}
		/* Everything a dead process sent is queued before it died: read it first. */
		while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
			collect_drain(p.c);
			if (w == child) {
				cpupin_unbatch(batched);
				batched = false;
				child_done = true;
				res->exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status)
								     : WEXITSTATUS(status);
			}
			collect_reaped(p.c, w, status);
		}
		if (w < 0 && errno == ECHILD)
			break;
		/* after the reaping: once the command is gone, the end writes everything at once */
		if (!child_done)
			flush_while_running(p.r.st, &flushed);
	}
	cpupin_unbatch(batched);
	collect_finish(p.c);
	/* as under ptrace (and timeout(1)): not the SIGKILL's 137 */
	if (timed_out)
		res->exit_code = 124;
	if (read(errfd, &err, sizeof(err)) == sizeof(err) && err) {
		if (err == ENOENT && !strchr(o->argv[0], '/'))
			log_error(0, "%s: command not found", o->argv[0]);
		else
			log_errno(-err, "%s", o->argv[0]);
		res->exit_code = err == ENOENT ? 127 : 126;
	}
	ret = 0;
end:
	side_stop(&sd);
	side_store(&sd, &p.r, false, &side_acc, &side_procs);
	collect_get_stats(p.c, &cs);
	/* (a program whose records all come as datagrams has no ring: its collector looked
	 * dead to it, or it could not map the ring) */
	log_debug("%llu records, %llu of them through the socket",
		  (unsigned long long)cs.records, (unsigned long long)cs.datagrams);
	res->accesses = cs.accesses;
	res->processes = cs.processes;
	if (ret < 0)
		snprintf(res->why, sizeof(res->why), "collector failed");
	else if (timed_out)
		snprintf(res->why, sizeof(res->why), "timeout");
	else
		collect_incomplete_reason(p.c, res->why, sizeof(res->why));
	if (!res->why[0] && p.r.err)
		snprintf(res->why, sizeof(res->why), "store_error");
	side_reason(&sd, res->why, sizeof(res->why));
	res->accesses += side_acc;
	res->complete = !res->why[0];
	ret = end_session(o, p.r.st, ret, res);
	res->files = p.r.versioned.n;
	side_log(&sd);
out:
	side_free(&sd);
	if (masked) {
		prctl(PR_SET_CHILD_SUBREAPER, 0);
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
	}
	if (sfd >= 0)
		close(sfd);
	if (errfd >= 0)
		close(errfd);
	collect_free(p.c);
	if (dir_made)
		rmdir(dir);
	if (dir_lock >= 0)
		close(dir_lock);
	store_close(p.r.st);
	if (o->leave_memory)
		return ret;
	free(dir);
	free(sock);
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
	free(exe);
	free(lib);
	free(audit);
	strmap_clear(&p.r.versioned);
	strmap_clear(&p.r.changing);
	strvec_clear(&p.r.changed);
	store_free(p.r.st);
	return ret;
}

/* --timeout under --via bpf: SIGKILL every process of the tree the probe saw alive, in rounds
 * until the probe has seen each one end (or 2 s have passed): a process forked while a list
 * was read, or whose fork the probe reports late (its parent was preempted between the fork
 * and the SIGKILL), is in a later round's list, since every exit follows its own process's
 * start in the ring. A killed process forks no more. */
static void side_kill_tree(struct side *sd)
{
	struct u64map killed = U64MAP_INIT;
	uint64_t end = clock_mono_ms() + 2000;

	for (;;) {
		size_t n;
		pid_t *alive;

		side_sync(sd);
		alive = side_alive(sd, &n);
		for (size_t i = 0; i < n; i++) {
			/* never kill(0), our own process group */
			if (alive[i] <= 0 || u64map_get(&killed, (uint64_t)alive[i]))
				continue;
			u64map_put(&killed, (uint64_t)alive[i], 1);
			kill(alive[i], SIGKILL);
		}
		free(alive);
		if (!n || clock_mono_ms() >= end)
			break;
		/* their ends are on the way: a moment for the kernel to deliver them */
		nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
	}
	u64map_clear(&killed);
}

/* ---- the probe alone (--via bpf): no ptrace, no preload ---- */

static int record_bpf_only(const struct record_opts *o, struct record_result *res)
{
	extern char **environ;
	struct rec r = { .o = o, .changed = STRVEC_INIT };
	struct side sd = SIDE_INIT;
	struct early_end early = { 0 };
	sigset_t oldmask;
	int ret, sfd = -1, errfd = -1, status = 0, err = 0;
	bool child_done = false, timed_out = false, masked = false;
	uint64_t deadline = o->timeout_s ? clock_mono_ms() + (uint64_t)o->timeout_s * 1000 : 0;
	uint64_t flushed = clock_mono_ms();
	pid_t child = -1;

	memset(res, 0, sizeof(*res));
	ret = begin_side_and_session(o, &sd, NULL, MP_SRC_BPF, &r.st);
	if (ret < 0)
		goto out;

	masked = true;
	if ((ret = catch_signals(&oldmask, &sfd)) < 0)
		goto end;
	/* the probe follows every child from its fork on, so its exec is the first event */
	child = preload_spawn(o, environ, &oldmask, &errfd);
	if (child < 0) {
		ret = log_errno(child, "cannot fork");
		goto end;
	}
	store_open_start(r.st);
	{
		char why[256];

		/* without it the probe is read at the end: what overflows its ring is counted */
		if (side_run(&sd, why, sizeof(why)) < 0)
			log_warn("%s; reading the probe once the command is over", why);
	}
	for (;;) {
		struct pollfd pfd[2] = { { sfd, POLLIN, 0 }, { sd.ready, POLLIN, 0 } };
		/* Woken by the side thread when it has events, by a signal, or by the deadline;
		 * once a second at least for flush_while_running(), and every STORE_POLL_MS while
		 * events wait for the history to open. */
		int wait_ms = !store_ready(r.st) && side_pending(&sd) ? STORE_POLL_MS : 1000;
		uint64_t one;
		pid_t w;

		if (deadline) {
			uint64_t now = clock_mono_ms();

			if (now >= deadline)
				wait_ms = 0;
			else if (deadline - now < (uint64_t)wait_ms)
				wait_ms = (int)(deadline - now);
		}
		wait_ms = early_end_wait(&early, r.st, wait_ms);
		if (!child_done && flush_behind(r.st))
			wait_ms = 0;
		if (poll(pfd, 2, wait_ms) < 0 && errno != EINTR) {
			ret = log_errno(-errno, "poll");
			break;
		}
		if ((pfd[1].revents & POLLIN) && read(sd.ready, &one, sizeof(one)) < 0) {
			/* another reader took the count (side_sync()) */
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				if (si.ssi_signo != SIGCHLD && !child_done)
					kill(child, (int)si.ssi_signo);
		}
		if (deadline && !timed_out && clock_mono_ms() >= deadline) {
			timed_out = true;
			if (!child_done)
				kill(child, SIGKILL);
			side_kill_tree(&sd);
			deadline = 0;
		}
		/* The command ended (its end woke the side thread) and nothing else of its tree
		 * runs: what the probe holds, the versions of the files the tree changed (final
		 * now) and the end go in before the reaping, which the kernel may have made
		 * possible already. */
		if (!child_done && !early.tried && store_ready(r.st) && side_tree_over(&sd, child)) {
			side_stop(&sd);
			side_store(&sd, &r, true, &res->accesses, &res->processes);
			for (size_t i = 0; i < r.changed.n; i++)
				note_version(&r, r.changed.v[i]);
			early_end_begin(&early, r.st);
		}
		while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
			if (w == child) {
				child_done = true;
				res->exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status)
								     : WEXITSTATUS(status);
			}
		}
		if (w < 0 && errno == ECHILD)
			break;
		/* what the probe saw so far goes into the store while the command runs (after the
		 * reaping: once it is gone, the end writes everything at once) */
		if (!child_done && store_ready(r.st)) {
			side_store_some(&sd, &r, true, &res->accesses, &res->processes);
			flush_while_running(r.st, &flushed);
		}
	}
	if (timed_out)
		res->exit_code = 124;
	if (read(errfd, &err, sizeof(err)) == sizeof(err) && err) {
		if (err == ENOENT && !strchr(o->argv[0], '/'))
			log_error(0, "%s: command not found", o->argv[0]);
		else
			log_errno(-err, "%s", o->argv[0]);
		res->exit_code = err == ENOENT ? 127 : 126;
	}
	ret = 0;
end:
	side_stop(&sd);
	side_store(&sd, &r, true, &res->accesses, &res->processes);
	for (size_t i = 0; i < r.changed.n; i++)
		note_version(&r, r.changed.v[i]);
	if (ret < 0)
		snprintf(res->why, sizeof(res->why), "collector failed");
	else if (timed_out)
		snprintf(res->why, sizeof(res->why), "timeout");
	else if (r.err)
		snprintf(res->why, sizeof(res->why), "store_error");
	side_reason(&sd, res->why, sizeof(res->why));
	res->complete = !res->why[0];
	ret = end_session(o, r.st, ret, res);
	res->files = r.versioned.n;
	side_log(&sd);
out:
	side_free(&sd);
	if (masked) {
		prctl(PR_SET_CHILD_SUBREAPER, 0);
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
	}
	if (sfd >= 0)
		close(sfd);
	if (errfd >= 0)
		close(errfd);
	store_close(r.st);
	if (o->leave_memory)
		return ret;
	strmap_clear(&r.versioned);
	strmap_clear(&r.changing);
	strvec_clear(&r.changed);
	store_free(r.st);
	return ret;
}
