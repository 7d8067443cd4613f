#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Peer tests (issue 3): Node's http.Agent and undici against `tether serve`, graceful and
# --close-style node, with idle gaps around the keep-alive timeout. tests/peers/server_peers.js
# does the work; its dependencies come from scripts/install-peers.sh (run by `make deps`).
set -uo pipefail
tether=${1:-${TETHER_BINARY:-}}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
peers=$root/tests/peers

if [ -z "$tether" ] || [ ! -x "$tether" ]; then
    echo "FAIL peers: no tether binary (argument 1 or TETHER_BINARY): '$tether'"
    exit 1
fi
if ! command -v node >/dev/null 2>&1; then
    echo "FAIL peers: node is not installed; run scripts/install-peers.sh (make deps)"
    exit 1
fi
if [ ! -d "$peers/node_modules/undici" ]; then
    echo "FAIL peers: $peers/node_modules is missing; run scripts/install-peers.sh (make deps)"
    exit 1
fi
exec node "$peers/server_peers.js" "$tether"
