/* SPDX-License-Identifier: MIT */
/* tests/unit/test_tree.c - tree.c on a real temporary tree: tree_copy keeps modes (a 0555
 * directory with files in it, a setuid file), hard links, symlinks as they are, holes, FIFOs;
 * tree_walk's order; tree_remove removes even read-only directories. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "strbuf.h"
#include "tap.h"
#include "tree.h"
#include "xalloc.h"

static char *base;

static const char *at(const char *rel)
{
	static char bufs[4][4096];
	static int i;
	char *b = bufs[i++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", base, rel);
	return b;
}

static void put(const char *rel, const char *data, mode_t mode)
{
	int fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data) ||
	    fchmod(fd, mode) < 0)
		ok(0, "setup: %s: %s", rel, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static int collect(void *ctx, int dirfd, const char *name, const char *rel,
		   const struct stat *st)
{
	(void)dirfd;
	(void)name;
	(void)st;
	strvec_push(ctx, rel);
	return 0;
}

static mode_t mode_of(const char *rel)
{
	struct stat st;

	return lstat(at(rel), &st) < 0 ? (mode_t)-1 : st.st_mode;
}

int main(void)
{
	char tmpl[] = "/tmp/test_tree.XXXXXX", target[64];
	struct strvec seen = STRVEC_INIT;
	struct stat a, b;
	ssize_t n;
	int fd;

	log_level = LOG_ERROR;
	base = mkdtemp(tmpl);
	if (!base) {
		printf("Bail out! cannot create a temporary directory\n");
		return 1;
	}
	umask(022);
	mkdir(at("src"), 0755);
	mkdir(at("src/ro"), 0755);
	put("src/ro/file", "read-only dir", 0644);
	chmod(at("src/ro"), 0555);
	put("src/suid", "s", 04755);
	put("src/one", "linked", 0640);
	if (link(at("src/one"), at("src/two")) < 0)
		ok(0, "setup: link: %s", strerror(errno));
	if (symlink("../elsewhere/none", at("src/dangling")) < 0)
		ok(0, "setup: symlink: %s", strerror(errno));
	if (mkfifo(at("src/fifo"), 0600) < 0)
		ok(0, "setup: mkfifo: %s", strerror(errno));
	fd = open(at("src/sparse"), O_WRONLY | O_CREAT, 0644);
	if (fd < 0 || pwrite(fd, "end", 3, 64 << 20) != 3)
		ok(0, "setup: sparse file: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	mkdir(at("dst"), 0700);

	is_int(tree_walk(at("src"), collect, &seen), 0, "tree_walk succeeds");
	is_int(seen.n, 8, "tree_walk visits every entry");
	ok(seen.n == 8 && !strcmp(seen.v[0], "dangling") && !strcmp(seen.v[3], "ro") &&
	   !strcmp(seen.v[4], "ro/file"), "parents before children, names sorted");

	is_int(tree_copy(at("src"), at("dst")), 0, "tree_copy succeeds");
	is_int(mode_of("dst") & 07777, 0755, "the copy's root takes the source's mode");
	is_int(mode_of("dst/ro") & 07777, 0555, "a 0555 directory is 0555 in the copy");
	ok(S_ISREG(mode_of("dst/ro/file")), "and the file inside it was copied");
	is_int(mode_of("dst/suid") & 07777, 04755, "the setuid bit is kept");
	ok(!stat(at("dst/one"), &a) && !stat(at("dst/two"), &b) && a.st_ino == b.st_ino &&
	   a.st_nlink == 2, "two names of one file stay one file");
	is_int(a.st_mode & 07777, 0640, "its mode is kept");
	n = readlink(at("dst/dangling"), target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	is_str(target, "../elsewhere/none", "a symlink is copied as it is, even dangling");
	ok(S_ISFIFO(mode_of("dst/fifo")), "a FIFO is made again");
	ok(!stat(at("dst/sparse"), &a) && a.st_size == (64 << 20) + 3 &&
	   a.st_blocks * 512 < (1 << 20), "a sparse file keeps its size and its hole");
	if (geteuid() == 0)
		ok(!stat(at("dst/one"), &a) && a.st_uid == 0, "root keeps the owners");

	mkdir(at("dst2"), 0700);
	put("dst2/already", "x", 0644);
	ok(tree_copy(at("src"), at("dst2")) == 0, "a copy next to other files works");
	ok(tree_copy(at("src"), at("dst")) < 0, "a copy onto an existing copy fails, not merges");

	is_int(tree_remove(at("dst")), 0, "tree_remove succeeds");
	ok(access(at("dst"), F_OK) < 0 && errno == ENOENT, "the copy is gone, read-only dir too");
	tree_remove(at("dst2"));
	chmod(at("src/ro"), 0755);
	is_int(tree_remove(base), 0, "the temporary tree is removed");
	strvec_clear(&seen);
	return done_testing();
}
