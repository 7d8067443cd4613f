/* SPDX-License-Identifier: MIT */
/*
 * The connection's one timer is re-armed lazily (conn.c, tt__srv_conn_arm_timer): a later
 * deadline leaves it armed for the earlier one, an earlier deadline restarts it. These tests
 * pin both directions, and the chunked decoder that is allocated per body and freed while idle.
 */
#include "test.h"

#include "rawclient.h"

#define T(ms) tt_test_scale_ms(ms)

/*
 * Earlier deadline: after a request the timer is armed for the long idle deadline; the next
 * request's head starts a much shorter header deadline, which must restart the timer. Without
 * that, the 408 would come only when the idle deadline fires, after the read timeout below.
 */
static void test_earlier_deadline_restarts_timer(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.keep_alive_timeout_ms = T(20000);
    o.headers_timeout_ms = T(300);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_get(&c, "/first", 200, &r, T(2000)), RC_OK);
    uint64_t t0 = rc_now_ms();
    ASSERT_RC(rc_send_str(&c, "GET /slow HTTP/1.1\r\nHost: x\r\n"), RC_OK);
    ASSERT_RC(rc_read_response(&c, &r, T(5000)), RC_OK);
    assert_int_equal(r.status, 408);
    assert_true(r.at_ms - t0 >= o.headers_timeout_ms);
    ASSERT_RC(rc_wait_close(&c, T(3000)), RC_EOF);
    rc_close(&c);
    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_HEADER_TIMEOUT, 1, &s);
    assert_int_equal(s.stats.rst_sent, 0);
    srvfix_end(state);
}

/*
 * Later deadline: the head's short header deadline arms the timer, the head completes at once
 * and the idle deadline lies further out. The timer fires early, at the stale header deadline,
 * and must re-arm to the idle one: the idle close comes no sooner than the keep-alive timeout
 * after the response, as FIN.
 */
static void test_stale_fire_rearms_to_later_deadline(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.headers_timeout_ms = T(100);
    o.keep_alive_timeout_ms = T(600);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    /* In two pieces, so the head's deadline is usually the one the timer is armed for. */
    ASSERT_RC(rc_send_str(&c, "GET / HTTP/1.1\r\n"), RC_OK);
    assert_true(rc_wait_delivered(&c, T(2000)));
    ASSERT_RC(rc_send_str(&c, "Host: x\r\n\r\n"), RC_OK);
    ASSERT_RC(rc_read_response(&c, &r, T(2000)), RC_OK);
    assert_int_equal(r.status, 200);
    int end = rc_wait_close(&c, T(5000));
    uint64_t waited = rc_now_ms() - r.at_ms;
    ASSERT_RC(end, RC_EOF);
    assert_true(waited >= o.keep_alive_timeout_ms);
    rc_close(&c);
    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_IDLE_TIMEOUT, 1, &s);
    assert_int_equal(s.stats.requests, 1);
    assert_int_equal(s.stats.rst_sent, 0);
    srvfix_end(state);
}

/* The chunked decoder's state is freed when the connection turns idle; the next chunked body
 * on the same connection gets a fresh one. */
static void test_chunked_bodies_across_idle(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.keep_alive_timeout_ms = T(2000);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    static const char *bodies[] = {"abc", "hello world"};
    static const char *reqs[] = {
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    };
    for (size_t i = 0; i < 2; i++) {
        ASSERT_RC(rc_send_str(&c, reqs[i]), RC_OK);
        ASSERT_RC(rc_read_response(&c, &r, T(2000)), RC_OK);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, bodies[i]);
    }
    rc_close(&c);
    srvfix_end(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_earlier_deadline_restarts_timer, srvfix_teardown),
        cmocka_unit_test_teardown(test_stale_fire_rearms_to_later_deadline, srvfix_teardown),
        cmocka_unit_test_teardown(test_chunked_bodies_across_idle, srvfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
