/* SPDX-License-Identifier: MIT */
/*
 * The keep-alive pool (client.md §6.1): the idle watcher, the checkout probe, Keep-Alive
 * timeout and max, lifetimes, unsolicited bytes, the wait queue, learning an origin's idle
 * close, and the keep-alive race itself: the naive pool fails like Node does, the default
 * policy does not.
 */
#include <poll.h>
#include <signal.h>
#include <stdlib.h>

#include "test.h"

#include "client/client_int.h"
#include "fetch_helpers.h"
#include "loop.h"
#include "script_server.h"
#include "tether/server.h"

#define T(ms) tt_test_scale_ms(ms)

/* Clock granularity between the loop's cached time and tt_test_now_ms: a timer of N ms that
 * started after a test's t0 fires no earlier than t0 + N - CLOCK_SLACK_MS. */
#define CLOCK_SLACK_MS 10u

/* lo <= v <= hi, with the upper bound scaled for slow machines. */
#define ASSERT_IN_RANGE_MS(v, lo, hi)                                                              \
    do {                                                                                           \
        unsigned long long rv_ = (unsigned long long)(v);                                          \
        if (rv_ < (lo) || rv_ > T(hi)) {                                                           \
            fail_msg("%s = %llu ms, expected within [%d, %llu]", #v, rv_, (lo),                    \
                     (unsigned long long)T(hi));                                                   \
        }                                                                                          \
    } while (0)

struct env {
    uv_loop_t loop;
    tether_server *srv;
    struct ss_server *ss;
    tether_client *client;
    struct ft_events ev;
    uint16_t port;
    char url[128];
};

static void on_request(tether_server *srv, tether_request *req)
{
    const char *t = tether_request_target(req);
    (void)srv;
    (void)tether_response_send(req, 200, "text/plain", t, strlen(t));
}

/* Slow answers keep connections busy so that requests must queue. */
static void slow_fire(uv_timer_t *t)
{
    tether_request *req = t->data;
    (void)tether_response_send(req, 200, "text/plain", "slow", 4);
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

static void on_request_slow(tether_server *srv, tether_request *req)
{
    uv_timer_t *t = malloc(sizeof(*t));
    (void)srv;
    (void)uv_timer_init(tether_server_get_data(srv), t);
    t->data = req;
    (void)uv_timer_start(t, slow_fire, 100, 0);
}

static void env_client(struct env *e, const struct tether_policy *p)
{
    e->client = ft_client_new(&e->loop, p);
    memset(&e->ev, 0, sizeof(e->ev));
    ft_watch_events(e->client, &e->ev);
}

static void env_init(struct env *e, const struct tether_policy *p)
{
    memset(e, 0, sizeof(*e));
    assert_int_equal(uv_loop_init(&e->loop), 0);
    env_client(e, p);
}

/* A tether_server on the same loop with keep-alive `ka_ms`, closing idle after ka + buffer. */
static void env_server(struct env *e, uint64_t ka_ms, uint64_t buffer_ms, bool hint,
                       enum tether_close_style style, tether_request_cb cb)
{
    struct tether_server_options so;
    tether_server_options_init(&so);
    so.on_request = cb ? cb : on_request;
    so.data = &e->loop;
    so.keep_alive_timeout_ms = ka_ms;
    so.keep_alive_buffer_ms = buffer_ms;
    so.no_keep_alive_hint = !hint;
    so.close_style = style;
    ASSERT_OK(tether_server_new(&e->loop, &so, &e->srv));
    e->port = tether_server_port(e->srv);
    (void)ft_url(e->url, sizeof(e->url), "http", e->port, "/");
}

static void env_done(struct env *e)
{
    if (e->client) {
        ft_close_client(&e->loop, e->client);
    }
    if (e->srv) {
        tether_server_close(e->srv, NULL, NULL);
    }
    if (e->ss) {
        ss_stop(e->ss);
    }
    tt_test_loop_close(&e->loop);
}

static struct tether_client_stats env_stats(const struct env *e)
{
    struct tether_client_stats st;
    tether_client_get_stats(e->client, &st);
    return st;
}

/* Whether bytes or a FIN from the server wait unread on the pool's idle connection to e->url:
 * what the checkout probe will find. */
static bool idle_conn_readable(struct env *e)
{
    struct tt__url u;
    ASSERT_OK(tt__url_parse(e->url, &u, NULL, 0));
    struct tt__origin *o = tt__pool_origin(e->client, &u);
    tt__url_cleanup(&u);
    assert_non_null(o);
    if (tt__list_empty(&o->idle)) {
        return false;
    }
    struct tt__cli_conn *c = tt__container_of(o->idle.next, struct tt__cli_conn, idle_link);
    uv_os_fd_t fd;
    if (uv_fileno((const uv_handle_t *)&c->stream.tcp, &fd) != 0) {
        return false;
    }
    struct pollfd pfd = {fd, POLLIN, 0};
    return poll(&pfd, 1, 0) > 0;
}

/* Runs the loop until the server's close of the idle connection has reached the client (the
 * server is on the same loop), bounded; the tests that need the close wait for it, not for a
 * time after which it usually has happened. */
static void wait_idle_close_arrived(struct env *e)
{
    uint64_t stop = tt_test_now_ms() + T(5000);
    while (!idle_conn_readable(e)) {
        if (tt_test_now_ms() >= stop) {
            fail_msg("the server's close never reached the idle connection");
        }
        tt_test_loop_run_for(&e->loop, 5);
    }
}

/* ---- the watcher and the probe ---- */

static void test_watcher_evicts_closed_idle(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, NULL);
    env_server(&e, 300, 0, false, TETHER_CLOSE_GRACEFUL, NULL);
    struct ft_result r = {0};
    uint64_t t0 = tt_test_now_ms();
    ft_get(&e.loop, e.client, e.url, &r);
    assert_int_equal(r.status, 200);
    /* The server closes the idle connection at 300 ms; the watcher sees its FIN while the
     * connection is idle, with no request to find it. */
    tt_test_loop_run_until_count(&e.loop, &e.ev.n[TETHER_EVENT_CONN_STALE], 1, 5000);
    assert_string_equal(e.ev.last_reason[TETHER_EVENT_CONN_STALE], "closed by peer");
    /* Measured from the event: the server's 300 ms started after t0, and the connection idled
     * at most since t0 (how much of that the client saw depends on the machine). */
    uint64_t at = e.ev.last_at_ms[TETHER_EVENT_CONN_STALE] - t0;
    ASSERT_IN_RANGE_MS(at, 300 - CLOCK_SLACK_MS, 300 + 5000);
    assert_true(e.ev.last_idle_ms[TETHER_EVENT_CONN_STALE] <= at + CLOCK_SLACK_MS);
    assert_int_equal(env_stats(&e).stale_evictions, 1);
    ft_get(&e.loop, e.client, e.url, &r);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.replays, 0);
    assert_int_equal(e.ev.n[TETHER_EVENT_CONN_NEW], 2);
    assert_int_equal(e.ev.n[TETHER_EVENT_CONN_REUSED], 0);
    env_done(&e);
}

static void test_probe_at_checkout(void **state)
{
    (void)state;
    struct tether_policy p;
    tether_policy_defaults(&p);
    p.watch_idle = false;
    p.max_replays = 0;
    p.max_attempts = 1;
    struct env e;
    env_init(&e, &p);
    env_server(&e, 300, 0, false, TETHER_CLOSE_GRACEFUL, NULL);
    struct ft_result r = {0};
    ft_get(&e.loop, e.client, e.url, &r);
    wait_idle_close_arrived(&e);
    /* Nobody watched, so nothing happened yet; the probe finds the FIN before the write. */
    assert_int_equal(e.ev.n[TETHER_EVENT_CONN_STALE], 0);
    ft_get(&e.loop, e.client, e.url, &r);
    assert_int_equal(r.code, 0);
    assert_int_equal(e.ev.n[TETHER_EVENT_CONN_STALE], 1);
    assert_int_equal(e.ev.n[TETHER_EVENT_CONN_NEW], 2);
    env_done(&e);
}

/* ---- Keep-Alive: timeout, max; lifetime; Connection: close ---- */

static void test_hint_retires_before_server(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, NULL);
    /* Keep-Alive: timeout=2 -> retire after 2 s - 1 s = 1 s; the server closes at 3 s. */
    env_server(&e, 2000, 1000, true, TETHER_CLOSE_GRACEFUL, NULL);
    struct ft_result r = {0};
    uint64_t t0 = tt_test_now_ms();
    ft_get(&e.loop, e.client, e.url, &r);
    tt_test_loop_run_until_count(&e.loop, &e.ev.n[TETHER_EVENT_CONN_RETIRED], 1, 5000);
    /* Not before the hint minus 1 s: measured from the retirement itself (its timer started
     * after t0), so a stalled machine cannot make this check fail; and by the client's own
     * idle clock. The server, closing at 3 s, never got to. */
    ASSERT_IN_RANGE_MS(e.ev.last_at_ms[TETHER_EVENT_CONN_RETIRED] - t0, 1000 - CLOCK_SLACK_MS,
                       1000 + 5000);
    ASSERT_IN_RANGE_MS(e.ev.last_idle_ms[TETHER_EVENT_CONN_RETIRED], 1000 - CLOCK_SLACK_MS, 2500);
    assert_int_equal(e.ev.n[TETHER_EVENT_CONN_STALE], 0);
    assert_int_equal(env_stats(&e).retired_idle, 1);
    assert_int_equal(env_stats(&e).stale_evictions, 0);
    env_done(&e);
}

static void script_ka_max(struct ss_conn *c, unsigned index, const char *req, size_t len,
                          void *data)
{
    (void)req;
    (void)len;
    (void)data;
    /* Apache's countdown: max=N is how many more requests the connection takes. */
    ss_respond(c, 200,
               index == 0 ? "Keep-Alive: timeout=5, max=1\r\n" : "Keep-Alive: timeout=5, max=0\r\n",
               "ok");
}

static void script_close_kinds(struct ss_conn *c, unsigned index, const char *req, size_t len,
                               void *data)
{
    (void)index;
    (void)len;
    (void)data;
    if (strstr(req, "GET /http10 ")) {
        ss_send_str(c, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
    } else if (strstr(req, "GET /close ")) {
        ss_respond(c, 200, "Connection: close\r\n", "ok");
    } else {
        ss_respond(c, 200, "", "ok");
    }
}

static void test_keep_alive_max_and_close(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, NULL);
    assert_int_equal(ss_start(&e.loop, script_ka_max, NULL, &e.ss), 0);
    (void)ft_url(e.url, sizeof(e.url), "http", ss_port(e.ss), "/");
    struct ft_result r = {0};
    for (int i = 0; i < 3; i++) {
        ft_get(&e.loop, e.client, e.url, &r);
        assert_int_equal(r.status, 200);
    }
    /* Two requests on the first connection (max=1 allowed one more), the third on a new one. */
    assert_int_equal(ss_accepted(e.ss), 2);
    ss_stop(e.ss);

    assert_int_equal(ss_start(&e.loop, script_close_kinds, NULL, &e.ss), 0);
    char url[128];
    ft_get(&e.loop, e.client, ft_url(url, sizeof(url), "http", ss_port(e.ss), "/http10"), &r);
    ft_get(&e.loop, e.client, ft_url(url, sizeof(url), "http", ss_port(e.ss), "/close"), &r);
    ft_get(&e.loop, e.client, ft_url(url, sizeof(url), "http", ss_port(e.ss), "/a"), &r);
    ft_get(&e.loop, e.client, ft_url(url, sizeof(url), "http", ss_port(e.ss), "/b"), &r);
    assert_int_equal(r.code, 0);
    /* HTTP/1.0 without keep-alive and Connection: close are not reused; /a and /b share. */
    assert_int_equal(ss_accepted(e.ss), 3);
    env_done(&e);

    struct tether_policy p;
    tether_policy_defaults(&p);
    p.max_requests_per_conn = 2;
    env_init(&e, &p);
    env_server(&e, 5000, 1000, true, TETHER_CLOSE_GRACEFUL, NULL);
    for (int i = 0; i < 4; i++) {
        ft_get(&e.loop, e.client, e.url, &r);
    }
    assert_int_equal(env_stats(&e).connections_opened, 2);
    env_done(&e);
}

static void test_lifetime(void **state)
{
    (void)state;
    struct tether_policy p;
    tether_policy_defaults(&p);
    p.max_conn_lifetime_ms = 300;
    struct env e;
    env_init(&e, &p);
    env_server(&e, 5000, 1000, true, TETHER_CLOSE_GRACEFUL, NULL);
    struct ft_result r = {0};
    uint64_t t0 = tt_test_now_ms();
    ft_get(&e.loop, e.client, e.url, &r);
    tt_test_loop_run_until_count(&e.loop, &e.ev.n[TETHER_EVENT_CONN_RETIRED], 1, 5000);
    assert_string_equal(e.ev.last_reason[TETHER_EVENT_CONN_RETIRED], "lifetime reached");
    /* The connection was made after t0: no retirement before 300 ms from there. */
    ASSERT_IN_RANGE_MS(e.ev.last_at_ms[TETHER_EVENT_CONN_RETIRED] - t0, 300 - CLOCK_SLACK_MS,
                       300 + 5000);
    env_done(&e);
}

/* ---- (8) unsolicited bytes on an idle connection ---- */

static unsigned unsolicited_sent; /* how many times send_408 has run */

static void send_408(struct ss_conn *c, void *arg)
{
    (void)arg;
    ss_send_str(c, "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n");
    unsolicited_sent++;
}

static void script_408_when_idle(struct ss_conn *c, unsigned index, const char *req, size_t len,
                                 void *data)
{
    (void)len;
    (void)data;
    (void)req;
    ss_respond(c, 200, "", index == 0 ? "first" : "later");
    if (index == 0) {
        ss_after(c, 100, send_408, NULL);
    }
}

static void unsolicited_case(const struct tether_policy *p, int want_status, unsigned want_conns,
                             unsigned want_stale)
{
    struct env e;
    env_init(&e, p);
    assert_int_equal(ss_start(&e.loop, script_408_when_idle, NULL, &e.ss), 0);
    (void)ft_url(e.url, sizeof(e.url), "http", ss_port(e.ss), "/");
    struct ft_result r = {0};
    unsolicited_sent = 0;
    ft_get(&e.loop, e.client, e.url, &r);
    assert_string_equal(r.body, "first");
    /* The stray 408 must be on its way before the next request: wait for the send (loopback
     * puts it in the client's socket at once), not for a time. */
    tt_test_loop_run_until_count(&e.loop, &unsolicited_sent, 1, 5000);
    ft_get(&e.loop, e.client, e.url, &r);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.status, want_status);
    assert_int_equal(ss_accepted(e.ss), want_conns);
    assert_int_equal(env_stats(&e).stale_evictions, want_stale);
    env_done(&e);
}

static void test_unsolicited_bytes_discarded(void **state)
{
    (void)state;
    struct tether_policy p;
    /* The watcher discards the connection as soon as the bytes arrive. */
    tether_policy_defaults(&p);
    unsolicited_case(&p, 200, 2, 1);
    /* Without the watcher, the probe finds them at checkout. */
    p.watch_idle = false;
    unsolicited_case(&p, 200, 2, 1);
    /* The naive pool reads the stray 408 as the answer to the next request: the
     * response-queue poisoning users see. */
    tether_policy_naive(&p);
    unsolicited_case(&p, 408, 1, 0);
}

/* ---- (10) closing the client from inside an event hook ---- */

struct hook_close {
    tether_client *client;
    bool closed;
    unsigned stale;
};

static void hook_closed(void *data)
{
    ((struct hook_close *)data)->closed = true;
}

static void close_on_stale(tether_client *c, const struct tether_event *ev)
{
    struct hook_close *h = tether_client_get_data(c);
    if (ev->type == TETHER_EVENT_CONN_STALE && h->stale++ == 0) {
        tether_client_close(h->client, hook_closed, h);
    }
}

static void test_close_from_stale_hook(void **state)
{
    (void)state;
    struct tether_policy p;
    tether_policy_defaults(&p);
    p.watch_idle = false; /* so the stale connection is found by the checkout probe */
    struct env e;
    env_init(&e, &p);
    env_server(&e, 200, 0, false, TETHER_CLOSE_GRACEFUL, NULL);
    struct ft_result r = {0};
    ft_get(&e.loop, e.client, e.url, &r);
    wait_idle_close_arrived(&e);
    struct hook_close h = {e.client, false, 0};
    tether_client_set_data(e.client, &h);
    tether_client_on_event(e.client, close_on_stale);
    struct tether_fetch_options o;
    memset(&o, 0, sizeof(o));
    o.url = e.url;
    (void)ft_start(e.client, &o, &r);
    tt_test_loop_run_until(&e.loop, &h.closed, 5000);
    assert_true(r.done);
    assert_int_equal(r.done_calls, 1);
    assert_int_equal(r.code, TETHER_ECANCELED);
    assert_int_equal(h.stale, 1);
    e.client = NULL;
    env_done(&e);
}

/* ---- the wait queue ---- */

struct multi {
    struct ft_result r[3];
};

static void test_max_conns_queue(void **state)
{
    (void)state;
    struct tether_policy p;
    tether_policy_defaults(&p);
    p.max_conns_per_origin = 1;
    struct env e;
    env_init(&e, &p);
    env_server(&e, 5000, 1000, true, TETHER_CLOSE_GRACEFUL, on_request_slow);
    struct tether_fetch_options o;
    memset(&o, 0, sizeof(o));
    o.url = e.url;
    struct multi m = {0};
    for (int i = 0; i < 3; i++) {
        (void)ft_start(e.client, &o, &m.r[i]);
    }
    tt_test_loop_run_until(&e.loop, &m.r[2].done, 5000);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(m.r[i].status, 200);
    }
    assert_int_equal(env_stats(&e).connections_opened, 1);
    assert_int_equal(env_stats(&e).connections_reused, 2);
    env_done(&e);
}

/* ---- learning ---- */

static void test_learning_needs_agreement(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, NULL);
    struct tt__url u;
    ASSERT_OK(tt__url_parse("http://127.0.0.1:9/", &u, NULL, 0));
    struct tt__origin *o = tt__pool_origin(e.client, &u);
    tt__url_cleanup(&u);
    assert_non_null(o);
    uint64_t now = 1000000;
    /* A burst at one moment (a restart) teaches nothing. */
    tt__pool_learn_close(o, 30, now);
    tt__pool_learn_close(o, 35, now + 2);
    tt__pool_learn_close(o, 40, now + 4);
    assert_int_equal(tt__pool_learned_ms(o, now + 5), 0);
    /* Closes after the same idle time at different moments are a timeout. */
    tt__pool_learn_close(o, 5000, now + 6000);
    assert_int_equal(tt__pool_learned_ms(o, now + 6000), 0);
    tt__pool_learn_close(o, 5010, now + 12000);
    assert_int_equal(tt__pool_learned_ms(o, now + 12000), 5000);
    /* A connection that worked after 6 s idle contradicts both. */
    tt__pool_learn_alive(o, 6000, now + 13000);
    assert_int_equal(tt__pool_learned_ms(o, now + 13000), 0);
    /* And observations expire. */
    tt__pool_learn_close(o, 2000, now + 20000);
    tt__pool_learn_close(o, 2000, now + 30000);
    assert_int_equal(tt__pool_learned_ms(o, now + 30000), 2000);
    assert_int_equal(tt__pool_learned_ms(o, now + 30000 + TT__LEARN_TTL_MS), 0);
    env_done(&e);
}

/* ---- (1) the keep-alive race ---- */

#define RACE_REQUESTS 16
#define RACE_T_MS 400

struct race {
    uv_loop_t *loop;
    tether_client *client;
    uv_timer_t gap;
    const char *url;
    struct ft_result r[RACE_REQUESTS];
    unsigned next;
    unsigned failures;
    unsigned hangups;
    unsigned resets;
    struct tether_client_stats mid;
    bool finished;
    struct ttx_rng rng;
};

static void race_fire(uv_timer_t *t);

static void race_check(uv_timer_t *t)
{
    struct race *x = t->data;
    unsigned i = x->next - 1;
    if (!x->r[i].done) {
        (void)uv_timer_start(&x->gap, race_check, 1, 0);
        return;
    }
    if (x->r[i].code != 0) {
        x->failures++;
        x->hangups += strcmp(x->r[i].msg, "socket hang up") == 0;
        x->resets += strcmp(x->r[i].msg, "read ECONNRESET") == 0;
    }
    if (x->next == RACE_REQUESTS / 2) {
        tether_client_get_stats(x->client, &x->mid);
    }
    if (x->next == RACE_REQUESTS) {
        x->finished = true;
        return;
    }
    /* Gaps within +-1 % of the server's idle timeout: the race window on loopback is about a
     * millisecond wide, so wider gaps would rarely hit it. */
    uint64_t lo = RACE_T_MS - RACE_T_MS / 100;
    uint64_t gap = lo + ttx_rng_below(&x->rng, RACE_T_MS / 50 + 1);
    (void)uv_timer_start(&x->gap, race_fire, gap, 0);
}

static void race_fire(uv_timer_t *t)
{
    struct race *x = t->data;
    struct tether_fetch_options o;
    memset(&o, 0, sizeof(o));
    o.url = x->url;
    (void)ft_start(x->client, &o, &x->r[x->next++]);
    (void)uv_timer_start(&x->gap, race_check, 1, 0);
}

static void race_run(struct env *e, struct race *x)
{
    memset(x, 0, sizeof(*x));
    x->loop = &e->loop;
    x->client = e->client;
    x->url = e->url;
    ttx_rng_seed(&x->rng, 42);
    (void)uv_timer_init(&e->loop, &x->gap);
    x->gap.data = x;
    race_fire(&x->gap);
    tt_test_loop_run_until(&e->loop, &x->finished, RACE_REQUESTS * RACE_T_MS * 3);
    uv_close((uv_handle_t *)&x->gap, NULL);
}

static void race_note(const char *name, const struct race *x, struct env *e)
{
    struct tether_client_stats st;
    tether_client_get_stats(e->client, &st);
    fprintf(stderr,
            "# %s: %u requests, %u failed (%u socket hang up, %u read ECONNRESET), %llu replays, "
            "%llu stale evictions, %llu retired idle, %llu connections\n",
            name, RACE_REQUESTS, x->failures, x->hangups, x->resets, (unsigned long long)st.replays,
            (unsigned long long)st.stale_evictions, (unsigned long long)st.retired_idle,
            (unsigned long long)st.connections_opened);
}

static void test_keepalive_race(void **state)
{
    (void)state;
    struct env e;
    struct race x;
    /* A server that closes idle connections at exactly T with plain close() and no hint. */
    struct tether_policy p;
    tether_policy_naive(&p);
    env_init(&e, &p);
    env_server(&e, RACE_T_MS, 0, false, TETHER_CLOSE_NODE, NULL);
    race_run(&e, &x);
    race_note("naive", &x, &e);
    /* The naive pool reuses the dead socket blindly: Node's errors. */
    assert_true(x.failures > 0);
    assert_true(x.hangups + x.resets > 0);
    env_done(&e);

    tether_policy_defaults(&p);
    env_init(&e, &p);
    env_server(&e, RACE_T_MS, 0, false, TETHER_CLOSE_NODE, NULL);
    race_run(&e, &x);
    race_note("default", &x, &e);
    struct tether_client_stats st = env_stats(&e);
    assert_int_equal(x.failures, 0);
    /* Learning kicked in: idle sockets are retired before the server's close, and replays and
     * stale evictions stop growing once it has. */
    assert_true(st.retired_idle > 0);
    assert_int_equal(st.replays, x.mid.replays);
    assert_int_equal(st.stale_evictions, x.mid.stale_evictions);
    assert_true(st.retired_idle > x.mid.retired_idle);
    env_done(&e);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watcher_evicts_closed_idle),
        cmocka_unit_test(test_probe_at_checkout),
        cmocka_unit_test(test_hint_retires_before_server),
        cmocka_unit_test(test_keep_alive_max_and_close),
        cmocka_unit_test(test_lifetime),
        cmocka_unit_test(test_unsolicited_bytes_discarded),
        cmocka_unit_test(test_max_conns_queue),
        cmocka_unit_test(test_close_from_stale_hook),
        cmocka_unit_test(test_learning_needs_agreement),
        cmocka_unit_test(test_keepalive_race),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
