#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether load` for people who use hey, oha, wrk and k6: -n/-c/-z mean --requests,
# --concurrency, --duration; bare seconds; --rate is an open model (an exact schedule, starts
# that do not wait for completions, late starts counted as lag when the concurrency cap is
# hit); percentiles to p99.9, a histogram and a per-second timeline that add up; --output
# csv|ndjson with one line per request; a refused connect stops the run at once; the live line
# on a terminal; bad flags exit 2.
# Usage: bash tests/cli/test_load_hey.sh path/to/tether
source "$(dirname "$0")/harness.sh"
need_node "it parses the JSON"

run() {
    local name=$1
    shift
    timeout "$(scaled 50)" "$tether" load "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    rc=$?
}

# The report's sums and orders that hold for any run: NAME.
sums() {
    local name=$1
    expect "$name: percentile keys" [ "$(jget "$tmp/$name.out" \
        'Object.keys(j.percentiles_ms).join(",")')" = "p50,p75,p90,p95,p99,p99.9,max" ]
    expect "$name: p50 <= p75 <= p90 <= p95 <= p99 <= p99.9 <= max" [ "$(jget "$tmp/$name.out" \
        'const v = Object.values(j.percentiles_ms); v.every((x, i) => i === 0 || v[i-1] <= x)')" = true ]
    expect "$name: the percentiles agree with latency_ms" [ "$(jget "$tmp/$name.out" \
        'const p = j.percentiles_ms, l = j.latency_ms; p.p50 === l.p50 && p.p90 === l.p90 && p.p99 === l.p99 && p.max === l.max')" = true ]
    expect "$name: histogram counts sum to requests" [ "$(jget "$tmp/$name.out" \
        'j.histogram.reduce((a, b) => a + b.count, 0) === j.requests')" = true ]
    expect "$name: histogram bounds rise" [ "$(jget "$tmp/$name.out" \
        'j.histogram.every((b, i) => i === 0 || b.le_ms === null || j.histogram[i-1].le_ms < b.le_ms)')" = true ]
    expect "$name: timeline ok sums to succeeded" [ "$(jget "$tmp/$name.out" \
        'j.timeline.reduce((a, r) => a + r.ok, 0) === j.succeeded')" = true ]
    expect "$name: timeline failures sum to failed" [ "$(jget "$tmp/$name.out" \
        'j.timeline.reduce((a, r) => a + r.failed_status + Object.values(r.errors).reduce((x, y) => x + y, 0), 0) === j.failed')" = true ]
    expect "$name: timeline rows are seconds 0, 1, ..." [ "$(jget "$tmp/$name.out" \
        'j.timeline.every((r, i) => r.second === i)')" = true ]
}

if start_server plain; then
    # ---- hey's and oha's flags ----
    run long "$url/" --requests 12 --concurrency 3 --json
    run short "$url/" -n 12 -c 3 --json
    expect "-n/-c: exit 0 (got $rc; $(head -1 "$tmp/short.err"))" [ "$rc" -eq 0 ]
    expect "-n 12 -c 3 = --requests 12 --concurrency 3" [ "$(jget "$tmp/short.out" \
        'j.requests + "/" + j.succeeded')" = "$(jget "$tmp/long.out" 'j.requests + "/" + j.succeeded')" ]
    expect "-n 12: 12 requests" [ "$(jget "$tmp/short.out" 'j.requests')" = 12 ]
    run table "$url/" -n 4 -c 2
    expect "-c 2: the table says concurrency 2" grep -q 'concurrency 2,' "$tmp/table.out"
    expect "table: percentiles line" grep -qE '^  percentiles ms +p50 [0-9.]+ p75 .* p99\.9 ' "$tmp/table.out"
    expect "table: a histogram row per bucket" grep -qE '^    <= [0-9.]+ ms +[0-9]+ \|#+$' "$tmp/table.out"
    expect "table: timeline second 0 has the 4 requests" grep -qE '^ +0 +4 +0$' "$tmp/table.out"
    # -z and bare seconds: a 100 ms gap after each request bounds the count from above.
    for z in "-z 1" "-z 1s" "--duration 1" "--duration 1.0"; do
        # shellcheck disable=SC2086 # the flag and its value are two words
        run z "$url/" $z --gap 100ms --json
        expect "$z: about 1 s (exit $rc; $(head -1 "$tmp/z.err"))" [ "$(jget "$tmp/z.out" \
            "j.requests >= 1 && j.requests <= 11 && j.duration_s >= 0.9 && j.duration_s < $(scaled 5)")" = true ]
    done
    sums short

    # ---- --output, one line per request ----
    run csv "$url/" -n 7 -c 2 --output csv "$tmp/req.csv" --json
    expect "csv: exit 0" [ "$rc" -eq 0 ]
    expect "csv: header" [ "$(head -1 "$tmp/req.csv")" = \
        "start_ms,worker,method,status,error,latency_ms,attempts,retries,replays,bytes" ]
    expect "csv: one line per request" [ "$(($(wc -l <"$tmp/req.csv") - 1))" -eq 7 ]
    expect "csv: fields (GET, 200, no error, 1 attempt, 3 body bytes, workers 0..1)" [ "$(tail -n +2 "$tmp/req.csv" |
        awk -F, '$2 ~ /^[01]$/ && $3 == "GET" && $4 == 200 && $5 == "" && $6 ~ /^[0-9]+\.[0-9][0-9][0-9]$/ && $7 == 1 && $8 == 0 && $9 == 0 && $10 == 3 && NF == 10' | wc -l)" -eq 7 ]
    run ndjson "$url/" -n 5 --output=ndjson "$tmp/req.ndjson"
    expect "ndjson: exit 0 ($(head -1 "$tmp/ndjson.err"))" [ "$rc" -eq 0 ]
    expect "ndjson: one line per request" [ "$(wc -l <"$tmp/req.ndjson")" -eq 5 ]
    expect "ndjson: every line an object with the fields" [ "$(node -e '
        const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
        console.log(lines.every((l) => { const o = JSON.parse(l);
            return Object.keys(o).join(",") === "start_ms,worker,method,status,error,latency_ms,attempts,retries,replays,bytes" &&
                o.status === 200 && o.error === null && o.bytes === 3 && o.method === "GET"; }));' "$tmp/req.ndjson")" = true ]
    expect "ndjson: starts in order for one worker" [ "$(node -e '
        const s = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l).start_ms);
        console.log(s.every((x, i) => i === 0 || s[i-1] <= x));' "$tmp/req.ndjson")" = true ]

    # ---- --rate: the open model ----
    # The schedule is exact: request k is due at k/50 s, so 1 s holds 50 starts, each made
    # however late; the count does not depend on how fast the machine is.
    run rate "$url/" --rate 50 -z 1 --json
    expect "--rate 50 -z 1: exit 0 (got $rc; $(head -1 "$tmp/rate.err"))" [ "$rc" -eq 0 ]
    expect "--rate 50 -z 1: 50 scheduled and 50 started" [ "$(jget "$tmp/rate.out" \
        'j.requests === 50 && j.rate.scheduled === 50 && j.rate.target_rps === 50')" = true ]
    expect "--rate: lag p50 <= p99 <= max, all >= 0" [ "$(jget "$tmp/rate.out" \
        'const l = j.rate.lag_ms; 0 <= l.p50 && l.p50 <= l.p99 && l.p99 <= l.max')" = true ]
    expect "--rate: the last start is due at 0.98 s" [ "$(jget "$tmp/rate.out" 'j.duration_s >= 0.97')" = true ]
    expect "--rate with -n: the smaller wins" [ "$(run raten "$url/" --rate 50 -z 1 -n 7 --json; jget "$tmp/raten.out" 'j.requests')" = 7 ]
    sums rate
    stop_server
fi

# Starts do not wait for completions: 20 requests of 200 ms each, due over 1 s, end in about
# 1.2 s with the default cap (50 in flight); one worker at a time (-c 1) would need 4 s.
# With -c 1 the cap is hit: every start is late, and the lag says by how much (the 20th is
# due at 0.95 s and cannot start before 19 x 200 ms = 3.8 s).
if start_server slow --delay 200ms; then
    run open "$url/" --rate 20 -z 1 --json
    expect "open: 20 requests in well under 4 s ($(jget "$tmp/open.out" 'j.duration_s') s)" [ "$(jget "$tmp/open.out" \
        "j.requests === 20 && j.succeeded === 20 && j.duration_s < 3")" = true ]
    run capped "$url/" --rate 20 -z 1 -c 1 --json
    expect "capped: 20 requests, one at a time" [ "$(jget "$tmp/capped.out" 'j.requests')" = 20 ]
    expect "capped: late starts counted (lag max $(jget "$tmp/capped.out" 'j.rate.lag_ms.max') ms >= 2800)" \
        [ "$(jget "$tmp/capped.out" 'j.rate.lag_ms.max >= 2800 && j.duration_s >= 3.8')" = true ]
    stop_server
fi

# ---- failing statuses in the timeline ----
if start_server failing --status 503; then
    run s503 "$url/" -n 6 -c 2 --json
    expect "503: exit 1" [ "$rc" -eq 1 ]
    expect "503: timeline counts the statuses" [ "$(jget "$tmp/s503.out" \
        'j.failed === 6 && j.timeline.reduce((a, r) => a + r.failed_status, 0) === 6')" = true ]
    sums s503
    stop_server
fi

# ---- a refused connect stops the run at once ----
if start_server gone; then
    closed=$port
    stop_server
    t0=$(now_ms)
    run refused "http://127.0.0.1:$closed/" -n 5 --json
    took=$(($(now_ms) - t0))
    expect "refused: exit 1 (got $rc)" [ "$rc" -eq 1 ]
    expect "refused: fast (${took} ms)" [ "$took" -lt "$(scaled 2000)" ]
    expect "refused: one request, counted by Node's message" [ "$(jget "$tmp/refused.out" \
        "j.requests === 1 && j.errors['connect ECONNREFUSED 127.0.0.1:$closed'] === 1")" = true ]
    expect "refused: the timeline has the message" [ "$(jget "$tmp/refused.out" \
        "j.timeline[0].errors['connect ECONNREFUSED 127.0.0.1:$closed'] === 1")" = true ]
    expect "refused: the notice ($(cat "$tmp/refused.err"))" errhas refused \
        "tether load: connect ECONNREFUSED 127.0.0.1:$closed after 3 attempts; stopping (nothing listens there)"
    sums refused
fi

# ---- the live line, on a terminal only ----
if start_server live; then
    # Two requests 1.1 s apart: the line (every second) shows at least once.
    timeout "$(scaled 20)" script -qec "'$tether' load '$url/' -n 2 --gap 1100ms" /dev/null \
        >"$tmp/tty.out" 2>"$tmp/tty.err"
    expect "tty: the live line ($(tr '\r\033' '|~' <"$tmp/tty.out" | head -c 300))" \
        grep -qE '[0-9]+\.[0-9] s  [0-9]+ done  [0-9.]+/s  0 failed' "$tmp/tty.out"
    run notty "$url/" -n 2 --gap 1100ms
    expect "no terminal: no live line" [ ! -s "$tmp/notty.err" ]
    stop_server
fi

# ---- usage errors ----
usage() { # NAME VALUE-IN-MESSAGE ARGS...
    local name=$1 value=$2
    shift 2
    run "$name" "$@"
    expect "$name: exit 2 (got $rc)" [ "$rc" -eq 2 ]
    expect "$name: names '$value' ($(cat "$tmp/$name.err"))" errhas "$name" "$value"
    expect "$name: no stdout" [ ! -s "$tmp/$name.out" ]
}
usage rate0 "'0'" http://127.0.0.1:1/ --rate 0
usage rate-gap "--gap and --rate" http://127.0.0.1:1/ --rate 5 --gap 1s
usage output-format "'xml'" http://127.0.0.1:1/ --output xml f
usage output-file "missing value for --output" http://127.0.0.1:1/ --output csv
usage z-bad "'soon'" http://127.0.0.1:1/ -z soon
usage c0 "'0'" http://127.0.0.1:1/ -c 0
run unwritable http://127.0.0.1:1/ -n 1 --output csv "$tmp/no/such/dir.csv"
expect "unwritable --output: exit 1 naming the file" [ "$rc" -eq 1 ]
expect "unwritable --output: names it" errhas unwritable "$tmp/no/such/dir.csv"

check_sanitizers
finish
