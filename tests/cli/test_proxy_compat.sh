#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Toxiproxy client compatibility (issue 4): toxiproxy-node-client 4.1.0 runs its own usage
# scenarios against `tether proxy`. tests/compat/node_client.js does the work; its dependencies
# come from scripts/install-peers.sh (run by `make deps`, so by `make test`). Without node or
# those modules the test is skipped (exit 77), not failed.
source "$(dirname "$0")/harness.sh" "${1:-${TETHER_BINARY:-}}"
compat=$(cd "$(dirname "$0")/../compat" && pwd)
need_tether
need_npm "$compat" toxiproxy-node-client
node "$compat/node_client.js" "$tether"
exit $?
