#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether doctor` against a real middlebox: three network namespaces, client -- firewall --
# server, joined by two veth pairs. The firewall routes between them and forgets idle flows the
# way NATs and stateful firewalls do: its conntrack table keeps an established TCP flow only
# CT_S seconds (net.netfilter.nf_conntrack_tcp_timeout_established, per namespace), and with
# nf_conntrack_tcp_loose=0 a mid-stream packet of a forgotten flow is INVALID, not a new flow.
# The INVALID packet is rejected with a TCP reset (an AWS NLB / NAT gateway) or dropped (Azure,
# most firewalls). `tether serve` keeps connections 60 s, so the server never closes: the doctor
# must see no idle close, a probe before the expiry answered, and the probe after it reset or
# timed out, and name the silent drop with a TCP keepalive below the expiry.
# Needs root, `ip netns` (iproute2) and iptables (scripts/install-deps.sh); skips (exit 77)
# where namespaces are refused.
# Usage: bash tests/cli/test_doctor_netns.sh path/to/tether
source "$(dirname "$0")/harness.sh"
need_tether
need_node "reads the --json output"

# client 10.77.1.2 -- 10.77.1.1 firewall 10.77.2.1 -- 10.77.2.2 server. The firewall passes
# established flows and new connections; a packet of a flow conntrack has forgotten is INVALID
# and meets the rule under test (rule 3, changed per case).
source "$(dirname "$0")/../helpers/netns.sh"
netns_build tdoc 10.77
ns_fw=$ns_mid
setup in_ns "$ns_fw" iptables -A FORWARD -p tcp -m conntrack --ctstate INVALID -j DROP
setup in_ns "$ns_fw" iptables -P FORWARD DROP
# The idle expiry, scaled: the probe that must get through is sent 1 s after the response and
# has CT_S - 1 s to cross the firewall before the flow is forgotten.
ct_s=$((2 * mult + 1))
setup in_ns "$ns_fw" sysctl -qw "net.netfilter.nf_conntrack_tcp_timeout_established=$ct_s"
setup in_ns "$ns_fw" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0
expect "conntrack timeout is per namespace" \
    [ "$(in_ns "$ns_fw" sysctl -n net.netfilter.nf_conntrack_tcp_timeout_established)" = "$ct_s" ]

spawn_listening serve 1 ip netns exec "$ns_srv" "$tether" serve --listen 10.77.2.2:0 \
    --keep-alive-timeout 60s || {
    fail "serve in $ns_srv: no listening line (stderr: $(head -5 "$tmp/serve.err"))"
    finish
}
url="http://10.77.2.2:$port1/"

# The idle connections wait past the expiry (max-idle CT_S + 1 s) and see nothing: the firewall
# forgets silently. The late probe idles 2 s beyond the expiry.
late_s=$((ct_s + 2))
probe_ms=$(scaled 2000)

# run_case NAME WANT TOXIC ACTION...: the firewall's rule 3 becomes ACTION, then the doctor runs
# from the client's namespace; its late probe must end WANT and the command it prints to
# reproduce the drop must use TOXIC.
run_case() {
    local name=$1 want=$2 toxic=$3
    shift 3
    # Deleted and appended, not replaced: iptables-nft's -R is refused on some kernels.
    setup in_ns "$ns_fw" iptables -D FORWARD 3
    setup in_ns "$ns_fw" iptables -A FORWARD -p tcp -m conntrack --ctstate INVALID "$@"
    setup in_ns "$ns_fw" iptables -Z FORWARD
    local start
    start=$(now_ms)
    timeout "$(scaled 60)" ip netns exec "$ns_cli" "$tether" doctor --json \
        --max-idle "$((ct_s + 1))s" --max-requests 0 --silent-probe "1s,${late_s}s" \
        --probe-timeout "${probe_ms}ms" "$url" >"$tmp/$name.json" 2>"$tmp/$name.err" &
    # Waited for, not run in the foreground: a SIGTERM or SIGINT then ends the test at once.
    pids+=("$!")
    wait "$!"
    rc=$?
    echo "$name: doctor ran $(($(now_ms) - start)) ms, exit $rc"
    j() { jget "$tmp/$name.json" "$1"; }
    if [ "$rc" -ne 0 ]; then
        fail "$name: exit $rc ($(head -3 "$tmp/$name.err"))"
        return
    fi
    echo "$name: probes $(j 'j.silent_probes'), findings $(j 'j.findings.map(f=>f.id).join(",")')"
    expect "$name: status 200" [ "$(j 'j.status')" = 200 ]
    expect "$name: no idle close (how=none)" [ "$(j 'j.idle_close.how')" = none ]
    expect "$name: measured null" [ "$(j 'j.idle_close.measured_ms')" = null ]
    expect "$name: every idle connection none" \
        [ "$(j 'j.idle_close.connections.every(c=>c.how==="none")')" = true ]
    expect "$name: probe at 1 s answered" [ "$(j 'j.silent_probes[0].outcome')" = ok ]
    expect "$name: probe at ${late_s} s $want" [ "$(j 'j.silent_probes[1].outcome')" = "$want" ]
    expect "$name: silent_drop high" \
        [ "$(j 'j.findings.some(f=>f.id==="silent_drop"&&f.severity==="high")')" = true ]
    expect "$name: silent_drop names the outcome" \
        [ "$(j "j.findings.some(f=>f.id===\"silent_drop\"&&f.message.includes(\"got $want\"))")" = true ]
    # Alive after 1 s: keepalive at 90 % of it, and no pooled reuse past it.
    expect "$name: TCP keepalive idle 900 ms" [ "$(j 'j.recommendations.tcp_keepalive_idle_ms')" = 900 ]
    expect "$name: client idle timeout 900 ms" \
        [ "$(j 'j.recommendations.client_idle_timeout_ms')" = 900 ]
    expect "$name: the pool finding follows the drop, not the 60 s hint" \
        [ "$(j 'j.findings.some(f=>f.id==="client_idle_timeout"&&f.fix.includes("<= 900 ms"))')" = true ]
    expect "$name: reproduced by $toxic" [ "$(j "j.reproduce.includes(\"--toxic $toxic\")")" = true ]
    # The firewall itself met the forgotten flow: its INVALID rule counted packets.
    local hits
    hits=$(in_ns "$ns_fw" iptables -L FORWARD 3 -v -x -n | awk '{print $1}')
    expect "$name: the firewall's INVALID rule matched ($hits packets)" [ "${hits:-0}" -gt 0 ]
}

run_case reject rst idle_timeout:timeout=$(((1 + late_s) * 500)),action=silent \
    -j REJECT --reject-with tcp-reset
run_case drop timeout conntrack_expiry:timeout=$(((1 + late_s) * 500)),then=blackhole -j DROP

stop_pid "$pid" TERM
expect "serve exits 0 on SIGTERM" [ "$rc" = 0 ]
check_sanitizers
finish
