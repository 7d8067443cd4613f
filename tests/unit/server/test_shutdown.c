/* SPDX-License-Identifier: MIT */
/*
 * Graceful shutdown and close at the socket level (server-pool.md S14): stop accepting, idle
 * connections get EOF at once, in-flight requests complete with Connection: close, the grace
 * deadline closes the rest with FIN, and nobody sees a reset.
 */
#include <errno.h>
#include <stdio.h>

#include "test.h"

#include "rawclient.h"

#define T(ms) tt_test_scale_ms(ms)

#define BUSY 5
#define IDLE 2

/* Waits (bounded) until the handler has seen n requests. */
static void wait_requests_seen(struct srvfix *fx, unsigned n)
{
    struct srvfix_snapshot s;
    uint64_t stop = rc_now_ms() + T(5000);
    for (srvfix_snapshot(fx, &s); s.requests_seen < n; srvfix_snapshot(fx, &s)) {
        if (rc_now_ms() >= stop) {
            fail_msg("the handler saw %u requests, not %u", s.requests_seen, n);
        }
        rc_sleep_ms(1);
    }
}

static void test_graceful_shutdown_under_load(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.keep_alive_timeout_ms = T(5000);
    o.shutdown_grace_ms = T(5000);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc busy[BUSY], idle[IDLE];
    struct rc_response r;
    /* In-flight requests answered after `delay`: long, so that "idle connections are closed at
     * once, without waiting for them" has a wide margin on a busy machine. */
    uint64_t delay = T(2000);
    char target[64];
    (void)snprintf(target, sizeof(target), "/delay/%llu", (unsigned long long)delay);
    for (int i = 0; i < BUSY; i++) {
        ASSERT_RC(rc_connect(&busy[i], fx->port), RC_OK);
        ASSERT_RC(rc_send_get(&busy[i], target), RC_OK);
    }
    for (int i = 0; i < IDLE; i++) {
        ASSERT_RC(rc_connect(&idle[i], fx->port), RC_OK);
        ASSERT_RC(rc_get(&idle[i], "/idle", 200, &r, T(2000)), RC_OK);
    }
    assert_true(srvfix_wait_open(fx, BUSY + IDLE, T(2000)));
    struct srvfix_snapshot s;
    srvfix_snapshot(fx, &s);
    assert_int_equal(s.requests_seen, BUSY + IDLE);

    uint64_t t0 = rc_now_ms();
    srvfix_shutdown(fx);
    /* Idle connections are closed at once, gracefully. */
    for (int i = 0; i < IDLE; i++) {
        ASSERT_RC(rc_wait_close(&idle[i], T(1000)), RC_EOF);
        rc_close(&idle[i]);
    }
    uint64_t idle_gone = rc_now_ms() - t0;
    rc_note("idle connections closed %llu ms after shutdown", (unsigned long long)idle_gone);
    assert_true(idle_gone < delay);

    /* No new connections are accepted. The listener's socket closes in its close callback,
     * one loop turn after the shutdown: a call through the loop thread (the snapshot) returns
     * only after that turn, so it orders the connect after the close instead of a sleep. */
    srvfix_snapshot(fx, &s);
    struct rc late;
    int rv = rc_connect(&late, fx->port);
    if (rv == RC_OK) {
        rc_close(&late);
        fail_msg("a connection was accepted after shutdown");
    }
    assert_int_equal(late.err, ECONNREFUSED);

    /* Every in-flight request completes, with Connection: close, then EOF. */
    unsigned resets = 0;
    uint64_t last_eof = 0;
    for (int i = 0; i < BUSY; i++) {
        ASSERT_RC(rc_read_response(&busy[i], &r, T(3000)), RC_OK);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "delayed");
        assert_true(rc_header_has_token(&r, "Connection", "close"));
        rv = rc_wait_close(&busy[i], T(2000));
        resets += rv == RC_RESET;
        ASSERT_RC(rv, RC_EOF);
        last_eof = rc_now_ms();
        rc_close(&busy[i]);
    }
    assert_int_equal(resets, 0);
    assert_true(srvfix_wait_shutdown_cb(fx, T(3000)));
    srvfix_snapshot(fx, &s);
    /* The callback waits for the last connection, which lingers until its client closes. */
    assert_true(s.shutdown_cb_at_ms >= last_eof);
    assert_int_equal(s.stats.connections_open, 0);
    assert_int_equal(s.stats.closes[TETHER_CLOSE_SHUTDOWN], BUSY + IDLE);
    assert_int_equal(s.stats.rst_sent, 0);
    assert_int_equal(s.stats.responses_by_class[2], BUSY + IDLE);
    assert_int_equal(s.responses_canceled, 0);
    srvfix_end(state);
}

/* Past shutdown_grace_ms the remaining connections are closed, with FIN (lingering), not RST;
 * the handler's late response is refused with ECANCELED. */
static void test_shutdown_grace_expiry_closes_gracefully(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.shutdown_grace_ms = T(300);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    /* The handler answers after the grace, scaled like it (valgrind's multiplier is 20). */
    char target[48];
    (void)snprintf(target, sizeof(target), "/delay/%llu", (unsigned long long)T(1000));
    ASSERT_RC(rc_send_get(&c, target), RC_OK);
    assert_true(srvfix_wait_open(fx, 1, T(2000)));
    wait_requests_seen(fx, 1); /* the request has reached the handler */
    uint64_t t0 = rc_now_ms();
    srvfix_shutdown(fx);
    ASSERT_RC(rc_read_response(&c, &r, T(3000)), RC_EOF);
    uint64_t took = rc_now_ms() - t0;
    rc_note("closed %llu ms after shutdown (grace %llu ms)", (unsigned long long)took,
            (unsigned long long)o.shutdown_grace_ms);
    assert_true(took + 10 >= o.shutdown_grace_ms);
    assert_true(took <= o.shutdown_grace_ms + T(1500));
    rc_close(&c);
    assert_true(srvfix_wait_shutdown_cb(fx, T(3000)));
    /* The handler's timer fires (T(1000) after the request) and its response is refused. */
    struct srvfix_snapshot s;
    uint64_t stop = rc_now_ms() + T(1000) + T(5000);
    for (srvfix_snapshot(fx, &s); s.responses_canceled == 0; srvfix_snapshot(fx, &s)) {
        if (rc_now_ms() >= stop) {
            fail_msg("the handler's late response was never refused");
        }
        rc_sleep_ms(5);
    }
    assert_int_equal(s.stats.closes[TETHER_CLOSE_SHUTDOWN], 1);
    assert_int_equal(s.stats.rst_sent, 0);
    assert_int_equal(s.responses_canceled, 1);
    assert_int_equal(s.responses_failed, 0);
    srvfix_end(state);
}

/* With nothing open the shutdown callback runs at once; a second call is harmless. */
static void test_shutdown_without_connections(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    srvfix_shutdown(fx);
    assert_true(srvfix_wait_shutdown_cb(fx, T(1000)));
    srvfix_shutdown(fx);
    struct srvfix_snapshot s;
    srvfix_snapshot(fx, &s);
    assert_true(s.shutdown_cb_ran);
    srvfix_end(state);
}

/* tether_server_close with an idle and a busy connection open: both clients read EOF (FIN,
 * after the lingering drain gives up on them), and the loop ends with no handle left. */
static void test_close_with_open_connections(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.keep_alive_timeout_ms = T(5000);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc a, b;
    struct rc_response r;
    ASSERT_RC(rc_connect(&a, fx->port), RC_OK);
    ASSERT_RC(rc_get(&a, "/idle", 200, &r, T(2000)), RC_OK);
    ASSERT_RC(rc_connect(&b, fx->port), RC_OK);
    ASSERT_RC(rc_send_get(&b, "/delay/300"), RC_OK);
    assert_true(srvfix_wait_open(fx, 2, T(2000)));
    wait_requests_seen(fx, 2); /* b's request is in its handler */
    srvfix_end(state);         /* asserts uv_loop_close() == 0 */
    ASSERT_RC(rc_wait_close(&a, T(1000)), RC_EOF);
    ASSERT_RC(rc_read_response(&b, &r, T(1000)), RC_EOF);
    rc_close(&a);
    rc_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_graceful_shutdown_under_load, srvfix_teardown),
        cmocka_unit_test_teardown(test_shutdown_grace_expiry_closes_gracefully, srvfix_teardown),
        cmocka_unit_test_teardown(test_shutdown_without_connections, srvfix_teardown),
        cmocka_unit_test_teardown(test_close_with_open_connections, srvfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
