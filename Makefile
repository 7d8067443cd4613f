# SPDX-License-Identifier: MIT
# A thin wrapper over CMake: the commands the README promises.
#   make demo    deps + build, then `tether demo`: the seed's resets, naive client vs tether
#   make deps    install missing Debian packages and the npm peers the tests use
#   make build   configure and build into build/ (warnings are errors)
#   make test    deps + build + every test, then the suite again under ASan+UBSan, then a fuzz smoke
#   make fuzz    run every libFuzzer target for FUZZ_SECONDS (default 60)
#   make bench   run every benchmark against its peer and print the ratio lines
#   make lint    clang-format dry run and clang-tidy over src/ (scripts/lint.sh; not in make test)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
CMAKE_FLAGS ?=

.PHONY: all deps build demo test test-unit test-asan fuzz fuzz-smoke bench lint clean

all: build

deps:
	scripts/install-deps.sh all
	scripts/install-peers.sh

build: deps
	cmake -S . -B build -DTETHER_WERROR=ON -DTETHER_BUILD_BENCH=ON $(CMAKE_FLAGS)
	cmake --build build -j $(JOBS)

demo: build
	./build/tether demo

test-unit: build
	cd build && ctest --output-on-failure -j $(JOBS)

test-asan: deps
	cmake -S . -B build-asan -DTETHER_WERROR=ON -DTETHER_SANITIZER=address,undefined \
	  -DTETHER_BUILD_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS)

fuzz-smoke: deps
	scripts/fuzz.sh $(FUZZ_SMOKE_SECONDS)

test: test-unit test-asan fuzz-smoke

fuzz: deps
	scripts/fuzz.sh $(FUZZ_SECONDS)

bench: deps
	scripts/bench.sh

lint:
	scripts/lint.sh all

clean:
	rm -rf build build-asan build-fuzz build-release
