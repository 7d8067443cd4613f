/* SPDX-License-Identifier: MIT */
/* What `tether load` reports beyond its counters, for people used to hey, oha, wrk and k6: more
 * percentiles, a latency histogram, a per-second timeline of outcomes, the schedule lag of an
 * open-model (--rate) run, and one line per request in a CSV or NDJSON file (--output). */
#ifndef TETHER_CLI_LOAD_DETAIL_H
#define TETHER_CLI_LOAD_DETAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "tether/client.h"

#include "load.h"
#include "workload.h"

/* Fixed 1-2-5 bucket bounds from 0.1 ms to 50 s plus one open bucket: counted for every
 * request as it ends, so memory stays bounded however long the run (the percentiles come from
 * the latency samples, exact up to WL_MAX_SAMPLES requests). */
#define LOAD_HIST_BUCKETS 19u
/* Distinct error messages kept per timeline second; the rest are counted under "other". */
#define LOAD_TIMELINE_ERRORS 8u

struct load_second {
    uint64_t ok;             /* succeeded (2xx, 3xx) */
    uint64_t failed_status;  /* a final 1xx/4xx/5xx */
    struct wl_errors errors; /* transport failures by message */
};

enum load_output_format { LOAD_OUTPUT_NONE, LOAD_OUTPUT_CSV, LOAD_OUTPUT_NDJSON };

/* One request, as --output writes it. */
struct load_line {
    double start_ms; /* since the run started */
    unsigned worker;
    const char *method;
    int status;        /* 0 when there was no response */
    const char *error; /* NULL or "" when none */
    double latency_ms;
    unsigned attempts;
    unsigned retries;
    unsigned replays;
    uint64_t bytes; /* response body bytes */
};

struct load_detail {
    uint64_t hist[LOAD_HIST_BUCKETS];
    struct load_second *seconds; /* by the second the request ended in */
    size_t nseconds;
    size_t cap;
    /* --rate: the open model's schedule and how late starts were. */
    uint64_t rate;
    uint64_t scheduled;
    struct wl_latency lag;
    enum load_output_format format;
    FILE *out;
    bool out_failed; /* a write failed: reported once at the end */
};

void load_detail_init(struct load_detail *d, uint64_t seed);
/* Closes the output file (false when it could not be written completely). Zeroed is fine. */
bool load_detail_cleanup(struct load_detail *d);
/* Opens FILE for --output ("-" is stdout); false with errno when it cannot. */
bool load_detail_open(struct load_detail *d, enum load_output_format format, const char *path);
/* The message a finished fetch failed with ("" when it got a response), as the report counts
 * it: Node's message, a breaker refusal without its "retry in". */
void load_detail_message(const tether_fetch *f, char *msg, size_t len);
/* Counts one ended request: ok, else `error` ("" for a failing status). */
void load_detail_record(struct load_detail *d, double end_s, double latency_ms, bool ok,
                        const char *error);
/* Writes the --output line of one request (nothing without --output). */
void load_detail_write(struct load_detail *d, const struct load_line *l);
/* Adds "percentiles_ms", "histogram", "timeline" and, with --rate, "rate" to the --json
 * document. Returns 0, or -1 when out of memory. */
int load_detail_json(struct load_detail *d, struct load_stats *s, json_t *doc);
/* The human sections after load_stats_print. */
void load_detail_print(struct load_detail *d, struct load_stats *s, FILE *out);

#endif
