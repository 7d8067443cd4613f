#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Toxiproxy client compatibility (issue 4): toxiproxy-node-client 4.1.0 runs its own usage
# scenarios against `tether proxy`. tests/compat/node_client.js does the work; its dependencies
# come from scripts/install-peers.sh (run by `make deps`).
set -uo pipefail
tether=${1:-${TETHER_BINARY:-}}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
compat=$root/tests/compat

if [ -z "$tether" ] || [ ! -x "$tether" ]; then
    echo "FAIL proxy-compat: no tether binary (argument 1 or TETHER_BINARY): '$tether'"
    exit 1
fi
if ! command -v node >/dev/null 2>&1; then
    echo "FAIL proxy-compat: node is not installed; run scripts/install-peers.sh (make deps)"
    exit 1
fi
if [ ! -d "$compat/node_modules/toxiproxy-node-client" ]; then
    echo "FAIL proxy-compat: $compat/node_modules is missing; run scripts/install-peers.sh" \
        "(make deps)"
    exit 1
fi
exec node "$compat/node_client.js" "$tether"
