#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo-db`: `tether demo --scenario db-idle` against a throwaway PostgreSQL 15 cluster
# (tests/helpers/pg_cluster.sh: a temp dir, a free loopback port, run as the unprivileged user
# tether-pg under root), stopped and removed on exit, whatever happens.
#   demo-db.sh [BUILD_DIR] [tether demo flags...]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
shift || true
tether=$root/$build/tether
if [ ! -x "$tether" ]; then
    echo "demo-db: $tether is missing: build it first (make demo-db does)" >&2
    exit 1
fi
# --help with --db: refused by a tether built without libpq, and nothing is dialled.
if ! "$tether" demo --db postgres://localhost/x --help >/dev/null 2>&1; then
    echo "demo-db: $tether was built without libpq: run scripts/install-deps.sh db, then" \
        "reconfigure (rm $build/CMakeCache.txt) and rebuild" >&2
    exit 1
fi
. "$root/tests/helpers/pg_cluster.sh"
pg_cluster_start
rc=$?
if [ $rc -ne 0 ]; then
    echo "demo-db: cannot start PostgreSQL (scripts/install-deps.sh db installs postgresql-15)" >&2
    exit 1
fi
echo "demo-db: PostgreSQL 15 on 127.0.0.1:$PG_PORT (throwaway, $PG_DIR)"
"$tether" demo --scenario db-idle --db "postgres://postgres@127.0.0.1:$PG_PORT/postgres" "$@"
