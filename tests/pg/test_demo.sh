#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether demo --scenario db-idle --db URL` against a throwaway PostgreSQL: sessions killed when
# idle (idle_session_timeout, set per session by the demo) and two pg_terminate_backend storms.
# The naive pool hands out killed connections and loses queries; tether's pool loses no read
# (evicted on the FATAL, learned, or replayed once when killed running) and runs no INSERT twice:
# the server's own rows are counted. Usage errors exit 2 naming what is wrong.
set -uo pipefail
tether=${TETHER_BINARY:?TETHER_BINARY names the tether command}
. "$(dirname "$0")/../helpers/pg_cluster.sh"
pg_cluster_start || exit 1
url="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
fail() { echo "FAIL: $1"; echo "$out"; exit 1; }

out=$(timeout 60 "$tether" demo --scenario db-idle --db "$url" --seconds 4 --seed 7 --json) ||
    fail "the demo exited $?"
get() { jq -r "$1" <<<"$out"; }
[ "$(get '.scenarios | length')" = 1 ] && [ "$(get '.scenarios[0].name')" = db-idle ] &&
    [ "$(get '.scenarios[0].ran')" = true ] || fail "db-idle did not run alone"
n='.scenarios[0].clients.naive'
t='.scenarios[0].clients.tether'
for c in "$n" "$t"; do
    for key in requests failed replays retries duplicates p99_ms stale_evicted retired_idle \
        learned_idle_close_ms reads.requests reads.failed writes.requests writes.failed \
        writes.failed_but_executed; do
        [ "$(get "$c.$key | type")" = number ] || fail "$c.$key is not a number"
    done
    [ "$(get "$c.requests")" -ge 8 ] || fail "$c ran fewer than 8 queries"
    [ "$(get "$c.errors | add // 0")" = "$(get "$c.failed")" ] || fail "$c: errors do not add up"
    [ "$(get "$c.reads.requests + $c.writes.requests")" = "$(get "$c.requests")" ] ||
        fail "$c: reads and INSERTs do not add up to the queries"
    [ "$(get "$c.reads.failed + $c.writes.failed")" = "$(get "$c.failed")" ] ||
        fail "$c: failed reads and INSERTs do not add up to the failures"
done
[ "$(get "$n.failed")" -ge 1 ] || fail "the naive pool lost nothing: the scenario no longer shows the problem"
[ "$(get "$t.reads.failed")" = 0 ] || fail "tether's pool lost an idempotent read"
# A write can fail only when a storm killed it while it ran (it may have run: not sent again).
[ "$(get "$t.failed")" = "$(get "$t.writes.failed")" ] || fail "tether's pool failed a read"
[ "$(get "$t.duplicates")" = 0 ] || fail "tether's pool ran an INSERT twice"
[ "$(get "$n.duplicates")" = 0 ] || fail "the naive pool ran an INSERT twice"
[ "$(get "$t.stale_evicted + $t.retired_idle")" -ge 1 ] ||
    fail "tether's pool neither evicted nor retired an idle connection"
# The naive pool keeps its connections, so a storm always finds them idle or running a read.
killed=$(get '.scenarios[0].description' | sed -nE 's/.*killed ([0-9]+) idle and ([0-9]+) busy backends.*/\1 + \2/p')
[ -n "$killed" ] && [ $((killed)) -ge 1 ] || fail "the storms killed no backend"
# The demo drops the table it made.
[ "$($PG_ADMIN -c "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'tether_demo_%'")" = 0 ] ||
    fail "the demo left its table behind"

# The human table has db-idle's two rows.
out=$(timeout 60 "$tether" demo --scenario db-idle --db "$url" --seconds 1 --seed 7) ||
    fail "the human run exited $?"
grep -Eq '^db-idle +naive +[0-9]+ ' <<<"$out" && grep -Eq '^ +tether +[0-9]+ ' <<<"$out" ||
    fail "the table lacks db-idle's rows"

out=$("$tether" demo --scenario db-idle 2>&1)
[ $? = 2 ] && grep -q -- "--scenario db-idle needs --db postgres://" <<<"$out" ||
    fail "db-idle without --db is not a usage error naming --db"
out=$("$tether" demo --db "http://127.0.0.1:$PG_PORT/" 2>&1)
[ $? = 2 ] && grep -q "http://127.0.0.1:$PG_PORT/" <<<"$out" ||
    fail "a --db that is not a postgres:// URL is not a usage error naming it"
out=$("$tether" demo --scenario db-idle --db "postgres://postgres@127.0.0.1:$PG_PORT/nosuchdb" 2>&1)
[ $? = 1 ] && grep -q 'db-idle could not run: cannot connect to the --db server: .*"nosuchdb" does not exist' <<<"$out" ||
    fail "a missing database is not named"
echo "ok: db-idle: naive lost queries; tether lost 0 reads and ran no INSERT twice; usage errors exit 2"
