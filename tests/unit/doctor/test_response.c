/* SPDX-License-Identifier: MIT */
/* The doctor's response reader: framing by Content-Length, chunked and close, responses fed a
 * byte at a time, 1xx heads skipped, pipelined bytes left for the next response, malformed
 * input refused; and the Keep-Alive hint parser. */
#include <string.h>

#include "test.h"

#include "doctor/doctor_int.h"
#include "tether/error.h"

/* Feeds `text` in pieces of `step` bytes; returns the last tt__dr_feed result and leaves the
 * unconsumed bytes in buf/len. */
static int feed(struct dr_response *r, const char *text, size_t step, char *buf, size_t *len)
{
    size_t n = strlen(text);
    int rv = 0;
    *len = 0;
    for (size_t off = 0; off < n && rv == 0; off += step) {
        size_t k = n - off < step ? n - off : step;
        memcpy(buf + *len, text + off, k);
        *len += k;
        rv = tt__dr_feed(r, buf, len);
    }
    return rv;
}

struct frame_case {
    const char *text;
    int want; /* 1 complete, 0 needs more, TETHER_EHTTP */
    int status;
    bool conn_close;
    size_t left; /* bytes left after a complete response */
};

static void test_framing(void **state)
{
    (void)state;
    static const struct frame_case cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n", 1, 200, false, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\nHTTP/1.1", 1, 200, false, 8},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nok\n\r\n0\r\nT: 1\r\n\r\n",
         1, 200, false, 0},
        {"HTTP/1.1 204 No Content\r\n\r\n", 1, 204, false, 0},
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 1, 201,
         false, 0},
        {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 1, 200, true, 0},
        {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 1, 200, true, 0},
        {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", 1, 200, false,
         0},
        /* No length: the body runs to the close. */
        {"HTTP/1.1 200 OK\r\n\r\nabc", 0, 200, true, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", 0, 200, false, 0},
        {"HTTP/1.1 200 OK\nContent-Length: 0\n\n", 1, 200, false, 0},
        {"HTTP/2 200\r\n\r\n", TETHER_EHTTP, 0, false, 0},
        {"SSH-2.0-OpenSSH\r\n\r\n", TETHER_EHTTP, 0, false, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", TETHER_EHTTP, 0, false, 0},
        {"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", TETHER_EHTTP, 0, false, 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", TETHER_EHTTP, 0, false, 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n", TETHER_EHTTP, 0,
         false, 0},
    };
    static char buf[4096];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t step = 1; step <= 64; step *= 4) {
            struct dr_response r;
            tt__dr_reset(&r);
            size_t len = 0;
            int rv = feed(&r, cases[i].text, step, buf, &len);
            if (rv != cases[i].want) {
                fail_msg("case %zu step %zu: %d, expected %d", i, step, rv, cases[i].want);
            }
            if (rv < 0) {
                continue;
            }
            assert_int_equal(r.status, cases[i].status);
            assert_int_equal(r.conn_close, cases[i].conn_close);
            if (rv == 1 && step == 64) {
                assert_int_equal(len, cases[i].left);
            }
        }
    }
}

static void test_fields(void **state)
{
    (void)state;
    static char buf[1024];
    const char *text = "HTTP/1.1 503 Service Unavailable\r\nServer: nginx/1.22.1\r\n"
                       "Via: 1.1 google\r\nKeep-Alive:  timeout=5, max=100 \r\n"
                       "Connection: Keep-Alive\r\nContent-Length: 0\r\n\r\n";
    struct dr_response r;
    tt__dr_reset(&r);
    size_t len = 0;
    assert_int_equal(feed(&r, text, 4096, buf, &len), 1);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.reason, "Service Unavailable");
    assert_string_equal(r.keep_alive, "timeout=5, max=100");
    assert_string_equal(r.connection, "Keep-Alive");
    assert_int_equal(r.nhints, 2);
    assert_string_equal(r.hints[0], "server: nginx/1.22.1");
    assert_string_equal(r.hints[1], "via: 1.1 google");
    /* EOF completes only a close-delimited body. */
    assert_true(tt__dr_eof_completes(&r));
    tt__dr_reset(&r);
    assert_int_equal(feed(&r, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab", 4096, buf, &len),
                     0);
    assert_false(tt__dr_eof_completes(&r));
}

static void test_keep_alive(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        bool present, has_timeout, has_max, not_first;
        uint64_t timeout, max;
    } cases[] = {
        {"timeout=5, max=100", true, true, true, false, 5, 100},
        {"timeout=5", true, true, false, false, 5, 0},
        {"max=100, timeout=5", true, true, true, true, 5, 100},
        {"TIMEOUT = 65", true, true, false, false, 65, 0},
        {"timeout=x, max=7", true, false, true, false, 0, 7},
        {"", false, false, false, false, 0, 0},
        {"max=3", true, false, true, false, 0, 3},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tether_doctor_result r;
        memset(&r, 0, sizeof(r));
        tt__dr_parse_keep_alive(cases[i].v, &r);
        if (r.hint_present != cases[i].present || r.hint_has_timeout != cases[i].has_timeout ||
            r.hint_has_max != cases[i].has_max || r.hint_timeout_not_first != cases[i].not_first ||
            r.hint_timeout_s != cases[i].timeout || r.hint_max != cases[i].max) {
            fail_msg("'%s': parsed wrong", cases[i].v);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_keep_alive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
