#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether doctor` against real servers on loopback: `tether serve` (each --close-style),
# `tether proxy` idle_timeout toxics (fin, rst, silent), Node 20's http server, and nginx and
# HAProxy when installed (scripts/install-deps.sh). The idle close each server decides by its
# own timer must be measured no more than max(20 ms, 2 %) early and max(100 ms, 10 %) late
# (times the suite's slowness multiplier),
# FIN told from RST every time, the silent drop found by a probe; plus --behind, --json keys,
# exit 1 with Node's error text for an unreachable endpoint and exit 2 for usage errors.
# Usage: bash tests/cli/test_doctor.sh path/to/tether
source "$(dirname "$0")/harness.sh"
need_tether
need_node "reads the --json output and runs the Node peer"

# doctor NAME ARGS...: tether doctor --json ARGS, stdout in $tmp/NAME.json; $rc its status.
doctor() {
    local name=$1
    shift
    timeout "$(scaled 30)" "$tether" doctor --json "$@" >"$tmp/$name.json" 2>"$tmp/$name.err"
    rc=$?
}
j() { jget "$tmp/$1.json" "$2"; }

# near NAME MEASURED EXPECTED: at most max(20 ms, 2 %) early and max(100 ms, 10 %) late, x the
# multiplier. Late is looser: on a loaded machine the server's own timer fires late, and the
# doctor then measures, rightly, a late close.
near() {
    local name=$1 got=$2 want=$3
    local early=$((want * 2 / 100)) late=$((want * 10 / 100))
    [ "$early" -ge 20 ] || early=20
    [ "$late" -ge 100 ] || late=100
    early=$((early * mult))
    late=$((late * mult))
    if [[ $got =~ ^[0-9]+$ ]] && [ $((got - want)) -le "$late" ] && [ $((want - got)) -le "$early" ]; then
        ok
    else
        fail "$name: idle close measured '$got' ms, want $want -$early/+$late ms"
    fi
}

# idle_is NAME EXPECTED_MS HOW: every connection closed HOW, each within tolerance.
idle_is() {
    local name=$1 want=$2 how=$3
    if [ "$rc" -ne 0 ]; then
        fail "$name: exit $rc ($(head -3 "$tmp/$name.err"))"
        return
    fi
    expect "$name: how=$how" [ "$(j "$name" 'j.idle_close.how')" = "$how" ]
    expect "$name: 3 connections" [ "$(j "$name" 'j.idle_close.connections.length')" = 3 ]
    expect "$name: all $how" [ "$(j "$name" "j.idle_close.connections.every(c=>c.how==='$how')")" = true ]
    echo "$name: configured close $want ms, measured $(j "$name" 'j.idle_close.connections.map(c=>c.ms).join("/")') ms ($how)"
    near "$name min" "$(j "$name" 'j.idle_close.min_ms')" "$want"
    near "$name max" "$(j "$name" 'j.idle_close.max_ms')" "$want"
}

free_port() {
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# ---- tether serve: graceful (FIN at timeout + buffer), rst, node ----
start_server serve-graceful --keep-alive-timeout 1s --keep-alive-buffer 200ms \
    --max-requests-per-conn 7 || finish
doctor graceful --max-idle 3s --max-requests 20 "$url/"
idle_is graceful 1200 fin
expect "graceful: hint timeout_s" [ "$(j graceful 'j.keep_alive_hint.timeout_s')" = 1 ]
expect "graceful: status" [ "$(j graceful 'j.status')" = 200 ]
expect "graceful: tls null" [ "$(j graceful 'j.tls')" = null ]
expect "graceful: addresses" [ "$(j graceful 'j.addresses[0]')" = 127.0.0.1 ]
expect "graceful: 7 requests per connection" \
    [ "$(j graceful 'j.requests_per_connection.measured')" = 7 ]
expect "graceful: limit reached" [ "$(j graceful 'j.requests_per_connection.limit_reached')" = true ]
expect "graceful: max_requests finding" \
    [ "$(j graceful 'j.findings.some(f=>f.id==="max_requests")')" = true ]
expect "graceful: short idle means no reuse" \
    [ "$(j graceful 'j.recommendations.client_idle_timeout_ms')" = 0 ]
expect "graceful: the --json keys" [ "$(j graceful '["url","addresses","connect_ms","tls","status",
    "keep_alive_hint","idle_close","requests_per_connection","findings","recommendations"]
    .every(k=>k in j) && ["measured_ms","min_ms","max_ms","how","connections"]
    .every(k=>k in j.idle_close) && ["timeout_s","max"].every(k=>k in j.keep_alive_hint) &&
    j.findings.every(f=>["id","severity","message","fix"].every(k=>typeof f[k]==="string")) &&
    "client_idle_timeout_ms" in j.recommendations')" = true ]
serve_url=$url
graceful_pid=$pid

start_server serve-rst --keep-alive-timeout 1s --keep-alive-buffer 0 --close-style rst || finish
doctor rst --max-idle 3s --max-requests 0 "$url/"
idle_is rst 1000 rst
expect "rst: idle_close_rst finding" \
    [ "$(j rst 'j.findings.some(f=>f.id==="idle_close_rst"&&f.severity==="medium")')" = true ]
expect "rst: requests skipped" [ "$(j rst 'j.requests_per_connection')" = null ]
stop_server

start_server serve-node --close-style node --keep-alive-timeout 1s || finish
doctor node-style --max-idle 3s --max-requests 0 "$url/"
idle_is node-style 1000 fin
node_style_url=$url
node_style_pid=$pid

# ---- tether proxy in front of a server that keeps connections 5 s ----
start_server serve-long --keep-alive-timeout 5s || finish
long_port=$port
long_pid=$pid
for action in fin rst; do
    spawn_listening "proxy-$action" 1 "$tether" proxy --listen 127.0.0.1:0 --no-api \
        --upstream "127.0.0.1:$long_port" --toxic "idle_timeout:timeout=600,action=$action" ||
        fail "proxy-$action did not start"
    doctor "proxy-$action" --max-idle 3s --max-requests 0 "http://127.0.0.1:$port1/"
    idle_is "proxy-$action" 600 "$action"
    expect "proxy-$action: reproduce names the toxic ($(j "proxy-$action" 'j.reproduce'); \
$(j "proxy-$action" 'JSON.stringify(j.idle_close)'))" \
        [ "$(j "proxy-$action" 'j.reproduce.includes("--toxic idle_timeout:timeout=" + j.idle_close.measured_ms + ",")')" = true ]
    stop_pid "$pid"
done

spawn_listening proxy-silent 1 "$tether" proxy --listen 127.0.0.1:0 --no-api \
    --upstream "127.0.0.1:$long_port" --toxic "idle_timeout:timeout=500,action=silent" ||
    fail "proxy-silent did not start"
doctor silent --max-idle 1s --max-requests 0 --silent-probe 200ms,900ms --probe-timeout 2s \
    "http://127.0.0.1:$port1/"
expect "silent: exit 0" [ "$rc" = 0 ]
expect "silent: how=none" [ "$(j silent 'j.idle_close.how')" = none ]
expect "silent: measured null" [ "$(j silent 'j.idle_close.measured_ms')" = null ]
expect "silent: probe at 200 ms ok" [ "$(j silent 'j.silent_probes[0].outcome')" = ok ]
expect "silent: probe at 900 ms reset" [ "$(j silent 'j.silent_probes[1].outcome')" = rst ]
expect "silent: silent_drop high" \
    [ "$(j silent 'j.findings.some(f=>f.id==="silent_drop"&&f.severity==="high")')" = true ]
expect "silent: keepalive recommendation" \
    [ "$(j silent 'j.recommendations.tcp_keepalive_idle_ms')" = 180 ]
stop_pid "$pid"

# ---- --connections: the ramp finds a connection limit and what lies beyond it ----
start_server serve-limit --keep-alive-timeout 1s --keep-alive-buffer 0 --max-connections 3 || finish
doctor ramp-queue --max-idle 2s --max-requests 0 --connections 6 --probe-timeout 500ms "$url/"
expect "ramp-queue: exit 0" [ "$rc" = 0 ]
expect "ramp-queue: limit 3" [ "$(j ramp-queue 'j.connection_limit.limit')" = 3 ]
expect "ramp-queue: queued (timeout)" [ "$(j ramp-queue 'j.connection_limit.how')" = timeout ]
expect "ramp-queue: medium finding" \
    [ "$(j ramp-queue 'j.findings.some(f=>f.id==="connection_limit"&&f.severity==="medium")')" = true ]
stop_server
for action in fin rst; do
    spawn_listening "cap-$action" 1 "$tether" proxy --listen 127.0.0.1:0 --no-api \
        --upstream "127.0.0.1:$long_port" --toxic "max_connections:limit=2,action=$action" ||
        fail "cap-$action did not start"
    doctor "ramp-$action" --max-idle 1s --max-requests 0 --parallel 1 --connections 6 \
        --probe-timeout 2s "http://127.0.0.1:$port1/"
    expect "ramp-$action: limit 2 ($(j "ramp-$action" 'JSON.stringify(j.connection_limit)'))" \
        [ "$(j "ramp-$action" 'j.connection_limit.limit')" = 2 ]
    expect "ramp-$action: how" [ "$(j "ramp-$action" 'j.connection_limit.how')" = "$action" ]
    stop_pid "$pid"
done
doctor ramp-none --max-idle 1s --max-requests 0 --parallel 1 --connections 5 "http://127.0.0.1:$long_port/"
expect "ramp-none: no limit" [ "$(j ramp-none 'j.connection_limit.limit')" = null ]
expect "ramp-none: 5 answered" [ "$(j ramp-none 'j.connection_limit.answered')" = 5 ]
expect "ramp off by default" [ "$(j silent 'j.connection_limit')" = null ]

# ---- --behind: an LB closing at 1.5 s in front, a backend closing at 1 s ----
spawn_listening lb 1 "$tether" proxy --listen 127.0.0.1:0 --no-api \
    --upstream "127.0.0.1:$long_port" --toxic "idle_timeout:timeout=1500,action=fin" ||
    fail "lb did not start"
doctor behind --max-idle 3s --max-requests 0 "http://127.0.0.1:$port1/" --behind "$node_style_url/"
expect "behind: exit 0" [ "$rc" = 0 ]
near "behind: LB" "$(j behind 'j.idle_close.measured_ms')" 1500
near "behind: backend" "$(j behind 'j.behind.idle_close.measured_ms')" 1000
expect "behind: backend keep-alive <= LB flagged" \
    [ "$(j behind 'j.findings.some(f=>f.id==="backend_keepalive_le_lb"&&f.severity==="high")')" = true ]
expect "behind: server keep-alive = L + 5 s" \
    [ "$(j behind 'j.recommendations.server_keep_alive_timeout_ms')" -ge 6500 ]
stop_pid "$pid"

# ---- Node 20: keepAliveTimeout 1000 closes at 1000 + 1 s (the socket timer's buffer) ----
node -e '
const http=require("http");
const s=http.createServer((q,r)=>r.end("ok\n"));
s.keepAliveTimeout=1000;
s.listen(0,"127.0.0.1",()=>console.log("listening on http://127.0.0.1:"+s.address().port));' \
    >"$tmp/nodesrv.out" 2>"$tmp/nodesrv.err" &
pid=$!
pids+=("$pid")
if wait_for 10000 has_lines nodesrv 1; then
    line1=$(head -1 "$tmp/nodesrv.out")
    doctor node20 --max-idle 4s --max-requests 0 "http://127.0.0.1:${line1##*:}/"
    node_major=$(node -p 'process.versions.node.split(".")[0]')
    if [ "$node_major" -ge 20 ] && [ "$node_major" -le 25 ]; then
        idle_is node20 2000 fin
    else
        expect "node $node_major: how=fin" [ "$(j node20 'j.idle_close.how')" = fin ]
    fi
    expect "node: hint timeout_s 1" [ "$(j node20 'j.keep_alive_hint.timeout_s')" = 1 ]
else
    fail "node server did not start: $(head -3 "$tmp/nodesrv.err")"
fi
stop_pid "$pid"

# ---- nginx keepalive_timeout 1s, HAProxy timeout http-keep-alive 1s (when installed) ----
if command -v nginx >/dev/null 2>&1; then
    np=$(free_port)
    mkdir -p "$tmp/nginx"
    cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  keepalive_timeout 1s;
  server {
    listen 127.0.0.1:$np;
    location / { default_type text/plain; return 200 "ok\n"; }
  }
}
EOF
    nginx -p "$tmp/nginx" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" \
        >"$tmp/nginx.out" 2>"$tmp/nginx.log" &
    pid=$!
    pids+=("$pid")
    if wait_for 10000 node -e 'require("net").connect(+process.argv[1],"127.0.0.1").on("connect",()=>process.exit(0)).on("error",()=>process.exit(1))' "$np"; then
        doctor nginx --max-idle 3s --max-requests 0 "http://127.0.0.1:$np/"
        idle_is nginx 1000 fin
        expect "nginx: no hint" [ "$(j nginx 'j.keep_alive_hint')" = null ]
        expect "nginx: hint_missing" [ "$(j nginx 'j.findings.some(f=>f.id==="hint_missing")')" = true ]
        expect "nginx: server hop hint" [ "$(j nginx 'j.headers.hop_hints[0].startsWith("server: nginx")')" = true ]
    else
        fail "nginx did not start: $(head -3 "$tmp/nginx/error.log" "$tmp/nginx.log" 2>/dev/null)"
    fi
    stop_pid "$pid" QUIT
else
    echo "note: nginx is not installed; scripts/install-deps.sh installs it"
fi

if command -v haproxy >/dev/null 2>&1; then
    hp=$(free_port)
    cat >"$tmp/haproxy.cfg" <<EOF
global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 1s
frontend fe
    bind 127.0.0.1:$hp
    http-request return status 200 content-type text/plain string "ok"
EOF
    haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.out" 2>"$tmp/haproxy.log" &
    pid=$!
    pids+=("$pid")
    if wait_for 10000 node -e 'require("net").connect(+process.argv[1],"127.0.0.1").on("connect",()=>process.exit(0)).on("error",()=>process.exit(1))' "$hp"; then
        doctor haproxy --max-idle 3s --max-requests 0 "http://127.0.0.1:$hp/"
        idle_is haproxy 1000 fin
    else
        fail "haproxy did not start: $(head -3 "$tmp/haproxy.log")"
    fi
    stop_pid "$pid"
else
    echo "note: haproxy is not installed; scripts/install-deps.sh installs it"
fi

# ---- https: the TLS facts and the idle close through TLS (close_notify, then FIN) ----
if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
    -days 30 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    >/dev/null 2>&1; then
    start_server serve-tls --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" \
        --keep-alive-timeout 1s --keep-alive-buffer 0 || finish
    doctor tls --max-idle 3s --max-requests 3 "$url/"
    idle_is tls 1000 fin
    expect "tls: version" [ "$(j tls 'j.tls.version')" = TLSv1.3 ]
    expect "tls: cipher" [ -n "$(j tls 'j.tls.cipher')" ]
    expect "tls: self-signed reported" [ "$(j tls 'j.tls.verified')" = false ]
    expect "tls: verify error" [ "$(j tls 'j.tls.verify_error')" = "self-signed certificate" ]
    expect "tls: hostname matches" [ "$(j tls 'j.tls.hostname_match')" = true ]
    expect "tls: expiry" [ "$(j tls 'j.tls.expires_in_days>=28&&j.tls.expires_in_days<=30')" = true ]
    expect "tls: chain" [ "$(j tls 'j.tls.chain[0]')" = "CN=localhost (issuer CN=localhost)" ]
    expect "tls: unverified finding" \
        [ "$(j tls 'j.findings.some(f=>f.id==="tls_unverified"&&f.severity==="high")')" = true ]
    expect "tls: 3 requests on one connection" [ "$(j tls 'j.requests_per_connection.measured')" = 3 ]
    doctor tls-name --max-idle 3s --max-requests 0 "https://localhost:$port/"
    expect "tls-name: hostname matches by DNS name" [ "$(j tls-name 'j.tls.hostname_match')" = true ]
    stop_server
    # TLS spoken to a plain HTTP port: the handshake fails, exit 1.
    doctor tls-plain --max-idle 3s "https://127.0.0.1:${serve_url##*:}/"
    expect "tls-plain: exit 1" [ "$rc" = 1 ]
    expect "tls-plain: says TLS" grep -qF "TLS handshake failed" "$tmp/tls-plain.err"
else
    fail "openssl could not make a test certificate"
fi

# ---- the human report ----
timeout "$(scaled 30)" "$tether" doctor --max-idle 3s --max-requests 0 "$serve_url/" \
    >"$tmp/human.out" 2>"$tmp/human.err"
expect "human: exit 0" [ $? = 0 ]
expect "human: S line" grep -qE '^  S = 1[12][0-9]{2} ms \(min [0-9]+, max [0-9]+\), closed by FIN$' "$tmp/human.out"
expect "human: findings" grep -q '^Findings:' "$tmp/human.out"
expect "human: no status line off a terminal" [ ! -s "$tmp/human.err" ]

# ---- the live status line: on a terminal only (util-linux script gives it one) ----
if command -v script >/dev/null 2>&1; then
    timeout "$(scaled 30)" script -qec "'$tether' doctor --max-idle 1s --max-requests 0 '$serve_url/'" \
        /dev/null >"$tmp/tty.out" 2>&1
    expect "tty: status line" grep -qF "waiting for the idle close: " "$tmp/tty.out"
    expect "tty: the line is cleared before the report" grep -qF $'\r\033[Khttp://' "$tmp/tty.out"
else
    echo "note: script(1) is not installed; the status line is not checked"
fi

# ---- unreachable: exit 1 with Node's words ----
doctor refused "http://127.0.0.1:1/"
expect "refused: exit 1" [ "$rc" = 1 ]
expect "refused: Node's text" grep -qF "connect ECONNREFUSED 127.0.0.1:1" "$tmp/refused.err"
doctor notfound "http://no-such-host.invalid/"
expect "notfound: exit 1" [ "$rc" = 1 ]
expect "notfound: Node's text" grep -qF "getaddrinfo ENOTFOUND no-such-host.invalid" "$tmp/notfound.err"

# ---- usage errors: exit 2 naming the value ----
usage() {
    local name=$1 text=$2
    shift 2
    "$tether" doctor "$@" >"$tmp/u.out" 2>"$tmp/u.err"
    local code=$?
    if [ "$code" -eq 2 ] && grep -qF -- "$text" "$tmp/u.err"; then ok; else
        fail "usage $name: exit $code, stderr '$(head -2 "$tmp/u.err")' (want 2 and '$text')"
    fi
}
usage no-url "a URL is required"
usage scheme "'ftp://x/'" ftp://x/
usage parallel "'0'" --parallel 0 "$serve_url/"
usage max-idle "'5'" --max-idle 5 "$serve_url/"
usage probe "'1s,'" --silent-probe 1s, "$serve_url/"
usage probe-bad "'x'" --silent-probe x "$serve_url/"
usage three-urls "'c'" a b c
usage connections "'513'" --connections 513 "$serve_url/"
usage ramp-https "http:// endpoints only" --connections 5 https://127.0.0.1:1/
usage unknown "'--frob'" --frob "$serve_url/"

for p in "$graceful_pid" "$node_style_pid" "$long_pid"; do
    stop_pid "$p"
    expect "server $p stops cleanly" [ "$rc" = 0 ]
done
check_sanitizers
finish
