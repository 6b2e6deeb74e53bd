/* SPDX-License-Identifier: MIT */
/* collector/cgroup.c - a throwaway cgroup that holds the test jail under a pids and a memory
 * limit (RELIABILITY ISO-10).
 *
 * cgroup v2 (/sys/fs/cgroup is cgroup2fs): magicpak-test-PID-N directly below the root,
 * with the pids and memory controllers enabled in the root's cgroup.subtree_control. The
 * root cgroup is exempt from the "no internal processes" rule, so that is allowed while
 * processes live in it; a deeper parent would first have to be emptied.
 * cgroup v1 (hybrid or legacy systems, /sys/fs/cgroup a tmpfs with the pids and memory
 * hierarchies below it): the same name below magicpak's own cgroup in each hierarchy (v1
 * has no such rule, and the host's own limits on magicpak keep applying).
 * /sys/fs/cgroup can be replaced by MAGICPAK_CGROUP_ROOT (tests use it to force the
 * fallback of jail.c, setrlimit). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "path.h"
#include "xalloc.h"

#define CG_ROOT "/sys/fs/cgroup"
#define CG_PREFIX "magicpak-test-"
/* How long to wait for the members of a cgroup to die before giving up on removing it. */
#define CG_DRAIN_MS 5000

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Read at most @size - 1 bytes of @dir/@name into @buf, NUL-terminated. Bytes or -errno. */
static int read_at(const char *dir, const char *name, char *buf, size_t size)
{
	char path[4096];
	ssize_t n, got = 0;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)got < size - 1 && (n = read(fd, buf + got, size - 1 - (size_t)got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return (int)n;
		}
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return (int)got;
}

static int write_at(const char *dir, const char *name, const char *text)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	return path_write_text(path, text);
}

/* Does the space- or newline-separated list @list hold @word? */
static bool has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += wl)
		if ((p == list || p[-1] == ' ' || p[-1] == '\n') &&
		    (p[wl] == '\0' || p[wl] == ' ' || p[wl] == '\n'))
			return true;
	return false;
}

/* The number after "@key " at the start of a line of @dir/@name (pids.events, ...); 0 when
 * missing. */
static uint64_t read_key(const char *dir, const char *name, const char *key)
{
	char buf[1024];
	size_t kl = strlen(key);

	if (!dir || read_at(dir, name, buf, sizeof(buf)) < 0)
		return 0;
	for (char *l = buf; *l; l = strchrnul(l, '\n'), l += *l == '\n') {
		if (!strncmp(l, key, kl) && l[kl] == ' ')
			return strtoull(l + kl + 1, NULL, 10);
	}
	return 0;
}

static bool fs_is(const char *path, unsigned long magic)
{
	struct statfs sf;

	return !statfs(path, &sf) && (unsigned long)sf.f_type == magic;
}

/* SIGKILL every member of @dir (cgroup.kill first, Linux 5.14) and wait until it is empty.
 * 0, or -EBUSY when members remain after CG_DRAIN_MS. */
static int drain(const char *dir, int version)
{
	char buf[4096];

	if (version == 2)
		write_at(dir, "cgroup.kill", "1");
	for (int waited = 0; waited < CG_DRAIN_MS; waited += 10) {
		int n = read_at(dir, "cgroup.procs", buf, sizeof(buf));

		if (n <= 0)
			return 0;
		/* without cgroup.kill (v1, Linux < 5.14): one by one; a pid read here is a
		 * member, so it cannot have been reused by a process outside */
		for (char *p = buf, *e; *p; p = e) {
			long pid = strtol(p, &e, 10);

			if (e == p)
				break;
			if (pid > 0)
				kill((pid_t)pid, SIGKILL);
		}
		sleep_ms(10);
	}
	return -EBUSY;
}

static void remove_dir(const char *dir, int version)
{
	if (drain(dir, version) < 0)
		return;
	/* the last members may still be on their way out */
	for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++)
		sleep_ms(10);
}

/* Remove what a killed magicpak left in @parent: magicpak-test-PID-N with PID gone. */
static void remove_stale(const char *parent, int version)
{
	DIR *d = opendir(parent);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end, *path;
		long pid;

		if (strncmp(de->d_name, CG_PREFIX, strlen(CG_PREFIX)))
			continue;
		pid = strtol(de->d_name + strlen(CG_PREFIX), &end, 10);
		if (pid <= 0 || *end != '-' || pid == (long)getpid() ||
		    !(kill((pid_t)pid, 0) < 0 && errno == ESRCH))
			continue;
		path = xasprintf("%s/%s", parent, de->d_name);
		remove_dir(path, version);
		free(path);
	}
	closedir(d);
}

/* magicpak's own cgroup in the v1 hierarchy of @controller ("/" when not found). Owned by
 * the caller. */
static char *own_v1_path(const char *controller)
{
	char buf[4096];

	if (read_at("/proc/self", "cgroup", buf, sizeof(buf)) > 0) {
		for (char *l = buf, *e; *l; l = *e ? e + 1 : e) {
			char *c1, *c2, *save = NULL;

			e = strchrnul(l, '\n');
			c1 = memchr(l, ':', (size_t)(e - l));
			c2 = c1 ? memchr(c1 + 1, ':', (size_t)(e - c1 - 1)) : NULL;
			if (!c2)
				continue;
			*c2 = '\0';
			/* "4:memory:/path", or "3:cpu,cpuacct:/path" for co-mounted controllers */
			for (char *t = strtok_r(c1 + 1, ",", &save); t; t = strtok_r(NULL, ",", &save))
				if (!strcmp(t, controller))
					return xstrndup(c2 + 1, (size_t)(e - c2 - 1));
		}
	}
	return xstrdup("/");
}

static int make_child(struct cgroup_jail *cg, int i, const char *parent, int version,
		      struct strbuf *why)
{
	int ret;

	remove_stale(parent, version);
	cg->dir[i] = xasprintf("%s/" CG_PREFIX "%ld-%u", parent, (long)getpid(), cg->seq);
	if (mkdir(cg->dir[i], 0755) < 0) {
		ret = -errno;
		strbuf_addf(why, "cannot create '%s': %s", cg->dir[i], strerror(-ret));
		free(cg->dir[i]);
		cg->dir[i] = NULL;
		return ret;
	}
	return 0;
}

static int set_limit(const char *dir, const char *file, uint64_t value, struct strbuf *why)
{
	char text[32];
	int ret;

	snprintf(text, sizeof(text), "%" PRIu64, value);
	ret = write_at(dir, file, text);
	if (ret < 0)
		strbuf_addf(why, "cannot write %s to '%s/%s': %s", text, dir, file, strerror(-ret));
	return ret;
}

static int open_procs(struct cgroup_jail *cg, int i, struct strbuf *why)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir[i]);
	cg->procs_fd[i] = open(path, O_WRONLY | O_CLOEXEC);
	if (cg->procs_fd[i] < 0) {
		strbuf_addf(why, "cannot open '%s': %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int create_v2(struct cgroup_jail *cg, const char *root, struct strbuf *why)
{
	static const char *const ctrl[] = { "pids", "memory" };
	bool want[2] = { cg->pids_max != CGROUP_NO_LIMIT, cg->memory_max != CGROUP_NO_LIMIT };
	char avail[1024], enabled[1024];
	int ret;

	if (read_at(root, "cgroup.controllers", avail, sizeof(avail)) < 0 ||
	    read_at(root, "cgroup.subtree_control", enabled, sizeof(enabled)) < 0) {
		strbuf_addf(why, "cannot read the controllers of '%s'", root);
		return -ENOTSUP;
	}
	for (int i = 0; i < 2; i++) {
		char op[16];

		if (!want[i] || has_word(enabled, ctrl[i]))
			continue;
		if (!has_word(avail, ctrl[i])) {
			strbuf_addf(why, "cgroup v2 at '%s' has no %s controller", root, ctrl[i]);
			return -ENOTSUP;
		}
		snprintf(op, sizeof(op), "+%s", ctrl[i]);
		ret = write_at(root, "cgroup.subtree_control", op);
		if (ret < 0) {
			strbuf_addf(why, "cannot enable the %s controller in "
				    "'%s/cgroup.subtree_control': %s", ctrl[i], root, strerror(-ret));
			return ret;
		}
	}
	if ((ret = make_child(cg, 0, root, 2, why)) < 0)
		return ret;
	if (want[0] && (ret = set_limit(cg->dir[0], "pids.max", cg->pids_max, why)) < 0)
		return ret;
	if (want[1]) {
		if ((ret = set_limit(cg->dir[0], "memory.max", cg->memory_max, why)) < 0)
			return ret;
		/* no swap beyond memory.max (the file exists only with swap accounting) */
		write_at(cg->dir[0], "memory.swap.max", "0");
	}
	return open_procs(cg, 0, why);
}

static int create_v1(struct cgroup_jail *cg, const char *root, struct strbuf *why)
{
	static const char *const ctrl[] = { "pids", "memory" };
	bool want[2] = { cg->pids_max != CGROUP_NO_LIMIT, cg->memory_max != CGROUP_NO_LIMIT };
	char text[32];
	int ret;

	for (int i = 0; i < 2; i++) {
		char *mnt = xasprintf("%s/%s", root, ctrl[i]), *own, *parent;

		if (!want[i]) {
			free(mnt);
			continue;
		}
		if (!fs_is(mnt, CGROUP_SUPER_MAGIC)) {
			strbuf_addf(why, "no cgroup v2 at '%s' and no cgroup v1 %s hierarchy "
				    "at '%s'", root, ctrl[i], mnt);
			free(mnt);
			return -ENOTSUP;
		}
		own = own_v1_path(ctrl[i]);
		parent = xasprintf("%s%s", mnt, strcmp(own, "/") ? own : "");
		ret = make_child(cg, i, parent, 1, why);
		free(parent);
		free(own);
		free(mnt);
		if (ret < 0)
			return ret;
	}
	if (want[0] && (ret = set_limit(cg->dir[0], "pids.max", cg->pids_max, why)) < 0)
		return ret;
	if (want[1]) {
		if ((ret = set_limit(cg->dir[1], "memory.limit_in_bytes", cg->memory_max, why)) < 0)
			return ret;
		/* memory plus swap: the same, so no swap (the file exists only with swap
		 * accounting; it must not be below memory.limit_in_bytes, hence second) */
		snprintf(text, sizeof(text), "%" PRIu64, cg->memory_max);
		write_at(cg->dir[1], "memory.memsw.limit_in_bytes", text);
	}
	for (int i = 0; i < 2; i++)
		if (cg->dir[i] && (ret = open_procs(cg, i, why)) < 0)
			return ret;
	return 0;
}

/* ---- public ---- */

void cgroup_jail_init(struct cgroup_jail *cg)
{
	memset(cg, 0, sizeof(*cg));
	cg->procs_fd[0] = cg->procs_fd[1] = -1;
	cg->pids_max = cg->memory_max = CGROUP_NO_LIMIT;
}

int cgroup_jail_create(struct cgroup_jail *cg, uint64_t pids_max, uint64_t memory_max,
		       struct strbuf *why)
{
	static unsigned seq;
	const char *root = getenv("MAGICPAK_CGROUP_ROOT");
	int ret;

	cgroup_jail_init(cg);
	cg->seq = seq++;
	cg->pids_max = pids_max;
	cg->memory_max = memory_max;
	if (!root || !*root)
		root = CG_ROOT;
	if (geteuid() != 0) {
		strbuf_adds(why, "not root");
		return -EPERM;
	}
	if (fs_is(root, CGROUP2_SUPER_MAGIC)) {
		cg->version = 2;
		ret = create_v2(cg, root, why);
	} else {
		cg->version = 1;
		ret = create_v1(cg, root, why);
	}
	if (ret < 0)
		cgroup_jail_release(cg, NULL);
	return ret;
}

int cgroup_jail_enter(const struct cgroup_jail *cg, pid_t pid)
{
	char text[24];
	int len = snprintf(text, sizeof(text), "%ld", (long)pid);

	for (int i = 0; i < 2; i++) {
		if (cg->procs_fd[i] < 0)
			continue;
		if (write(cg->procs_fd[i], text, (size_t)len) != len)
			return -errno;
	}
	return 0;
}

void cgroup_jail_release(struct cgroup_jail *cg, struct cgroup_events *ev)
{
	if (ev) {
		ev->pids_hit = false;
		ev->oom_killed = false;
	}
	for (int i = 0; i < 2; i++) {
		if (cg->procs_fd[i] >= 0)
			close(cg->procs_fd[i]);
		cg->procs_fd[i] = -1;
		if (!cg->dir[i])
			continue;
		drain(cg->dir[i], cg->version);
		if (ev && i == 0 && cg->pids_max != CGROUP_NO_LIMIT)
			ev->pids_hit = read_key(cg->dir[0], "pids.events", "max") > 0;
		if (ev && cg->memory_max != CGROUP_NO_LIMIT && (cg->version == 2 ? i == 0 : i == 1))
			ev->oom_killed = cg->version == 2 ?
				read_key(cg->dir[i], "memory.events", "oom_kill") > 0 :
				read_key(cg->dir[i], "memory.oom_control", "oom_kill") > 0;
		remove_dir(cg->dir[i], cg->version);
		free(cg->dir[i]);
		cg->dir[i] = NULL;
	}
	cg->version = 0;
}
