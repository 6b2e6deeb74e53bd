/* SPDX-License-Identifier: MIT */
/* collector/log.c - one place that writes diagnostics, so their format stays uniform. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "progress.h"

enum log_level log_level = LOG_WARN;

int log_parse_level(const char *s, enum log_level *out)
{
	static const char *const names[] = { "off", "error", "warn", "info", "debug" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(s, names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void vlog(const char *prefix, const char *fmt, va_list ap, int err)
{
	char buf[4096];
	int n;

	/* Format into one buffer and write it at once so concurrent writers do not interleave. */
	n = snprintf(buf, sizeof(buf), "magicpak: %s", prefix);
	if (n < 0)
		return;
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	if (err) {
		size_t len = strlen(buf);
		snprintf(buf + len, sizeof(buf) - len, ": %s", strerror(err));
	}
	/* a status line drawn in place would be glued to the front of this one */
	progress_erase();
	fprintf(stderr, "%s\n", buf);
}

int log_error(int ret, const char *fmt, ...)
{
	va_list ap;

	if (log_level >= LOG_ERROR) {
		va_start(ap, fmt);
		vlog("", fmt, ap, 0);
		va_end(ap);
	}
	return ret;
}

int log_errno(int ret, const char *fmt, ...)
{
	va_list ap;

	if (log_level >= LOG_ERROR) {
		va_start(ap, fmt);
		vlog("", fmt, ap, ret < 0 ? -ret : ret);
		va_end(ap);
	}
	return ret;
}

#define LOG_AT(level, prefix)                  \
	do {                                   \
		va_list ap;                    \
		if (log_level < (level))       \
			return;                \
		va_start(ap, fmt);             \
		vlog(prefix, fmt, ap, 0);      \
		va_end(ap);                    \
	} while (0)

void log_warn(const char *fmt, ...)
{
	LOG_AT(LOG_WARN, "warning: ");
}

void log_info(const char *fmt, ...)
{
	LOG_AT(LOG_INFO, "");
}

void log_debug(const char *fmt, ...)
{
	LOG_AT(LOG_DEBUG, "debug: ");
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("", fmt, ap, 0);
	va_end(ap);
	exit(1);
}

void die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("", fmt, ap, 0);
	va_end(ap);
	exit(2);
}
