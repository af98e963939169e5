# iphttps: plain Makefile with pkg-config.
#   make            build ./iphttps (installs missing Debian packages first when root)
#   make check      all tests: unit (plain and ASan+UBSan), fuzz smoke, scenarios
#   make demo       the end-to-end demo in network namespaces (root)
#   make bench      throughput and RTT through the tunnel against the bare path
#   make install    PREFIX=/usr/local DESTDIR= (binary, man pages, units, bash
#                   completion, sysusers file, /etc/iphttps examples if absent)
#   make deb        the Debian package, in build/deb/ (dpkg-buildpackage, lintian)

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR ?=
CC      ?= gcc
PKG_CONFIG ?= pkg-config
PKGS    := openssl libmnl libpcap inih json-c libsystemd libseccomp
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.1.0)

# Install what is missing before anything is compiled (no-op when all is there):
# what building needs, and for the goals that run tests, what they need too
# (the unit tests need cmocka's headers before they compile).
TEST_GOALS := check unit unit-san fuzz fuzz-smoke fuzz-long scenarios demo bench deb
DEPS_ARGS  := --build $(if $(filter $(TEST_GOALS),$(MAKECMDGOALS)),--test) $(if $(filter bench,$(MAKECMDGOALS)),--bench)
DEPS_OK := $(shell scripts/deps.sh $(DEPS_ARGS) --quiet >&2 && echo yes)

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-format-truncation -Wno-missing-field-initializers -Wformat=2 -Wstrict-prototypes
BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(WARN) -Isrc -DIPHTTPS_VERSION='"$(VERSION)"' $(PKG_CFLAGS)
CFLAGS  ?= -O2 -g
LDLIBS  := $(PKG_LIBS) -lpthread

SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

O ?= build
BIN := $(if $(filter build,$(O)),iphttps,$(O)/iphttps)

LIB_SRCS  := $(filter-out src/cli/main.c,$(wildcard src/*.c src/*/*.c))
MAIN_SRC  := src/cli/main.c
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
FUZZ_SRCS := $(wildcard fuzz/fuzz_*.c)
HDRS      := $(wildcard src/*.h src/*/*.h)

OBJS      := $(patsubst %.c,$(O)/obj/%.o,$(LIB_SRCS))
SAN_OBJS  := $(patsubst %.c,$(O)/san/%.o,$(LIB_SRCS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(O)/unit/%,$(UNIT_SRCS))
UNIT_SAN  := $(patsubst tests/unit/%.c,$(O)/unit-san/%,$(UNIT_SRCS))
FUZZ_BINS := $(patsubst fuzz/%.c,$(O)/fuzz/%,$(FUZZ_SRCS))

# Objects are kept between runs (make would delete them as intermediates).
.SECONDARY:

.PHONY: all check unit unit-san fuzz fuzz-smoke fuzz-long scenarios demo bench install uninstall clean deps sanitize deb
.DEFAULT_GOAL := all

all: $(BIN)

deps:
	scripts/deps.sh --build --test

$(BIN): $(OBJS) $(O)/obj/$(MAIN_SRC:.c=.o)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/iphttps-san: $(SAN_OBJS) $(O)/san/$(MAIN_SRC:.c=.o)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

$(O)/libiphttps.a: $(OBJS)
	rm -f $@; ar rcs $@ $^

$(O)/libiphttps-san.a: $(SAN_OBJS)
	rm -f $@; ar rcs $@ $^

$(O)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(O)/san/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(O)/unit/%: tests/unit/%.c $(O)/libiphttps.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags cmocka) -o $@ $< $(O)/libiphttps.a $(LDLIBS) $(shell $(PKG_CONFIG) --libs cmocka)

$(O)/unit-san/%: tests/unit/%.c $(O)/libiphttps-san.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) $(shell $(PKG_CONFIG) --cflags cmocka) -o $@ $< $(O)/libiphttps-san.a $(LDLIBS) $(shell $(PKG_CONFIG) --libs cmocka)

# libFuzzer harnesses (clang). Each links the library built with the fuzzer's
# instrumentation so coverage reaches the parsers.
FUZZ_CC     ?= clang
FUZZ_FLAGS  := -g -O1 -fsanitize=fuzzer,address,undefined
FUZZ_LIB_OBJS := $(patsubst %.c,$(O)/fuzzobj/%.o,$(LIB_SRCS))
$(O)/fuzzobj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(BASE_CFLAGS) -Wno-unknown-warning-option -g -O1 -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<
$(O)/libiphttps-fuzz.a: $(FUZZ_LIB_OBJS)
	rm -f $@; ar rcs $@ $^
$(O)/fuzz/%: fuzz/%.c $(O)/libiphttps-fuzz.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(BASE_CFLAGS) -Wno-unknown-warning-option $(FUZZ_FLAGS) -o $@ $< $(O)/libiphttps-fuzz.a $(LDLIBS)

unit: $(UNIT_BINS)
unit-san: $(UNIT_SAN)
fuzz: $(FUZZ_BINS)
sanitize: $(O)/iphttps-san

# The one test command (README): everything, ending with "N passed, N failed".
check: $(BIN) $(O)/iphttps-san unit unit-san fuzz
	scripts/deps.sh --test --quiet
	scripts/check.sh

fuzz-smoke: fuzz
	scripts/check.sh --only fuzz

# Every harness for FUZZ_RUNS executions (10 million) each: long.
fuzz-long: fuzz
	scripts/fuzz-long.sh

scenarios: $(BIN) $(O)/iphttps-san
	scripts/check.sh --only scenarios

demo: $(BIN)
	scripts/deps.sh --test --quiet
	scripts/demo.sh

# The building blocks of the multi-process server (rings, record layer).
$(O)/bench-modules: bench/modules.c $(O)/libiphttps.a
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(O)/libiphttps.a $(LDLIBS)
bench-modules: $(O)/bench-modules
	$(O)/bench-modules

# Many idle IP-HTTPS clients from several processes (bench.sh's idle lines).
$(O)/loadgen: bench/loadgen.c
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< -lssl -lcrypto

bench: $(BIN) $(O)/loadgen
	scripts/deps.sh --test --bench --quiet
	bench/bench.sh

# What `make install` and the Debian package ship besides the binary and the
# man pages: the bash completion generated from the option tables, the
# systemd units with this installation's paths.
UNITS := iphttps-server.service iphttps-server.socket iphttps-client@.service

$(O)/iphttps.bash: $(BIN)
	@mkdir -p $(dir $@)
	./$(BIN) completion bash > $@

$(O)/units/%: contrib/%.in
	@mkdir -p $(dir $@)
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< > $@

install: $(BIN) $(O)/iphttps.bash $(addprefix $(O)/units/,$(UNITS))
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(SYSCONFDIR)/iphttps
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/iphttps
	install -m 0644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(addprefix $(O)/units/,$(UNITS)) $(DESTDIR)$(UNITDIR)/
	install -m 0644 contrib/iphttps.sysusers $(DESTDIR)$(SYSUSERSDIR)/iphttps.conf
	install -m 0644 $(O)/iphttps.bash $(DESTDIR)$(BASHCOMPDIR)/iphttps
	# an administrator's configuration is never overwritten
	for f in server client; do \
		[ -e $(DESTDIR)$(SYSCONFDIR)/iphttps/$$f.conf ] || \
		install -m 0644 contrib/$$f.conf.example $(DESTDIR)$(SYSCONFDIR)/iphttps/$$f.conf; \
	done
	[ -n "$(DESTDIR)" ] || scripts/adduser.sh   # the daemons' user now (the sysusers file at boot)

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/iphttps $(DESTDIR)$(MANDIR)/man1/iphttps*.1 \
		$(DESTDIR)$(MANDIR)/man5/iphttps*.5 $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS)) \
		$(DESTDIR)$(SYSUSERSDIR)/iphttps.conf $(DESTDIR)$(BASHCOMPDIR)/iphttps

# The Debian package, built from a copy of this tree (dpkg-buildpackage
# writes beside the source), then checked with lintian.
DEB_DIR := $(O)/deb
deb:
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/iphttps-$(VERSION)
	tar --exclude=./build --exclude=./iphttps --exclude=./.git -cf - . | tar -xf - -C $(DEB_DIR)/iphttps-$(VERSION)
	cd $(DEB_DIR)/iphttps-$(VERSION) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=2" dpkg-buildpackage -us -uc -b
	lintian --fail-on error,warning $(DEB_DIR)/iphttps_$(VERSION)_*.deb
	@ls $(DEB_DIR)/iphttps_$(VERSION)_*.deb

clean:
	rm -rf build iphttps
