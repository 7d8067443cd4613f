/* SPDX-License-Identifier: MIT */
/*
 * The allocation-failure scenario (curl's torture tests, STYLE §7): one run of the server, the
 * client, the proxy and the policy reader through their public APIs, written so that every
 * call may fail. scripts/alloc_torture.sh runs it once to count allocations, then again with
 * TETHER_TEST_FAIL_ALLOC_AT=n for every n: each run must end cleanly (exit 0), with every
 * handle closed and, under ASan, no leak and no memory error.
 *
 * Exit codes: 0 done; 3 a handle was left open; 4 the run did not finish in time (a callback
 * the library promised never came).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "tether/tether.h"

#include "internal.h"

#define TORTURE_DEADLINE_MS 10000

struct run {
    uv_loop_t loop;
    tether_server *srv;
    tether_client *client;
    tether_proxy_server *ps;
    uv_timer_t guard;
    unsigned fetches_left;
    unsigned flaky_hits;
    bool timed_out;
    char base[64];
    char via_proxy[64];
};

/* ---- the server: /hello, /echo (POST body back), /flaky (503 once), /chunked ---- */

static void echo_body(tether_request *req, int status, const char *data, size_t len, bool done)
{
    (void)data;
    size_t *total = tether_request_get_data(req);
    if (status != 0) {
        free(total);
        tether_request_abort(req);
        return;
    }
    *total += len;
    if (done) {
        char out[32];
        int n = snprintf(out, sizeof(out), "%zu", *total);
        free(total);
        (void)tether_response_send(req, 200, "text/plain", out, (size_t)n);
    }
}

static void on_request(tether_server *srv, tether_request *req)
{
    struct run *r = tether_server_get_data(srv);
    const char *t = tether_request_target(req);
    if (strcmp(t, "/echo") == 0) {
        size_t *total = calloc(1, sizeof(*total));
        if (!total) {
            tether_request_abort(req);
            return;
        }
        tether_request_set_data(req, total);
        tether_request_on_body(req, echo_body);
        return;
    }
    if (strcmp(t, "/flaky") == 0 && r->flaky_hits++ == 0) {
        (void)tether_response_start(req, 503);
        (void)tether_response_header(req, "Retry-After", "0");
        (void)tether_response_end(req, "busy", 4);
        return;
    }
    if (strcmp(t, "/chunked") == 0) {
        (void)tether_response_start(req, 200);
        (void)tether_response_write(req, "abc", 3);
        (void)tether_response_end(req, "def", 3);
        return;
    }
    (void)tether_response_send(req, 200, "text/plain", "hello", 5);
}

/* ---- closing ---- */

static void close_all(struct run *r)
{
    tether_client_close(r->client, NULL, NULL);
    r->client = NULL;
    tether_proxy_server_close(r->ps, NULL, NULL);
    r->ps = NULL;
    tether_server_close(r->srv, NULL, NULL);
    r->srv = NULL;
    if (!uv_is_closing((uv_handle_t *)&r->guard)) {
        uv_close((uv_handle_t *)&r->guard, NULL);
    }
}

static void on_guard(uv_timer_t *t)
{
    struct run *r = t->data;
    r->timed_out = true;
    close_all(r);
}

/* ---- the client's requests, one after another ---- */

static void next_fetch(struct run *r);

static void on_done(tether_fetch *f, int status)
{
    struct run *r = tether_fetch_get_data(f);
    (void)status; /* any outcome is acceptable: ENOMEM included */
    tether_fetch_free(f);
    next_fetch(r);
}

static void next_fetch(struct run *r)
{
    static const char *const targets[] = {"/hello",   "/echo",  "/flaky",
                                          "/chunked", "/hello", "proxy"};
    while (r->fetches_left > 0 && r->client) {
        size_t i = sizeof(targets) / sizeof(targets[0]) - r->fetches_left;
        r->fetches_left--;
        char url[128];
        struct tether_fetch_options o;
        tether_fetch_options_init(&o);
        if (strcmp(targets[i], "proxy") == 0) {
            if (!r->via_proxy[0]) {
                continue;
            }
            (void)snprintf(url, sizeof(url), "%s/hello", r->via_proxy);
        } else {
            (void)snprintf(url, sizeof(url), "%s%s", r->base, targets[i]);
        }
        o.url = url;
        o.data = r;
        static const struct tether_header h[] = {{"X-Torture", "1"}};
        o.headers = h;
        o.nheaders = 1;
        if (strcmp(targets[i], "/echo") == 0) {
            o.method = "POST";
            o.body = "0123456789";
            o.body_len = 10;
            o.idempotency_key = "torture-1";
        }
        if (tether_client_fetch(r->client, &o, on_done, NULL) == 0) {
            return; /* on_done continues */
        }
    }
    close_all(r);
}

/* ---- set-up, each step allowed to fail ---- */

static void start_proxy(struct run *r, uint16_t upstream_port)
{
    struct tether_proxy_server_options po;
    tether_proxy_server_options_init(&po);
    po.api_host = NULL; /* in-process API only */
    po.has_seed = true;
    po.seed = 1;
    if (tether_proxy_server_new(&r->loop, &po, &r->ps) != 0) {
        return;
    }
    char body[256];
    int n = snprintf(body, sizeof(body),
                     "{\"name\":\"t\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}",
                     (unsigned)upstream_port);
    int status = 0;
    char *resp = NULL;
    if (tether_proxy_server_call(r->ps, "POST", "/proxies", body, (size_t)n, &status, &resp,
                                 NULL) != 0) {
        return;
    }
    tether_free(resp);
    const char *toxic = "{\"type\":\"latency\",\"attributes\":{\"latency\":1}}";
    if (tether_proxy_server_call(r->ps, "POST", "/proxies/t/toxics", toxic, strlen(toxic), &status,
                                 &resp, NULL) == 0) {
        tether_free(resp);
    }
    uint16_t port = 0;
    if (tether_proxy_server_proxy_port(r->ps, "t", &port) == 0) {
        (void)snprintf(r->via_proxy, sizeof(r->via_proxy), "http://127.0.0.1:%u", (unsigned)port);
    }
}

static void read_policy(struct tether_policy *p)
{
    static const char json[] = "{\"base\":\"default\",\"max_attempts\":3,\"backoff_base\":\"1ms\","
                               "\"retry_statuses\":[503],\"deadline\":\"5s\"}";
    char err[128];
    if (tether_policy_from_json(json, sizeof(json) - 1, p, err, sizeof(err)) != 0) {
        tether_policy_defaults(p);
    }
}

static void walk_report(uv_handle_t *h, void *arg)
{
    (void)arg;
    fprintf(stderr, "torture: handle left open: %s\n", uv_handle_type_name(uv_handle_get_type(h)));
}

int main(void)
{
    /* The peers reset on purpose; so may a failure half-way through a write. */
    (void)signal(SIGPIPE, SIG_IGN);
    struct run r;
    memset(&r, 0, sizeof(r));
    r.fetches_left = 6;
    if (uv_loop_init(&r.loop) != 0) {
        return 1;
    }
    (void)uv_timer_init(&r.loop, &r.guard);
    r.guard.data = &r;
    (void)uv_timer_start(&r.guard, on_guard, TORTURE_DEADLINE_MS, 0);

    struct tether_server_options so;
    tether_server_options_init(&so);
    so.on_request = on_request;
    so.data = &r;
    if (tether_server_new(&r.loop, &so, &r.srv) == 0) {
        (void)snprintf(r.base, sizeof(r.base), "http://127.0.0.1:%u",
                       (unsigned)tether_server_port(r.srv));
        start_proxy(&r, tether_server_port(r.srv));
        struct tether_client_options co;
        tether_client_options_init(&co);
        read_policy(&co.policy);
        if (tether_client_new(&r.loop, &co, &r.client) == 0) {
            next_fetch(&r);
        } else {
            close_all(&r);
        }
    } else {
        close_all(&r);
    }
    (void)uv_run(&r.loop, UV_RUN_DEFAULT);
    int rc = 0;
    if (uv_loop_close(&r.loop) != 0) {
        uv_walk(&r.loop, walk_report, NULL);
        rc = 3;
    }
    if (r.timed_out) {
        fprintf(stderr, "torture: the run did not finish within %d ms\n", TORTURE_DEADLINE_MS);
        rc = 4;
    }
    printf("allocations: %ld\n", tt__test_alloc_count());
    return rc;
}
