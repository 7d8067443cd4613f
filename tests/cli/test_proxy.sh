#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether proxy` on loopback: Toxiproxy's flags (-host=, -port, -config, -seed, -version,
# the metrics flags), the API over HTTP, --listen/--upstream proxies, every preset relaying (or not) to a
# `tether serve` upstream, scaled idle timeouts (FIN, RST, silent), --toxic, usage errors
# (exit 2 naming the value), start errors and SIGINT/SIGTERM (exit 0).
# Usage: bash tests/cli/test_proxy.sh path/to/tether
# Counters, cleanup, $tmp, $pids, spawn_listening, stop_pid and bounded waits.
source "$(dirname "$0")/harness.sh"
need_node "the HTTP and TCP client of these tests"

# The client side, in Node (present wherever the peer tests run; curl may not be).
#   http METHOD URL [BODY]     -> "status N", "elapsed-ms N", "raw BODY-ON-ONE-LINE" and
#                                 "body JSON-STRING", or "error CODE"
#   idle HOST PORT MAX_MS      -> connect, send nothing; "eof MS", "reset MS" or "open"
#   silent HOST PORT API_PORT  -> connect and stay idle until the proxy's API reports that the
#                                 flow expired (GET /events: "expire"; "early-eof"/"early-reset"
#                                 if anything happens before), then write: "reset MS" / "eof MS" /
#                                 "no-answer" / "no-expiry"
#   noreply HOST PORT WAIT_MS  -> send a GET; "silence" when nothing arrives and nothing closes
#                                 within WAIT_MS, else "data", "eof" or "reset"
#   firstbyte HOST PORT MAX_MS -> send a GET; "reset", "eof-empty", "data" or "silence"
# Every MAX_MS and the HTTP timeout are bounds on something that must happen, so they are scaled
# by TETHER_TEST_TIMEOUT_MULTIPLIER; WAIT_MS is a window in which nothing may happen, so it is not.
cat >"$tmp/probe.js" <<'EOF'
'use strict';
const http = require('http');
const net = require('net');
const [mode, a, b, c] = process.argv.slice(2);
const t0 = Date.now();
const ms = () => Date.now() - t0;
const out = (s) => { console.log(s); process.exit(0); };
const mult = Math.max(1, Number(process.env.TETHER_TEST_TIMEOUT_MULTIPLIER) || 1);
const bound = (v) => Number(v) * mult;
if (mode === 'http') {
  const url = new URL(b);
  const req = http.request(url, { method: a, agent: false,
    headers: { 'User-Agent': 'test_proxy', 'Content-Type': 'application/json' } }, (res) => {
    const chunks = [];
    res.on('data', (d) => chunks.push(d));
    res.on('end', () => {
      console.log('status ' + res.statusCode);
      console.log('elapsed-ms ' + ms());
      const text = Buffer.concat(chunks).toString();
      console.log('raw ' + text.replace(/[\r\n]+/g, ' '));
      out('body ' + JSON.stringify(text));
    });
  });
  req.on('error', (e) => out('error ' + (e.code || e.message)));
  req.setTimeout(bound(10000), () => { req.destroy(); out('error timeout'); });
  req.end(c === undefined ? undefined : c);
} else if (mode === 'idle') {
  const s = net.connect(Number(b), a);
  s.on('data', () => {});
  s.on('end', () => out('eof ' + ms()));
  s.on('error', (e) => out((e.code === 'ECONNRESET' ? 'reset ' : 'error-' + e.code + ' ') + ms()));
  setTimeout(() => out('open'), bound(c));
} else if (mode === 'silent') {
  const s = net.connect(Number(b), a);
  let phase = 'early-';
  s.on('data', () => {});
  s.on('end', () => out(phase + 'eof ' + ms()));
  s.on('error', (e) => out(phase + (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? 'reset ' : 'error-' + e.code + ' ') + ms()));
  // The proxy's clock decides when the flow is forgotten: ask it (the expire event) instead of
  // guessing with a sleep, then write.
  const expired = (cb) => http.get({ host: '127.0.0.1', port: Number(c), path: '/events' }, (res) => {
    let body = '';
    res.on('data', (d) => { body += d; });
    res.on('end', () => cb(/"type":\s*"expire"/.test(body)));
  }).on('error', () => cb(false));
  const giveUp = Date.now() + bound(10000);
  const poll = () => expired((yes) => {
    if (!yes) {
      if (Date.now() > giveUp) out('no-expiry');
      setTimeout(poll, 20);
      return;
    }
    phase = '';
    s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    setTimeout(() => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 200);
    setTimeout(() => out('no-answer'), bound(2000));
  });
  s.on('connect', poll);
} else if (mode === 'noreply' || mode === 'firstbyte') {
  const s = net.connect(Number(b), a);
  let got = 0;
  s.on('connect', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  s.on('data', (d) => { got += d.length; if (mode === 'noreply') out('data'); });
  s.on('end', () => out(got ? 'data' : (mode === 'noreply' ? 'eof' : 'eof-empty')));
  s.on('error', (e) => out(e.code === 'ECONNRESET' || e.code === 'EPIPE' ? 'reset' : 'error-' + e.code));
  setTimeout(() => out(got ? 'data' : 'silence'), mode === 'noreply' ? Number(c) : bound(c));
} else {
  out('error usage');
}
EOF

probe() { timeout "$(scaled 30)" node "$tmp/probe.js" "$@" 2>&1; }
# http METHOD URL [BODY] > $tmp/FILE, used as: http NAME METHOD URL [BODY]
http() {
    local name=$1
    shift
    probe http "$@" >"$tmp/$name"
}
match() { [[ $1 =~ $2 ]]; }               # match STRING REGEX
has() { grep -qxF -- "$2" "$tmp/$1"; }  # has FILE LINE
hasre() { grep -qE -- "$2" "$tmp/$1"; } # hasre FILE REGEX
body() { sed -n 's/^raw //p' "$tmp/$1"; }    # body FILE: the response body on one line
bodyre() { body "$1" | grep -qE -- "$2"; } # bodyre FILE REGEX

# run NAME ARGS...: runs `tether proxy ARGS` in the background and waits until its stdout has
# $want lines (default 1). Sets $pid; $line1/$line2; $port1/$port2 (the ports of those lines).
want=1
run() {
    local name=$1 n=$want
    shift
    running=$name
    want=1
    if ! spawn_listening "$name" "$n" "$tether" proxy "$@"; then
        fail "$name: expected $n listening line(s), got '$line1' '$line2' (stderr: $(head -3 "$tmp/$name.err"))"
        return 1
    fi
    return 0
}

# stop [SIGNAL]: signals $pid and waits for it (bounded); $rc is its exit status (124 if hung).
stop() {
    local sig=${1:-TERM}
    stop_pid "$pid" "$sig"
    expect "$running: SIG$sig exits 0 (got $rc)" [ "$rc" -eq 0 ]
    # Sanitizer reports and stray messages land here: a clean run says nothing.
    if [ "$running" != seeded ]; then
        expect "$running: quiet stderr ($(head -3 "$tmp/$running.err"))" [ ! -s "$tmp/$running.err" ]
    fi
}

# usage NAME WANT_IN_STDERR ARGS...: exit 2, one stderr line naming the value, no stdout.
usage() {
    local name=$1 needle=$2
    shift 2
    timeout "$(scaled 10)" "$tether" proxy "$@" >"$tmp/u.out" 2>"$tmp/u.err"
    local got=$?
    if [ "$got" -ne 2 ]; then
        fail "usage $name: exit $got, expected 2 ($(head -2 "$tmp/u.err"))"
        return
    fi
    ok
    expect "usage $name: one stderr line" [ "$(wc -l <"$tmp/u.err")" -eq 1 ]
    expect "usage $name: names '$needle' ($(cat "$tmp/u.err"))" grep -qF -- "$needle" "$tmp/u.err"
    expect "usage $name: nothing on stdout" [ ! -s "$tmp/u.out" ]
}

# ---- help, version, usage errors ----
"$tether" help proxy >"$tmp/help" 2>&1
expect "tether help proxy exits 0" [ $? -eq 0 ]
for p in aws-alb aws-nlb azure-lb azure-lb-rst gcp-nat haproxy firewall-reset firewall-drop; do
    expect "help lists preset $p" grep -qE "^  $p " "$tmp/help"
done
expect "help gives the ALB setting" grep -qF 'idle_timeout{timeout:60000, action:"fin"}' "$tmp/help"
expect "help gives the NLB setting" grep -qF 'idle_timeout{timeout:350000, action:"silent"}' "$tmp/help"
expect "help gives the Cloud NAT setting" grep -qF 'conntrack_expiry{timeout:1200000' "$tmp/help"
for t in idle_timeout conntrack_expiry max_lifetime reset blackhole max_connections accept \
    upstream_down connect_delay packet_loss; do
    expect "help lists toxic $t" grep -qE "(^| )$t( |\{)" "$tmp/help"
done
for f in -host -port -config -seed -version -proxy-metrics -runtime-metrics --listen \
    --upstream --preset --scale --toxic --no-api; do
    expect "help lists flag $f" grep -qE -- "(^| )$f( |,|$)" "$tmp/help"
done
"$tether" proxy -h >"$tmp/h2" 2>&1
expect "tether proxy -h prints the usage" cmp -s "$tmp/help" "$tmp/h2"
"$tether" --help >"$tmp/h3" 2>&1
expect "tether --help lists proxy" grep -qE '^  proxy ' "$tmp/h3"

for v in -version --version -version=true; do
    out=$("$tether" proxy $v 2>&1)
    rc=$?
    expect "proxy $v exits 0" [ "$rc" -eq 0 ]
    expect "proxy $v prints the Toxiproxy-style line (got '$out')" \
        match "$out" '^toxiproxy-server version 2\.12\.0 \(tether [0-9]+\.[0-9]+\.[0-9]+\)$'
done

usage unknown-flag "'--frob'" --frob
usage unknown-single "'-frob'" -frob
usage positional "'extra'" extra
usage bad-port "'70000'" -port 70000
usage bad-port-eq "'x1'" -port=x1
usage port-missing "-port" -port
usage bad-seed "'abc'" -seed abc
usage bad-bool "'maybe'" -proxy-metrics=maybe
usage unknown-preset "'aws-elb'" --listen 127.0.0.1:0 --upstream 127.0.0.1:1 --preset aws-elb
usage preset-list "aws-alb, aws-nlb" --listen 127.0.0.1:0 --upstream 127.0.0.1:1 --preset nope
usage bad-scale "'0'" --listen 127.0.0.1:0 --upstream 127.0.0.1:1 --preset aws-alb --scale 0
usage bad-scale-neg "'-1'" --listen 127.0.0.1:0 --upstream 127.0.0.1:1 --preset aws-alb --scale=-1
usage scale-alone "--scale" --listen 127.0.0.1:0 --upstream 127.0.0.1:1 --scale 0.5
usage preset-alone "--listen" --preset aws-alb
usage listen-alone "--upstream" --listen 127.0.0.1:0
usage bad-listen "'nohost:99999'" --listen nohost:99999 --upstream 127.0.0.1:1
usage bad-toxic "':x'" --listen 127.0.0.1:0 --upstream 127.0.0.1:1 --toxic :x
usage bad-toxic-kv "'latency:latency'" --listen 127.0.0.1:0 --upstream 127.0.0.1:1 --toxic latency:latency
usage no-api-alone "--no-api" --no-api
usage bad-name "'a/b'" --listen 127.0.0.1:0 --upstream 127.0.0.1:1 --name a/b
usage bad-connect-timeout "'5'" --connect-timeout 5
usage config-missing "$tmp/nope.json" -port 0 -config "$tmp/nope.json"

# ---- the upstream: tether serve ----
if ! start_server serve; then
    finish
fi
serve_pid=$pid
up=$port

# ---- the API: Toxiproxy's flag spellings ----
for spelling in "-host=127.0.0.1 -port=0" "--host 127.0.0.1 --port 0" "-host 127.0.0.1 -port 0" \
    "--host=127.0.0.1 --port=0"; do
    # shellcheck disable=SC2086
    if run api $spelling; then
        expect "'$spelling': line is 'listening on http://127.0.0.1:PORT' (got '$line1')" \
            match "$line1" '^listening on http://127\.0\.0\.1:[0-9]+$'
        expect "'$spelling': a real port" [ "$port1" -gt 0 ]
        http ver GET "http://127.0.0.1:$port1/version"
        expect "'$spelling': GET /version 200" has ver "status 200"
        expect "'$spelling': /version says 2.12.0" bodyre ver '"version": ?"2\.12\.0'
        if [ "$spelling" = "-host=127.0.0.1 -port=0" ]; then
            http px GET "http://127.0.0.1:$port1/proxies"
            expect "'$spelling': GET /proxies is {}" [ "$(body px | tr -d ' ')" = "{}" ]
        fi
        stop TERM
        expect "'$spelling': stdout is the one line" [ "$(wc -l <"$tmp/api.out")" -eq 1 ]
    fi
done

# Default host: localhost = 127.0.0.1 and ::1, printed as 127.0.0.1.
if run local -port 0; then
    expect "localhost prints 127.0.0.1 (got '$line1')" match "$line1" '^listening on http://127\.0\.0\.1:[0-9]+$'
    if node -e 'require("net").createServer().listen(0,"::1",function(){process.exit(0)}).on("error",()=>process.exit(1))' 2>/dev/null; then
        http v6 GET "http://[::1]:$port1/version"
        expect "localhost is served on ::1 too" has v6 "status 200"
    fi
    stop INT
fi

# -seed and the metrics flags are accepted, silently (test_proxy_metrics.sh scrapes /metrics).
if run seeded -host 127.0.0.1 -port 0 -seed 42 -proxy-metrics -runtime-metrics; then
    http sv GET "http://127.0.0.1:$port1/version"
    expect "-seed 42: API answers" has sv "status 200"
    stop
    expect "-proxy-metrics: nothing on stderr ($(cat "$tmp/seeded.err"))" [ ! -s "$tmp/seeded.err" ]
fi
if run seedneg -host=127.0.0.1 -port=0 -seed=-7; then stop; fi

# A port in use: exit 1 naming the address.
if run holder -host 127.0.0.1 -port 0; then
    timeout "$(scaled 10)" "$tether" proxy -host 127.0.0.1 -port "$port1" >/dev/null 2>"$tmp/inuse.err"
    rc=$?
    expect "API port in use: exit 1 (got $rc)" [ "$rc" -eq 1 ]
    expect "API port in use: names the address" grep -qF "127.0.0.1:$port1" "$tmp/inuse.err"
    stop
fi

# ---- -config ----
cat >"$tmp/config.json" <<EOF
[
  {"name": "web", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:$up", "enabled": true},
  {"name": "web_slow", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:$up",
   "toxics": [{"type": "latency", "attributes": {"latency": 200}}]}
]
EOF
if run cfg -host 127.0.0.1 -port 0 -config "$tmp/config.json"; then
    http cp GET "http://127.0.0.1:$port1/proxies"
    body cp >"$tmp/cp.json"
    expect "-config: GET /proxies 200" has cp "status 200"
    expect "-config: proxy web exists" grep -q '"web"' "$tmp/cp.json"
    expect "-config: proxy web_slow exists" grep -q '"web_slow"' "$tmp/cp.json"
    read -r webport slowport < <(node -e 'const p=JSON.parse(require("fs").readFileSync(process.argv[1]));
        console.log(p.web.listen.split(":").pop() + " " + p.web_slow.listen.split(":").pop())' "$tmp/cp.json" 2>/dev/null)
    expect "-config: listen port 0 is reported bound (got '$webport')" [ "${webport:-0}" -gt 0 ]
    http cg GET "http://127.0.0.1:${webport:-1}/"
    expect "-config: GET through proxy web" has cg "status 200"
    expect "-config: body from the upstream" has cg 'body "ok\n"'
    http cs GET "http://127.0.0.1:${slowport:-1}/"
    el=$(sed -n 's/^elapsed-ms //p' "$tmp/cs")
    expect "-config: toxics inside a proxy apply (latency 200 ms, took ${el:-?} ms)" [ "${el:-0}" -ge 190 ]
    stop
fi
echo '[{"name": "x", "listen": ' >"$tmp/bad.json"
usage config-bad-json "$tmp/bad.json" -host 127.0.0.1 -port 0 -config "$tmp/bad.json"
echo '[{"name": "x", "listen": "127.0.0.1:0"}]' >"$tmp/noup.json"
usage config-no-upstream "upstream" -host 127.0.0.1 -port 0 -config "$tmp/noup.json"

# ---- one proxy from the command line ----
if run plain --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" --no-api; then
    expect "plain: line is 'listening on tcp://127.0.0.1:PORT' (got '$line1')" \
        match "$line1" '^listening on tcp://127\.0\.0\.1:[0-9]+$'
    http pg GET "http://127.0.0.1:$port1/"
    expect "plain: GET through the proxy 200" has pg "status 200"
    expect "plain: the upstream's body" has pg 'body "ok\n"'
    stop
    expect "plain --no-api: stdout is the one line" [ "$(wc -l <"$tmp/plain.out")" -eq 1 ]
fi

# Relaying presets: they must pass a quick request through (their timers are minutes).
for p in aws-alb aws-nlb azure-lb azure-lb-rst gcp-nat haproxy; do
    want=2
    if run "p-$p" --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" --preset "$p" -host 127.0.0.1 -port 0; then
        expect "$p: first line is the proxy (got '$line1')" match "$line1" '^listening on tcp://127\.0\.0\.1:[0-9]+$'
        expect "$p: second line is the API (got '$line2')" match "$line2" '^listening on http://127\.0\.0\.1:[0-9]+$'
        http "g-$p" GET "http://127.0.0.1:$port1/"
        expect "$p: GET through the proxy 200" has "g-$p" "status 200"
        http "t-$p" GET "http://127.0.0.1:$port2/proxies/$p/toxics"
        expect "$p: the API lists the proxy's toxics" has "t-$p" "status 200"
        expect "$p: with the preset's toxic" hasre "t-$p" 'idle_timeout|conntrack_expiry'
        stop
    fi
done

# firewall-reset: the connection is reset, nothing from the upstream arrives.
if run fwr --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" --preset firewall-reset --no-api; then
    r=$(probe firstbyte 127.0.0.1 "$port1" 2000)
    expect "firewall-reset: reset, no data (got '$r')" [ "$r" = reset ]
    stop
fi
# firewall-drop: the request vanishes, no reply and no close.
if run fwd --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" --preset firewall-drop --no-api; then
    r=$(probe noreply 127.0.0.1 "$port1" 1000)
    expect "firewall-drop: no reply, no close (got '$r')" [ "$r" = silence ]
    stop
fi

# Scaled idle timeouts: 60 s ALB x 0.002 = 120 ms, then FIN (EOF), not RST.
if run alb --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" --preset aws-alb --scale 0.002 --no-api; then
    r=$(probe idle 127.0.0.1 "$port1" 3000)
    t=${r#* }
    expect "aws-alb x0.002: EOF on an idle connection (got '$r')" [ "${r%% *}" = eof ]
    expect "aws-alb x0.002: after ~120 ms (got ${t} ms)" [ "${t:-0}" -ge 100 -a "${t:-99999}" -le "$(scaled 1500)" ]
    stop
fi
# The scaled value is what the API shows.
want=2
if run albapi --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" --preset aws-alb --scale 0.002 -host 127.0.0.1 -port 0; then
    http at GET "http://127.0.0.1:$port2/proxies/aws-alb/toxics"
    expect "aws-alb x0.002: the toxic's timeout is 120" bodyre at '"timeout": ?120[,}]'
    expect "aws-alb x0.002: action fin" bodyre at '"action": ?"fin"'
    stop
fi
# Azure with TCP reset: 240 s x 0.002 = 480 ms, then RST.
if run azr --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" --preset azure-lb-rst --scale 0.002 --no-api; then
    r=$(probe idle 127.0.0.1 "$port1" 3000)
    t=${r#* }
    expect "azure-lb-rst x0.002: RST on an idle connection (got '$r')" [ "${r%% *}" = reset ]
    expect "azure-lb-rst x0.002: after ~480 ms (got ${t} ms)" [ "${t:-0}" -ge 400 ]
    stop
fi
# NLB: 350 s x 0.001 = 350 ms, then silence; the next write gets an RST. The client writes once
# the API's /events says the flow expired: the proxy's timer, not a sleep, decides.
want=2
if run nlb --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" --preset aws-nlb --scale 0.001 -host 127.0.0.1 -port 0; then
    # After the listening lines, what the scaled preset installed, one line per toxic.
    expect "aws-nlb x0.001: prints what it installs ($(sed -n 3p "$tmp/nlb.out"))" grep -qxF \
        'preset aws-nlb x0.001: idle_timeout_downstream idle_timeout {"timeout":350,"action":"silent","half_closed_timeout":0}' \
        "$tmp/nlb.out"
    r=$(probe silent 127.0.0.1 "$port1" "$port2")
    expect "aws-nlb x0.001: nothing at expiry, RST on the next write (got '$r')" [ "${r%% *}" = reset ]
    stop
fi

# --toxic sugar, with --name.
want=2
if run tox --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" --name slow -host 127.0.0.1 -port 0 \
    --toxic latency:latency=300,jitter=0 --toxic noop:name=nothing,stream=upstream,toxicity=0.5; then
    http tg GET "http://127.0.0.1:$port1/"
    el=$(sed -n 's/^elapsed-ms //p' "$tmp/tg")
    expect "--toxic latency=300: GET through works" has tg "status 200"
    expect "--toxic latency=300: takes >= 300 ms (took ${el:-?})" [ "${el:-0}" -ge 290 ]
    http tl GET "http://127.0.0.1:$port2/proxies/slow/toxics"
    expect "--toxic: latency_downstream listed" hasre tl 'latency_downstream'
    expect "--toxic: name/stream/toxicity keys" hasre tl 'nothing.*upstream|upstream.*nothing'
    stop
fi
usage toxic-bad-type "invalid toxic type" --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" --no-api --toxic frobnicate
usage toxic-typo-type 'invalid toxic type "latncy" (did you mean "latency"?); valid types: latency,' \
    --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" --no-api --toxic latncy
usage toxic-typo-attr 'unknown latency attribute "latncy" (did you mean "latency"?); valid: latency, jitter' \
    --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" --no-api --toxic latency:latncy=100
usage toxic-unknown-attr 'unknown idle_timeout attribute "mode"; valid: timeout, action, half_closed_timeout' \
    --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" --no-api --toxic idle_timeout:timeout=5,mode=fin
# Every attribute has a range (a huge jitter used to overflow the delay arithmetic).
usage toxic-jitter-range 'invalid latency jitter 9000000000000000000: must be between 0 and 31622400000 (366 days in ms)' \
    --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" --no-api --toxic latency:latency=0,jitter=9000000000000000000
usage toxic-toxicity-range 'invalid toxicity 2: must be between 0 and 1' \
    --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" --no-api --toxic latency:toxicity=2
# A proxy that cannot bind: exit 1 naming the address.
if run holder2 --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" --no-api; then
    timeout "$(scaled 10)" "$tether" proxy --listen "127.0.0.1:$port1" --upstream "127.0.0.1:$up" --no-api >/dev/null 2>"$tmp/inuse2.err"
    rc=$?
    expect "--listen in use: exit 1 (got $rc: $(head -1 "$tmp/inuse2.err"))" [ "$rc" -eq 1 ]
    expect "--listen in use: names the address" grep -qF "127.0.0.1:$port1" "$tmp/inuse2.err"
    stop INT
fi

stop_pid "$serve_pid" TERM
finish
