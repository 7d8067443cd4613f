/* SPDX-License-Identifier: MIT */
/* The head parser's API contract: incremental use, zero-copy spans, limits, sticky errors. */
#include "http1/http1.h"
#include "test.h"

#define REQ                                                                                        \
    "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nX-Pad:  v  \r\nContent-Length: 3\r\n\r\nabc"

static void test_request_spans_point_into_buffer(void **state)
{
    (void)state;
    struct tt__h1_parser p;
    struct tt__h1_field fields[8];
    struct tt__h1_head h = {.fields = fields, .fields_cap = 8};
    const char *buf = REQ;
    size_t len = strlen(buf);
    tt__h1_parser_init(&p, NULL);
    int rv = tt__h1_parse_request(&p, buf, len, &h);
    assert_int_equal(rv, (int)(len - 3));
    assert_int_equal(h.head_len, len - 3);
    assert_ptr_equal(h.method.ptr, buf);
    ASSERT_SPAN_EQ(h.method.ptr, h.method.len, "GET");
    ASSERT_SPAN_EQ(h.target.ptr, h.target.len, "/a?b=c");
    assert_int_equal(h.version_minor, 1);
    assert_int_equal(h.nfields, 3);
    ASSERT_SPAN_EQ(h.fields[1].name.ptr, h.fields[1].name.len, "X-Pad");
    ASSERT_SPAN_EQ(h.fields[1].value.ptr, h.fields[1].value.len, "v");
    ASSERT_SPAN_EQ(h.host.ptr, h.host.len, "example.com");
    assert_int_equal(h.body, TT__H1_BODY_LENGTH);
    assert_int_equal(h.content_length, 3);
    assert_true(h.keep_alive);
    const struct tt__h1_field *f = tt__h1_head_find(&h, "content-LENGTH");
    assert_non_null(f);
    ASSERT_SPAN_EQ(f->value.ptr, f->value.len, "3");
    assert_null(tt__h1_head_find(&h, "Missing"));
}

static void test_incremental_then_reset(void **state)
{
    (void)state;
    struct tt__h1_parser p;
    struct tt__h1_field fields[8];
    struct tt__h1_head h = {.fields = fields, .fields_cap = 8};
    const char *buf = REQ;
    size_t head = strlen(REQ) - 3;
    tt__h1_parser_init(&p, NULL);
    for (size_t k = 1; k < head; k++) {
        ASSERT_ERR(tt__h1_parse_request(&p, buf, k, &h), TETHER_EAGAIN);
        /* Progress is remembered: nothing is searched again, except a CR that is the last
         * byte so far (whether it is bare depends on the next byte). */
        assert_true(p.scan_pos == (buf[k - 1] == '\r' ? k - 1 : k));
    }
    assert_int_equal(tt__h1_parse_request(&p, buf, head, &h), (int)head);
    tt__h1_parser_reset(&p);
    assert_int_equal(tt__h1_parse_request(&p, buf, head + 3, &h), (int)head);
}

static void test_errors_are_sticky(void **state)
{
    (void)state;
    struct tt__h1_parser p;
    struct tt__h1_field fields[8];
    struct tt__h1_head h = {.fields = fields, .fields_cap = 8};
    const char *bad = "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n";
    tt__h1_parser_init(&p, NULL);
    ASSERT_ERR(tt__h1_parse_request(&p, bad, strlen(bad), &h), TETHER_EHTTP);
    assert_int_equal(p.error, TT__H1_ERR_BARE_LF);
    assert_int_equal(p.error_offset, 23);
    assert_int_equal(tt__h1_err_status(p.error), 400);
    const char *good = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    ASSERT_ERR(tt__h1_parse_request(&p, good, strlen(good), &h), TETHER_EHTTP);
    tt__h1_parser_reset(&p);
    assert_int_equal(tt__h1_parse_request(&p, good, strlen(good), &h), (int)strlen(good));
}

static void test_limits(void **state)
{
    (void)state;
    struct tt__h1_limits lim;
    tt__h1_limits_default(&lim);
    assert_int_equal(lim.max_head_bytes, 16384);
    assert_int_equal(lim.max_fields, 100);
    assert_int_equal(lim.max_chunk_ext_bytes, 1024);

    /* A head that never ends fails once it passes the limit, without waiting for more. */
    lim.max_head_bytes = 64;
    struct tt__h1_parser p;
    struct tt__h1_field fields[4];
    struct tt__h1_head h = {.fields = fields, .fields_cap = 4};
    tt__h1_parser_init(&p, &lim);
    char big[80];
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /", 5);
    ASSERT_ERR(tt__h1_parse_request(&p, big, 64, &h), TETHER_EAGAIN);
    ASSERT_ERR(tt__h1_parse_request(&p, big, 65, &h), TETHER_EHTTP);
    assert_int_equal(p.error, TT__H1_ERR_HEAD_TOO_LARGE);
    assert_int_equal(tt__h1_err_status(p.error), 431);

    /* The caller's array is a limit too. */
    tt__h1_parser_init(&p, NULL);
    const char *many = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    ASSERT_ERR(tt__h1_parse_request(&p, many, strlen(many), &h), TETHER_EHTTP);
    assert_int_equal(p.error, TT__H1_ERR_TOO_MANY_FIELDS);
}

static void test_response_framing(void **state)
{
    (void)state;
    struct tt__h1_parser p;
    struct tt__h1_field fields[8];
    struct tt__h1_head h = {.fields = fields, .fields_cap = 8};
    const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nKeep-Alive: timeout=5\r\n\r\n";
    tt__h1_parser_init(&p, NULL);
    assert_int_equal(tt__h1_parse_response(&p, r, strlen(r), &h, "GET"), (int)strlen(r));
    assert_int_equal(h.status, 200);
    ASSERT_SPAN_EQ(h.reason.ptr, h.reason.len, "OK");
    assert_int_equal(h.body, TT__H1_BODY_LENGTH);
    ASSERT_SPAN_EQ(h.keep_alive_value.ptr, h.keep_alive_value.len, "timeout=5");
    tt__h1_parser_reset(&p);
    assert_int_equal(tt__h1_parse_response(&p, r, strlen(r), &h, "HEAD"), (int)strlen(r));
    assert_int_equal(h.body, TT__H1_BODY_NONE);
    assert_int_equal(h.content_length, 10);
    assert_true(h.keep_alive);
}

static void test_error_table(void **state)
{
    (void)state;
    assert_string_equal(tt__h1_err_name(TT__H1_ERR_TE_WITH_CL), "TE_WITH_CL");
    assert_int_equal(tt__h1_err_from_name("TE_WITH_CL", 10), TT__H1_ERR_TE_WITH_CL);
    assert_int_equal(tt__h1_err_from_name("NOPE", 4), -1);
    assert_int_equal(tt__h1_err_status(TT__H1_ERR_TE_UNSUPPORTED), 501);
    assert_int_equal(tt__h1_err_status(TT__H1_ERR_CHUNK_EXT_TOO_LARGE), 413);
    assert_int_equal(tt__h1_err_status(TT__H1_ERR_UNSUPPORTED_VERSION), 505);
    assert_string_equal(tt__h1_err_name((enum tt__h1_error)999), "UNKNOWN");
    for (int e = 1; e < TT__H1_ERR_COUNT; e++) {
        int st = tt__h1_err_status((enum tt__h1_error)e);
        assert_true(st == 400 || st == 413 || st == 431 || st == 501 || st == 505 || st == 502);
        assert_int_equal(tt__h1_err_from_name(tt__h1_err_name((enum tt__h1_error)e),
                                              strlen(tt__h1_err_name((enum tt__h1_error)e))),
                         e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_spans_point_into_buffer),
        cmocka_unit_test(test_incremental_then_reset),
        cmocka_unit_test(test_errors_are_sticky),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_response_framing),
        cmocka_unit_test(test_error_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
