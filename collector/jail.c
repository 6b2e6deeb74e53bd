/* SPDX-License-Identifier: MIT */
/* collector/jail.c - run a command isolated inside a bundle: new namespaces, pivot_root,
 * a throwaway overlay layer, a minimal /dev, no capabilities; and the diagnosis of what it
 * looked for in vain.
 *
 * Three processes besides the command:
 *   the tester (magicpak itself) prepares everything that needs the host (the bundle fd,
 *     memfds for stdin/stdout/stderr, the busybox fd and its applet list, the environment),
 *     forks A, waits for it and reads the results back;
 *   A unshares the namespaces (a user namespace first when not root), makes the mounts
 *     private, mounts a tmpfs on its own /tmp and an overlay of the bundle with the upper
 *     layer on that tmpfs, forks B, moves it into the tester's throwaway cgroup (if any)
 *     before letting it go on, and waits for it with the deadline;
 *   B is pid 1 of the new pid namespace: it mounts /proc, /tmp and /dev inside the overlay,
 *     pivot_root()s into it and detaches the old root, drops every capability, sets the
 *     rlimits when there is no cgroup, and runs the command (fork + execvp, or tracer_run()
 *     in diagnose mode). When B exits the kernel kills whatever the command left behind in
 *     the namespace; the tester then kills what is still in the cgroup and removes it.
 * After pivot_root nothing but the command is executed and nothing is loaded from the
 * bundle: B and the command's parent are forks of magicpak with everything already mapped. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "cgroup.h"
#include "clock.h"
#include "elfobj.h"
#include "script.h"
#include "event.h"
#include "jail.h"
#include "log.h"
#include "path.h"
#include "strmap.h"
#include "tracer.h"
#include "tree.h"
#include "xalloc.h"

#define JAIL_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define JAIL_HOSTNAME "magicpak"
/* Where A mounts its private tmpfs (in its own mount namespace only, as bubblewrap does). */
#define JAIL_BASE "/tmp"
/* Exit status of A or B when the set-up failed (the reason went through the message pipe). */
#define JAIL_CHILD_SETUP 125

/* One message from A or B to the tester; smaller than PIPE_BUF, so each write is atomic. */
struct jail_msg {
	int type;
	int err;       /* MSG_ERROR: the positive errno, or 0 */
	int code;      /* MSG_EXIT: the command's exit code as a shell shows it */
	int timed_out; /* MSG_EXIT */
	int fallback;  /* MSG_ERROR: the namespaces or their mounts were refused: a plain
			* chroot may still work */
	char text[240];
};

enum { MSG_ERROR = 1, MSG_EXIT, MSG_WARN };
/* MSG_WARN's code: the jail has no /proc (a diagnosis names what the command looked for there) */
enum { WARN_NO_PROC = 1 };

/* A diagnosis record in the report memfd: the header, then @len bytes of path. */
struct jail_rec {
	uint32_t op;
	int32_t err;
	uint32_t len;
};

/* Everything the children need, prepared by the tester before fork(). */
struct jail_ctx {
	const struct jail_opts *o;
	pid_t tester;
	uid_t uid;
	gid_t gid;
	/* the namespaces are made inside a user namespace: not root, or root without
	 * CAP_SYS_ADMIN (a container build's RUN step, which may still make one) */
	bool userns;
	bool set_user;  /* --user other than the jail's own root: become o->user in B */
	/* making the namespaces and their mounts: a refusal now allows the chroot fallback */
	bool ns_setup;
	char *copy;     /* chroot: the throwaway copy of the bundle */
	bool no_proc;   /* the command ran without /proc (a plain chroot, or a container's) */
	int bundle_fd;  /* O_PATH directory */
	char *bundle_abs; /* its absolute path, symlinks resolved */
	struct stat bundle_st;
	int stdio[3];   /* memfds: the command's stdin, stdout, stderr */
	int report_fd;  /* memfd for diagnosis records, or -1 */
	int msg_fd;     /* write end of the message pipe */
	int busybox_fd; /* the host busybox, or -1 */
	struct strvec applets;
	struct strvec env;
	struct cgroup_jail cg; /* the limits as a cgroup (cg.version 0: none) */
	bool rlimits;          /* no cgroup: the limits as setrlimit() in B */
	uint64_t pids_max;     /* the limits in effect (JAIL_NO_LIMIT: none) */
	uint64_t memory_max;
};

/* ---- the children: report failures through the pipe, never return ---- */

static void send_msg(const struct jail_ctx *c, const struct jail_msg *m)
{
	ssize_t n;

	do
		n = write(c->msg_fd, m, sizeof(*m));
	while (n < 0 && errno == EINTR);
}

static _Noreturn __attribute__((format(printf, 3, 4))) void
child_fail(const struct jail_ctx *c, int err, const char *fmt, ...)
{
	struct jail_msg m = { .type = MSG_ERROR, .err = err };
	va_list ap;

	/* what a seccomp profile (EPERM), a missing capability or sysctl (EPERM, ENOSPC,
	 * EUSERS) or a kernel without the feature (EINVAL, ENOSYS, ENODEV) answers */
	m.fallback = c->ns_setup && (err == EPERM || err == EACCES || err == ENOSPC ||
				     err == EUSERS || err == EINVAL || err == ENOSYS ||
				     err == ENODEV);
	va_start(ap, fmt);
	vsnprintf(m.text, sizeof(m.text), fmt, ap);
	va_end(ap);
	send_msg(c, &m);
	_exit(JAIL_CHILD_SETUP);
}

/* Something the tester says as a warning (@code: 0, or WARN_NO_PROC); the set-up goes on. */
static __attribute__((format(printf, 3, 4))) void child_warn(const struct jail_ctx *c, int code,
							       const char *fmt, ...)
{
	struct jail_msg m = { .type = MSG_WARN, .code = code };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m.text, sizeof(m.text), fmt, ap);
	va_end(ap);
	send_msg(c, &m);
}

/* "/proc/self/fd/N": a mount(2) source or target that is exactly the file @fd refers to,
 * whatever symlinks lead there (the same trick runc uses for its mount targets). */
static void fd_path(char *buf, size_t size, int fd)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/* Make @name (one component) a real directory below @dirfd, replacing whatever the bundle
 * has there (a symlink could lead out of the jail; the overlay keeps the bundle intact) and
 * return an O_PATH fd on it. */
static int fresh_dir(const struct jail_ctx *c, int dirfd, const char *name, mode_t mode)
{
	struct stat st;
	int fd;

	if (!fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) && !S_ISDIR(st.st_mode) &&
	    unlinkat(dirfd, name, 0) < 0)
		child_fail(c, errno, "cannot replace the bundle's /%s", name);
	if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
		child_fail(c, errno, "cannot create /%s in the jail", name);
	fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		child_fail(c, errno, "cannot open /%s in the jail", name);
	return fd;
}

/* Does the jail's root @mfd have a /tmp directory with something in it? */
static bool bundle_has_tmp(int mfd)
{
	int fd = openat(mfd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *e;
	bool any = false;

	if (fd < 0)
		return false;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	while (!any && (e = readdir(d)))
		any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return any;
}

static void mount_at(const struct jail_ctx *c, const char *src, int fd, const char *type,
		     unsigned long flags, const char *data, const char *what)
{
	char target[64];

	fd_path(target, sizeof(target), fd);
	if (mount(src, target, type, flags, data) < 0)
		child_fail(c, errno, "cannot mount %s in the jail", what);
}

/* /proc: a fresh procfs of the new pid namespace (never the host's), with the files that
 * reach beyond the namespace read-only, as bubblewrap does (uid 0 without capabilities can
 * still write root-owned files such as /proc/sysrq-trigger). */
static void setup_proc(const struct jail_ctx *c, int mfd)
{
	static const char *const covered[] = { "sys", "sysrq-trigger", "irq", "bus" };
	char p[64];
	int fd, pfd;

	fd = fresh_dir(c, mfd, "proc", 0555);
	fd_path(p, sizeof(p), fd);
	if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		/* In a user namespace a new procfs needs a fully visible one: a container's,
		 * with paths masked over (podman and Docker do that), is not. The other
		 * namespaces still hold; the host's /proc is never shown instead. */
		if (c->userns && (errno == EPERM || errno == EACCES)) {
			child_warn(c, WARN_NO_PROC, "test: the jail cannot have a /proc of its own here (%s: a "
				   "container's /proc with masked paths?); the command runs without "
				   "/proc", strerror(errno));
			close(fd);
			return;
		}
		child_fail(c, errno, "cannot mount /proc in the jail");
	}
	close(fd);
	pfd = openat(mfd, "proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		child_fail(c, errno, "cannot open the jail's /proc");
	for (size_t i = 0; i < sizeof(covered) / sizeof(covered[0]); i++) {
		fd = openat(pfd, covered[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		fd_path(p, sizeof(p), fd);
		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
			child_fail(c, errno, "cannot protect /proc/%s in the jail", covered[i]);
		close(fd);
		/* reopen: the fd above still points below the new bind mount */
		fd = openat(pfd, covered[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			child_fail(c, errno, "cannot open /proc/%s in the jail", covered[i]);
		fd_path(p, sizeof(p), fd);
		if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV |
			  MS_NOEXEC, NULL) < 0)
			child_fail(c, errno, "cannot make /proc/%s read-only in the jail", covered[i]);
		close(fd);
	}
	close(pfd);
}

/* /dev: a nodev tmpfs holding bind mounts of the host's harmless nodes (a bind mount works
 * as root and in a user namespace, where mknod does not), and the usual links. */
static void setup_dev(const struct jail_ctx *c, int mfd)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
	};
	char host[32];
	int fd, dfd;

	fd = fresh_dir(c, mfd, "dev", 0755);
	mount_at(c, "tmpfs", fd, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=1m",
		 "/dev");
	close(fd);
	dfd = openat(mfd, "dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		child_fail(c, errno, "cannot open the jail's /dev");
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		fd = openat(dfd, nodes[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd < 0)
			child_fail(c, errno, "cannot create /dev/%s in the jail", nodes[i]);
		snprintf(host, sizeof(host), "/dev/%s", nodes[i]);
		mount_at(c, host, fd, NULL, MS_BIND, NULL, host);
		close(fd);
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i][1], dfd, links[i][0]) < 0)
			child_fail(c, errno, "cannot create /dev/%s in the jail", links[i][0]);
	if (mkdirat(dfd, "shm", 01777) < 0 || fchmodat(dfd, "shm", 01777, 0) < 0)
		child_fail(c, errno, "cannot create /dev/shm in the jail");
	close(dfd);
}

/* Give the jail a static busybox as /bin/busybox, /bin/sh and its applets, in the throwaway
 * layer only, when the bundle has no /bin/sh. Runs after pivot_root, so /bin/sh is looked
 * up through the bundle's own symlinks and nothing can lead out. */
static void setup_busybox(const struct jail_ctx *c)
{
	struct stat st;
	off_t off = 0;
	ssize_t n;
	int fd;

	if (!stat("/bin/sh", &st))
		return;
	if (mkdir("/bin", 0755) < 0 && errno != EEXIST)
		child_fail(c, errno, "--busybox: cannot create /bin in the jail");
	if (unlink("/bin/busybox") < 0 && errno != ENOENT)
		child_fail(c, errno, "--busybox: cannot replace /bin/busybox in the jail");
	fd = open("/bin/busybox", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
	if (fd < 0)
		child_fail(c, errno, "--busybox: cannot create /bin/busybox in the jail");
	while ((n = sendfile(fd, c->busybox_fd, &off, 1 << 20)) > 0)
		;
	if (n < 0 || fchmod(fd, 0755) < 0)
		child_fail(c, errno, "--busybox: cannot copy busybox into the jail");
	close(fd);
	/* a dangling /bin/sh would stay dangling: replace it */
	if (!lstat("/bin/sh", &st))
		unlink("/bin/sh");
	for (size_t i = 0; i < c->applets.n; i++) {
		const char *a = c->applets.v[i];
		char p[PATH_MAX];

		if ((size_t)snprintf(p, sizeof(p), "/bin/%s", a) >= sizeof(p) || !lstat(p, &st))
			continue;
		if (symlink("/bin/busybox", p) < 0 && errno != EEXIST)
			child_fail(c, errno, "--busybox: cannot create %s in the jail", p);
	}
	if (lstat("/bin/sh", &st) < 0 && symlink("/bin/busybox", "/bin/sh") < 0)
		child_fail(c, errno, "--busybox: cannot create /bin/sh in the jail");
}

static void loopback_up(const struct jail_ctx *c)
{
	struct ifreq ifr;
	int s;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		child_fail(c, errno, "cannot find the loopback interface in the jail");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		child_fail(c, errno, "cannot bring the loopback interface up in the jail");
	close(s);
}

/* Zero the tester's original environment strings in this process's memory: with the
 * tracer the jail's init stays dumpable (the tracer must be able to trace its child) and
 * /proc/1/environ would show the host's variables. env_start and env_end are fields 50
 * and 51 of /proc/self/stat (proc(5), Linux 3.5); read while the host's /proc is mounted. */
static void scrub_host_env(void)
{
	char buf[2048], *p;
	unsigned long start = 0, end = 0;
	ssize_t n;
	int fd, field = 2;

	fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return;
	for (p++; *p && field < 49; p++)
		if (*p == ' ')
			field++;
	if (sscanf(p, "%*s %lu %lu", &start, &end) != 2 || end <= start)
		return;
	memset((void *)start, 0, end - start);
}

/* Close every fd but 0, 1, 2 and the ones in @keep (-1 entries ignored, at most 2). */
static void close_other_fds(int keep0, int keep1)
{
	int k[2] = { keep0 < keep1 ? keep0 : keep1, keep0 < keep1 ? keep1 : keep0 };
	unsigned from = 3;

	for (int i = 0; i < 2; i++) {
		if (k[i] < 3)
			continue;
		if ((unsigned)k[i] > from)
			close_range(from, (unsigned)k[i] - 1, 0);
		from = (unsigned)k[i] + 1;
	}
	close_range(from, ~0U, 0);
}

static void drop_privileges(const struct jail_ctx *c)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	/* The bounding set first (needs CAP_SETPCAP), so that no exec can give any back:
	 * root's exec rule computes fP & bounding set, which is then empty. */
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			child_fail(c, errno, "cannot drop capability %d from the bounding set", cap);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		child_fail(c, errno, "cannot clear the ambient capabilities");
	/* --user: while CAP_SETUID and CAP_SETGID are still there; a non-zero uid then holds
	 * no capability (capabilities(7)), and the capset below clears root's */
	if (c->set_user) {
		const struct jail_user *u = c->o->user;
		uid_t r, e, sv;
		gid_t rg, eg, sg;

		if (setgroups(u->ngroups, u->groups) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 ||
		    setresuid(u->uid, u->uid, u->uid) < 0)
			child_fail(c, errno, "cannot become uid %u gid %u", (unsigned)u->uid,
				   (unsigned)u->gid);
		/* never run as root by mistake: every id is the one asked for */
		if (getresuid(&r, &e, &sv) < 0 || getresgid(&rg, &eg, &sg) < 0 || r != u->uid ||
		    e != u->uid || sv != u->uid || rg != u->gid || eg != u->gid || sg != u->gid)
			child_fail(c, 0, "cannot become uid %u gid %u", (unsigned)u->uid,
				   (unsigned)u->gid);
	}
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		child_fail(c, errno, "cannot drop the capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(c, errno, "cannot set no_new_privs");
}

/* The command, in the jail's init's child. Async-signal-safe calls only. */
static _Noreturn void run_command(const struct jail_ctx *c)
{
	char buf[512];
	const char *cmd = c->o->argv[0];
	int err, n;

	execvp(cmd, c->o->argv);
	err = errno;
	if (err == ENOENT && !strchr(cmd, '/'))
		n = snprintf(buf, sizeof(buf), "magicpak: %s: command not found in the bundle\n", cmd);
	else
		n = snprintf(buf, sizeof(buf), "magicpak: cannot run '%s' in the bundle: %s\n", cmd,
			     strerror(err));
	if (n > 0 && write(2, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1) < 0) {
		/* nowhere else to say it */
	}
	_exit(err == ENOENT ? 127 : 126);
}

static int shell_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

static void diag_access(void *ctx, const struct tracer_access *a)
{
	const struct jail_ctx *c = ctx;
	struct jail_rec h;
	struct iovec iov[2];

	if (a->err != ENOENT && a->err != ENOTDIR && a->err != EACCES)
		return;
	switch (a->op) {
	case MP_OP_OPEN:
	case MP_OP_EXEC:
	case MP_OP_STAT:
	case MP_OP_ACCESS:
	case MP_OP_READLINK:
		break;
	default:
		return;
	}
	h.op = a->op;
	h.err = a->err;
	h.len = (uint32_t)strlen(a->path);
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)a->path;
	iov[1].iov_len = h.len;
	if (writev(c->report_fd, iov, 2) < 0) {
		/* a memfd only fails when memory is short: the diagnosis is then partial */
	}
}

/* Lower @res to @v (never above its hard limit: raising it needs privileges). */
static void lower_rlimit(const struct jail_ctx *c, int res, uint64_t v, const char *name)
{
	struct rlimit rl;

	if (getrlimit(res, &rl) < 0)
		child_fail(c, errno, "cannot read %s", name);
	if (rl.rlim_max != RLIM_INFINITY && (uint64_t)rl.rlim_max < v)
		v = (uint64_t)rl.rlim_max;
	rl.rlim_cur = rl.rlim_max = (rlim_t)v;
	if (setrlimit(res, &rl) < 0)
		child_fail(c, errno, "cannot set %s in the jail", name);
}

/* No cgroup: RLIMIT_NPROC (it counts the processes of the jail's user in its user
 * namespace; real uid 0 is exempt) and RLIMIT_AS, for B and everything it starts. */
static void set_rlimits(const struct jail_ctx *c)
{
	if (c->pids_max != JAIL_NO_LIMIT)
		lower_rlimit(c, RLIMIT_NPROC, c->pids_max, "RLIMIT_NPROC");
	if (c->memory_max != JAIL_NO_LIMIT)
		lower_rlimit(c, RLIMIT_AS, c->memory_max, "RLIMIT_AS");
}

/* In the jail's root, its /dev and /tmp made: the command, from B (pid 1 of the jail's
 * namespaces, or a plain chroot's process). */
static _Noreturn void run_jailed(const struct jail_ctx *c, bool namespaces)
{
	int status, code;
	pid_t pid, w;

	if (c->busybox_fd >= 0)
		setup_busybox(c);
	if (namespaces) {
		/* A container's seccomp profile (podman's, Docker's) refuses sethostname without
		 * CAP_SYS_ADMIN outside, even in a UTS namespace of our own: keep the name. */
		if (sethostname(JAIL_HOSTNAME, strlen(JAIL_HOSTNAME)) < 0 && errno != EPERM)
			child_fail(c, errno, "cannot set the jail's host name");
		loopback_up(c);
	}
	/* a new session: no controlling terminal, so no TIOCSTI into the caller's */
	if (setsid() < 0)
		child_fail(c, errno, "cannot start a new session");
	if (fcntl(c->msg_fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    (c->report_fd >= 0 && fcntl(c->report_fd, F_SETFD, FD_CLOEXEC) < 0))
		child_fail(c, errno, "cannot mark the report channel close-on-exec");
	close_other_fds(c->msg_fd, c->report_fd);
	drop_privileges(c);
	environ = c->env.v;
	if (c->rlimits)
		set_rlimits(c);

	/* Not dumpable: the command (same uid) may not read this process's memory or
	 * /proc/1/environ, nor trace it. exec() makes the command itself dumpable again (the
	 * tracer's child makes itself so before its exec, to be seized). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (c->o->diagnose) {
		static const struct tracer_ops ops = { .access = diag_access };
		struct tracer_opts to = { .stdin_fd = -1 };
		struct tracer_result tres;

		if (tracer_run(c->o->argv, &to, &ops, (void *)c, &tres) < 0)
			child_fail(c, 0, "cannot trace '%s' in the jail", c->o->argv[0]);
		_exit(tres.exit_code);
	}

	pid = fork();
	if (pid < 0)
		child_fail(c, errno, "cannot fork in the jail");
	if (pid == 0)
		run_command(c);
	/* As pid 1, reap the orphans the command leaves too, until the command itself ends. */
	for (;;) {
		w = waitpid(-1, &status, 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			child_fail(c, errno, "lost the command in the jail");
	}
	code = shell_code(status);
	_exit(code);
}

/* B's start: PR_SET_PDEATHSIG, then check A is still there: getppid() is 0 for the init of
 * a pid namespace, so A holds the write end of a pipe and its death shows as EOF. A writes
 * one byte once B is in the cgroup: nothing may run or fork before that. */
static void await_go(const struct jail_ctx *c, int alive_fd)
{
	ssize_t n;
	char go;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		child_fail(c, errno, "cannot set the parent-death signal");
	do
		n = read(alive_fd, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(JAIL_CHILD_SETUP);
	close(alive_fd);
}

/* B: pid 1 of the new pid namespace. */
static _Noreturn void run_init(struct jail_ctx *c, int alive_fd)
{
	int mfd;

	await_go(c, alive_fd);

	mfd = open(JAIL_BASE "/merged", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (mfd < 0)
		child_fail(c, errno, "cannot open the jail's root");
	/* /proc before pivot_root: in a user namespace a new procfs may only be mounted while
	 * a fully visible one (the host's) is still in the mount namespace. */
	setup_proc(c, mfd);
	/* A fresh /tmp, unless the bundle has files there (a program bundled from /tmp): they
	 * stay visible, and what the test writes there goes to the overlay's throwaway layer
	 * like everything else. */
	if (!bundle_has_tmp(mfd)) {
		int fd = fresh_dir(c, mfd, "tmp", 01777);

		mount_at(c, "tmpfs", fd, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", "/tmp");
		close(fd);
	}
	setup_dev(c, mfd);
	scrub_host_env();

	/* pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves
	 * no path to the host (man pivot_root: "new_root and put_old may be the same"). A plain
	 * chroot would leave the host reachable through a second chroot and "..". */
	if (fchdir(mfd) < 0)
		child_fail(c, errno, "cannot enter the jail's root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		child_fail(c, errno, "pivot_root into the jail failed");
	if (umount2(".", MNT_DETACH) < 0)
		child_fail(c, errno, "cannot detach the host's root from the jail");
	if (chdir("/") < 0)
		child_fail(c, errno, "cannot enter the jail's root");
	close(mfd);

	c->ns_setup = false;
	run_jailed(c, true);
}

/* Wait for @pid, killing it at the deadline (0: none). */
static int wait_deadline(pid_t pid, unsigned timeout_s, bool *timed_out, int *status)
{
	int64_t deadline = (int64_t)clock_mono_ms() + (int64_t)timeout_s * 1000;
	int pidfd = -1;

	*timed_out = false;
	if (timeout_s) {
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		for (;;) {
			int64_t left = deadline - (int64_t)clock_mono_ms();
			int r;

			if (left <= 0) {
				kill(pid, SIGKILL);
				*timed_out = true;
				break;
			}
			if (pidfd >= 0) {
				struct pollfd p = { .fd = pidfd, .events = POLLIN };

				r = poll(&p, 1, left > 1000 ? 1000 : (int)left);
				if (r > 0)
					break;
			} else {
				/* pidfd_open needs Linux 5.3 */
				struct timespec ts = { 0, 10 * 1000 * 1000 };

				r = waitpid(pid, status, WNOHANG);
				if (r == pid)
					return 0;
				nanosleep(&ts, NULL);
			}
		}
		if (pidfd >= 0)
			close(pidfd);
	}
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static void setup_userns(const struct jail_ctx *c)
{
	char map[64];
	int ret;

	if (unshare(CLONE_NEWUSER) < 0) {
		if (c->uid == 0)
			child_fail(c, errno, "cannot create a user namespace (root without "
				   "CAP_SYS_ADMIN, in a container?)");
		child_fail(c, errno, "user namespaces are not available: run as root or enable "
			   "kernel.unprivileged_userns_clone (and user.max_user_namespaces)");
	}
	/* setgroups must be denied before an unprivileged process may write gid_map
	 * (user_namespaces(7)). */
	ret = path_write_text("/proc/self/setgroups", "deny");
	if (ret < 0 && ret != -ENOENT)
		child_fail(c, -ret, "cannot write /proc/self/setgroups");
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)c->uid);
	ret = path_write_text("/proc/self/uid_map", map);
	if (ret < 0)
		child_fail(c, -ret, "cannot write the user namespace's uid_map");
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)c->gid);
	ret = path_write_text("/proc/self/gid_map", map);
	if (ret < 0)
		child_fail(c, -ret, "cannot write the user namespace's gid_map");
}

static void mount_overlay(const struct jail_ctx *c, bool userns)
{
	struct stat st;
	char opts[256];
	int fd;

	/* overlayfs clones the lower directory's mount, which must belong to this (new) mount
	 * namespace: the tester's fd does not, so open the path again here and check that it
	 * is the same directory. */
	fd = open(c->bundle_abs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		child_fail(c, errno, "cannot open the bundle '%s' in the jail", c->bundle_abs);
	if (fstat(fd, &st) < 0 || st.st_dev != c->bundle_st.st_dev || st.st_ino != c->bundle_st.st_ino)
		child_fail(c, 0, "the bundle '%s' was replaced while the test was set up",
			   c->bundle_abs);

	if (mount("magicpak", JAIL_BASE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0)
		child_fail(c, errno, "cannot mount a tmpfs for the throwaway layer");
	if (mkdir(JAIL_BASE "/upper", 0755) < 0 || mkdir(JAIL_BASE "/work", 0755) < 0 ||
	    mkdir(JAIL_BASE "/merged", 0755) < 0)
		child_fail(c, errno, "cannot create the throwaway layer's directories");
	/* The bundle is hidden by that tmpfs if it lies below /tmp: reach it through the fd
	 * opened before (the kernel follows /proc/self/fd/N to the directory itself). */
	snprintf(opts, sizeof(opts),
		 "lowerdir=/proc/self/fd/%d,upperdir=" JAIL_BASE "/upper,workdir=" JAIL_BASE "/work",
		 fd);
	if (!mount("overlay", JAIL_BASE "/merged", "overlay", MS_NOSUID | MS_NODEV, opts))
		return;
	/* In a user namespace the trusted.* xattrs are out of reach (Linux 5.11+: userxattr). */
	if (userns) {
		size_t len = strlen(opts);

		snprintf(opts + len, sizeof(opts) - len, ",userxattr");
		if (!mount("overlay", JAIL_BASE "/merged", "overlay", MS_NOSUID | MS_NODEV, opts))
			return;
	}
	child_fail(c, errno, "cannot mount an overlay on the bundle (is overlayfs available?)");
}

/* Put @fds on 0, 1, 2 (they may be anywhere, even on 0..2 in another order). */
static void install_stdio(const struct jail_ctx *c)
{
	int tmp[3];

	for (int i = 0; i < 3; i++) {
		tmp[i] = fcntl(c->stdio[i], F_DUPFD_CLOEXEC, 3);
		if (tmp[i] < 0)
			child_fail(c, errno, "cannot prepare the command's stdio");
	}
	for (int i = 0; i < 3; i++) {
		if (dup2(tmp[i], i) < 0)
			child_fail(c, errno, "cannot prepare the command's stdio");
		close(tmp[i]);
	}
}

/* Kill and reap every process left below this one, a child subreaper: the orphans of the
 * command's tree are reparented here. @children_fd is its /proc/thread-self/children
 * (opened before the chroot), or -1: then only the command's process group is killed. */
static void kill_leftovers(int children_fd, pid_t group)
{
	char buf[4096];
	ssize_t n;

	if (group > 0)
		kill(-group, SIGKILL);
	while (children_fd >= 0 && (n = pread(children_fd, buf, sizeof(buf) - 1, 0)) > 0) {
		pid_t pids[512];
		size_t k = 0;

		buf[n] = '\0';
		for (char *p = buf, *e; *p && k < sizeof(pids) / sizeof(pids[0]); p = e) {
			long v = strtol(p, &e, 10);

			if (e == p)
				break;
			pids[k++] = (pid_t)v;
		}
		for (size_t i = 0; i < k; i++)
			kill(pids[i], SIGKILL);
		/* each dies at once (SIGKILL); its own children come here next round */
		for (size_t i = 0; i < k; i++)
			while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
				;
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* A's start: gone with the tester, default signals, the command's stdio on 0, 1, 2. */
static void outer_start(const struct jail_ctx *c)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != c->tester)
		_exit(JAIL_CHILD_SETUP);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	install_stdio(c);
}

/* A of a plain chroot, for its signal handler: no pid namespace ends the command's tree when
 * A goes, so A must kill it itself when the tester dies or the terminal interrupts. */
static int chroot_children_fd = -1;
static volatile pid_t chroot_group;
static const int chroot_end_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };

/* A's end: put B (@pid) into the cgroup, let it go (@alive_w), wait for it with the
 * deadline, kill what it left in a plain chroot (with namespaces, the end of the pid
 * namespace does) and report the command's exit. */
static _Noreturn void outer_finish(struct jail_ctx *c, pid_t pid, int alive_w)
{
	struct jail_msg m = { .type = MSG_EXIT };
	bool timed_out;
	int status, ret;

	c->ns_setup = false;
	if (c->cg.version && (ret = cgroup_jail_enter(&c->cg, pid)) < 0)
		child_fail(c, -ret, "cannot move the jail into its cgroup");
	if (write(alive_w, "", 1) != 1)
		child_fail(c, errno, "cannot start the jail's first process");
	if (wait_deadline(pid, c->o->timeout_s, &timed_out, &status) < 0)
		child_fail(c, errno, "lost the jail's first process");
	/* B's session is its process group: the command's processes, unless they made their
	 * own; the subreaper finds those */
	if (c->copy)
		kill_leftovers(chroot_children_fd, pid);
	m.timed_out = timed_out;
	m.code = timed_out ? 124 : shell_code(status);
	send_msg(c, &m);
	_exit(0);
}

/* A: outside the new pid namespace, which only its children enter. */
static _Noreturn void run_outer(struct jail_ctx *c)
{
	bool userns = c->userns;
	int alive[2];
	pid_t pid;

	outer_start(c);
	c->ns_setup = true;
	if (userns)
		setup_userns(c);
	if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
		child_fail(c, errno, "cannot create the jail's namespaces%s",
			   userns ? "" : " (mount, pid, network, ipc, uts)");
	/* credential changes may clear the parent-death signal: set it again, and check */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != c->tester)
		_exit(JAIL_CHILD_SETUP);
	/* nothing done in here may propagate to the host (RELIABILITY ISO-08) */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail(c, errno, "cannot make the jail's mounts private");
	mount_overlay(c, userns);

	if (pipe2(alive, O_CLOEXEC) < 0)
		child_fail(c, errno, "cannot create a pipe");
	pid = fork();
	if (pid < 0)
		child_fail(c, errno, "cannot fork the jail's init");
	if (pid == 0) {
		close(alive[1]);
		run_init(c, alive[0]);
	}
	close(alive[0]);
	outer_finish(c, pid, alive[1]);
}

/* ---- the plain chroot: no namespaces, no mounts ---- */

/* Replace @path (absolute, in the chroot) with an empty directory of @mode. */
static void chroot_dir(const struct jail_ctx *c, const char *path, mode_t mode)
{
	struct stat st;

	if (!lstat(path, &st) && !S_ISDIR(st.st_mode) && unlink(path) < 0)
		child_fail(c, errno, "cannot replace the bundle's %s", path);
	if ((mkdir(path, mode) < 0 && errno != EEXIST) || chmod(path, mode) < 0)
		child_fail(c, errno, "cannot create %s in the jail", path);
}

/* /dev with device nodes of its own (mknod, CAP_MKNOD: a container's root has it) in place
 * of the namespaces' bind mounts, and the usual links (dangling: there is no /proc). */
static void chroot_dev(const struct jail_ctx *c)
{
	static const struct { const char *name; unsigned major, minor; } nodes[] = {
		{ "/dev/null", 1, 3 }, { "/dev/zero", 1, 5 }, { "/dev/full", 1, 7 },
		{ "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
	};
	static const char *const links[][2] = {
		{ "/dev/fd", "/proc/self/fd" }, { "/dev/stdin", "/proc/self/fd/0" },
		{ "/dev/stdout", "/proc/self/fd/1" }, { "/dev/stderr", "/proc/self/fd/2" },
	};

	chroot_dir(c, "/dev", 0755);
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		int fd;

		if (unlink(nodes[i].name) < 0 && errno != ENOENT)
			child_fail(c, errno, "cannot replace the bundle's %s", nodes[i].name);
		if (!mknod(nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor))) {
			if (chmod(nodes[i].name, 0666) < 0)
				child_fail(c, errno, "cannot create %s in the jail", nodes[i].name);
			continue;
		}
		if (errno != EPERM)
			child_fail(c, errno, "cannot create %s in the jail", nodes[i].name);
		/* No CAP_MKNOD (podman's default set lacks it): /dev/null as an empty file
		 * takes writes (and keeps them); the other nodes cannot be imitated. */
		if (i == 0) {
			child_warn(c, 0, "test: no device nodes in the plain chroot here (mknod: %s: no "
				   "CAP_MKNOD?); /dev/null is a regular file there, empty at the "
				   "start, and the other devices are missing", strerror(errno));
			fd = open(nodes[i].name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
			if (fd < 0 || fchmod(fd, 0666) < 0)
				child_fail(c, errno, "cannot create %s in the jail", nodes[i].name);
			close(fd);
		}
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if ((unlink(links[i][0]) < 0 && errno != ENOENT) || symlink(links[i][1], links[i][0]) < 0)
			child_fail(c, errno, "cannot create %s in the jail", links[i][0]);
	chroot_dir(c, "/dev/shm", 01777);
}

static void on_chroot_end(int sig)
{
	(void)sig;
	kill_leftovers(chroot_children_fd, chroot_group);
	_exit(JAIL_CHILD_SETUP);
}

/* A, for a plain chroot: a child subreaper outside it; B is its child inside. */
static _Noreturn void run_outer_chroot(struct jail_ctx *c)
{
	struct sigaction sa = { .sa_handler = on_chroot_end };
	int alive[2];
	pid_t pid;

	outer_start(c);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		child_fail(c, errno, "cannot become the test's child subreaper");
	chroot_children_fd = open("/proc/thread-self/children", O_RDONLY | O_CLOEXEC);
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(chroot_end_signals) / sizeof(chroot_end_signals[0]); i++)
		sigaction(chroot_end_signals[i], &sa, NULL);
	/* the tester's death as SIGTERM, handled, not SIGKILL; then check it is still there */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0 || getppid() != c->tester)
		_exit(JAIL_CHILD_SETUP);
	if (chroot(c->copy) < 0)
		child_fail(c, errno, "cannot chroot into the copy of the bundle '%s'", c->copy);
	if (chdir("/") < 0)
		child_fail(c, errno, "cannot enter the jail's root");

	if (pipe2(alive, O_CLOEXEC) < 0)
		child_fail(c, errno, "cannot create a pipe");
	pid = fork();
	if (pid < 0)
		child_fail(c, errno, "cannot fork the jail's first process");
	if (pid == 0) {
		for (size_t i = 0; i < sizeof(chroot_end_signals) / sizeof(chroot_end_signals[0]); i++)
			signal(chroot_end_signals[i], SIG_DFL);
		close(alive[1]);
		await_go(c, alive[0]);
		if (chroot_children_fd >= 0)
			close(chroot_children_fd);
		if (!bundle_has_tmp(AT_FDCWD))
			chroot_dir(c, "/tmp", 01777);
		chroot_dev(c);
		run_jailed(c, false);
	}
	close(alive[0]);
	chroot_group = pid;
	outer_finish(c, pid, alive[1]);
}

/* ---- the tester ---- */

static int make_memfd(const char *name, const char *text, int *out)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	size_t len, done = 0;

	if (fd < 0)
		return log_errno(-errno, "cannot set up the test: cannot create a memfd");
	len = text ? strlen(text) : 0;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0) {
			int ret = -errno;

			close(fd);
			return log_errno(ret, "cannot set up the test: cannot write the command's stdin");
		}
		done += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		int ret = -errno;

		close(fd);
		return log_errno(ret, "cannot set up the test: lseek");
	}
	*out = fd;
	return 0;
}

static void read_memfd(int fd, struct strbuf *sb)
{
	struct stat st;
	off_t off = 0;
	char buf[65536];
	ssize_t n;

	strbuf_add(sb, "", 0);
	if (fstat(fd, &st) < 0)
		return;
	while (off < st.st_size && (n = pread(fd, buf, sizeof(buf), off)) > 0) {
		strbuf_add(sb, buf, (size_t)n);
		off += n;
	}
}

/* Find @name on the host's PATH when it has no '/'. Owned by the caller. */
static char *find_on_path(const char *name)
{
	const char *path = getenv("PATH"), *p, *e;

	if (strchr(name, '/'))
		return xstrdup(name);
	for (p = path ? path : "/usr/local/bin:/usr/bin:/bin"; *p; p = *e ? e + 1 : e) {
		char *cand;

		e = strchrnul(p, ':');
		cand = xasprintf("%.*s/%s", (int)(e - p), e > p ? p : ".", name);
		if (!access(cand, X_OK))
			return cand;
		free(cand);
	}
	return NULL;
}

/* Open the host busybox, check it is static (it must run in a bundle without libc), and
 * list its applets by running it, all before anything enters the jail. */
static int prepare_busybox(const char *name, struct jail_ctx *c)
{
	struct elfobj eo = { 0 };
	struct strbuf why = STRBUF_INIT, list = STRBUF_INIT;
	char *path = find_on_path(name), buf[4096];
	int p[2] = { -1, -1 }, ret = 0, status, fd = -1;
	pid_t pid;
	ssize_t n;

	if (!path)
		return log_error(-ENOENT, "cannot set up the test: --busybox: '%s' not found on PATH", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = log_errno(-errno, "cannot set up the test: --busybox: cannot open '%s'", path);
		goto out;
	}
	ret = elfobj_read(fd, &eo, &why);
	if (ret < 0) {
		ret = log_error(ret, "cannot set up the test: --busybox: '%s': %s", path, why.buf);
		goto out;
	}
	if (eo.interp) {
		ret = log_error(-ENOEXEC, "cannot set up the test: --busybox: '%s' is dynamically "
				"linked (interpreter %s); the jail needs a static busybox (Debian: "
				"busybox-static)", path, eo.interp);
		goto out;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		ret = log_errno(-errno, "cannot set up the test: cannot create a pipe");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		ret = log_errno(-errno, "cannot set up the test: cannot fork");
		goto out;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 2);
		}
		dup2(p[1], 1);
		execl(path, "busybox", "--list", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	p[1] = -1;
	while ((n = read(p[0], buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		strbuf_add(&list, buf, (size_t)n);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) || !list.len) {
		ret = log_error(-ENOEXEC, "cannot set up the test: --busybox: '%s --list' failed; "
				"is it busybox?", path);
		goto out;
	}
	for (char *s = list.buf, *e; *s; s = *e ? e + 1 : e) {
		e = strchrnul(s, '\n');
		if (e > s && !memchr(s, '/', (size_t)(e - s)) && !(e - s <= 2 && s[0] == '.'))
			strvec_push_owned(&c->applets, xstrndup(s, (size_t)(e - s)));
	}
	c->busybox_fd = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	elfobj_release(&eo);
	strbuf_release(&why);
	strbuf_release(&list);
	free(path);
	return ret;
}

static void env_set(struct strvec *env, const char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (size_t i = 0; i < env->n; i++) {
		if (!strncmp(env->v[i], kv, klen) && env->v[i][klen] == '=') {
			free(env->v[i]);
			env->v[i] = xstrdup(kv);
			return;
		}
	}
	strvec_push(env, kv);
}

/* PATH, HOME=/ and --env: K=V sets K, a bare K passes the host's value (if any). */
static void build_env(const struct jail_opts *o, struct strvec *env)
{
	strvec_push(env, JAIL_PATH);
	strvec_push(env, "HOME=/");
	for (size_t i = 0; o->env && i < o->env->n; i++) {
		const char *kv = o->env->v[i], *v;

		if (strchr(kv, '=')) {
			env_set(env, kv);
		} else if ((v = getenv(kv))) {
			char *s = xasprintf("%s=%s", kv, v);

			env_set(env, s);
			free(s);
		}
	}
}

/* ---- diagnosis, in the tester, outside the jail ---- */

struct missing {
	char *path;
	int rank;
	size_t seq;
};

/* "libx.so" or "libx.so.1.2" (not "ld.so.cache"). */
static bool is_library_name(const char *base)
{
	const char *so = strstr(base, ".so");

	for (; so; so = strstr(so + 1, ".so")) {
		const char *v = so + 3;

		if (*v == '\0' || (*v == '.' && v[1] && !v[strspn(v, ".0123456789")]))
			return true;
	}
	return false;
}

/* 0: shared libraries and executables; 1: configuration, locale and data files; 2: the rest. */
static int rank_of(const char *path, enum mp_op op)
{
	if (op == MP_OP_EXEC || is_library_name(path_basename(path)))
		return 0;
	if (path_has_prefix(path, "/etc") || path_has_prefix(path, "/usr/share") ||
	    path_has_prefix(path, "/usr/lib/locale") || strstr(path, "/gconv/") ||
	    path_has_prefix(path, "/var/lib"))
		return 1;
	return 2;
}

/* Open @path (absolute or relative to the bundle's root) as the jail would see it, following
 * the bundle's own symlinks inside it (RESOLVE_IN_ROOT: an absolute link target means the
 * bundle's root). The fd, or -1 with errno set. */
static int bundle_open(int bundle_fd, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	const char *rel = path + strspn(path, "/");

	return (int)syscall(SYS_openat2, bundle_fd, *rel ? rel : ".", &how, sizeof(how));
}

/* True when @path (absolute) cannot be reached in the bundle. */
static bool bundle_lacks(int bundle_fd, const char *path)
{
	struct stat st;
	const char *rel = path + strspn(path, "/");
	int fd;

	if (!*rel)
		return false;
	fd = bundle_open(bundle_fd, rel, O_PATH);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	if (errno == ENOSYS) /* before Linux 5.6: a lexical check */
		return fstatat(bundle_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0;
	return errno == ENOENT || errno == ENOTDIR;
}

/* The interpreter the kernel would load for the bundle's @path (an ELF file's PT_INTERP, a
 * script's '#!' one), read from the bundle's copy; owned, or NULL. An exec that failed with
 * ENOENT on a file the bundle has lacked this: the traced command never opens it itself. */
static char *exec_interp(int bundle_fd, const char *path)
{
	char buf[SCRIPT_LINE_MAX], *interp = NULL, *arg = NULL;
	struct elfobj o;
	ssize_t n;
	int fd = bundle_open(bundle_fd, path, O_RDONLY);

	if (fd < 0)
		return NULL;
	n = pread(fd, buf, sizeof(buf), 0);
	if (n > 2 && buf[0] == '#' && buf[1] == '!') {
		if (script_parse(buf, (size_t)n, &interp, &arg) < 0)
			interp = NULL;
		free(arg);
	} else if (n > 0) {
		struct strbuf why = STRBUF_INIT;

		memset(&o, 0, sizeof(o));
		if (elfobj_read(fd, &o, &why) == 0 && o.interp)
			interp = xstrdup(o.interp);
		elfobj_release(&o);
		strbuf_release(&why);
	}
	close(fd);
	return interp;
}

/* The host's name for @path with the directories resolved, to count /lib/x and
 * /usr/lib/x (one file where /lib -> usr/lib) once. Owned by the caller. */
static char *host_key(const char *path)
{
	char *dir = path_dirname(path), *real = realpath(dir, NULL), *key;

	key = real ? path_join(real, path_basename(path)) : xstrdup(path);
	free(real);
	free(dir);
	return key;
}

static int cmp_missing(const void *a, const void *b)
{
	const struct missing *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank - y->rank;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Who the command ran as, for telling why it was refused a file. */
struct ident {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t ngroups;
};

/* May @id read (4) or search/execute (1) what @st describes? Mode bits only: the jail's
 * processes hold no capability, root's included. */
static bool may(const struct stat *st, const struct ident *id, unsigned bit)
{
	bool in_group = st->st_gid == id->gid;

	for (size_t i = 0; i < id->ngroups && !in_group; i++)
		in_group = st->st_gid == id->groups[i];
	if (st->st_uid == id->uid)
		return st->st_mode & (bit << 6);
	return st->st_mode & (in_group ? bit << 3 : bit);
}

/* A file of the bundle the command was refused (EACCES: --user, or modes the bundle kept),
 * with what refused it: the first directory on the way that @id may not search, else the
 * file itself, and its mode and owner there: "PATH (mode 600, owner 0:0)" or "PATH
 * (directory /data: mode 700, owner 0:0)". One entry a file: /lib/x.so and /usr/lib/x.so
 * of a merged /usr are one (@seen: their inodes). */
static void note_denied(int bundle_fd, const char *path, enum mp_op op, const struct ident *id,
			struct strvec *denied, struct strmap *seen)
{
	struct stat st, dst;
	char ino[48], *dir = NULL;
	int fd = bundle_open(bundle_fd, path, O_PATH);

	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	snprintf(ino, sizeof(ino), "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	if (strmap_has(seen, ino))
		return;
	strmap_put(seen, ino, NULL);
	/* each directory from the root down, as the jail resolves it */
	for (const char *p = strchr(path + 1, '/'); p && !dir; p = strchr(p + 1, '/')) {
		char *prefix = xstrndup(path, (size_t)(p - path));
		int dfd = bundle_open(bundle_fd, prefix, O_PATH | O_DIRECTORY);

		if (dfd >= 0 && fstat(dfd, &dst) == 0 && !may(&dst, id, 1))
			dir = prefix;
		else
			free(prefix);
		if (dfd >= 0)
			close(dfd);
	}
	if (dir) {
		strvec_push_owned(denied, xasprintf("%s (directory %s: mode %o, owner %u:%u; not "
						    "searchable by uid %u)", path, dir,
						    (unsigned)(dst.st_mode & 07777),
						    (unsigned)dst.st_uid, (unsigned)dst.st_gid,
						    (unsigned)id->uid));
	} else {
		const char *what = op == MP_OP_EXEC && !may(&st, id, 1) ? "executable"
				   : op == MP_OP_OPEN && !may(&st, id, 4) ? "readable" : NULL;

		char by[64] = "";

		if (what)
			snprintf(by, sizeof(by), "; not %s by uid %u", what, (unsigned)id->uid);
		strvec_push_owned(denied, xasprintf("%s (mode %o, owner %u:%u%s)", path,
						    (unsigned)(st.st_mode & 07777),
						    (unsigned)st.st_uid, (unsigned)st.st_gid, by));
	}
	free(dir);
}

static void diagnose(int report_fd, int bundle_fd, const struct ident *id, struct strvec *out,
		     struct strvec *denied, char **proc_path)
{
	/* The jail's own mounts are not the bundle's business; ld.so only falls back to its
	 * default directories without ld.so.cache, and the host's cache or preload list would
	 * describe the host, not the bundle. */
	static const char *const ignored[] = { "/proc", "/sys", "/dev", "/tmp", "/etc/ld.so.preload",
					       "/etc/ld.so.cache" };
	struct strbuf raw = STRBUF_INIT;
	struct strmap seen = STRMAP_INIT; /* host key -> index + 1 */
	struct strmap tried = STRMAP_INIT;
	struct strmap denied_ino = STRMAP_INIT;
	struct missing *m = NULL;
	size_t n = 0, alloc = 0, off = 0;

	read_memfd(report_fd, &raw);
	while (off + sizeof(struct jail_rec) <= raw.len) {
		struct jail_rec h;
		struct stat st;
		char *path, *key;
		bool skip = false;
		void *idx;

		memcpy(&h, raw.buf + off, sizeof(h));
		off += sizeof(h);
		if (h.len > raw.len - off)
			break;
		path = xstrndup(raw.buf + off, h.len);
		off += h.len;
		for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
			skip = skip || path_has_prefix(path, ignored[i]);
		if (!*proc_path && path_has_prefix(path, "/proc") && strlen(path) == h.len)
			*proc_path = xstrdup(path);
		if (h.err == EACCES) {
			if (!skip && path[0] == '/' && strlen(path) == h.len)
				note_denied(bundle_fd, path, (enum mp_op)h.op, id, denied,
					    &denied_ino);
			free(path);
			continue;
		}
		/* an exec the bundle has the file for: its interpreter is what it lacks, if any */
		if (!skip && h.op == MP_OP_EXEC && path[0] == '/' && strlen(path) == h.len &&
		    !bundle_lacks(bundle_fd, path)) {
			char *interp = exec_interp(bundle_fd, path);

			if (interp && interp[0] == '/') {
				free(path);
				path = interp;
				h.len = (uint32_t)strlen(path);
			} else {
				free(interp);
			}
		}
		if (skip || path[0] != '/' || strlen(path) != h.len || strmap_has(&tried, path) ||
		    lstat(path, &st) < 0 || !bundle_lacks(bundle_fd, path)) {
			strmap_put(&tried, path, NULL);
			free(path);
			continue;
		}
		strmap_put(&tried, path, NULL);
		key = host_key(path);
		idx = strmap_get(&seen, key);
		if (idx) {
			struct missing *e = &m[(size_t)idx - 1];
			int r = rank_of(path, (enum mp_op)h.op);

			if (r < e->rank)
				e->rank = r;
			free(path);
		} else {
			xgrow(&m, &alloc, n + 1, sizeof(*m));
			m[n].path = path;
			m[n].rank = rank_of(path, (enum mp_op)h.op);
			m[n].seq = n;
			n++;
			strmap_put(&seen, key, (void *)n);
		}
		free(key);
	}
	if (n)
		qsort(m, n, sizeof(*m), cmp_missing);
	for (size_t i = 0; i < n; i++)
		strvec_push_owned(out, m[i].path);
	free(m);
	strmap_clear(&seen);
	strmap_clear(&tried);
	strmap_clear(&denied_ino);
	strbuf_release(&raw);
}

/* ---- public ---- */

void jail_result_init(struct jail_result *r)
{
	r->exit_code = -1;
	r->timed_out = false;
	strbuf_init(&r->out);
	strbuf_init(&r->err);
	strvec_init(&r->missing);
	strvec_init(&r->denied);
	r->proc_path = NULL;
	r->no_proc = false;
}

void jail_result_release(struct jail_result *r)
{
	strbuf_release(&r->out);
	strbuf_release(&r->err);
	strvec_clear(&r->missing);
	strvec_clear(&r->denied);
	free(r->proc_path);
	r->proc_path = NULL;
}

/* "100M": @v in the largest unit that divides it, or in bytes. */
static void format_size(uint64_t v, char *buf, size_t size)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && v && !(v % 1024)) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, size, "%" PRIu64, v);
	else
		snprintf(buf, size, "%" PRIu64 "%c", v, units[u]);
}

static void format_limit(uint64_t v, bool size, char *buf, size_t n)
{
	if (v == JAIL_NO_LIMIT)
		snprintf(buf, n, "max");
	else if (size)
		format_size(v, buf, n);
	else
		snprintf(buf, n, "%" PRIu64, v);
}

/* The limits in effect, and how: a cgroup when one can be made (root, cgroup v2 or the v1
 * hierarchies), setrlimit() in B otherwise. */
static void setup_limits(const struct jail_opts *o, struct jail_ctx *c)
{
	struct strbuf why = STRBUF_INIT;
	char pids[32], mem[32];
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);

	c->pids_max = o->pids_max == JAIL_LIMIT_DEFAULT ? JAIL_DEFAULT_PIDS_MAX : o->pids_max;
	c->memory_max = o->memory_max;
	/* half the RAM, in whole MiB */
	if (c->memory_max == JAIL_LIMIT_DEFAULT)
		c->memory_max = pages > 0 && page > 0 ?
			((uint64_t)pages * (uint64_t)page / 2) & ~(uint64_t)((1 << 20) - 1) :
			JAIL_NO_LIMIT;
	if (c->pids_max == JAIL_NO_LIMIT && c->memory_max == JAIL_NO_LIMIT) {
		log_info("test: no pids or memory limit");
		return;
	}
	format_limit(c->pids_max, false, pids, sizeof(pids));
	format_limit(c->memory_max, true, mem, sizeof(mem));
	if (!cgroup_jail_create(&c->cg, c->pids_max, c->memory_max, &why)) {
		log_info("test: limits in cgroup v%d %s: pids.max %s, memory.max %s", c->cg.version,
			 c->cg.dir[0] ? c->cg.dir[0] : c->cg.dir[1], pids, mem);
	} else {
		c->rlimits = true;
		log_info("test: no cgroup for the limits (%s); setrlimit instead: RLIMIT_NPROC %s%s, "
			 "RLIMIT_AS %s; a limit hit is not recognised as such", why.buf, pids,
			 c->uid == 0 ? " (not binding for root)" : "", mem);
	}
	strbuf_release(&why);
}

/* A warning from A or B, once per magicpak run (the diagnosis run would repeat it). */
static void warn_once(const char *text)
{
	static char said[4][512]; /* a message's text, or the fallback's longer line */

	for (size_t i = 0; i < 4; i++) {
		if (!strcmp(said[i], text))
			return;
		if (!said[i][0]) {
			snprintf(said[i], sizeof(said[i]), "%s", text);
			break;
		}
	}
	log_warn("%s", text);
}

/* Fork A running @outer, wait for it, then release the cgroup (killing what is left) and
 * read A's and B's messages. 0, or -errno (logged) when A could not be started. */
static int spawn(struct jail_ctx *c, void (*outer)(struct jail_ctx *),
		 struct jail_msg *err_msg, struct jail_msg *exit_msg, struct cgroup_events *ev)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old_chld;
	struct jail_msg m;
	int msg[2], status = 0, ret = 0;
	pid_t pid;
	ssize_t n;

	memset(err_msg, 0, sizeof(*err_msg));
	memset(exit_msg, 0, sizeof(*exit_msg));
	if (pipe2(msg, O_CLOEXEC) < 0)
		return log_errno(-errno, "cannot set up the test: cannot create a pipe");
	c->msg_fd = msg[1];
	fflush(NULL);
	/* waitpid() needs the exit report: no SIG_IGN on SIGCHLD while the jail runs */
	sigaction(SIGCHLD, &dfl, &old_chld);
	pid = fork();
	if (pid < 0) {
		ret = log_errno(-errno, "cannot set up the test: cannot fork");
		sigaction(SIGCHLD, &old_chld, NULL);
		close(msg[0]);
		close(msg[1]);
		c->msg_fd = -1;
		return ret;
	}
	if (pid == 0) {
		close(msg[0]);
		outer(c);
		_exit(JAIL_CHILD_SETUP); /* not reached */
	}
	close(msg[1]);
	c->msg_fd = -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGCHLD, &old_chld, NULL);
	/* A and B are gone: kill what is left in the cgroup and see which limit was hit */
	cgroup_jail_release(&c->cg, ev);

	/* A and B are gone (A reaps B before it exits), so every write end is closed. */
	while ((n = read(msg[0], &m, sizeof(m))) == (ssize_t)sizeof(m) || (n < 0 && errno == EINTR)) {
		if (n < 0)
			continue;
		m.text[sizeof(m.text) - 1] = '\0';
		if (m.type == MSG_WARN) {
			warn_once(m.text);
			c->no_proc = c->no_proc || m.code == WARN_NO_PROC;
		}
		else if (m.type == MSG_ERROR && !err_msg->type)
			*err_msg = m;
		else if (m.type == MSG_EXIT)
			*exit_msg = m;
	}
	close(msg[0]);
	if (!err_msg->type && !exit_msg->type) {
		err_msg->type = MSG_ERROR;
		snprintf(err_msg->text, sizeof(err_msg->text),
			 "the jail ended unexpectedly (status 0x%x)", status);
	}
	return 0;
}

/* Where the chroot's copy of the bundle goes: $TMPDIR (or /tmp), unless that is mounted
 * noexec or nodev, then the bundle's own directory. */
static char *copy_parent(const struct jail_ctx *c)
{
	const char *tmp = getenv("TMPDIR");
	struct statvfs sv;

	if (!tmp || *tmp != '/')
		tmp = "/tmp";
	/* nodev as well: the chroot's /dev/null would be a node that cannot be opened */
	if (!statvfs(tmp, &sv) && !(sv.f_flag & (ST_NOEXEC | ST_NODEV)))
		return xstrdup(tmp);
	return path_dirname(c->bundle_abs);
}

/* The plain chroot: copy the bundle, run A and B in the copy, remove it. */
static int run_chroot(struct jail_ctx *c, struct jail_msg *err_msg, struct jail_msg *exit_msg,
		      struct cgroup_events *ev)
{
	char *parent = copy_parent(c);
	int ret, lock = -1;

	if (!caps_have(CAP_SYS_CHROOT)) {
		free(parent);
		return log_error(-EPERM, "cannot set up the test: a plain chroot needs root with "
				 "CAP_SYS_CHROOT");
	}
	/* a killed magicpak's copy is a whole tree */
	c->copy = path_scratch_mkdtemp(parent, "magicpak-chroot", tree_remove, &lock);
	if (!c->copy) {
		ret = log_errno(-errno, "cannot set up the test: cannot create a directory in '%s' "
				"for the copy of the bundle", parent);
		free(parent);
		return ret;
	}
	free(parent);
	c->no_proc = true;
	ret = tree_copy(c->bundle_abs, c->copy);
	if (ret < 0)
		log_error(ret, "cannot set up the test: cannot copy the bundle '%s' to '%s'",
			  c->bundle_abs, c->copy);
	else
		ret = spawn(c, run_outer_chroot, err_msg, exit_msg, ev);
	tree_remove(c->copy);
	if (lock >= 0)
		close(lock);
	free(c->copy);
	c->copy = NULL;
	return ret;
}

int jail_run(const struct jail_opts *o, struct jail_result *res)
{
	struct jail_ctx c = { .o = o, .bundle_fd = -1, .stdio = { -1, -1, -1 }, .report_fd = -1,
			      .msg_fd = -1, .busybox_fd = -1 };
	struct cgroup_events ev = { 0 };
	struct jail_msg err_msg, exit_msg;
	int ret;

	strbuf_reset(&res->out);
	strbuf_reset(&res->err);
	strvec_clear(&res->missing);
	strvec_clear(&res->denied);
	free(res->proc_path);
	res->proc_path = NULL;
	res->no_proc = false;
	res->exit_code = -1;
	res->timed_out = false;
	res->pids_hit = res->oom_killed = res->chroot_only = false;
	strvec_init(&c.applets);
	strvec_init(&c.env);
	cgroup_jail_init(&c.cg);

	if (!o->argv || !o->argv[0])
		return log_error(-EINVAL, "cannot set up the test: no command given");
	c.bundle_fd = open(o->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c.bundle_fd < 0) {
		ret = log_errno(-errno, "cannot set up the test: cannot open the bundle '%s'", o->root);
		goto out;
	}
	if (fstat(c.bundle_fd, &c.bundle_st) < 0 || !S_ISDIR(c.bundle_st.st_mode)) {
		ret = log_error(-ENOTDIR, "cannot set up the test: '%s' is not a directory", o->root);
		goto out;
	}
	c.bundle_abs = realpath(o->root, NULL);
	if (!c.bundle_abs) {
		ret = log_errno(-errno, "cannot set up the test: cannot resolve '%s'", o->root);
		goto out;
	}
	if (o->busybox && (ret = prepare_busybox(o->busybox, &c)) < 0)
		goto out;
	if ((ret = make_memfd("magicpak-stdin", o->stdin_text, &c.stdio[0])) < 0 ||
	    (ret = make_memfd("magicpak-stdout", NULL, &c.stdio[1])) < 0 ||
	    (ret = make_memfd("magicpak-stderr", NULL, &c.stdio[2])) < 0 ||
	    (o->diagnose && (ret = make_memfd("magicpak-report", NULL, &c.report_fd)) < 0))
		goto out;
	build_env(o, &c.env);
	c.tester = getpid();
	c.uid = geteuid();
	c.gid = getegid();
	c.userns = c.uid != 0 || !caps_have(CAP_SYS_ADMIN);
	/* --user 0:0 is the jail's own root, in a user namespace too; any other user needs
	 * the namespaces as root (a user namespace maps one uid, its caller's, and in a plain
	 * chroot the command would share the host's processes of that uid: signal or trace
	 * them) */
	c.set_user = o->user && (o->user->uid || o->user->gid || o->user->ngroups || !c.userns);
	if (c.set_user && (c.userns || o->isolation == JAIL_ISOLATE_CHROOT)) {
		ret = log_error(-EPERM, "cannot set up the test: --user %u:%u needs the jail's "
				"namespaces as root%s", (unsigned)o->user->uid,
				(unsigned)o->user->gid,
				o->isolation == JAIL_ISOLATE_CHROOT
				? ", not a plain chroot, where the command would share the host's "
				  "processes of that user"
				: c.uid ? " (a jail in a user namespace has one uid, its caller's)"
				: " with CAP_SYS_ADMIN (a jail in a user namespace has one uid, "
				  "its caller's)");
		goto out;
	}
	setup_limits(o, &c);
	res->pids_max = c.pids_max;
	res->memory_max = c.memory_max;

	if (o->isolation == JAIL_ISOLATE_CHROOT) {
		ret = run_chroot(&c, &err_msg, &exit_msg, &ev);
		res->chroot_only = true;
	} else {
		ret = spawn(&c, run_outer, &err_msg, &exit_msg, &ev);
		if (!ret && err_msg.type && err_msg.fallback && o->isolation == JAIL_ISOLATE_AUTO &&
		    c.uid == 0 && caps_have(CAP_SYS_CHROOT) && !c.set_user) {
			/* Docker's default seccomp profile refuses every namespace (the user
			 * namespace too) in a `docker build`; the original magicpak's test was
			 * a chroot, which still works there */
			char why[512];

			snprintf(why, sizeof(why), "test: the jail's namespaces are refused here "
				 "(%s%s%s); testing in a plain chroot of a copy of the bundle instead: "
				 "not isolated from the host's processes, network and IPC, and no /proc",
				 err_msg.text, err_msg.err ? ": " : "",
				 err_msg.err ? strerror(err_msg.err) : "");
			warn_once(why);
			setup_limits(o, &c);
			ret = run_chroot(&c, &err_msg, &exit_msg, &ev);
			res->chroot_only = true;
		}
	}
	if (ret < 0)
		goto out;
	if (err_msg.type) {
		if (err_msg.err)
			ret = log_errno(-err_msg.err, "cannot set up the test: %s", err_msg.text);
		else
			ret = log_error(-EPERM, "cannot set up the test: %s", err_msg.text);
		goto out;
	}
	res->exit_code = exit_msg.code;
	res->timed_out = exit_msg.timed_out;
	res->pids_hit = ev.pids_hit;
	res->oom_killed = ev.oom_killed;
	read_memfd(c.stdio[1], &res->out);
	read_memfd(c.stdio[2], &res->err);
	if (o->diagnose) {
		const struct jail_user *u = c.set_user ? o->user : NULL;
		struct ident id = { u ? u->uid : c.uid, u ? u->gid : c.gid, u ? u->groups : NULL,
				    u ? u->ngroups : 0 };

		diagnose(c.report_fd, c.bundle_fd, &id, &res->missing, &res->denied,
			 &res->proc_path);
	}
	res->no_proc = c.no_proc;
	ret = 0;
out:
	for (int i = 0; i < 3; i++)
		if (c.stdio[i] >= 0)
			close(c.stdio[i]);
	if (c.report_fd >= 0)
		close(c.report_fd);
	if (c.busybox_fd >= 0)
		close(c.busybox_fd);
	if (c.bundle_fd >= 0)
		close(c.bundle_fd);
	free(c.bundle_abs);
	cgroup_jail_release(&c.cg, NULL);
	strvec_clear(&c.applets);
	strvec_clear(&c.env);
	return ret;
}

void jail_describe_missing(const struct jail_result *r, struct strbuf *out)
{
	size_t n = r->missing.n, nd = r->denied.n;

	if (r->no_proc && r->proc_path) {
		strbuf_adds(out, "the command looked for ");
		strbuf_add_shell_word(out, r->proc_path);
		strbuf_adds(out, ", and the jail has no /proc here");
		if (!n && !nd)
			return;
		strbuf_adds(out, "; ");
	}
	if (!n && !nd) {
		strbuf_adds(out, "the command looked for no file that the host has and the bundle lacks");
		return;
	}
	if (n) {
		strbuf_addf(out, "the command looked for %zu file%s the bundle lacks: ", n,
			    n == 1 ? "" : "s");
		for (size_t i = 0; i < n; i++) {
			if (i)
				strbuf_adds(out, ", ");
			strbuf_add_shell_word(out, r->missing.v[i]);
		}
		strbuf_addf(out, "; to add %s:", n == 1 ? "it" : "them");
		for (size_t i = 0; i < n; i++) {
			strbuf_adds(out, " --include ");
			strbuf_add_shell_word(out, r->missing.v[i]);
		}
	}
	if (nd) {
		strbuf_addf(out, "%sthe command was denied %zu file%s the bundle has: ", n ? "; " : "",
			    nd, nd == 1 ? "" : "s");
		for (size_t i = 0; i < nd; i++)
			strbuf_addf(out, "%s%s", i ? ", " : "", r->denied.v[i]);
	}
}

static void trim(const char **s, size_t *len)
{
	while (*len && strchr(" \t\n\r\v\f", (*s)[0]))
		(*s)++, (*len)--;
	while (*len && strchr(" \t\n\r\v\f", (*s)[*len - 1]))
		(*len)--;
}

bool jail_output_matches(const char *got, const char *want)
{
	size_t gl, wl;

	got = got ? got : "";
	want = want ? want : "";
	gl = strlen(got);
	wl = strlen(want);
	trim(&got, &gl);
	trim(&want, &wl);
	return gl == wl && !memcmp(got, want, gl);
}

int jail_parse_isolation(const char *s, enum jail_isolation *out)
{
	if (!strcmp(s, "auto"))
		*out = JAIL_ISOLATE_AUTO;
	else if (!strcmp(s, "namespaces"))
		*out = JAIL_ISOLATE_NAMESPACES;
	else if (!strcmp(s, "chroot"))
		*out = JAIL_ISOLATE_CHROOT;
	else
		return -EINVAL;
	return 0;
}

int jail_parse_limit(const char *s, bool size, uint64_t *out)
{
	static const char units[] = "KMGT";
	const char *u;
	uint64_t v = 0;
	int shift = 0;

	if (!strcmp(s, "max") || !strcmp(s, "0")) {
		*out = JAIL_NO_LIMIT;
		return 0;
	}
	if (*s < '1' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s) {
		if (!size || s[1] || !(u = strchr(units, *s & ~0x20)))
			return -EINVAL;
		shift = 10 * (int)(u - units + 1);
		if (v > (UINT64_MAX >> shift) - 1)
			return -EINVAL;
		v <<= shift;
	}
	/* the kernel's PID_MAX_LIMIT: pids.max takes no more */
	if (!size && v > 4194304)
		return -EINVAL;
	*out = v;
	return 0;
}

bool jail_describe_limits(const struct jail_result *r, struct strbuf *out)
{
	char buf[32];

	if (r->pids_hit)
		strbuf_addf(out, "the test hit its pids.max (%" PRIu64 ")", r->pids_max);
	if (r->oom_killed) {
		format_limit(r->memory_max, true, buf, sizeof(buf));
		strbuf_addf(out, "%sthe command was killed by the OOM killer (memory.max %s)",
			    r->pids_hit ? "; " : "", buf);
	}
	return r->pids_hit || r->oom_killed;
}

/* A uid or gid written as a decimal number: 0 to 2^32 - 2 ((uid_t)-1 means "unchanged"). */
static bool parse_id(const char *s, unsigned *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v >= UINT32_MAX)
		return false;
	*out = (unsigned)v;
	return true;
}

/* The bundle's @name (/etc/passwd, /etc/group) as the jail will see it, if it is a regular
 * file (never a FIFO to block on), or NULL. */
static FILE *bundle_etc(const char *root, const char *name)
{
	int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;
	struct stat st;
	FILE *f;

	if (dfd < 0)
		return NULL;
	fd = bundle_open(dfd, name, O_RDONLY | O_NONBLOCK);
	close(dfd);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(f = fdopen(fd, "r"))) {
		close(fd);
		return NULL;
	}
	return f;
}

/* An id read from the bundle's files, which (uid_t)-1 may not be: setresuid() would read it
 * as "leave unchanged", and the command would run as root. */
static int file_id(const char *spec, const char *what, const char *name, unsigned id)
{
	if (id == (unsigned)-1)
		return log_error(-EINVAL, "test: --user %s: the bundle's %s gives '%s' the id %u, "
				 "which no process can have", spec, what, name, id);
	return 0;
}

int jail_parse_user(const char *root, const char *spec, struct jail_user *u)
{
	char *user = xstrdup(spec), *group = strchr(user, ':'), *name = NULL;
	bool uid_set, gid_set = false;
	unsigned v;
	FILE *f;
	int ret = 0;

	memset(u, 0, sizeof(*u));
	if (group)
		*group++ = '\0';
	if (!*user || (group && (!*group || strchr(group, ':')))) {
		ret = log_error(-EINVAL, "test: --user: '%s' is not USER[:GROUP]", spec);
		goto out;
	}
	for (const char *const *id = (const char *const[]){ user, group, NULL }; *id; id++)
		if (!(*id)[strspn(*id, "0123456789")] && !parse_id(*id, &v)) {
			ret = log_error(-EINVAL, "test: --user: '%s' is out of range (0 to %u)",
					*id, UINT32_MAX - 1);
			goto out;
		}
	if ((uid_set = parse_id(user, &v)))
		u->uid = v;
	/* a name, USER's own group and its name (for the supplementary groups), from the
	 * bundle's passwd */
	if ((f = bundle_etc(root, "/etc/passwd"))) {
		struct passwd *pw;

		while ((pw = fgetpwent(f)))
			if (uid_set ? pw->pw_uid == u->uid : !strcmp(pw->pw_name, user)) {
				if ((ret = file_id(spec, "/etc/passwd", pw->pw_name, pw->pw_uid)) < 0 ||
				    (ret = file_id(spec, "/etc/passwd", pw->pw_name, pw->pw_gid)) < 0)
					break;
				u->uid = pw->pw_uid;
				u->gid = pw->pw_gid;
				name = xstrdup(pw->pw_name);
				uid_set = gid_set = true;
				break;
			}
		fclose(f);
		if (ret < 0)
			goto out;
	}
	if (!uid_set) {
		ret = log_error(-ENOENT, "test: --user: no user '%s' in the bundle's /etc/passwd "
				"(a name needs one there; a number does not)", user);
		goto out;
	}
	if (group && parse_id(group, &v)) {
		u->gid = v;
		gid_set = true;
	} else if (group) {
		gid_set = false;
	} else if (!gid_set) {
		u->gid = 0; /* a uid the bundle does not name: group 0, as docker run --user does */
	}
	/* GROUP by name, and the groups that list USER as a member, as runc gives them */
	if ((group && !gid_set) || name) {
		struct group *gr;
		size_t alloc = 0;

		if ((f = bundle_etc(root, "/etc/group"))) {
			while (ret == 0 && (gr = fgetgrent(f))) {
				bool member = false;

				for (char **m = gr->gr_mem; name && m && *m; m++)
					member = member || !strcmp(*m, name);
				if (group && !gid_set && !strcmp(gr->gr_name, group)) {
					if ((ret = file_id(spec, "/etc/group", gr->gr_name, gr->gr_gid)))
						break;
					u->gid = gr->gr_gid;
					gid_set = true;
				}
				if (member && (ret = file_id(spec, "/etc/group", gr->gr_name,
							     gr->gr_gid)) == 0) {
					xgrow(&u->groups, &alloc, u->ngroups + 1, sizeof(*u->groups));
					u->groups[u->ngroups++] = gr->gr_gid;
				}
			}
			fclose(f);
			if (ret < 0)
				goto out;
		}
		if (group && !gid_set) {
			ret = log_error(-ENOENT, "test: --user: no group '%s' in the bundle's "
					"/etc/group", group);
			goto out;
		}
	}
out:
	if (ret < 0)
		jail_user_release(u);
	free(name);
	free(user);
	return ret;
}

void jail_user_release(struct jail_user *u)
{
	free(u->groups);
	u->groups = NULL;
	u->ngroups = 0;
}
