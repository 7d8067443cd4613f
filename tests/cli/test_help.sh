#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The command's contract (DESIGN.md §5): --help, --version, help NAME, exit 2 naming bad input.
set -uo pipefail
tether=$1
fails=0
check() { # name, expected exit, command...
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL $name: exit $got, expected $want"; cat "$tmp/err"; fails=$((fails + 1))
    fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check version 0 "$tether" --version
grep -qE '^tether [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" || { echo "FAIL version text"; fails=$((fails + 1)); }

check help 0 "$tether" --help
grep -q 'Usage: tether' "$tmp/out" || { echo "FAIL help text"; fails=$((fails + 1)); }
check help-cmd 0 "$tether" help

check unknown-command 2 "$tether" frobnicate
[ "$(wc -l <"$tmp/err")" -eq 1 ] || { echo "FAIL unknown-command: not one line"; fails=$((fails + 1)); }
grep -q "'frobnicate'" "$tmp/err" || { echo "FAIL unknown-command: value not named"; fails=$((fails + 1)); }
[ ! -s "$tmp/out" ] || { echo "FAIL unknown-command: wrote stdout"; fails=$((fails + 1)); }

check unknown-flag 2 "$tether" --frob
grep -q "'--frob'" "$tmp/err" || { echo "FAIL unknown-flag: value not named"; fails=$((fails + 1)); }

check help-unknown 2 "$tether" help frobnicate
grep -q "'frobnicate'" "$tmp/err" || { echo "FAIL help-unknown: value not named"; fails=$((fails + 1)); }

check no-args 2 "$tether"

# Every command listed by --help has its own help page.
"$tether" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1}' | while read -r cmd; do
    "$tether" help "$cmd" >/dev/null || { echo "FAIL help $cmd"; exit 1; }
done || fails=$((fails + 1))

if [ "$fails" -ne 0 ]; then
    echo "$fails failed"
    exit 1
fi
echo "cli help: ok"
