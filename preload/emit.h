/* SPDX-License-Identifier: MIT */
/* preload/emit.h - encode one record and send it to the collector before the wrapper returns.
 * Everything here is async-signal-safe: stack buffers, raw syscalls, no locks, no malloc. */
#ifndef PRELOAD_EMIT_H
#define PRELOAD_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <link.h>

#define EXPORT __attribute__((visibility("default")))
#define HIDDEN __attribute__((visibility("hidden")))

/* Per-thread guard: set while the library itself runs, so that wrappers called from inside
 * (dlsym, our own opens) pass straight through. initial-exec: no __tls_get_addr, no malloc. */
extern __thread int emit_busy __attribute__((tls_model("initial-exec")));

/* Read MAGICPAK_SOCKET (and MAGICPAK_DEBUG) from @envp, map the collector's ring. Called by
 * the audit module, then by the constructor, which takes the audit module's state instead
 * of mapping the ring again when the module records to the same socket. */
void emit_init(char **envp);
#ifdef MAGICPAK_FREESTANDING
/* Take the time through the vDSO whose ELF image starts at @base (AT_SYSINFO_EHDR), not
 * through a system call: the audit module, which has no libc to find it. */
void emit_vdso(const void *base);
#endif
/* Is recording on (MAGICPAK_SOCKET was set and the socket could be made)? */
bool emit_enabled(void);

/* Resolve @path (relative to @dirfd, AT_FDCWD: the cwd) into an absolute path with "." and
 * ".." folded lexically, into @out (@size bytes). An empty @path or NULL means @dirfd itself.
 * Returns the length, EMIT_SHORT when it does not fit in @size bytes, or -1 when it cannot
 * be resolved (unknown fd, no cwd). Callers on the recording path give PATH_SMALL bytes
 * first and PATH_MAX only when that was short: each stack page the program never used is a
 * page fault (emit.c). */
#define EMIT_SHORT (-2)
#define PATH_SMALL 512
int emit_resolve(int dirfd, const char *path, char *out, size_t size);

/* Record one access of @path (relative to @dirfd); @err is 0 or the positive errno. */
void emit_access(int op, int dirfd, const char *path, uint32_t flags, int err);
/* The file open as @fd (fchdir, fdopendir). */
void emit_access_fd(int op, int fd, uint32_t flags, int err);
/* This process executed @exe (as given to execve, may be relative) with @argv. */
void emit_exec(const char *exe, char *const argv[]);
/* This process is about to exit with @status. */
void emit_exit(int status);
/* The exec of @path will run unseen for reason @why (enum mp_gap). */
void emit_gap(const char *path, uint32_t why);

/* Would a program this process executes now reach the collector: 0; MP_GAP_USER when, as
 * the user it is now (exec drops its capabilities), the modes on the way to the socket keep it
 * out; MP_GAP_AWAY when the socket or @lib (this library's path; "" to skip) is not there by
 * its path from where this process is (a chroot, another mount namespace, a removed socket
 * directory). 0 also when recording is off. Raw system calls. */
uint32_t emit_reach_gap(const char *lib);
/* Is what @key names (a hash) to be reported by this process: 1 the first time in the session
 * (the key is now taken in the ring's once[] slots, include/ring.h), or without a ring; 0
 * when a process of the session reported it already. */
int emit_once(uint64_t key);
/* 0 if @path can be stat()ed, else the positive errno (raw syscall). */
int emit_stat_err(const char *path);
/* Read up to @size bytes of the file @path into @buf (raw syscalls); the count or -1. */
long emit_read_file(const char *path, char *buf, size_t size);
/* What exec of @path would run unseen, read from the file: 0 or an enum mp_gap. Follows one
 * "#!" line to its interpreter. */
uint32_t emit_exec_gap(const char *path);

/* Symbol @name of a loaded ELF object (@bias its load address, @dyn its dynamic section), as
 * dlsym() would take it from that object alone, by its GNU hash table: a definition, of no
 * version or of its default one (a hidden compat version is not taken); NULL if none. *@type
 * (if @type is not NULL): the symbol's STT_ type, or EMIT_SYM_NO_TABLE when the object has no
 * GNU hash table (dlsym() would still search it). For what dlsym() cannot reach (the audit
 * module's namespace; the vDSO in the module, which has no libc), and the wrappers' first
 * lookups (preload.c). */
#define EMIT_SYM_NO_TABLE 0x100U
void *emit_elf_symbol(ElfW(Addr) bias, const ElfW(Dyn) *dyn, const char *name, unsigned *type);

/* A raw system call with libc's convention (-1 and errno), never through syscall(3). */
long emit_syscall(long n, long a, long b, long c, long d, long e, long f);
#define RAW(n, a, b, c, d) emit_syscall((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define RAW5(n, a, b, c, d, e) \
	emit_syscall((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* One write(2) of a debug line to stderr, only when MAGICPAK_DEBUG is set. */
void emit_debug(const char *a, const char *b);

#endif /* PRELOAD_EMIT_H */
