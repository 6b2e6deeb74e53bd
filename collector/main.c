/* SPDX-License-Identifier: MIT */
/* collector/main.c - global options and the table of subcommands. Anything that is not a
 * subcommand is the original magicpak command line: magicpak [OPTIONS] INPUT... OUTPUT. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "log.h"
#include "sigkeep.h"

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct cmd commands[] = {
	{ "deps", cmd_deps, "list the objects ld.so would load for an ELF file or script" },
	{ "record", cmd_record, "run a command and record every file it touches" },
	{ "collect", cmd_collect, "record what preloaded programs report on a socket, until stopped" },
	{ "probe", cmd_probe, "load the eBPF probe now, kept loaded for the runs to come" },
	{ "test", cmd_test, "run a command isolated inside a bundle and report what it missed" },
	{ "bundle", cmd_bundle, "build one bundle from recorded sessions (their union)" },
	{ "sessions", cmd_sessions, "list the recorded sessions" },
	{ "report", cmd_report, "per path: the runs that used it, how, and whether it changed" },
	{ "diff", cmd_diff, "the paths only one of two sessions used, and those that changed" },
	{ "merge", cmd_merge, "copy the sessions of other databases into one" },
	{ "forget", cmd_forget, "delete sessions and their rows" },
	{ "vacuum", cmd_vacuum, "drop unused paths and compact the database" },
	{ "graph", cmd_graph, "draw the dependency graph of FILEs or of a session (DOT, SVG)" },
};

static void print_usage(FILE *f)
{
	fprintf(f, "usage: magicpak [OPTIONS] INPUT... OUTPUT    bundle INPUTs and what they need\n"
		   "       magicpak COMMAND [ARGS]...\n"
		   "       magicpak help [COMMAND]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'magicpak --help' shows the bundling options, 'magicpak COMMAND -h' a command's.\n");
}

bool cmd_parse_seconds(const char *s, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || s[strspn(s, "0123456789")] || errno || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

int usage_error(const char *cmd, int c, char **argv)
{
	const char *opt = argv[optind - 1];
	const char *sep = *cmd ? ": " : "", *sp = *cmd ? " " : "";
	char one[3] = { '-', (char)optopt, '\0' };
	bool is_long = !strncmp(opt, "--", 2);
	int n = (int)strcspn(opt, "=");

	/* getopt names a short option by optopt: argv[optind - 1] is its whole cluster ("-vx"),
	 * or not even that while the cluster goes on */
	if (!is_long && optopt)
		opt = one;
	if (c == ':')
		log_error(0, "%s%soption '%s' needs a value (see 'magicpak %s%s--help')", cmd, sep,
			  opt, cmd, sp);
	else if (is_long && optopt && opt[n])
		/* a known long option (optopt is its value) given '=VALUE' */
		log_error(0, "%s%soption '%.*s' takes no value (see 'magicpak %s%s--help')", cmd, sep,
			  n, opt, cmd, sp);
	else
		log_error(0, "%s%sunknown option '%s' (see 'magicpak %s%s--help')", cmd, sep, opt,
			  cmd, sp);
	return EXIT_USAGE;
}

static const struct cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct cmd *c;
	int i = 1;

	sigkeep_save(); /* before any thread: see sigkeep.h */
	/* Global verbosity options may come before a subcommand. */
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			if (log_level < LOG_DEBUG)
				log_level++;
		} else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
			log_level = LOG_ERROR;
		} else if (!strncmp(argv[i], "--log-level=", 12) ||
			   (!strcmp(argv[i], "--log-level") && i + 1 < argc)) {
			const char *v = argv[i][11] == '=' ? argv[i] + 12 : argv[++i];

			if (log_parse_level(v, &log_level) < 0)
				die_usage("--log-level: '%s' is not one of Off, Error, Warn, Info, Debug", v);
		} else {
			break;
		}
	}
	if (i < argc && !strcmp(argv[i], "help")) {
		if (i + 1 < argc && (c = find_cmd(argv[i + 1]))) {
			char *hv[] = { argv[i + 1], "--help", NULL };

			return c->fn(2, hv);
		}
		if (i + 1 < argc)
			die_usage("help: '%s' is not a magicpak command", argv[i + 1]);
		print_usage(stdout);
		return EXIT_OK;
	}
	if (i < argc && (c = find_cmd(argv[i])))
		return c->fn(argc - i, argv + i);
	/* one word that names no file: a mistyped command more likely than an INPUT alone */
	if (argc == 2 && argv[1][0] != '-' && !strchr(argv[1], '/') && access(argv[1], F_OK))
		die_usage("'%s' is not a magicpak command (magicpak --help lists them), nor a file "
			  "to bundle (magicpak [OPTIONS] INPUT... OUTPUT)", argv[1]);
	/* The one-shot form parses -v and --log-level itself, from the start. */
	log_level = LOG_WARN;
	return cmd_pack(argc, argv);
}
