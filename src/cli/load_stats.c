/* SPDX-License-Identifier: MIT */
/* `tether load`'s counters: outcomes, errors by Node's message, statuses, latency percentiles,
 * and the report as JSON or as a short table. */
#include <stdlib.h>
#include <string.h>

#include "tether/tether.h"
#include "tether/client.h"

#include "cli_json.h"
#include "fetch_flags.h"
#include "load.h"

void load_stats_init(struct load_stats *s, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    wl_errors_init(&s->errors, LOAD_MAX_ERRORS);
    wl_latency_init(&s->latency, seed);
}

void load_stats_cleanup(struct load_stats *s)
{
    wl_errors_cleanup(&s->errors);
    wl_latency_cleanup(&s->latency);
}

void load_stats_record_error(struct load_stats *s, const char *message, double latency_ms)
{
    s->requests++;
    s->failed++;
    wl_errors_add(&s->errors, message, 1);
    wl_latency_add(&s->latency, latency_ms);
}

/* Drops a failure's elapsed time ("deadline exceeded: after 1000 ms") from its message: the
 * errors are counted by cause, and the time differs from one request to the next, which split
 * one cause into a bucket per millisecond. Fixed values in a detail (a phase timeout's
 * configured limit) are not elapsed times and stay. */
static void load_drop_elapsed(const struct tether_failure *fl, char *msg)
{
    if (fl->code != TETHER_EDEADLINE || strncmp(fl->detail, "after ", 6) != 0) {
        return;
    }
    char *at = strstr(msg, fl->detail);
    if (!at || at[strlen(fl->detail)] != '\0') {
        return;
    }
    while (at > msg && (at[-1] == ' ' || at[-1] == ':' || at[-1] == ',')) {
        at--;
    }
    *at = '\0';
}

void load_stats_record(struct load_stats *s, const tether_fetch *f, double latency_ms)
{
    const struct tether_failure *fl = tether_fetch_failure(f);
    s->requests++;
    s->replays += tether_fetch_replays(f);
    s->retries += tether_fetch_retries(f);
    if (fl && fl->code != 0) {
        char msg[512];
        fetch_failure_text(fl, msg, sizeof(msg));
        load_drop_elapsed(fl, msg);
        if (fl->code == TETHER_EBREAKER) {
            /* One line for every refusal, not one per "retry in N ms". */
            char *tail = strstr(msg, ", retry in ");
            if (tail) {
                *tail = '\0';
            }
        }
        s->failed++;
        wl_errors_add(&s->errors, msg, 1);
    } else {
        int status = tether_fetch_status(f);
        s->statuses[(status >= 0 && status < 1000) ? status : 0]++;
        if (fetch_status_ok(status)) {
            s->succeeded++;
        } else {
            s->failed++;
        }
    }
    wl_latency_add(&s->latency, latency_ms);
}

/* To three decimals (microseconds for latencies), for values >= 0. */
static double load_round3(double v)
{
    if (!(v > 0.0)) {
        return 0.0;
    }
    if (v >= 1e15) {
        return v;
    }
    return (double)(uint64_t)(v * 1000.0 + 0.5) / 1000.0;
}

struct load_latency {
    double p50, p90, p99, max;
};

static void load_latency(struct load_stats *s, struct load_latency *l)
{
    l->p50 = load_round3(wl_latency_percentile(&s->latency, 50));
    l->p90 = load_round3(wl_latency_percentile(&s->latency, 90));
    l->p99 = load_round3(wl_latency_percentile(&s->latency, 99));
    l->max = load_round3(s->latency.max_ms);
}

static const char *load_breaker_state(enum tether_breaker_state st)
{
    return st == TETHER_BREAKER_STATE_OPEN        ? "open"
           : st == TETHER_BREAKER_STATE_HALF_OPEN ? "half-open"
                                                  : "closed";
}

/* NULL when out of memory: json_object_set_new then fails, and so does the report. */
static json_t *load_breaker_json(const struct tether_origin_stats *b)
{
    json_t *o = json_object();
    if (!o) {
        return NULL;
    }
    int bad = 0;
    bad |= json_object_set_new(o, "mode", json_string(tether_breaker_mode_name(b->breaker_mode)));
    bad |= json_object_set_new(o, "state", json_string(load_breaker_state(b->breaker_state)));
    bad |= json_object_set_new(o, "rejected", cli_json_uint(b->breaker_rejected));
    bad |= json_object_set_new(o, "opened", cli_json_uint(b->breaker_opened));
    bad |= json_object_set_new(o, "half_opened", cli_json_uint(b->breaker_half_opened));
    bad |= json_object_set_new(o, "closed", cli_json_uint(b->breaker_closed));
    bad |= json_object_set_new(o, "probes", cli_json_uint(b->breaker_probes));
    bad |= json_object_set_new(o, "probe_timeouts", cli_json_uint(b->breaker_probe_timeouts));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static double load_rps(const struct load_stats *s)
{
    return s->duration_s > 0 ? (double)s->requests / s->duration_s : 0.0;
}

json_t *load_stats_json(struct load_stats *s)
{
    struct load_latency l;
    load_latency(s, &l);
    json_t *doc = json_object();
    json_t *errors = json_object();
    json_t *statuses = json_object();
    json_t *lat = json_object();
    if (!doc || !errors || !statuses || !lat) {
        json_decref(doc);
        json_decref(errors);
        json_decref(statuses);
        json_decref(lat);
        return NULL;
    }
    int bad = 0;
    for (size_t i = 0; i < s->errors.n; i++) {
        /* Messages become object keys, which must be UTF-8; two that differ only outside
         * printable ASCII share one. */
        char key[512];
        cli_json_ascii(s->errors.items[i].message, key, sizeof(key));
        json_t *old = json_object_get(errors, key);
        uint64_t base = old ? (uint64_t)json_integer_value(old) : 0;
        bad |= json_object_set_new(errors, key, cli_json_uint(base + s->errors.items[i].count));
    }
    if (s->errors.other) {
        bad |= json_object_set_new(errors, "other", cli_json_uint(s->errors.other));
    }
    for (int st = 0; st < 1000; st++) {
        if (s->statuses[st]) {
            char key[8];
            (void)snprintf(key, sizeof(key), "%d", st);
            bad |= json_object_set_new(statuses, key, cli_json_uint(s->statuses[st]));
        }
    }
    bad |= json_object_set_new(lat, "p50", json_real(l.p50));
    bad |= json_object_set_new(lat, "p90", json_real(l.p90));
    bad |= json_object_set_new(lat, "p99", json_real(l.p99));
    bad |= json_object_set_new(lat, "max", json_real(l.max));

    bad |= json_object_set_new(doc, "requests", cli_json_uint(s->requests));
    bad |= json_object_set_new(doc, "succeeded", cli_json_uint(s->succeeded));
    bad |= json_object_set_new(doc, "failed", cli_json_uint(s->failed));
    bad |= json_object_set_new(doc, "errors", errors);
    bad |= json_object_set_new(doc, "statuses", statuses);
    bad |= json_object_set_new(doc, "replays", cli_json_uint(s->replays));
    bad |= json_object_set_new(doc, "retries", cli_json_uint(s->retries));
    bad |= json_object_set_new(doc, "connections_opened", cli_json_uint(s->connections_opened));
    bad |= json_object_set_new(doc, "stale_evictions", cli_json_uint(s->stale_evictions));
    bad |= json_object_set_new(doc, "retired_idle", cli_json_uint(s->retired_idle));
    bad |= json_object_set_new(doc, "learned_idle_close_ms",
                               cli_json_uint(s->breaker.learned_idle_close_ms));
    bad |= json_object_set_new(doc, "keep_alive_hint_s",
                               s->breaker.keep_alive_hint_s < 0
                                   ? json_null()
                                   : cli_json_uint((uint64_t)s->breaker.keep_alive_hint_s));
    bad |= json_object_set_new(doc, "latency_ms", lat);
    bad |= json_object_set_new(doc, "duration_s", json_real(load_round3(s->duration_s)));
    bad |= json_object_set_new(doc, "rps", json_real(load_round3(load_rps(s))));
    if (s->breaker.breaker_mode != TETHER_BREAKER_OFF) {
        bad |= json_object_set_new(doc, "breaker", load_breaker_json(&s->breaker));
    }
    if (bad) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* What the pool did about idle closes, the same facts `tether get -v` prints: connections
 * retired before the server's close, the idle close learned, and the server's Keep-Alive hint. */
static void load_print_pool_facts(FILE *out, const struct load_stats *s)
{
    fprintf(out, "  %-20s %llu\n", "retired idle", (unsigned long long)s->retired_idle);
    if (s->breaker.learned_idle_close_ms) {
        fprintf(out, "  %-20s %llu ms\n", "learned idle close",
                (unsigned long long)s->breaker.learned_idle_close_ms);
    } else {
        fprintf(out, "  %-20s none\n", "learned idle close");
    }
    if (s->breaker.keep_alive_hint_s >= 0) {
        fprintf(out, "  %-20s timeout=%lld s\n", "Keep-Alive hint",
                (long long)s->breaker.keep_alive_hint_s);
    } else {
        fprintf(out, "  %-20s none seen\n", "Keep-Alive hint");
    }
}

void load_stats_print(struct load_stats *s, const struct load_report_info *info, FILE *out)
{
    struct load_latency l;
    load_latency(s, &l);
    fprintf(out, "tether load: %s %s\n", info->method, info->url);
    fprintf(out, "  policy %s, concurrency %u, gap ", info->policy, info->concurrency);
    if (info->gap_lo_ms == info->gap_hi_ms) {
        fprintf(out, "%llu ms", (unsigned long long)info->gap_lo_ms);
    } else {
        fprintf(out, "%llu..%llu ms", (unsigned long long)info->gap_lo_ms,
                (unsigned long long)info->gap_hi_ms);
    }
    fprintf(out, ", seed %llu%s%s\n", (unsigned long long)info->seed,
            info->idempotency_auto ? ", idempotency keys" : "",
            info->interrupted ? ", interrupted" : "");
    fprintf(out, "  %-20s %llu\n", "requests", (unsigned long long)s->requests);
    fprintf(out, "  %-20s %llu\n", "succeeded", (unsigned long long)s->succeeded);
    fprintf(out, "  %-20s %llu\n", "failed", (unsigned long long)s->failed);
    fprintf(out, "  %-20s %llu\n", "replays", (unsigned long long)s->replays);
    fprintf(out, "  %-20s %llu\n", "retries", (unsigned long long)s->retries);
    fprintf(out, "  %-20s %llu\n", "connections opened", (unsigned long long)s->connections_opened);
    fprintf(out, "  %-20s %llu\n", "stale evictions", (unsigned long long)s->stale_evictions);
    load_print_pool_facts(out, s);
    if (s->breaker.breaker_mode != TETHER_BREAKER_OFF) {
        const struct tether_origin_stats *b = &s->breaker;
        fprintf(out,
                "  %-20s %s, %s at the end: %llu rejected, %llu opened, %llu probes "
                "(%llu timed out), %llu closed\n",
                "circuit breaker", tether_breaker_mode_name(b->breaker_mode),
                load_breaker_state(b->breaker_state), (unsigned long long)b->breaker_rejected,
                (unsigned long long)b->breaker_opened, (unsigned long long)b->breaker_probes,
                (unsigned long long)b->breaker_probe_timeouts,
                (unsigned long long)b->breaker_closed);
    }
    fprintf(out, "  %-20s p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  (every request)\n", "latency ms",
            l.p50, l.p90, l.p99, l.max);
    fprintf(out, "  %-20s %.3f s  (%.1f requests/s)\n", "duration", s->duration_s, load_rps(s));
    fprintf(out, "  %-20s", "statuses");
    bool any = false;
    for (int st = 0; st < 1000; st++) {
        if (s->statuses[st]) {
            fprintf(out, "%s%d: %llu", any ? ", " : " ", st, (unsigned long long)s->statuses[st]);
            any = true;
        }
    }
    fputs(any ? "\n" : " none\n", out);
    if (s->errors.n || s->errors.other) {
        fputs("  errors\n", out);
    } else {
        fprintf(out, "  %-20s none\n", "errors");
    }
    wl_errors_sort(&s->errors);
    for (size_t i = 0; i < s->errors.n; i++) {
        fprintf(out, "    %8llu  %s\n", (unsigned long long)s->errors.items[i].count,
                s->errors.items[i].message);
    }
    if (s->errors.other) {
        fprintf(out, "    %8llu  (other messages)\n", (unsigned long long)s->errors.other);
    }
}
