#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether load` on loopback: the keep-alive race (a server that closes idle sockets after
# exactly 500 ms with no hint, gaps drawn around 500 ms) fails requests with --policy naive
# and none with the default policy; --json has exactly the documented keys; POST with
# --idempotency-key auto is never executed twice; keys are UUID v4, one per request; the human
# table; --duration; SIGINT still reports; bad flags exit 2 naming the value.
# Usage: bash tests/cli/test_load.sh path/to/tether
# Counters, cleanup, $tmp, $pids and the node check.
source "$(dirname "$0")/harness.sh"

# wait_listening NAME: waits for "listening on http://127.0.0.1:PORT" in $tmp/NAME.out; sets
# $port and $url.
wait_listening() {
    local name=$1 i line
    for ((i = 0; i < 100 * mult; i++)); do
        grep -q . "$tmp/$name.out" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    line=$(head -1 "$tmp/$name.out")
    port=${line##*:}
    url=${line#listening on }
    if ! [[ $line =~ ^listening\ on\ http://127\.0\.0\.1:[0-9]+$ ]]; then
        fail "$name: no listening line (got '$line'; stderr: $(cat "$tmp/$name.err"))"
        return 1
    fi
}
start() {
    local name=$1
    shift
    "$tether" serve --listen 127.0.0.1:0 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pid=$!
    pids+=("$pid")
    wait_listening "$name"
}
stop() {
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
# run NAME ARGS...: `tether load ARGS`, bounded; $tmp/NAME.{out,err}, $rc.
run() {
    local name=$1
    shift
    timeout $((50 * mult)) "$tether" load "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    rc=$?
}
jget() {
    node -e 'const fs=require("fs");const j=JSON.parse(fs.readFileSync(process.argv[1],"utf8"));
             const v=eval(process.argv[2]);console.log(typeof v==="object"?JSON.stringify(v):v)' \
        "$1" "$2" 2>/dev/null
}
errhas() { grep -qF -- "$2" "$tmp/$1.err"; }
keys='requests,succeeded,failed,errors,statuses,replays,retries,connections_opened,stale_evictions,latency_ms,duration_s,rps'

# ---- the keep-alive race ----
# Old Node's server: plain close() exactly 500 ms after the last response, no Keep-Alive hint.
# One worker, so each reuse comes after exactly one gap: with several workers sharing the pool
# the most recently used connection is reused after a fraction of a gap and the race never
# happens (--concurrency 4 --gap 950ms..1050ms against 1 s: 40 of 40 naive requests succeed).
# Gaps straddle the timeout, so about half the naive reuses hit a closed socket.
race=(--gap 450ms..550ms --concurrency 1 --requests 20 --seed 7 --json)
if start race --close-style node --keep-alive-timeout 500ms --no-keep-alive-hint --stats-path /_stats; then
    run naive "$url/" --policy naive "${race[@]}"
    nrc=$rc
    echo "naive:   $(cat "$tmp/naive.out")"
    run default "$url/" "${race[@]}"
    echo "default: $(cat "$tmp/default.out")"
    nf=$(jget "$tmp/naive.out" 'j.failed')
    df=$(jget "$tmp/default.out" 'j.failed')
    expect "naive: 20 requests" [ "$(jget "$tmp/naive.out" 'j.requests')" = 20 ]
    expect "naive: the race bites (failed $nf > 0)" [ "${nf:-0}" -gt 0 ]
    expect "naive: failures are resets or hang-ups" [ "$(jget "$tmp/naive.out" \
        'Object.keys(j.errors).every(k => /^(read ECONNRESET|socket hang up|write EPIPE|write ECONNRESET)$/.test(k))')" = true ]
    expect "naive: exit 1 with failures (got $nrc)" [ "$nrc" -eq 1 ]
    expect "default: 20 requests" [ "$(jget "$tmp/default.out" 'j.requests')" = 20 ]
    expect "default: no failure (failed $df)" [ "$df" = 0 ]
    expect "default: exit 0 (got $rc)" [ "$rc" -eq 0 ]
    expect "default: 20 x 200" [ "$(jget "$tmp/default.out" 'j.statuses["200"]')" = 20 ]
    expect "--json: one line" [ "$(wc -l <"$tmp/default.out")" -eq 1 ]
    expect "--json: exactly the keys" [ "$(jget "$tmp/default.out" 'Object.keys(j).join(",")')" = "$keys" ]
    expect "--json: latency keys" [ "$(jget "$tmp/default.out" 'Object.keys(j.latency_ms).join(",")')" = "p50,p90,p99,max" ]
    expect "--json: numbers" [ "$(jget "$tmp/default.out" \
        '[j.replays,j.retries,j.connections_opened,j.stale_evictions,j.duration_s,j.rps,j.latency_ms.p99].every(x => typeof x === "number")')" = true ]
    expect "--json: p50 <= p90 <= p99 <= max" [ "$(jget "$tmp/default.out" \
        'j.latency_ms.p50 <= j.latency_ms.p90 && j.latency_ms.p90 <= j.latency_ms.p99 && j.latency_ms.p99 <= j.latency_ms.max')" = true ]

    # POST is not idempotent: only the Idempotency-Key makes a replay or retry safe, and the
    # server must never execute one request twice.
    run post "$url/" -X POST -d 'order=1' --idempotency-key auto --gap 450ms..550ms \
        --concurrency 1 --requests 12 --seed 11 --json
    echo "POST:    $(cat "$tmp/post.out")"
    expect "POST with keys: no failure" [ "$(jget "$tmp/post.out" 'j.failed')" = 0 ]
    timeout $((10 * mult)) "$tether" get "$url/_stats" >"$tmp/stats.json" 2>/dev/null
    echo "server:  $(cat "$tmp/stats.json")"
    expect "POST: every key executed once (repeated 0)" \
        [ "$(jget "$tmp/stats.json" 'j.idempotency_keys.repeated')" = 0 ]
    expect "POST: 12 distinct keys" [ "$(jget "$tmp/stats.json" 'j.idempotency_keys.distinct')" = 12 ]
    expect "POST: 12 POSTs executed" [ "$(jget "$tmp/stats.json" 'j.requests_by_method.POST')" = 12 ]
    stop
fi

# ---- what reaches the server: method, headers, body, keys ----
cat >"$tmp/keys.js" <<'EOF'
const http = require('http');
const fs = require('fs');
const log = process.argv[2];
const srv = http.createServer((req, res) => {
  let n = 0;
  req.on('data', (d) => { n += d.length; });
  req.on('end', () => {
    fs.appendFileSync(log, `${req.method} ${req.headers['idempotency-key'] || '-'} ${req.headers['x-load'] || '-'} ${n}\n`);
    res.end('ok\n');
  });
});
srv.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${srv.address().port}`));
process.on('SIGTERM', () => process.exit(0));
EOF
node "$tmp/keys.js" "$tmp/keys.log" >"$tmp/keys.out" 2>"$tmp/keys.err" &
pid=$!
pids+=("$pid")
if wait_listening keys; then
    run keyed "$url/" -X PATCH -H 'X-Load: yes' -d abc --idempotency-key auto --requests 6 \
        --concurrency 2
    expect "keyed: exit 0 (got $rc; $(head -2 "$tmp/keyed.err"))" [ "$rc" -eq 0 ]
    expect "keyed: 6 requests reached the server" [ "$(wc -l <"$tmp/keys.log")" -eq 6 ]
    expect "keyed: method, header and body" \
        [ "$(awk '$1 == "PATCH" && $3 == "yes" && $4 == 3' "$tmp/keys.log" | wc -l)" -eq 6 ]
    expect "keyed: UUID v4 keys" [ "$(awk '{print $2}' "$tmp/keys.log" |
        grep -cE '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')" -eq 6 ]
    expect "keyed: one key per request" [ "$(awk '{print $2}' "$tmp/keys.log" | sort -u | wc -l)" -eq 6 ]
    expect "keyed: human table" grep -qE '^  requests +6$' "$tmp/keyed.out"
    expect "keyed: human table has latency" grep -qE '^  latency ms +p50 ' "$tmp/keyed.out"

    run dur "$url/" --duration 1s --gap 100ms --json
    expect "--duration 1s: exit 0" [ "$rc" -eq 0 ]
    expect "--duration 1s: some requests, about 1 s" [ "$(jget "$tmp/dur.out" \
        'j.requests >= 3 && j.requests <= 11 && j.duration_s >= 0.9 && j.duration_s < 5')" = true ]

    "$tether" load "$url/" --requests 100000 --gap 50ms --concurrency 2 --json \
        >"$tmp/int.out" 2>"$tmp/int.err" &
    lp=$!
    pids+=("$lp")
    sleep 1
    kill -INT "$lp"
    for ((i = 0; i < 40 * mult; i++)); do
        kill -0 "$lp" 2>/dev/null || break
        sleep 0.05
    done
    wait "$lp"
    irc=$?
    expect "SIGINT: exits 0 after the report (got $irc)" [ "$irc" -eq 0 ]
    expect "SIGINT: a report with some requests" [ "$(jget "$tmp/int.out" \
        'j.requests > 0 && j.requests < 100000 && j.failed === 0')" = true ]
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
fi

# ---- refused connections count as failures by message ----
if start gone; then
    closed=$port
    stop
    run refused "http://127.0.0.1:$closed/" --requests 3 --json --retry 0
    expect "refused: exit 1 (got $rc)" [ "$rc" -eq 1 ]
    expect "refused: errors by Node's message" [ "$(jget "$tmp/refused.out" \
        "j.errors['connect ECONNREFUSED 127.0.0.1:$closed']")" = 3 ]
fi

# ---- usage errors ----
usage() { # NAME VALUE-IN-MESSAGE ARGS...
    local name=$1 value=$2
    shift 2
    run "$name" "$@"
    expect "$name: exit 2 (got $rc)" [ "$rc" -eq 2 ]
    expect "$name: names '$value' ($(cat "$tmp/$name.err"))" errhas "$name" "'$value'"
    expect "$name: one stderr line" [ "$(wc -l <"$tmp/$name.err")" -eq 1 ]
    expect "$name: no stdout" [ ! -s "$tmp/$name.out" ]
}
usage concurrency0 0 http://127.0.0.1:1/ --concurrency 0
usage requests-x x http://127.0.0.1:1/ --requests x
usage gap-reversed 2s..1s http://127.0.0.1:1/ --gap 2s..1s
usage gap-bad 1s..soon http://127.0.0.1:1/ --gap 1s..soon
usage duration0 0 http://127.0.0.1:1/ --duration 0
usage key-mode manual http://127.0.0.1:1/ --idempotency-key manual
usage policy "$tmp/none.json" http://127.0.0.1:1/ --policy "$tmp/none.json"
usage url "localhost:80" localhost:80
usage header "X" http://127.0.0.1:1/ -H X
run no-url --requests 1
expect "no URL: exit 2" [ "$rc" -eq 2 ]

# Sanitizer builds: any report in any stderr is a failure, whatever the exit code said.
if grep -lE 'Sanitizer|runtime error:' "$tmp"/*.err >"$tmp/sanitizer.list" 2>/dev/null; then
    fail "sanitizer reports in: $(tr '\n' ' ' <"$tmp/sanitizer.list")"
    head -30 "$(head -1 "$tmp/sanitizer.list")"
else
    ok
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
