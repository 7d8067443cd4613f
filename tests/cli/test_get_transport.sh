#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether get` next to curl on the same real server (Node's http, transport_server.js): -L
# through 301/302/303/307/308 with and without a POST body gives the same bytes and exit
# status as curl -L; --max-redirs stops a loop with curl's message; without -L the 3xx is the
# answer; --compressed writes the same decoded bytes as curl --compressed for gzip, deflate and
# raw deflate; --resolve reaches a name that does not resolve; bad values exit 2.
# Usage: bash tests/cli/test_get_transport.sh path/to/tether
source "$(dirname "$0")/harness.sh"
need_node "the peer is a Node.js server"
need_tether
command -v curl >/dev/null || skip "curl is not installed"

# same NAME ARGS...: `tether get ARGS` and `curl -s ARGS` write the same stdout and agree on
# success; the outputs stay in $tmp/NAME.{tether,curl}.
same() {
    local name=$1
    shift
    timeout "$(scaled 30)" "$tether" get -s "$@" >"$tmp/$name.tether" 2>"$tmp/$name.err"
    local trc=$?
    timeout "$(scaled 30)" curl -s "$@" >"$tmp/$name.curl"
    local crc=$?
    if ! cmp -s "$tmp/$name.tether" "$tmp/$name.curl"; then
        fail "$name: tether wrote '$(head -c 200 "$tmp/$name.tether")', curl '$(head -c 200 "$tmp/$name.curl")'"
    elif [ $((trc == 0)) -ne $((crc == 0)) ]; then
        fail "$name: tether exited $trc, curl $crc ($(head -2 "$tmp/$name.err"))"
    else
        ok
    fi
}

if ! spawn_listening node 1 node "$(dirname "$0")/transport_server.js"; then
    fail "the Node server did not start: $(head -5 "$tmp/node.err")"
    finish
fi
url=${line1#listening on }
port=$port1

# ---- redirects ----
for r in r301 r302 r303 r307 r308 chain; do
    same "get-$r" -L "$url/$r"
    same "post-$r" -L -d a=1 -H 'Authorization: Bearer t' "$url/$r"
done
expect "-L: the POST after 307 is still a POST with its body" \
    grep -q '^POST /echo body=a=1 ct=application/x-www-form-urlencoded' "$tmp/post-r307.tether"
expect "-L: the POST after 303 is a GET without body" \
    grep -q '^GET /echo body= ct=-' "$tmp/post-r303.tether"
same "no-L" "$url/r301"
expect "without -L the 3xx body is the output" grep -q '^moved to /echo' "$tmp/no-L.tether"

timeout "$(scaled 30)" "$tether" get -s -L --max-redirs 3 "$url/loop" >"$tmp/loop.out" 2>"$tmp/loop.err"
rc=$?
expect "loop: exit 1 (got $rc)" [ "$rc" -eq 1 ]
expect "loop: curl's message ($(cat "$tmp/loop.err"))" errhas loop "maximum (3) redirects followed"
timeout "$(scaled 30)" "$tether" get -L -v "$url/chain" >/dev/null 2>"$tmp/trace.err"
expect "-v: each hop is traced" [ "$(grep -c '^\* following 30[12] to ' "$tmp/trace.err")" -eq 2 ]

# ---- --compressed ----
for c in gzip deflate rawdeflate; do
    same "compressed-$c" --compressed "$url/$c"
    expect "--compressed $c: the decoded text" grep -q '^line 399 of a compressible body$' \
        "$tmp/compressed-$c.tether"
done

# ---- --resolve ----
same "resolve" --resolve "tether-transport.invalid:$port:127.0.0.1" \
    "http://tether-transport.invalid:$port/echo"
expect "--resolve: the request reached the server" grep -q '^GET /echo' "$tmp/resolve.tether"

# ---- bad values ----
for bad in "--resolve nocolon" "--resolve h:0:127.0.0.1" "--resolve h:80:localhost" \
    "--max-redirs -1" "--max-redirs x"; do
    # shellcheck disable=SC2086 # the flag and its value are two words on purpose
    timeout "$(scaled 30)" "$tether" get $bad "$url/" >/dev/null 2>"$tmp/bad.err"
    rc=$?
    expect "'$bad': exit 2 (got $rc)" [ "$rc" -eq 2 ]
    expect "'$bad': one line naming the value ($(cat "$tmp/bad.err"))" \
        [ "$(wc -l <"$tmp/bad.err")" -eq 1 ]
done

stop_pid "$pid" TERM
check_sanitizers
finish
