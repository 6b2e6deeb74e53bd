/* SPDX-License-Identifier: MIT */
/* collector/exitfast.c - see exitfast.h. */
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "exitfast.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

#ifndef SANITIZED
/* The helper: system calls only (it runs on magicpak's memory with no thread of its own in
 * libc). It waits for the end of the pipe that only magicpak holds to close, which happens in
 * magicpak's exit after its address space was let go (the kernel releases memory before
 * files), then exits, dropping the last reference. Its parent gone, init reaps it. */
static int helper(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char c;

	if (fd > 0)
		syscall(SYS_close_range, 0U, (unsigned)fd - 1, 0U);
	syscall(SYS_close_range, (unsigned)fd + 1, ~0U, 0U);
	while (syscall(SYS_read, fd, &c, 1UL) < 0)
		;
	syscall(SYS_exit, 0);
	return 0;
}
#endif

noreturn void exit_fast(int code)
{
#ifndef SANITIZED
	static char stack[16384] __attribute__((aligned(64)));
	const char *pre = getenv("LD_PRELOAD");
	int p[2];

	fflush(NULL);
	/* valgrind runs no process that shares its memory without being a thread (t950) */
	if (pre && strstr(pre, "/vgpreload_"))
		exit(code);
	/* The descriptors go first, in magicpak itself: a pipe the caller reads to its end (the
	 * output of `$(magicpak ...)`) must not stay open in the helper even for a moment. So
	 * without close_range (Linux 5.9; ENOSYS, or a seccomp EPERM) there is no helper. */
	if (pipe(p) == 0) {
		unsigned lo = (unsigned)(p[0] < p[1] ? p[0] : p[1]),
			 hi = (unsigned)(p[0] < p[1] ? p[1] : p[0]);

		if ((lo > 0 && syscall(SYS_close_range, 0U, lo - 1, 0U) < 0) ||
		    (hi > lo + 1 && syscall(SYS_close_range, lo + 1, hi - 1, 0U) < 0) ||
		    syscall(SYS_close_range, hi + 1, ~0U, 0U) < 0)
			_exit(code);
		/* no exit signal: nobody is told when the helper ends */
		if (clone(helper, stack + sizeof(stack), CLONE_VM, (void *)(intptr_t)p[0]) < 0)
			_exit(code);
	}
#else
	exit(code);
#endif
	_exit(code);
}
