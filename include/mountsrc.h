/* SPDX-License-Identifier: MIT */
/* include/mountsrc.h - what of a mount(2) call names a file: the tracer and the preload
 * library store the same MP_OP_MOUNT_FROM rows. The target always is one; the source when the
 * kernel looks it up as a path: a bind or a move (do_loopback(), do_move_mount_old()), or a
 * new mount of an absolute path, which a block-device file system opens (lookup_bdev());
 * "tmpfs", "proc", "none" are only names. A remount or a propagation change ignores the
 * source (path_mount()). No system call, no allocation: safe in a preload wrapper. */
#ifndef INCLUDE_MOUNTSRC_H
#define INCLUDE_MOUNTSRC_H

#include <sys/mount.h>

enum mp_mount_source {
	MP_MOUNT_SRC_NONE,        /* not looked up */
	MP_MOUNT_SRC_PATH,        /* a path, whatever it reads */
	MP_MOUNT_SRC_IF_ABSOLUTE, /* a path if it starts with '/' */
};

/* mount(2)'s @flags as stored: without the old magic number in the high bits. */
static inline unsigned long mp_mount_flags(unsigned long flags)
{
	return (flags & MS_MGC_MSK) == MS_MGC_VAL ? flags & ~(unsigned long)MS_MGC_MSK : flags;
}

/* Whether a mount(2) with @flags (mp_mount_flags()) looks its source up as a path. */
static inline enum mp_mount_source mp_mount_source(unsigned long flags)
{
	if (flags & (MS_REMOUNT | MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE))
		return MP_MOUNT_SRC_NONE;
	return flags & (MS_BIND | MS_MOVE) ? MP_MOUNT_SRC_PATH : MP_MOUNT_SRC_IF_ABSOLUTE;
}

#endif /* INCLUDE_MOUNTSRC_H */
