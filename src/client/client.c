/* SPDX-License-Identifier: MIT */
/* The client object: creation, the deferred work queue (next loop turn, after I/O), events,
 * stats, closing, and the blocking wrapper that runs the same core on a private loop. */
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"
#include "util/str.h"

void tether_client_options_init(struct tether_client_options *o)
{
    if (!o) {
        return;
    }
    memset(o, 0, sizeof(*o));
    tether_policy_defaults(&o->policy);
}

uint64_t tt__client_now(struct tether_client *c)
{
    uv_update_time(c->loop);
    return uv_now(c->loop);
}

/* ---- teardown ---- */

static void client_finalize(struct tether_client *c)
{
    if (c->finalized || !c->closing || c->live > 0) {
        return;
    }
    c->finalized = true;
    tether_client_close_cb cb = c->close_cb;
    void *data = c->close_data;
    tt__pool_free_origins(c);
    tt__tls_ctx_free(c->tls);
    tt__free(c->ca_file);
    tt__free(c->user_agent);
    tt__free(c->resolve);
    tt__proxy_free(c->proxy);
    tt__free(c);
    if (cb) {
        cb(data);
    }
}

void tt__client_release(struct tether_client *c)
{
    assert(c->live > 0 && "a client resource was released twice");
    c->live--;
    client_finalize(c);
}

/* ---- deferred work ---- */

static void client_run_deferred(struct tt__defer_item *it)
{
    struct tether_fetch *f = tt__container_of(it, struct tether_fetch, deferred);
    /* f->client is cleared once the fetch's timer closed; its origin lives as long as the
     * client. */
    struct tether_client *c = f->origin->client;
    enum tt__fetch_queue q = f->queued;
    f->queued = TT__FQ_NONE;
    c->live++; /* the client stays alive through the call-out below */
    bool woken = q == TT__FQ_WOKEN;
    if (woken) {
        tt__list_remove(&f->qlink); /* its turn: tt__fetch_acquire puts it back first if need be */
        q = TT__FQ_START;
    }
    if (q == TT__FQ_START) {
        /* The breaker is asked once per attempt: not again when a waiter is woken. */
        if (f->state == TT__FS_QUEUED && (f->attempts > 0 || tt__fetch_admit(f))) {
            if (f->attempts == 0) {
                f->attempts = 1;
                c->stats.attempts++;
                f->att.started_ms = tt__client_now(c);
            }
            f->woken = woken;
            tt__fetch_acquire(f);
        } else if (woken) {
            tt__pool_kick(f->origin); /* the turn it did not use */
        }
    } else if (q == TT__FQ_DONE) {
        tt__fetch_run_done(f); /* may free f */
    }
    tt__client_release(c);
}

void tt__client_defer(struct tether_client *c, struct tether_fetch *f, enum tt__fetch_queue q)
{
    tt__client_undefer(f);
    f->queued = q;
    tt__defer_item_init(&f->deferred, client_run_deferred);
    tt__defer_queue(&c->defer, &f->deferred);
}

void tt__client_wake(struct tether_client *c, struct tether_fetch *f)
{
    f->queued = TT__FQ_WOKEN;
    tt__defer_item_init(&f->deferred, client_run_deferred);
    tt__defer_queue(&c->defer, &f->deferred);
}

void tt__client_undefer(struct tether_fetch *f)
{
    enum tt__fetch_queue q = f->queued;
    if (q == TT__FQ_WAIT || q == TT__FQ_WOKEN) {
        tt__list_remove(&f->qlink);
    }
    if (q != TT__FQ_NONE && q != TT__FQ_WAIT) {
        tt__defer_cancel(&f->deferred);
    }
    f->queued = TT__FQ_NONE;
    if (q == TT__FQ_WOKEN) {
        tt__pool_kick(f->origin); /* its turn goes to the next waiter */
    }
}

static void client_defer_closed(struct tt__defer *d)
{
    tt__client_release(d->data);
}

/* ---- events ---- */

void tt__client_emit(struct tether_client *c, const struct tether_event *ev)
{
    if (c->debug) {
        tt__debug_event(c, ev);
    }
    if (c->on_event) {
        c->on_event(c, ev);
    }
}

void tether_client_on_event(tether_client *c, tether_event_cb cb)
{
    if (c) {
        c->on_event = cb;
    }
}

void *tether_client_get_data(const tether_client *c)
{
    return c ? c->data : NULL;
}

void tether_client_set_data(tether_client *c, void *data)
{
    if (c) {
        c->data = data;
    }
}

void tether_client_get_stats(const tether_client *c, struct tether_client_stats *out)
{
    if (!out) {
        return;
    }
    if (!c) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = c->stats;
}

/* ---- creation and closing ---- */

/* Copies the --resolve entries, checking each address is an IP literal. */
static int client_copy_resolve(struct tether_client *c, const struct tether_client_options *o)
{
    if (o->nresolve == 0) {
        return 0;
    }
    if (!o->resolve) {
        tt__errbuf_set(o->errbuf, o->errbuf_len, "nresolve %zu without entries", o->nresolve);
        return TETHER_EINVAL;
    }
    c->resolve = tt__calloc(o->nresolve, sizeof(*c->resolve));
    if (!c->resolve) {
        return TETHER_ENOMEM;
    }
    for (size_t i = 0; i < o->nresolve; i++) {
        const struct tether_resolve *r = &o->resolve[i];
        struct tt__resolve *e = &c->resolve[i];
        unsigned char addr[16];
        if (!r->host || !r->address || !r->host[0] || strlen(r->host) >= sizeof(e->host) ||
            strlen(r->address) >= sizeof(e->address) ||
            (uv_inet_pton(AF_INET, r->address, addr) != 0 &&
             uv_inet_pton(AF_INET6, r->address, addr) != 0)) {
            tt__errbuf_set(o->errbuf, o->errbuf_len,
                           "invalid resolve entry %zu ('%s' -> '%s'): expected a host name and "
                           "an IP address",
                           i, r->host ? r->host : "(null)", r->address ? r->address : "(null)");
            return TETHER_EINVAL;
        }
        for (size_t k = 0; r->host[k]; k++) {
            e->host[k] = ttx_lower(r->host[k]);
        }
        e->port = r->port;
        memcpy(e->address, r->address, strlen(r->address) + 1);
    }
    c->nresolve = o->nresolve;
    return 0;
}

size_t tt__client_resolve_all(const struct tether_client *c, const char *host, uint16_t port,
                              struct tt__addrs *out)
{
    size_t found = 0;
    for (size_t i = 0; i < c->nresolve; i++) {
        if (c->resolve[i].port != port || strcmp(c->resolve[i].host, host) != 0) {
            continue;
        }
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        const char *a = c->resolve[i].address;
        if (uv_ip4_addr(a, port, (struct sockaddr_in *)&ss) == 0 ||
            uv_ip6_addr(a, port, (struct sockaddr_in6 *)&ss) == 0) {
            tt__addrs_add(out, (const struct sockaddr *)&ss);
            found++;
        }
    }
    return found;
}

static bool client_policy_ok(const struct tether_policy *p)
{
    return p->nretry_statuses <= TETHER_POLICY_MAX_STATUSES && p->budget_ratio >= 0.0 &&
           p->budget_min_retries_per_s >= 0.0 && p->jitter <= TETHER_JITTER_NONE;
}

int tether_client_new(uv_loop_t *loop, const struct tether_client_options *o, tether_client **out)
{
    if (!loop || !o || !out) {
        return TETHER_EINVAL;
    }
    *out = NULL;
    if (!client_policy_ok(&o->policy)) {
        tt__errbuf_set(o->errbuf, o->errbuf_len,
                       "invalid policy (nretry_statuses, budget or jitter out of range)");
        return TETHER_EINVAL;
    }
    struct tether_client *c = tt__calloc(1, sizeof(*c));
    if (!c) {
        return TETHER_ENOMEM;
    }
    c->loop = loop;
    c->data = o->data;
    c->policy = o->policy;
    c->insecure = o->insecure;
    tt__list_init(&c->origins);
    tt__list_init(&c->fetches);
    ttx_rng_seed_random(&c->rng);
    c->debug = tt__debug_from_env();
    int rv = 0;
    if (o->ca_file) {
        c->ca_file = tt__strndup(o->ca_file, strlen(o->ca_file));
        rv = c->ca_file ? 0 : TETHER_ENOMEM;
    }
    const char *ua = o->user_agent;
    char ua_buf[64];
    if (!ua) {
        (void)snprintf(ua_buf, sizeof(ua_buf), "tether/%s", tether_version());
        ua = ua_buf;
    }
    if (rv == 0) {
        c->user_agent = tt__strndup(ua, strlen(ua));
        rv = c->user_agent ? 0 : TETHER_ENOMEM;
    }
    if (rv == 0) {
        rv = client_copy_resolve(c, o);
    }
    if (rv == 0) {
        rv = tt__proxy_config(c, o);
    }
    if (rv == 0 && !tt__h1_is_field_value(c->user_agent, strlen(c->user_agent))) {
        tt__errbuf_set(o->errbuf, o->errbuf_len, "invalid user_agent: control bytes");
        rv = TETHER_EINVAL;
    }
    /* A CA file or `insecure` is a promise about HTTPS: check it now, not on the first
     * request. The system store loads lazily, on the first https:// fetch. */
    if (rv == 0 && (o->ca_file || o->insecure)) {
        char detail[256];
        detail[0] = '\0';
        rv = tt__tls_ctx_new_client(c->ca_file, c->insecure, &c->tls, detail, sizeof(detail));
        if (rv != 0 && rv != TETHER_ENOMEM) {
            tt__errbuf_set(o->errbuf, o->errbuf_len, "%s", detail[0] ? detail : "TLS setup failed");
            rv = TETHER_EINVAL;
        }
    }
    if (rv != 0) {
        tt__tls_ctx_free(c->tls);
        tt__free(c->ca_file);
        tt__free(c->user_agent);
        tt__free(c->resolve);
        tt__proxy_free(c->proxy);
        tt__free(c);
        return rv;
    }
    tt__defer_init(loop, &c->defer);
    c->defer.data = c;
    c->live = 1; /* the deferral queue's handles */
    *out = c;
    return 0;
}

static void client_close_async(tether_client *c, tether_client_close_cb cb, void *data)
{
    c->closing = true;
    c->close_cb = cb;
    c->close_data = data;
    c->live++; /* nothing below may finalize the client under our feet */
    while (!tt__list_empty(&c->fetches)) {
        struct tether_fetch *f = tt__container_of(c->fetches.next, struct tether_fetch, link);
        tt__fetch_abort(f, TETHER_ECANCELED);
    }
    /* Waiters are fetches too (already finished above); what remains are idle connections. */
    tt__pool_close_all(c);
    /* The queue runs the cancelled callbacks on the next turn and then closes; the last
     * release frees the client. */
    tt__defer_close(&c->defer, client_defer_closed);
    c->live--; /* the queue is still open: this never finalizes, so `cb` waits for a turn */
}

/* ---- blocking use ---- */

/* The state of one blocking call, on its caller's stack: what a callback inside the run may
 * ask for (a close) is done once the run is over. */
struct tt__client_run {
    uv_loop_t *loop;
    bool fetch_done;
    bool close_asked;
    bool closed;
    tether_client_close_cb close_cb;
    void *close_data;
};

static void client_run_closed(void *data)
{
    ((struct tt__client_run *)data)->closed = true;
}

/* Closes a blocking client and its loop now; `c` is gone afterwards. */
static void client_close_blocking_now(struct tether_client *c, tether_client_close_cb cb,
                                      void *data)
{
    struct tt__client_run run = {.loop = c->own_loop};
    struct tt__sigpipe sp;
    tt__sigpipe_block(&sp);
    client_close_async(c, client_run_closed, &run);
    while (!run.closed) {
        (void)uv_run(run.loop, UV_RUN_ONCE);
    }
    /* Handles of fetch timers and connections are all closed before the client is freed. */
    (void)uv_run(run.loop, UV_RUN_NOWAIT);
    (void)uv_loop_close(run.loop);
    tt__free(run.loop);
    tt__sigpipe_restore(&sp);
    if (cb) {
        cb(data);
    }
}

void tether_client_close(tether_client *c, tether_client_close_cb cb, void *data)
{
    if (!c || c->closing) {
        return;
    }
    if (!c->own_loop) {
        client_close_async(c, cb, data);
    } else if (c->run) {
        /* From a callback inside tether_client_fetch_blocking: its loop is running, so the
         * close starts now and that call completes it once its run is over. */
        struct tt__client_run *run = c->run;
        run->close_asked = true;
        run->close_cb = cb;
        run->close_data = data;
        client_close_async(c, client_run_closed, run);
    } else {
        client_close_blocking_now(c, cb, data);
    }
}

int tether_client_new_blocking(const struct tether_client_options *o, tether_client **out)
{
    if (!o || !out) {
        return TETHER_EINVAL;
    }
    uv_loop_t *loop = tt__malloc(sizeof(*loop));
    if (!loop) {
        return TETHER_ENOMEM;
    }
    int r = uv_loop_init(loop);
    if (r != 0) {
        tt__free(loop);
        tt__errbuf_set(o->errbuf, o->errbuf_len, "uv_loop_init: %s", uv_strerror(r));
        return tt__err_from_uv(r);
    }
    int rv = tether_client_new(loop, o, out);
    if (rv != 0) {
        (void)uv_loop_close(loop);
        tt__free(loop);
        return rv;
    }
    (*out)->own_loop = loop;
    return 0;
}

static void client_blocking_done(tether_fetch *f, int status)
{
    (void)status;
    *f->blocking_done = true;
    f->blocking_done = NULL;
}

int tether_client_fetch_blocking(tether_client *c, const struct tether_fetch_options *o,
                                 tether_fetch **out)
{
    if (out) {
        *out = NULL;
    }
    if (!c || !o || !out) {
        return TETHER_EINVAL;
    }
    if (!c->own_loop) {
        tt__errbuf_set(
            o->errbuf, o->errbuf_len,
            "tether_client_fetch_blocking needs a client from tether_client_new_blocking");
        return TETHER_EINVAL;
    }
    if (c->run) {
        tt__errbuf_set(o->errbuf, o->errbuf_len,
                       "tether_client_fetch_blocking called from inside its own callback");
        return TETHER_EBUSY;
    }
    struct tt__client_run run = {.loop = c->own_loop};
    tether_fetch *f = NULL;
    c->run = &run;
    int rv = tt__fetch_start(c, o, client_blocking_done, &f);
    if (rv != 0) {
        c->run = NULL;
        return rv;
    }
    struct tt__sigpipe sp;
    tt__sigpipe_block(&sp);
    f->blocking_done = &run.fetch_done;
    while (!run.fetch_done) {
        (void)uv_run(run.loop, UV_RUN_ONCE);
    }
    if (run.close_asked) {
        /* A callback closed the client: finish that now; `c` is gone afterwards. */
        while (!run.closed) {
            (void)uv_run(run.loop, UV_RUN_ONCE);
        }
        (void)uv_run(run.loop, UV_RUN_NOWAIT);
        (void)uv_loop_close(run.loop);
        tt__free(run.loop);
    } else {
        c->run = NULL;
    }
    tt__sigpipe_restore(&sp);
    if (run.close_asked && run.close_cb) {
        run.close_cb(run.close_data);
    }
    *out = f;
    return 0;
}

void tether_client_close_blocking(tether_client *c)
{
    tether_client_close(c, NULL, NULL);
}
