/* SPDX-License-Identifier: MIT */
/* collector/elfobj.c - the dynamic-linking facts of an ELF file, read with libelf and pread().
 *
 * libelf 0.188 accepts much that is not a valid executable (elf_begin succeeds on empty,
 * text and ar input; out-of-range section headers become shnum=0; PN_XNUM without the
 * extension becomes phnum=0 silently), so every bound is checked here against the file
 * size. Nothing is mapped: a file truncated while we read it gives an error, not SIGBUS. */
#include <errno.h>
#include <gelf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>

#include "abi.h"
#include "elfobj.h"
#include "xalloc.h"

#define MAX_NEEDED 65536

static int fail(struct strbuf *why, int ret, const char *msg)
{
	strbuf_reset(why);
	strbuf_adds(why, msg);
	return ret;
}

/* Classify what is not ELF, so the message says what the file is. */
static int not_elf(const unsigned char *buf, size_t n, struct strbuf *why)
{
	static const char *const script_words[] = { "GROUP", "INPUT", "OUTPUT_FORMAT", "/* GNU ld script" };

	if (n == 0)
		return fail(why, -ENOEXEC, "empty file");
	if (n >= 8 && !memcmp(buf, "!<arch>\n", 8))
		return fail(why, -ENOEXEC, "ar archive, not an executable or shared object");
	if (n >= 4 && !memcmp(buf, ELFMAG, SELFMAG))
		return fail(why, -ENOEXEC, "truncated ELF file");
	for (size_t i = 0; i < sizeof(script_words) / sizeof(script_words[0]); i++)
		if (memmem(buf, n, script_words[i], strlen(script_words[i])))
			return fail(why, -ENOEXEC, "linker script, not an ELF file");
	return fail(why, -ENOEXEC, "not an ELF file");
}

static void init(struct elfobj *o)
{
	memset(o, 0, sizeof(*o));
	strvec_init(&o->needed);
}

/* fstat and read the first @size bytes into @buf (*@got of them), and check the header. */
static int peek_head(int fd, struct elfobj *o, struct strbuf *why, unsigned char *buf, size_t size,
		     size_t *got)
{
	ssize_t n;
	struct stat st;

	init(o);
	if (fstat(fd, &st) < 0)
		return fail(why, -errno, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(why, -ENOEXEC, S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	o->size = (uint64_t)st.st_size;
	n = pread(fd, buf, size, 0);
	if (n < 0)
		return fail(why, -errno, strerror(errno));
	*got = (size_t)n;
	if ((size_t)n < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG))
		return not_elf(buf, (size_t)n, why);
	o->ei_class = buf[EI_CLASS];
	o->ei_data = buf[EI_DATA];
	o->osabi = buf[EI_OSABI];
	if (o->ei_class != ELFCLASS32 && o->ei_class != ELFCLASS64)
		return fail(why, -EINVAL, "invalid ELF class");
	if (o->ei_data != ELFDATA2LSB && o->ei_data != ELFDATA2MSB)
		return fail(why, -EINVAL, "invalid ELF data encoding");
	if (buf[EI_VERSION] != EV_CURRENT)
		return fail(why, -EINVAL, "invalid ELF version");
	if ((size_t)n < (o->ei_class == ELFCLASS64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
		return fail(why, -EINVAL, "truncated ELF header");
	/* e_type and e_machine sit at the same offsets in both classes. */
	if (o->ei_data == ELFDATA2LSB) {
		o->type = (uint16_t)(buf[16] | buf[17] << 8);
		o->machine = (uint16_t)(buf[18] | buf[19] << 8);
	} else {
		o->type = (uint16_t)(buf[16] << 8 | buf[17]);
		o->machine = (uint16_t)(buf[18] << 8 | buf[19]);
	}
	if (o->type == ET_REL)
		return fail(why, -ENOEXEC, "relocatable object (ET_REL), not an executable or shared object");
	if (o->type == ET_CORE)
		return fail(why, -ENOEXEC, "core file, not an executable or shared object");
	if (o->type != ET_EXEC && o->type != ET_DYN)
		return fail(why, -ENOEXEC, "not an executable or shared object");
	o->identified = true;
	return 0;
}

int elfobj_peek(int fd, struct elfobj *o, struct strbuf *why)
{
	unsigned char buf[256];
	size_t n;

	return peek_head(fd, o, why, buf, sizeof(buf), &n);
}

/* Map a virtual address to a file offset through the PT_LOAD segments, as ld.so would see
 * the bytes in memory; only the file-backed part of a segment counts. */
static int vaddr_to_off(Elf *elf, size_t phnum, uint64_t vaddr, uint64_t size, uint64_t fsize,
			uint64_t *off)
{
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr < ph.p_vaddr || vaddr - ph.p_vaddr >= ph.p_filesz)
			continue;
		uint64_t o = ph.p_offset + (vaddr - ph.p_vaddr);
		uint64_t avail = ph.p_filesz - (vaddr - ph.p_vaddr);

		if (o < ph.p_offset || o > fsize)
			return -EINVAL;
		if (size > avail || size > fsize - o)
			return -EINVAL;
		*off = o;
		return 0;
	}
	return -EINVAL;
}

/* Read the NUL-terminated string at @off (within a table of @tabsize bytes at @tab). */
static int read_string(int fd, uint64_t tab, uint64_t tabsize, uint64_t off, char **out)
{
	char buf[PATH_MAX];
	uint64_t max = tabsize - off;
	ssize_t n;
	char *nul;

	if (off >= tabsize)
		return -ERANGE;
	if (max > sizeof(buf))
		max = sizeof(buf);
	n = pread(fd, buf, (size_t)max, (off_t)(tab + off));
	if (n < 0)
		return -errno;
	nul = memchr(buf, '\0', (size_t)n);
	if (!nul)
		return (size_t)n == sizeof(buf) ? -ENAMETOOLONG : -EINVAL;
	*out = xstrndup(buf, (size_t)(nul - buf));
	return 0;
}

/* One read of the part of the string table that the wanted strings start in. */
struct span {
	char *buf;
	uint64_t start; /* offset in the table */
	size_t len;
};

#define SPAN_MAX (64 * 1024)

static void span_load(int fd, const unsigned char *head, size_t headlen, uint64_t tab,
		      uint64_t tabsize, const uint64_t *offs, size_t n, long a, long b, long c,
		      struct span *sp)
{
	uint64_t lo = UINT64_MAX, hi = 0, end;
	long extra[3] = { a, b, c };
	ssize_t got;

	for (size_t i = 0; i < n + 3; i++) {
		uint64_t o;

		if (i < n) {
			o = offs[i];
		} else {
			if (extra[i - n] < 0)
				continue;
			o = (uint64_t)extra[i - n];
		}
		if (o >= tabsize)
			continue;
		lo = o < lo ? o : lo;
		hi = o > hi ? o : hi;
	}
	if (lo == UINT64_MAX || hi - lo > SPAN_MAX)
		return;
	end = hi + 512 < tabsize ? hi + 512 : tabsize;
	if (tab + end <= headlen) {
		/* Already read with the headers. */
		sp->buf = xmalloc((size_t)(end - lo));
		memcpy(sp->buf, head + tab + lo, (size_t)(end - lo));
		sp->start = lo;
		sp->len = (size_t)(end - lo);
		return;
	}
	sp->buf = xmalloc((size_t)(end - lo));
	got = pread(fd, sp->buf, (size_t)(end - lo), (off_t)(tab + lo));
	if (got < 0) {
		free(sp->buf);
		sp->buf = NULL;
		return;
	}
	sp->start = lo;
	sp->len = (size_t)got;
}

/* The string at @off, from the span when it lies there whole, else read on its own. */
static int span_string(const struct span *sp, int fd, uint64_t tab, uint64_t tabsize, uint64_t off,
		       char **out)
{
	if (off >= tabsize)
		return -ERANGE;
	if (sp->buf && off >= sp->start && off - sp->start < sp->len) {
		const char *p = sp->buf + (off - sp->start);
		const char *nul = memchr(p, '\0', sp->len - (size_t)(off - sp->start));

		if (nul && nul - p < PATH_MAX) {
			*out = xstrndup(p, (size_t)(nul - p));
			return 0;
		}
	}
	return read_string(fd, tab, tabsize, off, out);
}

static int read_interp(int fd, const unsigned char *head, size_t headlen, const GElf_Phdr *ph,
		       uint64_t fsize, struct elfobj *o, struct strbuf *why)
{
	char buf[PATH_MAX];
	ssize_t n;

	/* The kernel's binfmt_elf limits: at least 2 bytes, at most PATH_MAX, NUL last. */
	if (ph->p_filesz < 2 || ph->p_filesz > PATH_MAX)
		return fail(why, -EINVAL, "PT_INTERP has an invalid size");
	if (ph->p_offset > fsize || ph->p_filesz > fsize - ph->p_offset)
		return fail(why, -EINVAL, "PT_INTERP past the end of the file");
	if (ph->p_offset + ph->p_filesz <= headlen)
		n = (ssize_t)ph->p_filesz, memcpy(buf, head + ph->p_offset, (size_t)n);
	else
		n = pread(fd, buf, (size_t)ph->p_filesz, (off_t)ph->p_offset);
	if (n != (ssize_t)ph->p_filesz)
		return fail(why, -EINVAL, "file changed while reading");
	if (buf[n - 1] != '\0' || strlen(buf) != (size_t)n - 1 || buf[0] == '\0')
		return fail(why, -EINVAL, "PT_INTERP is not a valid path");
	o->interp = xstrdup(buf);
	return 0;
}

static int read_dynamic(int fd, const unsigned char *head, size_t headlen, Elf *elf, size_t phnum,
			const GElf_Phdr *dph, uint64_t fsize, struct elfobj *o, struct strbuf *why)
{
	Elf_Data src = { 0 }, dst;
	void *raw = NULL;
	uint64_t strtab = 0, strsz = 0, stroff = 0;
	bool have_strtab = false, have_strsz = false;
	size_t entsize = gelf_fsize(elf, ELF_T_DYN, 1, EV_CURRENT);
	size_t ndyn, i;
	long soname = -1, rpath = -1, runpath = -1;
	uint64_t *needed = NULL;
	size_t nneeded = 0;
	struct span sp = { NULL, 0, 0 };
	int ret = 0;

	uint64_t dynoff;

	if (!entsize || dph->p_filesz % entsize)
		return fail(why, -EINVAL, "PT_DYNAMIC size is not a multiple of its entry size");
	/* ld.so reads the dynamic section at p_vaddr in the loaded image, not at p_offset:
	 * find those bytes through PT_LOAD as it would see them. */
	if (vaddr_to_off(elf, phnum, dph->p_vaddr, dph->p_filesz, fsize, &dynoff) < 0)
		return fail(why, -EINVAL, "PT_DYNAMIC outside the loaded segments of the file");
	ndyn = dph->p_filesz / entsize;
	if (!ndyn)
		return 0;
	needed = xmalloc(sizeof(*needed) * (ndyn < MAX_NEEDED ? ndyn : MAX_NEEDED));
	/* Read the segment ourselves and let libelf translate it to host order. */
	raw = xmalloc((size_t)dph->p_filesz);
	if (pread(fd, raw, (size_t)dph->p_filesz, (off_t)dynoff) != (ssize_t)dph->p_filesz) {
		ret = fail(why, -EINVAL, "file changed while reading");
		goto out;
	}
	src.d_buf = raw;
	src.d_type = ELF_T_DYN;
	src.d_size = dph->p_filesz;
	src.d_version = EV_CURRENT;
	dst = src;
	if (!gelf_xlatetom(elf, &dst, &src, o->ei_data)) {
		ret = fail(why, -EINVAL, "cannot read PT_DYNAMIC");
		goto out;
	}
	/* The walk stops at DT_NULL or at the end of the segment, whichever comes first. */
	for (i = 0; i < ndyn; i++) {
		GElf_Dyn dyn;

		if (o->ei_class == ELFCLASS64) {
			dyn.d_tag = ((Elf64_Dyn *)raw)[i].d_tag;
			dyn.d_un.d_val = ((Elf64_Dyn *)raw)[i].d_un.d_val;
		} else {
			dyn.d_tag = ((Elf32_Dyn *)raw)[i].d_tag;
			dyn.d_un.d_val = ((Elf32_Dyn *)raw)[i].d_un.d_val;
		}
		if (dyn.d_tag == DT_NULL)
			break;
		switch (dyn.d_tag) {
		case DT_STRTAB: strtab = dyn.d_un.d_ptr; have_strtab = true; break;
		case DT_STRSZ: strsz = dyn.d_un.d_val; have_strsz = true; break;
		case DT_SONAME: soname = (long)dyn.d_un.d_val; break;
		case DT_RPATH: rpath = (long)dyn.d_un.d_val; break;
		case DT_RUNPATH: runpath = (long)dyn.d_un.d_val; break;
		case DT_FLAGS_1: o->flags_1 = dyn.d_un.d_val; break;
		case DT_NEEDED:
			if (nneeded >= MAX_NEEDED) {
				ret = fail(why, -EINVAL, "too many DT_NEEDED entries");
				goto out;
			}
			needed[nneeded++] = dyn.d_un.d_val;
			break;
		}
	}
	if (!nneeded && soname < 0 && rpath < 0 && runpath < 0)
		goto out;
	if (!have_strtab || !have_strsz) {
		ret = fail(why, -EINVAL, "dynamic section without DT_STRTAB or DT_STRSZ");
		goto out;
	}
	if (vaddr_to_off(elf, phnum, strtab, strsz, fsize, &stroff) < 0) {
		ret = fail(why, -EINVAL, "DT_STRTAB/DT_STRSZ outside the loaded segments of the file");
		goto out;
	}
	/* The strings usually sit together at the start of .dynstr: read them in one go. */
	span_load(fd, head, headlen, stroff, strsz, needed, nneeded, soname, rpath, runpath, &sp);
	for (i = 0; i < nneeded; i++) {
		char *s = NULL;

		ret = span_string(&sp, fd, stroff, strsz, needed[i], &s);
		if (ret == 0 && (!*s || (!strchr(s, '/') && strlen(s) > NAME_MAX))) {
			free(s);
			ret = -EINVAL;
		}
		if (ret < 0) {
			strbuf_reset(why);
			if (ret == -ERANGE)
				strbuf_addf(why, "DT_NEEDED[%zu]: string offset 0x%llx outside DT_STRSZ "
					    "(0x%llx)", i, (unsigned long long)needed[i],
					    (unsigned long long)strsz);
			else
				strbuf_addf(why, "DT_NEEDED[%zu]: %s", i,
					    ret == -EINVAL ? "invalid name" : "name too long");
			ret = -EINVAL;
			goto out;
		}
		strvec_push_owned(&o->needed, s);
	}
	struct {
		long off;
		char **dst;
		const char *what;
	} strs[] = { { soname, &o->soname, "DT_SONAME" },
		     { rpath, &o->rpath, "DT_RPATH" },
		     { runpath, &o->runpath, "DT_RUNPATH" } };
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strs[i].off < 0)
			continue;
		ret = span_string(&sp, fd, stroff, strsz, (uint64_t)strs[i].off, strs[i].dst);
		if (ret < 0) {
			strbuf_reset(why);
			strbuf_addf(why, "%s: invalid string", strs[i].what);
			ret = -EINVAL;
			goto out;
		}
	}
out:
	free(raw);
	free(sp.buf);
	free(needed);
	return ret;
}

/* The first bytes of a file usually hold the ELF header, the program headers and
 * PT_INTERP: one read serves them all. */
#define HEAD_SIZE 4096
/* The kernel refuses more program headers than fit in 64 KiB; allow a little more. */
#define PHDRS_MAX (1024 * 1024)

int elfobj_read(int fd, struct elfobj *o, struct strbuf *why)
{
	unsigned char stack[HEAD_SIZE], *head = stack, *big = NULL;
	size_t n = 0, phnum, phentsize, need;
	Elf *elf = NULL;
	GElf_Ehdr eh;
	uint64_t fsize;
	int ninterp = 0, ndyn = 0, ret;
	GElf_Phdr dyn_ph = { 0 };

	ret = peek_head(fd, o, why, head, sizeof(stack), &n);
	if (ret < 0)
		return ret;
	if (!elfobj_runs_here(o))
		return 0;
	fsize = o->size;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return fail(why, -EINVAL, "libelf is too old");
	/* libelf parses from our buffer (elf_memory): nothing is mapped, so a file truncated
	 * meanwhile gives short reads and errors, never SIGBUS. */
	elf = elf_memory((char *)head, n);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		ret = fail(why, -EINVAL, "malformed ELF header");
		goto out;
	}
	phentsize = o->ei_class == ELFCLASS64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	if (eh.e_phentsize != phentsize) {
		ret = fail(why, -EINVAL, "invalid program header entry size");
		goto out;
	}
	/* An executable or shared object without program headers is malformed, not static;
	 * PN_XNUM (more than 65534) is beyond what the kernel or ld.so load. */
	phnum = eh.e_phnum;
	if (phnum == 0 || phnum == PN_XNUM) {
		ret = fail(why, -EINVAL, "no valid program headers");
		goto out;
	}
	if (eh.e_phoff > fsize || phnum > (fsize - eh.e_phoff) / phentsize) {
		ret = fail(why, -EINVAL, "program headers past the end of the file");
		goto out;
	}
	need = (size_t)eh.e_phoff + phnum * phentsize;
	if (need > n) {
		ssize_t got;

		if (need > PHDRS_MAX) {
			ret = fail(why, -EINVAL, "program headers too far into the file");
			goto out;
		}
		elf_end(elf);
		big = xmalloc(need);
		got = pread(fd, big, need, 0);
		if (got != (ssize_t)need) {
			elf = NULL;
			ret = fail(why, -EINVAL, "file changed while reading");
			goto out;
		}
		head = big;
		n = need;
		elf = elf_memory((char *)head, n);
		if (!elf || !gelf_getehdr(elf, &eh)) {
			ret = fail(why, -EINVAL, "malformed ELF header");
			goto out;
		}
	}
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph)) {
			ret = fail(why, -EINVAL, "cannot read program headers");
			goto out;
		}
		if (ph.p_type == PT_INTERP) {
			if (++ninterp > 1) {
				ret = fail(why, -EINVAL, "more than one PT_INTERP");
				goto out;
			}
			ret = read_interp(fd, head, n, &ph, fsize, o, why);
			if (ret < 0)
				goto out;
		} else if (ph.p_type == PT_DYNAMIC) {
			if (++ndyn > 1) {
				ret = fail(why, -EINVAL, "more than one PT_DYNAMIC");
				goto out;
			}
			dyn_ph = ph;
		}
	}
	if (ndyn) {
		o->dynamic = true;
		ret = read_dynamic(fd, head, n, elf, phnum, &dyn_ph, fsize, o, why);
	}
out:
	elf_end(elf);
	free(big);
	if (ret < 0)
		elfobj_release(o);
	return ret;
}

void elfobj_release(struct elfobj *o)
{
	free(o->interp);
	free(o->soname);
	free(o->rpath);
	free(o->runpath);
	strvec_clear(&o->needed);
	o->interp = o->soname = o->rpath = o->runpath = NULL;
}

enum elfobj_fit elfobj_fits(const struct elfobj *o, const struct abi *a)
{
	/* ld.so's open_verify(): another class or machine is skipped silently and the search
	 * goes on; any other mismatch (byte order, OS ABI) is an error that stops it. */
	if (!a || o->ei_class != a->ei_class || o->machine != a->machine)
		return ELFOBJ_WRONG_ABI;
	if (o->ei_data != ELFDATA2LSB)
		return ELFOBJ_BAD;
	if (o->osabi != ELFOSABI_SYSV && o->osabi != ELFOSABI_GNU)
		return ELFOBJ_BAD;
	return ELFOBJ_FIT;
}

bool elfobj_runs_here(const struct elfobj *o)
{
	return elfobj_fits(o, abi_of(o->ei_class, o->machine)) == ELFOBJ_FIT;
}

const char *elfobj_machine_name(uint16_t machine)
{
	static char buf[32];

	switch (machine) {
	case EM_X86_64: return "x86-64";
	case EM_386: return "i386";
	case EM_AARCH64: return "AArch64";
	case EM_ARM: return "ARM";
	case EM_RISCV: return "RISC-V";
	case EM_PPC64: return "PowerPC64";
	case EM_S390: return "S/390";
	}
	snprintf(buf, sizeof(buf), "machine %u", machine);
	return buf;
}
