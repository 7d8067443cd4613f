#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A link that goes silent but keeps ACKing: `tether proxy` between the pool and PostgreSQL gets
# a `timeout` toxic (timeout 0: every byte from the server swallowed, the connection left
# open). The proxy's kernel still ACKs what the pool sends, so neither tcp_user_timeout nor
# keepalives can end the wait; the pool's statement deadline (1 s here) does: the idempotent
# read is replayed once on a fresh connection (after the toxic is gone), the INSERT fails with
# retry_safe no and the deadline named, and runs at most once. Without a deadline the same
# statements are still waiting when the toxic is removed much later.
set -uo pipefail
driver=$1
tether=${TETHER_BINARY:?TETHER_BINARY names the tether command}
. "$(dirname "$0")/../helpers/pg_cluster.sh"
pg_cluster_start || exit 1
command -v curl >/dev/null || { echo "SKIP: curl is not installed (scripts/install-deps.sh test)"; exit 77; }
proxy_pid=
trap '[ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null; pg_cluster_stop' EXIT
"$tether" proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$PG_PORT" -host 127.0.0.1 -port 0 \
    >"$PG_DIR/proxy.out" 2>&1 &
proxy_pid=$!
addr= api=
for _ in $(seq 1 200); do
    addr=$(sed -n 's|^listening on tcp://||p' "$PG_DIR/proxy.out")
    api=$(sed -n 's|^listening on http://||p' "$PG_DIR/proxy.out")
    [ -n "$addr" ] && [ -n "$api" ] && break
    sleep 0.05
done
[ -n "$api" ] || { echo "FAIL: the proxy did not start"; cat "$PG_DIR/proxy.out"; exit 1; }
PG_ADMIN_CONNINFO="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"
PG_CONNINFO="host=${addr%:*} port=${addr##*:} user=postgres dbname=postgres application_name=tether_pool"
export PG_ADMIN_CONNINFO
hole="curl -sf -o /dev/null -X POST http://$api/proxies/proxy/toxics -d '{\"name\":\"hole\",\"type\":\"timeout\",\"attributes\":{\"timeout\":0}}'"
unhole="curl -sf -o /dev/null -X DELETE http://$api/proxies/proxy/toxics/hole"

# Validation off (60 s), so the statements go out on the two warm connections.
pg_drive "$driver" --statement-deadline 1000 --validate-after 60000 --connect-timeout 1000 \
    --acquire-timeout 15000 <<S
run 2 2 read
exec $hole
mark
start 2 2 mixed
wait-stat evicted_broken 2 10000
elapsed
exec $unhole
wait
stats
check
S
pg_expect '^exec rc=0$' "the toxic was added and removed"
e=$(sed -n 's/^elapsed ms=//p' <<<"$PG_OUT")
[ "$e" -ge 950 ] && [ "$e" -le 4000 ] ||
    { echo "FAIL: the deadline ended the wait after $e ms, expected about 1000"; echo "$PG_OUT"; exit 1; }
pg_expect '^batch read_ok=1 read_failed=0 write_ok=0 write_failed=1 write_failed_unsafe=1$' \
    "the read was replayed and the INSERT failed with retry_safe no"
pg_expect '^last write failure: ETIMEDOUT no result within the statement deadline of 1000 ms \(connection closed\) \[\] retry_safe=no$' \
    "the INSERT's failure names the deadline"
pg_expect '^check dup=0 missing=0 false_safe=0$' "no statement ran twice"
[ "$(pg_stat replays)" = 1 ] || { echo "FAIL: the read was not replayed once"; echo "$PG_OUT"; exit 1; }

# No deadline: the statements wait through the whole silence (2.5 s here; forever in real life).
pg_drive "$driver" --validate-after 60000 --connect-timeout 1000 --acquire-timeout 15000 <<S
run 2 2 read
exec $hole
start 2 2 mixed
idle 2500
stats
exec $unhole
close
S
pg_expect '^stat failed 0$' "without a deadline nothing ended the wait"
pg_expect '^closed cancelled=2 in_flight=0$' "both statements were still waiting"
echo "ok: the statement deadline ended the silent wait after $e ms; read replayed, INSERT failed retry_safe no"
