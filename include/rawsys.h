/* SPDX-License-Identifier: MIT */
/* include/rawsys.h - a system call without libc: for code that runs where libc's syscall()
 * must not (the preload library wraps it; the exit helper of collector/exitfast.c runs on
 * magicpak's memory with no libc thread of its own). Returns -errno on failure. */
#ifndef MAGICPAK_RAWSYS_H
#define MAGICPAK_RAWSYS_H

static inline long rawsys(long n, long a, long b, long c, long d, long e, long f)
{
#if defined(__x86_64__)
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;

	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	return x0;
#else
#error "include/rawsys.h: add a raw system call for this architecture"
#endif
}

#endif /* MAGICPAK_RAWSYS_H */
