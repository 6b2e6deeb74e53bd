/* SPDX-License-Identifier: MIT */
/* preload/preload.c - the library's start: the constructor (environment, socket, this
 * process's exec record) and the exit record. Its LD_AUDIT half is audit.c. The library is
 * loaded twice when it is both LD_PRELOAD and LD_AUDIT: once in the program's namespace
 * (wrappers), once in the audit namespace (la_* functions), each copy with its own static
 * state; `record` uses libmagicpak-audit.so (audit.c alone, no libc) as LD_AUDIT instead. The
 * copy in the program's namespace records through the audit copy's socket, ring and counters
 * when it finds them (emit.c: struct emit_shared). */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "emit.h"
#include "event.h"
#include "preload.h"

int preload_active;        /* this copy records through its wrappers */
char preload_self[512];    /* this library's path, to see whether an exec keeps it */

extern ElfW(Dyn) _DYNAMIC[];

/* This copy's link map if it is loaded in the program's namespace (not the audit one, nor a
 * dlmopen() namespace), else NULL: found by its dynamic section among the objects of the base
 * namespace, which the loader lists for debuggers (_r_debug). Its name is kept in
 * preload_self. dladdr1() and dlinfo() told the same in 20 us a process, most of it
 * _dl_addr() looking for the symbol nearest to an address. */
static const struct link_map *base_self(void)
{
	for (const struct link_map *l = _r_debug.r_map; l; l = l->l_next)
		if (l->l_ld == _DYNAMIC) {
			size_t n = l->l_name ? strlen(l->l_name) : 0;

			if (n < sizeof(preload_self))
				memcpy(preload_self, l->l_name, n + 1);
			return l;
		}
	return NULL;
}

static void on_exit_status(int status, void *arg)
{
	int e = errno;

	emit_exit(status);
	errno = e;
}

/* glibc passes argc, argv and envp to ELF constructors. */
__attribute__((constructor)) static void preload_init(int argc, char **argv, char **envp)
{
	const struct link_map *self;
	const char *execfn;
	int e = errno; /* the program must find errno as the kernel left it (Bear #469) */

	emit_busy++;
	self = base_self();
	if (!self)
		goto out;
	emit_init(envp); /* first: MAGICPAK_DEBUG lets preload_resolve() check its lookups */
	preload_resolve(self);
	if (!emit_enabled())
		goto out;
	preload_active = 1;
	/* AT_EXECFN: the path execve() was given, as the tracer records it */
	execfn = (const char *)getauxval(AT_EXECFN);
	emit_exec(execfn && *execfn ? execfn : (argv && argv[0] ? argv[0] : ""), argv);
	on_exit(on_exit_status, NULL);
out:
	emit_busy--;
	errno = e;
}
