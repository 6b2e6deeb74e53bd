/* SPDX-License-Identifier: MIT */
/* tests/unit/test_bundle.c - bundle.c on real temporary trees: symlink chains, modes, hard
 * links, excludes, special files, output checks, containment and atomic commit. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "log.h"
#include "strbuf.h"
#include "tap.h"
#include "xalloc.h"

static char *base; /* mkdtemp() directory holding sources, outputs and the sentinel */

/* "<base><rel>": a path in the test area (owned by a small ring of buffers). */
static const char *tpath(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *tpath(const char *fmt, ...)
{
	static char bufs[8][4096];
	static int i;
	char rel[2048];
	va_list ap;
	char *b = bufs[i++ % 8];

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(b, sizeof(bufs[0]), "%s%s", base, rel);
	return b;
}

/* Output @out + host path @host. */
static const char *opath(const char *out, const char *host)
{
	static char bufs[4][8192];
	static int i;
	char *b = bufs[i++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s%s", out, host);
	return b;
}

/* Setup steps are test points too, so a broken setup shows in the TAP stream. */
static int must(int r, const char *what)
{
	if (r < 0)
		ok(0, "setup: %s: %s", what, strerror(errno));
	return r;
}

static void put_file(const char *path, const char *data, mode_t mode)
{
	int fd = must(open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), path);

	if (fd < 0)
		return;
	must((int)write(fd, data, strlen(data)), path);
	must(fchmod(fd, mode), path);
	close(fd);
}

static void mk(const char *path, mode_t mode)
{
	must(mkdir(path, 0700), path);
	must(chmod(path, mode), path);
}

static void ln_s(const char *target, const char *path)
{
	must(symlink(target, path), path);
}

static const char *read_link(const char *path)
{
	static char buf[4096];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static const char *content(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static bool is_type(const char *path, mode_t type)
{
	struct stat st;

	return !lstat(path, &st) && (st.st_mode & S_IFMT) == type;
}

static int mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) ? -1 : (int)(st.st_mode & 07777);
}

static bool exists(const char *path)
{
	struct stat st;

	return !lstat(path, &st);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Entries of @dir whose name starts with @prefix. */
static int count_prefixed(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

static int tmp_found;

static int find_tmp(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (strstr(path + ftw->base, ".magicpak-tmp"))
		tmp_found++;
	return 0;
}

static int make_writable(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_D)
		chmod(path, 0700);
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void make_sources(void)
{
	int fd;

	mk(tpath("/src"), 0755);

	/* A symlink chain in the style of /usr/bin/awk -> /etc/alternatives/awk -> mawk. */
	mk(tpath("/src/bin"), 0755);
	mk(tpath("/src/etc"), 0755);
	mk(tpath("/src/etc/alternatives"), 0755);
	put_file(tpath("/src/bin/mawk"), "MAWK", 0755);
	ln_s(tpath("/src/etc/alternatives/awk"), tpath("/src/bin/awk"));
	ln_s("../../bin/mawk", tpath("/src/etc/alternatives/awk"));

	/* Merged /usr: lib -> usr/lib, with a library symlink inside. */
	mk(tpath("/src/root"), 0755);
	mk(tpath("/src/root/usr"), 0755);
	mk(tpath("/src/root/usr/lib"), 0755);
	put_file(tpath("/src/root/usr/lib/libx.so.1"), "LIBX", 0644);
	ln_s("libx.so.1", tpath("/src/root/usr/lib/libx.so"));
	ln_s("usr/lib", tpath("/src/root/lib"));
	ln_s("../lib/libx.so", tpath("/src/root/usr/lib64"));

	/* Modes, setuid, hard links. */
	mk(tpath("/src/modes"), 0750);
	put_file(tpath("/src/modes/private"), "P", 0640);
	put_file(tpath("/src/modes/suid"), "S", 04755);
	put_file(tpath("/src/modes/sgid"), "G", 02711);
	mk(tpath("/src/modes/ro"), 0755);
	mk(tpath("/src/modes/ro/sub"), 0755);
	put_file(tpath("/src/modes/ro/sub/f"), "F", 0644);
	must(chmod(tpath("/src/modes/ro"), 0555), "chmod");
	mk(tpath("/src/modes/sticky"), 01777);
	put_file(tpath("/src/modes/hl_a"), "HARD", 0644);
	must(link(tpath("/src/modes/hl_a"), tpath("/src/modes/hl_b")), "link");

	/* Excludes, including a chain target. */
	mk(tpath("/src/ex"), 0755);
	put_file(tpath("/src/ex/real.excluded"), "X", 0644);
	put_file(tpath("/src/ex/plain.excluded"), "X", 0644);
	ln_s("real.excluded", tpath("/src/ex/link"));
	ln_s("secret", tpath("/src/ex/nolink"));
	put_file(tpath("/src/ex/secret"), "SECRET", 0644);

	/* Special files. */
	must(mkfifo(tpath("/src/fifo"), 0644), "mkfifo");

	/* Hostile links: one to an absolute directory outside, one to the root. */
	mk(tpath("/sentinel"), 0755);
	ln_s(tpath("/sentinel"), tpath("/src/evil"));
	ln_s("/", tpath("/src/rootlink"));
	put_file(tpath("/src/payload"), "PAYLOAD", 0644);

	/* Loops and dangling links. */
	ln_s("loop2", tpath("/src/loop1"));
	ln_s("loop1", tpath("/src/loop2"));
	ln_s("does-not-exist", tpath("/src/dangling"));

	/* A tree: entries, a nested dir, a link pointing out, a FIFO. */
	mk(tpath("/src/tree"), 0755);
	mk(tpath("/src/tree/d"), 0700);
	put_file(tpath("/src/tree/d/z"), "Z", 0600);
	put_file(tpath("/src/tree/a"), "A", 0644);
	ln_s("/etc", tpath("/src/tree/etc"));
	must(mkfifo(tpath("/src/tree/fifo"), 0644), "mkfifo");
	put_file(tpath("/src/tree/skip.excluded"), "X", 0644);

	/* A parent made for a generated file first, its host directory added later. */
	mk(tpath("/src/late"), 0710);
	put_file(tpath("/src/late/f"), "L", 0644);

	/* An excluded file deep in directories nothing else needs. */
	mk(tpath("/src/exonly"), 0755);
	mk(tpath("/src/exonly/deep"), 0755);
	put_file(tpath("/src/exonly/deep/f.excluded"), "X", 0644);

	/* A sparse file: 64 MiB of hole and a few bytes. */
	fd = must(open(tpath("/src/sparse"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644), "sparse");
	if (fd >= 0) {
		must((int)pwrite(fd, "END", 3, 64 << 20), "sparse");
		close(fd);
	}

	/* An unreadable file (only unreadable when not root). */
	put_file(tpath("/src/unreadable"), "U", 0000);
}

static void test_output_checks(void)
{
	struct bundle *b = NULL;

	mk(tpath("/full"), 0755);
	put_file(tpath("/full/x"), "x", 0644);
	is_int(bundle_new(tpath("/full"), NULL, &b), -ENOTEMPTY, "non-empty output refused");
	ok(!b, "no bundle on failure");
	is_int(count_prefixed(base, "full.magicpak-"), 0, "no staging left after a refusal");

	mk(tpath("/empty"), 0755);
	ln_s(tpath("/empty"), tpath("/outlink"));
	ok(bundle_new(tpath("/outlink"), NULL, &b) < 0, "symlink output refused");
	ok(bundle_new(tpath("/outlink/"), NULL, &b) < 0, "symlink output with a slash refused");
	is_int(bundle_new(tpath("/full/x"), NULL, &b), -ENOTDIR, "file output refused");
	ok(bundle_new(tpath("/nodir/out"), NULL, &b) < 0, "output in a missing directory refused");
	is_int(bundle_new("/", NULL, &b), -EINVAL, "root output refused");

	/* An existing empty directory is written into at commit (its mode and owner kept). */
	is_int(bundle_new(tpath("/empty/"), NULL, &b), 0, "empty output directory accepted");
	is_int(count_prefixed(tpath("/empty"), ".magicpak-"), 1, "staging is hidden inside it");
	is_int(count_prefixed(base, "empty.magicpak-"), 0, "and not a sibling");
	is_int(bundle_add(b, tpath("/src/payload"), NULL), 0, "add into empty-dir output");
	is_int(bundle_commit(b), 0, "commit onto an empty directory");
	bundle_free(b);
	is_str(content(opath(tpath("/empty"), tpath("/src/payload"))), "PAYLOAD",
	       "committed content in place");
	is_int(count_prefixed(tpath("/empty"), ".magicpak-"), 0, "staging gone after commit");
	is_int(mode_of(tpath("/empty")), 0755, "bundle root is 0755");

	/* Output filled behind our back between new and commit. */
	b = NULL;
	mk(tpath("/race"), 0755);
	is_int(bundle_new(tpath("/race"), NULL, &b), 0, "bundle on empty dir");
	put_file(tpath("/race/intruder"), "i", 0644);
	ok(bundle_commit(b) < 0, "commit refuses an output filled meanwhile");
	bundle_free(b);
	is_int(count_entries(tpath("/race")), 1, "intruder's directory untouched");
	is_int(count_prefixed(base, "race.magicpak-"), 0, "staging removed after a failed commit");
}

static void test_main_bundle(void)
{
	struct strvec ex = STRVEC_INIT;
	struct bundle_opts opts = { .excludes = &ex };
	struct bundle *b = NULL;
	char *out = xstrdup(tpath("/out"));
	struct stat sa, sb;
	int r;

	strvec_push(&ex, "**/*.excluded");
	strvec_push(&ex, tpath("/src/tree/d/z"));
	is_int(bundle_new(out, &opts, &b), 0, "bundle_new on a missing output");
	if (!b)
		return;
	ok(!exists(out), "output only appears at commit");

	/* Symlink chain. */
	is_int(bundle_add(b, tpath("/src/bin/awk"), NULL), 0, "add a symlink chain");
	is_int(bundle_add(b, tpath("/src/bin/awk"), NULL), 0, "adding it again is a no-op");
	ok(bundle_has(b, tpath("/src/bin/awk")), "bundle_has the requested path");
	ok(bundle_has(b, tpath("/src/bin/mawk")), "bundle_has the chain's end");
	ok(!bundle_has(b, tpath("/src/bin/nothing")), "bundle_has is false for other paths");

	/* Merged /usr through a directory symlink, then a link to a link. */
	is_int(bundle_add(b, tpath("/src/root/lib/libx.so"), NULL), 0,
	       "add through lib -> usr/lib");
	is_int(bundle_add(b, tpath("/src/root/usr/lib64"), NULL), 0, "add ../lib/libx.so chain");

	/* Modes. */
	is_int(bundle_add(b, tpath("/src/modes/private"), NULL), 0, "add 0640 file in 0750 dir");
	is_int(bundle_add(b, tpath("/src/modes/suid"), NULL), 0, "add setuid file");
	is_int(bundle_add(b, tpath("/src/modes/sgid"), NULL), 0, "add setgid file");
	is_int(bundle_add(b, tpath("/src/modes/ro/sub/f"), NULL), 0, "add below a 0555 dir");
	is_int(bundle_add(b, tpath("/src/modes/sticky"), NULL), 0, "add a sticky dir");
	is_int(bundle_add(b, tpath("/src/modes/hl_a"), NULL), 0, "add first hard link");
	is_int(bundle_add(b, tpath("/src/modes/hl_b"), NULL), 0, "add second hard link");

	/* Excludes. */
	is_int(bundle_add(b, tpath("/src/ex/link"), NULL), 0, "add link to an excluded file");
	is_int(bundle_add(b, tpath("/src/ex/plain.excluded"), NULL), 0, "add an excluded file");
	is_int(bundle_add(b, tpath("/src/ex/nolink"), NULL), 0, "add link to a kept file");

	/* Special files: must not block (alarm kills the test if it does). */
	alarm(20);
	is_int(bundle_add(b, tpath("/src/fifo"), NULL), 0, "FIFO skipped");
	is_int(bundle_add(b, "/dev/null", NULL), 0, "/dev/null skipped");
	is_int(bundle_add(b, "/dev/zero", NULL), 0, "/dev/zero skipped");
	is_int(bundle_add(b, "/proc/self/maps", NULL), 0, "/proc path skipped");
	is_int(bundle_add(b, "/sys/kernel", NULL), 0, "/sys path skipped");
	alarm(0);

	/* Errors and odd links. */
	is_int(bundle_add(b, tpath("/src/loop1"), NULL), -ELOOP, "symlink loop is ELOOP");
	is_int(bundle_add(b, tpath("/src/dangling"), NULL), 0, "dangling link kept with a warning");
	is_int(bundle_add(b, tpath("/src/missing"), NULL), -ENOENT, "missing source is an error");
	is_int(bundle_add(b, "relative/path", NULL), -EINVAL, "relative source refused");
	is_int(bundle_add(b, tpath("/src/payload/x"), NULL), -ENOTDIR, "file used as a directory");
	if (geteuid() == 0) {
		skip("root reads mode 0000 files");
	} else {
		r = bundle_add(b, tpath("/src/unreadable"), NULL);
		is_int(r, -EACCES, "unreadable source is an error");
	}

	/* install-to: content of the resolved source at another path, ".." clamped. */
	is_int(bundle_add(b, tpath("/src/bin/awk"), "/usr/bin/awk"), 0, "install-to");
	is_int(bundle_add(b, tpath("/src/payload"), "../../../x/payload"), 0, "install-to with ..");
	is_int(bundle_add(b, tpath("/src/root/lib"), "/opt/libdir"), 0,
	       "install-to of a directory");

	/* A tree, with sorted, non-followed content. */
	alarm(20);
	is_int(bundle_add_tree(b, tpath("/src/tree"), NULL), 0, "add a tree");
	alarm(0);

	is_int(bundle_add_tree(b, tpath("/src/tree"), "/copy"), 0, "add a tree elsewhere");
	is_int(bundle_write_file(b, tpath("/src/late/gen"), "G", 1, 0644), 0, "parent made early");
	is_int(bundle_add(b, tpath("/src/late/f"), NULL), 0, "then its host directory");
	is_int(bundle_add(b, tpath("/src/exonly/deep/f.excluded"), NULL), 0, "add excluded deep");
	is_int(bundle_add(b, tpath("/src/sparse"), NULL), 0, "add a sparse file");

	/* Generated files: written, replaced, never half-written. */
	is_int(bundle_write_file(b, "/etc/ld.so.cache", "CACHE1", 6, 0644), 0, "write a file");
	is_int(bundle_write_file(b, "etc/ld.so.cache", "CACHE2", 6, 0600), 0, "replace it");
	is_int(bundle_mkdir(b, "/var/tmp/x"), 0, "bundle_mkdir with parents");
	ok(bundle_has(b, "/var/tmp"), "bundle_has a parent made by bundle_mkdir");

	is_int(bundle_commit(b), 0, "commit to a new output");
	bundle_free(b);
	is_int(count_prefixed(base, "out.magicpak-"), 0, "no staging left");

	/* Chain recreated verbatim. */
	is_str(read_link(opath(out, tpath("/src/bin/awk"))), tpath("/src/etc/alternatives/awk"),
	       "absolute link target kept");
	is_str(read_link(opath(out, tpath("/src/etc/alternatives/awk"))), "../../bin/mawk",
	       "relative link target kept");
	is_str(content(opath(out, tpath("/src/bin/mawk"))), "MAWK", "chain end copied");
	is_int(mode_of(opath(out, tpath("/src/bin/mawk"))), 0755, "chain end mode kept");

	is_str(read_link(opath(out, tpath("/src/root/lib"))), "usr/lib",
	       "lib -> usr/lib recreated");
	ok(is_type(opath(out, tpath("/src/root/usr/lib")), S_IFDIR), "usr/lib is a directory");
	is_str(read_link(opath(out, tpath("/src/root/usr/lib/libx.so"))), "libx.so.1",
	       "library symlink recreated at its real place");
	is_str(content(opath(out, tpath("/src/root/usr/lib/libx.so.1"))), "LIBX", "library copied");
	is_str(content(opath(out, tpath("/src/root/lib/libx.so.1"))), "LIBX",
	       "reachable through lib");
	is_str(read_link(opath(out, tpath("/src/root/usr/lib64"))), "../lib/libx.so",
	       "lib64 link kept");

	is_int(mode_of(opath(out, tpath("/src/modes"))), 0750, "directory mode kept");
	is_int(mode_of(opath(out, tpath("/src/modes/private"))), 0640, "file mode kept");
	is_int(mode_of(opath(out, tpath("/src/modes/suid"))), 0755, "setuid stripped");
	is_int(mode_of(opath(out, tpath("/src/modes/sgid"))), 0711, "setgid stripped");
	is_int(mode_of(opath(out, tpath("/src/modes/ro"))), 0555,
	       "read-only dir mode applied at commit");
	is_str(content(opath(out, tpath("/src/modes/ro/sub/f"))), "F",
	       "file below a read-only dir");
	is_int(mode_of(opath(out, tpath("/src/modes/sticky"))), 01777, "sticky dir mode kept");
	ok(!lstat(opath(out, tpath("/src/modes/hl_a")), &sa) &&
		   !lstat(opath(out, tpath("/src/modes/hl_b")), &sb) && sa.st_ino == sb.st_ino &&
		   sa.st_nlink == 2,
	   "hard link kept (same inode)");

	is_str(read_link(opath(out, tpath("/src/ex/link"))), "real.excluded",
	       "link to excluded kept");
	ok(!exists(opath(out, tpath("/src/ex/real.excluded"))), "excluded chain target not copied");
	ok(!exists(opath(out, tpath("/src/ex/plain.excluded"))), "excluded file not copied");
	is_str(content(opath(out, tpath("/src/ex/secret"))), "SECRET",
	       "non-excluded target copied");

	ok(!exists(opath(out, tpath("/src/fifo"))), "FIFO not bundled");
	ok(!exists(opath(out, "/dev")), "/dev not bundled");
	ok(!exists(opath(out, "/proc")), "/proc not bundled");
	ok(!exists(opath(out, "/sys")), "/sys not bundled");
	is_str(read_link(opath(out, tpath("/src/loop1"))), "loop2", "loop link kept");
	is_str(read_link(opath(out, tpath("/src/dangling"))), "does-not-exist",
	       "dangling link kept");

	is_str(content(opath(out, "/usr/bin/awk")), "MAWK", "install-to copies the resolved file");
	ok(is_type(opath(out, "/usr/bin/awk"), S_IFREG), "install-to gives a regular file");
	is_str(content(opath(out, "/x/payload")), "PAYLOAD", "install-to with .. clamped to root");
	ok(is_type(opath(out, "/opt/libdir"), S_IFDIR), "install-to of a directory");

	is_str(content(opath(out, tpath("/src/tree/a"))), "A", "tree file copied");
	ok(is_type(opath(out, tpath("/src/tree/d")), S_IFDIR), "tree subdir created");
	is_int(mode_of(opath(out, tpath("/src/tree/d"))), 0700, "tree subdir mode");
	ok(!exists(opath(out, tpath("/src/tree/d/z"))), "tree exclude by exact path");
	ok(!exists(opath(out, tpath("/src/tree/skip.excluded"))), "tree exclude by glob");
	is_str(read_link(opath(out, tpath("/src/tree/etc"))), "/etc", "tree symlink not followed");
	ok(!exists(opath(out, "/etc/passwd")), "tree link target not copied");
	ok(!exists(opath(out, tpath("/src/tree/fifo"))), "tree FIFO skipped");

	is_str(content(opath(out, "/copy/a")), "A", "tree copied to another place");
	is_str(read_link(opath(out, "/copy/etc")), "/etc", "its symlink kept");
	is_int(mode_of(opath(out, "/copy/d")), 0700, "its directory mode kept");
	is_int(mode_of(opath(out, tpath("/src/late"))), 0710, "early parent gets the host mode");
	is_str(content(opath(out, tpath("/src/late/gen"))), "G", "early file still there");
	ok(!exists(opath(out, tpath("/src/exonly"))), "no directories made for an excluded path");
	if (lstat(tpath("/src/sparse"), &sa) || sa.st_blocks * 512 >= (1 << 20)) {
		skip("no sparse files on this file system");
	} else {
		ok(!lstat(opath(out, tpath("/src/sparse")), &sb) && sb.st_size == (64 << 20) + 3 &&
			   sb.st_blocks * 512 < (1 << 20),
		   "sparse file stays sparse (%lld blocks)", (long long)sb.st_blocks);
		is_str(content(opath(out, tpath("/src/sparse"))), "", "hole reads as zeros");
	}

	is_str(content(opath(out, "/etc/ld.so.cache")), "CACHE2", "generated file replaced");
	is_int(mode_of(opath(out, "/etc/ld.so.cache")), 0600, "generated file mode");
	ok(is_type(opath(out, "/var/tmp/x"), S_IFDIR), "bundle_mkdir made the directory");
	tmp_found = 0;
	nftw(out, find_tmp, 16, FTW_PHYS);
	is_int(tmp_found, 0, "no temporary files left in the output");
	strvec_clear(&ex);
	free(out);
}

/* A symlink inside the bundle pointing outside (absolute) must never carry a write out. */
static void test_containment(void)
{
	struct strvec ex = STRVEC_INIT;
	struct bundle_opts opts = { .excludes = &ex };
	struct bundle *b = NULL;
	char *out = xstrdup(tpath("/contain"));
	char *sentinel = xstrdup(tpath("/sentinel"));

	is_int(bundle_new(out, NULL, &b), 0, "containment bundle");
	if (!b)
		return;
	is_int(bundle_add(b, tpath("/src/evil"), NULL), 0, "add link to an absolute directory");
	is_int(bundle_add(b, tpath("/src/payload"), tpath("/src/evil/pwn")), 0,
	       "install-to through it");
	is_int(bundle_write_file(b, tpath("/src/evil/gen"), "G", 1, 0644), 0, "write through it");
	is_int(bundle_mkdir(b, tpath("/src/evil/newdir")), 0, "mkdir through it");
	is_int(bundle_add(b, tpath("/src/rootlink"), NULL), 0, "add link to /");
	is_int(bundle_write_file(b, opath(tpath("/src/rootlink"), tpath("/sentinel/viaroot")), "R",
				 1, 0644),
	       0, "write through a link to /");
	is_int(bundle_commit(b), 0, "commit");
	bundle_free(b);

	is_int(count_entries(sentinel), 0, "sentinel outside the bundle untouched");
	is_str(read_link(opath(out, tpath("/src/evil"))), sentinel, "hostile link kept verbatim");
	is_str(content(opath(out, tpath("/sentinel/pwn"))), "PAYLOAD", "install-to landed inside");
	is_str(content(opath(out, tpath("/sentinel/gen"))), "G", "generated file landed inside");
	ok(is_type(opath(out, tpath("/sentinel/newdir")), S_IFDIR), "directory landed inside");
	is_str(content(opath(out, tpath("/sentinel/viaroot"))), "R",
	       "write through / landed inside");

	/* The link's target excluded: the bundle holds a dangling absolute link. */
	b = NULL;
	strvec_push(&ex, tpath("/sentinel"));
	is_int(bundle_new(tpath("/contain2"), &opts, &b), 0, "second containment bundle");
	if (!b)
		return;
	is_int(bundle_add(b, tpath("/src/evil"), NULL), 0, "add link, target excluded");
	ok(bundle_write_file(b, tpath("/src/evil/gen"), "G", 1, 0644) < 0, "write through a "
									   "dangling link fails");
	ok(bundle_mkdir(b, tpath("/src/evil/sub")) < 0, "mkdir through a dangling link fails");
	ok(bundle_add(b, tpath("/src/payload"), tpath("/src/evil/pwn")) < 0, "install-to through a "
									     "dangling link fails");
	is_int(count_entries(sentinel), 0, "sentinel still untouched");

	/* Uncommitted: everything goes away. */
	bundle_free(b);
	ok(!exists(tpath("/contain2")), "uncommitted output never appears");
	is_int(count_prefixed(base, "contain2.magicpak-"), 0, "uncommitted staging removed");
	strvec_clear(&ex);
	free(out);
	free(sentinel);
}

static void test_free_uncommitted(void)
{
	struct bundle *b = NULL;

	is_int(bundle_new(tpath("/never"), NULL, &b), 0, "bundle to abandon");
	if (!b)
		return;
	bundle_add(b, tpath("/src/modes/ro/sub/f"), NULL);
	bundle_add(b, tpath("/src/root/lib/libx.so"), NULL);
	bundle_free(b);
	bundle_free(NULL);
	ok(!exists(tpath("/never")), "abandoned output never appears");
	is_int(count_prefixed(base, "never.magicpak-"), 0, "abandoned staging removed");
}

int main(void)
{
	char tmpl[] = "/tmp/test_bundle.XXXXXX";

	/* Warnings are expected here; only show errors. */
	log_level = LOG_ERROR;
	base = mkdtemp(tmpl);
	if (!base) {
		printf("Bail out! cannot create a temporary directory\n");
		return 1;
	}
	umask(022);
	make_sources();
	test_output_checks();
	test_main_bundle();
	test_containment();
	test_free_uncommitted();
	/* Read-only directories (as in the bundle) must be opened up first when not root. */
	nftw(base, make_writable, 16, FTW_PHYS);
	ok(nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0, "temporary tree removed");
	return done_testing();
}
