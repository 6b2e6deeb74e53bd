/* SPDX-License-Identifier: MIT */
/* collector/log.h - diagnostics on stderr with a "magicpak: " prefix. */
#ifndef COLLECTOR_LOG_H
#define COLLECTOR_LOG_H

#include <stdnoreturn.h>

enum log_level { LOG_OFF, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Current verbosity; set once by main() from -v/-q/--log-level. */
extern enum log_level log_level;

/* Parse "off|error|warn|info|debug" (any case). Returns 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *out);

/* Print "magicpak: <msg>" and return @ret, so callers can `return log_error(...)`. */
int log_error(int ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As log_error(), with ": strerror(-ret)" appended. */
int log_errno(int ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print the message and exit(1). For main(), cmd_*() and xmalloc() only. */
noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the message and exit(2): a usage error. */
noreturn void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* COLLECTOR_LOG_H */
