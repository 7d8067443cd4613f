#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A throwaway PostgreSQL 15 cluster for one test: sourced by every tests/pg scenario.
#   pg_cluster_start [SETTING=VALUE ...]   initdb + start in a temp dir on a free loopback port;
#                                          exports PG_PORT, PG_CONNINFO (application_name
#                                          tether_pool), PG_ADMIN (psql as the superuser) and
#                                          PG_CTL (pg_ctl for this cluster: PG_CTL restart -m fast)
#   pg_bouncer_start SETTING=VALUE ...     PgBouncer in front of it (session pooling unless a
#                                          setting says otherwise, trust auth) on another free
#                                          port; PG_CONNINFO then goes through it. Exits 77 when
#                                          pgbouncer is not installed
#   pg_cluster_stop                        stops both and removes the directory (also on EXIT)
# initdb and postgres refuse to run as root, so as root they run as the system user tether-pg
# (created when missing); otherwise as the current user. Exits 77 (skip) when PostgreSQL 15 is
# not installed.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

pg_cluster_start() {
    if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
        echo "SKIP: PostgreSQL 15 is not installed ($PG_BIN/initdb missing; scripts/install-deps.sh test installs postgresql-15)"
        exit 77
    fi
    local run=()
    if [ "$(id -u)" = 0 ]; then
        id tether-pg >/dev/null 2>&1 ||
            useradd --system --no-create-home --shell /usr/sbin/nologin tether-pg
        run=(runuser -u tether-pg --)
    fi
    PG_DIR=$(mktemp -d /tmp/tether-pg.XXXXXX)
    chmod 755 "$PG_DIR"
    [ ${#run[@]} -gt 0 ] && chown tether-pg "$PG_DIR"
    trap pg_cluster_stop EXIT
    "${run[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync \
        >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log"; return 1; }
    {
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$PG_DIR'"
        echo "fsync = off"
        echo "max_connections = 50"
        for setting in "$@"; do echo "$setting"; done
    } >>"$PG_DIR/data/postgresql.conf"
    local tries
    for tries in 1 2 3 4 5; do
        PG_PORT=$(pg_free_port)
        if "${run[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -o "-p $PG_PORT" -l "$PG_DIR/server.log" \
            -w -t 30 start >/dev/null 2>&1; then
            break
        fi
        PG_PORT=
    done
    if [ -z "$PG_PORT" ]; then
        echo "cannot start PostgreSQL:"; tail -20 "$PG_DIR/server.log"; return 1
    fi
    PG_CONNINFO="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres application_name=tether_pool"
    PG_ADMIN="psql -X -q -At -h 127.0.0.1 -p $PG_PORT -U postgres -d postgres"
    PG_CTL="${run[*]} $PG_BIN/pg_ctl -D $PG_DIR/data -l $PG_DIR/server.log -w -t 30"
    export PG_PORT PG_CONNINFO PG_ADMIN PG_CTL PG_DIR
}

# A loopback port nothing listens on (postgres is retried on another one if it was taken).
pg_free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
}

pg_bouncer_start() {
    local bouncer
    bouncer=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
    if [ ! -x "$bouncer" ]; then
        echo "SKIP: pgbouncer is not installed (scripts/install-deps.sh test installs it)"
        exit 77
    fi
    local run=()
    [ "$(id -u)" = 0 ] && run=(runuser -u tether-pg --)
    PG_BOUNCER_PORT=$(pg_free_port)
    echo '"postgres" ""' >"$PG_DIR/userlist.txt"
    {
        echo "[databases]"
        echo "postgres = host=127.0.0.1 port=$PG_PORT dbname=postgres"
        echo "[pgbouncer]"
        echo "listen_addr = 127.0.0.1"
        echo "listen_port = $PG_BOUNCER_PORT"
        echo "unix_socket_dir ="
        echo "auth_type = trust"
        echo "auth_file = $PG_DIR/userlist.txt"
        echo "logfile = $PG_DIR/pgbouncer.log"
        echo "pidfile = $PG_DIR/pgbouncer.pid"
        echo "admin_users = postgres"
        for setting in "$@"; do echo "$setting"; done
    } >"$PG_DIR/pgbouncer.ini"
    [ ${#run[@]} -gt 0 ] && chown tether-pg "$PG_DIR/userlist.txt" "$PG_DIR/pgbouncer.ini"
    "${run[@]}" "$bouncer" -d "$PG_DIR/pgbouncer.ini" >/dev/null 2>&1 ||
        { echo "cannot start pgbouncer"; cat "$PG_DIR/pgbouncer.log"; return 1; }
    # Ready once it accepts a connection (its pidfile appears before it listens).
    local i
    for i in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PG_BOUNCER_PORT") 2>/dev/null && break
        sleep 0.05
    done
    # The test's own checks go to the server directly.
    PG_ADMIN_CONNINFO="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"
    PG_CONNINFO="host=127.0.0.1 port=$PG_BOUNCER_PORT user=postgres dbname=postgres application_name=tether_pool"
    export PG_BOUNCER_PORT PG_CONNINFO PG_ADMIN_CONNINFO
}

pg_cluster_stop() {
    [ -n "${PG_DIR:-}" ] || return 0
    if [ -f "$PG_DIR/pgbouncer.pid" ]; then
        kill "$(cat "$PG_DIR/pgbouncer.pid")" 2>/dev/null
    fi
    if [ -f "$PG_DIR/data/postmaster.pid" ]; then
        local run=()
        [ "$(id -u)" = 0 ] && run=(runuser -u tether-pg --)
        "${run[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
    fi
    rm -rf "$PG_DIR"
    PG_DIR=
}

# pg_drive DRIVER [OPTIONS] <<SCRIPT: runs tests/pg/pg_driver, keeps its output in PG_OUT.
pg_drive() {
    local driver=$1
    shift
    PG_OUT=$(timeout 90 "$driver" "$PG_CONNINFO" "$@" 2>&1 <&0)
    local rc=$?
    if [ $rc -ne 0 ]; then
        echo "FAIL: pg_driver exited $rc"; echo "$PG_OUT"; exit 1
    fi
}
# pg_expect REGEX WHAT: PG_OUT must hold a line matching REGEX.
pg_expect() {
    grep -Eq "$1" <<<"$PG_OUT" || { echo "FAIL: $2 (no line matches /$1/)"; echo "$PG_OUT"; exit 1; }
}
# pg_stat NAME: the last value the driver printed for that counter.
pg_stat() {
    grep -E "^stat $1 " <<<"$PG_OUT" | tail -1 | awk '{print $3}'
}
# pg_expect_batches_clean: no idempotent read failed in any batch and no write ran twice or
# went missing (the driver's check line).
pg_expect_no_loss() {
    if grep -E '^batch ' <<<"$PG_OUT" | grep -vq 'read_failed=0 '; then
        echo "FAIL: an idempotent query was lost"; echo "$PG_OUT"; exit 1
    fi
    if grep -E '^check ' <<<"$PG_OUT" | grep -vq 'dup=0 missing=0 false_safe=0'; then
        echo "FAIL: a write ran twice, went missing or was called retry-safe after running"
        echo "$PG_OUT"; exit 1
    fi
    grep -q '^check ' <<<"$PG_OUT" || { echo "FAIL: no check ran"; echo "$PG_OUT"; exit 1; }
}
