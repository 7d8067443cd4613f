#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether proxy -proxy-metrics -runtime-metrics`: GET /metrics on the API in Prometheus text
# format 0.0.4. After real traffic (curl through the proxy to `tether serve`), Toxiproxy's byte
# counters equal the bytes curl sent and received; a reset_peer toxic's RSTs are counted against
# it; every line parses and every metric has HELP and TYPE; each flag brings only its group;
# without either flag /metrics is 404 as in Toxiproxy.
source "$(dirname "$0")/harness.sh"
need_tether
command -v curl >/dev/null || skip "curl is not installed (scripts/install-deps.sh test)"

# scrape NAME: GET /metrics into $tmp/NAME.metrics; the HTTP status is printed.
scrape() {
    curl -s -o "$tmp/$1.metrics" -w '%{http_code}' --max-time "$(scaled 10)" \
        "http://127.0.0.1:$api/metrics"
}
# value FILE SAMPLE: the value of the line whose name and labels are exactly SAMPLE.
value() { awk -v s="$2" 'index($0, s " ") == 1 { print $2 }' "$1"; }

# parses FILE: every line is a HELP or TYPE comment or a sample "name{labels} value", and every
# sample's name had its HELP and TYPE before it.
parses() {
    awk '
        /^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* ./ { help[$3] = 1; next }
        /^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge)$/ { type[$3] = 1; next }
        /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? -?[0-9][0-9.e+-]*$/ {
            name = $0; sub(/[{ ].*/, "", name)
            if (!(name in help) || !(name in type)) { print "no HELP/TYPE before: " $0; bad = 1 }
            n++; next
        }
        { print "not the text format: " $0; bad = 1 }
        END { if (n == 0) { print "no samples"; bad = 1 }; exit bad }' "$1"
}

# The checker can fail: a sample without TYPE, and a label value without quotes.
rejects() { ! parses "$1" >/dev/null; }
printf '# HELP x_total X.\nx_total 1\n' >"$tmp/bad1"
expect "parses: a sample without TYPE is refused" rejects "$tmp/bad1"
printf '# HELP x X.\n# TYPE x gauge\nx{a=b} 1\n' >"$tmp/bad2"
expect "parses: an unquoted label value is refused" rejects "$tmp/bad2"
printf '# HELP x X.\n# TYPE x gauge\nx{a="b"} 1\n' >"$tmp/good"
expect "parses: a well-formed sample passes" parses "$tmp/good"

start_server up || finish
up_port=$port
if ! spawn_listening px 2 "$tether" proxy -host 127.0.0.1 -port 0 -proxy-metrics \
    -runtime-metrics --listen 127.0.0.1:0 --upstream "127.0.0.1:$up_port" --name web; then
    fail "proxy: no listening lines ($(head -3 "$tmp/px.err"))"
    finish
fi
px_pid=$pid
listen=$port1
api=$port2
labels_up="direction=\"upstream\",listener=\"127.0.0.1:$listen\",proxy=\"web\",upstream=\"127.0.0.1:$up_port\""
labels_down="direction=\"downstream\",listener=\"127.0.0.1:$listen\",proxy=\"web\",upstream=\"127.0.0.1:$up_port\""

code=$(scrape before)
expect "GET /metrics: 200 (got $code)" test "$code" = 200
expect "before traffic: zero bytes" test "$(value "$tmp/before.metrics" "toxiproxy_proxy_received_bytes_total{$labels_up}")" = 0
ctype=$(curl -s -o /dev/null -w '%{content_type}' "http://127.0.0.1:$api/metrics")
expect "content type is the text format 0.0.4 ($ctype)" test "$ctype" = "text/plain; version=0.0.4; charset=utf-8"

# Two exchanges whose sizes curl reports: a GET and a POST with a 1000-byte body (curl's
# size_request counts the body too).
sent=0
received=0
for args in "" "-d @$tmp/body"; do
    head -c 1000 /dev/zero | tr '\0' x >"$tmp/body"
    # shellcheck disable=SC2086
    sizes=$(curl -s -o /dev/null --max-time "$(scaled 10)" -w '%{size_request} %{size_header} %{size_download}' \
        $args "http://127.0.0.1:$listen/")
    read -r req hdr body <<<"$sizes"
    sent=$((sent + req))
    received=$((received + hdr + body))
done
expect "curl exchanged bytes ($sent sent, $received received)" test "$sent" -gt 1000 -a "$received" -gt 0
code=$(scrape traffic)
m=$tmp/traffic.metrics
expect "received upstream = bytes curl sent ($sent)" \
    test "$(value "$m" "toxiproxy_proxy_received_bytes_total{$labels_up}")" = "$sent"
expect "sent upstream = bytes curl sent ($sent)" \
    test "$(value "$m" "toxiproxy_proxy_sent_bytes_total{$labels_up}")" = "$sent"
expect "received downstream = bytes curl received ($received)" \
    test "$(value "$m" "toxiproxy_proxy_received_bytes_total{$labels_down}")" = "$received"
expect "sent downstream = bytes curl received ($received)" \
    test "$(value "$m" "toxiproxy_proxy_sent_bytes_total{$labels_down}")" = "$received"
expect "two connections accepted" test "$(value "$m" 'tether_proxy_connections_accepted_total{proxy="web"}')" = 2
expect "process metrics present" grep -qE '^process_resident_memory_bytes [1-9][0-9]*$' "$m"
expect "open fds present" grep -qE '^process_open_fds [1-9][0-9]*$' "$m"
expect "start time present" grep -qE '^process_start_time_seconds [1-9]' "$m"
expect "cpu seconds present" grep -qE '^process_cpu_seconds_total [0-9]' "$m"
expect "build info present" grep -qE '^tether_build_info\{version="[0-9.]+"\} 1$' "$m"
problems=$(parses "$m")
[ -n "$problems" ] && echo "$problems" | sed 's/^/  /'
expect "every line is in the text format, with HELP and TYPE" test -z "$problems"

# A reset_peer toxic resets the next connection: its RSTs are counted against reset_peer.
curl -s -o /dev/null -X POST "http://127.0.0.1:$api/proxies/web/toxics" \
    -d '{"type":"reset_peer","attributes":{"timeout":0}}'
curl -s -o /dev/null --max-time "$(scaled 10)" "http://127.0.0.1:$listen/"
expect "curl through reset_peer fails" test $? -ne 0
toxic_resets() {
    scrape reset >/dev/null
    local by all
    by=$(value "$tmp/reset.metrics" 'tether_proxy_toxic_resets_total{proxy="web",toxic="reset_peer"}')
    all=$(value "$tmp/reset.metrics" 'tether_proxy_resets_sent_total{proxy="web"}')
    [ -n "$by" ] && [ "$by" -ge 1 ] && [ "$by" = "$all" ]
}
expect "RSTs counted against reset_peer ($(grep -E 'resets' "$tmp/reset.metrics" 2>/dev/null | grep -v '^#' | tr '\n' ' '))" \
    wait_for 5000 toxic_resets
stop_pid "$px_pid" TERM
expect "proxy stops cleanly (exit $rc)" test "$rc" -eq 0

# Each flag brings only its group.
if spawn_listening only_proxy 1 "$tether" proxy -host 127.0.0.1 -port 0 -proxy-metrics; then
    api=$port1
    scrape only_proxy >/dev/null
    expect "-proxy-metrics alone: no process metrics" bash -c "! grep -q '^process_' '$tmp/only_proxy.metrics'"
    stop_pid "$pid" TERM
else
    fail "-proxy-metrics alone: no listening line"
fi
if spawn_listening only_runtime 1 "$tether" proxy -host 127.0.0.1 -port 0 -runtime-metrics; then
    api=$port1
    scrape only_runtime >/dev/null
    expect "-runtime-metrics alone: process metrics" grep -q '^process_open_fds ' "$tmp/only_runtime.metrics"
    expect "-runtime-metrics alone: no proxy metrics" bash -c "! grep -qE '^(toxiproxy|tether_proxy)_' '$tmp/only_runtime.metrics'"
    stop_pid "$pid" TERM
else
    fail "-runtime-metrics alone: no listening line"
fi

# Without the flags, /metrics is Toxiproxy's 404.
if spawn_listening plain 1 "$tether" proxy -host 127.0.0.1 -port 0; then
    api=$port1
    code=$(scrape plain)
    expect "no metrics flag: 404 (got $code)" test "$code" = 404
    expect "no metrics flag: Go's 404 text" grep -qx '404 page not found' "$tmp/plain.metrics"
    stop_pid "$pid" TERM
else
    fail "plain proxy: no listening line"
fi

"$tether" proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:1 --no-api -proxy-metrics 2>"$tmp/noapi.err"
expect "--no-api with -proxy-metrics: usage error" test $? -eq 2
expect "--no-api with -proxy-metrics: says why" grep -qF 'served on the API' "$tmp/noapi.err"

stop_server
check_sanitizers
finish
