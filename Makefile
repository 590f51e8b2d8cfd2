# ckernel — one entry point: make, make test, make bench, make install.
#
# The build is generic so that adding a kernel is adding a file:
#   core/*.c                   -> $(B)/lib/libckernel.a (PIC): the host side of the plugin ABI, loader, threads
#   ir/*.c                     -> $(B)/lib/libckir.a: models, graphs, the planner, the fusion pass
#   runtime/*.c                -> $(B)/lib/libckruntime.a: binding, running and training a planned model
#   harness/<room>/*.c, *.cc   -> $(B)/lib/libckharness.a + $(B)/bin/ckbench (main in harness/cli/main.c)
#   plugins/<p>/plugin.mk      -> $(B)/plugins/libck_<p>.so (see plugins/README.md)
#   tests/unit/test_*.c        -> $(B)/tests/test_* (Criterion)
#   tests/plugins/*.c          -> $(B)/tests/plugins/libck_<file>.so (deliberately bad plugins)
#
# Variables: CC, CXX, B (build dir), SAN=1 (ASan+UBSan), CROSS=aarch64-linux-gnu-

CROSS    ?=
CC       := $(if $(CROSS),$(CROSS)gcc,$(CC))
CXX      := $(if $(CROSS),$(CROSS)g++,$(CXX))
ARCH     := $(if $(CROSS),$(patsubst %-linux-gnu-,%,$(CROSS)),$(shell uname -m))
SAN      ?= 0
B        ?= $(if $(CROSS),build-$(ARCH),$(if $(filter 1,$(SAN)),build-san,build))
PREFIX   ?= /usr/local

# Optional parts that a cross build may not have libraries for.
WITH_BENCH ?= $(if $(CROSS),0,1)
WITH_PAPI  ?= $(if $(CROSS),0,1)
WITH_NUMA  ?= $(if $(CROSS),0,1)

PKGS := libcjson
ifeq ($(WITH_BENCH),1)
PKGS += benchmark
endif
ifeq ($(WITH_PAPI),1)
PKGS += papi
endif
ifeq ($(WITH_NUMA),1)
PKGS += numa
endif
PKG_CFLAGS := $(if $(CROSS),,$(shell pkg-config --cflags $(PKGS) 2>/dev/null))
PKG_LIBS   := $(if $(CROSS),-lcjson,$(shell pkg-config --libs $(PKGS) 2>/dev/null))
TEST_LIBS  := $(if $(CROSS),-lcriterion,$(shell pkg-config --libs criterion 2>/dev/null))

WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
comma     := ,
SANFLAGS  := $(if $(filter 1,$(SAN)),-fsanitize=address$(comma)undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined,)
FEATURES  := -DCK_WITH_BENCH=$(WITH_BENCH) -DCK_WITH_PAPI=$(WITH_PAPI) -DCK_WITH_NUMA=$(WITH_NUMA)
# -ffp-contract=off everywhere: the reference must not fuse a*b+c behind our
# back, and SIMD kernels say where they use FMA with intrinsics.
# A sanitizer build keeps line tables only (-g1: its reports still name
# file and line): full debug info and ASan made clang take 40 s on one
# attention file, two thirds of that without it (3m40 -> 3m04 of CPU for
# the whole ASan test build).
CFLAGS    ?= -O2 $(if $(filter 1,$(SAN)),-g1,-g)
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -fPIC -ffp-contract=off $(WARN) $(SANFLAGS) $(FEATURES) \
              $(PKG_CFLAGS) $(CFLAGS)
ALL_CXXFLAGS := -std=c++17 -fPIC -ffp-contract=off -Wall -Wextra -Werror $(SANFLAGS) $(FEATURES) \
              $(PKG_CFLAGS) $(CFLAGS)
# Each layer sees only the layers below it: an include of a higher layer's
# header fails to compile instead of quietly growing a circle. Plugins see
# the public ABI header alone (include/ckernel/ck_plugin.h), plugins/shared
# and their own folder.
INC_core    := -Iinclude/ckernel -Icore
INC_ir      := $(INC_core) -Iir
INC_runtime := $(INC_ir) -Iruntime
INC_harness := $(INC_runtime) -Iharness
INC_plugins := -Iinclude/ckernel -Iplugins/shared
INC_tests   := $(INC_harness) -Itests/support

layer_inc    = $(INC_$(firstword $(subst /, ,$(1))))
LDFLAGS_ALL := $(SANFLAGS) $(LDFLAGS)
PLUGIN_CFLAGS := -fvisibility=hidden -O3

# ---- cross build: cJSON of the target (neon, issue 9) ----------------------
# A cross build cannot use the host's pkg-config paths; Debian's multi-arch
# libcjson-dev:<arch> (scripts/deps.sh installs it for arm64) has its .pc file
# under /usr/lib/<triplet>/pkgconfig, which also gives the include directory.
ifneq ($(CROSS),)
CROSS_PKG_CONFIG := PKG_CONFIG_LIBDIR=/usr/lib/$(CROSS:%-=%)/pkgconfig:/usr/share/pkgconfig pkg-config
ALL_CFLAGS += $(shell $(CROSS_PKG_CONFIG) --cflags libcjson 2>/dev/null)
endif

# Quiet by default: one line per file ("CC obj/..."); `make V=1` prints the
# full commands.
V ?= 0
ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = printf '  %-6s %s\n' $(1) $(2);
endif

.DEFAULT_GOAL := all
.PHONY: FORCE all deps format format-check lint check compile_commands.json test test-build test-unit test-parity test-asan test-clang test-nopapi test-neon test-install bench run install clean fuzz

# ---- core and IR -----------------------------------------------------------
CORE_SRC := $(wildcard core/*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(B)/obj/%.o)
LIBCK    := $(B)/lib/libckernel.a
IR_SRC   := $(wildcard ir/*.c)
IR_OBJ   := $(IR_SRC:%.c=$(B)/obj/%.o)
LIBIR    := $(B)/lib/libckir.a

# ---- model runtime ---------------------------------------------------------
RUNTIME_SRC := $(wildcard runtime/*.c)
RUNTIME_OBJ := $(RUNTIME_SRC:%.c=$(B)/obj/%.o)
LIBRUNTIME  := $(B)/lib/libckruntime.a

# ---- harness: one folder per job (harness/README.md) -----------------------
HARNESS_C   := $(filter-out harness/cli/main.c,$(wildcard harness/*/*.c))
HARNESS_CXX := $(if $(filter 1,$(WITH_BENCH)),$(wildcard harness/*/*.cc),)
HARNESS_OBJ := $(HARNESS_C:%.c=$(B)/obj/%.o) $(HARNESS_CXX:%.cc=$(B)/obj/%.o) $(B)/obj/gen/cli_doc.o
LIBHARNESS  := $(B)/lib/libckharness.a
CKBENCH     := $(B)/bin/ckbench
LINK        := $(if $(HARNESS_CXX),$(CXX),$(CC))
MANPAGE     := $(B)/man/ckbench.1
CLI_DOC_C   := $(B)/gen/cli_doc.c
HOST_LIBS   := $(LIBHARNESS) $(LIBRUNTIME) $(LIBIR) $(LIBCK) $(PKG_LIBS) -ldl -lm -lpthread

# ---- plugins: each plugins/<p>/plugin.mk appends <p> to PLUGINS and sets
#      <p>_SRCS (ISA flags), <p>_BASE_SRCS (no ISA flags: entry + probe),
#      <p>_CFLAGS, <p>_ARCH (x86_64 / aarch64 / any)
PLUGINS :=
include $(wildcard plugins/*/plugin.mk)
BUILT_PLUGINS := $(foreach p,$(PLUGINS),$(if $(filter any $(ARCH),$($(p)_ARCH)),$(p)))
PLUGIN_SOS := $(BUILT_PLUGINS:%=$(B)/plugins/libck_%.so)

define plugin_rules
$(1)_OBJ := $$($(1)_SRCS:%.c=$(B)/obj/%.o) $$($(1)_BASE_SRCS:%.c=$(B)/obj/%.base.o)
$$($(1)_SRCS:%.c=$(B)/obj/%.o): EXTRA_CFLAGS := $$(PLUGIN_CFLAGS) $$($(1)_CFLAGS)
$$($(1)_BASE_SRCS:%.c=$(B)/obj/%.base.o): EXTRA_CFLAGS := $$(PLUGIN_CFLAGS)
$(B)/plugins/libck_$(1).so: $$($(1)_OBJ)
	@mkdir -p $$(@D)
	$$(Q)$$(call say,LD,$$@)$$(CC) -shared $$(LDFLAGS_ALL) -o $$@ $$^ $$($(1)_LIBS) -lm
endef
$(foreach p,$(BUILT_PLUGINS),$(eval $(call plugin_rules,$(p))))

# ---- tests -----------------------------------------------------------------
TEST_SRC     := $(wildcard tests/unit/test_*.c)
# The slowest binaries first (seconds under ASan: parity 60, bench_run 15,
# observe 9): two run side by side, and one of them started last would run
# alone at the end.
TEST_SLOW    := $(B)/tests/test_parity $(B)/tests/test_bench_run $(B)/tests/test_observe $(B)/tests/test_progress
TEST_ALL     := $(TEST_SRC:tests/unit/%.c=$(B)/tests/%)
TEST_BINS    := $(filter $(TEST_ALL),$(TEST_SLOW)) $(filter-out $(TEST_SLOW),$(TEST_ALL))
TEST_PLUG_SRC := $(wildcard tests/plugins/*.c)
TEST_PLUG_SOS := $(TEST_PLUG_SRC:tests/plugins/%.c=$(B)/tests/plugins/libck_%.so)
TEST_HELPER_SRC := $(wildcard tests/support/*.c)
TEST_HELPER_OBJ := $(TEST_HELPER_SRC:%.c=$(B)/obj/%.o)

all: $(LIBCK) $(LIBIR) $(LIBRUNTIME) $(CKBENCH) $(PLUGIN_SOS) $(MANPAGE)

# The test objects are reached through pattern rules only, which would make
# them intermediate: make would delete them after every build (an "rm" line
# listing all of them) and recompile them all the next time.
.SECONDARY: $(TEST_SRC:%.c=$(B)/obj/%.o) $(TEST_PLUG_SRC:%.c=$(B)/obj/%.o) $(TEST_HELPER_OBJ)

# ---- generic compile rules -------------------------------------------------
$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(call layer_inc,$<) $(EXTRA_CFLAGS) -MMD -MP -c $< -o $@

$(B)/obj/%.base.o: %.c
	@mkdir -p $(@D)
	$(Q)$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(call layer_inc,$<) $(EXTRA_CFLAGS) -MMD -MP -c $< -o $@

$(B)/obj/%.o: %.cc
	@mkdir -p $(@D)
	$(Q)$(call say,CXX,$@)$(CXX) $(ALL_CXXFLAGS) $(call layer_inc,$<) -MMD -MP -c $< -o $@

# ---- build facts for `ckbench --version` and result files ------------------
# Regenerated on every make; scripts/build-info.sh replaces the header only
# when its text changes, so only a new commit or new flags rebuild it.
BUILD_INFO_H := $(B)/gen/ck_build_info.h
$(BUILD_INFO_H): FORCE
	@mkdir -p $(@D)
	@sh scripts/build-info.sh $@ '$(CFLAGS)' '$(SANFLAGS)'
$(B)/obj/harness/common/build_info.o: $(BUILD_INFO_H)
$(B)/obj/harness/common/build_info.o: EXTRA_CFLAGS := -I$(B)/gen
FORCE:

# ---- the manual: docs/cli.md is its one source ------------------------------
# scripts/clidoc.awk renders it as ckbench(1) and as the C table of sections
# behind `ckbench help COMMAND`.
$(MANPAGE): docs/cli.md scripts/clidoc.awk VERSION
	@mkdir -p $(@D)
	$(Q)$(call say,GEN,$@)awk -v mode=man -v version="$$(cat VERSION)" -f scripts/clidoc.awk docs/cli.md >$@.tmp && mv $@.tmp $@
$(CLI_DOC_C): docs/cli.md scripts/clidoc.awk
	@mkdir -p $(@D)
	$(Q)$(call say,GEN,$@)awk -v mode=c -f scripts/clidoc.awk docs/cli.md >$@.tmp && mv $@.tmp $@
$(B)/obj/gen/cli_doc.o: $(CLI_DOC_C) harness/cli/cli_doc.h
	@mkdir -p $(@D)
	$(Q)$(call say,CC,$@)$(CC) $(ALL_CFLAGS) -Iharness/cli -c $< -o $@

$(LIBCK): $(CORE_OBJ)
	@mkdir -p $(@D)
	$(Q)$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(LIBIR): $(IR_OBJ)
	@mkdir -p $(@D)
	$(Q)$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(LIBRUNTIME): $(RUNTIME_OBJ)
	@mkdir -p $(@D)
	$(Q)$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

# A bare model name is also looked up in the source tree ckbench was built
# from, so `--model llava` works from any directory (harness/common/model_path.c).
$(B)/obj/harness/common/model_path.o: EXTRA_CFLAGS := -DCK_SOURCE_MODELS='"$(CURDIR)/ir/models"'

$(LIBHARNESS): $(HARNESS_OBJ)
	@mkdir -p $(@D)
	$(Q)$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(CKBENCH): $(B)/obj/harness/cli/main.o $(LIBHARNESS) $(LIBRUNTIME) $(LIBIR) $(LIBCK)
	@mkdir -p $(@D)
	$(Q)$(call say,LD,$@)$(LINK) $(LDFLAGS_ALL) -rdynamic -o $@ $< $(HOST_LIBS)

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(TEST_HELPER_OBJ) $(LIBHARNESS) $(LIBRUNTIME) $(LIBIR) $(LIBCK)
	@mkdir -p $(@D)
	$(Q)$(call say,LD,$@)$(LINK) $(LDFLAGS_ALL) -rdynamic -o $@ $< $(TEST_HELPER_OBJ) $(HOST_LIBS) $(TEST_LIBS)

$(B)/tests/plugins/libck_%.so: $(B)/obj/tests/plugins/%.o
	@mkdir -p $(@D)
	$(Q)$(call say,LD,$@)$(CC) -shared $(LDFLAGS_ALL) -o $@ $< -lm

# A file that is not a shared object, for the loader's tests.
$(B)/tests/plugins/libck_not_elf.so:
	@mkdir -p $(@D)
	printf 'this is not an ELF file\n' > $@

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# ---- editors and style ----------------------------------------------------
# compile_commands.json for clangd and clang-tidy: bear records the real
# compiler calls of a full rebuild (every layer's own include flags).
compile_commands.json:
	bear --output $@ -- $(MAKE) -B all test-build

# .clang-format is the style the code is written in; format-check fails on
# any file clang-format would change, `make format` rewrites them.
FORMAT_FILES = $(shell git ls-files '*.c' '*.h' '*.cc' '*.inc' 2>/dev/null)
format:
	@clang-format -i $(FORMAT_FILES)

format-check:
	@command -v clang-format >/dev/null || { echo "format-check: clang-format is missing; 'make deps' installs it" >&2; exit 1; }
	@bad=$$(for f in $(FORMAT_FILES); do clang-format --dry-run -Werror "$$f" >/dev/null 2>&1 || echo "$$f"; done); \
	if [ -n "$$bad" ]; then echo "format-check: not in the .clang-format style (make format fixes):" $$bad >&2; exit 1; fi; \
	echo "format-check: $(words $(FORMAT_FILES)) files in style"

# cppcheck over the product code: zero findings or a documented suppression
# (scripts/lint.sh says which and why).
lint:
	@sh scripts/lint.sh

# The fast loop while working: the unit tests and the parity gate of every
# plugin that runs here; no apt-get, no sanitizer or clang rebuilds.
check: test-unit test-parity

# ---- dependencies ----------------------------------------------------------
deps:
	@sh scripts/deps.sh

# ---- tests -----------------------------------------------------------------
# The environment the tests of build dir $(1) run in.
test_env = CK_RESULTS_DIR=$(CURDIR)/$(1)/test-results CK_PLUGIN_PATH=$(1)/plugins CK_TEST_BUILD=$(1) CK_TEST_PLUGIN_DIR=$(1)/tests/plugins \
           CK_CKBENCH=$(1)/bin/ckbench CK_SOURCE_DIR=$(CURDIR)
TEST_ENV := $(call test_env,$(B))

test-build: all $(TEST_BINS) $(TEST_PLUG_SOS) $(B)/tests/plugins/libck_not_elf.so

test-unit: test-build
	@$(TEST_ENV) sh scripts/run-tests.sh $(TEST_BINS)

# `all` leaves the reference out: scalar on itself is a run of its own (a
# gate that fails the reference is broken). Zoo models gated on top of the
# edge suite (run once, first; the model runs take --suite model): the model features at tiny sizes (tiny-window:
# windows, soft-caps, partial rotary, about 10 s), and one published
# configuration (tied, q/k/v biases, GQA 7:1).
PARITY_MODELS ?= tiny-features tiny-window qwen2.5-0.5b

test-parity: all
	@$(TEST_ENV) sh scripts/test-parity.sh $(B) $(CKBENCH) $(PARITY_MODELS)

# Built with clang: that one build is also the tree's clang -Werror check
# (gcc builds the others), so `make test` does not build the tree a fourth
# time for test-clang.
# quarantine_size_mb: the parity gate forks a child per case, and under
# ASan each fork copies the page tables of everything the parent touched,
# its 256 MB quarantine of freed blocks included: 16 MB still holds every
# block a test frees between its uses, at about half the fork cost.
test-asan:
	@ASAN_OPTIONS=$${ASAN_OPTIONS:-quarantine_size_mb=16} \
	    $(MAKE) --no-print-directory CC=clang CXX=clang++ SAN=1 B=build-asan test-unit

test-clang:
	@$(MAKE) --no-print-directory CC=clang B=build-clang all test-build

# The build without PAPI: the software counters must come the same way
# (perf_event_open) and the hardware set say why it is missing. A second
# whole build, so not part of `make test`.
test-nopapi:
	@$(MAKE) --no-print-directory WITH_PAPI=0 B=build-nopapi all build-nopapi/tests/test_counters build-nopapi/tests/test_bench_run
	@$(call test_env,build-nopapi) sh scripts/run-tests.sh build-nopapi/tests/test_counters \
	    build-nopapi/tests/test_bench_run

test-neon:
	@sh scripts/test-neon.sh

test-install: all
	@sh scripts/test-install.sh $(B)

# test-neon first: the unit tests look for its cross-built plugin to check
# that the x86 loader refuses it with the right reason. Every stage runs even
# after one fails; the summary at the end gives each one's verdict and time
# (logs in $(B)/test-logs/).
TEST_STAGES := format-check lint test-neon test-unit test-parity test-asan test-install test-fuzz \
               test-report-browser
# Each stage's builds run on every CPU: `make test` as the README gives it
# has no -j, and its two whole builds (gcc, clang with ASan) took 4.5 of
# its 12 minutes on one core of two.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
test: deps
	@sh scripts/test-stages.sh $(B)/test-logs "$(MAKE) -j$(JOBS)" $(TEST_STAGES)

# ---- model parser fuzzing (issue 4, planner) --------------------------------
# libFuzzer on ck_model_parse and what it feeds (graph, planner, map printer),
# under ASan + UBSan. `make fuzz` runs for FUZZ_SECONDS and keeps its corpus
# in $(B)/fuzz/corpus; `make test-fuzz` is a short run with a fixed seed and a
# fixed number of inputs from a fresh corpus (seeds: ir/models, tests/fuzz/seeds).
FUZZ_CC      ?= clang
FUZZ_DIR     := $(B)/fuzz
FUZZ_SRC     := tests/fuzz/fuzz_model.c ir/model.c ir/graph.c ir/plan.c ir/plan_print.c ir/layout_json.c core/ops_meta.c \
                ir/fusion.c ir/fusion_graph.c core/loader.c core/compute.c
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                -Iinclude/ckernel -Icore -Iir $(shell pkg-config --cflags libcjson 2>/dev/null)
FUZZ_ARGS    := -max_len=4096 -dict=tests/fuzz/model.dict -artifact_prefix=$(FUZZ_DIR)/
FUZZ_SECONDS ?= 600
FUZZ_RUNS    ?= 50000
FUZZ_REPORT_RUNS ?= 20000
.PHONY: test-fuzz

$(FUZZ_DIR)/fuzz_model: $(FUZZ_SRC) $(wildcard ir/*.h core/*.h include/ckernel/*.h)
	@mkdir -p $(@D)
	$(Q)$(call say,CC,$@)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_SRC) $(shell pkg-config --libs libcjson 2>/dev/null || echo -lcjson) -ldl -lm

# The GGUF reader and the model built from a file's metadata: a second target.
FUZZ_GGUF_SRC  := tests/fuzz/fuzz_gguf.c runtime/gguf.c runtime/gguf_model.c $(filter-out tests/fuzz/fuzz_model.c,$(FUZZ_SRC))
FUZZ_GGUF_ARGS := -max_len=8192 -dict=tests/fuzz/gguf.dict -artifact_prefix=$(FUZZ_DIR)/gguf-

$(FUZZ_DIR)/fuzz_gguf: $(FUZZ_GGUF_SRC) $(wildcard ir/*.h core/*.h runtime/ck_gguf.h include/ckernel/*.h)
	@mkdir -p $(@D)
	$(Q)$(call say,CC,$@)$(FUZZ_CC) $(FUZZ_CFLAGS) -Iruntime -o $@ $(FUZZ_GGUF_SRC) $(shell pkg-config --libs libcjson 2>/dev/null || echo -lcjson) -ldl -lm

# The second target: the result-file loader behind `ckbench report` (files
# from other machines), with the report writers behind it.
FUZZ_REPORT_SRC := tests/fuzz/fuzz_report.c $(wildcard harness/report/*.c) harness/common/json_text.c harness/common/files.c \
                   harness/common/sysinfo.c harness/common/progress.c harness/common/term.c harness/common/hugepages.c \
                   harness/bench/roofs_file.c harness/bench/roofline.c \
                   harness/bench/calibrate.c harness/bench/calibrate_levels.c harness/bench/calibrate_dot.c \
                   harness/bench/placement.c core/ops_meta.c core/loader.c core/compute.c
FUZZ_REPORT_ARGS := -max_len=8192 -dict=tests/fuzz/report.dict -artifact_prefix=$(FUZZ_DIR)/report-

$(FUZZ_DIR)/fuzz_report: $(FUZZ_REPORT_SRC) $(wildcard harness/report/*.h harness/bench/*.h harness/common/*.h)
	@mkdir -p $(@D)
	$(Q)$(call say,CC,$@)$(FUZZ_CC) $(FUZZ_CFLAGS) -Iharness -Iruntime -o $@ $(FUZZ_REPORT_SRC) \
		$(shell pkg-config --libs libcjson 2>/dev/null || echo -lcjson) -ldl -lm -lpthread

fuzz: $(FUZZ_DIR)/fuzz_model $(FUZZ_DIR)/fuzz_gguf $(FUZZ_DIR)/fuzz_report
	@mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/corpus-gguf $(FUZZ_DIR)/report-corpus
	$< $(FUZZ_ARGS) -max_total_time=$(FUZZ_SECONDS) $(FUZZ_DIR)/corpus ir/models tests/fuzz/seeds
	$(FUZZ_DIR)/fuzz_gguf $(FUZZ_GGUF_ARGS) -max_total_time=$(FUZZ_SECONDS) $(FUZZ_DIR)/corpus-gguf tests/fuzz/seeds-gguf
	$(FUZZ_DIR)/fuzz_report $(FUZZ_REPORT_ARGS) -max_total_time=$(FUZZ_SECONDS) $(FUZZ_DIR)/report-corpus \
		tests/fuzz/report-seeds

test-fuzz: $(FUZZ_DIR)/fuzz_model $(FUZZ_DIR)/fuzz_gguf $(FUZZ_DIR)/fuzz_report
	@rm -rf $(FUZZ_DIR)/short $(FUZZ_DIR)/short-gguf $(FUZZ_DIR)/report-short
	@mkdir -p $(FUZZ_DIR)/short $(FUZZ_DIR)/short-gguf $(FUZZ_DIR)/report-short
	$(Q)$< $(FUZZ_ARGS) -seed=1 -runs=$(FUZZ_RUNS) $(FUZZ_DIR)/short ir/models tests/fuzz/seeds
	$(Q)$(FUZZ_DIR)/fuzz_gguf $(FUZZ_GGUF_ARGS) -seed=1 -runs=$(FUZZ_RUNS) $(FUZZ_DIR)/short-gguf tests/fuzz/seeds-gguf
	$(Q)$(FUZZ_DIR)/fuzz_report $(FUZZ_REPORT_ARGS) -seed=1 -runs=$(FUZZ_REPORT_RUNS) $(FUZZ_DIR)/report-short \
		tests/fuzz/report-seeds

# ---- report browser check (issue 10, report) --------------------------------
# tests/browser/check_report.sh: headless Chromium loads an HTML report made
# from a real bench run (no console message, one SVG point per kernel, every
# point inside its plot) and keeps a screenshot in $(B)/test-report-browser/.
# Skips with a message where Chromium is absent (scripts/deps.sh installs it).
.PHONY: test-report-browser
test-report-browser: $(CKBENCH) $(PLUGIN_SOS)
	@$(TEST_ENV) sh tests/browser/check_report.sh $(B)

# ---- the main job ----------------------------------------------------------
MODEL ?= ir/models/llava.json
# The main job: plugins found, then the headline on the default model
# (parity of the best plugin here at reduced sizes, bench at real shapes,
# a short report with the result files' paths).
run: deps
	$(MAKE) -j$(JOBS) all
	$(CKBENCH) list --brief
	$(CKBENCH) --plugin best --model $(MODEL)

bench: all
	$(CKBENCH) --plugin best --model $(MODEL)

install: all
	WITH_NUMA=$(WITH_NUMA) sh scripts/install.sh "$(DESTDIR)$(PREFIX)" $(B)

clean:
	rm -rf build build-san build-asan build-clang build-aarch64 compile_commands.json
