#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether egress` with real clients and real upstreams on loopback: usage errors (exit 2 naming
# the value), reverse mode (hop-by-hop fields both ways, Via, X-Forwarded-For, streaming),
# forward mode (curl and Python requests through a proxy URL; origin-form refused, --allow;
# CONNECT tunnels to an https origin, refused connects, FIN and RST passed on as they came), the failure as 502/504 with its fields and JSON, X-Tether-Deadline, bodies beyond
# the replay limit, streamed uploads (Expect: 100-continue, 256 MiB to a slow upstream with
# egress's memory flat), --json and a graceful SIGTERM; then tests/peers/egress_peers.js: Node's
# http.Agent and undici fail on the forced keep-alive race directly and succeed through egress,
# and no POST runs twice; then a Go net/http app (tests/cli/egress_go.go) the same way, direct,
# reverse and forward through HTTP_PROXY.
# Usage: bash tests/cli/test_egress.sh path/to/tether
source "$(dirname "$0")/harness.sh"
here=$(cd "$(dirname "$0")" && pwd)
peers=$(cd "$here/../peers" && pwd)
need_tether
command -v curl >/dev/null 2>&1 || skip "curl is not installed; run scripts/install-peers.sh"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed; run scripts/install-peers.sh"

# start_egress NAME ARGS...: `tether egress --listen 127.0.0.1:0 ARGS`; sets $eg_pid, $eg.
start_egress() {
    local name=$1
    shift
    if ! spawn_listening "$name" 1 "$tether" egress --listen 127.0.0.1:0 "$@" ||
        ! [[ $line1 =~ ^listening\ on\ http://127\.0\.0\.1:[0-9]+$ ]]; then
        fail "$name: no listening line (got '$line1'; stderr: $(head -5 "$tmp/$name.err"))"
        return 1
    fi
    eg_pid=$pid
    eg=${line1#listening on }
}
# stop_egress NAME: SIGTERM, exit 0 and nothing on stderr.
stop_egress() {
    stop_pid "$eg_pid" TERM
    expect "$1: exit 0 on SIGTERM (got $rc)" [ "$rc" -eq 0 ]
    expect "$1: nothing on stderr" [ ! -s "$tmp/$1.err" ]
}
# c NAME CURL-ARGS...: one curl; head and body in $tmp/NAME.h and $tmp/NAME.b.
c() {
    local name=$1
    shift
    curl -sS --max-time "$(scaled 20)" -D "$tmp/$name.h" -o "$tmp/$name.b" "$@" 2>"$tmp/$name.cerr"
}
status_is() { head -1 "$tmp/$1.h" | grep -q " $2 "; }
hdr() { grep -qi "^$2: $3"$'\r'"\?$" "$tmp/$1.h"; }   # hdr NAME FIELD VALUE (exact)
nohdr() { ! grep -qi "^$2:" "$tmp/$1.h"; }
body_has() { grep -qF -- "$2" "$tmp/$1.b"; }

# ---- usage errors: exit 2, one line naming the bad value ----
usage() {
    local want=$1
    shift
    "$tether" egress "$@" >"$tmp/usage.out" 2>"$tmp/usage.err"
    local code=$?
    expect "egress $*: exit 2 (got $code)" [ "$code" -eq 2 ]
    expect "egress $*: stderr names '$want' ($(head -1 "$tmp/usage.err"))" grep -qF -- "$want" "$tmp/usage.err"
}
usage "ftp://x" --upstream ftp://x
usage "5x" --deadline 5x
usage "nope:1" --listen nope:1
usage "--frob" --frob
usage "--allow is for forward mode" --upstream http://127.0.0.1:1 --allow a
usage "/x y" --stats-path "/x y"
usage "a/b" --allow a/b
usage "'lots' for --max-body-size" --max-body-size lots
usage "'2g' for --replay-limit" --replay-limit 2g
usage "cannot load CA file '$tmp/none.pem'" --listen 127.0.0.1:0 --cacert "$tmp/none.pem"
"$tether" help egress >"$tmp/help.out" 2>&1
expect "tether help egress shows EXAMPLES" grep -q '^EXAMPLES' "$tmp/help.out"

# ---- reverse mode: hop-by-hop fields, Via, X-Forwarded-For ----
spawn_listening echo 1 python3 "$here/egress_echo.py" || fail "echo upstream did not start"
echo_pid=$pid
echo_url=${line1#listening on }
if start_egress rev --upstream "$echo_url/api" --forwarded-for; then
    c rev1 "$eg/orders?id=7" -H 'Connection: X-Drop' -H 'X-Drop: 1' -H 'Keep-Alive: 300' \
        -H 'Proxy-Authorization: Basic eA==' -H 'TE: trailers' -H 'X-Tether-Deadline: 5s' \
        -H 'X-Keep: yes' -H 'X-Forwarded-For: 10.0.0.1'
    expect "reverse: 200" status_is rev1 200
    expect "reverse: the prefix and target are joined" body_has rev1 '"target": "/api/orders?id=7"'
    for f in x-drop keep-alive proxy-authorization te x-tether-deadline; do
        expect "reverse: request field $f not forwarded" bash -c "! grep -qF '\"$f\"' '$tmp/rev1.b'"
    done
    expect "reverse: X-Keep forwarded" body_has rev1 '["x-keep", "yes"]'
    expect "reverse: Via added upstream" body_has rev1 '["via", "1.1 tether"]'
    expect "reverse: X-Forwarded-For appended" body_has rev1 '["x-forwarded-for", "10.0.0.1, 127.0.0.1"]'
    expect "reverse: response X-Hop (named by Connection) removed" nohdr rev1 X-Hop
    expect "reverse: response Proxy-Note removed" nohdr rev1 Proxy-Note
    expect "reverse: end-to-end X-End kept" hdr rev1 X-End kept
    expect "reverse: Via on the response" hdr rev1 Via "1.1 tether"
    expect "reverse: egress's own keep-alive advertised" hdr rev1 Keep-Alive "timeout=65, max=999"
    c rev2 "$eg/x" -H 'X-Tether-Deadline: soon'
    expect "bad X-Tether-Deadline: 400" status_is rev2 400
    expect "bad X-Tether-Deadline: the body names the value" body_has rev2 "'soon'"
    stop_egress rev
fi
stop_pid "$echo_pid" TERM

# ---- failures: 502 with the tether failure, 504 on the deadline ----
start_server gone || true
dead_url=$url
stop_server
if start_egress fail502 --upstream "$dead_url" --retries 1; then
    c f502 "$eg/"
    expect "refused upstream: 502" status_is f502 502
    expect "502: X-Tether-Code ECONNREFUSED" hdr f502 X-Tether-Code ECONNREFUSED
    expect "502: X-Tether-Error is Node's message" hdr f502 X-Tether-Error "connect ECONNREFUSED ${dead_url#http://}"
    expect "502: X-Tether-Phase" hdr f502 X-Tether-Phase CONNECT
    expect "502: X-Tether-Attempts 2" hdr f502 X-Tether-Attempts 2
    expect "502: JSON body" body_has f502 '"error":"connect ECONNREFUSED'
    expect "502: JSON says retry_safe" body_has f502 '"retry_safe":"yes"'
    stop_egress fail502
fi
if start_server slow --delay 5s; then
    slow_pid=$pid
    if start_egress dl --upstream "$url"; then
        t0=$(now_ms)
        c d504 "$eg/" -H 'X-Tether-Deadline: 200ms'
        expect "deadline: 504" status_is d504 504
        expect "deadline: X-Tether-Code EDEADLINE" hdr d504 X-Tether-Code EDEADLINE
        expect "deadline: JSON says deadline" body_has d504 '"deadline":true'
        expect "deadline: answered before the upstream's 5 s" [ $(($(now_ms) - t0)) -lt 5000 ]
        stop_egress dl
    fi
    stop_pid "$slow_pid" TERM
fi

# ---- a response lost after the upstream ran the request: only a keyed POST is repeated ----
if spawn_listening flaky 1 python3 "$here/egress_flaky.py"; then
    flaky_pid=$pid
    flaky_url=${line1#listening on }
    if start_egress fl --upstream "$flaky_url"; then
        c keyed "$eg/orders" --data-binary 'order=1' -H 'Idempotency-Key: k-1'
        expect "keyed POST whose response was lost: retried, 200" status_is keyed 200
        c unkeyed "$eg/orders" --data-binary 'order=2'
        expect "unkeyed POST whose response was lost: 502, not repeated" status_is unkeyed 502
        expect "unkeyed POST: X-Tether-Retry-Safe: no" hdr unkeyed X-Tether-Retry-Safe no
        expect "unkeyed POST: the JSON says retry_safe no" body_has unkeyed '"retry_safe":"no"'
        c gidem "$eg/items"
        expect "GET whose response was lost: retried, 200" status_is gidem 200
        curl -sS --max-time "$(scaled 20)" -o "$tmp/counts.json" "$flaky_url/counts"
        expect "the upstream ran the keyed POST twice (as the key allows)" \
            [ "$(jget "$tmp/counts.json" 'j["POST /orders key=k-1"]')" = 2 ]
        expect "the upstream ran the unkeyed POST once" \
            [ "$(jget "$tmp/counts.json" 'j["POST /orders key=-"]')" = 1 ]
        stop_egress fl
    fi
    stop_pid "$flaky_pid" TERM
else
    fail "the flaky upstream did not start"
fi

# ---- SIGTERM drains a request in flight; TETHER_DEBUG traces the attempts ----
if start_server drain --delay 1s --stats-path /_s; then
    drain_pid=$pid
    drain_url=$url
    if TETHER_DEBUG=net,http start_egress dr --upstream "$url" --max-body-size 1k; then
        curl -sS --max-time "$(scaled 20)" -D "$tmp/inflight.h" -o "$tmp/inflight.b" "$eg/slow" &
        curl_pid=$!
        # The event: the upstream has the request (its counters say so), then the signal.
        seen() {
            curl -sS --max-time 5 -o "$tmp/drain.json" "$drain_url/_s" &&
                [ "$(jget "$tmp/drain.json" 'j.requests_by_method.GET || 0')" -ge 1 ]
        }
        expect "drain: the upstream got the request" wait_for 10000 seen
        kill -TERM "$eg_pid"
        wait "$curl_pid"
        expect "drain: the request in flight completes after SIGTERM" status_is inflight 200
        # One signal only: a second one would mean "exit at once".
        if wait_for 10000 exited "$eg_pid"; then
            wait "$eg_pid"
            rc=$?
        else
            stop_pid "$eg_pid" KILL
        fi
        expect "drain: exit 0 (got $rc)" [ "$rc" -eq 0 ]
        expect "TETHER_DEBUG=net,http traces the attempt" grep -q "response 200 on attempt 1" \
            "$tmp/dr.err"
    fi
    if start_egress big413 --upstream "$drain_url" --max-body-size 1k; then
        head -c 2048 /dev/zero >"$tmp/2k413"
        c b413 "$eg/" --data-binary @"$tmp/2k413"
        expect "a body over --max-body-size: 413" status_is b413 413
        stop_egress big413
    fi
    stop_pid "$drain_pid" TERM
fi

# ---- bodies: replay limit, streaming a large response to a slow reader ----
if start_server big --body-size 4m --stats-path /_s; then
    big_pid=$pid
    # With --json the listening line goes to stderr: stdout is kept for the one object.
    : >"$tmp/body.out"
    "$tether" egress --listen 127.0.0.1:0 --upstream "$url" --replay-limit 1k --json \
        >"$tmp/body.out" 2>"$tmp/body.err" &
    eg_pid=$!
    pids+=("$eg_pid")
    if wait_for 10000 grep -q '^listening on' "$tmp/body.err" ||
        ! fail "body: no listening line on stderr"; then
        eg=$(sed -n 's/^listening on //p' "$tmp/body.err")
        head -c 2048 /dev/zero >"$tmp/2k"
        c p2k "$eg/" --data-binary @"$tmp/2k"
        expect "2 KiB body: 200" status_is p2k 200
        expect "2 KiB body over a 1 KiB limit: X-Tether-Retry: not-replayable" \
            hdr p2k X-Tether-Retry not-replayable
        c p100 "$eg/" --data-binary 'small'
        expect "small body: no X-Tether-Retry" nohdr p100 X-Tether-Retry
        c g4m "$eg/" --limit-rate 8m
        expect "4 MiB through egress to a slow reader: every byte" \
            [ "$(stat -c %s "$tmp/g4m.b")" -eq 4194304 ]
        stop_pid "$eg_pid" TERM
        expect "--json: exit 0" [ "$rc" -eq 0 ]
        expect "--json: one JSON object with the counters" \
            [ "$(jget "$tmp/body.out" 'j.egress.requests + "/" + j.egress.not_replayable')" = "3/1" ]
    fi
    stop_pid "$big_pid" TERM
fi

# ---- a slow app holds the origin back: egress's memory stays flat ----
# 32 MiB read at 16 MiB/s from an upstream that sends as fast as it can: without flow control
# egress would hold most of the body (with 64 MiB its peak RSS grew by 55 MiB when the pause
# was removed, by 0.4 MiB with it); with it the upstream read pauses until the app's socket
# drains. ASan's quarantine keeps freed
# memory resident, so the peak is compared in plain builds only.
if start_server flood --body-size 32m; then
    flood_pid=$pid
    if start_egress slow --upstream "$url" --stats-path /_st; then
        hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$eg_pid/status"; }
        before=$(hwm)
        c slowread "$eg/" --limit-rate 16m
        after=$(hwm)
        expect "slow reader: every byte of 32 MiB" [ "$(stat -c %s "$tmp/slowread.b")" -eq 33554432 ]
        c slowstats "$eg/_st"
        expect "slow reader: the upstream read was paused ($(head -c 300 "$tmp/slowstats.b"))" \
            [ "$(jget "$tmp/slowstats.b" 'j.egress.paused')" -gt 0 ]
        # grep -c reads all of nm's output: with pipefail, grep -q's early exit fails nm.
        if [ "$(nm "$tether" 2>/dev/null | grep -c __asan_init)" -gt 0 ]; then
            echo "note: sanitized build, egress's peak memory not compared"
        else
            expect "slow reader: egress's peak RSS grew by $((after - before)) KiB (< 16 MiB)" \
                [ $((after - before)) -lt 16384 ]
        fi
        stop_egress slow
    fi
    stop_pid "$flood_pid" TERM
fi

# ---- uploads stream: Expect: 100-continue, chunked, and a slow upstream holds the app back ----
# 256 MiB piped into curl (chunked) to an upstream that reads at 64 MiB/s: egress streams the body
# with flow control both ways, so its peak RSS must not follow the body (the replay copy is
# 1 MiB at most); the sizes arrive exact. Compared in plain builds only (ASan's quarantine).
if spawn_listening sink 1 python3 "$here/egress_sink.py" 67108864; then
    sink_pid=$pid
    sink_url=${line1#listening on }
    if start_egress up --upstream "$sink_url"; then
        head -c 3000000 /dev/zero >"$tmp/3m"
        # curl asks Expect: 100-continue for a body this size; the 100 comes from egress.
        c e100 "$eg/up" --data-binary @"$tmp/3m" -H 'Expect: 100-continue'
        expect "Expect: 100-continue: curl got the 100" grep -q '^HTTP/1.1 100' "$tmp/e100.h"
        expect "Expect: 100-continue: 200 and every byte" body_has e100 "got 3000000"
        expect "a body over the replay limit says X-Tether-Retry: not-replayable" \
            hdr e100 X-Tether-Retry not-replayable
        hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$eg_pid/status"; }
        before=$(hwm)
        head -c 268435456 /dev/zero |
            curl -sS --max-time "$(scaled 60)" -D "$tmp/u256.h" -o "$tmp/u256.b" -T - "$eg/up"
        after=$(hwm)
        expect "256 MiB chunked upload: every byte ($(head -c 100 "$tmp/u256.b"))" \
            body_has u256 "got 268435456"
        echo "note: 256 MiB upload at 64 MiB/s: egress peak RSS $before -> $after KiB"
        if [ "$(nm "$tether" 2>/dev/null | grep -c __asan_init)" -eq 0 ]; then
            expect "256 MiB upload: egress's peak RSS grew by $((after - before)) KiB (< 8 MiB)" \
                [ $((after - before)) -lt 8192 ]
        fi
        stop_egress up
    fi
    stop_pid "$sink_pid" TERM
else
    fail "the sink upstream did not start"
fi

# ---- forward mode: curl and Python requests through the proxy ----
if start_server up --close-style node --keep-alive-timeout 1s --no-keep-alive-hint \
    --stats-path /_s; then
    up_pid=$pid
    up_port=$port
    up_url=$url
    if start_egress fwd; then
        http_proxy=$eg c fcurl "$up_url/hello"
        expect "forward: curl via http_proxy gets 200" status_is fcurl 200
        expect "forward: Via on the response" hdr fcurl Via "1.1 tether"
        c forigin "$eg/hello"
        expect "forward: origin-form refused with 400" status_is forigin 400
        expect "forward: the 400 names the target" body_has forigin "'/hello' is not an absolute"
        timeout "$(scaled 60)" python3 "$here/egress_python.py" "$up_port" "${eg##*:}" \
            >"$tmp/py.out" 2>&1
        py_rc=$?
        expect "forward: Python requests succeeds on every reuse ($(tr '\n' ';' <"$tmp/py.out"))" \
            [ "$py_rc" -eq 0 ]
        curl -sS --max-time "$(scaled 20)" -o "$tmp/ups.json" "$up_url/_s"
        posts=$(jget "$tmp/ups.json" 'j.requests_by_method.POST || 0')
        expect "forward: each Python POST ran once (upstream $posts)" \
            grep -qx "posts_ok $posts" "$tmp/py.out"
        stop_egress fwd
    fi
    if start_egress allow --allow "127.0.0.1:$up_port"; then
        c aok -x "$eg" "$up_url/"
        expect "--allow: the listed origin is reached" status_is aok 200
        c ano -x "$eg" "http://127.0.0.1:1/"
        expect "--allow: another origin gets 403" status_is ano 403
        expect "--allow: the 403 names the origin" body_has ano "'127.0.0.1:1'"
        stop_egress allow
    fi
    stop_pid "$up_pid" TERM
fi

# ---- forward mode: CONNECT tunnels (curl and Python to an https origin, FIN vs RST) ----
if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
    -days 30 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    >/dev/null 2>&1 && start_server tls --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" \
    --body-size 3m; then
    tls_pid=$pid
    tls_url=$url
    if start_egress tun --allow "127.0.0.1:$port" --allow "127.0.0.1:1"; then
        c tcurl -k -x "$eg" "$tls_url/"
        expect "CONNECT: curl gets the https body through the tunnel" \
            [ "$(stat -c %s "$tmp/tcurl.b")" -eq 3145728 ]
        timeout "$(scaled 30)" python3 -c "
import sys, requests, urllib3
urllib3.disable_warnings()
r = requests.get(sys.argv[1], proxies={'https': sys.argv[2]}, verify=False, timeout=20)
print(r.status_code, len(r.content))" "$tls_url/" "$eg" >"$tmp/tpy.out" 2>&1
        expect "CONNECT: Python requests through HTTPS_PROXY ($(head -1 "$tmp/tpy.out"))" \
            grep -qx "200 3145728" "$tmp/tpy.out"
        curl -sS --max-time "$(scaled 20)" -k -x "$eg" "https://127.0.0.1:1/" \
            >/dev/null 2>"$tmp/trefused.err"
        expect "CONNECT to a refused port: 502 after the connect attempts" \
            grep -q "CONNECT tunnel failed, response 502" "$tmp/trefused.err"
        curl -sS --max-time "$(scaled 20)" -k -x "$eg" "https://127.0.0.2:443/" \
            >/dev/null 2>"$tmp/tdenied.err"
        expect "CONNECT to an origin off the allow list: 403" \
            grep -q "CONNECT tunnel failed, response 403" "$tmp/tdenied.err"
        stop_egress tun
    fi
    stop_pid "$tls_pid" TERM
else
    fail "no TLS origin (openssl or tether serve --tls-cert)"
fi
# The origin closes the idle connection inside the tunnel: its FIN or RST reaches the app as
# it was sent, by the origin's own close (no timing on this side).
for style in graceful rst; do
    if start_server "o-$style" --keep-alive-timeout 200ms --keep-alive-buffer 0 \
        --close-style "$style"; then
        o_pid=$pid
        o_port=$port
        if start_egress "tun-$style"; then
            timeout "$(scaled 30)" python3 "$here/egress_tunnel.py" "${eg##*:}" "$o_port" \
                >"$tmp/tun-$style.py" 2>&1
            want=$([ "$style" = rst ] && echo reset || echo eof)
            expect "CONNECT: the origin's $style close reaches the app as $want ($(head -1 "$tmp/tun-$style.py"))" \
                grep -qx "$want" "$tmp/tun-$style.py"
            stop_egress "tun-$style"
        fi
        stop_pid "$o_pid" TERM
    fi
done
if start_egress tun-rev --upstream "$dead_url"; then
    curl -sS --max-time "$(scaled 20)" -p -x "$eg" "http://127.0.0.1:1/" >/dev/null 2>"$tmp/trev.err"
    expect "CONNECT in reverse mode: 501" grep -q "response 501" "$tmp/trev.err"
    stop_egress tun-rev
fi

# ---- Node's http.Agent and undici: the forced race, direct vs through egress ----
if command -v node >/dev/null 2>&1 && [ -d "$peers/node_modules/undici" ]; then
    if timeout "$(scaled 90)" node "$peers/egress_peers.js" "$tether" >"$tmp/node.out" 2>&1; then
        ok
    else
        fail "egress_peers.js:"
        cat "$tmp/node.out"
    fi
else
    echo "note: node or tests/peers/node_modules missing; the Node cases did not run"
fi
# ---- Go net/http: the forced race, direct vs through egress (reverse, and forward via HTTP_PROXY) ----
# tests/cli/egress_go.go talks through a `tether proxy` the test stops (SIGSTOP) while the
# upstream closes its side of every connection: the FIN waits in the proxy as it waits in a
# blocked Node app's socket (see the program's header). The app sends its second request on a
# line from the test; the proxy resumes once that request is in its socket.
# tcp_rows PORT: /proc/net/tcp rows of the sockets whose local port is PORT, listener excluded.
tcp_rows() {
    local port_hex
    port_hex=$(printf '%04X' "$1")
    awk -v p=":$port_hex" 'NR > 1 && substr($2, length($2) - 4) == p && $4 != "0A"' \
        /proc/net/tcp /proc/net/tcp6
}
upstream_closed() { ! tcp_rows "$1" | awk '$4 == "01" || $4 == "04" { f = 1 } END { exit !f }'; }
# request_waiting PORT: bytes wait unread in an established socket of PORT (rx_queue > 0).
request_waiting() { tcp_rows "$1" | awk '$4 == "01" { split($5, q, ":"); if (q[2] != "00000000") f = 1 } END { exit !f }'; }
if ! command -v go >/dev/null 2>&1; then
    echo "note: go is not installed (scripts/install-peers.sh installs golang-go); the Go cases did not run"
elif ! (cd "$tmp" && GOCACHE="$tmp/gocache" GOPATH="$tmp/gopath" GOPROXY=off GOFLAGS= \
    timeout "$(scaled 120)" go build -o "$tmp/egress_go" "$here/egress_go.go") >"$tmp/gobuild.err" 2>&1; then
    fail "go build egress_go.go: $(head -5 "$tmp/gobuild.err")"
elif start_server goup --close-style node --keep-alive-timeout 1s --no-keep-alive-hint \
    --stats-path /_s; then
    goup_pid=$pid
    goup_port=$port
    goup_url=$url
    go_posts_ok=0
    if start_egress gorev --upstream "$goup_url" --stats-path /_st; then
        gorev_pid=$eg_pid
        gorev=$eg
        if start_egress gofwd --stats-path /_st; then
            gofwd_pid=$eg_pid
            gofwd=$eg
            for lane in direct reverse forward; do
                for method in GET POST; do
                    name="go $lane $method"
                    behind=$goup_port
                    [ "$lane" = reverse ] && behind=${gorev##*:}
                    [ "$lane" = forward ] && behind=${gofwd##*:}
                    if ! spawn_listening goproxy 1 "$tether" proxy --listen 127.0.0.1:0 \
                        --upstream "127.0.0.1:$behind" --no-api; then
                        fail "$name: tether proxy did not start ($(head -3 "$tmp/goproxy.err"))"
                        continue
                    fi
                    px_pid=$pid
                    px_port=${line1##*:}
                    base=http://127.0.0.1:$px_port proxy=
                    [ "$lane" = direct ] && base=http://127.0.0.1:$px_port
                    [ "$lane" = forward ] && base=$goup_url proxy=http://127.0.0.1:$px_port
                    rm -f "$tmp/gofifo"
                    mkfifo "$tmp/gofifo"
                    : >"$tmp/go.out"
                    HTTP_PROXY=$proxy timeout "$(scaled 60)" "$tmp/egress_go" "$base" "$method" \
                        <"$tmp/gofifo" >"$tmp/go.out" 2>"$tmp/go.err" &
                    go_pid=$!
                    exec 7>"$tmp/gofifo"
                    wait_for 20000 grep -q '^first' "$tmp/go.out"
                    kill -STOP "$px_pid"
                    # The events: the upstream closed its idle connections (the app's through
                    # the proxy, or egress's), then the second request is in the proxy's socket.
                    wait_for 20000 upstream_closed "$goup_port" ||
                        fail "$name: the upstream did not close its idle connections"
                    echo go >&7
                    wait_for 20000 request_waiting "$px_port" ||
                        fail "$name: the second request did not reach the proxy"
                    kill -CONT "$px_pid"
                    wait "$go_pid"
                    exec 7>&-
                    stop_pid "$px_pid" TERM
                    first=$(sed -n 's/^first //p' "$tmp/go.out")
                    second=$(sed -n 's/^second //p' "$tmp/go.out")
                    echo "note: $name: first $first; second $second"
                    expect "$name: first request served ($first)" [ "$first" = "ok 200" ]
                    if [ "$method" = POST ]; then
                        [ "$first" = "ok 200" ] && go_posts_ok=$((go_posts_ok + 1))
                        [ "$second" = "ok 200" ] && go_posts_ok=$((go_posts_ok + 1))
                    fi
                    if [ "$lane" = direct ] && [ "$method" = POST ]; then
                        # Go repeats only what it may (GET, a keyed request, or nothing written):
                        # an unkeyed POST written on the closed connection is the users' failure.
                        expect "$name: the second request fails on the closed connection ($second)" \
                            [ "${second%% *}" = error ]
                    elif [ "$lane" = direct ]; then
                        echo "note: $name: Go's transport repeats an idempotent request itself"
                    else
                        expect "$name: the second request succeeds through egress ($second)" \
                            [ "$second" = "ok 200" ]
                    fi
                done
            done
            c gofwdst "$gofwd/_st"
            expect "go forward: no 502 ($(head -c 200 "$tmp/gofwdst.b"))" \
                [ "$(jget "$tmp/gofwdst.b" 'j.egress.failed_502')" = 0 ]
            eg_pid=$gofwd_pid
            stop_egress gofwd
        fi
        c gorevst "$gorev/_st"
        expect "go reverse: no 502 ($(head -c 200 "$tmp/gorevst.b"))" \
            [ "$(jget "$tmp/gorevst.b" 'j.egress.failed_502')" = 0 ]
        eg_pid=$gorev_pid
        stop_egress gorev
    fi
    c goupst "$goup_url/_s"
    go_posts=$(jget "$tmp/goupst.b" 'j.requests_by_method.POST || 0')
    expect "go: every POST that succeeded ran exactly once upstream, the failed one never ($go_posts run, $go_posts_ok seen)" \
        [ "$go_posts" = "$go_posts_ok" ]
    stop_pid "$goup_pid" TERM
fi
check_sanitizers
finish
