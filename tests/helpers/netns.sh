# SPDX-License-Identifier: MIT
# Three network namespaces, client -- middlebox -- server, joined by two veth pairs, for the
# tests that need a real middlebox (tests/cli/test_doctor_netns.sh, tests/soak/netns.sh).
# Sourced after tests/cli/harness.sh ($tmp, skip, fail, finish, cleanup).
#
#   netns_build PREFIX NET    builds client NET.1.2 -- NET.1.1 middlebox NET.2.1 -- NET.2.2
#                             server (NET like 10.77) in namespaces $ns_cli, $ns_mid, $ns_srv;
#                             the middlebox forwards established flows and new connections
#                             (FORWARD rules 1 and 2: a test appends its own) under a DROP policy
#                             set last by netns_default_drop
#   in_ns NS CMD...           runs CMD in namespace NS
#   setup CMD...              one step of building the network; a failure fails the test
#
# Namespace names carry the shell's pid, so concurrent runs never share one; those of a run
# killed before its trap ran (its pid gone) are removed here. Skips (exit 77) without root, ip
# or iptables, or where namespaces or the conntrack match are refused.

in_ns() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

setup() {
    if ! "$@" 2>"$tmp/setup.err"; then
        fail "setup: $* ($(head -2 "$tmp/setup.err"))"
        finish
    fi
}

netns_drop() {
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
    for ns in "${netns_made[@]}"; do
        netns_drop "$ns"
    done
}

netns_build() {
    local prefix=$1 net=$2 ns owner dev
    command -v ip >/dev/null 2>&1 || skip "ip (iproute2) is not installed; run scripts/install-deps.sh test"
    command -v iptables >/dev/null 2>&1 ||
        skip "iptables is not installed; run scripts/install-deps.sh test"
    [ "$(id -u)" -eq 0 ] || skip "network namespaces and iptables need root (running as uid $(id -u))"
    ns_cli=$prefix$$c
    ns_mid=$prefix$$m
    ns_srv=$prefix$$s
    netns_made=()
    trap netns_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${prefix}[0-9]+[cms]$"); do
        owner=${ns#"$prefix"}
        owner=${owner%?}
        kill -0 "$owner" 2>/dev/null || netns_drop "$ns"
    done
    for ns in "$ns_cli" "$ns_mid" "$ns_srv"; do
        if ! ip netns add "$ns" 2>"$tmp/netns.err"; then
            skip "network namespaces are refused here (ip netns add: $(head -1 "$tmp/netns.err"))"
        fi
        netns_made+=("$ns")
    done
    # The veth pairs are created inside the namespaces, so their short names never meet
    # another run's.
    setup ip -n "$ns_cli" link add c0 type veth peer name m0 netns "$ns_mid"
    setup ip -n "$ns_srv" link add s0 type veth peer name m1 netns "$ns_mid"
    setup ip -n "$ns_cli" addr add "$net.1.2/24" dev c0
    setup ip -n "$ns_mid" addr add "$net.1.1/24" dev m0
    setup ip -n "$ns_mid" addr add "$net.2.1/24" dev m1
    setup ip -n "$ns_srv" addr add "$net.2.2/24" dev s0
    for dev in lo c0; do setup ip -n "$ns_cli" link set "$dev" up; done
    for dev in lo m0 m1; do setup ip -n "$ns_mid" link set "$dev" up; done
    for dev in lo s0; do setup ip -n "$ns_srv" link set "$dev" up; done
    setup ip -n "$ns_cli" route add default via "$net.1.1"
    setup ip -n "$ns_srv" route add default via "$net.2.1"
    setup in_ns "$ns_mid" sysctl -qw net.ipv4.ip_forward=1
    if ! in_ns "$ns_mid" iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT \
        2>"$tmp/conntrack.err"; then
        skip "the iptables conntrack match is unavailable ($(head -1 "$tmp/conntrack.err"))"
    fi
    setup in_ns "$ns_mid" iptables -A FORWARD -p tcp --syn -m conntrack --ctstate NEW -j ACCEPT
}
