/* SPDX-License-Identifier: MIT */
/* collector/elfobj.h - read what the dynamic loader reads from an ELF file, distrusting every header. */
#ifndef COLLECTOR_ELFOBJ_H
#define COLLECTOR_ELFOBJ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "strbuf.h"

struct abi;

struct elfobj {
	unsigned char ei_class; /* ELFCLASS32 / ELFCLASS64 */
	unsigned char ei_data;  /* ELFDATA2LSB / ELFDATA2MSB */
	unsigned char osabi;
	uint16_t machine;
	uint16_t type;      /* ET_EXEC or ET_DYN */
	/* the identification and header were read (the fields above hold), even when
	 * elfobj_read() then failed on what follows them: ld.so skips a file of another class
	 * or machine before it looks further (collector/deps.c try_file()) */
	bool identified;
	bool dynamic;       /* has PT_DYNAMIC */
	char *interp;       /* PT_INTERP, or NULL */
	char *soname;       /* DT_SONAME, or NULL */
	char *rpath;        /* DT_RPATH, or NULL */
	char *runpath;      /* DT_RUNPATH, or NULL */
	struct strvec needed; /* DT_NEEDED in order */
	uint64_t flags_1;   /* DT_FLAGS_1 (DF_1_NODEFLIB, ...) */
	dev_t dev;
	ino_t ino;
	uint64_t size;      /* file size when read */
};

/* Outcome of checking a candidate library the way ld.so's open_verify() does. */
enum elfobj_fit {
	ELFOBJ_FIT,        /* loadable */
	ELFOBJ_WRONG_ABI,  /* other class or machine: ld.so skips it and searches on */
	ELFOBJ_BAD,        /* ld.so stops with an error ("invalid ELF header", ...) */
};

/* Read only the ELF identification and header of @fd into @o's class, data, osabi, machine
 * and type: what ld.so looks at before deciding to skip a candidate. Same errors as below. */
int elfobj_peek(int fd, struct elfobj *o, struct strbuf *why);
/* Read @fd into @o. A file of an ABI this host does not run (elfobj_runs_here()) is only
 * peeked at, as ld.so only peeks before skipping it. Uses pread() only, so a file
 * truncated meanwhile gives an error, never SIGBUS. On failure returns -ENOEXEC (not an
 * executable or shared object) or -EINVAL (malformed) or -errno, with a one-phrase reason
 * in @why ("not an ELF file", "program headers past the end of the file", ...). */
int elfobj_read(int fd, struct elfobj *o, struct strbuf *why);
/* Free the contents of @o. */
void elfobj_release(struct elfobj *o);

/* Would the ld.so of ABI @a (abi.h; NULL: none) load @o as a library? (class, data, machine,
 * OS ABI) */
enum elfobj_fit elfobj_fits(const struct elfobj *o, const struct abi *a);
/* Does this host run programs of @o's ABI (class and machine: x86-64, and i386 on x86-64),
 * with the byte order and OS ABI their ld.so takes? */
bool elfobj_runs_here(const struct elfobj *o);
/* Human name of @o's machine ("x86-64", "AArch64", "machine 183"). Static storage. */
const char *elfobj_machine_name(uint16_t machine);

#endif /* COLLECTOR_ELFOBJ_H */
