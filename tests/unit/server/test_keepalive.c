/* SPDX-License-Identifier: MIT */
/*
 * Keep-alive at the socket level (server-pool.md S1, S2, S4): idle closes are FIN (the client
 * reads EOF), a request arriving at the idle deadline is served, the Keep-Alive hint, and the
 * two reproduction styles (node: plain close(), rst: abort).
 */
#include "test.h"

#include "rawclient.h"

#define T(ms) tt_test_scale_ms(ms)

/* The idle deadline the test options give: keep-alive timeout + buffer after the response. */
static uint64_t idle_deadline_ms(const struct tether_server_options *o)
{
    return o->keep_alive_timeout_ms + o->keep_alive_buffer_ms;
}

/*
 * Makes a request arrive exactly at the idle deadline, by events rather than by timing: the
 * server's loop is blocked after its idle timer was armed (the connection counts as idle) and
 * before it can fire, the deadline passes, /late lands in the kernel's receive queue, then the
 * loop resumes. Its timer is due and the request is unread: the race, every time. `t_sent` is
 * when the first request was sent, which the deadline cannot precede by less than its length.
 * Returns rc_send_get's result.
 */
static int send_across_stalled_deadline(struct srvfix *fx, const struct tether_server_options *o,
                                        struct rc *c, uint64_t t_sent)
{
    uint64_t stop = rc_now_ms() + T(5000);
    struct srvfix_snapshot s;
    for (srvfix_snapshot(fx, &s); s.stats.connections_idle != 1; srvfix_snapshot(fx, &s)) {
        if (rc_now_ms() >= stop) {
            fail_msg("the connection never turned idle");
        }
        rc_sleep_ms(1);
    }
    uint64_t t_idle = rc_now_ms(); /* the timer was armed before this */
    srvfix_stall_begin(fx, idle_deadline_ms(o) + T(5000));
    /* 5 ms for the loop's coarser clock. A machine this slow cannot force the race. */
    if (rc_now_ms() + 5 >= t_sent + idle_deadline_ms(o)) {
        srvfix_stall_end(fx);
        fail_msg("the server could not be stalled before its idle deadline (%llu ms)",
                 (unsigned long long)idle_deadline_ms(o));
    }
    rc_sleep_until(t_idle + idle_deadline_ms(o) + 5);
    int sent = rc_send_get(c, "/late");
    if (sent == RC_OK && !rc_wait_delivered(c, 5000)) {
        fail_msg("the request never reached the server's receive queue");
    }
    srvfix_stall_end(fx);
    return sent;
}

/* S1/S2/S4: the idle keep-alive close arrives as FIN (EOF), after the timeout, never RST. */
static void test_idle_close_is_eof(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_get(&c, "/", 200, &r, T(2000)), RC_OK);
    assert_true(rc_header_has_token(&r, "Connection", "keep-alive"));
    assert_string_equal(r.body, "/");
    int end = rc_wait_close(&c, T(3000));
    uint64_t waited = rc_now_ms() - r.at_ms;
    ASSERT_RC(end, RC_EOF);
    /* Not before the advertised timeout, and not much after the enforced one. */
    assert_true(waited >= o.keep_alive_timeout_ms);
    assert_true(waited <= idle_deadline_ms(&o) + T(1000));
    rc_close(&c);

    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_IDLE_TIMEOUT, 1, &s);
    assert_int_equal(s.stats.fin_sent, 1);
    assert_int_equal(s.stats.rst_sent, 0);
    assert_int_equal(s.stats.connections_accepted, 1);
    assert_int_equal(s.stats.requests, 1);
    assert_int_equal(s.stats.responses_by_class[2], 1);
    srvfix_end(state);
}

/* A client that connects and never speaks is closed by the same idle timer, also with FIN. */
static void test_idle_close_before_first_request(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    uint64_t t0 = rc_now_ms();
    ASSERT_RC(rc_wait_close(&c, T(3000)), RC_EOF);
    assert_true(rc_now_ms() - t0 >= o.keep_alive_timeout_ms);
    rc_close(&c);
    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_IDLE_TIMEOUT, 1, &s);
    assert_int_equal(s.stats.rst_sent, 0);
    srvfix_end(state);
}

/*
 * S2, deterministically: the loop is blocked across the idle deadline while the next request
 * arrives (send_across_stalled_deadline), so when the loop resumes the idle timer fires with
 * the request unread in the kernel. The server must notice the pending bytes and serve them
 * instead of closing (which would be an RST).
 */
static void test_request_at_deadline_with_stalled_loop_is_served(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    uint64_t t_sent = rc_now_ms();
    ASSERT_RC(rc_get(&c, "/first", 200, &r, T(2000)), RC_OK);
    ASSERT_RC(send_across_stalled_deadline(fx, &o, &c, t_sent), RC_OK);
    ASSERT_RC(rc_read_response(&c, &r, T(2000)), RC_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "/late");

    struct srvfix_snapshot s;
    srvfix_snapshot(fx, &s);
    assert_int_equal(s.stats.pending_rescued, 1);
    assert_int_equal(s.stats.closes[TETHER_CLOSE_IDLE_TIMEOUT], 0);
    /* And the connection still ends with a normal idle close later. */
    ASSERT_RC(rc_wait_close(&c, T(3000)), RC_EOF);
    rc_close(&c);
    srvfix_expect_closed(fx, TETHER_CLOSE_IDLE_TIMEOUT, 1, &s);
    assert_int_equal(s.stats.rst_sent, 0);
    srvfix_end(state);
}

/*
 * S2 without tricks: a next request sent from 20 ms before to 20 ms after the idle deadline,
 * 21 times. Each is served or, when the server's FIN won, meets EOF: never ECONNRESET.
 */
static void test_requests_around_deadline_never_reset(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    unsigned served = 0, eof = 0, reset = 0, other = 0;
    for (int i = 0; i <= 20; i++) {
        int offset = -20 + 2 * i;
        struct rc c;
        struct rc_response r;
        ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
        ASSERT_RC(rc_get(&c, "/first", 200, &r, T(2000)), RC_OK);
        uint64_t deadline = r.at_ms + idle_deadline_ms(&o);
        rc_sleep_until((uint64_t)((int64_t)deadline + offset));
        int rv = rc_send_get(&c, "/late");
        if (rv == RC_OK) {
            rv = rc_read_response(&c, &r, T(2000));
        }
        if (rv == RC_OK && r.status == 200) {
            served++;
        } else if (rv == RC_EOF) {
            eof++;
        } else if (rv == RC_RESET) {
            reset++;
            rc_note("offset %+d ms: ECONNRESET", offset);
        } else {
            other++;
            rc_note("offset %+d ms: %s (status %d)", offset, rc_result_name(rv), r.status);
        }
        rc_close(&c);
    }
    assert_true(srvfix_wait_open(fx, 0, T(5000)));
    struct srvfix_snapshot s;
    srvfix_snapshot(fx, &s);
    rc_note("around the deadline: %u served, %u EOF, %u reset, %u other; pending_rescued %llu, "
            "rst_sent %llu",
            served, eof, reset, other, (unsigned long long)s.stats.pending_rescued,
            (unsigned long long)s.stats.rst_sent);
    assert_int_equal(reset, 0);
    assert_int_equal(other, 0);
    assert_int_equal(s.stats.rst_sent, 0);
    assert_int_equal(served + eof, 21);
    srvfix_end(state);
}

/* S1: Keep-Alive: timeout=floor(keep_alive_timeout_ms / 1000). */
static void test_keep_alive_hint(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.keep_alive_timeout_ms = 2000;
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    char v[128];
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_get(&c, "/", 200, &r, T(2000)), RC_OK);
    assert_true(rc_header_has_token(&r, "Connection", "keep-alive"));
    assert_true(rc_header(&r, "Keep-Alive", v, sizeof(v)));
    if (strncmp(v, "timeout=2", 9) != 0 || (v[9] != '\0' && v[9] != ',')) {
        fail_msg("Keep-Alive: %s, expected timeout=2", v);
    }
    /* The connection is really kept. */
    ASSERT_RC(rc_get(&c, "/again", 200, &r, T(2000)), RC_OK);
    rc_close(&c);
    assert_true(srvfix_wait_open(fx, 0, T(3000)));
    srvfix_end(state);
}

static void test_no_keep_alive_hint(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.keep_alive_timeout_ms = 2000;
    o.no_keep_alive_hint = true;
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    char v[128];
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_get(&c, "/", 200, &r, T(2000)), RC_OK);
    assert_false(rc_header(&r, "Keep-Alive", v, sizeof(v)));
    assert_false(rc_header_has_token(&r, "Connection", "close"));
    ASSERT_RC(rc_get(&c, "/again", 200, &r, T(2000)), RC_OK);
    rc_close(&c);
    assert_true(srvfix_wait_open(fx, 0, T(3000)));
    srvfix_end(state);
}

/* keep_alive_timeout_ms == 0: every response says Connection: close, then a graceful close. */
static void test_keep_alive_off_connection_close(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.keep_alive_timeout_ms = 0;
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    char v[128];
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_get(&c, "/", 200, &r, T(2000)), RC_OK);
    assert_true(rc_header_has_token(&r, "Connection", "close"));
    assert_false(rc_header(&r, "Keep-Alive", v, sizeof(v)));
    ASSERT_RC(rc_wait_close(&c, T(2000)), RC_EOF);
    rc_close(&c);
    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_NOT_KEEP_ALIVE, 1, &s);
    assert_int_equal(s.stats.rst_sent, 0);
    srvfix_end(state);
}

/* A client asking for Connection: close gets it and a FIN, and HTTP/1.0 is not kept either. */
static void test_client_close_and_http10(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_send_str(&c, "GET /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"), RC_OK);
    ASSERT_RC(rc_read_response(&c, &r, T(2000)), RC_OK);
    assert_int_equal(r.status, 200);
    assert_true(rc_header_has_token(&r, "Connection", "close"));
    ASSERT_RC(rc_wait_close(&c, T(2000)), RC_EOF);
    rc_close(&c);

    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_send_str(&c, "GET /old HTTP/1.0\r\n\r\n"), RC_OK);
    ASSERT_RC(rc_read_response(&c, &r, T(2000)), RC_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "/old");
    ASSERT_RC(rc_wait_close(&c, T(2000)), RC_EOF);
    rc_close(&c);
    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_NOT_KEEP_ALIVE, 2, &s);
    assert_int_equal(s.stats.rst_sent, 0);
    srvfix_end(state);
}

/*
 * close_style NODE reproduces Node's destroy(): the same request forced to arrive at the
 * deadline is not served; the plain close() with the request unread in the kernel sends RST
 * (the kernel's rule), so the client reads ECONNRESET. The stats count an idle timeout.
 */
static void test_close_style_node_counts_idle_timeout(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.close_style = TETHER_CLOSE_NODE;
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    uint64_t t_sent = rc_now_ms();
    ASSERT_RC(rc_get(&c, "/first", 200, &r, T(2000)), RC_OK);
    int sent = send_across_stalled_deadline(fx, &o, &c, t_sent);
    int rv = sent == RC_OK ? rc_read_response(&c, &r, T(2000)) : sent;
    rc_close(&c);
    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_IDLE_TIMEOUT, 1, &s);
    rc_note("close-style node, request at the deadline: client saw %s; server rst_sent %llu, "
            "fin_sent %llu",
            rc_result_name(rv), (unsigned long long)s.stats.rst_sent,
            (unsigned long long)s.stats.fin_sent);
    assert_int_equal(s.stats.pending_rescued, 0);
    ASSERT_RC(rv, RC_RESET);
    assert_int_equal(s.stats.rst_sent, 1);
    srvfix_end(state);
}

/* close_style RST: the idle client reads ECONNRESET and the server counts one RST. */
static void test_close_style_rst(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.close_style = TETHER_CLOSE_RST;
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_get(&c, "/", 200, &r, T(2000)), RC_OK);
    ASSERT_RC(rc_wait_close(&c, T(3000)), RC_RESET);
    rc_close(&c);
    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_IDLE_TIMEOUT, 1, &s);
    assert_int_equal(s.stats.rst_sent, 1);
    assert_int_equal(s.stats.fin_sent, 0);
    srvfix_end(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_idle_close_is_eof, srvfix_teardown),
        cmocka_unit_test_teardown(test_idle_close_before_first_request, srvfix_teardown),
        cmocka_unit_test_teardown(test_request_at_deadline_with_stalled_loop_is_served,
                                  srvfix_teardown),
        cmocka_unit_test_teardown(test_requests_around_deadline_never_reset, srvfix_teardown),
        cmocka_unit_test_teardown(test_keep_alive_hint, srvfix_teardown),
        cmocka_unit_test_teardown(test_no_keep_alive_hint, srvfix_teardown),
        cmocka_unit_test_teardown(test_keep_alive_off_connection_close, srvfix_teardown),
        cmocka_unit_test_teardown(test_client_close_and_http10, srvfix_teardown),
        cmocka_unit_test_teardown(test_close_style_node_counts_idle_timeout, srvfix_teardown),
        cmocka_unit_test_teardown(test_close_style_rst, srvfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
