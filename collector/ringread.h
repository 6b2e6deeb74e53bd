/* SPDX-License-Identifier: MIT */
/* collector/ringread.h - the collector's end of the shared-memory ring (include/ring.h):
 * create it next to the socket, take the committed records out in order, skip the slots of
 * writers that died mid-write. */
#ifndef COLLECTOR_RINGREAD_H
#define COLLECTOR_RINGREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ringread;

/* Create the ring file @path (mode @mode, replacing a stale one) of @size data bytes (a power
 * of two) and map it. Logs failures. */
int ringread_create(const char *path, unsigned int mode, size_t size, struct ringread **out);

/* Called with each record, copied out of shared memory into a private buffer. */
typedef void (*ringread_fn)(void *ctx, const void *rec, size_t len);

/* Take the committed records in order and hand them to @fn: every one, or with writers
 * still running at most RINGREAD_MAX (what they write meanwhile would otherwise keep one
 * call going, and what @fn stores piles up unwritten). With @final (every writer has
 * exited), slots still uncommitted are skipped at once; otherwise a slot is skipped only once
 * its writer is gone. Returns how many records were read. Every RINGREAD_BEAT records the
 * ring is marked alive, as at the end: a writer takes a ring not marked for RING_STALE_NS
 * for one its collector left, and sends every record as a datagram from then on. */
#define RINGREAD_MAX 8192
#define RINGREAD_BEAT 1024
size_t ringread_drain(struct ringread *r, ringread_fn fn, void *ctx, bool final);

/* Slots skipped because their writer died before committing, and slots with a length that
 * made no sense (the rest of the ring was then dropped). */
uint64_t ringread_lost(const struct ringread *r);
uint64_t ringread_bad(const struct ringread *r);

/* Have the children of @parent ring the doorbell at their exit (include/ring.h exit_bell).
 * NULL is fine. */
void ringread_exit_bell(struct ringread *r, int parent);

/* Unmap and remove the file. NULL is fine. */
void ringread_free(struct ringread *r);

#endif /* COLLECTOR_RINGREAD_H */
