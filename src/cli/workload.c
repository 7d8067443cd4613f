/* SPDX-License-Identifier: MIT */
/* The shared workload engine: workers, gaps, the latency reservoir and the error tally. */
#include <stdlib.h>
#include <string.h>

#include "workload.h"

uint64_t wl_rand_range(struct ttx_rng *rng, uint64_t lo, uint64_t hi)
{
    if (hi <= lo) {
        return lo;
    }
    return lo + ttx_rng_below(rng, hi - lo + 1);
}

/* ---- failures by message ---- */

void wl_errors_init(struct wl_errors *e, size_t max)
{
    memset(e, 0, sizeof(*e));
    e->max = max;
}

void wl_errors_add(struct wl_errors *e, const char *message, uint64_t count)
{
    for (size_t i = 0; i < e->n; i++) {
        if (strcmp(e->items[i].message, message) == 0) {
            e->items[i].count += count;
            return;
        }
    }
    if (!e->items && e->max > 0) {
        e->items = calloc(e->max, sizeof(*e->items));
    }
    if (e->items && e->n < e->max) {
        char *copy = strdup(message);
        if (copy) {
            e->items[e->n].message = copy;
            e->items[e->n].count = count;
            e->n++;
            return;
        }
    }
    /* No room (or no memory): the failure is still counted. */
    e->other += count;
}

static int wl_cmp_error(const void *a, const void *b)
{
    const struct wl_error *x = a;
    const struct wl_error *y = b;
    if (x->count != y->count) {
        return x->count > y->count ? -1 : 1;
    }
    return strcmp(x->message, y->message);
}

void wl_errors_sort(struct wl_errors *e)
{
    if (e->n > 1) {
        qsort(e->items, e->n, sizeof(e->items[0]), wl_cmp_error);
    }
}

void wl_errors_cleanup(struct wl_errors *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->items[i].message);
    }
    free(e->items);
    memset(e, 0, sizeof(*e));
}

/* ---- latency ---- */

void wl_latency_init(struct wl_latency *l, uint64_t seed)
{
    memset(l, 0, sizeof(*l));
    ttx_rng_seed(&l->rng, seed);
}

void wl_latency_add(struct wl_latency *l, double ms)
{
    /* Drawn for every sample, kept or not, so a seed replays the same reservoir. */
    uint64_t rnd = ttx_rng_next(&l->rng);
    l->seen++;
    l->sorted = false;
    if (ms > l->max_ms) {
        l->max_ms = ms;
    }
    if (l->n < l->cap) {
        l->samples[l->n++] = ms;
        return;
    }
    if (l->cap < WL_MAX_SAMPLES) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        double *n = realloc(l->samples, cap * sizeof(*n));
        if (n) {
            l->samples = n;
            l->cap = cap;
            l->samples[l->n++] = ms;
            return;
        }
        if (l->cap == 0) {
            return; /* no memory at all: percentiles stay 0, the maximum is still exact */
        }
    }
    /* Reservoir sampling (Algorithm R): sample i replaces a random slot with probability
     * cap / i. */
    uint64_t slot = rnd % l->seen;
    if (slot < l->cap) {
        l->samples[slot] = ms;
    }
}

static int wl_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

double wl_latency_percentile(struct wl_latency *l, unsigned p)
{
    if (l->n == 0) {
        return 0.0;
    }
    if (!l->sorted) {
        qsort(l->samples, l->n, sizeof(l->samples[0]), wl_cmp_double);
        l->sorted = true;
    }
    size_t rank = ((size_t)p * l->n + 99) / 100;
    size_t i = rank == 0 ? 0 : rank - 1;
    return l->samples[i < l->n ? i : l->n - 1];
}

void wl_latency_cleanup(struct wl_latency *l)
{
    free(l->samples);
    memset(l, 0, sizeof(*l));
}

/* ---- workers ---- */

static void wl_next(struct wl_worker *w);
static void wl_fire(struct wl_worker *w);

static void wl_worker_finish(struct wl_worker *w)
{
    struct workload *wl = w->wl;
    if (w->finished) {
        return;
    }
    w->finished = true;
    if (--wl->live == 0 && !wl->finished) {
        wl->finished = true;
        if (wl->ops->finished) {
            wl->ops->finished(wl);
        }
    }
}

static void wl_on_timer(uv_timer_t *t)
{
    struct wl_worker *w = t->data;
    w->waiting = false;
    wl_fire(w);
}

static void wl_arm(struct wl_worker *w, uint64_t ms)
{
    w->waiting = true;
    (void)uv_timer_start(&w->timer, wl_on_timer, ms, 0);
}

static void wl_on_done(tether_fetch *f, int status)
{
    (void)status;
    struct wl_worker *w = tether_fetch_get_data(f);
    if (w->fetch != f) {
        tether_fetch_free(f); /* abandoned: already written off */
        return;
    }
    double ms = (double)(uv_hrtime() - w->start_ns) / 1e6;
    w->fetch = NULL;
    w->wl->ops->done(w, f, ms);
    tether_fetch_free(f);
    wl_next(w);
}

static void wl_fire(struct wl_worker *w)
{
    struct workload *wl = w->wl;
    if (wl->stopping || (wl->ops->open && !wl->ops->open(w))) {
        wl_worker_finish(w);
        return;
    }
    struct tether_fetch_options fo;
    memset(&fo, 0, sizeof(fo));
    wl->ops->request(w, &fo);
    fo.data = w;
    w->start_ns = uv_hrtime();
    tether_fetch *f = NULL;
    int rv = tether_client_fetch(wl->client, &fo, wl_on_done, &f);
    if (rv == 0) {
        w->fetch = f;
        return;
    }
    uint64_t again = wl->ops->refused(w, rv);
    if (again == WL_GIVE_UP || wl->stopping) {
        wl_worker_finish(w);
    } else {
        /* Never at once: a client that refuses every request must not spin the loop. */
        wl_arm(w, again > 0 ? again : 1);
    }
}

static void wl_next(struct wl_worker *w)
{
    struct workload *wl = w->wl;
    if (wl->stopping || !wl->ops->more(w)) {
        wl_worker_finish(w);
        return;
    }
    uint64_t gap = wl->ops->gap_ms(w);
    if (gap == 0) {
        wl_fire(w);
        return;
    }
    wl_arm(w, gap);
}

int wl_init(struct workload *wl, uv_loop_t *loop, unsigned nworkers, const struct wl_ops *ops,
            void *data)
{
    memset(wl, 0, sizeof(*wl));
    wl->workers = calloc(nworkers ? nworkers : 1, sizeof(*wl->workers));
    if (!wl->workers) {
        return -1;
    }
    wl->loop = loop;
    wl->ops = ops;
    wl->data = data;
    wl->nworkers = nworkers;
    wl->live = nworkers;
    for (unsigned i = 0; i < nworkers; i++) {
        struct wl_worker *w = &wl->workers[i];
        w->wl = wl;
        w->idx = i;
        (void)uv_timer_init(loop, &w->timer);
        w->timer.data = w;
    }
    return 0;
}

void wl_start(struct workload *wl)
{
    for (unsigned i = 0; i < wl->nworkers && !wl->finished; i++) {
        wl_next(&wl->workers[i]);
    }
}

void wl_start_after(struct wl_worker *w, uint64_t ms)
{
    wl_arm(w, ms);
}

void wl_stop(struct workload *wl, bool cancel)
{
    wl->stopping = true;
    for (unsigned i = 0; i < wl->nworkers && !wl->finished; i++) {
        struct wl_worker *w = &wl->workers[i];
        if (w->fetch) {
            if (cancel) {
                tether_fetch_cancel(w->fetch);
            }
        } else {
            /* Waiting for its gap, not started yet, or the one whose start just failed. */
            if (w->waiting) {
                uv_timer_stop(&w->timer);
                w->waiting = false;
            }
            wl_worker_finish(w);
        }
    }
}

void wl_abandon(struct workload *wl, void (*cb)(struct wl_worker *w))
{
    for (unsigned i = 0; i < wl->nworkers; i++) {
        struct wl_worker *w = &wl->workers[i];
        if (w->fetch) {
            w->fetch = NULL;
            cb(w);
            wl_worker_finish(w);
        }
    }
}

void wl_close(struct workload *wl)
{
    for (unsigned i = 0; i < wl->nworkers; i++) {
        uv_handle_t *h = (uv_handle_t *)&wl->workers[i].timer;
        if (!uv_is_closing(h)) {
            uv_close(h, NULL);
        }
    }
}

void wl_cleanup(struct workload *wl)
{
    free(wl->workers);
    memset(wl, 0, sizeof(*wl));
}
