/* SPDX-License-Identifier: MIT */
/* include/interp.h - the dynamic loader this process runs under, as its executable's PT_INTERP
 * names it: the collector and the preload library both ask whether an exec is of the loader
 * itself (`ld.so --argv0 NAME PROG`, `ld.so --library-path DIR PROG`). That file has no
 * PT_INTERP, so it looks like a static program, yet it loads PROG honouring LD_PRELOAD and
 * LD_AUDIT as an exec of PROG would: not a gap. No lock and no system call (auxv and memory
 * already mapped): safe in a signal handler or a vfork child. */
#ifndef INCLUDE_INTERP_H
#define INCLUDE_INTERP_H

#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <sys/auxv.h>

/* The path in this process's PT_INTERP, or NULL (a static program, no program headers). */
static inline const char *interp_own(void)
{
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
	size_t n = (size_t)getauxval(AT_PHNUM);
	const ElfW(Phdr) *self = NULL, *interp = NULL;

	if (!ph || !n)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (ph[i].p_type == PT_PHDR)
			self = &ph[i];
		else if (ph[i].p_type == PT_INTERP)
			interp = &ph[i];
	}
	/* PT_PHDR gives the load bias (the linker emits it with every PT_INTERP) */
	if (!self || !interp)
		return NULL;
	return (const char *)((ElfW(Addr))ph - self->p_vaddr + interp->p_vaddr);
}

/* The system's loader, which a static program (a static magicpak: Makefile, STATIC_LIBC)
 * has not: the Makefile passes /bin/sh's PT_INTERP. */
#ifndef SYSTEM_RTLD
#define SYSTEM_RTLD "/lib64/ld-linux-x86-64.so.2"
#endif

/* The loader the programs here run under: this process's, or else the system's. */
static inline const char *interp_system(void)
{
	const char *ld = interp_own();

	return ld ? ld : SYSTEM_RTLD;
}

#endif /* INCLUDE_INTERP_H */
