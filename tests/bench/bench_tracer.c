/* SPDX-License-Identifier: MIT */
/* tests/bench/bench_tracer.c - tracing overhead of tracer_run() against native runs and
 * strace on the workloads W0-W4 of BASELINES.md, as ratios from paired runs.
 *
 *   bench_tracer [-r ROUNDS] [-w W0,W1,...] [-S]   the table (-S: no strace column)
 *   bench_tracer -x [-n] [-v] [-t S] -- CMD ARGS...  trace one command, print counts (-v: events)
 *
 * Build: cc -std=gnu11 -D_GNU_SOURCE -O2 -Iinclude -Icollector tests/bench/bench_tracer.c \
 *        build/libmagicpak.a -o build/bench_tracer
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tracer.h"

struct counts {
	uint64_t access, proc;
	bool verbose;
};

static void count_access(void *ctx, const struct tracer_access *a)
{
	struct counts *c = ctx;

	c->access++;
	if (c->verbose)
		fprintf(stderr, "%d/%d op=%d flags=%#x err=%d %s\n", a->pid, a->tid, a->op,
			a->flags, a->err, a->path);
}

static void count_proc(void *ctx, const struct tracer_proc *p)
{
	struct counts *c = ctx;

	c->proc++;
	if (c->verbose) {
		fprintf(stderr, "proc %d what=%d parent=%d status=%d", p->pid, p->what, p->parent,
			p->status);
		if (p->exe)
			fprintf(stderr, " exe=%s", p->exe);
		if (p->cwd)
			fprintf(stderr, " cwd=%s", p->cwd);
		for (size_t i = 0; p->argv && p->argv[i]; i++)
			fprintf(stderr, " [%s]", p->argv[i]);
		fprintf(stderr, "\n");
	}
}

static const struct tracer_ops ops = { count_access, count_proc };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run @argv with stdout/stderr to /dev/null; returns wall seconds. */
static double run_native(char *const argv[])
{
	double t0 = now();
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fprintf(stderr, "bench: %s exited %d\n", argv[0], st);
	return now() - t0;
}

static double run_traced(char *const argv[], bool no_seccomp, struct counts *c,
			 struct tracer_result *res)
{
	struct tracer_opts opts = { .stdin_fd = -1, .no_seccomp = no_seccomp };
	int saved1 = dup(1), saved2 = dup(2), fd = open("/dev/null", O_WRONLY);
	double t0;

	fflush(stdout);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
	t0 = now();
	if (tracer_run(argv, &opts, &ops, c, res) < 0)
		t0 = -1;
	t0 = t0 < 0 ? -1 : now() - t0;
	dup2(saved1, 1);
	dup2(saved2, 2);
	close(saved1);
	close(saved2);
	if (res->exit_code)
		fprintf(stderr, "bench: traced %s exited %d\n", argv[0], res->exit_code);
	return t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const char w4_src[] =
	"#include <fcntl.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
	"#include <sys/stat.h>\n#include <unistd.h>\n#include <dirent.h>\n"
	"static char *list[2000]; static int n;\n"
	"static void walk(const char *d, int depth) {\n"
	"  DIR *dir = opendir(d); struct dirent *e; char p[4096];\n"
	"  if (!dir) return;\n"
	"  while (n < 2000 && (e = readdir(dir))) {\n"
	"    if (e->d_name[0] == '.') continue;\n"
	"    snprintf(p, sizeof p, \"%s/%s\", d, e->d_name);\n"
	"    if (e->d_type == DT_REG) list[n++] = strdup(p);\n"
	"    else if (e->d_type == DT_DIR && depth < 4) walk(p, depth + 1);\n"
	"  }\n  closedir(dir);\n}\n"
	"int main(void) {\n  char p[4200]; struct stat st;\n"
	"  walk(\"/usr/lib\", 0);\n  if (!n) return 1;\n"
	"  for (int i = 0; i < 200000; i++) { int fd = open(list[i % n], O_RDONLY);"
	" if (fd >= 0) close(fd); }\n"
	"  for (int i = 0; i < 200000; i++) { snprintf(p, sizeof p, \"%s.missing\", list[i % n]);"
	" stat(p, &st); }\n  return 0;\n}\n";

static const char w2_src[] =
	"#include <math.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
	"struct point { double x, y; };\n"
	"static double dist(struct point a, struct point b)\n{\n"
	"\treturn sqrt((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y));\n}\n"
	"static int cmp(const void *a, const void *b)\n{\n"
	"\tdouble x = *(const double *)a, y = *(const double *)b;\n"
	"\treturn x < y ? -1 : x > y;\n}\n"
	"int main(int argc, char **argv)\n{\n"
	"\tstruct point pts[64];\n\tdouble d[64];\n\tint n = argc > 1 ? atoi(argv[1]) : 64;\n"
	"\tif (n > 64)\n\t\tn = 64;\n"
	"\tfor (int i = 0; i < n; i++) {\n\t\tpts[i].x = cos(i);\n\t\tpts[i].y = sin(i);\n\t}\n"
	"\tfor (int i = 0; i < n; i++)\n\t\td[i] = dist(pts[0], pts[i]);\n"
	"\tqsort(d, n, sizeof(d[0]), cmp);\n"
	"\tfor (int i = 0; i < n; i++)\n\t\tprintf(\"%d %f\\n\", i, d[i]);\n"
	"\tchar buf[64];\n\tsnprintf(buf, sizeof(buf), \"%s\", argv[0]);\n"
	"\treturn strlen(buf) > 1000;\n}\n";

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

struct workload {
	const char *name;
	char *argv[8];
};

static unsigned timeout_s;

static int trace_one(char **argv, bool no_seccomp, bool verbose)
{
	struct tracer_opts opts = { .stdin_fd = -1, .no_seccomp = no_seccomp, .timeout_s = timeout_s };
	struct counts c = { .verbose = verbose };
	struct tracer_result res;
	double t0 = now();
	int ret = tracer_run(argv, &opts, &ops, &c, &res);

	if (ret < 0)
		return 1;
	fprintf(stderr,
		"exit=%d time=%.3fs accesses=%llu procs=%llu undecoded=%llu lost=%llu "
		"io_uring=%d timed_out=%d seccomp=%d\n",
		res.exit_code, now() - t0, (unsigned long long)res.accesses,
		(unsigned long long)res.processes, (unsigned long long)res.undecoded,
		(unsigned long long)res.lost_strings, res.used_io_uring, res.timed_out,
		res.used_seccomp);
	return res.exit_code;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/bench_tracer.XXXXXX", w4[256], w2c[256], w2o[256], w2x[256], cmd[2048];
	int rounds = 5, opt;
	bool one = false, no_seccomp = false, verbose = false, with_strace = true;
	const char *only = NULL;

	while ((opt = getopt(argc, argv, "+r:w:Sxnvt:")) != -1) {
		switch (opt) {
		case 'r': rounds = atoi(optarg); break;
		case 'w': only = optarg; break;
		case 'S': with_strace = false; break;
		case 'x': one = true; break;
		case 'n': no_seccomp = true; break;
		case 'v': verbose = true; break;
		case 't': timeout_s = (unsigned)atoi(optarg); break;
		default: return 2;
		}
	}
	if (one)
		return optind < argc ? trace_one(argv + optind, no_seccomp, verbose) : 2;
	if (rounds < 1 || rounds > 50)
		return 2;

	if (!mkdtemp(dir))
		return 1;
	snprintf(w4, sizeof(w4), "%s/w4", dir);
	snprintf(w2c, sizeof(w2c), "%s/prog.c", dir);
	snprintf(w2o, sizeof(w2o), "%s/prog.o", dir);
	snprintf(w2x, sizeof(w2x), "%s/prog", dir);
	snprintf(cmd, sizeof(cmd), "%s/w4.c", dir);
	if (write_file(cmd, w4_src) || write_file(w2c, w2_src))
		return 1;
	{
		char *cc[] = { "cc", "-O2", "-o", w4, cmd, NULL };

		run_native(cc);
	}
	snprintf(cmd, sizeof(cmd), "gcc -O2 -c %s -o %s && gcc %s -o %s -lm", w2c, w2o, w2o, w2x);

	struct workload wl[] = {
		{ "W0", { "/bin/true", NULL } },
		{ "W1", { "/usr/bin/python3", "-c",
			  "import json, email, http.client, sqlite3, decimal, argparse", NULL } },
		{ "W2", { "/bin/sh", "-c", cmd, NULL } },
		{ "W3", { "/bin/sh", "-c",
			  "for i in $(seq 200); do cat /etc/hostname >/dev/null; done", NULL } },
		{ "W4", { w4, NULL } },
	};

	printf("%-4s %10s %10s %8s %10s %8s %10s %8s %9s %6s\n", "wl", "native_s", "magicpak",
	       "ratio", "no-secc", "ratio", "strace", "ratio", "accesses", "procs");
	for (size_t i = 0; i < sizeof(wl) / sizeof(wl[0]); i++) {
		double nat[50], tr[50], trn[50], st[50], rt[50], rn[50], rs[50];
		struct tracer_result res = { 0 };
		struct counts c = { 0 };
		char *sargv[24];
		int k = 0;

		if (only && !strstr(only, wl[i].name))
			continue;
		sargv[k++] = "strace";
		sargv[k++] = "-f";
		sargv[k++] = "-qq";
		sargv[k++] = "-e";
		sargv[k++] = "trace=%file";
		sargv[k++] = "-o";
		sargv[k++] = "/dev/null";
		for (int a = 0; wl[i].argv[a]; a++)
			sargv[k++] = wl[i].argv[a];
		sargv[k] = NULL;
		/* warm the page cache once */
		run_native(wl[i].argv);
		for (int r = 0; r < rounds; r++) {
			c.access = 0;
			nat[r] = run_native(wl[i].argv);
			tr[r] = run_traced(wl[i].argv, false, &c, &res);
			trn[r] = run_traced(wl[i].argv, true, &(struct counts){ 0 }, &res);
			st[r] = with_strace ? run_native(sargv) : 0;
			rt[r] = tr[r] / nat[r];
			rn[r] = trn[r] / nat[r];
			rs[r] = st[r] / nat[r];
		}
		printf("%-4s %10.4f %10.4f %7.2fx %10.4f %7.2fx %10.4f %7.2fx %9llu %6llu\n",
		       wl[i].name, median(nat, rounds), median(tr, rounds), median(rt, rounds),
		       median(trn, rounds), median(rn, rounds), median(st, rounds),
		       median(rs, rounds), (unsigned long long)c.access,
		       (unsigned long long)res.processes);
		fflush(stdout);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? 1 : 0;
}
