/* SPDX-License-Identifier: MIT */
/* collector/store.c - the SQLite history: sessions, processes and file accesses, written in
 * batches so that recording is never slowed down by the database.
 *
 * The schema (PRAGMA user_version = 2, marker row magicpak_meta('format', 'magicpak')) is a
 * public interface: tables sessions and processes, views file_accesses and session_files.
 * The tables under the views (paths, accesses, ops, sources, file_versions, session_paths)
 * may change with the schema version.
 *
 * Times. Every time a user reads (sessions.started_at/ended_at, processes.started_at/
 * ended_at, file_versions.mtime, file_accesses.time/last_time) is ISO-8601 UTC text with
 * milliseconds, "2024-05-01T12:00:00.123Z", so it sorts and compares as text. Underneath,
 * accesses.first_ns/last_ns and file_versions.mtime_ns keep the exact nanoseconds since the
 * epoch as integers; the view formats them.
 *
 * Durability. WAL with synchronous=NORMAL: a crash of magicpak (kill -9) loses nothing
 * committed; a power loss may lose the last transactions but never corrupts the file.
 * Every write transaction is BEGIN IMMEDIATE, so SQLite's busy handler (30 s) waits for the
 * write lock up front; a deferred read-then-write transaction would get SQLITE_BUSY without
 * the busy handler being called. On SQLITE_BUSY the whole transaction is retried.
 *
 * Crash consistency. A session row is committed first as incomplete ("running"); accesses
 * are written in batches; the row is marked complete in the same transaction as the last
 * batch. A killed recorder leaves an incomplete session, never a complete one with rows
 * missing.
 *
 * Layout for speed. accesses is the one big table, so it has no secondary index and no
 * foreign keys (each would cost a B-tree lookup per row; the writer keeps its ids right).
 * Its rows are found through access_batches: every flush writes its new rows with one range
 * of consecutive ids and records (session_id, first_id, last_id); a row an earlier flush
 * wrote is updated in place when its access is repeated (struct access_row). The views join through it,
 * and a query for one session reads only that session's id ranges. Deleting a session
 * deletes its rows through a trigger, whatever the connection's foreign_keys setting.
 *
 * Per-session summary (version 2). session_paths has one row per (session, path) the session
 * accessed, with any result, so that `report --path` and `diff` never scan accesses by path
 * (an index on accesses.path_id would make every insert 2.5 times slower):
 *   session_id, path_id  PRIMARY KEY, WITHOUT ROWID, and no other index: one by path would
 *                        cost a recording a page per path it touched (see history.c); a
 *                        file an earlier magicpak made with session_paths_by_path loses it
 *                        the next time it is opened to write (migrate())
 *   ops         bit 1 << op (enum mp_op, ops.id) for each op that succeeded (errno 0)
 *   open_modes  for the opens that succeeded: bit 1 << (flags & O_ACCMODE) for each access
 *               mode seen, and 16 if one had O_CREAT or O_TRUNC
 *   results     1: some access succeeded, 2: some failed with ENOENT, 4: some failed with
 *               another errno
 *   first_ns, last_ns  the first and last access, of any result
 *   count       accesses that succeeded (the sum of their folded counts)
 * The view session_path_summary computes these rows from accesses (through access_batches,
 * GROUP BY session and path). They are written once, when the session ends:
 * store_session_end() inserts them in the transaction that sets sessions.ended_at, `magicpak
 * merge` inserts them for each copied session that has an ended_at, and the version-2
 * migration for every session that had ended. So a session has its session_paths rows if
 * and only if its ended_at is set; one never ended (killed, or still recording) has none, and
 * readers (the view session_files, history.c) read its accesses rows instead. The
 * sessions_delete trigger deletes them with the session.
 *
 * Paths are TEXT holding the bytes given (any but NUL, not necessarily UTF-8), always bound
 * as parameters, never put into SQL text. They are interned: an in-memory hash map gives
 * each distinct path its paths.id once per process. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "path.h"
#include "store.h"
#include "strbuf.h"
#include "xalloc.h"

#define BATCH_ROWS 100000         /* distinct access rows buffered before a flush */
#define FOLD_MIN_SLOTS 1024       /* the folding table's first size; it doubles past half full */
#define BUSY_TIMEOUT_MS 30000
#define TXN_ATTEMPTS 5            /* whole-transaction tries on SQLITE_BUSY */
/* When to checkpoint. Every `record` is the first connection to the file and rebuilds the
 * WAL index by reading the whole WAL back, about 1.1 us a frame here; a checkpoint costs two
 * fsyncs, about 4 ms; a session writes 20-150 frames. store_open_session()'s thread, while
 * the command runs, checkpoints a WAL of WAL_OPEN_CKPT_FRAMES or more; a commit (wal_hook)
 * one of WAL_CKPT_FRAMES (SQLite's own figure), which only a big session reaches or a
 * history written without that thread (collect, merge). */
#define WAL_OPEN_CKPT_FRAMES 500
#define WAL_CKPT_FRAMES 1000
/* PRAGMA application_id: "mpak". With the schema version in the file's header, it lets
 * store_open_session() tell from 100 bytes that it may open the rest in a thread. */
#define APPLICATION_ID 0x6d70616b
#define WAL_TRUNCATE_FRAMES 4096  /* a WAL this long (16 MiB) is emptied when the store closes */
#define WAL_SIZE_LIMIT "4194304"  /* journal_size_limit: a reset WAL is cut to 4 MiB */
#define WAL_ATTEMPTS 200          /* tries to switch a new file to WAL while others hold it */

/* The readable names of enum mp_op and enum mp_source, as stored in ops and sources. */
static const char *const op_names[MP_OP_MAX] = {
	[MP_OP_OPEN] = "open",
	[MP_OP_EXEC] = "exec",
	[MP_OP_STAT] = "stat",
	[MP_OP_ACCESS] = "access",
	[MP_OP_READLINK] = "readlink",
	[MP_OP_CHDIR] = "chdir",
	[MP_OP_MKDIR] = "mkdir",
	[MP_OP_UNLINK] = "unlink",
	[MP_OP_RENAME_FROM] = "rename_from",
	[MP_OP_RENAME_TO] = "rename_to",
	[MP_OP_LINK_FROM] = "link_from",
	[MP_OP_LINK_TO] = "link_to",
	[MP_OP_SYMLINK] = "symlink",
	[MP_OP_TRUNCATE] = "truncate",
	[MP_OP_CHMOD] = "chmod",
	[MP_OP_CHOWN] = "chown",
	[MP_OP_UTIME] = "utime",
	[MP_OP_MKNOD] = "mknod",
	[MP_OP_READDIR] = "readdir",
	[MP_OP_DLOPEN] = "dlopen",
	[MP_OP_CONNECT] = "connect",
	[MP_OP_BIND] = "bind",
	[MP_OP_WATCH] = "watch",
	[MP_OP_XATTR] = "xattr",
	[MP_OP_MOUNT] = "mount",
	[MP_OP_MOUNT_FROM] = "mount_from",
	[MP_OP_UMOUNT] = "umount",
};
/* ops and sources are lookup tables: a name added here is inserted into an existing database
 * when it is next opened for writing (fill_names()), without a new schema version, so an older
 * magicpak still reads and writes the file. */
_Static_assert(MP_OP_MAX == 28, "name every enum mp_op in op_names");

static const char *const source_names[] = {
	[MP_SRC_PTRACE] = "ptrace",
	[MP_SRC_PRELOAD] = "preload",
	[MP_SRC_BPF] = "bpf",
};
#define SOURCE_MAX ((int)(sizeof(source_names) / sizeof(source_names[0])))

/* "ISO-8601 UTC with milliseconds" of an integer nanosecond column, in SQL. */
#define SQL_ISO(col)                                                              \
	"strftime('%Y-%m-%dT%H:%M:%S', " col " / 1000000000, 'unixepoch') || "     \
	"printf('.%03dZ', " col " / 1000000 % 1000)"

static const char schema_v1[] =
	"CREATE TABLE magicpak_meta (\n"
	"	key   TEXT PRIMARY KEY,\n"
	"	value TEXT NOT NULL\n"
	");\n"
	"CREATE TABLE ops (\n"
	"	id   INTEGER PRIMARY KEY,\n"
	"	name TEXT NOT NULL UNIQUE\n"
	");\n"
	"CREATE TABLE sources (\n"
	"	id   INTEGER PRIMARY KEY,\n"
	"	name TEXT NOT NULL UNIQUE\n"
	");\n"
	"CREATE TABLE sessions (\n"
	"	id                INTEGER PRIMARY KEY,\n"
	"	label             TEXT,\n"
	"	argv              TEXT NOT NULL,\n"
	"	cwd               TEXT,\n"
	"	started_at        TEXT NOT NULL,\n"
	"	ended_at          TEXT,\n"
	"	exit_status       INTEGER,\n"
	"	source            TEXT NOT NULL CHECK (source IN ('ptrace', 'preload', 'bpf')),\n"
	"	host              TEXT,\n"
	"	complete          INTEGER NOT NULL DEFAULT 0 CHECK (complete IN (0, 1)),\n"
	"	incomplete_reason TEXT,\n"
	"	events            INTEGER NOT NULL DEFAULT 0,\n"
	"	files             INTEGER NOT NULL DEFAULT 0,\n"
	"	processes         INTEGER NOT NULL DEFAULT 0\n"
	");\n"
	"CREATE INDEX sessions_by_label ON sessions (label, id);\n"
	"CREATE TABLE processes (\n"
	"	id          INTEGER PRIMARY KEY,\n"
	"	session_id  INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,\n"
	"	pid         INTEGER NOT NULL,\n"
	"	parent_pid  INTEGER,\n"
	"	executable  TEXT,\n"
	"	argv        TEXT,\n"
	"	cwd         TEXT,\n"
	"	started_at  TEXT,\n"
	"	ended_at    TEXT,\n"
	"	exit_status INTEGER\n"
	");\n"
	"CREATE INDEX processes_by_session ON processes (session_id, pid);\n"
	"CREATE TABLE paths (\n"
	"	id   INTEGER PRIMARY KEY,\n"
	"	path TEXT NOT NULL UNIQUE\n"
	");\n"
	"CREATE TABLE accesses (\n"
	"	id         INTEGER PRIMARY KEY,\n"
	"	pid        INTEGER NOT NULL,\n"
	"	op         INTEGER NOT NULL,\n"
	"	path_id    INTEGER NOT NULL,\n"
	"	flags      INTEGER NOT NULL,\n"
	"	errno      INTEGER NOT NULL,\n"
	"	source     INTEGER NOT NULL,\n"
	"	first_ns   INTEGER NOT NULL,\n"
	"	last_ns    INTEGER NOT NULL,\n"
	"	count      INTEGER NOT NULL\n"
	");\n"
	"CREATE TABLE access_batches (\n"
	"	id         INTEGER PRIMARY KEY,\n"
	"	session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,\n"
	"	first_id   INTEGER NOT NULL,\n"
	"	last_id    INTEGER NOT NULL\n"
	");\n"
	"CREATE INDEX access_batches_by_session ON access_batches (session_id);\n"
	"CREATE TABLE file_versions (\n"
	"	session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,\n"
	"	path_id    INTEGER NOT NULL REFERENCES paths (id),\n"
	"	type       TEXT NOT NULL,\n"
	"	size       INTEGER,\n"
	"	mtime      TEXT,\n"
	"	mtime_ns   INTEGER,\n"
	"	inode      INTEGER,\n"
	"	sha256     TEXT,\n"
	"	PRIMARY KEY (session_id, path_id)\n"
	") WITHOUT ROWID;\n"
	"CREATE VIEW file_accesses AS\n"
	"SELECT b.session_id, a.pid, o.name AS op, p.path, a.flags, a.errno, s.name AS source,\n"
	"       " SQL_ISO("a.first_ns") " AS time,\n"
	"       " SQL_ISO("a.last_ns") " AS last_time,\n"
	"       a.count\n"
	"FROM access_batches b\n"
	"JOIN accesses a ON a.id BETWEEN b.first_id AND b.last_id\n"
	"JOIN paths p ON p.id = a.path_id\n"
	"LEFT JOIN ops o ON o.id = a.op\n"
	"LEFT JOIN sources s ON s.id = a.source;\n"
	"CREATE VIEW session_files AS\n"
	"SELECT DISTINCT b.session_id, p.path\n"
	"FROM access_batches b\n"
	"JOIN accesses a ON a.id BETWEEN b.first_id AND b.last_id\n"
	"JOIN paths p ON p.id = a.path_id\n"
	"WHERE a.errno = 0;\n"
	"CREATE TRIGGER sessions_delete BEFORE DELETE ON sessions BEGIN\n"
	"	DELETE FROM accesses WHERE id IN (SELECT a.id FROM access_batches b\n"
	"		JOIN accesses a ON a.id BETWEEN b.first_id AND b.last_id\n"
	"		WHERE b.session_id = old.id);\n"
	"	DELETE FROM access_batches WHERE session_id = old.id;\n"
	"	DELETE FROM file_versions WHERE session_id = old.id;\n"
	"	DELETE FROM processes WHERE session_id = old.id;\n"
	"END;\n"
	"INSERT INTO magicpak_meta (key, value) VALUES ('format', 'magicpak');\n";

enum stmt_id {
	ST_PATH_GET,
	ST_PATH_ADD,
	ST_ACCESS_ADD,
	ST_ACCESS_SET,
	ST_BATCH_ADD,
	ST_FILE_ADD,
	ST_PROC_ADD,
	ST_PROC_SET,
	ST_SESSION_ADD,
	ST_SESSION_END,
	ST_SESSION_MINE,
	ST_SUMMARY_ADD,
	ST_SUMMARY_ADD_MANY,
	ST_COUNT
};

/* Summary rows go in SUMMARY_MANY to a statement: SQLite's work per statement (binding,
 * stepping, resetting) was a third of a row's (W4's 4,000 rows: 2.8 -> 1.7 ms). */
#define SUMMARY_MANY 32
#define SUMMARY_COLS 8
#define SUMMARY_TUPLE "(?, ?, ?, ?, ?, ?, ?, ?)"
#define SUMMARY_TUPLE4 SUMMARY_TUPLE ", " SUMMARY_TUPLE ", " SUMMARY_TUPLE ", " SUMMARY_TUPLE
#define SUMMARY_TUPLE16 SUMMARY_TUPLE4 ", " SUMMARY_TUPLE4 ", " SUMMARY_TUPLE4 ", " SUMMARY_TUPLE4

static const char *const stmt_sql[ST_COUNT] = {
	[ST_PATH_GET] = "SELECT id FROM paths WHERE path = ?1",
	[ST_PATH_ADD] = "INSERT INTO paths (path) VALUES (?1)",
	[ST_ACCESS_ADD] = "INSERT INTO accesses (pid, op, path_id, flags, errno, source, first_ns,"
			  " last_ns, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_ACCESS_SET] = "UPDATE accesses SET first_ns = ?2, last_ns = ?3, count = ?4 WHERE id = ?1",
	[ST_BATCH_ADD] = "INSERT INTO access_batches (session_id, first_id, last_id)"
			 " VALUES (?1, ?2, ?3)",
	[ST_FILE_ADD] = "INSERT OR IGNORE INTO file_versions (session_id, path_id, type, size,"
			" mtime, mtime_ns, inode, sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_PROC_ADD] = "INSERT INTO processes (session_id, pid, parent_pid, executable, argv,"
			" cwd, started_at, ended_at, exit_status)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_PROC_SET] = "UPDATE processes SET parent_pid = ?3, executable = ?4, argv = ?5,"
			" cwd = ?6, started_at = ?7, ended_at = ?8, exit_status = ?9"
			" WHERE id = ?1 AND pid = ?2",
	[ST_SESSION_ADD] = "INSERT INTO sessions (label, argv, cwd, started_at, source, host,"
			   " complete, incomplete_reason)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 'running')",
	[ST_SESSION_END] = "UPDATE sessions SET ended_at = ?2, exit_status = ?3, complete = ?4,"
			   " incomplete_reason = ?5, events = ?6, files = ?7, processes = ?8"
			   " WHERE id = ?1",
	/* the current session is still there, and is ours (forgotten, its id may be reused) */
	[ST_SESSION_MINE] = "SELECT 1 FROM sessions WHERE id = ?1 AND started_at = ?2",
	[ST_SUMMARY_ADD] = "INSERT INTO session_paths (session_id, path_id, ops, open_modes,"
			   " results, first_ns, last_ns, count) VALUES " SUMMARY_TUPLE,
	[ST_SUMMARY_ADD_MANY] = "INSERT INTO session_paths (session_id, path_id, ops, open_modes,"
				" results, first_ns, last_ns, count) VALUES "
				SUMMARY_TUPLE16 ", " SUMMARY_TUPLE16,
};

/* One interned path. The text lives in store.names at @off, NUL-terminated. */
struct path_ent {
	size_t off;
	uint32_t len;
	uint32_t hash;
	int64_t id;      /* paths.id once committed, else 0 */
	int64_t txn_id;  /* paths.id taken in the open transaction, else 0 */
	uint64_t mark;   /* the session generation that counted it among its files */
	/* Its session_paths row for the current session, kept as accesses are added, valid
	 * when sum_gen is the session generation (see session_path_summary). */
	uint64_t sum_gen;
	uint64_t sum_ops, sum_first, sum_last, sum_count;
	uint8_t sum_modes, sum_results;
};

/* One accesses row of the current session: all accesses with the same key, folded. Rows
 * stay after a flush (with their id), so that a later repeat updates the row written
 * instead of adding a second one with the same key; only a session with BATCH_ROWS
 * distinct keys starts afresh after a flush. */
struct access_row {
	int32_t pid;
	uint32_t path;   /* index into store.paths */
	uint32_t flags;
	int32_t err;
	uint8_t op;
	uint8_t source;
	bool dirty;      /* written, and changed since: an UPDATE is pending */
	uint64_t first_ns, last_ns, count;
	int64_t id;      /* accesses.id once committed, else 0 */
	int64_t txn_id;  /* accesses.id taken in the open transaction, else 0 */
};

struct file_row {
	uint32_t path;
	char type;
	bool has_sha;
	char sha256[65];
	int64_t size, mtime_ns;
	uint64_t inode;
};

struct proc_rec {
	pid_t pid, parent;
	char *exe, *argv, *cwd;        /* owned; argv is JSON */
	uint64_t start_ns, end_ns;     /* 0: unknown */
	int exit_status;
	bool exited, dirty;
	int64_t id, txn_id;            /* as in struct path_ent */
};

struct pid_slot {
	pid_t pid;                     /* 0: empty */
	uint32_t idx;                  /* into store.procs */
};

struct store {
	sqlite3 *db;
	char *path;
	bool readonly;
	int failed;                    /* the write error that stopped the store, or 0 */
	int ckpt_rc;                   /* a failed automatic checkpoint (SQLite code), or 0 */
	int late_rc;                   /* a failed checkpoint() to report at the session's end */
	int wal_frames;                /* frames in the WAL after our last commit */
	/* store_session_end_prepare(): its transaction is open, holding what was pending when
	 * the store had seen @changes additions (every store_add_* and store_proc_* counts) */
	bool prepared;
	uint64_t changes, prepared_changes;
	sqlite3_stmt *stmt[ST_COUNT];

	int64_t session_id;            /* the current session, 0: none */
	char started_at[32];           /* its sessions.started_at */
	int64_t locked_id;             /* the session whose recording lock we hold, 0: none */
	int lock_fd;                   /* the descriptor holding it (SQLite's) */
	int db_fd1;                    /* SQLite's descriptor of the file + 1, 0: not looked up */
	uint64_t session_gen;
	uint64_t events, files, processes;

	struct strbuf names;           /* every interned path, NUL-terminated */
	struct path_ent *paths;
	size_t npaths, apaths;
	uint32_t *path_slots;          /* index + 1 into paths, 0: empty */
	size_t path_cap;
	uint32_t *resolved;            /* paths given a txn_id in the open transaction */
	size_t nresolved, aresolved;
	bool fk_off;                   /* foreign keys unchecked: a recording (session_begin) */
	uint32_t *touched;             /* paths the current session accessed (index) */
	size_t ntouched, atouched;

	/* The session's rows: [0, nwritten) are in the file (id set), [nwritten, nrows) not yet;
	 * dirty lists the written ones repeated since. A flush touches only those two, not every
	 * row: W3's 7,700 rows, flushed 64 at a time, took 17 ms of scanning. */
	struct access_row *rows;
	size_t nrows, arows, nwritten;
	/* The transaction being written takes the new rows [nwritten, txn_end): all of them,
	 * or at most flush_max (store_flush_some()'s cap, 0: none). */
	size_t txn_end, flush_max;
	uint32_t *dirty;
	size_t ndirty, adirty;
	/* index + 1 into rows, 0: empty; fold_cap slots, at most half used. Sized to the rows
	 * (it was a fixed megabyte: its first touches, a page fault each on these VMs, were most
	 * of what adding W3's rows cost). */
	uint32_t *fold_slots;
	size_t fold_cap;
	struct file_row *files_v;
	size_t nfiles, afiles;

	struct proc_rec **procs;
	size_t nprocs, aprocs;
	bool procs_dirty;
	struct pid_slot *pid_slots;
	size_t pid_cap;

	/* store_open_session(): the thread opening the file and beginning the session. Until
	 * store_wait() joins it, this store only buffers and @conn is the thread's. */
	bool opening, threaded;
	pthread_t th;
	struct store *conn;
	int conn_ret;
	int64_t conn_session;
	bool conn_done;                /* atomic: the thread has finished */
	bool conn_ckpt;                /* it checkpointed the WAL */
	bool closed;                   /* store_close() ran: nothing more is written */
	bool waited;                   /* atomic: store_wait() is waiting for it */
	uint64_t conn_us;              /* how long it took */
	char *s_label, *s_argv, *s_cwd, *s_host;
	int s_source;
	uint64_t s_started_ns;         /* when store_open_session() was called */
	/* store_open_early(): the thread waits, the file open, until store_open_start() (GO)
	 * or store_close() (DROP) says whether there is a session to begin */
	enum { HOLD_NONE, HOLD_WAIT, HOLD_GO, HOLD_DROP } hold;
	bool held;                     /* hold was HOLD_WAIT when the thread started */
	pthread_mutex_t hold_mu;
	pthread_cond_t hold_cv;
	bool away;                     /* the thread started off our CPU; its own mask: */
	cpu_set_t cpus;
};

/* ---- errors ---- */

int store_sqlite_errno(struct sqlite3 *db, int rc)
{
	int sys;

	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW: return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_READONLY: return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH: return -EACCES;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_NOTADB: return -EINVAL;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
	case SQLITE_TOOBIG: return -EINVAL;
	case SQLITE_CANTOPEN:
		sys = db ? sqlite3_system_errno(db) : 0;
		return sys ? -sys : -EACCES;
	default: return -EIO;
	}
}

static int sqlite_to_errno(struct store *st, int rc)
{
	return store_sqlite_errno(st ? st->db : NULL, rc);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* Log "cannot @what '@path': @msg" once, with the free space when the disk is full. */
static int db_error(struct store *st, int rc, const char *what, const char *msg)
{
	int ret = sqlite_to_errno(st, rc);
	struct statvfs vfs;
	char *dir;

	if (!msg)
		msg = sqlite3_errstr(rc);
	if (ret == -ENOSPC && strcmp(st->path, ":memory:")) {
		dir = dir_of(st->path);
		if (!statvfs(dir, &vfs)) {
			log_error(ret, "cannot %s '%s': %s (%llu KiB free)", what, st->path, msg,
				  (unsigned long long)vfs.f_bavail * vfs.f_frsize / 1024);
			free(dir);
			return ret;
		}
		free(dir);
	}
	return log_error(ret, "cannot %s '%s': %s", what, st->path, msg);
}

/* ---- small SQL helpers ---- */

static int exec_sql(struct store *st, const char *sql)
{
	return sqlite3_exec(st->db, sql, NULL, NULL, NULL);
}

/* Run @sql, a query of one integer; *@out is 0 when it returns no row or NULL. */
static int query_int(struct store *st, const char *sql, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*out = 0;
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

/* Step a write statement once and reset it. */
static int step_write(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int bind_text(sqlite3_stmt *s, int i, const char *text)
{
	return text ? sqlite3_bind_text(s, i, text, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

static void iso_time(char buf[32], uint64_t ns)
{
	time_t secs = (time_t)(ns / 1000000000u);
	struct tm tm;
	size_t n;

	gmtime_r(&secs, &tm);
	n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 32 - n, ".%03uZ", (unsigned)(ns / 1000000u % 1000u));
}

/* Bind an ISO time, or NULL for 0 (unknown). */
static int bind_time(sqlite3_stmt *s, int i, uint64_t ns)
{
	char buf[32];

	if (!ns)
		return sqlite3_bind_null(s, i);
	iso_time(buf, ns);
	return sqlite3_bind_text(s, i, buf, -1, SQLITE_TRANSIENT);
}

static char *argv_json(const char *const *argv)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addch(&sb, '[');
	for (size_t i = 0; argv && argv[i]; i++) {
		if (i)
			strbuf_addch(&sb, ',');
		strbuf_add_json(&sb, argv[i]);
	}
	strbuf_addch(&sb, ']');
	return strbuf_detach(&sb);
}

static void sleep_backoff(int attempt)
{
	/* 1, 2, 4 ... 64 ms plus jitter, so that retrying writers do not collide again. */
	int ms = 1 << (attempt < 6 ? attempt : 6);

	usleep((useconds_t)(ms * 1000 + rand() % 1000));
}

/* ---- path interning ---- */

static void path_slots_grow(struct store *st)
{
	size_t cap = st->path_cap ? st->path_cap * 2 : 4096;

	free(st->path_slots);
	st->path_slots = xcalloc(cap, sizeof(*st->path_slots));
	st->path_cap = cap;
	for (size_t k = 0; k < st->npaths; k++) {
		size_t i = st->paths[k].hash & (cap - 1);

		while (st->path_slots[i])
			i = (i + 1) & (cap - 1);
		st->path_slots[i] = (uint32_t)k + 1;
	}
}

/* The index in st->paths of @path, added if new. */
static uint32_t path_intern(struct store *st, const char *path)
{
	const unsigned char *p = (const unsigned char *)path;
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	struct path_ent *e;
	uint32_t len, h32, s;
	size_t i, mask;

	for (; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	len = (uint32_t)(p - (const unsigned char *)path);
	h32 = (uint32_t)(h ^ (h >> 32));
	if ((st->npaths + 1) * 2 > st->path_cap)
		path_slots_grow(st);
	mask = st->path_cap - 1;
	for (i = h32 & mask; (s = st->path_slots[i]); i = (i + 1) & mask) {
		e = &st->paths[s - 1];
		if (e->hash == h32 && e->len == len && !memcmp(st->names.buf + e->off, path, len))
			return s - 1;
	}
	xgrow(&st->paths, &st->apaths, st->npaths + 1, sizeof(*st->paths));
	e = &st->paths[st->npaths];
	memset(e, 0, sizeof(*e));
	e->off = st->names.len;
	e->len = len;
	e->hash = h32;
	strbuf_add(&st->names, path, (size_t)len + 1); /* with its NUL */
	st->path_slots[i] = (uint32_t)++st->npaths;
	return (uint32_t)(st->npaths - 1);
}

/* paths.id of interned path @k, inserting the row inside the open transaction if needed. */
static int path_resolve(struct store *st, uint32_t k, int64_t *id)
{
	struct path_ent *e = &st->paths[k];
	sqlite3_stmt *s;
	int rc;

	if (e->id || e->txn_id) {
		*id = e->id ? e->id : e->txn_id;
		return SQLITE_OK;
	}
	s = st->stmt[ST_PATH_GET];
	sqlite3_bind_text(s, 1, st->names.buf + e->off, (int)e->len, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		e->txn_id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rc;
	if (!e->txn_id) {
		s = st->stmt[ST_PATH_ADD];
		sqlite3_bind_text(s, 1, st->names.buf + e->off, (int)e->len, SQLITE_STATIC);
		rc = step_write(s);
		if (rc != SQLITE_OK)
			return rc;
		e->txn_id = sqlite3_last_insert_rowid(st->db);
	}
	xgrow(&st->resolved, &st->aresolved, st->nresolved + 1, sizeof(*st->resolved));
	st->resolved[st->nresolved++] = k;
	*id = e->txn_id;
	return SQLITE_OK;
}

/* ---- processes ---- */

static void pid_map_rebuild(struct store *st, size_t cap)
{
	free(st->pid_slots);
	st->pid_slots = xcalloc(cap, sizeof(*st->pid_slots));
	st->pid_cap = cap;
	for (size_t k = 0; k < st->nprocs; k++) {
		size_t i = (uint32_t)st->procs[k]->pid * 2654435761u & (cap - 1);

		while (st->pid_slots[i].pid && st->pid_slots[i].pid != st->procs[k]->pid)
			i = (i + 1) & (cap - 1);
		/* Later records of a reused pid come later in procs: the newest wins. */
		st->pid_slots[i].pid = st->procs[k]->pid;
		st->pid_slots[i].idx = (uint32_t)k;
	}
}

static struct pid_slot *pid_slot(struct store *st, pid_t pid)
{
	size_t i = (uint32_t)pid * 2654435761u & (st->pid_cap - 1);

	while (st->pid_slots[i].pid && st->pid_slots[i].pid != pid)
		i = (i + 1) & (st->pid_cap - 1);
	return &st->pid_slots[i];
}

/* The live record of @pid, or NULL. */
static struct proc_rec *proc_find(struct store *st, pid_t pid)
{
	struct pid_slot *slot;

	if (!st->pid_cap)
		return NULL;
	slot = pid_slot(st, pid);
	if (!slot->pid || st->procs[slot->idx]->exited)
		return NULL;
	return st->procs[slot->idx];
}

static struct proc_rec *proc_new(struct store *st, pid_t pid)
{
	struct proc_rec *p = xcalloc(1, sizeof(*p));
	struct pid_slot *slot;

	p->pid = pid;
	xgrow(&st->procs, &st->aprocs, st->nprocs + 1, sizeof(*st->procs));
	st->procs[st->nprocs++] = p;
	if ((st->nprocs + 1) * 2 > st->pid_cap)
		pid_map_rebuild(st, st->pid_cap ? st->pid_cap * 2 : 256);
	slot = pid_slot(st, pid);
	slot->pid = pid;
	slot->idx = (uint32_t)(st->nprocs - 1);
	st->processes++;
	return p;
}

static void proc_free(struct proc_rec *p)
{
	if (!p)
		return;
	free(p->exe);
	free(p->argv);
	free(p->cwd);
	free(p);
}

static void procs_clear(struct store *st)
{
	for (size_t k = 0; k < st->nprocs; k++)
		proc_free(st->procs[k]);
	st->nprocs = 0;
	st->procs_dirty = false;
	if (st->pid_cap)
		memset(st->pid_slots, 0, st->pid_cap * sizeof(*st->pid_slots));
}

static int proc_write(struct store *st, struct proc_rec *p)
{
	sqlite3_stmt *s = st->stmt[p->id ? ST_PROC_SET : ST_PROC_ADD];
	int rc;

	sqlite3_bind_int64(s, 1, p->id ? p->id : st->session_id);
	sqlite3_bind_int64(s, 2, p->pid);
	if (p->parent)
		sqlite3_bind_int64(s, 3, p->parent);
	else
		sqlite3_bind_null(s, 3);
	bind_text(s, 4, p->exe);
	bind_text(s, 5, p->argv);
	bind_text(s, 6, p->cwd);
	bind_time(s, 7, p->start_ns);
	bind_time(s, 8, p->end_ns);
	if (p->exited)
		sqlite3_bind_int(s, 9, p->exit_status);
	else
		sqlite3_bind_null(s, 9);
	rc = step_write(s);
	if (rc == SQLITE_OK && !p->id)
		p->txn_id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

/* ---- writing pending rows ---- */

/* Access rows the next flush inserts or updates. */
static size_t pending_rows(const struct store *st)
{
	return st->nrows - st->nwritten + st->ndirty;
}

static bool has_pending(const struct store *st)
{
	return pending_rows(st) || st->nfiles || st->procs_dirty;
}

/* Write every pending row inside the open transaction. Re-runnable after a rollback. */
static int write_pending(struct store *st)
{
	int64_t path_id, first_id = 0, last_id;
	size_t inserted = 0;
	sqlite3_stmt *s;
	int rc;

	if (st->procs_dirty) {
		for (size_t k = 0; k < st->nprocs; k++) {
			struct proc_rec *p = st->procs[k];

			if (p->dirty && (rc = proc_write(st, p)) != SQLITE_OK)
				return rc;
		}
	}
	s = st->stmt[ST_ACCESS_ADD];
	st->txn_end = st->nrows;
	if (st->flush_max && st->txn_end - st->nwritten > st->flush_max)
		st->txn_end = st->nwritten + st->flush_max;
	for (size_t k = st->nwritten; k < st->txn_end; k++) {
		struct access_row *r = &st->rows[k];

		rc = path_resolve(st, r->path, &path_id);
		if (rc != SQLITE_OK)
			return rc;
		sqlite3_bind_int64(s, 1, r->pid);
		sqlite3_bind_int(s, 2, r->op);
		sqlite3_bind_int64(s, 3, path_id);
		sqlite3_bind_int64(s, 4, r->flags);
		sqlite3_bind_int(s, 5, r->err);
		sqlite3_bind_int(s, 6, r->source);
		sqlite3_bind_int64(s, 7, (int64_t)r->first_ns);
		sqlite3_bind_int64(s, 8, (int64_t)r->last_ns);
		sqlite3_bind_int64(s, 9, (int64_t)r->count);
		rc = step_write(s);
		if (rc != SQLITE_OK)
			return rc;
		r->txn_id = sqlite3_last_insert_rowid(st->db);
		if (!inserted++)
			first_id = r->txn_id;
	}
	if (inserted) {
		/* New rows take max(id) + 1 while we hold the write lock, so a batch is one
		 * range of ids. Only ids near 2^63 would make SQLite pick them at random. */
		last_id = sqlite3_last_insert_rowid(st->db);
		if (last_id - first_id + 1 != (int64_t)inserted)
			return SQLITE_CORRUPT;
		s = st->stmt[ST_BATCH_ADD];
		sqlite3_bind_int64(s, 1, st->session_id);
		sqlite3_bind_int64(s, 2, first_id);
		sqlite3_bind_int64(s, 3, last_id);
		rc = step_write(s);
		if (rc != SQLITE_OK)
			return rc;
	}
	/* rows written by an earlier flush that have been repeated since */
	s = st->stmt[ST_ACCESS_SET];
	for (size_t k = 0; k < st->ndirty; k++) {
		const struct access_row *r = &st->rows[st->dirty[k]];

		sqlite3_bind_int64(s, 1, r->id);
		sqlite3_bind_int64(s, 2, (int64_t)r->first_ns);
		sqlite3_bind_int64(s, 3, (int64_t)r->last_ns);
		sqlite3_bind_int64(s, 4, (int64_t)r->count);
		rc = step_write(s);
		if (rc != SQLITE_OK)
			return rc;
	}
	s = st->stmt[ST_FILE_ADD];
	for (size_t k = 0; k < st->nfiles; k++) {
		const struct file_row *f = &st->files_v[k];
		char type[2] = { f->type, 0 };

		rc = path_resolve(st, f->path, &path_id);
		if (rc != SQLITE_OK)
			return rc;
		sqlite3_bind_int64(s, 1, st->session_id);
		sqlite3_bind_int64(s, 2, path_id);
		sqlite3_bind_text(s, 3, type, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 4, f->size);
		bind_time(s, 5, f->mtime_ns > 0 ? (uint64_t)f->mtime_ns : 0);
		sqlite3_bind_int64(s, 6, f->mtime_ns);
		sqlite3_bind_int64(s, 7, (int64_t)f->inode); /* bit pattern kept above 2^63 */
		bind_text(s, 8, f->has_sha ? f->sha256 : NULL);
		rc = step_write(s);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* Empty the folding table. A few rows in a table a big session grew (collect: many sessions
 * in one process): clear just their slots, found again by their hash. */
static uint32_t row_hash(const struct access_row *r);

static void fold_clear(struct store *st)
{
	size_t mask = st->fold_cap - 1;

	if (st->nrows > st->fold_cap / 16) {
		memset(st->fold_slots, 0, st->fold_cap * sizeof(*st->fold_slots));
	} else {
		for (size_t n = 0; n < st->nrows; n++) {
			size_t i = row_hash(&st->rows[n]) & mask;

			while (st->fold_slots[i] != n + 1)
				i = (i + 1) & mask;
			st->fold_slots[i] = 0;
		}
	}
	st->nrows = st->nwritten = st->ndirty = 0;
}

static void pending_committed(struct store *st)
{
	size_t kept = 0;

	for (size_t k = 0; k < st->nresolved; k++) {
		struct path_ent *e = &st->paths[st->resolved[k]];

		e->id = e->txn_id;
		e->txn_id = 0;
	}
	st->nresolved = 0;
	for (size_t k = st->nwritten; k < st->txn_end; k++) {
		struct access_row *r = &st->rows[k];

		r->id = r->txn_id;
		r->txn_id = 0;
	}
	st->nwritten = st->txn_end;
	for (size_t k = 0; k < st->ndirty; k++)
		st->rows[st->dirty[k]].dirty = false;
	st->ndirty = 0;
	/* a session this big starts afresh (once all its rows are in): its later repeats make
	 * new rows */
	if (st->nrows >= BATCH_ROWS && st->nwritten == st->nrows)
		fold_clear(st);
	st->nfiles = 0;
	if (st->procs_dirty) {
		/* Keep the processes still running: their exit is yet to be written. */
		for (size_t k = 0; k < st->nprocs; k++) {
			struct proc_rec *p = st->procs[k];

			if (p->txn_id) {
				p->id = p->txn_id;
				p->txn_id = 0;
			}
			p->dirty = false;
			if (p->exited)
				proc_free(p);
			else
				st->procs[kept++] = p;
		}
		st->nprocs = kept;
		st->procs_dirty = false;
		pid_map_rebuild(st, st->pid_cap);
	}
}

static void pending_rolled_back(struct store *st)
{
	for (size_t k = 0; k < st->nresolved; k++)
		st->paths[st->resolved[k]].txn_id = 0;
	for (size_t k = st->nwritten; k < st->nrows; k++)
		st->rows[k].txn_id = 0;
	st->nresolved = 0;
	for (size_t k = 0; k < st->nprocs; k++)
		st->procs[k]->txn_id = 0;
}

/* SQLite's own automatic checkpoint (sqlite3WalDefaultHook) ignores the checkpoint's result,
 * so an fsync that fails there (EIO: the disk could not make the data durable) would go
 * unnoticed. This WAL hook makes the same PASSIVE checkpoint at the same size and keeps a
 * failure other than BUSY/LOCKED (another connection is busy: the next commit tries again)
 * for write_txn to report. It returns SQLITE_OK: an error from the hook would make COMMIT
 * fail after the commit happened, and write_txn would roll back or retry what is in. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *st = arg;
	int rc;

	st->wal_frames = frames;
	if (frames < WAL_CKPT_FRAMES)
		return SQLITE_OK;
	rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED &&
	    !st->ckpt_rc)
		st->ckpt_rc = rc;
	return SQLITE_OK;
}

/* Is the current session's row still in the file, and the one it began? An SQLite code:
 * SQLITE_OK (or no session is current), SQLITE_NOTFOUND when it is gone. */
static int session_mine(struct store *st)
{
	sqlite3_stmt *s = st->stmt[ST_SESSION_MINE];
	int rc;

	if (!st->session_id)
		return SQLITE_OK;
	sqlite3_bind_int64(s, 1, st->session_id);
	sqlite3_bind_text(s, 2, st->started_at, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? SQLITE_OK : rc == SQLITE_DONE ? SQLITE_NOTFOUND : rc;
}

/* The current session was deleted under us (`magicpak forget --force`, or by hand): its rows
 * went with it, and any we wrote now would point nowhere (PRAGMA foreign_key_check), or into
 * a later session given the same id. Stop the store: one line, and -ENOENT from now on. */
static int session_lost(struct store *st)
{
	st->failed = log_error(-ENOENT, "session %" PRId64 " was deleted from '%s' while it was"
			       " being recorded: nothing more written", st->session_id, st->path);
	return st->failed;
}

static void store_join(struct store *st);

/* Roll a prepared end back (store_session_end_prepare): what it wrote is pending again. */
static void unprepare(struct store *st, const char *why)
{
	if (!st->prepared)
		return;
	log_debug("the session's early end is rolled back: %s", why);
	st->prepared = false;
	if (!sqlite3_get_autocommit(st->db))
		exec_sql(st, "ROLLBACK");
	pending_rolled_back(st);
}

/* One write transaction: BEGIN IMMEDIATE, the pending rows, then @extra (may be NULL),
 * COMMIT. The whole transaction is retried on SQLITE_BUSY. Logs and returns -errno. A
 * current session's row is checked first (session_mine): gone, nothing is written. */
static int write_txn(struct store *st, int (*extra)(struct store *st, void *arg), void *arg)
{
	char msg[256] = "";
	int rc = SQLITE_OK;

	if (st->opening)
		store_join(st);
	if (st->failed)
		return st->failed;
	if (st->readonly)
		return log_error(-EROFS, "cannot write to '%s': opened read-only", st->path);
	/* a prepared end that is written again, with what came after it */
	unprepare(st, "more to write");
	for (int attempt = 0; attempt < TXN_ATTEMPTS; attempt++) {
		if (attempt)
			sleep_backoff(attempt);
		rc = exec_sql(st, "BEGIN IMMEDIATE");
		if (rc != SQLITE_OK) {
			snprintf(msg, sizeof(msg), "%s", sqlite3_errmsg(st->db));
		} else {
			rc = session_mine(st);
			if (rc == SQLITE_OK)
				rc = write_pending(st);
			if (rc == SQLITE_OK && extra)
				rc = extra(st, arg);
			if (rc == SQLITE_OK)
				rc = exec_sql(st, "COMMIT");
			if (rc == SQLITE_OK) {
				pending_committed(st);
				if (st->ckpt_rc) {
					rc = st->ckpt_rc;
					st->failed = db_error(st, rc, "checkpoint",
							      sqlite3_errstr(rc));
					return st->failed;
				}
				return 0;
			}
			snprintf(msg, sizeof(msg), "%s", sqlite3_errmsg(st->db));
			/* SQLite may already have rolled back (SQLITE_FULL, SQLITE_IOERR). */
			if (!sqlite3_get_autocommit(st->db))
				exec_sql(st, "ROLLBACK");
			pending_rolled_back(st);
			if (rc == SQLITE_NOTFOUND)
				return session_lost(st);
		}
		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
			break;
	}
	st->failed = db_error(st, rc, "write to", msg);
	return st->failed;
}

/* ---- opening ---- */

enum db_kind { DB_EMPTY, DB_CURRENT, DB_OLDER, DB_NEWER, DB_FOREIGN };

/* What is in the open file, read without writing anything. Returns an SQLite code. */
static int classify_reads(struct store *st, enum db_kind *kind, int64_t *version);

/* What the file at @st is (enum db_kind), and its user_version. Its reads are one snapshot:
 * read one by one, the version of a file another `record` was creating could come from before
 * its schema and the marker from after it, a marker without a version, which is refused as
 * foreign (t305's 8 concurrent records into a new file: 1 run in 50 under ASan). */
static int classify(struct store *st, enum db_kind *kind, int64_t *version)
{
	bool own = sqlite3_get_autocommit(st->db);
	int rc;

	if (own && (rc = exec_sql(st, "BEGIN")) != SQLITE_OK)
		return rc;
	rc = classify_reads(st, kind, version);
	/* after an error the read stays open: its message is the caller's to report, and
	 * every caller then closes the connection */
	if (own && rc == SQLITE_OK)
		rc = exec_sql(st, "COMMIT");
	return rc;
}

static int classify_reads(struct store *st, enum db_kind *kind, int64_t *version)
{
	int64_t tables, has_meta, marker = 0;
	int rc;

	rc = query_int(st, "SELECT count(*) FROM sqlite_master", &tables);
	if (rc != SQLITE_OK)
		return rc;
	rc = query_int(st, "PRAGMA user_version", version);
	if (rc != SQLITE_OK)
		return rc;
	rc = query_int(st, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
			   " name = 'magicpak_meta'", &has_meta);
	if (rc != SQLITE_OK)
		return rc;
	if (has_meta) {
		rc = query_int(st, "SELECT count(*) FROM magicpak_meta WHERE key = 'format' AND"
				   " value = 'magicpak'", &marker);
		if (rc != SQLITE_OK)
			return rc;
	}
	if (!marker)
		*kind = !tables && !*version ? DB_EMPTY : DB_FOREIGN;
	else if (*version > STORE_SCHEMA_VERSION)
		*kind = DB_NEWER;
	else if (*version == STORE_SCHEMA_VERSION)
		*kind = DB_CURRENT;
	else if (*version >= 1)
		*kind = DB_OLDER;
	else
		*kind = DB_FOREIGN; /* a marker without a version: not something we wrote */
	return SQLITE_OK;
}

/* Log why a file of @kind cannot be used. Returns -errno, or 0 when it can. */
static int refuse(struct store *st, enum db_kind kind, int64_t version, bool for_write)
{
	switch (kind) {
	case DB_FOREIGN:
		return log_error(-EINVAL, "'%s' is not a magicpak database"
				 " (no magicpak_meta marker); refusing to touch it", st->path);
	case DB_NEWER:
		return log_error(-ENOTSUP, "'%s' has magicpak schema version %" PRId64
				 ", newer than this magicpak understands (%d);"
				 " refusing to touch it", st->path, version, STORE_SCHEMA_VERSION);
	case DB_EMPTY:
		if (!for_write)
			return log_error(-EINVAL, "'%s' is not a magicpak database (it is empty)",
					 st->path);
		return 0;
	case DB_OLDER:
		if (!for_write)
			return log_error(-ENOTSUP, "'%s' has the older magicpak schema version %"
					 PRId64 "; record into it once to upgrade it", st->path,
					 version);
		return 0;
	case DB_CURRENT: return 0;
	}
	return 0;
}

static int migrate_0_to_1(struct store *st)
{
	return exec_sql(st, schema_v1);
}

/* Give every enum mp_op and enum mp_source its row in ops and sources, keeping the rows there
 * (a newer magicpak may have added more). Returns an SQLite code. */
static int fill_names(struct store *st)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO ops (id, name) VALUES (?1, ?2)", -1,
				&s, NULL);
	for (int op = 1; rc == SQLITE_OK && op < MP_OP_MAX; op++) {
		sqlite3_bind_int(s, 1, op);
		sqlite3_bind_text(s, 2, op_names[op], -1, SQLITE_STATIC);
		rc = step_write(s);
	}
	sqlite3_finalize(s);
	s = NULL;
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO sources (id, name) VALUES (?1, ?2)",
				-1, &s, NULL);
	for (int src = 1; rc == SQLITE_OK && src < SOURCE_MAX; src++) {
		sqlite3_bind_int(s, 1, src);
		sqlite3_bind_text(s, 2, source_names[src], -1, SQLITE_STATIC);
		rc = step_write(s);
	}
	sqlite3_finalize(s);
	return rc;
}

/* session_path_summary hard-codes these (Linux) values. */
_Static_assert(O_ACCMODE == 3 && O_CREAT == 0100 && O_TRUNC == 01000 && ENOENT == 2,
	       "update session_path_summary in migrate_1_to_2");

/* Version 2 (history.c): where a merged session came from (sessions.origin_db: the db_id
 * of the database it was recorded in; origin_session_id: its id there; merged_from: the file
 * it was merged from), this database's own random db_id, the indexes that let `report` find
 * a session's batch and a path's versions, and the per-session summary session_paths (see
 * the top of this file), filled here for every session that has ended. A new database gets
 * version 1 and then this, so both have the same schema. */
static int migrate_1_to_2(struct store *st)
{
	return exec_sql(st,
		"ALTER TABLE sessions ADD COLUMN origin_db TEXT;\n"
		"ALTER TABLE sessions ADD COLUMN origin_session_id INTEGER;\n"
		"ALTER TABLE sessions ADD COLUMN merged_from TEXT;\n"
		"CREATE INDEX sessions_by_origin ON sessions (origin_db, origin_session_id);\n"
		"CREATE INDEX access_batches_by_first ON access_batches (first_id);\n"
		"CREATE INDEX file_versions_by_path ON file_versions (path_id, session_id);\n"
		"CREATE TABLE session_paths (\n"
		"	session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,\n"
		"	path_id    INTEGER NOT NULL REFERENCES paths (id),\n"
		"	ops        INTEGER NOT NULL,\n"
		"	open_modes INTEGER NOT NULL,\n"
		"	results    INTEGER NOT NULL,\n"
		"	first_ns   INTEGER NOT NULL,\n"
		"	last_ns    INTEGER NOT NULL,\n"
		"	count      INTEGER NOT NULL,\n"
		"	PRIMARY KEY (session_id, path_id)\n"
		") WITHOUT ROWID;\n"
		/* Sums of distinct powers of two are their bitwise OR. */
		"CREATE VIEW session_path_summary AS\n"
		"SELECT b.session_id, a.path_id,\n"
		"       ifnull(sum(DISTINCT CASE WHEN a.errno = 0 AND a.op BETWEEN 1 AND 62\n"
		"                  THEN 1 << a.op END), 0) AS ops,\n"
		"       ifnull(sum(DISTINCT CASE WHEN a.errno = 0 AND a.op = 1\n"
		"                  THEN 1 << (a.flags & 3) END), 0) |\n"
		"       max(CASE WHEN a.errno = 0 AND a.op = 1 AND a.flags & 576 <> 0\n"
		"           THEN 16 ELSE 0 END) AS open_modes,\n"
		"       sum(DISTINCT CASE a.errno WHEN 0 THEN 1 WHEN 2 THEN 2 ELSE 4 END) AS results,\n"
		"       min(a.first_ns) AS first_ns, max(a.last_ns) AS last_ns,\n"
		"       sum(CASE WHEN a.errno = 0 THEN a.count ELSE 0 END) AS count\n"
		"FROM access_batches b\n"
		"JOIN accesses a ON a.id BETWEEN b.first_id AND b.last_id\n"
		"GROUP BY b.session_id, a.path_id;\n"
		"INSERT INTO session_paths (session_id, path_id, ops, open_modes, results,"
		" first_ns, last_ns, count)\n"
		"SELECT session_id, path_id, ops, open_modes, results, first_ns, last_ns, count\n"
		"FROM session_path_summary\n"
		"WHERE session_id IN (SELECT id FROM sessions WHERE ended_at IS NOT NULL);\n"
		"DROP VIEW session_files;\n"
		"CREATE VIEW session_files AS\n"
		"SELECT sp.session_id, p.path\n"
		"FROM session_paths sp\n"
		"JOIN paths p ON p.id = sp.path_id\n"
		"WHERE sp.results & 1\n"
		"UNION ALL\n"
		"SELECT DISTINCT b.session_id, p.path\n"
		"FROM sessions s\n"
		"JOIN access_batches b ON b.session_id = s.id\n"
		"JOIN accesses a ON a.id BETWEEN b.first_id AND b.last_id\n"
		"JOIN paths p ON p.id = a.path_id\n"
		"WHERE s.ended_at IS NULL AND a.errno = 0;\n"
		"DROP TRIGGER sessions_delete;\n"
		"CREATE TRIGGER sessions_delete BEFORE DELETE ON sessions BEGIN\n"
		"	DELETE FROM accesses WHERE id IN (SELECT a.id FROM access_batches b\n"
		"		JOIN accesses a ON a.id BETWEEN b.first_id AND b.last_id\n"
		"		WHERE b.session_id = old.id);\n"
		"	DELETE FROM access_batches WHERE session_id = old.id;\n"
		"	DELETE FROM session_paths WHERE session_id = old.id;\n"
		"	DELETE FROM file_versions WHERE session_id = old.id;\n"
		"	DELETE FROM processes WHERE session_id = old.id;\n"
		"END;\n"
		"INSERT OR IGNORE INTO magicpak_meta (key, value)"
		" VALUES ('db_id', lower(hex(randomblob(16))));\n");
}

/* migrations[v] brings a schema from version v to v + 1; version 0 is an empty file. */
static int (*const migrations[STORE_SCHEMA_VERSION])(struct store *st) = {
	migrate_0_to_1,
	migrate_1_to_2,
};

/* sessions_by_origin as an earlier magicpak made it, UNIQUE: one origin (database, id) may
 * name several sessions (a history copied with cp and recorded into as two, or an id that
 * `forget` freed and a later record took again), which `merge` tells apart by their start,
 * command and host (history.c). */
#define SQL_UNIQUE_ORIGIN "name = 'sessions_by_origin' AND sql LIKE 'CREATE UNIQUE INDEX%'"

/* Create or upgrade the schema, fill in the names of ops and sources and drop or redo what
 * an older magicpak made and this one does not keep, in one BEGIN IMMEDIATE transaction,
 * looking again inside it: another recorder may have done it since classify() ran. */
static int migrate(struct store *st)
{
	char msg[256] = "", sql[64];
	enum db_kind kind;
	int64_t version, unique = 0;
	int rc = SQLITE_OK, ret;

	for (int attempt = 0; attempt < TXN_ATTEMPTS; attempt++) {
		if (attempt)
			sleep_backoff(attempt);
		rc = exec_sql(st, "BEGIN IMMEDIATE");
		if (rc != SQLITE_OK) {
			snprintf(msg, sizeof(msg), "%s", sqlite3_errmsg(st->db));
			goto retry;
		}
		rc = classify(st, &kind, &version);
		if (rc == SQLITE_OK) {
			ret = refuse(st, kind, version, true);
			if (ret) {
				exec_sql(st, "ROLLBACK");
				return ret;
			}
			for (int64_t v = kind == DB_EMPTY ? 0 : version;
			     rc == SQLITE_OK && v < STORE_SCHEMA_VERSION; v++)
				rc = migrations[v](st);
		}
		if (rc == SQLITE_OK)
			rc = fill_names(st);
		/* made by magicpak before session_paths lost its index by path (same version) */
		if (rc == SQLITE_OK)
			rc = exec_sql(st, "DROP INDEX IF EXISTS session_paths_by_path");
		if (rc == SQLITE_OK)
			rc = query_int(st, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
				       " AND " SQL_UNIQUE_ORIGIN, &unique);
		if (rc == SQLITE_OK && unique)
			rc = exec_sql(st, "DROP INDEX sessions_by_origin; CREATE INDEX"
				      " sessions_by_origin ON sessions (origin_db, origin_session_id)");
		if (rc == SQLITE_OK) {
			snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
				 STORE_SCHEMA_VERSION);
			rc = exec_sql(st, sql);
		}
		if (rc == SQLITE_OK)
			rc = exec_sql(st, "COMMIT");
		if (rc == SQLITE_OK)
			return 0;
		snprintf(msg, sizeof(msg), "%s", sqlite3_errmsg(st->db));
		if (!sqlite3_get_autocommit(st->db))
			exec_sql(st, "ROLLBACK");
retry:
		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
			break;
	}
	return db_error(st, rc, "create the schema in", msg);
}

/* Does the current schema in @st need what migrate() does besides the migrations (a file an
 * older magicpak made): a row of ops or sources missing, session_paths_by_path still there,
 * or sessions_by_origin still UNIQUE? Reads only. Returns 0 or -errno. */
static int fixup_needed(struct store *st, bool *needed)
{
	int64_t ops, sources, index = 0;
	int rc;

	rc = query_int(st, "SELECT count(*) FROM ops", &ops);
	if (rc == SQLITE_OK)
		rc = query_int(st, "SELECT count(*) FROM sources", &sources);
	if (rc == SQLITE_OK)
		rc = query_int(st, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND"
				   " (name = 'session_paths_by_path' OR (" SQL_UNIQUE_ORIGIN "))",
			       &index);
	if (rc != SQLITE_OK)
		return db_error(st, rc, "read", sqlite3_errmsg(st->db));
	*needed = ops < MP_OP_MAX - 1 || sources < SOURCE_MAX - 1 || index;
	return 0;
}

/* Switch to WAL. While another connection holds the file, SQLite keeps the old mode and
 * returns it (without an error), so try again for a while. */
static int set_wal(struct store *st)
{
	sqlite3_stmt *s = NULL;
	bool wal = false;
	int rc = SQLITE_OK;

	for (int attempt = 0; attempt < WAL_ATTEMPTS && !wal; attempt++) {
		if (attempt)
			usleep((useconds_t)(5000 + rand() % 5000));
		rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
		if (rc != SQLITE_OK)
			break;
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			wal = !strcmp((const char *)sqlite3_column_text(s, 0), "wal");
			rc = SQLITE_OK;
		}
		sqlite3_finalize(s);
		s = NULL;
		if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY)
			break;
	}
	if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY)
		return db_error(st, rc, "set WAL mode on", sqlite3_errmsg(st->db));
	if (!wal)
		log_warn("'%s': cannot switch to WAL journal mode; concurrent recorders will wait"
			 " for each other", st->path);
	return 0;
}

/* A PASSIVE checkpoint, now, outside any transaction of ours. Another connection's busy
 * (BUSY, LOCKED) is no error: a later one will do it. A failure (EIO: the disk could not
 * make the data durable) is kept in late_rc and reported when the session ends, after its
 * rows are in, so that the run's history is not lost with it. */
static void checkpoint(struct store *st)
{
	int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

	if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED &&
	    !st->late_rc)
		st->late_rc = rc;
}

/* Give the file its application_id, once (see APPLICATION_ID), and after that or a new
 * schema (@changed) checkpoint at once, so that the file's own header shows them to the
 * next store_open_session(). Returns 0 or -errno (logged). */
static int mark_application(struct store *st, bool changed)
{
	int64_t id;
	char sql[64];
	int rc;

	rc = query_int(st, "PRAGMA application_id", &id);
	if (rc == SQLITE_OK && id != APPLICATION_ID) {
		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", APPLICATION_ID);
		rc = exec_sql(st, sql);
		changed = true;
	}
	if (rc != SQLITE_OK)
		return db_error(st, rc, "write to", sqlite3_errmsg(st->db));
	if (changed)
		checkpoint(st);
	return 0;
}

/* Network file systems share no memory between hosts, which WAL needs (statfs(2)). */
static bool network_fs(const char *dir)
{
	struct statfs sfs;

	if (statfs(dir, &sfs))
		return false;
	switch ((unsigned long)sfs.f_type) {
	case 0x6969:     /* NFS */
	case 0x01021997: /* 9p */
	case 0x65735546: /* FUSE */
	case 0xff534d42: /* CIFS */
	case 0xfe534d42: /* SMB2 */
		return true;
	}
	return false;
}

static void warn_network_fs(const char *path)
{
	char *dir = dir_of(path);

	if (network_fs(dir))
		log_warn("'%s' is on a network file system: WAL works only if every"
			 " recorder runs on this host", path);
	free(dir);
}

/* PATH-wal and PATH-shm both exist and may be read and written: 0, else the first that does
 * not, logged (@dir_errno: why the directory refuses a new file). */
static int precheck_sidecars(const char *path, int dir_errno)
{
	static const char *const ext[] = { "wal", "shm" };

	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		char *f = xasprintf("%s-%s", path, ext[i]);
		int ret = 0;

		if (access(f, R_OK | W_OK) == 0)
			;
		else if (errno == ENOENT)
			ret = log_errno(-dir_errno, "cannot create '%s'", f);
		else
			ret = log_errno(-errno, "cannot open '%s' for writing", f);
		free(f);
		if (ret)
			return ret;
	}
	return 0;
}

/* Check what SQLite will need before it tries, to report the real cause. */
static int precheck_write(const char *path)
{
	struct stat sb;
	char *dir = dir_of(path);
	int ret = 0;

	if (!stat(path, &sb)) {
		if (S_ISDIR(sb.st_mode)) {
			ret = log_errno(-EISDIR, "cannot open '%s'", path);
			goto out;
		}
		if (access(path, R_OK | W_OK)) {
			ret = log_errno(-errno, "cannot open '%s' for writing", path);
			goto out;
		}
		/* WAL mode creates PATH-wal and PATH-shm next to the database, unless both are
		 * there already for this user to write (a directory closed after the first run:
		 * SQLite then needs to create or remove neither) */
		if (access(dir, W_OK) && (ret = precheck_sidecars(path, errno)))
			goto out;
	} else if (errno == ENOENT) {
		if (access(dir, W_OK)) {
			ret = log_errno(-errno, "cannot create '%s'", path);
			goto out;
		}
	} else {
		ret = log_errno(-errno, "cannot open '%s'", path);
		goto out;
	}
	warn_network_fs(path);
out:
	free(dir);
	return ret;
}

/* 0 where precheck_write() passes an existing file without a word (a directory it may write,
 * on a local file system); -1 for anything else, saying nothing. */
static int precheck_quiet(const char *path)
{
	char *dir = dir_of(path);
	int ret = access(path, R_OK | W_OK) || access(dir, W_OK) || network_fs(dir) ? -1 : 0;

	free(dir);
	return ret;
}

/* A WAL database that a reader cannot give its -wal or -shm file (a read-only file system,
 * or a directory it may not write: a history copied there as one file, read as another user)
 * can still be read as immutable, without shared memory or locks, when there is no WAL
 * content: no writer is active then (a writer keeps a -wal), and nothing lies outside the
 * file. Only where SQLite itself cannot open it (its read-only -shm path needs both
 * files); @dir_ro: the file's directory may not be written. */
static bool closed_wal_unwritable(const char *path, bool dir_ro)
{
	struct statvfs vfs;
	struct stat sb;
	char *wal = xasprintf("%s-wal", path);
	bool ret;

	ret = (stat(wal, &sb) ? errno == ENOENT : !sb.st_size) &&
	      (dir_ro || (!statvfs(path, &vfs) && (vfs.f_flag & ST_RDONLY)));
	free(wal);
	return ret;
}

static int open_immutable(struct store *st)
{
	struct strbuf uri = STRBUF_INIT;
	int rc;

	strbuf_adds(&uri, "file:");
	for (const unsigned char *p = (const unsigned char *)st->path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/-._~", *p))
			strbuf_addch(&uri, (char)*p);
		else
			strbuf_addf(&uri, "%%%02X", *p);
	}
	strbuf_adds(&uri, "?immutable=1");
	rc = sqlite3_open_v2(uri.buf, &st->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX |
				      SQLITE_OPEN_URI, NULL);
	strbuf_release(&uri);
	return rc;
}

/* A read-only connection to a WAL database leaves the -wal and -shm files SQLite makes for
 * it behind (only a connection that may write removes them, at the last close), even beside
 * a file refused as no history. Where there is no -wal yet (so no WAL content a close would
 * checkpoint into the file) and this user may write the file and its directory, a reader
 * looks at the file through a read-write connection first (writing nothing), so that a
 * file it refuses is left as it was when that connection closes. */
static bool reader_may_clean(const char *path)
{
	char *wal = xasprintf("%s-wal", path), *dir = dir_of(path);
	struct stat sb;
	bool ret;

	ret = stat(wal, &sb) < 0 && errno == ENOENT && !access(path, W_OK) && !access(dir, W_OK);
	free(wal);
	free(dir);
	return ret;
}

/* How store_open_mode() opens a file. */
enum open_flags {
	OPEN_READONLY = 1 << 0,    /* for the query verbs only */
	OPEN_PRECHECKED = 1 << 1,  /* precheck_write() was done already */
	OPEN_EXISTING = 1 << 2,    /* never create a history: a missing or empty file is refused */
};

static int store_open_mode(const char *path, unsigned mode, struct store **out)
{
	struct store *st = xcalloc(1, sizeof(*st));
	bool memory = !strcmp(path, ":memory:"), readonly = mode & OPEN_READONLY;
	bool existing = readonly || (mode & OPEN_EXISTING), rw_reader = false;
	enum db_kind kind;
	bool fixup = false;
	int64_t version;
	struct stat sb;
	int flags, rc, ret;

	st->path = xstrdup(path);
	st->readonly = readonly;
	if (existing && !memory && stat(path, &sb)) {
		ret = log_errno(-errno, "cannot open '%s'", path);
		goto out;
	}
	/* SQLite would call a directory a disk I/O error */
	if (existing && !memory && S_ISDIR(sb.st_mode)) {
		ret = log_error(-EISDIR, "cannot open '%s': %s", path, strerror(EISDIR));
		goto out;
	}
	if (!readonly && !memory && !(mode & OPEN_PRECHECKED) && (ret = precheck_write(path)))
		goto out;
	if (readonly && !memory)
		rw_reader = reader_may_clean(path);
	flags = (readonly && !rw_reader ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
		(existing ? 0 : SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
	rc = sqlite3_open_v2(path, &st->db, flags, NULL);
	if (rc != SQLITE_OK) {
		ret = db_error(st, rc, "open", st->db ? sqlite3_errmsg(st->db) : NULL);
		goto out;
	}
	if (!readonly && sqlite3_db_readonly(st->db, "main") == 1) {
		ret = log_error(-EROFS, "cannot open '%s' for writing: read-only", path);
		goto out;
	}
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	/* Look before writing anything, so a file we refuse stays byte-for-byte as it was. */
	rc = classify(st, &kind, &version);
	if (((rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_READONLY) && readonly &&
	    !memory) {
		char *dir = dir_of(path);
		bool dir_ro = access(dir, W_OK) != 0;

		free(dir);
		if (closed_wal_unwritable(path, dir_ro)) {
			sqlite3_close_v2(st->db);
			st->db = NULL;
			rc = open_immutable(st);
			if (rc == SQLITE_OK)
				rc = classify(st, &kind, &version);
		} else if (dir_ro) {
			ret = log_error(-EACCES, "cannot read '%s': its WAL needs a '%s-shm' file beside"
					" it, in a directory this user may not write; run `magicpak"
					" vacuum` on it as its owner, or copy it elsewhere", path,
					path_basename(path));
			goto out;
		}
	}
	if ((rc & 0xff) == SQLITE_NOTADB) {
		ret = log_error(-EINVAL, "'%s' is not an SQLite database; refusing to touch it",
				path);
		goto out;
	}
	if (rc != SQLITE_OK) {
		ret = db_error(st, rc, "read", sqlite3_errmsg(st->db));
		goto out;
	}
	/* an empty file is a new history only to the verbs that may create one */
	if ((ret = refuse(st, kind, version, !readonly && !(existing && kind == DB_EMPTY))))
		goto out;
	if (rw_reader) {
		/* a history: read it through a read-only connection, as any reader does (the
		 * read-write one only looked, and its close removes what SQLite made for it) */
		sqlite3_close_v2(st->db);
		st->db = NULL;
		rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
		if (rc != SQLITE_OK) {
			ret = db_error(st, rc, "open", st->db ? sqlite3_errmsg(st->db) : NULL);
			goto out;
		}
		sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	}
	rc = exec_sql(st, "PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384");
	if (rc == SQLITE_OK && !readonly)
		rc = exec_sql(st, "PRAGMA synchronous = NORMAL");
	/* Checkpointing at close costs two fsyncs per `record`, most of its fixed cost; the
	 * WAL is checkpointed automatically as it grows instead (wal_autocheckpoint), and
	 * every reader sees it meanwhile. */
	if (rc == SQLITE_OK && !readonly)
		rc = sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if (rc == SQLITE_OK && !readonly)
		rc = exec_sql(st, "PRAGMA journal_size_limit = " WAL_SIZE_LIMIT);
	if (rc != SQLITE_OK) {
		ret = db_error(st, rc, "configure", sqlite3_errmsg(st->db));
		goto out;
	}
	if (!readonly) {
		if (!memory && (ret = set_wal(st)))
			goto out;
		if (!memory)
			sqlite3_wal_hook(st->db, wal_hook, st);
		if (kind == DB_CURRENT && (ret = fixup_needed(st, &fixup)))
			goto out;
		if ((kind != DB_CURRENT || fixup) && (ret = migrate(st)))
			goto out;
		if (!memory && (ret = mark_application(st, kind != DB_CURRENT)))
			goto out;
		for (int i = 0; i < ST_COUNT; i++) {
			rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
						&st->stmt[i], NULL);
			if (rc != SQLITE_OK) {
				ret = db_error(st, rc, "prepare statements for",
					       sqlite3_errmsg(st->db));
				goto out;
			}
		}
	}
	*out = st;
	st = NULL;
	ret = 0;
out:
	if (st) {
		/* Nothing pending: closing writes nothing. */
		st->readonly = true;
		store_free(st);
	}
	return ret;
}

int store_open(const char *path, struct store **out)
{
	return store_open_mode(path, 0, out);
}

int store_open_readonly(const char *path, struct store **out)
{
	return store_open_mode(path, OPEN_READONLY, out);
}

int store_open_existing(const char *path, struct store **out)
{
	return store_open_mode(path, OPEN_EXISTING, out);
}

struct sqlite3 *store_sqlite(struct store *st)
{
	return st->db;
}

/* The session's strings store_open_session() kept for its thread. */
static void free_session_strings(struct store *st)
{
	free(st->s_label);
	free(st->s_argv);
	free(st->s_cwd);
	free(st->s_host);
	st->s_label = st->s_argv = st->s_cwd = st->s_host = NULL;
}

static void release_hold(struct store *st, int how);

void store_close(struct store *st)
{
	if (!st || st->closed)
		return;
	st->closed = true;
	/* never started (the command never ran): the file is not even opened */
	if (st->opening && !st->threaded) {
		st->opening = false;
		free_session_strings(st);
	}
	/* opened early, and no command started: the thread begins no session */
	release_hold(st, HOLD_DROP);
	if (st->opening)
		store_join(st);
	if (st->db)
		unprepare(st, "the store is closed");
	if (st->db && !st->readonly && !st->failed && has_pending(st))
		write_txn(st, NULL, NULL);
	/* after the rows: reporting it stops the store */
	if (st->db && !st->failed)
		store_late_error(st);
	/* A TRUNCATE checkpoint costs two fsyncs and a truncate, 2 ms here: most of what a
	 * short `record` costs. The PASSIVE checkpoints of wal_hook keep the WAL near
	 * WAL_CKPT_FRAMES, and the next opener rebuilds its index from that in 1 ms; only a
	 * WAL left very long (a reader pinned it during a big session) is emptied here, so it
	 * takes no disk space meanwhile. BUSY (another writer) is fine: it will. */
	if (st->db && !st->readonly && !st->failed && st->wal_frames >= WAL_TRUNCATE_FRAMES) {
		/* never wait for it: a TRUNCATE checkpoint would wait (busy timeout, 30 s) for
		 * every reader of the file to finish */
		sqlite3_busy_timeout(st->db, 0);
		sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	}
}

void store_free(struct store *st)
{
	if (!st)
		return;
	store_close(st);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close_v2(st->db);
	procs_clear(st);
	free(st->procs);
	free(st->pid_slots);
	free(st->rows);
	free(st->dirty);
	free(st->fold_slots);
	free(st->files_v);
	free(st->paths);
	free(st->path_slots);
	free(st->resolved);
	free(st->touched);
	strbuf_release(&st->names);
	free(st->path);
	if (st->held) {
		pthread_mutex_destroy(&st->hold_mu);
		pthread_cond_destroy(&st->hold_cv);
	}
	free(st);
}

/* ---- the recording lock ---- */

/* A store recording session N holds an open file description lock (F_OFD_SETLK, Linux 3.15)
 * on byte SESSION_LOCK_BASE + N of the database file, taken in the transaction that inserts
 * the session's row and dropped once its end is committed, so a `forget` holding the write
 * lock sees every session not yet ended either locked or abandoned. The kernel drops the lock
 * when the recorder dies, however it dies (kill -9 included), and any process on the machine
 * sees it, whatever its pid namespace: a locked session is being recorded, an unended one
 * that is not was left by a recorder that is gone. The lock is taken through SQLite's own
 * descriptor: a second one would have to be closed some day, and closing any descriptor of
 * the file drops every POSIX lock SQLite holds on it (RELIABILITY SQL-05). An OFD lock
 * belongs to the open file description, not the process, so SQLite's POSIX unlocks of the
 * whole file leave it alone, and its byte is far from SQLite's own (1 GiB and the 510 bytes
 * after it). */
#define SESSION_LOCK_BASE ((off_t)1 << 62)

/* SQLite's descriptor of @st's file (there is one, SQL-05), found among ours by inode, or
 * -errno. */
static int db_fd(struct store *st)
{
	struct stat want, sb;
	struct dirent *de;
	DIR *d;
	int ret = -ENOENT;

	if (!st->db || !strcmp(st->path, ":memory:"))
		return -ENOENT;
	/* a connection keeps its descriptor: looked up once (sessions asks for every session) */
	if (st->db_fd1)
		return st->db_fd1 - 1;
	if (stat(st->path, &want) < 0)
		return -errno;
	d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (end == de->d_name || *end || fd == dirfd(d))
			continue;
		if (!fstat((int)fd, &sb) && S_ISREG(sb.st_mode) && sb.st_dev == want.st_dev &&
		    sb.st_ino == want.st_ino) {
			ret = (int)fd;
			break;
		}
	}
	closedir(d);
	if (ret >= 0)
		st->db_fd1 = ret + 1;
	return ret;
}

/* fcntl(@cmd) on session @id's byte of SQLite's descriptor, @fl's type already set: the
 * descriptor, or -errno. */
static int session_fcntl(struct store *st, int64_t id, int cmd, struct flock *fl)
{
	int fd;

	if (id <= 0 || id >= SESSION_LOCK_BASE)
		return -ERANGE;
	if ((fd = db_fd(st)) < 0)
		return fd;
	fl->l_whence = SEEK_SET;
	fl->l_start = SESSION_LOCK_BASE + id;
	fl->l_len = 1;
	return fcntl(fd, cmd, fl) < 0 ? -errno : fd;
}

/* Take session @id's lock (a shared one: two stores that were given the same id, one of
 * them after `forget --force`, both hold it). -errno when it cannot be had. */
static int session_lock(struct store *st, int64_t id)
{
	struct flock fl = { .l_type = F_RDLCK };
	int fd = session_fcntl(st, id, F_OFD_SETLK, &fl);

	if (fd < 0)
		return fd;
	st->lock_fd = fd;
	st->locked_id = id;
	return 0;
}

static void session_unlock(struct store *st)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_len = 1 };

	if (!st->locked_id)
		return;
	fl.l_start = SESSION_LOCK_BASE + st->locked_id;
	fcntl(st->lock_fd, F_OFD_SETLK, &fl);
	st->locked_id = 0;
}

int store_session_recording(struct store *st, int64_t id, bool *recording)
{
	/* l_pid stays 0, as F_OFD_GETLK requires */
	struct flock fl = { .l_type = F_WRLCK };
	int fd = session_fcntl(st, id, F_OFD_GETLK, &fl);

	*recording = fd >= 0 && fl.l_type != F_UNLCK;
	return fd < 0 ? fd : 0;
}

/* ---- sessions ---- */

struct session_add {
	const struct store_session *s;
	const char *argv;
	const char *started_at;
	int64_t id;
};

static int session_add_sql(struct store *st, void *arg)
{
	struct session_add *a = arg;
	sqlite3_stmt *s = st->stmt[ST_SESSION_ADD];
	int rc, ret;

	bind_text(s, 1, a->s->label);
	bind_text(s, 2, a->argv);
	bind_text(s, 3, a->s->cwd);
	bind_text(s, 4, a->started_at);
	bind_text(s, 5, source_names[a->s->source]);
	bind_text(s, 6, a->s->host);
	rc = step_write(s);
	a->id = sqlite3_last_insert_rowid(st->db);
	/* before the commit (see SESSION_LOCK_BASE); first, drop the lock of an attempt that
	 * was rolled back: this one may have got another id */
	session_unlock(st);
	if (rc == SQLITE_OK && (ret = session_lock(st, a->id)) < 0)
		log_debug("'%s': no lock to show session %" PRId64 " is being recorded: %s",
			  st->path, a->id, strerror(-ret));
	return rc;
}

/* Write verbs share these checks. */
static int check_writable(struct store *st, bool need_session)
{
	if (st->failed)
		return st->failed;
	if (st->readonly)
		return log_error(-EROFS, "cannot write to '%s': opened read-only", st->path);
	if (need_session && !st->session_id && !st->opening)
		return log_error(-EINVAL, "no session is being recorded into '%s'", st->path);
	return 0;
}

/* store_session_begin() with the argv already as JSON (@argv_js, borrowed), started at
 * @started_ns (CLOCK_REALTIME; 0: now). */
static int session_begin(struct store *st, const struct store_session *s, const char *argv_js,
			 uint64_t started_ns, int64_t *id)
{
	struct session_add a = { .s = s, .argv = argv_js };
	char started[32];
	int ret;

	if ((ret = check_writable(st, false)))
		return ret;
	if (st->session_id || st->opening)
		return log_error(-EBUSY, "session %" PRId64 " is still being recorded into '%s'",
				 st->session_id, st->path);
	if (s->source < 1 || s->source >= SOURCE_MAX)
		return log_error(-EINVAL, "unknown event source %d", s->source);
	/* A recording connection writes rows that name its own session and the paths it
	 * interned itself: it checks no foreign keys (two lookups for each session_paths and
	 * file_versions row: W4's 4,000 summary rows took 4.0 ms, 2.8 ms without). The other
	 * writers (merge, forget, vacuum) keep the checks; the tests run PRAGMA
	 * foreign_key_check on what each source recorded. Outside any transaction, where
	 * SQLite lets it change. */
	if (!st->fk_off) {
		if (exec_sql(st, "PRAGMA foreign_keys = OFF") != SQLITE_OK)
			return db_error(st, sqlite3_errcode(st->db), "configure",
					sqlite3_errmsg(st->db));
		st->fk_off = true;
	}
	iso_time(started, started_ns ? started_ns : clock_real_ns());
	a.started_at = started;
	ret = write_txn(st, session_add_sql, &a);
	if (ret) {
		session_unlock(st);
		return ret;
	}
	st->session_id = a.id;
	memcpy(st->started_at, started, sizeof(st->started_at));
	st->session_gen++;
	st->ntouched = 0;
	st->events = st->files = st->processes = 0;
	*id = a.id;
	return 0;
}

int store_session_begin(struct store *st, const struct store_session *s, int64_t *id)
{
	char *js = argv_json(s->argv);
	int ret = session_begin(st, s, js, 0, id);

	free(js);
	return ret;
}

/* ---- opening while the command runs ---- */

/* May the file at @path be opened in a thread? Only when its first 100 bytes say it is a
 * database this magicpak marked current (or there is no file yet): everything it would
 * refuse, or migrate, is found before the command runs, by store_open() itself. Reading
 * the header of a WAL database is safe: application_id and user_version change only in a
 * transaction that a checkpoint has since copied to the file, or else the header shows the
 * older values and the file is opened here, synchronously. The file is read with its own fd
 * only because no connection of ours has it open yet: closing an fd drops every POSIX lock
 * the process holds on the file (RELIABILITY SQL-05; t541 checks there are never two). */
static bool header_current(const char *path)
{
	unsigned char h[100];
	struct stat sb;
	ssize_t n;
	/* O_NONBLOCK: a FIFO named as the history must not hang us here */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return errno == ENOENT;
	n = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? pread(fd, h, sizeof(h), 0) : -1;
	close(fd);
	if (n == 0)
		return true;
	if (n != (ssize_t)sizeof(h) || memcmp(h, "SQLite format 3", 16))
		return false;
	return ((uint32_t)h[60] << 24 | (uint32_t)h[61] << 16 | (uint32_t)h[62] << 8 | h[63]) ==
		       STORE_SCHEMA_VERSION &&
	       ((uint32_t)h[68] << 24 | (uint32_t)h[69] << 16 | (uint32_t)h[70] << 8 | h[71]) ==
		       APPLICATION_ID;
}

static void *open_thread(void *arg)
{
	struct store *st = arg, *conn = NULL;
	struct store_session s = { st->s_label, NULL, st->s_cwd, st->s_source, st->s_host };
	uint64_t t0 = clock_mono_ns();
	int ret;

	/* its own name, so that top -H and perf (--comm) tell it from the collecting loop */
	prctl(PR_SET_NAME, "magicpak-store", 0, 0, 0);
	/* store_open_session() made precheck_write()'s checks (and warning) already */
	ret = store_open_mode(st->path, OPEN_PRECHECKED, &conn);
	/* opened; what follows runs beside the command, wherever the scheduler puts it */
	if (st->away)
		sched_setaffinity(0, sizeof(st->cpus), &st->cpus);
	if (st->held) {
		uint64_t t1 = clock_mono_ns();

		pthread_mutex_lock(&st->hold_mu);
		while (st->hold == HOLD_WAIT)
			pthread_cond_wait(&st->hold_cv, &st->hold_mu);
		if (st->hold == HOLD_DROP && !ret)
			ret = -ECANCELED;
		pthread_mutex_unlock(&st->hold_mu);
		t0 += clock_mono_ns() - t1; /* conn_us: the work, not the wait */
	}
	if (!ret)
		ret = session_begin(conn, &s, st->s_argv, st->s_started_ns, &st->conn_session);
	/* The WAL is checkpointed here, while the command runs, not by a commit at its end;
	 * not once the command is over (store_wait() waits): a later run will. */
	if (!ret && conn->wal_frames >= WAL_OPEN_CKPT_FRAMES &&
	    !__atomic_load_n(&st->waited, __ATOMIC_ACQUIRE)) {
		checkpoint(conn);
		st->conn_ckpt = true;
	}
	st->conn_us = (clock_mono_ns() - t0) / 1000;
	if (ret && conn) {
		conn->readonly = true; /* nothing pending: closing writes nothing */
		store_free(conn);
		conn = NULL;
	}
	st->conn = conn;
	st->conn_ret = ret;
	__atomic_store_n(&st->conn_done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* The store of a session whose file store_open_session() opens in a thread (checked). */
static struct store *opening_store(const char *path, const struct store_session *s)
{
	struct store *st = xcalloc(1, sizeof(*st));

	st->path = xstrdup(path);
	st->s_label = s->label ? xstrdup(s->label) : NULL;
	st->s_argv = argv_json(s->argv);
	st->s_cwd = s->cwd ? xstrdup(s->cwd) : NULL;
	st->s_host = s->host ? xstrdup(s->host) : NULL;
	st->s_source = s->source;
	st->session_gen = 1;
	st->opening = true;
	/* the command starts next: its session starts now, not when the thread writes it
	 * (2-19 ms later, after the first accesses) */
	st->s_started_ns = clock_real_ns();
	return st;
}

/* @away: on any CPU but ours, which the caller keeps busy (store_open_early()). These VMs
 * pack threads on one vCPU (the others halted) as long as it keeps up: the thread began on
 * ours and took it from the probe's loading for the 4 ms of its opening, the other idle. */
static void start_thread(struct store *st, bool away)
{
	pthread_attr_t attr, *a = NULL;
	sigset_t all, old;
	cpu_set_t other;
	int cpu;

	if (away && (cpu = sched_getcpu()) >= 0 &&
	    sched_getaffinity(0, sizeof(st->cpus), &st->cpus) == 0 && CPU_ISSET(cpu, &st->cpus) &&
	    CPU_COUNT(&st->cpus) > 1 && pthread_attr_init(&attr) == 0) {
		other = st->cpus;
		CPU_CLR(cpu, &other);
		if (pthread_attr_setaffinity_np(&attr, sizeof(other), &other) == 0) {
			st->away = true;
			a = &attr;
		} else {
			pthread_attr_destroy(&attr);
		}
	}
	/* the thread takes no signal of the command's */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	st->threaded = pthread_create(&st->th, a, open_thread, st) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (a)
		pthread_attr_destroy(a);
}

struct store *store_open_early(const char *path, const struct store_session *s)
{
	struct store *st;
	struct stat sb;

	/* only a history that exists, is current and that precheck_write() would pass without
	 * a word: anything else is opened (and said) by store_open_session(), after the probe */
	if (!strcmp(path, ":memory:") || stat(path, &sb) || !S_ISREG(sb.st_mode) || !sb.st_size ||
	    !header_current(path) || precheck_quiet(path) || s->source < 1 || s->source >= SOURCE_MAX)
		return NULL;
	st = opening_store(path, s);
	st->hold = HOLD_WAIT;
	st->held = true;
	pthread_mutex_init(&st->hold_mu, NULL);
	pthread_cond_init(&st->hold_cv, NULL);
	start_thread(st, true);
	if (!st->threaded) {
		st->hold = HOLD_NONE;
		store_free(st);
		return NULL;
	}
	return st;
}

void store_open_now(struct store *st)
{
	if (st->hold == HOLD_WAIT)
		st->s_started_ns = clock_real_ns();
}

/* Tell a held thread (store_open_early()) whether to begin the session. */
static void release_hold(struct store *st, int how)
{
	if (st->hold != HOLD_WAIT)
		return;
	pthread_mutex_lock(&st->hold_mu);
	st->hold = how;
	pthread_cond_signal(&st->hold_cv);
	pthread_mutex_unlock(&st->hold_mu);
}

int store_open_session(const char *path, const struct store_session *s, struct store **out)
{
	struct store *st;
	int ret;

	if (!strcmp(path, ":memory:") || !header_current(path)) {
		int64_t id;

		if ((ret = store_open(path, &st)))
			return ret;
		if ((ret = store_session_begin(st, s, &id))) {
			store_free(st);
			return ret;
		}
		if (st->wal_frames >= WAL_OPEN_CKPT_FRAMES)
			checkpoint(st);
		*out = st;
		return 0;
	}
	if ((ret = precheck_write(path)))
		return ret;
	if (s->source < 1 || s->source >= SOURCE_MAX)
		return log_error(-EINVAL, "unknown event source %d", s->source);
	*out = opening_store(path, s);
	return 0;
}

void store_open_start(struct store *st)
{
	release_hold(st, HOLD_GO);
	if (!st->opening || st->threaded)
		return;
	start_thread(st, false);
}

bool store_ready(struct store *st)
{
	return !st->opening || (st->threaded && __atomic_load_n(&st->conn_done, __ATOMIC_ACQUIRE));
}

/* Wait for store_open_session()'s thread and take over its connection, or its failure. */
static void store_join(struct store *st)
{
	struct store *c;

	if (st->opening) {
		__atomic_store_n(&st->waited, true, __ATOMIC_RELEASE);
		/* as when no thread was started: the session is begun now */
		release_hold(st, HOLD_GO);
		if (st->threaded)
			pthread_join(st->th, NULL);
		else
			open_thread(st); /* never started, or no thread to be had */
		st->opening = false;
		c = st->conn;
		st->conn = NULL;
		if (st->conn_ret) {
			st->failed = st->conn_ret;
		} else {
			/* take over the thread's connection; the buffers stay ours */
			st->db = c->db;
			memcpy(st->stmt, c->stmt, sizeof(st->stmt));
			st->wal_frames = c->wal_frames;
			st->ckpt_rc = c->ckpt_rc;
			st->late_rc = c->late_rc;
			st->session_id = st->conn_session;
			memcpy(st->started_at, c->started_at, sizeof(st->started_at));
			st->locked_id = c->locked_id;
			st->lock_fd = c->lock_fd;
			c->locked_id = 0;
			sqlite3_wal_hook(st->db, wal_hook, st);
			log_debug("'%s' opened, session %" PRId64 " begun%s, in %.1f ms%s",
				  st->path, st->session_id,
				  st->conn_ckpt ? " and the WAL checkpointed" : "",
				  (double)st->conn_us / 1000,
				  st->held		  ? " ahead of the command and while it ran"
				  : st->threaded	  ? " while the command ran"
							  : "");
			c->db = NULL;
			memset(c->stmt, 0, sizeof(c->stmt));
			c->readonly = true;
			store_free(c);
		}
		free_session_strings(st);
	}
}

int store_wait(struct store *st, int64_t *id)
{
	store_join(st);
	/* The end of a session (`record` waits here first) writes nothing if the session is
	 * gone: found here, it is said once, where the end would add its own line. */
	if (!st->failed && st->db && session_mine(st) == SQLITE_NOTFOUND)
		session_lost(st);
	if (id)
		*id = st->session_id;
	return st->failed;
}

static uint32_t fold_hash(pid_t pid, int op, uint32_t path, uint32_t flags, int err, int source)
{
	uint64_t h = (uint64_t)path * 0x9e3779b97f4a7c15ull;

	h ^= ((uint64_t)(uint32_t)pid << 32 | flags) * 0xc2b2ae3d27d4eb4full;
	h ^= ((uint64_t)(uint32_t)err << 16 | (uint64_t)op << 8 | (uint64_t)source) *
	     0x165667b19e3779f9ull;
	h ^= h >> 29;
	return (uint32_t)h;
}

/* Fold one access of interned path @k into its session_paths row for the current session:
 * what session_path_summary computes from the rows, kept as they come (a GROUP BY over a
 * million rows at the end would take longer than writing them). */
static void summary_add(struct store *st, uint32_t k, int op, uint32_t flags, int err,
			uint64_t time_ns, uint64_t n)
{
	struct path_ent *e = &st->paths[k];

	if (e->sum_gen != st->session_gen) {
		e->sum_gen = st->session_gen;
		e->sum_ops = e->sum_count = 0;
		e->sum_modes = e->sum_results = 0;
		e->sum_first = e->sum_last = time_ns;
		xgrow(&st->touched, &st->atouched, st->ntouched + 1, sizeof(*st->touched));
		st->touched[st->ntouched++] = k;
	} else if (time_ns < e->sum_first) {
		e->sum_first = time_ns;
	} else if (time_ns > e->sum_last) {
		e->sum_last = time_ns;
	}
	if (err) {
		e->sum_results |= err == ENOENT ? 2 : 4;
		return;
	}
	e->sum_results |= 1;
	e->sum_ops |= 1ull << op;
	e->sum_count += n;
	if (op == MP_OP_OPEN)
		e->sum_modes |= (uint8_t)(1u << (flags & O_ACCMODE) |
					  (flags & (O_CREAT | O_TRUNC) ? 16u : 0u));
}

static uint32_t row_hash(const struct access_row *r)
{
	return fold_hash(r->pid, r->op, r->path, r->flags, r->err, r->source);
}

/* A folding table of twice the slots, the rows put back in. */
static void fold_grow(struct store *st)
{
	size_t cap = st->fold_cap ? st->fold_cap * 2 : FOLD_MIN_SLOTS, mask = cap - 1;

	free(st->fold_slots);
	st->fold_slots = xcalloc(cap, sizeof(*st->fold_slots));
	st->fold_cap = cap;
	for (size_t n = 0; n < st->nrows; n++) {
		size_t i = row_hash(&st->rows[n]) & mask;

		while (st->fold_slots[i])
			i = (i + 1) & mask;
		st->fold_slots[i] = (uint32_t)(n + 1);
	}
}

int store_add_access_n(struct store *st, pid_t pid, int op, const char *path, uint32_t flags,
		       int err, int source, uint64_t time_ns, uint64_t n)
{
	struct access_row *r;
	uint32_t k, slot;
	size_t i;
	int ret;

	if (st->failed)
		return st->failed;
	if (!st->session_id && !st->opening)
		return check_writable(st, true);
	if (op < 1 || op >= MP_OP_MAX || source < 1 || source >= SOURCE_MAX)
		return log_error(-EINVAL, "unknown operation %d or source %d for '%s'", op, source,
				 path);
	k = path_intern(st, path);
	st->changes++;
	st->events += n;
	if (!err && st->paths[k].mark != st->session_gen) {
		st->paths[k].mark = st->session_gen;
		st->files++;
	}
	summary_add(st, k, op, flags, err, time_ns, n);
	if ((st->nrows + 1) * 2 > st->fold_cap)
		fold_grow(st);
	for (i = fold_hash(pid, op, k, flags, err, source) & (st->fold_cap - 1);
	     (slot = st->fold_slots[i]); i = (i + 1) & (st->fold_cap - 1)) {
		r = &st->rows[slot - 1];
		if (r->path == k && r->pid == pid && r->op == op && r->flags == flags &&
		    r->err == err && r->source == source) {
			if (r->id && !r->dirty) {
				r->dirty = true;
				xgrow(&st->dirty, &st->adirty, st->ndirty + 1, sizeof(*st->dirty));
				st->dirty[st->ndirty++] = slot - 1;
			}
			r->count += n;
			if (time_ns < r->first_ns)
				r->first_ns = time_ns;
			if (time_ns > r->last_ns)
				r->last_ns = time_ns;
			return 0;
		}
	}
	xgrow(&st->rows, &st->arows, st->nrows + 1, sizeof(*st->rows));
	r = &st->rows[st->nrows];
	r->pid = pid;
	r->path = k;
	r->flags = flags;
	r->err = err;
	r->op = (uint8_t)op;
	r->source = (uint8_t)source;
	r->first_ns = r->last_ns = time_ns;
	r->count = n;
	r->dirty = false;
	r->id = r->txn_id = 0;
	st->fold_slots[i] = (uint32_t)++st->nrows;
	if (st->nrows >= BATCH_ROWS && (ret = write_txn(st, NULL, NULL)))
		return ret;
	return 0;
}

int store_add_access(struct store *st, pid_t pid, int op, const char *path, uint32_t flags,
		     int err, int source, uint64_t time_ns)
{
	return store_add_access_n(st, pid, op, path, flags, err, source, time_ns, 1);
}

int store_proc_start(struct store *st, pid_t pid, pid_t parent, const char *cwd,
		     uint64_t time_ns)
{
	struct proc_rec *p;
	int ret;

	if ((ret = check_writable(st, true)))
		return ret;
	st->changes++;
	/* A start for a pid we still think alive: the earlier one's exit was not seen. */
	p = proc_new(st, pid);
	p->parent = parent;
	p->cwd = cwd ? xstrdup(cwd) : NULL;
	p->start_ns = time_ns;
	p->dirty = true;
	st->procs_dirty = true;
	return 0;
}

int store_proc_exec(struct store *st, pid_t pid, const char *exe, const char *const *argv,
		    const char *cwd, uint64_t time_ns)
{
	struct proc_rec *p;
	int ret;

	if ((ret = check_writable(st, true)))
		return ret;
	st->changes++;
	p = proc_find(st, pid);
	if (!p) {
		p = proc_new(st, pid);
		p->start_ns = time_ns;
	}
	free(p->exe);
	free(p->argv);
	p->exe = exe ? xstrdup(exe) : NULL;
	p->argv = argv_json(argv);
	if (cwd) {
		free(p->cwd);
		p->cwd = xstrdup(cwd);
	}
	p->dirty = true;
	st->procs_dirty = true;
	return 0;
}

int store_proc_exit(struct store *st, pid_t pid, int exit_status, uint64_t time_ns)
{
	struct proc_rec *p;
	int ret;

	if ((ret = check_writable(st, true)))
		return ret;
	st->changes++;
	p = proc_find(st, pid);
	if (!p)
		p = proc_new(st, pid);
	p->exited = true;
	p->exit_status = exit_status;
	p->end_ns = time_ns;
	p->dirty = true;
	st->procs_dirty = true;
	return 0;
}

int store_file_version(struct store *st, const char *path, char type, int64_t size,
		       int64_t mtime_ns, uint64_t inode, const char *sha256)
{
	struct file_row *f;
	int ret;

	if ((ret = check_writable(st, true)))
		return ret;
	st->changes++;
	if (sha256 && strlen(sha256) != 64)
		return log_error(-EINVAL, "'%s': sha256 must be 64 hex digits", path);
	xgrow(&st->files_v, &st->afiles, st->nfiles + 1, sizeof(*st->files_v));
	f = &st->files_v[st->nfiles++];
	f->path = path_intern(st, path);
	f->type = type;
	f->size = size;
	f->mtime_ns = mtime_ns;
	f->inode = inode;
	f->has_sha = sha256 != NULL;
	if (sha256)
		memcpy(f->sha256, sha256, sizeof(f->sha256));
	if (st->nfiles >= BATCH_ROWS && (ret = write_txn(st, NULL, NULL)))
		return ret;
	return 0;
}

int store_flush(struct store *st)
{
	int ret;

	if ((ret = check_writable(st, false)))
		return ret;
	if (!has_pending(st))
		return 0;
	return write_txn(st, NULL, NULL);
}

int store_flush_some(struct store *st, size_t min_rows, size_t max_rows)
{
	int ret;

	/* a prepared end holds what is pending (and the write lock): kept, unless more came */
	if (!store_ready(st) || st->failed || !has_pending(st) ||
	    pending_rows(st) + st->nfiles < min_rows ||
	    (st->prepared && st->changes == st->prepared_changes))
		return 0;
	st->flush_max = max_rows;
	ret = store_flush(st);
	st->flush_max = 0;
	return ret < 0 ? ret : 1;
}

size_t store_pending(const struct store *st)
{
	/* a prepared end has them written in the transaction it holds */
	return st->failed || st->prepared ? 0 : pending_rows(st);
}

struct session_end {
	int exit_status;
	bool complete;
	const char *why;
	const char *ended_at;
};

/* Bind the session_paths row of the current session and interned path @k to the 8
 * parameters of @s after the first @base. */
static int summary_bind(struct store *st, sqlite3_stmt *s, int base, uint32_t k)
{
	const struct path_ent *p = &st->paths[k];
	int64_t path_id;
	int rc = path_resolve(st, k, &path_id);

	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(s, base + 1, st->session_id);
	sqlite3_bind_int64(s, base + 2, path_id);
	sqlite3_bind_int64(s, base + 3, (int64_t)p->sum_ops);
	sqlite3_bind_int(s, base + 4, p->sum_modes);
	sqlite3_bind_int(s, base + 5, p->sum_results);
	sqlite3_bind_int64(s, base + 6, (int64_t)p->sum_first);
	sqlite3_bind_int64(s, base + 7, (int64_t)p->sum_last);
	sqlite3_bind_int64(s, base + 8, (int64_t)p->sum_count);
	return SQLITE_OK;
}

/* The session's row: its end, exit status, completeness and counts. */
static int session_row_end(struct store *st, const struct session_end *e)
{
	sqlite3_stmt *s = st->stmt[ST_SESSION_END];

	sqlite3_bind_int64(s, 1, st->session_id);
	bind_text(s, 2, e->ended_at);
	sqlite3_bind_int(s, 3, e->exit_status);
	sqlite3_bind_int(s, 4, e->complete);
	bind_text(s, 5, e->complete ? NULL : e->why ? e->why : "incomplete");
	sqlite3_bind_int64(s, 6, (int64_t)st->events);
	sqlite3_bind_int64(s, 7, (int64_t)st->files);
	sqlite3_bind_int64(s, 8, (int64_t)st->processes);
	return step_write(s);
}

/* The session's summary, in the transaction that sets its ended_at. */
static int summary_write(struct store *st)
{
	int rc = SQLITE_OK;

	for (size_t i = 0; rc == SQLITE_OK && i < st->ntouched;) {
		size_t n = st->ntouched - i >= SUMMARY_MANY ? SUMMARY_MANY : 1;
		sqlite3_stmt *s = st->stmt[n > 1 ? ST_SUMMARY_ADD_MANY : ST_SUMMARY_ADD];

		for (size_t j = 0; rc == SQLITE_OK && j < n; j++, i++)
			rc = summary_bind(st, s, (int)(j * SUMMARY_COLS), st->touched[i]);
		if (rc == SQLITE_OK)
			rc = step_write(s);
	}
	return rc;
}

static int session_end_sql(struct store *st, void *arg)
{
	int rc = session_row_end(st, arg);

	return rc == SQLITE_OK ? summary_write(st) : rc;
}

int store_session_end_prepare(struct store *st)
{
	int rc;

	if (st->prepared || !store_ready(st))
		return 0;
	store_join(st);
	if (st->failed || st->readonly || !st->db || !st->session_id)
		return 0;
	/* one try, without waiting: another writer's lock only leaves the end all to do */
	sqlite3_busy_timeout(st->db, 0);
	rc = exec_sql(st, "BEGIN IMMEDIATE");
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	if (rc != SQLITE_OK)
		return 0;
	st->prepared = true;
	st->prepared_changes = st->changes;
	rc = session_mine(st);
	if (rc == SQLITE_OK)
		rc = write_pending(st);
	if (rc == SQLITE_OK)
		rc = summary_write(st);
	if (rc != SQLITE_OK) {
		/* the end tries again, and reports what fails then */
		unprepare(st, sqlite3_errstr(rc));
		return 0;
	}
	log_debug("the session's end is written early (%zu paths), to be committed once the "
		  "command is reaped", st->ntouched);
	return 1;
}

bool store_session_end_stale(const struct store *st)
{
	return st->prepared && st->changes != st->prepared_changes;
}

void store_session_end_cancel(struct store *st, const char *why)
{
	unprepare(st, why);
}

/* store_session_end() on a prepared end that nothing was added to since: the session's row,
 * then the commit. SQLITE_OK, or an error after which the end is made again in full. */
static int end_prepared(struct store *st, const struct session_end *e)
{
	int rc;

	if (st->changes != st->prepared_changes)
		return SQLITE_ABORT;
	rc = session_row_end(st, e);
	if (rc == SQLITE_OK)
		rc = exec_sql(st, "COMMIT");
	if (rc != SQLITE_OK)
		return rc;
	st->prepared = false;
	pending_committed(st);
	if (st->ckpt_rc) {
		rc = st->ckpt_rc;
		st->failed = db_error(st, rc, "checkpoint", sqlite3_errstr(rc));
		return SQLITE_DONE;
	}
	return SQLITE_OK;
}

int store_session_end(struct store *st, int exit_status, bool complete, const char *why)
{
	struct session_end e = { exit_status, complete, why, NULL };
	char ended[32];
	int ret;

	if ((ret = check_writable(st, true)))
		return ret;
	iso_time(ended, clock_real_ns());
	e.ended_at = ended;
	ret = st->prepared ? end_prepared(st, &e) : SQLITE_ABORT;
	if (ret == SQLITE_DONE)
		return st->failed;
	if (ret != SQLITE_OK) {
		unprepare(st, ret == SQLITE_ABORT ? "more came after it" : sqlite3_errstr(ret));
		if ((ret = write_txn(st, session_end_sql, &e)))
			return ret;
	}
	session_unlock(st);
	if (st->nrows)
		fold_clear(st);
	procs_clear(st);
	st->session_id = 0;
	st->ntouched = 0;
	return 0;
}

int store_late_error(struct store *st)
{
	int rc = st->late_rc;

	if (!rc)
		return 0;
	st->late_rc = 0;
	st->failed = db_error(st, rc, "checkpoint", sqlite3_errstr(rc));
	return st->failed;
}

/* ---- queries ---- */

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Prepare @sql or log why not. */
static int prepare(struct store *st, const char *sql, sqlite3_stmt **s)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, s, NULL);

	if (rc != SQLITE_OK)
		return db_error(st, rc, "read", sqlite3_errmsg(st->db));
	return 0;
}

int store_find_session(struct store *st, const char *spec, int64_t *id)
{
	sqlite3_stmt *s = NULL;
	const char *sql;
	int rc, ret;

	if (!strcmp(spec, "last"))
		sql = "SELECT max(id) FROM sessions WHERE ?1 IS NOT NULL";
	else if (all_digits(spec))
		sql = "SELECT id FROM sessions WHERE id = CAST(?1 AS INTEGER)";
	else
		sql = "SELECT id FROM sessions WHERE label = ?1 ORDER BY id DESC LIMIT 1";
	if ((ret = prepare(st, sql, &s)))
		return ret;
	sqlite3_bind_text(s, 1, spec, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
		*id = sqlite3_column_int64(s, 0);
		ret = 0;
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		ret = !strcmp(spec, "last") ?
			      log_error(-ENOENT, "no sessions in '%s'", st->path) :
			      log_error(-ENOENT, "no session '%s' in '%s'", spec, st->path);
	} else {
		ret = db_error(st, rc, "read", sqlite3_errmsg(st->db));
	}
	sqlite3_finalize(s);
	return ret;
}

const char *store_label_problem(const char *label)
{
	if (!*label)
		return "is empty";
	if (!strcmp(label, "last"))
		return "would be read as the last session";
	if (all_digits(label))
		return "would be read as a session id";
	return NULL;
}

/* Read the completion state of session @id; -ENOENT (logged) if there is none. */
int store_session_complete(struct store *st, int64_t id, bool *complete, char **why)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *reason;
	int rc, ret;

	if (why)
		*why = NULL;
	if ((ret = prepare(st, "SELECT complete, incomplete_reason FROM sessions WHERE id = ?1",
			   &s)))
		return ret;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*complete = sqlite3_column_int(s, 0) != 0;
		reason = sqlite3_column_text(s, 1);
		if (why && !*complete && reason)
			*why = xstrdup((const char *)reason);
		ret = 0;
	} else if (rc == SQLITE_DONE) {
		ret = log_error(-ENOENT, "no session %" PRId64 " in '%s'", id, st->path);
	} else {
		ret = db_error(st, rc, "read", sqlite3_errmsg(st->db));
	}
	sqlite3_finalize(s);
	return ret;
}

/* store_session_paths() through store_session_used(): the same walk without the length. */
struct paths_adapter {
	int (*fn)(void *ctx, const char *path, int op);
	void *ctx;
};

static int paths_adapt(void *ctx, const char *path, size_t len, int op)
{
	struct paths_adapter *a = ctx;

	(void)len;
	return a->fn(a->ctx, path, op);
}

int store_session_paths(struct store *st, int64_t id,
			int (*fn)(void *ctx, const char *path, int op), void *ctx)
{
	struct paths_adapter a = { fn, ctx };

	return store_session_used(st, id, paths_adapt, &a);
}

/* ---- history reads for `magicpak bundle` (begin) ---- */
int store_session_list(struct store *st, const char *since,
		       int (*fn)(void *ctx, const struct store_session_info *s), void *ctx)
{
	struct store_session_info info;
	sqlite3_stmt *s = NULL;
	int rc, ret;

	if ((ret = prepare(st, "SELECT id, label, started_at, complete, incomplete_reason"
			       " FROM sessions WHERE ?1 IS NULL OR started_at >= ?1 ORDER BY id", &s)))
		return ret;
	if (since)
		sqlite3_bind_text(s, 1, since, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		info.id = sqlite3_column_int64(s, 0);
		info.label = (const char *)sqlite3_column_text(s, 1);
		info.started_at = (const char *)sqlite3_column_text(s, 2);
		info.complete = sqlite3_column_int(s, 3) != 0;
		info.reason = info.complete ? NULL : (const char *)sqlite3_column_text(s, 4);
		ret = fn(ctx, &info);
		if (ret)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = db_error(st, rc, "read", sqlite3_errmsg(st->db));
out:
	sqlite3_finalize(s);
	return ret;
}

int store_session_versions(struct store *st, int64_t id,
			   int (*fn)(void *ctx, const struct store_version *v), void *ctx)
{
	struct store_version v;
	sqlite3_stmt *s = NULL;
	const unsigned char *type;
	bool complete;
	int rc, ret;

	if ((ret = store_session_complete(st, id, &complete, NULL)))
		return ret;
	if ((ret = prepare(st, "SELECT p.path, v.type, v.size, v.mtime_ns, v.inode, v.sha256"
			       " FROM file_versions v JOIN paths p ON p.id = v.path_id"
			       " WHERE v.session_id = ?1 ORDER BY p.path", &s)))
		return ret;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&v, 0, sizeof(v));
		/* Length after the text conversion: a hand-edited row may hold a NUL byte. */
		v.path = (const char *)sqlite3_column_text(s, 0);
		v.path_len = (size_t)sqlite3_column_bytes(s, 0);
		if (!v.path)
			v.path = "";
		type = sqlite3_column_text(s, 1);
		v.type = type && *type ? (char)type[0] : 'o';
		v.has_size = sqlite3_column_type(s, 2) != SQLITE_NULL;
		v.size = sqlite3_column_int64(s, 2);
		v.has_mtime = sqlite3_column_type(s, 3) != SQLITE_NULL;
		v.mtime_ns = sqlite3_column_int64(s, 3);
		v.has_inode = sqlite3_column_type(s, 4) != SQLITE_NULL;
		v.inode = (uint64_t)sqlite3_column_int64(s, 4);
		v.sha256 = (const char *)sqlite3_column_text(s, 5);
		ret = fn(ctx, &v);
		if (ret)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = db_error(st, rc, "read", sqlite3_errmsg(st->db));
out:
	sqlite3_finalize(s);
	return ret;
}

int store_session_used(struct store *st, int64_t id,
		       int (*fn)(void *ctx, const char *path, size_t len, int op), void *ctx)
{
	sqlite3_stmt *s = NULL;
	const char *path;
	bool complete;
	int rc, ret;

	/* Tells a missing session from one that used no file. */
	if ((ret = store_session_complete(st, id, &complete, NULL)))
		return ret;
	if ((ret = prepare(st, "SELECT DISTINCT p.path, a.op FROM access_batches b"
			       " JOIN accesses a ON a.id BETWEEN b.first_id AND b.last_id"
			       " JOIN paths p ON p.id = a.path_id"
			       " WHERE b.session_id = ?1 AND a.errno = 0"
			       " ORDER BY p.path, a.op", &s)))
		return ret;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		path = (const char *)sqlite3_column_text(s, 0);
		ret = fn(ctx, path ? path : "", (size_t)sqlite3_column_bytes(s, 0),
			 sqlite3_column_int(s, 1));
		if (ret)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = db_error(st, rc, "read", sqlite3_errmsg(st->db));
out:
	sqlite3_finalize(s);
	return ret;
}
/* ---- history reads for `magicpak bundle` (end) ---- */
