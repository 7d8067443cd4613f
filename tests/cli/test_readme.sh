#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's embedding example compiles against the library and runs against `tether serve`.
# Counters, cleanup, $tmp and start_server.
source "$(dirname "$0")/harness.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$(dirname "$tether")" && pwd)

awk '/<!-- readme-example:begin -->/{on=1; next} /<!-- readme-example:end -->/{on=0} on' \
    "$root/README.md" | sed '/^```/d' >"$tmp/example.c"
[ "$(wc -l <"$tmp/example.c")" -gt 10 ] || { echo "FAIL: no example found in README.md"; exit 1; }
# A sanitized build's archive needs the sanitizer runtime at link time.
san=""
if nm "$build/libtether.a" 2>/dev/null | grep '__asan_' >/dev/null; then
    san="-fsanitize=address,undefined"
fi
cc $san -Wall -Wextra -Werror -I"$root/include" -I"$build/include" -o "$tmp/example" \
    "$tmp/example.c" "$build/libtether.a" $(pkg-config --libs libuv openssl jansson zlib libpq) -lm ||
    { echo "FAIL: the README example does not compile"; exit 1; }

start_server serve || finish
out=$(timeout "$(scaled 20)" "$tmp/example" "$url/")
echo "$out"
expect "the example's output (got '$out')" [ "$out" = "status 200, attempts 1, replays 0: success" ]
stop_pid "$pid" TERM
expect "the server stops cleanly (exit $rc)" [ "$rc" -eq 0 ]
finish
