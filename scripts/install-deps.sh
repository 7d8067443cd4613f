#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs, only when missing, the Debian packages tether needs: `build` what `make demo` needs
# (compiler, CMake, and the libraries tether links), `test`/`all` also the test and benchmark
# peers (`make test`, `make bench`). Idempotent: a second run installs nothing and takes a moment.
#   install-deps.sh [--check] [build|db|test|all]
# `db` is build plus libpq and PostgreSQL 15: what `make demo-db` needs.
# --check only lists what is missing and the command that installs it (exit 1 when something is),
# and never runs apt. Without root the script does the same and stops: it never calls sudo
# itself. Installing a peer never starts a system service (Debian starts nginx and haproxy on
# install): a policy-rc.d that forbids it is in place while apt runs, unless the machine has one.
set -euo pipefail

# Build: compiler, CMake, and the libraries tether links (DESIGN.md §2).
BUILD_PKGS=(build-essential cmake pkg-config libuv1-dev libssl-dev libjansson-dev zlib1g-dev)
# Tests: cmocka, the libhttp-parser oracle (tests only, never linked into the library),
# clang with its libFuzzer/sanitizer runtimes, ca-certificates/openssl for TLS tests, and haproxy
# (the peer of bench/proxy_bench.c, run from PATH in mode tcp; never started as a service here).
TEST_PKGS=(libcmocka-dev libhttp-parser-dev clang libclang-rt-14-dev openssl ca-certificates haproxy)
# llhttp, Node's parser: its generated C sources (node-llhttp) are the second differential oracle
# of the parser and a peer of bench/parser_bench, compiled by the tests, never into the library.
TEST_PKGS+=(node-llhttp)
# Lint gates run by make test (scripts/lint.sh): the formatter and clang-tidy of the same LLVM.
TEST_PKGS+=(clang-format clang-tidy)
# The forward proxy `tether get -x` is compared through (tests/cli/test_get_transport.sh); run
# from a generated config in a temp dir, never as a service.
TEST_PKGS+=(tinyproxy)
# curl itself: tests/cli/test_get_curl.sh compares `tether get`'s bytes with curl's.
TEST_PKGS+=(curl)
# valgrind: every unit test under --leak-check=full (scripts/valgrind.sh, make test-stress).
TEST_PKGS+=(valgrind)
# Benchmark peers: nginx (bench/server_bench, started from a generated config in a temp dir, never
# as a service), wrk (the load generator both servers get) and libcurl (bench/client_bench).
TEST_PKGS+=(nginx wrk libcurl4-openssl-dev)
# The real middlebox of tests/cli/test_doctor_netns.sh: network namespaces joined by veth pairs
# (iproute2) and a firewall that drops idle flows the way NATs do (iptables, conntrack match).
TEST_PKGS+=(iproute2 iptables)
# tests/cli/test_manpage.sh: groff and man read tether(1) with every warning on; bash, zsh
# and fish load the completion scripts and complete from them.
TEST_PKGS+=(groff-base man-db zsh fish)
# The PostgreSQL pool (libtether-pgpool, built only where libpq is found, never needed by
# `make demo`) and the real servers its tests run (tests/pg, from a temp dir on a free port,
# never as a service): PostgreSQL 15 and PgBouncer.
TEST_PKGS+=(libpq-dev postgresql-15 pgbouncer)
# `make soak` (scripts/soak.sh): the conntrack tool empties the middlebox's flow table between
# kernel faults, and jq joins the two phases' JSON lines into one.
TEST_PKGS+=(conntrack jq)

check=false
if [ "${1:-}" = "--check" ]; then
    check=true
    shift
fi
mode=${1:-all}
want=("${BUILD_PKGS[@]}")
case "$mode" in
build) ;;
db) want+=(libpq-dev postgresql-15) ;;
all | test) want+=("${TEST_PKGS[@]}") ;;
*)
    echo "usage: $0 [--check] [build|db|test|all]" >&2
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

if $check || [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing ${#missing[@]} package(s): ${missing[*]}" >&2
    echo "install-deps: install them with: sudo $0 $mode" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
# Debian's postinst scripts start nginx, haproxy, tinyproxy, ... through invoke-rc.d, which asks
# /usr/sbin/policy-rc.d first: exit 101 means "not allowed". Ours exists only while apt runs; a
# policy the machine already has is left as it is, and no running service is ever stopped.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    trap 'rm -f "$policy"' EXIT
    printf '#!/bin/sh\n# tether install-deps.sh: no service starts while it installs\nexit 101\n' \
        >"$policy"
    chmod 755 "$policy"
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be stale or absent on a fresh machine; refresh once, then install.
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
