# SPDX-License-Identifier: MIT
# A thin wrapper over CMake: the commands the README promises.
#   make demo    build deps only (compiler, CMake, libuv, OpenSSL, jansson, zlib) + the tether
#                command, then `tether demo`: the seed's resets, naive client vs tether
#   make demo-db  the demo's db-idle scenario (naive pool vs tether's) against a throwaway
#                PostgreSQL 15: installs it (install-deps.sh db), starts a cluster in a temp dir
#                as an unprivileged user (tests/helpers/pg_cluster.sh), runs, stops and removes it
#   make deps    install missing Debian packages and the npm peers the tests use (without root:
#                names what is missing and the command that installs it, then stops)
#   make build   configure and build into build/ (warnings are errors)
#   make test    deps + build + every test, then the suite again under ASan+UBSan, then a fuzz smoke
#   make test-stress  builds both trees as make test does, then runs each whole suite 5 times
#                (ctest --repeat until-fail:5) with every CPU kept busy; a flaky test fails here.
#                Not part of make test: it takes a long time (STRESS_REPEAT=N to change).
#                Then every unit test once under valgrind (make test-valgrind), and the
#                ThreadSanitizer tests (make test-tsan) STRESS_REPEAT times
#   make test-tsan  builds build-tsan/ (-fsanitize=thread) and runs the tests labelled "threads":
#                `tether serve --workers` and every test with a peer on a thread of its own
#                (about 3 minutes; not part of make test, whose CI budget it would break)
#   make test-valgrind  every unit test (tests/unit) of build/ under valgrind --leak-check=full
#                --error-exitcode=1 (scripts/valgrind.sh); slow, so not part of make test
#   make fuzz    run every libFuzzer target for FUZZ_SECONDS (default 60)
#   make bench   run every benchmark against its peer and print the ratio lines
#   make soak    the chaos soak (docs/SOAK.md): the client library through tether proxy's toxics
#                to a tether serve restarted every 10 s, then real kernel faults in network
#                namespaces; about 10 minutes (SOAK_SECONDS=480 loopback, SOAK_NETNS_SECONDS=120,
#                SOAK_NETNS=0 skips the namespaces). Not part of make test
#   make lint    clang-format dry run and clang-tidy over src/ (scripts/lint.sh; make test runs
#                them as the CTest tests format and tidy)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
STRESS_REPEAT ?= 5
SOAK_SECONDS ?= 480
SOAK_NETNS_SECONDS ?= 120
SOAK_NETNS ?= auto
CMAKE_FLAGS ?=

.PHONY: all deps deps-build build build-asan build-tsan demo demo-db test test-unit test-asan test-tsan \
	test-stress test-valgrind \
	fuzz fuzz-smoke bench soak \
	lint clean

all: build

deps:
	scripts/install-deps.sh all
	scripts/install-peers.sh

build: deps
	cmake -S . -B build -DTETHER_WERROR=ON -DTETHER_BUILD_BENCH=ON $(CMAKE_FLAGS)
	cmake --build build -j $(JOBS)

deps-build:
	scripts/install-deps.sh build

# The demo needs no test peer: only what the build links, and only the command is built.
demo: deps-build
	cmake -S . -B build -DTETHER_WERROR=ON $(CMAKE_FLAGS)
	cmake --build build -j $(JOBS) --target tether_cli
	./build/tether demo

demo-db:
	scripts/install-deps.sh db
	cmake -S . -B build -DTETHER_WERROR=ON $(CMAKE_FLAGS)
	cmake --build build -j $(JOBS) --target tether_cli
	scripts/demo-db.sh build

test-unit: build
	cd build && ctest --output-on-failure -j $(JOBS)

build-asan: deps
	cmake -S . -B build-asan -DTETHER_WERROR=ON -DTETHER_SANITIZER=address,undefined \
	  -DTETHER_BUILD_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build build-asan -j $(JOBS)

test-asan: build-asan
	cd build-asan && ctest --output-on-failure -j $(JOBS)

# Only the multi-threaded tests: ThreadSanitizer finds nothing in the others, which it slows
# five- to fifteen-fold. Only their targets (and the command) are built.
build-tsan: deps
	cmake -S . -B build-tsan -DTETHER_WERROR=ON -DTETHER_SANITIZER=thread \
	  -DTETHER_BUILD_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build build-tsan -j $(JOBS) --target tether_cli \
	  $$(cd build-tsan && ctest -N -L threads | sed -n 's/.*Test *#[0-9]*: //p' | grep -v '^cli_')

test-tsan: build-tsan
	cd build-tsan && ctest --output-on-failure -j $(JOBS) -L threads

test-stress: build build-asan build-tsan
	JOBS=$(JOBS) scripts/stress.sh $(STRESS_REPEAT) build build-asan
	scripts/valgrind.sh build
	cd build-tsan && ctest --output-on-failure -j $(JOBS) -L threads \
	  --repeat until-fail:$(STRESS_REPEAT)

test-valgrind: build
	scripts/valgrind.sh build

fuzz-smoke: deps
	scripts/fuzz.sh $(FUZZ_SMOKE_SECONDS)

test: test-unit test-asan fuzz-smoke

fuzz: deps
	scripts/fuzz.sh $(FUZZ_SECONDS)

bench: deps
	scripts/bench.sh

soak: build
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_NETNS_SECONDS=$(SOAK_NETNS_SECONDS) SOAK_NETNS=$(SOAK_NETNS) \
	  scripts/soak.sh build

lint:
	scripts/lint.sh all

clean:
	rm -rf build build-asan build-tsan build-fuzz build-release
