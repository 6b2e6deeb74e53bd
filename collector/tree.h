/* SPDX-License-Identifier: MIT */
/* collector/tree.h - whole directory trees: walk one, copy one, remove one, and copy a file's
 * data keeping its holes. Shared by the bundler, the image writer and the chroot test. */
#ifndef COLLECTOR_TREE_H
#define COLLECTOR_TREE_H

#include <sys/stat.h>
#include <sys/types.h>

/* Called for every entry below the root, parents before children, names sorted bytewise
 * in each directory. @rel is the path below the root ("usr/bin/ls"); @dirfd/@name open it.
 * A negative return stops the walk and is tree_walk()'s. */
typedef int (*tree_walk_fn)(void *ctx, int dirfd, const char *name, const char *rel,
			    const struct stat *st);

/* Walk @tree (symlinks not followed; paths longer than PATH_MAX are fine). Logs; 0 or -errno. */
int tree_walk(const char *tree, tree_walk_fn fn, void *ctx);

/* Copy the contents of directory @src into the existing empty directory @dst: directories,
 * regular files (holes kept, a second name of an inode becomes a hard link), symlinks as
 * they are, FIFOs and device nodes; modes exactly, owners when run as root. Sockets are
 * skipped; @dst takes @src's mode. Logs; 0 or -errno. */
int tree_copy(const char *src, const char *dst);

/* Remove @path and everything below it (symlinks not followed). Logs; 0 or -errno. */
int tree_remove(const char *path);

/* Copy @size bytes of @in to @out (both at offset 0), keeping holes (SEEK_DATA/SEEK_HOLE)
 * so a sparse file stays small. -ENODATA: @in ended early; or -errno. */
int tree_copy_data(int in, int out, off_t size);

#endif /* COLLECTOR_TREE_H */
