/* SPDX-License-Identifier: MIT */
/* tether_request_pause_body and tether_request_on_detach, on one loop with a tether_client as
 * the peer (its body streamed with tether_fetch_write): a paused body delivers nothing more and
 * its body timeout does not run, resuming delivers the rest; a client that resets while the
 * handler holds its request is reported once through the detach callback. */
#include <string.h>

#include "test.h"

#include "loop.h"
#include "tether/client.h"
#include "tether/server.h"

#define T(ms) tt_test_scale_ms(ms)
#define BODY_LEN ((uint64_t)1024 * 1024)

struct env {
    uv_loop_t loop;
    tether_server *srv;
    tether_client *app;
    tether_fetch *f;
    tether_request *held;   /* the request the handler holds (detach case) */
    tether_request *paused; /* the request whose body the handler paused */
    uint64_t received;      /* body bytes delivered to the handler */
    unsigned pieces;
    unsigned heads;
    unsigned detached;
    unsigned done;
    int status;
    unsigned closed;
    bool pause_first; /* pause at the first piece */
    bool hold;        /* never answer: wait for the detach */
    uint64_t off;
};

static void on_body(tether_request *req, int status, const char *data, size_t len, bool done)
{
    struct env *e = tether_request_get_data(req);
    (void)data;
    if (status != 0) {
        return;
    }
    e->received += len;
    e->pieces += len > 0;
    if (e->pause_first && e->pieces == 1) {
        tether_request_pause_body(req, true);
        e->paused = req;
    }
    if (done) {
        char body[32];
        int n = snprintf(body, sizeof(body), "%llu", (unsigned long long)e->received);
        (void)tether_response_send(req, 200, "text/plain", body, (size_t)n);
    }
}

static void on_detach(tether_request *req)
{
    struct env *e = tether_request_get_data(req);
    e->detached++;
    tether_request_abort(req);
    e->held = NULL;
}

static void on_request(tether_server *srv, tether_request *req)
{
    struct env *e = tether_server_get_data(srv);
    e->heads++;
    tether_request_set_data(req, e);
    if (e->hold) {
        e->held = req;
        tether_request_on_detach(req, on_detach);
        return;
    }
    tether_request_on_body(req, on_body);
}

static void app_pump(struct env *e)
{
    static char piece[64 * 1024];
    while (e->f && e->off < BODY_LEN) {
        uint64_t n = BODY_LEN - e->off < sizeof(piece) ? BODY_LEN - e->off : sizeof(piece);
        int rv = tether_fetch_write(e->f, piece, (size_t)n, e->off + n == BODY_LEN);
        if (rv < 0) {
            return;
        }
        e->off += n;
        if (rv == 1) {
            return;
        }
    }
}

static void app_drain(tether_fetch *f)
{
    app_pump(tether_fetch_get_data(f));
}

static void app_done(tether_fetch *f, int status)
{
    struct env *e = tether_fetch_get_data(f);
    e->status = status;
    e->done++;
}

static void on_closed(void *data)
{
    ((struct env *)data)->closed++;
}

static void env_start(struct env *e)
{
    assert_int_equal(uv_loop_init(&e->loop), 0);
    struct tether_server_options so;
    tether_server_options_init(&so);
    so.on_request = on_request;
    so.data = e;
    so.body_timeout_ms = 50; /* would end a paused body at once if it ran */
    ASSERT_OK(tether_server_new(&e->loop, &so, &e->srv));
    struct tether_client_options co;
    tether_client_options_init(&co);
    tether_policy_naive(&co.policy);
    co.policy.max_attempts = 1;
    ASSERT_OK(tether_client_new(&e->loop, &co, &e->app));
    char url[64];
    (void)snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)tether_server_port(e->srv));
    struct tether_fetch_options fo;
    tether_fetch_options_init(&fo);
    fo.method = "PUT";
    fo.url = url;
    fo.body_stream = true;
    fo.body_stream_length = BODY_LEN;
    fo.on_body_drain = app_drain;
    fo.data = e;
    ASSERT_OK(tether_client_fetch(e->app, &fo, app_done, &e->f));
    app_pump(e);
}

static void env_finish(struct env *e)
{
    tether_fetch_free(e->f);
    tether_client_close(e->app, on_closed, e);
    tether_server_close(e->srv, on_closed, e);
    tt_test_loop_run_until_count(&e->loop, &e->closed, 2, T(5000));
    tt_test_loop_close(&e->loop);
}

static void test_paused_body_waits_then_resumes(void **state)
{
    (void)state;
    struct env e;
    memset(&e, 0, sizeof(e));
    e.pause_first = true;
    env_start(&e);
    tt_test_loop_run_until_count(&e.loop, &e.pieces, 1, T(5000));
    /* A window in which nothing may happen: no piece, no 408 although the body timeout is
     * 50 ms, and the client held back (its body is not all sent). */
    tt_test_loop_run_for(&e.loop, 300);
    assert_int_equal(e.pieces, 1);
    assert_int_equal(e.done, 0);
    assert_true(e.received < BODY_LEN);
    struct tether_server_stats st;
    tether_server_get_stats(e.srv, &st);
    assert_int_equal(st.closes[TETHER_CLOSE_BODY_TIMEOUT], 0);
    /* Resumed: the rest arrives and the response goes out. */
    tether_request_pause_body(e.paused, false);
    assert_int_equal(e.pieces, 1); /* never from inside the call */
    tt_test_loop_run_until_count(&e.loop, &e.done, 1, T(10000));
    assert_int_equal(e.status, 0);
    assert_int_equal(tether_fetch_status(e.f), 200);
    assert_int_equal(e.received, BODY_LEN);
    env_finish(&e);
}

/* The handler holds the request (it waits on something else); the client resets: the detach
 * callback runs once, and the handler lets go. */
static void test_detach_reported(void **state)
{
    (void)state;
    struct env e;
    memset(&e, 0, sizeof(e));
    e.hold = true;
    env_start(&e);
    tt_test_loop_run_until_count(&e.loop, &e.heads, 1, T(5000));
    tether_fetch_cancel(e.f); /* the client's connection is aborted: an RST */
    tt_test_loop_run_until_count(&e.loop, &e.detached, 1, T(5000));
    assert_null(e.held);
    tt_test_loop_run_for(&e.loop, 50); /* and only once */
    assert_int_equal(e.detached, 1);
    env_finish(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paused_body_waits_then_resumes),
        cmocka_unit_test(test_detach_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
