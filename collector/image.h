/* SPDX-License-Identifier: MIT */
/* collector/image.h - finish a bundle for shipping: strip and compress its ELF copies, and write
 * it as an OCI image layout tar or a `docker save` archive, byte for byte reproducible. */
#ifndef COLLECTOR_IMAGE_H
#define COLLECTOR_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "strbuf.h"

struct image_opts {
	const char *oci_archive;    /* write an OCI image layout tar here, or NULL */
	const char *docker_archive; /* write a `docker save` archive here, or NULL */
	const char *tag;            /* NAME[:TAG] (":latest" when no TAG), or NULL */
	struct strvec entrypoint;   /* one argument each */
	struct strvec cmd;
	struct strvec env;          /* K=V; PATH defaults to IMAGE_DEFAULT_PATH */
	struct strvec labels;       /* K=V */
	struct strvec expose;       /* PORT or PORT/PROTO */
	const char *workdir;
	const char *user;
	/* Seconds since the epoch for every mtime and "created"; image_opts_init() takes it
	 * from SOURCE_DATE_EPOCH (default 0), image_opts_check() validates it. */
	const char *source_date_epoch;

	bool strip;                 /* strip --strip-unneeded the ELF copies in the tree */
	const char *strip_tool;     /* path or name on PATH (default "strip") */
	bool compress;              /* run upx on the executables in the tree */
	const char *upx;            /* path or name on PATH (NULL: "upx") */
	struct strvec upx_args;

	/* Called by image_prepare() after stripping and compressing (e.g. a test run); its
	 * negative return is image_prepare()'s. */
	int (*next)(void *ctx, const char *tree);
	void *next_ctx;

	/* Results, filled in by image_opts_check() and image_prepare(). */
	int64_t epoch;
	char *tag_full;             /* owned: the tag with ":latest" added when needed */
	char *upx_path;             /* owned: upx as found on PATH */
	char *strip_path;           /* owned: strip as found on PATH */
	unsigned long long strip_files, strip_before, strip_after;
	unsigned long long upx_files, upx_before, upx_after;
};

#define IMAGE_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

void image_opts_init(struct image_opts *o);
void image_opts_release(struct image_opts *o);
/* True when an archive is asked for. */
bool image_wants_archive(const struct image_opts *o);

/* Check every value (tag, K=V pairs, ports, strings valid UTF-8, SOURCE_DATE_EPOCH) and find
 * upx and strip when they will be needed, before anything is built. Logs one line naming
 * the option; returns 0, -EINVAL or -ENOENT (a tool is not installed). */
int image_opts_check(struct image_opts *o);

/* The assemble before_commit hook (@ctx is a struct image_opts): when an archive is asked
 * for, refuse names an image cannot hold (as image_write() does) before anything is
 * committed; strip, then compress the ELF copies in @tree (never a file outside it), then
 * call o->next. Returns 0 or -errno. */
int image_prepare(void *ctx, const char *tree);

/* Write the archives asked for from the finished bundle @tree. Each is written to a
 * temporary name in its directory and renamed, so a failure leaves nothing under the final
 * name; the compressed layer is streamed through a temporary file there too. A name that
 * is an OCI whiteout (".wh.*") or that a tar cannot carry (a socket) is an error naming
 * the path. Logs; returns 0 or -errno. */
int image_write(const struct image_opts *o, const char *tree);

#endif /* COLLECTOR_IMAGE_H */
