# SPDX-License-Identifier: MIT
# magicpak - one Makefile for the CLI, its tests and its benchmarks.
#   make            build build/magicpak
#   make check      install what is missing, build, run every test (unit tests also under ASan+UBSan)
#   make demo       install what is missing, build, bundle a real program and test it
#   make bench      resolution speed against the peers (ld.so --list, libtree, lddtree)
#   make SAN=1 ...  build into build/san with -fsanitize=address,undefined
#   make V=1 ...    show full commands

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= gcc
SAN ?= 0
V ?= 0

ifeq ($(SAN),1)
BUILD ?= build/san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD ?= build
SANFLAGS =
endif

ifeq ($(V),1)
Q =
msg = @true
else
Q = @
msg = @printf '  %-8s %s\n' $(1) $(2)
endif

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
PKG_LIBS = libelf sqlite3 libcrypto libarchive zlib
CFLAGS ?= -g -O2
WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
       -Wno-unused-parameter
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(CFLAGS) $(WARN) $(SANFLAGS) \
	     -MMD -MP -Iinclude -Icollector -DMAGICPAK_VERSION='"$(VERSION)"'
LDLIBS = $(shell pkg-config --libs $(PKG_LIBS) 2>/dev/null || echo -lelf -lsqlite3 -lcrypto -larchive -lz)
# LD_LIBRARY_PATH is an input of `magicpak deps` (a library search path to model), not a
# place for magicpak's own libraries: a DT_RPATH (searched before LD_LIBRARY_PATH, unlike
# DT_RUNPATH) to the system library directory keeps a user's libz.so.1 out of magicpak.
SYS_LIBDIR := $(shell pkg-config --variable=libdir zlib 2>/dev/null || echo /usr/lib/x86_64-linux-gnu)
CLI_LDFLAGS = -Wl,--disable-new-dtags -Wl,-rpath,$(SYS_LIBDIR)

CLI_SRCS = collector/main.c $(wildcard collector/cmd_*.c)
LIB_SRCS = $(filter-out $(CLI_SRCS),$(wildcard collector/*.c))
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS = $(CLI_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all check check-all check-unit check-integration check-root demo bench install \
	format clean deps-check deps-bench

# The LD_PRELOAD/LD_AUDIT library: its own flags, never sanitizers (it runs inside other
# programs), no _FILE_OFFSET_BITS (open and open64 must stay two symbols).
PRELOAD_SRCS = $(wildcard preload/*.c)
PRELOAD_OBJS = $(PRELOAD_SRCS:%.c=$(BUILD)/%.o)
PRELOAD_LIB = $(BUILD)/libmagicpak-preload.so
PRELOAD_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(CFLAGS) $(WARN) -fPIC -fvisibility=hidden \
		 -fno-sanitize=all -fno-delete-null-pointer-checks -Wno-nonnull-compare -MMD -MP -Iinclude

all: $(BUILD)/magicpak $(PRELOAD_LIB)

$(BUILD)/preload/%.o: preload/%.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(PRELOAD_CFLAGS) -c $< -o $@

$(PRELOAD_LIB): $(PRELOAD_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(PRELOAD_CFLAGS) -shared -Wl,-z,defs -o $@ $^ -ldl

$(BUILD)/%.o: %.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libmagicpak.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/magicpak: $(CLI_OBJS) $(BUILD)/libmagicpak.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(CLI_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libmagicpak.a tests/tap.h
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(BUILD)/libmagicpak.a $(LDLIBS)

$(BUILD)/bench_store: tests/bench/bench_store.c $(BUILD)/libmagicpak.a
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libmagicpak.a $(LDLIBS)

$(BUILD)/gen_history: tests/bench/gen_history.c $(BUILD)/libmagicpak.a
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libmagicpak.a $(LDLIBS)

deps-check:
	@scripts/install-deps.sh check

deps-bench:
	@scripts/install-deps.sh bench

# The public targets install what is missing first, then re-enter make so that
# $(shell pkg-config ...) is evaluated with the packages in place.
check: deps-check
	$(Q)$(MAKE) --no-print-directory check-all

check-all: all
	$(Q)$(MAKE) --no-print-directory check-unit
	$(Q)$(MAKE) --no-print-directory SAN=1 check-unit
	$(Q)$(MAKE) --no-print-directory check-integration

check-unit: $(UNIT_BINS) $(PRELOAD_LIB)
	$(Q)tests/run.sh unit $(UNIT_BINS)

check-integration: all
	$(Q)TOOL=$(abspath $(BUILD)/magicpak) tests/run.sh integration tests/integration/t*.sh

check-root: all
	$(Q)TOOL=$(abspath $(BUILD)/magicpak) ONLY_ROOT=1 tests/run.sh integration tests/integration/t*.sh

demo: deps-check
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh $(abspath $(BUILD)/magicpak)

bench: deps-bench
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/bench.sh $(abspath $(BUILD)/magicpak)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/magicpak $(DESTDIR)$(PREFIX)/bin/magicpak
	install -d $(DESTDIR)$(PREFIX)/lib/magicpak
	install -m 0755 $(PRELOAD_LIB) $(DESTDIR)$(PREFIX)/lib/magicpak/libmagicpak-preload.so

format:
	clang-format -i collector/*.[ch] tests/unit/*.c tests/*.h

clean:
	rm -rf build

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(PRELOAD_OBJS:.o=.d)

.DELETE_ON_ERROR:
.SECONDARY:
