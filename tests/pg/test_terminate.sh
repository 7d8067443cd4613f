#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pg_terminate_backend of idle backends (the pool evicts them on their 57P01 FATAL; queries
# sent the same instant meet a dying backend and are handled as lost) and of busy ones (a statement in flight is lost: the idempotent
# read is replayed once on a fresh connection, the write fails with retry_safe no and never
# runs twice).
set -uo pipefail
driver=$1
. "$(dirname "$0")/../helpers/pg_cluster.sh"
pg_cluster_start || exit 1

pg_drive "$driver" <<'S'
run 8 4 mixed
kill-idle
wait-evicted 4 10000
run 40 4 mixed
kill-idle
run 40 4 mixed
start 24 4 sleep-mixed
kill-busy 4
wait
stats
check
S
pg_expect_no_loss
pg_expect '^killed idle=4$' "four idle backends terminated"
pg_expect '^wait-stat evicted=4$' "every terminated idle connection was evicted"
pg_expect '^killed busy=4$' "four busy backends terminated"
[ "$(pg_stat replays)" -ge 1 ] ||
    { echo "FAIL: no idempotent statement was replayed"; echo "$PG_OUT"; exit 1; }
# Every write that failed says it must not be retried blindly.
if grep -E '^batch ' <<<"$PG_OUT" | sed -E 's/.*write_failed=([0-9]+) write_failed_unsafe=([0-9]+)/\1 \2/' |
    awk '$1 != $2 {bad=1} END {exit !bad}'; then
    echo "FAIL: a failed write was not flagged retry_safe no"; echo "$PG_OUT"; exit 1
fi
echo "ok: $(grep -c '^batch' <<<"$PG_OUT") batches, 0 lost reads, 0 duplicate writes"
