/* SPDX-License-Identifier: MIT */
/* Drives a tether pool against a real PostgreSQL for the tests/pg scenarios. Reads commands on
 * stdin, one a line, so the scenario is a script of events rather than of sleeps:
 *   run N C KIND       N queries, C in flight, wait for all (KIND: read, write, mixed,
 *                      sleep-mixed: statements that take 300 ms on the server); prints the
 *                      batch's counts, "failures CODE=N ..." and the last failure of each kind
 *   start N C KIND     the same without waiting; `wait` waits
 *   kill-idle          pg_terminate_backend every idle backend of the pool
 *   kill-busy K        once K of the pool's statements are active, terminate them
 *   wait-evicted K MS  run the loop until K evictions were counted (at most MS)
 *   wait-stat NAME K MS  run the loop until the stat NAME reaches K (at most MS)
 *   wait-backends K MS run the loop until at most K backends of the pool exist (at most MS)
 *   wait-active K MS   run the loop until K of the pool's statements are active (at most MS)
 *   idle MS            run the loop for MS: only for a middlebox timer nothing can observe
 *   mark               note the time; `elapsed` prints "elapsed ms=N" since then
 *   tx-begin           check a connection out (tether_pgpool_acquire) and run BEGIN on it
 *   tx SQL             run SQL on it: "tx ok VALUE" or "tx failed CODE retry_safe=S: DETAIL"
 *   tx-kill            terminate its backend and wait until it is gone
 *   tx-release         give it back (tether_pgpool_release)
 *   count TAG          rows with that tag in execs
 *   exec CMD           run a shell command (a server restart), blocking
 *   close              close the pool with queries in flight: "closed cancelled=N" (their
 *                      done callbacks ran with ECANCELED); must be the last command
 *   stats              print every counter as "stat NAME VALUE"
 *   check              count executions in the execs table: "check dup=D missing=M
 *                      false_safe=F" (a duplicate, a success that did not run exactly once, a
 *                      failure called retry-safe that ran)
 * Writes are INSERTs of a unique tag into execs (non-idempotent); reads are SELECTs marked
 * idempotent. Usage: pg_driver CONNINFO [--naive] [--min N] [--max N] [--validate-after MS]
 * [--idle-timeout MS] [--learn-margin MS] [--acquire-timeout MS] [--connect-timeout MS]
 * [--statement-deadline MS] [--tcp-user-timeout MS] [--each-failure] [--no-admin] (no admin
 * connection: for a server that cannot be reached) */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tether/pgpool.h"

#define MAX_TAGS 20000

struct driver {
    uv_loop_t loop;
    tether_pgpool *pool;
    const char *conninfo;
    PGconn *admin;
    /* the batch running */
    int to_start;
    int in_flight;
    int concurrency;
    char kind[32];
    int ok[2], failed[2], unsafe_flag[2]; /* [0] reads, [1] writes */
    /* per write tag: 1 = succeeded, 2 = failed retry-safe yes, 3 = failed otherwise */
    unsigned char outcome[MAX_TAGS];
    int next_tag;
    char last_failure[2][300];
    /* the batch's failures by code: "failures ECONNREFUSED=3" */
    const char *fail_codes[8];
    int fail_counts[8];
    int nfail_codes;
    bool each_failure; /* --each-failure: a "failed CODE DETAIL" line per failure */
};

static struct driver D;

static void query_done(tether_pgquery *q, int status);

static void start_one(void)
{
    int id = D.next_tag++;
    bool write = strcmp(D.kind, "write") == 0 ||
                 ((strcmp(D.kind, "mixed") == 0 || strcmp(D.kind, "sleep-mixed") == 0) && id % 2);
    bool slow = strncmp(D.kind, "sleep", 5) == 0;
    static char tags[MAX_TAGS][16];
    snprintf(tags[id % MAX_TAGS], sizeof(tags[0]), "w%d", id);
    const char *params[1] = {tags[id % MAX_TAGS]};
    struct tether_pgquery_options o;
    tether_pgquery_options_init(&o);
    o.params = params;
    o.nparams = 1;
    if (write) {
        o.sql = slow ? "INSERT INTO execs(tag) SELECT $1 FROM pg_sleep(0.3)"
                     : "INSERT INTO execs(tag) VALUES ($1)";
    } else {
        o.sql = slow ? "SELECT $1::text FROM pg_sleep(0.3)" : "SELECT $1::text";
        o.idempotent = true;
    }
    o.data = (void *)(intptr_t)(write ? id : -1 - id);
    tether_pgquery *q;
    if (tether_pgpool_query(D.pool, &o, query_done, &q) != 0) {
        fprintf(stderr, "pg_driver: cannot start a query\n");
        exit(1);
    }
    D.to_start--;
    D.in_flight++;
}

static int cancelled;

static void pool_closed(void *data)
{
    *(bool *)data = true;
    uv_stop(&D.loop);
}

static void query_done(tether_pgquery *q, int status)
{
    cancelled += status == TETHER_ECANCELED;
    intptr_t tag = (intptr_t)tether_pgquery_get_data(q);
    bool write = tag >= 0;
    int id = write ? (int)tag : (int)(-1 - tag);
    if (status == 0) {
        D.ok[write]++;
        if (write) {
            D.outcome[id] = 1;
        }
    } else {
        const struct tether_failure *f = tether_pgquery_failure(q);
        D.failed[write]++;
        if (f->retry_safe == TETHER_RETRY_SAFE_NO) {
            D.unsafe_flag[write]++;
        }
        if (write) {
            D.outcome[id] = f->retry_safe == TETHER_RETRY_SAFE_YES ? 2 : 3;
        }
        const char *code = tether_err_name(f->code);
        int k = 0;
        while (k < D.nfail_codes && strcmp(D.fail_codes[k], code) != 0) {
            k++;
        }
        if (k == D.nfail_codes && k < 8) {
            D.fail_codes[D.nfail_codes++] = code;
        }
        D.fail_counts[k < 8 ? k : 7]++;
        if (D.each_failure) {
            printf("failed %s %s\n", code, f->detail);
        }
        snprintf(D.last_failure[write], sizeof(D.last_failure[0]), "%s %s [%s] retry_safe=%s",
                 tether_err_name(f->code), f->detail, tether_pgquery_sqlstate(q),
                 tether_retry_safety_name(f->retry_safe));
    }
    tether_pgquery_free(q);
    D.in_flight--;
    uv_stop(&D.loop); /* batch_wait checks after each completion */
    while (D.to_start > 0 && D.in_flight < D.concurrency) {
        start_one();
    }
}

static void batch_start(int n, int c, const char *kind)
{
    memset(D.ok, 0, sizeof(D.ok));
    memset(D.failed, 0, sizeof(D.failed));
    memset(D.unsafe_flag, 0, sizeof(D.unsafe_flag));
    D.last_failure[0][0] = D.last_failure[1][0] = '\0';
    D.nfail_codes = 0;
    memset(D.fail_counts, 0, sizeof(D.fail_counts));
    snprintf(D.kind, sizeof(D.kind), "%s", kind);
    D.to_start = n;
    D.concurrency = c;
    if (D.next_tag + n > MAX_TAGS) {
        fprintf(stderr, "pg_driver: too many queries\n");
        exit(1);
    }
    while (D.to_start > 0 && D.in_flight < D.concurrency) {
        start_one();
    }
}

static void batch_wait(void)
{
    while (D.in_flight > 0 || D.to_start > 0) {
        uv_run(&D.loop, UV_RUN_ONCE);
    }
    printf("batch read_ok=%d read_failed=%d write_ok=%d write_failed=%d write_failed_unsafe=%d\n",
           D.ok[0], D.failed[0], D.ok[1], D.failed[1], D.unsafe_flag[1]);
    if (D.nfail_codes) {
        printf("failures");
        for (int k = 0; k < D.nfail_codes; k++) {
            printf(" %s=%d", D.fail_codes[k], D.fail_counts[k]);
        }
        printf("\n");
    }
    if (D.last_failure[0][0]) {
        printf("last read failure: %s\n", D.last_failure[0]);
    }
    if (D.last_failure[1][0]) {
        printf("last write failure: %s\n", D.last_failure[1]);
    }
}

static PGresult *admin_exec(const char *sql)
{
    PGresult *r = NULL;
    /* The admin connection is not pooled: a scenario's idle kill or restart may have ended
     * it, so it reconnects once and exempts itself from idle_session_timeout. It goes to
     * PG_ADMIN_CONNINFO when set (the server itself, when the pool goes through PgBouncer). */
    const char *admin_ci = getenv("PG_ADMIN_CONNINFO");
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!D.admin || PQstatus(D.admin) != CONNECTION_OK || attempt > 0) {
            PQfinish(D.admin);
            char ci[512];
            (void)snprintf(ci, sizeof(ci), "%s application_name=pg_driver_admin",
                           admin_ci ? admin_ci : D.conninfo);
            D.admin = PQconnectdb(ci);
            PQclear(PQexec(D.admin, "SET idle_session_timeout = 0"));
        }
        PQclear(r);
        r = PQexec(D.admin, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK) {
            break;
        }
    }
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "pg_driver: admin query failed: %s", PQerrorMessage(D.admin));
        exit(1);
    }
    return r;
}

/* The pool's backends: same application_name as the driver's conninfo, not the admin's. */
#define POOL_BACKENDS                                                                              \
    "FROM pg_stat_activity WHERE application_name = 'tether_pool' AND pid <> pg_backend_pid()"

static uint64_t stat_value(const char *name);

static void wait_stat(const char *name, uint64_t want, uint64_t max_ms)
{
    uint64_t end = uv_now(&D.loop) + max_ms;
    while (stat_value(name) < want && uv_now(&D.loop) < end) {
        uv_run(&D.loop, UV_RUN_ONCE);
    }
    printf("wait-stat %s=%llu\n", name, (unsigned long long)stat_value(name));
}

static uint64_t stat_value(const char *name)
{
    struct tether_pgpool_stats s;
    tether_pgpool_get_stats(D.pool, &s);
    struct {
        const char *n;
        uint64_t v;
    } t[] = {
        {"queries", s.queries},
        {"succeeded", s.succeeded},
        {"failed", s.failed},
        {"attempts", s.attempts},
        {"retries", s.retries},
        {"replays", s.replays},
        {"connections_opened", s.connections_opened},
        {"connections_reused", s.connections_reused},
        {"connect_failures", s.connect_failures},
        {"validated", s.validated},
        {"evicted_fatal", s.evicted_fatal},
        {"evicted_eof", s.evicted_eof},
        {"evicted_rst", s.evicted_rst},
        {"evicted_validation", s.evicted_validation},
        {"evicted_broken", s.evicted_broken},
        {"evicted", s.evicted_fatal + s.evicted_eof + s.evicted_rst + s.evicted_validation},
        {"gone", s.evicted_fatal + s.evicted_eof + s.evicted_rst + s.evicted_validation +
                     s.evicted_broken + s.retired_lifetime + s.retired_idle + s.retired_learned},
        {"retired_lifetime", s.retired_lifetime},
        {"retired_idle", s.retired_idle},
        {"retired_learned", s.retired_learned},
        {"open", s.open},
        {"idle", s.idle},
        {"learned_idle_kill_ms", s.learned_idle_kill_ms},
    };
    if (!name) {
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
            printf("stat %s %llu\n", t[i].n, (unsigned long long)t[i].v);
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (strcmp(t[i].n, name) == 0) {
            return t[i].v;
        }
    }
    fprintf(stderr, "pg_driver: no stat %s\n", name);
    exit(2);
}

static void kill_busy(int want)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) " POOL_BACKENDS
             " AND state = 'active' AND query LIKE '%%pg_sleep%%'");
    uint64_t end = uv_now(&D.loop) + 10000;
    for (;;) {
        uv_run(&D.loop, UV_RUN_NOWAIT);
        PGresult *r = admin_exec(sql);
        int n = atoi(PQgetvalue(r, 0, 0));
        PQclear(r);
        if (n >= want || uv_now(&D.loop) > end) {
            break;
        }
        uv_update_time(&D.loop);
    }
    PGresult *r = admin_exec("SELECT count(pg_terminate_backend(pid)) " POOL_BACKENDS
                             " AND state = 'active'");
    printf("killed busy=%s\n", PQgetvalue(r, 0, 0));
    PQclear(r);
}

/* Runs the loop until the admin query's count satisfies `done` (at most max_ms). */
static void wait_backends(const char *where, int want, bool at_least, uint64_t max_ms)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) " POOL_BACKENDS "%s", where);
    uint64_t end = uv_now(&D.loop) + max_ms;
    int n;
    for (;;) {
        uv_run(&D.loop, UV_RUN_NOWAIT);
        PGresult *r = admin_exec(sql);
        n = atoi(PQgetvalue(r, 0, 0));
        PQclear(r);
        uv_update_time(&D.loop);
        if ((at_least ? n >= want : n <= want) || uv_now(&D.loop) > end) {
            break;
        }
        uv_sleep(5); /* admin polling interval: the server changes state by itself */
    }
    printf("backends %s=%d\n", at_least ? "active" : "open", n);
}

static void check(void)
{
    static int count[MAX_TAGS];
    memset(count, 0, sizeof(count));
    PGresult *r = admin_exec("SELECT substr(tag, 2)::int, count(*) FROM execs GROUP BY tag");
    for (int i = 0; i < PQntuples(r); i++) {
        int id = atoi(PQgetvalue(r, i, 0));
        if (id >= 0 && id < MAX_TAGS) {
            count[id] = atoi(PQgetvalue(r, i, 1));
        }
    }
    PQclear(r);
    int dup = 0, missing = 0, false_safe = 0;
    for (int i = 0; i < D.next_tag; i++) {
        dup += count[i] > 1;
        missing += D.outcome[i] == 1 && count[i] != 1;
        false_safe += D.outcome[i] == 2 && count[i] != 0;
    }
    printf("check dup=%d missing=%d false_safe=%d\n", dup, missing, false_safe);
}

static tether_pgconn *held;
static int held_pid;
static bool acq_done;
static int acq_status;
static bool tx_done;
static char tx_line[400];

static void acquired(tether_pgpool *p, tether_pgconn *c, int status, void *data)
{
    (void)p;
    (void)data;
    held = c;
    acq_status = status;
    acq_done = true;
    uv_stop(&D.loop); /* set in the timer phase: do not let this iteration wait in poll */
}

static void tx_query_done(tether_pgquery *q, int status)
{
    if (status == 0) {
        PGresult *r = tether_pgquery_result(q);
        (void)snprintf(tx_line, sizeof(tx_line), "tx ok %s",
                       PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : PQcmdStatus(r));
    } else {
        const struct tether_failure *f = tether_pgquery_failure(q);
        (void)snprintf(tx_line, sizeof(tx_line), "tx failed %s retry_safe=%s: %s",
                       tether_err_name(status), tether_retry_safety_name(f->retry_safe), f->detail);
    }
    tether_pgquery_free(q);
    tx_done = true;
    uv_stop(&D.loop);
}

static void tx_run(const char *sql)
{
    struct tether_pgquery_options o;
    tether_pgquery_options_init(&o);
    o.sql = sql;
    o.conn = held;
    tx_done = false;
    if (tether_pgpool_query(D.pool, &o, tx_query_done, NULL) != 0) {
        printf("tx refused\n");
        return;
    }
    while (!tx_done) {
        uv_run(&D.loop, UV_RUN_ONCE);
    }
    printf("%s\n", tx_line);
}

static void noop_timer(uv_timer_t *t)
{
    (void)t;
}

static void on_event(tether_pgpool *p, const struct tether_pgevent *ev)
{
    (void)p;
    static const char *names[] = {"conn_new",     "conn_reused",    "conn_evicted",
                                  "conn_retired", "validated",      "retry",
                                  "replay",       "connect_failed", "learned"};
    if (getenv("PG_DRIVER_EVENTS") && ev->type != TETHER_PGEVENT_CONN_REUSED) {
        fprintf(stderr, "event %s idle=%llu reason=%s sqlstate=%s\n", names[ev->type],
                (unsigned long long)ev->idle_ms, ev->reason, ev->sqlstate);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: pg_driver CONNINFO [options] < script\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    D.conninfo = argv[1];
    struct tether_pgpool_options o;
    tether_pgpool_options_init(&o);
    bool admin = true;
    for (int i = 2; i < argc; i++) {
        uint64_t v = i + 1 < argc ? strtoull(argv[i + 1], NULL, 10) : 0;
        if (strcmp(argv[i], "--no-admin") == 0) {
            admin = false;
        } else if (strcmp(argv[i], "--naive") == 0) {
            tether_pgpool_options_init_naive(&o);
        } else if (strcmp(argv[i], "--min") == 0) {
            o.min_size = (unsigned)v, i++;
        } else if (strcmp(argv[i], "--max") == 0) {
            o.max_size = (unsigned)v, i++;
        } else if (strcmp(argv[i], "--validate-after") == 0) {
            o.validate_after_idle_ms = v, i++;
        } else if (strcmp(argv[i], "--idle-timeout") == 0) {
            o.idle_timeout_ms = v, i++;
        } else if (strcmp(argv[i], "--learn-margin") == 0) {
            o.learn_margin_ms = v, i++;
        } else if (strcmp(argv[i], "--acquire-timeout") == 0) {
            o.acquire_timeout_ms = v, i++;
        } else if (strcmp(argv[i], "--each-failure") == 0) {
            D.each_failure = true;
        } else if (strcmp(argv[i], "--connect-timeout") == 0) {
            o.connect_timeout_ms = v, i++;
        } else if (strcmp(argv[i], "--statement-deadline") == 0) {
            o.statement_deadline_ms = v, i++;
        } else if (strcmp(argv[i], "--tcp-user-timeout") == 0) {
            o.tcp_user_timeout_ms = v, i++;
        } else {
            fprintf(stderr, "pg_driver: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    o.conninfo = argv[1];
    char err[256];
    o.errbuf = err;
    o.errbuf_len = sizeof(err);
    uv_loop_init(&D.loop);
    if (tether_pgpool_new(&D.loop, &o, &D.pool) != 0) {
        printf("pool error: %s\n", err);
        return 1;
    }
    tether_pgpool_on_event(D.pool, on_event);
    if (admin) {
        PQclear(admin_exec("CREATE TABLE IF NOT EXISTS execs (tag text NOT NULL)"));
        PQclear(admin_exec("TRUNCATE execs")); /* tags restart at w0 in every run */
    }
    char line[512];
    uint64_t mark_ns = uv_hrtime();
    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\n")] = '\0';
        char cmd[32] = "", a[64] = "", b[64] = "", c[64] = "";
        if (sscanf(line, "%31s %63s %63s %63s", cmd, a, b, c) < 1 || cmd[0] == '#') {
            continue;
        }
        printf("> %s\n", line);
        if (strcmp(cmd, "run") == 0 || strcmp(cmd, "start") == 0) {
            batch_start(atoi(a), atoi(b), c);
            if (cmd[0] == 'r') {
                batch_wait();
            }
        } else if (strcmp(cmd, "wait") == 0) {
            batch_wait();
        } else if (strcmp(cmd, "kill-idle") == 0) {
            PGresult *r = admin_exec("SELECT count(pg_terminate_backend(pid)) " POOL_BACKENDS
                                     " AND state = 'idle'");
            printf("killed idle=%s\n", PQgetvalue(r, 0, 0));
            PQclear(r);
        } else if (strcmp(cmd, "kill-busy") == 0) {
            kill_busy(atoi(a));
        } else if (strcmp(cmd, "wait-evicted") == 0) {
            wait_stat("evicted", strtoull(a, NULL, 10), strtoull(b, NULL, 10));
        } else if (strcmp(cmd, "wait-stat") == 0) {
            wait_stat(a, strtoull(b, NULL, 10), strtoull(c, NULL, 10));
        } else if (strcmp(cmd, "idle") == 0) {
            uint64_t end = uv_now(&D.loop) + strtoull(a, NULL, 10);
            uv_timer_t t;
            uv_timer_init(&D.loop, &t);
            while (uv_now(&D.loop) < end) {
                uv_timer_start(&t, noop_timer, end - uv_now(&D.loop), 0);
                uv_run(&D.loop, UV_RUN_ONCE);
            }
            uv_close((uv_handle_t *)&t, NULL);
            uv_run(&D.loop, UV_RUN_NOWAIT);
        } else if (strcmp(cmd, "tx-begin") == 0) {
            acq_done = false;
            if (tether_pgpool_acquire(D.pool, acquired, NULL) != 0) {
                return 1;
            }
            while (!acq_done) {
                uv_run(&D.loop, UV_RUN_ONCE);
            }
            tx_run("SELECT pg_backend_pid()");
            held_pid = atoi(tx_line + 6);
            tx_run("BEGIN");
        } else if (strcmp(cmd, "tx") == 0) {
            tx_run(line + 3);
        } else if (strcmp(cmd, "tx-kill") == 0) {
            char sql[160];
            (void)snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", held_pid);
            PQclear(admin_exec(sql));
            (void)snprintf(sql, sizeof(sql), " AND pid = %d", held_pid);
            wait_backends(sql, 0, false, 10000);
        } else if (strcmp(cmd, "tx-release") == 0) {
            tether_pgpool_release(held);
            held = NULL;
        } else if (strcmp(cmd, "count") == 0) {
            char sql[160];
            (void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM execs WHERE tag = '%s'", a);
            PGresult *r = admin_exec(sql);
            printf("count %s=%s\n", a, PQgetvalue(r, 0, 0));
            PQclear(r);
        } else if (strcmp(cmd, "wait-backends") == 0) {
            wait_backends("", atoi(a), false, strtoull(b, NULL, 10));
        } else if (strcmp(cmd, "wait-active") == 0) {
            wait_backends(" AND state = 'active'", atoi(a), true, strtoull(b, NULL, 10));
        } else if (strcmp(cmd, "mark") == 0) {
            mark_ns = uv_hrtime();
        } else if (strcmp(cmd, "elapsed") == 0) {
            printf("elapsed ms=%llu\n", (unsigned long long)((uv_hrtime() - mark_ns) / 1000000u));
        } else if (strcmp(cmd, "exec") == 0) {
            PQfinish(D.admin);
            D.admin = NULL;
            int rc = system(line + 5);
            printf("exec rc=%d\n", rc);
        } else if (strcmp(cmd, "close") == 0) {
            bool closed = false;
            D.to_start = 0;
            tether_pgpool_close(D.pool, pool_closed, &closed);
            while (!closed) {
                uv_run(&D.loop, UV_RUN_ONCE);
            }
            printf("closed cancelled=%d in_flight=%d\n", cancelled, D.in_flight);
            D.pool = NULL;
            break;
        } else if (strcmp(cmd, "stats") == 0) {
            stat_value(NULL);
        } else if (strcmp(cmd, "check") == 0) {
            check();
        } else {
            fprintf(stderr, "pg_driver: unknown command %s\n", cmd);
            return 2;
        }
    }
    if (D.pool) {
        tether_pgpool_close(D.pool, NULL, NULL);
    }
    uv_run(&D.loop, UV_RUN_DEFAULT);
    PQfinish(D.admin);
    return uv_loop_close(&D.loop) == 0 ? 0 : 1;
}
