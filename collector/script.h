/* SPDX-License-Identifier: MIT */
/* collector/script.h - parse a "#!" line the way the kernel's binfmt_script does. */
#ifndef COLLECTOR_SCRIPT_H
#define COLLECTOR_SCRIPT_H

#include <stddef.h>

/* The kernel reads at most this many bytes of a "#!" line (BINPRM_BUF_SIZE since Linux 5.1). */
#define SCRIPT_LINE_MAX 256
/* binfmt_script may nest this many times before execve() fails with ELOOP (Linux's
 * bprm->interp_recursion limit, BINPRM_MAX_RECURSION = 4, checked before each level). */
#define SCRIPT_MAX_NESTING 4

/* If @buf (the first @len bytes of a file) starts with "#!", set *@interp to the
 * interpreter path and *@arg to the optional single argument (NULL if none), both owned
 * by the caller, and return 1. Return 0 if it is not a script, -ENOEXEC if the "#!" line
 * names no interpreter. The line is cut at SCRIPT_LINE_MAX - 1 bytes like the kernel
 * does when it has no newline there. */
int script_parse(const char *buf, size_t len, char **interp, char **arg);

#endif /* COLLECTOR_SCRIPT_H */
