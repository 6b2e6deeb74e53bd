/* SPDX-License-Identifier: MIT */
/* preload/preload.c - the library's start: the constructor (environment, socket, this
 * process's exec record), the exit record, and the LD_AUDIT half that reports what the
 * loader itself opens (which no wrapper sees). The same file is loaded twice when it is both
 * LD_PRELOAD and LD_AUDIT: once in the program's namespace (wrappers), once in the audit
 * namespace (la_* functions), each copy with its own static state and its own socket. */
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

static int audit_active;   /* this copy is the LD_AUDIT module */
static int audit_started;  /* the program's own objects are loaded: later ones are dlopen()s */

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

/* ---- LD_AUDIT (rtld-audit(7)) ---- */

/* The audit namespace may not have a usable environ yet: read the exec-time environment. */
static void audit_init(void)
{
	static char env[65536];
	static char *vec[1024];
	size_t k = 0;
	long n;

	/* raw syscalls: in this namespace open() and read() are this copy's own wrappers */
	n = emit_read_file("/proc/self/environ", env, sizeof(env) - 1);
	if (n < 0)
		return;
	env[n] = '\0';
	for (size_t i = 0; i < (size_t)n && k < sizeof(vec) / sizeof(vec[0]) - 1; i += strlen(env + i) + 1)
		vec[k++] = env + i;
	vec[k] = NULL;
	emit_init(vec);
	audit_active = emit_enabled();
}

EXPORT unsigned int la_version(unsigned int version)
{
	int e = errno;

	audit_init();
	if (audit_active) {
		/* The loader's own check, before any audit hook can see it (elf/rtld.c). */
		emit_access(MP_OP_ACCESS, AT_FDCWD, "/etc/ld.so.preload", R_OK,
			    emit_stat_err("/etc/ld.so.preload"));
	}
	errno = e;
	return version < LAV_CURRENT ? version : LAV_CURRENT;
}

/* Each place the loader is about to try for a library (rtld-audit(7)): record it with what
 * an open would give. The name the caller asked for (LA_SER_ORIG) is not a file name yet. */
EXPORT char *la_objsearch(const char *name, uintptr_t *cookie, unsigned int flag)
{
	static int cache_seen;
	int e = errno, r;

	if (!audit_active || !name)
		return (char *)name;
	if (flag == LA_SER_ORIG) {
		if (!strchr(name, '/') && !cache_seen) {
			cache_seen = 1;
			emit_access(MP_OP_OPEN, AT_FDCWD, "/etc/ld.so.cache", O_RDONLY | O_CLOEXEC,
				    emit_stat_err("/etc/ld.so.cache"));
		}
	} else if (strchr(name, '/')) {
		r = emit_stat_err(name);
		if (r)
			emit_access(MP_OP_OPEN, AT_FDCWD, name, O_RDONLY | O_CLOEXEC, r);
	}
	errno = e;
	return (char *)name;
}

EXPORT unsigned int la_objopen(struct link_map *map, Lmid_t lmid, uintptr_t *cookie)
{
	int e = errno;

	/* The program itself has an empty l_name; the loader is reported like any object. */
	/* the vDSO's l_name is "linux-vdso.so.1": no file */
	if (audit_active && lmid == LM_ID_BASE && map->l_name && map->l_name[0] == '/') {
		emit_access(MP_OP_OPEN, AT_FDCWD, map->l_name, O_RDONLY | O_CLOEXEC, 0);
		if (audit_started)
			emit_access(MP_OP_DLOPEN, AT_FDCWD, map->l_name, 0, 0);
	}
	errno = e;
	/* 0: no la_symbind calls, so binding stays as fast as without audit */
	return 0;
}

EXPORT void la_preinit(uintptr_t *cookie)
{
	audit_started = 1;
}
