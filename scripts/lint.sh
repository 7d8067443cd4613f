#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Lint gates (STYLE §9): `tidy` runs clang-tidy (.clang-tidy) over every src/ file using the
# build's compile_commands.json; `format` asks clang-format (.clang-format) whether any C file
# under src include tests fuzz bench would change, and changes nothing. `all` (the default)
# runs both. Exits 1 when either finds something. Not part of `make test` yet.
#   scripts/lint.sh [tidy|format|all]
# Environment: CLANG_TIDY, CLANG_FORMAT (binaries), LINT_BUILD_DIR (default build).
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:-all}"
build="${LINT_BUILD_DIR:-build}"
jobs="$(nproc 2>/dev/null || echo 2)"

find_tool() { # first of the names that exists
    for t in "$@"; do
        if command -v "$t" >/dev/null 2>&1; then
            echo "$t"
            return 0
        fi
    done
    return 1
}

run_tidy() {
    local tidy
    tidy="${CLANG_TIDY:-$(find_tool clang-tidy-14 clang-tidy)}" || {
        echo "lint: clang-tidy not found (Debian: apt-get install clang-tidy)" >&2
        return 2
    }
    if [ ! -f "$build/compile_commands.json" ]; then
        echo "lint: configuring $build for its compile_commands.json"
        cmake -S . -B "$build" >/dev/null
    fi
    local out
    out="$(mktemp)"
    # One file per clang-tidy process, in parallel; headers are checked through the .c files
    # that include them (HeaderFilterRegex), so a header finding may be printed more than once.
    # src/pgpool is compiled only where libpq is found: without it there is nothing to check.
    local skip='^$'
    grep -q '/src/pgpool/' "$build/compile_commands.json" || skip='^src/pgpool/'
    find src -name '*.c' | grep -vE "$skip" | sort |
        xargs -P "$jobs" -I{} "$tidy" --quiet -p "$build" {} >"$out" 2>/dev/null || true
    local findings
    findings="$(grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' "$out" | sort -u || true)"
    rm -f "$out"
    if [ -z "$findings" ]; then
        echo "tidy: ok ($(find src -name '*.c' | wc -l) files)"
        return 0
    fi
    echo "$findings" | sed "s|^$PWD/||"
    echo "tidy: $(echo "$findings" | wc -l) finding(s):"
    echo "$findings" | grep -oE '\[[^]]+\]$' | sort | uniq -c | sort -rn
    return 1
}

run_format() {
    local fmt
    fmt="${CLANG_FORMAT:-$(find_tool clang-format-14 clang-format)}" || {
        echo "lint: clang-format not found (Debian: apt-get install clang-format)" >&2
        return 2
    }
    local files bad=()
    files="$(git ls-files -- src include tests fuzz bench | grep -E '\.[ch]$')"
    for f in $files; do
        "$fmt" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
    done
    if [ "${#bad[@]}" -eq 0 ]; then
        echo "format: ok ($(echo "$files" | wc -l) files)"
        return 0
    fi
    printf '%s\n' "${bad[@]}"
    echo "format: ${#bad[@]} of $(echo "$files" | wc -l) files would change" \
        "(fix with: $fmt -i FILE...)"
    return 1
}

rc=0
keep() { # the worst status wins: 2 (a tool is missing) over 1 (findings)
    [ "$1" -gt "$rc" ] && rc="$1"
    return 0
}
case "$what" in
tidy) run_tidy || keep $? ;;
format) run_format || keep $? ;;
all)
    run_format || keep $?
    run_tidy || keep $?
    ;;
*)
    echo "usage: scripts/lint.sh [tidy|format|all]" >&2
    exit 2
    ;;
esac
exit "$rc"
