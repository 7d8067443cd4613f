#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether load postgres://...` against a server that kills sessions idle for 1 s while the
# workers idle 1.5 s between queries: tether's pool loses nothing (exit 0), --policy naive hands
# out killed connections (exit 1, the 57P05 counted by message); --json has load's keys plus
# "pgpool"; --statement-deadline reaches the pool (a statement that cannot answer in time fails
# naming the deadline); usage errors exit 2 naming the bad value, the workload shape's (-n, -z,
# -c, --gap, --seed) with the same line as for an HTTP URL.
set -uo pipefail
tether=${TETHER_BINARY:?TETHER_BINARY names the tether command}
. "$(dirname "$0")/../helpers/pg_cluster.sh"
pg_cluster_start "idle_session_timeout = '1s'" || exit 1
url="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
fail() { echo "FAIL: $1"; echo "$out"; exit 1; }

out=$("$tether" load -n 4 -c 2 --gap 1500ms --query 'SELECT 1' --idempotent --json "$url") ||
    fail "tether's pool failed queries"
for key in requests succeeded failed errors replays retries connections_opened stale_evictions \
    retired_idle learned_idle_close_ms latency_ms duration_s rps percentiles_ms histogram \
    timeline pgpool; do
    grep -q "\"$key\":" <<<"$out" || fail "--json lacks \"$key\""
done
grep -q '"requests":4,"succeeded":4,"failed":0' <<<"$out" || fail "not 4 of 4"
grep -Eq '"learned_idle_kill_ms":(9[0-9]{2}|1[0-9]{3})' <<<"$out" || fail "the 1 s kill was not learned"

out=$("$tether" load -n 4 -c 2 --gap 1500ms --query 'SELECT 1' --idempotent --policy naive "$url")
rc=$?
[ $rc = 1 ] || fail "the naive pool exited $rc, expected 1"
grep -Eq '^ +[0-9]+  FATAL:  terminating connection due to idle-session timeout \(SQLSTATE 57P05\)' \
    <<<"$out" || fail "the naive pool's failures are not counted by the server's message"

# pg_sleep(60) cannot answer within 300 ms: the deadline, not the server, ends the statement.
out=$("$tether" load -n 1 --statement-deadline 300ms --query 'SELECT pg_sleep(60)' --json "$url")
rc=$?
[ $rc = 1 ] || fail "a statement past its deadline exited $rc, expected 1"
grep -q '"no result within the statement deadline of 300 ms (connection closed)":1' <<<"$out" ||
    fail "the failure does not name the deadline"
grep -q '"replays":0' <<<"$out" || fail "a statement not marked idempotent was replayed"

out=$("$tether" load -n 1 --statement-deadline 5 --query 'SELECT 1' "$url" 2>&1)
[ $? = 2 ] && grep -qx "tether load: invalid duration '5' for --statement-deadline (e.g. 250ms, 5s, 2m, 1h, 0)" <<<"$out" ||
    fail "a bad --statement-deadline is not a usage error naming it"
for shape in "-c 0" "-n x" "--gap 2s..1s" "--duration 0" "--seed -1"; do
    # shellcheck disable=SC2086 # the flag and its value are two words
    pg_err=$("$tether" load $shape --query 'SELECT 1' "$url" 2>&1)
    pg_rc=$?
    # shellcheck disable=SC2086
    http_err=$("$tether" load $shape http://127.0.0.1:1/ 2>&1)
    [ $pg_rc = 2 ] && [ -n "$pg_err" ] && [ "$pg_err" = "$http_err" ] ||
        { out="$pg_err / $http_err"; fail "'$shape' is not refused as for an HTTP URL"; }
done

out=$("$tether" load -n 1 "$url" 2>&1)
[ $? = 2 ] && grep -q "needs --query SQL" <<<"$out" || fail "a missing --query is not a usage error"
out=$("$tether" load -n 1 --query 'SELECT 1' "postgres://127.0.0.1:$PG_PORT/x?bogus=1" 2>&1)
[ $? = 2 ] && grep -q 'invalid URI query parameter: "bogus"' <<<"$out" ||
    fail "a bad URL is not a usage error naming it"
out=$("$tether" load -n 1 --query 'SELECT 1' -H 'A: b' "$url" 2>&1)
[ $? = 2 ] && grep -q -- "-H is not an option for a postgres:// URL" <<<"$out" ||
    fail "an HTTP-only flag is not refused"
echo "ok: tether 4/4, naive lost queries, the statement deadline, usage errors exit 2"
