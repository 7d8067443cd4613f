#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# PgBouncer in front (transaction pooling): client_idle_timeout 2 s closes the pool's idle client
# connections (PgBouncer 1.18 just closes them: EOF, no message); the pool evicts them at once.
# A bare close teaches only when it repeats at the same idle time later, so the second round of
# kills teaches it, and the third round's idle connections are retired before PgBouncer acts.
# server_idle_timeout 1 s closes PgBouncer's own server connections meanwhile, which the pool
# never sees. No query is lost.
set -uo pipefail
driver=$1
. "$(dirname "$0")/../helpers/pg_cluster.sh"
pg_cluster_start || exit 1
pg_bouncer_start "pool_mode = transaction" "client_idle_timeout = 2" "server_idle_timeout = 1" ||
    exit 1

pg_drive "$driver" <<'S'
run 8 4 mixed
wait-stat gone 4 10000
run 20 4 mixed
wait-stat gone 8 10000
stats
run 20 4 mixed
wait-stat retired_learned 4 10000
run 20 4 mixed
stats
check
S
pg_expect_no_loss
pg_expect '^wait-stat gone=4$' "PgBouncer's client_idle_timeout ended the idle connections"
pg_expect '^wait-stat gone=8$' "and the second round"
closed=$(grep -m1 '^stat evicted_eof ' <<<"$PG_OUT" | awk '{print $3}')
[ "$closed" -ge 4 ] || { echo "FAIL: PgBouncer's closes were not seen"; echo "$PG_OUT"; exit 1; }
learned=$(pg_stat learned_idle_kill_ms)
if [ "$learned" -lt 1900 ] || [ "$learned" -gt 4000 ]; then
    echo "FAIL: learned idle kill $learned ms, expected 2..4 s"; echo "$PG_OUT"; exit 1
fi
pg_expect '^wait-stat retired_learned=([4-9]|[1-9][0-9]+)$' "idle connections retired before PgBouncer's kill"
[ "$(pg_stat failed)" = 0 ] || { echo "FAIL: queries failed"; echo "$PG_OUT"; exit 1; }
echo "ok: PgBouncer's kill learned ($learned ms), 0 queries lost"
