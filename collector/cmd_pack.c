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

#include "bundle.h"
#include "cmd.h"
#include "deps.h"
#include "glob.h"
#include "ldcache.h"
#include "log.h"
#include "path.h"
#include "strbuf.h"
#include "xalloc.h"

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

struct pack_opts {
	struct strvec includes;
	struct strvec excludes;
	struct strvec mkdirs;
	const char *install_to;
	const char *library_path;
};

/* Options of the original magicpak that later work will give a meaning again. */
enum { OPT_MKDIR = 256, OPT_LOG_LEVEL, OPT_CC, OPT_NOLOAD, OPT_UNSUPPORTED };

static bool is_elf_file(const char *path)
{
	unsigned char m[4];
	struct stat st;
	int fd;
	bool r = false;

	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		return false;
	r = read(fd, m, 4) == 4 && !memcmp(m, "\177ELF", 4);
	close(fd);
	return r;
}

/* Destination of input @src under --install-to @to. Owned by the caller. */
static char *install_dest(const char *src, const char *to)
{
	size_t n = strlen(to);
	char *abs = to[0] == '/' ? xstrdup(to) : xasprintf("/%s", to);
	char *r;

	if (n && to[n - 1] == '/')
		r = path_join(abs, path_basename(src));
	else
		r = path_normalize(abs);
	free(abs);
	return r;
}

/* Give the bundle's loader an ld.so.cache for the libraries it found through the host's
 * cache outside the default directories: inside the bundle nothing else would find them. */
static int write_cache(struct bundle *b, const struct deps *d)
{
	static const char *const defaults[] = { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
						"/lib", "/usr/lib" };
	struct strvec names = STRVEC_INIT, paths = STRVEC_INIT;
	struct strbuf sb = STRBUF_INIT;
	bool needed = false;
	int ret = 0;

	for (size_t i = 0; i < deps_nmaps(d); i++) {
		const struct deps_map *m = deps_map(d, i);

		for (size_t j = 0; j < m->n; j++) {
			const struct deps_obj *o = &m->objs[j];
			bool in_default = false;

			if (o->how != DEPS_CACHE || strvec_find(&names, o->cache_key) >= 0)
				continue;
			for (size_t k = 0; k < sizeof(defaults) / sizeof(defaults[0]); k++) {
				char *dir = path_dirname(o->path);

				in_default |= !strcmp(dir, defaults[k]);
				free(dir);
			}
			needed |= !in_default;
			strvec_push(&names, o->cache_key);
			strvec_push(&paths, o->path);
		}
	}
	if (needed) {
		ldcache_write((const char *const *)names.v, (const char *const *)paths.v, names.n, &sb);
		log_info("writing /etc/ld.so.cache with %zu entries", names.n);
		ret = bundle_write_file(b, "/etc/ld.so.cache", sb.buf, sb.len, 0644);
	}
	strbuf_release(&sb);
	strvec_clear(&names);
	strvec_clear(&paths);
	return ret;
}

static int add_maps(struct bundle *b, const struct deps *d, size_t from, const char *first_dest)
{
	int ret;

	for (size_t i = from; i < deps_nmaps(d); i++) {
		const struct deps_map *m = deps_map(d, i);

		for (size_t j = 0; j < m->n; j++) {
			const struct deps_obj *o = &m->objs[j];
			const char *dest = i == from && j == 0 ? first_dest : NULL;

			ret = bundle_add(b, o->path, dest);
			if (ret < 0)
				return ret;
			for (size_t k = 0; k < o->alternates.n; k++) {
				ret = bundle_add(b, o->alternates.v[k], NULL);
				if (ret < 0)
					return ret;
			}
		}
	}
	return 0;
}

static int pack(const struct pack_opts *po, char **inputs, int ninputs, const char *output)
{
	struct deps_opts dopts = { .library_path = po->library_path };
	struct bundle_opts bopts = { .excludes = &po->excludes };
	struct deps *d = NULL;
	struct bundle *b = NULL;
	struct strvec matches = STRVEC_INIT;
	int ret = 0;

	dopts.cache_path = getenv("MAGICPAK_LD_SO_CACHE");
	dopts.preload_path = getenv("MAGICPAK_LD_SO_PRELOAD");
	deps_new(&dopts, &d);
	/* Resolve everything before writing anything: a missing library leaves no output. */
	for (int i = 0; i < ninputs; i++) {
		int r = deps_resolve(d, inputs[i]);

		if (r < 0)
			ret = r;
	}
	for (size_t i = 0; i < po->includes.n; i++) {
		char *pat = path_absolute(po->includes.v[i]);
		size_t before = matches.n;
		int r = glob_expand(pat, &matches);

		if (r < 0)
			ret = log_errno(r, "--include '%s'", po->includes.v[i]);
		else if (matches.n == before)
			log_warn("--include '%s' matches nothing", po->includes.v[i]);
		free(pat);
	}
	size_t nmaps_inputs = deps_nmaps(d);
	for (size_t i = 0; i < matches.n; i++) {
		if (is_elf_file(matches.v[i])) {
			int r = deps_resolve(d, matches.v[i]);

			if (r < 0)
				ret = r;
		}
	}
	if (ret < 0)
		goto out;

	ret = bundle_new(output, &bopts, &b);
	if (ret < 0)
		goto out;
	{
		char *first_dest = po->install_to ? install_dest(deps_map(d, 0)->objs[0].path,
								 po->install_to) : NULL;

		ret = add_maps(b, d, 0, first_dest);
		free(first_dest);
	}
	if (ret < 0)
		goto out;
	(void)nmaps_inputs;
	for (size_t i = 0; i < matches.n && ret >= 0; i++) {
		struct stat st;

		if (lstat(matches.v[i], &st) == 0 && S_ISDIR(st.st_mode))
			ret = bundle_add_tree(b, matches.v[i], NULL);
		else
			ret = bundle_add(b, matches.v[i], NULL);
	}
	for (size_t i = 0; i < po->mkdirs.n && ret >= 0; i++) {
		char *dest = po->mkdirs.v[i][0] == '/' ? path_normalize(po->mkdirs.v[i])
						      : path_join("/", po->mkdirs.v[i]);

		ret = bundle_mkdir(b, dest);
		free(dest);
	}
	if (ret >= 0)
		ret = write_cache(b, d);
	if (ret >= 0)
		ret = bundle_commit(b);
	if (ret >= 0)
		log_info("bundled into '%s'", output);
out:
	bundle_free(b);
	deps_free(d);
	strvec_clear(&matches);
	return ret;
}

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
	struct pack_opts po = { .library_path = getenv("LD_LIBRARY_PATH") };
	int c, nargs, status;

	strvec_init(&po.includes);
	strvec_init(&po.excludes);
	strvec_init(&po.mkdirs);
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
	status = pack(&po, argv + optind, nargs - 1, argv[argc - 1]) < 0 ? EXIT_FAIL : EXIT_OK;
	strvec_clear(&po.includes);
	strvec_clear(&po.excludes);
	strvec_clear(&po.mkdirs);
	return status;
}
