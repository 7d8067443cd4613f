#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether get` for people who type curl: the same bytes as curl on the same `tether serve` for
# -i, -I, -w and the body; grouped short flags; -f, -s/-S, -u and user info, -A, the default
# Accept, the data flags (compared with curl's on an echo peer), --data-json and the error for
# a JSON body given to --json; bare seconds; refused connects bounded by the attempts (and
# --wait-for for a server that comes up); failure lines that say why (certificate, scheme,
# POST not retried); curl's -v lines; exit codes 0, 1, 2.
# Usage: bash tests/cli/test_get_curl.sh path/to/tether
source "$(dirname "$0")/harness.sh"
need_tether
need_node "the echo, reset and TLS-record peers"
command -v curl >/dev/null 2>&1 || skip "curl is not installed; run scripts/install-deps.sh"
peers_js="$(dirname "$0")/curl_peers.js"

# run NAME ARGS...: `tether get ARGS`, bounded; $tmp/NAME.{out,err} and $rc.
run() {
    local name=$1
    shift
    timeout "$(scaled 30)" "$tether" get "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    rc=$?
}
# ccurl NAME ARGS...: curl the same way, into $tmp/NAME.curl.{out,err} and $crc.
ccurl() {
    local name=$1
    shift
    timeout "$(scaled 30)" curl "$@" >"$tmp/$name.curl.out" 2>"$tmp/$name.curl.err"
    crc=$?
}
# same NAME: tether's and curl's stdout are the same bytes once Date is dropped (the two
# requests may straddle a second boundary; nothing else may differ).
nodate() { grep -av '^Date: ' "$1"; }
same() { cmp -s <(nodate "$tmp/$1.out") <(nodate "$tmp/$1.curl.out"); }
oneline() { [ "$(wc -l <"$tmp/$1.err")" -eq 1 ]; }
outhas() { grep -qF -- "$2" "$tmp/$1.out"; }
# usage NAME TEXT ARGS...: exit 2, one stderr line containing TEXT, nothing on stdout.
usage() {
    local name=$1 text=$2
    shift 2
    run "$name" "$@"
    expect "$name: exit 2 (got $rc)" [ "$rc" -eq 2 ]
    expect "$name: says '$text' ($(cat "$tmp/$name.err"))" errhas "$name" "$text"
    expect "$name: one stderr line" oneline "$name"
    expect "$name: no stdout" [ ! -s "$tmp/$name.out" ]
}
# peer NAME MODE: a curl_peers.js peer; sets $pport.
peer() {
    if spawn_listening "$1" 1 node "$peers_js" "$2"; then
        pport=$port1
        return 0
    fi
    fail "$1: the $2 peer did not start ($(cat "$tmp/$1.err"))"
    return 1
}

# ---- the same bytes as curl on tether serve ----
if start_server basic; then
    for flags in "-i" "-I" "-si" "-sI" "-s -w %{http_code}" "-s"; do
        name="cmp${flags// /}"
        name=${name//[^a-zA-Z0-9]/_}
        # shellcheck disable=SC2086 # the flags are words on purpose
        run "$name" $flags "$url/"
        # shellcheck disable=SC2086
        ccurl "$name" $flags "$url/"
        expect "$flags: exit 0 like curl ($rc, $crc)" [ "$rc" -eq 0 ] && [ "$crc" -eq 0 ]
        expect "$flags: the same bytes as curl" same "$name"
    done
    expect "-I: a head and no body" outhas cmp_I "Content-Length: 3"
    expect "-i: the status line first" [ "$(head -c 15 "$tmp/cmp_i.out")" = "HTTP/1.1 200 OK" ]

    # -w: every variable whose value is the same for curl and tether on this request.
    fmt='%{http_code} %{response_code} %{size_download} %{num_connects} %{content_type} %{url_effective} %{remote_ip} %{remote_port} %{exitcode} %{num_redirects} %{method} %{scheme} [%{errormsg}] %%\t|\n'
    run wvars -s -o /dev/null -w "$fmt" "127.0.0.1:$port/"
    ccurl wvars -s -o /dev/null -w "$fmt" "127.0.0.1:$port/"
    expect "-w: curl's variables, a scheme-less URL ($(cat "$tmp/wvars.out"))" same wvars
    printf '%%{http_version} %%{size_upload}\\n%%{stderr}to stderr\\n' >"$tmp/wo.txt"
    run wfile -s -o /dev/null -d abc -w "@$tmp/wo.txt" "$url/"
    ccurl wfile -s -o /dev/null -d abc -w "@$tmp/wo.txt" "$url/"
    expect "-w @FILE, %{http_version}, %{size_upload}, %{stderr}, as curl" \
        same wfile && errhas wfile "to stderr" && grep -qF "to stderr" "$tmp/wfile.curl.err"
    run wtimes -s -o /dev/null -w '%{time_total} %{time_connect} %{time_starttransfer} %{num_retries} %{num_attempts}' "$url/"
    expect "-w: times in curl's seconds form, tether's counts ($(cat "$tmp/wtimes.out"))" \
        grep -qE '^[0-9]+\.[0-9]{6} [0-9]+\.[0-9]{6} [0-9]+\.[0-9]{6} 0 1$' "$tmp/wtimes.out"
    run noscheme -s -o /dev/null -w '%{url_effective}' "127.0.0.1:$port/?next=http://x"
    expect "no scheme, '://' in the query: http:// ($(cat "$tmp/noscheme.out"))" \
        [ "$rc" -eq 0 ] && [ "$(cat "$tmp/noscheme.out")" = "http://127.0.0.1:$port/?next=http://x" ]
    run wunknown -s -w 'a%{nope}b%{' "$url/"
    ccurl wunknown -s -w 'a%{nope}b%{' "$url/"
    expect "-w: an unknown variable prints nothing, exit 0, like curl" \
        [ "$rc" -eq 0 ] && [ "$crc" -eq 0 ] && same wunknown
    expect "-w: an unknown variable is named on stderr" \
        errhas wunknown "unknown --write-out variable: 'nope'"

    # Grouped one-letter flags, a value at the end of a group and an attached value.
    run group1 -sSfo "$tmp/g.txt" "$url/"
    expect "-sSfo FILE: exit 0, the body in FILE" [ "$rc" -eq 0 ] && [ "$(cat "$tmp/g.txt")" = ok ]
    run group2 -XPOST -sSw '%{method} %{http_code}' -o /dev/null "$url/"
    expect "-XPOST -sSw: '$(cat "$tmp/group2.out")'" [ "$(cat "$tmp/group2.out")" = "POST 200" ]
    usage group-unknown "unknown option '-Z' (in '-sZ')" "$url/" -sZ

    # Bare seconds as curl takes them.
    run secs --max-time 5 --connect-timeout 2.5 -s "$url/"
    expect "--max-time 5 --connect-timeout 2.5: exit 0" [ "$rc" -eq 0 ]
    usage secs-bad "'5x'" "$url/" --max-time 5x

    # -v: curl's lines.
    run verbose -v "$url/"
    expect "-v: exit 0" [ "$rc" -eq 0 ]
    expect "-v: * Connected to" errhas verbose "* Connected to 127.0.0.1 (127.0.0.1) port $port"
    expect "-v: > request line" errhas verbose "> GET / HTTP/1.1"
    expect "-v: > Host" errhas verbose "> Host: 127.0.0.1:$port"
    expect "-v: > Accept: */*" errhas verbose "> Accept: */*"
    expect "-v: < status line" errhas verbose "< HTTP/1.1 200 OK"
    expect "-v: < a field" errhas verbose "< Content-Length: 3"
    expect "-v: tether's summary" errhas verbose "* 1 attempt, 0 retries, 0 replays"
    stop_server
fi

# ---- -f, -s and -S on a 404 ----
if start_server missing --status 404; then
    run f404 -f "$url/x"
    ccurl f404 -f "$url/x"
    expect "-f 404: exit 1 (curl 22, got $crc)" [ "$rc" -eq 1 ] && [ "$crc" -eq 22 ]
    expect "-f 404: no body, like curl" [ ! -s "$tmp/f404.out" ] && [ ! -s "$tmp/f404.curl.out" ]
    expect "-f 404: curl's message ($(cat "$tmp/f404.err"))" \
        errhas f404 "tether get: The requested URL returned error: 404"
    run fi404 -sSfi "$url/x"
    ccurl fi404 -sSfi "$url/x"
    expect "-sSfi 404: the head and no body, like curl" same fi404
    run fo404 -sf -o "$tmp/nf.txt" "$url/x"
    expect "-f -o FILE 404: no file, as curl" [ "$rc" -eq 1 ] && [ ! -e "$tmp/nf.txt" ]
    run s404 -s "$url/x"
    expect "-s 404: exit 1, the body, no error line" \
        [ "$rc" -eq 1 ] && [ "$(cat "$tmp/s404.out")" = ok ] && [ ! -s "$tmp/s404.err" ]
    run sS404 -sS "$url/x"
    expect "-sS 404: the error line" errhas sS404 "tether get: HTTP 404 Not Found"
    stop_server
fi

# ---- a retryable status on a POST says why it was not retried ----
if start_server busy --status 503; then
    run post503 -d x "$url/"
    expect "POST 503: why not retried ($(cat "$tmp/post503.err"))" errhas post503 \
        "tether get: HTTP 503 Service Unavailable (not retried: POST without Idempotency-Key"
    run key503 -d x --idempotency-key auto -w '%{num_attempts} %{num_retries}' -o /dev/null "$url/"
    expect "POST 503 with a key: retried ($(cat "$tmp/key503.out"))" [ "$(cat "$tmp/key503.out")" = "3 2" ]
    stop_server
fi

# ---- a redirect is not followed without -L: its body, exit 0, as curl ----
if start_server moved --status 301; then
    run r301 -s -w '%{http_code}' "$url/old"
    ccurl r301 -s -w '%{http_code}' "$url/old"
    expect "301: exit 0 like curl ($rc, $crc)" [ "$rc" -eq 0 ] && [ "$crc" -eq 0 ]
    expect "301: the body and the code, as curl ($(cat "$tmp/r301.out"))" same r301
    stop_server
fi

# ---- what reaches the server, compared with curl on an echo peer ----
if peer echo echo; then
    e="http://127.0.0.1:$pport"
    printf 'line1\nline2\n' >"$tmp/lines.txt"
    checks=(
        "auth|-u alice:s3cret $e/"
        "userinfo|http://bob:p%40ss@127.0.0.1:$pport/"
        "useronly|http://carol@127.0.0.1:$pport/"
        "agent|-A my-agent/1 $e/"
        "dfile|-d @$tmp/lines.txt $e/"
        "dbinary|--data-binary @$tmp/lines.txt $e/"
        "draw|--data-raw @$tmp/lines.txt $e/"
        "djoin|-d a=1 -d b=2 $e/"
    )
    for c in "${checks[@]}"; do
        name=${c%%|*}
        # shellcheck disable=SC2086
        run "$name" -s ${c#*|}
        # shellcheck disable=SC2086
        ccurl "$name" -s ${c#*|}
        # curl's User-Agent differs, except where -A sets both.
        sed -i 's/"user-agent":"[^"]*",//' "$tmp/$name.curl.out" "$tmp/$name.out"
        expect "$name: what the server got is what curl sends ($(cat "$tmp/$name.out"))" same "$name"
    done
    expect "-u: Basic auth reached the server" outhas auth '"authorization":"Basic YWxpY2U6czNjcmV0"'
    expect "--data-binary @FILE keeps newlines" outhas dbinary '"body":"line1\nline2\n"'
    expect "-d @FILE drops them" outhas dfile '"body":"line1line2"'
    expect "--data-raw: @ is just a character" outhas draw "\"body\":\"@$tmp/lines.txt\""
    expect "the default Accept" outhas djoin '"accept":"*/*"'
    run djson -s --data-json '{"a":1}' "$e/"
    ccurl djson -s --json '{"a":1}' "$e/"
    sed -i 's/"user-agent":"[^"]*",//' "$tmp/djson.curl.out" "$tmp/djson.out"
    expect "--data-json is curl's --json ($(cat "$tmp/djson.out"))" same djson
    expect "--data-json: JSON Content-Type" outhas djson '"content-type":"application/json"'
    run authv -v -u alice:s3cret "$e/"
    expect "-v hides the credentials" errhas authv "> Authorization: <hidden>"
    expect "-v never shows them" [ -z "$(grep -F YWxpY2U6czNjcmV0 "$tmp/authv.err")" ]
    run userv -v "http://bob:pw@127.0.0.1:$pport/"
    expect "user info never printed" [ -z "$(grep -F 'bob:pw' "$tmp/userv.err")" ]
    stop_pid "$pid"
fi
run secret --retry 0 "http://alice:s3cret@127.0.0.1:1/"
expect "user info: never in the failure line ($(cat "$tmp/secret.err"))" \
    [ "$rc" -eq 1 ] && errhas secret "ECONNREFUSED" && [ -z "$(grep -F s3cret "$tmp/secret.err")" ]
usage json-body "--data-json" --json '{"a":1}' http://127.0.0.1:1/
usage user-nocolon "USER:PASSWORD" -u alice http://127.0.0.1:1/
usage head-data "-I sends HEAD" -I -d x http://127.0.0.1:1/

# ---- refused connects: bounded by the attempts, or waited for when asked ----
if start_server gone; then
    closed=$port
    stop_server
    run refused --json "http://127.0.0.1:$closed/"
    expect "refused: exit 1" [ "$rc" -eq 1 ]
    expect "refused: 3 attempts, the policy's ($(jget "$tmp/refused.out" j.attempts))" \
        [ "$(jget "$tmp/refused.out" j.attempts)" = 3 ]
    expect "refused: the line says 3 attempts" \
        errhas refused "connect ECONNREFUSED 127.0.0.1:$closed after 3 attempts"
    run refusedv -v "http://127.0.0.1:$closed/"
    expect "refused -v: policy and summary agree on 3" \
        errhas refusedv "* policy default: 3 attempts" && errhas refusedv "* 3 attempts, 2 retries"

    # --wait-for: tether get keeps knocking; the server starts once the first refusal is seen.
    : >"$tmp/wait.err"
    timeout "$(scaled 30)" "$tether" get -v --wait-for 20s "http://127.0.0.1:$closed/" \
        >"$tmp/wait.out" 2>"$tmp/wait.err" &
    getpid=$!
    pids+=("$getpid")
    if wait_for 10000 errhas wait "attempt 1 failed: connect ECONNREFUSED"; then
        if start_server back --listen "127.0.0.1:$closed"; then
            wait "$getpid"
            rc=$?
            expect "--wait-for: exit 0 once the server is up (got $rc)" [ "$rc" -eq 0 ]
            expect "--wait-for: the body" [ "$(cat "$tmp/wait.out")" = ok ]
            expect "--wait-for: said so in -v" errhas wait "refused connects retried for 20000 ms"
            stop_server
        fi
    else
        fail "--wait-for: no refused attempt seen ($(head -3 "$tmp/wait.err"))"
    fi
    # On a terminal, a wait past a second shows a notice (script(1) gives the terminal).
    if command -v script >/dev/null 2>&1; then
        TERM=dumb script -qc "$tether get --retry-connrefused --max-time 2 http://127.0.0.1:$closed/" \
            /dev/null >"$tmp/tty.out" 2>&1
        expect "tty: the retry notice ($(tr '\r\033' '|^' <"$tmp/tty.out" | head -c 300))" \
            grep -qE 'tether get: connection refused, retrying in [0-9]+ ms \(attempt [0-9]+\)' \
            "$tmp/tty.out"
    fi
fi

# ---- failure lines that say why ----
if peer reset reset; then
    run postreset -d x "http://127.0.0.1:$pport/"
    expect "POST reset: exit 1" [ "$rc" -eq 1 ]
    expect "POST reset: why not retried ($(cat "$tmp/postreset.err"))" errhas postreset \
        "socket hang up (not retried: POST without Idempotency-Key may have run on the server; add --idempotency-key auto or -H 'Idempotency-Key: "
    expect "POST reset: one line" oneline postreset
    run postkey --json -d x --idempotency-key auto "http://127.0.0.1:$pport/"
    expect "--idempotency-key auto: retried (3 attempts)" [ "$(jget "$tmp/postkey.out" j.attempts)" = 3 ]
    stop_pid "$pid"
fi
if peer tlsish tls; then
    run plaintls "http://127.0.0.1:$pport/"
    expect "http:// to a TLS port: the hint ($(cat "$tmp/plaintls.err"))" \
        errhas plaintls "server speaks TLS on this port; use https://"
    stop_pid "$pid"
fi
if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
    -days 2 -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1 &&
    start_server tls --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem"; then
    run selfsigned "$url/"
    expect "self-signed: exit 1" [ "$rc" -eq 1 ]
    expect "self-signed: the reason and the fix ($(cat "$tmp/selfsigned.err"))" errhas selfsigned \
        "connect ETLSCERT 127.0.0.1:$port: self-signed certificate (use --cacert FILE or -k)"
    run cacert --cacert "$tmp/cert.pem" -v "$url/"
    expect "--cacert: exit 0" [ "$rc" -eq 0 ]
    expect "-v: the TLS session" errhas cacert "* SSL connection using TLSv1."
    expect "-v: the certificate subject" errhas cacert "*  subject: CN=localhost"
    run plainhttp "http://127.0.0.1:$port/"
    expect "http:// to tether serve's TLS port: exit 1" [ "$rc" -eq 1 ]
    expect "http:// to tether serve's TLS port: nginx's answer ($(cat "$tmp/plainhttp.out"))" \
        grep -q "The plain HTTP request was sent to HTTPS port" "$tmp/plainhttp.out"
    expect "http:// to tether serve's TLS port: the status ($(cat "$tmp/plainhttp.err"))" \
        errhas plainhttp "HTTP 400 Bad Request"
    tlsport=$port
    stop_server
    if start_server plainport; then
        run wrongscheme "https://127.0.0.1:$port/"
        expect "https:// to a plain port: the hint ($(cat "$tmp/wrongscheme.err"))" \
            errhas wrongscheme "the server speaks plain HTTP on this port; use http://"
        stop_server
    fi
    : "$tlsport"
fi

check_sanitizers
finish
