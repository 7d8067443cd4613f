#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether get` against `tether serve` on loopback: the body on stdout and in -o FILE, -X/-H/-d
# reaching the server (its --stats-path counters), --json's shape, -v's trace, Node's message
# and exit 1 for a refused connection and for a final 503 (with its retries), --retry 0, and
# exit 2 naming a bad URL, duration, header or policy file.
# Usage: bash tests/cli/test_get.sh path/to/tether
# Counters, cleanup, $tmp, $pids, start_server, jget, errhas and bounded waits.
source "$(dirname "$0")/harness.sh"
need_node "it parses the JSON"


# run NAME ARGS...: `tether get ARGS` bounded by a timeout; stdout, stderr and the exit code
# land in $tmp/NAME.{out,err} and $rc.
run() {
    local name=$1
    shift
    timeout "$(scaled 30)" "$tether" get "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    rc=$?
}
oneline() { [ "$(wc -l <"$tmp/$1.err")" -eq 1 ]; }

# ---- a healthy server ----
if start_server basic --stats-path /_stats; then
    run plain "$url/"
    expect "200: exit 0 (got $rc; $(head -2 "$tmp/plain.err"))" [ "$rc" -eq 0 ]
    expect "200: body on stdout" [ "$(cat "$tmp/plain.out")" = "ok" ]
    expect "200: nothing on stderr" [ ! -s "$tmp/plain.err" ]

    run ofile "$url/" -o "$tmp/body.txt"
    expect "-o: exit 0" [ "$rc" -eq 0 ]
    expect "-o: the file has the body" [ "$(cat "$tmp/body.txt" 2>/dev/null)" = "ok" ]
    expect "-o: stdout is empty" [ ! -s "$tmp/ofile.out" ]

    # -o to something that is not a regular file writes into it (curl -o /dev/null): renaming
    # FILE.part over it would replace a FIFO or a device node with a plain file.
    mkfifo "$tmp/fifo"
    (timeout "$(scaled 20)" cat "$tmp/fifo" >"$tmp/fifo.got") &
    run ofifo "$url/" -o "$tmp/fifo"
    wait $! 2>/dev/null
    expect "-o FIFO: exit 0 (got $rc; $(head -2 "$tmp/ofifo.err"))" [ "$rc" -eq 0 ]
    expect "-o FIFO: still a FIFO" [ -p "$tmp/fifo" ]
    expect "-o FIFO: the reader got the body" [ "$(cat "$tmp/fifo.got")" = "ok" ]
    expect "-o FIFO: no part file" [ ! -e "$tmp/fifo.part" ]
    # A device node of our own (root only): /dev/null's double, never /dev/null itself.
    if mknod "$tmp/null" c 1 3 2>/dev/null; then
        run onull "$url/" -o "$tmp/null"
        expect "-o device: exit 0" [ "$rc" -eq 0 ]
        expect "-o device: still a character device" [ -c "$tmp/null" ]
        expect "-o device: no part file" [ ! -e "$tmp/null.part" ]
    fi

    run put "$url/put" -X PUT -H 'Idempotency-Key: key-put-1' -H 'X-Trace: 7' -d hello
    expect "-X PUT -d: exit 0" [ "$rc" -eq 0 ]
    printf 'from a file' >"$tmp/data.txt"
    run post "$url/post" -d @"$tmp/data.txt"
    expect "-d @FILE: exit 0" [ "$rc" -eq 0 ]
    run stats "$url/_stats" --json -o "$tmp/stats.json"
    expect "stats fetched" [ "$rc" -eq 0 ]
    expect "-X PUT reached the server" [ "$(jget "$tmp/stats.json" 'j.requests_by_method.PUT')" = 1 ]
    expect "-d implies POST" [ "$(jget "$tmp/stats.json" 'j.requests_by_method.POST')" = 1 ]
    expect "the Idempotency-Key header reached the server" \
        [ "$(jget "$tmp/stats.json" 'j.idempotency_keys.distinct')" = 1 ]
    expect "both bodies reached the server (5 + 11 bytes)" \
        [ "$(jget "$tmp/stats.json" 'j.body_bytes')" = 16 ]

    run json "$url/" --json
    expect "--json: exit 0" [ "$rc" -eq 0 ]
    expect "--json: one line on stdout" [ "$(wc -l <"$tmp/json.out")" -eq 1 ]
    expect "--json: the keys" [ "$(jget "$tmp/json.out" 'Object.keys(j).join(",")')" = \
        "status,headers,attempts,retries,replays,duration_ms,error,body_bytes" ]
    expect "--json: status 200" [ "$(jget "$tmp/json.out" 'j.status')" = 200 ]
    expect "--json: lower-case headers" \
        [ "$(jget "$tmp/json.out" 'j.headers["content-type"]')" = "text/plain" ]
    expect "--json: attempts 1, retries 0, replays 0, error null, 3 body bytes" \
        [ "$(jget "$tmp/json.out" '[j.attempts,j.retries,j.replays,j.error,j.body_bytes].join(" ")')" = "1 0 0  3" ]
    expect "--json: duration_ms is a number" \
        [ "$(jget "$tmp/json.out" 'typeof j.duration_ms')" = number ]

    run verbose "$url/" -v
    expect "-v: exit 0" [ "$rc" -eq 0 ]
    expect "-v: the body still on stdout" [ "$(cat "$tmp/verbose.out")" = "ok" ]
    expect "-v: the request line" errhas verbose "> GET / HTTP/1.1"
    expect "-v: a new connection" errhas verbose "new connection to"
    expect "-v: the response head" errhas verbose "< HTTP/1.1 200 OK"

    run notfound "$url/nope" -X DELETE -H 'X-A: b'
    expect "a 200 for DELETE exits 0" [ "$rc" -eq 0 ]
    stop_server
fi

# ---- a closed port: Node's message, exit 1 ----
if start_server gone; then
    closed=$port
    stop_server
    run refused "http://127.0.0.1:$closed/" --max-time 10s
    expect "refused: exit 1 (got $rc)" [ "$rc" -eq 1 ]
    expect "refused: Node's message ($(cat "$tmp/refused.err"))" \
        errhas refused "tether get: connect ECONNREFUSED 127.0.0.1:$closed"
    expect "refused: one stderr line" oneline refused
    expect "refused: no stdout" [ ! -s "$tmp/refused.out" ]
    run refusedj "http://127.0.0.1:$closed/" --json --retry 0 -o "$tmp/none.txt"
    expect "refused --json: exit 1" [ "$rc" -eq 1 ]
    expect "refused --json: status null, error.code ECONNREFUSED, syscall connect" \
        [ "$(jget "$tmp/refusedj.out" '[j.status,j.error.code,j.error.syscall].join(" ")')" = \
        " ECONNREFUSED connect" ]
    expect "refused --json: the message" [ "$(jget "$tmp/refusedj.out" 'j.error.message')" = \
        "connect ECONNREFUSED 127.0.0.1:$closed" ]
    expect "refused --json: error record keys" \
        [ "$(jget "$tmp/refusedj.out" '["code","message","syscall","phase","errno","peer","reused","idle_ms","bytes_sent","bytes_received","attempt","replays","retry_safe"].every(k => k in j.error)')" = true ]
    expect "refused --retry 0: attempts 1" [ "$(jget "$tmp/refusedj.out" 'j.attempts')" = 1 ]
    expect "refused: -o leaves no file" [ ! -e "$tmp/none.txt" ]
    # --retry N is N + 1 attempts, refused connects included (not "until the deadline").
    run refused1 "http://127.0.0.1:$closed/" --retry 1 --max-time 20s
    expect "refused --retry 1: after 2 attempts ($(cat "$tmp/refused1.err"))" \
        errhas refused1 "tether get: connect ECONNREFUSED 127.0.0.1:$closed after 2 attempts"
fi

# ---- a server answering 503: retried (GET only), then exit 1 ----
if start_server busy --status 503 --stats-path /_stats; then
    run s503 "$url/" --json
    expect "503: exit 1 (got $rc)" [ "$rc" -eq 1 ]
    expect "503: status 503, attempts 3, retries 2, error null" \
        [ "$(jget "$tmp/s503.out" '[j.status,j.attempts,j.retries,j.error].join(" ")')" = "503 3 2 " ]
    expect "503: the message ($(cat "$tmp/s503.err"))" \
        errhas s503 "tether get: HTTP 503 Service Unavailable after 3 attempts"
    run r0 "$url/" --json --retry 0
    expect "503 --retry 0: exit 1, attempts 1, retries 0" \
        [ "$rc $(jget "$tmp/r0.out" '[j.attempts,j.retries].join(" ")')" = "1 1 0" ]
    expect "503 --retry 0: message without 'after'" errhas r0 "tether get: HTTP 503 Service Unavailable"
    run naive "$url/" --json --policy naive
    expect "503 --policy naive: attempts 1" [ "$(jget "$tmp/naive.out" 'j.attempts')" = 1 ]
    run post503 "$url/" --json -d x
    expect "503 for a POST without a key: not retried" \
        [ "$(jget "$tmp/post503.out" 'j.attempts')" = 1 ]
    run body503 "$url/"
    expect "503 without --json: the body is still written" [ "$(cat "$tmp/body503.out")" = "ok" ]
    stop_server
fi
# ---- --max-time holds while stdout is not read: a FIFO whose reader never reads ----
if start_server endless --body-size 1000000000; then
    mkfifo "$tmp/stuck"
    sleep "$(scaled 30)" <"$tmp/stuck" &
    pids+=($!)
    t0=$(now_ms)
    timeout "$(scaled 20)" "$tether" get "$url/" --max-time 1s >"$tmp/stuck" 2>"$tmp/stuck.err"
    rc=$?
    el=$(($(now_ms) - t0))
    expect "stdout never read, --max-time 1s: exit 1 (got $rc)" [ "$rc" -eq 1 ]
    expect "stdout never read: ends near the deadline (took $el ms)" [ "$el" -lt "$(scaled 4000)" ]
    expect "stdout never read: says why ($(cat "$tmp/stuck.err"))" \
        errhas stuck "deadline exceeded: after 1000 ms, stdout was still not taking the body"
    stop_server
fi
if start_server missing --status 404; then
    run s404 "$url/x"
    expect "404: exit 1" [ "$rc" -eq 1 ]
    expect "404: message" errhas s404 "tether get: HTTP 404 Not Found"
    stop_server
fi

# ---- usage errors: exit 2, one line naming the value ----
usage() { # NAME VALUE-IN-MESSAGE ARGS...
    local name=$1 value=$2
    shift 2
    run "$name" "$@"
    expect "$name: exit 2 (got $rc)" [ "$rc" -eq 2 ]
    expect "$name: names '$value' ($(cat "$tmp/$name.err"))" errhas "$name" "'$value'"
    expect "$name: one stderr line" oneline "$name"
    expect "$name: no stdout" [ ! -s "$tmp/$name.out" ]
}
usage bad-url "ftp://example.com/" "ftp://example.com/"
usage bad-url2 "http://" "http://"
usage bad-port "http://127.0.0.1:99999/" "http://127.0.0.1:99999/"
usage bad-duration "5x" http://127.0.0.1:1/ --max-time 5x
usage long-duration "9000h" http://127.0.0.1:1/ --max-time 9000h
expect "long-duration: states the limit ($(cat "$tmp/long-duration.err"))" \
    errhas long-duration "'9000h' for --max-time (at most 366 days: 8784h)"
usage long-seconds "99999999" http://127.0.0.1:1/ --connect-timeout 99999999
expect "long-seconds: states the limit" errhas long-seconds "(at most 366 days: 8784h)"
usage bad-connect "soon" http://127.0.0.1:1/ --connect-timeout soon
usage bad-header "NoColonHere" http://127.0.0.1:1/ -H NoColonHere
usage bad-header-name "Bad Name" http://127.0.0.1:1/ -H 'Bad Name: v'
usage bad-policy "$tmp/no-such-policy.json" http://127.0.0.1:1/ --policy "$tmp/no-such-policy.json"
echo '{"max_attempts": "lots"}' >"$tmp/bad-policy.json"
usage bad-policy-file "$tmp/bad-policy.json" http://127.0.0.1:1/ --policy "$tmp/bad-policy.json"
usage bad-retry "-1" http://127.0.0.1:1/ --retry -1
usage bad-flag "--frob" http://127.0.0.1:1/ --frob
usage extra-url "http://b/" http://a/ http://b/
usage bad-data "@$tmp/missing" http://127.0.0.1:1/ -d "@$tmp/missing"
run no-url
expect "no URL: exit 2" [ "$rc" -eq 2 ]
run help-get --help
expect "--help: exit 0" [ "$rc" -eq 0 ]
expect "--help: the usage text" grep -q 'Usage: tether get' "$tmp/help-get.out"

# Sanitizer builds: any report in any stderr is a failure, whatever the exit code said.
check_sanitizers
finish
