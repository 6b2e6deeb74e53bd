/* SPDX-License-Identifier: MIT */
/* Reliability cases also covered here: LIB-04. */
/* tests/unit/test_hwcaps.c - hwcaps_detect() against what this machine's ld.so says it uses. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hwcaps.h"
#include "strbuf.h"
#include "tap.h"
#include "xalloc.h"

#define LDSO "/lib64/ld-linux-x86-64.so.2"

/* What `ld.so --help` prints under its two hwcaps headings. */
struct ldso_help {
	struct strvec levels; /* "(supported, searched)" glibc-hwcaps subdirectories */
	struct strvec legacy; /* supported legacy names, in printed order */
	char *platform;       /* the one marked AT_PLATFORM */
	bool ok;
};

static void read_help(struct ldso_help *h, const char *env)
{
	char cmd[512];
	char line[512];
	int section = 0;
	FILE *f;

	memset(h, 0, sizeof(*h));
	snprintf(cmd, sizeof(cmd), "%s " LDSO " --help 2>/dev/null", env);
	f = popen(cmd, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char name[128];

		if (!strncmp(line, "Subdirectories of glibc-hwcaps", 30)) {
			section = 1;
			h->ok = true;
			continue;
		}
		if (!strncmp(line, "Legacy HWCAP subdirectories", 27)) {
			section = 2;
			continue;
		}
		if (strncmp(line, "  ", 2) || sscanf(line, " %127s", name) != 1) {
			section = 0;
			continue;
		}
		if (!strstr(line, "supported"))
			continue;
		if (section == 1)
			strvec_push(&h->levels, name);
		else if (section == 2) {
			strvec_push(&h->legacy, name);
			if (strstr(line, "AT_PLATFORM")) {
				free(h->platform);
				h->platform = xstrdup(name);
			}
		}
	}
	pclose(f);
}

/* The directories ld.so lists for LD_LIBRARY_PATH=@dir under LD_DEBUG=libs, in order. */
static void read_search_path(const char *dir, const char *env, struct strvec *out)
{
	char cmd[512], *line = NULL, *p, *end, *tok, *save = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s LD_LIBRARY_PATH=%s LD_DEBUG=libs /bin/true 2>&1", env, dir);
	f = popen(cmd, "r");
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		p = strstr(line, "search path=");
		if (!p || !strstr(line, "(LD_LIBRARY_PATH)"))
			continue;
		p += strlen("search path=");
		end = strpbrk(p, "\t\n ");
		if (end)
			*end = '\0';
		for (tok = strtok_r(p, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
			strvec_push(out, tok);
		break;
	}
	free(line);
	pclose(f);
}

static bool same_vec(const struct strvec *a, const struct strvec *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return false;
	return true;
}

static void print_vec(const char *what, const struct strvec *v)
{
	size_t i;

	printf("#   %s:", what);
	for (i = 0; i < v->n; i++)
		printf(" %s", v->v[i]);
	printf("\n");
}

static void expected_dirs(const struct hwcaps *hw, const char *dir, struct strvec *want)
{
	size_t i;

	for (i = 0; i < hw->levels.n; i++)
		strvec_push_owned(want, xasprintf("%s/glibc-hwcaps/%s", dir, hw->levels.v[i]));
	for (i = 0; i < hw->legacy.n; i++)
		strvec_push_owned(want, xasprintf("%s/%s", dir, hw->legacy.v[i]));
	strvec_push(want, dir);
}

static void test_against_ldso(void)
{
	struct ldso_help h;
	struct hwcaps hw;
	struct strvec want = STRVEC_INIT, got = STRVEC_INIT;
	char dir[] = "/tmp/magicpak-hwcaps-XXXXXX";
	size_t i;

	unsetenv("MAGICPAK_HWCAPS");
	unsetenv("MAGICPAK_PLATFORM");
	hwcaps_detect(&hw);
	read_help(&h, "");
	if (!h.ok) {
		skip(LDSO " --help does not list glibc-hwcaps subdirectories");
		skip(LDSO " --help does not list glibc-hwcaps subdirectories");
		skip(LDSO " --help does not list glibc-hwcaps subdirectories");
	} else {
		if (!ok(same_vec(&hw.levels, &h.levels), "levels match ld.so --help")) {
			print_vec("ours", &hw.levels);
			print_vec("ld.so", &h.levels);
		}
		is_str(hw.platform, h.platform, "platform matches ld.so's AT_PLATFORM line");
		/* Every legacy name ld.so uses is a one-component subdirectory of ours. */
		for (i = 0; i < h.legacy.n; i++)
			if (strvec_find(&hw.legacy, h.legacy.v[i]) < 0)
				break;
		ok(i == h.legacy.n && h.legacy.n > 0, "every legacy name of ld.so --help is ours");
	}

	/* The full order, against the search path ld.so prints for LD_LIBRARY_PATH. The
	 * directory need not exist: ld.so lists it anyway. */
	if (!mkdtemp(dir)) {
		skip("mkdtemp failed");
	} else {
		rmdir(dir);
		expected_dirs(&hw, dir, &want);
		read_search_path(dir, "", &got);
		if (!got.n) {
			skip("LD_DEBUG=libs printed no search path");
		} else if (!ok(same_vec(&want, &got),
			       "search order matches LD_DEBUG=libs (%zu dirs)", got.n)) {
			print_vec("ours", &want);
			print_vec("ld.so", &got);
		}
	}

	strvec_clear(&want);
	strvec_clear(&got);
	strvec_clear(&h.levels);
	strvec_clear(&h.legacy);
	free(h.platform);
	hwcaps_release(&hw);
}

static void test_level_overrides(void)
{
	struct hwcaps hw;

	unsetenv("MAGICPAK_PLATFORM");
	setenv("MAGICPAK_HWCAPS", "v3,v2", 1);
	hwcaps_detect(&hw);
	ok(hw.levels.n == 2 && !strcmp(hw.levels.v[0], "x86-64-v3") &&
		   !strcmp(hw.levels.v[1], "x86-64-v2"),
	   "MAGICPAK_HWCAPS=v3,v2 gives x86-64-v3, x86-64-v2");
	hwcaps_release(&hw);

	setenv("MAGICPAK_HWCAPS", "x86-64-v4,,x86-64-v2", 1);
	hwcaps_detect(&hw);
	ok(hw.levels.n == 2 && !strcmp(hw.levels.v[0], "x86-64-v4") &&
		   !strcmp(hw.levels.v[1], "x86-64-v2"),
	   "long names are kept and empty items skipped");
	hwcaps_release(&hw);

	setenv("MAGICPAK_HWCAPS", "", 1);
	hwcaps_detect(&hw);
	is_int(hw.levels.n, 0, "MAGICPAK_HWCAPS= (empty) gives no levels");
	ok(hw.legacy.n > 0, "the legacy list does not depend on MAGICPAK_HWCAPS");
	hwcaps_release(&hw);
	unsetenv("MAGICPAK_HWCAPS");
}

static void test_platform_overrides(void)
{
	struct hwcaps hw, base;
	bool avx512;
	size_t i, n_x86_64 = 0;

	unsetenv("MAGICPAK_HWCAPS");
	unsetenv("MAGICPAK_PLATFORM");
	hwcaps_detect(&base);
	avx512 = strvec_find(&base.legacy, "avx512_1") >= 0;

	setenv("MAGICPAK_PLATFORM", "xeon_phi", 1);
	hwcaps_detect(&hw);
	is_str(hw.platform, "xeon_phi", "MAGICPAK_PLATFORM replaces the platform");
	is_int(hw.legacy.n, avx512 ? 15 : 7, "legacy list rebuilt with the platform");
	is_str(hw.legacy.n ? hw.legacy.v[0] : NULL,
	       avx512 ? "tls/xeon_phi/avx512_1/x86_64" : "tls/xeon_phi/x86_64",
	       "the platform sits between tls and the hwcap bits");
	ok(strvec_find(&hw.legacy, "haswell") < 0, "no trace of the detected platform");
	hwcaps_release(&hw);

	/* What a non-Intel CPU gets: ld.so keeps the kernel's "x86_64" as platform, so the
	 * component appears twice. */
	setenv("MAGICPAK_PLATFORM", "x86_64", 1);
	hwcaps_detect(&hw);
	is_str(hw.legacy.n ? hw.legacy.v[0] : NULL,
	       avx512 ? "tls/x86_64/avx512_1/x86_64" : "tls/x86_64/x86_64",
	       "platform x86_64 is a component of its own, as in ld.so");
	for (i = 0; i < hw.legacy.n; i++)
		n_x86_64 += !strcmp(hw.legacy.v[i], "x86_64");
	is_int(n_x86_64, 2, "x86_64 is searched twice, as ld.so does");
	hwcaps_release(&hw);

	setenv("MAGICPAK_PLATFORM", "", 1);
	hwcaps_detect(&hw);
	is_int(hw.legacy.n, avx512 ? 7 : 3, "empty platform adds no component");
	is_str(hw.legacy.n ? hw.legacy.v[hw.legacy.n - 1] : NULL, "x86_64",
	       "x86_64 comes last");
	hwcaps_release(&hw);
	unsetenv("MAGICPAK_PLATFORM");

	hwcaps_detect(&hw);
	ok(same_vec(&hw.legacy, &base.legacy) && !strcmp(hw.platform, base.platform),
	   "detection is repeatable once the overrides are gone");
	hwcaps_release(&hw);
	hwcaps_release(&base);
	hwcaps_release(NULL);
}

/* GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2 makes this ld.so lose "haswell" and x86-64-v3, so
 * it falls back to the kernel's AT_PLATFORM as on a non-Intel CPU. Feeding what it then
 * reports into our overrides must give its search order, "x86_64" repeated and all. */
static void test_overrides_against_ldso(void)
{
	static const char env[] = "GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2";
	struct ldso_help h;
	struct hwcaps hw;
	struct strvec want = STRVEC_INIT, got = STRVEC_INIT;
	struct strbuf levels = STRBUF_INIT;
	const char *dir = "/nonexistent/magicpak-hwcaps";
	size_t i;

	read_help(&h, env);
	if (!h.ok || !h.platform) {
		skip(LDSO " --help under GLIBC_TUNABLES lists no platform");
		goto out;
	}
	strbuf_init(&levels);
	for (i = 0; i < h.levels.n; i++)
		strbuf_addf(&levels, "%s%s", i ? "," : "", h.levels.v[i]);
	setenv("MAGICPAK_HWCAPS", levels.buf, 1);
	setenv("MAGICPAK_PLATFORM", h.platform, 1);
	hwcaps_detect(&hw);
	expected_dirs(&hw, dir, &want);
	read_search_path(dir, env, &got);
	if (!got.n)
		skip("LD_DEBUG=libs printed no search path");
	else if (!ok(same_vec(&want, &got), "overrides reproduce ld.so under %s (platform %s)",
		     env, h.platform)) {
		print_vec("ours", &want);
		print_vec("ld.so", &got);
	}
	hwcaps_release(&hw);
	unsetenv("MAGICPAK_HWCAPS");
	unsetenv("MAGICPAK_PLATFORM");
out:
	strbuf_release(&levels);
	strvec_clear(&want);
	strvec_clear(&got);
	strvec_clear(&h.levels);
	strvec_clear(&h.legacy);
	free(h.platform);
}

int main(void)
{
	test_against_ldso();
	test_overrides_against_ldso();
	test_level_overrides();
	test_platform_overrides();
	return done_testing();
}
