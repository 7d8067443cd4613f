/* SPDX-License-Identifier: MIT */
/* The workload engine `tether load` and `tether demo` share: closed-loop workers with seeded
 * gaps, a latency reservoir with percentiles, and failures tallied by message. */
#ifndef TETHER_CLI_WORKLOAD_H
#define TETHER_CLI_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "tether/client.h"

#include "util/rand.h"

/* Uniform in [lo, hi], both included; lo when hi <= lo (then nothing is drawn). */
uint64_t wl_rand_range(struct ttx_rng *rng, uint64_t lo, uint64_t hi);

/* ---- failures by message ---- */

struct wl_error {
    char *message; /* owned */
    uint64_t count;
};

struct wl_errors {
    struct wl_error *items; /* in order of first appearance, until wl_errors_sort */
    size_t n;
    size_t max;     /* distinct messages kept */
    uint64_t other; /* failures whose message found no room */
};

/* Keeps at most `max` distinct messages; the rest are counted in `other`. */
void wl_errors_init(struct wl_errors *e, size_t max);
/* Counts `count` failures with `message` (copied). */
void wl_errors_add(struct wl_errors *e, const char *message, uint64_t count);
/* Most frequent first, ties by message. */
void wl_errors_sort(struct wl_errors *e);
/* Frees the messages; a zeroed tally is fine. */
void wl_errors_cleanup(struct wl_errors *e);

/* ---- latency ---- */

/* Latencies are kept exactly up to this many samples, then as a uniform reservoir sample (the
 * maximum stays exact), so a long run uses bounded memory. */
#define WL_MAX_SAMPLES (1u << 20)

struct wl_latency {
    double *samples; /* ms */
    size_t n;
    size_t cap;
    uint64_t seen; /* every sample offered, kept or not */
    double max_ms;
    bool sorted;
    struct ttx_rng rng; /* the reservoir's, apart from any other draw */
};

void wl_latency_init(struct wl_latency *l, uint64_t seed);
void wl_latency_add(struct wl_latency *l, double ms);
/* Nearest rank: the smallest sample with at least p % of the samples at or below it; 0 when
 * there are none. Sorts the samples the first time after an add. */
double wl_latency_percentile(struct wl_latency *l, unsigned p);
/* Frees the samples; a zeroed one is fine. */
void wl_latency_cleanup(struct wl_latency *l);

/* ---- closed-loop workers ---- */

struct workload;

/* A user that sends one request at a time: a gap, a request, its outcome, the next gap. */
struct wl_worker {
    struct workload *wl;
    unsigned idx;
    void *data;          /* the caller's */
    tether_fetch *fetch; /* in flight, or NULL */
    uint64_t start_ns;   /* uv_hrtime() when the request in flight started */
    bool waiting;        /* its gap (or a retry delay) is running */
    bool finished;       /* will send nothing more */
    uv_timer_t timer;
};

/* Returned by wl_ops.refused: the worker sends nothing more. */
#define WL_GIVE_UP UINT64_MAX

/* What the caller decides; every hook runs on the loop's thread. */
struct wl_ops {
    /* Asked before each gap: whether the worker sends another request (a request count is
     * reserved here). Required. */
    bool (*more)(struct wl_worker *w);
    /* Asked when a gap ends: whether a request may still start (a time limit). NULL = yes. */
    bool (*open)(struct wl_worker *w);
    /* The idle time before the worker's next request, in ms. Required. */
    uint64_t (*gap_ms)(struct wl_worker *w);
    /* Fills the request: `fo` arrives zeroed, and its `data` is the engine's. Required. */
    void (*request)(struct wl_worker *w, struct tether_fetch_options *fo);
    /* The client refused to start it with `rv` (fo.errbuf says why): returns the delay in ms
     * before the worker tries again, or WL_GIVE_UP. Required. */
    uint64_t (*refused)(struct wl_worker *w, int rv);
    /* The request ended after `latency_ms`; `f` is freed after the hook. Required. */
    void (*done)(struct wl_worker *w, tether_fetch *f, double latency_ms);
    /* Every worker has finished (wl_stop, wl_abandon, or `more` said no). May be NULL. */
    void (*finished)(struct workload *wl);
};

struct workload {
    uv_loop_t *loop;
    tether_client *client; /* borrowed; set before the first request starts */
    const struct wl_ops *ops;
    void *data; /* the caller's */
    struct wl_worker *workers;
    unsigned nworkers;
    unsigned live; /* workers not finished */
    bool stopping;
    bool finished;
};

/* Allocates `nworkers` workers with their timers on `loop`. Returns 0 or -1 (out of memory);
 * after 0, wl_close and a loop turn must come before wl_cleanup. */
int wl_init(struct workload *wl, uv_loop_t *loop, unsigned nworkers, const struct wl_ops *ops,
            void *data);
/* Sends every worker to its first gap. */
void wl_start(struct workload *wl);
/* Starts one worker's first request after `ms` instead (a spread start). */
void wl_start_after(struct wl_worker *w, uint64_t ms);
/* No new requests: waiting workers finish now; with `cancel`, the requests in flight are
 * cancelled too (their `done` still runs). */
void wl_stop(struct workload *wl, bool cancel);
/* Gives up on the requests in flight whose cancel never completed: `cb` runs for each such
 * worker, which then finishes; the fetch is freed whenever it ends. */
void wl_abandon(struct workload *wl, void (*cb)(struct wl_worker *w));
/* Closes the workers' timers (idempotent). */
void wl_close(struct workload *wl);
/* Frees the workers, once the loop has run the closes; a zeroed workload is fine. */
void wl_cleanup(struct workload *wl);

#endif
