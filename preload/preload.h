/* SPDX-License-Identifier: MIT */
/* preload/preload.h - what preload.c and interpose.c share. */
#ifndef PRELOAD_PRELOAD_H
#define PRELOAD_PRELOAD_H

/* This copy records through its wrappers (the constructor ran, MAGICPAK_SOCKET is set). */
extern int preload_active;
/* This library's path as the loader has it. */
extern char preload_self[512];

struct link_map;
/* Look up every real function as dlsym(RTLD_NEXT, ...) would from @self (this copy's link map
 * in the program's namespace), once. */
void preload_resolve(const struct link_map *self);

#endif /* PRELOAD_PRELOAD_H */
