/* SPDX-License-Identifier: MIT */
/* collector/collect.c - the receiving end of the preload library: one datagram per record,
 * each checked (length, magic, version, kind, NUL-terminated strings) before it reaches the
 * store; anything else is counted and dropped. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "caps.h"
#include "collect.h"
#include "event.h"
#include "hostelf.h"
#include "interp.h"
#include "log.h"
#include "ring.h"
#include "ringread.h"
#include "store.h"
#include "xalloc.h"

enum { PID_FREE = 0, PID_ALIVE = 1, PID_EXITED = 2 };

struct pid_slot {
	pid_t pid;
	int state;
};

struct collect {
	struct store *st;
	int fd;
	char *path;           /* the socket file we made, removed at the end */
	struct ringread *ring; /* the shared-memory ring next to it (NULL: socket only) */
	pid_t root_parent;
	uint64_t opened_ms;    /* CLOCK_MONOTONIC at collect_open(): the passes' period */
	bool behind;           /* the last drain stopped at RINGREAD_MAX: poll without waiting */
	struct pid_slot *pids; /* open addressing, never shrinks */
	size_t npids, cap;
	struct collect_stats s;
	collect_access_fn on_access;
	void *ctx;
	int err;              /* first store error */
	char *ignore[2];      /* collect_ignore() */
	unsigned char buf[MP_WIRE_MAX + 1];
};

static struct pid_slot *pid_slot(struct collect *c, pid_t pid)
{
	size_t i;

	if (c->npids * 2 >= c->cap) {
		struct pid_slot *old = c->pids;
		size_t oldcap = c->cap;

		c->cap = c->cap ? c->cap * 2 : 256;
		c->pids = xcalloc(c->cap, sizeof(*c->pids));
		c->npids = 0;
		for (i = 0; i < oldcap; i++) {
			if (old[i].state != PID_FREE) {
				struct pid_slot *s = pid_slot(c, old[i].pid);

				*s = old[i];
			}
		}
		free(old);
	}
	for (i = ((size_t)pid * 2654435761u) & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
		if (c->pids[i].state == PID_FREE) {
			c->pids[i].pid = pid;
			return &c->pids[i];
		}
		if (c->pids[i].pid == pid)
			return &c->pids[i];
	}
}

static void note_err(struct collect *c, int ret)
{
	if (ret < 0 && !c->err)
		c->err = ret;
}

/* Make sure @pid has a process row; @ppid and @cwd describe it if it is new. @reuse: a pid
 * that exited is a new process (a start or an exec); else a late record of the old one
 * (a destructor that runs after the exit record). */
static void proc_seen(struct collect *c, pid_t pid, pid_t ppid, const char *cwd, uint64_t t,
		      bool reuse)
{
	struct pid_slot *s = pid_slot(c, pid);

	if (s->state == PID_ALIVE || (s->state == PID_EXITED && !reuse))
		return;
	if (s->state == PID_FREE) {
		c->npids++;
		c->s.processes++;
	} else {
		c->s.processes++; /* a pid used again */
	}
	s->state = PID_ALIVE;
	note_err(c, store_proc_start(c->st, pid, ppid == c->root_parent ? 0 : ppid, cwd, t));
}

void collect_set_store(struct collect *c, struct store *st)
{
	c->st = st;
}

int collect_open(const char *path, struct store *st, pid_t root_parent, struct collect **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct collect *c = NULL;
	struct stat sb;
	int fd = -1, ret, size = 8 << 20;

	*out = NULL;
	/* all but the 64 KiB datagram buffer zeroed: zeroing it made each run fault in 16 pages
	 * that a run of small records never touches */
	c = xmalloc(sizeof(*c));
	memset(c, 0, offsetof(struct collect, buf));
	c->st = st;
	c->fd = -1;
	c->root_parent = root_parent;
	c->opened_ms = clock_mono_ms();
	if (!path) {
		*out = c;
		return 0;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		ret = log_error(-ENAMETOOLONG, "socket path '%s' is too long (at most %zu bytes)", path,
				sizeof(sa.sun_path) - 1);
		goto err;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = log_errno(-errno, "cannot create a unix socket");
		goto err;
	}
	if (lstat(path, &sb) == 0) {
		int probe;

		if (!S_ISSOCK(sb.st_mode)) {
			ret = log_error(-EEXIST, "'%s' exists and is not a socket", path);
			goto err;
		}
		/* A socket file: stale (its collector is gone) unless someone answers. */
		probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			ret = log_error(-EADDRINUSE, "another collector is listening on '%s'", path);
			goto err;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = log_errno(-errno, "cannot bind a socket at '%s'", path);
		goto err;
	}
	/* A deep queue; senders block (never drop) when it is full anyway. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	c->fd = fd;
	c->path = xstrdup(path);
	/* The ring, with the socket's permissions: whoever may send may write. Without it
	 * (no room in /dev/shm's file system, say) the socket carries everything. */
	if (stat(path, &sb) == 0) {
		char *rp = xasprintf("%s%s", path, RING_SUFFIX);

		if (ringread_create(rp, sb.st_mode & 0666, COLLECT_RING_SIZE, &c->ring) < 0)
			log_warn("records go through the socket only");
		else if (root_parent > 0)
			ringread_exit_bell(c->ring, root_parent);
		free(rp);
	}
	*out = c;
	return 0;
err:
	if (fd >= 0)
		close(fd);
	free(c);
	return ret;
}

void collect_ignore(struct collect *c, const char *path)
{
	for (int i = 0; i < 2; i++)
		if (!c->ignore[i]) {
			c->ignore[i] = xstrdup(path);
			return;
		}
}

static bool ignored(const struct collect *c, const char *path)
{
	for (int i = 0; i < 2; i++)
		if (c->ignore[i] && !strcmp(c->ignore[i], path))
			return true;
	return false;
}

void collect_on_access(struct collect *c, collect_access_fn fn, void *ctx)
{
	c->on_access = fn;
	c->ctx = ctx;
}

int collect_fd(const struct collect *c)
{
	return c->fd;
}

/* The @i-th NUL-terminated string of the payload [@p, @end), or NULL. */
static const char *next_str(const char **p, const char *end)
{
	const char *s = *p, *z;

	if (s >= end)
		return NULL;
	z = memchr(s, '\0', (size_t)(end - s));
	if (!z)
		return NULL;
	*p = z + 1;
	return s;
}

static int bad(struct collect *c)
{
	c->s.bad++;
	return -EINVAL;
}

static const char *gap_name(uint32_t why)
{
	switch (why) {
	case MP_GAP_STATIC: return "static exec";
	case MP_GAP_SETUID: return "setuid exec";
	case MP_GAP_ENV: return "exec without LD_PRELOAD";
	case MP_GAP_USER: return "exec as another user";
	case MP_GAP_ABI: return "exec of another ABI";
	case MP_GAP_AWAY: return "exec out of the collector's reach";
	default: return "exec";
	}
}

int collect_feed(struct collect *c, const void *buf, size_t len)
{
	struct mp_wire h;
	const char *p, *end, *s1, *s2;
	int ret = 0;

	if (len < sizeof(h))
		return bad(c);
	memcpy(&h, buf, sizeof(h));
	if (h.magic != MP_WIRE_MAGIC || h.version != MP_EVENT_VERSION || h.len != len ||
	    h.kind < 1 || h.kind >= MP_REC_MAX || h.pid == 0 || h.pid > 0x7fffffff)
		return bad(c);
	p = (const char *)buf + sizeof(h);
	end = (const char *)buf + len;
	switch (h.kind) {
	case MP_REC_ACCESS:
		s1 = next_str(&p, end);
		if (!s1 || !*s1 || h.op < 1 || h.op >= MP_OP_MAX || h.err > 4095)
			return bad(c);
		proc_seen(c, (pid_t)h.pid, 0, NULL, h.time_ns, false);
		if (ignored(c, s1))
			break;
		ret = store_add_access(c->st, (pid_t)h.pid, (int)h.op, s1, h.flags, (int)h.err,
				       MP_SRC_PRELOAD, h.time_ns);
		c->s.accesses++;
		if (ret == 0 && c->on_access)
			c->on_access(c->ctx, (pid_t)h.pid, (int)h.op, s1, h.flags, (int)h.err);
		break;
	case MP_REC_PROC_START:
		s1 = next_str(&p, end);
		if (!s1)
			return bad(c);
		proc_seen(c, (pid_t)h.pid, (pid_t)h.aux, *s1 ? s1 : NULL, h.time_ns, true);
		break;
	case MP_REC_PROC_EXEC: {
		const char **argv;
		size_t n = 0, cap = 8;

		s1 = next_str(&p, end); /* the executable */
		s2 = next_str(&p, end); /* the cwd */
		if (!s1 || !*s1 || !s2)
			return bad(c);
		argv = xmalloc(cap * sizeof(*argv));
		while (p < end) {
			const char *a = next_str(&p, end);

			if (!a) {
				free(argv);
				return bad(c);
			}
			if (n + 2 > cap)
				argv = xrealloc(argv, (cap *= 2) * sizeof(*argv));
			argv[n++] = a;
		}
		argv[n] = NULL;
		/* An exec in a process we knew, or the first sign of a new one. */
		proc_seen(c, (pid_t)h.pid, (pid_t)h.aux, *s2 ? s2 : NULL, h.time_ns, true);
		ret = store_proc_exec(c->st, (pid_t)h.pid, s1, argv, *s2 ? s2 : NULL, h.time_ns);
		if (ret == 0)
			ret = store_add_access(c->st, (pid_t)h.pid, MP_OP_EXEC, s1, 0, 0,
					       MP_SRC_PRELOAD, h.time_ns);
		c->s.accesses++;
		if (ret == 0 && c->on_access)
			c->on_access(c->ctx, (pid_t)h.pid, MP_OP_EXEC, s1, 0, 0);
		free(argv);
		break;
	}
	case MP_REC_PROC_EXIT: {
		struct pid_slot *s;

		proc_seen(c, (pid_t)h.pid, 0, NULL, h.time_ns, false);
		s = pid_slot(c, (pid_t)h.pid);
		if (s->state == PID_EXITED)
			break; /* _exit() after exit(): the first one counts */
		s->state = PID_EXITED;
		ret = store_proc_exit(c->st, (pid_t)h.pid, (int)(h.err & 0xff), h.time_ns);
		break;
	}
	case MP_REC_GAP:
		s1 = next_str(&p, end);
		if (!s1 || !*s1)
			return bad(c);
		proc_seen(c, (pid_t)h.pid, 0, NULL, h.time_ns, false);
		if (!c->s.gaps++)
			snprintf(c->s.gap, sizeof(c->s.gap), "%s %s", gap_name(h.flags), s1);
		/* the exec happens, and nothing in the new program will say so */
		ret = store_add_access(c->st, (pid_t)h.pid, MP_OP_EXEC, s1, 0, 0, MP_SRC_PRELOAD,
				       h.time_ns);
		break;
	case MP_REC_LOST:
		if (h.aux == 0 || h.aux > (1ULL << 40))
			return bad(c);
		c->s.lost += h.aux;
		break;
	}
	c->s.records++;
	note_err(c, ret);
	return ret;
}

static void feed_ring(void *ctx, const void *rec, size_t len)
{
	collect_feed(ctx, rec, len);
}

static int drain(struct collect *c, bool final)
{
	int n = 0;
	size_t got;

	if (c->fd < 0)
		return 0;
	got = ringread_drain(c->ring, feed_ring, c, false);
	n += (int)got;
	for (;;) {
		ssize_t r = recv(c->fd, c->buf, sizeof(c->buf), MSG_DONTWAIT | MSG_TRUNC);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			break; /* EAGAIN: empty */
		}
		if (r == 0 && c->ring)
			continue; /* the doorbell of a writer that filled the ring */
		n++;
		c->s.datagrams++;
		if ((size_t)r > MP_WIRE_MAX) {
			c->s.bad++;
			continue;
		}
		collect_feed(c, c->buf, (size_t)r);
	}
	/* again after the socket: what was committed meanwhile, and with @final the slots of
	 * writers that died mid-record */
	if (final || got < RINGREAD_MAX) {
		got = ringread_drain(c->ring, feed_ring, c, final);
		n += (int)got;
	}
	c->behind = !final && got >= RINGREAD_MAX;
	if (c->err) {
		int e = c->err;

		c->err = 0;
		return e;
	}
	return n;
}

int collect_drain(struct collect *c)
{
	return drain(c, false);
}

int collect_finish(struct collect *c)
{
	return drain(c, true);
}

int collect_poll_ms(const struct collect *c, int wait_ms)
{
	if (!c->ring)
		return wait_ms;
	if (c->behind)
		return 0;
	int pass = collect_pass_ms(clock_mono_ms() - c->opened_ms);

	return wait_ms < 0 || wait_ms > pass ? pass : wait_ms;
}

int collect_pass_ms(uint64_t elapsed_ms)
{
	uint64_t ms = elapsed_ms / 3;

	if (ms < COLLECT_PASS_MIN_MS)
		return COLLECT_PASS_MIN_MS;
	return ms > COLLECT_PASS_MAX_MS ? COLLECT_PASS_MAX_MS : (int)ms;
}

void collect_reaped(struct collect *c, pid_t pid, int status)
{
	struct pid_slot *s;
	int code;

	if (!c->cap)
		return;
	s = pid_slot(c, pid);
	if (s->state != PID_ALIVE) {
		if (s->state == PID_FREE)
			s->pid = 0, s->state = PID_FREE;
		return;
	}
	code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	s->state = PID_EXITED;
	note_err(c, store_proc_exit(c->st, pid, code, clock_real_ns()));
}

pid_t *collect_alive(const struct collect *c, size_t *n)
{
	pid_t *v = xmalloc((c->cap ? c->cap : 1) * sizeof(*v));

	*n = 0;
	for (size_t i = 0; i < c->cap; i++)
		if (c->pids[i].state == PID_ALIVE)
			v[(*n)++] = c->pids[i].pid;
	return v;
}

bool collect_tree_over(const struct collect *c, pid_t root)
{
	bool root_exited = false;

	for (size_t i = 0; i < c->cap; i++) {
		if (c->pids[i].state == PID_ALIVE)
			return false;
		if (c->pids[i].pid == root && c->pids[i].state == PID_EXITED)
			root_exited = true;
	}
	return root_exited;
}

void collect_get_stats(const struct collect *c, struct collect_stats *out)
{
	*out = c->s;
	out->lost += ringread_lost(c->ring);
	out->bad += ringread_bad(c->ring);
}

void collect_incomplete_reason(const struct collect *c, char *why, size_t size)
{
	struct collect_stats s;

	collect_get_stats(c, &s);
	why[0] = '\0';
	if (s.lost)
		snprintf(why, size, "events_lost=%llu", (unsigned long long)s.lost);
	else if (s.gaps)
		snprintf(why, size, "preload_gap: %s", s.gap);
	else if (s.bad)
		snprintf(why, size, "bad_records=%llu", (unsigned long long)s.bad);
}

void collect_free(struct collect *c)
{
	if (!c)
		return;
	ringread_free(c->ring);
	free(c->ignore[0]);
	free(c->ignore[1]);
	if (c->fd >= 0)
		close(c->fd);
	if (c->path)
		unlink(c->path);
	free(c->path);
	free(c->pids);
	free(c);
}

/* Is @sb the dynamic loader (interp.h: a static magicpak has none of its own)? */
static bool is_own_loader(const struct stat *sb)
{
	const char *ld = interp_system();
	struct stat lb;

	return ld && stat(ld, &lb) == 0 && lb.st_dev == sb->st_dev && lb.st_ino == sb->st_ino;
}


int collect_exec_gap(const char *path, const struct caps_who *who)
{
	unsigned char buf[4096];
	char interp[4096], why[64];
	struct stat sb;
	ssize_t n;
	bool priv;
	int fd;

	for (int depth = 0; depth < 2; depth++) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		/* execute-only (a set-user-ID sudo of mode 4711): no script, and its bits tell */
		if (fd < 0)
			return errno == EACCES && caps_exec_privileged(path, who, why, sizeof(why))
				       ? MP_GAP_SETUID
				       : 0;
		if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			close(fd);
			return 0;
		}
		n = pread(fd, buf, sizeof(buf), 0);
		if (n < 4) {
			close(fd);
			return 0;
		}
		if (buf[0] == '#' && buf[1] == '!') {
			size_t i = 2, k = 0;

			while (i < (size_t)n && (buf[i] == ' ' || buf[i] == '\t'))
				i++;
			while (i < (size_t)n && !strchr(" \t\n", buf[i]) && k < sizeof(interp) - 1)
				interp[k++] = (char)buf[i++];
			interp[k] = '\0';
			close(fd);
			if (!k)
				return 0;
			path = interp;
			continue;
		}
		if (n < 64 || memcmp(buf, "\177ELF", 4) ||
		    (buf[4] != ELFCLASS32 && buf[4] != ELFCLASS64)) {
			close(fd);
			return 0;
		}
		/* AT_SECURE: the loader ignores LD_PRELOAD (the kernel ignores the bits of a
		 * script: its interpreter's count). Judged on the file read, not its path again. */
		priv = caps_exec_privileged_fd(fd, &sb, who, why, sizeof(why)) != NULL;
		close(fd);
		if (priv)
			return MP_GAP_SETUID;
		/* as the library's emit_exec_gap(): static first (no loader at all), then
		 * another ABI's program (its ld.so cannot load the library) */
		switch (hostelf_has_interp(buf, (size_t)n, NULL, NULL)) {
		case 0:
			return is_own_loader(&sb) ? 0 : MP_GAP_STATIC;
		case 1:
			return buf[4] != HOST_CLASS || (buf[18] | buf[19] << 8) != HOST_MACHINE
				       ? MP_GAP_ABI
				       : 0;
		default:
			return 0;
		}
	}
	return 0;
}

/* Feed a record made here: header @h (len and time filled in) and the payload @path. */
static int feed_path(struct collect *c, struct mp_wire h, const char *path)
{
	unsigned char buf[sizeof(struct mp_wire) + 4096];
	size_t n = strlen(path) + 1;

	if (n > 4096)
		return -ENAMETOOLONG;
	h.magic = MP_WIRE_MAGIC;
	h.version = MP_EVENT_VERSION;
	h.source = MP_SRC_PRELOAD;
	h.len = (__u32)(sizeof(h) + n);
	h.time_ns = clock_real_ns();
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), path, n);
	return collect_feed(c, buf, h.len);
}

int collect_add_access(struct collect *c, pid_t pid, int op, const char *path, int err)
{
	return feed_path(c, (struct mp_wire){ .kind = MP_REC_ACCESS, .op = (__u32)op,
					      .pid = (__u32)pid, .tid = (__u32)pid,
					      .err = (__u32)err },
			 path);
}

int collect_add_gap(struct collect *c, pid_t pid, int why, const char *path)
{
	return feed_path(c, (struct mp_wire){ .kind = MP_REC_GAP, .op = MP_OP_EXEC,
					      .pid = (__u32)pid, .tid = (__u32)pid,
					      .flags = (__u32)why },
			 path);
}
