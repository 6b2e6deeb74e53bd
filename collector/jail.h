/* SPDX-License-Identifier: MIT */
/* collector/jail.h - run a command isolated inside a bundle: new namespaces, pivot_root,
 * a throwaway writable layer, a minimal /dev, no capabilities. */
#ifndef COLLECTOR_JAIL_H
#define COLLECTOR_JAIL_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

/* Exit statuses of `magicpak test` and of the one-shot --test. */
enum { JAIL_EXIT_FAILED = 1, JAIL_EXIT_SETUP = 3 };

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
};

struct jail_result {
	int exit_code;            /* the command's, as a shell shows it (124 on time-out) */
	bool timed_out;
	struct strbuf out;        /* the command's stdout */
	struct strbuf err;        /* the command's stderr */
	struct strvec missing;    /* diagnose: paths the command looked for that the bundle
				   * lacks but the host has, most likely culprits first */
};

void jail_result_init(struct jail_result *r);
void jail_result_release(struct jail_result *r);

/* Run o->argv in a jail made from o->root. Returns 0 when the command ran (whatever its
 * exit status, see @res), or -errno when the jail could not be set up (logged in one line:
 * missing privileges, no user namespaces, ...). */
int jail_run(const struct jail_opts *o, struct jail_result *res);

/* Append the diagnosis of @r (its missing list) to @out as one line without a newline:
 * "the command looked for N files the bundle lacks: A, B; to add them: --include A
 * --include B", paths quoted for a shell where needed; or a sentence saying none was found.
 * Shared by `magicpak test` and the one-shot --test. */
void jail_describe_missing(const struct jail_result *r, struct strbuf *out);

/* Does the command's stdout @got match the expected @want? Both are trimmed of leading and
 * trailing whitespace (newlines included) and then compared exactly. NULL counts as "". */
bool jail_output_matches(const char *got, const char *want);

#endif /* COLLECTOR_JAIL_H */
