/* SPDX-License-Identifier: MIT */
/* collector/sigkeep.h - give the recorded command the signal dispositions magicpak was started
 * with, for the two signals glibc takes for itself.
 *
 * Why: an ignored signal stays ignored across exec, and a command expects to inherit that.
 * glibc installs handlers for SIGCANCEL (32) and SIGSETXID (33) once a process has a second
 * thread, which magicpak has (the history and the probe are read in threads), and a handler,
 * unlike SIG_IGN, is reset by exec: a command started under a parent that ignored 33 would
 * not ignore it any more. glibc's sigaction() refuses these two numbers, so this uses the
 * system call itself. */
#ifndef COLLECTOR_SIGKEEP_H
#define COLLECTOR_SIGKEEP_H

/* Note which of the two are ignored; call first thing in main(), before any thread. */
void sigkeep_save(void);
/* In a child about to exec the command: ignore them again where they were. Only system
 * calls: safe after fork() and in a vfork() child. */
void sigkeep_restore(void);

#endif /* COLLECTOR_SIGKEEP_H */
