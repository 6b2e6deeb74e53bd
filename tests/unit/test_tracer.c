/* SPDX-License-Identifier: MIT */
/* Reliability cases also covered here: TRC-01, TRC-04. */
/* tests/unit/test_tracer.c - tracer_run() on real processes: the fixture
 * tests/fixtures/tracee/tracee.c is built with cc at test time and traced. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "tracer.h"

struct ev {
	pid_t pid, tid;
	enum mp_op op;
	uint32_t flags;
	int err;
	char *path;
};

struct pev {
	enum tracer_proc_event what;
	pid_t pid, parent;
	int status;
	char *exe, *cwd, *arg1;
};

static struct ev *evs;
static size_t nevs, aevs;
static struct pev *pevs;
static size_t npevs, apevs;

static void on_access(void *ctx, const struct tracer_access *a)
{
	if (nevs == aevs) {
		aevs = aevs ? aevs * 2 : 256;
		evs = realloc(evs, aevs * sizeof(*evs));
	}
	evs[nevs++] = (struct ev){ a->pid, a->tid, a->op, a->flags, a->err, strdup(a->path) };
}

static void on_proc(void *ctx, const struct tracer_proc *p)
{
	if (npevs == apevs) {
		apevs = apevs ? apevs * 2 : 64;
		pevs = realloc(pevs, apevs * sizeof(*pevs));
	}
	pevs[npevs++] = (struct pev){
		p->what, p->pid, p->parent, p->status, p->exe ? strdup(p->exe) : NULL,
		p->cwd ? strdup(p->cwd) : NULL,
		p->argv && p->argv[0] && p->argv[1] ? strdup(p->argv[1]) : NULL,
	};
}

static const struct tracer_ops ops = { on_access, on_proc };

static void reset(void)
{
	for (size_t i = 0; i < nevs; i++)
		free(evs[i].path);
	for (size_t i = 0; i < npevs; i++) {
		free(pevs[i].exe);
		free(pevs[i].cwd);
		free(pevs[i].arg1);
	}
	nevs = npevs = 0;
}

static int run(char **argv, struct tracer_opts *o, struct tracer_result *res)
{
	struct tracer_opts def = { .stdin_fd = -1 };

	reset();
	fflush(stdout);
	return tracer_run(argv, o ? o : &def, &ops, NULL, res);
}

static char top[PATH_MAX], dir[PATH_MAX + 8], tracee[PATH_MAX + 16];

static const char *P(const char *name)
{
	static char buf[8][PATH_MAX + 64];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* The first event matching; NULL if none. */
static struct ev *find(enum mp_op op, const char *path)
{
	for (size_t i = 0; i < nevs; i++)
		if (evs[i].op == op && !strcmp(evs[i].path, path))
			return &evs[i];
	return NULL;
}

static size_t count(enum mp_op op, const char *path)
{
	size_t n = 0;

	for (size_t i = 0; i < nevs; i++)
		n += evs[i].op == op && !strcmp(evs[i].path, path);
	return n;
}

static void expect(enum mp_op op, const char *name, int err, long flags, const char *what)
{
	struct ev *e = find(op, P(name));

	if (!ok(e != NULL, "%s: op %d on %s", what, op, name))
		return;
	is_int(e->err, err, "%s: errno", what);
	if (flags >= 0)
		is_int(e->flags, flags, "%s: flags", what);
}

static void touch(const char *name)
{
	int fd = open(P(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0)
		close(fd);
}

static void setup_dir(void)
{
	static const char *const files[] = {
		"f_open", "f_openat", "f_openat2", "f_stat", "f_lstat", "f_fstatat", "f_statx",
		"f_fstat", "f_access", "f_faccessat", "f_faccessat2", "f_unlink", "f_unlinkat",
		"f_rename", "f_renameat", "f_renameat2", "f_link", "f_linkat", "f_truncate",
		"f_chmod", "f_fchmodat", "f_chown", "f_lchown", "f_fchownat", "f_utime",
		"f_utimes", "f_utimensat", "f_futimesat", "f_rel", "f_fchdir", "f_noexec",
	};
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", dir);
	if (system(cmd))
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		touch(files[i]);
	mkdir(P("sub"), 0755);
	mkdir(P("d_rmdir"), 0755);
	mkdir(P("d_unlinkat"), 0755);
	touch("sub/entry");
	if (symlink("f_open", P("l_readlink")) || symlink("f_open", P("l_readlinkat")))
		return;
}

static int build_tracee(void)
{
	const char *src = "tests/fixtures/tracee/tracee.c";
	char cmd[3 * PATH_MAX];

	if (access(src, R_OK) && getenv("srcdir")) {
		static char buf[PATH_MAX];

		snprintf(buf, sizeof(buf), "%s/tests/fixtures/tracee/tracee.c", getenv("srcdir"));
		src = buf;
	}
	snprintf(tracee, sizeof(tracee), "%s/tracee", top);
	snprintf(cmd, sizeof(cmd), "cc -O2 -pthread -o '%s' '%s'", tracee, src);
	return system(cmd);
}

static void test_files(void)
{
	char *argv[] = { tracee, "files", dir, NULL };
	struct tracer_result res;

	setup_dir();
	is_int(run(argv, NULL, &res), 0, "files: tracer_run");
	is_int(res.exit_code, 0, "files: exit code");
	ok(res.used_seccomp, "files: seccomp filter in place");
	ok(nevs > 0 && evs[0].op == MP_OP_EXEC && !strcmp(evs[0].path, tracee),
	   "files: the first event is the command's exec (TRC-04)");
	is_int(res.undecoded, 0, "files: nothing undecoded");

	expect(MP_OP_OPEN, "f_open", 0, O_RDONLY, "open");
	expect(MP_OP_OPEN, "f_missing", ENOENT, -1, "open missing");
	expect(MP_OP_OPEN, "f_openat", 0, -1, "openat");
	expect(MP_OP_OPEN, "f_openat2", 0, O_CLOEXEC, "openat2 (dirfd)");
	expect(MP_OP_OPEN, "f_creat", 0, O_CREAT | O_WRONLY | O_TRUNC, "creat");
	expect(MP_OP_STAT, "f_stat", 0, 0, "stat");
	expect(MP_OP_STAT, "f_missing2", ENOENT, -1, "stat missing");
	expect(MP_OP_STAT, "f_lstat", 0, AT_SYMLINK_NOFOLLOW, "lstat");
	expect(MP_OP_STAT, "f_fstatat", 0, 0, "newfstatat (dirfd)");
	expect(MP_OP_STAT, "f_statx", 0, 0, "statx");
	/* fstat() (newfstatat with AT_EMPTY_PATH) looks up no path: not recorded. */
	ok(find(MP_OP_STAT, P("f_fstat")) == NULL, "newfstatat AT_EMPTY_PATH (fstat) is not a path access");
	expect(MP_OP_ACCESS, "f_access", 0, R_OK, "access");
	expect(MP_OP_ACCESS, "f_faccessat", 0, F_OK, "faccessat");
	expect(MP_OP_ACCESS, "f_faccessat2", 0, W_OK, "faccessat2");
	expect(MP_OP_READLINK, "l_readlink", 0, -1, "readlink");
	expect(MP_OP_READLINK, "l_readlinkat", 0, -1, "readlinkat");
	expect(MP_OP_SYMLINK, "s_symlink", 0, -1, "symlink");
	expect(MP_OP_SYMLINK, "s_symlinkat", 0, -1, "symlinkat");
	ok(!find(MP_OP_SYMLINK, P("f_open")), "symlink: the target is not an access");
	expect(MP_OP_MKDIR, "d_mkdir", 0, -1, "mkdir");
	expect(MP_OP_MKDIR, "d_mkdirat", 0, -1, "mkdirat");
	expect(MP_OP_UNLINK, "d_rmdir", 0, AT_REMOVEDIR, "rmdir");
	expect(MP_OP_UNLINK, "d_unlinkat", 0, AT_REMOVEDIR, "unlinkat AT_REMOVEDIR");
	expect(MP_OP_UNLINK, "f_unlink", 0, 0, "unlink");
	expect(MP_OP_UNLINK, "f_unlinkat", 0, 0, "unlinkat");
	expect(MP_OP_RENAME_FROM, "f_rename", 0, -1, "rename from");
	expect(MP_OP_RENAME_TO, "f_renamed", 0, -1, "rename to");
	expect(MP_OP_RENAME_FROM, "f_renameat", 0, -1, "renameat from");
	expect(MP_OP_RENAME_TO, "f_renamedat", 0, -1, "renameat to");
	expect(MP_OP_RENAME_FROM, "f_renameat2", 0, -1, "renameat2 from");
	expect(MP_OP_RENAME_TO, "f_renamedat2", 0, -1, "renameat2 to");
	expect(MP_OP_LINK_FROM, "f_link", 0, -1, "link from");
	expect(MP_OP_LINK_TO, "f_linked", 0, -1, "link to");
	expect(MP_OP_LINK_FROM, "f_linkat", 0, -1, "linkat from");
	expect(MP_OP_LINK_TO, "f_linkedat", 0, -1, "linkat to");
	expect(MP_OP_TRUNCATE, "f_truncate", 0, -1, "truncate");
	expect(MP_OP_CHMOD, "f_chmod", 0, -1, "chmod");
	expect(MP_OP_CHMOD, "f_fchmodat", 0, -1, "fchmodat");
	expect(MP_OP_CHOWN, "f_chown", 0, -1, "chown");
	expect(MP_OP_CHOWN, "f_lchown", 0, -1, "lchown");
	expect(MP_OP_CHOWN, "f_fchownat", 0, -1, "fchownat");
	expect(MP_OP_UTIME, "f_utime", 0, -1, "utime");
	expect(MP_OP_UTIME, "f_utimes", 0, -1, "utimes");
	expect(MP_OP_UTIME, "f_utimensat", 0, -1, "utimensat");
	expect(MP_OP_UTIME, "f_futimesat", 0, -1, "futimesat");
	expect(MP_OP_MKNOD, "n_mknod", 0, -1, "mknod");
	expect(MP_OP_MKNOD, "n_mknodat", 0, -1, "mknodat");
	is_int(count(MP_OP_READDIR, P("sub")), 2, "getdents64 and getdents: the directory");
	expect(MP_OP_CHDIR, "sub", 0, -1, "chdir");
	expect(MP_OP_OPEN, "f_rel", 0, -1, "relative path against the cwd, '..' folded");
	expect(MP_OP_STAT, "f_rel2", ENOENT, -1, "'..' folded lexically");
	is_int(count(MP_OP_OPEN, P("f_openat")), 2, "openat relative to a dirfd with '..'");
	ok(find(MP_OP_CHDIR, dir) != NULL, "fchdir: the fd's path");
	expect(MP_OP_STAT, "f_fchdir", 0, -1, "relative path after fchdir");
	expect(MP_OP_EXEC, "x_missing", ENOENT, -1, "execve missing");
	expect(MP_OP_EXEC, "x_missing2", ENOENT, -1, "execveat missing");
}

static void test_no_seccomp(void)
{
	char *argv[] = { tracee, "files", dir, NULL };
	struct tracer_opts o = { .stdin_fd = -1, .no_seccomp = true };
	struct tracer_result res;
	struct ev *a = NULL;
	size_t na, same = 0;

	setup_dir();
	run(argv, NULL, &res);
	a = evs;
	na = nevs;
	evs = NULL;
	nevs = aevs = 0;
	setup_dir();
	is_int(run(argv, &o, &res), 0, "no_seccomp: tracer_run");
	ok(!res.used_seccomp, "no_seccomp: no filter");
	is_int(nevs, na, "no_seccomp: as many events as with seccomp");
	for (size_t i = 0; i < na && i < nevs; i++)
		same += a[i].op == evs[i].op && a[i].err == evs[i].err &&
			a[i].flags == evs[i].flags && !strcmp(a[i].path, evs[i].path);
	is_int(same, na, "no_seccomp: the same events in the same order");
	for (size_t i = 0; i < na; i++)
		free(a[i].path);
	free(a);
}

static const struct pev *find_proc(enum tracer_proc_event what, pid_t pid)
{
	for (size_t i = 0; i < npevs; i++)
		if (pevs[i].what == what && pevs[i].pid == pid)
			return &pevs[i];
	return NULL;
}

static void test_procs(void)
{
	char *argv[] = { tracee, "procs", dir, NULL };
	struct tracer_result res;
	struct ev *e;
	pid_t root;
	size_t execs = 0;

	setup_dir();
	is_int(run(argv, NULL, &res), 0, "procs: tracer_run");
	is_int(res.exit_code, 0, "procs: exit code");
	root = npevs ? pevs[0].pid : 0;
	ok(npevs && pevs[0].what == TRACER_PROC_START && pevs[0].parent == 0,
	   "procs: START of the command first, parent 0");
	e = find(MP_OP_OPEN, P("p_fork"));
	ok(e && e->pid != root && e->pid == e->tid, "fork: the child's event carries its pid");
	if (e) {
		const struct pev *p = find_proc(TRACER_PROC_START, e->pid);
		char cwd[PATH_MAX];

		ok(p && p->parent == root, "fork: START with the parent");
		ok(p && p->cwd && getcwd(cwd, sizeof(cwd)) && !strcmp(p->cwd, cwd),
		   "fork: START with the cwd");
		ok(find_proc(TRACER_PROC_EXIT, e->pid) != NULL, "fork: EXIT of the child");
	}
	for (size_t i = 0; i < npevs; i++)
		execs += pevs[i].what == TRACER_PROC_EXEC && pevs[i].exe &&
			 !strcmp(pevs[i].exe, "/bin/true");
	is_int(execs, 2, "vfork+exec and posix_spawn: two EXEC of /bin/true");
	is_int(count(MP_OP_EXEC, "/bin/true"), 2, "vfork, posix_spawn: two exec accesses");
	e = find(MP_OP_OPEN, P("p_thread"));
	ok(e && e->pid == root && e->tid != root, "thread: pid of the process, tid of the thread");
	is_int(count(MP_OP_OPEN, P("p_many")), 50, "50 forks: 50 opens (TRC-01)");
	is_int(res.processes, 54, "procs: 54 processes (command, fork, vfork, posix_spawn, 50)");
}

static void test_threadexec(void)
{
	char *argv[] = { tracee, "threadexec", NULL };
	struct tracer_result res;
	size_t execs = 0;

	is_int(run(argv, NULL, &res), 0, "threadexec: tracer_run");
	is_int(res.exit_code, 5, "non-leader thread exec: the new image's exit code");
	for (size_t i = 0; i < npevs; i++)
		execs += pevs[i].what == TRACER_PROC_EXEC && pevs[i].pid == pevs[0].pid;
	is_int(execs, 2, "non-leader thread exec: EXEC reported under the process id");
	ok(npevs && pevs[npevs - 1].what == TRACER_PROC_EXIT && pevs[npevs - 1].pid == pevs[0].pid,
	   "non-leader thread exec: EXIT last");
}

static void test_exit_codes(void)
{
	char noexec[PATH_MAX + 64];
	char *a3[] = { tracee, "exit", "3", NULL };
	char *aterm[] = { tracee, "term", NULL };
	char *a127[] = { "magicpak-no-such-command", NULL };
	char *a127b[] = { "/nonexistent/prog", NULL };
	char *a126[] = { noexec, NULL };
	struct tracer_result res;

	snprintf(noexec, sizeof(noexec), "%s", P("f_noexec"));
	touch("f_noexec");
	run(a3, NULL, &res);
	is_int(res.exit_code, 3, "exit 3 -> 3");
	run(aterm, NULL, &res);
	is_int(res.exit_code, 143, "killed by SIGTERM -> 143");
	is_int(run(a127, NULL, &res), 0, "command not found: tracer_run returns 0");
	is_int(res.exit_code, 127, "command not found -> 127");
	run(a127b, NULL, &res);
	is_int(res.exit_code, 127, "missing path -> 127");
	run(a126, NULL, &res);
	is_int(res.exit_code, 126, "not executable -> 126");
}

static void *send_usr1(void *arg)
{
	struct timespec ts = { 0, 300 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	kill(getpid(), SIGUSR1);
	return NULL;
}

static void on_usr1(int sig)
{
}

static void test_signals(void)
{
	char *ausr1[] = { tracee, "usr1", NULL };
	char *astop[] = { tracee, "stop", NULL };
	struct tracer_result res;
	pthread_t th;

	/* if the signal came after the run, our own handler takes it */
	signal(SIGUSR1, on_usr1);
	pthread_create(&th, NULL, send_usr1, NULL);
	run(ausr1, NULL, &res);
	pthread_join(th, NULL);
	is_int(res.exit_code, 0, "SIGUSR1 sent to magicpak reaches the command's handler");
	run(astop, NULL, &res);
	is_int(res.exit_code, 7, "group stop ended by SIGCONT from another process: run ends");
}

static void test_bigout(void)
{
	char *argv[] = { tracee, "bigout", NULL };
	struct tracer_result res;
	struct stat st;
	int fd, saved;

	fflush(stdout);
	fd = open(P("out"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	saved = dup(1);
	dup2(fd, 1);
	close(fd);
	run(argv, NULL, &res);
	dup2(saved, 1);
	close(saved);
	is_int(res.exit_code, 0, "1 MiB on stdout: exit 0");
	ok(stat(P("out"), &st) == 0 && st.st_size == 1 << 20, "1 MiB on stdout: all in the file");
}

static void test_timeout(void)
{
	char *argv[] = { "/bin/sh", "-c", "sleep 100 & sleep 100; wait", NULL };
	struct tracer_opts o = { .stdin_fd = -1, .timeout_s = 1 };
	struct tracer_result res;
	time_t t0 = time(NULL);

	run(argv, &o, &res);
	ok(res.timed_out, "timeout: timed_out");
	is_int(res.exit_code, 124, "timeout: exit code 124");
	ok(time(NULL) - t0 < 10, "timeout: the sleep tree is gone within seconds");
}

static void test_uring(void)
{
	char *argv[] = { tracee, "uring", NULL };
	struct tracer_result res;

	run(argv, NULL, &res);
	ok(res.used_io_uring, "io_uring_setup marks used_io_uring");
}

static bool can_trace(void)
{
	char *argv[] = { "/bin/true", NULL };
	struct tracer_result res;

	return run(argv, NULL, &res) == 0 && res.exit_code == 0;
}

int main(void)
{
	char tmpl[] = "/tmp/test_tracer.XXXXXX", cmd[PATH_MAX + 32];


	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(tmpl) || !realpath(tmpl, top)) {
		ok(0, "cannot create a temporary directory");
		return done_testing();
	}
	snprintf(dir, sizeof(dir), "%s/t", top);
	mkdir(dir, 0755);
	if (!can_trace()) {
		if (getenv("CI") && !strcmp(getenv("CI"), "true"))
			ok(0, "ptrace is not permitted here (CI=true: a failure)");
		else
			skip("ptrace is not permitted here");
		goto out;
	}
	if (build_tracee()) {
		ok(0, "cannot build the fixture with cc");
		goto out;
	}
	test_files();
	test_no_seccomp();
	test_procs();
	test_threadexec();
	test_exit_codes();
	test_signals();
	test_bigout();
	test_timeout();
	test_uring();
out:
	reset();
	free(evs);
	free(pevs);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd))
		return 1;
	return done_testing();
}
