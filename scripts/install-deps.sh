#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs, only when missing, every Debian package tether's build, tests and benchmarks need.
# Idempotent: a second run installs nothing and takes a moment. Later components add their peers
# here, so `make demo` and `make test` stay the only set-up a fresh machine needs.
set -euo pipefail

# Build: compiler, CMake, and the libraries tether links (DESIGN.md §2).
BUILD_PKGS=(build-essential cmake pkg-config libuv1-dev libssl-dev libjansson-dev zlib1g-dev)
# Tests: cmocka, the libhttp-parser oracle (tests only, never linked into the library),
# clang with its libFuzzer/sanitizer runtimes, ca-certificates/openssl for TLS tests, and haproxy
# (the peer of bench/proxy_bench.c, run from PATH in mode tcp; never started as a service here).
TEST_PKGS=(libcmocka-dev libhttp-parser-dev clang libclang-rt-14-dev openssl ca-certificates haproxy)
# Lint gates run by make test (scripts/lint.sh): the formatter and clang-tidy of the same LLVM.
TEST_PKGS+=(clang-format clang-tidy)
# The forward proxy `tether get -x` is compared through (tests/cli/test_get_transport.sh); run
# from a generated config in a temp dir, never as a service.
TEST_PKGS+=(tinyproxy)
# curl itself: tests/cli/test_get_curl.sh compares `tether get`'s bytes with curl's.
TEST_PKGS+=(curl)
# Benchmark peers: nginx (bench/server_bench, started from a generated config in a temp dir, never
# as a service), wrk (the load generator both servers get) and libcurl (bench/client_bench).
TEST_PKGS+=(nginx wrk libcurl4-openssl-dev)
# The real middlebox of tests/cli/test_doctor_netns.sh: network namespaces joined by veth pairs
# (iproute2) and a firewall that drops idle flows the way NATs do (iptables, conntrack match).
TEST_PKGS+=(iproute2 iptables)

want=("${BUILD_PKGS[@]}")
case "${1:-all}" in
build) ;;
all | test) want+=("${TEST_PKGS[@]}") ;;
*)
    echo "usage: $0 [build|test|all]" >&2
    exit 2
    ;;
esac

missing=()
for pkg in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#want[@]} packages present"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be stale or absent on a fresh machine; refresh once, then install.
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
