#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Server restarts, fast and immediate, with the pool idle and with statements in flight: idle
# connections are found dead before use, lost reads are replayed once after the server is
# back, lost writes fail with retry_safe no, nothing runs twice.
set -uo pipefail
driver=$1
. "$(dirname "$0")/../helpers/pg_cluster.sh"
pg_cluster_start || exit 1

pg_drive "$driver" <<S
run 8 4 mixed
exec $PG_CTL restart -m fast >/dev/null
run 40 4 mixed
exec $PG_CTL restart -m immediate >/dev/null
run 40 4 mixed
start 16 4 sleep-mixed
wait-active 4 10000
exec $PG_CTL restart -m fast >/dev/null
wait
start 16 4 sleep-mixed
wait-active 4 10000
exec $PG_CTL restart -m immediate >/dev/null
wait
stats
check
S
pg_expect_no_loss
[ "$(grep -c '^exec rc=0$' <<<"$PG_OUT")" = 4 ] ||
    { echo "FAIL: a restart failed"; echo "$PG_OUT"; exit 1; }
pg_expect '^backends active=4$' "statements were in flight when the server restarted"
[ "$(pg_stat replays)" -ge 1 ] ||
    { echo "FAIL: no read was replayed after a restart"; echo "$PG_OUT"; exit 1; }
echo "ok: 4 restarts, 0 lost reads, 0 duplicate writes"
