/* SPDX-License-Identifier: MIT */
/* collector/cmd_pack.c - the original magicpak command line: magicpak [OPTIONS] INPUT... OUTPUT.
 * Resolve every input (and ELF --include match), then copy the closure into OUTPUT. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assemble.h"
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
enum { OPT_MKDIR = 256, OPT_LOG_LEVEL, OPT_CC, OPT_NOLOAD, OPT_UNSUPPORTED };

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
		{ "dynamic-arg", required_argument, NULL, OPT_UNSUPPORTED },
		{ "dynamic-stdin", required_argument, NULL, OPT_UNSUPPORTED },
		{ "compress", no_argument, NULL, 'c' },
		{ "upx-arg", required_argument, NULL, OPT_UNSUPPORTED },
		{ "upx", required_argument, NULL, OPT_UNSUPPORTED },
		{ "busybox", required_argument, NULL, OPT_UNSUPPORTED },
		{ NULL, 0, NULL, 0 },
	};
	struct assemble_opts po;
	int c, nargs, status;

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
		case 't':
		case 'd':
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
	status = assemble(&po) < 0 ? EXIT_FAIL : EXIT_OK;
	assemble_opts_release(&po);
	return status;
}
