#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether serve --exec-log` and `--rate-limit`, the server side of `make soak`: one log line per
# executed request (id, method, key), appended across restarts; over the rate a 503 with
# Retry-After that is not executed; bad values are usage errors naming them.
# Usage: bash tests/cli/test_serve_record.sh path/to/tether
source "$(dirname "$0")/harness.sh"
need_tether
command -v curl >/dev/null || skip "curl is not installed (scripts/install-deps.sh test)"
log=$tmp/exec.log

# req ID METHOD [curl args...]: one request with X-Request-Id: ID; prints the status.
req() {
    local id=$1 method=$2
    shift 2
    timeout "$(scaled 20)" curl -s -o /dev/null -w '%{http_code}' -X "$method" \
        -H "X-Request-Id: $id" "$@" "$url/"
}

# ---- --exec-log: a line per execution, in order, and a restart appends ----
if start_server log --exec-log "$log"; then
    expect "GET answered" [ "$(req g1 GET)" = 200 ]
    expect "POST answered" [ "$(req p1 POST --data body -H 'Idempotency-Key: k 1')" = 200 ]
    expect "a request without an id is logged with '-'" \
        [ "$(timeout "$(scaled 20)" curl -s -o /dev/null -w '%{http_code}' "$url/")" = 200 ]
    stop_server
    expect "first server exits 0" [ "$rc" -eq 0 ]
fi
if start_server log2 --exec-log "$log"; then
    expect "restarted server answers" [ "$(req g2 GET)" = 200 ]
    stop_server
fi
expect "the log holds every execution of both servers, in order, spaces in the key replaced" \
    [ "$(cat "$log")" = "$(printf 'g1 GET -\np1 POST k_1\n- GET -\ng2 GET -')" ]

# ---- --rate-limit: beyond the rate a 503 + Retry-After: 1, never executed ----
: >"$log"
if start_server rate --rate-limit 1 --exec-log "$log"; then
    # A bucket of one token refilled once a second: ten requests in a row cannot all fit
    # unless they take nine seconds; the first always fits.
    codes=""
    for i in 0 1 2 3 4 5 6 7 8 9; do
        codes="$codes $(req "r$i" POST --data x)"
    done
    expect "the first request is served (got$codes)" [ "${codes:1:3}" = 200 ]
    expect "some requests are refused with 503 (got$codes)" grep -q 503 <<<"$codes"
    timeout "$(scaled 20)" curl -s -D "$tmp/rate.head" -o /dev/null "$url/"
    timeout "$(scaled 20)" curl -s -D "$tmp/rate.head" -o /dev/null "$url/"
    expect "the 503 says Retry-After: 1" grep -qi '^retry-after: 1' "$tmp/rate.head"
    stop_server
    served=$(grep -o 200 <<<"$codes" | wc -l)
    expect "only the served POSTs were executed ($served of$codes)" \
        [ "$(grep -c ' POST ' "$log")" -eq "$served" ]
fi

# ---- bad values ----
"$tether" serve --rate-limit 0 >/dev/null 2>"$tmp/bad1.err"
expect "--rate-limit 0 is a usage error" [ $? -eq 2 ]
expect "... naming the value" errhas bad1 "'0' for --rate-limit"
"$tether" serve --exec-log "$tmp/no/such/dir/log" >/dev/null 2>"$tmp/bad2.err"
expect "an unwritable --exec-log is a usage error" [ $? -eq 2 ]
expect "... naming the file" errhas bad2 "cannot open --exec-log '$tmp/no/such/dir/log'"
check_sanitizers
finish
