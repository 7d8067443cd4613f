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
expect "help fits 80 columns" awk 'length($0) > 80 { bad = 1 } END { exit bad }' "$tmp/out"
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

check version-cmd 0 "$tether" version
expect "version: same text as --version" grep -qE '^tether [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out"
check version-short 0 "$tether" -V
expect "-V: same text as --version" grep -qE '^tether [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out"
check version-extra 2 "$tether" version now
check help-help 0 "$tether" help help
expect "help help: its usage" grep -q 'Usage: tether help' "$tmp/out"

# Did you mean: a typo gets the closest name, a word far from every name gets none.
check typo-command 2 "$tether" sevre
expect "typo-command: suggests serve" grep -qF "did you mean 'serve'?" "$tmp/err"
check typo-help 2 "$tether" help prxy
expect "typo-help: suggests proxy" grep -qF "did you mean 'proxy'?" "$tmp/err"
check typo-global-flag 2 "$tether" --verison
expect "typo-global-flag: suggests --version" grep -qF "did you mean '--version'?" "$tmp/err"
expect "unknown-command: no guess for a far word" bash -c "! '$tether' frobnicate 2>&1 | grep -q 'did you mean'"
check typo-get-flag 2 "$tether" get --retrys 3 http://127.0.0.1:1/
expect "typo-get-flag: suggests --retry" grep -qF "unknown option '--retrys'; did you mean '--retry'?" "$tmp/err"
check typo-get-inline 2 "$tether" get --max-tme=5s http://127.0.0.1:1/
expect "typo-get-inline: suggests --max-time" grep -qF "did you mean '--max-time'?" "$tmp/err"
check typo-serve-flag 2 "$tether" serve --lisen 127.0.0.1:0
expect "typo-serve-flag: suggests --listen" grep -qF "did you mean '--listen'?" "$tmp/err"
check typo-proxy-go-flag 2 "$tether" proxy -hots 127.0.0.1
expect "typo-proxy-go-flag: keeps one dash" grep -qF "did you mean '-host'?" "$tmp/err"
check typo-proxy-flag 2 "$tether" proxy --prest aws-alb
expect "typo-proxy-flag: keeps two dashes" grep -qF "did you mean '--preset'?" "$tmp/err"
check typo-load-flag 2 "$tether" load --concurency 2 http://127.0.0.1:1/
expect "typo-load-flag: suggests --concurrency" grep -qF "did you mean '--concurrency'?" "$tmp/err"
# --policy: a near miss of a built-in name is a typo, not a missing file.
check typo-policy 2 "$tether" get --policy defualt http://127.0.0.1:1/
expect "typo-policy: suggests default" grep -qF "invalid --policy 'defualt': neither naive, default nor a readable file; did you mean 'default'?" "$tmp/err"
check typo-policy-load 2 "$tether" load --policy nave http://127.0.0.1:1/
expect "typo-policy-load: suggests naive" grep -qF "did you mean 'naive'?" "$tmp/err"
check far-policy 2 "$tether" get --policy frobnicate http://127.0.0.1:1/
expect "far-policy: no guess" bash -c "! grep -q 'did you mean' '$tmp/err'"
check missing-policy-file 2 "$tether" get --policy "$tmp/none.json" http://127.0.0.1:1/
expect "missing-policy-file: the file's error" grep -qF "cannot read policy file" "$tmp/err"
check short-flag-no-guess 2 "$tether" get -Z http://127.0.0.1:1/
expect "short-flag-no-guess: no hint for one letter" bash -c "! grep -q 'did you mean' '$tmp/err'"

# Every command listed by --help has its own help page.
"$tether" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1}' >"$tmp/commands"
expect "--help lists commands" [ -s "$tmp/commands" ]
expect "--help lists help and version" grep -qx 'help' "$tmp/commands"
grep -qx version "$tmp/commands" || fail "--help lists version"
# Each page fits 80 columns and ends with EXAMPLES: 3 to 6 commands that start with tether (or
# pipe into it), and continuation lines after a trailing backslash.
while read -r cmd; do
    check "help $cmd" 0 "$tether" help "$cmd"
    cp "$tmp/out" "$tmp/page"
    expect "help $cmd: every line fits 80 columns" \
        awk 'length($0) > 80 { print FILENAME ": " $0; bad = 1 } END { exit bad }' "$tmp/page"
    expect "help $cmd: ends with EXAMPLES" \
        bash -c "sed -n '/^EXAMPLES\$/,\$p' '$tmp/page' | grep -q '^EXAMPLES\$'"
    sed -n '/^EXAMPLES$/,$p' "$tmp/page" | tail -n +2 >"$tmp/examples"
    n=$(grep -cE '^  [^ ]' "$tmp/examples")
    expect "help $cmd: 3 to 6 examples (got $n)" test "$n" -ge 3 -a "$n" -le 6
    expect "help $cmd: every example runs tether" \
        bash -c "grep -E '^  [^ ]' '$tmp/examples' | grep -vqE 'tether ' && exit 1 || exit 0"
    expect "help $cmd: examples fit 80 columns" \
        awk 'length($0) > 80 { bad = 1 } END { exit bad }' "$tmp/examples"
    expect "help $cmd: EXAMPLES is the last section" \
        bash -c "! grep -qE '^[A-Za-z]' '$tmp/examples'"
done <"$tmp/commands"

finish
