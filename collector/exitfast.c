/* SPDX-License-Identifier: MIT */
/* collector/exitfast.c - see exitfast.h. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "exitfast.h"
#include "rawsys.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

#ifndef SANITIZED
/* The helper. It closes every descriptor but the read end of a pipe whose write end only
 * magicpak holds (a pipe the caller reads to its end, such as the output of `$(magicpak ...)`,
 * must not wait for it), and waits for that end to close: in magicpak's exit, after its
 * address space was let go (the kernel releases memory before files). Then it exits, dropping
 * the last reference. Without close_range (Linux 5.9; ENOSYS, or a seccomp EPERM) it exits at
 * once: the memory goes with whichever of the two ends last, as without a helper. */
static int helper(void *arg)
{
	long fd = (long)(intptr_t)arg;
	char c;

	if ((fd > 0 && rawsys(SYS_close_range, 0, fd - 1, 0, 0, 0, 0) < 0) ||
	    rawsys(SYS_close_range, fd + 1, (long)~0U, 0, 0, 0, 0) < 0)
		rawsys(SYS_exit, 0, 0, 0, 0, 0, 0);
	while (rawsys(SYS_read, fd, (long)&c, 1, 0, 0, 0) == -EINTR)
		;
	rawsys(SYS_exit, 0, 0, 0, 0, 0, 0);
	return 0;
}

/* Does PID 1 (of our pid namespace), which will reap the orphaned helper, reap at all? One
 * that catches or ignores SIGCHLD does (an init, a shell, tini). One that does neither (`tail
 * -f /dev/null` or `sleep infinity` keeping a container up) would keep a zombie of each
 * `record` till the container ends: no helper then. */
static int init_reaps(void)
{
	char buf[4096];
	ssize_t n;
	int fd = open("/proc/1/status", O_RDONLY | O_CLOEXEC), yes = 0;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (const char *k = "SigIgn:\0SigCgt:\0"; *k; k += strlen(k) + 1) {
		const char *p = strstr(buf, k);

		if (p && (strtoull(p + strlen(k), NULL, 16) >> (SIGCHLD - 1)) & 1)
			yes = 1;
	}
	return yes;
}

static bool under_valgrind(void)
{
	const char *pre = getenv("LD_PRELOAD");

	return pre && strstr(pre, "/vgpreload_");
}
#endif

bool exit_checks_leaks(void)
{
#ifndef SANITIZED
	return under_valgrind();
#else
	return true;
#endif
}

noreturn void exit_fast(int code)
{
#ifndef SANITIZED
	static char stack[16384] __attribute__((aligned(64)));
	int p[2];

	fflush(NULL);
	/* valgrind runs no process that shares its memory without being a thread (t950) */
	if (under_valgrind() || !init_reaps())
		exit(code);
	/* no exit signal: nobody is told when the helper ends, till it is orphaned */
	if (pipe(p) == 0 &&
	    clone(helper, stack + sizeof(stack), CLONE_VM, (void *)(intptr_t)p[0]) < 0)
		exit(code);
	_exit(code);
#else
	exit(code); /* LeakSanitizer checks at exit */
#endif
}
