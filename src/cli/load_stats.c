/* SPDX-License-Identifier: MIT */
/* `tether load`'s counters: outcomes, errors by Node's message, statuses, latency percentiles,
 * and the report as JSON or as a short table. */
#include <stdlib.h>
#include <string.h>

#include "tether/tether.h"
#include "tether/client.h"

#include "fetch_flags.h"
#include "load.h"

void load_stats_init(struct load_stats *s)
{
    memset(s, 0, sizeof(*s));
}

void load_stats_cleanup(struct load_stats *s)
{
    for (size_t i = 0; i < s->nerrors; i++) {
        free(s->errors[i].message);
    }
    free(s->samples);
    memset(s, 0, sizeof(*s));
}

static void load_stats_sample(struct load_stats *s, double ms, uint64_t rnd)
{
    if (ms > s->max_ms) {
        s->max_ms = ms;
    }
    if (s->nsamples < s->samples_cap) {
        s->samples[s->nsamples++] = ms;
        return;
    }
    if (s->samples_cap < LOAD_MAX_SAMPLES) {
        size_t cap = s->samples_cap ? s->samples_cap * 2 : 1024;
        double *n = realloc(s->samples, cap * sizeof(*n));
        if (n) {
            s->samples = n;
            s->samples_cap = cap;
            s->samples[s->nsamples++] = ms;
            return;
        }
        if (s->samples_cap == 0) {
            return; /* no memory at all: percentiles stay 0, the maximum is still exact */
        }
    }
    /* Reservoir sampling (Algorithm R): sample i of `requests` replaces a random slot with
     * probability cap / requests. */
    uint64_t slot = rnd % (s->requests ? s->requests : 1);
    if (slot < s->samples_cap) {
        s->samples[slot] = ms;
    }
}

static void load_stats_error(struct load_stats *s, const char *message)
{
    for (size_t i = 0; i < s->nerrors; i++) {
        if (strcmp(s->errors[i].message, message) == 0) {
            s->errors[i].count++;
            return;
        }
    }
    if (s->nerrors < LOAD_MAX_ERRORS) {
        char *copy = strdup(message);
        if (copy) {
            s->errors[s->nerrors].message = copy;
            s->errors[s->nerrors].count = 1;
            s->nerrors++;
            return;
        }
    }
    s->other_errors++;
}

void load_stats_record_error(struct load_stats *s, const char *message, double latency_ms,
                             uint64_t rnd)
{
    s->requests++;
    s->failed++;
    load_stats_error(s, message);
    load_stats_sample(s, latency_ms, rnd);
}

void load_stats_record(struct load_stats *s, const tether_fetch *f, double latency_ms, uint64_t rnd)
{
    const struct tether_failure *fl = tether_fetch_failure(f);
    s->requests++;
    s->replays += tether_fetch_replays(f);
    s->retries += tether_fetch_retries(f);
    if (fl && fl->code != 0) {
        char msg[512];
        fetch_failure_text(fl, msg, sizeof(msg));
        s->failed++;
        load_stats_error(s, msg);
    } else {
        int status = tether_fetch_status(f);
        s->statuses[(status >= 0 && status < 1000) ? status : 0]++;
        if (fetch_status_ok(status)) {
            s->succeeded++;
        } else {
            s->failed++;
        }
    }
    load_stats_sample(s, latency_ms, rnd);
}

static int load_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of the sorted samples: the smallest sample with at least p % of
 * the samples at or below it. */
static double load_percentile(const struct load_stats *s, unsigned p)
{
    if (s->nsamples == 0) {
        return 0.0;
    }
    size_t rank = ((size_t)p * s->nsamples + 99) / 100;
    size_t i = rank == 0 ? 0 : rank - 1;
    if (i >= s->nsamples) {
        i = s->nsamples - 1;
    }
    return s->samples[i];
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
    if (s->nsamples > 1) {
        qsort(s->samples, s->nsamples, sizeof(s->samples[0]), load_cmp_double);
    }
    l->p50 = load_round3(load_percentile(s, 50));
    l->p90 = load_round3(load_percentile(s, 90));
    l->p99 = load_round3(load_percentile(s, 99));
    l->max = load_round3(s->max_ms);
}

static double load_rps(const struct load_stats *s)
{
    return s->duration_s > 0 ? (double)s->requests / s->duration_s : 0.0;
}

static json_t *load_json_uint(uint64_t v)
{
    return json_integer((json_int_t)(v > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : v));
}

/* Error messages become object keys, which jansson requires to be UTF-8: anything outside
 * printable ASCII becomes '?'. */
static void load_ascii(const char *in, char *out, size_t len)
{
    size_t i = 0;
    for (; in[i] && i + 1 < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        out[i] = (ch < 0x20 || ch > 0x7e) ? '?' : (char)ch;
    }
    out[i] = '\0';
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
    for (size_t i = 0; i < s->nerrors; i++) {
        char key[512];
        load_ascii(s->errors[i].message, key, sizeof(key));
        json_t *old = json_object_get(errors, key);
        uint64_t base = old ? (uint64_t)json_integer_value(old) : 0;
        bad |= json_object_set_new(errors, key, load_json_uint(base + s->errors[i].count));
    }
    if (s->other_errors) {
        bad |= json_object_set_new(errors, "other", load_json_uint(s->other_errors));
    }
    for (int st = 0; st < 1000; st++) {
        if (s->statuses[st]) {
            char key[8];
            snprintf(key, sizeof(key), "%d", st);
            bad |= json_object_set_new(statuses, key, load_json_uint(s->statuses[st]));
        }
    }
    bad |= json_object_set_new(lat, "p50", json_real(l.p50));
    bad |= json_object_set_new(lat, "p90", json_real(l.p90));
    bad |= json_object_set_new(lat, "p99", json_real(l.p99));
    bad |= json_object_set_new(lat, "max", json_real(l.max));

    bad |= json_object_set_new(doc, "requests", load_json_uint(s->requests));
    bad |= json_object_set_new(doc, "succeeded", load_json_uint(s->succeeded));
    bad |= json_object_set_new(doc, "failed", load_json_uint(s->failed));
    bad |= json_object_set_new(doc, "errors", errors);
    bad |= json_object_set_new(doc, "statuses", statuses);
    bad |= json_object_set_new(doc, "replays", load_json_uint(s->replays));
    bad |= json_object_set_new(doc, "retries", load_json_uint(s->retries));
    bad |= json_object_set_new(doc, "connections_opened", load_json_uint(s->connections_opened));
    bad |= json_object_set_new(doc, "stale_evictions", load_json_uint(s->stale_evictions));
    bad |= json_object_set_new(doc, "latency_ms", lat);
    bad |= json_object_set_new(doc, "duration_s", json_real(load_round3(s->duration_s)));
    bad |= json_object_set_new(doc, "rps", json_real(load_round3(load_rps(s))));
    if (bad) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static int load_cmp_error(const void *a, const void *b)
{
    const struct load_error_count *x = a;
    const struct load_error_count *y = b;
    if (x->count != y->count) {
        return x->count > y->count ? -1 : 1;
    }
    return strcmp(x->message, y->message);
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
    if (s->nerrors || s->other_errors) {
        fputs("  errors\n", out);
    } else {
        fprintf(out, "  %-20s none\n", "errors");
    }
    qsort(s->errors, s->nerrors, sizeof(s->errors[0]), load_cmp_error);
    for (size_t i = 0; i < s->nerrors; i++) {
        fprintf(out, "    %8llu  %s\n", (unsigned long long)s->errors[i].count,
                s->errors[i].message);
    }
    if (s->other_errors) {
        fprintf(out, "    %8llu  (other messages)\n", (unsigned long long)s->other_errors);
    }
}
