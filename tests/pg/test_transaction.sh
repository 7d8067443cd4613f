#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Transactions on a checked-out connection (tether_pgpool_acquire, options.conn,
# tether_pgpool_release): a backend terminated inside a transaction fails the next statement
# clearly (EHANGUP, retry_safe no, "connection lost inside a transaction") and nothing of the
# transaction survives; a connection released with a transaction still open is rolled back
# and reused. The pool keeps serving throughout.
set -uo pipefail
driver=$1
. "$(dirname "$0")/../helpers/pg_cluster.sh"
pg_cluster_start || exit 1

pg_drive "$driver" --max 2 <<'S'
tx-begin
tx INSERT INTO execs(tag) VALUES ('t-lost')
tx-kill
tx SELECT 1
tx SELECT 2
tx-release
run 8 2 mixed
tx-begin
tx INSERT INTO execs(tag) VALUES ('t-open')
tx-release
run 8 2 mixed
count t-lost
count t-open
stats
check
S
pg_expect_no_loss
pg_expect '^tx ok INSERT 0 1$' "the inserts ran inside the transactions"
pg_expect '^backends open=0$' "the backend was terminated"
pg_expect '^tx failed EHANGUP retry_safe=no: connection lost inside a transaction \(the server rolled it back\): ' \
    "the statement after the kill fails clearly"
[ "$(grep -c '^tx failed EHANGUP retry_safe=no' <<<"$PG_OUT")" = 2 ] ||
    { echo "FAIL: the dead checked-out connection did not keep failing"; echo "$PG_OUT"; exit 1; }
pg_expect '^count t-lost=0$' "the lost transaction left nothing"
pg_expect '^count t-open=0$' "the transaction released open was rolled back"
[ "$(pg_stat failed)" = 2 ] || { echo "FAIL: unexpected failures"; echo "$PG_OUT"; exit 1; }
[ "$(pg_stat evicted_broken)" = 1 ] ||
    { echo "FAIL: the dead connection was not counted once"; echo "$PG_OUT"; exit 1; }
echo "ok: a lost transaction fails clearly, an open one is rolled back on release"
