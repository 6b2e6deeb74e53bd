/* SPDX-License-Identifier: MIT */
/* collector/history.h - the query side of the store: list sessions, report on paths across
 * sessions, compare two sessions, merge databases, forget sessions and compact. Every verb
 * takes an open store (store.h) and returns 0 or a negative errno, logged where it happens. */
#ifndef COLLECTOR_HISTORY_H
#define COLLECTOR_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct store;

/* One row of the sessions table, every string owned (NULL when the column is NULL). */
struct history_session {
	int64_t id;
	char *label;
	char *command;            /* argv joined with spaces, shell-quoted where needed */
	char *argv_json;          /* the argv column: a JSON array */
	char *cwd;
	char *started_at, *ended_at;
	bool has_exit;
	int exit_status;
	char *source, *host;
	bool complete;
	char *reason;             /* incomplete_reason */
	int64_t events, files, processes;
	char *origin_db;          /* merged sessions: db_id of the database it was recorded in */
	int64_t origin_session_id;/* and its id there (0: recorded here) */
	char *merged_from;        /* the file it was merged from */
};

/* Every session (@id 0) or only session @id, by id. *@out (owned, free with
 * history_sessions_free()) gets *@n rows; no match is 0 rows, not an error. */
int history_sessions(struct store *st, int64_t id, struct history_session **out, size_t *n);
void history_sessions_free(struct history_session *s, size_t n);

/* What a file was when a session read it (a file_versions row). */
struct history_version {
	int64_t session;
	char type;                /* 'f', 'd', 'l', ...; 0: none recorded */
	bool has_size, has_mtime, has_inode;
	int64_t size, mtime_ns, inode;
	char sha256[65];          /* "" when not recorded */
};

/* Do @a and @b describe different contents? The sha256 decides when both have one; else
 * the type, size, mtime and inode are compared. */
bool history_version_differs(const struct history_version *a, const struct history_version *b);

/* What `report` found out about one path, borrowed for the callback. */
struct history_path {
	const char *path;
	const int64_t *runs;      /* sessions that used it successfully, ascending */
	size_t nruns;
	const int64_t *missing;   /* sessions where a lookup of it failed with ENOENT, ascending */
	size_t nmissing;
	const int64_t *failed;    /* sessions where an access failed with another errno */
	size_t nfailed;
	uint64_t first_ns, last_ns;   /* first and last access of any result */
	uint32_t ops;                 /* bit 1 << op for each enum mp_op that succeeded */
	uint64_t count;               /* successful accesses (folded counts) */
	unsigned kinds;               /* enum history_kind bits, of the successful accesses */
	const struct history_version *versions; /* one per session that recorded one */
	size_t nversions;
	size_t ncontents;             /* distinct contents among them */
};

enum history_kind {
	HISTORY_READ = 1 << 0,    /* open for reading, readlink, readdir, dlopen, mount_from, xattr
				   * get/list */
	HISTORY_WRITE = 1 << 1,   /* open for writing or creating, and every changing op */
	HISTORY_EXEC = 1 << 2,
	HISTORY_STAT = 1 << 3,    /* stat, access, chdir, link_from, connect, watch, (u)mount */
};

/* Which paths and sessions `report` looks at. No glob: every path; no session: all. */
struct history_filter {
	const char *const *globs; /* glob_match() patterns */
	size_t nglobs;
	const int64_t *sessions;
	size_t nsessions;
};

/* Call @fn for each path matching the filter that the chosen sessions accessed, sorted by
 * path bytes. A non-zero return from @fn stops the walk and is returned. */
int history_report(struct store *st, const struct history_filter *f,
		   int (*fn)(void *ctx, const struct history_path *p), void *ctx);

enum history_change { HISTORY_ONLY_A, HISTORY_ONLY_B, HISTORY_CHANGED };

/* Compare the paths sessions @a and @b used successfully: @fn gets each path only one used,
 * and each path both used whose recorded versions differ (@va and @vb; NULL for a session
 * that recorded none), sorted by path bytes. A non-zero return from @fn stops the walk. */
int history_diff(struct store *st, int64_t a, int64_t b,
		 int (*fn)(void *ctx, const char *path, enum history_change kind,
			   const struct history_version *va, const struct history_version *vb),
		 void *ctx);

struct history_merge_stats {
	size_t copied;            /* sessions new to @out */
	size_t skipped;           /* already there */
	size_t refreshed;         /* there but incomplete ("running"), copied again */
	uint64_t accesses;        /* access rows copied */
};

/* Copy every session of @in (opened read-only, its file given as @in_name) into @out with
 * new ids, remapping paths, processes, accesses and file versions; each copy keeps where it
 * was recorded (origin_db, origin_session_id) and the file it came from (merged_from). A
 * session already in @out (the same origin, start time, argv, cwd, host and source) is
 * skipped, unless that copy is incomplete with reason "running": then it is copied again.
 * One write transaction per session. */
int history_merge(struct store *out, struct store *in, const char *in_name,
		  struct history_merge_stats *stats);

/* Delete the @n sessions @ids and their rows, all or none, in one transaction. -ENOENT
 * (logged) if one is not there; -EBUSY (logged) if one recorded into this file never ended
 * and its recorder may still be writing it: it holds its lock (store_session_recording), or
 * that cannot be told. @force deletes such a session all the same (its recorder, if alive,
 * then writes nothing more and fails). */
int history_forget(struct store *st, const int64_t *ids, size_t n, bool force);

/* Drop paths no row refers to (unless a session may still be recording: its writer keeps
 * path ids), then VACUUM and truncate the WAL. *@dropped gets the number of paths dropped. */
int history_vacuum(struct store *st, int64_t *dropped);

/* For each path session @id opened, executed, stat'ed or checked with access(), sorted by
 * path bytes: @seen has bit 1 << source (enum mp_source) for each source that recorded it,
 * @have the same for every source the session has (record --bpf, --cross-check). A non-zero
 * return from @fn stops the walk and is returned. */
int history_sources(struct store *st, int64_t id,
		    int (*fn)(void *ctx, int64_t session, const char *path, unsigned seen,
			      unsigned have),
		    void *ctx);

#endif /* COLLECTOR_HISTORY_H */
