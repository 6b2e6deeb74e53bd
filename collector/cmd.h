/* SPDX-License-Identifier: MIT */
/* collector/cmd.h - the subcommands; each parses its own argv and returns an exit status. */
#ifndef COLLECTOR_CMD_H
#define COLLECTOR_CMD_H

#include <stdbool.h>

/* Exit statuses shared by every command. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Report the option getopt_long() just rejected in one "magicpak: " line; returns EXIT_USAGE.
 * Commands call getopt_long() with opterr = 0 and an optstring starting with "+:". */
int usage_error(const char *cmd, int c, char **argv);

/* A whole number of seconds, at most @max: digits only (strtoul() alone takes "-1" for the
 * largest value, and " 5" or "+5"). */
bool cmd_parse_seconds(const char *s, unsigned max, unsigned *out);

int cmd_deps(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_collect(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_bundle(int argc, char **argv);
int cmd_sessions(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_forget(int argc, char **argv);
int cmd_vacuum(int argc, char **argv);
int cmd_graph(int argc, char **argv);
/* The original magicpak command line: magicpak [OPTIONS] INPUT... OUTPUT */
int cmd_pack(int argc, char **argv);

#endif /* COLLECTOR_CMD_H */
