/* SPDX-License-Identifier: MIT */
/* collector/store.h - the SQLite history of recorded sessions: who ran what, and every path
 * each process touched. The schema is a public interface; store.c documents it. */
#ifndef COLLECTOR_STORE_H
#define COLLECTOR_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "event.h"

/* PRAGMA user_version of the schema this code writes. */
#define STORE_SCHEMA_VERSION 2

struct store;

/* Open or create the database at @path (":memory:" is accepted) for recording: WAL,
 * synchronous=NORMAL, busy_timeout 30 s, foreign_keys on. A new or zero-length file gets
 * the schema; an older magicpak schema is migrated. A file that is not an SQLite database
 * or not a magicpak one (-EINVAL), or has a newer schema (-ENOTSUP), is refused with one
 * logged line and left untouched. A read-only file, directory or file system gives -EROFS
 * or -EACCES with the cause logged. On success *@out owns the store. */
int store_open(const char *path, struct store **out);
/* Open an existing magicpak database read-only, for the query verbs below (the write verbs
 * then return -EROFS). A missing file is -ENOENT (logged). */
int store_open_readonly(const char *path, struct store **out);
/* store_open() of a history that must exist already (forget, vacuum): a missing file is
 * -ENOENT, an empty one -EINVAL, each logged as store_open_readonly() logs it, and nothing is
 * created or written. */
int store_open_existing(const char *path, struct store **out);
/* The SQLite connection of @st, for the query side (history.c); valid until store_free(). */
struct sqlite3 *store_sqlite(struct store *st);
/* The negative errno for SQLite result code @rc (0 for OK, DONE and ROW); @db, when not
 * NULL, gives the system errno behind SQLITE_CANTOPEN. */
int store_sqlite_errno(struct sqlite3 *db, int rc);
/* Write pending rows (a current session stays incomplete, reason "running") and end the
 * store's writing (a late error logged, a very long WAL emptied): what is left of @st is
 * memory and open descriptors, which a process about to exit may leave to its exit (`record`
 * does: freeing it cost 0.1-0.3 ms). Done once; NULL is accepted. */
void store_close(struct store *st);
/* store_close(), then close the database and free @st. NULL is accepted. */
void store_free(struct store *st);

struct store_session {
	const char *label;       /* NULL: none */
	const char *const *argv; /* NULL-terminated; stored as a JSON array */
	const char *cwd;
	int source;              /* enum mp_source */
	const char *host;
};

/* Insert a session row marked incomplete (reason "running"), committed at once so that a
 * kill -9 leaves an incomplete session, and make it current. *@id gets its id. -EBUSY if a
 * session is already current. Strings in @s are borrowed for the call. Until the session
 * ends, this store holds a lock that tells other processes it is being recorded
 * (store_session_recording); every write first checks that the session's row is still there
 * (it is not when `magicpak forget --force` deleted it): if not, nothing is written, one line
 * says so, and that write and every later one return -ENOENT. */
int store_session_begin(struct store *st, const struct store_session *s, int64_t *id);
/* store_open() and store_session_begin() for `record`, without making the command wait for
 * them: the file is opened, the session row committed and an overdue WAL checkpoint made in a
 * thread (store_open_start) while the command runs; meanwhile the verbs below only buffer,
 * and any that must write waits for the thread (store_wait). Done here, before returning: the
 * checks of a file that cannot be written (-EISDIR, -EACCES, ...), and the whole opening, as
 * store_open() does it, of a file whose first 100 bytes do not show a current magicpak
 * history (application_id "mpak", user_version STORE_SCHEMA_VERSION): a file that would be
 * refused or migrated, or none (a new file is made in the thread). An error in the thread
 * is logged there and returned by store_wait() and every write verb. The session's
 * started_at is the time of this call, so call it before the command starts: the row is
 * written later, but no access of the command comes before its session's start. */
int store_open_session(const char *path, const struct store_session *s, struct store **out);
/* store_open_session() for a caller with time to fill before its command may start (a probe's
 * programs loading, 8 ms of the calling thread in the kernel): the thread starts now and
 * opens the file on another CPU, rather than beside the command; it begins the session only
 * once store_open_start() is called, and after a store_close() before that it has written
 * nothing (no probe, no session). Only for a history that exists, is current and that
 * store_open_session() would check without a word, and a thread to be had: otherwise NULL,
 * nothing said, and store_open_session() opens it as usual. Call store_open_now() where
 * store_open_session() would have been called: the session starts then. */
struct store *store_open_early(const char *path, const struct store_session *s);
void store_open_now(struct store *st);
/* Start store_open_session()'s thread, once the command is started: a vfork() child shares
 * our memory until its exec, and the thread's changes to the memory map (malloc growing its
 * arena) would each interrupt the child's CPU to flush its TLB, 50-100 us apiece on a VM whose
 * idle vCPUs halt (a 2 ms spawn). Without it, store_wait() opens the file itself. */
void store_open_start(struct store *st);
/* True when store_wait() would not block. */
bool store_ready(struct store *st);
/* Wait for store_open_session()'s thread; *@id (may be NULL) gets the session id, 0 if the
 * opening failed. Returns 0 or that failure's -errno (logged once, by the thread), or the
 * error that stopped the store since; a current session whose row is gone from the file is
 * found here too (-ENOENT, logged once), so that its end writes nothing. */
int store_wait(struct store *st, int64_t *id);
/* Record one access into the current session: @op is an enum mp_op, @err 0 or the positive
 * errno, @source an enum mp_source, @time_ns CLOCK_REALTIME. Buffered: identical (pid, op,
 * path, flags, err, source) accesses are folded into one row with a count and the first
 * and last time; rows are written every 100,000 distinct rows and by store_flush(). @path
 * is copied (any bytes but NUL). */
int store_add_access(struct store *st, pid_t pid, int op, const char *path, uint32_t flags,
		     int err, int source, uint64_t time_ns);
/* The same access made @n times (a source that folded repeats itself: the BPF probe). */
int store_add_access_n(struct store *st, pid_t pid, int op, const char *path, uint32_t flags,
		       int err, int source, uint64_t time_ns, uint64_t n);
/* Process @pid was started by @parent (0: none, the command itself) in @cwd. */
int store_proc_start(struct store *st, pid_t pid, pid_t parent, const char *cwd,
		     uint64_t time_ns);
/* Process @pid executed @exe with @argv (NULL-terminated) in @cwd. The process row keeps
 * the last program executed; each exec is also an MP_OP_EXEC access. */
int store_proc_exec(struct store *st, pid_t pid, const char *exe, const char *const *argv,
		    const char *cwd, uint64_t time_ns);
/* Process @pid ended with @exit_status as a shell shows it (128+N for signal N). */
int store_proc_exit(struct store *st, pid_t pid, int exit_status, uint64_t time_ns);
/* What the regular file (or other @type: 'f', 'd', 'l', ...) at @path was when the current
 * session read or executed it; @sha256 is 64 hex digits or NULL. The first version recorded
 * for a path in a session is kept. */
int store_file_version(struct store *st, const char *path, char type, int64_t size,
		       int64_t mtime_ns, uint64_t inode, const char *sha256);
/* Write every pending row in one transaction (BEGIN IMMEDIATE ... COMMIT, the whole
 * transaction retried on SQLITE_BUSY). After a write error (disk full, I/O error) the store
 * stops writing: this and every later write verb returns that error again, unlogged. */
int store_flush(struct store *st);
/* store_flush() when it need not wait for store_open_session()'s thread and at least
 * @min_rows rows are pending (1 if it wrote, else 0, or -errno): for a collector's idle
 * moments, so that the end of the session, which the user waits for, has less to write.
 * At most @max_rows new rows (0: all), so that a collector falling behind a program that
 * touches new paths fast gets back to its ring within a bounded time; store_pending() then
 * tells what is left. */
int store_flush_some(struct store *st, size_t min_rows, size_t max_rows);
/* The @max_rows a collector writing while records keep coming uses: one such write took 60-80
 * ms here. Why: a program that touches new paths faster than they are written (a `find` or a
 * `git status` of a large tree) filled the preload ring while one write took its whole
 * contents, 37,000 rows; past RING_STALE_NS without a drain its writers took the collector
 * for dead and sent every record as a datagram from then on, five times slower. */
#define STORE_FLUSH_STEP 8192
/* Rows not yet written (0 once the store has failed, and while a prepared end holds them:
 * store_session_end_prepare()). */
size_t store_pending(const struct store *st);
/* Flush, then in the same transaction set the current session's exit status, end time,
 * counts (events, distinct paths used successfully, processes) and complete = 1, or
 * complete = 0 with @why ("io_uring", "killed", "events_dropped=3"; NULL: "incomplete").
 * The session is no longer current afterwards. */
int store_session_end(struct store *st, int exit_status, bool complete, const char *why);
/* Begin store_session_end()'s transaction early, when the recorded tree seems to be over but
 * is not yet reaped (a large process's exit takes the kernel a millisecond or more): it
 * writes what is pending and the session's summary, and holds the write lock. The end then
 * only sets the session's row and commits, unless something was added meanwhile (a process
 * the recorder did not know of): then it is rolled back and the end writes it all, as does a
 * flush or store_session_end_cancel(). Never waits for the lock, never fails: 1 if it is
 * prepared, else 0. */
int store_session_end_prepare(struct store *st);
/* Roll a prepared end back (@why for -v -v): the end writes everything again. */
void store_session_end_cancel(struct store *st, const char *why);
/* Was something added since the end was prepared (its commit would be rolled back)? */
bool store_session_end_stale(const struct store *st);

/* A checkpoint made outside a write (store_open_session's, at the start of a run) that
 * failed: logged and returned once, as -errno, after the session's rows are in; 0 if none.
 * store_free() logs it if nobody asked. */
int store_late_error(struct store *st);

/* Is session @id of this file being recorded now, by a store (in any process on this
 * machine) that began it and has not ended it? *@recording gets the answer; a recorder that
 * died holds nothing. -errno (not logged) when it cannot be told: no lock support, or the
 * database's descriptor not found. */
int store_session_recording(struct store *st, int64_t id, bool *recording);

/* Find a session by "ID" (all digits), "last", or a label (the latest session with that
 * label). -ENOENT, logged, when there is none. */
int store_find_session(struct store *st, const char *spec, int64_t *id);
/* Why @label could never select its session (store_find_session() reads "last" and digits
 * otherwise), or NULL when it can. */
const char *store_label_problem(const char *label);
/* Call @fn once for each distinct (path, op) the session @id used successfully (errno 0),
 * sorted by path bytes then op; consecutive calls with the same path are the same file.
 * @path is borrowed for the call. A non-zero return from @fn stops the walk and is
 * returned. -ENOENT (logged) if there is no session @id. */
int store_session_paths(struct store *st, int64_t id,
			int (*fn)(void *ctx, const char *path, int op), void *ctx);
/* Is session @id complete? If not and @why is not NULL, *@why gets its reason (owned by
 * the caller); else *@why is set to NULL. -ENOENT (logged) if there is no session @id. */
int store_session_complete(struct store *st, int64_t id, bool *complete, char **why);

/* ---- history reads for `magicpak bundle` (begin) ---- */
struct store_session_info {
	int64_t id;
	const char *label;       /* NULL: none */
	const char *started_at;  /* ISO-8601 UTC text */
	bool complete;
	const char *reason;      /* NULL when complete */
};
/* Call @fn for every session started at or after @since (ISO-8601 UTC text compared as
 * text; NULL: every session), by id. Strings are borrowed for the call. A non-zero return
 * from @fn stops the walk and is returned. */
int store_session_list(struct store *st, const char *since,
		       int (*fn)(void *ctx, const struct store_session_info *s), void *ctx);

struct store_version {
	const char *path;        /* as stored; may hold a NUL byte if edited by hand, see len */
	size_t path_len;         /* bytes of the stored path */
	char type;               /* 'f' regular, 'd' directory, 'o' other */
	bool has_size, has_mtime, has_inode;
	int64_t size;
	int64_t mtime_ns;
	uint64_t inode;
	const char *sha256;      /* 64 hex digits or NULL */
};
/* Call @fn once for each file version session @id recorded, sorted by path bytes. Borrowed
 * for the call; a non-zero return from @fn stops the walk and is returned. -ENOENT (logged)
 * if there is no session @id. */
int store_session_versions(struct store *st, int64_t id,
			   int (*fn)(void *ctx, const struct store_version *v), void *ctx);
/* As store_session_paths(), with the stored length of each path (@len != strlen(@path)
 * when a hand-edited row holds a NUL byte). */
int store_session_used(struct store *st, int64_t id,
		       int (*fn)(void *ctx, const char *path, size_t len, int op), void *ctx);
/* ---- history reads for `magicpak bundle` (end) ---- */

#endif /* COLLECTOR_STORE_H */
