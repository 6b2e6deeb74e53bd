/* SPDX-License-Identifier: MIT */
/* collector/bundle.h - assemble a root file system tree from host paths, safely and atomically. */
#ifndef COLLECTOR_BUNDLE_H
#define COLLECTOR_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "strbuf.h"

struct bundle_opts {
	/* Globs (see glob.h) matched against destination paths; a match is never written,
	 * whoever asked for it (applied last, symlink targets included). */
	const struct strvec *excludes;
	/* Match them as the original magicpak did (glob_match_legacy(): '*' crosses '/'), for
	 * the one-shot form; otherwise with glob_match(). */
	bool legacy_excludes;
};

struct bundle;

/* Start a bundle that will become @output. @output must not exist or be an empty directory
 * (not a symlink). A new @output is built in a fresh sibling directory
 * ("<output>.magicpak-PID.XXXXXX") and only renamed to @output by bundle_commit(); an existing
 * one (a mount point, ".") is written into, keeping its mode and owner: the tree is built in a
 * hidden directory inside it (".magicpak-PID.XXXXXX") whose entries bundle_commit() moves in.
 * The bundle holds a lock on @output (or on "<output>.magicpak-lock") till bundle_free():
 * -EBUSY when another bundler holds it. Logs and returns -errno on failure. */
int bundle_new(const char *output, const struct bundle_opts *opts, struct bundle **out);

/* Copy host path @src (absolute) to @dest inside the bundle (NULL: the same path).
 * Every symlink met along @src - in its directories (/lib -> usr/lib) and at the end
 * (/lib64/ld-linux-x86-64.so.2 -> ...) - is recreated as a symlink with its original
 * target, and the target is copied too, until a non-link is reached. Directories on the
 * way are created with their host modes. A regular file keeps its mode (setuid/setgid
 * stripped) and content; a second host name of an inode already copied becomes a hard
 * link. A directory @src is created (not its contents). Special files (devices, FIFOs,
 * sockets) are skipped with a warning and never opened; /proc and /sys paths are skipped.
 * Adding the same path twice is a no-op. When the host reaches a directory on the way to a
 * @dest through a symlink (/bin -> usr/bin), that host path is added first, so @dest goes
 * through the link as the host's own path would. Logs and returns -errno on failure. */
int bundle_add(struct bundle *b, const char *src, const char *dest);
/* As bundle_add() for @src and, recursively, everything below it (symlinks not followed). */
int bundle_add_tree(struct bundle *b, const char *src, const char *dest);
/* Create directory @dest (and its parents) in the bundle, mode 0755. */
int bundle_mkdir(struct bundle *b, const char *dest);
/* Write a generated regular file @dest with @len bytes of @data and @mode. */
int bundle_write_file(struct bundle *b, const char *dest, const void *data, size_t len, mode_t mode);
/* Warn, one line each, about the exclude globs that have matched no path so far. */
void bundle_warn_unused_excludes(const struct bundle *b);
/* True if @dest already exists in the bundle. */
bool bundle_has(struct bundle *b, const char *dest);

/* The directory the tree is being built in (until bundle_commit()), for a test run before
 * it becomes the output. Borrowed. */
const char *bundle_tree(const struct bundle *b);

/* Move the finished tree to its final name (or its entries into the existing output, all or,
 * on a failure, none). After this bundle_free() keeps it. */
int bundle_commit(struct bundle *b);
/* Free @b; an uncommitted tree is removed. NULL accepted. */
void bundle_free(struct bundle *b);

#endif /* COLLECTOR_BUNDLE_H */
