/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_elf.c - ELF-11: libFuzzer harness for the ELF reader and its dynamic-section walk
 * (elfobj_peek, elfobj_read). elfobj reads a file descriptor with pread() only, so the input
 * goes into one memfd that is rewritten for each run (no temp files on disk). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "abi.h"
#include "elfobj.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct strbuf why;
	struct elfobj o;

	if (fd < 0) {
		fd = memfd_create("fuzz_elf", MFD_CLOEXEC);
		if (fd < 0)
			abort();
	}
	if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	strbuf_init(&why);
	if (elfobj_peek(fd, &o, &why) == 0) {
		(void)elfobj_fits(&o, abi_host());
		(void)elfobj_runs_here(&o);
	}
	elfobj_release(&o);
	if (elfobj_read(fd, &o, &why) == 0) {
		(void)elfobj_machine_name(o.machine);
		for (size_t i = 0; i < o.needed.n; i++)
			if (!o.needed.v[i])
				abort();
	}
	elfobj_release(&o);
	strbuf_release(&why);
	return 0;
}
