/* SPDX-License-Identifier: MIT */
/* collector/cmd_pack.c - the original magicpak command line: magicpak [OPTIONS] INPUT... OUTPUT.
 * Resolve every input (and ELF --include match), then copy the closure into OUTPUT. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assemble.h"
#include "record.h"
#include "store.h"
#include "xalloc.h"
#include "cmd.h"
#include "log.h"

static const char usage[] =
	"usage: magicpak [OPTIONS] INPUT... OUTPUT\n"
	"\n"
	"Copy each INPUT (an ELF executable or a '#!' script) and everything glibc's ld.so\n"
	"would load for it into the directory OUTPUT, at their host paths, so that\n"
	"`chroot OUTPUT INPUT` runs. OUTPUT must not exist or be empty.\n"
	"\n"
	"  -i, --include GLOB        also bundle matching files and whole directories (ELF\n"
	"                            files matched get their libraries too); repeatable\n"
	"  -e, --exclude GLOB        never write a destination path that matches (applied\n"
	"                            last, symlink targets included); repeatable\n"
	"      --mkdir PATH          create an empty directory in the bundle; repeatable\n"
	"  -r, --install-to PATH     put the (first) INPUT at PATH in the bundle; a trailing\n"
	"                            '/' means into that directory\n"
	"  -L, --library-path PATH   assume LD_LIBRARY_PATH=PATH (default: the environment's)\n"
	"  -d, --dynamic             also run the first INPUT once, recorded, and bundle every\n"
	"                            file it used (with the libraries of ELF files among them)\n"
	"      --dynamic-arg ARG     an argument for that run; repeatable\n"
	"      --dynamic-stdin TEXT  its stdin (default: empty)\n"
	"      --db FILE             keep that run's session in FILE (default: temporary)\n"
	"  -v, --verbose             say more (same as --log-level Info; twice: Debug)\n"
	"      --log-level LEVEL     Off, Error, Warn (default), Info or Debug, any case\n"
	"  -V, --version             print the version\n"
	"  -h, --help                show this help\n"
	"      --cc PATH, --experimental-noload-resolver\n"
	"                            accepted and ignored: magicpak no longer needs a C\n"
	"                            compiler to resolve libraries\n"
	"\n"
	"Globs: '*' and '?' never match '/', '[...]' is a set, and a '**' component matches\n"
	"any number of directories ('/usr/share/zoneinfo/**').\n"
	"Other commands: magicpak deps (see 'magicpak help').\n";

/* Options of the original magicpak that later work will give a meaning again. */
enum { OPT_MKDIR = 256, OPT_LOG_LEVEL, OPT_CC, OPT_NOLOAD, OPT_DYN_ARG, OPT_DYN_STDIN, OPT_DB,
       OPT_UNSUPPORTED };

/* magicpak's --dynamic: run the first INPUT once, recorded, and bundle what it used. */
struct dynamic {
	bool enabled;
	struct strvec args;
	const char *stdin_text;
	const char *db;
};

static int collect_path(void *ctx, const char *path, int op)
{
	struct strvec *out = ctx;

	if (!out->n || strcmp(out->v[out->n - 1], path))
		strvec_push(out, path);
	return 0;
}

static int dynamic_run(struct dynamic *dy, const char *input, struct strvec *recorded)
{
	struct record_opts ro = { .stdin_fd = -1 };
	struct record_result res;
	struct strvec argv = STRVEC_INIT;
	struct store *st = NULL;
	char tmpdir[] = "/tmp/magicpak-dynamic.XXXXXX";
	char *dbpath = NULL;
	int ret, fd = -1;

	if (dy->db) {
		dbpath = xstrdup(dy->db);
	} else {
		if (!mkdtemp(tmpdir))
			return log_errno(-errno, "cannot create a temporary directory");
		dbpath = xasprintf("%s/dynamic.db", tmpdir);
	}
	/* The program reads --dynamic-stdin, or nothing: never magicpak's own stdin. A memfd
	 * holds the text, so no pipe can fill up. */
	fd = dy->stdin_text ? memfd_create("magicpak-dynamic-stdin", MFD_CLOEXEC)
			    : open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = log_errno(-errno, "--dynamic: cannot prepare the program's stdin");
		goto out;
	}
	if (dy->stdin_text) {
		size_t len = strlen(dy->stdin_text);

		if (write(fd, dy->stdin_text, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) < 0) {
			ret = log_errno(-errno, "--dynamic-stdin: cannot write it");
			goto out;
		}
	}
	strvec_push(&argv, input);
	for (size_t i = 0; i < dy->args.n; i++)
		strvec_push(&argv, dy->args.v[i]);
	ro.db = dbpath;
	ro.argv = argv.v;
	ro.stdin_fd = fd;
	ro.label = "dynamic";
	ret = record_run(&ro, &res);
	if (ret < 0)
		goto out;
	if (res.exit_code != 0) {
		ret = log_error(-ECHILD, "--dynamic: '%s' exited with status %d (its stderr is above)",
				input, res.exit_code);
		goto out;
	}
	if (!res.complete) {
		ret = log_error(-EIO, "--dynamic: the recorded run of '%s' is incomplete (%s)", input,
				res.why);
		goto out;
	}
	ret = store_open_readonly(dbpath, &st);
	if (ret < 0)
		goto out;
	ret = store_session_paths(st, res.session, collect_path, recorded);
	log_info("--dynamic: the run used %zu paths", recorded->n);
out:
	store_free(st);
	if (fd >= 0)
		close(fd);
	if (!dy->db) {
		char *wal = xasprintf("%s-wal", dbpath), *shm = xasprintf("%s-shm", dbpath);

		unlink(dbpath);
		unlink(wal);
		unlink(shm);
		rmdir(tmpdir);
		free(wal);
		free(shm);
	}
	free(dbpath);
	strvec_clear(&argv);
	return ret;
}

int cmd_pack(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "include", required_argument, NULL, 'i' },
		{ "exclude", required_argument, NULL, 'e' },
		{ "mkdir", required_argument, NULL, OPT_MKDIR },
		{ "install-to", required_argument, NULL, 'r' },
		{ "library-path", required_argument, NULL, 'L' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "cc", required_argument, NULL, OPT_CC },
		{ "experimental-noload-resolver", no_argument, NULL, OPT_NOLOAD },
		{ "test", no_argument, NULL, 't' },
		{ "test-command", required_argument, NULL, OPT_UNSUPPORTED },
		{ "test-stdin", required_argument, NULL, OPT_UNSUPPORTED },
		{ "test-stdout", required_argument, NULL, OPT_UNSUPPORTED },
		{ "dynamic", no_argument, NULL, 'd' },
		{ "dynamic-arg", required_argument, NULL, OPT_DYN_ARG },
		{ "dynamic-stdin", required_argument, NULL, OPT_DYN_STDIN },
		{ "db", required_argument, NULL, OPT_DB },
		{ "compress", no_argument, NULL, 'c' },
		{ "upx-arg", required_argument, NULL, OPT_UNSUPPORTED },
		{ "upx", required_argument, NULL, OPT_UNSUPPORTED },
		{ "busybox", required_argument, NULL, OPT_UNSUPPORTED },
		{ NULL, 0, NULL, 0 },
	};
	struct assemble_opts po;
	struct dynamic dyn = { 0 };
	int c, nargs, status = EXIT_FAIL;

	assemble_opts_init(&po);
	po.library_path = getenv("LD_LIBRARY_PATH");
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:e:r:L:vVhtdcq", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': strvec_push(&po.includes, optarg); break;
		case 'e': strvec_push(&po.excludes, optarg); break;
		case OPT_MKDIR: strvec_push(&po.mkdirs, optarg); break;
		case 'r': po.install_to = optarg; break;
		case 'L': po.library_path = optarg; break;
		case 'v':
			if (log_level < LOG_INFO)
				log_level = LOG_INFO;
			else if (log_level < LOG_DEBUG)
				log_level++;
			break;
		case 'q': log_level = LOG_ERROR; break;
		case OPT_LOG_LEVEL:
			if (log_parse_level(optarg, &log_level) < 0)
				die_usage("--log-level: '%s' is not one of Off, Error, Warn, Info, Debug",
					  optarg);
			break;
		case 'V': printf("magicpak %s\n", MAGICPAK_VERSION); return EXIT_OK;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		case OPT_CC:
		case OPT_NOLOAD:
			log_debug("--cc and --experimental-noload-resolver are no longer needed");
			break;
		case 'd': dyn.enabled = true; break;
		case OPT_DYN_ARG: strvec_push(&dyn.args, optarg); break;
		case OPT_DYN_STDIN: dyn.stdin_text = optarg; break;
		case OPT_DB: dyn.db = optarg; break;
		case 't':
		case 'c':
		case OPT_UNSUPPORTED:
			die_usage("%s: not available in this version of magicpak yet",
				  argv[optind - 1]);
		default:
			return usage_error("", c, argv);
		}
	}
	nargs = argc - optind;
	if (nargs < 2) {
		log_error(0, nargs ? "missing OUTPUT (usage: magicpak [OPTIONS] INPUT... OUTPUT)"
				   : "missing INPUT and OUTPUT (usage: magicpak [OPTIONS] INPUT... OUTPUT)");
		return EXIT_USAGE;
	}
	for (int i = optind; i < argc - 1; i++)
		strvec_push(&po.inputs, argv[i]);
	po.output = argv[argc - 1];
	if (dyn.enabled && dynamic_run(&dyn, po.inputs.v[0], &po.recorded) < 0)
		goto out;
	status = assemble(&po) < 0 ? EXIT_FAIL : EXIT_OK;
out:
	assemble_opts_release(&po);
	strvec_clear(&dyn.args);
	return status;
}
