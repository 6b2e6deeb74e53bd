/* SPDX-License-Identifier: MIT */
/* collector/hwcaps.h - the CPU-dependent subdirectories glibc 2.36's ld.so searches, and $PLATFORM. */
#ifndef COLLECTOR_HWCAPS_H
#define COLLECTOR_HWCAPS_H

#include "strbuf.h"

struct hwcaps {
	/* glibc-hwcaps subdirectory names this CPU supports, best first
	 * ("x86-64-v4", "x86-64-v3", "x86-64-v2"); searched as DIR/glibc-hwcaps/NAME. */
	struct strvec levels;
	/* Legacy subdirectories in ld.so's search order, e.g. "tls/haswell/avx512_1/x86_64",
	 * ..., "tls", "haswell/avx512_1/x86_64", ..., "x86_64"; the bare DIR comes after these. */
	struct strvec legacy;
	/* What $PLATFORM expands to ("haswell", "xeon_phi" or "x86_64"). */
	char *platform;
	/* The legacy subdirectories of an i386 program's ld.so on this CPU (abi.h): sse2 (the
	 * CPU has it), platform i686, tls: "tls/i686/sse2", ..., "sse2". */
	struct strvec legacy32;
};

/* Fill @hw for this CPU as glibc 2.36 on x86-64 would (cpuid, with the OS's XSAVE state).
 * MAGICPAK_HWCAPS="v3,v2" (or "" for none) and MAGICPAK_PLATFORM override, for tests and for
 * resolving for another CPU. Always succeeds. */
void hwcaps_detect(struct hwcaps *hw);
void hwcaps_release(struct hwcaps *hw);

#endif /* COLLECTOR_HWCAPS_H */
