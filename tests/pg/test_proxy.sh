#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether proxy` between the pool and PostgreSQL, as a load balancer that ends idle flows.
# action=rst after 2 s: the RST reaches the idle connections, which are evicted at once; the
# repeated kill is learned and later idle connections retire 1 s before it. action=silent after
# 1 s (AWS NLB): nothing
# arrives, the flow is just gone; validation before use (idle > 500 ms) meets the RST instead of
# a query, so no query is lost, not even a write. The naive pool sends into the dead flows.
set -uo pipefail
driver=$1
tether=${TETHER_BINARY:?TETHER_BINARY names the tether command}
. "$(dirname "$0")/../helpers/pg_cluster.sh"
pg_cluster_start || exit 1
proxy_pid=
start_proxy() { # ACTION MS: a proxy with that idle_timeout; PG_CONNINFO goes through it
    [ -n "$proxy_pid" ] && { kill "$proxy_pid"; wait "$proxy_pid" 2>/dev/null; }
    : >"$PG_DIR/proxy.out"
    "$tether" proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$PG_PORT" --no-api \
        --toxic "idle_timeout:timeout=$2,action=$1" >"$PG_DIR/proxy.out" 2>&1 &
    proxy_pid=$!
    local i addr=
    for i in $(seq 1 200); do
        addr=$(sed -n 's|^listening on tcp://||p' "$PG_DIR/proxy.out")
        [ -n "$addr" ] && break
        sleep 0.05
    done
    [ -n "$addr" ] || { echo "FAIL: the proxy did not start"; cat "$PG_DIR/proxy.out"; exit 1; }
    PG_ADMIN_CONNINFO="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"
    PG_CONNINFO="host=${addr%:*} port=${addr##*:} user=postgres dbname=postgres application_name=tether_pool"
    export PG_ADMIN_CONNINFO
}
trap '[ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null; pg_cluster_stop' EXIT

start_proxy rst 2000
pg_drive "$driver" <<'S'
run 8 4 mixed
wait-stat gone 4 10000
run 20 4 mixed
wait-stat gone 8 10000
run 20 4 mixed
wait-stat retired_learned 4 10000
run 20 4 mixed
stats
check
S
pg_expect_no_loss
[ "$(pg_stat failed)" = 0 ] || { echo "FAIL: queries failed behind action=rst"; echo "$PG_OUT"; exit 1; }
[ "$(( $(pg_stat evicted_rst) + $(pg_stat evicted_eof) ))" -ge 4 ] ||
    { echo "FAIL: the proxy's resets were not seen on idle connections"; echo "$PG_OUT"; exit 1; }
pg_expect '^wait-stat retired_learned=([4-9]|[1-9][0-9]+)$' "idle connections retired before the learned kill"
learned=$(pg_stat learned_idle_kill_ms)
[ "$learned" -ge 1900 ] && [ "$learned" -le 3000 ] ||
    { echo "FAIL: learned $learned ms, expected about 2000"; echo "$PG_OUT"; exit 1; }

start_proxy silent 1000
pg_drive "$driver" <<'S'
run 8 4 mixed
idle 2500
run 20 4 mixed
stats
check
S
pg_expect_no_loss
[ "$(pg_stat failed)" = 0 ] || { echo "FAIL: queries failed behind action=silent"; echo "$PG_OUT"; exit 1; }
[ "$(pg_stat evicted_validation)" -ge 4 ] ||
    { echo "FAIL: validation did not catch the silently dropped flows"; echo "$PG_OUT"; exit 1; }

pg_drive "$driver" --naive <<'S'
run 4 4 read
idle 2500
run 4 4 read
stats
S
[ "$(pg_stat failed)" -ge 1 ] ||
    { echo "FAIL: the naive pool lost nothing behind action=silent"; echo "$PG_OUT"; exit 1; }
echo "ok: rst evicted and learned, silent caught by validation, 0 queries lost; naive lost $(pg_stat failed)"
