/* SPDX-License-Identifier: MIT */
/* collector/progress.c - a status line on the terminal, redrawn at most ten times a second,
 * so that following progress costs nothing on the hot paths.
 *
 * Alone on the terminal (bundling, writing an archive) the line is redrawn in place with
 * "\r" and erase-line. Beside a command writing to the same terminal (record) that would
 * erase the command's partial line and leave the status in the middle of its output, so the
 * line gets the bottom row to itself instead, as apt's progress bar does: a scroll region
 * (DECSTBM) of every row but the last holds the command's output, and the status is drawn
 * on the last row between save cursor and restore cursor (DECSC, DECRC). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "progress.h"

struct progress progress;

static bool on, shared, drawn;
/* shared: the terminal's size the scroll region was set for (0: none set), and the sequence
 * that gives the row back, ready for the SIGTSTP handler */
static volatile unsigned rows;
static unsigned cols;
static char release_seq[64];
static volatile size_t release_len;
static struct sigaction old_tstp;
static bool have_tstp;
static uint64_t last_ns;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One write: the sequence is never torn by another writer's output. */
static void put(const char *s, size_t len)
{
	if (write(STDERR_FILENO, s, len) < 0)
		on = false;
}

/* shared: (re)reserve the bottom row when the terminal's size changed. False when the
 * terminal is too small or its size unknown. */
static bool reserve_row(void)
{
	struct winsize ws;
	char seq[96];
	int n = 0;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row < 4 || ws.ws_col < 20)
		return false;
	if (ws.ws_row == rows && ws.ws_col == cols)
		return true;
	if (rows && rows < ws.ws_row)
		/* grown: the old status row is now in the region */
		n = snprintf(seq, sizeof(seq), "\0337\033[%u;1H\033[2K\0338", rows);
	/* IND then up: on the bottom row this scrolls the screen by one, keeping the cursor's
	 * line and column; elsewhere it is a no-op. DECSTBM homes the cursor: save, restore. */
	snprintf(seq + n, sizeof(seq) - (size_t)n, "\033D\033[1A\0337\033[1;%ur\0338",
		 (unsigned)ws.ws_row - 1);
	release_len = 0;
	snprintf(release_seq, sizeof(release_seq), "\0337\033[r\033[%u;1H\033[2K\0338",
		 (unsigned)ws.ws_row);
	release_len = strlen(release_seq);
	rows = ws.ws_row;
	cols = ws.ws_col;
	put(seq, strlen(seq));
	return true;
}

/* shared: give the bottom row back, if it was taken: the whole screen scrolls again and
 * the status row is cleared. */
static void release_row(void)
{
	if (!rows)
		return;
	put(release_seq, release_len);
	rows = 0;
}

/* Ctrl-Z: the shell takes the terminal back while record is stopped, so give it the whole
 * screen first; the next redraw after SIGCONT takes the row again. */
static void on_tstp(int sig)
{
	int saved = errno;

	(void)sig;
	if (rows && release_len && write(STDERR_FILENO, release_seq, release_len) < 0) {
		/* the terminal is gone: nothing to give back */
	}
	rows = 0;
	kill(getpid(), SIGSTOP); /* stops here; goes on from here at SIGCONT */
	errno = saved;
}

static void start(const char *what, bool beside_command)
{
	progress.what = what;
	progress.processes = progress.files = progress.bytes = 0;
	on = isatty(STDERR_FILENO) && log_level >= LOG_WARN;
	shared = beside_command;
	drawn = false;
	rows = cols = 0;
	last_ns = mono_ns();
}

void progress_start(const char *what)
{
	start(what, false);
}

void progress_start_beside(const char *what)
{
	struct sigaction sa = { .sa_handler = on_tstp };

	start(what, true);
	if (on) {
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;
		have_tstp = sigaction(SIGTSTP, &sa, &old_tstp) == 0;
		/* an ignored SIGTSTP (no job control) stays ignored */
		if (have_tstp && old_tstp.sa_handler == SIG_IGN) {
			sigaction(SIGTSTP, &old_tstp, NULL);
			have_tstp = false;
		}
	}
}

static void draw(void)
{
	char line[160], out[224];
	int n = snprintf(line, sizeof(line), "magicpak: %s:", progress.what);

	if (progress.processes)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %llu processes,",
			      (unsigned long long)progress.processes);
	if (progress.files || !progress.bytes)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %llu files%s",
			      (unsigned long long)progress.files, progress.bytes ? "," : "");
	if (progress.bytes)
		snprintf(line + n, sizeof(line) - (size_t)n, " %.1f MiB",
			 (double)progress.bytes / (1024 * 1024));
	if (shared && !reserve_row()) {
		struct winsize ws;

		/* A terminal of unknown size (a pty nobody sized, as script(1) makes without
		 * a terminal of its own) cannot have a region: draw in place. One too small to
		 * give a row away gets no status line rather than a torn one. */
		release_row();
		shared = false;
		if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row) {
			on = false;
			return;
		}
	}
	if (!shared) {
		snprintf(out, sizeof(out), "\r\033[K%s", line);
		drawn = true;
	} else {
		/* never as wide as the row: a write to its last column would wrap and scroll */
		if (strlen(line) >= cols)
			line[cols - 1] = '\0';
		snprintf(out, sizeof(out), "\0337\033[%u;1H\033[2K%s\0338", rows, line);
	}
	put(out, strlen(out));
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

void progress_erase(void)
{
	if (on && drawn) {
		put("\r\033[K", 4);
		drawn = false;
	}
}

void progress_stop(void)
{
	if (on && !shared)
		progress_erase();
	else if (on)
		release_row();
	if (have_tstp)
		sigaction(SIGTSTP, &old_tstp, NULL);
	have_tstp = false;
	on = false;
}
