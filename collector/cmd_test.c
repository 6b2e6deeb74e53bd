/* SPDX-License-Identifier: MIT */
/* collector/cmd_test.c - `magicpak test`: run a command isolated inside a bundle, say whether
 * it passed, and on failure which files it looked for that the bundle lacks. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "jail.h"
#include "log.h"

static const char usage[] =
	"usage: magicpak test BUNDLE [OPTIONS] -- COMMAND [ARG]...\n"
	"\n"
	"Run COMMAND (directly, no shell; looked up on PATH inside) in a jail made of the\n"
	"bundle directory BUNDLE: new mount, pid, network (only lo), ipc and uts namespaces\n"
	"(and a user namespace when not root), pivot_root into a throwaway overlay of the\n"
	"bundle (which is never changed), a fresh /proc, /tmp, a minimal /dev, a clean\n"
	"environment, no capabilities, a new session. The command's stdout is printed on\n"
	"stdout; on failure its stderr is shown, and the command is run once more under the\n"
	"tracer to name the files it looked for that the host has and the bundle lacks.\n"
	"As root the jail runs in a throwaway cgroup with pids.max and memory.max (no swap);\n"
	"otherwise RLIMIT_NPROC and RLIMIT_AS stand in (-v says which). Hitting a limit fails\n"
	"the test.\n"
	"\n"
	"      --stdin TEXT          the command's stdin (default: empty)\n"
	"      --expect-stdout TEXT  pass only if the output equals TEXT (both trimmed of\n"
	"                            leading and trailing whitespace)\n"
	"  -T, --timeout S           kill the whole jail after S seconds: the test fails\n"
	"      --busybox PATH|NAME   a static busybox giving the jail /bin/sh and applets when\n"
	"                            the bundle has no /bin/sh (never added to the bundle)\n"
	"      --env K=V             set K for the command; a bare K passes the host's value;\n"
	"                            repeatable (default: PATH and HOME=/ only)\n"
	"      --pids-max N          at most N processes and threads in the jail (default\n"
	"                            1024; 0 or max: no limit)\n"
	"      --memory-max SIZE     at most SIZE bytes of memory, K, M, G or T suffix\n"
	"                            (default: half the machine's RAM; 0 or max: no limit)\n"
	"      --no-diagnose         on failure, do not rerun the command under the tracer\n"
	"      --isolation MODE      auto (default): the namespaces above, and where they are\n"
	"                            refused (Docker's seccomp profile in `docker build`) a\n"
	"                            plain chroot of a copy of the bundle, with a warning;\n"
	"                            namespaces: those or fail; chroot: the plain chroot only\n"
	"                            (it shares the host's processes, network and IPC, and\n"
	"                            has no /proc; root only)\n"
	"      --user USER[:GROUP]   run the command as USER and GROUP (numbers, or names in\n"
	"                            the bundle's /etc/passwd and /etc/group; without GROUP\n"
	"                            USER's group there, else 0; the groups there that list\n"
	"                            USER, as docker run --user); root, in the namespaces\n"
	"  -h, --help                show this help\n"
	"\n"
	"Exit status: 0 passed, 1 the test ran and failed, 3 the test could not be set up\n"
	"(no privileges or user namespaces, no such bundle, ...), 2 usage.\n";

enum { OPT_STDIN = 256, OPT_EXPECT, OPT_BUSYBOX, OPT_ENV, OPT_NO_DIAGNOSE, OPT_PIDS_MAX,
       OPT_MEMORY_MAX, OPT_ISOLATION, OPT_USER };

/* @s shortened and escaped for one line: "abc\n" -> "abc\\n" in quotes. */
static void add_excerpt(struct strbuf *sb, const char *s)
{
	size_t i;

	strbuf_addch(sb, '"');
	for (i = 0; s[i] && i < 80; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\n')
			strbuf_adds(sb, "\\n");
		else if (ch == '"' || ch == '\\')
			strbuf_addf(sb, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			strbuf_addf(sb, "\\x%02x", ch);
		else
			strbuf_addch(sb, (char)ch);
	}
	strbuf_addch(sb, '"');
	if (s[i])
		strbuf_adds(sb, "...");
}

int cmd_test(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "stdin", required_argument, NULL, OPT_STDIN },
		{ "expect-stdout", required_argument, NULL, OPT_EXPECT },
		{ "timeout", required_argument, NULL, 'T' },
		{ "busybox", required_argument, NULL, OPT_BUSYBOX },
		{ "env", required_argument, NULL, OPT_ENV },
		{ "no-diagnose", no_argument, NULL, OPT_NO_DIAGNOSE },
		{ "pids-max", required_argument, NULL, OPT_PIDS_MAX },
		{ "memory-max", required_argument, NULL, OPT_MEMORY_MAX },
		{ "isolation", required_argument, NULL, OPT_ISOLATION },
		{ "user", required_argument, NULL, OPT_USER },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct jail_opts o = { 0 };
	struct jail_user ju = { 0 };
	struct jail_result res, diag;
	struct strvec env = STRVEC_INIT;
	struct strbuf line = STRBUF_INIT;
	const char *expect = NULL, *user = NULL;
	bool diagnose = true, output_ok, passed, limited;
	int c, before, ret;

	opterr = 0;
	/* BUNDLE may come before, between or after the options; "--" starts the command. */
	while (optind < argc) {
		before = optind;
		c = getopt_long(argc, argv, "+:T:h", longopts, NULL);
		if (c == -1) {
			if (optind == before + 1 && !strcmp(argv[before], "--"))
				break;
			if (o.root)
				break;
			o.root = argv[optind++];
			continue;
		}
		switch (c) {
		case OPT_STDIN: o.stdin_text = optarg; break;
		case OPT_EXPECT: expect = optarg; break;
		case 'T':
			if (!cmd_parse_seconds(optarg, 86400 * 365, &o.timeout_s)) {
				strvec_clear(&env);
				die_usage("test: --timeout: '%s' is not a number of seconds", optarg);
			}
			break;
		case OPT_BUSYBOX: o.busybox = optarg; break;
		case OPT_ENV:
			if (*optarg == '=' || !*optarg) {
				strvec_clear(&env);
				die_usage("test: --env: '%s' is not K=V or K", optarg);
			}
			strvec_push(&env, optarg);
			break;
		case OPT_NO_DIAGNOSE: diagnose = false; break;
		case OPT_PIDS_MAX:
			if (jail_parse_limit(optarg, false, &o.pids_max) < 0) {
				strvec_clear(&env);
				die_usage("test: --pids-max: '%s' is not a number of processes (1 to "
					  "4194304), 0 or max", optarg);
			}
			break;
		case OPT_MEMORY_MAX:
			if (jail_parse_limit(optarg, true, &o.memory_max) < 0) {
				strvec_clear(&env);
				die_usage("test: --memory-max: '%s' is not a size (a number with an "
					  "optional K, M, G or T), 0 or max", optarg);
			}
			break;
		case OPT_ISOLATION:
			if (jail_parse_isolation(optarg, &o.isolation) < 0) {
				strvec_clear(&env);
				die_usage("test: --isolation: '%s' is not auto, namespaces or chroot",
					  optarg);
			}
			break;
		case OPT_USER: user = optarg; break;
		case 'h': fputs(usage, stdout); strvec_clear(&env); return EXIT_OK;
		default: strvec_clear(&env); return usage_error("test", c, argv);
		}
	}
	if (!o.root || optind >= argc) {
		log_error(0, "test: %s (usage: magicpak test BUNDLE [OPTIONS] -- COMMAND...)",
			  o.root ? "no COMMAND given" : "no BUNDLE given");
		strvec_clear(&env);
		return EXIT_USAGE;
	}
	o.argv = argv + optind;
	o.env = &env;
	if (user) {
		ret = jail_parse_user(o.root, user, &ju);
		if (ret < 0) {
			strvec_clear(&env);
			return ret == -EINVAL ? EXIT_USAGE : JAIL_EXIT_SETUP;
		}
		o.user = &ju;
	}

	jail_result_init(&res);
	jail_result_init(&diag);
	if (jail_run(&o, &res) < 0) {
		ret = JAIL_EXIT_SETUP;
		goto out;
	}
	fwrite(res.out.buf, 1, res.out.len, stdout);
	fflush(stdout);
	output_ok = !expect || jail_output_matches(res.out.buf, expect);
	limited = res.pids_hit || res.oom_killed;
	passed = !res.timed_out && res.exit_code == 0 && output_ok && !limited;
	if (passed) {
		log_error(0, "test passed: '%s' exited 0%s%s", o.argv[0],
			  expect ? " with the expected output" : "",
			  res.chroot_only ? " (in a plain chroot, not isolated)" : "");
		ret = EXIT_OK;
		goto out;
	}

	/* The command's stderr, then one line saying why the test failed. */
	fflush(stderr);
	if (res.err.len && write(STDERR_FILENO, res.err.buf, res.err.len) < 0) {
		/* stderr is gone: the verdict below cannot be shown either */
	}
	if (res.err.len && res.err.buf[res.err.len - 1] != '\n' && write(STDERR_FILENO, "\n", 1) < 0) {
		/* as above */
	}
	if (res.timed_out)
		strbuf_addf(&line, "test failed (timed out after %u s)", o.timeout_s);
	else if (res.exit_code || limited)
		strbuf_addf(&line, "test failed (exit %d)", res.exit_code);
	else {
		strbuf_adds(&line, "test failed (exit 0, but its output differs from --expect-stdout: got ");
		add_excerpt(&line, res.out.buf);
		strbuf_adds(&line, ", want ");
		add_excerpt(&line, expect);
		strbuf_adds(&line, ")");
	}
	if (limited) {
		/* the limit explains the failure: no rerun of a fork storm or a memory hog */
		strbuf_adds(&line, ": ");
		jail_describe_limits(&res, &line);
	} else if (diagnose) {
		o.diagnose = true;
		if (jail_run(&o, &diag) == 0) {
			strbuf_adds(&line, ": ");
			jail_describe_missing(&diag, &line);
		}
	}
	log_error(0, "%s", line.buf);
	ret = JAIL_EXIT_FAILED;
out:
	jail_result_release(&res);
	jail_result_release(&diag);
	jail_user_release(&ju);
	strbuf_release(&line);
	strvec_clear(&env);
	return ret;
}
