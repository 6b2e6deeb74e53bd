/* SPDX-License-Identifier: MIT */
/* collector/deps.h - the objects glibc 2.36's ld.so would load for a program, found without
 * running or loading any of its code. */
#ifndef COLLECTOR_DEPS_H
#define COLLECTOR_DEPS_H

#include <stdbool.h>
#include <stddef.h>

#include "elfobj.h"
#include "strbuf.h"

/* How an object came into the link map (and, for an edge, how a DT_NEEDED was satisfied). */
enum deps_how {
	DEPS_INPUT,           /* given by the user */
	DEPS_SCRIPT,          /* the interpreter of a "#!" script, or the NAME of "#!/usr/bin/env NAME" */
	DEPS_INTERP,          /* PT_INTERP, the dynamic loader */
	DEPS_PRELOAD,         /* /etc/ld.so.preload */
	DEPS_RPATH,           /* DT_RPATH of the loader or of one of its loaders */
	DEPS_LD_LIBRARY_PATH, /* --library-path / LD_LIBRARY_PATH */
	DEPS_RUNPATH,         /* DT_RUNPATH of the loader */
	DEPS_CACHE,           /* /etc/ld.so.cache */
	DEPS_DEFAULT,         /* the default directories */
	DEPS_DIRECT,          /* a DT_NEEDED name containing '/' */
	DEPS_LOADED,          /* edge only: the name matched an object already loaded */
	DEPS_NOT_FOUND,       /* edge only */
};

struct deps_edge {
	const char *name;  /* the DT_NEEDED string; valid until deps_free() */
	long target;       /* index in the map's objs, or -1 when not found */
	enum deps_how how;
	long via;          /* DEPS_RPATH: index of the object whose DT_RPATH matched */
};

struct deps_obj {
	char *path;                /* as ld.so would open it: absolute, not symlink-resolved */
	enum deps_how how;
	long loader;               /* index of the object that first needed it, -1 if none */
	long via;                  /* DEPS_RPATH: index of the object whose DT_RPATH matched */
	char *cache_key;           /* DEPS_CACHE: the name looked up in ld.so.cache */
	char *llp_element;        /* DEPS_LD_LIBRARY_PATH: the element it was found through,
				    * as written ("" for an empty one) */
	struct strvec alternates;  /* the same library's other glibc-hwcaps variants that exist */
	struct strvec names;       /* every name this object answers to (path, soname, requested) */
	const struct elfobj *elf;  /* NULL for a script; borrowed from the resolver's cache */
	struct deps_edge *edges;   /* one per DT_NEEDED, in order */
	size_t nedges;
	struct strvec *rpath_dirs; /* expanded DT_RPATH, computed on first use */
};

/* The link map of one program: objs[0] is the input (or the script, alone). */
struct deps_map {
	struct deps_obj *objs;
	size_t n;
	size_t nmissing;           /* DT_NEEDED that could not be found */
	bool is_script;
	bool is_static;            /* an executable without PT_INTERP and libraries */
	char *secure;              /* why ld.so runs it in secure-execution mode, or NULL */
};

struct deps_opts {
	const char *library_path;  /* LD_LIBRARY_PATH to assume, or NULL */
	const char *cache_path;    /* default "/etc/ld.so.cache" */
	const char *preload_path;  /* default "/etc/ld.so.preload" */
	const char *path_env;      /* PATH for "#!/usr/bin/env NAME", default getenv("PATH") */
	/* Resolve for an exec by this process's user: a program whose exec would be privileged
	 * (set-user-ID, set-group-ID, file capabilities) gets ld.so's secure-execution mode,
	 * which ignores LD_LIBRARY_PATH and limits $ORIGIN (deps, graph). Off for a bundle,
	 * whose copies lose those bits. */
	bool caller_exec;
};

struct deps;

/* Create a resolver. @opts is copied; NULL gives the defaults. Always succeeds. */
void deps_new(const struct deps_opts *opts, struct deps **out);
/* Resolve @file (and, for a script, its interpreters) and append one map per program.
 * Returns 0; -ENOENT when some library was not found (the maps are still added, and each
 * miss is logged with who needed it and where ld.so would have looked); another -errno
 * with the reason logged when @file cannot be resolved at all. */
int deps_resolve(struct deps *d, const char *file);
/* The objects that dlopen(@name) in this program would load if it were linked statically
 * (magicpak's default build): @name searched as a DT_NEEDED of an object without DT_RPATH
 * or DT_RUNPATH (LD_LIBRARY_PATH, ld.so.cache, the default directories), then what it needs.
 * Appends one map whose objs[0] is this program (no ELF of its own) with @name as its one
 * edge. Returns as deps_resolve() does. */
int deps_resolve_dlopen(struct deps *d, const char *name);
size_t deps_nmaps(const struct deps *d);
/* Borrowed; valid until deps_free(). */
const struct deps_map *deps_map(const struct deps *d, size_t i);
/* Name of @how for people ("ld.so.cache", "runpath", ...). */
const char *deps_how_name(enum deps_how how);
void deps_free(struct deps *d);

#endif /* COLLECTOR_DEPS_H */
