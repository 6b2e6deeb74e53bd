/* SPDX-License-Identifier: MIT */
/* collector/cmd_packopts.h - what the one-shot form (cmd_pack.c) and `magicpak bundle`
 * (cmd_bundle.c) share: the bundling and test options, their help text, and --test. */
#ifndef COLLECTOR_CMD_PACKOPTS_H
#define COLLECTOR_CMD_PACKOPTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "assemble.h"
#include "image.h"

/* Option codes of the shared long options without a short form. */
enum { PACK_OPT_MKDIR = 256, PACK_OPT_LOG_LEVEL, PACK_OPT_TEST_CMD, PACK_OPT_TEST_STDIN,
       PACK_OPT_TEST_STDOUT, PACK_OPT_TEST_TIMEOUT, PACK_OPT_BUSYBOX, PACK_OPT_PIDS_MAX,
       PACK_OPT_MEMORY_MAX, PACK_OPT_NEXT };

/* The shared entries of a getopt_long() table; a command lists them first in its own. */
#define PACK_LONGOPTS                                                              \
	{ "include", required_argument, NULL, 'i' },                               \
	{ "exclude", required_argument, NULL, 'e' },                               \
	{ "mkdir", required_argument, NULL, PACK_OPT_MKDIR },                      \
	{ "install-to", required_argument, NULL, 'r' },                            \
	{ "library-path", required_argument, NULL, 'L' },                          \
	{ "verbose", no_argument, NULL, 'v' },                                     \
	{ "quiet", no_argument, NULL, 'q' },                                       \
	{ "log-level", required_argument, NULL, PACK_OPT_LOG_LEVEL },              \
	{ "test", no_argument, NULL, 't' },                                        \
	{ "test-command", required_argument, NULL, PACK_OPT_TEST_CMD },            \
	{ "test-stdin", required_argument, NULL, PACK_OPT_TEST_STDIN },            \
	{ "test-stdout", required_argument, NULL, PACK_OPT_TEST_STDOUT },          \
	{ "test-timeout", required_argument, NULL, PACK_OPT_TEST_TIMEOUT },        \
	{ "busybox", required_argument, NULL, PACK_OPT_BUSYBOX },                  \
	{ "pids-max", required_argument, NULL, PACK_OPT_PIDS_MAX },                \
	{ "memory-max", required_argument, NULL, PACK_OPT_MEMORY_MAX }
/* Their short forms, for the command's optstring. */
#define PACK_SHORTOPTS "i:e:r:L:vqt"

/* Help lines for the shared bundling and test options (after the command's own). */
extern const char pack_usage_bundling[];
extern const char pack_usage_test[];

/* --test: run a command in the jail on the finished tree, before it becomes OUTPUT. */
struct pack_test {
	bool enabled;
	const char *command;     /* run by /bin/sh -c; default: @installed */
	const char *stdin_text;
	const char *stdout_text; /* expected, compared trimmed */
	const char *busybox;     /* path or name on PATH */
	bool busybox_given;      /* --busybox was given: it must exist even when unused */
	uint64_t pids_max;       /* jail_opts' limits (0: the default) */
	uint64_t memory_max;
	unsigned timeout_s;      /* --test-timeout (0: none, the default, as in the original) */
	char *installed;         /* owned; the first input as installed, or NULL */
	int status;              /* exit status when the test fails or cannot run */
};

/* Defaults: busybox from PATH, nothing else set. */
void pack_test_init(struct pack_test *t);
void pack_test_release(struct pack_test *t);
/* The assemble before_commit hook: @ctx is a struct pack_test. Logs the outcome (with a
 * diagnosis of what the bundle lacks); 0 when the test passed, negative otherwise. */
int pack_test_run(void *ctx, const char *tree);

/* Apply shared option @c (a getopt_long() result) with @arg to @po and @t. Returns 1 when
 * it was a shared option, 0 when it is the command's own; a bad value is a usage error
 * (exit 2, in die_usage()). */
int pack_parse_opt(int c, const char *arg, struct assemble_opts *po, struct pack_test *t);

/* The image options (image.h), shared by both commands too. */
enum { PACK_OPT_OCI_ARCHIVE = 512, PACK_OPT_DOCKER_ARCHIVE, PACK_OPT_TAG, PACK_OPT_ENTRYPOINT,
       PACK_OPT_CMD, PACK_OPT_ENV, PACK_OPT_WORKDIR, PACK_OPT_USER, PACK_OPT_LABEL,
       PACK_OPT_EXPOSE, PACK_OPT_STRIP, PACK_OPT_UPX, PACK_OPT_UPX_ARG };

#define PACK_IMAGE_LONGOPTS                                                        \
	{ "oci-archive", required_argument, NULL, PACK_OPT_OCI_ARCHIVE },          \
	{ "docker-archive", required_argument, NULL, PACK_OPT_DOCKER_ARCHIVE },    \
	{ "tag", required_argument, NULL, PACK_OPT_TAG },                          \
	{ "entrypoint", required_argument, NULL, PACK_OPT_ENTRYPOINT },            \
	{ "cmd", required_argument, NULL, PACK_OPT_CMD },                          \
	{ "env", required_argument, NULL, PACK_OPT_ENV },                          \
	{ "workdir", required_argument, NULL, PACK_OPT_WORKDIR },                  \
	{ "user", required_argument, NULL, PACK_OPT_USER },                        \
	{ "label", required_argument, NULL, PACK_OPT_LABEL },                      \
	{ "expose", required_argument, NULL, PACK_OPT_EXPOSE },                    \
	{ "strip", no_argument, NULL, PACK_OPT_STRIP },                            \
	{ "compress", no_argument, NULL, 'c' },                                    \
	{ "upx", required_argument, NULL, PACK_OPT_UPX },                          \
	{ "upx-arg", required_argument, NULL, PACK_OPT_UPX_ARG }
#define PACK_IMAGE_SHORTOPTS "c"

/* Help lines for the image options. */
extern const char pack_usage_image[];

/* Apply image option @c with @arg to @img; 1 when it was one, 0 otherwise. */
int pack_image_parse_opt(int c, const char *arg, struct image_opts *img);

/* Check @img's values (image_opts_check()) before anything runs or is written: EXIT_OK, or
 * the exit status, the reason said. */
int pack_image_check(struct image_opts *img);
/* Build the bundle from @img checked by pack_image_check(): strip and
 * compress the tree and run @t's test before it becomes po->output, then write the
 * archives. With an archive and po->output NULL, the tree is built in a temporary
 * directory beside the archive and removed afterwards. Returns the exit status. */
int pack_build(struct assemble_opts *po, struct pack_test *t, struct image_opts *img);

#endif /* COLLECTOR_CMD_PACKOPTS_H */
