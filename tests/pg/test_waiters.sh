#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Waiters of a pool that cannot open connections: `tether proxy` with a `timeout` toxic from
# the start accepts every connect and answers nothing, so each connect ends at the connect
# timeout (400 ms). With one connection allowed, three queries take turns connecting; those
# still queued when the acquire timeout (1000 ms) passes are told why they got no connection
# (the connect failure), not that the pool was "all busy".
set -uo pipefail
driver=$1
tether=${TETHER_BINARY:?TETHER_BINARY names the tether command}
. "$(dirname "$0")/../helpers/pg_cluster.sh"
pg_cluster_start || exit 1
proxy_pid=
trap '[ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null; pg_cluster_stop' EXIT
"$tether" proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$PG_PORT" --no-api \
    --toxic timeout:timeout=0 >"$PG_DIR/proxy.out" 2>&1 &
proxy_pid=$!
addr=
for _ in $(seq 1 200); do
    addr=$(sed -n 's|^listening on tcp://||p' "$PG_DIR/proxy.out")
    [ -n "$addr" ] && break
    sleep 0.05
done
[ -n "$addr" ] || { echo "FAIL: the proxy did not start"; cat "$PG_DIR/proxy.out"; exit 1; }
PG_CONNINFO="host=${addr%:*} port=${addr##*:} user=postgres dbname=postgres"

pg_drive "$driver" --no-admin --each-failure --max 1 --connect-timeout 400 --acquire-timeout 1000 <<'S'
run 3 3 read
stats
S
pg_expect '^failures ETIMEDOUT=3$' "all three failed with the connect timeout's code"
if grep -q 'timeout acquiring a connection' <<<"$PG_OUT"; then
    echo "FAIL: a waiter was told the pool was busy while its connects were failing"; echo "$PG_OUT"; exit 1
fi
pg_expect '^failed ETIMEDOUT no connection within 1000 ms: timeout expired' \
    "a queued waiter's failure names the failed connect"
[ "$(pg_stat connect_failures)" -ge 2 ] ||
    { echo "FAIL: the connects were not retried"; echo "$PG_OUT"; exit 1; }
echo "ok: waiters of a pool that cannot connect get the connect failure"
