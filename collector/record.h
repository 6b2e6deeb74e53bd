/* SPDX-License-Identifier: MIT */
/* collector/record.h - run a command under the tracer and keep what it touched in the store:
 * the one code path behind `magicpak record` and the one-shot --dynamic. */
#ifndef COLLECTOR_RECORD_H
#define COLLECTOR_RECORD_H

#include <stdbool.h>
#include <stdint.h>

enum record_via { RECORD_VIA_PTRACE, RECORD_VIA_PRELOAD, RECORD_VIA_BPF };

/* The eBPF probe next to ptrace or preload (--bpf): off, if available, or required. */
enum record_bpf { RECORD_BPF_OFF, RECORD_BPF_TRY, RECORD_BPF_REQUIRED };

struct record_opts {
	const char *db;          /* database file */
	const char *label;       /* NULL: none */
	char *const *argv;       /* the command */
	unsigned timeout_s;      /* 0: none */
	bool linger;             /* kill what the first process left running, linger_s after it */
	unsigned linger_s;       /* ended (ptrace only; see tracer_opts) */
	bool hash;               /* sha256 of each file read or executed */
	bool no_seccomp;         /* stop at every syscall */
	int stdin_fd;            /* -1: inherit */
	enum record_via via;     /* how accesses are seen (default ptrace) */
	enum record_bpf bpf;     /* the probe too (--bpf), each event stored with its source */
	bool cross_check;        /* ptrace + preload + the probe at once, then compare them */
	bool bpf_per_process;    /* the probe sends an access once a process, not a session */
	bool leave_memory;       /* the caller exits next (exit_fast): memory is not freed */
};

struct record_result {
	int64_t session;
	int exit_code;           /* the command's, as a shell shows it */
	bool complete;
	char why[128];           /* reason when incomplete */
	uint64_t accesses;
	uint64_t files;          /* distinct paths */
	uint64_t processes;
};

/* Record one session. Returns 0 when the command ran (see res->exit_code), -errno when the
 * database or the tracer could not be set up (logged). */
int record_run(const struct record_opts *o, struct record_result *res);

/* The preload library magicpak uses: $MAGICPAK_PRELOAD_LIB, else libmagicpak-preload.so
 * next to the running executable, else ../lib/magicpak/ relative to it. Owned by the
 * caller; NULL (logged) when there is none. */
char *record_preload_lib(void);
/* The LD_AUDIT module to go with @preload_lib: libmagicpak-audit.so next to it (the
 * module alone, without libc), else @preload_lib itself. Owned by the caller. */
char *record_audit_lib(const char *preload_lib);

/* Default database: $MAGICPAK_DB, else "magicpak.db" in the current directory. */
const char *record_default_db(void);

#endif /* COLLECTOR_RECORD_H */
