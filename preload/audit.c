/* SPDX-License-Identifier: MIT */
/* preload/audit.c - the LD_AUDIT module (rtld-audit(7)): reports what the loader itself opens,
 * which no wrapper sees. Built twice: into libmagicpak-preload.so (LD_AUDIT pointing at the
 * preload library keeps working), and with MAGICPAK_FREESTANDING into libmagicpak-audit.so,
 * which has no libc: the loader then loads no second libc into the audit namespace of every
 * process (200 short `cat`s: 205 ms with the preload library as LD_AUDIT, 176 ms with a
 * module without libc, 165 ms without either). Only raw syscalls and preload/minilibc.c here. */
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "emit.h"
#include "event.h"

#ifdef MAGICPAK_FREESTANDING
/* No libc, so no errno to keep: nothing in this build sets one (raw syscalls only). */
#define errno_save() 0
#define errno_restore(e) ((void)(e))
#else
#include <errno.h>
#define errno_save() errno
#define errno_restore(e) (errno = (e))
#endif

static int audit_active;  /* this copy is the LD_AUDIT module, and recording is on */
static int audit_started; /* the program's own objects are loaded: later ones are dlopen()s */

static int audit_inited;  /* audit_init() ran */

/* ld.so's __libc_stack_end (a public symbol since glibc 2.2.5): the initial stack, where the
 * kernel left argc, argv, NULL, then the exec-time environment. Looked up in the objects of
 * the link-map chain @any is on (ld.so follows the program in it), by their GNU hash tables:
 * a module that named ld.so as DT_NEEDED to see the symbol had the loader look ld.so up again
 * for the audit namespace in every process (the cache and ld.so opened, mapped and closed:
 * about 10 system calls). NULL when @any is NULL or none defines it. */
static long *stack_start(const struct link_map *any)
{
	while (any && any->l_prev)
		any = any->l_prev;
	for (const struct link_map *l = any; l; l = l->l_next) {
		long **p = emit_elf_symbol(l->l_addr, l->l_ld, "__libc_stack_end", NULL);

		if (p)
			return *p;
	}
	return NULL;
}

/* emit_init() with the environment read from /proc/self/environ: when ld.so's symbol is not found.
 * Its buffers are on the stack of this rare path (in .bss they put the module's few written
 * variables on two pages, a page fault more in every process). */
static __attribute__((noinline)) void init_from_proc(void)
{
	char env[65536];
	char *vec[1024];
	size_t k = 0;
	/* raw syscalls: in the preload library open() and read() are its own wrappers */
	long n = emit_read_file("/proc/self/environ", env, sizeof(env) - 1);

	if (n < 0)
		return;
	env[n] = '\0';
	for (size_t i = 0; i < (size_t)n && k < sizeof(vec) / sizeof(vec[0]) - 1; i += strlen(env + i) + 1)
		vec[k++] = env + i;
	vec[k] = NULL;
	emit_init(vec);
}

/* The audit namespace may not have a usable environ yet: read the exec-time environment, from
 * the initial stack (reading /proc/self/environ cost every process an open, a read and a
 * close: 200 short `cat`s took 2-3 ms longer). */
static void audit_init(const struct link_map *any)
{
	long *sp = stack_start(any);

	audit_inited = 1;

	if (sp && sp[0] >= 0 && sp[0] < (1L << 24)) {
		char **envp = (char **)(sp + 1 + sp[0] + 1);

#ifdef MAGICPAK_FREESTANDING
		{
			char **e = envp;

			/* the auxiliary vector follows the environment */
			while (*e)
				e++;
			for (const ElfW(auxv_t) *a = (const void *)(e + 1); a->a_type != AT_NULL; a++)
				if (a->a_type == AT_SYSINFO_EHDR)
					emit_vdso((const void *)a->a_un.a_val);
		}
#endif
		emit_init(envp);
	} else {
		init_from_proc();
	}
	audit_active = emit_enabled();
	if (audit_active) {
		/* The loader's own check, before any audit hook can see it (elf/rtld.c). */
		emit_access(MP_OP_ACCESS, AT_FDCWD, "/etc/ld.so.preload", R_OK,
			    emit_stat_err("/etc/ld.so.preload"));
	}
}

/* The module starts at the loader's first la_objopen(), the program's (its link map is the
 * chain's head, ld.so next): la_version() comes before any link map. A hook called first
 * without one (none seen) reads /proc/self/environ. */
EXPORT unsigned int la_version(unsigned int version)
{
	return version < LAV_CURRENT ? version : LAV_CURRENT;
}

/* Each place the loader is about to try for a library (rtld-audit(7)): record it with what
 * an open would give. The name the caller asked for (LA_SER_ORIG) is not a file name yet. */
EXPORT char *la_objsearch(const char *name, uintptr_t *cookie, unsigned int flag)
{
	static int cache_seen;
	int e, r;

	e = errno_save();
	if (!audit_inited)
		audit_init(NULL);
	errno_restore(e);
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
	errno_restore(e);
	return (char *)name;
}

EXPORT unsigned int la_objopen(struct link_map *map, Lmid_t lmid, uintptr_t *cookie)
{
	int e = errno_save();

	if (!audit_inited)
		audit_init(map);
	/* The program itself has an empty l_name; the loader is reported like any object. */
	/* the vDSO's l_name is "linux-vdso.so.1": no file */
	if (audit_active && lmid == LM_ID_BASE && map->l_name && map->l_name[0] == '/') {
		emit_access(MP_OP_OPEN, AT_FDCWD, map->l_name, O_RDONLY | O_CLOEXEC, 0);
		if (audit_started)
			emit_access(MP_OP_DLOPEN, AT_FDCWD, map->l_name, 0, 0);
	}
	errno_restore(e);
	/* 0: no la_symbind calls, so binding stays as fast as without audit */
	return 0;
}

EXPORT void la_preinit(uintptr_t *cookie)
{
	audit_started = 1;
}
