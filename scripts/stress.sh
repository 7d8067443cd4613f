#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Stress run of the test suite (make test-stress): the whole CTest suite of each built tree,
# build/ (plain) and build-asan/ (ASan+UBSan), with `ctest --repeat until-fail:N` while one
# busy-loop process per CPU keeps every core saturated. A test that depends on scheduling luck
# fails here; a deterministic one passes. It builds nothing: `make test-stress` builds both
# trees first, exactly as `make test` does. The burners are always killed on exit.
#
#   scripts/stress.sh [REPEAT] [TREE...]     (default: 5, build build-asan)
#
# Environment: JOBS (ctest -j, default nproc), BURNERS (default nproc). Prints the ctest
# summary of each tree and a last line "stress: N of M trees passed"; exits 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

repeat=${1:-5}
shift || true
trees=("$@")
if [ "${#trees[@]}" -eq 0 ]; then
    trees=(build build-asan)
fi
ncpu=$(nproc 2>/dev/null || echo 2)
jobs=${JOBS:-$ncpu}
nburn=${BURNERS:-$ncpu}
case $repeat in '' | *[!0-9]* | 0)
    echo "stress: REPEAT must be a positive number, got '$repeat'" >&2
    exit 2
    ;;
esac
for t in "${trees[@]}"; do
    if [ ! -f "$t/CTestTestfile.cmake" ]; then
        echo "stress: $t is not a built tree (run make test-stress, or make build first)" >&2
        exit 2
    fi
done

burners=()
ctest_pid=""
stop_burners() {
    local p
    # An interrupted run: ctest runs in a session of its own, so every process in that session
    # (the tests, and what they started, `timeout` making its own process groups included)
    # goes with it, found by session id.
    if [ -n "$ctest_pid" ]; then
        for p in $(ps -o pid= -s "$ctest_pid" 2>/dev/null); do
            kill -TERM "$p" 2>/dev/null
        done
        wait "$ctest_pid" 2>/dev/null
        ctest_pid=""
    fi
    for p in "${burners[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${burners[@]}"; do
        wait "$p" 2>/dev/null
    done
    burners=()
}
trap stop_burners EXIT
trap 'stop_burners; exit 130' INT
trap 'stop_burners; exit 143' TERM

for ((i = 0; i < nburn; i++)); do
    # A subshell spinning on a builtin: one full core each, no I/O, killed by PID.
    (while :; do :; done) &
    burners+=("$!")
done
echo "stress: $nburn CPU burners running (pids ${burners[*]}), ctest -j $jobs," \
    "--repeat until-fail:$repeat"

passed=0
summaries=()
for t in "${trees[@]}"; do
    log="$t/Testing/stress.log"
    mkdir -p "$t/Testing"
    echo "== $t: ctest --output-on-failure -j $jobs --repeat until-fail:$repeat"
    start=$SECONDS
    (cd "$t" && exec setsid ctest --output-on-failure -j "$jobs" --repeat "until-fail:$repeat") \
        >"$log" 2>&1 &
    ctest_pid=$!
    wait "$ctest_pid"
    rc=$?
    ctest_pid=""
    # The summary: "N% tests passed, ...", the failures, and the real time.
    summary=$(grep -E '^[0-9]+% tests passed|^Total Test time|^The following tests|^[[:space:]]+[0-9]+ - ' "$log")
    echo "$summary"
    echo "($t: exit $rc after $((SECONDS - start)) s; full log in $log)"
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
    else
        grep -E '\*\*\*|Failed|FAIL' "$log" | head -40
    fi
    summaries+=("$t: $(echo "$summary" | head -1)")
done
stop_burners

printf '%s\n' "${summaries[@]}"
echo "stress: $passed of ${#trees[@]} trees passed"
[ "$passed" -eq "${#trees[@]}" ]
