#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the build into a scratch prefix, then builds and runs a program against it with
# find_package(tether) (shared and static) and with pkg-config.
set -euo pipefail
build_dir=$1
cc=${2:-cc}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
for f in include/tether/tether.h include/tether/error.h include/tether/version.h \
    lib/pkgconfig/tether.pc lib/cmake/tether/tetherConfig.cmake bin/tether \
    share/man/man1/tether.1 share/bash-completion/completions/tether \
    share/zsh/site-functions/_tether share/fish/vendor_completions.d/tether.fish; do
    [ -e "$work/prefix/$f" ] || { echo "missing after install: $f"; exit 1; }
done
ls "$work/prefix/lib"/libtether.so* "$work/prefix/lib"/libtether.a >/dev/null

cmake -S "$here/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$work/consumer" >/dev/null
LD_LIBRARY_PATH="$work/prefix/lib" "$work/consumer/consumer_shared"
"$work/consumer/consumer_static"

# The package names exactly what the library links: every library the .so needs comes from a
# package in tether.pc, and every package there is needed (a phantom one breaks
# `pkg-config --cflags tether` where its -dev package is missing).
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
pc_pkgs=$(pkg-config --print-requires tether; pkg-config --print-requires-private tether)
pc_pkgs=$(echo "$pc_pkgs" | awk '{print $1}' | sort -u | tr '\n' ' ')
needed=$(readelf -d "$work/prefix/lib/libtether.so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
want=""
for lib in $needed; do
    case $lib in
    libuv.so*) want="$want libuv" ;;
    libssl.so* | libcrypto.so*) want="$want openssl" ;;
    libjansson.so*) want="$want jansson" ;;
    libz.so*) want="$want zlib" ;;
    libc.so* | libm.so* | ld-linux*) ;;
    *) echo "tether.pc: libtether.so needs $lib, which no package in tether.pc provides"; exit 1 ;;
    esac
done
want=$(echo "$want" | tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' ')
if [ "$want" != "$pc_pkgs" ]; then
    echo "tether.pc requires '$pc_pkgs' but libtether.so links '$want'"
    exit 1
fi
# The CMake package exports only the two libraries, never the build's helper targets.
if grep -E 'tether_warnings|tether_deps|PostgreSQL' "$work/prefix/lib/cmake/tether/"*.cmake; then
    echo "the CMake package exports build-only targets or a phantom dependency"
    exit 1
fi

# pkg-config, as a Makefile-based user would build (the static archive against the shared
# system libraries).
pkg-config --cflags tether >/dev/null
"$cc" -o "$work/pc" "$here/consumer/main.c" $(pkg-config --cflags --libs tether)
LD_LIBRARY_PATH="$work/prefix/lib" "$work/pc"
"$cc" -o "$work/pc_static" "$here/consumer/main.c" $(pkg-config --cflags tether) \
    "$work/prefix/lib/libtether.a" $(pkg-config --libs --static tether | sed 's/-ltether//')
"$work/pc_static"
"$work/prefix/bin/tether" --version

# libtether-pgpool, installed where the build found libpq: its package names exactly what it
# links beyond libtether's own (tether, libpq), and a program builds against it.
if [ -e "$work/prefix/lib/pkgconfig/tether-pgpool.pc" ]; then
    pc_pkgs=$(pkg-config --print-requires tether-pgpool | awk '{print $1}' | sort -u | tr '\n' ' ')
    needed=$(readelf -d "$work/prefix/lib/libtether-pgpool.so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    want=""
    for lib in $needed; do
        case $lib in
        libtether.so*) want="$want tether" ;;
        libpq.so*) want="$want libpq" ;;
        libuv.so*) ;; # through tether's Requires
        libc.so* | libm.so* | ld-linux*) ;;
        *) echo "tether-pgpool.pc: libtether-pgpool.so needs $lib, which no package provides"; exit 1 ;;
        esac
    done
    want=$(echo "$want" | tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' ')
    if [ "$want" != "$pc_pkgs" ]; then
        echo "tether-pgpool.pc requires '$pc_pkgs' but libtether-pgpool.so links '$want'"
        exit 1
    fi
    "$cc" -o "$work/pgpool" "$here/consumer/pgpool_main.c" $(pkg-config --cflags --libs tether-pgpool)
    LD_LIBRARY_PATH="$work/prefix/lib" "$work/pgpool"
fi
echo "install test: ok"
