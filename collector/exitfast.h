/* SPDX-License-Identifier: MIT */
/* collector/exitfast.h - exit without making the caller wait while the kernel takes magicpak's
 * memory down.
 *
 * Why: a process's exit returns its pages one by one before its parent learns of it (about
 * 0.035 ms per MB touched here: 0.4-0.5 ms at the end of a `record`, where a trivial
 * program's exit takes 0.1 ms), and the shell or Dockerfile step that ran magicpak waits for
 * that. A helper process that shares the address space (CLONE_VM) keeps it alive past
 * magicpak's exit and lets it go once magicpak is gone, off the waiting parent's path. */
#ifndef COLLECTOR_EXITFAST_H
#define COLLECTOR_EXITFAST_H

#include <stdbool.h>
#include <stdnoreturn.h>

/* Flush stdio and _exit(@code), the memory left to the helper. Only once all output is written
 * and the history committed. No helper (a plain exit) where PID 1, which reaps the orphaned
 * helper, shows no sign of reaping (it neither catches nor ignores SIGCHLD), under valgrind,
 * and in the sanitizer builds (LeakSanitizer checks at exit). */
noreturn void exit_fast(int code);

/* Does the exit check for memory never freed (the sanitizer builds, valgrind)? Otherwise a
 * caller of exit_fast() may leave what it would only free to the exit. */
bool exit_checks_leaks(void);

#endif /* COLLECTOR_EXITFAST_H */
