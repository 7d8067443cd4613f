/* SPDX-License-Identifier: MIT */
/* `tether serve --workers N`: N threads, each running its own libuv loop and its own
 * tether_server on the same port (SO_REUSEPORT: the kernel hashes each new connection to one
 * listening socket, so no thread wakes for a connection another one takes). The main thread
 * creates every server before any thread starts (a start error is printed once, and the port
 * that port 0 picked is known for the listening line), then only waits for signals: the first
 * one asks every worker to drain, and the main thread joins them all.
 *
 * The library keeps no global state and a server belongs to one loop, so threads live here,
 * in the command. What the workers share is either read-only after start (--root, the body
 * pattern, the --exec-log descriptor), behind a lock (--stats-path counters, --rate-limit's
 * bucket), or passed between threads through this file's inboxes under `mu`: a stats request
 * asks every other worker for its server counters and is answered once the last one replied,
 * so the document is the sum over workers without any thread reading another's server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tether/tether.h"
#include "tether/server.h"

#include "cli.h"
#include "cli_loop.h"
#include "serve.h"

struct serve_gather;
struct serve_worker;

/* A worker's part in one stats request, queued in that worker's inbox. */
struct serve_ticket {
    struct serve_gather *gather;
    struct serve_ticket *next;
};

/* One stats request on its origin worker, waiting for the counters of the others. */
struct serve_gather {
    struct serve_worker *origin;
    tether_request *req;                /* used on the origin's thread only */
    unsigned pending;                   /* under mu: workers yet to answer */
    struct serve_gather *next;          /* under mu: in origin->done once complete */
    struct serve_ticket *tickets;       /* one per worker (the origin's unused) */
    struct tether_server_stats stats[]; /* one per worker */
};

struct serve_worker {
    struct serve_workers *hub;
    unsigned index;
    uv_loop_t loop;
    bool loop_open;
    uv_async_t wake; /* stop requests, stats tickets and completed gathers */
    bool wake_open;
    uv_thread_t thread;
    bool thread_started;
    struct serve_ctx ctx;

    /* Under hub->mu. */
    bool stop; /* SIGINT/SIGTERM: drain and close */
    bool gone; /* `wake` is closed: whoever needs this worker's counters reads `final` */
    struct tether_server_stats final; /* written by this worker only, once drained */
    struct serve_ticket *inbox;
    struct serve_gather *done;

    /* This worker's thread only. */
    bool shutting_down;
    bool closed;
    unsigned outstanding; /* gathers started here and not yet answered */
};

struct serve_workers {
    uv_mutex_t mu;
    unsigned n;
    unsigned finished;   /* under mu: threads whose loop has ended */
    uv_async_t all_done; /* on the main loop: the last thread to finish wakes it */
    struct serve_worker w[];
};

/* ---- stats across workers ---- */

/* Records worker `index`'s counters in `g`; the last one hands `g` back to its origin. The
 * caller holds hub->mu. The origin's `wake` is open: a worker with gathers outstanding never
 * closes it. */
static void gather_answer(struct serve_gather *g, unsigned index,
                          const struct tether_server_stats *stats)
{
    g->stats[index] = *stats;
    if (--g->pending == 0) {
        g->next = g->origin->done;
        g->origin->done = g;
        (void)uv_async_send(&g->origin->wake);
    }
}

static void gather_free(struct serve_gather *g)
{
    free(g->tickets);
    free(g);
}

static void worker_maybe_finish(struct serve_worker *w);

/* On the origin's thread: every worker answered, so the request gets the document. */
static void gather_respond(struct serve_worker *w, struct serve_gather *g)
{
    serve_stats_respond(w->ctx.stats, g->req, g->stats, w->hub->n, w->index);
    gather_free(g);
    w->outstanding--;
    worker_maybe_finish(w);
}

void serve_workers_stats(struct serve_ctx *ctx, tether_request *req)
{
    struct serve_workers *hub = ctx->workers;
    struct serve_worker *self = &hub->w[ctx->worker_index];
    struct serve_gather *g = calloc(1, sizeof(*g) + hub->n * sizeof(g->stats[0]));
    struct serve_ticket *tickets = calloc(hub->n, sizeof(*tickets));
    if (!g || !tickets) {
        free(g);
        free(tickets);
        static const char msg[] = "out of memory\n";
        (void)tether_response_send(req, 503, "text/plain", msg, sizeof(msg) - 1);
        return;
    }
    g->origin = self;
    g->req = req;
    g->tickets = tickets;
    tether_server_get_stats(ctx->srv, &g->stats[self->index]);
    self->outstanding++;
    uv_mutex_lock(&hub->mu);
    for (unsigned j = 0; j < hub->n; j++) {
        struct serve_worker *other = &hub->w[j];
        if (j == self->index) {
            continue;
        }
        if (other->gone) {
            g->stats[j] = other->final;
            continue;
        }
        g->pending++;
        tickets[j].gather = g;
        tickets[j].next = other->inbox;
        other->inbox = &tickets[j];
        (void)uv_async_send(&other->wake);
    }
    bool ready = g->pending == 0;
    uv_mutex_unlock(&hub->mu);
    if (ready) {
        gather_respond(self, g);
    }
}

/* ---- a worker's life ---- */

static void worker_on_closed(void *data)
{
    struct serve_worker *w = data;
    w->ctx.srv = NULL;
    /* Every connection is gone, so what is left is detached: aborting only frees memory. */
    while (w->ctx.live) {
        serve_exchange_abort(w->ctx.live);
    }
    w->closed = true;
    worker_maybe_finish(w);
}

static void worker_on_shutdown(tether_server *srv)
{
    struct serve_ctx *ctx = tether_server_get_data(srv);
    struct serve_worker *w = &ctx->workers->w[ctx->worker_index];
    /* Every connection is gone: these counters are final. */
    struct tether_server_stats final;
    tether_server_get_stats(srv, &final);
    uv_mutex_lock(&w->hub->mu);
    w->final = final;
    uv_mutex_unlock(&w->hub->mu);
    tether_server_close(srv, worker_on_closed, w);
}

/* Once the server is closed and no stats request of this worker waits for the others, the
 * wake handle goes and the loop runs out. Tickets still queued are answered from `final`. */
static void worker_maybe_finish(struct serve_worker *w)
{
    if (!w->closed || w->outstanding || !w->wake_open) {
        return;
    }
    uv_mutex_lock(&w->hub->mu);
    w->gone = true;
    for (struct serve_ticket *t = w->inbox, *next; t; t = next) {
        next = t->next;
        gather_answer(t->gather, w->index, &w->final);
    }
    w->inbox = NULL;
    uv_mutex_unlock(&w->hub->mu);
    w->wake_open = false;
    uv_close((uv_handle_t *)&w->wake, NULL);
}

static void worker_on_wake(uv_async_t *a)
{
    struct serve_worker *w = a->data;
    struct {
        struct serve_ticket *inbox;
        struct serve_gather *done;
        bool stop;
    } take;
    uv_mutex_lock(&w->hub->mu);
    take.inbox = w->inbox;
    take.done = w->done;
    take.stop = w->stop;
    w->inbox = NULL;
    w->done = NULL;
    uv_mutex_unlock(&w->hub->mu);

    if (take.inbox) {
        struct tether_server_stats mine;
        if (w->ctx.srv) {
            tether_server_get_stats(w->ctx.srv, &mine);
        } else {
            mine = w->final; /* written by this thread */
        }
        uv_mutex_lock(&w->hub->mu);
        for (struct serve_ticket *t = take.inbox, *next; t; t = next) {
            next = t->next;
            gather_answer(t->gather, w->index, &mine);
        }
        uv_mutex_unlock(&w->hub->mu);
    }
    for (struct serve_gather *g = take.done, *next; g; g = next) {
        next = g->next;
        gather_respond(w, g);
    }
    if (take.stop && !w->shutting_down) {
        /* Stop accepting, close idle connections with FIN, let in-flight requests finish
         * with Connection: close; worker_on_shutdown runs when the last one is gone. */
        w->shutting_down = true;
        tether_server_shutdown(w->ctx.srv, worker_on_shutdown);
    }
}

static void worker_main(void *arg)
{
    struct serve_worker *w = arg;
    (void)uv_run(&w->loop, UV_RUN_DEFAULT);
    struct serve_workers *hub = w->hub;
    uv_mutex_lock(&hub->mu);
    if (++hub->finished == hub->n) {
        (void)uv_async_send(&hub->all_done);
    }
    uv_mutex_unlock(&hub->mu);
}

/* ---- the main thread ---- */

/* The first SIGINT/SIGTERM: every worker drains. */
static void workers_stop_all(void *data)
{
    struct serve_workers *hub = data;
    uv_mutex_lock(&hub->mu);
    for (unsigned i = 0; i < hub->n; i++) {
        hub->w[i].stop = true;
        if (!hub->w[i].gone) {
            (void)uv_async_send(&hub->w[i].wake);
        }
    }
    uv_mutex_unlock(&hub->mu);
}

static void workers_on_all_done(uv_async_t *a)
{
    uv_close((uv_handle_t *)a, NULL);
}

/* Creates worker i's loop, wake handle and server on `port` (that of worker 0 once known).
 * Returns 0 or the exit code, with the reason printed. */
static int worker_open(struct serve_worker *w, const struct serve_ctx *base,
                       const struct tether_server_options *o, uint16_t port)
{
    struct serve_workers *hub = w->hub;
    int rv = uv_loop_init(&w->loop);
    if (rv == 0) {
        w->loop_open = true;
        rv = uv_async_init(&w->loop, &w->wake, worker_on_wake);
    }
    if (rv != 0) {
        fprintf(stderr, "tether serve: cannot start worker %u: %s\n", w->index, uv_strerror(rv));
        return CLI_EXIT_FAILED;
    }
    w->wake_open = true;
    w->wake.data = w;
    w->ctx = *base;
    w->ctx.loop = &w->loop;
    w->ctx.srv = NULL;
    w->ctx.live = NULL;
    w->ctx.workers = hub;
    w->ctx.worker_index = w->index;

    struct tether_server_options wo = *o;
    char why[512];
    why[0] = '\0';
    wo.port = port;
    wo.reuse_port = true;
    wo.data = &w->ctx;
    wo.errbuf = why;
    wo.errbuf_len = sizeof(why);
    /* --max-connections is for the process: split so the workers' limits add up to it. */
    if (o->max_connections) {
        wo.max_connections = o->max_connections / hub->n + (w->index < o->max_connections % hub->n);
    }
    rv = tether_server_new(&w->loop, &wo, &w->ctx.srv);
    return rv == 0 ? 0 : cli_start_failed("serve", rv, why);
}

/* Releases every worker's loop; threads, if any ran, are joined already. */
static void workers_free(struct serve_workers *hub)
{
    for (unsigned i = 0; i < hub->n; i++) {
        struct serve_worker *w = &hub->w[i];
        if (!w->loop_open) {
            continue;
        }
        if (w->ctx.srv) {
            /* A start that failed later: nothing was accepted yet, close at once. */
            tether_server_close(w->ctx.srv, NULL, NULL);
            w->ctx.srv = NULL;
        }
        if (w->wake_open) {
            uv_close((uv_handle_t *)&w->wake, NULL);
            w->wake_open = false;
        }
        (void)uv_run(&w->loop, UV_RUN_DEFAULT);
        (void)cli_loop_close(&w->loop);
    }
    uv_mutex_destroy(&hub->mu);
    free(hub);
}

int serve_workers_run(const struct serve_ctx *base, const struct tether_server_options *o,
                      unsigned n, void (*announce)(const void *arg, uint16_t port), const void *arg)
{
    struct serve_workers *hub = calloc(1, sizeof(*hub) + n * sizeof(hub->w[0]));
    if (!hub || uv_mutex_init(&hub->mu) != 0) {
        free(hub);
        fputs("tether serve: out of memory\n", stderr);
        return CLI_EXIT_FAILED;
    }
    hub->n = n;
    uint16_t port = o->port;
    for (unsigned i = 0; i < n; i++) {
        hub->w[i].hub = hub;
        hub->w[i].index = i;
        int rc = worker_open(&hub->w[i], base, o, port);
        if (rc != 0) {
            workers_free(hub);
            return rc;
        }
        port = tether_server_port(hub->w[i].ctx.srv); /* port 0 picked one: the others join it */
    }
    uv_loop_t *main_loop = uv_default_loop();
    int rv = uv_async_init(main_loop, &hub->all_done, workers_on_all_done);
    for (unsigned i = 0; rv == 0 && i < n; i++) {
        rv = uv_thread_create(&hub->w[i].thread, worker_main, &hub->w[i]);
        hub->w[i].thread_started = rv == 0;
    }
    if (rv != 0) {
        fprintf(stderr, "tether serve: cannot start the workers: %s\n", uv_strerror(rv));
        /* Those already running drain (nothing was announced, so nothing is in flight); the
         * rest never ran and are closed by workers_free. */
        workers_stop_all(hub);
    } else {
        announce(arg, port);
        const struct cli_stop stop = {"serve", "exiting without waiting", workers_stop_all, hub};
        cli_loop_run(main_loop, &stop);
    }
    for (unsigned i = 0; i < n; i++) {
        if (hub->w[i].thread_started) {
            (void)uv_thread_join(&hub->w[i].thread);
        }
    }
    (void)cli_loop_close(main_loop);
    workers_free(hub);
    return rv == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}
