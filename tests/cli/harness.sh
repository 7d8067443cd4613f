# SPDX-License-Identifier: MIT
# Shared by the CLI tests that drive `tether get`/`tether load`: temp dir, process cleanup,
# pass/fail counters, and the node check. Source it with the tether binary as $1.
# (No shebang: it is sourced, never run; CMake only runs tests/cli/test_*.sh.)
set -uo pipefail
tether=$1
mult=${TETHER_TEST_TIMEOUT_MULTIPLIER:-1}
tmp=$(mktemp -d)
pids=()
passed=0
failed=0

cleanup() {
    for p in "${pids[@]}"; do
        kill -KILL "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); }
fail() {
    echo "FAIL $*"
    failed=$((failed + 1))
}
expect() {
    local name=$1
    shift
    if "$@"; then ok; else fail "$name"; fi
}

if ! command -v node >/dev/null; then
    echo "$(basename "$0" .sh): node is required (it parses the JSON)"
    exit 1
fi
