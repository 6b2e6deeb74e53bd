/* SPDX-License-Identifier: MIT */
/* collector/hwcaps.c - which glibc-hwcaps and legacy hwcap subdirectories glibc 2.36's ld.so
 * searches on x86-64, and what $PLATFORM expands to, worked out from cpuid as ld.so does. */
#include <cpuid.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "hwcaps.h"
#include "strbuf.h"
#include "xalloc.h"

/* The features glibc's get_isa_level() and init_cpu_features() look at. A bit is set when
 * the feature is "usable" in glibc's sense (CPU_FEATURE_USABLE_P): the cpuid bit is present
 * and, for the AVX family, the OS saves the register state (OSXSAVE and XCR0). */
enum cpu_feature {
	F_FPU, F_CX8, F_CMOV, F_MMX, F_FXSR, F_SSE, F_SSE2,
	F_SSE3, F_SSSE3, F_SSE4_1, F_SSE4_2, F_CMPXCHG16B, F_POPCNT, F_LAHF64_SAHF64,
	F_MOVBE, F_LZCNT, F_BMI1, F_BMI2, F_OSXSAVE,
	F_AVX, F_AVX2, F_FMA, F_F16C,
	F_AVX512F, F_AVX512CD, F_AVX512BW, F_AVX512DQ, F_AVX512VL, F_AVX512ER, F_AVX512PF,
};

#define HAS(c, f) (((c)->usable >> (f)) & 1)

/* cpu_features->basic.kind: only "GenuineIntel" gets $PLATFORM and the avx512_1 hwcap. */
enum cpu_kind { CPU_OTHER, CPU_INTEL, CPU_AMD, CPU_ZHAOXIN };

struct cpu {
	enum cpu_kind kind;
	uint64_t usable;
};

/* GNU_PROPERTY_X86_ISA_1_* bits, as in glibc's cpu_features->isa_1. */
enum { ISA_BASELINE = 1 << 0, ISA_V2 = 1 << 1, ISA_V3 = 1 << 2, ISA_V4 = 1 << 3 };

/* Legacy hwcap bits (sysdeps/x86/dl-hwcap.h); HWCAP_IMPORTANT on x86-64 is x86_64|avx512_1,
 * so sse2 never becomes a subdirectory there. */
enum { HWCAP_X86_64 = 1 << 1, HWCAP_X86_AVX512_1 = 1 << 2 };

static void set_if(struct cpu *c, enum cpu_feature f, unsigned int reg, int bit)
{
	if ((reg >> bit) & 1)
		c->usable |= 1ULL << f;
}

static enum cpu_kind vendor_kind(unsigned int ebx, unsigned int ecx, unsigned int edx)
{
	char v[13];

	memcpy(v, &ebx, 4);
	memcpy(v + 4, &edx, 4);
	memcpy(v + 8, &ecx, 4);
	v[12] = '\0';
	if (!strcmp(v, "GenuineIntel"))
		return CPU_INTEL;
	if (!strcmp(v, "AuthenticAMD") || !strcmp(v, "HygonGenuine"))
		return CPU_AMD;
	if (!strcmp(v, "CentaurHauls") || !strcmp(v, "  Shanghai  "))
		return CPU_ZHAOXIN;
	return CPU_OTHER;
}

/* Mirror of glibc 2.36 sysdeps/x86/cpu-features.c (init_cpu_features, update_active), limited
 * to the features that decide the hwcaps subdirectories. The GLIBC_TUNABLES glibc.cpu.hwcaps
 * mask is not applied. */
static void cpu_detect(struct cpu *c)
{
	unsigned int max, eax, ebx, ecx, edx;
	unsigned int c1 = 0, d1 = 0, b7 = 0, ce1 = 0, family = 0, model = 0;
	bool avx_state = false, zmm_state = false;

	memset(c, 0, sizeof(*c));
	if (!__get_cpuid(0, &max, &ebx, &ecx, &edx))
		return;
	c->kind = vendor_kind(ebx, ecx, edx);

	if (max >= 1) {
		__cpuid(1, eax, ebx, c1, d1);
		family = (eax >> 8) & 0x0f;
		model = (eax >> 4) & 0x0f;
		if (family == 0x0f) {
			family += (eax >> 20) & 0xff;
			model += (eax >> 12) & 0xf0;
		} else if (c->kind == CPU_ZHAOXIN) {
			/* glibc adds the extended model for Zhaoxin whatever the family. */
			model += (eax >> 12) & 0xf0;
		}
	}
	if (max >= 7)
		__cpuid_count(7, 0, eax, b7, ecx, edx);
	if ((unsigned int)__get_cpuid_max(0x80000000, NULL) >= 0x80000001)
		__cpuid(0x80000001, eax, ebx, ce1, edx);

	/* Usable as soon as cpuid reports them: no OS state involved. */
	set_if(c, F_FPU, d1, 0);
	set_if(c, F_CX8, d1, 8);
	set_if(c, F_CMOV, d1, 15);
	set_if(c, F_MMX, d1, 23);
	set_if(c, F_FXSR, d1, 24);
	set_if(c, F_SSE, d1, 25);
	set_if(c, F_SSE2, d1, 26);
	set_if(c, F_SSE3, c1, 0);
	set_if(c, F_SSSE3, c1, 9);
	set_if(c, F_CMPXCHG16B, c1, 13);
	set_if(c, F_SSE4_1, c1, 19);
	set_if(c, F_SSE4_2, c1, 20);
	set_if(c, F_MOVBE, c1, 22);
	set_if(c, F_POPCNT, c1, 23);
	set_if(c, F_OSXSAVE, c1, 27);
	set_if(c, F_BMI1, b7, 3);
	set_if(c, F_BMI2, b7, 8);
	set_if(c, F_LAHF64_SAHF64, ce1, 0);
	set_if(c, F_LZCNT, ce1, 5);

	/* xgetbv only exists when the OS has set CR4.OSXSAVE. glibc additionally drops the whole
	 * AVX family when XSAVE itself is not usable (the tunables block of init_cpu_features). */
	if (HAS(c, F_OSXSAVE) && ((c1 >> 26) & 1)) {
		unsigned int lo, hi;

		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		/* XMM|YMM state, then opmask|ZMM_Hi256|Hi16_ZMM (checked only inside the first). */
		avx_state = (lo & 0x6) == 0x6;
		zmm_state = avx_state && (lo & 0xe0) == 0xe0;
	}
	if (avx_state && ((c1 >> 28) & 1)) {
		c->usable |= 1ULL << F_AVX;
		set_if(c, F_AVX2, b7, 5);
		set_if(c, F_FMA, c1, 12);
		set_if(c, F_F16C, c1, 29);
	}
	if (zmm_state && ((b7 >> 16) & 1)) {
		c->usable |= 1ULL << F_AVX512F;
		set_if(c, F_AVX512DQ, b7, 17);
		set_if(c, F_AVX512PF, b7, 26);
		set_if(c, F_AVX512ER, b7, 27);
		set_if(c, F_AVX512CD, b7, 28);
		set_if(c, F_AVX512BW, b7, 30);
		set_if(c, F_AVX512VL, b7, 31);
	}

	/* Some Zhaoxin models have AVX/AVX2 switched off by glibc as too slow. */
	if (c->kind == CPU_ZHAOXIN &&
	    ((family == 6 && (model == 0xf || model == 0x19)) ||
	     (family == 7 && (model == 0x1b || model == 0x3b))))
		c->usable &= ~((1ULL << F_AVX) | (1ULL << F_AVX2));
}

/* sysdeps/x86/get-isa-level.h as of 2.36 (x86-64-v3 includes BMI1 and BMI2). */
static unsigned int cpu_isa_level(const struct cpu *c)
{
	unsigned int isa = 0;

	if (!(HAS(c, F_CMOV) && HAS(c, F_CX8) && HAS(c, F_FPU) && HAS(c, F_FXSR) &&
	      HAS(c, F_MMX) && HAS(c, F_SSE) && HAS(c, F_SSE2)))
		return isa;
	isa |= ISA_BASELINE;
	if (!(HAS(c, F_CMPXCHG16B) && HAS(c, F_LAHF64_SAHF64) && HAS(c, F_POPCNT) &&
	      HAS(c, F_SSE3) && HAS(c, F_SSSE3) && HAS(c, F_SSE4_1) && HAS(c, F_SSE4_2)))
		return isa;
	isa |= ISA_V2;
	if (!(HAS(c, F_AVX) && HAS(c, F_AVX2) && HAS(c, F_BMI1) && HAS(c, F_BMI2) &&
	      HAS(c, F_F16C) && HAS(c, F_FMA) && HAS(c, F_LZCNT) && HAS(c, F_MOVBE)))
		return isa;
	isa |= ISA_V3;
	if (HAS(c, F_AVX512F) && HAS(c, F_AVX512BW) && HAS(c, F_AVX512CD) &&
	    HAS(c, F_AVX512DQ) && HAS(c, F_AVX512VL))
		isa |= ISA_V4;
	return isa;
}

/* "v3" is short for "x86-64-v3"; anything else is taken as a subdirectory name as is, the
 * way ld.so --glibc-hwcaps-prepend accepts arbitrary names. */
static void parse_levels(struct strvec *out, const char *list)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");

		if (n == 2 && p[0] == 'v' && p[1] >= '2' && p[1] <= '4')
			strvec_push_owned(out, xasprintf("x86-64-v%c", p[1]));
		else if (n)
			strvec_push_owned(out, xstrndup(p, n));
		p += n;
		if (*p == ',')
			p++;
	}
}

/* elf/dl-hwcaps.c _dl_important_hwcaps, legacy part: the components are the set hwcap bits
 * in bit order (x86_64, avx512_1), then the platform, then "tls"; every non-empty subset is
 * a subdirectory, listed in decreasing binary order of the subset with the last component as
 * the most significant bit and written first. Nothing de-duplicates: on a non-Intel CPU the
 * platform is the kernel's AT_PLATFORM "x86_64", and ld.so really searches "tls/x86_64/x86_64"
 * and searches "tls/x86_64" twice; we keep that order and the repetitions. */
static void legacy_subsets(struct strvec *out, const char *const *comp, size_t n)
{
	size_t i;
	unsigned long subset;

	for (subset = (1UL << n) - 1; subset > 0; subset--) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_init(&sb);
		for (i = n; i-- > 0;) {
			if (!(subset & (1UL << i)))
				continue;
			if (sb.len)
				strbuf_addch(&sb, '/');
			strbuf_adds(&sb, comp[i]);
		}
		strvec_push_owned(out, strbuf_detach(&sb));
	}
}

static void build_legacy(struct strvec *out, unsigned int hwcap, const char *platform)
{
	const char *comp[4];
	size_t n = 0;

	if (hwcap & HWCAP_X86_64)
		comp[n++] = "x86_64";
	if (hwcap & HWCAP_X86_AVX512_1)
		comp[n++] = "avx512_1";
	if (platform && *platform)
		comp[n++] = platform;
	comp[n++] = "tls";
	legacy_subsets(out, comp, n);
}

void hwcaps_detect(struct hwcaps *hw)
{
	struct cpu c;
	unsigned int isa, hwcap = HWCAP_X86_64;
	const char *platform = NULL, *env;

	strvec_init(&hw->levels);
	strvec_init(&hw->legacy);
	strvec_init(&hw->legacy32);
	cpu_detect(&c);

	/* _dl_hwcaps_subdirs_active(): best first, each level implying the ones below. */
	isa = cpu_isa_level(&c);
	if (isa & ISA_V4)
		strvec_push(&hw->levels, "x86-64-v4");
	if (isa & ISA_V3)
		strvec_push(&hw->levels, "x86-64-v3");
	if (isa & ISA_V2)
		strvec_push(&hw->levels, "x86-64-v2");

	/* init_cpu_features() on x86-64: only Intel CPUs get a platform other than the kernel's
	 * AT_PLATFORM and the avx512_1 hwcap. An AVX512ER CPU without AVX512PF gets neither
	 * xeon_phi nor avx512_1, but may still be haswell. */
	if (c.kind == CPU_INTEL) {
		if (HAS(&c, F_AVX512CD)) {
			if (HAS(&c, F_AVX512ER)) {
				if (HAS(&c, F_AVX512PF))
					platform = "xeon_phi";
			} else if (HAS(&c, F_AVX512BW) && HAS(&c, F_AVX512DQ) &&
				   HAS(&c, F_AVX512VL)) {
				hwcap |= HWCAP_X86_AVX512_1;
			}
		}
		if (!platform && HAS(&c, F_AVX2) && HAS(&c, F_FMA) && HAS(&c, F_BMI1) &&
		    HAS(&c, F_BMI2) && HAS(&c, F_LZCNT) && HAS(&c, F_MOVBE) && HAS(&c, F_POPCNT))
			platform = "haswell";
	}
	if (!platform) {
		/* Linux always passes AT_PLATFORM "x86_64" to x86-64 processes. */
		platform = (const char *)getauxval(AT_PLATFORM);
		if (!platform || !*platform)
			platform = "x86_64";
	}

	env = getenv("MAGICPAK_HWCAPS");
	if (env) {
		strvec_clear(&hw->levels);
		parse_levels(&hw->levels, env);
	}
	/* An empty MAGICPAK_PLATFORM means "no platform", as ld.so treats an empty AT_PLATFORM. */
	env = getenv("MAGICPAK_PLATFORM");
	if (env)
		platform = env;
	hw->platform = xstrdup(platform);
	build_legacy(&hw->legacy, hwcap, hw->platform);
	/* i386's init_cpu_features(): HWCAP_X86_SSE2 (every x86-64 CPU has it), platform
	 * "i686" (any CPU with CMOV and its kind) */
	{
		static const char *const comp32[] = { "sse2", "i686", "tls" };

		legacy_subsets(&hw->legacy32, comp32, 3);
	}
}

void hwcaps_release(struct hwcaps *hw)
{
	if (!hw)
		return;
	strvec_clear(&hw->levels);
	strvec_clear(&hw->legacy);
	strvec_clear(&hw->legacy32);
	free(hw->platform);
	hw->platform = NULL;
}
