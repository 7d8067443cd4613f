/* SPDX-License-Identifier: MIT */
/* `tether load`'s counters and its report (JSON and the human table). */
#ifndef TETHER_CLI_LOAD_H
#define TETHER_CLI_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "tether/client.h"

#include "workload.h"

/* Distinct error messages kept; the rest are counted under "other". */
#define LOAD_MAX_ERRORS 64u

struct load_stats {
    uint64_t requests;
    uint64_t succeeded; /* final status 2xx or 3xx */
    uint64_t failed;    /* transport failures and final 1xx/4xx/5xx statuses */
    uint64_t replays;
    uint64_t retries;
    uint64_t connections_opened;
    uint64_t stale_evictions;
    uint64_t retired_idle; /* idle connections retired before the server's close */
    /* The origin's figures: its circuit breaker (reported when its mode is not off), the idle
     * close the pool learned and the Keep-Alive hint it sent (always reported). */
    struct tether_origin_stats breaker;
    uint64_t statuses[1000];   /* by final status; anything above 999 lands in [0] */
    struct wl_errors errors;   /* transport failures by Node's message */
    struct wl_latency latency; /* of every request, failed or not */
    double duration_s;
};

/* What the human report's first line says about the run. */
struct load_report_info {
    const char *url;
    const char *method;
    const char *policy;
    unsigned concurrency;
    uint64_t gap_lo_ms;
    uint64_t gap_hi_ms;
    uint64_t seed;
    bool idempotency_auto;
    bool interrupted;
};

/* `seed` drives the latency reservoir only (apart from the gaps, which it must not shift). */
void load_stats_init(struct load_stats *s, uint64_t seed);
/* A zeroed struct is fine. */
void load_stats_cleanup(struct load_stats *s);
/* Counts one finished fetch. */
void load_stats_record(struct load_stats *s, const tether_fetch *f, double latency_ms);
/* Counts a request that could not even start (message is the reason). */
void load_stats_record_error(struct load_stats *s, const char *message, double latency_ms);
/* The --json object with exactly the documented keys; NULL when out of memory. */
json_t *load_stats_json(struct load_stats *s);
/* The human table on `out`. */
void load_stats_print(struct load_stats *s, const struct load_report_info *info, FILE *out);

#endif
