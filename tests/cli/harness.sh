# SPDX-License-Identifier: MIT
# The one harness every tests/cli/test_*.sh sources (with the tether binary as $1): a temp dir,
# cleanup of every process started, pass/fail counters, the CLI's "listening on" handshake and
# bounded, scaled waits. Sourced, never run: CMake only runs tests/cli/test_*.sh.
#
#   $tether $mult $tmp          the binary, TETHER_TEST_TIMEOUT_MULTIPLIER (default 1), a temp dir
#   ok / fail MSG / expect NAME CMD...      count a pass / a failure (printed) / CMD's outcome
#   finish                       print "N passed, M failed" and exit (1 if anything failed)
#   skip WHY                     print "SKIP ..." and exit 77 (CTest's SKIP_RETURN_CODE)
#   need_node WHY                node is required: fail and exit when it is missing
#   need_npm DIR MODULE          node and DIR/node_modules/MODULE are required: skip without them
#   need_tether                  $tether must be an executable: fail and exit otherwise
#   scaled MS                    MS times the multiplier, for every bound on something that must
#                                happen (never for a window in which something must not happen)
#   now_ms                       milliseconds of wall time
#   wait_for MS CMD...           poll CMD every 50 ms until it succeeds; 1 after MS (scaled)
#   spawn_listening NAME N CMD...  run CMD in the background (stdout $tmp/NAME.out, stderr
#                                $tmp/NAME.err), wait until its stdout has N lines or it exits;
#                                sets $pid, $line1, $line2, $port1, $port2; 1 if the lines never came
#   start_server NAME ARGS...    `tether serve --listen 127.0.0.1:0 ARGS` that way; sets $pid,
#                                $port and $url (http[s]://127.0.0.1:PORT); 1 (and a failure) if
#                                it never listens
#   stop_server                  SIGTERM the last start_server's $pid and wait for it ($rc)
#   stop_pid PID [SIG] [MS]      signal PID and wait up to MS (scaled, default 10 s) for it to
#                                exit; $rc is its status, 124 if it had to be killed
#   check_sanitizers             a failure for any sanitizer report in $tmp/*.err
#   jget FILE EXPR               a JavaScript expression over the JSON in FILE (as `j`), by node
#   errhas NAME TEXT             $tmp/NAME.err contains TEXT
set -uo pipefail
tether=$1
mult=${TETHER_TEST_TIMEOUT_MULTIPLIER:-1}
case $mult in '' | *[!0-9]* | 0) mult=1 ;; esac
tmp=$(mktemp -d)
pids=()
passed=0
failed=0
test_name=$(basename "$0" .sh)

cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -KILL "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); }
fail() {
    echo "FAIL $*"
    failed=$((failed + 1))
}
# expect NAME COMMAND...: passes when the command succeeds.
expect() {
    local name=$1
    shift
    if "$@"; then ok; else fail "$name"; fi
}
finish() {
    echo "$test_name: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}
skip() {
    echo "SKIP $test_name: $*"
    exit 77
}
need_node() {
    if ! command -v node >/dev/null 2>&1; then
        echo "FAIL $test_name: node is required ($*); scripts/install-peers.sh installs it"
        exit 1
    fi
}
need_npm() {
    command -v node >/dev/null 2>&1 || skip "node is not installed; run scripts/install-peers.sh"
    [ -d "$1/node_modules/$2" ] || skip "$1/node_modules is missing; run scripts/install-peers.sh"
}
need_tether() {
    if [ -z "$tether" ] || [ ! -x "$tether" ]; then
        echo "FAIL $test_name: no tether binary (argument 1 or TETHER_BINARY): '$tether'"
        exit 1
    fi
}

scaled() { echo $(($1 * mult)); }

# Milliseconds of wall time (bash 5's $EPOCHREALTIME), for bounded waits and measurements.
now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    echo $((10#$t / 1000))
}

wait_for() {
    local deadline=$(($(now_ms) + $1 * mult))
    shift
    until "$@"; do
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

# The stdout of NAME has at least N non-empty lines.
has_lines() { [ "$(grep -c . "$tmp/$1.out" 2>/dev/null)" -ge "$2" ]; }
exited() { ! kill -0 "$1" 2>/dev/null; }
lines_or_exit() { has_lines "$1" "$2" || exited "$3"; }

spawn_listening() {
    local name=$1 want=$2
    shift 2
    # Emptied here, not only by the child's redirection: that happens after the fork, and a
    # file left by an earlier process of the same name must not pass for this one's output.
    : >"$tmp/$name.out"
    : >"$tmp/$name.err"
    "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pid=$!
    pids+=("$pid")
    wait_for 10000 lines_or_exit "$name" "$want" "$pid"
    line1=$(sed -n 1p "$tmp/$name.out")
    line2=$(sed -n 2p "$tmp/$name.out")
    port1=${line1##*:}
    port2=${line2##*:}
    has_lines "$name" "$want"
}

start_server() {
    local name=$1
    shift
    if ! spawn_listening "$name" 1 "$tether" serve --listen 127.0.0.1:0 "$@" ||
        ! [[ $line1 =~ ^listening\ on\ https?://127\.0\.0\.1:[0-9]+$ ]]; then
        fail "$name: no listening line (got '$line1'; stderr: $(head -5 "$tmp/$name.err"))"
        return 1
    fi
    port=$port1
    url=${line1#listening on }
    return 0
}

stop_server() { stop_pid "$pid" TERM; }

stop_pid() {
    local p=$1 sig=${2:-TERM} ms=${3:-10000}
    kill "-$sig" "$p" 2>/dev/null
    if wait_for "$ms" exited "$p"; then
        wait "$p" 2>/dev/null
        rc=$?
    else
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
        rc=124
    fi
}

check_sanitizers() {
    if grep -lE 'Sanitizer|runtime error:' "$tmp"/*.err >"$tmp/sanitizer.list" 2>/dev/null; then
        fail "sanitizer reports in: $(tr '\n' ' ' <"$tmp/sanitizer.list")"
        head -30 "$(head -1 "$tmp/sanitizer.list")"
    else
        ok
    fi
}

jget() {
    node -e 'const fs=require("fs");const j=JSON.parse(fs.readFileSync(process.argv[1],"utf8"));
             const v=eval(process.argv[2]);console.log(typeof v==="object"?JSON.stringify(v):v)' \
        "$1" "$2" 2>/dev/null
}
errhas() { grep -qF -- "$2" "$tmp/$1.err"; }
