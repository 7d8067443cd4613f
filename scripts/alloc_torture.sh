#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Allocation-failure torture (STYLE §7, after curl's `runtests -t`): runs a program once to
# count its allocations, then once per allocation n with TETHER_TEST_FAIL_ALLOC_AT=n. Meant
# for the ASan+UBSan build (make test-asan runs it as the CTest `alloc_torture`).
#
#   scripts/alloc_torture.sh BUILD_DIR        the scenario, then the unit tests
#
# The scenario (tests/torture/torture_scenario.c) handles every failure, so each run must exit
# 0 with no sanitizer report, leaks included. The unit tests stop at their first failed
# assertion and leave their own objects behind, so for them leak detection is off and a run
# passes unless it crashes, hangs or reports a memory error.
#
# The runs for different n are independent and mostly wait on the tests' own timers (a TLS
# unit test takes about 2 s whatever fails), so TORTURE_JOBS of them (default 2 per CPU, at
# least 4) run at once; only a crash, a hang or a sanitizer report fails a run, never a timing
# assertion, so the parallel load cannot make it flaky.
set -uo pipefail
build=${1:?usage: alloc_torture.sh BUILD_DIR}
mult=${TETHER_TEST_TIMEOUT_MULTIPLIER:-1}
jobs=${TORTURE_JOBS:-$(($(nproc 2>/dev/null || echo 2) * 2))}
[ "$jobs" -ge 4 ] || jobs=4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# The n to try for a program with `total` allocations, at most `max_runs`: all n up to half of
# it, then every k-th, so a program with many allocations still gets its early error paths
# (set-up) in full.
points() {
    local total=$1 max_runs=$2 n
    if [ "$total" -le "$max_runs" ]; then
        seq 1 "$total"
        return
    fi
    seq 1 $((max_runs / 2))
    local step=$(((total - max_runs / 2) / (max_runs / 2) + 1))
    for ((n = max_runs / 2 + 1; n <= total; n += step)); do
        echo "$n"
    done
}

# run_one NAME N LEAKS ASAN CMD...: one run with allocation N failed; leaves $tmp/NAME.N.bad
# (why) and $tmp/NAME.N.out (its output) when the run is bad.
run_one() {
    local name=$1 n=$2 leaks=$3 asan=$4
    shift 4
    local out=$tmp/$name.$n.out
    TETHER_TEST_FAIL_ALLOC_AT=$n ASAN_OPTIONS=$asan timeout $((60 * mult)) "$@" >"$out" 2>&1
    local rc=$? why=""
    if [ "$rc" -eq 124 ]; then
        why="hung"
    elif grep -qE 'Sanitizer|runtime error:' "$out"; then
        why="sanitizer report"
    elif [ "$rc" -ge 128 ]; then
        why="killed by signal $((rc - 128))"
    elif [ "$leaks" = 1 ] && [ "$rc" -ne 0 ]; then
        why="exit $rc"
    fi
    if [ -n "$why" ]; then
        echo "$why" >"$tmp/$name.$n.bad"
    else
        rm -f "$out"
    fi
}

# torture NAME LEAKS MAX_RUNS CMD...: LEAKS is 1 when a run must also be leak-free.
torture() {
    local name=$1 leaks=$2 max_runs=$3
    shift 3
    local asan="detect_leaks=$leaks:abort_on_error=1:print_summary=1"
    local out=$tmp/out
    # The allocation count of a clean run.
    TETHER_TEST_FAIL_ALLOC_AT=0 ASAN_OPTIONS=$asan timeout $((120 * mult)) "$@" >"$out" 2>&1
    local total
    total=$(sed -n 's/^allocations: \([0-9]*\)$/\1/p' "$out" | tail -1)
    if [ -z "$total" ]; then
        total=$(TETHER_TEST_ALLOC_REPORT=1 ASAN_OPTIONS=$asan "$@" 2>&1 |
            sed -n 's/^allocations: \([0-9]*\)$/\1/p' | tail -1)
    fi
    if [ -z "$total" ]; then
        echo "FAIL $name: no allocation count (a clean run must print 'allocations: N')"
        failures=$((failures + 1))
        return
    fi
    if [ "$total" -eq 0 ]; then
        echo "$name: no allocations, nothing to fail"
        return
    fi
    local runs=0 running=0 n
    local ns=()
    for n in $(points "$total" "$max_runs"); do
        ns+=("$n")
        runs=$((runs + 1))
        run_one "$name" "$n" "$leaks" "$asan" "$@" &
        running=$((running + 1))
        if [ "$running" -ge "$jobs" ]; then
            wait -n
            running=$((running - 1))
        fi
    done
    wait
    local bad=0
    for n in "${ns[@]}"; do
        [ -f "$tmp/$name.$n.bad" ] || continue
        bad=$((bad + 1))
        if [ "$bad" -le 3 ]; then
            echo "FAIL $name: allocation $n of $total failed: $(cat "$tmp/$name.$n.bad")"
            grep -E 'ERROR|SUMMARY|runtime error|torture:|#[0-9] ' "$tmp/$name.$n.out" | head -25
        fi
    done
    echo "$name: $total allocations, $runs failure points, $bad bad"
    failures=$((failures + bad))
}

# 500 processes: every n up to 250, then every k-th (alloc_sweep, in one process, fails every
# allocation of a scenario per component; this keeps one process per n for the early paths).
torture scenario 1 500 "$build/tests/torture_scenario"
# Unit tests of core, http1, client and server whose runs stay short when an allocation fails
# (a test waiting out its own timeouts after a failure costs seconds per run), each capped.
for t in core_test_buf http1_test_write client_test_url client_test_blocking client_test_replay \
    server_test_options server_test_tls server_test_framing; do
    [ -x "$build/tests/$t" ] || continue
    TETHER_TEST_ALLOC_REPORT=1 torture "$t" 0 40 "$build/tests/$t"
done
if [ "$failures" -ne 0 ]; then
    echo "alloc torture: $failures failing runs"
    exit 1
fi
echo "alloc torture: ok"
