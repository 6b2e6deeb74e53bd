/* SPDX-License-Identifier: MIT */
/* collector/cmd_pack.c - the original magicpak command line: magicpak [OPTIONS] INPUT... OUTPUT.
 * Resolve every input (and ELF --include match), then copy the closure into OUTPUT. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <unistd.h>

#include "assemble.h"
#include "cmd.h"
#include "cmd_packopts.h"
#include "log.h"
#include "path.h"
#include "record.h"
#include "xalloc.h"

static const char usage_fmt[] =
	"usage: magicpak [OPTIONS] INPUT... OUTPUT\n"
	"       magicpak [OPTIONS] --oci-archive FILE|--docker-archive FILE INPUT... [OUTPUT]\n"
	"\n"
	"Copy each INPUT (an ELF executable or a '#!' script) and everything glibc's ld.so\n"
	"would load for it into the directory OUTPUT, at their host paths, so that\n"
	"`chroot OUTPUT INPUT` runs. OUTPUT must not exist or be empty.\n"
	"\n"
	"%s"
	"  -r, --install-to PATH     put the (first) INPUT at PATH in the bundle; a trailing\n"
	"                            '/' means into that directory\n"
	"  -d, --dynamic             also run the first INPUT once, recorded, and bundle every\n"
	"                            file it used (with the libraries of ELF files among them)\n"
	"      --dynamic-arg ARG     an argument for that run; repeatable\n"
	"      --dynamic-stdin TEXT  its stdin (default: empty)\n"
	"      --db FILE             keep that run's session in FILE (default: temporary)\n"
	"      --test-command CMD    with --test: the test, run by /bin/sh -c (default: the\n"
	"                            first INPUT)\n"
	"%s"
	"%s"
	"  -V, --version             print the version\n"
	"  -h, --help                show this help\n"
	"      --cc PATH, --experimental-noload-resolver\n"
	"                            accepted and ignored: magicpak no longer needs a C\n"
	"                            compiler to resolve libraries\n"
	"\n"
	"Globs: '*' and '?' never match '/', '[...]' is a set, and a '**' component matches\n"
	"any number of directories ('/usr/share/zoneinfo/**'). --exclude globs match as in\n"
	"the original magicpak: there '*', '?' and '[...]' match '/' too ('*.pyc').\n"
	"Other commands: magicpak deps, record, bundle, test (see 'magicpak help').\n";

/* Options of the one-shot form only (the shared ones are in cmd_packopts.h). */
enum { OPT_CC = PACK_OPT_NEXT, OPT_NOLOAD, OPT_DYN_ARG, OPT_DYN_STDIN, OPT_DB, OPT_UNSUPPORTED };

/* magicpak's --dynamic: run the first INPUT once, recorded, and bundle what it used. */
struct dynamic {
	bool enabled;
	struct strvec args;
	const char *stdin_text;
	const char *db;
	char *dbpath;              /* the database used: db, or a temporary one */
	char tmpdir[64];           /* the temporary one's directory, or "" */
};

/* Remove the temporary database, if one was made. */
static void dynamic_release(struct dynamic *dy)
{
	if (dy->tmpdir[0] && dy->dbpath) {
		char *wal = xasprintf("%s-wal", dy->dbpath), *shm = xasprintf("%s-shm", dy->dbpath);

		unlink(dy->dbpath);
		unlink(wal);
		unlink(shm);
		rmdir(dy->tmpdir);
		free(wal);
		free(shm);
	}
	free(dy->dbpath);
	dy->dbpath = NULL;
	strvec_clear(&dy->args);
}

/* The run's stdout, kept from magicpak's own (which carries results only): shown with -vv,
 * as the original magicpak logged it at Debug. */
static void show_stdout(int fd)
{
	char buf[4096];
	struct strbuf all = STRBUF_INIT;
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0 && all.len < (1 << 20))
		strbuf_add(&all, buf, (size_t)n);
	for (char *s = all.buf, *e; s && *s; s = *e ? e + 1 : e) {
		e = strchrnul(s, '\n');
		log_debug("--dynamic: stdout: %.*s", (int)(e - s), s);
	}
	strbuf_release(&all);
}

/* Seconds the processes a --dynamic run leaves behind may go on before they are killed. */
#define DYNAMIC_LINGER_S 5

/* Record one run of @input; on success its session is the one @po bundles from, through
 * the same path as `magicpak bundle --session ID`. */
static int dynamic_run(struct dynamic *dy, const char *input, struct assemble_opts *po)
{
	struct record_opts ro = { .stdin_fd = -1 };
	struct record_result res;
	struct strvec argv = STRVEC_INIT;
	struct stat st;
	int ret, fd = -1, out_fd = -1, saved_stdout = -1;

	/* INPUT names a file, as it does without --dynamic (and as the original read it): a
	 * bare name is one in the current directory, never a command looked up on PATH. */
	if (stat(input, &st) < 0)
		return log_errno(-errno, "--dynamic: cannot run '%s'", input);
	if (dy->db) {
		dy->dbpath = xstrdup(dy->db);
	} else {
		snprintf(dy->tmpdir, sizeof(dy->tmpdir), "/tmp/magicpak-dynamic.XXXXXX");
		if (!mkdtemp(dy->tmpdir)) {
			dy->tmpdir[0] = '\0';
			return log_errno(-errno, "cannot create a temporary directory");
		}
		dy->dbpath = xasprintf("%s/dynamic.db", dy->tmpdir);
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
	if (strchr(input, '/'))
		strvec_push(&argv, input);
	else
		strvec_push_owned(&argv, xasprintf("./%s", input));
	for (size_t i = 0; i < dy->args.n; i++)
		strvec_push(&argv, dy->args.v[i]);
	ro.db = dy->dbpath;
	ro.argv = argv.v;
	ro.stdin_fd = fd;
	ro.label = "dynamic";
	/* A daemon the program starts (gpg's gpg-agent) would keep the run, and the build,
	 * waiting for good: what the program itself needed is known once it has ended. */
	ro.linger = true;
	ro.linger_s = DYNAMIC_LINGER_S;
	/* The program inherits fd 1: point it at a memory file (or nothing) for the run, so
	 * what it prints never mixes with magicpak's results. */
	out_fd = log_level >= LOG_DEBUG ? memfd_create("magicpak-dynamic-stdout", MFD_CLOEXEC)
					: open("/dev/null", O_WRONLY | O_CLOEXEC);
	fflush(stdout);
	saved_stdout = fcntl(1, F_DUPFD_CLOEXEC, 3);
	if (out_fd < 0 || saved_stdout < 0 || dup2(out_fd, 1) < 0) {
		ret = log_errno(-errno, "--dynamic: cannot prepare the program's stdout");
		goto out;
	}
	ret = record_run(&ro, &res);
	fflush(stdout);
	if (dup2(saved_stdout, 1) < 0) {
		ret = log_errno(-errno, "--dynamic: cannot restore stdout");
		goto out;
	}
	if (log_level >= LOG_DEBUG)
		show_stdout(out_fd);
	if (ret < 0)
		goto out;
	if (res.exit_code > 128 && res.exit_code < 128 + NSIG) {
		/* record reports a signal as a shell does, 128 + its number */
		ret = log_error(-ECHILD, "--dynamic: '%s' was killed by signal %d (%s)", input,
				res.exit_code - 128, strsignal(res.exit_code - 128));
		goto out;
	}
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
	po->db = dy->dbpath;
	assemble_add_session(po, res.session);
	log_info("--dynamic: bundling from session %lld", (long long)res.session);
out:
	if (saved_stdout >= 0) {
		dup2(saved_stdout, 1);
		close(saved_stdout);
	}
	if (out_fd >= 0)
		close(out_fd);
	if (fd >= 0)
		close(fd);
	strvec_clear(&argv);
	return ret;
}

int cmd_pack(int argc, char **argv)
{
	static const struct option longopts[] = {
		PACK_LONGOPTS,
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "cc", required_argument, NULL, OPT_CC },
		{ "experimental-noload-resolver", no_argument, NULL, OPT_NOLOAD },
		{ "dynamic", no_argument, NULL, 'd' },
		{ "dynamic-arg", required_argument, NULL, OPT_DYN_ARG },
		{ "dynamic-stdin", required_argument, NULL, OPT_DYN_STDIN },
		{ "db", required_argument, NULL, OPT_DB },
		PACK_IMAGE_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct assemble_opts po;
	struct dynamic dyn = { 0 };
	struct pack_test test;
	struct image_opts img;
	int c, nargs, status = EXIT_FAIL;
	struct stat last;

	assemble_opts_init(&po);
	pack_test_init(&test);
	image_opts_init(&img);
	po.library_path = getenv("LD_LIBRARY_PATH");
	/* Dockerfiles written for the original magicpak keep their --exclude globs' meaning. */
	po.legacy_excludes = true;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":" PACK_SHORTOPTS PACK_IMAGE_SHORTOPTS "Vhd", longopts,
				NULL)) != -1) {
		if (pack_parse_opt(c, optarg, &po, &test) || pack_image_parse_opt(c, optarg, &img))
			continue;
		switch (c) {
		case 'V': printf("magicpak %s\n", MAGICPAK_VERSION); return EXIT_OK;
		case 'h': printf(usage_fmt, pack_usage_bundling, pack_usage_test, pack_usage_image);
			return EXIT_OK;
		case OPT_CC:
		case OPT_NOLOAD:
			log_debug("--cc and --experimental-noload-resolver are no longer needed");
			break;
		case 'd': dyn.enabled = true; break;
		case OPT_DYN_ARG: strvec_push(&dyn.args, optarg); break;
		case OPT_DYN_STDIN: dyn.stdin_text = optarg; break;
		case OPT_DB: dyn.db = optarg; break;
		default:
			return usage_error("", c, argv);
		}
	}
	nargs = argc - optind;
	/* With an archive, OUTPUT may be left out: the last argument is then an INPUT when it
	 * is an existing file that is not a directory (OUTPUT never is one). */
	if (image_wants_archive(&img) && nargs >= 1 && stat(argv[argc - 1], &last) == 0 &&
	    !S_ISDIR(last.st_mode)) {
		for (int i = optind; i < argc; i++)
			strvec_push(&po.inputs, argv[i]);
	} else if (nargs < 2) {
		log_error(0, nargs ? "missing OUTPUT (usage: magicpak [OPTIONS] INPUT... OUTPUT)"
				   : "missing INPUT and OUTPUT (usage: magicpak [OPTIONS] INPUT... OUTPUT)");
		return EXIT_USAGE;
	} else {
		for (int i = optind; i < argc - 1; i++)
			strvec_push(&po.inputs, argv[i]);
		po.output = argv[argc - 1];
	}
	/* an image that cannot be written is no reason to run the program (and record it) */
	if ((status = pack_image_check(&img)) != EXIT_OK)
		goto out;
	status = EXIT_FAIL;
	if (dyn.enabled && dynamic_run(&dyn, po.inputs.v[0], &po) < 0)
		goto out;
	if (test.enabled) {
		/* The default test runs the first input where it is installed in the bundle. */
		char *abs = path_absolute(po.inputs.v[0]);

		test.installed = po.install_to ? assemble_install_dest(abs, po.install_to)
					       : xstrdup(abs);
		free(abs);
	}
	status = pack_build(&po, &test, &img);
out:
	image_opts_release(&img);
	pack_test_release(&test);
	assemble_opts_release(&po);
	dynamic_release(&dyn);
	return status;
}
