#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# idle_session_timeout (1.5 s) far shorter than the pool's idle limit (10 min): the pool sees
# each 57P05 FATAL on its idle connections and evicts them at once, learns the kill from it,
# then retires idle connections before the server would kill them. No query is lost. The naive
# pool (no watch, no validation, no retry) hands out the killed connections: it loses queries.
set -uo pipefail
driver=$1
. "$(dirname "$0")/../helpers/pg_cluster.sh"
pg_cluster_start "idle_session_timeout = '1500ms'" || exit 1

pg_drive "$driver" <<'S'
run 8 4 mixed
wait-stat gone 4 10000
stats
run 20 4 mixed
wait-stat gone 8 10000
run 20 4 mixed
stats
check
S
pg_expect_no_loss
# The first 57P05 teaches the kill; the other idle connections then go at once, killed or
# retired (which, depends on how close together the server's kills arrive).
pg_expect '^wait-stat gone=4$' "the four idle connections killed with 57P05 were evicted or retired"
killed=$(grep -m1 '^stat evicted_fatal ' <<<"$PG_OUT" | awk '{print $3}')
[ "$killed" -ge 1 ] || { echo "FAIL: no 57P05 FATAL was seen"; echo "$PG_OUT"; exit 1; }
learned=$(pg_stat learned_idle_kill_ms)
if [ "$learned" -lt 1400 ] || [ "$learned" -gt 3000 ]; then
    echo "FAIL: learned idle kill $learned ms, expected about 1500"; echo "$PG_OUT"; exit 1
fi
# Once learned, every idle connection is retired before the server's kill: no new FATAL.
pg_expect '^wait-stat gone=8$' "the second round of idle connections retired"
[ "$(pg_stat evicted_fatal)" = "$killed" ] ||
    { echo "FAIL: the server killed connections after the pool learned"; echo "$PG_OUT"; exit 1; }
[ "$(pg_stat retired_learned)" -ge 4 ] ||
    { echo "FAIL: connections were not retired before the learned kill"; echo "$PG_OUT"; exit 1; }
[ "$(pg_stat failed)" = 0 ] || { echo "FAIL: queries failed"; echo "$PG_OUT"; exit 1; }

# The naive pool: the server kills its idle connections and it hands them out anyway.
pg_drive "$driver" --naive <<'S'
run 4 4 read
wait-backends 0 10000
run 4 4 read
stats
S
pg_expect '^backends open=0$' "the server killed the naive pool's idle connections"
naive_failed=$(pg_stat failed)
if [ "$naive_failed" -lt 1 ]; then
    echo "FAIL: the naive pool lost nothing: the scenario no longer shows the problem"
    echo "$PG_OUT"; exit 1
fi
echo "ok: tether lost 0 queries; naive pool lost $naive_failed of 4"
