#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A real black hole: in a private network namespace (unshare -n, only lo), iptables drops
# every packet to PostgreSQL's port, so what the pool sends is never ACKed. No deadline of the
# pool is set: tcp_user_timeout (1 s here, set through libpq's tcp_user_timeout keyword) makes
# the kernel abort both connections, which ends the wait: the idempotent read is replayed once
# (its connect waits out the drop, lifted once both connections are gone) and the INSERT fails
# with retry_safe no, ran at most once. Skips where namespaces or iptables are refused.
set -uo pipefail
driver=$1
if [ -z "${TETHER_PG_NETNS:-}" ]; then
    command -v iptables >/dev/null 2>&1 ||
        { echo "SKIP: iptables is not installed (scripts/install-deps.sh test)"; exit 77; }
    if ! unshare -n true 2>/dev/null; then
        echo "SKIP: unshare -n (a private network namespace) is refused here (uid $(id -u))"
        exit 77
    fi
    exec unshare -n env TETHER_PG_NETNS=1 bash "$0" "$@"
fi
ip link set lo up || { echo "SKIP: cannot bring lo up in the namespace"; exit 77; }
iptables -S >/dev/null 2>&1 || { echo "SKIP: iptables is refused in the namespace"; exit 77; }
. "$(dirname "$0")/../helpers/pg_cluster.sh"
pg_cluster_start || exit 1
drop="iptables -A INPUT -p tcp --dport $PG_PORT -j DROP"
undrop="iptables -D INPUT -p tcp --dport $PG_PORT -j DROP"

# Validation off (60 s), so the statements go out on the two warm connections; keepalives start
# after 30 s, far beyond this test: only tcp_user_timeout can end the wait.
pg_drive "$driver" --tcp-user-timeout 1000 --validate-after 60000 --connect-timeout 5000 \
    --acquire-timeout 20000 <<S
run 2 2 read
exec $drop
mark
start 2 2 mixed
wait-stat evicted_broken 2 20000
elapsed
exec $undrop
wait
stats
check
S
pg_expect '^exec rc=0$' "iptables added and removed the drop"
e=$(sed -n 's/^elapsed ms=//p' <<<"$PG_OUT")
[ -n "$e" ] && [ "$e" -ge 900 ] && [ "$e" -le 6000 ] ||
    { echo "FAIL: tcp_user_timeout ended the wait after ${e:-?} ms, expected about 1000"; echo "$PG_OUT"; exit 1; }
pg_expect '^batch read_ok=1 read_failed=0 write_ok=0 write_failed=1 write_failed_unsafe=1$' \
    "the read was replayed and the INSERT failed with retry_safe no"
pg_expect '^last write failure: ETIMEDOUT .*timed out.* retry_safe=no$' \
    "the INSERT's failure is the kernel's timeout"
pg_expect '^check dup=0 missing=0 false_safe=0$' "no statement ran twice"
[ "$(pg_stat replays)" = 1 ] || { echo "FAIL: the read was not replayed once"; echo "$PG_OUT"; exit 1; }
grep "^last write failure" <<<"$PG_OUT"
echo "ok: tcp_user_timeout ended the black-holed wait after $e ms; read replayed, INSERT failed retry_safe no"
