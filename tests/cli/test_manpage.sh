#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The man page and the bash, zsh and fish completions cannot drift from the parsers: every flag
# a command's own parse loop knows (`tether __flags CMD`, read through args.h's enumeration
# hook) appears in that command's --help, in tether(1) and in all three completion scripts;
# the files the build installs are the ones the command prints; groff reads the page without a
# warning; and real shells (bash, fish, and zsh in a pseudo-terminal) complete commands, flags
# and fixed values from the scripts.
source "$(dirname "$0")/harness.sh"
need_tether

"$tether" help --man >"$tmp/tether.1" || fail "help --man"
for sh in bash zsh fish; do
    "$tether" completion "$sh" >"$tmp/c.$sh" || fail "completion $sh"
done

# missing_flags CMD HELP MAN BASH ZSH FISH: one line per flag of CMD absent from one of them.
missing_flags() {
    local cmd=$1 help=$2 man=$3 bash=$4 zsh=$5 fish=$6 flag kind rest word fishflag
    # The command's own section of the page (from .SH "TETHER CMD" to the next .SH) as words:
    # \- is '-', font changes go.
    sed -n "/^\\.SH \"TETHER ${cmd^^}\"/,/^\\.SH/p" "$man" |
        sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' >"$tmp/man.$cmd"
    # The command's case in each script (files, not pipes into grep -q: with pipefail, grep
    # quitting early would fail the pipeline).
    sed -n "/^    $cmd)\$/,/^        ;;\$/p" "$bash" >"$tmp/bash.$cmd"
    sed -n "/^        $cmd)\$/,/^            ;;\$/p" "$zsh" >"$tmp/zsh.$cmd"
    while IFS=$'\t' read -r flag kind rest; do
        word="(^|[^A-Za-z0-9_-])${flag}([^A-Za-z0-9_-]|\$)"
        grep -qE -- "$word" "$help" || echo "$cmd: $flag is not in tether help $cmd"
        grep -qE -- "$word" "$tmp/man.$cmd" || echo "$cmd: $flag is not in tether(1)"
        grep -q -- "^        flags=.*[' ]${flag}[' ]" "$tmp/bash.$cmd" ||
            echo "$cmd: $flag is not in the bash completion"
        grep -qF -- "'*${flag}[" "$tmp/zsh.$cmd" ||
            echo "$cmd: $flag is not in the zsh completion"
        case $flag in
        --*) fishflag="-l ${flag#--}" ;;
        -?) fishflag="-s ${flag#-}" ;;
        *) fishflag="-o ${flag#-}" ;;
        esac
        grep -qE -- "__fish_seen_subcommand_from $cmd' ${fishflag}( |\$)" "$fish" ||
            echo "$cmd: $flag is not in the fish completion"
    done <"$tmp/flags.$cmd"
}

"$tether" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1}' |
    grep -vxE 'help|version' >"$tmp/commands"
expect "--help lists the completion command" grep -qx completion "$tmp/commands"
problems=""
while read -r cmd; do
    "$tether" __flags "$cmd" >"$tmp/flags.$cmd" 2>"$tmp/flags.err"
    expect "__flags $cmd: exit 0, nothing on stderr" test $? -eq 0 -a ! -s "$tmp/flags.err"
    expect "__flags $cmd: reports flags" grep -qE '^-' "$tmp/flags.$cmd"
    "$tether" help "$cmd" >"$tmp/help.$cmd"
    problems+=$(missing_flags "$cmd" "$tmp/help.$cmd" "$tmp/tether.1" "$tmp/c.bash" "$tmp/c.zsh" "$tmp/c.fish")$'\n'
done <"$tmp/commands"
problems=$(sed '/^$/d' <<<"$problems")
[ -n "$problems" ] && echo "$problems" | sed 's/^/  /'
expect "every parser flag is in --help, tether(1) and the three completions" test -z "$problems"

expect "tether(1) has the built-ins help and version" \
    grep -qx '.SH "TETHER VERSION"' "$tmp/tether.1"
expect "tether(1) names help --man" grep -qF '\fB\-\-man\fR' "$tmp/tether.1"

# The checker can fail: drop --retry from copies of the page and the scripts.
grep -v -- 'retry' "$tmp/tether.1" >"$tmp/bad.1"
sed 's/ --retry / /' "$tmp/c.bash" >"$tmp/bad.bash"
bad=$(missing_flags get "$tmp/help.get" "$tmp/bad.1" "$tmp/bad.bash" "$tmp/c.zsh" "$tmp/c.fish")
expect "a flag missing from the page is reported" grep -qx 'get: --retry is not in tether(1)' <<<"$bad"
expect "a flag missing from a script is reported" \
    grep -qx 'get: --retry is not in the bash completion' <<<"$bad"

# What the parsers report: names, whether a value follows, fixed choices.
expect "get knows -o with a value" grep -qxP -- '-o\tvalue\t' "$tmp/flags.get"
expect "get knows -L without one" grep -qxP -- '-L\tnone\t' "$tmp/flags.get"
expect "get's --policy offers naive and default" grep -qxP -- '--policy\tvalue\tnaive default' "$tmp/flags.get"
expect "serve's --close-style offers its styles" \
    grep -qxP -- '--close-style\tvalue\tgraceful node rst' "$tmp/flags.serve"
expect "load's --output offers csv and ndjson" grep -qxP -- '--output\tvalue\tcsv ndjson' "$tmp/flags.load"
expect "proxy's Go flags keep one dash" grep -qxP -- '-host\tvalue\t' "$tmp/flags.proxy"
expect "proxy's own flags keep two" grep -qxP -- '--listen\tvalue\t' "$tmp/flags.proxy"
"$tether" __flags frobnicate >/dev/null 2>&1
expect "__flags: an unknown command is a usage error" test $? -eq 2

# The build's files (installed by cmake --install) are what the command prints.
share=$(dirname "$tether")/share
if [ -d "$share" ]; then
    expect "build: tether.1 is tether help --man" cmp -s "$share/tether.1" "$tmp/tether.1"
    expect "build: tether.bash is the bash script" cmp -s "$share/tether.bash" "$tmp/c.bash"
    expect "build: _tether is the zsh script" cmp -s "$share/_tether" "$tmp/c.zsh"
    expect "build: tether.fish is the fish script" cmp -s "$share/tether.fish" "$tmp/c.fish"
else
    fail "the build wrote no $share (tether_cli_docs)"
fi

# groff reads the page without a warning (-ww: all of them), and so does man.
if command -v groff >/dev/null; then
    groff -man -ww -z "$tmp/tether.1" 2>"$tmp/groff.err"
    expect "groff -man -ww: no warnings ($(head -3 "$tmp/groff.err"))" test ! -s "$tmp/groff.err"
    if command -v man >/dev/null; then
        MANWIDTH=80 man --warnings -l "$tmp/tether.1" >"$tmp/man.out" 2>"$tmp/man.err"
        expect "man --warnings: none ($(head -3 "$tmp/man.err"))" test ! -s "$tmp/man.err"
        expect "man renders the get section" grep -q 'TETHER GET' "$tmp/man.out"
    fi
else
    echo "SKIP groff checks: groff is not installed (scripts/install-deps.sh test)"
fi

# A real bash completes from the script, driven as readline would (COMP_WORDS/COMP_CWORD).
bash_complete() {
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
             _tether; printf "%s\n" "${COMPREPLY[@]}"' _ "$tmp/c.bash" "$@" | sort | tr '\n' ' '
}
expect "bash: commands" test "$(bash_complete tether se)" = "serve "
expect "bash: flags" test "$(bash_complete tether get --retry)" = "--retry --retry-connrefused "
expect "bash: fixed values" test "$(bash_complete tether serve --close-style '')" = "graceful node rst "
expect "bash: --policy names" test "$(bash_complete tether load --policy '')" = "default naive "
expect "bash: proxy's Go flags" test "$(bash_complete tether proxy -ho)" = "-host "
expect "bash: help takes command names" test "$(bash_complete tether help lo)" = "load "
expect "bash: completion takes shells" test "$(bash_complete tether completion '')" = "bash fish zsh "

if command -v fish >/dev/null; then
    fish_complete() {
        fish --no-config -c "source '$tmp/c.fish'; complete -C '$1'" | cut -f1 | sort | tr '\n' ' '
    }
    expect "fish: flags" test "$(fish_complete 'tether get --retry')" = "--retry --retry-connrefused "
    expect "fish: fixed values" test "$(fish_complete 'tether serve --close-style ')" = "graceful node rst "
    expect "fish: proxy's Go flags" test "$(fish_complete 'tether proxy -hos')" = "-host "
    expect "fish: commands" bash -c "fish --no-config -c \"source '$tmp/c.fish'; complete -C 'tether '\" | grep -q '^doctor'"
else
    echo "SKIP fish checks: fish is not installed (scripts/install-deps.sh test)"
fi
if command -v zsh >/dev/null; then
    expect "zsh: the script parses" zsh -n "$tmp/c.zsh"
    # An interactive zsh in a pseudo-terminal with the script in its fpath: type LINE and TAB,
    # then wait (bounded by timeout) until the screen matches PATTERN.
    mkdir -p "$tmp/zfunc"
    cp "$tmp/c.zsh" "$tmp/zfunc/_tether"
    cat >"$tmp/ztab.zsh" <<'ZSH'
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1='> '; fpath=($1 \$fpath); autoload -U compinit; compinit -u -D; tether() { :; }"
zpty -n -w z "$2"$'\t'
zpty -r z screen "$3"
ZSH
    zsh_tab() { timeout "$(scaled 10)" zsh -f "$tmp/ztab.zsh" "$tmp/zfunc" "$1" "$2" >/dev/null 2>&1; }
    expect "zsh: flags" zsh_tab 'tether get --retr' '*--retry*'
    expect "zsh: fixed values" zsh_tab 'tether serve --close-style ' '*graceful*node*rst*'
    expect "zsh: commands" zsh_tab 'tether doc' '*doctor*'
else
    echo "SKIP zsh checks: zsh is not installed (scripts/install-deps.sh test)"
fi

"$tether" completion tcsh >/dev/null 2>"$tmp/err"
expect "completion: an unknown shell is a usage error" test $? -eq 2
expect "completion: names the shell" grep -qF "'tcsh'" "$tmp/err"

finish
