#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether get` next to curl on the same real server (Node's http, transport_server.js): -L
# through 301/302/303/307/308 with and without a POST body gives the same bytes and exit
# status as curl -L; --max-redirs stops a loop with curl's message; without -L the 3xx is the
# answer; --compressed writes the same decoded bytes as curl --compressed for gzip, deflate and
# raw deflate; --resolve reaches a name that does not resolve; through tinyproxy (a real forward
# proxy) -x and the proxy variables give curl's bytes for http:// and for https:// through a
# CONNECT tunnel, a refused tunnel fails like curl's, HTTP_PROXY is ignored (httpoxy), no_proxy
# and --noproxy bypass the proxy; bad values exit 2.
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
    timeout "$(scaled 30)" "$tether" get -sS "$@" >"$tmp/$name.tether" 2>"$tmp/$name.err"
    local trc=$?
    timeout "$(scaled 30)" curl -sS "$@" >"$tmp/$name.curl" 2>/dev/null
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
node_url=$url
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

timeout "$(scaled 30)" "$tether" get -sS -L --max-redirs 3 "$url/loop" >"$tmp/loop.out" 2>"$tmp/loop.err"
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
# Nothing listens on 127.0.0.2 (the server is bound to 127.0.0.1): its connect is refused and,
# as curl does, the next address is dialled.
same "resolve-fallback" --resolve "tether-transport.invalid:$port:127.0.0.2,127.0.0.1" \
    "http://tether-transport.invalid:$port/echo"
expect "--resolve A,B: B reached the server" grep -q '^GET /echo' "$tmp/resolve-fallback.tether"

# ---- a real forward proxy: tinyproxy, with Basic credentials ----
# tinyproxy cannot listen on port 0: take a free port from the kernel, and try again should
# another process take it first.
start_tinyproxy() {
    local try
    for try in 1 2 3 4 5; do
        tp_port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",
            ()=>{console.log(s.address().port);s.close()})')
        printf 'Port %s\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nLogLevel Warning\nBasicAuth user pass\n' \
            "$tp_port" >"$tmp/tinyproxy.conf"
        tinyproxy -d -c "$tmp/tinyproxy.conf" >"$tmp/tinyproxy.out" 2>"$tmp/tinyproxy.err" &
        tp_pid=$!
        pids+=("$tp_pid")
        if wait_for 5000 bash -c "exec 3<>/dev/tcp/127.0.0.1/$tp_port" 2>/dev/null &&
            kill -0 "$tp_pid" 2>/dev/null; then
            return 0
        fi
        stop_pid "$tp_pid" TERM
    done
    return 1
}

tls_ok=false
if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
    -days 1 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    >/dev/null 2>&1 && start_server tls --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem"; then
    tls_ok=true
    tls_url=$url
    tls_pid=$pid
else
    fail "no TLS server to tunnel to"
fi
url=$node_url # start_server set $url to its own
if ! command -v tinyproxy >/dev/null; then
    fail "tinyproxy is missing (scripts/install-deps.sh installs it)"
elif ! start_tinyproxy; then
    fail "tinyproxy did not start: $(head -3 "$tmp/tinyproxy.err")"
else
    proxy="http://user:pass@127.0.0.1:$tp_port"
    same "proxy-http" -x "$proxy" -d via=proxy "$url/echo"
    expect "-x: the request went through the proxy" \
        grep -q '^POST /echo body=via=proxy .* via=proxy$' "$tmp/proxy-http.tether"
    same "proxy-redirect" -x "$proxy" -L "$url/r302"
    expect "-x -L: every hop through the proxy" \
        grep -q '^GET /echo?from=302 .* via=proxy$' "$tmp/proxy-redirect.tether"
    if $tls_ok; then
        same "proxy-tunnel" -x "$proxy" --cacert "$tmp/cert.pem" "$tls_url/tunnelled"
        expect "CONNECT: the body through TLS in the tunnel" [ "$(cat "$tmp/proxy-tunnel.tether")" = ok ]
        same "proxy-tunnel-auth" -x "http://user:wrong@127.0.0.1:$tp_port" --cacert "$tmp/cert.pem" \
            "$tls_url/"
        expect "refused tunnel: curl's words ($(cat "$tmp/proxy-tunnel-auth.err"))" \
            errhas proxy-tunnel-auth "CONNECT tunnel failed, response 401"
        https_proxy=$proxy same "env-https_proxy" --cacert "$tmp/cert.pem" "$tls_url/env"
        expect "https_proxy: through the tunnel" [ "$(cat "$tmp/env-https_proxy.tether")" = ok ]
    fi
    http_proxy=$proxy same "env-http_proxy" "$url/echo"
    expect "http_proxy: through the proxy" grep -q 'via=proxy$' "$tmp/env-http_proxy.tether"
    # Nothing listens on port 1: a request sent there fails.
    HTTP_PROXY=http://127.0.0.1:1 same "env-HTTP_PROXY-ignored" "$url/echo"
    http_proxy=http://127.0.0.1:1 no_proxy=localhost,127.0.0.1 same "env-no_proxy" "$url/echo"
    same "--noproxy" -x http://127.0.0.1:1 --noproxy '*' "$url/echo"
    expect "--noproxy '*': reached directly" grep -q '^GET /echo' "$tmp/--noproxy.tether"
    stop_pid "$tp_pid" TERM
fi
if $tls_ok; then
    stop_pid "$tls_pid" TERM
fi

# ---- bad values ----
for bad in "--resolve nocolon" "--resolve h:0:127.0.0.1" "--resolve h:80:localhost" \
    "--resolve h:80:127.0.0.1,localhost" \
    "--max-redirs -1" "--max-redirs x" "-x socks5://127.0.0.1:1080" "-x http://h:0"; do
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
