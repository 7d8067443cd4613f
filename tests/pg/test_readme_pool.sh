#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's pool example compiles against libtether-pgpool and runs against a real server.
set -uo pipefail
tether=${TETHER_BINARY:?TETHER_BINARY names the tether command}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$(dirname "$tether")" && pwd)
. "$root/tests/helpers/pg_cluster.sh"
pg_cluster_start || exit 1
src="$PG_DIR/example.c"
awk '/<!-- readme-pgpool-example:begin -->/{on=1; next} /<!-- readme-pgpool-example:end -->/{on=0} on' \
    "$root/README.md" | sed '/^```/d' >"$src"
[ "$(wc -l <"$src")" -gt 10 ] || { echo "FAIL: no pool example found in README.md"; exit 1; }
# A sanitized build's archives need the sanitizer runtime at link time.
san=""
if nm "$build/libtether.a" 2>/dev/null | grep '__asan_' >/dev/null; then
    san="-fsanitize=address,undefined"
fi
cc $san -Wall -Wextra -Werror -I"$root/include" -I"$build/include" \
    -I"$(pkg-config --variable=includedir libpq)" -o "$PG_DIR/example" "$src" \
    "$build/libtether-pgpool.a" "$build/libtether.a" \
    $(pkg-config --libs libuv openssl jansson zlib libpq) -lm ||
    { echo "FAIL: the README pool example does not compile"; exit 1; }
out=$(timeout 30 "$PG_DIR/example" "postgres://postgres@127.0.0.1:$PG_PORT/postgres")
echo "$out"
[ "$out" = "hello from postgres, attempts 1" ] || { echo "FAIL: unexpected output '$out'"; exit 1; }
out=$(timeout 30 "$PG_DIR/example" "postgres://postgres@127.0.0.1:$PG_PORT/nosuchdb")
grep -q 'failed: connection to server at .*database "nosuchdb" does not exist (SQLSTATE , retry safe: yes)' <<<"$out" ||
    { echo "FAIL: the failure line is not clear: '$out'"; exit 1; }
echo "ok: the README pool example runs"
