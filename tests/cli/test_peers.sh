#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Peer tests (issue 3): Node's http.Agent and undici against `tether serve`: a workload with idle
# gaps around the keep-alive timeout, and the keep-alive race forced with --close-style node and
# with the graceful default. tests/peers/server_peers.js does the work; its dependencies come
# from scripts/install-peers.sh (run by `make deps`, so by `make test`). Without node or those
# modules the test is skipped (exit 77), not failed.
source "$(dirname "$0")/harness.sh" "${1:-${TETHER_BINARY:-}}"
peers=$(cd "$(dirname "$0")/../peers" && pwd)
need_tether
need_npm "$peers" undici
node "$peers/server_peers.js" "$tether"
exit $?
