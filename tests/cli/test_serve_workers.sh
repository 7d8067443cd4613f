#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether serve --workers N`: N threads with a server each on one port (SO_REUSEPORT). Graceful
# shutdown drains every worker (in-flight requests answered, idle connections FIN, no RST), the
# kernel spreads fresh connections over both workers, --stats-path sums every worker exactly,
# --exec-log lines stay whole, --rate-limit is one budget for the process, a start error is
# reported once, and bad --workers values exit 2 naming them.
# Usage: bash tests/cli/test_serve_workers.sh path/to/tether
source "$(dirname "$0")/harness.sh"
here=$(cd "$(dirname "$0")" && pwd)
probe="$here/http_probe.js"
client="$here/workers_client.js"
need_node "the HTTP client of these tests"

has() { grep -qxF -- "$2" "$tmp/$1"; }
# handled NAME I: requests worker I served for the client, from the stats lines in $tmp/NAME
# (the stats GET itself is a request of the worker that answered it, so it is taken off).
handled() {
    local n w
    n=$(sed -n "s/^json per_worker.$2.requests //p" "$tmp/$1")
    w=$(sed -n "s/^json worker //p" "$tmp/$1")
    [ "$w" = "$2" ] && n=$((${n:-0} - 1))
    echo "${n:-0}"
}
# stats NAME PATH: the stats document at PATH, as the probe's "json" lines in $tmp/NAME.
stats() {
    local name=$1 path=$2
    shift 2
    timeout "$(scaled 20)" node "$probe" "$url$path" "$@" >"$tmp/$name" 2>&1
}
quiet_stop() {
    stop_pid "$pid" "${1:-TERM}"
    expect "$2: exit 0 after SIG${1:-TERM} (got $rc)" [ "$rc" -eq 0 ]
    expect "$2: nothing on stderr ($(head -3 "$tmp/$2.err"))" [ ! -s "$tmp/$2.err" ]
}

# ---- graceful shutdown: both workers drain, nothing is reset ----
# The client learns which worker holds each connection from the stats document, so both
# workers are known to hold an in-flight request and idle connections when SIGTERM comes.
if start_server drain --workers 2 --stats-path /s; then
    : >"$tmp/drain-client"
    timeout "$(scaled 30)" node "$client" drain "$port" /s >"$tmp/drain-client" 2>&1 &
    client_pid=$!
    pids+=("$client_pid")
    ready() { grep -qx ready "$tmp/drain-client"; }
    if ! wait_for 20000 ready; then
        fail "drain: no connections on both workers (client: $(head -5 "$tmp/drain-client");" \
            "server: $(head -5 "$tmp/drain.err"))"
    fi
    # Both POST heads were handled (counted before their bodies arrive).
    inflight() { stats dst /s --json requests && has dst "json requests 2"; }
    expect "drain: both in-flight requests reached their workers" wait_for 10000 inflight
    stop_pid "$pid" TERM 20000
    expect "drain: SIGTERM exits 0 (got $rc)" [ "$rc" -eq 0 ]
    expect "drain: nothing on stderr" [ ! -s "$tmp/drain.err" ]
    wait "$client_pid"
    expect "drain: the client finished" has drain-client "done"
    expect "drain: both workers held connections" has drain-client "workers 2"
    expect "drain: both in-flight requests answered 200 during the drain" \
        has drain-client "inflight-200 2"
    expect "drain: in-flight responses say Connection: close" has drain-client "inflight-close 2"
    conns=$(sed -n 's/^conns //p' "$tmp/drain-client")
    expect "drain: every idle connection ended with FIN ($conns connections)" \
        has drain-client "idle-eof $((${conns:-0} - 2))"
    expect "drain: no connection was reset" has drain-client "resets 0"
fi

# ---- balancing, exact sums, shared keys, exec log ----
if start_server sums --workers 2 --stats-path /s --exec-log "$tmp/exec.log"; then
    # 200 fresh connections: the kernel hashes each (by its source port) to one worker, so both
    # serve some (all 200 on one has probability 2^-199). Keys k0..k49, four times each: each
    # repeat lands on either worker and must still count as one key repeated.
    timeout "$(scaled 60)" node "$client" fresh "$port" 200 50 >"$tmp/sums-client" 2>&1
    expect "sums: 200 answered 200" has sums-client "status-200 200"
    expect "sums: nothing reset" has sums-client "resets 0"
    stats st /s --json requests --json workers --json worker --json per_worker.0.requests \
        --json per_worker.1.requests --json server_requests --json idempotency_keys.repeated \
        --json idempotency_keys.distinct --json rst_sent
    expect "sums: requests is exactly the 200 sent" has st "json requests 200"
    expect "sums: workers 2" has st "json workers 2"
    w0=$(handled st 0)
    w1=$(handled st 1)
    expect "sums: worker 0 served some ($w0)" [ "$w0" -gt 0 ]
    expect "sums: worker 1 served some ($w1)" [ "$w1" -gt 0 ]
    expect "sums: per-worker requests add up ($w0 + $w1)" [ "$((w0 + w1))" -eq 200 ]
    expect "sums: server_requests is their sum" has st "json server_requests 201"
    expect "sums: 50 keys, each repeated, counted across workers" \
        has st "json idempotency_keys.repeated 50"
    expect "sums: 50 distinct keys" has st "json idempotency_keys.distinct 50"
    expect "sums: no RST" has st "json rst_sent 0"
    quiet_stop TERM sums
    expect "exec log: one line per request" [ "$(wc -l <"$tmp/exec.log")" -eq 200 ]
    expect "exec log: every line whole" \
        bash -c "! grep -vxE -- '- GET k[0-9]+' '$tmp/exec.log'"
fi

# ---- --rate-limit is one budget for the process ----
# At 1 request per second the bucket starts with one token: in E ms the process admits at most
# 1 + E/1000 (a bucket per worker would admit twice as many).
if start_server rate --workers 2 --rate-limit 1 --stats-path /s; then
    timeout "$(scaled 60)" node "$client" fresh "$port" 60 >"$tmp/rate-client" 2>&1
    ok200=$(sed -n 's/^status-200 //p' "$tmp/rate-client")
    ms=$(sed -n 's/^elapsed-ms //p' "$tmp/rate-client")
    stats rst /s --json worker --json per_worker.0.requests --json per_worker.1.requests
    r0=$(handled rst 0)
    r1=$(handled rst 1)
    expect "rate: both workers saw requests ($r0 + $r1)" [ "$r0" -gt 0 -a "$r1" -gt 0 ]
    expect "rate: at least one admitted" [ "${ok200:-0}" -ge 1 ]
    expect "rate: ${ok200:-?} admitted in ${ms:-?} ms is within one shared budget" \
        [ "${ok200:-99}" -le $((1 + ${ms:-0} / 1000)) ]
    expect "rate: the rest got 503" has rate-client "status-503 $((60 - ${ok200:-0}))"
    quiet_stop INT rate
fi

# ---- start errors and usage errors ----
if start_server holder; then
    held=$port
    timeout "$(scaled 10)" "$tether" serve --listen "127.0.0.1:$held" --workers 3 \
        >"$tmp/inuse.out" 2>"$tmp/inuse.err"
    rc=$?
    expect "port in use: exit 1 (got $rc)" [ "$rc" -eq 1 ]
    expect "port in use: one line on stderr" [ "$(wc -l <"$tmp/inuse.err")" -eq 1 ]
    expect "port in use: says EADDRINUSE" grep -q "EADDRINUSE" "$tmp/inuse.err"
    expect "port in use: no listening line" [ ! -s "$tmp/inuse.out" ]
    quiet_stop TERM holder
fi

usage() { # usage NAME TEXT ARGS...: exit 2 and TEXT on stderr
    local name=$1 text=$2
    shift 2
    timeout "$(scaled 10)" "$tether" serve --listen 127.0.0.1:0 "$@" >"$tmp/u.out" 2>"$tmp/u.err"
    local code=$?
    expect "$name: exit 2 (got $code)" [ "$code" -eq 2 ]
    expect "$name: names $text" grep -qF -- "$text" "$tmp/u.err"
}
usage "workers 0" "invalid number '0' for --workers (expected 1..256 or auto)" --workers 0
usage "workers -1" "'-1' for --workers" --workers -1
usage "workers abc" "'abc' for --workers" --workers abc
usage "workers 257" "'257' for --workers" --workers 257
usage "connections below workers" "--max-connections 1 is less than --workers 2" \
    --workers 2 --max-connections 1

# auto is one per CPU: it starts and stops like any other count.
if start_server auto --workers auto; then
    expect "auto: answers" bash -c "timeout $(scaled 10) node '$probe' '$url/' | grep -qx 'status 200'"
    quiet_stop TERM auto
fi

check_sanitizers
finish
