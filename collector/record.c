/* SPDX-License-Identifier: MIT */
/* collector/record.c - glue between the tracer's callbacks and the store. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "record.h"
#include "store.h"
#include "strmap.h"
#include "tracer.h"

struct rec {
	struct store *st;
	const struct record_opts *o;
	struct strmap versioned; /* paths whose version is recorded */
	int err;                 /* first store error */
};

/* sha256 of the file at @path as 64 hex digits into @hex; -errno on failure. */
static int sha256_file(const char *path, char hex[65])
{
	unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		ret = -ENOMEM;
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(ctx, buf, (size_t)n);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return ret;
}

/* Record what a file was when the run first read or executed it. */
static void note_version(struct rec *r, const char *path)
{
	struct stat st;
	char hex[65] = "";
	char type;

	if (strmap_has(&r->versioned, path))
		return;
	strmap_put(&r->versioned, path, NULL);
	if (stat(path, &st) < 0)
		return;
	type = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : 'o';
	if (type == 'f' && r->o->hash && sha256_file(path, hex) < 0)
		hex[0] = '\0';
	store_file_version(r->st, path, type, st.st_size,
			   (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
			   st.st_ino, hex[0] ? hex : NULL);
}

static void on_access(void *ctx, const struct tracer_access *a)
{
	struct rec *r = ctx;
	int ret;

	ret = store_add_access(r->st, a->pid, a->op, a->path, a->flags, a->err, MP_SRC_PTRACE,
			       a->time_ns);
	if (ret < 0 && !r->err)
		r->err = ret;
	if (a->err == 0 && (a->op == MP_OP_EXEC ||
			    (a->op == MP_OP_OPEN && (a->flags & O_ACCMODE) != O_WRONLY)))
		note_version(r, a->path);
}

static void on_proc(void *ctx, const struct tracer_proc *p)
{
	struct rec *r = ctx;
	int ret = 0;

	switch (p->what) {
	case TRACER_PROC_START:
		ret = store_proc_start(r->st, p->pid, p->parent, p->cwd, p->time_ns);
		break;
	case TRACER_PROC_EXEC:
		ret = store_proc_exec(r->st, p->pid, p->exe, p->argv, p->cwd, p->time_ns);
		break;
	case TRACER_PROC_EXIT: {
		int code = WIFSIGNALED(p->status) ? 128 + WTERMSIG(p->status)
						  : WEXITSTATUS(p->status);

		ret = store_proc_exit(r->st, p->pid, code, p->time_ns);
		break;
	}
	}
	if (ret < 0 && !r->err)
		r->err = ret;
}

const char *record_default_db(void)
{
	const char *e = getenv("MAGICPAK_DB");

	return e && *e ? e : "magicpak.db";
}

int record_run(const struct record_opts *o, struct record_result *res)
{
	struct tracer_opts topts = { .timeout_s = o->timeout_s, .no_seccomp = o->no_seccomp,
				     .stdin_fd = o->stdin_fd };
	struct tracer_ops ops = { .access = on_access, .proc = on_proc };
	struct tracer_result tres = { 0 };
	struct rec r = { .o = o };
	char cwd[PATH_MAX], host[256] = "";
	struct store_session s = { 0 };
	int ret;

	memset(res, 0, sizeof(*res));
	ret = store_open(o->db, &r.st);
	if (ret < 0)
		return ret;
	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';
	gethostname(host, sizeof(host) - 1);
	s.label = o->label;
	s.argv = (const char *const *)o->argv;
	s.cwd = cwd;
	s.source = MP_SRC_PTRACE;
	s.host = host;
	ret = store_session_begin(r.st, &s, &res->session);
	if (ret < 0)
		goto out;
	ret = tracer_run(o->argv, &topts, &ops, &r, &tres);
	if (ret < 0) {
		store_session_end(r.st, 127, false, "tracer failed");
		goto out;
	}
	res->exit_code = tres.exit_code;
	res->accesses = tres.accesses;
	res->processes = tres.processes;
	/* A gap in coverage must never look like a clean run (RELIABILITY E-LOSS). */
	res->complete = true;
	if (tres.used_io_uring)
		snprintf(res->why, sizeof(res->why), "io_uring");
	else if (tres.timed_out)
		snprintf(res->why, sizeof(res->why), "timeout");
	else if (tres.lost_strings)
		snprintf(res->why, sizeof(res->why), "unreadable_paths=%llu",
			 (unsigned long long)tres.lost_strings);
	else if (tres.undecoded)
		snprintf(res->why, sizeof(res->why), "undecoded_syscalls=%llu",
			 (unsigned long long)tres.undecoded);
	else if (r.err)
		snprintf(res->why, sizeof(res->why), "store_error");
	res->complete = !res->why[0];
	ret = store_session_end(r.st, res->exit_code, res->complete,
				res->complete ? NULL : res->why);
	if (ret < 0)
		log_errno(ret, "cannot finish session %lld in '%s'", (long long)res->session, o->db);
	res->files = r.versioned.n;
out:
	strmap_clear(&r.versioned);
	store_free(r.st);
	return ret;
}
