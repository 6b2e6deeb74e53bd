/* SPDX-License-Identifier: MIT */
/* tests/unit/test_store.c - store.c on real database files in a temporary directory: the
 * schema and views read back with the sqlite3 shell, folding and batching, odd path bytes,
 * foreign and newer files left untouched, 8 concurrent writers, kill -9 mid-write, a
 * read-only file system, a full disk and an unwritable directory.
 * Reliability cases: SQL-01, SQL-02, SQL-03, SQL-06, SQL-07, SQL-10. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "store.h"
#include "strbuf.h"
#include "tap.h"
#include "xalloc.h"

#define T0 1714564800123456789ull /* 2024-05-01T12:00:00.123456789Z */
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static char *base; /* mkdtemp() directory */

/* "<base>/<name>", owned by a ring of buffers that this test never wraps. */
static const char *tpath(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *tpath(const char *fmt, ...)
{
	static char bufs[256][4096]; /* enough never to wrap in this test */
	static int i;
	char rel[2048];
	va_list ap;
	char *b = bufs[i++ % 256];

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(b, sizeof(bufs[0]), "%s/%s", base, rel);
	return b;
}

/* printf into a ring of buffers, for SQL and expected rows. */
static const char *tsql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *tsql(const char *fmt, ...)
{
	static char bufs[8][1024];
	static int i;
	char *b = bufs[i++ % 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(bufs[0]), fmt, ap);
	va_end(ap);
	return b;
}

/* Run a command, return its stdout (and stderr) without the final newline; owned. */
static char *run_cmd(const char *cmd)
{
	struct strbuf out = STRBUF_INIT;
	char buf[4096];
	size_t n;
	FILE *f;

	fflush(stdout);
	f = popen(cmd, "r");
	if (!f)
		return xstrdup("(popen failed)");
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&out, buf, n);
	pclose(f);
	strbuf_adds(&out, "");
	while (out.len && out.buf[out.len - 1] == '\n')
		out.buf[--out.len] = '\0';
	return strbuf_detach(&out);
}

/* The sqlite3 shell's answer to @sql on @db ('|' separated, one row a line); owned. */
static char *sq(const char *db, const char *sql)
{
	struct strbuf cmd = STRBUF_INIT;
	char *out;

	strbuf_adds(&cmd, "sqlite3 -batch -noheader ");
	strbuf_add_shell_word(&cmd, db);
	strbuf_addch(&cmd, ' ');
	strbuf_add_shell_word(&cmd, sql);
	strbuf_adds(&cmd, " 2>&1");
	out = run_cmd(cmd.buf);
	strbuf_release(&cmd);
	return out;
}

/* is_str() on the shell's answer, freeing it. */
#define is_sq(db, sql, want, ...)                          \
	({                                                  \
		char *sq_got_ = sq(db, sql);                \
		int sq_r_ = is_str(sq_got_, want, __VA_ARGS__); \
		free(sq_got_);                              \
		sq_r_;                                      \
	})

static char *sha256(const char *path)
{
	struct strbuf cmd = STRBUF_INIT;
	char *out;

	strbuf_adds(&cmd, "sha256sum < ");
	strbuf_add_shell_word(&cmd, path);
	out = run_cmd(cmd.buf);
	strbuf_release(&cmd);
	return out;
}

static bool exists(const char *path)
{
	struct stat sb;

	return !lstat(path, &sb);
}

/* Capture what the store logs on stderr between capture_begin() and capture_end(). */
static int saved_stderr = -1;
static const char *capture_file(void)
{
	static char buf[4200];

	snprintf(buf, sizeof(buf), "%s/stderr.txt", base);
	return buf;
}

static void capture_begin(void)
{
	int fd = open(capture_file(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	fflush(stderr);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

static char *capture_end(void)
{
	struct strbuf cmd = STRBUF_INIT;
	char *out;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	strbuf_adds(&cmd, "cat ");
	strbuf_add_shell_word(&cmd, capture_file());
	out = run_cmd(cmd.buf);
	strbuf_release(&cmd);
	return out;
}

static const char *const test_argv[] = { "python3", "-c", "print('hi')", NULL };

static int begin(struct store *st, const char *label, int64_t *id)
{
	struct store_session s = { label, test_argv, "/home/u", MP_SRC_PTRACE, "testhost" };

	return store_session_begin(st, &s, id);
}

struct collected {
	struct strbuf paths; /* "path\top\n" ... */
	int n;
};

static int collect(void *ctx, const char *path, int op)
{
	struct collected *c = ctx;

	strbuf_addf(&c->paths, "%s\t%d\n", path, op);
	c->n++;
	return 0;
}

/* ---- the basic round trip ---- */

static const char odd_path[] = "/tmp/a'b\n\xff\xfe\"); DROP TABLE paths;--";

static void test_round_trip(void)
{
	const char *db = tpath("basic.db");
	struct collected c = { STRBUF_INIT, 0 };
	struct store *st = NULL;
	int64_t id = 0, found = 0;
	const char *const cat_argv[] = { "cat", "a b", NULL };
	bool complete = false;
	char *why = NULL;
	int ret;

	ret = store_open(db, &st);
	if (!is_int(ret, 0, "store_open creates a new file"))
		return;
	is_int(store_add_access(st, 1, MP_OP_OPEN, "/x", 0, 0, MP_SRC_PTRACE, T0), -EINVAL,
	       "an access outside a session is refused");
	is_int(begin(st, "basic", &id), 0, "store_session_begin");
	is_int(id, 1, "the first session has id 1");
	ok(!store_session_complete(st, id, &complete, &why) && !complete && why &&
		   !strcmp(why, "running"),
	   "a begun session is incomplete, reason 'running'");
	free(why);
	why = NULL;
	is_sq(db, "SELECT complete, incomplete_reason FROM sessions", "0|running",
	      "the session row is committed before any access");
	is_int(begin(st, "again", &found), -EBUSY, "a second begin while one is current");

	ret = 0;
	ret |= store_proc_start(st, 100, 0, "/home/u", T0);
	ret |= store_proc_exec(st, 100, "/usr/bin/python3", test_argv, NULL, T0 + 1000000);
	ret |= store_proc_start(st, 101, 100, "/home/u", T0 + 2000000);
	ret |= store_proc_exec(st, 101, "/bin/cat", cat_argv, "/tmp", T0 + 3000000);
	ret |= store_proc_exit(st, 101, 130, T0 + 4000000);
	ret |= store_add_access(st, 100, MP_OP_EXEC, "/usr/bin/python3", 0, 0, MP_SRC_PTRACE, T0);
	for (int i = 0; i < 5; i++)
		ret |= store_add_access(st, 100, MP_OP_OPEN, "/etc/passwd", 0, 0, MP_SRC_PTRACE,
					T0 + (uint64_t)i * 1000000000u);
	ret |= store_add_access(st, 100, MP_OP_OPEN, "/etc/passwd", 0x241, 0, MP_SRC_PTRACE, T0);
	ret |= store_add_access(st, 100, MP_OP_STAT, "/etc/passwd", 0, 0, MP_SRC_PTRACE, T0);
	ret |= store_add_access(st, 100, MP_OP_OPEN, "/nonexistent", 0, ENOENT, MP_SRC_PTRACE, T0);
	ret |= store_add_access(st, 101, MP_OP_OPEN, odd_path, 0, 0, MP_SRC_PRELOAD, T0);
	ret |= store_add_access(st, 101, MP_OP_READDIR, "/tmp", 0, 0, MP_SRC_BPF, T0);
	ret |= store_file_version(st, "/usr/bin/python3", 'f', 12345, (int64_t)T0, 42, EMPTY_SHA);
	ret |= store_file_version(st, odd_path, 'f', 1, (int64_t)T0, 43, NULL);
	is_int(ret, 0, "process, access and file-version calls succeed");
	is_int(store_add_access(st, 100, 0, "/x", 0, 0, MP_SRC_PTRACE, T0), -EINVAL,
	       "op 0 is refused");
	is_int(store_add_access(st, 100, MP_OP_MAX, "/x", 0, 0, MP_SRC_PTRACE, T0), -EINVAL,
	       "op MP_OP_MAX is refused");
	is_sq(db, "SELECT count(*) FROM accesses", "0", "accesses are buffered before a flush");
	is_int(store_flush(st), 0, "store_flush");
	is_sq(db, "SELECT count(*) FROM accesses", "7", "7 distinct rows after the flush");
	is_int(store_flush(st), 0, "an empty flush");
	ret = store_add_access(st, 100, MP_OP_OPEN, "/etc/passwd", 0, 0, MP_SRC_PTRACE, T0);
	ret |= store_proc_exit(st, 100, 0, T0 + 9000000000u);
	is_int(ret, 0, "more after the flush");
	is_int(store_session_end(st, 3, true, NULL), 0, "store_session_end");
	is_int(store_add_access(st, 1, MP_OP_OPEN, "/x", 0, 0, MP_SRC_PTRACE, T0), -EINVAL,
	       "no current session after the end");

	/* The API's view of it. */
	ok(!store_session_complete(st, id, &complete, &why) && complete && !why,
	   "the ended session is complete");
	ok(!store_find_session(st, "last", &found) && found == id, "find 'last'");
	ok(!store_find_session(st, "basic", &found) && found == id, "find by label");
	ok(!store_find_session(st, "1", &found) && found == id, "find by id");
	is_int(store_find_session(st, "2", &found), -ENOENT, "a missing id is -ENOENT");
	is_int(store_find_session(st, "nope", &found), -ENOENT, "a missing label is -ENOENT");
	is_int(store_session_paths(st, 99, collect, &c), -ENOENT, "paths of a missing session");
	is_int(store_session_paths(st, id, collect, &c), 0, "store_session_paths");
	{
		struct strbuf want = STRBUF_INIT;

		strbuf_addf(&want, "/etc/passwd\t%d\n/etc/passwd\t%d\n", MP_OP_OPEN, MP_OP_STAT);
		strbuf_addf(&want, "/tmp\t%d\n", MP_OP_READDIR);
		strbuf_addf(&want, "%s\t%d\n", odd_path, MP_OP_OPEN);
		strbuf_addf(&want, "/usr/bin/python3\t%d\n", MP_OP_EXEC);
		is_str(c.paths.buf, want.buf, "successful (path, op) pairs, sorted by bytes, "
		       "the odd path byte for byte, the failed path left out");
		strbuf_release(&want);
	}
	store_free(st);
	st = NULL;

	/* The public interface, as a user of the sqlite3 shell sees it. */
	is_sq(db, "PRAGMA user_version", "2", "user_version 2");
	is_sq(db, "PRAGMA journal_mode", "wal", "WAL mode");
	is_sq(db, "SELECT value FROM magicpak_meta WHERE key = 'format'", "magicpak",
	      "the magicpak_meta marker");
	is_sq(db, "SELECT group_concat(name, ',') FROM (SELECT name FROM ops ORDER BY id)",
	      "open,exec,stat,access,readlink,chdir,mkdir,unlink,rename_from,rename_to,"
	      "link_from,link_to,symlink,truncate,chmod,chown,utime,mknod,readdir,dlopen,"
	      "connect,bind,watch,xattr,mount,mount_from,umount",
	      "ops named in enum mp_op order");
	is_sq(db, "SELECT label, argv, json_array_length(argv), cwd, exit_status, source, host,"
		  " complete, incomplete_reason IS NULL, events, files, processes FROM sessions",
	      "basic|[\"python3\",\"-c\",\"print('hi')\"]|3|/home/u|3|ptrace|testhost|1|1|12|4|2",
	      "the sessions row: argv as JSON, counts");
	is_sq(db, "SELECT (SELECT sum(count) FROM file_accesses WHERE session_id = 1) || ' ' ||"
		  " (SELECT count(*) FROM session_files WHERE session_id = 1)",
	      "12 4", "the counts agree with the views");
	is_sq(db, "SELECT started_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T"
		  "[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z' AND ended_at >= started_at"
		  " FROM sessions",
	      "1", "session times are ISO-8601 UTC with milliseconds");
	is_sq(db, "SELECT pid, op, flags, errno, source, time, last_time, count FROM file_accesses"
		  " WHERE path = '/etc/passwd' ORDER BY op, flags, count",
	      "100|open|0|0|ptrace|2024-05-01T12:00:00.123Z|2024-05-01T12:00:04.123Z|6\n"
	      "100|open|577|0|ptrace|2024-05-01T12:00:00.123Z|2024-05-01T12:00:00.123Z|1\n"
	      "100|stat|0|0|ptrace|2024-05-01T12:00:00.123Z|2024-05-01T12:00:00.123Z|1",
	      "identical accesses folded with count and first/last time, across a flush");
	is_sq(db, "SELECT op, errno FROM file_accesses WHERE path = '/nonexistent'", "open|2",
	      "a failed access is kept with its errno");
	is_sq(db, "SELECT count(*) FROM session_files WHERE path = '/nonexistent'", "0",
	      "a failed access is not in session_files");
	is_sq(db, "SELECT hex(path), source FROM file_accesses WHERE pid = 101 AND op = 'open'",
	      "2F746D702F6127620AFFFE22293B2044524F50205441424C452070617468733B2D2D|preload",
	      "a path with a quote, newline, \\xff and SQL stored byte for byte");
	is_sq(db, "SELECT source FROM file_accesses WHERE op = 'readdir'", "bpf",
	      "the source named");
	is_sq(db, "SELECT pid, ifnull(parent_pid, '-'), executable, argv, cwd, exit_status,"
		  " started_at, ifnull(ended_at, '-') FROM processes ORDER BY pid",
	      "100|-|/usr/bin/python3|[\"python3\",\"-c\",\"print('hi')\"]|/home/u|0|"
	      "2024-05-01T12:00:00.123Z|2024-05-01T12:00:09.123Z\n"
	      "101|100|/bin/cat|[\"cat\",\"a b\"]|/tmp|130|2024-05-01T12:00:00.125Z|"
	      "2024-05-01T12:00:00.127Z",
	      "processes: parent, last exec, argv JSON, cwd, shell-style exit status, times");
	is_sq(db, "SELECT p.path, v.type, v.size, v.mtime, v.mtime_ns, v.inode,"
		  " ifnull(v.sha256, '-') FROM file_versions v JOIN paths p ON p.id = v.path_id"
		  " WHERE p.path = '/usr/bin/python3'",
	      "/usr/bin/python3|f|12345|2024-05-01T12:00:00.123Z|1714564800123456789|42|"
	      EMPTY_SHA,
	      "file_versions: type, size, mtime, inode, sha256");
	is_sq(db, "PRAGMA integrity_check", "ok", "integrity_check");
	strbuf_release(&c.paths);

	/* Reopen: a current schema is used as it is; the next session gets id 2. */
	if (!is_int(store_open(db, &st), 0, "reopen an existing magicpak database"))
		return;
	ok(!begin(st, "basic", &id) && id == 2, "a second session, same label");
	store_add_access(st, 7, MP_OP_OPEN, "/etc/hosts", 0, 0, MP_SRC_PTRACE, T0);
	is_int(store_session_end(st, 1, false, "events_dropped=3"), 0, "end it incomplete");
	ok(!store_find_session(st, "basic", &found) && found == 2, "a label finds the latest");
	ok(!store_session_complete(st, 2, &complete, &why) && !complete && why &&
		   !strcmp(why, "events_dropped=3"),
	   "its reason is kept");
	free(why);
	store_free(st);
	is_sq(db, "SELECT count(*) FROM ops", "27", "reopening does not migrate again");
	/* The delete trigger removes a session's rows whatever the foreign_keys setting (with
	 * it on, the cascade to access_batches runs before AFTER triggers). */
	is_sq(db, "PRAGMA foreign_keys = ON; DELETE FROM sessions WHERE id = 2;"
		  " SELECT count(*) FROM accesses; SELECT count(*) FROM access_batches;"
		  " SELECT count(*) FROM processes; SELECT count(*) FROM sessions",
	      "7\n1\n2\n1", "deleting a session deletes its accesses, batches and processes");

	/* Read-only. */
	is_int(store_open_readonly(tpath("missing.db"), &st), -ENOENT,
	       "read-only open of a missing file");
	if (is_int(store_open_readonly(db, &st), 0, "read-only open")) {
		ok(!store_find_session(st, "last", &found) && found == 1, "queries work read-only");
		is_int(begin(st, "x", &id), -EROFS, "writes are refused read-only");
		store_free(st);
	}
}

/* ---- files that are not ours ---- */

static void check_refused(const char *db, int want, const char *what)
{
	struct store *st = NULL;
	char *before = sha256(db), *after, *msg;
	int ret;

	capture_begin();
	ret = store_open(db, &st);
	msg = capture_end();
	after = sha256(db);
	is_int(ret, want, "%s is refused", what);
	is_str(after, before, "%s is left byte for byte", what);
	ok(strstr(msg, db) && !strchr(msg, '\n'), "%s: one line naming the file: %s", what, msg);
	ok(!exists(tpath("%s-wal", strrchr(db, '/') + 1)) &&
		   !exists(tpath("%s-shm", strrchr(db, '/') + 1)),
	   "%s: no -wal or -shm left behind", what);
	store_free(st);
	free(before);
	free(after);
	free(msg);
}

static void test_foreign(void)
{
	const char *rnd = tpath("random.db"), *other = tpath("other.db"),
		   *newer = tpath("newer.db"), *hdr = tpath("header.db"), *zero = tpath("zero.db");
	struct store *st = NULL;
	char *out, cmd[8192];
	int64_t id;
	int fd;

	snprintf(cmd, sizeof(cmd), "head -c 1048576 /dev/urandom > '%s'", rnd);
	out = run_cmd(cmd);
	free(out);
	check_refused(rnd, -EINVAL, "1 MiB of random bytes");

	out = sq(other, "PRAGMA journal_mode = WAL; CREATE TABLE runs (id INTEGER PRIMARY KEY,"
			" cmd TEXT); INSERT INTO runs (cmd) VALUES ('make')");
	free(out);
	check_refused(other, -EINVAL, "another application's WAL database");

	/* A magicpak file from a newer magicpak: the current one with user_version 3. */
	if (!store_open(newer, &st)) {
		begin(st, "n", &id);
		store_session_end(st, 0, true, NULL);
		store_free(st);
		st = NULL;
	}
	out = sq(newer, "PRAGMA journal_mode = DELETE; PRAGMA user_version = 3");
	free(out);
	check_refused(newer, -ENOTSUP, "a newer schema version");

	/* A database whose page size (bytes 16-17) was damaged. */
	out = sq(hdr, "CREATE TABLE t (x); INSERT INTO t VALUES (1)");
	free(out);
	fd = open(hdr, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		ok(pwrite(fd, "\x12\x34", 2, 16) == 2, "damage the page size of a database");
		close(fd);
	}
	check_refused(hdr, -EINVAL, "a damaged header");

	fd = open(zero, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	close(fd);
	ok(!store_open(zero, &st), "a zero-length file is initialised");
	store_free(st);
	is_sq(zero, "PRAGMA user_version", "2", "it has the schema");

	if (!mkdir(tpath("adir.db"), 0755))
		is_int(store_open(tpath("adir.db"), &st), -EISDIR, "a directory is refused");
}

/* ---- ops added after a file was made ---- */

/* A current file an older magicpak made lacks the rows of later ops in the lookup table ops:
 * they are added the next time it is opened for writing, without a new schema version, so the
 * older magicpak still uses the file; a read-only open writes nothing. */
static void test_new_ops(void)
{
	const char *db = tpath("oldops.db");
	struct store *st = NULL;
	char *out, *before;
	int64_t id;

	if (!is_int(store_open(db, &st), 0, "open for the new-ops test"))
		return;
	begin(st, "old", &id);
	store_session_end(st, 0, true, NULL);
	store_free(st);
	st = NULL;
	out = sq(db, "PRAGMA journal_mode = DELETE; DELETE FROM ops WHERE id > 20");
	free(out);
	is_sq(db, "SELECT count(*) FROM ops", "20", "a file with the 20 ops an older magicpak named");
	before = sha256(db);
	if (is_int(store_open_readonly(db, &st), 0, "read-only open of it")) {
		store_free(st);
		st = NULL;
	}
	out = sha256(db);
	is_str(out, before, "a read-only open leaves it byte for byte");
	free(out);
	free(before);
	if (!is_int(store_open(db, &st), 0, "open it for writing"))
		return;
	begin(st, "new", &id);
	store_add_access(st, 7, MP_OP_CONNECT, "/run/s", 0, 2, MP_SRC_PTRACE, T0);
	store_add_access(st, 7, MP_OP_UMOUNT, "/mnt", 0, 0, MP_SRC_PTRACE, T0);
	store_session_end(st, 0, true, NULL);
	store_free(st);
	is_sq(db, "SELECT count(*), max(id) FROM ops", "27|27", "the later ops were added");
	is_sq(db, "PRAGMA user_version", "2", "with the same schema version");
	is_sq(db, "SELECT op, path, errno FROM file_accesses WHERE session_id = 2 ORDER BY path",
	      "umount|/mnt|0\nconnect|/run/s|2", "their accesses are named in file_accesses");
	is_sq(db, "PRAGMA integrity_check", "ok", "integrity_check");
}

/* ---- batches ---- */

static void test_batches(void)
{
	const char *db = tpath("batch.db");
	struct store *st = NULL;
	char path[64];
	int64_t id;
	int ret = 0;

	if (!is_int(store_open(db, &st), 0, "open for the batch test"))
		return;
	begin(st, "batch", &id);
	/* 250,000 distinct rows: two automatic batches of 100,000 and the rest at the end. */
	for (int i = 0; i < 250000 && !ret; i++) {
		snprintf(path, sizeof(path), "/data/%d", i % 50000);
		ret = store_add_access(st, 1000 + i / 50000, MP_OP_STAT, path, 0, 0, MP_SRC_PTRACE,
				       T0 + (uint64_t)i);
	}
	is_int(ret, 0, "250,000 distinct accesses");
	ok(!store_session_complete(st, id, &(bool){ false }, NULL), "session readable mid-way");
	is_sq(db, "SELECT count(*) FROM access_batches", "2", "two batches written on the way");
	is_int(store_session_end(st, 0, true, NULL), 0, "end");
	store_free(st);
	is_sq(db, "SELECT count(*), sum(count) FROM file_accesses WHERE session_id = 1",
	      "250000|250000", "all rows through the view");
	is_sq(db, "SELECT count(*) FROM session_files WHERE session_id = 1", "50000",
	      "50,000 distinct paths");
	is_sq(db, "SELECT events, files FROM sessions", "250000|50000", "the session's counts");
}

/* A repeat of an access already flushed updates its row: one row per key in a session, as
 * file_accesses promises, however often the collector flushes while the command runs. And a
 * store opened by store_open_session() buffers until its thread is done. */
static void test_fold_across_flushes(void)
{
	const char *db = tpath("fold.db");
	struct store_session s = { "fold", test_argv, "/home/u", MP_SRC_PRELOAD, "testhost" };
	struct store *st = NULL;
	int64_t id = 0, id2 = 0;

	if (!is_int(store_open(db, &st), 0, "create the file for the fold test"))
		return;
	store_free(st);
	st = NULL;
	if (!is_int(store_open_session(db, &s, &st), 0, "store_open_session on a current file"))
		return;
	is_int(store_add_access(st, 7, MP_OP_OPEN, "/etc/a", O_RDONLY, 0, MP_SRC_PRELOAD, T0), 0,
	       "an access is buffered before the file is open");
	store_open_start(st);
	is_int(store_flush_some(st, 1000, 0), 0, "store_flush_some below its threshold writes nothing");
	is_int(store_wait(st, &id), 0, "store_wait");
	ok(id > 0, "the session has an id (%lld)", (long long)id);
	is_int(store_flush_some(st, 1, 0), 1, "a flush of the first access");
	is_int(store_add_access(st, 7, MP_OP_OPEN, "/etc/a", O_RDONLY, 0, MP_SRC_PRELOAD, T0 + 5),
	       0, "the same access again");
	is_int(store_add_access(st, 7, MP_OP_OPEN, "/etc/b", O_RDONLY, 0, MP_SRC_PRELOAD, T0 + 6),
	       0, "another one");
	is_int(store_flush_some(st, 1, 0), 1, "a second flush");
	is_int(store_add_access(st, 7, MP_OP_OPEN, "/etc/a", O_RDONLY, 0, MP_SRC_PRELOAD, T0 + 9),
	       0, "the first again, after the second flush");
	is_int(store_session_end(st, 0, true, NULL), 0, "end");
	store_free(st);
	st = NULL;
	is_int(store_open_session(db, &s, &st), 0, "a second session");
	is_int(store_add_access(st, 7, MP_OP_OPEN, "/etc/a", O_RDONLY, 0, MP_SRC_PRELOAD, T0), 0,
	       "the same access in the next session");
	is_int(store_session_end(st, 0, true, NULL), 0, "end it without store_open_start");
	store_free(st);
	id2 = id + 1;
	is_sq(db, tsql("SELECT path, count, first_ns, last_ns FROM accesses a JOIN access_batches b"
		       " ON a.id BETWEEN b.first_id AND b.last_id JOIN paths p ON p.id = a.path_id"
		       " WHERE b.session_id = %lld ORDER BY path", (long long)id),
	      tsql("/etc/a|3|%llu|%llu\n/etc/b|1|%llu|%llu", (unsigned long long)T0,
		   (unsigned long long)T0 + 9, (unsigned long long)T0 + 6, (unsigned long long)T0 + 6),
	      "one row per access key, its count and times kept up to date across flushes");
	is_sq(db, tsql("SELECT count(*), sum(count) FROM file_accesses WHERE session_id = %lld",
		       (long long)id2), "1|1", "the next session starts its own rows");
	is_sq(db, "SELECT count(*) FROM sessions WHERE complete = 1 AND events !="
		  " (SELECT ifnull(sum(count), 0) FROM file_accesses f WHERE f.session_id = sessions.id)",
	      "0", "every complete session has all its events");
}

/* A new file @db with a session @label of @source begun in it: *@st, *@id. False (reported)
 * if not; *@st is then for store_free() (NULL or open). */
static bool begin_in(const char *db, const char *label, int source, struct store **st,
		     int64_t *id)
{
	*st = NULL;
	if (!is_int(store_open(db, st), 0, "create %s", strrchr(db, '/') + 1))
		return false;
	return is_int(store_session_begin(*st, &(struct store_session){ label, test_argv, "/",
					  source, "h" }, id), 0, "begin %s", label);
}

/* store_flush_some() with a cap: 2,500 new rows written 1,000 at a time, store_pending() telling
 * what is left; a repeat of a row not yet written folds into it, one of a written row updates
 * it; the end writes the rest. Every key one row, every access counted. */
static void test_flush_capped(void)
{
	const char *db = tpath("capped.db");
	struct store *st = NULL;
	int64_t id = 0;
	char path[64];
	int bad = 0;

	if (!begin_in(db, "capped", MP_SRC_PRELOAD, &st, &id))
		goto out;
	for (int i = 0; i < 2500; i++) {
		snprintf(path, sizeof(path), "/capped/%d", i);
		bad += store_add_access(st, 9, MP_OP_STAT, path, 0, ENOENT, MP_SRC_PRELOAD, T0 + i) != 0;
	}
	is_int(bad, 0, "2,500 new accesses buffered");
	is_int((int)store_pending(st), 2500, "store_pending: all 2,500");
	is_int(store_flush_some(st, 64, 1000), 1, "a flush capped at 1,000 rows");
	is_int((int)store_pending(st), 1500, "1,500 left");
	is_sq(db, tsql("SELECT count(*) FROM file_accesses WHERE session_id = %lld", (long long)id),
	      "1000", "1,000 rows in the file");
	/* a repeat of a written row (0) and of one not yet written (2400) */
	store_add_access(st, 9, MP_OP_STAT, "/capped/0", 0, ENOENT, MP_SRC_PRELOAD, T0 + 5000);
	store_add_access(st, 9, MP_OP_STAT, "/capped/2400", 0, ENOENT, MP_SRC_PRELOAD, T0 + 5001);
	is_int((int)store_pending(st), 1501, "1,500 new rows and 1 repeated written one pending");
	is_int(store_flush_some(st, 64, 1000), 1, "a second capped flush");
	is_int((int)store_pending(st), 500, "500 left");
	is_int(store_flush_some(st, 1000, 1000), 0, "below its threshold: nothing written");
	is_int(store_session_end(st, 0, true, NULL), 0, "the end writes the rest");
	is_sq(db, tsql("SELECT count(*), sum(count) FROM file_accesses WHERE session_id = %lld",
		       (long long)id), "2500|2502", "each key one row, every access counted");
	is_sq(db, tsql("SELECT p.path, a.count, a.last_ns - %llu FROM accesses a JOIN access_batches b"
		       " ON a.id BETWEEN b.first_id AND b.last_id JOIN paths p ON p.id = a.path_id"
		       " WHERE b.session_id = %lld AND a.count > 1 ORDER BY p.path",
		       (unsigned long long)T0, (long long)id),
	      "/capped/0|2|5000\n/capped/2400|2|5001", "the two repeats folded into their rows");
	is_sq(db, tsql("SELECT count(*) FROM access_batches WHERE session_id = %lld", (long long)id),
	      "3", "three batches, each one range of ids");
out:
	store_free(st);
}

/* Many keys, flushed in ten batches while earlier ones repeat: the folding table grows past its
 * first size with rows written and rows not, and only the rows a flush has not written (or
 * that repeated since) go in, each key one row with every repeat counted. */
static void test_fold_grows_across_flushes(void)
{
	const char *db = tpath("grow.db");
	struct store *st = NULL;
	int64_t id = 0;
	char path[64];
	int bad = 0;

	if (!begin_in(db, "grow", MP_SRC_PTRACE, &st, &id))
		goto out;
	for (int batch = 0; batch < 10; batch++) {
		for (int k = 0; k < 300; k++) {
			int key = batch * 300 + k;

			snprintf(path, sizeof(path), "/g/%d", key);
			bad += store_add_access(st, key % 7, MP_OP_OPEN, path, O_RDONLY, 0,
						MP_SRC_PTRACE, T0 + (uint64_t)key) != 0;
			/* a key of the batch before, written by the last flush, again */
			if (batch) {
				snprintf(path, sizeof(path), "/g/%d", key - 300);
				bad += store_add_access(st, (key - 300) % 7, MP_OP_OPEN, path,
							O_RDONLY, 0, MP_SRC_PTRACE, T0) != 0;
			}
		}
		bad += store_flush(st) != 0;
	}
	is_int(bad, 0, "3,000 keys and 2,700 repeats added, ten flushes");
	is_int(store_session_end(st, 0, true, NULL), 0, "end");
	is_sq(db, tsql("SELECT count(*), count(DISTINCT path), sum(count), max(count) FROM file_accesses"
		       " WHERE session_id = %lld", (long long)id),
	      "3000|3000|5700|2", "one row per key, each repeat counted once");
	is_sq(db, tsql("SELECT count, first_ns, last_ns FROM accesses a JOIN access_batches b"
		       " ON a.id BETWEEN b.first_id AND b.last_id JOIN paths p ON p.id = a.path_id"
		       " WHERE b.session_id = %lld AND path = '/g/2699'", (long long)id),
	      tsql("2|%llu|%llu", (unsigned long long)T0, (unsigned long long)T0 + 2699),
	      "a key repeated after its flush keeps its count and times");
out:
	store_free(st);
}

static void test_free_flushes(void)
{
	const char *db = tpath("free.db");
	struct store *st = NULL;
	int64_t id;

	if (!is_int(store_open(db, &st), 0, "open for the free test"))
		return;
	begin(st, "unended", &id);
	store_proc_start(st, 9, 0, "/", T0);
	store_add_access(st, 9, MP_OP_OPEN, "/a", 0, 0, MP_SRC_PTRACE, T0);
	store_add_access(st, 9, MP_OP_OPEN, "/b", 0, 0, MP_SRC_PTRACE, T0);
	store_free(st);
	is_sq(db, "SELECT (SELECT count(*) FROM file_accesses) || ' ' ||"
		  " (SELECT count(*) FROM processes) || ' ' || complete || ' ' || incomplete_reason"
		  " FROM sessions",
	      "2 1 0 running", "store_free writes pending rows, the session stays incomplete");
}

/* ---- concurrency ---- */

#define WRITERS 8
#define PER_WRITER 10000

static int writer(const char *db, int w)
{
	struct store *st = NULL;
	char label[16], path[64];
	int64_t id;
	int ret;

	snprintf(label, sizeof(label), "w%d", w);
	if ((ret = store_open(db, &st)) || (ret = begin(st, label, &id)))
		goto out;
	for (int i = 0; i < PER_WRITER && !ret; i++) {
		snprintf(path, sizeof(path), "/w/%d/%d", i % 3, i);
		ret = store_add_access(st, 100 + w, MP_OP_OPEN, path, 0, 0, MP_SRC_PTRACE,
				       T0 + (uint64_t)i);
		/* Many small transactions, to make the writers collide. */
		if (!ret && i % 500 == 499)
			ret = store_flush(st);
	}
	if (!ret)
		ret = store_session_end(st, 0, true, NULL);
out:
	store_free(st);
	return ret ? 1 : 0;
}

static void test_concurrent(void)
{
	const char *db = tpath("conc.db");
	pid_t pids[WRITERS];
	int good = 0, status;

	fflush(stdout);
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		if (pids[w] == 0)
			_exit(writer(db, w));
	}
	for (int w = 0; w < WRITERS; w++) {
		if (pids[w] > 0 && waitpid(pids[w], &status, 0) == pids[w] && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			good++;
	}
	is_int(good, WRITERS, "8 concurrent writers into one new file all succeed");
	is_sq(db, "SELECT count(*), sum(complete), sum(events) FROM sessions", "8|8|80000",
	      "8 complete sessions with 10,000 events each");
	is_sq(db, "SELECT count(*) FROM (SELECT session_id, count(*) AS n FROM file_accesses"
		  " GROUP BY session_id HAVING n = 10000 AND count(DISTINCT pid) = 1)",
	      "8", "every session has all its 10,000 rows, none mixed up");
	is_sq(db, "SELECT count(*) FROM paths", "10000",
	      "each path interned once, though all 8 writers used the same 10,000");
	is_sq(db, "PRAGMA integrity_check", "ok", "integrity_check after concurrent writers");
}

/* ---- kill -9 ---- */

static void test_kill(void)
{
	const char *db = tpath("kill.db");
	struct store *st = NULL;
	int64_t id, killed_id;
	int fds[2], status, incomplete = 0, intact = 0;
	bool complete;
	char *why;
	pid_t pid;

	srand((unsigned)getpid());
	for (int round = 0; round < 5; round++) {
		if (pipe(fds))
			break;
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			char path[64];

			close(fds[0]);
			if (store_open(db, &st) || begin(st, "victim", &id))
				_exit(1);
			if (write(fds[1], &id, sizeof(id)) != sizeof(id))
				_exit(1);
			for (unsigned i = 0;; i++) {
				snprintf(path, sizeof(path), "/k/%u", i % 20000);
				store_add_access(st, 5, MP_OP_OPEN, path, 0, 0, MP_SRC_PTRACE,
						 T0 + i);
				if (i % 2000 == 1999 && store_flush(st))
					_exit(1);
			}
		}
		close(fds[1]);
		killed_id = 0;
		if (read(fds[0], &killed_id, sizeof(killed_id)) == sizeof(killed_id))
			usleep((useconds_t)(5000 + rand() % 60000));
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		close(fds[0]);
		if (!killed_id)
			continue;
		{
			char *ic = sq(db, "PRAGMA integrity_check");

			intact += !strcmp(ic, "ok");
			free(ic);
		}
		if (!store_open_readonly(db, &st)) {
			why = NULL;
			if (!store_session_complete(st, killed_id, &complete, &why) && !complete &&
			    why && !strcmp(why, "running"))
				incomplete++;
			free(why);
			store_free(st);
			st = NULL;
		}
	}
	is_int(intact, 5, "integrity_check ok after each of 5 kill -9 mid-write");
	is_int(incomplete, 5, "each killed session is incomplete ('running')");
	is_sq(db, "SELECT count(*) FROM sessions WHERE complete = 1", "0",
	      "no killed session claims to be complete");
	ok(!store_open(db, &st) && !begin(st, "after", &id) &&
		   !store_add_access(st, 1, MP_OP_OPEN, "/after", 0, 0, MP_SRC_PTRACE, T0) &&
		   !store_session_end(st, 0, true, NULL),
	   "the next recorder recovers the file and completes a session");
	store_free(st);
}

/* ---- read-only, full disk, unwritable directory ---- */

static void test_readonly_file(const char *db)
{
	struct store *st = NULL;
	char *before = sha256(db), *after, *msg;
	int ret;

	capture_begin();
	ret = store_open(db, &st);
	msg = capture_end();
	after = sha256(db);
	ok(ret == -EROFS || ret == -EACCES, "a read-only database is refused for writing (%d)",
	   ret);
	ok(strstr(msg, db) && !strchr(msg, '\n'), "one clear line: %s", msg);
	is_str(after, before, "the read-only file is intact");
	store_free(st);
	st = NULL;
	if (is_int(store_open_readonly(db, &st), 0, "but it opens read-only"))
		ok(!store_find_session(st, "small", &(int64_t){ 0 }), "and can be queried");
	store_free(st);
	free(before);
	free(after);
	free(msg);
}

static void test_disk_full(const char *db)
{
	struct store *st = NULL;
	char path[512], *msg;
	int64_t id;
	int ret = 0, again;

	if (!is_int(store_open(db, &st), 0, "open on the small file system"))
		return;
	is_int(begin(st, "full", &id), 0, "begin a session there");
	capture_begin();
	for (int i = 0; i < 2000000 && !ret; i++) {
		snprintf(path, sizeof(path), "/full/%0400d", i);
		ret = store_add_access(st, 1, MP_OP_OPEN, path, 0, 0, MP_SRC_PTRACE, T0);
		if (!ret && i % 200 == 199)
			ret = store_flush(st);
	}
	msg = capture_end();
	is_int(ret, -ENOSPC, "a full disk gives -ENOSPC");
	ok(strstr(msg, db) && strstr(msg, "full") && strstr(msg, "KiB free") && !strchr(msg, '\n'),
	   "one clear line with the free space: %s", msg);
	free(msg);
	capture_begin();
	again = store_add_access(st, 1, MP_OP_OPEN, "/more", 0, 0, MP_SRC_PTRACE, T0);
	again = again == -ENOSPC && store_session_end(st, 0, true, NULL) == -ENOSPC;
	store_free(st);
	msg = capture_end();
	ok(again && !*msg, "later calls return the same error without logging again");
	free(msg);
	is_sq(db, "PRAGMA integrity_check", "ok", "integrity_check ok after the disk filled");
	is_sq(db, "SELECT label, complete FROM sessions ORDER BY id", "small|1\nfull|0",
	      "the committed session is kept, the one that hit the full disk is incomplete");
}

static void test_filesystems(void)
{
	const char *dir = tpath("small"), *db = tpath("small/s.db");
	struct store *st = NULL;
	int64_t id;

	if (geteuid() != 0) {
		/* Without root, permissions are enough to make a file read-only. */
		const char *ro = tpath("ro.db");

		if (!store_open(ro, &st) && !begin(st, "small", &id))
			store_session_end(st, 0, true, NULL);
		store_free(st);
		chmod(ro, 0444);
		test_readonly_file(ro);
		skip("disk full needs root to mount a small tmpfs");
		return;
	}
	/* In a mount namespace of our own, so the mounts vanish with the test. */
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mkdir(dir, 0755) || mount("tmpfs", dir, "tmpfs", 0, "size=600k")) {
		skip("cannot mount a tmpfs in a new mount namespace");
		return;
	}
	if (!store_open(db, &st) && !begin(st, "small", &id))
		store_session_end(st, 0, true, NULL);
	store_free(st);
	st = NULL;
	if (!ok(!mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, "size=600k"),
		"remount the small tmpfs read-only"))
		return;
	test_readonly_file(db);
	if (!ok(!mount(NULL, dir, NULL, MS_REMOUNT, "size=600k"), "remount it read-write"))
		return;
	test_disk_full(db);
	umount2(dir, MNT_DETACH);
}

static void test_unwritable_dir(void)
{
	const char *dir = tpath("locked");
	char db[4200];
	struct store *st = NULL;
	int status = -1;
	pid_t pid;

	snprintf(db, sizeof(db), "%s/x.db", dir);
	if (mkdir(dir, 0555) || chmod(dir, 0555) || chmod(base, 0755)) {
		ok(0, "setup: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* As root, permissions do not apply: become nobody. */
		if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(3);
		_exit(store_open(db, &st) == -EACCES ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	chmod(base, 0700);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
		skip("cannot become nobody");
	else
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		   "an unwritable directory gives -EACCES");
	ok(!exists(db), "and no file is created");
}

/* ---- speed, printed only ---- */

static void test_speed(void)
{
	const char *db = tpath("speed.db");
	struct store *st = NULL;
	struct timespec a, b;
	char pool[500][64];
	int64_t id;
	int ret = 0;
	double secs;

	for (int i = 0; i < 500; i++)
		snprintf(pool[i], sizeof(pool[i]), "/usr/lib/x86_64-linux-gnu/lib%03d.so.1", i);
	if (store_open(db, &st) || begin(st, "speed", &id)) {
		ok(0, "open for the speed test");
		store_free(st);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 1000000 && !ret; i++)
		ret = store_add_access(st, 100 + (i & 3), MP_OP_OPEN,
				       pool[(unsigned)i * 7919u % 500], 0, i % 10 ? 0 : ENOENT,
				       MP_SRC_PTRACE, T0 + (uint64_t)i);
	if (!ret)
		ret = store_session_end(st, 0, true, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	is_int(ret, 0, "1,000,000 accesses recorded");
	printf("# 1,000,000 store_add_access calls + store_session_end: %.3f s, %.2fM calls/s\n",
	       secs, 1.0 / secs);
	store_free(st);
}

static int rm_one(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(p) : unlink(p);
}

int main(void)
{
	char tmpl[] = "/tmp/test_store.XXXXXX";
	char *v;

	setvbuf(stdout, NULL, _IOLBF, 0);
	v = run_cmd("sqlite3 -version >/dev/null 2>&1 && echo yes");
	if (strcmp(v, "yes")) {
		printf("SKIP the sqlite3 shell is not installed\n1..0 # SKIP no sqlite3 shell\n");
		free(v);
		return 77;
	}
	free(v);
	base = mkdtemp(tmpl);
	if (!base) {
		perror("mkdtemp");
		return 1;
	}
	test_round_trip();
	test_foreign();
	test_new_ops();
	test_batches();
	test_fold_across_flushes();
	test_flush_capped();
	test_fold_grows_across_flushes();
	test_free_flushes();
	test_concurrent();
	test_kill();
	test_unwritable_dir();
	test_speed();
	test_filesystems();
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
