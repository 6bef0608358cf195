# seedancefs — build, test and demo.
#
#   make            build/seedancefs (needs libfuse3, libcurl, cJSON, SQLite)
#   make check      install missing Debian packages, unit + integration tests
#   make demo       start the simulator, mount, submit an example, show the result
#   make bench      stream, offline and scale figures against their limits and peers
#   make crash      200 randomized kill -9 trials (lost/duplicated/corrupt counts)
#   make faults     every operation against every injected server fault
#                   (calls, faulted, hangs, wrong_bytes, lost, duplicated)
#   make asan       the test suite under AddressSanitizer + UBSan
#   make tsan       the integration suite under ThreadSanitizer
#   make valgrind   the integration suite with the daemon under valgrind
#   make fuzz       each libFuzzer target (clang) for FUZZ_SECONDS (default 120);
#                   make check replays their corpus (tests/fuzz/corpus/)
#   make install    the daemon, seedancefs(1), the systemd unit and docs under
#                   $(DESTDIR)$(PREFIX) (PREFIX=/usr/local); make uninstall
#   make deb        build/seedancefs_VERSION_ARCH.deb from the same install
#
# The usual variables work: make CC=clang CFLAGS=-O0 LDFLAGS=... CPPFLAGS=...
# Warnings are errors in make check, CI and the sanitizer targets
# (WERROR=-Werror), not in a user's plain make.

CC      ?= cc
CFLAGS  ?= -O2 -g
WERROR  ?=
PKGS    := fuse3 libcurl libcjson sqlite3 libcrypto
SIMPKGS := libmicrohttpd libcjson libcrypto
B       := build
PYTEST  ?= pytest-3
PYTHON  ?= /usr/bin/python3
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  := $(PREFIX)/bin
MANDIR  := $(PREFIX)/share/man/man1
DOCDIR  := $(PREFIX)/share/doc/seedancefs
UNITDIR := $(PREFIX)/lib/systemd/system
VERSION := $(shell sed -n 's/^\#define SEEDANCEFS_VERSION "\(.*\)"/\1/p' include/config.h)

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
SIM_CFLAGS := $(shell pkg-config --cflags $(SIMPKGS) 2>/dev/null)
SIM_LIBS   := $(shell pkg-config --libs $(SIMPKGS) 2>/dev/null)

ALL_CPPFLAGS := -Iinclude -D_GNU_SOURCE -DFUSE_USE_VERSION=312 $(CPPFLAGS)
ALL_CFLAGS   := -std=c11 -Wall -Wextra $(WERROR) $(PKG_CFLAGS) $(CFLAGS)
LDLIBS       := $(PKG_LIBS) -lpthread -lm

LIB_SRC := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ := $(LIB_SRC:src/%.c=$(B)/obj/%.o)
UNIT    := $(patsubst tests/unit/%.c,$(B)/unit/%,$(wildcard tests/unit/test_*.c))
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
# Each fuzz target with a plain main (tests/fuzz/replay.c), for make check.
FUZZ_REPLAY := $(FUZZ_NAMES:%=$(B)/fuzz/%)
FUZZ_SECONDS ?= 120
FAULT_ROUNDS ?= 6
# What the tests and the demo run besides the daemon (ffmpeg, libmicrohttpd).
TESTBIN := $(B)/seedance-sim $(B)/fixture.mp4 $(B)/bench-memfs

# The sanitizer builds: each in its own directory, warnings as errors.
SAN_ASAN := B=build-asan WERROR=-Werror \
            CFLAGS="-O1 -g -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer"
SAN_TSAN := B=build-tsan WERROR=-Werror CFLAGS="-O1 -g -fsanitize=thread"
SAN_FUZZ := B=build-fuzz CC=clang WERROR=-Werror \
            CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"

.PHONY: all testbin check unit integration layering crash crash-quick faults faults-quick demo bench asan tsan \
        valgrind deps pkgcheck clean install uninstall deb fuzz fuzz-replay fuzz-targets
all: $(B)/seedancefs

# A missing -dev package is named, instead of a wall of missing headers.
pkgcheck:
	@pkg-config --exists $(PKGS) || { \
	    echo "seedancefs needs the development files of: $(PKGS)"; \
	    echo "on Debian: apt-get install libfuse3-dev libcurl4-openssl-dev libcjson-dev libsqlite3-dev libssl-dev pkg-config"; \
	    echo "(or run make deps)"; exit 1; }

$(B)/obj/%.o: src/%.c | $(B)/obj pkgcheck
	@echo "  CC      $@"
	@$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<
$(B)/libseedancefs.a: $(LIB_OBJ)
	@rm -f $@ && ar rcs $@ $^
$(B)/seedancefs: src/main.c $(B)/libseedancefs.a
	@echo "  LINK    $@"
	@$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -MF $(B)/obj/main.d $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)

testbin: $(TESTBIN)
$(B)/seedance-sim: $(wildcard tests/sim/*.c tests/sim/*.h) | $(B)
	@pkg-config --exists $(SIMPKGS) || { echo "the simulator needs libmicrohttpd-dev (make deps)"; exit 1; }
	@echo "  LINK    $@"
	@$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(SIM_CFLAGS) $(LDFLAGS) -o $@ \
	    $(filter %.c,$^) $(SIM_LIBS) -lpthread
$(B)/bench-memfs: tests/bench/memfs.c | $(B) pkgcheck
	@echo "  LINK    $@"
	@$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)
$(B)/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(B)/libseedancefs.a | $(B)/fuzz
	@echo "  LINK    $@"
	@$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Itests/fuzz $(LDFLAGS) -o $@ \
	    $(filter %.c,$^) $(B)/libseedancefs.a $(LDLIBS)
$(B)/libfuzzer/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(B)/libseedancefs.a | $(B)/libfuzzer
	@echo "  LINK    $@"
	@$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -fsanitize=fuzzer -Itests/fuzz $(LDFLAGS) -o $@ \
	    $< $(B)/libseedancefs.a $(LDLIBS)
$(B)/unit/%: tests/unit/%.c $(B)/libseedancefs.a | $(B)/unit
	@echo "  LINK    $@"
	@$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Itests/unit -MMD -MP -MF $@.d $(LDFLAGS) -o $@ $< \
	    $(B)/libseedancefs.a $(LDLIBS)
# A real H.264 MP4 with the moov atom at the end (ffmpeg's default layout).
$(B)/fixture.mp4: | $(B)
	ffmpeg -loglevel error -y -f lavfi -i testsrc2=duration=6:size=640x360:rate=24 \
	    -f lavfi -i sine=frequency=440:duration=6 -c:v libx264 -preset veryfast \
	    -b:v 3M -c:a aac -shortest $@
$(B) $(B)/obj $(B)/unit $(B)/fuzz $(B)/libfuzzer:
	mkdir -p $@

-include $(LIB_OBJ:.o=.d) $(B)/obj/main.d $(UNIT:=.d)

deps:
	scripts/install-deps.sh

unit: $(UNIT) fuzz-replay
	@for t in $(UNIT); do $$t || exit 1; done

# The seed corpus and every crash fuzzing found, through each target.
fuzz-replay: $(FUZZ_REPLAY)
	@for t in $(FUZZ_NAMES); do \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 $(B)/fuzz/$$t tests/fuzz/corpus/$$t || exit 1; done

fuzz-targets: $(FUZZ_NAMES:%=$(B)/libfuzzer/%)

# Bounded: FUZZ_SECONDS per target. A crash is saved under build-fuzz/crashes/
# and fails the run; copy it into tests/fuzz/corpus/TARGET/ with the fix.
fuzz: deps
	command -v clang >/dev/null || { apt-get update -qq && apt-get install -y -qq clang; }
	$(MAKE) $(SAN_FUZZ) fuzz-targets
	scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_NAMES)

integration: all testbin
	$(PYTEST) -q tests/integration

# Which header each layer may include (scripts/check-layers.sh).
layering:
	@scripts/check-layers.sh

crash: all testbin
	$(PYTHON) tests/crash/crash_trials.py --trials 200

crash-quick: all testbin
	$(PYTHON) tests/crash/crash_trials.py --trials 10

faults: all testbin
	$(PYTHON) tests/faults/fault_matrix.py --rounds $(FAULT_ROUNDS)

# The fault matrix with the daemon under AddressSanitizer + UBSan (any
# report fails the daemon's exit status, which the matrix counts), and
# under valgrind: tens of times slower, so one round and a longer hang limit.
faults-asan: deps
	$(MAKE) $(SAN_ASAN) all testbin
	SEEDANCEFS_BUILD=build-asan ASAN_OPTIONS=detect_leaks=1 \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    $(PYTHON) tests/faults/fault_matrix.py --rounds $(FAULT_ROUNDS)

faults-valgrind: deps
	command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
	$(MAKE) all testbin
	SEEDANCEFS_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --suppressions=$(CURDIR)/tests/valgrind.supp" \
	    $(PYTHON) tests/faults/fault_matrix.py --rounds 1 --hang-seconds 300

# A few faults of each kind, one round: make check keeps the injector honest.
faults-quick: all testbin
	$(PYTHON) tests/faults/fault_matrix.py --rounds 1 --only 503,html_404,reset,gzip,shifted_range

# Re-enter make after deps so pkg-config flags are read with the packages present.
check: deps
	$(MAKE) WERROR=-Werror all testbin unit
	$(MAKE) layering
	$(MAKE) WERROR=-Werror crash-quick
	$(MAKE) WERROR=-Werror faults-quick
	$(MAKE) WERROR=-Werror integration

demo: deps
	$(MAKE) all testbin
	scripts/demo.sh

bench:
	scripts/install-deps.sh --bench
	$(MAKE) all testbin
	tests/bench/run.sh

asan: deps
	$(MAKE) $(SAN_ASAN) all testbin unit
	SEEDANCEFS_BUILD=build-asan ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 $(PYTEST) -q tests/integration

# A data race in the daemon makes it exit 66 (the fixtures check the exit status).
tsan: deps
	$(MAKE) $(SAN_TSAN) all testbin unit
	SEEDANCEFS_BUILD=build-tsan TSAN_OPTIONS="halt_on_error=0 exitcode=66" $(PYTEST) -q tests/integration

valgrind: deps
	command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
	$(MAKE) all testbin unit
	for t in $(UNIT); do valgrind -q --error-exitcode=99 --leak-check=full $$t || exit 1; done
	SEEDANCEFS_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --suppressions=$(CURDIR)/tests/valgrind.supp" \
	    $(PYTEST) -q tests/integration

# The unit names the installed daemon; the docs go where Debian puts them.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(DOCDIR)/examples \
	    $(DESTDIR)$(DOCDIR)/profiles $(DESTDIR)$(UNITDIR)
	install -m 755 $(B)/seedancefs $(DESTDIR)$(BINDIR)/seedancefs
	gzip -9n < doc/seedancefs.1 > $(DESTDIR)$(MANDIR)/seedancefs.1.gz
	chmod 644 $(DESTDIR)$(MANDIR)/seedancefs.1.gz
	sed 's|@BINDIR@|$(BINDIR)|g' examples/systemd/seedancefs@.service \
	    > $(DESTDIR)$(UNITDIR)/seedancefs@.service
	chmod 644 $(DESTDIR)$(UNITDIR)/seedancefs@.service
	install -m 644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -m 644 examples/*.json examples/*.txt examples/*.csv examples/config \
	    examples/kubernetes-pod.yaml $(DESTDIR)$(DOCDIR)/examples/
	install -m 755 examples/*.sh examples/*.py $(DESTDIR)$(DOCDIR)/examples/
	install -m 644 profiles/* $(DESTDIR)$(DOCDIR)/profiles/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/seedancefs $(DESTDIR)$(MANDIR)/seedancefs.1.gz \
	    $(DESTDIR)$(UNITDIR)/seedancefs@.service
	rm -rf $(DESTDIR)$(DOCDIR)

# dpkg-deb over a staged install with PREFIX=/usr. Depends: fuse3
# (fusermount3) and the packages that hold the libraries the daemon links,
# as this machine names them (libcurl4 on bookworm, libcurl4t64 later).
DEB_ARCH = $(shell dpkg --print-architecture)
DEB_ROOT = $(B)/deb
DEB_DEPENDS = $$(ma=$$(gcc -print-multiarch); \
    for so in $$(readelf -d $(B)/seedancefs | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do \
        dpkg -S "*/$$ma/$$so" | head -1 | cut -d: -f1; done | sort -u | sed 's/^/, /' | tr -d '\n')
deb: all
	rm -rf $(DEB_ROOT)
	$(MAKE) install DESTDIR=$(CURDIR)/$(DEB_ROOT) PREFIX=/usr
	install -d $(DEB_ROOT)/DEBIAN
	printf '%s\n' "Package: seedancefs" "Version: $(VERSION)" "Architecture: $(DEB_ARCH)" \
	    "Maintainer: seedancefs developers <seedancefs@localhost>" \
	    "Depends: fuse3$(DEB_DEPENDS)" \
	    "Section: utils" "Priority: optional" \
	    "Installed-Size: $$(du -sk $(DEB_ROOT)/usr | cut -f1)" \
	    "Description: Seedance 2.0 video API as a FUSE filesystem" \
	    " Write a prompt into requests/, read tasks/<id>/status, play" \
	    " tasks/<id>/video.mp4 with any media tool." > $(DEB_ROOT)/DEBIAN/control
	dpkg-deb --root-owner-group --build $(DEB_ROOT) $(B)/seedancefs_$(VERSION)_$(DEB_ARCH).deb

clean:
	rm -rf build build-asan build-tsan build-fuzz
