#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The chaos soak (`make soak`, docs/SOAK.md). Not part of `make test`: it runs for minutes.
#
#   scripts/soak.sh BUILD_DIR
#
# Phase 1, loopback: BUILD_DIR/tests/soak drives the tether client library through
# `tether proxy` (toxics) to `tether serve` (restarted every 10 s, rate-limited in turn) for
# SOAK_SECONDS (default 480) and checks the server's execution log.
# Phase 2, real kernel faults (SOAK_NETNS=1, default on where network namespaces work; 0 skips
# it): client, middlebox and server in three namespaces joined by veth pairs; the middlebox
# routes and, in turn, rejects the flow with a TCP reset, black-holes it (DROP), and forgets
# idle flows (a 3 s conntrack timeout, INVALID packets dropped), for SOAK_NETNS_SECONDS
# (default 120). tests/soak/netns.sh builds the network.
#
# Each phase prints its progress and its JSON line; the last stdout line joins them:
# {"requests":N, "lost_idempotent":N, "duplicate_executions":N, "failures_without_reason":N,
#  "ok":true|false, "phases":{"loopback":{...}, "netns":{...}}}. Exit 1 when an invariant
# broke in either phase, 2 for a usage error.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: soak.sh BUILD_DIR}
seconds=${SOAK_SECONDS:-480}
netns_seconds=${SOAK_NETNS_SECONDS:-120}
netns=${SOAK_NETNS:-auto}
soak=$build/tests/soak
tether=$build/tether
for v in "$seconds" "$netns_seconds"; do
    case $v in '' | *[!0-9]*)
        echo "soak: SOAK_SECONDS and SOAK_NETNS_SECONDS must be whole seconds, got '$v'" >&2
        exit 2
        ;;
    esac
done
case $netns in auto | 0 | 1) ;; *)
    echo "soak: SOAK_NETNS must be 0, 1 or auto, got '$netns'" >&2
    exit 2
    ;;
esac
for f in "$soak" "$tether"; do
    if [ ! -x "$f" ]; then
        echo "soak: $f is missing: build with tests on (make build)" >&2
        exit 2
    fi
done
command -v jq >/dev/null || {
    echo "soak: jq is missing: scripts/install-deps.sh test" >&2
    exit 2
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "soak: phase 1, loopback, ${seconds}s"
"$soak" --tether "$tether" --dir "$tmp" --seconds "$seconds" | tee "$tmp/loopback.out"
rc=${PIPESTATUS[0]}
[ "$rc" -le 1 ] || exit "$rc"
tail -1 "$tmp/loopback.out" >"$tmp/loopback.json"

phases='{"loopback":'"$(cat "$tmp/loopback.json")"'}'
if [ "$netns" != 0 ]; then
    echo "soak: phase 2, kernel faults in network namespaces, ${netns_seconds}s"
    bash "$here/tests/soak/netns.sh" soak "$build" "$netns_seconds" "$tmp" | tee "$tmp/netns.out"
    nrc=${PIPESTATUS[0]}
    if [ "$nrc" -eq 77 ] && [ "$netns" = auto ]; then
        echo "soak: phase 2 skipped (SOAK_NETNS=1 makes that a failure)"
    elif [ "$nrc" -le 1 ] && [ -s "$tmp/netns.json" ]; then
        phases=$(jq -c --slurpfile n "$tmp/netns.json" '. + {netns: $n[0]}' <<<"$phases")
        [ "$nrc" -eq 0 ] || rc=1
    else
        echo "soak: phase 2 did not run to its end (exit $nrc)" >&2
        rc=1
    fi
fi
jq -c --argjson rc "$rc" '{
    requests: ([.[].requests] | add),
    lost_idempotent: ([.[].lost_idempotent] | add),
    duplicate_executions: ([.[].duplicate_executions] | add),
    failures_without_reason: ([.[].failures_without_reason] | add),
    ok: ($rc == 0 and all(.[]; .ok)),
    phases: .}' <<<"$phases"
exit "$rc"
