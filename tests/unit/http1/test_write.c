/* SPDX-License-Identifier: MIT */
/* The writer: exact bytes, refusal of injected CR/LF, round trips through the parser. */
#include "http1/http1.h"
#include "test.h"

static struct tt__h1_field field(const char *n, const char *v)
{
    struct tt__h1_field f = {{n, strlen(n)}, {v, strlen(v)}};
    return f;
}

static void test_request_head_bytes(void **state)
{
    (void)state;
    struct tt__buf b;
    tt__buf_init(&b, 4096);
    struct tt__h1_field f[] = {field("Host", "example.com"), field("Content-Length", "2")};
    ASSERT_OK(tt__h1_write_request_head(&b, "POST", "/x", f, 2));
    ASSERT_SPAN_EQ(b.data, b.len,
                   "POST /x HTTP/1.1\r\nHost: example.com\r\nContent-Length: 2\r\n\r\n");

    /* It parses back to what was written. */
    struct tt__h1_parser p;
    struct tt__h1_field out[4];
    struct tt__h1_head h = {.fields = out, .fields_cap = 4};
    tt__h1_parser_init(&p, NULL);
    assert_int_equal(tt__h1_parse_request(&p, b.data, b.len, &h), (int)b.len);
    assert_int_equal(h.content_length, 2);
    tt__buf_cleanup(&b);
}

static void test_response_head_bytes(void **state)
{
    (void)state;
    struct tt__buf b;
    tt__buf_init(&b, 4096);
    struct tt__h1_field f[] = {field("Keep-Alive", "timeout=65")};
    ASSERT_OK(tt__h1_write_response_head(&b, 404, NULL, f, 1));
    ASSERT_SPAN_EQ(b.data, b.len, "HTTP/1.1 404 Not Found\r\nKeep-Alive: timeout=65\r\n\r\n");
    tt__buf_reset(&b);
    ASSERT_OK(tt__h1_write_response_head(&b, 599, NULL, NULL, 0));
    ASSERT_SPAN_EQ(b.data, b.len, "HTTP/1.1 599 Unknown\r\n\r\n");
    assert_string_equal(tt__h1_status_reason(429), "Too Many Requests");
    /* The public lookup says "" where the writer says "Unknown". */
    assert_string_equal(tether_http_reason(503), "Service Unavailable");
    assert_string_equal(tether_http_reason(451), "Unavailable For Legal Reasons");
    assert_string_equal(tether_http_reason(599), "");
    tt__buf_cleanup(&b);
}

static void test_refuses_injection(void **state)
{
    (void)state;
    struct tt__buf b;
    tt__buf_init(&b, 4096);
    ASSERT_OK(tt__buf_append_str(&b, "keep"));
    struct tt__h1_field bad_value[] = {field("Host", "a"), field("X", "1\r\nEvil: 2")};
    ASSERT_ERR(tt__h1_write_request_head(&b, "GET", "/", bad_value, 2), TETHER_EINVAL);
    /* Nothing half-written is left behind. */
    ASSERT_SPAN_EQ(b.data, b.len, "keep");
    struct tt__h1_field bad_name[] = {field("Bad Name", "v")};
    ASSERT_ERR(tt__h1_write_response_head(&b, 200, NULL, bad_name, 1), TETHER_EINVAL);
    ASSERT_SPAN_EQ(b.data, b.len, "keep");
    ASSERT_ERR(tt__h1_write_request_head(&b, "G ET", "/", NULL, 0), TETHER_EINVAL);
    ASSERT_ERR(tt__h1_write_request_head(&b, "GET", "/a b", NULL, 0), TETHER_EINVAL);
    ASSERT_ERR(tt__h1_write_request_head(&b, "GET", "", NULL, 0), TETHER_EINVAL);
    ASSERT_ERR(tt__h1_write_response_head(&b, 99, NULL, NULL, 0), TETHER_EINVAL);
    ASSERT_ERR(tt__h1_write_response_head(&b, 200, "O\nK", NULL, 0), TETHER_EINVAL);
    ASSERT_ERR(tt__h1_write_field(&b, "X", 1, " lead", 5), TETHER_EINVAL);
    ASSERT_SPAN_EQ(b.data, b.len, "keep");
    tt__buf_cleanup(&b);
}

static void test_chunks_round_trip(void **state)
{
    (void)state;
    struct tt__buf b;
    tt__buf_init(&b, 1 << 16);
    char data[300];
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (char)(i * 7);
    }
    ASSERT_OK(tt__h1_write_chunk(&b, data, 1));
    ASSERT_OK(tt__h1_write_chunk(&b, data + 1, 299));
    ASSERT_ERR(tt__h1_write_chunk(&b, data, 0), TETHER_EINVAL);
    ASSERT_OK(tt__h1_write_last_chunk(&b));
    assert_memory_equal(b.data, "1\r\n", 3);
    assert_memory_equal(b.data + 6, "12b\r\n", 5);
    assert_memory_equal(b.data + b.len - 5, "0\r\n\r\n", 5);

    struct tt__h1_chunked c;
    tt__h1_chunked_init(&c, NULL);
    char got[300];
    size_t got_len = 0;
    size_t off = 0;
    int rv = 0;
    while (rv == 0 && off < b.len) {
        size_t used;
        struct tt__h1_str d;
        rv = tt__h1_chunked_decode(&c, b.data + off, b.len - off, &used, &d);
        assert_true(rv >= 0);
        memcpy(got + got_len, d.ptr ? d.ptr : "", d.len);
        got_len += d.len;
        off += used;
    }
    assert_int_equal(rv, TT__H1_CHUNKED_DONE);
    assert_int_equal(off, b.len);
    assert_int_equal(got_len, sizeof(data));
    assert_memory_equal(got, data, sizeof(data));
    assert_int_equal(c.body_len, sizeof(data));
    tt__buf_cleanup(&b);
}

static void test_chunked_limits(void **state)
{
    (void)state;
    struct tt__h1_limits lim;
    tt__h1_limits_default(&lim);
    lim.max_chunk_ext_bytes = 8;
    struct tt__h1_chunked c;
    size_t used;
    struct tt__h1_str d;
    tt__h1_chunked_init(&c, &lim);
    const char *ok = "1;abcdef=g\r\nx\r\n0\r\n\r\n";
    /* ";abcdef=g" is 9 bytes: one past the limit. */
    ASSERT_ERR(tt__h1_chunked_decode(&c, ok, strlen(ok), &used, &d), TETHER_EHTTP);
    assert_int_equal(c.error, TT__H1_ERR_CHUNK_EXT_TOO_LARGE);
    tt__h1_chunked_init(&c, &lim);
    const char *fits = "1;abcd=g\r\nx\r\n0\r\n\r\nNEXT";
    size_t off = 0;
    int rv = 0;
    while (rv == 0) {
        rv = tt__h1_chunked_decode(&c, fits + off, strlen(fits) - off, &used, &d);
        off += used;
    }
    assert_int_equal(rv, TT__H1_CHUNKED_DONE);
    assert_string_equal(fits + off, "NEXT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_head_bytes), cmocka_unit_test(test_response_head_bytes),
        cmocka_unit_test(test_refuses_injection),  cmocka_unit_test(test_chunks_round_trip),
        cmocka_unit_test(test_chunked_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
