/* SPDX-License-Identifier: MIT */
/* collector/cpupin.c - one CPU for the tracer and its tree while that is faster (cpupin.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "cpupin.h"
#include "log.h"
#include "xalloc.h"

void cpupin_start(struct cpupin *p)
{
	const char *e = getenv("MAGICPAK_NO_PIN");
	cpu_set_t one;
	int cpu;

	memset(p, 0, sizeof(*p));
	if ((e && *e) || sched_getaffinity(0, sizeof(p->orig), &p->orig) < 0 ||
	    CPU_COUNT(&p->orig) < 2)
		return;
	/* One of the allowed CPUs chosen by pid: records started together (from one shell,
	 * on one CPU) spread over the CPUs instead of all taking the one they started on. */
	cpu = -1;
	for (int i = 0, k = (int)(getpid() % CPU_COUNT(&p->orig)); i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &p->orig) && k-- == 0) {
			cpu = i;
			break;
		}
	if (cpu < 0)
		return;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) < 0)
		return;
	p->active = true;
	p->last_ns = clock_mono_ns();
	log_debug("tracing on CPU %d", cpu);
}

/* The time task @tid has waited on a run queue (ns; /proc/TID/schedstat, second field), or
 * -1 when it is gone. */
static long long run_delay(pid_t tid)
{
	char path[64], buf[128];
	unsigned long long run, wait;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", &run, &wait) != 2)
		return -1;
	return (long long)wait;
}

static struct cpupin_task *tracked(struct cpupin *p, pid_t tid)
{
	for (size_t i = 0; i < p->ntrack; i++)
		if (p->track[i].tid == tid)
			return &p->track[i];
	return NULL;
}

bool cpupin_check(struct cpupin *p, const pid_t *tids, size_t n)
{
	unsigned long long now = clock_mono_ns(), waited = 0, span = now - p->last_ns;
	struct cpupin_task *fresh;
	size_t nfresh = 0;

	if (!p->active)
		return false;
	fresh = xcalloc(n + 1, sizeof(*fresh));
	for (size_t i = 0; i <= n; i++) {
		pid_t tid = i < n ? tids[i] : getpid();
		long long d = run_delay(tid);
		struct cpupin_task *old;

		if (d < 0)
			continue;
		old = tracked(p, tid);
		if (old && (unsigned long long)d >= old->run_delay)
			waited += (unsigned long long)d - old->run_delay;
		fresh[nfresh].tid = tid;
		fresh[nfresh].run_delay = (unsigned long long)d;
		nfresh++;
	}
	free(p->track);
	p->track = fresh;
	p->ntrack = p->atrack = nfresh;
	p->last_ns = now;
	if (!span || waited * 3 < span)
		return false;
	/* The tree wants more than one CPU: give every task its mask back. New tasks inherit
	 * it from their parents. */
	log_debug("the traced tree waited %llu of %llu us for its CPU: unpinned", waited / 1000,
		  span / 1000);
	sched_setaffinity(0, sizeof(p->orig), &p->orig);
	for (size_t i = 0; i < n; i++)
		sched_setaffinity(tids[i], sizeof(p->orig), &p->orig);
	p->active = false;
	return true;
}

void cpupin_free(struct cpupin *p)
{
	free(p->track);
	p->track = NULL;
	p->ntrack = p->atrack = 0;
}

bool cpupin_batch(void)
{
	struct sched_param sp = { 0 };

	return sched_getscheduler(0) == SCHED_OTHER && sched_setscheduler(0, SCHED_BATCH, &sp) == 0;
}

void cpupin_unbatch(bool switched)
{
	struct sched_param sp = { 0 };

	if (switched)
		sched_setscheduler(0, SCHED_OTHER, &sp);
}
