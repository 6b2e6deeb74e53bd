/* SPDX-License-Identifier: MIT */
/* collector/progress.h - one live status line on a terminal for long work (stderr only). */
#ifndef COLLECTOR_PROGRESS_H
#define COLLECTOR_PROGRESS_H

#include <stdint.h>

/* Counters the line shows; a module bumps its own, progress_tick() redraws. */
struct progress {
	const char *what;    /* "recording", "bundling", "writing the image" */
	uint64_t processes;
	uint64_t files;
	uint64_t bytes;
};

extern struct progress progress;

/* Start showing @what: only when stderr is a terminal and verbosity is not -q
 * (log_level below LOG_WARN). */
void progress_start(const char *what);
/* The same for work beside a command that writes to the same terminal (record): the line
 * keeps the bottom row to itself, the command's output scrolling above it. */
void progress_start_beside(const char *what);
/* Redraw if at least 100 ms passed since the last redraw. Cheap: call it often. */
void progress_tick(void);
/* Erase the line. */
void progress_stop(void);
/* Before another line is written to stderr: erase a line drawn in place (the next tick draws
 * it again below). Nothing to do when none is drawn, or on record's own row. */
void progress_erase(void);

#endif /* COLLECTOR_PROGRESS_H */
