/* SPDX-License-Identifier: MIT */
/* tests/bench/wrapper.c - the "bare wrapper" of `make bench`'s tracing table: runs COMMAND as
 * its child and exits with its status, recording nothing.
 *
 * Why: every magicpak source (ptrace, preload, bpf) runs the command as a child of the
 * magicpak process, so a run costs at least one more exec, fork and wait than the command
 * alone; on a VM where an exec takes milliseconds that is a visible share of W1. This program
 * spawns the way record_preload() does (a static binary; vfork on the CPU it runs on, the
 * mask given back before the exec), so its column is the floor under magicpak's columns,
 * measured in the same run.
 *
 * Usage: wrapper COMMAND [ARG...] */
#define _GNU_SOURCE
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	cpu_set_t mask, here;
	bool pinned = false;
	int cpu, status;
	pid_t pid;

	if (argc < 2) {
		fputs("usage: wrapper COMMAND [ARG...]\n", stderr);
		return 2;
	}
	if ((cpu = sched_getcpu()) >= 0 && sched_getaffinity(0, sizeof(mask), &mask) == 0) {
		CPU_ZERO(&here);
		CPU_SET(cpu, &here);
		pinned = sched_setaffinity(0, sizeof(here), &here) == 0;
	}
	pid = vfork();
	if (pid == 0) {
		if (pinned)
			sched_setaffinity(0, sizeof(mask), &mask);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	if (pinned)
		sched_setaffinity(0, sizeof(mask), &mask);
	if (pid < 0) {
		perror("vfork");
		return 126;
	}
	while (waitpid(pid, &status, 0) < 0)
		;
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
