#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's embedding example compiles against the library and runs against `tether serve`.
set -uo pipefail
tether=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$(dirname "$tether")" && pwd)
tmp=$(mktemp -d)
srv=""
cleanup() {
    [ -n "$srv" ] && kill "$srv" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

awk '/<!-- readme-example:begin -->/{on=1; next} /<!-- readme-example:end -->/{on=0} on' \
    "$root/README.md" | sed '/^```/d' >"$tmp/example.c"
[ "$(wc -l <"$tmp/example.c")" -gt 10 ] || { echo "FAIL: no example found in README.md"; exit 1; }
# A sanitized build's archive needs the sanitizer runtime at link time.
san=""
if nm "$build/libtether.a" 2>/dev/null | grep '__asan_' >/dev/null; then
    san="-fsanitize=address,undefined"
fi
cc $san -Wall -Wextra -Werror -I"$root/include" -I"$build/include" -o "$tmp/example" \
    "$tmp/example.c" "$build/libtether.a" $(pkg-config --libs libuv openssl jansson libpq) -lm ||
    { echo "FAIL: the README example does not compile"; exit 1; }

"$tether" serve --listen 127.0.0.1:0 >"$tmp/serve.out" 2>&1 &
srv=$!
for _ in $(seq 50); do
    grep -q '^listening on' "$tmp/serve.out" && break
    sleep 0.1
done
url=$(head -1 "$tmp/serve.out" | sed 's/^listening on //')/
out=$(timeout 20 "$tmp/example" "$url")
echo "$out"
case "$out" in
"status 200, attempts 1, replays 0: success") echo "1 passed, 0 failed" ;;
*) echo "FAIL: unexpected output"; echo "0 passed, 1 failed"; exit 1 ;;
esac
