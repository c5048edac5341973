# mlctl — build, test, sanitize, fuzz, demo, install.
# Plain `make` builds every program (bin/mlctl, bin/mlserve). Libraries come
# from pkg-config; scripts/deps.sh installs missing Debian packages first.
# Works in a plain copy of the tree (no .git needed).

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
BIN     ?= bin
V       ?= 0
Q        = $(if $(filter 1,$(V)),,@)
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
FUZZ_SECONDS ?= 60

PKGS      := yaml-0.1 libcurl libuv libgit2 jansson libcrypto
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser -lm
CRIT_CFLAGS = $(shell pkg-config --cflags criterion 2>/dev/null)
CRIT_LIBS   = $(shell pkg-config --libs criterion 2>/dev/null)

OPT      ?= -O2 -g
SAN      ?=
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers
CPPFLAGS += -I. -Icore -Istrategies -D_POSIX_C_SOURCE=200809L -DMLCTL_VERSION=\"$(VERSION)\"
CFLAGS   += -std=c11 $(OPT) $(WARN) $(SAN) $(PKG_CFLAGS)
LDFLAGS  += $(SAN)

CORE_SRC    := $(sort $(wildcard core/*.c core/*/*.c strategies/*.c))
CLI_SRC     := $(sort $(wildcard cli/*.c))
MLSERVE_SRC := $(sort $(filter-out examples/mlserve/main.c,$(wildcard examples/mlserve/*.c)))
UNIT_SRC    := $(sort $(wildcard tests/unit/*.c))
INTEG_SRC   := $(sort $(wildcard tests/integration/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
CORE_OBJ    := $(call obj,$(CORE_SRC))
CLI_OBJ     := $(call obj,$(CLI_SRC))
MLSERVE_OBJ := $(call obj,$(MLSERVE_SRC))
UNIT_OBJ    := $(call obj,$(UNIT_SRC))
INTEG_OBJ   := $(call obj,$(INTEG_SRC))

LIBCORE    := $(BUILD)/libmlcore.a
LIBMLSERVE := $(BUILD)/libmlserve.a
UNIT_BIN   := $(BUILD)/tests/unit_tests
INTEG_BIN  := $(BUILD)/tests/integration_tests

PROGRAMS := $(BIN)/mlctl $(BIN)/mlserve
MANPAGES := $(sort $(wildcard man/*.[15]))

.PHONY: all deps test unit integration eta-unit manlint lint sanitize fuzz fuzz-replay demo install clean
all: deps $(PROGRAMS)

deps:
	@sh scripts/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(CRIT_CFLAGS) -MMD -MP -c $< -o $@

$(LIBCORE): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBMLSERVE): $(MLSERVE_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN)/mlctl: $(CLI_OBJ) $(LIBCORE)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIBCORE) $(PKG_LIBS)

$(BIN)/mlserve: $(call obj,examples/mlserve/main.c) $(LIBMLSERVE) $(LIBCORE)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(UNIT_BIN): $(UNIT_OBJ) $(LIBMLSERVE) $(LIBCORE)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CRIT_LIBS)

$(INTEG_BIN): $(INTEG_OBJ) $(LIBMLSERVE) $(LIBCORE)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CRIT_LIBS)

# mlctl(1)'s EXIT STATUS comes from the code's exit status list.
man/mlctl.1: man/mlctl.1.in $(BIN)/mlctl scripts/gen-man.sh
	sh scripts/gen-man.sh $(BIN)/mlctl man/mlctl.1.in > $@.tmp && mv $@.tmp $@

# Every suite; Criterion's "Synthesis" lines reach the output.
test: deps $(PROGRAMS) $(UNIT_BIN) $(INTEG_BIN)
	$(MAKE) --no-print-directory lint unit integration eta-unit fuzz-replay manlint

unit: $(UNIT_BIN)
	$(UNIT_BIN) --jobs 1

integration: $(INTEG_BIN) $(PROGRAMS)
	MLCTL_BIN=$(CURDIR)/$(BIN)/mlctl MLSERVE_BIN=$(CURDIR)/$(BIN)/mlserve \
	  NO_COLOR=1 TZ=UTC $(INTEG_BIN) --jobs 1

eta-unit:
	$(MAKE) --no-print-directory -C examples/eta unit

# Static analysis of every C source (cppcheck: warnings, performance,
# portability); any finding fails. `// cppcheck-suppress id` marks a
# checked false positive at its line.
LINT_DIRS := cli core strategies examples/mlserve
lint:
	@cppcheck --quiet --enable=warning,performance,portability --std=c11 \
	  -D_POSIX_C_SOURCE=200809L -I. -Icore -Istrategies -Icli --inline-suppr \
	  --error-exitcode=1 $(LINT_DIRS) && echo "lint: cppcheck clean"

manlint: man/mlctl.1
	@for m in $(MANPAGES); do mandoc -T lint -W warning $$m || exit 1; done; \
	  echo "manlint: $(words $(MANPAGES)) pages clean"

# Every test suite again, built with ASan+UBSan (clang) in a tree of its
# own: binaries in build/san/bin, which the integration tests then run.
SAN_VARS := BUILD=build/san BIN=build/san/bin CC=clang OPT="-O1 -g" \
  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
sanitize: deps
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  UBSAN_OPTIONS=print_stacktrace=1 \
	  $(MAKE) --no-print-directory $(SAN_VARS) unit integration fuzz-replay

# libFuzzer targets (tests/fuzz/fuzz_*.c), each run FUZZ_SECONDS.
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

# The same targets built with the normal compiler and flags and run over
# their seeds (tests/fuzz/replay.c): part of make test, so a target that
# stops building or crashes on its own seeds fails the suite.
FUZZ_REPLAY := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz-replay/%,$(FUZZ_SRC))
$(BUILD)/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/replay.c $(LIBMLSERVE) $(LIBCORE)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c \
	  $(LIBMLSERVE) $(LIBCORE) $(PKG_LIBS)
fuzz-replay: $(FUZZ_REPLAY)
	@for f in $(FUZZ_REPLAY); do \
	  $$f tests/fuzz/seeds/$$(basename $$f) || exit 1; done

fuzz: deps
	@mkdir -p build/fuzz
	@for f in $(FUZZ_SRC); do \
	  n=$$(basename $$f .c); \
	  clang -std=c11 -g -O1 -I. -Icore -Istrategies -D_POSIX_C_SOURCE=200809L -DMLCTL_VERSION=\"$(VERSION)\" \
	    -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) $$f $(CORE_SRC) $(MLSERVE_SRC) \
	    -o build/fuzz/$$n $(PKG_LIBS) || exit 1; \
	  mkdir -p build/fuzz/corpus-$$n; \
	  seeds=tests/fuzz/seeds/$$n; [ -d $$seeds ] || seeds=; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
	  build/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    build/fuzz/corpus-$$n $$seeds 2>&1 | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Done' || exit 1; \
	done

demo: all
	@sh scripts/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
	for m in $(wildcard man/*.1); do install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man1/; done
	for m in $(wildcard man/*.5); do install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man5/; done

clean:
	rm -rf build $(BIN)
	$(MAKE) --no-print-directory -C examples/eta clean

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
