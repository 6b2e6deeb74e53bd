/* SPDX-License-Identifier: MIT */
/* collector/caps.h - this process's capability sets, read with one capget() (no libcap; the
 * kernel interface is three words), and whether an exec would raise them. */
#ifndef COLLECTOR_CAPS_H
#define COLLECTOR_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct caps {
	uint64_t effective, permitted, inheritable;
};

/* Read our sets. 0, or -errno (the sets then read as empty). */
int caps_get(struct caps *c);
/* Is capability @cap (CAP_SYS_ADMIN, ...) in our effective set? When capget() itself fails,
 * whether we are root. */
bool caps_have(unsigned cap);
/* Who would exec a program: real ids, no_new_privs, and the sets file capabilities combine
 * with. caps_who_self() fills it for this process. */
struct caps_who {
	uid_t uid;
	gid_t gid;
	bool nnp;
	uint64_t permitted, inheritable;
};
void caps_who_self(struct caps_who *w);
/* Why an exec of the ELF file @path by @w (NULL: this process) would be privileged, which
 * makes the kernel set AT_SECURE (ld.so's secure-execution mode, which drops LD_PRELOAD and
 * LD_LIBRARY_PATH) and a tracer without CAP_SYS_PTRACE see it run unprivileged (commoncap's
 * cap_bprm_creds_from_file): a set-user-ID file owned by another user than the real one, a
 * set-group-ID (and group-executable) file of another group, unless no_new_privs keeps the
 * ids; file capabilities that raise a user other than root. Not on a nosuid mount. NULL if
 * none, else the reason ("set-user-ID, owner uid 0") in @buf. */
const char *caps_exec_privileged(const char *path, const struct caps_who *w, char *buf,
				 size_t size);
/* The same for a file already open (@fd, status @st from its fstat()): no second lookup of
 * its path, which could meanwhile name another file. */
const char *caps_exec_privileged_fd(int fd, const struct stat *st, const struct caps_who *w,
				    char *buf, size_t size);

#endif /* COLLECTOR_CAPS_H */
