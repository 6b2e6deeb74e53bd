/* SPDX-License-Identifier: MIT */
/* collector/jail.h - run a command isolated inside a bundle: new namespaces, pivot_root,
 * a throwaway writable layer, a minimal /dev, no capabilities. */
#ifndef COLLECTOR_JAIL_H
#define COLLECTOR_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "strbuf.h"

/* Exit statuses of `magicpak test` and of the one-shot --test. */
enum { JAIL_EXIT_FAILED = 1, JAIL_EXIT_SETUP = 3 };

/* Resource limits (jail_opts.pids_max, .memory_max): JAIL_LIMIT_DEFAULT, what a zeroed
 * struct holds, picks the default (JAIL_DEFAULT_PIDS_MAX processes; half the machine's RAM);
 * JAIL_NO_LIMIT sets none. */
#define JAIL_LIMIT_DEFAULT 0
#define JAIL_NO_LIMIT UINT64_MAX
#define JAIL_DEFAULT_PIDS_MAX 1024

/* How the test is isolated (jail_opts.isolation). */
enum jail_isolation {
	/* namespaces; when they are refused (a container whose seccomp profile forbids them,
	 * as Docker's default one does in `docker build`), a plain chroot, with a warning */
	JAIL_ISOLATE_AUTO = 0,
	JAIL_ISOLATE_NAMESPACES, /* namespaces or fail */
	JAIL_ISOLATE_CHROOT,     /* a plain chroot only (root with CAP_SYS_CHROOT) */
};

/* Whom the command runs as (--user). */
struct jail_user {
	uid_t uid;
	gid_t gid;
	gid_t *groups;            /* supplementary: the bundle's groups that list the user */
	size_t ngroups;
};

struct jail_opts {
	const char *root;         /* the bundle directory (never modified) */
	char *const *argv;        /* the command, run directly (argv[0] looked up on PATH inside) */
	const char *stdin_text;   /* NULL: empty stdin */
	unsigned timeout_s;       /* 0: none */
	const char *busybox;      /* host path of a static busybox to provide /bin/sh and applets
				   * when the bundle has no /bin/sh (a name without '/' is looked
				   * up on the host's PATH); NULL: none */
	const struct strvec *env; /* extra K=V for the command (--env) */
	bool diagnose;            /* run under the tracer and collect failed lookups */
	uint64_t pids_max;        /* processes and threads in the jail (cgroup pids.max) */
	uint64_t memory_max;      /* bytes (cgroup memory.max, no swap) */
	enum jail_isolation isolation;
	const struct jail_user *user; /* --user (jail_parse_user), or NULL: the jail's root */
};

struct jail_result {
	int exit_code;            /* the command's, as a shell shows it (124 on time-out) */
	bool timed_out;
	struct strbuf out;        /* the command's stdout */
	struct strbuf err;        /* the command's stderr */
	struct strvec missing;    /* diagnose: paths the command looked for that the bundle
				   * lacks but the host has, most likely culprits first */
	struct strvec denied;     /* diagnose: "PATH (mode M, owner U:G)" of the bundle's files
				   * the command was refused (EACCES) */
	uint64_t pids_max;        /* the limits applied (JAIL_NO_LIMIT: none) */
	uint64_t memory_max;
	bool pids_hit;            /* a fork failed at pids.max (known with a cgroup only) */
	bool oom_killed;          /* the OOM killer killed a process at memory.max (idem) */
	bool chroot_only;         /* it ran in a plain chroot of a copy of the bundle: same
				   * processes, network and IPC as the host, no /proc */
	bool no_proc;             /* it ran without /proc (that chroot, or a container's jail) */
	char *proc_path;          /* diagnose: the first /proc path the command looked for */
};

void jail_result_init(struct jail_result *r);
void jail_result_release(struct jail_result *r);

/* Run o->argv in a jail made from o->root. Returns 0 when the command ran (whatever its
 * exit status, see @res), or -errno when the jail could not be set up (logged in one line:
 * missing privileges, no user namespaces, ...).
 * The plain chroot (o->isolation, or the fallback of JAIL_ISOLATE_AUTO) runs the command in
 * a throwaway copy of the bundle made in $TMPDIR (or beside the bundle when that is mounted
 * noexec), with a minimal /dev of its own device nodes and no /proc; what the command
 * leaves running is killed, as a child subreaper finds it. */
int jail_run(const struct jail_opts *o, struct jail_result *res);

/* Parse a --user value, USER[:GROUP], into @u: each a number, or a name in the bundle @root's
 * /etc/passwd or /etc/group as the jail sees them. Without GROUP, USER's group in
 * /etc/passwd, else 0; the supplementary groups are those of the bundle's /etc/group that
 * list USER's name (as `docker run --user` gives them). 0, -EINVAL (not USER[:GROUP], out of
 * range) or -ENOENT (no such name), the reason logged in one line. Release with
 * jail_user_release(). */
int jail_parse_user(const char *root, const char *spec, struct jail_user *u);
void jail_user_release(struct jail_user *u);

/* Parse an --isolation value: "auto", "namespaces" or "chroot". 0 or -EINVAL. */
int jail_parse_isolation(const char *s, enum jail_isolation *out);

/* Parse a --pids-max (@size false) or --memory-max (@size true) value into *@out: a
 * positive number (a size may end in K, M, G or T, powers of 1024), or 0 or "max" for
 * JAIL_NO_LIMIT. 0, or -EINVAL. */
int jail_parse_limit(const char *s, bool size, uint64_t *out);

/* When @r hit a limit, append "the test hit its pids.max (N)" or "the command was killed by
 * the OOM killer (memory.max SIZE)" (both, joined by "; ", when both were hit) to @out and
 * return true; otherwise leave @out alone and return false. */
bool jail_describe_limits(const struct jail_result *r, struct strbuf *out);

/* Append the diagnosis of @r (its missing list) to @out as one line without a newline:
 * "the command looked for N files the bundle lacks: A, B; to add them: --include A
 * --include B", paths quoted for a shell where needed; or a sentence saying none was found.
 * In a jail without /proc, a /proc path the command looked for is named first.
 * Shared by `magicpak test` and the one-shot --test. */
void jail_describe_missing(const struct jail_result *r, struct strbuf *out);

/* Does the command's stdout @got match the expected @want? Both are trimmed of leading and
 * trailing whitespace (newlines included) and then compared exactly. NULL counts as "". */
bool jail_output_matches(const char *got, const char *want);

#endif /* COLLECTOR_JAIL_H */
