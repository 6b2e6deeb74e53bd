/* SPDX-License-Identifier: MIT */
/* collector/cmd_graph.c - `magicpak graph`: the dependency graph of FILEs (what ld.so would
 * load, and how each library was found) or of a recorded session (what it executed, the
 * libraries of those executables, the files it read), as Graphviz DOT or SVG. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "deps.h"
#include "event.h"
#include "history.h"
#include "log.h"
#include "record.h"
#include "store.h"
#include "strbuf.h"
#include "strmap.h"
#include "xalloc.h"

static const char usage[] =
	"usage: magicpak graph [--db FILE] [--session ID|LABEL|last] [--format dot|svg]\n"
	"       magicpak graph [--format dot|svg] [--library-path PATH] FILE...\n"
	"\n"
	"Print the dependency graph as Graphviz DOT (or SVG, drawn by Graphviz's dot). For\n"
	"FILEs: each program, script and library, with an edge for each DT_NEEDED labelled\n"
	"with how ld.so finds it. For a recorded session: the session, the executables it\n"
	"ran, their libraries, the libraries it loaded otherwise (dlopen) and the files it\n"
	"opened. Executables are boxes, libraries ellipses, data files notes, missing red.\n"
	"\n"
	"  -d, --db FILE            the database (default: $MAGICPAK_DB, else ./magicpak.db)\n"
	"  -s, --session ID|LABEL|last\n"
	"                           the session to draw (default without FILE: last)\n"
	"  -f, --format FORMAT      dot (default) or svg (needs dot from Graphviz on PATH)\n"
	"  -L, --library-path PATH  assume LD_LIBRARY_PATH=PATH (default: the environment's)\n"
	"  -h, --help               show this help\n";

enum graph_kind { GRAPH_EXE, GRAPH_SCRIPT, GRAPH_LIB, GRAPH_LOADER, GRAPH_DATA, GRAPH_MISSING,
		  GRAPH_SESSION };

/* The graph being built: nodes by name (their number + 1 in the map), edges as DOT text. */
struct graph {
	struct strmap ids;
	struct strbuf nodes, edges;
	struct strmap edge_seen;
	size_t n;
};

static void dot_quoted(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			strbuf_addch(sb, '\\');
		if (*s == '\n')
			strbuf_adds(sb, "\\n");
		else
			strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '"');
}

static const char *kind_attrs(enum graph_kind k)
{
	switch (k) {
	case GRAPH_EXE: return "shape=box, style=filled, fillcolor=\"#cfe2ff\"";
	case GRAPH_SCRIPT: return "shape=box, style=filled, fillcolor=\"#fff3cd\"";
	case GRAPH_LIB: return "shape=ellipse";
	case GRAPH_LOADER: return "shape=ellipse, style=filled, fillcolor=\"#e2e3e5\"";
	case GRAPH_DATA: return "shape=note";
	case GRAPH_MISSING: return "shape=octagon, color=red, fontcolor=red";
	case GRAPH_SESSION: return "shape=house, style=filled, fillcolor=\"#d1e7dd\"";
	}
	return "";
}

/* The node named @name, created with @kind the first time; returns its number. */
static size_t graph_node(struct graph *g, const char *name, enum graph_kind kind)
{
	uintptr_t id = (uintptr_t)strmap_get(&g->ids, name);

	if (id)
		return id - 1;
	id = ++g->n;
	strmap_put(&g->ids, name, (void *)id);
	strbuf_addf(&g->nodes, "\tn%zu [label=", (size_t)(id - 1));
	dot_quoted(&g->nodes, name);
	strbuf_addf(&g->nodes, ", %s];\n", kind_attrs(kind));
	return id - 1;
}

static void graph_edge(struct graph *g, size_t from, size_t to, const char *label, bool dashed)
{
	char key[64];

	snprintf(key, sizeof(key), "%zu>%zu", from, to);
	if (strmap_has(&g->edge_seen, key))
		return;
	strmap_put(&g->edge_seen, key, NULL);
	strbuf_addf(&g->edges, "\tn%zu -> n%zu [label=", from, to);
	dot_quoted(&g->edges, label);
	strbuf_addf(&g->edges, "%s];\n", dashed ? ", style=dashed" : "");
}

/* Add the link map @m: its objects and one edge per DT_NEEDED (already loaded ones gray). */
static void graph_add_map(struct graph *g, const struct deps_map *m, size_t parent, bool has_parent)
{
	size_t *ids = xcalloc(m->n ? m->n : 1, sizeof(*ids));

	for (size_t i = 0; i < m->n; i++) {
		const struct deps_obj *o = &m->objs[i];
		enum graph_kind k = GRAPH_LIB;

		if (i == 0)
			k = m->is_script ? GRAPH_SCRIPT : GRAPH_EXE;
		else if (o->how == DEPS_INTERP)
			k = GRAPH_LOADER;
		else if (o->how == DEPS_SCRIPT)
			k = GRAPH_EXE;
		ids[i] = graph_node(g, o->path, k);
	}
	if (has_parent && m->n)
		graph_edge(g, parent, ids[0], "#!", false);
	for (size_t i = 0; i < m->n; i++) {
		const struct deps_obj *o = &m->objs[i];

		for (size_t k = 0; k < o->nedges; k++) {
			const struct deps_edge *e = &o->edges[k];

			if (e->target < 0) {
				size_t miss = graph_node(g, e->name, GRAPH_MISSING);

				graph_edge(g, ids[i], miss, "not found", true);
				continue;
			}
			graph_edge(g, ids[i], ids[e->target], deps_how_name(e->how),
				   e->how == DEPS_LOADED);
		}
		if (o->how == DEPS_INTERP && o->loader >= 0 && o->nedges == 0 && i > 0)
			graph_edge(g, ids[o->loader], ids[i], deps_how_name(DEPS_INTERP), false);
	}
	free(ids);
}

/* Resolve @file and add every map it gives; a script's interpreter maps hang off it. */
static int graph_add_file(struct graph *g, const struct deps_opts *opts, const char *file)
{
	struct deps *d = NULL;
	int ret;

	deps_new(opts, &d);
	ret = deps_resolve(d, file);
	if (ret < 0 && ret != -ENOENT)
		goto out;
	for (size_t i = 0; i < deps_nmaps(d); i++) {
		const struct deps_map *m = deps_map(d, i);
		size_t parent = 0;
		bool has_parent = false;

		/* deps_resolve() gives a script alone first, then each interpreter's map. */
		if (i > 0 && deps_map(d, 0)->is_script) {
			parent = graph_node(g, deps_map(d, 0)->objs[0].path, GRAPH_SCRIPT);
			has_parent = true;
		}
		graph_add_map(g, m, parent, has_parent);
	}
out:
	deps_free(d);
	return ret;
}

/* One path a session used, with the ops (bit 1 << op) it used it with. */
struct graph_used {
	char *path;
	uint32_t ops;
};

struct graph_used_list {
	struct graph_used *v;
	size_t n, alloc;
};

static int collect_used(void *ctx, const char *path, int op)
{
	struct graph_used_list *l = ctx;

	if (l->n && !strcmp(l->v[l->n - 1].path, path)) {
		l->v[l->n - 1].ops |= 1u << op;
		return 0;
	}
	xgrow(&l->v, &l->alloc, l->n + 1, sizeof(*l->v));
	l->v[l->n].path = xstrdup(path);
	l->v[l->n].ops = 1u << op;
	l->n++;
	return 0;
}

static bool is_library_name(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return strstr(base, ".so") && (strstr(base, ".so.") || !strcmp(strstr(base, ".so"), ".so"));
}

static bool is_pseudo(const char *path)
{
	return !strncmp(path, "/proc/", 6) || !strncmp(path, "/sys/", 5) ||
	       !strncmp(path, "/dev/", 5) || !strcmp(path, "/etc/ld.so.cache");
}

/* Add session @spec of @db: the session node, each executable it ran and its libraries, the
 * libraries it loaded otherwise (dashed: dlopen) and each file it opened or listed. */
static int graph_add_session(struct graph *g, const struct deps_opts *opts, const char *db,
			     const char *spec)
{
	struct store *st = NULL;
	struct history_session *s = NULL;
	struct graph_used_list used = { 0 };
	struct strmap in_closure = STRMAP_INIT;
	size_t ns = 0, root;
	int64_t id;
	char *title = NULL;
	int ret;

	ret = store_open_readonly(db, &st);
	if (ret < 0)
		goto out;
	ret = store_find_session(st, spec, &id);
	if (ret < 0)
		goto out;
	ret = history_sessions(st, id, &s, &ns);
	if (ret < 0)
		goto out;
	title = xasprintf("session %lld%s%s\n%s", (long long)id, ns && s[0].label ? ": " : "",
			  ns && s[0].label ? s[0].label : "", ns && s[0].command ? s[0].command : "");
	root = graph_node(g, title, GRAPH_SESSION);
	ret = store_session_paths(st, id, collect_used, &used);
	if (ret < 0)
		goto out;

	/* Executables first, so that the libraries ld.so loaded for them hang off them. */
	for (size_t i = 0; i < used.n; i++) {
		struct deps *d = NULL;

		if (!(used.v[i].ops & (1u << MP_OP_EXEC)))
			continue;
		graph_edge(g, root, graph_node(g, used.v[i].path, GRAPH_EXE), "exec", false);
		deps_new(opts, &d);
		if (deps_resolve(d, used.v[i].path) >= 0 || deps_nmaps(d)) {
			for (size_t j = 0; j < deps_nmaps(d); j++) {
				const struct deps_map *m = deps_map(d, j);

				graph_add_map(g, m, 0, false);
				for (size_t k = 0; k < m->n; k++)
					strmap_put(&in_closure, m->objs[k].path, NULL);
			}
		}
		deps_free(d);
	}
	for (size_t i = 0; i < used.n; i++) {
		const char *p = used.v[i].path;
		uint32_t ops = used.v[i].ops;

		if ((ops & (1u << MP_OP_EXEC)) || strmap_has(&in_closure, p) || is_pseudo(p))
			continue;
		if (!(ops & ((1u << MP_OP_OPEN) | (1u << MP_OP_DLOPEN) | (1u << MP_OP_READLINK))))
			continue;
		if (is_library_name(p))
			graph_edge(g, root, graph_node(g, p, GRAPH_LIB), "dlopen", true);
		else
			graph_edge(g, root, graph_node(g, p, GRAPH_DATA), "open", false);
	}
	ret = 0;
out:
	for (size_t i = 0; i < used.n; i++)
		free(used.v[i].path);
	free(used.v);
	strmap_clear(&in_closure);
	history_sessions_free(s, ns);
	free(title);
	store_free(st);
	return ret;
}

/* Feed @dot to Graphviz's `dot -Tsvg`, whose output is our stdout. */
static int render_svg(const struct strbuf *dot)
{
	int pfd[2] = { -1, -1 }, status = 0, ret = 0;
	size_t off = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return log_errno(-errno, "cannot make a pipe for dot");
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		ret = log_errno(-errno, "cannot start dot");
		close(pfd[0]);
		close(pfd[1]);
		return ret;
	}
	if (pid == 0) {
		if (dup2(pfd[0], 0) < 0)
			_exit(126);
		execlp("dot", "dot", "-Tsvg", (char *)NULL);
		_exit(127);
	}
	close(pfd[0]);
	/* dot may be missing: its end of the pipe closes, and the write gets EPIPE, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	while (off < dot->len) {
		ssize_t w = write(pfd[1], dot->buf + off, dot->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(pfd[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return log_error(-ENOENT, "--format svg needs 'dot' from Graphviz on PATH "
					  "(Debian: apt-get install graphviz); '--format dot' works without it");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return log_error(-EIO, "dot -Tsvg failed (exit status %d)",
				 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}

int cmd_graph(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "session", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "library-path", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct deps_opts opts = { .library_path = getenv("LD_LIBRARY_PATH"), .caller_exec = true };
	struct graph g = { .ids = STRMAP_INIT, .edge_seen = STRMAP_INIT };
	const char *db = NULL, *session = NULL, *format = "dot";
	struct strbuf out;
	int c, ret = 0, status = EXIT_OK;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:s:f:L:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 's': session = optarg; break;
		case 'f': format = optarg; break;
		case 'L': opts.library_path = optarg; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return usage_error("graph", c, argv);
		}
	}
	if (strcmp(format, "dot") && strcmp(format, "svg"))
		die_usage("graph: --format must be dot or svg, not '%s'", format);
	if (session && optind < argc)
		die_usage("graph: give either --session or FILEs, not both");
	if (db && optind < argc)
		die_usage("graph: --db draws a session; FILEs are resolved without one");

	strbuf_init(&g.nodes);
	strbuf_init(&g.edges);
	if (optind < argc) {
		for (int i = optind; i < argc; i++) {
			ret = graph_add_file(&g, &opts, argv[i]);
			if (ret == -ENOENT)
				status = EXIT_FAIL; /* a library not found: drawn, and logged */
			else if (ret < 0)
				goto out;
		}
	} else {
		ret = graph_add_session(&g, &opts, db ? db : record_default_db(),
					session ? session : "last");
		if (ret < 0)
			goto out;
	}
	ret = 0;

	strbuf_init(&out);
	strbuf_adds(&out, "digraph magicpak {\n\trankdir=LR;\n"
			  "\tnode [fontname=\"monospace\", fontsize=10];\n"
			  "\tedge [fontname=\"sans-serif\", fontsize=8, color=\"#555555\"];\n");
	strbuf_add(&out, g.nodes.buf, g.nodes.len);
	strbuf_add(&out, g.edges.buf, g.edges.len);
	strbuf_adds(&out, "}\n");
	if (!strcmp(format, "svg"))
		ret = render_svg(&out);
	else if (fwrite(out.buf, 1, out.len, stdout) != out.len || fflush(stdout))
		ret = log_errno(-EIO, "cannot write the graph");
	strbuf_release(&out);
out:
	strmap_clear(&g.ids);
	strmap_clear(&g.edge_seen);
	strbuf_release(&g.nodes);
	strbuf_release(&g.edges);
	return ret < 0 ? EXIT_FAIL : status;
}
