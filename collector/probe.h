/* SPDX-License-Identifier: MIT */
/* collector/probe.h - the optional eBPF probe (bpf/openat.bpf.c): every open, exec, stat,
 * access and chdir of the processes magicpak starts after probe_attach(), and of their
 * descendants, as include/event.h records with source MP_SRC_BPF. Built as a stub whose
 * probe_open() returns -ENOTSUP when clang or bpftool were missing at build time. */
#ifndef COLLECTOR_PROBE_H
#define COLLECTOR_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "event.h"

struct probe;

/* One record: the header (time_ns already CLOCK_REALTIME) and its payload (@len bytes, a
 * NUL-terminated path for MP_REC_ACCESS and MP_REC_PROC_EXEC; an ACCESS's aux is the dirfd
 * a relative path is relative to, AT_FDCWD for the cwd). Borrowed for the call. */
typedef void (*probe_fn)(void *ctx, const struct mp_wire *w, const char *payload, size_t len);

struct probe_stats {
	uint64_t dropped;    /* records the ring buffer had no room for */
	uint64_t unreadable; /* path strings that could not be read */
	uint64_t truncated;  /* paths too long for the probe */
	uint64_t repeats;    /* accesses folded in the kernel into an earlier identical one */
	uint64_t sent;       /* records sent */
	uint64_t io_uring;   /* io_uring_setup calls in the recorded tree */
};

/* Open and load the probe (a ring buffer of $MAGICPAK_BPF_RINGBUF_PAGES pages, a power of
 * two, default 256). On failure returns -errno and puts one line saying why ("needs root or
 * CAP_BPF+CAP_PERFMON", "no kernel BTF", ...) into @why; nothing is logged. @loading (may be
 * NULL) is called with @loading_ctx when the programs are to be loaded here, no earlier run
 * having left them loaded: about 8 ms of this thread in the kernel follow, which the caller
 * may fill with work of its own on another thread. */
int probe_open(struct probe **out, probe_fn fn, void *ctx, void (*loading)(void *),
	       void *loading_ctx, char *why, size_t size);
/* How repeats of an access fold in the kernel: once a session (the first process to make it
 * sends it; every process's repeats are counted on it), or once a process. */
enum probe_fold { PROBE_FOLD_SESSION, PROBE_FOLD_PROCESS };
/* Attach the programs and make the calling process the parent of the recorded tree: every
 * process it starts from now on (and their descendants) is recorded, not itself. */
int probe_attach(struct probe *p, enum probe_fold fold, char *why, size_t size);
/* The fd to poll for records; -1 for none. */
int probe_fd(const struct probe *p);
/* Deliver the waiting records (waiting at most @timeout_ms for one). Returns how many, or
 * -errno. */
int probe_poll(struct probe *p, int timeout_ms);
void probe_get_stats(const struct probe *p, struct probe_stats *out);
/* The accesses the probe folded in the kernel: @fn is called for each one made more than
 * once, with its fold key and how many times in all. Returns how many repeats were folded
 * (probe_get_stats() leaves its repeats at 0: this is the one walk of the fold table). */
typedef void (*probe_repeat_fn)(void *ctx, uint64_t key, uint64_t count);
uint64_t probe_repeats(struct probe *p, probe_repeat_fn fn, void *ctx);
/* The fold key of an access record (bpf/openat.h): @tgid is the record's pid under
 * PROBE_FOLD_PROCESS, 0 under PROBE_FOLD_SESSION. */
uint64_t probe_fold_key(const char *path, uint32_t tgid, uint32_t op, uint32_t flags, int32_t err);
/* The longest a probe is kept loaded after its run ($MAGICPAK_BPF_KEEP_S, probe_keep_for()). */
#define PROBE_KEEP_MAX_S 86400
/* Keep the probe loaded for @secs (1 to PROBE_KEEP_MAX_S) once its linger is over, instead of
 * $MAGICPAK_BPF_KEEP_S (default 60): `magicpak probe`. Call before probe_attach(). */
void probe_keep_for(struct probe *p, long secs);
/* After probe_attach(): the pid of the child that outlives this process with the probe (it
 * lingers, then keeps it), or 0 when there is none ($MAGICPAK_BPF_LINGER_MS=0, no clone). */
pid_t probe_keeper_pid(const struct probe *p);
/* The pid of the process whose loaded probe this one was taken over from, or 0: loaded here. */
pid_t probe_taken_from(const struct probe *p);
/* Let go of the probe an earlier run left loaded (lingering or kept): its offer is withdrawn,
 * so no later run takes it, and a keeper is told to go. Returns the pid that held it, 0 when
 * none was offered or its holder is gone (the offer removed all the same), or -EPERM (not
 * root: the offer is root's). */
pid_t probe_release(void);
/* The probe on offer to the next run, left loaded: the pid of the process holding it, and
 * whether it keeps it (detached) or still lingers (attached) in @kept. 0 when none is
 * offered by a live process of ours, -EPERM when not root. Nothing is claimed. */
pid_t probe_offered(bool *kept);
/* Detach and free; NULL is accepted. */
void probe_destroy(struct probe *p);
/* The same for a process that exits next: its mappings of the probe are left to the exit. */
void probe_leave(struct probe *p);

#endif /* COLLECTOR_PROBE_H */
