#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The circuit breaker end to end: a 100 % 503 storm from `tether serve --status 503` under
# `tether load --breaker` ends with retries bounded by the retry budget, the breaker open, a
# number of probes bounded by the open intervals that fit in the measured run, and the server
# seeing no more than the requests before the trip plus the probes; `tether get` prints the
# breaker's own message; metrics-only counts what it would refuse and refuses nothing;
# --breaker=MODE is checked.
# Usage: bash tests/cli/test_breaker.sh path/to/tether
source "$(dirname "$0")/harness.sh"
need_node "it parses the JSON"

# Open intervals of 100 ms for the first, then 100..200 ms (equal jitter over min(200, 100*2^n)),
# so every interval lasts at least 100 ms. The retry budget allows 0.3 retries/s over 10 s and
# nothing in proportion to traffic: at most 3 retries in the whole run.
cat >"$tmp/storm.json" <<'EOF'
{"breaker_open": "100ms", "breaker_open_max": "200ms",
 "backoff_base": "5ms", "backoff_cap": "20ms",
 "budget_ratio": 0, "budget_min_retries_per_s": 0.3, "budget_window": "10s"}
EOF
conc=4

if start_server storm --status 503 --stats-path /stats; then
    timeout "$(scaled 30)" "$tether" load "$url/" --policy "$tmp/storm.json" --breaker \
        --duration 1500ms --concurrency $conc --gap 2ms --json >"$tmp/load.out" 2>"$tmp/load.err"
    rc=$?
    echo "storm: $(cat "$tmp/load.out")"
    expect "storm: exit 1 (got $rc)" [ "$rc" -eq 1 ]
    expect "storm: nothing succeeded" [ "$(jget "$tmp/load.out" 'j.succeeded')" = 0 ]
    expect "storm: the breaker opened" [ "$(jget "$tmp/load.out" 'j.breaker.opened')" -ge 1 ]
    expect "storm: it ends open" [ "$(jget "$tmp/load.out" 'j.breaker.state')" = open ]
    expect "storm: it never closed" [ "$(jget "$tmp/load.out" 'j.breaker.closed')" = 0 ]
    expect "storm: mode on" [ "$(jget "$tmp/load.out" 'j.breaker.mode')" = on ]
    retries=$(jget "$tmp/load.out" 'j.retries')
    expect "storm: retries bounded by the budget (3; got $retries)" [ "${retries:-99}" -le 3 ]
    rejected=$(jget "$tmp/load.out" 'j.breaker.rejected')
    refusals=$(jget "$tmp/load.out" "j.errors['circuit open for $url']")
    expect "storm: refusals reported under one message ($refusals of $rejected rejected)" \
        [ "${refusals:-0}" -ge 1 -a "${refusals:-0}" -le "${rejected:-0}" ]
    # Each probe needs a whole open interval (>= 100 ms) before it, measured by the run itself.
    ms=$(jget "$tmp/load.out" 'Math.ceil(j.duration_s * 1000)')
    probes=$(jget "$tmp/load.out" 'j.breaker.probes')
    expect "storm: probes ($probes) <= one per 100 ms of $ms ms" \
        [ "${probes:-999}" -le $((${ms:-0} / 100 + 1)) ]
    expect "storm: a probe per half-open" \
        [ "$probes" = "$(jget "$tmp/load.out" 'j.breaker.half_opened')" ]
    # What reached the server: the 5 failures that tripped it, what the other workers had in
    # flight then, and the probes; never the rejected requests.
    timeout "$(scaled 10)" "$tether" get "$url/stats" -o "$tmp/stats.json" 2>"$tmp/stats.err"
    served=$(jget "$tmp/stats.json" "j.responses['5xx']")
    expect "storm: the server saw $served requests <= 5 + $((conc - 1)) + $probes" \
        [ "${served:-999}" -le $((5 + conc - 1 + ${probes:-0})) ]
    expect "storm: the server saw the probes" [ "${served:-0}" -ge "${probes:-1}" ]

    # The human table has the breaker's line.
    timeout "$(scaled 30)" "$tether" load "$url/" --policy "$tmp/storm.json" --breaker \
        --requests 20 >"$tmp/table.out" 2>"$tmp/table.err"
    expect "table: a circuit breaker line ($(grep breaker "$tmp/table.out"))" \
        grep -qE '^  circuit breaker +on, open at the end: [0-9]+ rejected, [0-9]+ opened' "$tmp/table.out"

    # Metrics-only: the same machine, counting what it would refuse, refusing nothing. One
    # worker, no retries: calls 1-5 trip it, calls 6-20 meet it open (for 60 s).
    timeout "$(scaled 10)" "$tether" get "$url/stats" -o "$tmp/before.json" 2>"$tmp/before.err"
    echo '{"breaker": "metrics-only", "breaker_open": "60s"}' >"$tmp/shadow.json"
    timeout "$(scaled 30)" "$tether" load "$url/" --policy "$tmp/shadow.json" --retry 0 \
        --requests 20 --json >"$tmp/shadow.out" 2>"$tmp/shadow.err"
    echo "metrics-only: $(cat "$tmp/shadow.out")"
    timeout "$(scaled 10)" "$tether" get "$url/stats" -o "$tmp/after.json" 2>"$tmp/after.err"
    expect "metrics-only: every request answered 503" \
        [ "$(jget "$tmp/shadow.out" "j.statuses['503']")" = 20 ]
    expect "metrics-only: all 20 reached the server" [ $(($(jget "$tmp/after.json" \
        "j.responses['5xx']") - $(jget "$tmp/before.json" "j.responses['5xx']"))) -eq 20 ]
    expect "metrics-only: opened once" [ "$(jget "$tmp/shadow.out" 'j.breaker.opened')" = 1 ]
    expect "metrics-only: 15 would have been refused" \
        [ "$(jget "$tmp/shadow.out" 'j.breaker.rejected')" = 15 ]
    expect "metrics-only: mode reported" \
        [ "$(jget "$tmp/shadow.out" 'j.breaker.mode')" = metrics-only ]

    # tether get: one request, so only a breaker tripping on its own first failure shows it.
    echo '{"breaker": "on", "breaker_consecutive_failures": 1, "backoff_base": "1ms"}' \
        >"$tmp/one.json"
    timeout "$(scaled 10)" "$tether" get "$url/" --policy "$tmp/one.json" --retry 3 \
        >"$tmp/get.out" 2>"$tmp/get.err"
    rc=$?
    expect "get: exit 1 (got $rc)" [ "$rc" -eq 1 ]
    expect "get: the breaker's message ($(cat "$tmp/get.err"))" \
        grep -qE "^tether get: circuit open for ${url//./\\.}, retry in [0-9]+ ms$" "$tmp/get.err"
    timeout "$(scaled 10)" "$tether" get "$url/" --breaker=forced-open -v \
        >"$tmp/forced.out" 2>"$tmp/forced.err"
    rc=$?
    expect "forced-open: exit 1 (got $rc)" [ "$rc" -eq 1 ]
    expect "forced-open: the message" errhas forced "tether get: circuit open for $url (forced open)"
    expect "forced-open: never dialled" [ "$(grep -c 'new connection' "$tmp/forced.err")" -eq 0 ]
    stop_server
fi

# ---- usage errors ----
timeout "$(scaled 10)" "$tether" get http://127.0.0.1:1/ --breaker=sometimes \
    >"$tmp/bad.out" 2>"$tmp/bad.err"
rc=$?
expect "--breaker=sometimes: exit 2 (got $rc)" [ "$rc" -eq 2 ]
expect "--breaker=sometimes: names the value ($(cat "$tmp/bad.err"))" errhas bad "'sometimes'"
echo '{"breaker": "maybe"}' >"$tmp/bad.json"
timeout "$(scaled 10)" "$tether" load http://127.0.0.1:1/ --policy "$tmp/bad.json" \
    >"$tmp/badpol.out" 2>"$tmp/badpol.err"
rc=$?
expect "policy breaker maybe: exit 2 (got $rc)" [ "$rc" -eq 2 ]
expect "policy breaker maybe: names the value ($(cat "$tmp/badpol.err"))" errhas badpol '"maybe"'

check_sanitizers
finish
