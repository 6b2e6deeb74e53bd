/* SPDX-License-Identifier: MIT */
/* collector/cmd_history.c - the history commands: `sessions`, `report`, `diff`, `merge`,
 * `forget` and `vacuum`, each a readable table by default and one JSON document with --json. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "history.h"
#include "log.h"
#include "path.h"
#include "record.h"
#include "store.h"
#include "strbuf.h"
#include "xalloc.h"

/* ---- output helpers ---- */

/* Append @s as a JSON string. Bytes that are not UTF-8 become \udcXX (Python's
 * surrogateescape: json.loads(...).encode('utf-8', 'surrogateescape') gives them back). */
static void json_str(struct strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	if (!s) {
		strbuf_adds(sb, "null");
		return;
	}
	strbuf_addch(sb, '"');
	while (*p) {
		unsigned c = *p;
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
					(c & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t cp = n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
		bool ok = n > 0;

		for (size_t i = 1; ok && i < n; i++) {
			ok = (p[i] & 0xc0) == 0x80;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (ok && n > 1)
			ok = !(n == 2 && cp < 0x80) && !(n == 3 && cp < 0x800) &&
			     !(n == 4 && (cp < 0x10000 || cp > 0x10ffff)) &&
			     !(cp >= 0xd800 && cp <= 0xdfff);
		if (!ok) {
			strbuf_addf(sb, "\\udc%02x", c);
			p++;
			continue;
		}
		if (n > 1) {
			strbuf_add(sb, p, n);
			p += n;
			continue;
		}
		switch (c) {
		case '"': strbuf_adds(sb, "\\\""); break;
		case '\\': strbuf_adds(sb, "\\\\"); break;
		case '\n': strbuf_adds(sb, "\\n"); break;
		case '\t': strbuf_adds(sb, "\\t"); break;
		default:
			if (c < 0x20 || c == 0x7f)
				strbuf_addf(sb, "\\u%04x", c);
			else
				strbuf_addch(sb, (char)c);
		}
		p++;
	}
	strbuf_addch(sb, '"');
}

/* @s for a terminal: control characters and backslash escaped, so one path is one line. */
static void text_str(struct strbuf *sb, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '\\')
			strbuf_adds(sb, "\\\\");
		else if (*p == '\n')
			strbuf_adds(sb, "\\n");
		else if (*p == '\t')
			strbuf_adds(sb, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			strbuf_addf(sb, "\\x%02x", *p);
		else
			strbuf_addch(sb, (char)*p);
	}
}

static char *text_dup(const char *s)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_adds(&sb, "");
	text_str(&sb, s);
	return strbuf_detach(&sb);
}

/* "2024-05-01T12:00:00.123Z" for nanoseconds since the epoch. */
static void iso_ns(char buf[32], uint64_t ns)
{
	time_t t = (time_t)(ns / 1000000000u);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf + strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm), 12, ".%03uZ",
		 (unsigned)(ns / 1000000u % 1000u));
}

/* Session ids as ranges: "1-3,7". */
static void id_ranges(struct strbuf *sb, const int64_t *v, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		strbuf_addf(sb, "%s%" PRId64, i ? "," : "", v[i]);
		if (j > i)
			strbuf_addf(sb, "%s%" PRId64, j == i + 1 ? "," : "-", v[j]);
		i = j + 1;
	}
}

static void json_ids(struct strbuf *sb, const int64_t *v, size_t n)
{
	strbuf_addch(sb, '[');
	for (size_t i = 0; i < n; i++)
		strbuf_addf(sb, "%s%" PRId64, i ? ", " : "", v[i]);
	strbuf_addch(sb, ']');
}

/* A table: cells added row by row, printed with columns aligned (numbers to the right). The
 * cells lie end to end in one buffer: one allocation a cell took `report` 260 MB for a history
 * of 400,000 paths. */
struct table {
	size_t ncols;
	const char *const *head;
	const bool *right;
	struct strbuf text; /* the cells, each ending with a NUL */
	size_t *off, n, alloc; /* where each cell starts in text */
};

#define TABLE_INIT(ncols, head, right) { (ncols), (head), (right), STRBUF_INIT, NULL, 0, 0 }

static void table_free(struct table *t)
{
	strbuf_release(&t->text);
	free(t->off);
	t->off = NULL;
	t->n = t->alloc = 0;
}

static const char *table_cell(const struct table *t, size_t i)
{
	return t->text.buf + t->off[i];
}

static void table_print(struct table *t, FILE *f)
{
	size_t *w = xcalloc(t->ncols, sizeof(*w));
	size_t nrows = t->n / t->ncols;

	for (size_t c = 0; c < t->ncols; c++)
		w[c] = strlen(t->head[c]);
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			if (strlen(table_cell(t, r * t->ncols + c)) > w[c])
				w[c] = strlen(table_cell(t, r * t->ncols + c));
	for (size_t r = 0; r <= nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *v = r ? table_cell(t, (r - 1) * t->ncols + c) : t->head[c];
			bool last = c + 1 == t->ncols;

			if (t->right[c])
				fprintf(f, "%*s%s", (int)w[c], v, last ? "" : "  ");
			else if (last)
				fputs(v, f);
			else
				fprintf(f, "%-*s  ", (int)w[c], v);
		}
		fputc('\n', f);
	}
	free(w);
	table_free(t);
}

static void table_add(struct table *t, const char *v)
{
	if (t->n == t->alloc) {
		t->alloc = t->alloc ? 2 * t->alloc : 64;
		t->off = xrealloc(t->off, t->alloc * sizeof(*t->off));
	}
	t->off[t->n++] = t->text.len;
	strbuf_add(&t->text, v, strlen(v) + 1);
}

static void table_add_owned(struct table *t, char *v)
{
	table_add(t, v);
	free(v);
}

/* ---- shared option handling ---- */

static int open_ro(const char *db, struct store **st)
{
	return store_open_readonly(db, st) < 0 ? EXIT_FAIL : EXIT_OK;
}

/* Resolve each of @n specs (id, label or "last") into *@ids, sorted and unique. */
static int find_sessions(struct store *st, char **specs, size_t n, int64_t **ids, size_t *nids)
{
	int64_t *v = xcalloc(n ? n : 1, sizeof(*v));
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		int64_t id;
		bool dup = false;

		if (store_find_session(st, specs[i], &id) < 0) {
			free(v);
			return EXIT_FAIL;
		}
		for (size_t j = 0; j < k; j++)
			dup |= v[j] == id;
		if (!dup)
			v[k++] = id;
	}
	*ids = v;
	*nids = k;
	return EXIT_OK;
}

static void print_doc(struct strbuf *sb)
{
	fwrite(sb->buf, 1, sb->len, stdout);
	strbuf_release(sb);
}

/* A long JSON document goes out as it is made, in pieces of this much: held whole, `report
 * --json` over 400,000 paths took 159 MiB (the document 108 MiB, and the room it grew into). */
#define DOC_PIECE 65536

static void print_doc_piece(struct strbuf *sb)
{
	if (sb->len < DOC_PIECE)
		return;
	fwrite(sb->buf, 1, sb->len, stdout);
	strbuf_reset(sb);
}

/* ---- sessions ---- */

static const char sessions_usage[] =
	"usage: magicpak sessions [--db FILE] [--json]\n"
	"\n"
	"List the recorded sessions: id, start time, label, command, exit status, files used,\n"
	"source, host, and whether the session is complete (else why not).\n"
	"\n"
	"  -d, --db FILE   the database (default: $MAGICPAK_DB, else ./magicpak.db)\n"
	"  -j, --json      print one JSON document: an array of objects\n"
	"  -h, --help      show this help\n";

static const struct option db_json_opts[] = {
	{ "db", required_argument, NULL, 'd' },
	{ "json", no_argument, NULL, 'j' },
	{ "session", required_argument, NULL, 's' },
	{ "path", required_argument, NULL, 'p' },
	{ "help", no_argument, NULL, 'h' },
	{ "sources", no_argument, NULL, 'S' }, /* report only */
	{ "force", no_argument, NULL, 'F' },   /* forget only */
	{ NULL, 0, NULL, 0 },
};

/* Why session @h is incomplete, as the table shows it: a session still "running" whose
 * recorder holds no lock on it (store.h) was left by a recorder that died. */
static const char *session_state(struct store *st, const struct history_session *h)
{
	bool recording;

	if (h->reason && !strcmp(h->reason, "running") && !h->ended_at && !h->origin_db &&
	    !store_session_recording(st, h->id, &recording) && !recording)
		return "recorder gone";
	return h->reason ? h->reason : "incomplete";
}

/* @st: the history @h is from, whose lock tells a running session from one left behind. */
static void session_json(struct strbuf *sb, struct store *st, const struct history_session *h)
{
	strbuf_addf(sb, "{\"id\": %" PRId64 ", \"label\": ", h->id);
	json_str(sb, h->label);
	strbuf_adds(sb, ", \"argv\": ");
	strbuf_adds(sb, h->argv_json ? h->argv_json : "[]");
	strbuf_adds(sb, ", \"command\": ");
	json_str(sb, h->command ? h->command : "");
	strbuf_adds(sb, ", \"cwd\": ");
	json_str(sb, h->cwd);
	strbuf_adds(sb, ", \"started_at\": ");
	json_str(sb, h->started_at);
	strbuf_adds(sb, ", \"ended_at\": ");
	json_str(sb, h->ended_at);
	if (h->has_exit)
		strbuf_addf(sb, ", \"exit_status\": %d", h->exit_status);
	else
		strbuf_adds(sb, ", \"exit_status\": null");
	strbuf_adds(sb, ", \"source\": ");
	json_str(sb, h->source);
	strbuf_adds(sb, ", \"host\": ");
	json_str(sb, h->host);
	strbuf_addf(sb, ", \"complete\": %s, \"incomplete_reason\": ", h->complete ? "true" : "false");
	json_str(sb, h->complete || !h->reason ? NULL : session_state(st, h));
	strbuf_addf(sb, ", \"events\": %" PRId64 ", \"files\": %" PRId64 ", \"processes\": %" PRId64,
		    h->events, h->files, h->processes);
	strbuf_adds(sb, ", \"origin_db\": ");
	json_str(sb, h->origin_db);
	if (h->origin_session_id)
		strbuf_addf(sb, ", \"origin_session_id\": %" PRId64, h->origin_session_id);
	else
		strbuf_adds(sb, ", \"origin_session_id\": null");
	strbuf_adds(sb, ", \"merged_from\": ");
	json_str(sb, h->merged_from);
	strbuf_addch(sb, '}');
}

int cmd_sessions(int argc, char **argv)
{
	static const char *const head[] = { "ID", "STARTED", "LABEL", "COMMAND", "EXIT",
					    "FILES", "SOURCE", "HOST", "COMPLETE" };
	static const bool right[] = { true, false, false, false, true, true, false, false, false };
	struct table t = TABLE_INIT(9, head, right);
	const char *db = record_default_db();
	struct history_session *ss = NULL;
	struct store *st = NULL;
	bool json = false, tty = isatty(STDOUT_FILENO);
	size_t n = 0;
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:d:jh", db_json_opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'j': json = true; break;
		case 'h': fputs(sessions_usage, stdout); return EXIT_OK;
		default: return usage_error("sessions", c, argv);
		}
	}
	if (optind < argc) {
		log_error(0, "sessions: unexpected argument '%s' (usage: magicpak sessions [--db FILE]"
			  " [--json])", argv[optind]);
		return EXIT_USAGE;
	}
	if ((ret = open_ro(db, &st)))
		return ret;
	if (history_sessions(st, 0, &ss, &n) < 0) {
		store_free(st);
		return EXIT_FAIL;
	}
	if (json) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_adds(&sb, "[");
		for (size_t i = 0; i < n; i++) {
			strbuf_adds(&sb, i ? ",\n " : "\n ");
			session_json(&sb, st, &ss[i]);
		}
		strbuf_adds(&sb, n ? "\n]\n" : "]\n");
		print_doc(&sb);
	} else {
		for (size_t i = 0; i < n; i++) {
			const struct history_session *h = &ss[i];
			char *cmd = text_dup(h->command);

			/* On a terminal, a long command is cut to keep one session a line. */
			if (tty && strlen(cmd) > 60)
				strcpy(cmd + 57, "...");
			table_add_owned(&t, xasprintf("%" PRId64, h->id));
			table_add_owned(&t, h->started_at ? xstrndup(h->started_at, 19) : xstrdup("-"));
			table_add_owned(&t, h->label ? text_dup(h->label) : xstrdup("-"));
			table_add_owned(&t, cmd);
			table_add_owned(&t, h->has_exit ? xasprintf("%d", h->exit_status) : xstrdup("-"));
			table_add_owned(&t, xasprintf("%" PRId64, h->files));
			table_add(&t, h->source ? h->source : "-");
			table_add_owned(&t, h->host ? text_dup(h->host) : xstrdup("-"));
			table_add_owned(&t, h->complete ? xstrdup("yes") :
					xasprintf("no (%s)", session_state(st, h)));
		}
		table_print(&t, stdout);
	}
	history_sessions_free(ss, n);
	store_free(st);
	return EXIT_OK;
}

/* ---- report ---- */

static const char report_usage[] =
	"usage: magicpak report [--db FILE] [--path GLOB]... [--session ID|LABEL|last]...\n"
	"                       [--sources] [--json]\n"
	"\n"
	"For each path the sessions accessed (those matching a GLOB: '*' stays within one\n"
	"directory, '**' crosses them): the runs that used it, first and last seen, how\n"
	"(read, write, exec, stat), the runs where looking it up failed (ENOENT), and whether\n"
	"its content differed between runs (size, mtime, inode or sha256 recorded).\n"
	"\n"
	"  -d, --db FILE            the database (default: $MAGICPAK_DB, else ./magicpak.db)\n"
	"  -p, --path GLOB          only paths matching GLOB (repeatable)\n"
	"  -s, --session SESSION    only these sessions: an id, a label, or 'last' (repeatable)\n"
	"  -j, --json               print one JSON document: an array of objects\n"
	"      --sources            instead: per session and path (opened, executed, stat'ed,\n"
	"                           checked), the sources that saw it (ptrace, preload, bpf) and\n"
	"                           those of the session that missed it (record --cross-check)\n"
	"  -h, --help               show this help\n";

struct report_out {
	bool json;
	size_t n;
	struct strbuf sb;
	struct table t;
};

static void kinds_text(struct strbuf *sb, unsigned kinds, bool json)
{
	static const char *const names[] = { "read", "write", "exec", "stat" };
	bool first = true;

	for (int i = 0; i < 4; i++) {
		if (!(kinds & (1u << i)))
			continue;
		if (json)
			strbuf_addf(sb, "%s\"%s\"", first ? "" : ", ", names[i]);
		else
			strbuf_addf(sb, "%s%s", first ? "" : ",", names[i]);
		first = false;
	}
	if (first && !json)
		strbuf_adds(sb, "-");
}

static void version_json(struct strbuf *sb, const struct history_version *v)
{
	char t[32];

	strbuf_addf(sb, "{\"session\": %" PRId64 ", \"type\": \"%c\"", v->session,
		    v->type ? v->type : '?');
	if (v->has_size)
		strbuf_addf(sb, ", \"size\": %" PRId64, v->size);
	else
		strbuf_adds(sb, ", \"size\": null");
	if (v->has_mtime) {
		iso_ns(t, (uint64_t)v->mtime_ns);
		strbuf_addf(sb, ", \"mtime\": \"%s\", \"mtime_ns\": %" PRId64, t, v->mtime_ns);
	} else {
		strbuf_adds(sb, ", \"mtime\": null, \"mtime_ns\": null");
	}
	if (v->has_inode)
		strbuf_addf(sb, ", \"inode\": %" PRIu64, (uint64_t)v->inode);
	else
		strbuf_adds(sb, ", \"inode\": null");
	strbuf_adds(sb, ", \"sha256\": ");
	json_str(sb, v->sha256[0] ? v->sha256 : NULL);
	strbuf_addch(sb, '}');
}

static int report_row(void *ctx, const struct history_path *p)
{
	static const char *const opn[MP_OP_MAX] = {
		[MP_OP_OPEN] = "open", [MP_OP_EXEC] = "exec", [MP_OP_STAT] = "stat",
		[MP_OP_ACCESS] = "access", [MP_OP_READLINK] = "readlink", [MP_OP_CHDIR] = "chdir",
		[MP_OP_MKDIR] = "mkdir", [MP_OP_UNLINK] = "unlink",
		[MP_OP_RENAME_FROM] = "rename_from", [MP_OP_RENAME_TO] = "rename_to",
		[MP_OP_LINK_FROM] = "link_from", [MP_OP_LINK_TO] = "link_to",
		[MP_OP_SYMLINK] = "symlink", [MP_OP_TRUNCATE] = "truncate", [MP_OP_CHMOD] = "chmod",
		[MP_OP_CHOWN] = "chown", [MP_OP_UTIME] = "utime", [MP_OP_MKNOD] = "mknod",
		[MP_OP_READDIR] = "readdir", [MP_OP_DLOPEN] = "dlopen",
		[MP_OP_CONNECT] = "connect", [MP_OP_BIND] = "bind", [MP_OP_WATCH] = "watch",
		[MP_OP_XATTR] = "xattr", [MP_OP_MOUNT] = "mount",
		[MP_OP_MOUNT_FROM] = "mount_from", [MP_OP_UMOUNT] = "umount",
	};
	struct report_out *o = ctx;
	struct strbuf sb = STRBUF_INIT;
	char first[32], last[32];
	bool changed = p->ncontents > 1, any = false;

	iso_ns(first, p->first_ns);
	iso_ns(last, p->last_ns);
	if (o->json) {
		struct strbuf *j = &o->sb;

		strbuf_adds(j, o->n ? ",\n {\"path\": " : "\n {\"path\": ");
		json_str(j, p->path);
		strbuf_addf(j, ", \"run_count\": %zu, \"runs\": ", p->nruns);
		json_ids(j, p->runs, p->nruns);
		strbuf_addf(j, ", \"first_seen\": \"%s\", \"last_seen\": \"%s\", \"ops\": [", first,
			    last);
		kinds_text(j, p->kinds, true);
		strbuf_adds(j, "], \"op_names\": [");
		for (int op = 1; op < MP_OP_MAX; op++) {
			if (!(p->ops & (1u << op)))
				continue;
			strbuf_addf(j, "%s\"%s\"", any ? ", " : "", opn[op]);
			any = true;
		}
		strbuf_addf(j, "], \"accesses\": %" PRIu64, p->count);
		strbuf_adds(j, ", \"missing_in\": ");
		json_ids(j, p->missing, p->nmissing);
		strbuf_adds(j, ", \"failed_in\": ");
		json_ids(j, p->failed, p->nfailed);
		strbuf_addf(j, ", \"contents\": %zu, \"changed\": %s, \"versions\": [", p->ncontents,
			    changed ? "true" : "false");
		for (size_t i = 0; i < p->nversions; i++) {
			strbuf_adds(j, i ? ", " : "");
			version_json(j, &p->versions[i]);
		}
		strbuf_adds(j, "]}");
	} else {
		table_add_owned(&o->t, text_dup(p->path));
		strbuf_addf(&sb, "%zu", p->nruns);
		if (p->nruns) {
			strbuf_adds(&sb, ": ");
			id_ranges(&sb, p->runs, p->nruns);
		}
		table_add_owned(&o->t, strbuf_detach(&sb));
		table_add(&o->t, first);
		table_add(&o->t, last);
		kinds_text(&sb, p->kinds, false);
		table_add_owned(&o->t, strbuf_detach(&sb));
		if (p->nmissing) {
			strbuf_addf(&sb, "%zu: ", p->nmissing);
			id_ranges(&sb, p->missing, p->nmissing);
		} else {
			strbuf_adds(&sb, "-");
		}
		table_add_owned(&o->t, strbuf_detach(&sb));
		if (p->nversions < 2)
			table_add(&o->t, "-");
		else if (changed)
			table_add_owned(&o->t, xasprintf("yes (%zu contents)", p->ncontents));
		else
			table_add(&o->t, "no");
	}
	o->n++;
	if (o->json)
		print_doc_piece(&o->sb);
	return 0;
}

static void sources_text(struct strbuf *sb, unsigned bits, bool json)
{
	static const char *const names[] = { [MP_SRC_PTRACE] = "ptrace", [MP_SRC_PRELOAD] = "preload",
					     [MP_SRC_BPF] = "bpf" };
	bool first = true;

	for (int i = MP_SRC_PTRACE; i <= MP_SRC_BPF; i++) {
		if (!(bits & (1u << i)))
			continue;
		strbuf_addf(sb, json ? "%s\"%s\"" : "%s%s", first ? "" : json ? ", " : ",", names[i]);
		first = false;
	}
	if (first && !json)
		strbuf_adds(sb, "-");
}

static int sources_row(void *ctx, int64_t session, const char *path, unsigned seen, unsigned have)
{
	struct report_out *o = ctx;
	struct strbuf sb = STRBUF_INIT;

	if (o->json) {
		strbuf_addf(&o->sb, "%s {\"session\": %" PRId64 ", \"path\": ", o->n ? ",\n" : "\n",
			    session);
		json_str(&o->sb, path);
		strbuf_adds(&o->sb, ", \"seen_by\": [");
		sources_text(&o->sb, seen, true);
		strbuf_adds(&o->sb, "], \"missed_by\": [");
		sources_text(&o->sb, have & ~seen, true);
		strbuf_adds(&o->sb, "]}");
	} else {
		table_add_owned(&o->t, xasprintf("%" PRId64, session));
		table_add_owned(&o->t, text_dup(path));
		sources_text(&sb, seen, false);
		table_add_owned(&o->t, strbuf_detach(&sb));
		sources_text(&sb, have & ~seen, false);
		table_add_owned(&o->t, strbuf_detach(&sb));
	}
	o->n++;
	if (o->json)
		print_doc_piece(&o->sb);
	return 0;
}

/* report --sources: every chosen session (default: all), one row per path. */
static int report_sources(struct store *st, struct report_out *o, const int64_t *ids, size_t n)
{
	static const char *const head[] = { "SESSION", "PATH", "SEEN BY", "MISSED BY" };
	static const bool right[] = { true, false, false, false };
	struct history_session *all = NULL;
	size_t nall = 0;
	int ret = EXIT_OK;

	o->t = (struct table)TABLE_INIT(4, head, right);
	if (!n) {
		if (history_sessions(st, 0, &all, &nall) < 0)
			return EXIT_FAIL;
	}
	if (o->json)
		strbuf_adds(&o->sb, "[");
	for (size_t i = 0; i < (n ? n : nall) && ret == EXIT_OK; i++)
		if (history_sources(st, n ? ids[i] : all[i].id, sources_row, o) < 0)
			ret = EXIT_FAIL;
	history_sessions_free(all, nall);
	if (ret != EXIT_OK)
		return ret;
	if (o->json) {
		strbuf_adds(&o->sb, o->n ? "\n]\n" : "]\n");
		print_doc(&o->sb);
	} else {
		table_print(&o->t, stdout);
	}
	return EXIT_OK;
}

int cmd_report(int argc, char **argv)
{
	static const char *const head[] = { "PATH", "RUNS", "FIRST SEEN", "LAST SEEN", "OPS",
					    "ENOENT IN", "CHANGED" };
	static const bool right[] = { false, false, false, false, false, false, false };
	struct report_out o = { .sb = STRBUF_INIT, .t = TABLE_INIT(7, head, right) };
	const char *db = record_default_db();
	struct history_filter f = { 0 };
	struct strvec globs = STRVEC_INIT, specs = STRVEC_INIT;
	struct store *st = NULL;
	int64_t *ids = NULL;
	bool sources = false;
	int c, ret = EXIT_FAIL;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:d:jp:s:h", db_json_opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'j': o.json = true; break;
		case 'S': sources = true; break;
		case 'p':
			/* paths are stored absolute: a relative glob would match nothing, silently */
			if (optarg[0] != '/' && optarg[0] != '*')
				die_usage("report: --path '%s': paths are stored absolute; start it with"
					  " '/' (or '**/' for any directory)", optarg);
			strvec_push(&globs, optarg);
			break;
		case 's': strvec_push(&specs, optarg); break;
		case 'h': fputs(report_usage, stdout); ret = EXIT_OK; goto out;
		default: ret = usage_error("report", c, argv); goto out;
		}
	}
	if (optind < argc) {
		ret = log_error(EXIT_USAGE, "report: unexpected argument '%s' (use --path GLOB)",
				argv[optind]);
		goto out;
	}
	if ((ret = open_ro(db, &st)) ||
	    (ret = find_sessions(st, specs.v, specs.n, &ids, &f.nsessions)))
		goto out;
	if (sources) {
		ret = report_sources(st, &o, ids, f.nsessions);
		goto out;
	}
	f.globs = (const char *const *)globs.v;
	f.nglobs = globs.n;
	f.sessions = ids;
	if (o.json)
		strbuf_adds(&o.sb, "[");
	if (history_report(st, &f, report_row, &o) < 0) {
		ret = EXIT_FAIL;
		goto out;
	}
	if (o.json) {
		strbuf_adds(&o.sb, o.n ? "\n]\n" : "]\n");
		print_doc(&o.sb);
	} else {
		table_print(&o.t, stdout);
	}
	ret = EXIT_OK;
out:
	strbuf_release(&o.sb);
	table_free(&o.t);
	strvec_clear(&globs);
	strvec_clear(&specs);
	free(ids);
	store_free(st);
	return ret;
}

/* ---- diff ---- */

static const char diff_usage[] =
	"usage: magicpak diff [--db FILE] [--json] A B\n"
	"\n"
	"Compare the paths sessions A and B (ids, labels, or 'last') used successfully: those\n"
	"only A used, those only B used, and those both used whose recorded version (size,\n"
	"mtime, inode or sha256) differs.\n"
	"\n"
	"  -d, --db FILE   the database (default: $MAGICPAK_DB, else ./magicpak.db)\n"
	"  -j, --json      print one JSON document\n"
	"  -h, --help      show this help\n";

/* The three groups are printed one after the other, each after its count, while the walk
 * (history_diff) finds their rows interleaved: so each group goes to a file of its own until
 * the walk ends (t543: 60,000 paths only in A, a 12 MB document, took 46 MiB held in memory
 * twice over, 34 MiB so). */
struct diff_out {
	bool json;
	FILE *part[3]; /* only A, only B, changed (path_spill_file) */
	size_t n[3];
	struct strbuf row;
};

/* What differs between two versions, for the readable form. */
static void version_change(struct strbuf *sb, const struct history_version *a,
			   const struct history_version *b)
{
	char ta[32], tb[32];

	if (a->type != b->type)
		strbuf_addf(sb, "  type %c -> %c", a->type, b->type);
	if (a->has_size && b->has_size && a->size != b->size)
		strbuf_addf(sb, "  size %" PRId64 " -> %" PRId64, a->size, b->size);
	if (a->has_mtime && b->has_mtime && a->mtime_ns != b->mtime_ns) {
		iso_ns(ta, (uint64_t)a->mtime_ns);
		iso_ns(tb, (uint64_t)b->mtime_ns);
		strbuf_addf(sb, "  mtime %s -> %s", ta, tb);
	}
	if (a->has_inode && b->has_inode && a->inode != b->inode)
		strbuf_addf(sb, "  inode %" PRIu64 " -> %" PRIu64, (uint64_t)a->inode,
			    (uint64_t)b->inode);
	if (a->sha256[0] && b->sha256[0] && strcmp(a->sha256, b->sha256))
		strbuf_addf(sb, "  sha256 %.12s -> %.12s", a->sha256, b->sha256);
}

static int diff_row(void *ctx, const char *path, enum history_change kind,
		    const struct history_version *va, const struct history_version *vb)
{
	struct diff_out *o = ctx;
	struct strbuf *sb = &o->row;

	strbuf_reset(sb);
	if (o->json) {
		strbuf_adds(sb, o->n[kind] ? ",\n  " : "\n  ");
		if (kind != HISTORY_CHANGED) {
			json_str(sb, path);
		} else {
			strbuf_adds(sb, "{\"path\": ");
			json_str(sb, path);
			strbuf_adds(sb, ", \"a\": ");
			version_json(sb, va);
			strbuf_adds(sb, ", \"b\": ");
			version_json(sb, vb);
			strbuf_addch(sb, '}');
		}
	} else {
		strbuf_adds(sb, "  ");
		text_str(sb, path);
		if (kind == HISTORY_CHANGED)
			version_change(sb, va, vb);
		strbuf_addch(sb, '\n');
	}
	o->n[kind]++;
	/* made for a group's first row: a diff with nothing to show needs no $TMPDIR */
	if (!o->part[kind]) {
		const char *dir = path_spill_dir();

		if (!(o->part[kind] = path_spill_file(dir)))
			return log_errno(-errno, "diff: cannot make a temporary file in '%s'%s", dir,
					 dir == getenv("TMPDIR") ? " (TMPDIR)" : "");
	}
	if (fwrite(sb->buf, 1, sb->len, o->part[kind]) != sb->len)
		return log_errno(-errno, "diff: cannot write a temporary file");
	return 0;
}

/* Print the group @f holds (its rows, as diff_row() made them; NULL: none). Negative when it
 * cannot be read back: the document is then cut short. */
static int diff_part_print(FILE *f)
{
	char buf[DOC_PIECE];
	size_t n;

	if (!f)
		return 0;
	rewind(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stdout);
	if (ferror(f))
		return log_errno(errno ? -errno : -EIO, "diff: cannot read a temporary file back");
	return 0;
}

static void session_name(struct strbuf *sb, const struct history_session *h)
{
	strbuf_addf(sb, "%" PRId64, h->id);
	if (h->label) {
		strbuf_adds(sb, " (");
		text_str(sb, h->label);
		strbuf_adds(sb, ")");
	}
}

int cmd_diff(int argc, char **argv)
{
	static const char *const keys[3] = { "only_a", "only_b", "changed" };
	struct diff_out o = { .row = STRBUF_INIT };
	const char *db = record_default_db();
	struct history_session *ha = NULL, *hb = NULL;
	struct strbuf sb = STRBUF_INIT;
	struct store *st = NULL;
	int64_t a, b;
	size_t na = 0, nb = 0;
	int c, ret = EXIT_FAIL;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:jh", db_json_opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'j': o.json = true; break;
		case 'h': fputs(diff_usage, stdout); return EXIT_OK;
		default: return usage_error("diff", c, argv);
		}
	}
	if (argc - optind != 2) {
		log_error(0, "diff: want two sessions (usage: magicpak diff [--db FILE] [--json] A B)");
		return EXIT_USAGE;
	}
	if ((ret = open_ro(db, &st)))
		return ret;
	ret = EXIT_FAIL;
	if (store_find_session(st, argv[optind], &a) < 0 ||
	    store_find_session(st, argv[optind + 1], &b) < 0 ||
	    history_sessions(st, a, &ha, &na) < 0 || history_sessions(st, b, &hb, &nb) < 0 ||
	    !na || !nb || history_diff(st, a, b, diff_row, &o) < 0)
		goto out;
	/* nothing is printed before every row is written down */
	for (int k = 0; k < 3; k++)
		if (o.part[k] && fflush(o.part[k]) == EOF) {
			log_errno(-errno, "diff: cannot write a temporary file");
			goto out;
		}
	if (o.json) {
		strbuf_adds(&sb, "{\"a\": ");
		session_json(&sb, st, ha);
		strbuf_adds(&sb, ",\n \"b\": ");
		session_json(&sb, st, hb);
	}
	for (int k = 0; k < 3; k++) {
		if (o.json) {
			strbuf_addf(&sb, ",\n \"%s\": [", keys[k]);
		} else {
			if (k < 2) {
				strbuf_adds(&sb, "only in ");
				session_name(&sb, k ? hb : ha);
			} else {
				strbuf_adds(&sb, "changed between them");
			}
			strbuf_addf(&sb, ": %zu path%s\n", o.n[k], o.n[k] == 1 ? "" : "s");
		}
		fwrite(sb.buf, 1, sb.len, stdout);
		strbuf_reset(&sb);
		if (diff_part_print(o.part[k]) < 0)
			goto out;
		if (o.json)
			strbuf_adds(&sb, o.n[k] ? "\n ]" : "]");
	}
	if (o.json)
		strbuf_adds(&sb, "}\n");
	print_doc(&sb);
	ret = EXIT_OK;
out:
	for (int k = 0; k < 3; k++)
		if (o.part[k])
			fclose(o.part[k]);
	strbuf_release(&o.row);
	strbuf_release(&sb);
	history_sessions_free(ha, na);
	history_sessions_free(hb, nb);
	store_free(st);
	return ret;
}

/* ---- merge ---- */

static const char merge_usage[] =
	"usage: magicpak merge [--json] OUT IN...\n"
	"\n"
	"Copy every session of each IN database into OUT (created if missing) with new ids.\n"
	"Each copy keeps its host, the database it was recorded in (origin_db, a random id\n"
	"made with that database, and origin_session_id) and the file it came from\n"
	"(merged_from). Merging a database again copies only sessions OUT does not have yet\n"
	"(and those copied while still being recorded, again).\n"
	"\n"
	"  -j, --json      print one JSON document: what was copied from each IN\n"
	"  -h, --help      show this help\n";

int cmd_merge(int argc, char **argv)
{
	struct store *out = NULL, **ins = NULL;
	struct strbuf sb = STRBUF_INIT;
	struct strvec names = STRVEC_INIT;
	bool json = false;
	size_t nin = 0;
	int c, ret = EXIT_FAIL;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jh", db_json_opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': fputs(merge_usage, stdout); return EXIT_OK;
		default: return usage_error("merge", c, argv);
		}
	}
	if (argc - optind < 2) {
		log_error(0, "merge: want OUT and at least one IN (usage: magicpak merge OUT IN...)");
		return EXIT_USAGE;
	}
	nin = (size_t)(argc - optind - 1);
	ins = xcalloc(nin, sizeof(*ins));
	/* Every input is checked before OUT is created or changed. */
	for (size_t i = 0; i < nin; i++) {
		const char *in = argv[optind + 1 + i];
		char *real = realpath(in, NULL);

		if (store_open_readonly(in, &ins[i]) < 0) {
			free(real);
			goto out;
		}
		strvec_push_owned(&names, real ? real : xstrdup(in));
	}
	if (store_open(argv[optind], &out) < 0)
		goto out;
	if (json)
		strbuf_adds(&sb, "{\"out\": ");
	if (json) {
		json_str(&sb, argv[optind]);
		strbuf_adds(&sb, ", \"inputs\": [");
	}
	for (size_t i = 0; i < nin; i++) {
		struct history_merge_stats s = { 0 };

		if (history_merge(out, ins[i], names.v[i], &s) < 0)
			goto out;
		if (json) {
			strbuf_adds(&sb, i ? ",\n  {\"file\": " : "\n  {\"file\": ");
			json_str(&sb, names.v[i]);
			strbuf_addf(&sb, ", \"copied\": %zu, \"already_there\": %zu, \"recopied\": %zu,"
				    " \"accesses\": %" PRIu64 "}", s.copied, s.skipped, s.refreshed,
				    s.accesses);
		} else {
			text_str(&sb, argv[optind + 1 + i]);
			strbuf_addf(&sb, ": %zu session%s copied, %zu already there", s.copied,
				    s.copied == 1 ? "" : "s", s.skipped);
			if (s.refreshed)
				strbuf_addf(&sb, ", %zu copied again (they were still recording)",
					    s.refreshed);
			strbuf_adds(&sb, "\n");
		}
	}
	if (json)
		strbuf_adds(&sb, "\n]}\n");
	print_doc(&sb);
	ret = EXIT_OK;
out:
	strbuf_release(&sb);
	for (size_t i = 0; i < nin; i++)
		store_free(ins[i]);
	free(ins);
	strvec_clear(&names);
	store_free(out);
	return ret;
}

/* ---- forget ---- */

static const char forget_usage[] =
	"usage: magicpak forget [--db FILE] [--force] --session ID|LABEL|last...\n"
	"\n"
	"Delete sessions with their processes, accesses and file versions, all or none.\n"
	"'magicpak vacuum' then gives the space back. A session still being recorded is\n"
	"refused; one whose recorder was killed is not.\n"
	"\n"
	"  -d, --db FILE            the database (default: $MAGICPAK_DB, else ./magicpak.db)\n"
	"  -s, --session SESSION    a session to delete: an id, a label, or 'last' (repeatable)\n"
	"      --force              also a session whose recorder still runs, or cannot be told\n"
	"                           gone (that recorder then writes nothing more and exits 1)\n"
	"  -h, --help               show this help\n";

int cmd_forget(int argc, char **argv)
{
	const char *db = record_default_db();
	struct strvec specs = STRVEC_INIT;
	struct store *st = NULL;
	int64_t *ids = NULL;
	bool force = false;
	size_t n = 0;
	int c, ret = EXIT_FAIL;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:d:s:h", db_json_opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 's': strvec_push(&specs, optarg); break;
		case 'F': force = true; break;
		case 'h': fputs(forget_usage, stdout); ret = EXIT_OK; goto out;
		default: ret = usage_error("forget", c, argv); goto out;
		}
	}
	if (optind < argc || !specs.n) {
		ret = log_error(EXIT_USAGE, "forget: %s%s%s (usage: magicpak forget [--db FILE]"
				" [--force] --session ID|LABEL|last...)",
				optind < argc ? "unexpected argument '" : "no --session given",
				optind < argc ? argv[optind] : "", optind < argc ? "'" : "");
		goto out;
	}
	/* Opened for writing first (a read-only file fails here; a missing or empty one is no
	 * history to forget from), then every spec resolved before anything is deleted. */
	if (store_open_existing(db, &st) < 0 || find_sessions(st, specs.v, specs.n, &ids, &n) ||
	    history_forget(st, ids, n, force) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		printf("forgot session %" PRId64 "\n", ids[i]);
	ret = EXIT_OK;
out:
	strvec_clear(&specs);
	free(ids);
	store_free(st);
	return ret;
}

/* ---- vacuum ---- */

static const char vacuum_usage[] =
	"usage: magicpak vacuum [--db FILE]\n"
	"\n"
	"Drop paths no session uses any more, then rebuild the database file to its smallest\n"
	"size (SQLite's VACUUM) and truncate its write-ahead log.\n"
	"\n"
	"  -d, --db FILE   the database (default: $MAGICPAK_DB, else ./magicpak.db)\n"
	"  -h, --help      show this help\n";

static long long file_size(const char *path)
{
	struct stat sb;
	char *wal = xasprintf("%s-wal", path);
	long long n = stat(path, &sb) ? 0 : (long long)sb.st_size;

	if (!stat(wal, &sb))
		n += (long long)sb.st_size;
	free(wal);
	return n;
}

int cmd_vacuum(int argc, char **argv)
{
	const char *db = record_default_db();
	struct store *st = NULL;
	long long before, after;
	int64_t dropped;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:d:h", db_json_opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'h': fputs(vacuum_usage, stdout); return EXIT_OK;
		default: return usage_error("vacuum", c, argv);
		}
	}
	if (optind < argc) {
		log_error(0, "vacuum: unexpected argument '%s' (usage: magicpak vacuum [--db FILE])",
			  argv[optind]);
		return EXIT_USAGE;
	}
	before = file_size(db);
	/* a missing or empty file is no history: vacuum creates none */
	if (store_open_existing(db, &st) < 0)
		return EXIT_FAIL;
	if (history_vacuum(st, &dropped) < 0) {
		store_free(st);
		return EXIT_FAIL;
	}
	store_free(st);
	after = file_size(db);
	printf("%s: %lld -> %lld bytes, %" PRId64 " unused path%s dropped\n", db, before, after,
	       dropped, dropped == 1 ? "" : "s");
	return EXIT_OK;
}
