# seedancefs — build, test and demo.
#
#   make            build/seedancefs, build/seedance-sim, build/libseedancefs.a
#   make check      install missing Debian packages, unit + integration tests
#   make demo       start the simulator, mount, submit an example, show the result
#   make bench      stream, offline and scale figures against their limits and peers
#   make crash      200 randomized kill -9 trials (lost/duplicated/corrupt counts)
#   make asan       the test suite under AddressSanitizer + UBSan
#   make valgrind   the integration suite with the daemon under valgrind

CC      ?= cc
PKGS    := fuse3 libcurl libcjson sqlite3
SIMPKGS := libmicrohttpd libcjson
OPT     ?= -O2 -g
CFLAGS  := -std=c11 $(OPT) -Wall -Wextra -Werror -D_GNU_SOURCE -DFUSE_USE_VERSION=312 \
           -Iinclude $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(EXTRA_CFLAGS)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
SIMLIBS := $(shell pkg-config --libs $(SIMPKGS) 2>/dev/null) -lpthread
B       := build

LIB_SRC := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ := $(LIB_SRC:src/%.c=$(B)/obj/%.o)
UNIT    := $(patsubst tests/unit/%.c,$(B)/unit/%,$(wildcard tests/unit/test_*.c))
PYTEST  ?= pytest-3

PYTHON  ?= /usr/bin/python3

.PHONY: all check unit integration crash crash-quick demo bench asan valgrind deps clean
all: $(B)/seedancefs $(B)/seedance-sim $(B)/fixture.mp4 $(B)/bench-memfs

$(B)/obj/%.o: src/%.c $(wildcard include/*.h src/*.h) | $(B)/obj
	@echo "  CC      $@"
	@$(CC) $(CFLAGS) -c -o $@ $<
$(B)/libseedancefs.a: $(LIB_OBJ)
	@ar rcs $@ $^
$(B)/seedancefs: src/main.c $(B)/libseedancefs.a
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/seedance-sim: $(wildcard tests/sim/*.c tests/sim/*.h) | $(B)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) $(shell pkg-config --cflags libmicrohttpd 2>/dev/null) -o $@ \
	    $(filter %.c,$^) $(SIMLIBS)
$(B)/bench-memfs: tests/bench/memfs.c | $(B)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)
$(B)/unit/%: tests/unit/%.c tests/unit/check.h $(B)/libseedancefs.a | $(B)/unit
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(B)/libseedancefs.a $(LDLIBS)
# A real H.264 MP4 with the moov atom at the end (ffmpeg's default layout).
$(B)/fixture.mp4: | $(B)
	ffmpeg -loglevel error -y -f lavfi -i testsrc2=duration=6:size=640x360:rate=24 \
	    -f lavfi -i sine=frequency=440:duration=6 -c:v libx264 -preset veryfast \
	    -b:v 3M -c:a aac -shortest $@
$(B) $(B)/obj $(B)/unit:
	mkdir -p $@

deps:
	scripts/install-deps.sh

unit: $(UNIT)
	@for t in $(UNIT); do $$t || exit 1; done

integration: all
	$(PYTEST) -q tests/integration

crash: all
	$(PYTHON) tests/crash/crash_trials.py --trials 200

crash-quick: all
	$(PYTHON) tests/crash/crash_trials.py --trials 10

# Re-enter make after deps so pkg-config flags are read with the packages present.
check: deps
	$(MAKE) all unit
	$(MAKE) crash-quick
	$(MAKE) integration

demo: deps
	$(MAKE) all
	scripts/demo.sh

bench:
	scripts/install-deps.sh --bench
	$(MAKE) all
	tests/bench/run.sh

asan: deps
	$(MAKE) B=build-asan OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
	    EXTRA_LDFLAGS= all unit
	SEEDANCEFS_BUILD=build-asan ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 $(PYTEST) -q tests/integration

valgrind: deps
	command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
	$(MAKE) all unit
	for t in $(UNIT); do valgrind -q --error-exitcode=99 --leak-check=full $$t || exit 1; done
	SEEDANCEFS_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --suppressions=$(CURDIR)/tests/valgrind.supp" \
	    $(PYTEST) -q tests/integration

clean:
	rm -rf build build-asan
