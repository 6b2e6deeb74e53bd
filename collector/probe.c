/* SPDX-License-Identifier: MIT */
/* collector/probe.c - the user side of the eBPF probe; the only file that includes the
 * skeleton. Lifecycle: __open(), set rodata and the ring buffer size, turn off programs whose
 * tracepoint this kernel lacks, __load(), __attach(), poll, __destroy(). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe.h"

#ifndef MAGICPAK_HAVE_BPF

int probe_open(struct probe **out, probe_fn fn, void *ctx, void (*loading)(void *),
	       void *loading_ctx, char *why, size_t size)
{
	*out = NULL;
	snprintf(why, size, "magicpak was built without the BPF probe (clang or bpftool missing)");
	return -ENOTSUP;
}

int probe_attach(struct probe *p, enum probe_fold fold, char *why, size_t size)
{
	snprintf(why, size, "no BPF probe in this build");
	return -ENOTSUP;
}

int probe_fd(const struct probe *p)
{
	return -1;
}

int probe_poll(struct probe *p, int timeout_ms)
{
	return -ENOTSUP;
}

void probe_get_stats(const struct probe *p, struct probe_stats *out)
{
	memset(out, 0, sizeof(*out));
}

void probe_keep_for(struct probe *p, long secs)
{
}

pid_t probe_keeper_pid(const struct probe *p)
{
	return 0;
}

pid_t probe_taken_from(const struct probe *p)
{
	return 0;
}

pid_t probe_release(void)
{
	return geteuid() == 0 ? 0 : -EPERM;
}

pid_t probe_offered(bool *kept)
{
	*kept = false;
	return geteuid() == 0 ? 0 : -EPERM;
}

void probe_destroy(struct probe *p)
{
}

void probe_leave(struct probe *p)
{
}

uint64_t probe_repeats(struct probe *p, probe_repeat_fn fn, void *ctx)
{
	return 0;
}

uint64_t probe_fold_key(const char *path, uint32_t tgid, uint32_t op, uint32_t flags, int32_t err)
{
	return 0;
}

#else /* MAGICPAK_HAVE_BPF */

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "caps.h"
#include "exitfast.h"
#include "log.h"
#include "openat.btfid.h"
#include "rawsys.h"
#include "openat.h"
#include "openat.skel.h"

/* The build machine's kernel types the CO-RE relocations need (Makefile: min_core_btf). */
__asm__(".section .rodata\n"
	".balign 8\n"
	"min_btf_start:\n"
	".incbin \"" MIN_BTF_FILE "\"\n"
	"min_btf_end:\n"
	".previous\n");
extern const unsigned char min_btf_start[], min_btf_end[];

/* The probe's fds a lingering child keeps and hands over: three maps, then the links, in the
 * order of tp_names; once it keeps the probe (keep()), the first KEPT_DETACHED of them are
 * the programs, detached. */
enum { FD_TABLES, FD_BITS, FD_EVENTS, FD_LINKS, NPROGS = 4, FD_MAX = FD_LINKS + NPROGS };
static const char *const tp_names[NPROGS] = { "sys_exit", "sched_process_fork",
					      "sched_process_exec", "sched_process_exit" };
/* A keeper detaches the per-syscall program only: attached, it would run on every system call
 * of the machine. The other three run on a fork, an exec or an exit, find nothing to follow
 * while the probe is idle (a few hundred ns against a fork's hundreds of us), and stay
 * attached: attaching one again patches a jump label on every CPU, 0.2 ms of the next run's
 * start apiece on these VMs. */
#define KEPT_DETACHED 1

/* What a lingering child publishes for the run that takes its probe over (linger()): who it
 * is, which of its fds are the probe's (enum order above) and their kernel ids. The probe is
 * reused only if it is the same program, loaded for the same pid namespace level, ring
 * buffer size and bitmap size. */
struct warm {
	uint32_t magic, version;
	uint64_t build;     /* MP_BPF_OBJECT_ID: the programs, and with them the maps' layout */
	uint64_t cookie;    /* the seeding call's cookie, in the loaded program's rodata */
	uint32_t ns_level;
	uint32_t pages;     /* ring buffer pages */
	uint32_t bit_words; /* track_bits entries */
	uint32_t nfds;
	int32_t pid;        /* the lingering child */
	int32_t fd[FD_MAX]; /* its fds */
	uint32_t obj_id[FD_MAX]; /* their maps' and links' (programs', when detached) ids */
	uint32_t detached;  /* kept (keep()): the first KEPT_DETACHED programs loaded, detached */
};

#define WARM_MAGIC 0x6d707762u /* "mpwb" */
#define WARM_VERSION 3u
/* Where it is published (root only: a directory only root may write). */
#define WARM_DIR "/run/magicpak"
#define WARM_FILE WARM_DIR "/bpf-probe"

struct probe {
	struct openat_bpf *skel; /* NULL for a probe taken over from a lingering child */
	struct ring_buffer *rb;
	probe_fn fn;
	void *ctx;
	int64_t boot_to_real; /* CLOCK_REALTIME - CLOCK_BOOTTIME, ns */
	struct warm id;       /* this probe, as a lingering child describes it */
	int fds[FD_MAX];      /* owned here only when taken over (else the skeleton's) */
	int btf_fd;           /* the small BTF given to libbpf, until the programs are loaded */
	int linger_fd;        /* the pipe the linger() child waits on, or -1 */
	pid_t taken_from;     /* the lingering child this probe was taken from, or 0 */
	int keeper;           /* a pidfd of that child, when it kept the probe: told to go later */
	bool taken_kept;      /* ... while it kept the probe detached (keep()) */
	long keep_s;          /* probe_keep_for(), or 0: $MAGICPAK_BPF_KEEP_S */
	pid_t linger_pid;     /* the linger() child, or 0 */
	volatile struct mp_bpf_tables *tables; /* the "tables" map, mapped (written: the seed) */
};

#define LINGER_MS 250 /* MAGICPAK_BPF_LINGER_MS: how long a probe outlives its run (linger()) */
#define KEEP_S 60     /* MAGICPAK_BPF_KEEP_S: how long it is kept detached after that (keep()) */

static void linger(struct probe *p);

/* Open the skeleton. On the kernel magicpak was built on, libbpf gets the few types the
 * relocations need (@btf_fd, a memfd, set) instead of reading and parsing the running kernel's
 * 5 MB of BTF, which was a third of the probe's start-up. Elsewhere: the kernel's BTF. */
static struct openat_bpf *open_skel(int *btf_fd)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	size_t n = (size_t)(min_btf_end - min_btf_start);
	struct utsname u;
	struct stat st;
	char path[64];
	int fd;

	*btf_fd = -1;
	if (!n || uname(&u) < 0 || strcmp(u.release, MIN_BTF_KERNEL_RELEASE) ||
	    strcmp(u.version, MIN_BTF_KERNEL_VERSION) ||
	    stat("/sys/kernel/btf/vmlinux", &st) < 0 || st.st_size != MIN_BTF_VMLINUX_SIZE)
		return openat_bpf__open();
	fd = memfd_create("magicpak-btf", MFD_CLOEXEC);
	if (fd < 0 || write(fd, min_btf_start, n) != (ssize_t)n) {
		if (fd >= 0)
			close(fd);
		return openat_bpf__open();
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	opts.btf_custom_path = path;
	*btf_fd = fd;
	return openat_bpf__open_opts(&opts);
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (log_level < LOG_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* The level of our pid namespace: the NSpid line has one id per level. */
static unsigned ns_level(void)
{
	char line[512];
	unsigned n = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *tok, *save = NULL;

		if (strncmp(line, "NSpid:", 6))
			continue;
		for (tok = strtok_r(line + 6, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
			n++;
		break;
	}
	fclose(f);
	return n ? n - 1 : 0;
}

static const char *tracefs(void)
{
	static const char *const dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char p[128];

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
			snprintf(p, sizeof(p), "%s/events", dirs[i]);
			if (access(p, F_OK) == 0)
				return dirs[i];
		}
		/* not mounted: as root, mount it where the kernel offers the mount point */
		if (pass || access("/sys/kernel/tracing", F_OK) < 0 ||
		    mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) < 0)
			break;
	}
	return NULL;
}

static int64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* How many process ids the probe's bitmap covers: pid_max in the root pid namespace (4 KB of
 * bitmap for the default 32768); in another (whose pid_max says nothing of the root's ids)
 * and when unknown, PID_MAX_LIMIT. */
static unsigned pid_limit(unsigned level)
{
	unsigned long v = 0;
	FILE *f;

	if (level > 0 || !(f = fopen("/proc/sys/kernel/pid_max", "re")))
		return MP_BPF_PID_LIMIT;
	if (fscanf(f, "%lu", &v) != 1 || v == 0 || v > MP_BPF_PID_LIMIT)
		v = MP_BPF_PID_LIMIT;
	fclose(f);
	return (unsigned)v;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct probe *p = ctx;
	struct mp_wire w;

	if (size < sizeof(w))
		return 0;
	memcpy(&w, data, sizeof(w));
	if (w.len > size || w.len < sizeof(w))
		return 0;
	w.time_ns = (uint64_t)((int64_t)w.time_ns + p->boot_to_real);
	p->fn(p->ctx, &w, (const char *)data + sizeof(w), w.len - sizeof(w));
	return 0;
}

/* The kernel id of the probe's @i-th fd: a map's, a link's, or a kept probe's program's. */
static uint32_t obj_id(int fd, uint32_t i, bool detached)
{
	union {
		struct bpf_map_info m;
		struct bpf_link_info l;
		struct bpf_prog_info p;
	} u;
	bool prog = detached && i >= FD_LINKS && i < FD_LINKS + KEPT_DETACHED;
	__u32 len = i < FD_LINKS ? sizeof(u.m) : prog ? sizeof(u.p) : sizeof(u.l);

	memset(&u, 0, sizeof(u));
	if (bpf_obj_get_info_by_fd(fd, &u, &len))
		return 0;
	return i < FD_LINKS ? u.m.id : prog ? u.p.id : u.l.id;
}

/* Is WARM_DIR a directory only root may write to? (Nothing is taken from or put in another.) */
static bool warm_dir_safe(void)
{
	struct stat st;

	return lstat(WARM_DIR, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0 &&
	       !(st.st_mode & 022);
}

/* Read a published record from @path: whether it was whole. */
static bool read_warm(const char *path, struct warm *m)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t r = fd < 0 ? -1 : read(fd, m, sizeof(*m));

	if (fd >= 0)
		close(fd);
	if (r == (ssize_t)sizeof(*m))
		return true;
	memset(m, 0, sizeof(*m));
	return false;
}

/* Claim the published file: renamed to a name of this process's (@mine; pid namespaces may
 * share /run), exactly one process has it; then read into @m (zeroed if not whole). False if
 * there was none. */
static bool claim(char mine[64], struct warm *m)
{
	snprintf(mine, 64, WARM_FILE ".%d.%llx", (int)getpid(),
		 (unsigned long long)clock_ns(CLOCK_MONOTONIC));
	if (rename(WARM_FILE, mine) < 0)
		return false;
	read_warm(mine, m);
	return true;
}

/* Offer a claimed file again, unless a newer one was published meanwhile. */
static void put_back(const char *mine)
{
	if (renameat2(AT_FDCWD, mine, AT_FDCWD, WARM_FILE, RENAME_NOREPLACE) < 0)
		unlink(mine);
}

/* A kept probe taken over: each detached program attached again, its link in its place (on
 * failure the fds are a mix of both, for the caller to close). */
static int attach_kept(struct probe *p)
{
	for (int i = 0; i < KEPT_DETACHED; i++) {
		int l = bpf_raw_tracepoint_open(tp_names[i], p->fds[FD_LINKS + i]);

		if (l < 0) {
			log_debug("bpf probe: cannot attach the kept probe's %s: %s", tp_names[i],
				  strerror(errno));
			return -1;
		}
		close(p->fds[FD_LINKS + i]);
		p->fds[FD_LINKS + i] = l; /* close-on-exec, as every bpf() fd */
	}
	return 0;
}

/* Tell the keeper this probe was taken from (warm_take()) to go: by the linger child at the
 * end of its linger, when a run that follows this one is most likely started already or not
 * coming (its exit tears down the memory of the run it outlived, a millisecond of CPU), or at
 * the end of the run when there is no such child; at once by a run that could not take its
 * probe. */
static void tell_keeper(struct probe *p)
{
	if (p->keeper < 0)
		return;
	syscall(SYS_pidfd_send_signal, p->keeper, SIGUSR1, NULL, 0);
	close(p->keeper);
	p->keeper = -1;
}

/* Take over the probe a lingering child of an earlier run published (linger()), if it is the
 * one this run would load (p->id): claim the file (a rename: one taker), then copy the child's
 * fds with pidfd_getfd(), which needs nothing of the child (a socket to it made it wake up,
 * which on these VMs took up to a millisecond), and check that they are the maps and links
 * the file names (a child gone and its pid reused would give other files). 0 with p->fds
 * set, or -1: load one. The child reset the probe when its run ended: no process followed,
 * nothing counted, its ring drained. */
static int warm_take(struct probe *p)
{
	char mine[64];
	struct warm m;
	int pidfd, n = 0;
	bool whole;

	if (geteuid() != 0 || !warm_dir_safe() || !claim(mine, &m))
		return -1;
	if (m.magic != WARM_MAGIC || m.version != WARM_VERSION ||
	    !m.cookie || m.nfds <= FD_LINKS || m.nfds > FD_MAX ||
	    (m.detached && m.nfds != FD_MAX)) {
		unlink(mine);
		return -1;
	}
	if (m.build != p->id.build || m.ns_level != p->id.ns_level || m.pages != p->id.pages ||
	    m.bit_words != p->id.bit_words) {
		/* another magicpak's, or another ring size: offered again to the runs it suits,
		 * unless a newer one was published meanwhile or its child is gone (one that
		 * ends just after this check leaves a file a later run finds useless) */
		if (kill(m.pid, 0) < 0)
			unlink(mine);
		else
			put_back(mine);
		log_debug("bpf probe: the lingering one is not this run's: loading one");
		return -1;
	}
	unlink(mine);
	pidfd = (int)syscall(SYS_pidfd_open, m.pid, 0);
	if (pidfd < 0)
		return -1;
	for (; n < (int)m.nfds; n++) {
		/* the copy is close-on-exec */
		p->fds[n] = (int)syscall(SYS_pidfd_getfd, pidfd, m.fd[n], 0);
		if (p->fds[n] < 0 || obj_id(p->fds[n], (uint32_t)n, m.detached) != m.obj_id[n])
			break;
	}
	whole = n == (int)m.nfds && (!m.detached || attach_kept(p) == 0);
	/* A kept probe's keeper goes, whether the probe is ours now or could not be taken (its
	 * file is gone either way); only once its first fd was seen to be the probe's: the pid
	 * is the keeper's, not a reused one. When the probe is ours, once this run is over
	 * (tell_keeper()): it wakes and tears down the memory of the run it outlived, a
	 * millisecond of CPU, which here preempted this run's start as often as not. */
	if (m.detached && n > 0)
		p->keeper = pidfd;
	else
		close(pidfd);
	if (!whole) {
		tell_keeper(p);
		for (int i = 0; i <= n && i < FD_MAX; i++) {
			if (p->fds[i] >= 0)
				close(p->fds[i]);
			p->fds[i] = -1;
		}
		return -1;
	}
	p->id.cookie = m.cookie;
	p->id.nfds = m.nfds;
	p->taken_from = m.pid;
	p->taken_kept = m.detached;
	return 0;
}

/* Load the probe's programs (not attached yet). */
static int cold_load(struct probe *p, char *why, size_t size)
{
	struct bpf_program *prog;
	const char *tfs = NULL;
	int ret;

	p->skel = open_skel(&p->btf_fd);
	if (!p->skel) {
		ret = -errno;
		snprintf(why, size, "cannot open the BPF object: %s", strerror(-ret));
		return ret;
	}
	if (getrandom(&p->id.cookie, sizeof(p->id.cookie), 0) != sizeof(p->id.cookie) ||
	    !p->id.cookie)
		p->id.cookie = (uint64_t)clock_ns(CLOCK_MONOTONIC) | 1;
	p->skel->rodata->seed_cookie = p->id.cookie;
	p->skel->rodata->ns_level = p->id.ns_level;
	bpf_map__set_max_entries(p->skel->maps.track_bits, p->id.bit_words);
	bpf_map__set_max_entries(p->skel->maps.events, p->id.pages * (unsigned)getpagesize());
	/* the syscalls and sched programs are raw tracepoints: tracefs is only asked (and
	 * mounted if need be) about "tracepoint/" programs, none today; syscall tracepoints this
	 * kernel lacks (open, creat, ... on arm64) are left out */
	bpf_object__for_each_program(prog, p->skel->obj) {
		const char *sec = bpf_program__section_name(prog);
		char path[256];

		if (strncmp(sec, "tracepoint/", 11))
			continue;
		if (!tfs && !(tfs = tracefs())) {
			snprintf(why, size, "tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)");
			return -ENOTSUP;
		}
		snprintf(path, sizeof(path), "%s/events/%s", tfs, sec + 11);
		if (access(path, F_OK) == 0)
			continue;
		if (strstr(sec, "_openat") && !strstr(sec, "openat2")) {
			snprintf(why, size, "the kernel has no tracepoint %s", sec + 11);
			return -ENOTSUP;
		}
		bpf_program__set_autoload(prog, false);
	}
	ret = openat_bpf__load(p->skel);
	if (p->btf_fd >= 0) {
		close(p->btf_fd);
		p->btf_fd = -1;
	}
	if (ret) {
		ret = ret < 0 ? ret : -errno;
		snprintf(why, size, "cannot load the BPF program: %s%s", strerror(-ret),
			 ret == -EPERM ? " (lockdown, or kernel.unprivileged_bpf_disabled?)" : "");
		return ret;
	}
	p->fds[FD_TABLES] = bpf_map__fd(p->skel->maps.tables);
	p->fds[FD_BITS] = bpf_map__fd(p->skel->maps.track_bits);
	p->fds[FD_EVENTS] = bpf_map__fd(p->skel->maps.events);
	p->id.nfds = FD_LINKS;
	return 0;
}

int probe_open(struct probe **out, probe_fn fn, void *ctx, void (*loading)(void *),
	       void *loading_ctx, char *why, size_t size)
{
	struct probe *p = NULL;
	struct stat st;
	const char *e;
	unsigned pages = 256;
	int ret;

	*out = NULL;
	libbpf_set_print(libbpf_quiet);
	if (!caps_have(21 /* CAP_SYS_ADMIN */) && !(caps_have(39 /* CAP_BPF */) && caps_have(38 /* CAP_PERFMON */))) {
		snprintf(why, size, "needs root, or CAP_BPF and CAP_PERFMON");
		return -EPERM;
	}
	if (stat("/sys/kernel/btf/vmlinux", &st) < 0 || st.st_size == 0) {
		snprintf(why, size, "the kernel has no BTF (/sys/kernel/btf/vmlinux)");
		return -ENOTSUP;
	}
	e = getenv("MAGICPAK_BPF_RINGBUF_PAGES");
	if (e && *e) {
		char *end;
		unsigned long v = strtoul(e, &end, 10);

		if (*end || !v || (v & (v - 1)) || v > 65536) {
			snprintf(why, size, "MAGICPAK_BPF_RINGBUF_PAGES='%s' is not a power of two up to 65536", e);
			return -EINVAL;
		}
		pages = (unsigned)v;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(why, size, "out of memory");
		return -ENOMEM;
	}
	p->btf_fd = p->linger_fd = p->keeper = -1;
	for (int i = 0; i < FD_MAX; i++)
		p->fds[i] = -1;
	p->fn = fn;
	p->ctx = ctx;
	p->id = (struct warm){ .magic = WARM_MAGIC, .version = WARM_VERSION, .build = MP_BPF_OBJECT_ID,
			       .pages = pages, .ns_level = ns_level() };
	p->id.bit_words = (pid_limit(p->id.ns_level) + 63) / 64;
	if (warm_take(p) < 0) {
		if (loading)
			loading(loading_ctx);
		if ((ret = cold_load(p, why, size)) < 0)
			goto fail;
	}
	p->tables = mmap(NULL, sizeof(struct mp_bpf_tables), PROT_READ | PROT_WRITE, MAP_SHARED,
			 p->fds[FD_TABLES], 0);
	if (p->tables == MAP_FAILED) {
		p->tables = NULL;
		ret = -errno;
		snprintf(why, size, "cannot map the probe's tables: %s", strerror(-ret));
		goto fail;
	}
	p->rb = ring_buffer__new(p->fds[FD_EVENTS], on_record, p, NULL);
	if (!p->rb) {
		ret = -errno;
		snprintf(why, size, "cannot set up the ring buffer: %s", strerror(-ret));
		goto fail;
	}
	if (p->taken_from)
		log_info(p->taken_kept ? "bpf probe: attaching the one pid %d keeps loaded"
				       : "bpf probe: reusing the one pid %d left loaded",
			 (int)p->taken_from);
	p->boot_to_real = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME);
	*out = p;
	return 0;
fail:
	probe_destroy(p);
	return ret;
}

static void add_link(struct probe *p, struct bpf_link *l)
{
	if (l && bpf_link__fd(l) >= 0 && p->id.nfds < FD_MAX)
		p->fds[p->id.nfds++] = bpf_link__fd(l);
}

int probe_attach(struct probe *p, enum probe_fold fold, char *why, size_t size)
{
	if (p->skel) {
		int ret = openat_bpf__attach(p->skel);

		if (ret) {
			ret = ret < 0 ? ret : -errno;
			snprintf(why, size, "cannot attach the BPF programs: %s", strerror(-ret));
			return ret;
		}
		add_link(p, p->skel->links.sys_exit);
		add_link(p, p->skel->links.on_fork);
		add_link(p, p->skel->links.on_exec);
		add_link(p, p->skel->links.on_exit_task);
	}
	/* before the seeding call, so that the probe does not follow the linger child */
	linger(p);
	/* The seeding call: the probe sees it (it fails with EFAULT) and follows our children. A
	 * probe taken over is idle (MP_BPF_IDLE_TGID) until then: 0 lets the call seed it. */
	p->tables->fold_by_process = fold == PROBE_FOLD_PROCESS;
	p->tables->parent_tgid = 0;
	syscall(SYS_openat, MP_BPF_SEED_DFD, NULL, (unsigned long)p->id.cookie, 0);
	if (!p->tables->parent_tgid) {
		snprintf(why, size, "the probe did not see the seeding call");
		return -EIO;
	}
	/* The linger child offers the probe to the next run only if it worked for this one
	 * (even if this run is killed later). It has just been cloned: the byte is in the pipe
	 * before it reads, no wake-up. */
	if (p->linger_fd >= 0 && write(p->linger_fd, "S", 1) != 1)
		log_debug("bpf probe: cannot tell the linger child the probe works");
	return 0;
}

int probe_fd(const struct probe *p)
{
	return p && p->rb ? ring_buffer__epoll_fd(p->rb) : -1;
}

int probe_poll(struct probe *p, int timeout_ms)
{
	int n = ring_buffer__poll(p->rb, timeout_ms), m;

	/* The probe wakes us only when its ring is half full (openat.bpf.c): what came
	 * without a wake-up is read here, epoll or not. */
	if (n == -EINTR)
		n = 0;
	if (n < 0)
		return n;
	m = ring_buffer__consume(p->rb);
	return m < 0 ? m : n + m;
}

_Static_assert(MP_BPF_NCOUNTERS <= 8, "the counters fit in struct mp_bpf_tables");

/* The counters are read where the "tables" map is mapped: no system call (a per-CPU map took
 * one per counter). */
void probe_get_stats(const struct probe *p, struct probe_stats *out)
{
	const volatile __u64 *c;

	memset(out, 0, sizeof(*out));
	if (!p || !p->tables)
		return;
	c = p->tables->counters;
	out->dropped = c[MP_BPF_DROPPED];
	out->unreadable = c[MP_BPF_UNREADABLE];
	out->truncated = c[MP_BPF_TRUNCATED];
	out->sent = c[MP_BPF_SENT];
	out->io_uring = c[MP_BPF_IO_URING];
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Whether a key can be on the fold table's second level. One goes there only when its set of
 * the first is full, and a slot is emptied again only when its record was dropped (unfold()):
 * with no drop and no full set on the first level, the second (256 KiB of slots, 128 KiB of
 * wraps) is all zeros, as every reset left it, and need not be read or cleared. */
static bool second_level_used(volatile struct mp_bpf_tables *t)
{
	if (__atomic_load_n(&t->counters[MP_BPF_DROPPED], __ATOMIC_ACQUIRE))
		return true;
	for (uint32_t set = 0; set < MP_BPF_FOLD_L0_SLOTS; set += MP_BPF_FOLD_WAYS) {
		uint32_t used = 0;

		for (uint32_t w = 0; w < MP_BPF_FOLD_WAYS; w++)
			used += t->slots[set + w] != 0;
		if (used == MP_BPF_FOLD_WAYS)
			return true;
	}
	return false;
}

/* Reset a probe no run owns (in the linger child, once its run has ended): idle first, so that
 * no fork adds a process (openat.bpf.c: idle()); then, once the forks that had read the old
 * value are done (programs run for microseconds: 0.1 ms, unless one was preempted longer;
 * with 2 ms, a run started right after its predecessor ended, as in a shell loop, found
 * nothing published yet), no process followed, nothing folded or counted, and the ring
 * drained, in that order. The tables are the run's own mapping (a copy of our memory kept it)
 * or the child's own (linger_child() mapped them again). */
static int reset_idle(struct probe *p)
{
	size_t page = (size_t)getpagesize(), bits = (size_t)p->id.bit_words * 8, nslots;
	volatile struct mp_bpf_tables *t = p->tables;
	unsigned long *cons, *prod;
	void *b;

	__atomic_store_n(&t->parent_tgid, MP_BPF_IDLE_TGID, __ATOMIC_RELEASE);
	nanosleep(&(struct timespec){ 0, 100000 }, NULL);
	b = mmap(NULL, bits, PROT_READ | PROT_WRITE, MAP_SHARED, p->fds[FD_BITS], 0);
	if (b == MAP_FAILED)
		return -1;
	memset(b, 0, bits);
	munmap(b, bits);
	nslots = second_level_used(t) ? MP_BPF_FOLD_SLOTS : MP_BPF_FOLD_L0_SLOTS;
	memset((void *)t->counters, 0, sizeof(t->counters));
	memset((void *)t->slots, 0, nslots * sizeof(t->slots[0]));
	memset((void *)t->wraps, 0, nslots * sizeof(t->wraps[0]));
	/* the ring buffer's consumer page (ours to write) and producer page */
	cons = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, p->fds[FD_EVENTS], 0);
	if (cons == MAP_FAILED)
		return -1;
	prod = mmap(NULL, page, PROT_READ, MAP_SHARED, p->fds[FD_EVENTS], (off_t)page);
	if (prod == MAP_FAILED) {
		munmap(cons, page);
		return -1;
	}
	__atomic_store_n(cons, __atomic_load_n(prod, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
	munmap(prod, page);
	munmap(cons, page);
	return 0;
}

/* Remove the names in WARM_DIR a process killed at the wrong moment left behind:
 * "bpf-probe.PID.CLOCK.new" of a child killed while it published, "bpf-probe.PID.CLOCK" of
 * a run killed between claiming the file and removing it (CLOCK: CLOCK_MONOTONIC in ns, in
 * hex, when the name was made). Each lives for microseconds, so one made more than STALE_S
 * ago is left over: its time tells, not its pid, which may be another pid namespace's
 * (sharing /run), nor the file's times, which a rename keeps. getdents64, not readdir(): the
 * linger child calls no malloc. */
#define STALE_S 10
static void remove_stale(void)
{
	struct dent {
		uint64_t ino;
		int64_t off;
		unsigned short reclen;
		unsigned char type;
		char name[];
	} *e;
	char buf[4096] __attribute__((aligned(8)));
	int dfd = open(WARM_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	long n;

	if (dfd < 0)
		return;
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n; off += e->reclen) {
			char *p, *end;
			uint64_t made;

			e = (struct dent *)(buf + off);
			if (strncmp(e->name, "bpf-probe.", 10))
				continue;
			/* bpf-probe.PID.CLOCK[.new]: the pid is only skipped (see above) */
			p = e->name + 10 + strspn(e->name + 10, "0123456789");
			if (p == e->name + 10 || *p++ != '.')
				continue;
			made = strtoull(p, &end, 16);
			if (end == p || (*end && strcmp(end, ".new")))
				continue;
			if (made + (uint64_t)STALE_S * 1000000000u < now)
				unlinkat(dfd, e->name, 0);
		}
	}
	close(dfd);
}

/* The pid of the keeper (keep()) whose probe the published file at @path offers, or 0. */
static pid_t published_keeper(const char *path)
{
	struct warm m;

	return read_warm(path, &m) && m.magic == WARM_MAGIC && m.version == WARM_VERSION &&
			       m.detached && m.pid > 0 ? m.pid : 0;
}

/* Tell a keeper whose probe is no longer offered to go. Only a process still named
 * magicpak-keep: its name is read through a pidfd taken first, and the pidfd still naming a
 * live process afterwards means the name was that process's, not a reused pid's. */
static void dismiss_keeper(pid_t pid)
{
	char path[64], comm[32] = "";
	int pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1, fd;
	ssize_t n;

	if (pidfd < 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, comm, sizeof(comm) - 1);
	if (fd >= 0)
		close(fd);
	if (n > 0 && !strcmp(comm, "magicpak-keep\n") &&
	    syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0)
		syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, NULL, 0);
	close(pidfd);
}

/* Publish this probe for the next run (in the linger child, once reset): the file appears
 * whole (written under another name, then renamed), replacing another child's (a keeper
 * whose probe it offered is told to go). The file is swapped in (RENAME_EXCHANGE), so the one
 * it replaced is the one read: read first, then renamed over, a file another child published
 * in between was never read, and its keeper, no longer offered, stayed for its whole time.
 * Returns whether it is published. */
static bool publish(struct probe *p)
{
	char tmp[64];
	pid_t old = 0;
	int fd;

	p->id.pid = (int32_t)getpid();
	for (uint32_t i = 0; i < p->id.nfds; i++) {
		p->id.fd[i] = p->fds[i];
		if (!(p->id.obj_id[i] = obj_id(p->fds[i], i, p->id.detached)))
			return false;
	}
	if ((mkdir(WARM_DIR, 0700) < 0 && errno != EEXIST) || !warm_dir_safe())
		return false;
	remove_stale();
	snprintf(tmp, sizeof(tmp), WARM_FILE ".%d.%llx.new", (int)p->id.pid,
		 (unsigned long long)clock_ns(CLOCK_MONOTONIC));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return false;
	if (write(fd, &p->id, sizeof(p->id)) != (ssize_t)sizeof(p->id)) {
		unlink(tmp);
		close(fd);
		return false;
	}
	close(fd);
	for (;;) {
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, WARM_FILE, RENAME_EXCHANGE) == 0) {
			old = published_keeper(tmp); /* what it replaced, now under our name */
			unlink(tmp);
			break;
		}
		if (errno != ENOENT) {
			/* a file system without the exchange: read, then rename over */
			old = published_keeper(WARM_FILE);
			if (rename(tmp, WARM_FILE) == 0)
				break;
			unlink(tmp);
			return false;
		}
		/* none to replace (a run claimed it meanwhile): named unless one appeared */
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, WARM_FILE, RENAME_NOREPLACE) == 0)
			return true;
		if (errno != EEXIST) {
			unlink(tmp);
			return false;
		}
	}
	if (old && old != p->id.pid)
		dismiss_keeper(old);
	return true;
}

/* Take back this child's published file, before its probe changes (keep()) or as it goes: a
 * rename, as a taker's claim is, so that exactly one of us has it (a read, then an unlink,
 * could remove a newer child's file published in between). Another's file is put back.
 * Returns whether it was ours. */
static bool claim_own(void)
{
	char mine[64];
	struct warm m;

	if (!claim(mine, &m))
		return false;
	if (m.magic == WARM_MAGIC && m.pid == (int32_t)getpid()) {
		unlink(mine);
		return true;
	}
	put_back(mine);
	return false;
}

/* Kill what is left of a run that ended without probe_destroy() (killed: kill -9, a crash),
 * in the linger child: the probe still follows the tree, whose recorder is gone, and ends
 * it as ptrace's EXITKILL does for --via ptrace (RELIABILITY BPF-07), round after round while
 * forks add processes, for up to 2 s. First no process is the tree's parent any more: one
 * that got the dead run's id would have its children followed, and killed. Each process is
 * signalled through a pidfd taken while its bit is set (a bit is cleared as its process
 * exits), so an id freed and reused meanwhile is not hit. Only where the bits are our ids:
 * the root pid namespace. */
static void kill_orphaned_tree(struct probe *p)
{
	size_t bits = (size_t)p->id.bit_words * 8;
	const uint64_t *b;

	__atomic_store_n(&p->tables->parent_tgid, MP_BPF_ORPHAN_TGID, __ATOMIC_RELEASE);
	if (p->id.ns_level != 0)
		return;
	b = mmap(NULL, bits, PROT_READ, MAP_SHARED, p->fds[FD_BITS], 0);
	if (b == MAP_FAILED)
		return;
	for (int round = 0; round < 1000; round++) {
		size_t n = 0;

		for (size_t w = 0; w < p->id.bit_words; w++)
			for (uint64_t v = __atomic_load_n(&b[w], __ATOMIC_ACQUIRE); v; v &= v - 1) {
				int bit = __builtin_ctzll(v);
				pid_t pid = (pid_t)(w * 64 + (size_t)bit);
				int fd = pid > 1 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;

				if (fd < 0)
					continue;
				if ((__atomic_load_n(&b[w], __ATOMIC_ACQUIRE) >> bit & 1) &&
				    syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) == 0)
					n++;
				close(fd);
			}
		if (!n)
			break;
		nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
	}
	munmap((void *)b, bits);
}

/* After its linger, the child keeps the probe that no run took for @secs, its per-syscall
 * program detached (KEPT_DETACHED): a loaded program costs nothing until it is attached, and
 * the next run attaches it (warm_take()) instead of loading its own, which costs a run
 * milliseconds (the verifier, libbpf's feature probes, the maps). That link's program is taken
 * by id (the link says which, and its tracepoint, checked against tp_names), then the link is
 * closed (detached) and the program published in its place, under the name magicpak-keep.
 * It waits for SIGUSR1 (a run took the probe and its linger is over, or a newer probe
 * replaced it: dismiss_keeper()), SIGTERM, SIGINT or SIGHUP, or the end of its time. */
static void keep(struct probe *p, long secs)
{
	int progs[KEPT_DETACHED];
	int n = 0;
	sigset_t ends;

	if (p->id.nfds != FD_MAX)
		return;
	for (; n < KEPT_DETACHED; n++) {
		struct bpf_link_info li;
		char name[32] = "";
		__u32 len = sizeof(li);

		memset(&li, 0, sizeof(li));
		li.raw_tracepoint.tp_name = (__u64)(uintptr_t)name;
		li.raw_tracepoint.tp_name_len = sizeof(name);
		if (bpf_obj_get_info_by_fd(p->fds[FD_LINKS + n], &li, &len) ||
		    li.type != BPF_LINK_TYPE_RAW_TRACEPOINT || strcmp(name, tp_names[n]) ||
		    (progs[n] = bpf_prog_get_fd_by_id(li.prog_id)) < 0)
			break;
	}
	if (n < KEPT_DETACHED) {
		while (n-- > 0)
			close(progs[n]);
		return;
	}
	for (int i = 0; i < KEPT_DETACHED; i++) {
		close(p->fds[FD_LINKS + i]);
		p->fds[FD_LINKS + i] = progs[i];
	}
	p->id.detached = 1;
	prctl(PR_SET_NAME, "magicpak-keep", 0, 0, 0);
	/* Out of the run's session, so that its group's signals (Ctrl-C, `timeout`) stop at the
	 * run; and out of its directory, which it would keep busy (umount: EBUSY). A user may
	 * end it (pkill magicpak-keep): those signals stay blocked and are taken below, those
	 * sent to the run's group before this (still pending here) dropped first. */
	setsid();
	if (chdir("/") < 0)
		return;
	sigemptyset(&ends);
	sigaddset(&ends, SIGUSR1);
	sigaddset(&ends, SIGTERM);
	sigaddset(&ends, SIGINT);
	sigaddset(&ends, SIGHUP);
	while (sigtimedwait(&ends, NULL, &(struct timespec){ 0 }) > 0)
		;
	if (!publish(p))
		return;
	for (int64_t end = clock_ns(CLOCK_MONOTONIC) + secs * 1000000000LL, left;
	     (left = end - clock_ns(CLOCK_MONOTONIC)) > 0;) {
		struct timespec ts = { left / 1000000000, left % 1000000000 };

		if (sigtimedwait(&ends, NULL, &ts) >= 0 || errno != EINTR)
			break;
	}
	claim_own();
}

/* What the linger child works from: a copy of the probe made before it was cloned (sharing
 * our memory, it would find the run's probe freed and its mappings gone by the time it needs
 * them), the descriptors it keeps, and its pipe. */
struct linger_arg {
	struct probe p;
	int keep[FD_MAX + 3]; /* sorted, -1 after the last */
	int rfd;              /* the pipe's read end */
	unsigned long nofile; /* RLIMIT_NOFILE, for closing one by one */
	struct timespec ts;   /* how long it lingers */
	long keep_s;          /* how long it keeps the probe detached after that (keep()) */
	bool shared;          /* cloned with CLONE_VM: on the run's memory, not a copy */
};

/* The linger child (linger()). Until its run is gone it makes raw system calls only: sharing
 * the run's memory, it also shares the TLS of the run's main thread, where libc's wrappers
 * would write errno and cancellation state under that thread. The end of the pipe comes when
 * the run's descriptors are released in its exit, after its memory was let go: this child is
 * then the only one on that memory, and libc is its own. */
static int linger_child(void *arg)
{
	struct linger_arg *a = arg;
	struct probe *p = &a->p;
	bool seeded = false, published = false;
	unsigned from = 0;
	long r;
	char c;

	for (int i = 0;; i++) {
		unsigned last = a->keep[i] < 0 ? ~0u : (unsigned)a->keep[i] - 1;

		/* close_range: Linux 5.9; ENOSYS or a seccomp EPERM before that, one by one */
		if ((a->keep[i] < 0 || (unsigned)a->keep[i] > from) &&
		    rawsys(SYS_close_range, from, last, 0, 0, 0, 0) < 0)
			for (unsigned long fd = from; fd <= last && fd < a->nofile; fd++)
				rawsys(SYS_close, (long)fd, 0, 0, 0, 0, 0);
		if (a->keep[i] < 0)
			break;
		from = (unsigned)a->keep[i] + 1;
	}
	rawsys(SYS_prctl, PR_SET_NAME, (long)"magicpak-linger", 0, 0, 0, 0);
	/* "S" once the run's seeding call worked, then the end of the pipe */
	while ((r = rawsys(SYS_read, a->rfd, (long)&c, 1, 0, 0, 0)) != 0)
		if (r == 1 && c == 'S')
			seeded = true;
		else if (r < 0 && r != -EINTR)
			break;
	rawsys(SYS_close, a->rfd, 0, 0, 0, 0, 0);
	/* the run unmapped its tables (probe_destroy): map them again, from the kept map */
	if (a->shared) {
		void *t = mmap(NULL, sizeof(struct mp_bpf_tables), PROT_READ | PROT_WRITE, MAP_SHARED,
			       p->fds[FD_TABLES], 0);

		p->tables = t == MAP_FAILED ? NULL : t;
	}
	/* probe_destroy() idles the probe at a run's end: still following its tree, the run died */
	if (seeded && p->tables &&
	    __atomic_load_n(&p->tables->parent_tgid, __ATOMIC_ACQUIRE) != MP_BPF_IDLE_TGID)
		kill_orphaned_tree(p);
	/* offered only once reset, only by root (WARM_DIR), and only if it worked */
	if (seeded && p->tables && geteuid() == 0 && p->id.nfds > FD_LINKS && reset_idle(p) == 0)
		published = publish(p);
	while (nanosleep(&a->ts, &a->ts) < 0 && errno == EINTR)
		;
	tell_keeper(p);
	/* not taken meanwhile: kept, detached (a taker holds copies of the links: claim_own()
	 * tells, and then nothing is detached) */
	if (published && claim_own() && a->keep_s > 0)
		keep(p, a->keep_s);
	_exit(0);
}

/* Detaching the last program from a tracepoint makes the next attach to any tracepoint
 * wait for an RCU grace period (kernel/tracepoint.c, the "1->0->1" transition): a `record
 * --via bpf` that followed another within that time waited 5-15 ms here in probe_attach.
 * And loading the programs costs a run about 4 ms (the verifier, libbpf's feature probes, the
 * maps). So a child holds the probe too (its links and the maps user space reads), from the
 * attach until LINGER_MS after magicpak is gone (it learns that from the end of a pipe).
 * Then it resets the probe to idle (reset_idle()) and, as root, publishes its pid and fds in
 * WARM_FILE: the next run takes them with pidfd_getfd() (warm_take()) instead of loading and
 * attaching, without asking anything of this child, which sleeps out its time and exits (the
 * taker holds the probe by then). A run that finds none loads its own, next to the lingering
 * links (1->2, no wait). The idle programs find no tracked process and return at once.
 * The child shares our memory (CLONE_VM, as exitfast.c's helper does): a copy of it, as
 * fork() makes, cost a run 2.4 ms before its command started and 1.4 ms at its exit here
 * (page tables copied, then a fault for every page written since). valgrind and the
 * sanitizers get a copy, and so does a second child in one process (its arguments and stack
 * are static). Either way it is a clone() whose exit sends no signal: waitpid() without
 * __WALL does not wait for such a child, so record's loop, which waits for every child of
 * its subreaper, ends without it, and the tracer's, which counts its tracees, ignores its pid
 * (a double fork did the same, and made us wait 0.4 ms for the middle process). */
static void linger(struct probe *p)
{
	static char stack[65536] __attribute__((aligned(64)));
	static struct linger_arg shared_arg;
	static bool shared_used;
	const char *e = getenv("MAGICPAK_BPF_LINGER_MS"), *k = getenv("MAGICPAK_BPF_KEEP_S");
	long ms = e && *e ? strtol(e, NULL, 10) : LINGER_MS;
	long keep_s = p->keep_s ? p->keep_s : k && *k ? strtol(k, NULL, 10) : KEEP_S;
	bool shared = !shared_used && !exit_checks_leaks();
	struct linger_arg copy, *a = shared ? &shared_arg : &copy;
	sigset_t all, old;
	int n = 0, pfd[2];
	struct rlimit rl;
	long pid;

	if (ms <= 0 || ms > 60000 || pipe2(pfd, O_CLOEXEC) < 0)
		return;
	memset(a, 0, sizeof(*a));
	a->p = *p;
	a->shared = shared;
	a->rfd = pfd[0];
	for (uint32_t i = 0; i < p->id.nfds; i++)
		if (p->fds[i] >= 0)
			a->keep[n++] = p->fds[i];
	if (p->keeper >= 0)
		a->keep[n++] = p->keeper;
	a->keep[n++] = pfd[0];
	qsort(a->keep, (size_t)n, sizeof(a->keep[0]), cmp_int);
	a->keep[n] = -1;
	a->nofile = getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > 65536 ? 65536 : rl.rlim_cur;
	a->ts.tv_sec = ms / 1000;
	a->ts.tv_nsec = (ms % 1000) * 1000000L;
	a->keep_s = keep_s > 0 && keep_s <= PROBE_KEEP_MAX_S ? keep_s : 0;
	/* It takes no signal, ever (it inherits this mask): sharing our memory, neither a
	 * handler of ours nor a default action may run in it (a core dump, as of Ctrl-\ to
	 * the process group, takes every process sharing the memory down before Linux 5.16),
	 * and a terminal's signals to the group must not end or stop the probe's keeper. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (shared) {
		shared_used = true;
		pid = clone(linger_child, stack + sizeof(stack), CLONE_VM, a);
	} else {
		/* flags 0: a copy of the address space, like fork(), and no exit signal */
		pid = syscall(SYS_clone, 0UL, NULL, NULL, NULL, 0UL);
		if (pid == 0) {
			/* the write end first, whatever follows: while it is open here, no EOF */
			close(pfd[1]);
			linger_child(a);
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(pfd[0]);
	if (pid > 0) {
		p->linger_fd = pfd[1];
		p->linger_pid = (pid_t)pid;
	} else {
		close(pfd[1]);
	}
}

/* probe_destroy(), probe_leave(): @leave, the mappings are left to the exit. */
static void destroy(struct probe *p, bool leave)
{
	if (!p)
		return;
	/* Idle from now: a command started after this probe is gone is not followed. Under
	 * valgrind and the sanitizers the child, which has a copy of our memory, starts its
	 * countdown now; otherwise once we are gone (our end of its pipe closes in our exit). */
	if (p->linger_fd >= 0 && p->tables)
		__atomic_store_n(&p->tables->parent_tgid, MP_BPF_IDLE_TGID, __ATOMIC_RELEASE);
	if (p->linger_fd >= 0 && exit_checks_leaks())
		close(p->linger_fd);
	if (p->linger_fd < 0)
		tell_keeper(p);
	else if (p->keeper >= 0)
		close(p->keeper); /* the child's copy tells it */
	if (!leave) {
		ring_buffer__free(p->rb);
		if (p->tables)
			munmap((void *)p->tables, sizeof(struct mp_bpf_tables));
	}
	/* the raw tracepoint links detach at once (per-syscall tracepoints would each wait
	 * for an RCU grace period, ~0.1 s apiece) */
	if (p->skel)
		openat_bpf__destroy(p->skel);
	else
		for (uint32_t i = 0; i < p->id.nfds; i++)
			if (p->fds[i] >= 0)
				close(p->fds[i]);
	if (p->btf_fd >= 0)
		close(p->btf_fd);
	free(p);
}

void probe_destroy(struct probe *p)
{
	destroy(p, false);
}

/* Unmapping the ring (513 pages mapped at once, twice the data and the two control pages) and
 * the tables took 0.4-0.5 ms of every run's end here, TLB flushes sent to the other CPU
 * included. At the exit they cost nothing: the linger child shares our memory (linger()) and
 * keeps it until it goes itself, off the path of whoever waits for us. */
void probe_leave(struct probe *p)
{
	destroy(p, !exit_checks_leaks());
}

void probe_keep_for(struct probe *p, long secs)
{
	p->keep_s = secs;
}

pid_t probe_keeper_pid(const struct probe *p)
{
	return p->linger_pid;
}

pid_t probe_taken_from(const struct probe *p)
{
	return p->taken_from;
}

/* Is the process a published record names alive, and the one that published it? Checked by
 * name and state (/proc/PID/stat: "PID (NAME) S ..."): a pid reused after it went would not
 * be magicpak-linger or magicpak-keep, and one killed (its offer left behind) is a zombie
 * until reaped, or gone. */
static bool holder_alive(const struct warm *m)
{
	char path[64], buf[128] = "", want[40], *close_paren;
	ssize_t n;
	int fd;

	if (m->magic != WARM_MAGIC || m->version != WARM_VERSION || m->pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)m->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	snprintf(want, sizeof(want), "%d (%s) ", (int)m->pid,
		 m->detached ? "magicpak-keep" : "magicpak-linger");
	close_paren = strrchr(buf, ')');
	return n > 0 && !strncmp(buf, want, strlen(want)) && close_paren == buf + strlen(want) - 2 &&
	       !strchr("ZXx", close_paren[2]);
}

/* Claimed as a taker claims it (a rename: a run taking it at the same moment gets it, or we
 * do), then removed: the lingering child's own claim then fails and it does not keep the probe
 * (linger_child()); a keeper is told to go, as a newer probe's publisher tells it. An offer
 * whose holder is gone is removed all the same, and 0 returned. */
pid_t probe_release(void)
{
	char mine[64];
	struct warm m;

	if (geteuid() != 0)
		return -EPERM;
	if (!warm_dir_safe() || !claim(mine, &m))
		return 0;
	unlink(mine);
	if (!holder_alive(&m))
		return 0;
	if (m.detached)
		dismiss_keeper(m.pid);
	return m.pid;
}

/* Read, not claimed. */
pid_t probe_offered(bool *kept)
{
	struct warm m;

	*kept = false;
	if (geteuid() != 0)
		return -EPERM;
	if (!warm_dir_safe() || !read_warm(WARM_FILE, &m) || !holder_alive(&m))
		return 0;
	*kept = m.detached;
	return m.pid;
}

uint64_t probe_repeats(struct probe *p, probe_repeat_fn fn, void *ctx)
{
	uint64_t total = 0;
	uint32_t nslots;

	if (!p || !p->tables)
		return 0;
	/* the first level alone when it can be (this scan at W1's end, a reused probe, 20 runs
	 * each: 0.25 -> 0.10 ms; t716 fills a set) */
	nslots = second_level_used(p->tables) ? MP_BPF_FOLD_SLOTS : MP_BPF_FOLD_L0_SLOTS;
	for (uint32_t i = 0; i < nslots; i++) {
		uint64_t v = p->tables->slots[i], n;

		/* wraps[] only behind a slot in use: most of the table is empty, and each of its
		 * pages read costs this process a first touch (this scan at W1's end, a reused
		 * probe, 20 runs each: 0.35 -> 0.27 ms) */
		if (!v)
			continue;
		n = (v & MP_BPF_FOLD_COUNT) + p->tables->wraps[i] * MP_BPF_FOLD_CARRY;
		if (n > 1) {
			fn(ctx, v & MP_BPF_FOLD_KEY, n);
			total += n - 1;
		}
	}
	return total;
}

uint64_t probe_fold_key(const char *path, uint32_t tgid, uint32_t op, uint32_t flags, int32_t err)
{
	return mp_fold_key(path, tgid, op, flags, err);
}

#endif /* MAGICPAK_HAVE_BPF */
