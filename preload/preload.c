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

/* Is this copy loaded in the program's namespace (not the audit one)? */
static int in_base_namespace(void)
{
	struct link_map *lm = NULL;
	Dl_info info;
	Lmid_t lmid = LM_ID_BASE;

	if (!dladdr1((void *)in_base_namespace, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
		return 1;
	if (info.dli_fname) {
		size_t n = strlen(info.dli_fname);

		if (n < sizeof(preload_self))
			memcpy(preload_self, info.dli_fname, n + 1);
	}
	if (dlinfo(lm, RTLD_DI_LMID, &lmid) != 0)
		return 1;
	return lmid == LM_ID_BASE;
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
	const char *execfn;
	int e = errno; /* the program must find errno as the kernel left it (Bear #469) */

	emit_busy++;
	if (!in_base_namespace())
		goto out;
	preload_resolve();
	emit_init(envp);
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
