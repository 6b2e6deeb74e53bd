/* SPDX-License-Identifier: MIT */
/* collector/script.h - parse a "#!" line the way the kernel's binfmt_script does. */
#ifndef COLLECTOR_SCRIPT_H
#define COLLECTOR_SCRIPT_H

#include <stddef.h>

/* The kernel reads at most this many bytes of a "#!" line (BINPRM_BUF_SIZE since Linux 5.1). */
#define SCRIPT_LINE_MAX 256
/* An exec may go through this many "#!" scripts, each naming the next, before execve()
 * fails with ELOOP: exec_binprm() in fs/exec.c (Linux >= 5.8) allows interpreter depth
 * 0..5, so a chain of 5 scripts ending at an ELF file runs and a chain of 6 does not. */
#define SCRIPT_MAX_NESTING 5

/* If @buf (the first @len bytes of a file) starts with "#!", set *@interp to the
 * interpreter path and *@arg to the optional single argument (NULL if none), both owned
 * by the caller, and return 1. Return 0 if it is not a script, -ENOEXEC if the "#!" line
 * names no interpreter, -ENAMETOOLONG if the interpreter name runs past the bytes the
 * kernel reads (it refuses such a file with ENOEXEC). The line is cut at
 * SCRIPT_LINE_MAX - 1 bytes like the kernel does when it has no newline there. */
int script_parse(const char *buf, size_t len, char **interp, char **arg);

#endif /* COLLECTOR_SCRIPT_H */
