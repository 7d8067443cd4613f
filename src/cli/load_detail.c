/* SPDX-License-Identifier: MIT */
/* `tether load`'s detail: percentiles to p99.9, a 1-2-5 latency histogram, the per-second
 * timeline, the --rate schedule lag, and the --output lines (CSV or NDJSON). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tether/tether.h"
#include "tether/client.h"

#include "cli_json.h"
#include "fetch_flags.h"
#include "load_detail.h"

/* Upper bounds (ms, included) of every bucket but the last, which is open. */
static const double load_hist_le[LOAD_HIST_BUCKETS - 1] = {
    0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000,
};

/* Per mille: p50, p75, p90, p95, p99, p99.9. */
static const unsigned load_permille[] = {500, 750, 900, 950, 990, 999};
static const char *const load_permille_key[] = {"p50", "p75", "p90", "p95", "p99", "p99.9"};
#define LOAD_NPERC (sizeof(load_permille) / sizeof(load_permille[0]))

/* The time between two timeline rows that no request ended in is kept as empty rows, up to a
 * day; anything later lands in the last row. */
#define LOAD_MAX_SECONDS (24u * 3600u)

void load_detail_init(struct load_detail *d, uint64_t seed)
{
    memset(d, 0, sizeof(*d));
    wl_latency_init(&d->lag, seed);
}

bool load_detail_cleanup(struct load_detail *d)
{
    bool ok = !d->out_failed;
    if (d->out && d->out != stdout) {
        ok = fclose(d->out) == 0 && ok;
    } else if (d->out) {
        ok = fflush(d->out) == 0 && ok;
    }
    for (size_t i = 0; i < d->nseconds; i++) {
        wl_errors_cleanup(&d->seconds[i].errors);
    }
    free(d->seconds);
    wl_latency_cleanup(&d->lag);
    memset(d, 0, sizeof(*d));
    return ok;
}

bool load_detail_open(struct load_detail *d, enum load_output_format format, const char *path)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (!fp) {
        return false;
    }
    d->out = fp;
    d->format = format;
    if (format == LOAD_OUTPUT_CSV &&
        fputs("start_ms,worker,method,status,error,latency_ms,attempts,retries,replays,bytes\n",
              fp) < 0) {
        d->out_failed = true;
    }
    return true;
}

void load_detail_message(const tether_fetch *f, char *msg, size_t len)
{
    const struct tether_failure *fl = tether_fetch_failure(f);
    msg[0] = '\0';
    if (!fl || fl->code == 0) {
        return;
    }
    fetch_failure_text(fl, msg, len);
    if (fl->code == TETHER_EBREAKER) {
        /* As load_stats counts it: one message for every refusal. */
        char *tail = strstr(msg, ", retry in ");
        if (tail) {
            *tail = '\0';
        }
    }
}

static struct load_second *load_second_at(struct load_detail *d, double end_s)
{
    size_t sec = end_s > 0 ? (size_t)end_s : 0;
    if (sec >= LOAD_MAX_SECONDS) {
        sec = LOAD_MAX_SECONDS - 1;
    }
    if (sec >= d->cap) {
        size_t cap = d->cap ? d->cap : 16;
        while (cap <= sec) {
            cap *= 2;
        }
        struct load_second *n = realloc(d->seconds, cap * sizeof(*n));
        if (!n) {
            return NULL;
        }
        d->seconds = n;
        d->cap = cap;
    }
    while (d->nseconds <= sec) {
        struct load_second *row = &d->seconds[d->nseconds++];
        memset(row, 0, sizeof(*row));
        wl_errors_init(&row->errors, LOAD_TIMELINE_ERRORS);
    }
    return &d->seconds[sec];
}

void load_detail_record(struct load_detail *d, double end_s, double latency_ms, bool ok,
                        const char *error)
{
    size_t b = 0;
    while (b < LOAD_HIST_BUCKETS - 1 && latency_ms > load_hist_le[b]) {
        b++;
    }
    d->hist[b]++;
    struct load_second *row = load_second_at(d, end_s);
    if (!row) {
        return; /* out of memory: the timeline misses it, the totals do not */
    }
    if (ok) {
        row->ok++;
    } else if (error && error[0]) {
        wl_errors_add(&row->errors, error, 1);
    } else {
        row->failed_status++;
    }
}

/* RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
static void load_csv_field(FILE *fp, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"') {
            fputc('"', fp);
        }
        fputc(*s, fp);
    }
    fputc('"', fp);
}

static void load_write_ndjson(struct load_detail *d, const struct load_line *l)
{
    char err[512];
    cli_json_ascii(l->error ? l->error : "", err, sizeof(err));
    json_t *o = json_pack("{s:f,s:I,s:s,s:i,s:s?,s:f,s:I,s:I,s:I,s:I}", "start_ms", l->start_ms,
                          "worker", (json_int_t)l->worker, "method", l->method, "status", l->status,
                          "error", err[0] ? err : NULL, "latency_ms", l->latency_ms, "attempts",
                          (json_int_t)l->attempts, "retries", (json_int_t)l->retries, "replays",
                          (json_int_t)l->replays, "bytes", (json_int_t)l->bytes);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (!text || fprintf(d->out, "%s\n", text) < 0) {
        d->out_failed = true;
    }
    free(text);
    json_decref(o);
}

void load_detail_write(struct load_detail *d, const struct load_line *l)
{
    if (!d->out) {
        return;
    }
    if (d->format == LOAD_OUTPUT_NDJSON) {
        load_write_ndjson(d, l);
        return;
    }
    fprintf(d->out, "%.3f,%u,%s,%d,", l->start_ms, l->worker, l->method, l->status);
    load_csv_field(d->out, l->error ? l->error : "");
    if (fprintf(d->out, ",%.3f,%u,%u,%u,%llu\n", l->latency_ms, l->attempts, l->retries, l->replays,
                (unsigned long long)l->bytes) < 0) {
        d->out_failed = true;
    }
}

/* Nearest rank on the samples, per mille (wl_latency_percentile's rule, finer). */
static double load_quantile(struct wl_latency *l, unsigned permille)
{
    if (l->n == 0) {
        return 0.0;
    }
    (void)wl_latency_percentile(l, 50); /* sorts them */
    size_t rank = ((size_t)permille * l->n + 999) / 1000;
    size_t i = rank == 0 ? 0 : rank - 1;
    return l->samples[i < l->n ? i : l->n - 1];
}

/* To microseconds, as load_stats rounds. */
static double load_us(double v)
{
    if (!(v > 0.0) || v >= 1e15) {
        return v > 0.0 ? v : 0.0;
    }
    return (double)(uint64_t)(v * 1000.0 + 0.5) / 1000.0;
}

/* The first and one past the last non-empty bucket ([0, 0) with no requests). */
static void load_hist_range(const struct load_detail *d, size_t *lo, size_t *hi)
{
    *lo = 0;
    *hi = 0;
    for (size_t b = 0; b < LOAD_HIST_BUCKETS; b++) {
        if (d->hist[b]) {
            if (*hi == 0) {
                *lo = b;
            }
            *hi = b + 1;
        }
    }
}

static json_t *load_errors_json(const struct wl_errors *e)
{
    json_t *o = json_object();
    int bad = o ? 0 : 1;
    for (size_t i = 0; o && i < e->n; i++) {
        char key[512];
        cli_json_ascii(e->items[i].message, key, sizeof(key));
        json_t *old = json_object_get(o, key);
        uint64_t base = old ? (uint64_t)json_integer_value(old) : 0;
        bad |= json_object_set_new(o, key, cli_json_uint(base + e->items[i].count));
    }
    if (o && e->other) {
        bad |= json_object_set_new(o, "other", cli_json_uint(e->other));
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int load_detail_json(struct load_detail *d, struct load_stats *s, json_t *doc)
{
    int bad = 0;
    json_t *perc = json_object();
    for (size_t i = 0; perc && i < LOAD_NPERC; i++) {
        bad |=
            json_object_set_new(perc, load_permille_key[i],
                                json_real(load_us(load_quantile(&s->latency, load_permille[i]))));
    }
    if (perc) {
        bad |= json_object_set_new(perc, "max", json_real(load_us(s->latency.max_ms)));
    }
    bad |= json_object_set_new(doc, "percentiles_ms", perc);

    json_t *hist = json_array();
    size_t lo;
    size_t hi;
    load_hist_range(d, &lo, &hi);
    for (size_t b = lo; hist && b < hi; b++) {
        json_t *le = b < LOAD_HIST_BUCKETS - 1 ? json_real(load_hist_le[b]) : json_null();
        bad |= json_array_append_new(
            hist, json_pack("{s:o,s:o}", "le_ms", le, "count", cli_json_uint(d->hist[b])));
    }
    bad |= json_object_set_new(doc, "histogram", hist);

    json_t *timeline = json_array();
    for (size_t i = 0; timeline && i < d->nseconds; i++) {
        const struct load_second *row = &d->seconds[i];
        bad |=
            json_array_append_new(timeline, json_pack("{s:I,s:o,s:o,s:o}", "second", (json_int_t)i,
                                                      "ok", cli_json_uint(row->ok), "failed_status",
                                                      cli_json_uint(row->failed_status), "errors",
                                                      load_errors_json(&row->errors)));
    }
    bad |= json_object_set_new(doc, "timeline", timeline);

    if (d->rate) {
        json_t *lag =
            json_pack("{s:f,s:f,s:f}", "p50", load_us(load_quantile(&d->lag, 500)), "p99",
                      load_us(load_quantile(&d->lag, 990)), "max", load_us(d->lag.max_ms));
        json_t *rate = json_pack("{s:o,s:o,s:o}", "target_rps", cli_json_uint(d->rate), "scheduled",
                                 cli_json_uint(d->scheduled), "lag_ms", lag ? lag : json_null());
        bad |= json_object_set_new(doc, "rate", rate);
    }
    return bad ? -1 : 0;
}

void load_detail_print(struct load_detail *d, struct load_stats *s, FILE *out)
{
    fprintf(out, "  %-20s", "percentiles ms");
    for (size_t i = 0; i < LOAD_NPERC; i++) {
        fprintf(out, " %s %.3f", load_permille_key[i],
                load_us(load_quantile(&s->latency, load_permille[i])));
    }
    fputc('\n', out);
    if (d->rate) {
        fprintf(out, "  %-20s %llu/s, %llu scheduled; late by p50 %.3f  p99 %.3f  max %.3f ms\n",
                "rate", (unsigned long long)d->rate, (unsigned long long)d->scheduled,
                load_us(load_quantile(&d->lag, 500)), load_us(load_quantile(&d->lag, 990)),
                load_us(d->lag.max_ms));
    }
    size_t lo;
    size_t hi;
    load_hist_range(d, &lo, &hi);
    uint64_t top = 0;
    for (size_t b = lo; b < hi; b++) {
        top = d->hist[b] > top ? d->hist[b] : top;
    }
    if (hi > lo) {
        fputs("  latency histogram\n", out);
    }
    for (size_t b = lo; b < hi; b++) {
        char label[32];
        if (b < LOAD_HIST_BUCKETS - 1) {
            (void)snprintf(label, sizeof(label), "<= %g ms", load_hist_le[b]);
        } else {
            (void)snprintf(label, sizeof(label), "> %g ms", load_hist_le[b - 1]);
        }
        unsigned width = (unsigned)((d->hist[b] * 40 + top - 1) / top);
        fprintf(out, "    %-12s %8llu |", label, (unsigned long long)d->hist[b]);
        for (unsigned i = 0; i < width; i++) {
            fputc('#', out);
        }
        fputc('\n', out);
    }
    if (d->nseconds == 0) {
        return;
    }
    /* A long run shows only its seconds with failures; --json has every second. */
    bool all = d->nseconds <= 60;
    fprintf(out, "  timeline%s\n", all ? "" : " (seconds with failures; --json has all)");
    fprintf(out, "    %6s %8s %8s  %s\n", "second", "ok", "status", "errors");
    for (size_t i = 0; i < d->nseconds; i++) {
        struct load_second *row = &d->seconds[i];
        if (!all && !row->failed_status && !row->errors.n && !row->errors.other) {
            continue;
        }
        fprintf(out, "    %6zu %8llu %8llu", i, (unsigned long long)row->ok,
                (unsigned long long)row->failed_status);
        wl_errors_sort(&row->errors);
        for (size_t e = 0; e < row->errors.n; e++) {
            fprintf(out, "%s%s: %llu", e ? ", " : "  ", row->errors.items[e].message,
                    (unsigned long long)row->errors.items[e].count);
        }
        if (row->errors.other) {
            fprintf(out, "%sother: %llu", row->errors.n ? ", " : "  ",
                    (unsigned long long)row->errors.other);
        }
        fputc('\n', out);
    }
}
