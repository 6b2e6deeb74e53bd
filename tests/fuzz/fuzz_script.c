/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_script.c - libFuzzer harness for the "#!" line parser (script_parse). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *interp = NULL, *arg = NULL;
	int ret;

	ret = script_parse((const char *)data, size, &interp, &arg);
	if (ret == 1) {
		/* what the kernel would execute: a non-empty name without blanks, from the
		 * first SCRIPT_LINE_MAX bytes */
		if (!interp || !*interp || strlen(interp) >= SCRIPT_LINE_MAX ||
		    strpbrk(interp, " \t\n"))
			abort();
		if (arg && (!*arg || strlen(arg) >= SCRIPT_LINE_MAX || strchr(arg, '\n')))
			abort();
	} else if (ret != 0 && ret != -ENOEXEC && ret != -ENAMETOOLONG) {
		abort();
	} else if (interp || arg) {
		abort();
	}
	free(interp);
	free(arg);
	return 0;
}
