/* SPDX-License-Identifier: MIT */
/* preload/emit.c - encode one record and hand it to the collector: into the shared-memory ring
 * next to the collector's socket (include/ring.h) when this process could map it, else as one
 * datagram to the socket.
 *
 * The ring costs no system call: the record is in shared memory before the wrapper returns,
 * so a SIGKILL right after the call loses nothing; a full ring makes the writer ring the
 * doorbell (one empty datagram) and wait, never drop, unless the collector is gone (the
 * doorbell is refused) or the writer is a signal handler interrupting its own thread's write.
 *
 * The fallback is an unbound SOCK_DGRAM unix socket, made for each record and closed right
 * after it (the library keeps no fd: RELIABILITY PRE-03, PRE-08), and one sendto(), blocking:
 * - the record is in the collector's receive queue before the wrapper returns, so a SIGKILL
 *   right after the call loses nothing;
 * - a full queue blocks the sender (unix_wait_for_peer) instead of dropping, so 100 processes
 *   reporting at once lose nothing;
 * - no connection: sendto() names the address every time, from any process or thread;
 * - sendto() is async-signal-safe and needs no lock: one datagram is delivered whole.
 * Everything below uses raw syscalls (never the libc entry points this library wraps), stack
 * buffers, static storage and atomics. Built twice: into libmagicpak-preload.so, and with
 * MAGICPAK_FREESTANDING into libmagicpak-audit.so, which has no libc (preload/audit.c):
 * clock_gettime goes through the vDSO the module finds itself (emit_vdso()), and
 * emit_syscall() (errno) is left out. The __thread
 * variables stay thread-local there too: initial-exec TLS is the loader's business (ld.so
 * applies the TPOFF relocations and, with LD_AUDIT set, sets up static TLS before it loads
 * the audit modules), not libc's, so a dlopen() in two threads still gets two tids. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "emit.h"
#include "event.h"
#include "hostelf.h"
#include "rawsys.h"
#include "ring.h"

__thread int emit_busy __attribute__((tls_model("initial-exec")));
/* This thread's id and the process it was read in (a fork child's copy is stale), and whether
 * it is between reserving a ring slot and committing it (a signal handler's record then must
 * not wait for room: the collector waits for this very slot). */
static __thread int tid_cache __attribute__((tls_model("initial-exec")));
static __thread int tid_pid __attribute__((tls_model("initial-exec")));
static __thread int ring_writing __attribute__((tls_model("initial-exec")));

static int debug;

/* What a process's records share: the socket, the ring and the counters. The preload
 * library's copy of this file uses the audit module's (emit_init(), audit_shared()), so that
 * a process maps the ring and the pid page once, is announced once and asks whether the
 * collector lives once, not once per copy: two copies cost a recorded `cat` about 0.2 ms
 * more (a second 4 MiB mapping, its page tables and faults, a dozen system calls). Its
 * layout is shared by the two libraries, built from this one file: @magic and @size guard
 * against a pair from different builds. */
struct emit_shared {
	uint32_t magic, size;
	struct sockaddr_un sock_addr;
	socklen_t sock_alen;
	int enabled;
	struct mp_ring *ring; /* the collector's ring, NULL: the socket only (atomic) */
	/* This process's pid, on a page the kernel zeroes in a fork child (MADV_WIPEONFORK),
	 * so the hot path makes no getpid() system call and a child reads 0 and asks. NULL:
	 * always ask. */
	int *pid_page;
	unsigned long lost; /* records not sent since the last MP_REC_LOST (atomic) */
	int cached_pid;     /* the process the last record came from (atomic) */
	/* When the socket last refused a record (no collector): for RING_CHECK_NS after
	 * that, records are counted lost without asking again, so a program whose collector
	 * is gone does not pay a failing system call for each of them. The window opens at
	 * the second refusal in a row: a collector restarted just after the record that
	 * found the old one gone still gets the next record. (atomic) */
	uint64_t refused_at;
	unsigned refusals;   /* refusals in a row (atomic) */
	uint64_t last_check; /* when this process last asked whether the collector lives (atomic) */
	/* The ring ring_gone() gave up, still mapped, and its alive_ns then: taken back by
	 * ring_back() once a collector drains it again. (atomic) */
	struct mp_ring *parked;
	uint64_t parked_alive;
	/* The file of the ring this process maps (or parked), and how many it has mapped. */
	uint64_t ring_dev, ring_ino;
	unsigned rings; /* (atomic) */
};

#define EMIT_SHARED_MAGIC 0x4d504553U /* "SEPM" */

/* Exported for the preload library to find in the audit module. Zero until emit_init() fills
 * it in: in .bss, not on a .data page of its own to copy. */
EXPORT struct emit_shared magicpak_emit_shared;
static struct emit_shared *sh = &magicpak_emit_shared;

/* System calls never go through libc's syscall(), which this library wraps (rawsys.h). */
#define SYS0(n) rawsys((n), 0, 0, 0, 0, 0, 0)
#define SYS1(n, a) rawsys((n), (long)(a), 0, 0, 0, 0, 0)
#define SYS2(n, a, b) rawsys((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define SYS3(n, a, b, c) rawsys((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define SYS4(n, a, b, c, d) rawsys((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define SYS6(n, a, b, c, d, e, f) \
	rawsys((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

/* Records are built on the stack in buffers as large as the record needs, paths first tried
 * in PATH_SMALL bytes and again in PATH_MAX when they do not fit (EMIT_SHORT): a PATH_MAX
 * buffer under every record reached pages of stack the program itself never used, each a
 * page fault, three more in a short `cat` (10-16 us each on a VM with a paravirtualized
 * MMU). RECORD_WORDS: the uint64_t words of a record with @n bytes of payload. */
#define RECORD_WORDS(n) ((sizeof(struct mp_wire) + (n) + 7) / 8)

/* getpid() for the records of the wrappers. A vfork child shares the page with its parent
 * and so reads the parent's pid: exec and exit, all a vfork child may call, ask the kernel. */
static int my_pid(void)
{
	int pid = sh->pid_page ? __atomic_load_n(sh->pid_page, __ATOMIC_RELAXED) : 0;

	if (!pid) {
		pid = (int)SYS0(SYS_getpid);
		if (sh->pid_page)
			__atomic_store_n(sh->pid_page, pid, __ATOMIC_RELAXED);
	}
	return pid;
}

static size_t slen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* Decimal digits of @v into @out (at least 21 bytes); returns the length. */
static size_t utoa(unsigned long v, char *out)
{
	char t[24];
	size_t n = 0, i;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = t[n - 1 - i];
	out[n] = '\0';
	return n;
}

void emit_debug(const char *a, const char *b)
{
	char buf[512];
	size_t n = 0, k;

	if (!debug)
		return;
	k = slen("magicpak-preload: ");
	memcpy(buf, "magicpak-preload: ", k);
	n = k;
	k = slen(a);
	if (k > 200)
		k = 200;
	memcpy(buf + n, a, k);
	n += k;
	if (b) {
		buf[n++] = ' ';
		k = slen(b);
		if (k > 250)
			k = 250;
		memcpy(buf + n, b, k);
		n += k;
	}
	buf[n++] = '\n';
	SYS3(SYS_write, 2, buf, n);
}

/* A new socket to send one datagram on, -1 if none can be made (no fd left: EMFILE); the
 * caller closes it with sock_put() right after. The library keeps no fd of its own:
 * - a program that opens until EMFILE gets as many fds as without the library, and one
 *   started with a single fd left keeps it (RELIABILITY PRE-03);
 * - a program that closes every fd (close_range, closefrom) or puts its own files on high
 *   fds takes nothing of ours, and nothing of its is ever written to (PRE-08); a kept
 *   close-on-exec socket at fd 1000 made bash undo `exec 1000>file` (it takes such an fd
 *   for one of its own and keeps it), so the script then wrote to our socket.
 * While the ring is mapped the socket only rings the doorbell (at most every RING_CHECK_NS,
 * or when the ring is half full); without it, it costs each record a socket() and a close()
 * next to its sendto(). */
static int sock_get(void)
{
	long fd = SYS3(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	return fd < 0 ? -1 : (int)fd;
}

static void sock_put(int fd)
{
	if (fd >= 0)
		SYS1(SYS_close, fd);
}

void *emit_elf_symbol(ElfW(Addr) bias, const ElfW(Dyn) *dyn, const char *name, unsigned *type)
{
	const ElfW(Sym) *symtab = NULL, *found = NULL;
	const ElfW(Half) *versym = NULL;
	const char *strtab = NULL;
	const uint32_t *gh = NULL, *buckets, *chain;
	uint32_t h = 5381, i, nbuckets;
	size_t n = slen(name) + 1;

	if (type)
		*type = EMIT_SYM_NO_TABLE;
	for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
		uintptr_t p = dyn->d_un.d_ptr;

		/* the loader rebases these in place where .dynamic is writable (not the vDSO's) */
		if (p < bias)
			p += bias;
		if (dyn->d_tag == DT_SYMTAB)
			symtab = (const void *)p;
		else if (dyn->d_tag == DT_STRTAB)
			strtab = (const void *)p;
		else if (dyn->d_tag == DT_GNU_HASH)
			gh = (const void *)p;
		else if (dyn->d_tag == DT_VERSYM)
			versym = (const void *)p;
	}
	if (!symtab || !strtab || !gh)
		return NULL;
	if (type)
		*type = STT_NOTYPE;
	if (!gh[0])
		return NULL;
	for (const char *c = name; *c; c++)
		h = h * 33 + (unsigned char)*c;
	nbuckets = gh[0];
	/* header (4 words), then the bloom filter (gh[2] words of the ELF class), buckets, chains */
	buckets = (const uint32_t *)((const ElfW(Addr) *)(gh + 4) + gh[2]);
	chain = buckets + nbuckets;
	i = buckets[h % nbuckets];
	if (i < gh[1])
		return NULL;
	for (;; i++) {
		uint32_t h2 = chain[i - gh[1]];

		/* the loader's check_match() for a lookup without a version: a definition with a
		 * value; a version index of 0 or 1 (none) at once, else the one default version
		 * (a hidden one, a compat symbol kept for old binaries, is not taken) */
		if ((h | 1) == (h2 | 1) && !strncmp(strtab + symtab[i].st_name, name, n) &&
		    symtab[i].st_shndx != SHN_UNDEF && symtab[i].st_value) {
			ElfW(Half) v = versym ? versym[i] : 0;

			if ((v & 0x7fff) < 2) {
				found = &symtab[i];
				break;
			}
			if (!(v & 0x8000) && !found)
				found = &symtab[i];
		}
		if (h2 & 1)
			break;
	}
	if (!found)
		return NULL;
	if (type)
		*type = found->st_info & 0xf; /* ELF32_ST_TYPE and ELF64_ST_TYPE alike */
	return (void *)(bias + found->st_value);
}

#ifdef MAGICPAK_FREESTANDING
/* No libc to find the vDSO for us: the audit module hands its image over (emit_vdso()), else
 * each record's time is a system call (about 7 a process, the loader's opens). */
static int (*vdso_clock_gettime)(clockid_t, struct timespec *);

void emit_vdso(const void *base)
{
	const ElfW(Ehdr) *eh = base;
	const ElfW(Phdr) *ph;
	ElfW(Addr) bias = 0, dyn = 0;
	int loaded = 0;

	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return;
	ph = (const void *)((const char *)base + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !loaded++)
			bias = (ElfW(Addr))base + ph[i].p_offset - ph[i].p_vaddr;
		else if (ph[i].p_type == PT_DYNAMIC)
			dyn = ph[i].p_vaddr;
	}
	if (loaded && dyn)
		vdso_clock_gettime = emit_elf_symbol(bias, (const void *)(bias + dyn),
						     "__vdso_clock_gettime", NULL);
}
#endif

static uint64_t now_ns(void)
{
	struct timespec ts;

#ifdef MAGICPAK_FREESTANDING
	if ((vdso_clock_gettime ? vdso_clock_gettime(CLOCK_REALTIME, &ts)
				: SYS2(SYS_clock_gettime, CLOCK_REALTIME, &ts)) < 0)
		return 0;
#else
	/* clock_gettime is async-signal-safe (POSIX) and a vDSO call: no syscall. */
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return 0;
#endif
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int send_raw(const void *buf, size_t len)
{
	uint64_t refused = __atomic_load_n(&sh->refused_at, __ATOMIC_RELAXED), now = 0;
	long r;
	int fd;

	if (refused && (now = now_ns()) - refused < RING_CHECK_NS)
		return -1;
	fd = sock_get();
	if (fd < 0)
		return -1;
	do
		r = SYS6(SYS_sendto, fd, buf, len, MSG_NOSIGNAL, &sh->sock_addr, sh->sock_alen);
	while (r == -EINTR);
	sock_put(fd);
	if (r == -ECONNREFUSED || r == -ENOENT) {
		if (__atomic_add_fetch(&sh->refusals, 1, __ATOMIC_RELAXED) >= 2)
			__atomic_store_n(&sh->refused_at, now ? now : now_ns(), __ATOMIC_RELAXED);
	} else {
		/* read first: a store on every send would bounce the line between threads */
		if (__atomic_load_n(&sh->refusals, __ATOMIC_RELAXED))
			__atomic_store_n(&sh->refusals, 0, __ATOMIC_RELAXED);
		if (refused)
			__atomic_store_n(&sh->refused_at, 0, __ATOMIC_RELAXED);
	}
	return r < 0 ? -1 : 0;
}

static void hdr_fill(struct mp_wire *h, uint32_t kind, uint32_t len, int pid)
{
	memset(h, 0, sizeof(*h));
	h->magic = MP_WIRE_MAGIC;
	h->version = MP_EVENT_VERSION;
	h->len = len;
	h->kind = kind;
	h->pid = (uint32_t)pid;
	if (tid_pid != pid) {
		tid_cache = (int)SYS0(SYS_gettid);
		tid_pid = pid;
	}
	h->tid = (uint32_t)tid_cache;
	h->source = MP_SRC_PRELOAD;
	h->time_ns = now_ns();
}

static int getcwd_raw(char *out, size_t size)
{
	long n = SYS2(SYS_getcwd, out, size);

	if (n == -ERANGE)
		return EMIT_SHORT;
	/* "(unreachable)/..." when the cwd is outside our root: not a usable base */
	if (n <= 0 || out[0] != '/')
		return -1;
	return (int)slen(out);
}

/* The cwd for a record: its length, 0 ("") when there is no usable one, or EMIT_SHORT. */
static int cwd_or_empty(char *out, size_t size)
{
	int n = getcwd_raw(out, size);

	if (n < 0 && n != EMIT_SHORT) {
		out[0] = '\0';
		n = 0;
	}
	return n;
}

static void send_record(struct mp_wire *h);

/* The record that announces process @pid, with room for @size bytes of its cwd: EMIT_SHORT
 * if the cwd needs more. */
static int start_rec(int pid, size_t size)
{
	uint64_t buf[RECORD_WORDS(size)];
	struct mp_wire *h = (struct mp_wire *)buf;
	char *cwd = (char *)(h + 1);
	int n = cwd_or_empty(cwd, size);

	if (n == EMIT_SHORT)
		return n;
	hdr_fill(h, MP_REC_PROC_START, (uint32_t)(sizeof(*h) + (size_t)n + 1), pid);
	h->aux = (uint64_t)SYS0(SYS_getppid);
	send_record(h);
	return 0;
}

/* A record from a process not seen before (a fork without exec): announce it first. */
static void check_pid(int pid)
{
	int old = __atomic_load_n(&sh->cached_pid, __ATOMIC_RELAXED);

	if (old == pid)
		return;
	/* A vfork child writes the parent's memory here: the parent then announces itself
	 * again, which the collector ignores for a process it knows. */
	__atomic_store_n(&sh->cached_pid, pid, __ATOMIC_RELAXED);
	if (start_rec(pid, PATH_SMALL) == EMIT_SHORT)
		start_rec(pid, PATH_MAX);
}

/* Ask the collector's socket whether the collector is there; -1 if it is gone. With @wake
 * (the ring is full), by ringing its doorbell: one empty datagram, which wakes it. Otherwise
 * with a connect(), which finds the socket it bound (or is refused) without sending anything:
 * the doorbell, rung for this every RING_CHECK_NS, woke the collector each time, and the
 * kernel, taking the sender for about to wait on it, ran it on the sender's CPU, where it
 * drained the ring and wrote the history for up to a millisecond while the recorded program,
 * which did not wait, waited for its CPU. */
static int ask_collector(int wake)
{
	int fd = sock_get();
	long r;

	if (fd < 0)
		return 0;
	do
		r = wake ? SYS6(SYS_sendto, fd, "", 0, MSG_NOSIGNAL | MSG_DONTWAIT, &sh->sock_addr,
				sh->sock_alen)
			 : SYS3(SYS_connect, fd, &sh->sock_addr, sh->sock_alen);
	while (r == -EINTR);
	sock_put(fd);
	return r == -ECONNREFUSED || r == -ENOENT || r == -ENOTDIR ? -1 : 0;
}

/* Is the mark @alive of a ring fresh at @now (within @ns)? */
static int fresh(uint64_t alive, uint64_t now, uint64_t ns)
{
	return alive && now <= alive + ns;
}

/* Is the ring's collector gone (at time @now)? Then the ring is dropped (parked: ring_back())
 * and the socket used: it refuses a dead collector's records (counted lost) and gives a new
 * collector on the same path the rest. A collector that closes or replaces a ring marks it
 * at once (alive_ns 0). A killed one cannot: each process asks the socket at most every
 * RING_CHECK_NS (with @wake, by ringing the doorbell: the ring is full), one system call,
 * and a ring not drained for RING_STALE_NS (its file replaced without the mark) is given up
 * too. */
static int ring_gone(struct mp_ring *r, uint64_t now, int wake)
{
	uint64_t alive = __atomic_load_n(&r->alive_ns, __ATOMIC_ACQUIRE);
	uint64_t last = __atomic_load_n(&sh->last_check, __ATOMIC_RELAXED);

	if (alive && now - last >= RING_CHECK_NS) {
		__atomic_store_n(&sh->last_check, now, __ATOMIC_RELAXED);
		if (ask_collector(wake) < 0)
			alive = 0;
	}
	if (fresh(alive, now, RING_STALE_NS))
		return 0;
	/* Only the ring this process still uses: a thread that read @r before it was given up
	 * (and another was mapped since) must not drop the new one. */
	if (__atomic_compare_exchange_n(&sh->ring, &r, NULL, false, __ATOMIC_ACQ_REL,
					__ATOMIC_RELAXED)) {
		__atomic_store_n(&sh->parked_alive,
				 __atomic_load_n(&r->alive_ns, __ATOMIC_ACQUIRE), __ATOMIC_RELAXED);
		__atomic_store_n(&sh->parked, r, __ATOMIC_RELEASE);
	}
	return 1;
}

/* Copy @len bytes of @src into the ring's data at position @pos, wrapping at the end. */
static void ring_copy(struct mp_ring *r, uint64_t pos, const void *src, size_t len)
{
	unsigned char *data = (unsigned char *)r + RING_DATA_OFFSET;
	size_t off = (size_t)(pos & (r->size - 1)), first = r->size - off;

	if (first >= len) {
		memcpy(data + off, src, len);
	} else {
		memcpy(data + off, src, first);
		memcpy(data, (const unsigned char *)src + first, len - first);
	}
}

/* Put one record into the ring. 0 done, -1 not (no room for a nested writer, the collector
 * gone, a record too large): the caller counts it lost or uses the socket. */
static int ring_put(struct mp_ring *r, const struct mp_wire *h)
{
	uint64_t need = RING_SLOT_LEN(h->len), pos, tail, word;
	uint64_t *slot;
	struct timespec pause = { 0, 200000 };

	if (need > r->size / 4)
		return -1;
	if (ring_gone(r, h->time_ns, 0))
		return send_raw(h, h->len);
	for (;;) {
		pos = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
		tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		if (pos + need - tail > r->size) {
			/* Full. A handler that interrupted this thread's own write would wait for
			 * itself; otherwise wake the collector and wait for room. */
			if (ring_writing)
				return -1;
			sh->last_check = 0;
			if (ring_gone(r, now_ns(), 1))
				return send_raw(h, h->len);
			SYS2(SYS_nanosleep, &pause, NULL);
			continue;
		}
		if (__atomic_compare_exchange_n(&r->head, &pos, pos + need, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			break;
	}
	ring_writing++;
	slot = (uint64_t *)((unsigned char *)r + RING_DATA_OFFSET + (pos & (r->size - 1)));
	word = ((uint64_t)h->pid << 32) | need;
	__atomic_store_n(slot, word, __ATOMIC_RELAXED);
	ring_copy(r, pos + 8, h, h->len);
	__atomic_store_n(slot, word | RING_COMMITTED, __ATOMIC_RELEASE);
	ring_writing--;
	/* Past half full: one writer (the one that takes the bell) wakes the collector. */
	if (pos + need - tail > r->size / 2 && __atomic_load_n(&r->bell, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&r->bell, 0, __ATOMIC_ACQ_REL))
		ask_collector(1);
	return 0;
}

/* The page for my_pid(), set to this process's pid now: a fork child finds it zeroed. (A
 * vfork child of a fork child that has not yet recorded anything would store its own pid in
 * the parent's page: the parent's later records would carry it. No program seen does that.) */
static void pid_map(void)
{
	long m = SYS6(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m < 0 && m > -4096)
		return;
	if (SYS3(SYS_madvise, m, 4096, MADV_WIPEONFORK) < 0) {
		SYS2(SYS_munmap, m, 4096);
		return;
	}
	*(int *)m = (int)SYS0(SYS_getpid);
	__atomic_store_n(&sh->pid_page, (int *)m, __ATOMIC_RELEASE);
}

/* Map the ring next to the socket (@sock, its path), if the collector made one and it is not
 * the file this process has (sh->ring_dev, sh->ring_ino; 0: none). Its file and length in
 * @dev, @ino, @len. NULL: no ring, or the same one. */
static struct mp_ring *ring_open(const char *sock, uint64_t *dev, uint64_t *ino, uint64_t *len)
{
	char path[sizeof(sh->sock_addr.sun_path) + sizeof(RING_SUFFIX)];
	struct { /* the start of struct mp_ring: a signal handler's stack may be small */
		__u32 magic, version;
		__u64 size;
	} hdr;
	struct stat st;
	size_t n = slen(sock);
	long fd, m;

	memcpy(path, sock, n);
	memcpy(path + n, RING_SUFFIX, sizeof(RING_SUFFIX));
	fd = SYS4(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0);
	if (fd < 0)
		return NULL;
	if (SYS2(SYS_fstat, fd, &st) < 0 ||
	    ((uint64_t)st.st_dev == sh->ring_dev && (uint64_t)st.st_ino == sh->ring_ino)) {
		SYS1(SYS_close, fd);
		return NULL;
	}
	/* (mapped mid-run too: a file shorter than its header says would fault, SIGBUS) */
	if (SYS4(SYS_pread64, fd, &hdr, sizeof(hdr), 0) != (long)sizeof(hdr) ||
	    hdr.magic != RING_MAGIC || hdr.version != RING_VERSION || hdr.size < 65536 ||
	    hdr.size > (1ULL << 30) || (hdr.size & (hdr.size - 1)) ||
	    (uint64_t)st.st_size < RING_DATA_OFFSET + hdr.size) {
		SYS1(SYS_close, fd);
		emit_debug("not a ring, using the socket:", path);
		return NULL;
	}
	m = SYS6(SYS_mmap, 0, RING_DATA_OFFSET + hdr.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 0);
	SYS1(SYS_close, fd);
	if (m < 0 && m > -4096)
		return NULL;
	*dev = (uint64_t)st.st_dev;
	*ino = (uint64_t)st.st_ino;
	*len = RING_DATA_OFFSET + hdr.size;
	return (struct mp_ring *)m;
}

/* Map the ring at the library's start, if there is one. */
static void ring_map(const char *sock)
{
	uint64_t len;
	struct mp_ring *m = ring_open(sock, &sh->ring_dev, &sh->ring_ino, &len);

	if (!m) {
		/* none yet: ring_back() looks again in RING_CHECK_NS, not at the first record */
		__atomic_store_n(&sh->last_check, now_ns(), __ATOMIC_RELAXED);
		return;
	}
	sh->rings = 1;
	/* A collector that drained less than RING_CHECK_NS ago was alive then: this process
	 * need not ask at its first record (a socket, a connect and a close for every short
	 * process of a shell loop). */
	{
		uint64_t now = now_ns(), alive = m->alive_ns;

		if (alive && now >= alive && now - alive < RING_CHECK_NS)
			__atomic_store_n(&sh->last_check, alive, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&sh->ring, m, __ATOMIC_RELEASE);
}

/* Rings a process maps in all: one per collector restarted on its socket while it runs. A
 * ring left is never unmapped (a thread may still be writing into it): past this many, the
 * socket stays. */
#define RING_MAPS_MAX 8

/* A ring again for a process on the socket (at time @now), asked at most every RING_CHECK_NS
 * (by one thread: the others go on with the socket), with one load in between. Without it,
 * every later record of a long-running process went through the socket, a socket(), a
 * sendto() and a close() each, the sender waiting whenever the collector had 10 of them
 * queued.
 * - The ring given up, once its collector drains it again: one that only stalled past
 *   RING_STALE_NS (an fsync on a slow disk, a SIGSTOP, an overloaded host) marks it again,
 *   while a dead collector's mark never moves on. So: its mark moved since it was given up,
 *   is fresh, and the socket answers.
 * - A new collector's ring (one restarted on the same socket, or one that came after the
 *   program started), once the one given up is closed or stale: a different file next to the
 *   socket, freshly marked, the socket answering.
 * NULL: still the socket. */
static struct mp_ring *ring_back(uint64_t now)
{
	struct mp_ring *p, *none = NULL, *m;
	uint64_t last = __atomic_load_n(&sh->last_check, __ATOMIC_RELAXED), alive = 0, dev, ino,
		 len;

	if (now - last < RING_CHECK_NS ||
	    !__atomic_compare_exchange_n(&sh->last_check, &last, now, false, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED))
		return NULL;
	p = __atomic_load_n(&sh->parked, __ATOMIC_ACQUIRE);
	if (p)
		alive = __atomic_load_n(&p->alive_ns, __ATOMIC_ACQUIRE);
	if (p && alive != __atomic_load_n(&sh->parked_alive, __ATOMIC_RELAXED) &&
	    fresh(alive, now, RING_STALE_NS / 2)) {
		if (ask_collector(0) < 0)
			return NULL;
		/* another thread may have taken a ring first */
		__atomic_compare_exchange_n(&sh->ring, &none, p, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE);
		return __atomic_load_n(&sh->ring, __ATOMIC_ACQUIRE);
	}
	if ((p && fresh(alive, now, RING_STALE_NS)) ||
	    __atomic_load_n(&sh->rings, __ATOMIC_RELAXED) >= RING_MAPS_MAX ||
	    ask_collector(0) < 0 || !(m = ring_open(sh->sock_addr.sun_path, &dev, &ino, &len)))
		return NULL;
	if (!fresh(__atomic_load_n(&m->alive_ns, __ATOMIC_ACQUIRE), now, RING_STALE_NS) ||
	    !__atomic_compare_exchange_n(&sh->ring, &none, m, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		SYS2(SYS_munmap, m, len); /* never published */
		return __atomic_load_n(&sh->ring, __ATOMIC_ACQUIRE);
	}
	sh->ring_dev = dev;
	sh->ring_ino = ino;
	__atomic_add_fetch(&sh->rings, 1, __ATOMIC_RELAXED);
	return m;
}

/* Hand one record over: the ring, else the socket. -1 if it is lost. */
static int put_record(const struct mp_wire *h)
{
	struct mp_ring *r = __atomic_load_n(&sh->ring, __ATOMIC_ACQUIRE);

	if (r || (r = ring_back(h->time_ns)))
		return ring_put(r, h);
	return send_raw(h, h->len);
}

/* Send @h (h->len bytes), reporting earlier losses first once sending works again. */
static void send_record(struct mp_wire *h)
{
	unsigned long n = __atomic_load_n(&sh->lost, __ATOMIC_RELAXED);

	if (n) {
		struct mp_wire l;

		hdr_fill(&l, MP_REC_LOST, sizeof(l), (int)h->pid);
		l.aux = n;
		if (put_record(&l) == 0)
			__atomic_sub_fetch(&sh->lost, n, __ATOMIC_RELAXED);
	}
	if (put_record(h) < 0) {
		__atomic_add_fetch(&sh->lost, 1, __ATOMIC_RELAXED);
		emit_debug("cannot send a record to", sh->sock_addr.sun_path);
	}
}

bool emit_enabled(void)
{
	return sh->enabled;
}

#ifndef MAGICPAK_FREESTANDING
/* The audit module's shared state when it is loaded (in its own namespace) and records to
 * @sock: the loader lists every namespace's objects for debuggers (r_debug_extended, glibc
 * 2.35 and later). NULL otherwise: this copy then maps its own ring. */
static struct emit_shared *audit_shared(const char *sock)
{
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 35)
	/* _r_debug is the start of the loader's r_debug_extended, declared as the smaller
	 * struct r_debug (for copy relocations): the empty asm hides that from the compiler */
	const struct r_debug_extended *r = (const void *)&_r_debug;

	__asm__("" : "+r"(r));
	if (r->base.r_version < 2)
		return NULL;
	for (r = r->r_next; r; r = r->r_next)
		for (const struct link_map *l = r->base.r_map; l; l = l->l_next) {
			struct emit_shared *e =
				emit_elf_symbol(l->l_addr, l->l_ld, "magicpak_emit_shared", NULL);

			if (e && e != sh && e->magic == EMIT_SHARED_MAGIC &&
			    e->size == sizeof(*e) && __atomic_load_n(&e->enabled, __ATOMIC_ACQUIRE) &&
			    !strcmp(e->sock_addr.sun_path, sock))
				return e;
		}
#endif
	return NULL;
}
#endif

void emit_init(char **envp)
{
	const char *sock = NULL;
	size_t n;

	for (char **e = envp; e && *e; e++) {
		if (!strncmp(*e, "MAGICPAK_SOCKET=", 16))
			sock = *e + 16;
		else if (!strncmp(*e, "MAGICPAK_DEBUG=", 15) && (*e)[15])
			debug = 1;
	}
	if (!sock || !*sock) {
		emit_debug("MAGICPAK_SOCKET is not set: not recording", NULL);
		return;
	}
	n = slen(sock);
	if (n >= sizeof(sh->sock_addr.sun_path)) {
		emit_debug("MAGICPAK_SOCKET is too long:", sock);
		return;
	}
#ifndef MAGICPAK_FREESTANDING
	{
		struct emit_shared *a = audit_shared(sock);

		if (a) {
			sh = a;
			emit_debug("recording through the audit module's ring and socket", NULL);
			return;
		}
	}
#endif
	sh->sock_addr.sun_family = AF_UNIX;
	memcpy(sh->sock_addr.sun_path, sock, n + 1);
	sh->sock_alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	/* Mapping the ring needs an fd only for a moment. A record that finds no fd for its
	 * socket (EMFILE) is counted lost and reported with the next one that does. */
	ring_map(sock);
	pid_map();
	sh->magic = EMIT_SHARED_MAGIC;
	sh->size = sizeof(*sh);
	/* cached_pid stays 0: the first record announces the process (with its parent),
	 * unless it is the exec record itself. Released last: the preload library's copy
	 * takes this state once it reads enabled. */
	__atomic_store_n(&sh->enabled, 1, __ATOMIC_RELEASE);
}

/* Append @rel to the absolute, normal path of @len bytes in @out, folding "." and ".."
 * lexically and collapsing "//" as the tracer does. Returns the new length, or EMIT_SHORT
 * when it does not fit in @size bytes. */
static int fold_append(char *out, size_t len, size_t size, const char *rel)
{
	size_t o = len;
	const char *p = rel;

	while (o > 0 && out[o - 1] == '/')
		o--;
	while (*p) {
		const char *e;
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = p;
		while (*e && *e != '/')
			e++;
		n = (size_t)(e - p);
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			if (o + 1 + n + 1 > size)
				return EMIT_SHORT;
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return (int)o;
}

/* The length of absolute @path if it is already normal (no "//", no "." or ".." component,
 * no trailing "/"), else 0: most paths are, and are then copied as they are. */
static size_t normal_len(const char *path)
{
	size_t i = 1;

	if (!path[1])
		return 1;
	for (;; i++) {
		char c = path[i];

		if (c == '/' || c == '\0') {
			/* the component that ends here: empty, "." or ".."? */
			if (path[i - 1] == '/')
				return 0;
			if (path[i - 1] == '.' &&
			    (path[i - 2] == '/' || (path[i - 2] == '.' && path[i - 3] == '/')))
				return 0;
			if (!c)
				return i;
		}
	}
}

static int fd_path(int fd, char *out, size_t size)
{
	char link[32] = "/proc/self/fd/";
	long n;

	utoa((unsigned long)fd, link + 14);
	n = SYS4(SYS_readlinkat, AT_FDCWD, link, out, size - 1);
	if (n == (long)size - 1)
		return EMIT_SHORT; /* perhaps cut short */
	if (n <= 0 || out[0] != '/')
		return -1;
	out[n] = '\0';
	return (int)n;
}

int emit_resolve(int dirfd, const char *path, char *out, size_t size)
{
	int len;

	if (path && path[0] == '/') {
		size_t n = normal_len(path);

		if (n && n < size) {
			memcpy(out, path, n + 1);
			return (int)n;
		}
		out[0] = '\0';
		return fold_append(out, 0, size, path);
	}
	if (dirfd == AT_FDCWD)
		len = getcwd_raw(out, size);
	else if (dirfd >= 0)
		len = fd_path(dirfd, out, size);
	else
		return -1;
	if (len < 0)
		return len;
	return fold_append(out, (size_t)len, size, path ? path : "");
}

/* One record of @kind naming @path (relative to @dirfd), with room for @size bytes of its
 * absolute form: 0 sent, EMIT_SHORT if it needs more room, -1 if it cannot be resolved. */
static int path_rec(uint32_t kind, int pid, int op, int dirfd, const char *path, uint32_t flags,
		    int err, size_t size)
{
	uint64_t buf[RECORD_WORDS(size)];
	struct mp_wire *h = (struct mp_wire *)buf;
	int n = emit_resolve(dirfd, path, (char *)(h + 1), size);

	if (n < 0)
		return n;
	hdr_fill(h, kind, (uint32_t)(sizeof(*h) + (size_t)n + 1), pid);
	h->op = (uint32_t)op;
	h->flags = flags;
	h->err = (uint32_t)err;
	send_record(h);
	return 0;
}

/* path_rec() with a small buffer first, then PATH_MAX; a path that cannot be resolved is
 * counted lost. */
static void send_path(uint32_t kind, int pid, int op, int dirfd, const char *path,
		      uint32_t flags, int err)
{
	int r;

	check_pid(pid);
	r = path_rec(kind, pid, op, dirfd, path, flags, err, PATH_SMALL);
	if (r == EMIT_SHORT)
		r = path_rec(kind, pid, op, dirfd, path, flags, err, PATH_MAX);
	if (r < 0)
		__atomic_add_fetch(&sh->lost, 1, __ATOMIC_RELAXED);
}

void emit_access(int op, int dirfd, const char *path, uint32_t flags, int err)
{
	if (sh->enabled)
		send_path(MP_REC_ACCESS, my_pid(), op, dirfd, path, flags, err);
}

void emit_access_fd(int op, int fd, uint32_t flags, int err)
{
	emit_access(op, fd, NULL, flags, err);
}

/* Copy @s with its NUL into @buf at *@o if it fits. */
static int put_str(char *buf, size_t *o, size_t size, const char *s)
{
	size_t n = slen(s) + 1;

	if (*o + n > size)
		return -1;
	memcpy(buf + *o, s, n);
	*o += n;
	return 0;
}

/* The exec record's payload at most: the path, the cwd and argv; argv that does not fit is
 * cut short (the record must stay one datagram). */
#define EXEC_PAYLOAD_MAX 16384

/* The exec record, with room for @size bytes of cwd: 0 sent, EMIT_SHORT if the cwd needs
 * more, -1 if the path cannot be resolved. The buffer is as large as this record needs. */
static int exec_rec(int pid, const char *exe, char *const argv[], size_t size)
{
	char cwd[size];
	size_t o, need;
	int n = cwd_or_empty(cwd, size);

	if (n == EMIT_SHORT)
		return n;
	/* the absolute path is at most the cwd, a '/' and @exe as given */
	need = (size_t)n + 1 + slen(exe) + 1 + (size_t)n + 1;
	for (size_t i = 0; argv && argv[i] && need < EXEC_PAYLOAD_MAX; i++)
		need += slen(argv[i]) + 1;
	if (need > EXEC_PAYLOAD_MAX)
		need = EXEC_PAYLOAD_MAX;
	{
		uint64_t buf[RECORD_WORDS(need)];
		struct mp_wire *h = (struct mp_wire *)buf;
		char *p = (char *)(h + 1);

		n = emit_resolve(AT_FDCWD, exe, p, need < PATH_MAX ? need : PATH_MAX);
		if (n < 0)
			return n; /* EMIT_SHORT too: the cwd changed since (another thread) */
		o = (size_t)n + 1;
		put_str(p, &o, need, cwd);
		for (size_t i = 0; argv && argv[i]; i++)
			if (put_str(p, &o, need, argv[i]) < 0)
				break;
		hdr_fill(h, MP_REC_PROC_EXEC, (uint32_t)(sizeof(*h) + o), pid);
		h->op = MP_OP_EXEC;
		h->aux = (uint64_t)SYS0(SYS_getppid);
		send_record(h);
	}
	return 0;
}

void emit_exec(const char *exe, char *const argv[])
{
	int pid, r;

	if (!sh->enabled)
		return;
	pid = (int)SYS0(SYS_getpid);
	__atomic_store_n(&sh->cached_pid, pid, __ATOMIC_RELAXED);
	r = exec_rec(pid, exe, argv, PATH_SMALL);
	if (r == EMIT_SHORT)
		r = exec_rec(pid, exe, argv, PATH_MAX);
	if (r < 0)
		__atomic_add_fetch(&sh->lost, 1, __ATOMIC_RELAXED);
}

void emit_exit(int status)
{
	struct mp_wire h;
	int pid;

	if (!sh->enabled)
		return;
	pid = (int)SYS0(SYS_getpid);
	check_pid(pid);
	/* the last chance to report what was lost: ask the socket whatever the window */
	__atomic_store_n(&sh->refused_at, 0, __ATOMIC_RELAXED);
	hdr_fill(&h, MP_REC_PROC_EXIT, sizeof(h), pid);
	h.err = (uint32_t)status;
	send_record(&h);
	/* The command `record` started: its collector may end the session now (ring.h
	 * exit_bell). One datagram, at the exit of one process a run. */
	{
		struct mp_ring *r = __atomic_load_n(&sh->ring, __ATOMIC_ACQUIRE);
		uint32_t parent = r ? __atomic_load_n(&r->exit_bell, __ATOMIC_ACQUIRE) : 0;

		if (parent && SYS0(SYS_getppid) == (long)parent)
			ask_collector(1);
	}
}

void emit_gap(const char *path, uint32_t why)
{
	if (sh->enabled)
		send_path(MP_REC_GAP, (int)SYS0(SYS_getpid), MP_OP_EXEC, AT_FDCWD, path, why, 0);
}

/* May user @uid with groups @gid and @groups[@ng] do @bit (S_IWOTH, S_IXOTH) on @st, by its
 * mode alone (no capability: exec drops them from a user that is not root)? */
static int may(const struct stat *st, unsigned uid, unsigned gid, const unsigned *groups,
	       long ng, unsigned bit)
{
	int in = st->st_gid == gid;

	if (st->st_uid == uid)
		return !!(st->st_mode & (bit << 6));
	for (long i = 0; i < ng && !in; i++)
		in = st->st_gid == groups[i];
	return !!(st->st_mode & (in ? bit << 3 : bit));
}

uint32_t emit_reach_gap(const char *lib)
{
	unsigned uid, gid = 0, groups[64];
	char path[sizeof(sh->sock_addr.sun_path)];
	struct stat st;
	long ng = 0;
	size_t n;

	if (!sh->enabled)
		return 0;
	/* root reaches it whatever its modes */
	uid = (unsigned)SYS0(SYS_geteuid);
	if (uid) {
		/* Another user, by the modes: this process may still hold capabilities (setpriv
		 * --reuid keeps them), which the exec that follows drops. Connecting needs search
		 * on every directory on the way and write on the socket. */
		gid = (unsigned)SYS0(SYS_getegid);
		ng = SYS2(SYS_getgroups, 64, groups);
		if (ng < 0)
			ng = 0;
		n = slen(sh->sock_addr.sun_path);
		memcpy(path, sh->sock_addr.sun_path, n + 1);
		for (size_t i = 1; i < n; i++) {
			if (path[i] != '/')
				continue;
			path[i] = '\0';
			if (SYS4(SYS_newfstatat, AT_FDCWD, path, &st, 0) == 0 &&
			    !may(&st, uid, gid, groups, ng, S_IXOTH))
				return MP_GAP_USER;
			path[i] = '/';
		}
	}
	/* by their paths, from where this process is: a chroot, another mount namespace or a
	 * removed socket directory hides them */
	if (SYS4(SYS_newfstatat, AT_FDCWD, sh->sock_addr.sun_path, &st, 0) != 0 ||
	    !S_ISSOCK(st.st_mode))
		return MP_GAP_AWAY;
	if (uid && !may(&st, uid, gid, groups, ng, S_IWOTH))
		return MP_GAP_USER;
	return lib[0] && SYS4(SYS_newfstatat, AT_FDCWD, lib, &st, 0) != 0 ? MP_GAP_AWAY : 0;
}

int emit_once(uint64_t key)
{
	struct mp_ring *r = __atomic_load_n(&sh->ring, __ATOMIC_ACQUIRE);

	key |= 1;
	if (!r)
		return 1;
	for (int i = 0; i < RING_ONCE_SLOTS; i++) {
		uint64_t v = __atomic_load_n(&r->once[i], __ATOMIC_ACQUIRE);

		if (!v && __atomic_compare_exchange_n(&r->once[i], &v, key, 0, __ATOMIC_ACQ_REL,
						      __ATOMIC_ACQUIRE))
			return 1;
		if (v == key)
			return 0;
	}
	return 1;
}

int emit_stat_err(const char *path)
{
	struct stat st;
	long r = SYS4(SYS_newfstatat, AT_FDCWD, path, &st, 0);

	return r < 0 ? (int)-r : 0;
}

long emit_read_file(const char *path, char *buf, size_t size)
{
	long fd, r;
	size_t n = 0;

	fd = SYS4(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	while (n < size && (r = SYS3(SYS_read, fd, buf + n, size - n)) != 0) {
		if (r == -EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
	}
	SYS1(SYS_close, fd);
	return (long)n;
}

/* The type of the program header at @off of the file open as *@ctx (raw pread). */
static int phdr_type(void *ctx, size_t off, uint32_t *type)
{
	return SYS4(SYS_pread64, *(long *)ctx, type, sizeof(*type), off) == (long)sizeof(*type) ? 0 : -1;
}

/* The bytes of a file's start read to classify it: the ELF header and, as linkers place them,
 * the program headers (1024 bytes: 16 of them), and all of a "#!" line the kernel reads. */
#define EXEC_HEAD 1024
/* The kernel reads no more of a "#!" line than this (BINPRM_BUF_SIZE). */
#define SHEBANG_MAX 256

/* Would the exec of the ELF file @path (its @st) raise privileges, so that the kernel sets
 * AT_SECURE and the loader ignores LD_PRELOAD (ld.so(8))? As the collector's
 * caps_exec_privileged(), in raw system calls: a set-user-ID file of another owner than our
 * real uid, a set-group-ID and group-executable file of another group, unless no_new_privs;
 * file capabilities with the effective flag or a permitted set, for a user other than root
 * (a revision-3 set only when its rootid is our root); nothing on a nosuid mount. */
static int exec_privileged(const char *path, const struct stat *st)
{
	struct statfs sf;
	bool nnp = SYS2(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0) == 1;
	unsigned char v[24];
	long n;

	if (SYS2(SYS_statfs, path, &sf) == 0 && (sf.f_flags & ST_NOSUID))
		return 0;
	if (!nnp && (((st->st_mode & S_ISUID) && st->st_uid != (uid_t)SYS0(SYS_getuid)) ||
		     ((st->st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) &&
		      st->st_gid != (gid_t)SYS0(SYS_getgid))))
		return 1;
	if (SYS0(SYS_getuid) == 0)
		return 0;
	n = SYS4(SYS_getxattr, path, "security.capability", v, sizeof(v));
	if (n < 12)
		return 0;
	/* little-endian words: magic_etc (revision in the top byte, bit 0 effective), then
	 * permitted and inheritable for each 32 capabilities, then a revision-3 rootid */
	if (v[3] == 3 && (n < 24 || v[20] | v[21] | v[22] | v[23]))
		return 0;
	return (v[0] & 1) || v[4] | v[5] | v[6] | v[7] ||
	       (n >= 20 && (v[12] | v[13] | v[14] | v[15]));
}

uint32_t emit_exec_gap(const char *path)
{
	unsigned char buf[EXEC_HEAD];
	char interp[SHEBANG_MAX];
	struct stat st;
	long fd, n;
	int depth, interp_flag;

	for (depth = 0; depth < 2; depth++) {
		fd = SYS4(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
		if (fd < 0) {
			/* execute-only (a set-user-ID sudo of mode 4711): no script, and its
			 * bits tell; otherwise the exec will fail */
			if (fd == -EACCES && SYS4(SYS_newfstatat, AT_FDCWD, path, &st, 0) == 0 &&
			    S_ISREG(st.st_mode) && exec_privileged(path, &st))
				return MP_GAP_SETUID;
			return 0;
		}
		if (SYS2(SYS_fstat, fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			SYS1(SYS_close, fd);
			return 0;
		}
		n = SYS4(SYS_pread64, fd, buf, sizeof(buf), 0);
		if (n < 4) {
			SYS1(SYS_close, fd);
			return 0;
		}
		/* the kernel ignores a script's own set-ID bits: its interpreter's count */
		if (buf[0] == '#' && buf[1] == '!') {
			size_t i = 2, k = 0, end = (size_t)n < SHEBANG_MAX ? (size_t)n : SHEBANG_MAX;

			SYS1(SYS_close, fd);
			while (i < end && (buf[i] == ' ' || buf[i] == '\t'))
				i++;
			while (i < end && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' &&
			       k < sizeof(interp) - 1)
				interp[k++] = (char)buf[i++];
			interp[k] = '\0';
			if (!k)
				return 0;
			path = interp;
			continue;
		}
		if (exec_privileged(path, &st)) {
			SYS1(SYS_close, fd);
			return MP_GAP_SETUID;
		}
		interp_flag = hostelf_has_interp(buf, (size_t)n, phdr_type, &fd);
		SYS1(SYS_close, fd);
		if (interp_flag == 0)
			return MP_GAP_STATIC;
		/* class and machine (e_machine at 18 in both classes): the library's own? */
		if (interp_flag == 1) {
			uint16_t machine;

			memcpy(&machine, buf + 18, sizeof(machine));
			if (buf[4] != HOST_CLASS || machine != HOST_MACHINE)
				return MP_GAP_ABI;
		}
		return 0;
	}
	return 0;
}

#ifndef MAGICPAK_FREESTANDING
/* Not in libmagicpak-audit.so: no libc, no errno there (and only the wrappers use it). */
long emit_syscall(long n, long a, long b, long c, long d, long e, long f)
{
	long r = rawsys(n, a, b, c, d, e, f);

	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}
#endif
