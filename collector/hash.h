/* SPDX-License-Identifier: MIT */
/* collector/hash.h - sha256 of files, for recorded versions and the checks against them. */
#ifndef COLLECTOR_HASH_H
#define COLLECTOR_HASH_H

/* sha256 of what is left to read from @fd, as 64 hex digits and a NUL in @hex.
 * Returns 0 or -errno. */
int hash_sha256_fd(int fd, char hex[65]);
/* The same for the file at @path (opened O_NONBLOCK: a FIFO never blocks). */
int hash_sha256_file(const char *path, char hex[65]);

#endif /* COLLECTOR_HASH_H */
