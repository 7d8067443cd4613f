#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every unit test (tests/unit, CTest label "unit") of a built plain tree under
# `valgrind --leak-check=full --error-exitcode=1`: a leak, an uninitialised read or a bad
# access the sanitizers did not see (they run on another build) fails the test. Part of
# `make test-stress` (and `make test-valgrind`), not of `make test`: valgrind is slow.
#
#   scripts/valgrind.sh [TREE]     (default: build)
#
# Waits are scaled by TETHER_TEST_TIMEOUT_MULTIPLIER (default 20 here: valgrind runs code
# 10-50 times slower). Prints one line per test and "valgrind: N of M unit tests passed";
# exits 1 if any failed, 2 when the tree or valgrind is missing.
set -uo pipefail
cd "$(dirname "$0")/.."

tree=${1:-build}
if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind: not installed (Debian: scripts/install-deps.sh test installs it)" >&2
    exit 2
fi
if [ ! -f "$tree/CTestTestfile.cmake" ]; then
    echo "valgrind: $tree is not a built tree (run make build first)" >&2
    exit 2
fi
export TETHER_VECTORS_DIR="$PWD/tests/vectors"
export TETHER_TEST_TIMEOUT_MULTIPLIER=${TETHER_TEST_TIMEOUT_MULTIPLIER:-20}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# The unit tests' names from CTest itself, so the list cannot drift from tests/CMakeLists.txt.
mapfile -t names < <(ctest --test-dir "$tree" -L '^unit$' -N | sed -n 's/^ *Test *#[0-9]*: //p')
if [ "${#names[@]}" -eq 0 ]; then
    echo "valgrind: no unit test found in $tree" >&2
    exit 2
fi
passed=0
failed=()
for name in "${names[@]}"; do
    exe="$tree/tests/$name"
    if [ ! -x "$exe" ]; then
        echo "valgrind: $name: no executable at $exe" >&2
        failed+=("$name")
        continue
    fi
    start=$(date +%s)
    # --child-silent-after-fork: tests that fork a peer report only on themselves.
    if timeout 1800 valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=1 \
        --child-silent-after-fork=yes --trace-children=no \
        "$exe" >"$logs/$name.log" 2>&1; then
        passed=$((passed + 1))
        echo "valgrind: $name ok ($(($(date +%s) - start)) s)"
    else
        failed+=("$name")
        echo "valgrind: $name FAILED ($(($(date +%s) - start)) s); the end of its output:"
        tail -40 "$logs/$name.log" | sed 's/^/    /'
    fi
done
echo "valgrind: $passed of ${#names[@]} unit tests passed"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "valgrind: failed: ${failed[*]}"
    exit 1
fi
