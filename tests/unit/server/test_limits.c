/* SPDX-License-Identifier: MIT */
/*
 * Per-connection caps and the connection limit at the socket level (server-pool.md S9, S10,
 * S11): capped connections end with Connection: close and a FIN; over the limit, clients wait
 * in the backlog and are served, never reset; the oldest idle connection is reclaimed with a
 * FIN at once (its descriptor counts toward the limit until closed), fresh ones are protected.
 */
#include "test.h"

#include "rawclient.h"

#define T(ms) tt_test_scale_ms(ms)

/* S9: the third response carries Connection: close and the server then closes with FIN. */
static void test_max_requests_per_conn(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.keep_alive_timeout_ms = T(2000);
    o.max_requests_per_conn = 3;
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    for (int i = 1; i <= 3; i++) {
        ASSERT_RC(rc_get(&c, "/n", 200, &r, T(2000)), RC_OK);
        bool is_close = rc_header_has_token(&r, "Connection", "close");
        if (is_close != (i == 3)) {
            fail_msg("response %d: Connection: close is %s", i, is_close ? "set" : "missing");
        }
    }
    ASSERT_RC(rc_wait_close(&c, T(2000)), RC_EOF);
    rc_close(&c);
    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_MAX_REQUESTS, 1, &s);
    assert_int_equal(s.stats.rst_sent, 0);
    assert_int_equal(s.stats.requests, 3);
    srvfix_end(state);
}

/* S9: the first response after max_conn_age_ms carries Connection: close, then FIN. */
static void test_max_conn_age(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.keep_alive_timeout_ms = T(3000);
    /* Long enough that the first request is certainly answered while the connection is young,
     * even on a busy machine; the second waits until it is certainly old. */
    o.max_conn_age_ms = T(1000);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    uint64_t t0 = rc_now_ms();
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_get(&c, "/young", 200, &r, T(2000)), RC_OK);
    assert_false(rc_header_has_token(&r, "Connection", "close"));
    rc_sleep_until(t0 + o.max_conn_age_ms + T(100));
    ASSERT_RC(rc_get(&c, "/old", 200, &r, T(2000)), RC_OK);
    assert_true(rc_header_has_token(&r, "Connection", "close"));
    ASSERT_RC(rc_wait_close(&c, T(2000)), RC_EOF);
    rc_close(&c);
    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_MAX_AGE, 1, &s);
    assert_int_equal(s.stats.rst_sent, 0);
    srvfix_end(state);
}

/*
 * S11: two busy connections fill max_connections = 2. A third client connects and sends its
 * request: the server does not accept-and-close it (that would be an RST, its request being
 * unread); it waits in the backlog and is served once a slot frees.
 */
static void test_over_limit_waits_in_backlog_and_is_served(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.keep_alive_timeout_ms = T(5000);
    o.max_connections = 2;
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc a, b, c;
    struct rc_response ra, rb, rcr;
    ASSERT_RC(rc_connect(&a, fx->port), RC_OK);
    ASSERT_RC(rc_send_get(&a, "/delay/400"), RC_OK);
    ASSERT_RC(rc_connect(&b, fx->port), RC_OK);
    ASSERT_RC(rc_send_get(&b, "/delay/400"), RC_OK);
    assert_true(srvfix_wait_open(fx, 2, T(2000)));

    ASSERT_RC(rc_connect(&c, fx->port), RC_OK); /* the kernel completes it: backlog */
    ASSERT_RC(rc_send_get(&c, "/c"), RC_OK);
    assert_false(rc_readable(&c, T(100))); /* neither answered nor reset while over the limit */
    struct srvfix_snapshot s;
    srvfix_snapshot(fx, &s);
    assert_int_equal(s.stats.connections_open, 2);
    assert_int_equal(s.stats.connections_accepted, 2);
    assert_true(s.stats.accept_paused >= 1);

    ASSERT_RC(rc_read_response(&a, &ra, T(2000)), RC_OK);
    assert_string_equal(ra.body, "delayed");
    ASSERT_RC(rc_read_response(&b, &rb, T(2000)), RC_OK);
    assert_string_equal(rb.body, "delayed");
    rc_close(&a); /* frees a slot */
    int rv = rc_read_response(&c, &rcr, T(3000));
    ASSERT_RC(rv, RC_OK);
    assert_int_equal(rcr.status, 200);
    assert_string_equal(rcr.body, "/c");
    assert_true(rcr.at_ms >= ra.at_ms);
    /* B was kept: it is still usable. */
    ASSERT_RC(rc_get(&b, "/b2", 200, &rb, T(2000)), RC_OK);
    rc_close(&b);
    rc_close(&c);
    assert_true(srvfix_wait_open(fx, 0, T(3000)));
    srvfix_snapshot(fx, &s);
    assert_int_equal(s.stats.connections_accepted, 3);
    assert_int_equal(s.stats.rst_sent, 0);
    assert_int_equal(s.stats.closes[TETHER_CLOSE_RECLAIMED], 0);
    srvfix_end(state);
}

/* S10: at the limit with idle connections past fresh_idle_protect_ms, the oldest idle one is
 * closed gracefully (its client reads EOF) and the newcomer is served. */
static void test_reclaims_oldest_idle_at_limit(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.keep_alive_timeout_ms = T(5000);
    o.max_connections = 2;
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc a, b, c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&a, fx->port), RC_OK);
    ASSERT_RC(rc_get(&a, "/a", 200, &r, T(2000)), RC_OK);
    rc_sleep_ms(T(20));
    ASSERT_RC(rc_connect(&b, fx->port), RC_OK);
    ASSERT_RC(rc_get(&b, "/b", 200, &r, T(2000)), RC_OK);
    rc_sleep_ms(o.fresh_idle_protect_ms + T(100));

    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_send_get(&c, "/c"), RC_OK);
    ASSERT_RC(rc_wait_close(&a, T(3000)), RC_EOF); /* the oldest idle, closed with FIN */
    rc_close(&a);
    ASSERT_RC(rc_read_response(&c, &r, T(3000)), RC_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "/c");
    ASSERT_RC(rc_get(&b, "/b2", 200, &r, T(2000)), RC_OK); /* the younger idle one stays */
    rc_close(&b);
    rc_close(&c);
    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_RECLAIMED, 1, &s);
    assert_int_equal(s.stats.rst_sent, 0);
    srvfix_end(state);
}

/* S10: idle connections younger than fresh_idle_protect_ms are not reclaimed: the newcomer
 * waits (in the backlog, not reset) until the oldest idle one has aged past it. */
static void test_fresh_idle_connections_are_protected(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.keep_alive_timeout_ms = T(5000);
    o.max_connections = 2;
    o.fresh_idle_protect_ms = T(600);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc a, b, c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&a, fx->port), RC_OK);
    ASSERT_RC(rc_get(&a, "/a", 200, &r, T(2000)), RC_OK);
    uint64_t a_idle = r.at_ms;
    ASSERT_RC(rc_connect(&b, fx->port), RC_OK);
    ASSERT_RC(rc_get(&b, "/b", 200, &r, T(2000)), RC_OK);

    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_send_get(&c, "/c"), RC_OK);
    ASSERT_RC(rc_wait_close(&a, o.fresh_idle_protect_ms * 2 + T(2000)), RC_EOF);
    uint64_t a_closed_after = rc_now_ms() - a_idle;
    rc_note("oldest idle reclaimed %llu ms after it became idle (protected for %llu ms)",
            (unsigned long long)a_closed_after, (unsigned long long)o.fresh_idle_protect_ms);
    assert_true(a_closed_after + 10 >= o.fresh_idle_protect_ms);
    rc_close(&a);
    ASSERT_RC(rc_read_response(&c, &r, T(3000)), RC_OK);
    assert_int_equal(r.status, 200);
    rc_close(&b);
    rc_close(&c);
    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_RECLAIMED, 1, &s);
    assert_int_equal(s.stats.rst_sent, 0);
    srvfix_end(state);
}

/* Review finding E2: max_connections bounds descriptors. The reclaimed client keeps its socket
 * open without sending its FIN (a lingering close would wait for it for lingering_timeout);
 * once the newcomer is served, the server holds no more connections than the limit. */
static void test_reclaimed_connection_does_not_linger_past_the_limit(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.keep_alive_timeout_ms = T(5000);
    o.lingering_timeout_ms = T(5000);
    o.max_connections = 2;
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc a, b, c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&a, fx->port), RC_OK);
    ASSERT_RC(rc_get(&a, "/a", 200, &r, T(2000)), RC_OK);
    rc_sleep_ms(T(20));
    ASSERT_RC(rc_connect(&b, fx->port), RC_OK);
    ASSERT_RC(rc_get(&b, "/b", 200, &r, T(2000)), RC_OK);
    rc_sleep_ms(o.fresh_idle_protect_ms + T(100));

    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_send_get(&c, "/c"), RC_OK);
    ASSERT_RC(rc_read_response(&c, &r, T(3000)), RC_OK);
    assert_int_equal(r.status, 200);
    ASSERT_RC(rc_wait_close(&a, T(3000)), RC_EOF); /* FIN, not RST: it had nothing unread */
    struct srvfix_snapshot s;
    srvfix_snapshot(fx, &s);
    assert_int_equal(s.stats.connections_accepted, 3);
    assert_int_equal(s.stats.connections_open, 2); /* b and c; a's descriptor is gone */
    assert_int_equal(s.stats.closes[TETHER_CLOSE_RECLAIMED], 1);
    assert_int_equal(s.stats.rst_sent, 0);
    rc_close(&a);
    rc_close(&b);
    rc_close(&c);
    srvfix_end(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_max_requests_per_conn, srvfix_teardown),
        cmocka_unit_test_teardown(test_max_conn_age, srvfix_teardown),
        cmocka_unit_test_teardown(test_over_limit_waits_in_backlog_and_is_served, srvfix_teardown),
        cmocka_unit_test_teardown(test_reclaims_oldest_idle_at_limit, srvfix_teardown),
        cmocka_unit_test_teardown(test_fresh_idle_connections_are_protected, srvfix_teardown),
        cmocka_unit_test_teardown(test_reclaimed_connection_does_not_linger_past_the_limit,
                                  srvfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
