/* SPDX-License-Identifier: MIT */
/* collector/cmd_probe.c - `magicpak probe`: load the eBPF probe now and leave it loaded for the
 * runs to come, which attach it instead of loading their own (collector/probe.c: keep()); or
 * let go of one left loaded. Loading costs the run that does it 6-9 ms of kernel time here
 * (the verifier, the maps, the attaches), a tenth of W1: done ahead, outside the runs that
 * count, as a peer's tracer is started before the command it watches. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "cmd.h"
#include "log.h"
#include "probe.h"

#define PROBE_KEEP_DEFAULT 600

static const char usage[] =
	"usage: magicpak probe [--keep SECONDS]\n"
	"       magicpak probe --stop | --status\n"
	"\n"
	"Load the eBPF probe of `record --via bpf` (and --bpf, --cross-check) now, and keep it\n"
	"loaded for SECONDS: the runs that follow attach it instead of loading their own, which\n"
	"takes a run several milliseconds. Nothing runs on a system call while it is kept (its\n"
	"per-syscall program is detached). A run started meanwhile takes it over, and leaves it\n"
	"kept again for the usual time after it. Needs root. Writes no history.\n"
	"\n"
	"  -k, --keep SECONDS   how long it is kept, 1 to 86400 (default 600)\n"
	"      --stop           let go of the probe a run or this command left loaded\n"
	"      --status         say whether one is loaded for the next run, and by which pid\n"
	"  -h, --help           show this help\n";

static void no_record(void *ctx, const struct mp_wire *w, const char *payload, size_t len)
{
	(void)ctx, (void)w, (void)payload, (void)len;
}

static int status(void)
{
	bool kept;
	pid_t pid = probe_offered(&kept);

	if (pid < 0)
		return log_error(EXIT_FAIL, "probe: --status needs root (the loaded probe is root's)");
	if (!pid)
		printf("bpf probe: none is kept\n");
	else if (kept)
		printf("bpf probe: kept loaded by pid %d, its per-syscall program detached\n", (int)pid);
	else
		printf("bpf probe: lingering in pid %d, still attached\n", (int)pid);
	return EXIT_OK;
}

static int stop(void)
{
	pid_t pid = probe_release();

	if (pid < 0)
		return log_error(EXIT_FAIL, "probe: --stop needs root (the loaded probe is root's)");
	if (pid)
		printf("bpf probe: the one pid %d held is let go\n", (int)pid);
	else
		printf("bpf probe: none is kept\n");
	return EXIT_OK;
}

int cmd_probe(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "keep", required_argument, NULL, 'k' },
		{ "stop", no_argument, NULL, 's' },
		{ "status", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned keep = PROBE_KEEP_DEFAULT;
	bool want_stop = false, want_status = false, keep_given = false;
	struct probe *p = NULL;
	char why[192];
	uint64_t t0;
	pid_t keeper, from;
	int ch, ret;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:k:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			if (!cmd_parse_seconds(optarg, PROBE_KEEP_MAX_S, &keep) || !keep)
				die_usage("probe: --keep '%s' is not a whole number of seconds from 1 to %d",
					  optarg, PROBE_KEEP_MAX_S);
			keep_given = true;
			break;
		case 's': want_stop = true; break;
		case 'S': want_status = true; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return usage_error("probe", ch, argv);
		}
	}
	if (optind < argc) {
		log_error(0, "probe: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (want_stop + want_status + keep_given > 1) {
		log_error(0, "probe: --keep, --stop and --status do not go together");
		return EXIT_USAGE;
	}
	if (want_stop)
		return stop();
	if (want_status)
		return status();
	/* the offer later runs take is root's (/run/magicpak): a probe loaded by anyone else
	 * would be gone with this command */
	if (geteuid() != 0)
		return log_error(EXIT_FAIL, "probe: keeping the probe for later runs needs root");
	t0 = clock_mono_ns();
	ret = probe_open(&p, no_record, NULL, NULL, NULL, why, sizeof(why));
	if (ret < 0)
		return log_error(EXIT_FAIL, "probe: cannot load the BPF probe: %s", why);
	probe_keep_for(p, (long)keep);
	/* attached, as by a run: the child that outlives us holds it from here (linger()) */
	ret = probe_attach(p, PROBE_FOLD_SESSION, why, sizeof(why));
	if (ret < 0) {
		probe_destroy(p);
		return log_error(EXIT_FAIL, "probe: %s", why);
	}
	keeper = probe_keeper_pid(p);
	from = probe_taken_from(p);
	if (!keeper) {
		probe_destroy(p);
		return log_error(EXIT_FAIL, "probe: no process could be started to keep the probe "
					    "(MAGICPAK_BPF_LINGER_MS=0 turns keeping off)");
	}
	if (from)
		printf("bpf probe: took over the one pid %d held; kept for %u s by pid %d\n", (int)from,
		       keep, (int)keeper);
	else
		printf("bpf probe: loaded and attached in %.1f ms; kept for %u s by pid %d\n",
		       (double)(clock_mono_ns() - t0) / 1e6, keep, (int)keeper);
	fflush(stdout);
	/* the child's countdown starts as we exit (the end of its pipe) */
	probe_destroy(p);
	return EXIT_OK;
}
