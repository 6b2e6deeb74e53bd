/* SPDX-License-Identifier: MIT */
/* collector/assemble.h - decide what goes into a bundle and write it: the one code path behind
 * the one-shot form, --dynamic and (later) `magicpak bundle`. */
#ifndef COLLECTOR_ASSEMBLE_H
#define COLLECTOR_ASSEMBLE_H

#include <stdbool.h>
#include <stdint.h>

#include "strbuf.h"

struct assemble_opts {
	const char *output;           /* the bundle directory to create */
	struct strvec inputs;         /* programs or scripts: each with its ELF closure */
	/* Recorded sessions to bundle from (`magicpak bundle`, the one-shot --dynamic): the
	 * union of what they used successfully is copied as it is, ELF files among it with
	 * their closure, each regular file only if it is still the file a session recorded. */
	const char *db;               /* the history database */
	int64_t *sessions;            /* owned; see assemble_add_session() */
	size_t nsessions, asessions;
	bool allow_incomplete;        /* bundle from incomplete sessions too (with a warning) */
	bool strict;                  /* a changed file or a conflict between sessions is an
				       * error, not a warning */
	struct strvec includes;       /* --include globs */
	struct strvec excludes;       /* --exclude globs (destination paths) */
	bool legacy_excludes;         /* match them as the original magicpak (bundle_opts) */
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
/* Add session @id to o->sessions (once). */
void assemble_add_session(struct assemble_opts *o, int64_t id);

/* Where --install-to @to puts input @src in the bundle: a trailing '/' means "into that
 * directory", and the result never climbs above "/". Owned by the caller. */
char *assemble_install_dest(const char *src, const char *to);

/* Resolve everything first (so a missing library, an incomplete session or, with
 * o->strict, a changed file writes nothing), then build the bundle at o->output
 * atomically. Errors are logged; returns 0 or -errno.
 *
 * Recorded paths are data a hostile program may have shaped: a path with a NUL byte, an
 * empty or relative one is ignored with a warning naming the session; ".." is folded
 * lexically and never climbs above "/"; /proc, /sys, /dev and the output are never read.
 * A regular file is read only when its inode now is one a chosen session recorded for
 * that path (otherwise: a warning and it is left out; an error with o->strict); when its
 * size, mtime or sha256 differ from every version recorded with that inode it is reported
 * as changed. A path that was a regular file in one session and a directory (or had files
 * under it) in another is reported as a conflict; the bundle then follows the host as it
 * is now. */
int assemble(const struct assemble_opts *o);

#endif /* COLLECTOR_ASSEMBLE_H */
