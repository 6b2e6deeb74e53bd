/* SPDX-License-Identifier: MIT */
/* tests/tap.h - a minimal TAP producer for the C unit tests. */
#ifndef TESTS_TAP_H
#define TESTS_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...)                                                         \
	({                                                                    \
		int ok_c_ = !!(cond);                                         \
		printf("%sok %d - ", ok_c_ ? "" : "not ", ++tap_n);           \
		printf(__VA_ARGS__);                                          \
		printf("\n");                                                 \
		if (!ok_c_) {                                                 \
			tap_failed++;                                         \
			printf("#   failed at %s:%d\n", __FILE__, __LINE__); \
		}                                                             \
		ok_c_;                                                        \
	})

#define is_int(got, want, ...)                                                        \
	({                                                                            \
		long long g_ = (long long)(got), w_ = (long long)(want);              \
		int r_ = ok(g_ == w_, __VA_ARGS__);                                   \
		if (!r_)                                                              \
			printf("#   got %lld, want %lld\n", g_, w_);                  \
		r_;                                                                   \
	})

#define is_str(got, want, ...)                                                         \
	({                                                                             \
		const char *g_ = (got), *w_ = (want);                                  \
		int r_ = ok((g_ == NULL && w_ == NULL) ||                              \
				    (g_ && w_ && strcmp(g_, w_) == 0),                 \
			    __VA_ARGS__);                                              \
		if (!r_)                                                               \
			printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)",         \
			       w_ ? w_ : "(null)");                                    \
		r_;                                                                    \
	})

#define skip(reason) printf("ok %d # SKIP %s\n", ++tap_n, reason)

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif /* TESTS_TAP_H */
