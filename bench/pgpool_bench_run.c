/* SPDX-License-Identifier: MIT */
/* Queries/s of `SELECT $1::int` through tether's pool (async, C in flight on one loop thread)
 * and through libpq directly (C threads, one connection each, PQexecParams in a loop: what the
 * pool's overhead is measured against). Prints "pool Q/S" and "direct Q/S" lines; the wrapper
 * (pgpool_bench.sh.in) starts the server and prints the ratio.
 *   pgpool_bench_run CONNINFO pool|direct|async QUERIES CONCURRENCY
 * async: libpq's async calls for C connections on one thread's poll() loop, no pool. */
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tether/pgpool.h"

static long remaining;
static int in_flight;
static long failures;
static tether_pgpool *pool;

static void start_one(void);

static void done(tether_pgquery *q, int status)
{
    failures += status != 0;
    tether_pgquery_free(q);
    in_flight--;
    if (remaining > 0) {
        start_one();
    }
}

static void start_one(void)
{
    static const char *const params[1] = {"1"};
    struct tether_pgquery_options o;
    tether_pgquery_options_init(&o);
    o.sql = "SELECT $1::int";
    o.params = params;
    o.nparams = 1;
    o.idempotent = true;
    if (tether_pgpool_query(pool, &o, done, NULL) != 0) {
        fprintf(stderr, "pgpool_bench_run: cannot start a query\n");
        exit(1);
    }
    remaining--;
    in_flight++;
}

static double run_pool(const char *conninfo, long n, int c)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct tether_pgpool_options o;
    tether_pgpool_options_init(&o);
    o.conninfo = conninfo;
    o.max_size = (unsigned)c;
    if (tether_pgpool_new(&loop, &o, &pool) != 0) {
        fprintf(stderr, "pgpool_bench_run: cannot make the pool\n");
        exit(1);
    }
    /* Warm: open every connection first, as the direct run does before its clock starts. */
    remaining = c;
    for (int i = 0; i < c; i++) {
        start_one();
    }
    while (in_flight > 0) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    remaining = n;
    uint64_t t0 = uv_hrtime();
    for (int i = 0; i < c && remaining > 0; i++) {
        start_one();
    }
    while (in_flight > 0) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    tether_pgpool_close(pool, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&loop);
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
    if (argc != 5) {
        fprintf(stderr, "usage: pgpool_bench_run CONNINFO pool|direct|async QUERIES CONCURRENCY\n");
        return 2;
    }
    long n = strtol(argv[3], NULL, 10);
    int c = atoi(argv[4]);
    double qps = strcmp(argv[2], "pool") == 0    ? run_pool(argv[1], n, c)
                 : strcmp(argv[2], "async") == 0 ? run_async(argv[1], n, c)
                                                 : run_direct(argv[1], n, c);
    if (failures) {
        fprintf(stderr, "pgpool_bench_run: %ld queries failed\n", failures);
        return 1;
    }
    printf("%s %.0f\n", argv[2], qps);
    return 0;
}
