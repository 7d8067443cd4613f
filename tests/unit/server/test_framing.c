/* SPDX-License-Identifier: MIT */
/*
 * Framing over real sockets (server-pool.md S3, S5, S6, S8, S12): every invalid vector gets its
 * status and a graceful close, a 4xx survives a client that keeps sending (lingering close),
 * header and body deadlines answer 408, pipelining, chunked bodies and 100-continue.
 */
#include <stdlib.h>

#include "http1/http1.h"
#include "test.h"

#include "rawclient.h"
#include "vectors.h"

#define T(ms) tt_test_scale_ms(ms)

/* Sends `total` junk bytes in 4 KiB writes; every write must succeed (no RST from the server). */
static void send_junk(struct rc *c, size_t total)
{
    char junk[4096];
    memset(junk, 'x', sizeof(junk));
    for (size_t sent = 0; sent < total; sent += sizeof(junk)) {
        ASSERT_RC(rc_send(c, junk, sizeof(junk)), RC_OK);
    }
}

/* S3: after a 400 the client keeps sending, then reads: the whole 400, then EOF, never RST. */
static void test_400_survives_client_still_sending(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_send_str(&c, "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                              "Content-Length: 2\r\n\r\n"),
              RC_OK);
    /* Keep sending once the 400 is there: the server has answered and closed its side. */
    assert_true(rc_readable(&c, T(3000)));
    send_junk(&c, 256 * 1024);
    rc_shutdown_write(&c);
    ASSERT_RC(rc_read_response(&c, &r, T(3000)), RC_OK);
    assert_int_equal(r.status, 400);
    assert_true(rc_header_has_token(&r, "Connection", "close"));
    assert_true(r.body_len > 0);
    ASSERT_RC(rc_wait_close(&c, T(3000)), RC_EOF);
    rc_close(&c);
    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_PARSE_ERROR, 1, &s);
    assert_int_equal(s.stats.rst_sent, 0);
    assert_int_equal(s.stats.responses_by_class[4], 1);
    srvfix_end(state);
}

/* S8/S3: a body over max_body_bytes is refused with 413 at once; the client is still sending
 * the body and must still read the 413. */
static void test_413_survives_body_upload(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.max_body_bytes = 1000;
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_send_str(&c, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 204800\r\n\r\n"),
              RC_OK);
    send_junk(&c, 204800);
    ASSERT_RC(rc_read_response(&c, &r, T(3000)), RC_OK);
    assert_int_equal(r.status, 413);
    rc_shutdown_write(&c);
    ASSERT_RC(rc_wait_close(&c, T(3000)), RC_EOF);
    rc_close(&c);
    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_PARSE_ERROR, 1, &s);
    assert_int_equal(s.stats.rst_sent, 0);
    assert_int_equal(s.requests_seen, 0);
    srvfix_end(state);
}

/* Sends one invalid message; returns a failure description or NULL. */
static const char *vector_over_wire(struct srvfix *fx, const struct tt_vector *v, const char *head,
                                    char *why, size_t why_len)
{
    struct rc c;
    struct rc_response r;
    if (rc_connect(&c, fx->port) != RC_OK) {
        snprintf(why, why_len, "connect failed");
        return why;
    }
    int rv = head ? rc_send_str(&c, head) : RC_OK;
    if (rv == RC_OK) {
        rv = rc_send(&c, v->data.ptr, v->data.len);
    }
    if (rv != RC_OK) {
        snprintf(why, why_len, "send: %s", rc_result_name(rv));
        rc_close(&c);
        return why;
    }
    rv = rc_read_response(&c, &r, T(3000));
    if (rv != RC_OK || r.status != v->status) {
        snprintf(why, why_len, "response: %s, status %d (expected %d)", rc_result_name(rv),
                 r.status, v->status);
        rc_close(&c);
        return why;
    }
    if (!rc_header_has_token(&r, "Connection", "close")) {
        snprintf(why, why_len, "%d without Connection: close", r.status);
        rc_close(&c);
        return why;
    }
    rv = rc_wait_close(&c, T(3000));
    rc_close(&c);
    if (rv != RC_EOF) {
        snprintf(why, why_len, "after the %d: %s instead of EOF", r.status, rc_result_name(rv));
        return why;
    }
    return NULL;
}

/* S12: every invalid request vector (and every invalid chunked body, behind a chunked POST to a
 * handler that waits for the body) gets tt__h1_err_status() of its error, then EOF. */
static void test_invalid_vectors_over_the_wire(void **state)
{
    struct tt_vec_set set;
    char err[256];
    if (tt_vec_load_env(&set, err, sizeof(err)) != 0) {
        fail_msg("loading vectors: %s", err);
    }
    struct tether_server_options o;
    srvfix_options(&o);
    o.headers_timeout_ms = T(5000); /* no vector may pass by timing out */
    struct srvfix *fx = srvfix_begin(state, &o);
    unsigned sent = 0, failed = 0, chunked = 0;
    for (size_t i = 0; i < set.n; i++) {
        const struct tt_vector *v = &set.v[i];
        if (v->ok || (v->type != TT_VEC_REQUEST && v->type != TT_VEC_CHUNKED)) {
            continue;
        }
        int e = tt__h1_err_from_name(v->expect, strlen(v->expect));
        if (e < 0 || tt__h1_err_status((enum tt__h1_error)e) != v->status) {
            rc_note("%s:%d %s: status %d is not tt__h1_err_status(%s)", v->file, v->line, v->name,
                    v->status, v->expect);
            failed++;
            continue;
        }
        const char *head =
            v->type == TT_VEC_CHUNKED
                ? "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                : NULL;
        char why[200];
        const char *fail = vector_over_wire(fx, v, head, why, sizeof(why));
        sent++;
        chunked += v->type == TT_VEC_CHUNKED;
        if (fail) {
            rc_note("%s:%d %s (%s): %s", v->file, v->line, v->name, v->expect, fail);
            failed++;
        }
    }
    rc_note("%u invalid vectors sent (%u chunked bodies), %u failed", sent, chunked, failed);
    assert_true(sent >= 50);
    struct srvfix_snapshot s;
    assert_true(srvfix_wait_open(fx, 0, T(5000)));
    srvfix_snapshot(fx, &s);
    tt_vec_free(&set);
    assert_int_equal(failed, 0);
    assert_int_equal(s.stats.closes[TETHER_CLOSE_PARSE_ERROR], sent);
    assert_int_equal(s.stats.rst_sent, 0);
    assert_int_equal(s.body_errors, chunked);
    srvfix_end(state);
}

/* S5: a head that stops arriving gets 408 at headers_timeout_ms, then a graceful close. */
static void test_slow_headers_get_408(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    uint64_t t0 = rc_now_ms();
    ASSERT_RC(rc_send_str(&c, "GET / HTTP/1.1\r\n"), RC_OK);
    ASSERT_RC(rc_read_response(&c, &r, o.headers_timeout_ms + T(2000)), RC_OK);
    uint64_t took = r.at_ms - t0;
    rc_note("408 after %llu ms (headers_timeout_ms %llu)", (unsigned long long)took,
            (unsigned long long)o.headers_timeout_ms);
    assert_int_equal(r.status, 408);
    assert_true(rc_header_has_token(&r, "Connection", "close"));
    assert_true(took + 10 >= o.headers_timeout_ms);
    assert_true(took <= o.headers_timeout_ms + T(1500));
    ASSERT_RC(rc_wait_close(&c, T(3000)), RC_EOF);
    rc_close(&c);
    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_HEADER_TIMEOUT, 1, &s);
    assert_int_equal(s.stats.rst_sent, 0);
    srvfix_end(state);
}

/* S5 is a total deadline: a header trickled a byte every 50 ms still gets 408 on time. */
static void test_trickled_header_gets_408_at_total_deadline(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    uint64_t t0 = rc_now_ms();
    ASSERT_RC(rc_send_str(&c, "GET / HTTP/1.1\r\nHost: a\r\nX-Slow: "), RC_OK);
    unsigned trickled = 0;
    while (rc_now_ms() - t0 < o.headers_timeout_ms + T(2000) && !rc_readable(&c, 50)) {
        ASSERT_RC(rc_send(&c, "a", 1), RC_OK);
        trickled++;
    }
    ASSERT_RC(rc_read_response(&c, &r, T(1000)), RC_OK);
    uint64_t took = r.at_ms - t0;
    rc_note("408 after %llu ms, %u bytes trickled", (unsigned long long)took, trickled);
    assert_int_equal(r.status, 408);
    /* How many bytes a busy machine trickles is its own business; that the trickle did not
     * move the deadline is the upper bound below (an inactivity timer would answer only after
     * the trickling stopped, seconds later). */
    assert_true(trickled >= 1);
    assert_true(took + 10 >= o.headers_timeout_ms);
    assert_true(took <= o.headers_timeout_ms + T(1500));
    rc_shutdown_write(&c);
    ASSERT_RC(rc_wait_close(&c, T(3000)), RC_EOF);
    rc_close(&c);
    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_HEADER_TIMEOUT, 1, &s);
    assert_int_equal(s.stats.rst_sent, 0);
    srvfix_end(state);
}

/* S6: Content-Length 10 with 3 bytes sent: 408 after body_timeout_ms; the handler waiting for
 * the body is told it failed. */
static void test_body_timeout_gets_408(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    uint64_t t0 = rc_now_ms();
    ASSERT_RC(rc_send_str(&c, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"),
              RC_OK);
    ASSERT_RC(rc_read_response(&c, &r, o.body_timeout_ms + T(2000)), RC_OK);
    uint64_t took = r.at_ms - t0;
    rc_note("408 after %llu ms (body_timeout_ms %llu)", (unsigned long long)took,
            (unsigned long long)o.body_timeout_ms);
    assert_int_equal(r.status, 408);
    assert_true(took + 10 >= o.body_timeout_ms);
    assert_true(took <= o.body_timeout_ms + T(1500));
    ASSERT_RC(rc_wait_close(&c, T(3000)), RC_EOF);
    rc_close(&c);
    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_BODY_TIMEOUT, 1, &s);
    assert_int_equal(s.stats.rst_sent, 0);
    assert_int_equal(s.body_errors, 1);
    srvfix_end(state);
}

/* Three requests in one write (the first one slow): three responses, in order. */
static void test_pipelined_requests_answered_in_order(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_send_str(&c, "GET /delay/100 HTTP/1.1\r\nHost: a\r\n\r\n"
                              "GET /b HTTP/1.1\r\nHost: a\r\n\r\n"
                              "GET /c HTTP/1.1\r\nHost: a\r\n\r\n"),
              RC_OK);
    ASSERT_RC(rc_read_response(&c, &r, T(2000)), RC_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "delayed");
    ASSERT_RC(rc_read_response(&c, &r, T(2000)), RC_OK);
    assert_string_equal(r.body, "/b");
    ASSERT_RC(rc_read_response(&c, &r, T(2000)), RC_OK);
    assert_string_equal(r.body, "/c");
    assert_false(rc_header_has_token(&r, "Connection", "close"));
    rc_close(&c);
    struct srvfix_snapshot s;
    assert_true(srvfix_wait_open(fx, 0, T(3000)));
    srvfix_snapshot(fx, &s);
    assert_int_equal(s.stats.requests, 3);
    srvfix_end(state);
}

/* A chunked request body, split across writes, with an extension and a trailer, reaches
 * tether_request_on_body intact. */
static void test_chunked_body_delivered_intact(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    static const char *const pieces[] = {
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        "lo\r\n1;name=value\r\n \r\n",
        "6\r\nworld!\r\n0\r\nX-Trailer: yes\r\n\r\n",
    };
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        ASSERT_RC(rc_send_str(&c, pieces[i]), RC_OK);
        rc_sleep_ms(T(20));
    }
    ASSERT_RC(rc_read_response(&c, &r, T(2000)), RC_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello world!");
    /* The connection is still usable afterwards. */
    ASSERT_RC(rc_get(&c, "/next", 200, &r, T(2000)), RC_OK);
    rc_close(&c);
    assert_true(srvfix_wait_open(fx, 0, T(3000)));
    srvfix_end(state);
}

/* Expect: 100-continue gets "HTTP/1.1 100 Continue" before the client sends the body. */
static void test_expect_100_continue(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_send_str(&c, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                              "Expect: 100-continue\r\n\r\n"),
              RC_OK);
    ASSERT_RC(rc_read_response(&c, &r, T(2000)), RC_OK);
    assert_int_equal(r.status, 100);
    assert_int_equal(r.minor, 1);
    ASSERT_RC(rc_send_str(&c, "hello"), RC_OK);
    ASSERT_RC(rc_read_response(&c, &r, T(2000)), RC_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello");
    rc_close(&c);
    assert_true(srvfix_wait_open(fx, 0, T(3000)));
    srvfix_end(state);
}

/* server.h: the body callback runs "then once with done = true": also for a request without a
 * body, so a handler that answers on done is not left waiting. */
static void test_body_callback_done_without_body(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_get(&c, "/echo", 200, &r, T(1000)), RC_OK);
    assert_int_equal(r.body_len, 0);
    rc_close(&c);
    assert_true(srvfix_wait_open(fx, 0, T(3000)));
    srvfix_end(state);
}

/*
 * A handler that answers before reading the body: if the rest of the body then breaks the
 * framing (or stalls), the response already sent is the only one the client may see. A second,
 * unsolicited 400/408 after a complete 200 would be read as the answer to the client's next
 * request. The connection must just close gracefully.
 */
static void test_no_second_response_after_early_answer(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    static const char *const cases[] = {
        "POST /early HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "POST /early HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
    };
    unsigned bad = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
        ASSERT_RC(rc_send_str(&c, cases[i]), RC_OK);
        ASSERT_RC(rc_read_response(&c, &r, T(2000)), RC_OK);
        assert_int_equal(r.status, 200);
        int rv = rc_wait_close(&c, o.body_timeout_ms + T(2000));
        if (rv != RC_EOF) {
            int more = rv == RC_DATA ? rc_read_response(&c, &r, T(500)) : rv;
            rc_note("case %zu: after the 200, %s%s%d", i, rc_result_name(rv),
                    more == RC_OK ? ": a second response, status " : "",
                    more == RC_OK ? r.status : 0);
            bad++;
        }
        rc_close(&c);
    }
    assert_true(srvfix_wait_open(fx, 0, T(3000)));
    srvfix_end(state);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_400_survives_client_still_sending, srvfix_teardown),
        cmocka_unit_test_teardown(test_413_survives_body_upload, srvfix_teardown),
        cmocka_unit_test_teardown(test_invalid_vectors_over_the_wire, srvfix_teardown),
        cmocka_unit_test_teardown(test_slow_headers_get_408, srvfix_teardown),
        cmocka_unit_test_teardown(test_trickled_header_gets_408_at_total_deadline, srvfix_teardown),
        cmocka_unit_test_teardown(test_body_timeout_gets_408, srvfix_teardown),
        cmocka_unit_test_teardown(test_pipelined_requests_answered_in_order, srvfix_teardown),
        cmocka_unit_test_teardown(test_chunked_body_delivered_intact, srvfix_teardown),
        cmocka_unit_test_teardown(test_expect_100_continue, srvfix_teardown),
        cmocka_unit_test_teardown(test_body_callback_done_without_body, srvfix_teardown),
        cmocka_unit_test_teardown(test_no_second_response_after_early_answer, srvfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
