/* SPDX-License-Identifier: MIT */
/* collector/glob.h - path globs for --include and --exclude. */
#ifndef COLLECTOR_GLOB_H
#define COLLECTOR_GLOB_H

#include <stdbool.h>

#include "strbuf.h"

/* Match @path against @pattern. `*` matches any run of characters except `/`; `?` one
 * character except `/`; `[...]` a set (`[!...]` negated, ranges); `\` escapes; a component
 * of two stars matches zero or more whole components (so "/usr" followed by a "/" and two
 * stars matches /usr and everything below it, and with "/x" appended, /usr/x and /usr/a/b/x).
 * Leading `.` is not special. */
bool glob_match(const char *pattern, const char *path);

/* Match @path against @pattern as the original magicpak matched --exclude globs (the Rust glob
 * crate's Pattern::matches, default options): `*` matches any run of characters, `/` included;
 * `?` any one character, `/` included; `[...]` a set (`[!...]` negated, `a-z` ranges) that may
 * match `/`; a `**` that is a whole component ("dir/" followed by two stars, then "/" or the
 * end) matches zero or more whole components, or everything at the end; `\` is an ordinary
 * character. What the crate refused (three stars, `**` inside a component, an unclosed `[`) is
 * read as `*`, `*` and a literal `[`. Characters are UTF-8 code points. */
bool glob_match_legacy(const char *pattern, const char *path);

/* Expand an absolute @pattern against the file system, appending every existing match
 * (files, directories and symlinks, not followed below the pattern) to @out, sorted.
 * A pattern without wildcards yields itself if it exists (lstat). Returns the number of
 * matches added, or a negative errno (-EINVAL for a relative pattern). */
int glob_expand(const char *pattern, struct strvec *out);

#endif /* COLLECTOR_GLOB_H */
