/* SPDX-License-Identifier: MIT */
/* collector/cmd_bundle.c - `magicpak bundle`: build one bundle from the union of recorded
 * sessions, with every bundling and test option of the one-shot form. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assemble.h"
#include "cmd.h"
#include "cmd_packopts.h"
#include "log.h"
#include "record.h"
#include "store.h"

static const char usage_fmt[] =
	"usage: magicpak bundle [OPTIONS] OUTPUT\n"
	"       magicpak bundle [OPTIONS] --oci-archive FILE|--docker-archive FILE [OUTPUT]\n"
	"\n"
	"Build the directory OUTPUT from recorded sessions (magicpak record): the union of\n"
	"the files, directories and symlink chains they used successfully (never /proc, /sys,\n"
	"/dev), with everything ld.so would load for each ELF file among them. A file is\n"
	"copied only if it is still the file a session recorded (same inode); one changed\n"
	"since (size, mtime, sha256) is reported. OUTPUT must not exist or be empty.\n"
	"\n"
	"  -d, --db FILE             the database (default: $MAGICPAK_DB, else ./magicpak.db)\n"
	"  -s, --session ID|LABEL|last\n"
	"                            a session to bundle from; repeatable (default: last)\n"
	"  -a, --all                 every session in the database\n"
	"      --since TIME          every session started at or after TIME: YYYY-MM-DD,\n"
	"                            YYYY-MM-DDTHH:MM[:SS][Z] (UTC) or @EPOCH / EPOCH seconds\n"
	"      --allow-incomplete    bundle from incomplete sessions too (else an error)\n"
	"      --strict              a changed file, a file that is not the one recorded, or a\n"
	"                            conflict between sessions is an error: nothing written\n"
	"%s"
	"      --test-command CMD    with --test (required): the test, run by /bin/sh -c\n"
	"%s"
	"%s"
	"  -h, --help                show this help\n";

enum { OPT_SINCE = PACK_OPT_NEXT, OPT_ALLOW_INCOMPLETE, OPT_STRICT };

struct bundle_opts_cli {
	struct assemble_opts *po;
	struct store *st;
	int64_t n;
	int64_t recording; /* left out: still being recorded */
};

static int add_listed(void *ctx, const struct store_session_info *s)
{
	struct bundle_opts_cli *c = ctx;
	bool recording = false;

	/* --all and --since take the sessions finished when the bundle starts: one a record is
	 * still writing is left out (named, it is refused as incomplete), one whose recorder
	 * died is not (incomplete: refused unless --allow-incomplete) */
	if (!s->complete && s->reason && !strcmp(s->reason, "running") &&
	    !store_session_recording(c->st, s->id, &recording) && recording) {
		log_warn("session %" PRId64 " is still being recorded: left out", s->id);
		c->recording++;
		return 0;
	}
	assemble_add_session(c->po, s->id);
	c->n++;
	return 0;
}

/* @s as the ISO-8601 UTC text sessions.started_at holds, into @out; -EINVAL if it is none
 * of the accepted forms. */
static int parse_since(const char *s, char out[32])
{
	static const char *const forms[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
					     "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d" };
	struct tm tm;
	const char *p = *s == '@' ? s + 1 : s, *end = NULL;
	char *e;
	time_t t;

	if (*p && strspn(p, "0123456789") == strlen(p)) {
		errno = 0;
		t = (time_t)strtoll(p, &e, 10);
		if (errno)
			return -EINVAL;
	} else {
		for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]) && !end; i++) {
			memset(&tm, 0, sizeof(tm));
			end = strptime(s, forms[i], &tm);
			/* Fractions of a second are dropped; only UTC ("Z" or nothing) is taken. */
			if (end && *end == '.')
				end += 1 + strspn(end + 1, "0123456789");
			if (end && *end == 'Z')
				end++;
			if (end && *end)
				end = NULL;
		}
		if (!end)
			return -EINVAL;
		{
			struct tm asked = tm;

			t = timegm(&tm);
			/* strptime() takes February 31st; timegm() makes it March 3rd */
			if (tm.tm_mday != asked.tm_mday || tm.tm_mon != asked.tm_mon ||
			    tm.tm_hour != asked.tm_hour || tm.tm_min != asked.tm_min ||
			    tm.tm_sec != asked.tm_sec)
				return -EINVAL;
		}
	}
	if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm))
		return -EINVAL;
	return 0;
}

int cmd_bundle(int argc, char **argv)
{
	static const struct option longopts[] = {
		PACK_LONGOPTS,
		PACK_IMAGE_LONGOPTS,
		{ "db", required_argument, NULL, 'd' },
		{ "session", required_argument, NULL, 's' },
		{ "all", no_argument, NULL, 'a' },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "allow-incomplete", no_argument, NULL, OPT_ALLOW_INCOMPLETE },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct assemble_opts po;
	struct pack_test test;
	struct image_opts img;
	struct strvec specs = STRVEC_INIT;
	struct store *st = NULL;
	struct bundle_opts_cli lc = { &po, NULL, 0, 0 };
	const char *since = NULL;
	char since_iso[32];
	bool all = false;
	int64_t id;
	int c, status = EXIT_FAIL;

	assemble_opts_init(&po);
	pack_test_init(&test);
	image_opts_init(&img);
	po.library_path = getenv("LD_LIBRARY_PATH");
	po.db = record_default_db();
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":" PACK_SHORTOPTS PACK_IMAGE_SHORTOPTS "d:s:ah", longopts,
				NULL)) != -1) {
		if (pack_parse_opt(c, optarg, &po, &test) || pack_image_parse_opt(c, optarg, &img))
			continue;
		switch (c) {
		case 'd': po.db = optarg; break;
		case 's': strvec_push(&specs, optarg); break;
		case 'a': all = true; break;
		case OPT_SINCE: since = optarg; break;
		case OPT_ALLOW_INCOMPLETE: po.allow_incomplete = true; break;
		case OPT_STRICT: po.strict = true; break;
		case 'h':
			printf(usage_fmt, pack_usage_bundling, pack_usage_test, pack_usage_image);
			status = EXIT_OK;
			goto out;
		default:
			status = usage_error("bundle", c, argv);
			goto out;
		}
	}
	status = EXIT_USAGE;
	if (optind != argc - 1 && !(optind == argc && image_wants_archive(&img))) {
		log_error(0, optind >= argc ? "bundle: missing OUTPUT (usage: magicpak bundle "
					      "[OPTIONS] OUTPUT)"
					    : "bundle: one OUTPUT only, got '%s' after it (usage: "
					      "magicpak bundle [OPTIONS] OUTPUT)", argv[argc - 1]);
		goto out;
	}
	po.output = optind < argc ? argv[optind] : NULL;
	if (po.install_to) {
		log_error(0, "bundle: --install-to places an INPUT, and bundle takes none; use "
			  "the one-shot form (magicpak [OPTIONS] INPUT... OUTPUT)");
		goto out;
	}
	if (test.enabled && !test.command) {
		log_error(0, "bundle: --test needs --test-command CMD (there is no INPUT to run)");
		goto out;
	}
	if (since && parse_since(since, since_iso) < 0) {
		log_error(0, "bundle: --since: '%s' is not a valid YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z] or "
			  "epoch seconds", since);
		goto out;
	}
	if (all && (since || specs.n)) {
		log_error(0, "bundle: --all and %s both choose sessions; give one",
			  since ? "--since" : "--session");
		goto out;
	}
	status = EXIT_FAIL;
	if (store_open_readonly(po.db, &st) < 0)
		goto out;
	if (!specs.n && !all && !since)
		strvec_push(&specs, "last");
	for (size_t i = 0; i < specs.n; i++) {
		if (store_find_session(st, specs.v[i], &id) < 0)
			goto out;
		assemble_add_session(&po, id);
	}
	lc.st = st;
	if ((all || since) && store_session_list(st, all ? NULL : since_iso, add_listed, &lc) < 0)
		goto out;
	if ((all || since) && !lc.n) {
		if (lc.recording)
			log_error(0, "no finished session in '%s'%s%s: %" PRId64 " still being "
				  "recorded", po.db, since ? " started at or after " : "",
				  since ? since_iso : "", lc.recording);
		else
			log_error(0, since ? "no session in '%s' started at or after %s"
					   : "no sessions in '%s'%s", po.db, since ? since_iso : "");
		goto out;
	}
	store_free(st);
	st = NULL;
	if ((status = pack_image_check(&img)) == EXIT_OK)
		status = pack_build(&po, &test, &img);
out:
	image_opts_release(&img);
	store_free(st);
	strvec_clear(&specs);
	pack_test_release(&test);
	assemble_opts_release(&po);
	return status;
}
