/* SPDX-License-Identifier: MIT */
/* collector/assemble.h - decide what goes into a bundle and write it: the one code path behind
 * the one-shot form, --dynamic and (later) `magicpak bundle`. */
#ifndef COLLECTOR_ASSEMBLE_H
#define COLLECTOR_ASSEMBLE_H

#include "strbuf.h"

struct assemble_opts {
	const char *output;           /* the bundle directory to create */
	struct strvec inputs;         /* programs or scripts: each with its ELF closure */
	struct strvec recorded;       /* paths a recorded run used: copied as they are, and ELF
				       * files among them with their closure */
	struct strvec includes;       /* --include globs */
	struct strvec excludes;       /* --exclude globs (destination paths) */
	struct strvec mkdirs;         /* --mkdir */
	const char *install_to;       /* --install-to for inputs.v[0], or NULL */
	const char *library_path;     /* LD_LIBRARY_PATH to assume */
	/* Called with the finished tree before it becomes o->output (e.g. to test it); a
	 * negative return abandons the bundle and is returned by assemble(). */
	int (*before_commit)(void *ctx, const char *tree);
	void *ctx;
};

void assemble_opts_init(struct assemble_opts *o);
void assemble_opts_release(struct assemble_opts *o);

/* Where --install-to @to puts input @src in the bundle: a trailing '/' means "into that
 * directory", and the result never climbs above "/". Owned by the caller. */
char *assemble_install_dest(const char *src, const char *to);

/* Resolve everything first (so a missing library writes nothing), then build the bundle
 * at o->output atomically. Errors are logged; returns 0 or -errno. */
int assemble(const struct assemble_opts *o);

#endif /* COLLECTOR_ASSEMBLE_H */
