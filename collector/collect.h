/* SPDX-License-Identifier: MIT */
/* collector/collect.h - receive the preload library's records (include/event.h) from a unix
 * datagram socket, check each one, and feed the store's current session. */
#ifndef COLLECTOR_COLLECT_H
#define COLLECTOR_COLLECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "caps.h"

struct store;
struct collect;

struct collect_stats {
	uint64_t records;    /* well-formed records stored */
	uint64_t datagrams;  /* records received on the socket, not through the ring */
	uint64_t accesses;   /* of which file accesses */
	uint64_t processes;  /* distinct processes seen */
	uint64_t bad;        /* datagrams dropped: short, wrong magic or version, malformed */
	uint64_t lost;       /* records the senders reported they could not send */
	uint64_t gaps;       /* programs executed that run unseen (static, setuid, env) */
	char gap[160];       /* the first gap, e.g. "static exec /bin/busybox" */
};

/* Called for each access stored (borrowed strings), e.g. to note file versions. */
typedef void (*collect_access_fn)(void *ctx, pid_t pid, int op, const char *path,
				  uint32_t flags, int err);

/* Bind a datagram socket at @path (a stale socket file there is replaced; a live collector
 * there gives -EADDRINUSE) and feed records into @st's current session. A process whose
 * parent is @root_parent is stored as the session's first process (parent 0). @path NULL:
 * no socket, records only through collect_feed(). Logs failures. */
int collect_open(const char *path, struct store *st, pid_t root_parent, struct collect **out);
/* The store for a collector opened with none: `collect` binds the socket first, so that a
 * socket another collector listens on is refused before a history is made. */
void collect_set_store(struct collect *c, struct store *st);
/* Accesses of @path (magicpak's own library, which the loader opens in every process) are
 * not the program's: not stored. Up to two paths. */
void collect_ignore(struct collect *c, const char *path);
/* Call @fn for every access stored from now on. */
void collect_on_access(struct collect *c, collect_access_fn fn, void *ctx);
/* The socket to poll for input; -1 without one. */
int collect_fd(const struct collect *c);
/* The shared-memory ring (include/ring.h) made next to the socket. */
#define COLLECT_RING_SIZE (4u << 20)
/* How long a reader that stores while the command runs (this ring; record's reader of the
 * probe) waits between passes, @elapsed_ms after it started: a third of that, from
 * COLLECT_PASS_MIN_MS to COLLECT_PASS_MAX_MS. Writers wake it only when their ring is half
 * full.
 * Why: what no pass took is read and written once the command has exited, while its caller
 * waits (W1 under --via bpf: 5.5 ms for its 226 records here), and each pass costs the command
 * a wake-up of an idle vCPU and a transaction (W3 at a fixed 10 ms: 17 ms more on these VMs).
 * A third leaves the end at most a quarter of a short run to store, for four passes in its
 * first 100 ms; from 300 ms on it is every 100 ms. */
#define COLLECT_PASS_MIN_MS 25
#define COLLECT_PASS_MAX_MS 100
int collect_pass_ms(uint64_t elapsed_ms);
/* Store every record waiting on the socket and in the ring, without blocking. Returns how
 * many records were read, or a negative errno from the store (the first error, once). */
int collect_drain(struct collect *c);
/* The same once every sender has exited: a ring slot a sender left half-written is counted
 * lost instead of waited for. */
int collect_finish(struct collect *c);
/* The poll() timeout to use instead of @wait_ms (-1: none) so that the ring is drained
 * (collect_pass_ms(), from collect_open()). */
int collect_poll_ms(const struct collect *c, int wait_ms);
/* Check and store one datagram of @len bytes. 0 if stored, -EINVAL if dropped as bad
 * (counted), another -errno from the store. */
int collect_feed(struct collect *c, const void *buf, size_t len);
/* Process @pid ended with wait status @status (reaped by the caller): stored unless its own
 * exit record came first. */
void collect_reaped(struct collect *c, pid_t pid, int status);
/* The pids seen that have sent no exit record and were not reaped. *@n gets the count; the
 * array is owned by the caller. */
pid_t *collect_alive(const struct collect *c, size_t *n);
/* Has @root sent its exit record, and every other process it knows of too? A process that
 * has sent nothing yet is not known: the answer is a guess (store_session_end_prepare()). */
bool collect_tree_over(const struct collect *c, pid_t root);
void collect_get_stats(const struct collect *c, struct collect_stats *out);
/* Why the session cannot be complete ("events_lost=3", "preload_gap: static exec /x",
 * "bad_records=2") into @why, or "" when nothing was missed. */
void collect_incomplete_reason(const struct collect *c, char *why, size_t size);
/* What exec of @path by @who (NULL: this process; caps.h) would run unseen by the preload
 * library: 0, MP_GAP_STATIC, MP_GAP_SETUID or MP_GAP_ABI (follows one "#!" line). */
int collect_exec_gap(const char *path, const struct caps_who *who);
/* Record an access by @pid that no preloaded process could report (@err 0 or errno). */
int collect_add_access(struct collect *c, pid_t pid, int op, const char *path, int err);
/* Record that process @pid executed @path unseen, for reason @why (enum mp_gap). */
int collect_add_gap(struct collect *c, pid_t pid, int why, const char *path);
/* Close and remove the socket, free @c. NULL is accepted. */
void collect_free(struct collect *c);

#endif /* COLLECTOR_COLLECT_H */
