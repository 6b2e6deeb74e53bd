/* SPDX-License-Identifier: MIT */
/* tests/unit/test_glob.c - glob_match() and glob_match_legacy() cases, and glob_expand() on a
 * temporary tree. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "glob.h"
#include "strbuf.h"
#include "tap.h"
#include "xalloc.h"

static const struct {
	const char *pattern, *path;
	bool match;
} cases[] = {
	{ "/usr/lib/libc.so.6", "/usr/lib/libc.so.6", true },
	{ "/usr/lib/libc.so.6", "/usr/lib/libc.so.7", false },
	{ "/usr/lib/*", "/usr/lib/libc.so.6", true },
	{ "/usr/lib/*", "/usr/lib", false },
	{ "/usr/lib/*", "/usr/lib/x/y", false },
	{ "/usr/*/libc.so.6", "/usr/lib/libc.so.6", true },
	{ "/usr/lib/lib*.so", "/usr/lib/libm.so", true },
	{ "/usr/lib/lib*.so", "/usr/lib/libm.so.6", false },
	{ "/usr/lib/*.so*", "/usr/lib/libm.so.6", true },
	{ "/usr/lib/*a*b*c", "/usr/lib/xaybzc", true },
	{ "/usr/lib/*a*b*c", "/usr/lib/xaybzcd", false },
	{ "/etc/?asswd", "/etc/passwd", true },
	{ "/etc/?asswd", "/etc/asswd", false },
	{ "/etc/passw?", "/etc/passwd/", false },
	{ "/a?b", "/a/b", false },
	{ "/a*b", "/a/b", false },
	{ "/etc/.*", "/etc/.hidden", true },
	{ "/etc/*", "/etc/.hidden", true },
	{ "/usr/**", "/usr", true },
	{ "/usr/**", "/usr/lib", true },
	{ "/usr/**", "/usr/lib/x86_64-linux-gnu/libc.so.6", true },
	{ "/usr/**", "/usrx", false },
	{ "/usr/**", "/var/usr", false },
	{ "/usr/**/x", "/usr/x", true },
	{ "/usr/**/x", "/usr/a/x", true },
	{ "/usr/**/x", "/usr/a/b/x", true },
	{ "/usr/**/x", "/usr/a/b/y", false },
	{ "/usr/**/x", "/usr/a/b/x/y", false },
	{ "/usr/**/x", "/usrx", false },
	{ "/usr/**/share/**/*.mo", "/usr/local/share/locale/de/LC_MESSAGES/a.mo", true },
	{ "/usr/**/share/**/*.mo", "/usr/share/a.mo", true },
	{ "/usr/**/share/**/*.mo", "/usr/share/a.po", false },
	{ "**/*.so*", "/usr/lib/libc.so.6", true },
	{ "**/*.so*", "libc.so.6", true },
	{ "**/*.so*", "/usr/lib/libc.a", false },
	{ "**", "/anything/at/all", true },
	{ "/**", "/", true },
	{ "/a**b", "/axxb", true },
	{ "/a**b", "/ax/xb", false },
	{ "/[abc]", "/b", true },
	{ "/[abc]", "/d", false },
	{ "/[!abc]", "/d", true },
	{ "/[!abc]", "/a", false },
	{ "/[^abc]", "/a", false },
	{ "/lib[0-9][0-9]", "/lib64", true },
	{ "/lib[0-9][0-9]", "/libx4", false },
	{ "/[]]", "/]", true },
	{ "/[!]]", "/]", false },
	{ "/[a-]", "/-", true },
	{ "/[\\]]", "/]", true },
	{ "/x[", "/x[", true },
	{ "/x[ab", "/x[ab", true },
	{ "/\\*", "/*", true },
	{ "/\\*", "/a", false },
	{ "/a\\?b", "/a?b", true },
	{ "/a\\?b", "/axb", false },
	{ "/\\[a]", "/[a]", true },
	{ "/\\[a]", "/a", false },
	{ "/a\\\\b", "/a\\b", true },
	{ "/\\a", "/a", true },
	{ "/usr/\\**", "/usr/*x", true },
	{ "/usr/\\**", "/usr/x", false },
	{ "", "", true },
	{ "", "/", false },
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int make_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static char *join_list(const struct strvec *sv, size_t strip)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_add(&sb, "", 0);
	for (size_t i = 0; i < sv->n; i++) {
		if (i)
			strbuf_addch(&sb, ' ');
		strbuf_adds(&sb, strlen(sv->v[i]) >= strip ? sv->v[i] + strip : sv->v[i]);
	}
	return strbuf_detach(&sb);
}

/* Expand "<tmp>@rel" and compare the matches, <tmp> stripped, with @want. */
static void check_expand(const char *tmp, const char *rel, int want_n, const char *want)
{
	struct strvec out = STRVEC_INIT;
	char *pat = xasprintf("%s%s", tmp, rel);
	char *got;
	int n = glob_expand(pat, &out);

	got = join_list(&out, strlen(tmp));
	is_int(n, want_n, "glob_expand('%s') count", rel);
	is_str(got, want, "glob_expand('%s') matches", rel);
	free(got);
	free(pat);
	strvec_clear(&out);
}

static void test_expand(void)
{
	char tmpl[] = "/tmp/test_glob.XXXXXX";
	char *p, *tmp;
	struct strvec out = STRVEC_INIT;
	static const char *const dirs[] = { "/usr",  "/usr/lib",    "/usr/lib/sub",
					    "/real", "/real/inner", "/a[b" };
	static const char *const files[] = { "/usr/lib/libc.so.6",
					     "/usr/lib/libm.so.6",
					     "/usr/lib/libc.a",
					     "/usr/lib/sub/libz.so.1",
					     "/usr/lib/.hidden.so",
					     "/real/inner/x.so",
					     "/a[b/f" };
	int ok_setup = 1;

	tmp = mkdtemp(tmpl);
	if (!tmp) {
		skip("cannot create a temporary directory");
		return;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		p = xasprintf("%s%s", tmp, dirs[i]);
		ok_setup &= mkdir(p, 0755) == 0;
		free(p);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		p = xasprintf("%s%s", tmp, files[i]);
		ok_setup &= make_file(p) == 0;
		free(p);
	}
	/* A symlink below the pattern must not be descended into, one in the prefix must. */
	p = xasprintf("%s/usr/lib/link", tmp);
	ok_setup &= symlink("../../real", p) == 0;
	free(p);
	p = xasprintf("%s/lib", tmp);
	ok_setup &= symlink("usr/lib", p) == 0;
	free(p);
	ok(ok_setup, "temporary tree created");

	check_expand(tmp, "/usr/lib/*.so*", 3,
		     "/usr/lib/.hidden.so /usr/lib/libc.so.6 /usr/lib/libm.so.6");
	check_expand(tmp, "/usr/lib/lib?.so.6", 2, "/usr/lib/libc.so.6 /usr/lib/libm.so.6");
	check_expand(tmp, "/usr/lib/lib[!c].so.6", 1, "/usr/lib/libm.so.6");
	check_expand(tmp, "/usr/**/*.so*", 4,
		     "/usr/lib/.hidden.so /usr/lib/libc.so.6 /usr/lib/libm.so.6 "
		     "/usr/lib/sub/libz.so.1");
	check_expand(tmp, "/usr/**", 9,
		     "/usr /usr/lib /usr/lib/.hidden.so /usr/lib/libc.a /usr/lib/libc.so.6 "
		     "/usr/lib/libm.so.6 /usr/lib/link /usr/lib/sub /usr/lib/sub/libz.so.1");
	check_expand(tmp, "/usr/*/sub/libz.so.1", 1, "/usr/lib/sub/libz.so.1");
	check_expand(tmp, "/usr/lib/link/*", 1, "/usr/lib/link/inner");
	check_expand(tmp, "/usr/lib/*/inner", 0, "");
	check_expand(tmp, "/lib/*.a", 1, "/lib/libc.a");
	check_expand(tmp, "/lib/**/libz*", 1, "/lib/sub/libz.so.1");
	check_expand(tmp, "/usr/lib/libc.so.6", 1, "/usr/lib/libc.so.6");
	check_expand(tmp, "/usr/lib/missing", 0, "");
	check_expand(tmp, "/nothere/*", 0, "");
	check_expand(tmp, "//usr/./lib/libm*", 1, "/usr/lib/libm.so.6");
	check_expand(tmp, "/a\\[b/*", 1, "/a[b/f");
	check_expand(tmp, "/usr/**/**/libz*", 1, "/usr/lib/sub/libz.so.1");

	is_int(glob_expand("usr/*", &out), -EINVAL, "relative pattern refused");
	is_int((int)out.n, 0, "nothing added on error");
	strvec_clear(&out);

	ok(nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0, "temporary tree removed");
}

/* The original magicpak's --exclude (the glob crate's Pattern::matches, default options). */
static const struct {
	const char *pattern, *path;
	int match;
} legacy_cases[] = {
	{ "*libpcre2*", "/usr/lib/x86_64-linux-gnu/libpcre2-8.so.0", 1 },
	{ "*.pyc", "/usr/lib/python3.11/json/__pycache__/decoder.cpython-311.pyc", 1 },
	{ "*/__pycache__", "/usr/lib/python3.11/json/__pycache__", 1 },
	{ "*/__pycache__", "/usr/lib/python3.11/json/__pycache__/x.pyc", 0 },
	{ "/usr/lib/*", "/usr/lib/x86_64-linux-gnu/libc.so.6", 1 },
	{ "/usr/lib/*", "/usr/lib", 0 },
	{ "/usr/lib?x", "/usr/lib/x", 1 },
	{ "/usr/lib[/]x", "/usr/lib/x", 1 },
	{ "/usr/lib/**", "/usr/lib", 0 },
	{ "/usr/lib/**", "/usr/lib/", 1 },
	{ "/usr/lib/**", "/usr/lib/a/b", 1 },
	{ "**/libsqlite3.so*", "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0", 1 },
	{ "**/libsqlite3.so*", "libsqlite3.so.0", 1 },
	{ "/usr/**/libz.so", "/usr/libz.so", 1 },
	{ "/usr/**/libz.so", "/usr/a/b/libz.so", 1 },
	{ "/usr/**/libz.so", "/usr/alibz.so", 0 },
	{ "/usr/**/libz.so", "/usr/a/xlibz.so", 0 },
	{ "/a/**b", "/a/x/yb", 1 },      /* refused by the crate: read as '*' */
	{ "/a/***", "/a/x/y", 1 },
	{ "[!a]bc", "xbc", 1 },
	{ "[!a]bc", "abc", 0 },
	{ "[!a]bc", "/bc", 1 },
	{ "[a-c]x", "bx", 1 },
	{ "[a-c]x", "dx", 0 },
	{ "[-a]x", "-x", 1 },
	{ "[a-]x", "-x", 1 },
	{ "[]]x", "]x", 1 },
	{ "[!]]x", "ax", 1 },
	{ "[abc", "[abc", 1 },           /* unclosed: a literal '[' */
	{ "a\\*b", "a\\xb", 1 },        /* no escapes: '\\' is itself */
	{ "a\\*b", "a*b", 0 },
	{ "?", "\xc3\xa9", 1 },            /* one code point, two bytes */
	{ "??", "\xc3\xa9", 0 },
	{ "[\xc3\xa0-\xc3\xbf]", "\xc3\xa9", 1 },
	{ "*", "", 1 },
	{ "", "", 1 },
	{ "", "a", 0 },
	{ "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", 1 },
	{ "*a*a*a*a*a*a*a*a*a*a*a*b", "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0 },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(glob_match(cases[i].pattern, cases[i].path), cases[i].match,
		       "glob_match('%s', '%s')", cases[i].pattern, cases[i].path);
	for (size_t i = 0; i < sizeof(legacy_cases) / sizeof(legacy_cases[0]); i++)
		is_int(glob_match_legacy(legacy_cases[i].pattern, legacy_cases[i].path),
		       legacy_cases[i].match, "glob_match_legacy('%s', '%s')",
		       legacy_cases[i].pattern, legacy_cases[i].path);
	test_expand();
	return done_testing();
}
