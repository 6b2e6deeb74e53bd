/* SPDX-License-Identifier: MIT */
/* collector/cmd_pack.c - the original magicpak command line: magicpak [OPTIONS] INPUT... OUTPUT.
 * Resolve every input (and ELF --include match), then copy the closure into OUTPUT. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
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
#include "jail.h"
#include "path.h"
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
	"  -t, --test                run a test in the finished bundle, isolated (magicpak\n"
	"                            test); OUTPUT is written only if it passes\n"
	"      --test-command CMD    the test, run by /bin/sh -c (default: the first INPUT)\n"
	"      --test-stdin TEXT     the test's stdin (default: empty)\n"
	"      --test-stdout TEXT    the test passes only if its output, trimmed, is TEXT\n"
	"      --busybox PATH|NAME   a static busybox giving the test /bin/sh when the bundle\n"
	"                            has none (default: busybox on PATH; never bundled)\n"
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
       OPT_TEST_CMD, OPT_TEST_STDIN, OPT_TEST_STDOUT, OPT_BUSYBOX, OPT_UNSUPPORTED };

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

/* magicpak's --test: run a command in the jail on the finished tree, before it is OUTPUT. */
struct pack_test {
	bool enabled;
	const char *command;     /* run by /bin/sh -c; default: the first input as installed */
	const char *stdin_text;
	const char *stdout_text; /* expected, compared trimmed */
	const char *busybox;     /* path or name on PATH */
	char *installed;
	int status;              /* exit status when the test fails or cannot run */
};

static int run_test(void *ctx, const char *tree)
{
	struct pack_test *t = ctx;
	char *cmd = xstrdup(t->command ? t->command : t->installed);
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct jail_opts jo = { .root = tree, .argv = argv, .stdin_text = t->stdin_text };
	struct jail_result res;
	struct strbuf msg = STRBUF_INIT;
	char *busybox = path_search(t->busybox, getenv("PATH"));
	int ret;

	jail_result_init(&res);
	jo.busybox = busybox;
	ret = jail_run(&jo, &res);
	if (ret < 0) {
		t->status = JAIL_EXIT_SETUP;
		goto out;
	}
	if (res.exit_code == 0 && (!t->stdout_text || jail_output_matches(res.out.buf ? res.out.buf : "",
									     t->stdout_text))) {
		log_info("test passed: %s", cmd);
		goto out;
	}
	t->status = JAIL_EXIT_FAILED;
	ret = -ECHILD;
	if (res.err.len)
		fprintf(stderr, "%s%s", res.err.buf, res.err.buf[res.err.len - 1] == '\n' ? "" : "\n");
	if (res.exit_code == 0) {
		log_error(0, "test failed: '%s' printed '%.200s', expected '%s'; nothing written to "
			  "the output", cmd, res.out.buf ? res.out.buf : "", t->stdout_text);
		goto out;
	}
	/* Run it again under the tracer to say what the bundle lacks. */
	jail_result_release(&res);
	jail_result_init(&res);
	jo.diagnose = true;
	if (jail_run(&jo, &res) == 0 && res.missing.n) {
		jail_describe_missing(&res, &msg);
		log_error(0, "test failed (exit %d): %s; nothing written to the output",
			  res.exit_code, msg.buf);
	} else {
		log_error(0, "test failed (exit %d): '%s'; nothing written to the output",
			  res.exit_code, cmd);
	}
out:
	strbuf_release(&msg);
	jail_result_release(&res);
	free(busybox);
	free(cmd);
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
		{ "test-command", required_argument, NULL, OPT_TEST_CMD },
		{ "test-stdin", required_argument, NULL, OPT_TEST_STDIN },
		{ "test-stdout", required_argument, NULL, OPT_TEST_STDOUT },
		{ "dynamic", no_argument, NULL, 'd' },
		{ "dynamic-arg", required_argument, NULL, OPT_DYN_ARG },
		{ "dynamic-stdin", required_argument, NULL, OPT_DYN_STDIN },
		{ "db", required_argument, NULL, OPT_DB },
		{ "compress", no_argument, NULL, 'c' },
		{ "upx-arg", required_argument, NULL, OPT_UNSUPPORTED },
		{ "upx", required_argument, NULL, OPT_UNSUPPORTED },
		{ "busybox", required_argument, NULL, OPT_BUSYBOX },
		{ NULL, 0, NULL, 0 },
	};
	struct assemble_opts po;
	struct dynamic dyn = { 0 };
	struct pack_test test = { .busybox = "busybox" };
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
		case 't': test.enabled = true; break;
		case OPT_TEST_CMD: test.command = optarg; break;
		case OPT_TEST_STDIN: test.stdin_text = optarg; break;
		case OPT_TEST_STDOUT: test.stdout_text = optarg; break;
		case OPT_BUSYBOX: test.busybox = optarg; break;
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
	if (test.enabled) {
		/* The default test runs the first input where it is installed in the bundle. */
		char *abs = path_absolute(po.inputs.v[0]);

		test.installed = po.install_to ? assemble_install_dest(abs, po.install_to)
					       : xstrdup(abs);
		free(abs);
		po.before_commit = run_test;
		po.ctx = &test;
	}
	status = assemble(&po) < 0 ? (test.status ? test.status : EXIT_FAIL) : EXIT_OK;
	free(test.installed);
out:
	assemble_opts_release(&po);
	strvec_clear(&dyn.args);
	return status;
}
