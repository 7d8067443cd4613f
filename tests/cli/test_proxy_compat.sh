#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Toxiproxy client compatibility (issue 4): toxiproxy-node-client 4.1.0 runs its own usage
# scenarios against `tether proxy`. tests/compat/node_client.js does the work; its dependencies
# come from scripts/install-peers.sh (run by `make deps`, so by `make test`). Without node or
# those modules the test is skipped (exit 77), not failed.
source "$(dirname "$0")/harness.sh" "${1:-${TETHER_BINARY:-}}"
compat=$(cd "$(dirname "$0")/../compat" && pwd)

[ -n "$tether" ] && [ -x "$tether" ] || {
    echo "FAIL proxy-compat: no tether binary (argument 1 or TETHER_BINARY): '$tether'"
    exit 1
}
command -v node >/dev/null 2>&1 || skip "node is not installed; run scripts/install-peers.sh"
[ -d "$compat/node_modules/toxiproxy-node-client" ] ||
    skip "$compat/node_modules is missing; run scripts/install-peers.sh"
node "$compat/node_client.js" "$tether"
exit $?
