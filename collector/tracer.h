/* SPDX-License-Identifier: MIT */
/* collector/tracer.h - run a command under ptrace and report every path it touches. */
#ifndef COLLECTOR_TRACER_H
#define COLLECTOR_TRACER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "event.h"

/* One path access, as the tracee meant it. Strings are borrowed for the callback only. */
struct tracer_access {
	pid_t pid;          /* thread group id of the process */
	pid_t tid;          /* the thread */
	enum mp_op op;
	const char *path;   /* absolute, '.' and '..' folded lexically, symlinks not resolved */
	uint32_t flags;     /* see enum mp_op */
	int err;            /* 0 on success, else the positive errno the syscall returned */
	uint64_t time_ns;   /* CLOCK_REALTIME */
};

enum tracer_proc_event { TRACER_PROC_START, TRACER_PROC_EXEC, TRACER_PROC_EXIT };

struct tracer_proc {
	enum tracer_proc_event what;
	pid_t pid;
	pid_t parent;            /* START: the process that forked it (0 for the command) */
	const char *exe;         /* EXEC: the path executed (absolute) */
	const char *const *argv; /* EXEC: NULL-terminated, borrowed */
	const char *cwd;         /* START, EXEC: the process's cwd */
	int status;              /* EXIT: wait status */
	uint64_t time_ns;
};

struct tracer_ops {
	void (*access)(void *ctx, const struct tracer_access *a);
	void (*proc)(void *ctx, const struct tracer_proc *p);
};

struct tracer_opts {
	unsigned timeout_s;  /* 0: none; else the whole tree is killed after this long */
	/* When the command's first process has ended, what it left running (a daemon it
	 * started: gpg's gpg-agent) is killed after linger_s seconds (0: at once); without
	 * linger the tracer waits for the whole tree. */
	bool linger;
	unsigned linger_s;
	bool no_seccomp;     /* stop at every syscall instead of filtering with seccomp-bpf */
	int stdin_fd;        /* -1: inherit magicpak's stdin; else dup'ed onto the command's 0 */
};

struct tracer_result {
	int exit_code;         /* as a shell reports it: the exit status, 128+N for signal N,
				* 127 command not found, 126 not executable */
	bool timed_out;
	uint64_t lingered;     /* opts.linger: processes killed after the first one ended */
	bool used_io_uring;    /* io_uring_setup was called: its opens are invisible */
	uint64_t undecoded;    /* stops for syscalls magicpak could not decode */
	uint64_t accesses;     /* access callbacks made */
	uint64_t processes;    /* processes seen */
	uint64_t lost_strings; /* path strings that could not be read from the tracee */
	uint64_t answered;     /* stat/access/readlink answered by the tracer: no exit stop */
	uint64_t raced;        /* paths another thread changed during the call (TRC-11): an
				* open stored with the file it reached, others with MP_FLAG_RACED */
	bool used_seccomp;     /* the seccomp-bpf filter was in place (else every syscall stopped) */
};

/* Run @argv (argv[0] searched on PATH) with its own stdin/stdout/stderr, follow every
 * process and thread it starts, and call @ops for each access and process event. Signals
 * sent to magicpak (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2) are passed to the
 * command. Returns 0 when the command ran (whatever its exit), or -errno when tracing
 * could not start (logged). */
int tracer_run(char *const argv[], const struct tracer_opts *opts, const struct tracer_ops *ops,
	       void *ctx, struct tracer_result *res);

#endif /* COLLECTOR_TRACER_H */
