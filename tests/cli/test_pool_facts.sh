#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether load` and `tether get -v` print the same facts about the pool: connections retired
# before the server's idle close, the idle close learned from the server's own closes, and the
# Keep-Alive hint seen. Each figure is forced by the server's settings, not by timing luck: one
# worker pausing 2.5 s against a 2 s hint always finds its connection retired (tether retires
# before the hint runs out); pausing 1.5 s against a server that closes at 1 s with no hint, the
# idle watcher sees each close, and two of them 1.5 s apart agree, so the close is learned.
# Usage: bash tests/cli/test_pool_facts.sh path/to/tether
source "$(dirname "$0")/harness.sh"
need_tether
need_node "it reads the JSON"
in_range() { [ "$1" -ge "$2" ] && [ "$1" -lt "$3" ]; }

# With a hint: retired, not learned, hint 2 s.
if start_server hint --keep-alive-timeout 2s; then
    timeout "$(scaled 30)" "$tether" load --requests 2 --concurrency 1 --gap 2500ms --json "$url/" \
        >"$tmp/hint.json" 2>"$tmp/hint-load.err"
    expect "load --json with a hint: retired 1, learned 0, hint 2 ($(cat "$tmp/hint.json"))" \
        [ "$(jget "$tmp/hint.json" '[j.retired_idle, j.learned_idle_close_ms, j.keep_alive_hint_s].join()')" = "1,0,2" ]
    timeout "$(scaled 30)" "$tether" load --requests 2 --concurrency 1 --gap 2500ms "$url/" \
        >"$tmp/hint.txt" 2>&1
    expect "load's table: retired idle 1, no learned close, the hint ($(cat "$tmp/hint.txt"))" \
        grep -qzE "retired idle +1
  learned idle close +none
  Keep-Alive hint +timeout=2 s" "$tmp/hint.txt"
    timeout "$(scaled 30)" "$tether" get -v "$url/" >/dev/null 2>"$tmp/hint-get.err"
    expect "get -v: the same facts ($(tail -2 "$tmp/hint-get.err"))" \
        grep -qx "\* retired idle 0, stale evictions 0, learned idle close none, Keep-Alive hint timeout=2 s" \
        "$tmp/hint-get.err"
    stop_server
fi

# No hint, a close at 1 s: two stale evictions, the close learned, no hint seen.
if start_server nohint --keep-alive-timeout 1s --keep-alive-buffer 0 --no-keep-alive-hint; then
    timeout "$(scaled 30)" "$tether" load --requests 3 --concurrency 1 --gap 1500ms --json "$url/" \
        >"$tmp/nohint.json" 2>"$tmp/nohint-load.err"
    learned=$(jget "$tmp/nohint.json" 'j.learned_idle_close_ms')
    expect "load --json without a hint: 2 evicted, hint null ($(cat "$tmp/nohint.json"))" \
        [ "$(jget "$tmp/nohint.json" '[j.stale_evictions, j.keep_alive_hint_s].join()')" = "2," ]
    # The close is measured on the client's clock: at least the server's 1 s, before the 1.5 s
    # pause ended.
    expect "learned idle close between 1000 and 1500 ms (got $learned)" \
        in_range "${learned:-0}" 1000 1500
    timeout "$(scaled 30)" "$tether" get -v "$url/" >/dev/null 2>"$tmp/nohint-get.err"
    expect "get -v: no hint seen ($(tail -1 "$tmp/nohint-get.err"))" \
        grep -q "learned idle close none, Keep-Alive hint none seen$" "$tmp/nohint-get.err"
    stop_server
fi

finish
