/* SPDX-License-Identifier: MIT */
/*
 * The chaos soak (`make soak`, docs/SOAK.md): CONCURRENCY fetches at a time from the tether
 * client library through `tether proxy` (1 % reset_peer, latency spikes, idle_timeout with rst
 * and with a silent drop, limit_data cutting bodies with an RST) to `tether serve`, which is
 * restarted every 10 s (SIGTERM and SIGKILL in turn; every third one rate-limited, answering
 * 503 + Retry-After) and logs every execution with --exec-log. 30 % of the requests are POSTs,
 * half of them with an Idempotency-Key.
 *
 * At the end the run is checked against the log: no idempotent request lost (each got a final
 * response, or a deadline error), no unkeyed POST executed twice, no acknowledged request
 * missing from the log, every failure with a reason and a retry-safety, and each process's
 * descriptors and resident memory flat (± 5 %) between the end of the warm-up and the end,
 * both measured with every connection idle and closed. The last stdout line is one JSON
 * object (soak_report.c); the exit status is 1 when an invariant broke, 2 for a usage error.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tether/tether.h"

#include "soak.h"
#include "soak_run.h"

#define SOAK_RESTART_MS 10000
#define SOAK_BODY_LEN 256

static const char *const soak_kind_names[] = {"GET", "POST", "POST+key"};

/* The run: a fetch's data is its record's index, so the callback finds the run here. */
static struct soak *soak_the_run;

/* ---- the workload ---- */

static uint64_t soak_rand(struct soak *s)
{
    /* xorshift64*: reproducible from --seed, which is all a workload mix needs. */
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 2685821657736338717ull;
}

static struct soak_bucket *soak_bucket_now(struct soak *s)
{
    uint64_t elapsed = uv_now(&s->loop) - s->t0;
    size_t i = (size_t)(elapsed / s->interval_ms);
    if (i > soak_last_bucket(s)) {
        i = soak_last_bucket(s); /* fetches that end after the run count in its last interval */
    }
    if (i >= s->nbuckets) {
        s->nbuckets = i + 1;
    }
    return &s->buckets[i];
}

static void soak_count_reason(struct soak *s, const char *kind, const char *msg, const char *safe)
{
    char key[SOAK_REASON_LEN];
    (void)snprintf(key, sizeof(key), "%s: %s (retry-safe %s)", kind, msg[0] ? msg : "(none)", safe);
    for (size_t i = 0; i < s->nreasons; i++) {
        if (strcmp(s->reasons[i].text, key) == 0) {
            s->reasons[i].count++;
            return;
        }
    }
    if (s->nreasons < SOAK_MAX_REASONS) {
        memcpy(s->reasons[s->nreasons].text, key, sizeof(key));
        s->reasons[s->nreasons++].count = 1;
    }
}

static void soak_worker_next(struct soak *s, unsigned w);

static void soak_on_done(tether_fetch *f, int st)
{
    struct soak *s = soak_the_run;
    size_t i = (size_t)(uintptr_t)tether_fetch_get_data(f);
    struct soak_rec *r = &s->recs[i];
    struct soak_bucket *b = soak_bucket_now(s);
    r->done = 1;
    r->status = (int16_t)tether_fetch_status(f);
    r->code = (int8_t)st;
    b->done++;
    b->retries += tether_fetch_retries(f);
    b->replays += tether_fetch_replays(f);
    s->retries += tether_fetch_retries(f);
    s->replays += tether_fetch_replays(f);
    if (r->status == 503) {
        b->status_503++;
    }
    if (st == 0) {
        b->responses++;
    } else {
        b->failures++;
        const struct tether_failure *fl = tether_fetch_failure(f);
        char msg[256];
        msg[0] = '\0';
        (void)tether_failure_message(fl, msg, sizeof(msg));
        r->safe = (uint8_t)fl->retry_safe;
        r->has_reason = msg[0] != '\0';
        soak_count_reason(s, soak_kind_names[r->kind], msg,
                          tether_retry_safety_name(fl->retry_safe));
    }
    tether_fetch_free(f);
    s->inflight--;
    soak_worker_next(s, r->worker);
}

static int soak_grow(struct soak *s)
{
    if (s->nrecs < s->caprecs) {
        return 0;
    }
    size_t cap = s->caprecs ? s->caprecs * 2 : 65536;
    struct soak_rec *recs = realloc(s->recs, cap * sizeof(*recs));
    if (!recs) {
        return -1;
    }
    /* Not zeroed: each record is filled when its request starts, so only the records in use
     * are resident (the report subtracts them from the client's memory). */
    s->recs = recs;
    s->caprecs = cap;
    return 0;
}

/* Starts worker `w`'s next request. */
static void soak_start_one(struct soak *s, unsigned w)
{
    static char body[SOAK_BODY_LEN];
    if (!body[0]) {
        memset(body, 'b', sizeof(body));
    }
    if (soak_grow(s) != 0) {
        s->issuing = false;
        soak_run_fail(s, "out of memory for the request records");
        return;
    }
    size_t i = s->nrecs++;
    struct soak_rec *r = &s->recs[i];
    memset(r, 0, sizeof(*r));
    r->worker = (uint16_t)w;
    /* 70 % GET; 30 % POST, half of them keyed. */
    unsigned roll = (unsigned)(soak_rand(s) % 100);
    r->kind = roll < 70 ? SOAK_GET : (roll < 85 ? SOAK_POST : SOAK_POST_KEYED);
    char id[32];
    char key[40];
    (void)snprintf(id, sizeof(id), "s%zu", i);
    (void)snprintf(key, sizeof(key), "key-%zu", i);
    struct tether_header h[] = {{"X-Request-Id", id}};
    struct tether_fetch_options o;
    tether_fetch_options_init(&o);
    o.url = s->url;
    o.headers = h;
    o.nheaders = 1;
    o.data = (void *)(uintptr_t)i;
    if (r->kind != SOAK_GET) {
        o.method = "POST";
        o.body = body;
        o.body_len = sizeof(body);
        o.idempotency_key = r->kind == SOAK_POST_KEYED ? key : NULL;
    }
    char err[256];
    o.errbuf = err;
    o.errbuf_len = sizeof(err);
    int rv = tether_client_fetch(s->client, &o, soak_on_done, NULL);
    if (rv != 0) {
        /* Refused before it started: a bug in the soak or the library, never a fault. */
        s->nrecs--;
        s->issuing = false;
        soak_run_fail(s, err[0] ? err : tether_strerror(rv));
        return;
    }
    s->inflight++;
    s->workers[w].busy = true;
}

static void soak_on_think(uv_timer_t *t)
{
    struct soak_worker *wk = t->data;
    wk->busy = false;
    if (wk->s->issuing) {
        soak_start_one(wk->s, (unsigned)(wk - wk->s->workers));
    }
}

/* A pause before the worker's next request: mostly short, and one in thirty between --pause's
 * bounds (600 ms and 1.2 s), so pooled connections sit idle across the proxy's idle timeouts (700
 * and 800 ms) and the client's own retirement (1 s), the races the seed describes. */
static void soak_worker_next(struct soak *s, unsigned w)
{
    struct soak_worker *wk = &s->workers[w];
    wk->busy = false;
    if (!s->issuing) {
        return;
    }
    uint64_t roll = soak_rand(s);
    uint64_t ms = roll % 30 == 0
                      ? s->pause_min_ms + (roll >> 8) % (s->pause_max_ms - s->pause_min_ms)
                      : (roll >> 8) % 10;
    wk->busy = true;
    (void)uv_timer_start(&wk->timer, soak_on_think, ms, 0);
}

int soak_workers_init(struct soak *s)
{
    s->workers = calloc(s->concurrency, sizeof(*s->workers));
    if (!s->workers) {
        return -1;
    }
    for (unsigned w = 0; w < s->concurrency; w++) {
        (void)uv_timer_init(&s->loop, &s->workers[w].timer);
        s->workers[w].timer.data = &s->workers[w];
        s->workers[w].s = s;
    }
    return 0;
}

void soak_workers_close(struct soak *s)
{
    for (unsigned w = 0; s->workers && w < s->concurrency; w++) {
        if (!uv_is_closing((uv_handle_t *)&s->workers[w].timer)) {
            uv_close((uv_handle_t *)&s->workers[w].timer, NULL);
        }
    }
}

void soak_workload_resume(struct soak *s)
{
    s->issuing = true;
    for (unsigned w = 0; w < s->concurrency && s->issuing; w++) {
        if (!s->workers[w].busy) {
            soak_start_one(s, w);
        }
    }
}

/* ---- the library's live memory: an allocator that counts ---- */

static int64_t soak_lib_live;

static void *soak_malloc(size_t n)
{
    void *p = malloc(n);
    if (p) {
        soak_lib_live += (int64_t)malloc_usable_size(p);
    }
    return p;
}

static void *soak_realloc(void *old, size_t n)
{
    size_t before = old ? malloc_usable_size(old) : 0;
    void *p = realloc(old, n);
    if (p) {
        soak_lib_live += (int64_t)malloc_usable_size(p) - (int64_t)before;
    }
    return p;
}

static void soak_free(void *p)
{
    if (p) {
        soak_lib_live -= (int64_t)malloc_usable_size(p);
        free(p);
    }
}

int64_t soak_lib_live_bytes(void)
{
    return soak_lib_live;
}

/* ---- the client ---- */

/* Counts the client's events: the report shows the faults were met, not only survived. */
static void soak_on_event(tether_client *c, const struct tether_event *ev)
{
    struct soak *s = tether_client_get_data(c);
    if ((size_t)ev->type < SOAK_MAX_EVENTS) {
        s->events[ev->type]++;
    }
}

int soak_client_start(struct soak *s)
{
    struct tether_client_options co;
    tether_client_options_init(&co);
    struct tether_policy *p = &co.policy;
    /* One deadline over every attempt, short per-attempt waits so a silently dropped flow
     * costs an attempt, not the deadline, and enough attempts that only the deadline ends an
     * idempotent request. The retry budget is raised: a server restart fails every request in
     * flight at once, and the soak asks whether they recover, not whether the budget sheds
     * them (tests/unit/policy/test_budget.c covers the budget). */
    p->deadline_ms = s->deadline_ms;
    p->connect_timeout_ms = 2000;
    p->headers_timeout_ms = 2000;
    p->body_timeout_ms = 2000;
    p->max_attempts = 10;
    p->backoff_base_ms = 50;
    p->backoff_cap_ms = 1000;
    p->budget_ratio = 1.0;
    p->budget_min_retries_per_s = 1000;
    /* --retry-unsafe: the soak's self-check. Retrying POSTs that may have run must show up
     * as duplicate executions, or the soak could not see the bug it is for. */
    p->retry_non_idempotent = s->retry_unsafe;
    co.data = s;
    char err[256];
    err[0] = '\0';
    co.errbuf = err;
    co.errbuf_len = sizeof(err);
    int rv = tether_client_new(&s->loop, &co, &s->client);
    if (rv == 0) {
        tether_client_on_event(s->client, soak_on_event);
    }
    if (rv != 0) {
        fprintf(stderr, "soak: cannot create the client: %s\n", err[0] ? err : tether_strerror(rv));
    }
    return rv;
}

/* ---- the execution log ---- */

void soak_read_exec_log(struct soak *s)
{
    FILE *f = fopen(s->exec_log, "r");
    if (!f) {
        soak_run_fail(s, "the server's --exec-log cannot be read");
        return;
    }
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        s->executions++;
        char *end = NULL;
        if (line[0] != 's') {
            s->foreign_executions++;
            continue;
        }
        unsigned long long i = strtoull(line + 1, &end, 10);
        if (end == line + 1 || *end != ' ' || i >= s->nrecs) {
            s->foreign_executions++;
            continue;
        }
        if (s->recs[i].executions < 255) {
            s->recs[i].executions++;
        }
    }
    (void)fclose(f);
}

/* Every invariant over the request records, once the log has been read. */
void soak_check_records(struct soak *s)
{
    for (size_t i = 0; i < s->nrecs; i++) {
        const struct soak_rec *r = &s->recs[i];
        s->by_kind[r->kind]++;
        bool idempotent = r->kind != SOAK_POST;
        if (!r->done) {
            s->unfinished++;
            continue;
        }
        if (r->code != 0) {
            s->failures++;
            if (!r->has_reason || r->safe == TETHER_RETRY_SAFE_UNKNOWN) {
                s->failures_without_reason++;
            }
            if (idempotent && r->code != TETHER_EDEADLINE) {
                s->lost_idempotent++;
            }
        } else {
            s->responses++;
            if (r->status >= 200 && r->status < 300 && r->executions == 0) {
                s->acknowledged_not_executed++;
            }
        }
        if (r->kind == SOAK_POST && r->executions > 1) {
            s->duplicate_executions++;
        }
        if (r->kind == SOAK_POST_KEYED && r->executions > 1) {
            s->keyed_reexecutions++;
        }
    }
}

int main(int argc, char **argv)
{
    (void)tether_ignore_sigpipe();
    struct soak *s = calloc(1, sizeof(*s));
    if (!s) {
        return 1;
    }
    soak_the_run = s;
    /* Every allocation the library makes is counted: its live bytes with every connection
     * closed must not grow over the run. */
    if (tether_set_allocator(soak_malloc, soak_realloc, soak_free) != 0) {
        free(s);
        return 1;
    }
    int rc = soak_run_parse(s, argc, argv);
    if (rc == 0) {
        rc = soak_run(s);
    }
    free(s->recs);
    free(s->workers);
    free(s);
    return rc;
}
