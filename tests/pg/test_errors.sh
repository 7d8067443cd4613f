#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad input gets a clear error naming it, and only what can succeed later is retried: a bad
# conninfo is refused when the pool is made; a missing database fails the query at once (no
# retry: it would fail the same way); a refused port is retried with backoff until the acquire
# timeout, then fails with ECONNREFUSED. Closing the pool cancels what runs and waits.
set -uo pipefail
driver=$1
. "$(dirname "$0")/../helpers/pg_cluster.sh"
pg_cluster_start || exit 1
cluster_conninfo=$PG_CONNINFO
fail() { echo "FAIL: $1"; echo "$out"; exit 1; }

out=$(timeout 30 "$driver" "host=127.0.0.1 port" --no-admin </dev/null 2>&1) &&
    fail "a malformed conninfo was accepted"
grep -q "pool error: invalid conninfo 'host=127.0.0.1 port': missing \"=\" after \"port\"" <<<"$out" ||
    fail "the conninfo error does not name the bad string"
out=$(timeout 30 "$driver" "postgresql://127.0.0.1:$PG_PORT/x?nosuchoption=1" --no-admin \
    </dev/null 2>&1) && fail "an unknown option was accepted"
grep -q 'invalid URI query parameter: "nosuchoption"' <<<"$out" || fail "the unknown option is not named"

PG_CONNINFO="host=127.0.0.1 port=$PG_PORT user=postgres dbname=nosuchdb"
pg_drive "$driver" --no-admin <<'S'
run 1 1 read
stats
S
pg_expect '^batch read_ok=0 read_failed=1 ' "the query failed"
pg_expect '^last read failure: EINVAL .*database "nosuchdb" does not exist' "the error names the database"
[ "$(pg_stat connect_failures)" = 1 ] || { echo "FAIL: a missing database was retried"; echo "$PG_OUT"; exit 1; }

port=$(pg_free_port)
PG_CONNINFO="host=127.0.0.1 port=$port user=postgres dbname=postgres"
pg_drive "$driver" --no-admin --acquire-timeout 1200 <<'S'
run 1 1 read
stats
S
pg_expect '^last read failure: ECONNREFUSED .*Connection refused' "a refused port reports ECONNREFUSED"
[ "$(pg_stat connect_failures)" -ge 2 ] ||
    { echo "FAIL: a refused connect was not retried"; echo "$PG_OUT"; exit 1; }
# Four queries for one connection, the server down: every one reports the refused connect.
pg_drive "$driver" --no-admin --max 1 --acquire-timeout 1200 <<'S'
run 4 4 read
S
pg_expect '^failures ECONNREFUSED=4$' "every waiter reports the refused connect"
# min_size against a port nothing listens on backs off (250 ms doubling to 1 s) instead of
# dialling in a loop; against the server it opens the connections before any query.
pg_drive "$driver" --no-admin --min 2 <<'S'
idle 1500
stats
S
failures=$(pg_stat connect_failures)
[ "$failures" -ge 2 ] && [ "$failures" -le 12 ] ||
    { echo "FAIL: $failures connects in 1.5 s to a closed port"; echo "$PG_OUT"; exit 1; }
PG_CONNINFO=$cluster_conninfo
pg_drive "$driver" --min 2 <<S
wait-stat idle 2 10000
exec ss -tno state established '( dport = :$PG_PORT )'
S
pg_expect '^wait-stat idle=2$' "min_size opened two connections by itself"
# keepalives_idle=30 reached the pool's sockets (the driver's own admin connection keeps the
# system's 2 h): the kernel's keepalive timer shows at most 30 s.
[ "$(grep -cE 'timer:\(keepalive,([0-9]|[12][0-9]|30)sec' <<<"$PG_OUT")" -ge 2 ] ||
    { echo "FAIL: the pool's sockets do not carry a 30 s keepalive"; echo "$PG_OUT"; exit 1; }

# Closing the pool with queries queued and in flight: each one's callback runs once, with
# ECANCELED, and nothing is left behind (the ASan build checks the leaks).
PG_CONNINFO=$cluster_conninfo
pg_drive "$driver" --max 2 <<'S'
start 12 6 sleep-mixed
wait-active 2 10000
close
S
pg_expect '^closed cancelled=6 in_flight=0$' "closing cancels the six queries in flight and queued"
echo "ok: bad conninfo, missing database and refused port reported clearly; close cancels"

