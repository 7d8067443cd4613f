#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether doctor postgres://...`: reads the session-ending settings, measures the idle kill of
# a server with idle_session_timeout 3 s (a 57P05 FATAL after about 3 s) and recommends an idle
# timeout of 2 s; a statement deadline max(1 s, 10 %) above statement_timeout (33 s for 30 s),
# and, with statement_timeout off, one above the longest statement; with no kill within
# --max-idle it says so; bad input exits 2, an unreachable server 1.
set -uo pipefail
tether=${TETHER_BINARY:?TETHER_BINARY names the tether command}
. "$(dirname "$0")/../helpers/pg_cluster.sh"
pg_cluster_start "idle_session_timeout = '3s'" "statement_timeout = '30s'" || exit 1
url="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
fail() { echo "FAIL: $1"; echo "$out"; exit 1; }

out=$("$tether" doctor --max-idle 10s --json "$url") || fail "doctor failed"
grep -q '"idle_session_timeout":3000' <<<"$out" || fail "idle_session_timeout not read"
grep -q '"statement_timeout":30000' <<<"$out" || fail "statement_timeout not read"
grep -Eq '"idle_kill":\{"killed":true,"after_ms":(29[0-9]{2}|3[0-4][0-9]{2}),"how":"fatal","sqlstate":"57P05"' \
    <<<"$out" || fail "the 3 s idle kill was not measured"
grep -q '"pool":{"idle_timeout_ms":2000,"max_lifetime_ms":1800000' <<<"$out" ||
    fail "the recommended idle timeout is not 2 s"
grep -q '"statement_deadline_ms":33000}' <<<"$out" || fail "the statement deadline is not 33 s"
grep -q 'Statement deadline 33 s (max(1 s, 10 %) above it)' <<<"$out" ||
    fail "no finding recommends the statement deadline"
grep -q 'statement_timeout is off' <<<"$out" && fail "statement_timeout 30 s is called off"

out=$("$tether" doctor --max-idle 10s "$url") || fail "doctor failed"
grep -Eq '^  idle kill \(measured\) +after 3\.[0-4] s: fatal 57P05' <<<"$out" || fail "report line"
grep -Eq '^    idle timeout +2 s$' <<<"$out" || fail "report's idle timeout"
grep -Eq '^    statement deadline +33 s$' <<<"$out" || fail "report's statement deadline"

$PG_ADMIN -c "ALTER SYSTEM SET idle_session_timeout = 0" -c "ALTER SYSTEM SET statement_timeout = 0" \
    -c "SELECT pg_reload_conf()" >/dev/null
out=$("$tether" doctor --max-idle 1s --json "$url") || fail "doctor failed"
grep -q '"killed":false' <<<"$out" || fail "a kill was reported on a server that has none"
grep -q 'no idle kill seen within 1 s' <<<"$out" || fail "no finding says nothing was seen"
grep -q '"statement_timeout":0,' <<<"$out" || fail "statement_timeout 0 not read"
grep -q '"statement_deadline_ms":null' <<<"$out" || fail "a deadline was made up for no timeout"
grep -q "statement_timeout is off: .*set the pool's statement deadline (statement_deadline_ms) above your longest statement" \
    <<<"$out" || fail "statement_timeout 0 does not recommend a statement deadline"
out=$("$tether" doctor --max-idle 1s "$url") || fail "doctor failed"
grep -Eq '^    statement deadline +above your longest statement$' <<<"$out" ||
    fail "report's statement deadline without statement_timeout"

out=$("$tether" doctor --bogus "$url" 2>&1)
[ $? = 2 ] && grep -q -- "--bogus is not an option for a postgres:// URL" <<<"$out" ||
    fail "an unknown option is not a usage error"
out=$("$tether" doctor "postgres://127.0.0.1:$PG_PORT/x?bogus=1" 2>&1)
[ $? = 2 ] && grep -q 'invalid URI query parameter: "bogus"' <<<"$out" || fail "a bad URL"
port=$(pg_free_port)
out=$("$tether" doctor "postgres://postgres@127.0.0.1:$port/postgres" 2>&1)
[ $? = 1 ] && grep -q 'Connection refused' <<<"$out" || fail "an unreachable server"
echo "ok: settings read, 3 s kill measured, 2 s idle timeout and statement deadlines recommended"
