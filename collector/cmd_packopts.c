/* SPDX-License-Identifier: MIT */
/* collector/cmd_packopts.c - the bundling and test options shared by the one-shot form and
 * `magicpak bundle`, and the --test hook both hand to assemble(). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cmd.h"
#include "cmd_packopts.h"
#include "jail.h"
#include "log.h"
#include "path.h"
#include "tree.h"
#include "xalloc.h"

const char pack_usage_bundling[] =
	"  -i, --include GLOB        also bundle matching files and whole directories (ELF\n"
	"                            files matched get their libraries too); repeatable\n"
	"  -e, --exclude GLOB        never write a destination path that matches, nor any\n"
	"                            below a matching directory (applied last, symlink\n"
	"                            targets included); repeatable\n"
	"      --mkdir PATH          create an empty directory in the bundle; repeatable\n"
	"  -L, --library-path PATH   assume LD_LIBRARY_PATH=PATH (default: the environment's)\n";

const char pack_usage_test[] =
	"  -t, --test                run a test in the finished bundle, isolated (magicpak\n"
	"                            test); OUTPUT is written only if it passes\n"
	"      --test-stdin TEXT     the test's stdin (default: empty)\n"
	"      --test-stdout TEXT    the test passes only if its output, trimmed, is TEXT\n"
	"      --test-timeout S      kill the test after S seconds: it fails (default 0: none)\n"
	"      --busybox PATH|NAME   a static busybox giving the test /bin/sh when the bundle\n"
	"                            has none (default: busybox on PATH; never bundled)\n"
	"      --pids-max N          the test's process limit (default 1024; 0: none)\n"
	"      --memory-max SIZE     its memory limit, K/M/G/T suffix (default: half the\n"
	"                            RAM; 0: none); see magicpak test\n"
	"  -v, --verbose             say more (same as --log-level Info; twice: Debug)\n"
	"  -q, --quiet               errors only\n"
	"      --log-level LEVEL     Off, Error, Warn (default), Info or Debug, any case\n";

void pack_test_init(struct pack_test *t)
{
	memset(t, 0, sizeof(*t));
	t->busybox = "busybox";
}

void pack_test_release(struct pack_test *t)
{
	free(t->installed);
	t->installed = NULL;
}

int pack_parse_opt(int c, const char *arg, struct assemble_opts *po, struct pack_test *t)
{
	switch (c) {
	case 'i': strvec_push(&po->includes, arg); break;
	case 'e': strvec_push(&po->excludes, arg); break;
	case PACK_OPT_MKDIR: strvec_push(&po->mkdirs, arg); break;
	case 'r':
		if (!*arg)
			die_usage("--install-to: an empty path (give a path in the bundle, such as /app/)");
		po->install_to = arg;
		break;
	case 'L': po->library_path = arg; break;
	case 'v':
		if (log_level < LOG_INFO)
			log_level = LOG_INFO;
		else if (log_level < LOG_DEBUG)
			log_level++;
		break;
	case 'q': log_level = LOG_ERROR; break;
	case PACK_OPT_LOG_LEVEL:
		if (log_parse_level(arg, &log_level) < 0)
			die_usage("--log-level: '%s' is not one of Off, Error, Warn, Info, Debug", arg);
		break;
	case 't': t->enabled = true; break;
	case PACK_OPT_TEST_CMD: t->command = arg; break;
	case PACK_OPT_TEST_STDIN: t->stdin_text = arg; break;
	case PACK_OPT_TEST_STDOUT: t->stdout_text = arg; break;
	case PACK_OPT_TEST_TIMEOUT:
		if (!cmd_parse_seconds(arg, 86400 * 365, &t->timeout_s))
			die_usage("--test-timeout: '%s' is not a number of seconds", arg);
		break;
	case PACK_OPT_BUSYBOX:
		t->busybox = arg;
		t->busybox_given = true;
		break;
	case PACK_OPT_PIDS_MAX:
		if (jail_parse_limit(arg, false, &t->pids_max) < 0)
			die_usage("--pids-max: '%s' is not a number of processes (1 to 4194304), 0 "
				  "or max", arg);
		break;
	case PACK_OPT_MEMORY_MAX:
		if (jail_parse_limit(arg, true, &t->memory_max) < 0)
			die_usage("--memory-max: '%s' is not a size (a number with an optional K, M, "
				  "G or T), 0 or max", arg);
		break;
	default: return 0;
	}
	return 1;
}

/* Does @tree have a /bin/sh of its own (anything there, as the jail's lstat sees it), with
 * its symlinks resolved inside @tree? */
static bool tree_has_sh(const char *tree)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int root, fd;

	root = open(tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return false;
	fd = (int)syscall(SYS_openat2, root, "bin/sh", &how, sizeof(how));
	close(root);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int pack_test_run(void *ctx, const char *tree)
{
	struct pack_test *t = ctx;
	struct strbuf quoted = STRBUF_INIT;
	char *cmd, *argv[] = { "/bin/sh", "-c", NULL, NULL };
	struct jail_opts jo = { .root = tree, .argv = argv, .stdin_text = t->stdin_text,
				.pids_max = t->pids_max, .memory_max = t->memory_max,
				.timeout_s = t->timeout_s };
	struct jail_result res;
	struct strbuf msg = STRBUF_INIT;
	char *busybox = path_search(t->busybox, getenv("PATH"));
	int ret;

	/* The default test is the installed input itself, a path that may hold spaces or
	 * quotes: /bin/sh -c gets it as one quoted word. */
	if (t->command)
		strbuf_adds(&quoted, t->command);
	else
		strbuf_add_shell_word(&quoted, t->installed ? t->installed : "/bin/true");
	cmd = strbuf_detach(&quoted);
	argv[2] = cmd;
	jail_result_init(&res);
	/* As the original magicpak did, a --busybox that is not there is an error, not a test
	 * run without it. The default one only matters to a bundle without /bin/sh. */
	if (!busybox && (t->busybox_given || !tree_has_sh(tree))) {
		t->status = JAIL_EXIT_SETUP;
		ret = log_error(-ENOENT, "cannot set up the test: --busybox '%s': not found%s%s",
				t->busybox, strchr(t->busybox, '/') ? "" : " on PATH",
				t->busybox_given ? "" : " (the bundle has no /bin/sh)");
		goto out;
	}
	jo.busybox = busybox;
	ret = jail_run(&jo, &res);
	if (ret < 0) {
		t->status = JAIL_EXIT_SETUP;
		goto out;
	}
	if (res.exit_code == 0 && !res.pids_hit && !res.oom_killed &&
	    (!t->stdout_text || jail_output_matches(res.out.buf ? res.out.buf : "", t->stdout_text))) {
		log_info("test passed: %s", cmd);
		goto out;
	}
	t->status = JAIL_EXIT_FAILED;
	ret = -ECHILD;
	if (res.err.len)
		fprintf(stderr, "%s%s", res.err.buf, res.err.buf[res.err.len - 1] == '\n' ? "" : "\n");
	if (res.timed_out) {
		/* no rerun under the tracer: it would only wait as long again */
		log_error(0, "test failed (timed out after %u s): '%s'; nothing written to the "
			  "output", t->timeout_s, cmd);
		goto out;
	}
	if (jail_describe_limits(&res, &msg)) {
		/* the limit explains it: no rerun under the tracer */
		log_error(0, "test failed (exit %d): %s; nothing written to the output",
			  res.exit_code, msg.buf);
		goto out;
	}
	if (res.exit_code == 0) {
		log_error(0, "test failed: '%s' printed '%.200s', expected '%s'; nothing written to "
			  "the output", cmd, res.out.buf ? res.out.buf : "", t->stdout_text);
		goto out;
	}
	/* Run it again under the tracer to say what the bundle lacks. */
	jail_result_release(&res);
	jail_result_init(&res);
	jo.diagnose = true;
	if (jail_run(&jo, &res) == 0 && (res.missing.n || (res.no_proc && res.proc_path))) {
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

const char pack_usage_image[] =
	"      --oci-archive FILE    also write the bundle as an OCI image layout tar (one\n"
	"                            gzip layer; podman load, skopeo copy oci-archive:FILE)\n"
	"      --docker-archive FILE also write it in the `docker save` format (docker load)\n"
	"                            With an archive, OUTPUT may be left out: no directory\n"
	"                            is then left behind. Archives are byte-for-byte\n"
	"                            reproducible; mtimes from SOURCE_DATE_EPOCH (default 0)\n"
	"      --tag NAME[:TAG]      the image's name (default TAG: latest)\n"
	"      --entrypoint ARG      the image's entrypoint, one argument each; repeatable\n"
	"      --cmd ARG             the image's default arguments, one each; repeatable\n"
	"      --env KEY=VALUE       an environment variable (PATH has a default); repeatable\n"
	"      --workdir DIR         the working directory of the image's process\n"
	"      --user USER[:GROUP]   the user it runs as\n"
	"      --label KEY=VALUE     an image label; repeatable\n"
	"      --expose PORT[/PROTO] a port the image listens on; repeatable\n"
	"      --strip               strip debug sections and unneeded symbols from the\n"
	"                            bundled ELF copies (strip --strip-unneeded)\n"
	"  -c, --compress            compress the bundled executables with upx\n"
	"      --upx PATH|NAME       the upx to run (default: upx on PATH)\n"
	"      --upx-arg ARG         an extra argument for upx; repeatable\n";

int pack_image_parse_opt(int c, const char *arg, struct image_opts *img)
{
	switch (c) {
	case PACK_OPT_OCI_ARCHIVE: img->oci_archive = arg; break;
	case PACK_OPT_DOCKER_ARCHIVE: img->docker_archive = arg; break;
	case PACK_OPT_TAG: img->tag = arg; break;
	case PACK_OPT_ENTRYPOINT: strvec_push(&img->entrypoint, arg); break;
	case PACK_OPT_CMD: strvec_push(&img->cmd, arg); break;
	case PACK_OPT_ENV: strvec_push(&img->env, arg); break;
	case PACK_OPT_WORKDIR: img->workdir = arg; break;
	case PACK_OPT_USER: img->user = arg; break;
	case PACK_OPT_LABEL: strvec_push(&img->labels, arg); break;
	case PACK_OPT_EXPOSE: strvec_push(&img->expose, arg); break;
	case PACK_OPT_STRIP: img->strip = true; break;
	case 'c': img->compress = true; break;
	case PACK_OPT_UPX: img->upx = arg; break;
	case PACK_OPT_UPX_ARG: strvec_push(&img->upx_args, arg); break;
	default: return 0;
	}
	return 1;
}

static void print_saved(const char *what, unsigned long long files, unsigned long long before,
			unsigned long long after)
{
	long long saved = (long long)before - (long long)after;

	if (log_level < LOG_WARN)
		return;
	fprintf(stderr, "magicpak: %s: %llu ELF file%s, %.1f KiB -> %.1f KiB, saved %.1f KiB "
		"(%.1f%%)\n", what, files, files == 1 ? "" : "s", before / 1024.0, after / 1024.0,
		saved / 1024.0, before ? 100.0 * (double)saved / (double)before : 0.0);
}

int pack_image_check(struct image_opts *img)
{
	int ret = image_opts_check(img);

	return ret >= 0 ? EXIT_OK : ret == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
}

int pack_build(struct assemble_opts *po, struct pack_test *t, struct image_opts *img)
{
	char *tmpdir = NULL;
	int ret;

	if (!po->output) {
		/* Only an archive is wanted: build beside it, on the same file system. */
		char *dir = path_dirname(img->oci_archive ? img->oci_archive : img->docker_archive);

		tmpdir = xasprintf("%s/.magicpak-tree-XXXXXX", dir);
		free(dir);
		if (!mkdtemp(tmpdir)) {
			log_errno(-errno, "cannot create a temporary directory '%s'", tmpdir);
			free(tmpdir);
			return EXIT_FAIL;
		}
		po->output = tmpdir;
	}
	img->next = t->enabled ? pack_test_run : NULL;
	img->next_ctx = t;
	po->before_commit = image_prepare;
	po->ctx = img;
	ret = assemble(po);
	if (ret >= 0) {
		if (img->strip)
			print_saved("--strip", img->strip_files, img->strip_before, img->strip_after);
		if (img->compress)
			print_saved("--compress", img->upx_files, img->upx_before, img->upx_after);
		ret = image_write(img, po->output);
	}
	if (tmpdir) {
		tree_remove(tmpdir);
		po->output = NULL;
		free(tmpdir);
	}
	if (ret >= 0)
		return EXIT_OK;
	return t->status ? t->status : EXIT_FAIL;
}
