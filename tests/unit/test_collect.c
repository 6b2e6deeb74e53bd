/* SPDX-License-Identifier: MIT */
/* tests/unit/test_collect.c - when the readers that store while the command runs make their
 * passes (collect_pass_ms(), collect.h): what the README promises of them. */
#include <stdint.h>
#include <stdio.h>

#include "collect.h"
#include "tap.h"

/* The time of the last pass at or before @t ms into a run, and how many there were. */
static uint64_t last_pass(uint64_t t, unsigned *passes)
{
	uint64_t at = 0, next;

	*passes = 0;
	while ((next = at + (uint64_t)collect_pass_ms(at)) <= t) {
		at = next;
		(*passes)++;
	}
	return at;
}

int main(void)
{
	unsigned passes, at_95 = 0, at_1000 = 0;
	uint64_t bad_short = 0, bad_long = 0, zero_at = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* a period of 0 would spin the reader (and hang last_pass() below) */
	for (uint64_t t = 0; t <= 1000 && !zero_at; t++)
		if (collect_pass_ms(t) <= 0)
			zero_at = t + 1;
	is_int(zero_at, 0, "no pass period is 0 or less");
	is_int(collect_pass_ms(0), COLLECT_PASS_MIN_MS, "the first pass comes after %d ms",
	       COLLECT_PASS_MIN_MS);
	is_int(collect_pass_ms(150), 50, "150 ms into the run, the next comes a third of that later");
	is_int(collect_pass_ms(300), COLLECT_PASS_MAX_MS, "from 300 ms on, every %d ms",
	       COLLECT_PASS_MAX_MS);
	is_int(collect_pass_ms(UINT64_MAX / 2), COLLECT_PASS_MAX_MS, "however long it runs");

	last_pass(100, &passes);
	is_int(passes, 4, "four passes in the first 100 ms");
	/* A command that ends at t leaves the end what came since the last pass: at most a
	 * quarter of its run (or the first 25 ms), and never more than 100 ms of it. */
	for (uint64_t t = 1; t <= 5000; t++) {
		uint64_t left = t - last_pass(t, &passes);

		if (t < 300 && left > (t / 4 > COLLECT_PASS_MIN_MS ? t / 4 : COLLECT_PASS_MIN_MS) + 1 &&
		    !bad_short)
			bad_short = t;
		if (left > COLLECT_PASS_MAX_MS && !bad_long)
			bad_long = t;
		if (t == 1000)
			at_1000 = passes;
		if (t == 95)
			at_95 = passes;
	}
	is_int(bad_short, 0, "a run under 300 ms leaves at most a quarter of itself to the end");
	is_int(bad_long, 0, "any run leaves at most %d ms of itself to the end", COLLECT_PASS_MAX_MS);
	is_int(at_95, 3, "a 95 ms run (W1) has 3 passes before its end");
	is_int(at_1000, 14, "a 1 s run has 14 passes, 4 more than at a fixed 100 ms");
	return done_testing();
}
