/* SPDX-License-Identifier: MIT */
/* collector/caps.c - this process's capability sets (caps.h). */
#include <endian.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "caps.h"

int caps_get(struct caps *c)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(c, 0, sizeof(*c));
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &hdr, d) < 0)
		return -errno;
	c->effective = d[0].effective | (uint64_t)d[1].effective << 32;
	c->permitted = d[0].permitted | (uint64_t)d[1].permitted << 32;
	c->inheritable = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

bool caps_have(unsigned cap)
{
	struct caps c;

	if (cap >= 64 || caps_get(&c) < 0)
		return geteuid() == 0;
	return (c.effective >> cap) & 1;
}

/* Would the file capabilities of @path make a non-root user's exec secure? As the kernel's
 * cap_bprm_creds_from_file(): when the xattr's effective flag is set, or when the new
 * permitted set, (fP & bounding set) | (fI & our inheritable set), is not empty; under
 * no_new_privs that set is cut to the permitted set we hold (an exec gains nothing). */
static bool caps_make_secure(const char *path, int fd, const struct caps_who *w)
{
	struct vfs_ns_cap_data v;
	ssize_t n = fd >= 0 ? fgetxattr(fd, "security.capability", &v, sizeof(v))
			    : getxattr(path, "security.capability", &v, sizeof(v));
	uint32_t magic;
	uint64_t fp, fi, granted;
	size_t words;

	if (n < (ssize_t)sizeof(v.magic_etc))
		return false;
	magic = le32toh(v.magic_etc);
	switch (magic & VFS_CAP_REVISION_MASK) {
	case VFS_CAP_REVISION_1: words = (size_t)n >= XATTR_CAPS_SZ_1 ? 1 : 0; break;
	case VFS_CAP_REVISION_2: words = (size_t)n >= XATTR_CAPS_SZ_2 ? 2 : 0; break;
	/* a rootid other than our namespace's root (shown translated, 0 here): not ours, and
	 * the kernel ignores it (rootid_owns_currentns) */
	case VFS_CAP_REVISION_3:
		words = (size_t)n >= XATTR_CAPS_SZ_3 && le32toh(v.rootid) == 0 ? 2 : 0;
		break;
	default: words = 0; break;
	}
	if (!words)
		return false;
	if (magic & VFS_CAP_FLAGS_EFFECTIVE)
		return true;
	fp = le32toh(v.data[0].permitted);
	fi = le32toh(v.data[0].inheritable);
	if (words == 2) {
		fp |= (uint64_t)le32toh(v.data[1].permitted) << 32;
		fi |= (uint64_t)le32toh(v.data[1].inheritable) << 32;
	}
	for (int cap = 0; cap < 64; cap++)
		if ((fp >> cap & 1) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1)
			fp &= ~(1ULL << cap);
	granted = fp | (fi & w->inheritable);
	return (w->nnp ? granted & w->permitted : granted) != 0;
}

void caps_who_self(struct caps_who *w)
{
	struct caps c;

	caps_get(&c);
	w->uid = getuid();
	w->gid = getgid();
	w->nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
	w->permitted = c.permitted;
	w->inheritable = c.inheritable;
}

/* The rule itself, on the file's status @st: @path, or (when @fd >= 0) the open @fd, is
 * where its capability xattr is read. */
static const char *privileged(const char *path, int fd, const struct stat *st, bool nosuid,
			      const struct caps_who *w, char *buf, size_t size)
{
	struct caps_who self;

	if (nosuid)
		return NULL;
	if (!w) {
		caps_who_self(&self);
		w = &self;
	}
	if (!w->nnp && (st->st_mode & S_ISUID) && st->st_uid != w->uid)
		snprintf(buf, size, "set-user-ID, owner uid %u", (unsigned)st->st_uid);
	else if (!w->nnp && (st->st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) &&
		 st->st_gid != w->gid)
		snprintf(buf, size, "set-group-ID, group gid %u", (unsigned)st->st_gid);
	else if (w->uid != 0 && caps_make_secure(path, fd, w))
		snprintf(buf, size, "file capabilities");
	else
		return NULL;
	return buf;
}

const char *caps_exec_privileged(const char *path, const struct caps_who *w, char *buf,
				 size_t size)
{
	struct stat st;
	struct statvfs sv;

	if (stat(path, &st) < 0)
		return NULL;
	return privileged(path, -1, &st, statvfs(path, &sv) == 0 && (sv.f_flag & ST_NOSUID), w,
			  buf, size);
}

const char *caps_exec_privileged_fd(int fd, const struct stat *st, const struct caps_who *w,
				    char *buf, size_t size)
{
	struct statvfs sv;

	return privileged(NULL, fd, st, fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_NOSUID), w,
			  buf, size);
}
