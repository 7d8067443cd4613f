/* SPDX-License-Identifier: MIT */
/* `tether demo`: runs one scenario - its servers, proxy and both clients on one fresh loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_loop.h"
#include "demo.h"

uint64_t demo_rand_range(struct demo_scen *sc, uint64_t lo, uint64_t hi)
{
    return wl_rand_range(&sc->rng, lo, hi);
}

uint64_t demo_elapsed_ms(const struct demo_scen *sc)
{
    return uv_now(sc->loop) - sc->start_ms;
}

void demo_result_free(struct demo_result *r)
{
    wl_errors_cleanup(&r->errs);
    wl_latency_cleanup(&r->lat);
}

struct demo_exec *demo_lane_exec(struct demo_lane *l, uint64_t seq)
{
    if (seq >= l->nexec) {
        size_t n = l->nexec ? l->nexec : 256;
        while (n <= seq) {
            n *= 2;
        }
        struct demo_exec *e = realloc(l->exec, n * sizeof(*e));
        if (!e) {
            return NULL;
        }
        memset(e + l->nexec, 0, (n - l->nexec) * sizeof(*e));
        l->exec = e;
        l->nexec = n;
    }
    return &l->exec[seq];
}

int demo_proxy_call(struct demo_scen *sc, const char *method, const char *path, const char *body)
{
    int status = 0;
    char *resp = NULL;
    size_t resp_len = 0;
    int rv = tether_proxy_server_call(sc->ps, method, path, body, body ? strlen(body) : 0, &status,
                                      &resp, &resp_len);
    if (rv != 0 || status < 200 || status > 299) {
        if (rv != 0) {
            (void)snprintf(sc->error, sizeof(sc->error), "proxy API %s %s failed: %s", method, path,
                           tether_strerror(rv));
        } else {
            (void)snprintf(sc->error, sizeof(sc->error), "proxy API %s %s answered %d: %.*s",
                           method, path, status, (int)(resp_len > 160 ? 160 : resp_len),
                           resp ? resp : "");
        }
        tether_free(resp);
        return -1;
    }
    tether_free(resp);
    return 0;
}

/* ---- recording ---- */

static void demo_finish_result(struct demo_lane *l)
{
    struct demo_result *r = l->res;
    r->p99_ms = wl_latency_percentile(&r->lat, 99);
    for (size_t i = 0; i < l->nexec; i++) {
        const struct demo_exec *e = &l->exec[i];
        if (!e->keyed && e->count > 1) {
            r->duplicates += e->count - 1u;
        }
        if (!e->keyed && e->client_failed && e->count > 0) {
            r->ran_but_failed++;
        }
    }
}

/* Whether the request succeeded from its user's point of view; `msg` says why not. */
static bool demo_outcome(struct demo_scen *sc, struct demo_worker *w, tether_fetch *f, char *msg,
                         size_t len)
{
    const struct tether_failure *fl = tether_fetch_failure(f);
    if (fl && fl->code != 0) {
        if (fl->code == TETHER_ECANCELED && sc->hung) {
            (void)snprintf(msg, len, "still running %u s after the scenario ended (cancelled)",
                           DEMO_DRAIN_MS / 1000u);
            return false;
        }
        int n = tether_failure_message(fl, msg, len);
        if (n <= 0 || !msg[0]) {
            (void)snprintf(msg, len, "%s", tether_strerror(fl->code));
        }
        return false;
    }
    int st = tether_fetch_status(f);
    if (st < 200 || st > 399) {
        (void)snprintf(msg, len, "HTTP %d%s", st, st == 503 ? " Service Unavailable" : "");
        return false;
    }
    return !sc->def->check || sc->def->check(w, f, msg, len);
}

/* ---- workers (the engine's hooks; wl->data is the lane) ---- */

static void demo_maybe_teardown(struct demo_scen *sc);

static struct demo_worker *demo_worker_of(struct wl_worker *w)
{
    return w->data;
}

static bool demo_accepting(struct wl_worker *w)
{
    const struct demo_scen *sc = demo_worker_of(w)->lane->sc;
    return !sc->stopping && demo_elapsed_ms(sc) < sc->duration_ms;
}

static uint64_t demo_gap(struct wl_worker *w)
{
    struct demo_worker *dw = demo_worker_of(w);
    return dw->lane->sc->def->gap_ms(dw->lane->sc, dw);
}

static void demo_record(struct demo_worker *w, bool ok, const char *msg, double ms,
                        unsigned replays, unsigned retries)
{
    struct demo_lane *l = w->lane;
    struct demo_result *r = l->res;
    r->requests++;
    r->replays += replays;
    r->retries += retries;
    if (ms >= 0) {
        wl_latency_add(&r->lat, ms);
    }
    if (!ok) {
        r->failed++;
        wl_errors_add(&r->errs, msg, 1);
    }
    if (l->sc->def->posts) {
        if (w->keyed) {
            r->keyed++;
            r->keyed_failed += ok ? 0u : 1u;
        } else {
            r->unkeyed++;
            r->unkeyed_failed += ok ? 0u : 1u;
        }
    }
    struct demo_exec *e = demo_lane_exec(l, w->seq);
    if (e) {
        e->keyed = w->keyed;
        e->client_failed = !ok;
    }
}

static void demo_request(struct wl_worker *ww, struct tether_fetch_options *fo)
{
    struct demo_worker *w = demo_worker_of(ww);
    struct demo_lane *l = w->lane;
    struct demo_scen *sc = l->sc;
    w->seq = l->next_seq++;
    w->keyed = false;
    (void)snprintf(w->reqid, sizeof(w->reqid), "%llu", (unsigned long long)w->seq);
    const char *path = sc->def->request(sc, w, fo);
    (void)snprintf(w->url, sizeof(w->url), "%s%s", l->urls[w->idx % l->norigins], path);
    fo->url = w->url;
    /* Only tether gets a deadline: the naive client is what users have without one (a hung
     * naive request is cut by the drain timer and reported). */
    fo->deadline_ms = l->kind == DEMO_TETHER && !l->sc->def->via_egress ? DEMO_DEADLINE_MS : 0;
}

static uint64_t demo_refused(struct wl_worker *w, int rv)
{
    char msg[128];
    (void)snprintf(msg, sizeof(msg), "request not started: %s", tether_strerror(rv));
    demo_record(demo_worker_of(w), false, msg, -1, 0, 0);
    return 10; /* and again, on the worker's own timer */
}

static void demo_done(struct wl_worker *ww, tether_fetch *f, double latency_ms)
{
    struct demo_worker *w = demo_worker_of(ww);
    char msg[128];
    bool ok = demo_outcome(w->lane->sc, w, f, msg, sizeof(msg));
    demo_record(w, ok, msg, latency_ms, tether_fetch_replays(f), tether_fetch_retries(f));
}

static void demo_lane_finished(struct workload *wl)
{
    struct demo_lane *l = wl->data;
    demo_maybe_teardown(l->sc);
}

static const struct wl_ops demo_ops = {
    .more = demo_accepting,
    .open = demo_accepting,
    .gap_ms = demo_gap,
    .request = demo_request,
    .refused = demo_refused,
    .done = demo_done,
    .finished = demo_lane_finished,
};

/* ---- timers and teardown ---- */

static void demo_on_closed(void *data)
{
    struct demo_scen *sc = data;
    sc->pending_closes--;
}

static void demo_on_server_closed(void *data)
{
    struct demo_lane *l = data;
    l->sc->pending_closes--;
}

static void demo_progress_print(struct demo_scen *sc, bool final)
{
    if (!sc->opts->progress) {
        return;
    }
    const struct demo_result *n = sc->lanes[DEMO_NAIVE].res;
    const struct demo_result *t = sc->lanes[DEMO_TETHER].res;
    double el = (double)demo_elapsed_ms(sc) / 1000.0;
    double total = (double)sc->duration_ms / 1000.0;
    char when[48];
    if (final) {
        (void)snprintf(when, sizeof(when), "done in %.1f s", el);
    } else {
        (void)snprintf(when, sizeof(when), "%.1f of %.1f s", el < total ? el : total, total);
    }
    printf("\r[%u/%u] %-19s %-15s naive %4llu requests %4llu failed   tether %4llu requests "
           "%4llu failed%s",
           sc->pos, sc->total, sc->def->name, when, (unsigned long long)n->requests,
           (unsigned long long)n->failed, (unsigned long long)t->requests,
           (unsigned long long)t->failed, final ? "\n" : "");
    (void)fflush(stdout);
}

static void demo_progress_tick(uv_timer_t *t)
{
    demo_progress_print(t->data, false);
}

static void demo_close_timer(uv_timer_t *t)
{
    if (t->data && !uv_is_closing((uv_handle_t *)t)) {
        uv_close((uv_handle_t *)t, NULL);
    }
}

/* Counts the retries that slept because the server said when to come back (Retry-After or
 * X-RateLimit-Reset): the fetch's pushback is set from the response that caused the retry. */
static void demo_on_event(tether_client *c, const struct tether_event *ev)
{
    struct demo_lane *l = tether_client_get_data(c);
    if (ev->type == TETHER_EVENT_RETRY_SCHEDULED && ev->fetch &&
        tether_fetch_retry_after_ms(ev->fetch) > 0) {
        l->res->retry_after_waits++;
    }
}

/* Copies what the client did instead of failing into the lane's result, before it closes. */
static void demo_collect_client(struct demo_lane *l)
{
    struct tether_client_stats cs;
    tether_client_get_stats(l->client, &cs);
    l->res->stale_evicted = cs.stale_evictions;
    l->res->retired_idle = cs.retired_idle;
    /* Through egress, what tether did happened in egress's client. */
    tether_client *clients[1 + DEMO_MAX_WORKERS] = {l->client};
    size_t nclients = 1;
    for (unsigned k = 0; k < DEMO_MAX_WORKERS; k++) {
        if (l->egresses[k]) {
            clients[nclients++] = tether_egress_client(l->egresses[k]);
            tether_client_get_stats(clients[nclients - 1], &cs);
            l->res->stale_evicted += cs.stale_evictions;
            l->res->retired_idle += cs.retired_idle;
            l->res->replays += cs.replays;
            l->res->retries += cs.retries;
        }
    }
    struct tether_origin_stats os;
    for (size_t c = 0; c < nclients; c++) {
        for (size_t i = 0; tether_client_origin_stats(clients[c], i, &os); i++) {
            uint64_t ms = os.learned_idle_close_ms;
            if (ms && (!l->res->learned_close_ms || ms < l->res->learned_close_ms)) {
                l->res->learned_close_ms = ms;
            }
        }
    }
}

static void demo_teardown(struct demo_scen *sc)
{
    if (sc->torn_down) {
        return;
    }
    sc->torn_down = true;
    if (sc->lanes[0].res->ran) {
        demo_progress_print(sc, true);
    }
    demo_close_timer(&sc->stop_timer);
    demo_close_timer(&sc->event_timer);
    demo_close_timer(&sc->progress_timer);
    demo_close_timer(&sc->drain_timer);
    for (int i = 0; i < DEMO_NLANES; i++) {
        struct demo_lane *l = &sc->lanes[i];
        if (l->wl_ready) {
            wl_close(&l->wl);
        }
        if (l->client) {
            demo_collect_client(l);
            sc->pending_closes++;
            tether_client_close(l->client, demo_on_closed, sc);
            l->client = NULL;
        }
    }
    if (sc->ps) {
        sc->pending_closes++;
        tether_proxy_server_close(sc->ps, demo_on_closed, sc);
        sc->ps = NULL;
    }
    for (int i = 0; i < DEMO_NLANES; i++) {
        struct demo_lane *l = &sc->lanes[i];
        for (unsigned k = 0; k < DEMO_MAX_WORKERS; k++) {
            if (l->egresses[k]) {
                sc->pending_closes++;
                tether_egress_close(l->egresses[k], demo_on_closed, sc);
                l->egresses[k] = NULL;
            }
        }
    }
    for (int i = 0; i < DEMO_NLANES; i++) {
        struct demo_lane *l = &sc->lanes[i];
        for (unsigned k = 0; k < DEMO_MAX_WORKERS; k++) {
            if (l->servers[k]) {
                sc->pending_closes++;
                tether_server_close(l->servers[k], demo_on_server_closed, l);
                l->servers[k] = NULL;
            }
        }
    }
}

static void demo_maybe_teardown(struct demo_scen *sc)
{
    if (!sc->stopping || sc->torn_down) {
        return;
    }
    for (int i = 0; i < DEMO_NLANES; i++) {
        if (sc->lanes[i].wl_ready && !sc->lanes[i].wl.finished) {
            return; /* a request still in flight */
        }
    }
    demo_teardown(sc);
}

/* A request whose cancel never called back: a library bug. Count it and move on. */
static void demo_write_off(struct wl_worker *ww)
{
    struct demo_worker *w = demo_worker_of(ww);
    fprintf(stderr, "tether demo: %s: a %s request did not finish after tether_fetch_cancel\n",
            w->lane->sc->def->name, w->lane->name);
    demo_record(w, false, "hung (cancel did not complete)", -1, 0, 0);
}

static void demo_drain_expired(uv_timer_t *t)
{
    struct demo_scen *sc = t->data;
    if (sc->drain_stage++ == 0) {
        /* A request still running this long after the end is hung; cancelling it records it
         * as failed with that reason, so the table shows it rather than the demo waiting
         * forever. */
        sc->hung = true;
        uv_timer_start(&sc->drain_timer, demo_drain_expired, 2000, 0);
        for (int i = 0; i < DEMO_NLANES; i++) {
            wl_stop(&sc->lanes[i].wl, true);
        }
        return;
    }
    for (int i = 0; i < DEMO_NLANES; i++) {
        wl_abandon(&sc->lanes[i].wl, demo_write_off);
    }
    demo_teardown(sc);
}

static void demo_stop(uv_timer_t *t)
{
    struct demo_scen *sc = t->data;
    sc->stopping = true;
    uv_timer_stop(&sc->event_timer);
    uv_timer_start(&sc->drain_timer, demo_drain_expired, DEMO_DRAIN_MS, 0);
    /* Waiting workers finish now; the last one of both lanes tears the scenario down. */
    for (int i = 0; i < DEMO_NLANES && !sc->torn_down; i++) {
        wl_stop(&sc->lanes[i].wl, false);
    }
    demo_maybe_teardown(sc);
}

static void demo_event_fire(uv_timer_t *t)
{
    struct demo_scen *sc = t->data;
    if (sc->stopping) {
        return;
    }
    uint64_t next = sc->def->event(sc);
    sc->event_step++;
    if (next > 0) {
        uv_timer_start(&sc->event_timer, demo_event_fire, next, 0);
    }
}

static void demo_init_timer(struct demo_scen *sc, uv_timer_t *t, void *data)
{
    uv_timer_init(sc->loop, t);
    t->data = data;
}

/* ---- setup ---- */

static void demo_on_request(tether_server *srv, tether_request *req)
{
    struct demo_lane *l = tether_server_get_data(srv);
    l->sc->def->handle(l, req);
}

/* One origin of a lane: its server, and the proxy in front when the scenario has one. */
static int demo_setup_origin(struct demo_scen *sc, struct demo_lane *l, unsigned k)
{
    struct tether_server_options so;
    tether_server_options_init(&so);
    so.host = "127.0.0.1";
    so.port = 0;
    so.on_request = demo_on_request;
    so.data = l;
    if (sc->def->server_options) {
        sc->def->server_options(sc, &so);
    }
    int rv = tether_server_new(sc->loop, &so, &l->servers[k]);
    if (rv != 0) {
        l->servers[k] = NULL;
        (void)snprintf(sc->error, sizeof(sc->error), "cannot start the %s lane's server: %s",
                       l->name, tether_strerror(rv));
        return -1;
    }
    unsigned port = tether_server_port(l->servers[k]);
    if (sc->def->via_proxy) {
        char body[256];
        (void)snprintf(l->proxy_names[k], sizeof(l->proxy_names[k]), "%s-%s-%u", sc->def->name,
                       l->name, k);
        (void)snprintf(body, sizeof(body),
                       "{\"name\":\"%s\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\","
                       "\"enabled\":true}",
                       l->proxy_names[k], port);
        if (demo_proxy_call(sc, "POST", "/proxies", body) != 0) {
            return -1;
        }
        uint16_t pport = 0;
        if (tether_proxy_server_proxy_port(sc->ps, l->proxy_names[k], &pport) != 0 || pport == 0) {
            (void)snprintf(sc->error, sizeof(sc->error), "proxy %s reports no listening port",
                           l->proxy_names[k]);
            return -1;
        }
        port = pport;
        if (sc->def->toxics && sc->def->toxics(sc, l->proxy_names[k]) != 0) {
            return -1;
        }
    }
    if (sc->def->via_egress && l->kind == DEMO_TETHER) {
        /* The app's side of egress: the same naive client, pointed at egress instead. */
        char upstream[64];
        (void)snprintf(upstream, sizeof(upstream), "http://127.0.0.1:%u", port);
        struct tether_egress_options eo;
        tether_egress_options_init(&eo);
        eo.server.host = "127.0.0.1";
        eo.client.policy.deadline_ms = DEMO_DEADLINE_MS;
        eo.upstream = upstream;
        rv = tether_egress_new(sc->loop, &eo, &l->egresses[k]);
        if (rv != 0) {
            l->egresses[k] = NULL;
            (void)snprintf(sc->error, sizeof(sc->error), "cannot start egress: %s",
                           tether_strerror(rv));
            return -1;
        }
        port = tether_egress_port(l->egresses[k]);
    }
    (void)snprintf(l->urls[k], sizeof(l->urls[k]), "http://127.0.0.1:%u", port);
    return 0;
}

static int demo_setup_lane(struct demo_scen *sc, struct demo_lane *l)
{
    l->norigins = sc->def->origin_per_worker ? sc->def->workers : 1;
    for (unsigned k = 0; k < l->norigins; k++) {
        if (demo_setup_origin(sc, l, k) != 0) {
            return -1;
        }
    }

    struct tether_client_options co;
    tether_client_options_init(&co);
    if (l->kind == DEMO_NAIVE || sc->def->via_egress) {
        tether_policy_naive(&co.policy);
    } else {
        tether_policy_defaults(&co.policy);
    }
    if (l->kind == DEMO_TETHER && !sc->def->via_egress) {
        co.policy.deadline_ms = DEMO_DEADLINE_MS;
        /* The circuit breaker on, tripping by ratio only (half of at least 100 calls in 30 s):
         * the streak rule is for clients too quiet to fill a window, and here it would turn
         * the 1 s server restart, which retries inside the deadline absorb, into 5 s of
         * refusals. A scenario's faults hit a minority of calls; an origin that really went
         * down would still trip it. */
        co.policy.breaker = TETHER_BREAKER_ON;
        co.policy.breaker_consecutive_failures = 0;
        if (sc->def->waits_for_server) {
            co.policy.connrefused_wait_ms = TETHER_WAIT_UNTIL_DEADLINE;
        }
    }
    co.user_agent = l->kind == DEMO_NAIVE ? "tether-demo (naive)" : "tether-demo";
    int rv = tether_client_new(sc->loop, &co, &l->client);
    if (rv != 0) {
        l->client = NULL;
        (void)snprintf(sc->error, sizeof(sc->error), "cannot create the %s client: %s", l->name,
                       tether_strerror(rv));
        return -1;
    }
    tether_client_set_data(l->client, l);
    tether_client_on_event(l->client, demo_on_event);
    l->wl.client = l->client;
    return 0;
}

int demo_run_scenario(const struct demo_scenario *def, const struct demo_opts *opts, unsigned pos,
                      unsigned total, struct demo_result res[DEMO_NLANES], char *err, size_t errlen)
{
    static const char *const names[DEMO_NLANES] = {"naive", "tether"};
    if (def->database) {
        return demo_db_run(opts, res, err, errlen);
    }
    struct demo_scen *sc = calloc(1, sizeof(*sc));
    uv_loop_t *loop = malloc(sizeof(*loop));
    if (!sc || !loop || uv_loop_init(loop) != 0) {
        free(sc);
        free(loop);
        (void)snprintf(err, errlen, "out of memory");
        return -1;
    }
    sc->def = def;
    sc->opts = opts;
    sc->loop = loop;
    sc->pos = pos;
    sc->total = total;
    uint64_t scen_seed =
        opts->seed ^ (0x5851f42d4c957f2dull * (uint64_t)(def - demo_scenarios + 1));
    ttx_rng_seed(&sc->rng, scen_seed);
    def->plan(sc);
    int rc = 0;
    for (int i = 0; i < DEMO_NLANES; i++) {
        struct demo_lane *l = &sc->lanes[i];
        memset(&res[i], 0, sizeof(res[i]));
        wl_errors_init(&res[i].errs, DEMO_MAX_ERRS);
        /* The reservoir draws only past WL_MAX_SAMPLES requests; apart from sc->rng anyway. */
        wl_latency_init(&res[i].lat, ~scen_seed + (uint64_t)i);
        def->describe(sc, res[i].what, sizeof(res[i].what));
        l->sc = sc;
        l->kind = (enum demo_lane_kind)i;
        l->name = names[i];
        l->res = &res[i];
        if (wl_init(&l->wl, loop, def->workers, &demo_ops, l) != 0) {
            (void)snprintf(sc->error, sizeof(sc->error), "out of memory");
            rc = -1;
            continue;
        }
        l->wl_ready = true;
        for (unsigned k = 0; k < def->workers; k++) {
            l->workers[k].lane = l;
            l->workers[k].idx = k;
            l->wl.workers[k].data = &l->workers[k];
        }
    }
    demo_init_timer(sc, &sc->stop_timer, sc);
    demo_init_timer(sc, &sc->event_timer, sc);
    demo_init_timer(sc, &sc->progress_timer, sc);
    demo_init_timer(sc, &sc->drain_timer, sc);

    if (rc == 0 && def->via_proxy) {
        struct tether_proxy_server_options po;
        tether_proxy_server_options_init(&po);
        po.api_host = NULL;
        po.seed = opts->seed + (uint64_t)(def - demo_scenarios);
        po.has_seed = true;
        int rv = tether_proxy_server_new(loop, &po, &sc->ps);
        if (rv != 0) {
            sc->ps = NULL;
            (void)snprintf(sc->error, sizeof(sc->error), "cannot start the proxy: %s",
                           tether_strerror(rv));
            rc = -1;
        }
    }
    for (int i = 0; rc == 0 && i < DEMO_NLANES; i++) {
        rc = demo_setup_lane(sc, &sc->lanes[i]);
    }

    uv_update_time(loop);
    sc->start_ms = uv_now(loop);
    if (rc != 0) {
        sc->stopping = true;
        demo_teardown(sc);
    } else {
        for (int i = 0; i < DEMO_NLANES; i++) {
            res[i].ran = true;
            for (unsigned k = 0; k < def->workers; k++) {
                /* Spread the first requests over a few milliseconds, as real users are. */
                wl_start_after(&sc->lanes[i].wl.workers[k], demo_rand_range(sc, 0, 20));
            }
        }
        uv_timer_start(&sc->stop_timer, demo_stop, sc->duration_ms, 0);
        if (def->event) {
            uv_timer_start(&sc->event_timer, demo_event_fire, 0, 0);
        }
        if (opts->progress) {
            uv_timer_start(&sc->progress_timer, demo_progress_tick, 0, 200);
        }
    }
    uv_run(loop, UV_RUN_DEFAULT);

    for (int i = 0; i < DEMO_NLANES; i++) {
        demo_finish_result(&sc->lanes[i]);
        free(sc->lanes[i].exec);
    }
    if (sc->error[0]) {
        (void)snprintf(err, errlen, "%s", sc->error);
    }
    int closed = cli_loop_close(loop);
    if (closed != 0) {
        /* A component left a handle open: the next scenario must start clean, and a leak in
         * the library is worth saying. */
        fprintf(stderr, "tether demo: %s left open handles behind (%s)\n", def->name,
                closed > 0 ? "closed them" : "could not close them");
    }
    if (closed >= 0) {
        for (int i = 0; i < DEMO_NLANES; i++) {
            wl_cleanup(&sc->lanes[i].wl);
        }
        free(loop);
        free(sc);
    } /* else libuv may still touch the handles in them: leaked on purpose */
    return rc == 0 ? 0 : -1;
}
