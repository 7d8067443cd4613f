#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The command's contract (DESIGN.md §5): --help, --version, help NAME, exit 2 naming bad input.
# Counters, cleanup and $tmp.
source "$(dirname "$0")/harness.sh"

# check NAME EXPECTED_EXIT COMMAND...: the exit status; stdout and stderr land in $tmp/out, err.
check() {
    local name=$1 want=$2
    shift 2
    timeout "$(scaled 10)" "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" -ne "$want" ]; then
        fail "$name: exit $got, expected $want ($(head -3 "$tmp/err"))"
    else
        ok
    fi
}

check version 0 "$tether" --version
expect "version text" grep -qE '^tether [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out"

check help 0 "$tether" --help
expect "help text" grep -q 'Usage: tether' "$tmp/out"
check help-cmd 0 "$tether" help

check unknown-command 2 "$tether" frobnicate
expect "unknown-command: one line" [ "$(wc -l <"$tmp/err")" -eq 1 ]
expect "unknown-command: value named" grep -q "'frobnicate'" "$tmp/err"
expect "unknown-command: nothing on stdout" [ ! -s "$tmp/out" ]

check unknown-flag 2 "$tether" --frob
expect "unknown-flag: value named" grep -q "'--frob'" "$tmp/err"

check help-unknown 2 "$tether" help frobnicate
expect "help-unknown: value named" grep -q "'frobnicate'" "$tmp/err"

check no-args 2 "$tether"

# Every command listed by --help has its own help page.
"$tether" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1}' >"$tmp/commands"
expect "--help lists commands" [ -s "$tmp/commands" ]
while read -r cmd; do
    check "help $cmd" 0 "$tether" help "$cmd"
done <"$tmp/commands"

finish
