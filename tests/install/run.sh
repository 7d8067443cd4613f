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
    lib/pkgconfig/tether.pc lib/cmake/tether/tetherConfig.cmake bin/tether; do
    [ -e "$work/prefix/$f" ] || { echo "missing after install: $f"; exit 1; }
done
ls "$work/prefix/lib"/libtether.so* "$work/prefix/lib"/libtether.a >/dev/null

cmake -S "$here/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$work/consumer" >/dev/null
LD_LIBRARY_PATH="$work/prefix/lib" "$work/consumer/consumer_shared"
"$work/consumer/consumer_static"

# pkg-config, as a Makefile-based user would build (the static archive against the shared
# system libraries, since Debian ships no static libpq dependencies).
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
"$cc" -o "$work/pc" "$here/consumer/main.c" $(pkg-config --cflags --libs tether)
LD_LIBRARY_PATH="$work/prefix/lib" "$work/pc"
"$cc" -o "$work/pc_static" "$here/consumer/main.c" $(pkg-config --cflags tether) \
    "$work/prefix/lib/libtether.a" $(pkg-config --libs libuv openssl jansson libpq) -lm
"$work/pc_static"
"$work/prefix/bin/tether" --version
echo "install test: ok"
