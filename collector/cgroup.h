/* SPDX-License-Identifier: MIT */
/* collector/cgroup.h - a throwaway cgroup that holds the test jail under a pids and a memory
 * limit: cgroup v2 at /sys/fs/cgroup, or the v1 pids and memory hierarchies. */
#ifndef COLLECTOR_CGROUP_H
#define COLLECTOR_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "strbuf.h"

/* A limit that is not set. */
#define CGROUP_NO_LIMIT UINT64_MAX

struct cgroup_jail {
	int version;      /* 2 or 1; 0: none created */
	char *dir[2];     /* v2: dir[0]; v1: dir[0] in the pids, dir[1] in the memory hierarchy
			   * (NULL where that limit is not set) */
	int procs_fd[2];  /* their cgroup.procs, open for writing, or -1 */
	uint64_t pids_max, memory_max;
	unsigned seq;     /* N in the name */
};

/* Limits hit while the jail ran, read before the cgroup is removed. */
struct cgroup_events {
	bool pids_hit;    /* a fork or clone failed at pids.max */
	bool oom_killed;  /* the OOM killer killed a member at memory.max */
};

void cgroup_jail_init(struct cgroup_jail *cg);

/* Create a fresh cgroup named magicpak-test-PID-N with @pids_max and @memory_max
 * (CGROUP_NO_LIMIT: not limited; memory without swap), first removing what a killed
 * magicpak left behind. Needs root. 0 on success; a negative errno when no cgroup can be
 * used here, with the reason in @why (a phrase) and nothing left behind. */
int cgroup_jail_create(struct cgroup_jail *cg, uint64_t pids_max, uint64_t memory_max,
		       struct strbuf *why);

/* Move process @pid (in the caller's pid namespace) into the cgroup. Only write(2) on fds
 * opened by cgroup_jail_create(), so a forked child may call it. 0 or a negative errno. */
int cgroup_jail_enter(const struct cgroup_jail *cg, pid_t pid);

/* Kill whatever is still in the cgroup, fill @ev (NULL accepted), remove the cgroup and
 * release @cg. Does nothing when none was created. */
void cgroup_jail_release(struct cgroup_jail *cg, struct cgroup_events *ev);

#endif /* COLLECTOR_CGROUP_H */
