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
CFLAGS ?= -g -O2
WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
       -Wno-unused-parameter
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(CFLAGS) $(WARN) $(SANFLAGS) \
	     -MMD -MP -Iinclude -Icollector -DMAGICPAK_VERSION='"$(VERSION)"'
# libarchive and libcrypto are loaded when first used (collector/lazylib.h): only their
# headers and sonames are needed here.
LINK_LIBS = libelf sqlite3 zlib
# They are linked statically when their archives are installed (Debian's -dev packages ship
# them): loading and binding four more shared objects, two of them BIND_NOW, was a quarter
# of a millisecond of every run. glibc too, below. STATIC_DEPS=0 links them all shared,
# glibc included.
STATIC_DEPS ?= 1
# (each computed once, on first use: LINK_LIBS gains libbpf further down)
DEP_LIBS = $(eval DEP_LIBS := $(filter-out -lm,$(shell pkg-config --static --libs-only-l \
	   $(LINK_LIBS) 2>/dev/null)))$(DEP_LIBS)
DEP_STATIC = $(eval DEP_STATIC := $(DEP_STATIC_))$(DEP_STATIC)
DEP_STATIC_ = $(and $(filter 1,$(STATIC_DEPS)),$(DEP_LIBS),$(if $(strip $(foreach l,$(sort \
	     $(DEP_LIBS:-l%=%)),$(if $(findstring /,$(shell $(CC) -print-file-name=lib$(l).a)),,$(l)))),,yes))
BSTATIC := -Wl,-Bstatic
BDYNAMIC := -Wl,-Bdynamic
LDLIBS = $(if $(DEP_STATIC),$(BSTATIC) $(DEP_LIBS) $(BDYNAMIC) -lm,$(shell pkg-config --libs \
	 $(LINK_LIBS) 2>/dev/null || echo -lelf -lsqlite3 -lz))
soname = $(shell objdump -p $$(pkg-config --variable=libdir $(1))/$(2).so 2>/dev/null | sed -n 's/^ *SONAME *//p')
LIBARCHIVE_SONAME := $(call soname,libarchive,libarchive)
LIBCRYPTO_SONAME := $(call soname,libcrypto,libcrypto)
ALL_CFLAGS += $(if $(LIBARCHIVE_SONAME),-DLIBARCHIVE_SONAME='"$(LIBARCHIVE_SONAME)"') \
	      $(if $(LIBCRYPTO_SONAME),-DLIBCRYPTO_SONAME='"$(LIBCRYPTO_SONAME)"')
# LD_LIBRARY_PATH is an input of `magicpak deps` (a library search path to model), not a
# place for magicpak's own libraries: linked with the shared glibc, a DT_RPATH (searched
# before LD_LIBRARY_PATH, unlike DT_RUNPATH) to the system library directory keeps a user's
# libc.so.6 out of magicpak. (The static one checks the libc.so.6 a dlopen() would take
# from LD_LIBRARY_PATH instead: lazylib.c.)
SYS_LIBDIR := $(shell pkg-config --variable=libdir zlib 2>/dev/null || echo /usr/lib/x86_64-linux-gnu)
SHARED_LDFLAGS = -Wl,--disable-new-dtags -Wl,-rpath,$(SYS_LIBDIR)
# glibc too, when its archives are there (libc6-dev: libc.a, rcrt1.o) and the others are
# static: a static PIE starts without the loader, which mapped and bound libc and libm and
# probed the rpath's hwcaps directories (22 failed lookups): `magicpak --version` 1.5 ms
# faster, W1 under `record --via preload` 1.4 ms (30 paired rounds), on a VM whose page
# faults cost 10 us. It also runs in a base image without glibc or with an older one.
# libarchive and libcrypto are still dlopen()ed (collector/lazylib.c), which a static glibc
# can do only beside the system's glibc of its own release (its link warns so; lazylib
# checks). Sanitizers need the shared glibc; valgrind too (it replaces malloc in shared
# objects only): $(BUILD)/magicpak-shared is the same program linked with it, for t950 and
# t540's LD_PRELOAD fault injector. STATIC_LIBC=0 links glibc shared.
STATIC_LIBC ?= 1
LIBC_STATIC = $(eval LIBC_STATIC := $(if $(SANFLAGS),,$(and $(filter 1,$(STATIC_LIBC)),$(DEP_STATIC),\
	      $(findstring /,$(shell $(CC) -print-file-name=libc.a)),\
	      $(findstring /,$(shell $(CC) -print-file-name=rcrt1.o)))))$(if $(or $(SANFLAGS),\
	      $(LIBC_STATIC),$(filter-out 1,$(STATIC_LIBC)),$(filter-out 1,$(STATIC_DEPS))),,$(info magicpak: linked with the shared \
	      glibc (no libc.a, rcrt1.o or static archive of a dependency)))$(LIBC_STATIC)
CLI_LDFLAGS = $(if $(LIBC_STATIC),-static-pie,$(SHARED_LDFLAGS))
CLI_LDLIBS = $(if $(LIBC_STATIC),$(DEP_LIBS) -lm,$(LDLIBS))

CLI_SRCS = collector/main.c $(wildcard collector/cmd_*.c)
LIB_SRCS = $(filter-out $(CLI_SRCS),$(wildcard collector/*.c))
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS = $(CLI_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all check check-all check-unit check-integration check-integration-san check-root demo \
	bench install \
	format clean deps-check deps-bench

# The LD_PRELOAD/LD_AUDIT library: its own flags, never sanitizers (it runs inside other
# programs), no _FILE_OFFSET_BITS (open and open64 must stay two symbols).
PRELOAD_SRCS = $(filter-out preload/minilibc.c,$(wildcard preload/*.c))
PRELOAD_OBJS = $(PRELOAD_SRCS:%.c=$(BUILD)/%.o)
PRELOAD_LIB = $(BUILD)/libmagicpak-preload.so
PRELOAD_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(CFLAGS) $(WARN) -fPIC -fvisibility=hidden \
		 -fno-sanitize=all -fno-delete-null-pointer-checks -Wno-nonnull-compare -MMD -MP -Iinclude
# The LD_AUDIT module alone (preload/audit.c), without libc, so that the loader does not load
# a second libc into the audit namespace of every process: the same emit.c, the few libc
# functions it needs from minilibc.c, no DT_NEEDED. No loop turned into a memset() call
# inside memset() itself.
AUDIT_SRCS = preload/audit.c preload/emit.c preload/minilibc.c
AUDIT_OBJS = $(AUDIT_SRCS:preload/%.c=$(BUILD)/audit/%.o)
AUDIT_LIB = $(BUILD)/libmagicpak-audit.so
AUDIT_CFLAGS = $(PRELOAD_CFLAGS) -DMAGICPAK_FREESTANDING -ffreestanding -fno-stack-protector \
	       -fno-tree-loop-distribute-patterns

all: $(BUILD)/magicpak $(PRELOAD_LIB) $(AUDIT_LIB) $(if $(SANFLAGS),,$(BUILD)/magicpak-shared)

$(BUILD)/preload/%.o: preload/%.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(PRELOAD_CFLAGS) -c $< -o $@

# One read-only segment for code and constants (-z noseparate-code): the loader maps each
# library into every recorded process, and two segments fewer (two mmaps, a VMA, pages
# touched) took about 0.05-0.15 ms off each process on a VM whose page faults cost 10 us
# (a shell running 10 `cat`s, recorded by a collector, 60 and 80 paired rounds).
PRELOAD_LDFLAGS = -Wl,-z,defs -Wl,-z,noseparate-code

$(PRELOAD_LIB): $(PRELOAD_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(PRELOAD_CFLAGS) -shared $(PRELOAD_LDFLAGS) -o $@ $^ -ldl

$(BUILD)/audit/%.o: preload/%.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(AUDIT_CFLAGS) -c $< -o $@

# The system's loader, named as /bin/sh's interpreter.
RTLD_PATH := $(shell readelf -lW /bin/sh 2>/dev/null | sed -n 's/.*interpreter: \(.*\)]$$/\1/p')
# the loader a static magicpak takes for the system's (collect.c; lazylib.c when its model
# of dlopen() finds no glibc)
ALL_CFLAGS += $(if $(RTLD_PATH),-DSYSTEM_RTLD='"$(RTLD_PATH)"')
$(AUDIT_LIB): $(AUDIT_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(AUDIT_CFLAGS) -shared -nostdlib $(PRELOAD_LDFLAGS) -o $@ $^

$(BUILD)/%.o: %.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libmagicpak.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# The static link's one warning (dlopen needs this glibc's libc.so.6 at run time: lazylib
# checks) is expected; any other is shown.
$(BUILD)/magicpak: $(CLI_OBJS) $(BUILD)/libmagicpak.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(CLI_LDFLAGS) -o $@ $^ $(CLI_LDLIBS) 2>$@.ld || \
		{ cat $@.ld >&2; rm -f $@.ld; exit 1; }; \
		grep -v -e "Using 'dlopen' in statically linked" -e ": in function \`" $@.ld >&2; rm -f $@.ld

$(BUILD)/magicpak-shared: $(CLI_OBJS) $(BUILD)/libmagicpak.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SHARED_LDFLAGS) -o $@ $^ $(LDLIBS)

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
	$(Q)$(MAKE) --no-print-directory -j2 all
	$(Q)$(MAKE) --no-print-directory check-all

# make check: the unit tests, built plainly and with ASan+UBSan, and the integration tests
# against build/magicpak. make check SAN=1: the integration tests against the ASan+UBSan
# build (check-integration-san). Both in one `make check` took 25 minutes on a VM of the
# slower kind (README, Tests), over the 15 CI allows.
ifeq ($(SAN),1)
check-all: all
	$(Q)$(MAKE) --no-print-directory check-unit
	$(Q)$(MAKE) --no-print-directory check-integration-san
else
check-all: all
	$(Q)$(MAKE) --no-print-directory check-unit
	$(Q)$(MAKE) --no-print-directory -j2 SAN=1 check-unit
	$(Q)$(MAKE) --no-print-directory check-integration
endif

# The integration tests again, driving the ASan+UBSan build of magicpak (the preload and
# audit libraries are never sanitized: they run inside other programs). A test that needs
# an uninstrumented binary says N/A (tests/run.sh); LD_PRELOAD in magicpak's own
# environment (fault injectors, a user's preload) is allowed in front of the ASan runtime.
check-integration-san:
	$(Q)$(MAKE) --no-print-directory SAN=1 all
	$(Q)TOOL=$(abspath build/san/magicpak) TOOL_SAN=1 \
		ASAN_OPTIONS=verify_asan_link_order=0$${ASAN_OPTIONS:+:$$ASAN_OPTIONS} \
		tests/run.sh integration-san tests/integration/t*.sh

check-unit: $(UNIT_BINS) $(PRELOAD_LIB) $(AUDIT_LIB)
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
	install -m 0755 $(AUDIT_LIB) $(DESTDIR)$(PREFIX)/lib/magicpak/libmagicpak-audit.so

# --- man page and bash completion (issue 10) ---
# The man page is generated from the program's own help texts (doc/mkman.sh), its one source.
MAN_PAGE = $(BUILD)/magicpak.1
.PHONY: man install-doc
man: $(MAN_PAGE)

$(MAN_PAGE): $(BUILD)/magicpak doc/mkman.sh
	$(call msg,GEN,$@)
	$(Q)doc/mkman.sh $(BUILD)/magicpak $(VERSION) >$@

install: install-doc
install-doc: $(MAN_PAGE)
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 $(MAN_PAGE) $(DESTDIR)$(PREFIX)/share/man/man1/magicpak.1
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0644 completion/magicpak.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/magicpak
# --- end of man page and bash completion ---

format:
	clang-format -i collector/*.[ch] tests/unit/*.c tests/*.h

clean:
	rm -rf build

# ---- BPF probe (begin): bpf/openat.bpf.c -> $(BUILD)/openat.skel.h -> collector/probe.o ----
# Built when clang, bpftool and libbpf are there (STYLE 10); else probe.c is a stub whose
# probe_open() returns -ENOTSUP. `make VMLINUX_H=path` uses a pinned vmlinux.h.
CLANG ?= clang
BPFTOOL ?= $(shell command -v bpftool 2>/dev/null || ls /usr/sbin/bpftool 2>/dev/null)
BPF_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' \
	      -e 's/riscv64/riscv/' -e 's/s390x/s390/' -e 's/loongarch64/loongarch/')
HAVE_CLANG := $(shell command -v $(CLANG) 2>/dev/null)
HAVE_LIBBPF := $(shell pkg-config --exists libbpf 2>/dev/null && echo yes)
VMLINUX_H ?=
$(BUILD)/collector/record.o: ALL_CFLAGS += -Ibpf
ifneq ($(and $(BPFTOOL),$(HAVE_CLANG),$(HAVE_LIBBPF)),)
LINK_LIBS += libbpf
$(BUILD)/collector/probe.o: $(BUILD)/openat.skel.h
$(BUILD)/collector/probe.o: ALL_CFLAGS += -DMAGICPAK_HAVE_BPF -I$(BUILD) -Ibpf
ifeq ($(VMLINUX_H),)
$(BUILD)/vmlinux.h:
	$(call msg,GEN,$@)
	@mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@
else
$(BUILD)/vmlinux.h: $(VMLINUX_H)
	$(call msg,CP,$@)
	@mkdir -p $(@D)
	$(Q)cp $< $@
endif
$(BUILD)/openat.bpf.o: bpf/openat.bpf.c bpf/openat.h include/event.h $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -Wall -Werror -target bpf -mcpu=v3 -D__TARGET_ARCH_$(BPF_ARCH) -I$(BUILD) -Iinclude -Ibpf \
		-c $< -o $@
# The skeleton embeds the object: linked by bpftool (which keeps BTF and drops the DWARF
# clang -g wrote), 68 KB instead of 700: magicpak is 3.1 MB instead of 3.8.
$(BUILD)/openat.linked.o: $(BUILD)/openat.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<
$(BUILD)/openat.skel.h: $(BUILD)/openat.linked.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name openat_bpf > $@
# The kernel types the probe's CO-RE relocations use, cut out of this machine's BTF (a few
# KB instead of 5 MB to read and parse at every start), and what identifies that kernel:
# probe.c uses them only on the same kernel, else the running kernel's BTF as usual. And
# what identifies the programs: a lingering probe is reused only by the same ones.
$(BUILD)/openat.min.btf: $(BUILD)/openat.bpf.o
	$(call msg,MIN-BTF,$@)
	$(Q)if [ -r /sys/kernel/btf/vmlinux ] && \
	    $(BPFTOOL) gen min_core_btf /sys/kernel/btf/vmlinux $@.tmp $< >/dev/null 2>&1; then \
		mv $@.tmp $@; else rm -f $@.tmp; : >$@; fi
$(BUILD)/openat.btfid.h: $(BUILD)/openat.min.btf $(BUILD)/openat.linked.o
	$(call msg,GEN,$@)
	$(Q){ echo '#define MIN_BTF_FILE "$(abspath $(BUILD)/openat.min.btf)"'; \
	  echo "#define MIN_BTF_KERNEL_RELEASE \"$$(uname -r)\""; \
	  echo "#define MIN_BTF_KERNEL_VERSION \"$$(uname -v)\""; \
	  echo "#define MIN_BTF_VMLINUX_SIZE $$(stat -c %s /sys/kernel/btf/vmlinux 2>/dev/null || echo 0)"; \
	  echo "#define MP_BPF_OBJECT_ID 0x$$(sha256sum $(BUILD)/openat.linked.o | cut -c1-16)ULL"; } >$@
$(BUILD)/collector/probe.o: $(BUILD)/openat.btfid.h $(BUILD)/openat.min.btf
else
$(info BPF probe disabled: $(if $(BPFTOOL),$(if $(HAVE_CLANG),libbpf (libbpf-dev) not found,clang not found),bpftool not found))
endif
# ---- BPF probe (end) ----

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(PRELOAD_OBJS:.o=.d) $(AUDIT_OBJS:.o=.d)

# --- fuzz (tests/fuzz): libFuzzer harnesses, clang -fsanitize=fuzzer,address,undefined ---
#   make fuzz               build every harness, run each for FUZZ_SECONDS (default 60)
#   make fuzz FUZZ_SECONDS=N FUZZERS="fuzz_elf fuzz_glob"
#   make fuzz-check         the same, for `make check` under CI=true
# The library is built again with clang into build/fuzz (coverage needs the instrumentation in
# it, not only in the harness). Committed seeds: tests/fuzz/corpus/NAME; the corpus that
# grows while fuzzing stays in build/fuzz/corpus/NAME; findings go to build/fuzz/findings.
# (clang, unlike gcc, counts vsnprintf(fmt) in log.c under -Wformat=2: -Wno-format-nonliteral.)
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CHECK_SECONDS ?= 30
FUZZ_BUILD = build/fuzz
FUZZ_ALL = fuzz_elf fuzz_ldcache fuzz_script fuzz_path fuzz_glob fuzz_wire
FUZZERS ?= $(FUZZ_ALL)
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -g -O1 $(WARN) -Wno-format-nonliteral $(FUZZ_SAN) \
	      -MMD -MP -Iinclude -Icollector -DMAGICPAK_VERSION='"$(VERSION)"'
# Only the modules the harnesses reach, so a module being rewritten elsewhere cannot break them.
FUZZ_LIB_SRCS = $(addprefix collector/,abi.c elfobj.c ldcache.c hwcaps.c script.c path.c glob.c \
		caps.c collect.c ringread.c store.c strmap.c strbuf.c xalloc.c log.c progress.c)
FUZZ_LIB_OBJS = $(FUZZ_LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_BINS = $(FUZZ_ALL:%=$(FUZZ_BUILD)/%)

.PHONY: fuzz fuzz-build fuzz-check

$(FUZZ_BUILD)/collector/%.o: collector/%.c
	$(call msg,FUZZCC,$@)
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/libmagicpak.a: $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libmagicpak.a
	$(call msg,FUZZLD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libmagicpak.a $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZERS)

# Under CI=true, `make check` also fuzzes: 6 harnesses x FUZZ_CHECK_SECONDS (30), two at a time
# on the two cores (about 1.5 minutes), on top of the tests, inside CI's 15 minutes (a whole
# CI=true run took 13-14.7 minutes with 60 s each on the faster VM kind; on the slower one the
# tests alone take 10.75 minutes). Elsewhere `make check` leaves it to `make fuzz`. Without
# clang's libFuzzer runtime (Debian: clang libclang-rt-14-dev) this is a skip, and a failure in CI.
fuzz-check:
	$(Q)if printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' | \
		$(FUZZ_CC) -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory fuzz-build && \
		{ FUZZ_SECONDS=$(FUZZ_CHECK_SECONDS) tests/fuzz/run.sh $(FUZZ_BUILD) fuzz_elf fuzz_ldcache fuzz_script & \
		  FUZZ_SECONDS=$(FUZZ_CHECK_SECONDS) tests/fuzz/run.sh $(FUZZ_BUILD) fuzz_path fuzz_glob fuzz_wire; \
		  b=$$?; wait $$!; a=$$?; [ $$a = 0 ] && [ $$b = 0 ]; }; \
	elif [ "$(CI)" = true ]; then \
		echo "FAIL fuzz: $(FUZZ_CC) cannot build a libFuzzer harness (install clang libclang-rt-14-dev)"; exit 1; \
	else \
		echo "SKIP fuzz: $(FUZZ_CC) cannot build a libFuzzer harness (install clang libclang-rt-14-dev)"; \
	fi

ifeq ($(CI),true)
check-all: fuzz-check
endif

-include $(FUZZ_LIB_OBJS:.o=.d)
# --- end of fuzz ---

.DELETE_ON_ERROR:
.SECONDARY:
