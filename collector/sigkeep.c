/* SPDX-License-Identifier: MIT */
/* collector/sigkeep.c - see sigkeep.h. */
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sigkeep.h"

/* The kernel's struct sigaction (x86-64 and arm64 layout), and its signal-set size. */
struct ksigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	unsigned long mask;
};

static const int kept[] = { 32, 33 };
static unsigned ignored; /* bit i: kept[i] was SIG_IGN at start */

void sigkeep_save(void)
{
	for (unsigned i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		struct ksigaction old;

		memset(&old, 0, sizeof(old));
		if (syscall(SYS_rt_sigaction, kept[i], NULL, &old, sizeof(old.mask)) == 0 &&
		    old.handler == SIG_IGN)
			ignored |= 1u << i;
	}
}

void sigkeep_restore(void)
{
	static const struct ksigaction ign = { SIG_IGN, 0, NULL, 0 };

	for (unsigned i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (ignored & (1u << i))
			syscall(SYS_rt_sigaction, kept[i], &ign, NULL, sizeof(ign.mask));
}
