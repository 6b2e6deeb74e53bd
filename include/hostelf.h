/* SPDX-License-Identifier: MIT */
/* include/hostelf.h - the ELF class and machine of the host's programs, for the preload library
 * and the collector alike: an exec of a program of another ABI (i386 on x86-64) runs where
 * the host's library cannot be loaded (MP_GAP_ABI); and whether a program has an interpreter
 * (a static one runs unseen by the library: MP_GAP_STATIC). Needs <elf.h>, <stddef.h>,
 * <stdint.h> and <string.h> (the library's memcpy() is its own, libc-free). */
#ifndef INCLUDE_HOSTELF_H
#define INCLUDE_HOSTELF_H

#if defined(__x86_64__)
#define HOST_CLASS ELFCLASS64
#define HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_CLASS ELFCLASS64
#define HOST_MACHINE EM_AARCH64
#else
#error "unsupported host architecture"
#endif

/* Does the ELF file whose first @n bytes are @buf have a PT_INTERP program header: 1 yes, 0 no,
 * -1 when @buf is no ELF header of either class or its table is one no file has (the kernel's
 * own limit, load_elf_phdrs()). Headers past @buf are read with @more (the type at file offset
 * @off into *@type: 0, or -1 when it cannot), or, with no @more, make it -1. */
static inline int hostelf_has_interp(const unsigned char *buf, size_t n,
				     int (*more)(void *ctx, size_t off, uint32_t *type), void *ctx)
{
	size_t off, num, ent, min;

	if (n < sizeof(Elf32_Ehdr) || memcmp(buf, ELFMAG, SELFMAG))
		return -1;
	if (buf[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;

		if (n < sizeof(eh))
			return -1;
		memcpy(&eh, buf, sizeof(eh));
		off = eh.e_phoff, num = eh.e_phnum, ent = eh.e_phentsize;
		min = sizeof(Elf64_Phdr);
	} else if (buf[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr eh;

		memcpy(&eh, buf, sizeof(eh));
		off = eh.e_phoff, num = eh.e_phnum, ent = eh.e_phentsize;
		min = sizeof(Elf32_Phdr);
	} else {
		return -1;
	}
	if (ent < min || num * ent > 65536 || off > ((size_t)1 << 40))
		return -1;
	/* p_type is the first 32-bit word of a program header in both classes */
	for (size_t i = 0; i < num; i++) {
		size_t at = off + i * ent;
		uint32_t type;

		if (at < n && n - at >= sizeof(type))
			memcpy(&type, buf + at, sizeof(type));
		else if (!more || more(ctx, at, &type) < 0)
			return -1;
		if (type == PT_INTERP)
			return 1;
	}
	return 0;
}

#endif /* INCLUDE_HOSTELF_H */
