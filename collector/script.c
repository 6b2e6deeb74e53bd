/* SPDX-License-Identifier: MIT */
/* collector/script.c - "#!" parsing after Linux fs/binfmt_script.c. */
#include <errno.h>
#include <string.h>

#include "script.h"
#include "xalloc.h"

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

int script_parse(const char *buf, size_t len, char **interp, char **arg)
{
	const char *p, *end, *e;

	*interp = *arg = NULL;
	if (len < 2 || buf[0] != '#' || buf[1] != '!')
		return 0;
	if (len > SCRIPT_LINE_MAX)
		len = SCRIPT_LINE_MAX;
	/* The line ends at the first newline. Without one, the kernel (load_script() since
	 * 5.1) cuts it before the buffer's last byte, which it keeps for the NUL, but only
	 * if the interpreter name ends (at a blank or NUL) somewhere in the whole buffer:
	 * else the name may be cut, and the exec fails with ENOEXEC. A shorter file is
	 * padded with NULs, which end the name. */
	end = memchr(buf, '\n', len);
	if (!end) {
		if (len == SCRIPT_LINE_MAX) {
			p = buf + 2;
			while (p < buf + len && is_space(*p))
				p++;
			if (p == buf + len)
				return -ENOEXEC;
			while (p < buf + len && !is_space(*p) && *p)
				p++;
			if (p == buf + len)
				return -ENAMETOOLONG;
			len = SCRIPT_LINE_MAX - 1;
		}
		end = buf + len;
	}
	/* A NUL also ends the line: the kernel works on a C string. */
	e = memchr(buf, '\0', (size_t)(end - buf));
	if (e)
		end = e;
	/* Trailing blanks are not part of the argument. */
	while (end > buf + 2 && is_space(end[-1]))
		end--;
	p = buf + 2;
	while (p < end && is_space(*p))
		p++;
	if (p == end)
		return -ENOEXEC;
	e = p;
	while (e < end && !is_space(*e))
		e++;
	*interp = xstrndup(p, (size_t)(e - p));
	while (e < end && is_space(*e))
		e++;
	/* Everything after the interpreter, blanks included, is one argument. */
	if (e < end)
		*arg = xstrndup(e, (size_t)(end - e));
	return 1;
}
