/* SPDX-License-Identifier: MIT */
/* collector/cmd_deps.c - `magicpak deps`: print the objects ld.so would load. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "deps.h"
#include "log.h"
#include "strbuf.h"
#include "strmap.h"

static const char usage[] =
	"usage: magicpak deps [--tree] [--json] [--library-path PATH] FILE...\n"
	"\n"
	"Print every object glibc's ld.so would load for each FILE, one absolute path a line,\n"
	"without running any of its code. A '#!' script brings its interpreter. What the\n"
	"program may dlopen() as it runs (NSS and gconv modules, plugins) is not covered:\n"
	"'magicpak record' a run to find it (--tree and --json say so too).\n"
	"\n"
	"  -t, --tree               show the dependency tree and how each library was found\n"
	"  -j, --json               print JSON\n"
	"  -L, --library-path PATH  assume LD_LIBRARY_PATH=PATH (default: the environment's)\n"
	"  -h, --help               show this help\n";

static void print_plain(const struct deps *d)
{
	struct strmap seen = STRMAP_INIT;

	for (size_t i = 0; i < deps_nmaps(d); i++) {
		const struct deps_map *m = deps_map(d, i);

		for (size_t j = 0; j < m->n; j++) {
			if (strmap_has(&seen, m->objs[j].path))
				continue;
			strmap_put(&seen, m->objs[j].path, NULL);
			printf("%s\n", m->objs[j].path);
		}
	}
	strmap_clear(&seen);
}

static void print_how(const struct deps_map *m, enum deps_how how, long via, long parent)
{
	if (how == DEPS_RPATH && via >= 0 && via != parent)
		printf(" [rpath of %s]\n", m->objs[via].path);
	else
		printf(" [%s]\n", deps_how_name(how));
}

static void print_tree_node(const struct deps_map *m, long idx, int depth, char *expanded)
{
	const struct deps_obj *o = &m->objs[idx];

	expanded[idx] = 1;
	for (size_t k = 0; k < o->nedges; k++) {
		const struct deps_edge *e = &o->edges[k];

		printf("%*s%s => ", depth * 4, "", e->name);
		if (e->target < 0) {
			printf("not found [not found]\n");
			continue;
		}
		printf("%s", m->objs[e->target].path);
		if (expanded[e->target] || e->how == DEPS_LOADED) {
			print_how(m, e->how == DEPS_INTERP && expanded[e->target] ? DEPS_LOADED : e->how,
				  e->via, idx);
			continue;
		}
		print_how(m, e->how, e->via, idx);
		print_tree_node(m, e->target, depth + 1, expanded);
	}
}

/* What reading the files cannot tell (RELIABILITY LIB-11), for --tree and --json. */
#define DEPS_NOT_COVERED \
	"objects loaded with dlopen() at run time (NSS modules, gconv modules, plugins): " \
	"'magicpak record' a run to find them"

static void print_tree(const struct deps *d)
{
	for (size_t i = 0; i < deps_nmaps(d); i++) {
		const struct deps_map *m = deps_map(d, i);
		char *expanded = calloc(m->n ? m->n : 1, 1);

		if (!expanded)
			die("out of memory");
		printf("%s%s\n", m->objs[0].path,
		       m->is_script ? " [script]" : m->is_static ? " [static]" : "");
		if (m->secure)
			printf("    (secure-execution mode: %s)\n", m->secure);
		if (m->objs[0].how == DEPS_SCRIPT)
			printf("    (interpreter of a script)\n");
		print_tree_node(m, 0, 1, expanded);
		/* Objects not reached through an edge: preloads and an interpreter nobody named. */
		for (size_t j = 1; j < m->n; j++) {
			if (expanded[j])
				continue;
			printf("    %s", m->objs[j].path);
			print_how(m, m->objs[j].how, -1, 0);
			print_tree_node(m, (long)j, 2, expanded);
		}
		free(expanded);
	}
	printf("(not covered: %s)\n", DEPS_NOT_COVERED);
}

static void print_json(const struct deps *d)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_adds(&sb, "{\"inputs\":[");
	for (size_t i = 0; i < deps_nmaps(d); i++) {
		const struct deps_map *m = deps_map(d, i);

		strbuf_adds(&sb, i ? ",\n{" : "\n{");
		strbuf_adds(&sb, "\"file\":");
		strbuf_add_json(&sb, m->objs[0].path);
		strbuf_addf(&sb, ",\"script\":%s,\"static\":%s,\"secure\":",
			    m->is_script ? "true" : "false", m->is_static ? "true" : "false");
		if (m->secure)
			strbuf_add_json(&sb, m->secure);
		else
			strbuf_adds(&sb, "null");
		strbuf_adds(&sb, ",\"objects\":[");
		for (size_t j = 0; j < m->n; j++) {
			const struct deps_obj *o = &m->objs[j];

			strbuf_adds(&sb, j ? ",{\"path\":" : "{\"path\":");
			strbuf_add_json(&sb, o->path);
			strbuf_adds(&sb, ",\"how\":");
			strbuf_add_json(&sb, deps_how_name(o->how));
			if (o->loader >= 0) {
				strbuf_adds(&sb, ",\"needed_by\":");
				strbuf_add_json(&sb, m->objs[o->loader].path);
			}
			if (o->alternates.n) {
				strbuf_adds(&sb, ",\"alternates\":[");
				for (size_t k = 0; k < o->alternates.n; k++) {
					if (k)
						strbuf_addch(&sb, ',');
					strbuf_add_json(&sb, o->alternates.v[k]);
				}
				strbuf_addch(&sb, ']');
			}
			strbuf_addch(&sb, '}');
		}
		strbuf_adds(&sb, "],\"missing\":[");
		bool first = true;
		for (size_t j = 0; j < m->n; j++) {
			for (size_t k = 0; k < m->objs[j].nedges; k++) {
				if (m->objs[j].edges[k].target >= 0)
					continue;
				strbuf_adds(&sb, first ? "{\"name\":" : ",{\"name\":");
				first = false;
				strbuf_add_json(&sb, m->objs[j].edges[k].name);
				strbuf_adds(&sb, ",\"needed_by\":");
				strbuf_add_json(&sb, m->objs[j].path);
				strbuf_addch(&sb, '}');
			}
		}
		strbuf_adds(&sb, "]}");
	}
	strbuf_adds(&sb, "\n],\"not_covered\":[");
	strbuf_add_json(&sb, DEPS_NOT_COVERED);
	strbuf_adds(&sb, "]}\n");
	fputs(sb.buf, stdout);
	strbuf_release(&sb);
}

int cmd_deps(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tree", no_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "library-path", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct deps_opts opts = { .library_path = getenv("LD_LIBRARY_PATH"), .caller_exec = true };
	bool tree = false, json = false;
	struct deps *d = NULL;
	int c, status = EXIT_OK;

	opts.cache_path = getenv("MAGICPAK_LD_SO_CACHE");
	opts.preload_path = getenv("MAGICPAK_LD_SO_PRELOAD");
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":tjL:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't': tree = true; break;
		case 'j': json = true; break;
		case 'L': opts.library_path = optarg; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return usage_error("deps", c, argv);
		}
	}
	if (optind >= argc) {
		log_error(0, "deps: no FILE given (usage: magicpak deps [--tree] [--json] FILE...)");
		return EXIT_USAGE;
	}
	deps_new(&opts, &d);
	for (int i = optind; i < argc; i++)
		if (deps_resolve(d, argv[i]) < 0)
			status = EXIT_FAIL;
	if (json)
		print_json(d);
	else if (tree)
		print_tree(d);
	else
		print_plain(d);
	deps_free(d);
	if (fflush(stdout) != 0) {
		log_errno(-errno, "cannot write the output");
		return EXIT_FAIL;
	}
	return status;
}
