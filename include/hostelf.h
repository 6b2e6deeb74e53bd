/* SPDX-License-Identifier: MIT */
/* include/hostelf.h - the ELF class and machine of the host's programs, for the preload library
 * and the collector alike: an exec of a program of another ABI (i386 on x86-64) runs where
 * the host's library cannot be loaded (MP_GAP_ABI). Needs <elf.h>. */
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

#endif /* INCLUDE_HOSTELF_H */
