/* SPDX-License-Identifier: MIT */
/* `tether demo --scenario db-idle --db URL`: seed fix 7 against a real PostgreSQL. Two pools
 * side by side on one loop, each with its own sessions: `naive` (what most pools do: no idle
 * watch, no validation, no retry) and tether's (tether_pgpool defaults). Every session gets a
 * short idle_session_timeout through libpq's `options` (a user-settable setting, so the
 * server needs no configuring), the users pause around it, and twice during the run a
 * pg_terminate_backend storm kills the lanes' idle backends and those running a read. One
 * query in four is a write (an INSERT, not idempotent) into a table the run creates and drops,
 * so the run counts how many times the server executed each one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"

#ifndef TETHER_HAVE_PGPOOL
int demo_db_run(const struct demo_opts *opts, struct demo_result res[DEMO_NLANES], char *err,
                size_t errlen)
{
    (void)opts;
    (void)res;
    (void)snprintf(err, errlen,
                   "this tether was built without PostgreSQL support: install libpq (Debian: "
                   "libpq-dev) and rebuild");
    return -1;
}
#else
#include <libpq-fe.h>

#include "tether/pgpool.h"

#define DB_WORKERS 4u
#define DB_WRITE_EVERY 4u /* one query in four is a write */
/* Reads sleep this long on the server, so a storm finds some of them running. */
#define DB_READ_SQL "SELECT pg_sleep(0.05)"
/* Each storm kills every idle backend of both pools and every one running a read, at once.
 * A storm is due at 25 % and 55 % of the run and strikes DB_STORM_DELAY_MS into the tether
 * lane's next wave, while its reads run. They are far apart, so a replayed read is never killed
 * again. */
#define DB_STORMS 2u
#define DB_STORM_DELAY_MS 25u
/* idle_session_timeout 14 is where it appeared. */
#define DB_MIN_SERVER_VERSION 140000

struct db_run;
struct db_lane;

struct db_worker {
    struct db_lane *lane;
    uint64_t start_ns;
    uint64_t seq; /* of the write in flight */
    char seq_text[24];
    bool write;
    bool busy;
};

struct db_lane {
    struct db_run *run;
    const char *name;
    char appname[64];
    char *conninfo;
    tether_pgpool *pool;
    struct db_worker workers[DB_WORKERS];
    /* The users act together, then all pause (a page load, a batch): the next wave starts a
     * gap after the last query of this one, so every pooled connection idles that long. */
    uv_timer_t wave;
    unsigned busy;
    bool finished;
    uint64_t queries;   /* started, for the one-in-four writes */
    uint64_t next_seq;  /* writes started */
    bool *write_failed; /* by write sequence: the pool reported it failed */
    size_t nwrite_failed;
    struct tether_pgpool_stats stats;
    struct demo_result *res;
};

struct db_run {
    const struct demo_opts *opts;
    uv_loop_t loop;
    PGconn *admin; /* setup, storms, the final count: blocking, outside the pools */
    char table[64];
    uint64_t t_ms; /* the sessions' idle_session_timeout */
    uint64_t duration_ms;
    bool stopping;
    bool hung; /* the drain timer cancelled queries */
    unsigned storms;
    bool storm_due; /* strike at the tether lane's next wave */
    uint64_t killed_idle;
    uint64_t killed_busy;
    struct ttx_rng rng;
    uv_timer_t stop_timer;
    uv_timer_t storm_timer;
    uv_timer_t drain_timer;
    struct db_lane lanes[DEMO_NLANES];
    char error[256];
};

/* The user's URL with the lane's application_name and idle_session_timeout appended (later
 * keywords win in libpq's URI parameters). */
static char *db_conninfo(const char *url, const char *appname, uint64_t idle_ms)
{
    const char *sep = strchr(url, '?') ? "&" : "?";
    size_t n = strlen(url) + 160;
    char *s = malloc(n);
    if (s) {
        (void)snprintf(s, n, "%s%sapplication_name=%s&options=-c%%20idle_session_timeout%%3D%llu",
                       url, sep, appname, (unsigned long long)idle_ms);
    }
    return s;
}

/* One statement on the admin connection; false with run->error filled on failure. */
static bool db_admin(struct db_run *run, const char *sql, int nparams, const char *const *params,
                     PGresult **out)
{
    PGresult *r = PQexecParams(run->admin, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(run->admin);
        (void)snprintf(run->error, sizeof(run->error), "%.60s failed: %.160s", sql, msg);
        size_t len = strlen(run->error);
        if (len > 0 && run->error[len - 1] == '\n') {
            run->error[len - 1] = '\0';
        }
        PQclear(r);
        return false;
    }
    if (out) {
        *out = r;
    } else {
        PQclear(r);
    }
    return true;
}

static int db_setup_admin(struct db_run *run, const char *url)
{
    char *ci = db_conninfo(url, "tether-demo-admin", 0);
    if (!ci) {
        (void)snprintf(run->error, sizeof(run->error), "out of memory");
        return -1;
    }
    run->admin = PQconnectdb(ci);
    free(ci);
    if (!run->admin || PQstatus(run->admin) != CONNECTION_OK) {
        const char *msg = run->admin ? PQerrorMessage(run->admin) : "out of memory";
        (void)snprintf(run->error, sizeof(run->error), "cannot connect to the --db server: %.200s",
                       msg);
        size_t len = strlen(run->error);
        if (len > 0 && run->error[len - 1] == '\n') {
            run->error[len - 1] = '\0';
        }
        return -1;
    }
    if (PQserverVersion(run->admin) < DB_MIN_SERVER_VERSION) {
        (void)snprintf(run->error, sizeof(run->error),
                       "the --db server is PostgreSQL %d; db-idle needs 14 or later "
                       "(idle_session_timeout)",
                       PQserverVersion(run->admin) / 10000);
        return -1;
    }
    char sql[160];
    (void)snprintf(sql, sizeof(sql), "CREATE TABLE %s (lane text NOT NULL, id bigint NOT NULL)",
                   run->table);
    return db_admin(run, sql, 0, NULL, NULL) ? 0 : -1;
}

/* ---- the workload ---- */

static void db_wave(uv_timer_t *t);

static void db_lane_finished(struct db_lane *l)
{
    struct db_run *run = l->run;
    l->finished = true;
    uv_close((uv_handle_t *)&l->wave, NULL);
    if (l->pool) {
        tether_pgpool *p = l->pool;
        tether_pgpool_get_stats(p, &l->stats);
        l->pool = NULL;
        tether_pgpool_close(p, NULL, NULL);
    }
    if (run->lanes[0].finished && run->lanes[1].finished) {
        uv_close((uv_handle_t *)&run->stop_timer, NULL);
        uv_close((uv_handle_t *)&run->storm_timer, NULL);
        uv_close((uv_handle_t *)&run->drain_timer, NULL);
    }
}

/* The wave's last query ended: everyone pauses around the sessions' idle timeout, some gaps
 * outliving it, some not. */
static void db_wave_done(struct db_lane *l)
{
    struct db_run *run = l->run;
    if (run->stopping) {
        db_lane_finished(l);
        return;
    }
    uint64_t gap = wl_rand_range(&run->rng, run->t_ms * 9 / 10, run->t_ms * 13 / 10);
    uv_timer_start(&l->wave, db_wave, gap, 0);
}

static bool db_mark_failed(struct db_lane *l, uint64_t seq)
{
    if (seq >= l->nwrite_failed) {
        size_t n = l->nwrite_failed ? l->nwrite_failed * 2 : 256;
        while (n <= seq) {
            n *= 2;
        }
        bool *b = realloc(l->write_failed, n * sizeof(*b));
        if (!b) {
            return false;
        }
        memset(b + l->nwrite_failed, 0, (n - l->nwrite_failed) * sizeof(*b));
        l->write_failed = b;
        l->nwrite_failed = n;
    }
    l->write_failed[seq] = true;
    return true;
}

static void db_failed(struct db_lane *l, bool write, const char *msg)
{
    struct demo_result *r = l->res;
    r->failed++;
    wl_errors_add(&r->errs, msg, 1);
    if (write) {
        r->db_writes_failed++;
    } else {
        r->db_reads_failed++;
    }
}

static void db_done(tether_pgquery *q, int status)
{
    struct db_worker *w = tether_pgquery_get_data(q);
    struct db_lane *l = w->lane;
    struct demo_result *r = l->res;
    double ms = (double)(uv_hrtime() - w->start_ns) / 1e6;
    w->busy = false;
    r->requests++;
    wl_latency_add(&r->lat, ms);
    if (w->write) {
        r->db_writes++;
    } else {
        r->db_reads++;
    }
    if (status != 0) {
        char msg[320];
        if (status == TETHER_ECANCELED && l->run->hung) {
            (void)snprintf(msg, sizeof(msg),
                           "still running %u s after the scenario ended (cancelled)",
                           DEMO_DRAIN_MS / 1000u);
        } else {
            const struct tether_failure *f = tether_pgquery_failure(q);
            const char *state = tether_pgquery_sqlstate(q);
            (void)snprintf(msg, sizeof(msg), "%s%s%s%s",
                           f->detail[0] ? f->detail : tether_strerror(status),
                           state[0] ? " (SQLSTATE " : "", state, state[0] ? ")" : "");
        }
        db_failed(l, w->write, msg);
        if (w->write && !db_mark_failed(l, w->seq)) {
            wl_errors_add(&r->errs, "out of memory", 0);
        }
    }
    tether_pgquery_free(q);
    if (--l->busy == 0) {
        db_wave_done(l);
    }
}

static void db_send(struct db_worker *w)
{
    struct db_lane *l = w->lane;
    struct tether_pgquery_options o;
    tether_pgquery_options_init(&o);
    char sql[128];
    const char *params[2];
    w->write = l->queries++ % DB_WRITE_EVERY == DB_WRITE_EVERY - 1;
    if (w->write) {
        w->seq = l->next_seq++;
        (void)snprintf(w->seq_text, sizeof(w->seq_text), "%llu", (unsigned long long)w->seq);
        (void)snprintf(sql, sizeof(sql), "INSERT INTO %s (lane, id) VALUES ($1, $2)",
                       l->run->table);
        params[0] = l->name;
        params[1] = w->seq_text;
        o.sql = sql;
        o.params = params;
        o.nparams = 2;
    } else {
        o.sql = DB_READ_SQL;
        o.idempotent = true;
    }
    o.data = w;
    w->start_ns = uv_hrtime();
    tether_pgquery *q;
    int rv = tether_pgpool_query(l->pool, &o, db_done, &q);
    if (rv != 0) {
        l->res->requests++;
        if (w->write) {
            l->res->db_writes++;
        } else {
            l->res->db_reads++;
        }
        db_failed(l, w->write, tether_strerror(rv));
        return;
    }
    w->busy = true;
    l->busy++;
}

static void db_storm(uv_timer_t *t);

static void db_wave(uv_timer_t *t)
{
    struct db_lane *l = t->data;
    struct db_run *run = l->run;
    if (run->storm_due && l == &run->lanes[DEMO_TETHER]) {
        run->storm_due = false;
        uv_timer_start(&run->storm_timer, db_storm, DB_STORM_DELAY_MS, 0);
    }
    for (unsigned k = 0; k < DB_WORKERS && !l->run->stopping; k++) {
        db_send(&l->workers[k]);
    }
    if (l->busy == 0) {
        db_wave_done(l);
    }
}

/* ---- the storm, the end ---- */

static void db_storm_due(uv_timer_t *t)
{
    struct db_run *run = t->data;
    run->storm_due = true;
}

static void db_storm(uv_timer_t *t)
{
    struct db_run *run = t->data;
    if (run->stopping) {
        return;
    }
    const char *params[2] = {run->lanes[0].appname, run->lanes[1].appname};
    PGresult *r = NULL;
    if (db_admin(run,
                 "SELECT count(*) FILTER (WHERE state = 'idle' AND pg_terminate_backend(pid)), "
                 "count(*) FILTER (WHERE state = 'active' AND pg_terminate_backend(pid)) FROM "
                 "pg_stat_activity WHERE application_name IN ($1, $2) AND (state = 'idle' OR "
                 "(state = 'active' AND query LIKE 'SELECT pg_sleep%'))",
                 2, params, &r)) {
        run->killed_idle += strtoull(PQgetvalue(r, 0, 0), NULL, 10);
        run->killed_busy += strtoull(PQgetvalue(r, 0, 1), NULL, 10);
        PQclear(r);
    }
    if (++run->storms < DB_STORMS) {
        uv_timer_start(t, db_storm_due, run->duration_ms * 3 / 10, 0);
    }
}

static void db_drain_expired(uv_timer_t *t)
{
    struct db_run *run = t->data;
    run->hung = true;
    for (int i = 0; i < DEMO_NLANES; i++) {
        struct db_lane *l = &run->lanes[i];
        if (l->pool) {
            /* Fails the queries still running with TETHER_ECANCELED: their workers finish. */
            tether_pgpool *p = l->pool;
            tether_pgpool_get_stats(p, &l->stats);
            l->pool = NULL;
            tether_pgpool_close(p, NULL, NULL);
        }
    }
}

static void db_stop(uv_timer_t *t)
{
    struct db_run *run = t->data;
    run->stopping = true;
    uv_timer_stop(&run->storm_timer);
    for (int i = 0; i < DEMO_NLANES; i++) {
        struct db_lane *l = &run->lanes[i];
        /* A lane between waves ends now; one with queries running when the last one ends. */
        if (!l->finished && l->busy == 0) {
            uv_timer_stop(&l->wave);
            db_lane_finished(l);
        }
    }
    if (!uv_is_closing((uv_handle_t *)&run->drain_timer)) {
        uv_timer_start(&run->drain_timer, db_drain_expired, DEMO_DRAIN_MS, 0);
    }
}

/* Counts, per lane, the writes the server executed more than once and those it executed
 * although the pool reported them failed. */
static void db_count_writes(struct db_run *run)
{
    char sql[160];
    (void)snprintf(sql, sizeof(sql), "SELECT lane, id, count(*) FROM %s GROUP BY lane, id",
                   run->table);
    PGresult *r = NULL;
    if (!db_admin(run, sql, 0, NULL, &r)) {
        return;
    }
    for (int row = 0; row < PQntuples(r); row++) {
        struct db_lane *l = strcmp(PQgetvalue(r, row, 0), run->lanes[0].name) == 0 ? &run->lanes[0]
                                                                                   : &run->lanes[1];
        uint64_t id = strtoull(PQgetvalue(r, row, 1), NULL, 10);
        uint64_t n = strtoull(PQgetvalue(r, row, 2), NULL, 10);
        l->res->duplicates += n - 1;
        if (id < l->nwrite_failed && l->write_failed[id]) {
            l->res->ran_but_failed++;
        }
    }
    PQclear(r);
}

static int db_start_lane(struct db_run *run, struct db_lane *l, bool naive, const char *url)
{
    struct tether_pgpool_options o;
    if (naive) {
        tether_pgpool_options_init_naive(&o);
    } else {
        tether_pgpool_options_init(&o);
    }
    (void)snprintf(l->appname, sizeof(l->appname), "tether-demo-%s-%ld", l->name, (long)getpid());
    l->conninfo = db_conninfo(url, l->appname, run->t_ms);
    if (!l->conninfo) {
        (void)snprintf(run->error, sizeof(run->error), "out of memory");
        return -1;
    }
    o.conninfo = l->conninfo;
    o.max_size = DB_WORKERS;
    o.errbuf = run->error;
    o.errbuf_len = sizeof(run->error);
    if (tether_pgpool_new(&run->loop, &o, &l->pool) != 0) {
        l->pool = NULL;
        return -1;
    }
    for (unsigned k = 0; k < DB_WORKERS; k++) {
        l->workers[k].lane = l;
    }
    uv_timer_init(&run->loop, &l->wave);
    l->wave.data = l;
    return 0;
}

static void db_fill_result(struct db_run *run, struct db_lane *l)
{
    struct demo_result *r = l->res;
    const struct tether_pgpool_stats *s = &l->stats;
    r->p99_ms = wl_latency_percentile(&r->lat, 99);
    r->replays = s->replays;
    r->retries = s->retries;
    r->stale_evicted = s->evicted_fatal + s->evicted_eof + s->evicted_rst + s->evicted_validation;
    r->retired_idle = s->retired_learned + s->retired_idle;
    r->learned_close_ms = s->learned_idle_kill_ms;
    wl_errors_sort(&r->errs);
    r->ran = true;
    (void)snprintf(r->what, sizeof(r->what),
                   "PostgreSQL kills sessions idle for %.2f s (idle_session_timeout); %u users "
                   "query together, then pause %llu..%llu ms; %u pg_terminate_backend storm%s "
                   "killed %llu idle and %llu busy backends; 1 query in %u is an INSERT",
                   (double)run->t_ms / 1000.0, DB_WORKERS, (unsigned long long)(run->t_ms * 9 / 10),
                   (unsigned long long)(run->t_ms * 13 / 10), run->storms,
                   run->storms == 1 ? "" : "s", (unsigned long long)run->killed_idle,
                   (unsigned long long)run->killed_busy, DB_WRITE_EVERY);
}

int demo_db_run(const struct demo_opts *opts, struct demo_result res[DEMO_NLANES], char *err,
                size_t errlen)
{
    static const char *const names[DEMO_NLANES] = {"naive", "tether"};
    struct db_run *run = calloc(1, sizeof(*run));
    if (!run || uv_loop_init(&run->loop) != 0) {
        free(run);
        (void)snprintf(err, errlen, "out of memory");
        return -1;
    }
    run->opts = opts;
    run->duration_ms = (uint64_t)(opts->seconds * 1000.0 + 0.5);
    /* 1 s, shorter for short runs so every user still meets the timeout a few times. */
    run->t_ms = run->duration_ms / 4 < 250
                    ? 250
                    : (run->duration_ms / 4 > 1000 ? 1000 : run->duration_ms / 4);
    ttx_rng_seed(&run->rng, opts->seed ^ 0x9e3779b97f4a7c15ull);
    (void)snprintf(run->table, sizeof(run->table), "tether_demo_%ld_%llu", (long)getpid(),
                   (unsigned long long)(opts->seed % 1000000u));
    for (int i = 0; i < DEMO_NLANES; i++) {
        memset(&res[i], 0, sizeof(res[i]));
        wl_errors_init(&res[i].errs, DEMO_MAX_ERRS);
        wl_latency_init(&res[i].lat, opts->seed + (uint64_t)i);
        run->lanes[i].run = run;
        run->lanes[i].name = names[i];
        run->lanes[i].res = &res[i];
    }
    int rc = db_setup_admin(run, opts->db_url);
    bool created = rc == 0;
    for (int i = 0; rc == 0 && i < DEMO_NLANES; i++) {
        rc = db_start_lane(run, &run->lanes[i], i == DEMO_NAIVE, opts->db_url);
    }
    uv_timer_init(&run->loop, &run->stop_timer);
    uv_timer_init(&run->loop, &run->storm_timer);
    uv_timer_init(&run->loop, &run->drain_timer);
    run->stop_timer.data = run;
    run->storm_timer.data = run;
    run->drain_timer.data = run;
    if (rc == 0) {
        uv_timer_start(&run->stop_timer, db_stop, run->duration_ms, 0);
        uv_timer_start(&run->storm_timer, db_storm_due, run->duration_ms / 4, 0);
        for (int i = 0; i < DEMO_NLANES; i++) {
            uv_timer_start(&run->lanes[i].wave, db_wave, 0, 0);
        }
    } else {
        for (int i = 0; i < DEMO_NLANES; i++) {
            struct db_lane *l = &run->lanes[i];
            if (l->pool) {
                uv_close((uv_handle_t *)&l->wave, NULL);
                tether_pgpool_close(l->pool, NULL, NULL);
            }
        }
        uv_close((uv_handle_t *)&run->stop_timer, NULL);
        uv_close((uv_handle_t *)&run->storm_timer, NULL);
        uv_close((uv_handle_t *)&run->drain_timer, NULL);
    }
    (void)uv_run(&run->loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&run->loop);
    if (rc == 0) {
        db_count_writes(run);
        for (int i = 0; i < DEMO_NLANES; i++) {
            db_fill_result(run, &run->lanes[i]);
        }
    }
    if (created) {
        char sql[128];
        (void)snprintf(sql, sizeof(sql), "DROP TABLE %s", run->table);
        (void)db_admin(run, sql, 0, NULL, NULL);
    }
    if (run->error[0]) {
        (void)snprintf(err, errlen, "%s", run->error);
        rc = -1;
    }
    PQfinish(run->admin);
    for (int i = 0; i < DEMO_NLANES; i++) {
        free(run->lanes[i].conninfo);
        free(run->lanes[i].write_failed);
    }
    free(run);
    return rc;
}
#endif
