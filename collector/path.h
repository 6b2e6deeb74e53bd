/* SPDX-License-Identifier: MIT */
/* collector/path.h - lexical path operations (no file system access unless said). */
#ifndef COLLECTOR_PATH_H
#define COLLECTOR_PATH_H

#include <stdbool.h>
#include <stdio.h>

/* Lexically normalise @path: collapse "//" and "/./", resolve ".." against the
 * preceding component, never climbing above "/" for an absolute path. A relative
 * path stays relative (leading ".." kept). The result is owned by the caller;
 * "" becomes ".". */
char *path_normalize(const char *path);
/* @dir + "/" + @name, normalised (an absolute @name alone, normalised). Owned by the caller. */
char *path_join(const char *dir, const char *name);
/* Directory part ("/a/b" -> "/a", "a" -> ".", "/" -> "/"). Owned by the caller. */
char *path_dirname(const char *path);
/* Last component (borrowed pointer into @path). */
const char *path_basename(const char *path);
/* Absolute, normalised form of @path against the current directory. Owned by the caller. */
char *path_absolute(const char *path);
/* Find @name on the colon-separated @path_env as execvp() would: the first regular,
 * executable file (an empty element is the current directory). @name with a '/' is
 * only checked. Owned by the caller; NULL if none. */
char *path_search(const char *name, const char *path_env);
/* True if @path is @dir itself or lies below it (lexically). */
bool path_has_prefix(const char *path, const char *dir);
/* Write @text to the existing file @path (a kernel file in /proc or /sys) in one write(2).
 * 0 or -errno. */
int path_write_text(const char *path, const char *text);
/* Where magicpak makes its short-lived files (sockets, the preload ring, a throwaway
 * database): /dev/shm when it is a writable tmpfs, else $TMPDIR, else /tmp. */
const char *path_scratch_dir(void);
/* A new directory "@dir/@prefix.PID.XXXXXX.locked" (mkdtemp). Owned, and locked while *@lock
 * (O_CLOEXEC) is open: close it once the directory is removed (-1, and no ".locked", where the
 * file system has no flock). NULL with errno set. First it removes the "@dir/@prefix.PID.*"
 * directories of a magicpak killed before it cleaned up (a 4 MiB ring in /dev/shm is memory)
 * that this user owns: a ".locked" one when no process holds its lock, another when its PID is
 * gone too; and a "@prefix-new.PID.*" one (killed between its mkdtemp and its rename) 10 s old,
 * by its lock, or without one by its PID. With @remove_tree, whole; with NULL, only flat ones
 * (the files in them, then the directory). Anything else there is left alone. */
char *path_scratch_mkdtemp(const char *dir, const char *prefix,
			   int (*remove_tree)(const char *), int *lock);
/* Where output too large to hold in memory waits: $TMPDIR (when absolute), else /tmp, on
 * disk like sort(1)'s. */
const char *path_spill_dir(void);
/* An unnamed file in @dir, open for reading and writing, gone once closed. NULL with errno
 * set. */
FILE *path_spill_file(const char *dir);

#endif /* COLLECTOR_PATH_H */
