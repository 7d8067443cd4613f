/* SPDX-License-Identifier: MIT */
/* The soak's verdict: the invariants, and the one JSON line that is the last on stdout. */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "soak_run.h"

/* Flat: within 5 % of the baseline (at least one descriptor: 5 % of 12 rounds to nothing). */
static bool soak_flat(long start, long end, long min_slack)
{
    if (start < 0 || end < 0) {
        return false;
    }
    long slack = (start * 5 + 99) / 100;
    if (slack < min_slack) {
        slack = min_slack;
    }
    return end - start <= slack && start - end <= slack;
}

static void soak_broken(struct soak *s, const char *what)
{
    if (s->nbroken < SOAK_MAX_BROKEN) {
        s->broken[s->nbroken++] = what;
    }
}

static json_t *soak_usage_json(const struct soak_usage *u)
{
    return json_pack("{s:i, s:I}", "fds", u->fds, "rss_kib", (json_int_t)u->rss_kib);
}

static json_t *soak_processes(struct soak *s)
{
    static const char *const names[SOAK_PROCS] = {"client", "proxy", "server"};
    static const char *const fd_broken[SOAK_PROCS] = {
        "client descriptors not flat", "proxy descriptors not flat", "server descriptors not flat"};
    static const char *const rss_broken[SOAK_PROCS] = {
        "client memory not flat", "proxy memory not flat", "server memory not flat"};
    json_t *o = json_object();
    for (int i = 0; i < SOAK_PROCS; i++) {
        bool fd_ok = soak_flat(s->start[i].fds, s->end[i].fds, 1);
        /* The client's own records grow by 8 bytes a request: not the library's memory. */
        long rec_start = i == SOAK_CLIENT ? (long)s->records_kib_start : 0;
        long rec_end = i == SOAK_CLIENT ? (long)s->records_kib_end : 0;
        bool rss_ok = soak_flat(s->start[i].rss_kib - rec_start, s->end[i].rss_kib - rec_end, 0);
        if (!fd_ok) {
            soak_broken(s, fd_broken[i]);
        }
        if (!rss_ok) {
            soak_broken(s, rss_broken[i]);
        }
        (void)json_object_set_new(o, names[i],
                                  json_pack("{s:i, s:i, s:I, s:I, s:b, s:b}", "fd_start",
                                            s->start[i].fds, "fd_end", s->end[i].fds,
                                            "rss_kib_start", (json_int_t)s->start[i].rss_kib,
                                            "rss_kib_end", (json_int_t)s->end[i].rss_kib, "fd_flat",
                                            fd_ok, "rss_flat", rss_ok));
    }
    json_t *client = json_object_get(o, "client");
    (void)json_object_set_new(client, "records_kib_start",
                              json_integer((json_int_t)s->records_kib_start));
    (void)json_object_set_new(client, "records_kib_end",
                              json_integer((json_int_t)s->records_kib_end));
    bool lib_ok = soak_flat((long)s->lib_live_start, (long)s->lib_live_end, 0);
    if (!lib_ok) {
        soak_broken(s, "the library's live memory grew");
    }
    (void)json_object_set_new(client, "library_live_bytes_start", json_integer(s->lib_live_start));
    (void)json_object_set_new(client, "library_live_bytes_end", json_integer(s->lib_live_end));
    (void)json_object_set_new(client, "library_live_flat", json_boolean(lib_ok));
    return o;
}

static json_t *soak_timeline(const struct soak *s)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->nbuckets; i++) {
        const struct soak_bucket *b = &s->buckets[i];
        json_t *u = json_object();
        (void)json_object_set_new(u, "client", soak_usage_json(&b->usage[SOAK_CLIENT]));
        (void)json_object_set_new(u, "proxy", soak_usage_json(&b->usage[SOAK_PROXY]));
        (void)json_object_set_new(u, "server", soak_usage_json(&b->usage[SOAK_SERVER]));
        (void)json_array_append_new(
            a, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:o}", "t_s",
                         (json_int_t)((i + 1) * s->interval_ms / 1000), "requests",
                         (json_int_t)b->done, "responses", (json_int_t)b->responses, "failures",
                         (json_int_t)b->failures, "status_503", (json_int_t)b->status_503,
                         "retries", (json_int_t)b->retries, "replays", (json_int_t)b->replays,
                         "server_restarts", (int)b->server_restarts, "usage", u));
    }
    return a;
}

int soak_report(struct soak *s)
{
    if (s->fatal[0]) {
        soak_broken(s, "the run did not complete");
    }
    if (s->lost_idempotent) {
        soak_broken(s, "idempotent requests lost");
    }
    if (s->duplicate_executions) {
        soak_broken(s, "unkeyed POSTs executed twice");
    }
    if (s->failures_without_reason) {
        soak_broken(s, "failures without a reason or a retry-safety");
    }
    if (s->acknowledged_not_executed) {
        soak_broken(s, "2xx responses the server never logged");
    }
    if (s->foreign_executions) {
        soak_broken(s, "executions of requests never sent");
    }
    if (s->unfinished) {
        soak_broken(s, "fetches that never finished");
    }
    json_t *processes = soak_processes(s);
    json_t *reasons = json_object();
    for (size_t i = 0; i < s->nreasons; i++) {
        (void)json_object_set_new(reasons, s->reasons[i].text,
                                  json_integer((json_int_t)s->reasons[i].count));
    }
    static const char *const event_names[] = {
        "conn_new",       "conn_reused", "conn_stale",      "conn_retired",
        "attempt_failed", "replay",      "retry_scheduled", "budget_exhausted",
        "deadline",       "response",    "breaker_open",    "breaker_half_open",
        "breaker_closed", "redirect",    "connected",       "resume"};
    json_t *events = json_object();
    for (size_t i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++) {
        (void)json_object_set_new(events, event_names[i], json_integer((json_int_t)s->events[i]));
    }
    json_t *broken = json_array();
    for (size_t i = 0; i < s->nbroken; i++) {
        (void)json_array_append_new(broken, json_string(s->broken[i]));
    }
    json_t *o = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
        " s:i, s:i, s:i, s:I, s:o, s:o, s:o, s:o, s:o, s:b, s:s}",
        "requests", (json_int_t)s->nrecs, "gets", (json_int_t)s->by_kind[SOAK_GET], "posts",
        (json_int_t)s->by_kind[SOAK_POST], "keyed_posts", (json_int_t)s->by_kind[SOAK_POST_KEYED],
        "responses", (json_int_t)s->responses, "failures", (json_int_t)s->failures,
        "lost_idempotent", (json_int_t)s->lost_idempotent, "duplicate_executions",
        (json_int_t)s->duplicate_executions, "failures_without_reason",
        (json_int_t)s->failures_without_reason, "acknowledged_not_executed",
        (json_int_t)s->acknowledged_not_executed, "foreign_executions",
        (json_int_t)s->foreign_executions, "unfinished", (json_int_t)s->unfinished,
        "keyed_post_reexecutions", (json_int_t)s->keyed_reexecutions, "executions",
        (json_int_t)s->executions, "retries", (json_int_t)s->retries, "replays",
        (json_int_t)s->replays, "server_starts", (json_int_t)s->server_starts, "seconds",
        (int)s->seconds, "warmup_s", (int)s->warmup_s, "concurrency", (int)s->concurrency,
        "interval_s", (json_int_t)(s->interval_ms / 1000), "processes", processes,
        "failure_reasons", reasons, "client_events", events, "timeline", soak_timeline(s), "broken",
        broken, "ok", s->nbroken == 0, "error", s->fatal);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) {
        fprintf(stderr, "soak: cannot build the report\n");
        return 1;
    }
    printf("%s\n", text);
    free(text);
    return s->nbroken == 0 ? 0 : 1;
}
