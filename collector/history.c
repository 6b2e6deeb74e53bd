/* SPDX-License-Identifier: MIT */
/* collector/history.c - the query side of the store: sessions, per-path reports, diffs,
 * merges, forget and vacuum, read and written with SQL on the store's connection.
 *
 * Speed. accesses has no index on path_id (it would slow recording down 2.5 times); what a
 * session did with a path is in session_paths (store.c), one row per (session, path), written
 * when the session ends. session_paths has no index by path: a recording would pay for it with
 * one page per path it touched, written at its end (1.7 ms of a 48 ms python3 run in a history
 * of 760 sessions), and the cost would grow with the history. So a report on a few paths reads
 * each one's rows session by session through the primary key (session_id, path_id), one
 * search per session; a report on many paths first copies the chosen sessions' rows into a
 * temporary table indexed by path (report_source). Versions come through
 * file_versions_by_path. A session never ended (killed, or still recording) has no
 * session_paths rows: a report first computes them from its accesses rows (the view
 * session_path_summary) into a temporary table, mp_live_paths, read alongside; there are none
 * in the usual case. A glob is first narrowed in SQL to the
 * range of paths that start with its literal prefix (an index range on paths.path), then
 * matched exactly with glob_match(). A diff reads the two sessions' session_paths rows (or,
 * for a session never ended, its accesses rows through its batches) and merges two sorted
 * lists. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "glob.h"
#include "history.h"
#include "log.h"
#include "store.h"
#include "strbuf.h"
#include "xalloc.h"

/* ---- errors and small helpers ---- */

/* Log "cannot @what '@file': @msg" and return -errno. */
static int db_fail(sqlite3 *db, int rc, const char *what)
{
	const char *file = sqlite3_db_filename(db, "main");
	int err = store_sqlite_errno(db, rc);

	return log_error(err ? err : -EIO, "cannot %s '%s': %s", what,
			 file && *file ? file : ":memory:", sqlite3_errmsg(db));
}

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **s)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, s, NULL);

	return rc == SQLITE_OK ? 0 : db_fail(db, rc, "read");
}

static char *col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? xstrndup((const char *)t, (size_t)sqlite3_column_bytes(s, i)) : NULL;
}

/* The value of magicpak_meta @key, owned, or NULL. */
static char *meta_get(sqlite3 *db, const char *key)
{
	sqlite3_stmt *s = NULL;
	char *v = NULL;

	if (sqlite3_prepare_v2(db, "SELECT value FROM magicpak_meta WHERE key = ?1", -1, &s,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW)
			v = col_dup(s, 0);
	}
	sqlite3_finalize(s);
	return v;
}

struct idvec {
	int64_t *v;
	size_t n, alloc;
};

static void idvec_push(struct idvec *iv, int64_t id)
{
	if (iv->n && iv->v[iv->n - 1] == id)
		return;
	if (iv->n == iv->alloc) {
		iv->alloc = iv->alloc ? 2 * iv->alloc : 16;
		iv->v = xrealloc(iv->v, iv->alloc * sizeof(*iv->v));
	}
	iv->v[iv->n++] = id;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void idvec_sort_uniq(struct idvec *iv)
{
	size_t k = 0;

	if (!iv->n)
		return;
	qsort(iv->v, iv->n, sizeof(*iv->v), cmp_i64);
	for (size_t i = 1; i < iv->n; i++)
		if (iv->v[i] != iv->v[k])
			iv->v[++k] = iv->v[i];
	iv->n = k + 1;
}

static bool id_in(const int64_t *v, size_t n, int64_t id)
{
	return bsearch(&id, v, n, sizeof(*v), cmp_i64) != NULL;
}

/* ---- sessions ---- */

/* argv as a shell would take it: arguments with special characters in single quotes. */
#define SQL_COMMAND                                                                        \
	"(SELECT group_concat(CASE WHEN value = '' OR value GLOB"                           \
	" '*[^A-Za-z0-9_./=:,@%+-]*' THEN '''' || replace(value, '''', '''\"''\"''') || ''''" \
	" ELSE value END, ' ') FROM json_each(s.argv))"

int history_sessions(struct store *st, int64_t id, struct history_session **out, size_t *n)
{
	sqlite3 *db = store_sqlite(st);
	struct history_session *v = NULL;
	size_t nv = 0, av = 0;
	sqlite3_stmt *s = NULL;
	int rc, ret;

	*out = NULL;
	*n = 0;
	/* A session recorded here and not ended has its counts written only at its end: until
	 * then (still recording, or killed) they are counted from its rows, which --via preload
	 * and bpf write as the command runs. */
	if ((ret = prep(db, "SELECT id, label, " SQL_COMMAND ", argv, cwd, started_at, ended_at,"
			    " exit_status, source, host, complete, incomplete_reason,"
			    " CASE WHEN ended_at IS NULL AND origin_db IS NULL THEN (SELECT"
			    "  ifnull(sum(count), 0) FROM file_accesses f WHERE f.session_id = s.id)"
			    "  ELSE events END,"
			    " CASE WHEN ended_at IS NULL AND origin_db IS NULL THEN (SELECT count(*)"
			    "  FROM session_files f WHERE f.session_id = s.id) ELSE files END,"
			    " CASE WHEN ended_at IS NULL AND origin_db IS NULL THEN (SELECT count(*)"
			    "  FROM processes p WHERE p.session_id = s.id) ELSE processes END,"
			    " origin_db, origin_session_id, merged_from"
			    " FROM sessions s WHERE ?1 = 0 OR id = ?1 ORDER BY id", &s)))
		return ret;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct history_session *h;

		if (nv == av) {
			av = av ? 2 * av : 16;
			v = xrealloc(v, av * sizeof(*v));
		}
		h = &v[nv++];
		memset(h, 0, sizeof(*h));
		h->id = sqlite3_column_int64(s, 0);
		h->label = col_dup(s, 1);
		h->command = col_dup(s, 2);
		h->argv_json = col_dup(s, 3);
		h->cwd = col_dup(s, 4);
		h->started_at = col_dup(s, 5);
		h->ended_at = col_dup(s, 6);
		h->has_exit = sqlite3_column_type(s, 7) != SQLITE_NULL;
		h->exit_status = sqlite3_column_int(s, 7);
		h->source = col_dup(s, 8);
		h->host = col_dup(s, 9);
		h->complete = sqlite3_column_int(s, 10) != 0;
		h->reason = col_dup(s, 11);
		h->events = sqlite3_column_int64(s, 12);
		h->files = sqlite3_column_int64(s, 13);
		h->processes = sqlite3_column_int64(s, 14);
		h->origin_db = col_dup(s, 15);
		h->origin_session_id = sqlite3_column_int64(s, 16);
		h->merged_from = col_dup(s, 17);
	}
	if (rc != SQLITE_DONE) {
		ret = db_fail(db, rc, "read");
		history_sessions_free(v, nv);
		goto out;
	}
	*out = v;
	*n = nv;
out:
	sqlite3_finalize(s);
	return ret;
}

void history_sessions_free(struct history_session *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].label);
		free(s[i].command);
		free(s[i].argv_json);
		free(s[i].cwd);
		free(s[i].started_at);
		free(s[i].ended_at);
		free(s[i].source);
		free(s[i].host);
		free(s[i].reason);
		free(s[i].origin_db);
		free(s[i].merged_from);
	}
	free(s);
}

/* ---- versions ---- */

/* Fill @v from columns @i.. of @s: type, size, mtime_ns, inode, sha256. */
static void version_read(sqlite3_stmt *s, int i, struct history_version *v)
{
	const unsigned char *t = sqlite3_column_text(s, i), *sha;

	v->type = t ? (char)t[0] : 0;
	v->has_size = sqlite3_column_type(s, i + 1) != SQLITE_NULL;
	v->size = sqlite3_column_int64(s, i + 1);
	v->has_mtime = sqlite3_column_type(s, i + 2) != SQLITE_NULL;
	v->mtime_ns = sqlite3_column_int64(s, i + 2);
	v->has_inode = sqlite3_column_type(s, i + 3) != SQLITE_NULL;
	v->inode = sqlite3_column_int64(s, i + 3);
	sha = sqlite3_column_text(s, i + 4);
	snprintf(v->sha256, sizeof(v->sha256), "%s", sha ? (const char *)sha : "");
}

bool history_version_differs(const struct history_version *a, const struct history_version *b)
{
	if (a->type != b->type || a->has_size != b->has_size ||
	    (a->has_size && a->size != b->size))
		return true;
	if (a->sha256[0] && b->sha256[0])
		return strcmp(a->sha256, b->sha256) != 0;
	return a->has_mtime != b->has_mtime || (a->has_mtime && a->mtime_ns != b->mtime_ns) ||
	       a->has_inode != b->has_inode || (a->has_inode && a->inode != b->inode);
}

/* ---- report ---- */

static unsigned op_kind(int op, uint32_t flags)
{
	unsigned k = 0;

	switch (op) {
	case MP_OP_OPEN:
		if ((flags & O_ACCMODE) != O_WRONLY)
			k |= HISTORY_READ;
		if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)))
			k |= HISTORY_WRITE;
		return k;
	case MP_OP_EXEC: return HISTORY_EXEC;
	case MP_OP_STAT:
	case MP_OP_ACCESS:
	case MP_OP_CHDIR:
	case MP_OP_LINK_FROM:
	case MP_OP_CONNECT:
	case MP_OP_WATCH:
	case MP_OP_MOUNT:
	case MP_OP_UMOUNT: return HISTORY_STAT;
	case MP_OP_XATTR:
		return (flags & O_ACCMODE) == O_WRONLY ? HISTORY_WRITE : HISTORY_READ;
	case MP_OP_READLINK:
	case MP_OP_READDIR:
	case MP_OP_MOUNT_FROM:
	case MP_OP_DLOPEN: return HISTORY_READ;
	default: return HISTORY_WRITE;
	}
}

struct cand {
	int64_t id;
	char *path;
};

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : cmp_i64(&x->id, &y->id);
}

struct cands {
	struct cand *v;
	size_t n, alloc;
};

static void cand_push(struct cands *c, int64_t id, char *path)
{
	if (c->n == c->alloc) {
		c->alloc = c->alloc ? 2 * c->alloc : 64;
		c->v = xrealloc(c->v, c->alloc * sizeof(*c->v));
	}
	c->v[c->n].id = id;
	c->v[c->n++].path = path;
}

/* The literal start of @glob, up to its first special character. */
static char *glob_prefix(const char *glob)
{
	size_t n = strcspn(glob, "*?[\\");

	return xstrndup(glob, n);
}

/* Candidate paths for @glob: those in the index range starting with its literal prefix, then
 * matched exactly. */
static int cands_glob(sqlite3 *db, const char *glob, struct cands *c)
{
	char *lo = glob_prefix(glob), *hi = xstrdup(lo);
	size_t len = strlen(hi);
	sqlite3_stmt *s = NULL;
	int rc, ret;

	/* hi: the smallest string above every string starting with lo. */
	while (len && (unsigned char)hi[len - 1] == 0xff)
		hi[--len] = '\0';
	if (len)
		hi[len - 1] = (char)((unsigned char)hi[len - 1] + 1);
	if ((ret = prep(db, len ? "SELECT id, path FROM paths WHERE path >= ?1 AND path < ?2" :
				  "SELECT id, path FROM paths WHERE path >= ?1", &s)))
		goto out;
	sqlite3_bind_text(s, 1, lo, -1, SQLITE_STATIC);
	if (len)
		sqlite3_bind_text(s, 2, hi, (int)len, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(s, 1);

		if (p && glob_match(glob, p))
			cand_push(c, sqlite3_column_int64(s, 0), col_dup(s, 1));
	}
	if (rc != SQLITE_DONE)
		ret = db_fail(db, rc, "read");
out:
	sqlite3_finalize(s);
	free(lo);
	free(hi);
	return ret;
}

/* Candidate paths for a report without globs: those of the chosen sessions, or all. @live:
 * whether mp_live_paths exists. */
static int cands_all(sqlite3 *db, const struct history_filter *f, bool live, struct cands *c)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;
	size_t k = 0;

	if ((ret = prep(db, !f->nsessions ? "SELECT id, path FROM paths" :
			     live ? "SELECT p.id, p.path FROM session_paths sp"
				    " JOIN paths p ON p.id = sp.path_id WHERE sp.session_id = ?1"
				    " UNION ALL SELECT p.id, p.path FROM temp.mp_live_paths lp"
				    " JOIN paths p ON p.id = lp.path_id WHERE lp.session_id = ?1" :
				    "SELECT p.id, p.path FROM session_paths sp"
				    " JOIN paths p ON p.id = sp.path_id WHERE sp.session_id = ?1",
			&s)))
		return ret;
	do {
		if (f->nsessions)
			sqlite3_bind_int64(s, 1, f->sessions[k]);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW)
			cand_push(c, sqlite3_column_int64(s, 0), col_dup(s, 1));
		if (rc != SQLITE_DONE) {
			ret = db_fail(db, rc, "read");
			break;
		}
		sqlite3_reset(s);
	} while (++k < f->nsessions);
	sqlite3_finalize(s);
	return ret;
}

/* What a session_paths row's ops and open_modes say about the kinds of access. */
static unsigned summary_kinds(uint64_t ops, unsigned open_modes)
{
	unsigned k = 0;

	for (int op = 1; op < 63; op++) {
		if (!(ops >> op & 1))
			continue;
		if (op != MP_OP_OPEN) {
			k |= op_kind(op, 0);
			continue;
		}
		/* Bit 1 << (flags & O_ACCMODE) per access mode, 16: O_CREAT or O_TRUNC. */
		if (open_modes & ~(1u << O_WRONLY) & 0xf)
			k |= HISTORY_READ;
		if (open_modes & ~(1u << O_RDONLY) & 0x1f)
			k |= HISTORY_WRITE;
	}
	return k;
}

struct report_state {
	sqlite3 *db;
	sqlite3_stmt *acc, *ver;
	const struct history_filter *f;
	int64_t *sessions;        /* sorted copy of f->sessions */
	struct idvec runs, missing, failed;
	struct history_version *vers;
	size_t nvers, avers;
};

/* Gather what is known about path @id into @p; false when the chosen sessions never
 * accessed it. */
static int report_one(struct report_state *rs, int64_t id, struct history_path *p, bool *any)
{
	const struct history_filter *f = rs->f;
	size_t ncontents = 0;
	int rc;

	rs->runs.n = rs->missing.n = rs->failed.n = 0;
	rs->nvers = 0;
	*any = false;
	sqlite3_reset(rs->acc);
	sqlite3_bind_int64(rs->acc, 1, id);
	while ((rc = sqlite3_step(rs->acc)) == SQLITE_ROW) {
		int64_t sid = sqlite3_column_int64(rs->acc, 0);
		uint64_t ops = (uint64_t)sqlite3_column_int64(rs->acc, 1);
		unsigned modes = (unsigned)sqlite3_column_int(rs->acc, 2);
		int results = sqlite3_column_int(rs->acc, 3);
		uint64_t first = (uint64_t)sqlite3_column_int64(rs->acc, 4);
		uint64_t last = (uint64_t)sqlite3_column_int64(rs->acc, 5);

		if (f->nsessions && !id_in(rs->sessions, f->nsessions, sid))
			continue;
		if (!*any || first < p->first_ns)
			p->first_ns = first;
		if (!*any || last > p->last_ns)
			p->last_ns = last;
		*any = true;
		if (results & 1) {
			idvec_push(&rs->runs, sid);
			p->ops |= (uint32_t)(ops & (((uint64_t)1 << MP_OP_MAX) - 2));
			p->count += (uint64_t)sqlite3_column_int64(rs->acc, 6);
			p->kinds |= summary_kinds(ops, modes);
		}
		if (results & 2)
			idvec_push(&rs->missing, sid);
		if (results & 4)
			idvec_push(&rs->failed, sid);
	}
	if (rc != SQLITE_DONE)
		return db_fail(rs->db, rc, "read");
	if (!*any)
		return 0;
	sqlite3_reset(rs->ver);
	sqlite3_bind_int64(rs->ver, 1, id);
	while ((rc = sqlite3_step(rs->ver)) == SQLITE_ROW) {
		struct history_version *v;
		int64_t sid = sqlite3_column_int64(rs->ver, 0);
		bool seen = false;

		if (f->nsessions && !id_in(rs->sessions, f->nsessions, sid))
			continue;
		if (rs->nvers == rs->avers) {
			rs->avers = rs->avers ? 2 * rs->avers : 16;
			rs->vers = xrealloc(rs->vers, rs->avers * sizeof(*rs->vers));
		}
		v = &rs->vers[rs->nvers];
		v->session = sid;
		version_read(rs->ver, 1, v);
		/* A new content unless an earlier version is the same. */
		for (size_t k = 0; k < rs->nvers && !seen; k++)
			seen = !history_version_differs(&rs->vers[k], v);
		ncontents += !seen;
		rs->nvers++;
	}
	if (rc != SQLITE_DONE)
		return db_fail(rs->db, rc, "read");
	idvec_sort_uniq(&rs->runs);
	idvec_sort_uniq(&rs->missing);
	idvec_sort_uniq(&rs->failed);
	p->runs = rs->runs.v;
	p->nruns = rs->runs.n;
	p->missing = rs->missing.v;
	p->nmissing = rs->missing.n;
	p->failed = rs->failed.v;
	p->nfailed = rs->failed.n;
	p->versions = rs->vers;
	p->nversions = rs->nvers;
	p->ncontents = ncontents;
	return 0;
}

/* A path's session_paths rows (searched session by session, or in the indexed copy), and
 * those computed for sessions never ended. */
#define SUMMARY_COLS "session_id, ops, open_modes, results, first_ns, last_ns, count"
#define SUMMARY_SEEK_SQL                                                          \
	"SELECT * FROM (SELECT " SUMMARY_COLS " FROM temp.mp_report_sessions r"   \
	" CROSS JOIN session_paths sp ON sp.session_id = r.id AND sp.path_id = ?1" \
	" ORDER BY r.id)"
#define SUMMARY_COPY_SQL "SELECT " SUMMARY_COLS " FROM temp.mp_report_paths WHERE path_id = ?1"
#define LIVE_SQL "SELECT " SUMMARY_COLS " FROM temp.mp_live_paths WHERE path_id = ?1"

/* Up to this many searches by primary key (about 1.5 us each: 0.15 s), the rows are not even
 * counted; past it, a copy (1 to 2 us a row copied and indexed) is made when the searches
 * would be more than twice the rows. The copy of a large history goes to SQLite's temporary
 * directory ($SQLITE_TMPDIR, else $TMPDIR, else /var/tmp or /tmp). */
#define SEEKS_CHEAP 100000

static int query_i64(sqlite3 *db, const char *sql, int64_t *v)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	if ((ret = prep(db, sql, &s)))
		return ret;
	rc = sqlite3_step(s);
	*v = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : db_fail(db, rc, "read");
}

/* Where a report reads the session_paths rows of @npaths paths: the chosen sessions (all
 * that ended without @f->sessions) go into temp.mp_report_sessions; then either one search
 * per (path, session), or, when that is more searches than twice the rows there are, one
 * copy of the rows into temp.mp_report_paths indexed by path. The SQL to use in *@sql. */
static int report_source(sqlite3 *db, const struct history_filter *f, size_t npaths,
			 const char **sql)
{
	sqlite3_stmt *s = NULL;
	int64_t nsess = 0, rows = 0;
	int rc, ret;

	rc = sqlite3_exec(db, "CREATE TEMP TABLE mp_report_sessions (id INTEGER PRIMARY KEY)",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(db, rc, "read");
	if (!f->nsessions) {
		rc = sqlite3_exec(db, "INSERT INTO temp.mp_report_sessions"
				  " SELECT id FROM sessions WHERE ended_at IS NOT NULL",
				  NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return db_fail(db, rc, "read");
	} else {
		if ((ret = prep(db, "INSERT OR IGNORE INTO temp.mp_report_sessions VALUES (?1)",
				&s)))
			return ret;
		for (size_t i = 0; i < f->nsessions; i++) {
			sqlite3_bind_int64(s, 1, f->sessions[i]);
			rc = sqlite3_step(s);
			sqlite3_reset(s);
			if (rc != SQLITE_DONE) {
				sqlite3_finalize(s);
				return db_fail(db, rc, "read");
			}
		}
		sqlite3_finalize(s);
	}
	if ((ret = query_i64(db, "SELECT count(*) FROM temp.mp_report_sessions", &nsess)))
		return ret;
	*sql = SUMMARY_SEEK_SQL;
	if ((double)npaths * (double)nsess > SEEKS_CHEAP &&
	    (ret = query_i64(db, "SELECT count(*) FROM temp.mp_report_sessions r"
				 " CROSS JOIN session_paths sp ON sp.session_id = r.id", &rows)))
		return ret;
	if ((double)npaths * (double)nsess <= SEEKS_CHEAP ||
	    (double)npaths * (double)nsess <= 2.0 * (double)rows) {
		log_debug("report: %zu paths in %" PRId64 " sessions: searched session by session",
			  npaths, nsess);
		return 0;
	}
	log_debug("report: %zu paths in %" PRId64 " sessions: their %" PRId64 " rows copied and "
		  "indexed by path", npaths, nsess, rows);
	/* the temporary database's cache, like the main one's (2 MB by default) */
	rc = sqlite3_exec(db, "PRAGMA temp.cache_size = -16384;"
			  "CREATE TEMP TABLE mp_report_paths AS SELECT sp.* FROM"
			  " temp.mp_report_sessions r CROSS JOIN session_paths sp"
			  " ON sp.session_id = r.id;"
			  "CREATE INDEX temp.mp_report_paths_by_path ON mp_report_paths"
			  " (path_id, session_id);", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(db, rc, "read");
	*sql = SUMMARY_COPY_SQL;
	return 0;
}

/* If some session never ended (so has no session_paths rows), compute its rows from its
 * accesses into the temporary table mp_live_paths, indexed by path, and set *@live. Inside
 * the report's read transaction; a temporary table can be written on a read-only
 * connection. */
static int live_paths(sqlite3 *db, bool *live)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	*live = false;
	if ((ret = prep(db, "SELECT EXISTS (SELECT 1 FROM sessions WHERE ended_at IS NULL)", &s)))
		return ret;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*live = sqlite3_column_int(s, 0) != 0;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return db_fail(db, rc, "read");
	if (!*live)
		return 0;
	rc = sqlite3_exec(db, "CREATE TEMP TABLE mp_live_paths AS"
			  " SELECT session_id, path_id, ops, open_modes, results, first_ns, last_ns,"
			  " count FROM session_path_summary WHERE session_id IN"
			  " (SELECT id FROM sessions WHERE ended_at IS NULL);"
			  "CREATE INDEX temp.mp_live_paths_by_path ON mp_live_paths"
			  " (path_id, session_id);", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		ret = db_fail(db, rc, "read");
		sqlite3_exec(db, "DROP TABLE IF EXISTS temp.mp_live_paths", NULL, NULL, NULL);
		*live = false;
		return ret;
	}
	return 0;
}

int history_report(struct store *st, const struct history_filter *f,
		   int (*fn)(void *ctx, const struct history_path *p), void *ctx)
{
	struct report_state rs = { .db = store_sqlite(st), .f = f };
	struct cands c = { 0 };
	const char *sql = NULL;
	char *summary = NULL;
	size_t npaths = 0;
	bool live = false;
	int ret = 0;

	/* One read transaction: every row from one snapshot, even with recorders writing. */
	sqlite3_exec(rs.db, "BEGIN", NULL, NULL, NULL);
	if ((ret = live_paths(rs.db, &live)))
		goto out;
	if (f->nsessions) {
		rs.sessions = xmalloc(f->nsessions * sizeof(*rs.sessions));
		memcpy(rs.sessions, f->sessions, f->nsessions * sizeof(*rs.sessions));
		qsort(rs.sessions, f->nsessions, sizeof(*rs.sessions), cmp_i64);
	}
	for (size_t i = 0; i < f->nglobs && !ret; i++)
		ret = cands_glob(rs.db, f->globs[i], &c);
	if (!f->nglobs && !ret)
		ret = cands_all(rs.db, f, live, &c);
	if (ret)
		goto out;
	if (c.n)
		qsort(c.v, c.n, sizeof(*c.v), cmp_cand);
	for (size_t i = 0; i < c.n; i++)
		npaths += !i || c.v[i].id != c.v[i - 1].id;
	if ((ret = report_source(rs.db, f, npaths, &sql)))
		goto out;
	summary = xasprintf("%s%s", sql, live ? " UNION ALL " LIVE_SQL : "");
	if ((ret = prep(rs.db, summary, &rs.acc)) ||
	    (ret = prep(rs.db, "SELECT session_id, type, size, mtime_ns, inode, sha256"
			       " FROM file_versions WHERE path_id = ?1 ORDER BY session_id",
			&rs.ver)))
		goto out;
	for (size_t i = 0; i < c.n && !ret; i++) {
		struct history_path p = { .path = c.v[i].path };
		bool any;

		if (i && c.v[i].id == c.v[i - 1].id)
			continue;
		ret = report_one(&rs, c.v[i].id, &p, &any);
		if (!ret && any)
			ret = fn(ctx, &p);
	}
out:
	sqlite3_finalize(rs.acc);
	sqlite3_finalize(rs.ver);
	rs.acc = rs.ver = NULL;
	if (live)
		sqlite3_exec(rs.db, "DROP TABLE temp.mp_live_paths", NULL, NULL, NULL);
	sqlite3_exec(rs.db, "DROP TABLE IF EXISTS temp.mp_report_paths;"
		     "DROP TABLE IF EXISTS temp.mp_report_sessions", NULL, NULL, NULL);
	sqlite3_exec(rs.db, "COMMIT", NULL, NULL, NULL);
	free(summary);
	for (size_t i = 0; i < c.n; i++)
		free(c.v[i].path);
	free(c.v);
	free(rs.sessions);
	free(rs.runs.v);
	free(rs.missing.v);
	free(rs.failed.v);
	free(rs.vers);
	return ret;
}

/* ---- diff ---- */

/* The paths a session used successfully, sorted, with its version of each: from its
 * session_paths rows, or for a session never ended (none) from its accesses rows. */
static const char diff_sql[] =
	"SELECT p.path, v.type, v.size, v.mtime_ns, v.inode, v.sha256"
	" FROM session_paths u"
	" JOIN paths p ON p.id = u.path_id"
	" LEFT JOIN file_versions v ON v.session_id = ?1 AND v.path_id = u.path_id"
	" WHERE u.session_id = ?1 AND u.results & 1"
	" ORDER BY p.path";
static const char diff_live_sql[] =
	"SELECT p.path, v.type, v.size, v.mtime_ns, v.inode, v.sha256"
	" FROM (SELECT DISTINCT a.path_id FROM access_batches b"
	"       JOIN accesses a ON a.id BETWEEN b.first_id AND b.last_id"
	"       WHERE b.session_id = ?1 AND a.errno = 0) u"
	" JOIN paths p ON p.id = u.path_id"
	" LEFT JOIN file_versions v ON v.session_id = ?1 AND v.path_id = u.path_id"
	" ORDER BY p.path";

/* Prepare the diff query for session @id and bind it. */
static int diff_prep(sqlite3 *db, int64_t id, sqlite3_stmt **out)
{
	sqlite3_stmt *s = NULL;
	bool ended = false;
	int rc, ret;

	if ((ret = prep(db, "SELECT ended_at IS NOT NULL FROM sessions WHERE id = ?1", &s)))
		return ret;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ended = sqlite3_column_int(s, 0) != 0;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(db, rc, "read");
	if ((ret = prep(db, ended ? diff_sql : diff_live_sql, out)))
		return ret;
	sqlite3_bind_int64(*out, 1, id);
	return 0;
}

static int diff_step(sqlite3 *db, sqlite3_stmt *s, bool *row, struct history_version *v)
{
	int rc = sqlite3_step(s);

	*row = rc == SQLITE_ROW;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(db, rc, "read");
	if (*row)
		version_read(s, 1, v);
	return 0;
}

int history_diff(struct store *st, int64_t a, int64_t b,
		 int (*fn)(void *ctx, const char *path, enum history_change kind,
			   const struct history_version *va, const struct history_version *vb),
		 void *ctx)
{
	sqlite3 *db = store_sqlite(st);
	sqlite3_stmt *sa = NULL, *sb = NULL;
	struct history_version va, vb;
	bool ra, rb;
	int ret;

	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	if ((ret = diff_prep(db, a, &sa)) || (ret = diff_prep(db, b, &sb)))
		goto out;
	if ((ret = diff_step(db, sa, &ra, &va)) || (ret = diff_step(db, sb, &rb, &vb)))
		goto out;
	va.session = a;
	vb.session = b;
	while (!ret && (ra || rb)) {
		const char *pa = ra ? (const char *)sqlite3_column_text(sa, 0) : NULL;
		const char *pb = rb ? (const char *)sqlite3_column_text(sb, 0) : NULL;
		int c = !pa ? 1 : !pb ? -1 : strcmp(pa, pb);

		if (c < 0) {
			ret = fn(ctx, pa, HISTORY_ONLY_A, &va, NULL);
			if (!ret)
				ret = diff_step(db, sa, &ra, &va);
		} else if (c > 0) {
			ret = fn(ctx, pb, HISTORY_ONLY_B, NULL, &vb);
			if (!ret)
				ret = diff_step(db, sb, &rb, &vb);
		} else {
			/* Changed only when both recorded a version and they differ. */
			if (va.type && vb.type && history_version_differs(&va, &vb))
				ret = fn(ctx, pa, HISTORY_CHANGED, &va, &vb);
			if (!ret)
				ret = diff_step(db, sa, &ra, &va);
			if (!ret)
				ret = diff_step(db, sb, &rb, &vb);
		}
		va.session = a;
		vb.session = b;
	}
out:
	sqlite3_finalize(sa);
	sqlite3_finalize(sb);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return ret;
}

/* ---- writing ---- */

/* Run @fn(@db, @arg) inside BEGIN IMMEDIATE ... COMMIT (SQLite's busy handler waits for the
 * write lock up front); roll back when it fails. Returns an SQLite code. */
static int in_write_txn(sqlite3 *db, int (*fn)(sqlite3 *db, void *arg), void *arg)
{
	int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = fn(db, arg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* ---- merge ---- */

struct merge {
	sqlite3 *out, *in;
	const char *in_name;
	char *in_id, *out_id;             /* db_id of each */
	int64_t *path_map;                /* input paths.id -> output paths.id, 0: not yet */
	int64_t npath_map;
	const struct history_session *s;  /* the session being copied */
	int64_t replace_id;               /* an old incomplete copy to replace, else 0 */
	uint64_t accesses;
	sqlite3_stmt *in_path, *out_path_get, *out_path_add;
};

static int map_path(struct merge *m, int64_t in_id, int64_t *out_id)
{
	const void *text;
	int n, rc;

	if (in_id > 0 && in_id < m->npath_map && m->path_map[in_id]) {
		*out_id = m->path_map[in_id];
		return SQLITE_OK;
	}
	sqlite3_reset(m->in_path);
	sqlite3_bind_int64(m->in_path, 1, in_id);
	rc = sqlite3_step(m->in_path);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? SQLITE_CORRUPT : rc;
	text = sqlite3_column_text(m->in_path, 0);
	n = sqlite3_column_bytes(m->in_path, 0);
	sqlite3_reset(m->out_path_get);
	sqlite3_bind_text(m->out_path_get, 1, text, n, SQLITE_TRANSIENT);
	rc = sqlite3_step(m->out_path_get);
	if (rc == SQLITE_ROW) {
		*out_id = sqlite3_column_int64(m->out_path_get, 0);
	} else if (rc == SQLITE_DONE) {
		sqlite3_reset(m->out_path_add);
		sqlite3_bind_text(m->out_path_add, 1, text, n, SQLITE_TRANSIENT);
		if ((rc = step_done(m->out_path_add)) != SQLITE_OK)
			return rc;
		*out_id = sqlite3_last_insert_rowid(m->out);
	} else {
		return rc;
	}
	sqlite3_reset(m->out_path_get);
	if (in_id > 0 && in_id < m->npath_map)
		m->path_map[in_id] = *out_id;
	return SQLITE_OK;
}

static void bind_col(sqlite3_stmt *dst, int i, sqlite3_stmt *src, int j)
{
	sqlite3_bind_value(dst, i, sqlite3_column_value(src, j));
}

/* Copy m->s, inside the write transaction on m->out. Returns an SQLite code. */
/* Copy the rows of session @old_id that @get_sql selects (its ?1) into @put_sql, whose ?1 is
 * the new session @new_id and ?2.. the selected columns in order; the column @path_col (or
 * -1) is a path id, mapped into the output database. An SQLite code. */
static int copy_session_rows(struct merge *m, sqlite3 *out, const char *get_sql,
			     const char *put_sql, int64_t old_id, int64_t new_id, int path_col)
{
	sqlite3_stmt *get = NULL, *put = NULL;
	int64_t path_id;
	int rc;

	rc = sqlite3_prepare_v2(m->in, get_sql, -1, &get, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(out, put_sql, -1, &put, NULL);
	if (rc != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(get, 1, old_id);
	sqlite3_bind_int64(put, 1, new_id);
	while ((rc = sqlite3_step(get)) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(get); i++)
			bind_col(put, i + 2, get, i);
		if (path_col >= 0) {
			if ((rc = map_path(m, sqlite3_column_int64(get, path_col), &path_id)) !=
			    SQLITE_OK)
				goto out;
			sqlite3_bind_int64(put, path_col + 2, path_id);
		}
		if ((rc = step_done(put)) != SQLITE_OK)
			goto out;
	}
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
out:
	sqlite3_finalize(get);
	sqlite3_finalize(put);
	return rc;
}

static int merge_session_txn(sqlite3 *out, void *arg)
{
	struct merge *m = arg;
	const struct history_session *h = m->s;
	sqlite3_stmt *get = NULL, *put = NULL;
	int64_t new_id, base = 0, k = 0, path_id;
	int rc;

	if (m->replace_id) {
		sqlite3_stmt *del = NULL;

		rc = sqlite3_prepare_v2(out, "DELETE FROM sessions WHERE id = ?1", -1, &del, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(del, 1, m->replace_id);
			rc = step_done(del);
		}
		sqlite3_finalize(del);
		if (rc != SQLITE_OK)
			return rc;
	}
	rc = sqlite3_prepare_v2(out, "INSERT INTO sessions (id, origin_db, origin_session_id,"
				" merged_from, label, argv, cwd, started_at, ended_at, exit_status,"
				" source, host, complete, incomplete_reason, events, files, processes)"
				" VALUES (?1, ?2, ?3, ?4, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
				" ?15, ?16, ?17, ?18)", -1, &put, NULL);
	if (rc != SQLITE_OK)
		goto out;
	if (m->replace_id)
		sqlite3_bind_int64(put, 1, m->replace_id);
	sqlite3_bind_text(put, 2, h->origin_db ? h->origin_db : m->in_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(put, 3, h->origin_session_id ? h->origin_session_id : h->id);
	sqlite3_bind_text(put, 4, m->in_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(put, 6, h->label, -1, SQLITE_STATIC);
	sqlite3_bind_text(put, 7, h->argv_json ? h->argv_json : "[]", -1, SQLITE_STATIC);
	sqlite3_bind_text(put, 8, h->cwd, -1, SQLITE_STATIC);
	sqlite3_bind_text(put, 9, h->started_at ? h->started_at : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(put, 10, h->ended_at, -1, SQLITE_STATIC);
	if (h->has_exit)
		sqlite3_bind_int(put, 11, h->exit_status);
	sqlite3_bind_text(put, 12, h->source ? h->source : "ptrace", -1, SQLITE_STATIC);
	sqlite3_bind_text(put, 13, h->host, -1, SQLITE_STATIC);
	sqlite3_bind_int(put, 14, h->complete);
	sqlite3_bind_text(put, 15, h->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(put, 16, h->events);
	sqlite3_bind_int64(put, 17, h->files);
	sqlite3_bind_int64(put, 18, h->processes);
	if ((rc = step_done(put)) != SQLITE_OK)
		goto out;
	new_id = sqlite3_last_insert_rowid(out);
	sqlite3_finalize(put);
	put = NULL;

	/* Processes. */
	rc = copy_session_rows(m, out, "SELECT pid, parent_pid, executable, argv, cwd, started_at,"
			       " ended_at, exit_status FROM processes WHERE session_id = ?1"
			       " ORDER BY id",
			       "INSERT INTO processes (session_id, pid, parent_pid, executable, argv,"
			       " cwd, started_at, ended_at, exit_status)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", h->id, new_id, -1);
	if (rc != SQLITE_OK)
		goto out;

	/* Accesses: one range of new ids above every existing one (we hold the write lock),
	 * recorded as one batch. */
	rc = sqlite3_prepare_v2(out, "SELECT ifnull(max(id), 0) FROM accesses", -1, &get, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(get)) == SQLITE_ROW) {
		base = sqlite3_column_int64(get, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(get);
	get = NULL;
	if (rc != SQLITE_OK)
		goto out;
	rc = sqlite3_prepare_v2(m->in, "SELECT a.pid, a.op, a.path_id, a.flags, a.errno, a.source,"
				" a.first_ns, a.last_ns, a.count FROM access_batches b"
				" JOIN accesses a ON a.id BETWEEN b.first_id AND b.last_id"
				" WHERE b.session_id = ?1 ORDER BY a.id", -1, &get, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(out, "INSERT INTO accesses (id, pid, op, path_id, flags,"
					" errno, source, first_ns, last_ns, count)"
					" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", -1, &put,
					NULL);
	if (rc != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(get, 1, h->id);
	while ((rc = sqlite3_step(get)) == SQLITE_ROW) {
		if ((rc = map_path(m, sqlite3_column_int64(get, 2), &path_id)) != SQLITE_OK)
			goto out;
		sqlite3_bind_int64(put, 1, base + ++k);
		for (int i = 0; i < 9; i++)
			bind_col(put, i + 2, get, i);
		sqlite3_bind_int64(put, 4, path_id);
		if ((rc = step_done(put)) != SQLITE_OK)
			goto out;
	}
	if (rc != SQLITE_DONE)
		goto out;
	sqlite3_finalize(get);
	sqlite3_finalize(put);
	get = put = NULL;
	if (k) {
		rc = sqlite3_prepare_v2(out, "INSERT INTO access_batches (session_id, first_id,"
					" last_id) VALUES (?1, ?2, ?3)", -1, &put, NULL);
		if (rc != SQLITE_OK)
			goto out;
		sqlite3_bind_int64(put, 1, new_id);
		sqlite3_bind_int64(put, 2, base + 1);
		sqlite3_bind_int64(put, 3, base + k);
		if ((rc = step_done(put)) != SQLITE_OK)
			goto out;
		sqlite3_finalize(put);
		put = NULL;
	}

	/* File versions. */
	rc = copy_session_rows(m, out, "SELECT path_id, type, size, mtime, mtime_ns, inode, sha256"
			       " FROM file_versions WHERE session_id = ?1",
			       "INSERT OR IGNORE INTO file_versions (session_id, path_id, type, size,"
			       " mtime, mtime_ns, inode, sha256)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", h->id, new_id, 0);
	if (rc != SQLITE_OK)
		goto out;

	/* Its session_paths rows, from the accesses just copied, if it has ended (a session has
	 * them if and only if its ended_at is set). */
	if (h->ended_at) {
		rc = sqlite3_prepare_v2(out, "INSERT INTO session_paths (session_id, path_id, ops,"
					" open_modes, results, first_ns, last_ns, count)"
					" SELECT session_id, path_id, ops, open_modes, results,"
					" first_ns, last_ns, count FROM session_path_summary"
					" WHERE session_id = ?1", -1, &put, NULL);
		if (rc != SQLITE_OK)
			goto out;
		sqlite3_bind_int64(put, 1, new_id);
		if ((rc = step_done(put)) != SQLITE_OK)
			goto out;
	}
	rc = SQLITE_OK;
	m->accesses += (uint64_t)k;
out:
	sqlite3_finalize(get);
	sqlite3_finalize(put);
	return rc;
}

/* Is session @h of the input, with origin (@odb, @oid), already in m->out? *@id gets its id
 * there, and *@stale whether it is an incomplete "running" copy that a new merge should
 * replace. The origin alone does not tell: a history copied with cp (or .backup) keeps its
 * db_id, so sessions recorded later into each copy share it and their ids, and `forget` of
 * the latest session frees its id for the next record. A session is the same one when it
 * also has the same start (milliseconds), command, cwd, host and source: what a recording
 * sets when it begins and nothing changes later (its label is left out: a name, which may be
 * given again). A session of OUT itself (origin_db NULL) is never replaced. */
static int merge_find(struct merge *m, const struct history_session *h, const char *odb,
		      int64_t oid, int64_t *id, bool *stale)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*id = 0;
	*stale = false;
	rc = sqlite3_prepare_v2(m->out,
				"SELECT id, origin_db IS NOT NULL AND complete = 0 AND"
				" incomplete_reason IS 'running' FROM sessions"
				" WHERE ((origin_db = ?1 AND origin_session_id = ?2)"
				"        OR (?3 AND id = ?2 AND origin_db IS NULL))"
				" AND started_at = ?4 AND argv = ?5 AND cwd IS ?6 AND host IS ?7"
				" AND source = ?8 ORDER BY origin_db IS NOT NULL, id LIMIT 1", -1, &s,
				NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(s, 1, odb, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, oid);
	sqlite3_bind_int(s, 3, !strcmp(odb, m->out_id));
	/* as merge_session_txn() stores them */
	sqlite3_bind_text(s, 4, h->started_at ? h->started_at : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, h->argv_json ? h->argv_json : "[]", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, h->cwd, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, h->host, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, h->source ? h->source : "ptrace", -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		*stale = sqlite3_column_int(s, 1) != 0;
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

int history_merge(struct store *out, struct store *in, const char *in_name,
		  struct history_merge_stats *stats)
{
	struct merge m = { .out = store_sqlite(out), .in = store_sqlite(in), .in_name = in_name };
	struct history_session *ss = NULL;
	size_t n = 0;
	int64_t maxp = 0;
	int rc = SQLITE_OK, ret;

	m.in_id = meta_get(m.in, "db_id");
	m.out_id = meta_get(m.out, "db_id");
	if (!m.in_id || !m.out_id) {
		ret = log_error(-EINVAL, "cannot merge '%s': it has no db_id", in_name);
		goto out;
	}
	/* One read snapshot of the input for the whole merge. */
	rc = sqlite3_exec(m.in, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK || (ret = history_sessions(in, 0, &ss, &n))) {
		ret = rc != SQLITE_OK ? db_fail(m.in, rc, "read") : ret;
		goto out;
	}
	rc = sqlite3_prepare_v2(m.in, "SELECT ifnull(max(id), 0) FROM paths", -1, &m.in_path, NULL);
	if (rc == SQLITE_OK && sqlite3_step(m.in_path) == SQLITE_ROW)
		maxp = sqlite3_column_int64(m.in_path, 0);
	sqlite3_finalize(m.in_path);
	m.in_path = NULL;
	m.npath_map = maxp + 1;
	m.path_map = xcalloc((size_t)m.npath_map, sizeof(*m.path_map));
	if ((rc = sqlite3_prepare_v2(m.in, "SELECT path FROM paths WHERE id = ?1", -1, &m.in_path,
				     NULL)) != SQLITE_OK) {
		ret = db_fail(m.in, rc, "read");
		goto out;
	}
	if ((rc = sqlite3_prepare_v2(m.out, "SELECT id FROM paths WHERE path = ?1", -1,
				     &m.out_path_get, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(m.out, "INSERT INTO paths (path) VALUES (?1)", -1,
				     &m.out_path_add, NULL)) != SQLITE_OK) {
		ret = db_fail(m.out, rc, "write to");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *odb = ss[i].origin_db ? ss[i].origin_db : m.in_id;
		int64_t oid = ss[i].origin_session_id ? ss[i].origin_session_id : ss[i].id, have;
		bool stale;

		if ((rc = merge_find(&m, &ss[i], odb, oid, &have, &stale)) != SQLITE_OK) {
			ret = db_fail(m.out, rc, "read");
			goto out;
		}
		if (have && !stale) {
			stats->skipped++;
			continue;
		}
		m.s = &ss[i];
		m.replace_id = have;
		rc = in_write_txn(m.out, merge_session_txn, &m);
		if (rc != SQLITE_OK) {
			ret = db_fail(m.out, rc, "merge into");
			goto out;
		}
		if (have)
			stats->refreshed++;
		else
			stats->copied++;
	}
	stats->accesses += m.accesses;
	ret = 0;
out:
	sqlite3_finalize(m.in_path);
	sqlite3_finalize(m.out_path_get);
	sqlite3_finalize(m.out_path_add);
	if (!sqlite3_get_autocommit(m.in))
		sqlite3_exec(m.in, "COMMIT", NULL, NULL, NULL);
	history_sessions_free(ss, n);
	free(m.path_map);
	free(m.in_id);
	free(m.out_id);
	return ret;
}

/* ---- forget and vacuum ---- */

struct forget {
	struct store *st;
	const int64_t *ids;
	size_t n;
	bool force;
	int ret;                  /* why it stopped, logged, or 0 */
};

/* May session @id be deleted? A session recorded here and never ended may still be being
 * recorded: its recorder would go on writing rows for the deleted id (its next write sees it
 * gone and stops, store.h), so it is refused unless that recorder is provably gone (it holds
 * no lock, store_session_recording) or @f->force. Inside the write transaction: a recorder
 * takes its lock before its session's row is committed. An SQLite code; f->ret says why. */
static int forget_check(sqlite3 *db, struct forget *f, int64_t id)
{
	const char *file = sqlite3_db_filename(db, "main");
	sqlite3_stmt *s = NULL;
	bool unended = false, recording;
	int rc, err;

	rc = sqlite3_prepare_v2(db, "SELECT ended_at IS NULL AND origin_db IS NULL FROM sessions"
				" WHERE id = ?1", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		unended = sqlite3_column_int(s, 0) != 0;
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE) {
		f->ret = log_error(-ENOENT, "no session %" PRId64 " in '%s'", id, file);
		return SQLITE_NOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return rc;
	if (!unended || f->force)
		return SQLITE_OK;
	if ((err = store_session_recording(f->st, id, &recording)) < 0) {
		f->ret = log_error(-EBUSY, "cannot forget session %" PRId64 " of '%s': it never"
				   " ended, and whether its recorder still runs cannot be told (%s);"
				   " --force forgets it anyway", id, file, strerror(-err));
		return SQLITE_ABORT;
	}
	if (recording) {
		f->ret = log_error(-EBUSY, "cannot forget session %" PRId64 " of '%s': it is still"
				   " being recorded", id, file);
		return SQLITE_ABORT;
	}
	return SQLITE_OK;
}

static int forget_txn(sqlite3 *db, void *arg)
{
	struct forget *f = arg;
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, "DELETE FROM sessions WHERE id = ?1", -1, &s, NULL);

	for (size_t i = 0; rc == SQLITE_OK && i < f->n; i++) {
		rc = forget_check(db, f, f->ids[i]);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(s, 1, f->ids[i]);
			rc = step_done(s);
		}
	}
	sqlite3_finalize(s);
	return rc;
}

int history_forget(struct store *st, const int64_t *ids, size_t n, bool force)
{
	struct forget f = { .st = st, .ids = ids, .n = n, .force = force };
	sqlite3 *db = store_sqlite(st);
	int rc = in_write_txn(db, forget_txn, &f);

	if (f.ret)
		return f.ret;
	return rc == SQLITE_OK ? 0 : db_fail(db, rc, "delete from");
}

static int drop_paths_txn(sqlite3 *db, void *arg)
{
	/* accesses and session_paths have no index on path_id: one pass over each, not one
	 * per path. */
	int rc = sqlite3_exec(db, "DELETE FROM paths WHERE"
			      " id NOT IN (SELECT path_id FROM accesses)"
			      " AND NOT EXISTS (SELECT 1 FROM file_versions v"
			      "                 WHERE v.path_id = paths.id)"
			      " AND id NOT IN (SELECT path_id FROM session_paths)", NULL, NULL,
			      NULL);

	*(int64_t *)arg = sqlite3_changes(db);
	return rc;
}

int history_vacuum(struct store *st, int64_t *dropped)
{
	sqlite3 *db = store_sqlite(st);
	sqlite3_stmt *s = NULL;
	int64_t running = 0;
	int rc;

	*dropped = 0;
	rc = sqlite3_prepare_v2(db, "SELECT min(id) FROM sessions WHERE complete = 0"
				" AND incomplete_reason = 'running'", -1, &s, NULL);
	if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		running = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_OK)
		return db_fail(db, rc, "read");
	/* A recorder keeps the ids of the paths it has written; dropping one under it would
	 * leave its next rows pointing nowhere. */
	if (running)
		log_warn("session %" PRId64 " may still be recording: unused paths kept ('magicpak"
			 " forget' it if it was killed)", running);
	else {
		/* The DELETE takes only paths that no row names, so SQLite's own check of each
		 * deleted path is redundant, and dear: it looks for rows of session_paths naming
		 * it, which has no index by path (store.c says why), so it scanned that table
		 * once per path: 19 ms a path with 400,000 summary rows, half an hour for
		 * 100,000 unused paths. Off around the transaction (SQLite ignores the pragma
		 * inside one), on again after. */
		int on;

		rc = sqlite3_exec(db, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = in_write_txn(db, drop_paths_txn, dropped);
		on = sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
		if (rc != SQLITE_OK || on != SQLITE_OK)
			return db_fail(db, rc != SQLITE_OK ? rc : on, "write to");
	}
	rc = sqlite3_exec(db, "VACUUM", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(db, rc, "vacuum");
	rc = sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(db, rc, "checkpoint");
	return 0;
}

/* ---- which sources saw each path (report --sources) ---- */

int history_sources(struct store *st, int64_t id,
		    int (*fn)(void *ctx, int64_t session, const char *path, unsigned seen,
			      unsigned have),
		    void *ctx)
{
	static const char sql[] =
		"SELECT p.path, a.source FROM accesses a"
		" JOIN access_batches b ON a.id BETWEEN b.first_id AND b.last_id"
		" JOIN paths p ON p.id = a.path_id"
		" WHERE b.session_id = ?1 AND a.op IN (?2, ?3, ?4, ?5)"
		" GROUP BY p.path, a.source ORDER BY p.path, a.source";
	sqlite3 *db = store_sqlite(st);
	sqlite3_stmt *s = NULL;
	char *cur = NULL;
	unsigned have = 0, seen = 0;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_fail(db, rc, "sources");
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int(s, 2, MP_OP_OPEN);
	sqlite3_bind_int(s, 3, MP_OP_EXEC);
	sqlite3_bind_int(s, 4, MP_OP_STAT);
	sqlite3_bind_int(s, 5, MP_OP_ACCESS);
	/* pass 1: the sources the session has at all */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		have |= 1u << (sqlite3_column_int(s, 1) & 31);
	if (rc != SQLITE_DONE) {
		ret = db_fail(db, rc, "sources");
		goto out;
	}
	sqlite3_reset(s);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(s, 0);

		if (cur && strcmp(cur, path)) {
			ret = fn(ctx, id, cur, seen, have);
			free(cur);
			cur = NULL;
		}
		if (!cur) {
			cur = xstrdup(path);
			seen = 0;
		}
		seen |= 1u << (sqlite3_column_int(s, 1) & 31);
	}
	if (!ret && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = db_fail(db, rc, "sources");
	else if (!ret && cur)
		ret = fn(ctx, id, cur, seen, have);
out:
	free(cur);
	sqlite3_finalize(s);
	return ret;
}
