#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what the peer tests (tests/peers, run by tests/cli/test_peers.sh and test_egress.sh),
# curl, Python requests and Go (test_egress.sh), the Toxiproxy
# client compatibility test (tests/compat, run by tests/cli/test_proxy_compat.sh) and the Node.js
# benchmarks (bench/node, run by client_node_bench and race_node_bench) need: Node.js
# and npm from Debian when missing, then the pinned npm packages from each folder's
# package-lock.json. Idempotent: a second run installs nothing and takes a moment.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# tests/cli/test_egress.sh: curl and Python requests as HTTP_PROXY clients.
command -v curl >/dev/null 2>&1 || missing+=(curl)
python3 -c 'import requests' >/dev/null 2>&1 || missing+=(python3-requests)
# tests/cli/test_egress.sh: a Go net/http client (tests/cli/egress_go.go), built offline.
command -v go >/dev/null 2>&1 || missing+=(golang-go)
if [ ${#missing[@]} -gt 0 ]; then
    # Without root: say what is missing and how to install it, then stop (never sudo here).
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-peers: missing ${missing[*]}" >&2
        echo "install-peers: install them with: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "install-peers: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# undici 6 needs Node >= 18.17 (tests/peers/package.json "engines").
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number);
              process.exit(a > 18 || (a === 18 && b >= 17) ? 0 : 1)'; then
    echo "install-peers: node $(node --version) is older than 18.17, which undici 6 needs" >&2
    exit 1
fi

# npm writes node_modules/.package-lock.json on every install: reinstall a folder when it is
# missing or older than the lock file.
npm_ci() {
    local dir=$root/$1
    local stamp=$dir/node_modules/.package-lock.json
    if [ -f "$stamp" ] && [ ! "$dir/package-lock.json" -nt "$stamp" ]; then
        echo "install-peers: $1/node_modules is up to date"
        return 0
    fi
    echo "install-peers: npm ci in $1"
    npm ci --prefix "$dir" --no-audit --no-fund
}

npm_ci tests/peers
npm_ci tests/compat
npm_ci bench/node
