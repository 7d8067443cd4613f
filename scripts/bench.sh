#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds build-release and runs every benchmark (build-release/bench/*_bench), printing their
# output; when all succeed, records the ratio lines ("ratio NAME tether/PEER: X" for speeds,
# "ratio NAME PEER/tether: X" for times) and the machine in docs/BENCHMARKS.md
# (between <!-- ratios:begin --> and <!-- ratios:end -->; TETHER_BENCH_NO_DOCS=1 skips that).
set -euo pipefail
cd "$(dirname "$0")/.."

build="build-release"
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTETHER_BUILD_TESTS=OFF -DTETHER_BUILD_BENCH=ON >/dev/null
fi
cmake --build "$build" -j "$(nproc)" >/dev/null

shopt -s nullglob
benches=("$build"/bench/*_bench)
if [ "${#benches[@]}" -eq 0 ]; then
    echo "no benchmarks were built (is libhttp-parser-dev installed? see the cmake output)"
    exit 0
fi

out="$(mktemp)"
trap 'rm -f "$out" "$out.md" "$out.new"' EXIT
failed=0
for b in "${benches[@]}"; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b")" | tee -a "$out"
    if ! "$b" | tee -a "$out"; then
        echo "$(basename "$b") FAILED" >&2
        failed=1
    fi
    echo | tee -a "$out"
done
[ "$failed" -eq 0 ] || exit 1

doc=docs/BENCHMARKS.md
if [ "${TETHER_BENCH_NO_DOCS:-0}" != 1 ] && [ -f "$doc" ] &&
    grep -q '^<!-- ratios:begin -->$' "$doc" && grep -q '^<!-- ratios:end -->$' "$doc"; then
    cc="$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")"
    cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    {
        echo "Measured $(date -u +%Y-%m-%d) on ${cpu:-unknown CPU}, $(nproc) CPUs," \
            "Linux $(uname -r), $("${cc:-cc}" --version | head -n 1), Release build."
        echo
        echo "| benchmark | peer | ratio (higher is better for tether) |"
        echo "|---|---|---|"
        # "tether/peer" for speeds; "peer/tether" for times (latency): both favour tether > 1.
        sed -n -e 's/^ratio \([^ ]*\) tether\/\([^:]*\): \(.*\)$/| \1 | \2 | \3 |/p' \
            -e 's/^ratio \([^ ]*\) \([^/ ]*\)\/tether: \(.*\)$/| \1 | \2 (peer\/tether time) | \3 |/p' "$out"
        echo
        echo '```'
        cat "$out"
        echo '```'
    } >"$out.md"
    awk -v block="$out.md" '
        /^<!-- ratios:begin -->$/ { print; while ((getline line < block) > 0) print line; skip = 1; next }
        /^<!-- ratios:end -->$/ { skip = 0 }
        !skip { print }
    ' "$doc" >"$out.new"
    cat "$out.new" >"$doc"
    echo "updated $doc"
fi
