/* SPDX-License-Identifier: MIT */
/* collector/progress.c - a status line redrawn in place with "\r" and erase-line, at most
 * ten times a second, so that following progress costs nothing on the hot paths. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "progress.h"

struct progress progress;

static bool on;
static uint64_t last_ns;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void progress_start(const char *what)
{
	progress.what = what;
	progress.processes = progress.files = progress.bytes = 0;
	on = isatty(STDERR_FILENO) && log_level >= LOG_WARN;
	last_ns = mono_ns();
}

static void draw(void)
{
	char line[160];
	int n = snprintf(line, sizeof(line), "\r\033[Kmagicpak: %s:", progress.what);

	if (progress.processes)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %llu processes,",
			      (unsigned long long)progress.processes);
	if (progress.files || !progress.bytes)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %llu files%s",
			      (unsigned long long)progress.files, progress.bytes ? "," : "");
	if (progress.bytes)
		snprintf(line + n, sizeof(line) - (size_t)n, " %.1f MiB",
			 (double)progress.bytes / (1024 * 1024));
	/* One write: the line is never torn by another writer's output. */
	if (write(STDERR_FILENO, line, strlen(line)) < 0)
		on = false;
}

void progress_tick(void)
{
	uint64_t now;

	if (!on)
		return;
	now = mono_ns();
	if (now - last_ns < 100000000u)
		return;
	last_ns = now;
	draw();
}

void progress_stop(void)
{
	static const char erase[] = "\r\033[K";

	if (on && write(STDERR_FILENO, erase, sizeof(erase) - 1) < 0)
		on = false;
	on = false;
}
