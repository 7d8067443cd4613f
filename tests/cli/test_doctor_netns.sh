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

command -v ip >/dev/null 2>&1 || skip "ip (iproute2) is not installed; run scripts/install-deps.sh"
command -v iptables >/dev/null 2>&1 || skip "iptables is not installed; run scripts/install-deps.sh"
[ "$(id -u)" -eq 0 ] || skip "network namespaces and iptables need root (running as uid $(id -u))"

# Namespace names carry this shell's pid, so concurrent runs never share one; a run killed
# before its trap ran (SIGKILL) leaves namespaces whose pid is gone, removed by the next run.
prefix=tdoc
ns_cli=$prefix$$c
ns_fw=$prefix$$f
ns_srv=$prefix$$s
namespaces=()

drop_namespace() {
    local ns=$1 p
    for p in $(ip netns pids "$ns" 2>/dev/null); do
        kill -KILL "$p" 2>/dev/null
    done
    ip netns del "$ns" 2>/dev/null
}

# shellcheck disable=SC2317 # run by the trap
netns_cleanup() {
    local ns
    cleanup
    for ns in "${namespaces[@]}"; do
        drop_namespace "$ns"
    done
}
trap netns_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${prefix}[0-9]+[cfs]$"); do
    owner=${ns#"$prefix"}
    owner=${owner%?}
    kill -0 "$owner" 2>/dev/null || drop_namespace "$ns"
done

for ns in "$ns_cli" "$ns_fw" "$ns_srv"; do
    if ! ip netns add "$ns" 2>"$tmp/netns.err"; then
        skip "network namespaces are refused here (ip netns add: $(head -1 "$tmp/netns.err"))"
    fi
    namespaces+=("$ns")
done

# setup CMD...: one step of building the network; any failure fails the test with its message.
setup() {
    if ! "$@" 2>"$tmp/setup.err"; then
        fail "setup: $* ($(head -2 "$tmp/setup.err"))"
        finish
    fi
}
in_ns() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

# client 10.77.1.2 -- 10.77.1.1 firewall 10.77.2.1 -- 10.77.2.2 server. The veth pairs are
# created inside the namespaces, so their short names never meet another run's.
setup ip -n "$ns_cli" link add c0 type veth peer name f0 netns "$ns_fw"
setup ip -n "$ns_srv" link add s0 type veth peer name f1 netns "$ns_fw"
setup ip -n "$ns_cli" addr add 10.77.1.2/24 dev c0
setup ip -n "$ns_fw" addr add 10.77.1.1/24 dev f0
setup ip -n "$ns_fw" addr add 10.77.2.1/24 dev f1
setup ip -n "$ns_srv" addr add 10.77.2.2/24 dev s0
for dev in lo c0; do setup ip -n "$ns_cli" link set "$dev" up; done
for dev in lo f0 f1; do setup ip -n "$ns_fw" link set "$dev" up; done
for dev in lo s0; do setup ip -n "$ns_srv" link set "$dev" up; done
setup ip -n "$ns_cli" route add default via 10.77.1.1
setup ip -n "$ns_srv" route add default via 10.77.2.1
setup in_ns "$ns_fw" sysctl -qw net.ipv4.ip_forward=1

# The firewall: established flows and new connections pass, a packet of a flow conntrack has
# forgotten is INVALID and meets the rule under test (rule 3, changed per case).
if ! in_ns "$ns_fw" iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT \
    2>"$tmp/conntrack.err"; then
    skip "the iptables conntrack match is unavailable ($(head -1 "$tmp/conntrack.err"))"
fi
setup in_ns "$ns_fw" iptables -A FORWARD -p tcp --syn -m conntrack --ctstate NEW -j ACCEPT
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
