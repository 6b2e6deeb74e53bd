/* SPDX-License-Identifier: MIT */
/* include/ring.h - the shared-memory ring the preload library writes its records into, and
 * the collector reads; the layout both sides agree on. Includes nothing (event.h's types).
 *
 * Why: one sendto() per record costs the traced program a system call and the collector a
 * wake-up for every open (W4: 2-3 us an event). A ring in shared memory costs neither: the
 * program copies the record and goes on, and the collector empties the ring every few
 * milliseconds. The socket stays: it names the collector, carries the records of a process
 * that cannot map the ring, and is the doorbell a writer rings when the ring fills.
 *
 * The file is the collector's socket path with RING_SUFFIX appended; the collector creates
 * it (mode of the socket), a process maps it when the library starts. Layout: struct
 * mp_ring in the first page, then `size` bytes of data (a power of two), used as a circle.
 * `head` and `tail` count bytes since the start and never wrap; a position p is at data
 * offset p & (size - 1).
 *
 * A record takes a slot: an 8-byte slot header, then the record (struct mp_wire and its
 * payload, as on the socket), padded to 8 bytes. The slot header is, as a __u64:
 *   bits 0-30   the slot's length in bytes (header and padding included)
 *   bit  31     RING_COMMITTED: the record is written
 *   bits 32-63  the writer's pid
 * A writer reserves by compare-and-swap on `head` (only if head + len - tail <= size),
 * stores the header with its pid, copies the record, then stores the header again with
 * RING_COMMITTED (release). The collector reads slots in order from `tail` while their
 * header is committed (acquire), copies each record out before checking it (the writers
 * can still scribble on shared memory), zeroes the slot, then moves `tail` (release): a
 * header that reads 0 is a slot reserved but not yet written. A slot whose writer died
 * before committing is skipped (and counted lost) once the pid is gone.
 *
 * A collector that dies leaves the ring mapped in its writers, unread. A writer asks the
 * socket at most every RING_CHECK_NS, with a connect() that sends nothing (or, the ring full,
 * by ringing the doorbell): a dead collector's socket refuses it, and the writer uses the
 * socket from then on (records counted lost, or received by a new collector). A
 * new collector marks a ring it finds left behind as closed (`alive_ns` 0). What was in the
 * ring when the collector died is lost with it, as the datagrams in its socket queue are.
 * A ring given up because it went unmarked for RING_STALE_NS (a collector that stalled) is
 * taken back once its `alive_ns` moves on again, fresh, with the socket answering: only a
 * live collector draining that very ring moves it. Once the ring given up is closed or stale,
 * a writer whose socket answers maps a new collector's ring (another file at the same path,
 * freshly marked); the old mapping stays (a thread may still write into it), 8 at most. */
#ifndef INCLUDE_RING_H
#define INCLUDE_RING_H

#include "event.h"

#define RING_MAGIC 0x474e5252U /* "RRNG" */
#define RING_VERSION 1
#define RING_SUFFIX ".ring"
#define RING_DATA_OFFSET 4096 /* the data starts on the second page */
#define RING_COMMITTED 0x80000000ULL
#define RING_LEN_MASK 0x7fffffffULL
#define RING_ONCE_SLOTS 64

struct mp_ring {
	__u32 magic;   /* RING_MAGIC */
	__u32 version; /* RING_VERSION */
	__u64 size;    /* bytes of data: a power of two */
	__u64 head __attribute__((aligned(64))); /* next byte to reserve (writers) */
	__u64 tail __attribute__((aligned(64))); /* next byte to read (the collector) */
	/* 1: the collector asks the writer that takes the ring past half full to send one
	 * empty datagram to the socket (and swap this to 0); set again after each drain. */
	__u32 bell __attribute__((aligned(64)));
	/* The collector's pid, or 0. A process whose parent that is (the command `record`
	 * started) rings the doorbell once its exit record is in: the collector can then end
	 * the session while the kernel takes the process down, which for a large program takes
	 * a millisecond or more. (Was padding: a writer of an earlier build reads 0 and rings
	 * nothing, and the collector then ends the session after the reaping, as before.) */
	__u32 exit_bell;
	/* CLOCK_REALTIME of the collector's last drain, 0 when it has closed the ring. A writer
	 * that finds it older than RING_STALE_NS takes the collector for dead (or replaced by a
	 * new one with a new ring) and sends to the socket from then on. */
	__u64 alive_ns;
	/* What the preload library reports once a session rather than once a process (the
	 * locale data a name loads, a time zone file, iconv's cache: preload/interpose.c), as
	 * hashes (never 0) of what was reported; 0 is free, taken with a compare-and-swap. Full,
	 * each process reports them again, as it does without a ring. */
	__u64 once[RING_ONCE_SLOTS] __attribute__((aligned(64)));
};

#define RING_STALE_NS 500000000ULL
#define RING_CHECK_NS 20000000ULL /* how often a writer asks the socket whether the collector lives */

/* The slot a record of @len bytes takes. */
#define RING_SLOT_LEN(len) ((((__u64)(len)) + 8 + 7) & ~7ULL)

#endif /* INCLUDE_RING_H */
