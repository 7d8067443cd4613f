#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether serve` against real sockets on loopback: the listening line, the default handler,
# keep-alive headers, --root (ETag, 304, Range, 416, If-Range, ".."), --stats-path, idle
# closes, graceful SIGTERM, start errors and usage errors (exit 2 naming the value).
# Usage: bash tests/cli/test_serve.sh path/to/tether
# Counters, cleanup, $tmp, $pids, start_server, stop_pid and bounded waits.
source "$(dirname "$0")/harness.sh"
here=$(cd "$(dirname "$0")" && pwd)
probe="$here/http_probe.js"
need_node "the HTTP client of these tests"

# start NAME ARGS...: start_server, remembering NAME for stop.
start() {
    name_running=$1
    start_server "$@"
}

# stop [SIGNAL]: signals $pid and waits for it to exit (bounded); $rc is its exit status, 124
# when it had to be killed. A clean stop exits 0 and says nothing on stderr.
stop() {
    local sig=${1:-TERM}
    stop_pid "$pid" "$sig"
    [ "$rc" -eq 0 ] || fail "$name_running: exit $rc after SIG$sig"
    # Sanitizer reports and stray messages land here: a clean run says nothing.
    if [ -s "$tmp/$name_running.err" ]; then
        fail "$name_running wrote to stderr: $(head -5 "$tmp/$name_running.err")"
    fi
}

# get NAME PATH [probe args...]: one request; the probe's lines land in $tmp/NAME.
get() {
    local name=$1 path=$2
    shift 2
    timeout "$(scaled 20)" node "$probe" "$url$path" "$@" >"$tmp/$name" 2>&1
}
# raw_get NAME TARGET: GET TARGET byte for byte (no URL parser in between) from the server at
# $port; the response's lines, without CRs, land in $tmp/NAME.
raw_get() {
    timeout "$(scaled 10)" bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
        printf "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" "$2" >&3 &&
        tr -d "\r" <&3' _ "$port" "$2" >"$tmp/$1" 2>&1
}
has() { grep -qxF -- "$2" "$tmp/$1"; }     # has FILE LINE: exact line
hasre() { grep -qE -- "$2" "$tmp/$1"; }    # hasre FILE REGEX
value() { sed -n "s/^$2 //p" "$tmp/$1" | head -1; }
# stats_say NAME PATH LINE: the server's --stats-path at PATH says LINE (JSON lines as the probe
# prints them), now or within a bounded wait. A connection is counted when its close completes,
# which the client that saw the FIN or RST cannot order against its next request.
stats_line() { get "$1" "$2" --json "$(echo "$3" | cut -d' ' -f2)" && has "$1" "$3"; }
stats_say() { wait_for 10000 stats_line "$@"; }

# ---- the default handler ----
if start basic; then
    expect "listening line is exactly 'listening on http://127.0.0.1:PORT'" \
        [ "$(head -1 "$tmp/basic.out")" = "listening on http://127.0.0.1:$port" ]
    get g1 /
    expect "GET 200" has g1 "status 200"
    expect "GET body ok" has g1 'body "ok\n"'
    expect "Keep-Alive: timeout=65 by default" hasre g1 '^header keep-alive: timeout=65(,|$)'
    expect "Connection: keep-alive by default" has g1 "header connection: keep-alive"
    get post / -X POST --data "hello body"
    expect "POST with a body 200" has post "status 200"
    get head / -X HEAD
    expect "HEAD 200 with Content-Length 3" has head "header content-length: 3"
    expect "HEAD has no body" has head "body-bytes 0"
    stop TERM
    expect "SIGTERM exits 0 (got $rc)" [ "$rc" -eq 0 ]
    expect "stdout has only the listening line" [ "$(wc -l <"$tmp/basic.out")" -eq 1 ]
    expect "quiet stderr" [ ! -s "$tmp/basic.err" ]
fi

if start status --status 503; then
    get s503 /
    expect "--status 503" has s503 "status 503"
    stop
fi

if start big --body-size 1000000; then
    get big /
    expect "--body-size 1000000 gives exactly 1000000 bytes" has big "body-bytes 1000000"
    want=$(node -e 'const c=require("crypto");const u="tether\n";
        process.stdout.write(c.createHash("sha256").update(u.repeat(Math.ceil(1e6/u.length)).slice(0,1e6)).digest("hex"))')
    expect "--body-size bytes are the tether pattern" has big "body-sha256 $want"
    stop
    expect "SIGTERM after a streamed body exits 0" [ "$rc" -eq 0 ]
fi

# A large body is produced piece by piece as the client reads: memory stays small. (Skipped
# under AddressSanitizer, whose quarantine keeps freed pieces resident on purpose.)
if ! ldd "$tether" 2>/dev/null | grep -q 'libasan' && start huge --body-size 256m; then
    get huge / --timeout "$(scaled 60000)"
    expect "--body-size 256m: all bytes" has huge "body-bytes 268435456"
    hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null)
    expect "--body-size 256m streams in bounded memory (peak ${hwm:-?} KiB)" [ "${hwm:-999999}" -lt 65536 ]
    stop
fi

# A streamed body ends inside the server's drain callback; with keep-alive off the server must
# still close the connection afterwards.
if start bigclose --body-size 300k --keep-alive-timeout 0 --stats-path /s; then
    get bc1 /
    expect "streamed body with keep-alive off: all bytes" has bc1 "body-bytes 307200"
    expect "--keep-alive-timeout 0 says Connection: close" has bc1 "header connection: close"
    expect "--keep-alive-timeout 0 sends no Keep-Alive" bash -c "! grep -q '^header keep-alive' '$tmp/bc1'"
    expect "the streamed response's connection was closed" \
        stats_say bcs /s "json closes.not_keep_alive 1"
    stop
fi

if start delay --delay 300ms; then
    get d1 /
    ms=$(value d1 elapsed-ms)
    expect "--delay 300ms delays >= 250 ms (took ${ms:-?} ms)" [ "${ms:-0}" -ge 250 ]
    expect "--delay still answers 200" has d1 "status 200"
    stop
fi

if start nohint --no-keep-alive-hint; then
    get nh /
    expect "--no-keep-alive-hint: no Keep-Alive header" bash -c "! grep -q '^header keep-alive' '$tmp/nh'"
    expect "--no-keep-alive-hint: still keep-alive" has nh "header connection: keep-alive"
    stop
fi

if start nodestyle --close-style node; then
    get ns /
    expect "--close-style node advertises timeout=5" hasre ns '^header keep-alive: timeout=5(,|$)'
    stop
fi

# Graceful shutdown: an in-flight request finishes, with Connection: close.
if start grace --delay 1500ms --stats-path /_tether/stats; then
    timeout "$(scaled 20)" node "$probe" "$url/" >"$tmp/inflight" 2>&1 &
    probe_pid=$!
    pids+=("$probe_pid")
    # Signal only once the request is in the server's hands (node takes a while to start).
    in_flight() { get gstats /_tether/stats --json requests && has gstats "json requests 1"; }
    expect "the request reached the server" wait_for 10000 in_flight
    stop TERM
    wait "$probe_pid"
    expect "in-flight request completes during shutdown" has inflight "status 200"
    expect "in-flight response says Connection: close" has inflight "header connection: close"
    expect "graceful shutdown with a request in flight exits 0 (got $rc)" [ "$rc" -eq 0 ]
fi

# ---- limits and deadlines mapped from flags ----
if start limits --max-requests-per-conn 1 --max-body-size 10 --headers-timeout 300ms; then
    get l1 /
    expect "--max-requests-per-conn 1: Connection: close" has l1 "header connection: close"
    get l2 / -X POST --data "more than ten bytes"
    expect "--max-body-size 10: 413" has l2 "status 413"
    timeout "$(scaled 20)" node -e '
        const s = require("net").connect(Number(process.argv[1]), "127.0.0.1", () =>
            s.write("GET / HTTP/1.1\r\nHost: x\r\n"));
        const t0 = Date.now();
        let got = "";
        s.on("data", (d) => { got += d; });
        s.on("end", () => { console.log("status " + got.split(" ")[1]);
                            console.log("ms " + (Date.now() - t0)); s.end(); });
        s.on("error", (e) => console.log("error " + e.code));
    ' "$port" >"$tmp/slow" 2>&1
    expect "--headers-timeout 300ms: 408" has slow "status 408"
    ms=$(value slow ms)
    # Not before the deadline (the clock starts at the first byte, after t0); the upper bound
    # only says it did not hang.
    expect "--headers-timeout 300ms: in time (${ms:-?} ms)" \
        [ "${ms:-99999}" -ge 290 -a "${ms:-99999}" -lt "$(scaled 5000)" ]
    stop
fi

# ---- idle closes: FIN by default, RST with --close-style rst ----
if start idle --keep-alive-timeout 1s --keep-alive-buffer 0 --stats-path /_tether/stats; then
    timeout "$(scaled 20)" node -e '
        const net = require("net");
        const s = net.connect(Number(process.argv[1]), "127.0.0.1", () =>
            s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        let got = "";
        s.on("data", (d) => { got += d; });
        s.on("end", () => { console.log("eof"); s.end(); });
        s.on("error", (e) => console.log("error " + e.code));
        s.on("close", () => console.log(/^HTTP\/1.1 200/.test(got) ? "served" : "unserved"));
    ' "$port" >"$tmp/idle-client" 2>&1
    expect "idle close is a clean EOF" has idle-client "eof"
    expect "idle close: never ECONNRESET" bash -c "! grep -q '^error' '$tmp/idle-client'"
    expect "stats count the idle close" stats_say idles /_tether/stats "json closes.idle_timeout 1"
    expect "graceful idle close sends no RST" stats_say idles /_tether/stats "json rst_sent 0"
    stop
fi

if start rst --close-style rst --keep-alive-timeout 1s --stats-path /_tether/stats; then
    timeout "$(scaled 20)" node -e '
        const net = require("net");
        const s = net.connect(Number(process.argv[1]), "127.0.0.1", () =>
            s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        s.on("data", () => {});
        s.on("end", () => console.log("eof"));
        s.on("error", (e) => console.log("error " + e.code));
    ' "$port" >"$tmp/rst-client" 2>&1
    expect "--close-style rst resets idle connections" has rst-client "error ECONNRESET"
    expect "stats count the RST" stats_say rsts /_tether/stats "json rst_sent 1"
    stop
fi

# ---- --root ----
root="$tmp/root"
mkdir -p "$root/dir" "$root/empty"
printf '0123456789abcdefghij' >"$root/file.txt"
printf '<p>index</p>' >"$root/dir/index.html"
head -c 300000 /dev/urandom >"$root/blob.bin"
echo secret >"$tmp/secret.txt"
ln -s "$tmp/secret.txt" "$root/escape"
if start files --root "$root"; then
    get f1 /file.txt
    expect "--root 200" has f1 "status 200"
    expect "--root body" has f1 'body "0123456789abcdefghij"'
    expect "--root Content-Type" has f1 "header content-type: text/plain; charset=utf-8"
    expect "--root Accept-Ranges" has f1 "header accept-ranges: bytes"
    expect "--root strong ETag" hasre f1 '^header etag: "[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$'
    expect "--root Last-Modified is an IMF-fixdate" \
        hasre f1 '^header last-modified: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$'
    etag=$(sed -n 's/^header etag: //p' "$tmp/f1")
    lm=$(sed -n 's/^header last-modified: //p' "$tmp/f1")

    get f304 /file.txt -H "If-None-Match: $etag"
    expect "If-None-Match -> 304" has f304 "status 304"
    expect "304 has no body" has f304 "body-bytes 0"
    get f304b /file.txt -H "If-None-Match: \"nope\", W/$etag"
    expect "If-None-Match list with a weak match -> 304" has f304b "status 304"
    get fims /file.txt -H "If-Modified-Since: $lm"
    expect "If-Modified-Since -> 304" has fims "status 304"

    get r1 /file.txt -H "Range: bytes=2-5"
    expect "Range a-b -> 206" has r1 "status 206"
    expect "Range a-b bytes" has r1 'body "2345"'
    expect "Range a-b Content-Range" has r1 "header content-range: bytes 2-5/20"
    expect "Range a-b Content-Length" has r1 "header content-length: 4"
    get r2 /file.txt -H "Range: bytes=15-"
    expect "Range a- bytes" has r2 'body "fghij"'
    get r3 /file.txt -H "Range: bytes=-3"
    expect "Range -n bytes" has r3 'body "hij"'
    expect "Range -n Content-Range" has r3 "header content-range: bytes 17-19/20"
    get r416 /file.txt -H "Range: bytes=20-30"
    expect "unsatisfiable Range -> 416" has r416 "status 416"
    expect "416 Content-Range: bytes */20" has r416 "header content-range: bytes */20"
    get rmulti /file.txt -H "Range: bytes=0-1,4-5"
    expect "multiple ranges -> 200 full" has rmulti "status 200"
    get ir1 /file.txt -H "Range: bytes=0-1" -H "If-Range: $etag"
    expect "If-Range matching ETag -> 206" has ir1 "status 206"
    get ir2 /file.txt -H "Range: bytes=0-1" -H 'If-Range: "other"'
    expect "If-Range mismatch -> 200 full" has ir2 "status 200"
    expect "If-Range mismatch -> whole body" has ir2 "body-bytes 20"
    get ir3 /file.txt -H "Range: bytes=0-1" -H "If-Range: $lm"
    expect "If-Range matching date -> 206" has ir3 "status 206"
    get ir4 /file.txt -H "Range: bytes=0-1" -H "If-Range: Thu, 01 Jan 1970 00:00:00 GMT"
    expect "If-Range old date -> 200" has ir4 "status 200"

    get blob /blob.bin
    expect "large file size" has blob "body-bytes 300000"
    expect "large file bytes" has blob "body-sha256 $(sha256sum "$root/blob.bin" | cut -d' ' -f1)"
    get blobr /blob.bin -H "Range: bytes=100000-250000"
    expect "large range bytes" has blobr \
        "body-sha256 $(tail -c +100001 "$root/blob.bin" | head -c 150001 | sha256sum | cut -d' ' -f1)"

    get idx /dir/
    expect "directory -> index.html" has idx 'body "<p>index</p>"'
    expect "index.html is text/html" has idx "header content-type: text/html; charset=utf-8"
    get redir /dir
    expect "directory without / -> 301" has redir "status 301"
    expect "301 Location" has redir "header location: /dir/"
    # The 301's Location comes from the normalised path: a raw target starting with "//" must
    # not become a network-path reference to another host (an open redirect).
    for target in '//evil.example/../dir' '//evil.example/%2e%2e/dir' 'http://x//evil.example/../dir' \
        '/dir//' '//dir?q=1'; do
        raw_get rawredir "$target"
        case $target in
        */dir//) want='' ;;
        *\?q=1) want='Location: /dir/?q=1' ;;
        *) want='Location: /dir/' ;;
        esac
        if [ -n "$want" ]; then
            expect "raw $target -> 301 $want" grep -qxF "$want" "$tmp/rawredir"
        fi
        expect "raw $target: no Location starting with //" bash -c "! grep -qi '^Location: //' '$tmp/rawredir'"
    done
    mkdir -p "$root/a b"
    raw_get rawspace '/a%20b'
    expect "301 Location percent-encodes the decoded path" grep -qxF 'Location: /a%20b/' "$tmp/rawspace"
    get noidx /empty/
    expect "directory without index.html -> 404" has noidx "status 404"
    get missing /nope.txt
    expect "missing file -> 404" has missing "status 404"
    get esc1 /../secret.txt
    expect "'..' escape refused (403)" has esc1 "status 403"
    get esc2 /dir/../../secret.txt
    expect "'..' escape via a subdirectory refused" has esc2 "status 403"
    get esc3 /%2e%2e/secret.txt
    expect "encoded '..' escape refused" has esc3 "status 403"
    get esc4 /escape
    expect "symlink out of the root refused" has esc4 "status 403"
    get inside /dir/../file.txt
    expect "'..' inside the root is fine" has inside "status 200"
    get post405 /file.txt -X POST --data x
    expect "POST -> 405" has post405 "status 405"
    expect "405 Allow" has post405 "header allow: GET, HEAD"
    get fhead /blob.bin -X HEAD
    expect "HEAD on a file: full Content-Length, no body" \
        bash -c "grep -qx 'header content-length: 300000' '$tmp/fhead' && grep -qx 'body-bytes 0' '$tmp/fhead'"
    stop
    expect "--root server exits 0" [ "$rc" -eq 0 ]
fi

# ---- --stats-path ----
if start stats --stats-path /_tether/stats; then
    get k1 / -H "Idempotency-Key: key-a"
    get k2 / -H "Idempotency-Key: key-a"
    get k3 / -X POST --data x -H "Idempotency-Key: key-b"
    get st /_tether/stats --json requests --json requests_by_method.GET \
        --json requests_by_method.POST --json idempotency_keys.repeated \
        --json idempotency_keys.keys.key-a --json idempotency_keys.keys.key-b \
        --json closes.idle_timeout --json fin_sent --json rst_sent --json connections.open \
        --json responses.2xx
    expect "stats: valid JSON" has st "json-valid"
    expect "stats: application/json" has st "header content-type: application/json"
    expect "stats: requests 3" has st "json requests 3"
    expect "stats: GET 2 (the stats request not counted)" has st "json requests_by_method.GET 2"
    expect "stats: POST 1" has st "json requests_by_method.POST 1"
    expect "stats: one repeated Idempotency-Key" has st "json idempotency_keys.repeated 1"
    expect "stats: key-a seen twice" has st "json idempotency_keys.keys.key-a 2"
    expect "stats: key-b (seen once) not listed" has st "json idempotency_keys.keys.key-b undefined"
    expect "stats: closes by cause" has st "json closes.idle_timeout 0"
    expect "stats: fin_sent" hasre st '^json fin_sent [0-9]+$'
    expect "stats: rst_sent 0" has st "json rst_sent 0"
    expect "stats: open connections" hasre st '^json connections.open [0-9]+$'
    expect "stats: responses by class" hasre st '^json responses.2xx [0-9]+$'
    # 110 more keys seen twice, and "hot" five times, on one pipelined connection: the
    # document lists the 100 most repeated (hot first), the rest are counted as omitted.
    reqs=""
    for i in $(seq 1 110) hot hot hot hot hot; do
        reqs+="GET / HTTP/1.1\r\nHost: x\r\nIdempotency-Key: many-$i\r\n\r\n"
        [ "$i" = hot ] || reqs+="GET / HTTP/1.1\r\nHost: x\r\nIdempotency-Key: many-$i\r\n\r\n"
    done
    reqs+="GET /_tether/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    timeout "$(scaled 10)" bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "$2" >&3 &&
        tr -d "\r" <&3' _ "$port" "$reqs" | sed -n '/^{/p' | tail -1 >"$tmp/manykeys.json"
    expect "stats: 100 keys listed of 112 repeated ($(head -c 200 "$tmp/manykeys.json"))" \
        [ "$(jget "$tmp/manykeys.json" 'Object.keys(j.idempotency_keys.keys).length')" = 100 ]
    expect "stats: the most repeated key is listed" \
        [ "$(jget "$tmp/manykeys.json" 'j.idempotency_keys.keys["many-hot"]')" = 5 ]
    expect "stats: keys_omitted 12" \
        [ "$(jget "$tmp/manykeys.json" 'j.idempotency_keys.keys_omitted')" = 12 ]
    stop
fi

# ---- TLS ----
if command -v openssl >/dev/null &&
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
        -days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1; then
    if start tls --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem"; then
        expect "TLS listening line says https" [ "$(head -1 "$tmp/tls.out")" = "listening on https://127.0.0.1:$port" ]
        get t1 /
        expect "HTTPS GET 200" has t1 "status 200"
        stop
        expect "TLS server exits 0" [ "$rc" -eq 0 ]
    fi
else
    fail "could not generate a test certificate with openssl"
fi

# ---- start errors ----
if start taken; then
    timeout "$(scaled 10)" "$tether" serve --listen "127.0.0.1:$port" >"$tmp/inuse.out" 2>"$tmp/inuse.err"
    code=$?
    expect "address in use exits 1 (got $code)" [ "$code" -eq 1 ]
    expect "address in use names the address" grep -q "127.0.0.1:$port" "$tmp/inuse.err"
    expect "address in use: one stderr line" [ "$(wc -l <"$tmp/inuse.err")" -eq 1 ]
    expect "address in use: nothing on stdout" [ ! -s "$tmp/inuse.out" ]
    stop
fi

# ---- usage errors: exit 2, one stderr line naming the value ----
# usage NAME NEEDLE ARGS...
usage() {
    local name=$1 needle=$2
    shift 2
    timeout "$(scaled 10)" "$tether" serve "$@" >"$tmp/u.out" 2>"$tmp/u.err"
    local code=$?
    if [ "$code" -ne 2 ]; then
        fail "$name: exit $code, expected 2 ($(head -1 "$tmp/u.err"))"
    elif [ "$(wc -l <"$tmp/u.err")" -ne 1 ]; then
        fail "$name: stderr is not one line: $(cat "$tmp/u.err")"
    elif ! grep -qF -- "$needle" "$tmp/u.err"; then
        fail "$name: stderr does not name '$needle': $(cat "$tmp/u.err")"
    elif [ -s "$tmp/u.out" ]; then
        fail "$name: wrote stdout"
    else
        ok
    fi
}
usage "bad duration" "'5x' for --keep-alive-timeout" --keep-alive-timeout 5x
expect "bad duration message" grep -qx "tether serve: invalid duration '5x' for --keep-alive-timeout.*" "$tmp/u.err"
usage "bad port" "'nope:99999'" --listen nope:99999
usage "host not an IP" "'nope:80'" --listen nope:80
usage "bad status 42" "'42' for --status" --status 42
usage "1xx status" "'150' for --status" --status 150
usage "status 1000" "'1000' for --status" --status 1000
usage "bad close style" "'weird' for --close-style" --close-style weird
usage "cert without key" "--tls-cert" --tls-cert "$tmp/cert.pem"
usage "key without cert" "--tls-key" --tls-key "$tmp/key.pem"
usage "unknown flag" "'--frob'" --frob
usage "missing value" "--delay" --delay
usage "bad size" "'12q' for --body-size" --body-size 12q
usage "bad number" "'ten' for --max-connections" --max-connections ten
usage "inline value" "'5y' for --delay" --delay=5y
usage "positional" "'extra'" extra
usage "stats path" "'stats' for --stats-path" --stats-path stats
usage "missing TLS file" "$tmp/none.pem" --tls-cert "$tmp/none.pem" --tls-key "$tmp/none.pem"
usage "root not a directory" "$root/file.txt" --root "$root/file.txt"
printf 'not a certificate\n' >"$tmp/junk.pem"
usage "TLS file not PEM" "$tmp/junk.pem" --tls-cert "$tmp/junk.pem" --tls-key "$tmp/junk.pem" --listen 127.0.0.1:0

# Values the parsers accept: a later unknown flag is then the first (and only) complaint.
usage "fractional duration accepted" "'--frob'" --delay 1.5s --frob
usage "zero duration accepted" "'--frob'" --headers-timeout 0 --frob
usage "size suffixes accepted" "'--frob'" --body-size 64k --max-body-size 1MiB --frob
usage "IPv6 and default-host listen accepted" "'--frob'" --listen '[::1]:0' --listen :0 --frob
usage "inline values accepted" "'--frob'" --status=204 --close-style=rst --frob
usage "unitless duration" "'5' for --delay" --delay 5
usage "duration over the limit" "'8785h' for --delay (at most 366 days: 8784h)" --delay 8785h
usage "sub-millisecond duration" "'1.5ms' for --delay" --delay 1.5ms
usage "negative size" "'-1' for --body-size" --body-size -1
usage "unbracketed IPv6" "'::1:80' for --listen" --listen ::1:80
usage "tiny head limit" "'10' for --max-head-size" --max-head-size 10
usage "value on a switch" "'yes' for --no-keep-alive-hint" --no-keep-alive-hint=yes

timeout "$(scaled 10)" "$tether" help serve >"$tmp/help.out" 2>&1
expect "tether help serve exits 0" [ $? -eq 0 ]
for flag in --listen --keep-alive-timeout --no-keep-alive-hint --headers-timeout --body-timeout \
    --request-timeout --send-timeout --max-connections --max-requests-per-conn --max-conn-age \
    --tls-cert --tls-key --close-style --shutdown-grace --max-body-size --status --body-size \
    --delay --root --stats-path; do
    expect "help mentions $flag" grep -qe "$flag" "$tmp/help.out"
done
timeout "$(scaled 10)" "$tether" serve --help >"$tmp/help2.out" 2>&1
expect "tether serve --help exits 0" [ $? -eq 0 ]
expect "tether --help lists serve" bash -c "'$tether' --help | grep -q '^  serve '"

finish
