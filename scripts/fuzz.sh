#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fuzz smoke run (STYLE §9): each libFuzzer target for SECONDS (default 60) on a copy of its
# checked-in corpus. Fails if any target finds a crash; copies of crashing inputs are kept in
# fuzz/crashes-found/ (ignored by git). TETHER_FUZZ_LAX_ERRORS=1 lets the head targets accept two
# different violations named for the same bytes split differently (both must still fail).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
build="build-fuzz"

if ! command -v clang >/dev/null 2>&1; then
    echo "clang not found: fuzz smoke skipped"
    exit 0
fi

# A build-fuzz configured some other way (not clang, fuzzers off) cannot be fixed in place.
if [ -f "$build/CMakeCache.txt" ] &&
    ! { grep -q '^TETHER_BUILD_FUZZERS:BOOL=ON$' "$build/CMakeCache.txt" &&
        grep -q '^CMAKE_C_COMPILER_ID:.*=Clang$\|^CMAKE_C_COMPILER:[A-Z]*=.*clang[^/]*$' \
            "$build/CMakeCache.txt"; }; then
    echo "$build is not a clang fuzz build: reconfiguring it"
    rm -rf "$build"
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
    CC=clang cmake -S . -B "$build" -DTETHER_BUILD_FUZZERS=ON \
        -DTETHER_SANITIZER=address,undefined -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link \
        -DTETHER_BUILD_TESTS=OFF -DTETHER_BUILD_BENCH=OFF -DTETHER_BUILD_CLI=OFF >/dev/null
fi
cmake --build "$build" --target fuzzers -j "$(nproc)" >/dev/null 2>&1 ||
    cmake --build "$build" --target fuzzers # again, to show the errors

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
summary=()
for src in fuzz/*_fuzz.c; do
    target="$(basename "$src" .c)"
    name="${target%_fuzz}"
    exe="$build/fuzz/$target"
    work="$build/fuzz-run/$name"
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts"
    if [ -d "fuzz/corpus/$name" ]; then
        cp -R "fuzz/corpus/$name/." "$work/corpus/"
    fi
    dict=() # fuzz/<target>.dict if there is one, else the HTTP/1.1 tokens
    if [ -f "fuzz/$name.dict" ]; then
        dict=(-dict="fuzz/$name.dict")
    elif [ -f fuzz/http1.dict ]; then
        dict=(-dict=fuzz/http1.dict)
    fi
    rc=0
    "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "${dict[@]}" -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1 ||
        rc=$?
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)"
    eps="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -n 1)"
    status=ok
    if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
        status="FAILED (exit $rc)"
        failed=1
        mkdir -p fuzz/crashes-found
        [ -f fuzz/crashes-found/.gitignore ] || printf '*\n' >fuzz/crashes-found/.gitignore
        for f in "$work/artifacts"/*; do
            [ -e "$f" ] && cp "$f" "fuzz/crashes-found/$name-$(basename "$f")"
        done
        echo "--- $target log ($work/log), last 40 lines:" >&2
        tail -n 40 "$work/log" >&2
    fi
    summary+=("$(printf 'fuzz %-14s %s runs=%s exec/s=%s' "$name" "$status" "${runs:-?}" \
        "${eps:-?}")")
done

printf '%s\n' "${summary[@]}"
exit "$failed"
