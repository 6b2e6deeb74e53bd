/* SPDX-License-Identifier: MIT */
/* collector/record.c - glue between the tracer's callbacks and the store. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "log.h"
#include "path.h"
#include "record.h"
#include "store.h"
#include "strbuf.h"
#include "strmap.h"
#include "tracer.h"
#include "xalloc.h"

struct rec {
	struct store *st;
	const struct record_opts *o;
	struct strmap versioned; /* paths whose version is recorded */
	struct strmap changing;  /* paths the run wrote or changed: versioned at its end */
	struct strvec changed;   /* the same, in order */
	int err;                 /* first store error */
};

/* sha256 of the file at @path as 64 hex digits into @hex; -errno on failure. */
static int sha256_file(const char *path, char hex[65])
{
	unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		ret = -ENOMEM;
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(ctx, buf, (size_t)n);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return ret;
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
	if (type == 'f' && r->o->hash && sha256_file(path, hex) < 0)
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
		return true;
	default:
		return false;
	}
}

static void on_access(void *ctx, const struct tracer_access *a)
{
	struct rec *r = ctx;
	int ret;

	ret = store_add_access(r->st, a->pid, a->op, a->path, a->flags, a->err, MP_SRC_PTRACE,
			       a->time_ns);
	if (ret < 0 && !r->err)
		r->err = ret;
	if (a->err)
		return;
	/* A file the run writes is recorded as the run left it: a bundle made afterwards
	 * should not call the run's own output "changed". Every other successful access
	 * records the file as it was then. */
	if (modifies(a)) {
		if (!strmap_has(&r->changing, a->path)) {
			strmap_put(&r->changing, a->path, NULL);
			strvec_push(&r->changed, a->path);
		}
		return;
	}
	if (a->op != MP_OP_UNLINK && a->op != MP_OP_RENAME_FROM)
		note_version(r, a->path);
}

static void on_proc(void *ctx, const struct tracer_proc *p)
{
	struct rec *r = ctx;
	int ret = 0;

	switch (p->what) {
	case TRACER_PROC_START:
		ret = store_proc_start(r->st, p->pid, p->parent, p->cwd, p->time_ns);
		break;
	case TRACER_PROC_EXEC:
		ret = store_proc_exec(r->st, p->pid, p->exe, p->argv, p->cwd, p->time_ns);
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

const char *record_default_db(void)
{
	const char *e = getenv("MAGICPAK_DB");

	return e && *e ? e : "magicpak.db";
}

static int record_preload(const struct record_opts *o, struct record_result *res);

int record_run(const struct record_opts *o, struct record_result *res)
{
	struct tracer_opts topts = { .timeout_s = o->timeout_s, .no_seccomp = o->no_seccomp,
				     .stdin_fd = o->stdin_fd };
	struct tracer_ops ops = { .access = on_access, .proc = on_proc };
	struct tracer_result tres = { 0 };
	struct rec r = { .o = o, .changed = STRVEC_INIT };
	char cwd[PATH_MAX], host[256] = "";
	struct store_session s = { 0 };
	int ret;

	if (o->via == RECORD_VIA_PRELOAD)
		return record_preload(o, res);
	memset(res, 0, sizeof(*res));
	ret = store_open(o->db, &r.st);
	if (ret < 0)
		return ret;
	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';
	gethostname(host, sizeof(host) - 1);
	s.label = o->label;
	s.argv = (const char *const *)o->argv;
	s.cwd = cwd;
	s.source = MP_SRC_PTRACE;
	s.host = host;
	ret = store_session_begin(r.st, &s, &res->session);
	if (ret < 0)
		goto out;
	ret = tracer_run(o->argv, &topts, &ops, &r, &tres);
	if (ret < 0) {
		store_session_end(r.st, 127, false, "tracer failed");
		goto out;
	}
	for (size_t i = 0; i < r.changed.n; i++)
		note_version(&r, r.changed.v[i]);
	res->exit_code = tres.exit_code;
	res->accesses = tres.accesses;
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
	res->complete = !res->why[0];
	ret = store_session_end(r.st, res->exit_code, res->complete,
				res->complete ? NULL : res->why);
	if (ret < 0)
		log_errno(ret, "cannot finish session %lld in '%s'", (long long)res->session, o->db);
	res->files = r.versioned.n;
out:
	strmap_clear(&r.versioned);
	strmap_clear(&r.changing);
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

/* The command's environment: ours with the library first in LD_PRELOAD and LD_AUDIT (the
 * user's own preloads kept after it) and MAGICPAK_SOCKET. Owned by the caller. */
static char **preload_env(const char *lib, const char *sock)
{
	extern char **environ;
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = xcalloc(n + 4, sizeof(*env));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) && strncmp(environ[i], "LD_AUDIT=", 9) &&
		    strncmp(environ[i], "MAGICPAK_SOCKET=", 16))
			env[k++] = xstrdup(environ[i]);
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "LD_AUDIT" : "LD_PRELOAD", *old = getenv(name);
		struct strbuf sb = STRBUF_INIT;

		strbuf_addf(&sb, "%s=%s", name, lib);
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

static const int preload_fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Fork and exec the command with @env; its exec error comes back through a pipe. */
static pid_t preload_spawn(const struct record_opts *o, char **env, const sigset_t *oldmask,
			   int *errfd)
{
	int pfd[2];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int ret = -errno;

		close(pfd[0]);
		close(pfd[1]);
		return ret;
	}
	if (pid == 0) {
		int err;

		sigprocmask(SIG_SETMASK, oldmask, NULL);
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
	struct store_session s = { 0 };
	struct prec p = { .r = { .o = o } };
	struct collect_stats cs;
	char cwd[PATH_MAX], host[256] = "", dir[] = "/tmp/magicpak-preload.XXXXXX", sock[64];
	char *lib = NULL, **env = NULL, *exe = NULL;
	sigset_t mask, oldmask;
	int ret, sfd = -1, errfd = -1, status = 0, err = 0;
	bool dir_made = false, child_done = false, timed_out = false, masked = false;
	uint64_t deadline = o->timeout_s ? mono_ms() + (uint64_t)o->timeout_s * 1000 : 0;
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
	ret = store_open(o->db, &p.r.st);
	if (ret < 0)
		goto out;
	if (!mkdtemp(dir)) {
		ret = log_errno(-errno, "cannot create a directory for the socket");
		goto out;
	}
	dir_made = true;
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	ret = collect_open(sock, p.r.st, getpid(), &p.c);
	if (ret < 0)
		goto out;
	collect_on_access(p.c, preload_on_access, &p.r);
	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';
	gethostname(host, sizeof(host) - 1);
	s.label = o->label;
	s.argv = (const char *const *)o->argv;
	s.cwd = cwd;
	s.source = MP_SRC_PRELOAD;
	s.host = host;
	ret = store_session_begin(p.r.st, &s, &res->session);
	if (ret < 0)
		goto out;
	env = preload_env(lib, sock);

	/* Signals for the command are forwarded; SIGCHLD is read from a signalfd. Orphans of
	 * the tree come back to us (a child subreaper), so "all done" is waitpid()'s ECHILD. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	for (size_t i = 0; i < sizeof(preload_fwd) / sizeof(preload_fwd[0]); i++)
		sigaddset(&mask, preload_fwd[i]);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	masked = true;
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		ret = log_errno(-errno, "cannot create a signalfd");
		goto end;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	exe = path_search(o->argv[0], getenv("PATH"));
	child = preload_spawn(o, env, &oldmask, &errfd);
	if (child < 0) {
		ret = log_errno(child, "cannot fork");
		goto end;
	}
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
		int gap = collect_exec_gap(exe);

		/* the command itself is exec'd by us, not by a preloaded process */
		if (gap)
			collect_add_gap(p.c, child, gap, exe);
	}

	for (;;) {
		struct pollfd pfd[2] = { { collect_fd(p.c), POLLIN, 0 }, { sfd, POLLIN, 0 } };
		int wait_ms = -1;
		pid_t w;

		if (deadline) {
			uint64_t now = mono_ms();

			wait_ms = now >= deadline ? 0 : (int)(deadline - now);
		}
		if (poll(pfd, 2, wait_ms) < 0 && errno != EINTR) {
			ret = log_errno(-errno, "poll");
			break;
		}
		collect_drain(p.c);
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				if (si.ssi_signo != SIGCHLD && !child_done)
					kill(child, (int)si.ssi_signo);
		}
		if (deadline && !timed_out && mono_ms() >= deadline) {
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
				child_done = true;
				res->exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status)
								     : WEXITSTATUS(status);
			}
			collect_reaped(p.c, w, status);
		}
		if (w < 0 && errno == ECHILD)
			break;
	}
	collect_drain(p.c);
	if (read(errfd, &err, sizeof(err)) == sizeof(err) && err) {
		if (err == ENOENT && !strchr(o->argv[0], '/'))
			log_error(0, "%s: command not found", o->argv[0]);
		else
			log_errno(-err, "%s", o->argv[0]);
		res->exit_code = err == ENOENT ? 127 : 126;
	}
	ret = 0;
end:
	collect_get_stats(p.c, &cs);
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
	res->complete = !res->why[0];
	{
		int r2 = store_session_end(p.r.st, ret < 0 ? 127 : res->exit_code, res->complete,
					   res->complete ? NULL : res->why);

		if (r2 < 0 && ret == 0)
			ret = log_errno(r2, "cannot finish session %lld in '%s'",
					(long long)res->session, o->db);
	}
	res->files = p.r.versioned.n;
out:
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
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
	free(exe);
	free(lib);
	strmap_clear(&p.r.versioned);
	store_free(p.r.st);
	return ret;
}
