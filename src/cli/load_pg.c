/* SPDX-License-Identifier: MIT */
/* `tether load postgres://...`: the same closed-loop workload as HTTP load (workers, gaps,
 * duration), but each request is a query through tether's PostgreSQL pool; the report and the
 * --json keys are load's (load_stats.c, load_detail.c), plus a "pgpool" object with the pool's
 * own counters. --policy naive makes the pool behave as most pools do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "args.h"
#include "cli.h"
#include "cli_json.h"
#include "cli_loop.h"
#include "commands.h"
#include "load.h"
#include "load_detail.h"
#include "load_pg.h"
#include "load_shape.h"
#include "workload.h"

#define LOAD_CMD "load"

bool load_pg_wanted(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "postgres://", 11) == 0 ||
            strncmp(argv[i], "postgresql://", 13) == 0) {
            return true;
        }
    }
    return false;
}

int load_pg_take(struct args_cursor *c, struct load_pg_flags *f, bool *taken)
{
    *taken = true;
    int rc;
    if (args_is(c, "--query")) {
        rc = args_take_string(c, &f->query);
    } else if (args_is(c, "--idempotent")) {
        f->idempotent = true;
        rc = args_take_none(c);
    } else if (args_is(c, "--pool-size")) {
        f->max_size_set = true;
        rc = args_take_uint(c, 1, 10000, &f->max_size);
    } else if (args_is(c, "--statement-deadline")) {
        rc = args_take_duration(c, &f->statement_deadline_ms);
    } else {
        *taken = false;
        rc = 0;
    }
    return rc;
}

#ifndef TETHER_HAVE_PGPOOL
int cmd_load_pg(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("tether load: this tether was built without PostgreSQL support: install libpq "
          "(Debian: libpq-dev) and rebuild\n",
          stderr);
    return CLI_EXIT_USAGE;
}
#else
#include <libpq-fe.h>

#include "tether/pgpool.h"

struct pg_worker {
    struct load_pg *r;
    unsigned idx;
    uv_timer_t timer;
    uint64_t start_ns;
    bool busy;
    bool finished;
};

struct load_pg {
    const char *url;
    char *shown_url; /* the URL with its password masked */
    struct load_pg_flags pg;
    bool naive;
    bool json;
    bool help;
    struct load_shape shape;

    uv_loop_t *loop;
    tether_pgpool *pool;
    struct pg_worker *workers;
    unsigned live;
    uint64_t reserved;
    bool stopping;
    bool interrupted;
    uv_timer_t stop_timer;
    struct ttx_rng rng;
    uint64_t t0_ns;
    struct load_stats stats;
    struct load_detail detail;
    struct tether_pgpool_stats pool_stats;
};

static const char *const load_pg_policies[] = {"default", "naive", NULL};

/* postgres://user:secret@host/db -> postgres://user:***@host/db, for the report. */
static char *load_pg_mask(const char *url)
{
    char *out = strdup(url);
    const char *scheme = strstr(url, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *colon = scheme ? strchr(scheme + 3, ':') : NULL;
    if (out && at && colon && colon < at) {
        size_t head = (size_t)(colon - url) + 1;
        (void)snprintf(out + head, strlen(url) + 1 - head, "***%s", at);
    }
    return out;
}

static int load_pg_parse(int argc, char **argv, struct load_pg *r)
{
    struct args_cursor c;
    args_init(&c, LOAD_CMD, argc, argv);
    while (args_next(&c)) {
        int rc;
        bool taken = false;
        if (args_positional(&c)) {
            if (r->url) {
                return args_error(LOAD_CMD, "one URL only ('%s' and '%s')", r->url, c.arg);
            }
            r->url = c.arg;
            rc = 0;
        } else if ((rc = load_pg_take(&c, &r->pg, &taken)) != 0 || taken ||
                   (rc = load_shape_take(&c, &r->shape, &taken)) != 0 || taken) {
            /* handled (or failed) */
        } else if (args_is(&c, "--policy")) {
            int choice = 0;
            rc = args_take_choice(&c, load_pg_policies, &choice);
            r->naive = choice == 1;
        } else if (args_is(&c, "--json")) {
            r->json = true;
            rc = args_take_none(&c);
        } else if (args_is(&c, "-h") || args_is(&c, "--help")) {
            r->help = true;
            rc = args_take_none(&c);
        } else {
            rc = args_error(LOAD_CMD,
                            "%s is not an option for a postgres:// URL (options: --query, "
                            "--idempotent, -n, -z, -c, --gap, --seed, --pool-size, "
                            "--statement-deadline, --policy, --json)",
                            c.arg);
        }
        if (rc != 0) {
            return rc;
        }
    }
    if (!r->pg.query) {
        return args_error(LOAD_CMD,
                          "a postgres:// URL needs --query SQL (e.g. --query 'SELECT 1')");
    }
    load_shape_finish(&r->shape);
    return 0;
}

static void load_pg_start_next(struct pg_worker *w);

static bool load_pg_more(struct load_pg *r)
{
    if (r->stopping || (r->shape.requests_set && r->reserved >= r->shape.requests)) {
        return false;
    }
    r->reserved++;
    return true;
}

static void load_pg_closed(void *data)
{
    (void)data;
}

static void load_pg_worker_finished(struct pg_worker *w)
{
    struct load_pg *r = w->r;
    w->finished = true;
    uv_close((uv_handle_t *)&w->timer, NULL);
    if (--r->live == 0) {
        r->stats.duration_s = (double)(uv_hrtime() - r->t0_ns) / 1e9;
        uv_close((uv_handle_t *)&r->stop_timer, NULL);
        tether_pgpool_get_stats(r->pool, &r->pool_stats);
        tether_pgpool_close(r->pool, load_pg_closed, NULL);
    }
}

static void load_pg_done(tether_pgquery *q, int status)
{
    struct pg_worker *w = tether_pgquery_get_data(q);
    struct load_pg *r = w->r;
    uint64_t now = uv_hrtime();
    double latency_ms = (double)(now - w->start_ns) / 1e6;
    double end_s = (double)(now - r->t0_ns) / 1e9;
    w->busy = false;
    if (status == 0) {
        r->stats.requests++;
        r->stats.succeeded++;
        wl_latency_add(&r->stats.latency, latency_ms);
        load_detail_record(&r->detail, end_s, latency_ms, true, NULL);
    } else if (status != TETHER_ECANCELED || !r->interrupted) {
        const struct tether_failure *f = tether_pgquery_failure(q);
        char msg[320];
        const char *state = tether_pgquery_sqlstate(q);
        (void)snprintf(msg, sizeof(msg), "%s%s%s%s",
                       f->detail[0] ? f->detail : tether_strerror(status),
                       state[0] ? " (SQLSTATE " : "", state, state[0] ? ")" : "");
        load_stats_record_error(&r->stats, msg, latency_ms);
        load_detail_record(&r->detail, end_s, latency_ms, false, msg);
    }
    tether_pgquery_free(q);
    load_pg_start_next(w);
}

static void load_pg_send(uv_timer_t *t)
{
    struct pg_worker *w = t->data;
    struct load_pg *r = w->r;
    if (r->stopping) {
        r->reserved--;
        load_pg_worker_finished(w);
        return;
    }
    struct tether_pgquery_options o;
    tether_pgquery_options_init(&o);
    o.sql = r->pg.query;
    o.idempotent = r->pg.idempotent;
    o.data = w;
    w->start_ns = uv_hrtime();
    tether_pgquery *q;
    int rv = tether_pgpool_query(r->pool, &o, load_pg_done, &q);
    if (rv != 0) {
        load_stats_record_error(&r->stats, tether_strerror(rv), 0);
        load_pg_worker_finished(w);
        return;
    }
    w->busy = true;
}

static void load_pg_start_next(struct pg_worker *w)
{
    struct load_pg *r = w->r;
    if (!load_pg_more(r)) {
        load_pg_worker_finished(w);
        return;
    }
    uint64_t gap = wl_rand_range(&r->rng, r->shape.gap_lo, r->shape.gap_hi);
    uv_timer_start(&w->timer, load_pg_send, gap, 0);
}

static void load_pg_on_stop_timer(uv_timer_t *t)
{
    struct load_pg *r = t->data;
    r->stopping = true;
    /* Workers idling in their gap finish now; the ones with a query in flight after it. */
    for (unsigned i = 0; i < r->shape.concurrency; i++) {
        struct pg_worker *w = &r->workers[i];
        if (!w->finished && !w->busy && uv_is_active((uv_handle_t *)&w->timer)) {
            uv_timer_stop(&w->timer);
            r->reserved--;
            load_pg_worker_finished(w);
        }
    }
}

static void load_pg_on_signal(void *data)
{
    struct load_pg *r = data;
    r->interrupted = true;
    load_pg_on_stop_timer(&r->stop_timer);
}

static json_t *load_pg_pool_json(const struct tether_pgpool_stats *s)
{
    return json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "validated",
        cli_json_uint(s->validated), "evicted_fatal", cli_json_uint(s->evicted_fatal),
        "evicted_eof", cli_json_uint(s->evicted_eof), "evicted_rst", cli_json_uint(s->evicted_rst),
        "evicted_validation", cli_json_uint(s->evicted_validation), "evicted_broken",
        cli_json_uint(s->evicted_broken), "retired_lifetime", cli_json_uint(s->retired_lifetime),
        "retired_idle", cli_json_uint(s->retired_idle), "retired_learned",
        cli_json_uint(s->retired_learned), "learned_idle_kill_ms",
        cli_json_uint(s->learned_idle_kill_ms), "connect_failures",
        cli_json_uint(s->connect_failures), "acquire_ms_max", cli_json_uint(s->acquire_ms_max));
}

static int load_pg_report(struct load_pg *r)
{
    const struct tether_pgpool_stats *ps = &r->pool_stats;
    r->stats.replays = ps->replays;
    r->stats.retries = ps->retries;
    r->stats.connections_opened = ps->connections_opened;
    r->stats.stale_evictions = ps->evicted_fatal + ps->evicted_eof + ps->evicted_rst +
                               ps->evicted_validation + ps->evicted_broken;
    r->stats.retired_idle = ps->retired_idle + ps->retired_learned + ps->retired_lifetime;
    r->stats.breaker.learned_idle_close_ms = ps->learned_idle_kill_ms;
    r->stats.breaker.keep_alive_hint_s = -1;
    if (r->json) {
        json_t *doc = load_stats_json(&r->stats);
        if (doc && load_detail_json(&r->detail, &r->stats, doc) != 0) {
            json_decref(doc);
            doc = NULL;
        }
        if (doc && json_object_set_new(doc, "pgpool", load_pg_pool_json(ps)) != 0) {
            json_decref(doc);
            doc = NULL;
        }
        if (!doc || cli_json_print(doc) != 0) {
            fputs("tether load: cannot write the JSON report\n", stderr);
            return CLI_EXIT_FAILED;
        }
    } else {
        struct load_report_info info = {
            .url = r->shown_url,
            .method = "QUERY",
            .policy = r->naive ? "naive" : "default",
            .concurrency = (unsigned)r->shape.concurrency,
            .gap_lo_ms = r->shape.gap_lo,
            .gap_hi_ms = r->shape.gap_hi,
            .seed = r->shape.seed,
            .interrupted = r->interrupted,
        };
        load_stats_print(&r->stats, &info, stdout);
        printf("  %-20s %s%s\n", "query", r->pg.query, r->pg.idempotent ? "  (idempotent)" : "");
        printf("  %-20s fatal %llu, eof %llu, rst %llu, validation %llu, in use %llu\n",
               "pool evictions", (unsigned long long)ps->evicted_fatal,
               (unsigned long long)ps->evicted_eof, (unsigned long long)ps->evicted_rst,
               (unsigned long long)ps->evicted_validation, (unsigned long long)ps->evicted_broken);
        printf("  %-20s %llu validated, retired: %llu learned, %llu idle, %llu lifetime\n",
               "pool checks", (unsigned long long)ps->validated,
               (unsigned long long)ps->retired_learned, (unsigned long long)ps->retired_idle,
               (unsigned long long)ps->retired_lifetime);
        load_detail_print(&r->detail, &r->stats, stdout);
        if (fflush(stdout) != 0) {
            return CLI_EXIT_FAILED;
        }
    }
    return r->stats.failed ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}

static int load_pg_run(struct load_pg *r)
{
    struct tether_pgpool_options o;
    if (r->naive) {
        tether_pgpool_options_init_naive(&o);
    } else {
        tether_pgpool_options_init(&o);
    }
    o.max_size = (unsigned)(r->pg.max_size_set ? r->pg.max_size : r->shape.concurrency);
    o.conninfo = r->url;
    o.statement_deadline_ms = r->pg.statement_deadline_ms;
    char why[512];
    o.errbuf = why;
    o.errbuf_len = sizeof(why);
    r->loop = uv_default_loop();
    int rv = tether_pgpool_new(r->loop, &o, &r->pool);
    if (rv != 0) {
        fprintf(stderr, "tether load: %s\n", why);
        return rv == TETHER_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    r->workers = calloc((size_t)r->shape.concurrency, sizeof(*r->workers));
    r->shown_url = load_pg_mask(r->url);
    if (!r->workers || !r->shown_url) {
        fputs("tether load: out of memory\n", stderr);
        tether_pgpool_close(r->pool, NULL, NULL);
        (void)cli_loop_close(r->loop);
        return CLI_EXIT_FAILED;
    }
    ttx_rng_seed(&r->rng, r->shape.seed);
    load_stats_init(&r->stats, r->shape.seed ^ 0x5deece66dull);
    load_detail_init(&r->detail, r->shape.seed ^ 0x2545f4914f6cdd1dull);
    uv_timer_init(r->loop, &r->stop_timer);
    r->stop_timer.data = r;
    r->t0_ns = uv_hrtime();
    if (r->shape.duration_set) {
        uv_timer_start(&r->stop_timer, load_pg_on_stop_timer, r->shape.duration_ms, 0);
    }
    r->live = (unsigned)r->shape.concurrency;
    for (unsigned i = 0; i < r->shape.concurrency; i++) {
        struct pg_worker *w = &r->workers[i];
        w->r = r;
        w->idx = i;
        uv_timer_init(r->loop, &w->timer);
        w->timer.data = w;
    }
    for (unsigned i = 0; i < r->shape.concurrency; i++) {
        load_pg_start_next(&r->workers[i]);
    }
    const struct cli_stop stop = {LOAD_CMD, "exiting without a report", load_pg_on_signal, r};
    cli_loop_run(r->loop, &stop);
    (void)cli_loop_close(r->loop);
    return load_pg_report(r);
}

int cmd_load_pg(int argc, char **argv)
{
    struct load_pg *r = calloc(1, sizeof(*r));
    if (!r) {
        fputs("tether load: out of memory\n", stderr);
        return CLI_EXIT_FAILED;
    }
    load_shape_init(&r->shape);
    int rc = load_pg_parse(argc, argv, r);
    if (rc == 0 && r->help) {
        cli_print_usage(cmd_load_usage);
    } else if (rc == 0) {
        rc = load_pg_run(r);
    }
    load_stats_cleanup(&r->stats);
    (void)load_detail_cleanup(&r->detail);
    free(r->workers);
    free(r->shown_url);
    free(r);
    return rc;
}
#endif
