/* SPDX-License-Identifier: MIT */
/* Queries/s of `SELECT $1::int` through tether's pool and through libpq directly (C threads,
 * one connection each, PQexecParams in a loop: what the pool's overhead is measured against).
 * Prints "MODE Q/S"; the wrapper (pgpool_bench.sh.in) starts the server and prints the ratios.
 *   pgpool_bench_run CONNINFO pool|loops|direct|async QUERIES CONCURRENCY [LOOPS]
 * pool:  one loop thread, one pool of C connections, C queries in flight.
 * loops: LOOPS (default C) loop threads, each with its own loop and its own pool of its share
 *        of the C connections and of the queries (no state shared between them): how a program
 *        with several cores uses the pool, one pool per loop thread.
 * async: libpq's async calls for C connections on one thread's poll() loop, no pool. */
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tether/pgpool.h"

static long failures;

/* One loop thread's pool and its share of the run; nothing in it is shared with another. */
struct pool_run {
    uv_loop_t loop;
    tether_pgpool *pool;
    long remaining;
    int in_flight;
    long failed;
    unsigned conns;
    long queries;
    pthread_t thread;
    pthread_barrier_t *warm; /* every pool warm before the clock starts */
};

static void start_one(struct pool_run *r);

static void done(tether_pgquery *q, int status)
{
    struct pool_run *r = tether_pgquery_get_data(q);
    r->failed += status != 0;
    tether_pgquery_free(q);
    r->in_flight--;
    if (r->remaining > 0) {
        start_one(r);
    }
}

static void start_one(struct pool_run *r)
{
    static const char *const params[1] = {"1"};
    struct tether_pgquery_options o;
    tether_pgquery_options_init(&o);
    o.sql = "SELECT $1::int";
    o.params = params;
    o.nparams = 1;
    o.idempotent = true;
    o.data = r;
    if (tether_pgpool_query(r->pool, &o, done, NULL) != 0) {
        fprintf(stderr, "pgpool_bench_run: cannot start a query\n");
        exit(1);
    }
    r->remaining--;
    r->in_flight++;
}

static void pool_open(struct pool_run *r, const char *conninfo)
{
    uv_loop_init(&r->loop);
    struct tether_pgpool_options o;
    tether_pgpool_options_init(&o);
    o.conninfo = conninfo;
    o.max_size = r->conns;
    if (tether_pgpool_new(&r->loop, &o, &r->pool) != 0) {
        fprintf(stderr, "pgpool_bench_run: cannot make the pool\n");
        exit(1);
    }
    /* Warm: open every connection first, as the direct run does before its clock starts. */
    r->remaining = r->conns;
    for (unsigned i = 0; i < r->conns; i++) {
        start_one(r);
    }
    while (r->in_flight > 0) {
        uv_run(&r->loop, UV_RUN_ONCE);
    }
}

static void pool_drive(struct pool_run *r)
{
    r->remaining = r->queries;
    for (unsigned i = 0; i < r->conns && r->remaining > 0; i++) {
        start_one(r);
    }
    while (r->in_flight > 0) {
        uv_run(&r->loop, UV_RUN_ONCE);
    }
}

static void pool_close(struct pool_run *r)
{
    tether_pgpool_close(r->pool, NULL, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&r->loop);
}

static double run_pool(const char *conninfo, long n, int c)
{
    struct pool_run r;
    memset(&r, 0, sizeof(r));
    r.conns = (unsigned)c;
    r.queries = n;
    pool_open(&r, conninfo);
    uint64_t t0 = uv_hrtime();
    pool_drive(&r);
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    pool_close(&r);
    failures += r.failed;
    return (double)n / secs;
}

static void *pool_thread(void *arg)
{
    struct pool_run *r = arg;
    (void)pthread_barrier_wait(r->warm);
    pool_drive(r);
    return NULL;
}

/* `loops` threads, each its own loop and pool. The pools are opened and warmed on the main
 * thread (a pool belongs to whichever thread runs its loop, and none runs yet), then each
 * thread drives its own; the clock runs from the barrier to the last join. */
static double run_loops(const char *conninfo, long n, int c, int loops)
{
    struct pool_run *r = calloc((size_t)loops, sizeof(*r));
    pthread_barrier_t warm;
    if (!r || pthread_barrier_init(&warm, NULL, (unsigned)loops + 1) != 0) {
        fprintf(stderr, "pgpool_bench_run: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < loops; i++) {
        r[i].conns = (unsigned)(c / loops + (i < c % loops));
        r[i].queries = n / loops + (i < n % loops);
        r[i].warm = &warm;
        pool_open(&r[i], conninfo);
    }
    for (int i = 0; i < loops; i++) {
        if (pthread_create(&r[i].thread, NULL, pool_thread, &r[i]) != 0) {
            fprintf(stderr, "pgpool_bench_run: cannot start a thread\n");
            exit(1);
        }
    }
    (void)pthread_barrier_wait(&warm);
    uint64_t t0 = uv_hrtime();
    for (int i = 0; i < loops; i++) {
        pthread_join(r[i].thread, NULL);
    }
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    for (int i = 0; i < loops; i++) {
        pool_close(&r[i]);
        failures += r[i].failed;
    }
    (void)pthread_barrier_destroy(&warm);
    free(r);
    return (double)n / secs;
}

struct direct_worker {
    pthread_t thread;
    PGconn *pg;
    long n;
    long failed;
};

static void *direct_loop(void *arg)
{
    struct direct_worker *w = arg;
    static const char *const params[1] = {"1"};
    for (long i = 0; i < w->n; i++) {
        PGresult *r = PQexecParams(w->pg, "SELECT $1::int", 1, NULL, params, NULL, NULL, 0);
        w->failed += PQresultStatus(r) != PGRES_TUPLES_OK;
        PQclear(r);
    }
    return NULL;
}

static double run_direct(const char *conninfo, long n, int c)
{
    struct direct_worker *w = calloc((size_t)c, sizeof(*w));
    for (int i = 0; i < c; i++) {
        w[i].pg = PQconnectdb(conninfo);
        if (PQstatus(w[i].pg) != CONNECTION_OK) {
            fprintf(stderr, "pgpool_bench_run: %s", PQerrorMessage(w[i].pg));
            exit(1);
        }
        w[i].n = n / c + (i < n % c);
    }
    uint64_t t0 = uv_hrtime();
    for (int i = 0; i < c; i++) {
        pthread_create(&w[i].thread, NULL, direct_loop, &w[i]);
    }
    for (int i = 0; i < c; i++) {
        pthread_join(w[i].thread, NULL);
        failures += w[i].failed;
        PQfinish(w[i].pg);
    }
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    free(w);
    return (double)n / secs;
}

/* The best one thread can do with C connections and no pool: libpq's async calls on a bare
 * poll() loop (what the pool, also on one thread, is measured against to tell its own cost
 * from that of running on one thread). */
static double run_async(const char *conninfo, long n, int c)
{
    static const char *const params[1] = {"1"};
    PGconn **pg = calloc((size_t)c, sizeof(*pg));
    struct pollfd *fds = calloc((size_t)c, sizeof(*fds));
    for (int i = 0; i < c; i++) {
        pg[i] = PQconnectdb(conninfo);
        if (PQstatus(pg[i]) != CONNECTION_OK || PQsetnonblocking(pg[i], 1) != 0) {
            fprintf(stderr, "pgpool_bench_run: %s", PQerrorMessage(pg[i]));
            exit(1);
        }
        fds[i].fd = PQsocket(pg[i]);
        fds[i].events = POLLIN;
    }
    long started = 0;
    long finished = 0;
    uint64_t t0 = uv_hrtime();
    for (int i = 0; i < c && started < n; i++, started++) {
        (void)PQsendQueryParams(pg[i], "SELECT $1::int", 1, NULL, params, NULL, NULL, 0);
        (void)PQflush(pg[i]);
    }
    while (finished < n) {
        if (poll(fds, (nfds_t)c, -1) < 0) {
            continue;
        }
        for (int i = 0; i < c; i++) {
            if (!(fds[i].revents & (POLLIN | POLLERR | POLLHUP))) {
                continue;
            }
            (void)PQconsumeInput(pg[i]);
            while (!PQisBusy(pg[i])) {
                PGresult *r = PQgetResult(pg[i]);
                if (!r) {
                    finished++;
                    if (started < n) {
                        started++;
                        (void)PQsendQueryParams(pg[i], "SELECT $1::int", 1, NULL, params, NULL,
                                                NULL, 0);
                        (void)PQflush(pg[i]);
                    }
                    break;
                }
                failures += PQresultStatus(r) != PGRES_TUPLES_OK;
                PQclear(r);
            }
        }
    }
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    for (int i = 0; i < c; i++) {
        PQfinish(pg[i]);
    }
    free(pg);
    free(fds);
    return (double)n / secs;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: pgpool_bench_run CONNINFO pool|loops|direct|async QUERIES "
                        "CONCURRENCY [LOOPS]\n");
        return 2;
    }
    long n = strtol(argv[3], NULL, 10);
    int c = atoi(argv[4]);
    int loops = argc == 6 ? atoi(argv[5]) : c;
    if (n < 1 || c < 1 || loops < 1 || loops > c) {
        fprintf(stderr, "pgpool_bench_run: QUERIES and CONCURRENCY must be at least 1, LOOPS "
                        "between 1 and CONCURRENCY\n");
        return 2;
    }
    double qps = strcmp(argv[2], "pool") == 0    ? run_pool(argv[1], n, c)
                 : strcmp(argv[2], "loops") == 0 ? run_loops(argv[1], n, c, loops)
                 : strcmp(argv[2], "async") == 0 ? run_async(argv[1], n, c)
                                                 : run_direct(argv[1], n, c);
    if (failures) {
        fprintf(stderr, "pgpool_bench_run: %ld queries failed\n", failures);
        return 1;
    }
    printf("%s %.0f\n", argv[2], qps);
    return 0;
}
