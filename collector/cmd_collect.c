/* SPDX-License-Identifier: MIT */
/* collector/cmd_collect.c - `magicpak collect`: a long-running collector for programs started
 * elsewhere with the preload library; one session from start to SIGINT/SIGTERM. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cmd.h"
#include "collect.h"
#include "log.h"
#include "record.h"
#include "store.h"

static const char usage[] =
	"usage: magicpak collect [--db FILE] --socket PATH [--label TEXT]\n"
	"\n"
	"Listen on the unix datagram socket PATH and record what every program started with\n"
	"  LD_PRELOAD=<libmagicpak-preload.so> MAGICPAK_SOCKET=PATH\n"
	"  (and LD_AUDIT=<libmagicpak-audit.so> for the libraries the loader opens)\n"
	"reports, as one session (source preload), until SIGINT or SIGTERM. The session is then\n"
	"marked complete unless records were lost, malformed, or a program ran unseen (static,\n"
	"setuid); a collector killed with SIGKILL leaves it incomplete.\n"
	"\n"
	"  -d, --db FILE          the database (default: $MAGICPAK_DB, else ./magicpak.db)\n"
	"  -s, --socket PATH      where to listen (a stale socket there is replaced)\n"
	"  -l, --label TEXT       a name for the session\n"
	"  -h, --help             show this help\n";

int cmd_collect(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "label", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = record_default_db(), *sock = NULL, *label = NULL;
	struct store_session s = { 0 };
	struct collect *c = NULL;
	struct store *st = NULL;
	struct collect_stats cs;
	char cwd[PATH_MAX], host[256] = "", why[192];
	sigset_t mask;
	int64_t id = 0;
	int ch, sfd = -1, ret, rc = EXIT_FAIL;
	bool pending = false;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:d:s:l:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		case 's': sock = optarg; break;
		case 'l':
			if (store_label_problem(optarg))
				die_usage("collect: --label '%s' %s", optarg, store_label_problem(optarg));
			label = optarg;
			break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return usage_error("collect", ch, argv);
		}
	}
	if (optind < argc) {
		log_error(0, "collect: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (!sock) {
		log_error(0, "collect: --socket PATH is required");
		return EXIT_USAGE;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		log_errno(-errno, "cannot create a signalfd");
		return EXIT_FAIL;
	}
	if (collect_open(sock, NULL, 0, &c) < 0)
		goto out;
	if (store_open(db, &st) < 0)
		goto out;
	collect_set_store(c, st);
	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';
	gethostname(host, sizeof(host) - 1);
	s.label = label;
	s.argv = (const char *const *)argv;
	s.cwd = cwd;
	s.source = MP_SRC_PRELOAD;
	s.host = host;
	if (store_session_begin(st, &s, &id) < 0)
		goto out;
	log_info("collecting into session %lld of '%s' from '%s'", (long long)id, db, sock);
	for (;;) {
		struct pollfd pfd[2] = { { collect_fd(c), POLLIN, 0 }, { sfd, POLLIN, 0 } };
		struct signalfd_siginfo si;

		/* 100 ms: what was received is in the database soon after a quiet moment, so a
		 * collector killed later loses nothing it had; none while the ring is behind */
		if (poll(pfd, 2, collect_poll_ms(c, 100)) < 0 && errno != EINTR) {
			log_errno(-errno, "poll");
			break;
		}
		ret = collect_drain(c);
		if (ret < 0) {
			log_errno(ret, "cannot store records in '%s'", db);
			break;
		}
		/* a quiet moment: make what was received durable */
		if (ret == 0 && pending && store_flush(st) < 0)
			break;
		/* a steady stream: written in bounded steps as it comes (a write of everything
		 * at once, 100,000 rows, kept the ring's writers waiting past RING_STALE_NS) */
		if (ret > 0 && store_flush_some(st, STORE_FLUSH_STEP, STORE_FLUSH_STEP) < 0)
			break;
		pending = ret > 0 || (pending && ret != 0);
		if (read(sfd, &si, sizeof(si)) == sizeof(si))
			break;
	}
	collect_finish(c);
	collect_get_stats(c, &cs);
	log_debug("%llu records, %llu of them through the socket", (unsigned long long)cs.records,
		  (unsigned long long)cs.datagrams);
	collect_incomplete_reason(c, why, sizeof(why));
	if (store_session_end(st, 0, !why[0], why[0] ? why : NULL) < 0)
		goto out;
	log_info("session %lld: %llu records, %llu accesses, %llu processes%s%s",
		 (long long)id, (unsigned long long)cs.records, (unsigned long long)cs.accesses,
		 (unsigned long long)cs.processes, why[0] ? ", incomplete: " : "", why);
	if (cs.bad)
		log_warn("%llu malformed records dropped", (unsigned long long)cs.bad);
	rc = why[0] ? EXIT_FAIL : EXIT_OK;
out:
	collect_free(c);
	store_free(st);
	if (sfd >= 0)
		close(sfd);
	return rc;
}
