#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Real kernel faults for the soak: three network namespaces, client -- middlebox -- server,
# joined by two veth pairs (the layout of tests/cli/test_doctor_netns.sh). The middlebox routes
# and filters: established flows and new connections pass, a packet of a flow conntrack has
# forgotten (nf_conntrack_tcp_timeout_established CT_S, nf_conntrack_tcp_loose=0) is INVALID and
# rejected with a TCP reset.
#
#   netns.sh smoke BUILD_DIR              the CTest soak_netns_smoke: BUILD_DIR/tests/netns_smoke
#                                         meets each fault once and must recover (< 30 s)
#   netns.sh soak BUILD_DIR SECONDS DIR   the second phase of `make soak`: BUILD_DIR/tests/soak
#                                         runs in the client's namespace, the proxy and the server
#                                         in the server's, while the middlebox in turn rejects the
#                                         flows with resets, black-holes them and flushes its
#                                         conntrack table; writes DIR/netns.json
#
# Needs root, iproute2, iptables and conntrack (scripts/install-deps.sh test); exits 77 with a
# clear message where network namespaces are refused.
mode=${1:?usage: netns.sh smoke|soak BUILD_DIR [SECONDS DIR]}
build=${2:?usage: netns.sh smoke|soak BUILD_DIR [SECONDS DIR]}
seconds=${3:-}
out=${4:-}
set -- "$build/tether"
source "$(dirname "$0")/../cli/harness.sh"
need_tether

command -v conntrack >/dev/null 2>&1 || skip "conntrack is not installed; run scripts/install-deps.sh test"

# client 10.78.1.2 -- 10.78.1.1 middlebox 10.78.2.1 -- 10.78.2.2 server
source "$(dirname "$0")/../helpers/netns.sh"
netns_build tsk 10.78
ns_mb=$ns_mid
setup in_ns "$ns_mb" iptables -A FORWARD -p tcp -m conntrack --ctstate INVALID \
    -j REJECT --reject-with tcp-reset
setup in_ns "$ns_mb" iptables -P FORWARD DROP
setup in_ns "$ns_mb" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0

if [ "$mode" = smoke ]; then
    setup in_ns "$ns_mb" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=2
    log=$tmp/exec.log
    spawn_listening serve 1 ip netns exec "$ns_srv" "$tether" serve --listen 10.78.2.2:0 \
        --keep-alive-timeout 60s --exec-log "$log" || {
        fail "serve in $ns_srv: no listening line (stderr: $(head -5 "$tmp/serve.err"))"
        finish
    }
    timeout "$(scaled 60)" ip netns exec "$ns_cli" "$build/tests/netns_smoke" \
        "http://10.78.2.2:$port1/" "$ns_mb" "$port1" "$log" >"$tmp/smoke.out" 2>"$tmp/smoke.err" &
    pids+=("$!")
    wait "$!"
    rc=$?
    cat "$tmp/smoke.out"
    expect "every kernel fault recovered (exit $rc; $(head -3 "$tmp/smoke.err"))" [ "$rc" -eq 0 ]
    stop_pid "$pid" TERM
    expect "serve exits 0 on SIGTERM" [ "$rc" = 0 ]
    check_sanitizers
    finish
fi

# ---- soak: the faults in turn while the soak runs ----
if [ -z "$seconds" ] || [ ! -d "$out" ]; then
    echo "usage: netns.sh soak BUILD_DIR SECONDS DIR" >&2
    exit 2
fi
# Idle flows are forgotten after 3 s: the server keeps connections 10 s, the client 9 s.
setup in_ns "$ns_mb" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=3

# One fault every 5 s (none while the soak measures), in turn: a REJECT of every packet to the proxy for 1 s (RSTs to the
# client), a 3 s black hole both ways, and a conntrack flush (every flow forgotten at once).
faults() {
    local port=$1 i=0
    while sleep 5; do
        # Paused while the soak measures descriptors and memory with every connection idle.
        [ -e "$tmp/quiet" ] && continue
        case $((i % 3)) in
        0)
            in_ns "$ns_mb" iptables -I FORWARD -p tcp --dport "$port" -j REJECT --reject-with tcp-reset
            sleep 1
            in_ns "$ns_mb" iptables -D FORWARD -p tcp --dport "$port" -j REJECT --reject-with tcp-reset
            ;;
        1)
            in_ns "$ns_mb" iptables -I FORWARD -p tcp --dport "$port" -j DROP
            in_ns "$ns_mb" iptables -I FORWARD -p tcp --sport "$port" -j DROP
            sleep 3
            in_ns "$ns_mb" iptables -D FORWARD -p tcp --dport "$port" -j DROP
            in_ns "$ns_mb" iptables -D FORWARD -p tcp --sport "$port" -j DROP
            ;;
        2) in_ns "$ns_mb" conntrack -F >/dev/null 2>&1 ;;
        esac
        i=$((i + 1))
        echo "$i" >"$tmp/faults.count"
    done
}

# The proxy's port is known once the soak prints its first progress line; the faults start
# then. The soak's own flags put the proxy and the server in the server's namespace.
ip netns exec "$ns_cli" "$build/tests/soak" --tether "$tether" --dir "$out" --seconds "$seconds" \
    --wrap "ip netns exec $ns_srv" --host 10.78.2.2 --keep-alive 10 --pause 3000..5000 \
    --port-file "$tmp/proxy.port" --quiet-file "$tmp/quiet" >"$tmp/soak.out" &
soak_pid=$!
pids+=("$soak_pid")
if wait_for 30000 test -s "$tmp/proxy.port"; then
    faults "$(cat "$tmp/proxy.port")" &
    pids+=("$!")
fi
tail -f --pid="$soak_pid" "$tmp/soak.out" 2>/dev/null &
wait "$soak_pid"
rc=$?
tail -1 "$tmp/soak.out" >"$out/netns.json"
echo "netns: $(cat "$tmp/faults.count" 2>/dev/null || echo 0) kernel faults applied"
exit "$rc"
