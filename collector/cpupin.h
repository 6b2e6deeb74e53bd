/* SPDX-License-Identifier: MIT */
/* collector/cpupin.h - keep the tracer and the traced tree on one CPU while that is faster.
 *
 * Why: every traced syscall is two ptrace stops, each a wake-up of the other side. When the
 * tracer and the tracee sit on different CPUs, each wake-up is an inter-processor interrupt,
 * and on a VM whose idle vCPUs halt (these machines) that costs 50-100 us: W4 ran at 176x
 * native. On one CPU the same run is 17 times faster. A tree that really runs in parallel
 * (make -j) gets its CPUs back: when its tasks wait for the one CPU for more than a third of
 * the time, everything is unpinned for good. The tracer hides the pinning from the tree
 * (sched_getaffinity answers with the mask it would have had), so `nproc` and thread pools
 * size themselves as without magicpak. */
#ifndef COLLECTOR_CPUPIN_H
#define COLLECTOR_CPUPIN_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cpupin {
	bool active;     /* the calling process (and what it forks) is on one CPU */
	cpu_set_t orig;  /* the mask before, which the tree is told it has */
	size_t ntrack, atrack;
	struct cpupin_task {
		pid_t tid;
		unsigned long long run_delay; /* ns waited on a run queue, at the last check */
	} *track;
	unsigned long long last_ns;
};

/* Pin the calling process to one of its CPUs (chosen by pid, so that records started
 * together spread), if it may run on more than one and MAGICPAK_NO_PIN is not set. @p is set
 * up either way (active tells). */
void cpupin_start(struct cpupin *p);
/* Every CPUPIN_CHECK_MS while active: if the @n tasks @tids and the caller waited for the
 * CPU more than a third of the time since the last check (the tree runs in parallel, or
 * other programs want that CPU), give them their mask back and end. Returns true when that
 * happened. */
#define CPUPIN_CHECK_MS 100
bool cpupin_check(struct cpupin *p, const pid_t *tids, size_t n);
void cpupin_free(struct cpupin *p);

/* The calling thread gives way to the recorded command: SCHED_BATCH, whose waking threads the
 * kernel does not let preempt the running one. For a thread that only collects while the
 * command runs (record --via preload's loop, and the history thread it starts), never for the
 * tracer, which the tree waits for.
 * Why: the loop wakes (every 10 ms then, 25-100 ms now: collect_pass_ms()) to drain and store, and on these 2-vCPU VMs the kernel often
 * woke it on the CPU the command ran on (the one both shared at the vfork) although the other
 * was idle, and preempted the command for the 0.2-1 ms of work. Same share of the CPU as
 * before, so nothing starves. Only from SCHED_OTHER: a policy the user chose (chrt) stays.
 * (--via bpf's loop and reader read 0.9 ms worse with it on W1, paired: not there.) Returns
 * true if switched. */
bool cpupin_batch(void);
/* Back to SCHED_OTHER after cpupin_batch() returned @switched: the session's end is what the
 * user waits for. */
void cpupin_unbatch(bool switched);

#endif /* COLLECTOR_CPUPIN_H */
