/* SPDX-License-Identifier: MIT */
/* collector/ringread.c - the collector's end of the shared-memory ring; the layout and the
 * writers' protocol are in include/ring.h. The collector is the only one that moves `tail`,
 * so it keeps its own copy and publishes it after zeroing what it read. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "ring.h"
#include "ringread.h"
#include "xalloc.h"

/* the header, once[] included, must end before the data page */
_Static_assert(sizeof(struct mp_ring) <= RING_DATA_OFFSET, "struct mp_ring outgrew its page");

/* A slot reserved but not committed is normal for a few microseconds (its writer is
 * copying). Only after this long is its writer's pid looked at... */
#define STUCK_CHECK_NS (20 * 1000000ULL)
/* ...and a slot whose header was never written (the writer died or stopped between taking
 * the slot and writing its pid: a window of one store) is given up after this long. */
#define STUCK_BLIND_NS (2000 * 1000000ULL)

struct ringread {
	struct mp_ring *r;
	unsigned char *data;
	uint64_t size;
	uint64_t tail;
	char *path;
	uint64_t lost, bad;
	uint64_t stuck_pos, stuck_since; /* the uncommitted slot at tail, and since when */
	unsigned char buf[RING_SLOT_LEN(MP_WIRE_MAX)];
};

/* Mark the ring a dead collector left at @path closed, if it is one. */
static void close_stale(const char *path)
{
	struct mp_ring *m;
	struct stat sb;
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    sb.st_size >= (off_t)sizeof(struct mp_ring)) {
		m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED) {
			if (m->magic == RING_MAGIC)
				__atomic_store_n(&m->alive_ns, 0, __ATOMIC_RELEASE);
			munmap(m, sizeof(*m));
		}
	}
	close(fd);
}

int ringread_create(const char *path, unsigned int mode, size_t size, struct ringread **out)
{
	struct ringread *rr;
	void *m;
	int fd, ret;

	*out = NULL;
	if (size < 65536 || (size & (size - 1)))
		return log_error(-EINVAL, "ring size %zu is not a power of two of at least 64 KiB",
				 size);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* left by a collector that was killed (the socket was stale too): tell the writers
		 * still mapping it to use the socket, then make ours */
		close_stale(path);
		unlink(path);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	}
	if (fd < 0)
		return log_errno(-errno, "cannot create the ring '%s'", path);
	if (fchmod(fd, mode & 0666) < 0 || ftruncate(fd, RING_DATA_OFFSET + (off_t)size) < 0) {
		ret = log_errno(-errno, "cannot size the ring '%s'", path);
		close(fd);
		unlink(path);
		return ret;
	}
	m = mmap(NULL, RING_DATA_OFFSET + size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		ret = log_errno(-errno, "cannot map the ring '%s'", path);
		unlink(path);
		return ret;
	}
	/* all but the record buffer zeroed, as collect_open() does (collect.c) */
	rr = xmalloc(sizeof(*rr));
	memset(rr, 0, offsetof(struct ringread, buf));
	rr->r = m;
	rr->data = (unsigned char *)m + RING_DATA_OFFSET;
	rr->size = size;
	rr->path = xstrdup(path);
	rr->r->size = size;
	rr->r->version = RING_VERSION;
	rr->r->bell = 1;
	rr->r->alive_ns = clock_real_ns();
	/* the magic last: a writer that maps the file before this uses the socket */
	__atomic_store_n(&rr->r->magic, RING_MAGIC, __ATOMIC_RELEASE);
	*out = rr;
	return 0;
}

/* Copy @len bytes at ring position @pos into @dst, or zero them when @dst is NULL. */
static void ring_span(struct ringread *rr, uint64_t pos, void *dst, size_t len)
{
	size_t off = (size_t)(pos & (rr->size - 1)), first = (size_t)rr->size - off;

	if (first > len)
		first = len;
	if (dst) {
		memcpy(dst, rr->data + off, first);
		memcpy((unsigned char *)dst + first, rr->data, len - first);
	} else {
		memset(rr->data + off, 0, first);
		memset(rr->data, 0, len - first);
	}
}

/* Zero [tail, tail + len) and publish the new tail. */
static void consume(struct ringread *rr, uint64_t len)
{
	ring_span(rr, rr->tail, NULL, (size_t)len);
	rr->tail += len;
	__atomic_store_n(&rr->r->tail, rr->tail, __ATOMIC_RELEASE);
	rr->stuck_since = 0;
}

/* Has process @pid ended (gone, or a zombie)? */
static bool pid_dead(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

/* The first slot header that looks right in [@from, @head), or @head: where reading goes on
 * after a slot of unknown or impossible length. Slots are written header first, and what was
 * read is zeroed, so the next nonzero word is the next header unless a writer scribbled. */
static uint64_t next_header(struct ringread *rr, uint64_t from, uint64_t head)
{
	for (uint64_t p = from; p < head; p += 8) {
		uint64_t w = __atomic_load_n((uint64_t *)(rr->data + (p & (rr->size - 1))),
					     __ATOMIC_ACQUIRE);
		uint64_t len = w & RING_LEN_MASK;
		uint32_t magic;

		if (!w || !(w >> 32) || len < 8 + sizeof(struct mp_wire) || len > sizeof(rr->buf) ||
		    (len & 7) || len > head - p)
			continue;
		if (w & RING_COMMITTED) {
			ring_span(rr, p + 8, &magic, sizeof(magic));
			if (magic != MP_WIRE_MAGIC)
				continue;
		}
		return p;
	}
	return head;
}

/* May the uncommitted slot at tail (header @word) be skipped? */
static bool give_up(struct ringread *rr, uint64_t word, bool final)
{
	uint64_t now;

	if (final)
		return true;
	now = clock_mono_ns();
	if (!rr->stuck_since || rr->stuck_pos != rr->tail) {
		rr->stuck_pos = rr->tail;
		rr->stuck_since = now;
		return false;
	}
	if (word)
		return now - rr->stuck_since >= STUCK_CHECK_NS && pid_dead((pid_t)(word >> 32));
	return now - rr->stuck_since >= STUCK_BLIND_NS;
}

size_t ringread_drain(struct ringread *rr, ringread_fn fn, void *ctx, bool final)
{
	size_t n = 0;

	if (!rr)
		return 0;
	for (;;) {
		if (n && !(n % RINGREAD_BEAT)) {
			/* still here: a writer waiting for room must not take us for dead */
			__atomic_store_n(&rr->r->alive_ns, clock_real_ns(), __ATOMIC_RELEASE);
			if (!final && n >= RINGREAD_MAX)
				break;
		}
		uint64_t head = __atomic_load_n(&rr->r->head, __ATOMIC_ACQUIRE);
		uint64_t *slot, word, len;
		struct mp_wire h;

		if (head == rr->tail)
			break;
		if (head - rr->tail > rr->size) {
			/* only a hostile writer does this: drop everything it wrote */
			rr->bad++;
			rr->tail = head - rr->size;
			consume(rr, rr->size);
			continue;
		}
		slot = (uint64_t *)(rr->data + (rr->tail & (rr->size - 1)));
		word = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
		len = word & RING_LEN_MASK;
		if (!(word & RING_COMMITTED)) {
			if (!give_up(rr, word, final))
				break;
			rr->lost++;
			/* without a length the slot's end is unknown: go on at the next header */
			consume(rr, (word && len >= 8 && !(len & 7) && len <= head - rr->tail
					     ? rr->tail + len
					     : next_header(rr, rr->tail + 8, head)) -
					    rr->tail);
			continue;
		}
		if (len < 8 + sizeof(h) || len > sizeof(rr->buf) || (len & 7) ||
		    len > head - rr->tail) {
			rr->bad++;
			consume(rr, next_header(rr, rr->tail + 8, head) - rr->tail);
			continue;
		}
		/* copy first, then check: writers can still change shared memory */
		ring_span(rr, rr->tail + 8, rr->buf, (size_t)len - 8);
		consume(rr, len);
		memcpy(&h, rr->buf, sizeof(h));
		if (h.len < sizeof(h) || h.len > len - 8) {
			rr->bad++;
			continue;
		}
		fn(ctx, rr->buf, h.len);
		n++;
	}
	/* from now on, the writer that takes the ring past half full wakes us */
	__atomic_store_n(&rr->r->bell, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&rr->r->alive_ns, clock_real_ns(), __ATOMIC_RELEASE);
	return n;
}

uint64_t ringread_lost(const struct ringread *rr)
{
	return rr ? rr->lost : 0;
}

uint64_t ringread_bad(const struct ringread *rr)
{
	return rr ? rr->bad : 0;
}

void ringread_exit_bell(struct ringread *r, int parent)
{
	if (r)
		__atomic_store_n(&r->r->exit_bell, (uint32_t)parent, __ATOMIC_RELEASE);
}

void ringread_free(struct ringread *rr)
{
	if (!rr)
		return;
	/* closed: writers still running use the socket (refused: counted lost) */
	__atomic_store_n(&rr->r->alive_ns, 0, __ATOMIC_RELEASE);
	munmap(rr->r, RING_DATA_OFFSET + rr->size);
	unlink(rr->path);
	free(rr->path);
	free(rr);
}
