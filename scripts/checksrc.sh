#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Source rules a compiler does not check (STYLE §9): banned functions, raw allocation outside
# src/core/alloc.c, the SPDX line, printing or exiting below the CLI, and what src/cli may
# include.
set -uo pipefail
cd "$(dirname "$0")/.."
fails=0
report() {
    echo "checksrc: $1"
    fails=$((fails + 1))
}

lib_sources=$(find src -name '*.c' -o -name '*.h' | grep -v '^src/cli/' | sort)
all_sources=$(find src include -name '*.c' -o -name '*.h' | sort)

for f in $all_sources; do
    head -1 "$f" | grep -q 'SPDX-License-Identifier' || report "$f: first line is not the SPDX line"
    if grep -nE '\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|gets|strerror)\s*\(' "$f" |
        grep -vE '\b(snprintf|vsnprintf)\b' >/tmp/checksrc.$$; then
        while read -r line; do report "$f:$line: banned function"; done </tmp/checksrc.$$
    fi
done
for f in $lib_sources; do
    [ "$f" = src/core/alloc.c ] && continue
    grep -nE '(^|[^_a-z])(malloc|calloc|realloc|free)\s*\(' "$f" | grep -v 'tt__' >/tmp/checksrc.$$ &&
        while read -r line; do report "$f:$line: raw allocation (use tt__malloc/tt__free)"; done </tmp/checksrc.$$
    # A line marked "checksrc: debug-output" is exempt: the opt-in TETHER_DEBUG trace
    # (src/client/debug.c) and the test-build allocation count (src/core/alloc.c) are the only
    # places the library writes to stderr.
    grep -nE '\b(printf|fprintf|puts|fputs|perror|exit|abort)\s*\(' "$f" |
        grep -v 'checksrc: debug-output' >/tmp/checksrc.$$ &&
        while read -r line; do report "$f:$line: the library never prints or exits"; done </tmp/checksrc.$$
done
# The command is only a client of the library (STYLE §1, DESIGN.md §3): it includes public
# headers ("tether/..."), the shared helper layer ("util/...", like curl's curlx) and its own
# headers in src/cli, never another component's private header.
for f in $(find src/cli -name '*.c' -o -name '*.h' | sort); do
    grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" >/tmp/checksrc.$$ || continue
    while IFS= read -r line; do
        inc=${line#*\"}
        inc=${inc%%\"*}
        case $inc in
        tether/*.h | util/*.h) [[ $inc == */*/* ]] || continue ;;
        */*) ;;
        *) [ -f "src/cli/$inc" ] && continue ;;
        esac
        report "$f:${line%%:*}: src/cli includes \"$inc\" (only \"tether/...\", \"util/...\" and src/cli's own headers)"
    done </tmp/checksrc.$$
done
# The command's sources are listed by name in CMakeLists.txt (no glob): a file left out of the
# list would silently not be built.
for f in $(find src/cli -name '*.c' | sort); do
    grep -qE "(^|[[:space:]])${f#src/cli/}([[:space:]]|\)|$)" CMakeLists.txt ||
        report "$f: not in TETHER_CLI_SOURCES (CMakeLists.txt)"
done
rm -f /tmp/checksrc.$$
if [ "$fails" -ne 0 ]; then
    echo "checksrc: $fails problem(s)"
    exit 1
fi
echo "checksrc: ok ($(echo "$all_sources" | wc -l) files)"
