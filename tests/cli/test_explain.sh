#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether explain`: text as arguments or from stdin, the human report, --json's shape (checked
# with node), exit 0 recognised / 1 not recognised (with errno advice) / 2 usage, and help.
# Counters, cleanup, $tmp and jget.
source "$(dirname "$0")/harness.sh"
need_tether
need_node "the --json output is parsed with node"

# run NAME EXPECTED_EXIT ARGS... [< input]: stdout in $tmp/NAME.out, stderr in $tmp/NAME.err.
run() {
    local name=$1 want=$2
    shift 2
    timeout "$(scaled 10)" "$tether" explain "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    local got=$?
    if [ "$got" -ne "$want" ]; then
        fail "$name: exit $got, expected $want ($(head -3 "$tmp/$name.err"))"
    else
        ok
    fi
}
has() { grep -qF -- "$2" "$tmp/$1.out" || fail "$1: no '$2' in: $(head -5 "$tmp/$1.out")"; }

# One argument, human output.
run arg 0 'Error: socket hang up' </dev/null
has arg 'Node.js: socket hang up'
has arg 'phase    wait'
has arg 'side     remote'
has arg 'causes   C1'
has arg 'retry    depends'
has arg 'confirm  tether doctor URL'
# Unquoted words are joined back together.
run words 0 curl: '(52)' Empty reply from server </dev/null
has words 'curl: (52) Empty reply from server'

# From the first word on everything is text, flags included.
run words-flag 0 'Error: socket hang up' --json </dev/null
has words-flag 'socket hang up'

# A whole paste on stdin with '-': three errors, in order, one report each.
cat >"$tmp/paste.txt" <<'PASTE'
2026-12-03T14:00:00.000Z worker crashed
Error: read ECONNRESET
    at TLSWrap.onStreamRead (node:internal/stream_base_commons:218:20)
    at TLSSocket.socketErrorListener (node:_http_client:501:9) {
  errno: -104,
  code: 'ECONNRESET',
  syscall: 'read'
}
2026/12/03 14:00:01 [error] 29#29: *8 upstream prematurely closed connection while reading response header from upstream, client: 10.0.0.1, server: example.com, request: "GET / HTTP/1.1", upstream: "http://10.0.0.2:8080/"
Dec  3 14:00:02 lb haproxy[1234]: 10.0.0.1:51234 [03/Dec/2026:14:00:02.001] fe be/srv1 0/0/1/-1/2 502 0 - - SH-- 1/1/0/0/0 0/0 "GET / HTTP/1.1"
PASTE
run stdin 0 - <"$tmp/paste.txt"
has stdin 'Node.js: read ECONNRESET'
has stdin 'nginx: upstream prematurely closed connection'
has stdin 'HAProxy: termination state SH'
has stdin 'phase    upstream-wait'
# No argument with stdin not a terminal reads stdin too.
run implicit-stdin 0 <"$tmp/paste.txt"
expect "implicit stdin: same report as '-'" cmp -s "$tmp/stdin.out" "$tmp/implicit-stdin.out"

# --json: one object for one error...
run json 0 --json 'requests.exceptions.ConnectionError: ('"'"'Connection aborted.'"'"', RemoteDisconnected('"'"'Remote end closed connection without response'"'"'))' </dev/null
expect "json: recognized" [ "$(jget "$tmp/json.out" 'j.recognized')" = true ]
expect "json: ecosystem" [ "$(jget "$tmp/json.out" 'j.ecosystem')" = "Python requests / urllib3" ]
expect "json: phase" [ "$(jget "$tmp/json.out" 'j.phase')" = wait ]
expect "json: side" [ "$(jget "$tmp/json.out" 'j.side')" = remote ]
expect "json: retry_safe" [ "$(jget "$tmp/json.out" 'j.retry_safe')" = depends ]
expect "json: confirm" [ "$(jget "$tmp/json.out" 'j.confirm.startsWith("tether ")')" = true ]
expect "json: causes" [ "$(jget "$tmp/json.out" 'j.causes.map(c => c.code).join(",")')" = C1,C2,C3 ]
expect "json: cause fields" [ "$(jget "$tmp/json.out" \
    'j.causes.every(c => c.title && c.why && c.fix)')" = true ]
expect "json: error" [ "$(jget "$tmp/json.out" 'typeof j.error')" = string ]
# ...and an array for several.
run json-many 0 --json - <"$tmp/paste.txt"
expect "json-many: an array of 3" [ "$(jget "$tmp/json-many.out" 'j.length')" = 3 ]
expect "json-many: order" [ "$(jget "$tmp/json-many.out" 'j.map(e => e.phase).join(",")')" = \
    wait,upstream-wait,upstream-headers ]
expect "json-many: lines" [ "$(jget "$tmp/json-many.out" 'j.map(e => e.line).join(",")')" = 2,9,10 ]

# Not recognised: exit 1, the errno's generic advice, or nothing to say.
run errno 1 'worker 3 died: ECONNRESET' </dev/null
has errno 'ECONNRESET (generic advice'
expect "errno: stderr says nothing was recognised" grep -q 'no known error message' "$tmp/errno.err"
run errno-json 1 --json 'socket error 10054: WSAECONNRESET' </dev/null
expect "errno-json: recognized false" [ "$(jget "$tmp/errno-json.out" 'j.recognized')" = false ]
expect "errno-json: errno" [ "$(jget "$tmp/errno-json.out" 'j.errno')" = ECONNRESET ]
expect "errno-json: causes" [ "$(jget "$tmp/errno-json.out" 'j.causes[0].code')" = C1 ]
run nothing 1 --json 'all good, 200 OK' </dev/null
expect "nothing: errno null" [ "$(jget "$tmp/nothing.out" 'j.errno === null && !j.recognized')" = true ]
run nothing-human 1 'all good, 200 OK' </dev/null
expect "nothing-human: stdout empty" [ ! -s "$tmp/nothing-human.out" ]

# Usage errors: exit 2, one line naming what is wrong.
run bad-flag 2 --frob x </dev/null
expect "bad-flag: names the flag" grep -q "'--frob'" "$tmp/bad-flag.err"
run dash-extra 2 - extra </dev/null
expect "dash-extra: names the argument" grep -q "'extra'" "$tmp/dash-extra.err"
# No text and a terminal on stdin: say what is expected instead of waiting for input.
if command -v script >/dev/null 2>&1; then
    timeout "$(scaled 10)" script -qec "$tether explain" /dev/null >"$tmp/tty.out" 2>&1
    rc=$?
    expect "tty: exit 2 (got $rc)" [ "$rc" -eq 2 ]
    expect "tty: names what is expected" grep -q "expects an error text" "$tmp/tty.out"
fi

# Help.
run help 0 --help </dev/null
has help 'Usage: tether explain'
timeout "$(scaled 10)" "$tether" help explain >"$tmp/help2.out" 2>&1
expect "help explain" cmp -s "$tmp/help.out" "$tmp/help2.out"
check_sanitizers
finish
