/* SPDX-License-Identifier: MIT */
/* collector/cmd_record.c - `magicpak record`: run a command and keep every file it touched. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "exitfast.h"
#include "lazylib.h"
#include "log.h"
#include "record.h"
#include "store.h"

static const char usage[] =
	"usage: magicpak record [OPTIONS] -- COMMAND [ARG]...\n"
	"\n"
	"Run COMMAND under ptrace (or with the preload library), following every process and\n"
	"thread it starts, and record\n"
	"each path it opens, stats, executes, lists or changes, with the result, as one session\n"
	"in an SQLite database. The command keeps its own stdin, stdout and stderr; its exit\n"
	"status is magicpak's (128+N when killed by signal N).\n"
	"\n"
	"  -d, --db FILE          the database (default: $MAGICPAK_DB, else ./magicpak.db)\n"
	"  -l, --label TEXT       a name for the session, usable wherever an id is\n"
	"  -T, --timeout S        kill the whole process tree after S seconds\n"
	"      --linger S         once the command's first process has ended, kill what it\n"
	"                         left running (a daemon it started) after S seconds (0: at\n"
	"                         once); default: wait for the whole tree (ptrace only)\n"
	"      --via SOURCE       ptrace (default): every syscall, any program; preload: an\n"
	"                         LD_PRELOAD/LD_AUDIT library, no ptrace needed, faster, blind\n"
	"                         to static and setuid programs (the session says so); bpf: the\n"
	"                         eBPF probe alone (root or CAP_BPF+CAP_PERFMON), lowest overhead\n"
	"      --bpf[=required]   also run the eBPF probe, its events stored with source bpf;\n"
	"                         without it (privileges, BTF, tracepoints) say why and go on,\n"
	"                         or with =required fail\n"
	"      --bpf-per-process  the probe keeps one row per process for an access several\n"
	"                         processes make (as ptrace does), not one for the session with\n"
	"                         every process's repeats counted on its first\n"
	"      --cross-check      ptrace, the preload library and the probe at once; then print\n"
	"                         the paths one source missed and another saw, and why\n"
	"      --hash             also store the sha256 of every regular file the run used\n"
	"      --no-seccomp       stop at every syscall instead of filtering with seccomp-bpf\n"
	"      --allow-incomplete exit with the command's status even when the session is\n"
	"                         incomplete (io_uring, unreadable paths, time-out)\n"
	"  -h, --help             show this help\n";

enum { OPT_HASH = 256, OPT_NO_SECCOMP, OPT_ALLOW_INCOMPLETE, OPT_VIA, OPT_BPF, OPT_CROSS_CHECK,
       OPT_LINGER, OPT_BPF_PER_PROCESS };

int cmd_record(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "label", required_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "hash", no_argument, NULL, OPT_HASH },
		{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
		{ "allow-incomplete", no_argument, NULL, OPT_ALLOW_INCOMPLETE },
		{ "via", required_argument, NULL, OPT_VIA },
		{ "bpf", optional_argument, NULL, OPT_BPF },
		{ "cross-check", no_argument, NULL, OPT_CROSS_CHECK },
		{ "bpf-per-process", no_argument, NULL, OPT_BPF_PER_PROCESS },
		{ "linger", required_argument, NULL, OPT_LINGER },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct record_opts o = { .db = record_default_db(), .stdin_fd = -1 };
	struct record_result res;
	bool allow_incomplete = false;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:d:l:T:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o.db = optarg; break;
		case 'l':
			if (store_label_problem(optarg))
				die_usage("record: --label '%s' %s", optarg, store_label_problem(optarg));
			o.label = optarg;
			break;
		case 'T':
			if (!cmd_parse_seconds(optarg, UINT_MAX, &o.timeout_s))
				die_usage("record: --timeout: '%s' is not a number of seconds", optarg);
			break;
		case OPT_LINGER:
			if (!cmd_parse_seconds(optarg, UINT_MAX, &o.linger_s))
				die_usage("record: --linger: '%s' is not a number of seconds", optarg);
			o.linger = true;
			break;
		case OPT_HASH: o.hash = true; break;
		case OPT_NO_SECCOMP: o.no_seccomp = true; break;
		case OPT_ALLOW_INCOMPLETE: allow_incomplete = true; break;
		case OPT_VIA:
			if (!strcmp(optarg, "ptrace"))
				o.via = RECORD_VIA_PTRACE;
			else if (!strcmp(optarg, "preload"))
				o.via = RECORD_VIA_PRELOAD;
			else if (!strcmp(optarg, "bpf"))
				o.via = RECORD_VIA_BPF;
			else
				die_usage("record: --via: '%s' is not ptrace, preload or bpf", optarg);
			break;
		case OPT_BPF:
			if (!optarg)
				o.bpf = RECORD_BPF_TRY;
			else if (!strcmp(optarg, "required"))
				o.bpf = RECORD_BPF_REQUIRED;
			else
				die_usage("record: --bpf: '%s' is not 'required'", optarg);
			break;
		case OPT_CROSS_CHECK: o.cross_check = true; break;
		case OPT_BPF_PER_PROCESS: o.bpf_per_process = true; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return usage_error("record", c, argv);
		}
	}
	if (optind >= argc) {
		log_error(0, "record: no COMMAND given (usage: magicpak record [OPTIONS] -- COMMAND...)");
		return EXIT_USAGE;
	}
	o.argv = argv + optind;
	if (o.linger && o.via != RECORD_VIA_PTRACE)
		die_usage("record: --linger works with --via ptrace only");
	if (o.cross_check && o.via != RECORD_VIA_PTRACE)
		die_usage("record: --cross-check runs every source itself: drop --via");
	if (o.bpf_per_process && o.via != RECORD_VIA_BPF && o.bpf == RECORD_BPF_OFF && !o.cross_check)
		die_usage("record: --bpf-per-process needs the probe: add --via bpf, --bpf or --cross-check");
	if (o.via == RECORD_VIA_BPF && o.bpf != RECORD_BPF_OFF)
		o.bpf = RECORD_BPF_OFF; /* the probe is the source already */
	/* --hash without libcrypto would record no hash: say so before the command runs */
	if (o.hash && lazy_crypto_load() < 0)
		return EXIT_FAIL;
	/* what record_run() would free only before the exit below (0.1-0.3 ms) */
	o.leave_memory = !exit_checks_leaks();
	if (record_run(&o, &res) < 0)
		return EXIT_FAIL;
	log_info("session %lld in '%s': %llu accesses, %llu files read, %llu processes, exit %d%s%s",
		 (long long)res.session, o.db, (unsigned long long)res.accesses,
		 (unsigned long long)res.files, (unsigned long long)res.processes, res.exit_code,
		 res.complete ? "" : ", incomplete: ", res.complete ? "" : res.why);
	if (!res.complete && !allow_incomplete) {
		/* the one loss a setting cures: the probe's ring overflowed (a flood of new paths) */
		log_error(0, "session %lld is incomplete (%s): not every file access was seen%s",
			  (long long)res.session, res.why,
			  strstr(res.why, "bpf_events_dropped") ? "; a larger ring for the probe:"
			  " MAGICPAK_BPF_RINGBUF_PAGES=1024" : "");
		exit_fast(res.exit_code ? res.exit_code : EXIT_FAIL);
	}
	exit_fast(res.exit_code);
}
