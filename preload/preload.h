/* SPDX-License-Identifier: MIT */
/* preload/preload.h - what preload.c and interpose.c share. */
#ifndef PRELOAD_PRELOAD_H
#define PRELOAD_PRELOAD_H

/* This copy records through its wrappers (the constructor ran, MAGICPAK_SOCKET is set). */
extern int preload_active;
/* This library's path as the loader has it. */
extern char preload_self[512];

/* Look up every real function with dlsym(RTLD_NEXT, ...), once. */
void preload_resolve(void);

#endif /* PRELOAD_PRELOAD_H */
