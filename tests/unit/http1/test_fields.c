/* SPDX-License-Identifier: MIT */
/* Field-value parsers, framing and connection fields (Keep-Alive, Content-Length,
 * Transfer-Encoding, Connection): every accepted form with exact results, every rejected form,
 * overflow boundaries, and that a failed parse leaves the caller's output untouched. The
 * fields retries and resumes read are in test_fields_retry.c. */
#include <inttypes.h>

#include "test.h"

#include "http1/http1.h"

/* A string literal as (pointer, length) so embedded bytes and exact lengths are explicit. */
#define S(lit) (lit), (sizeof(lit) - 1)

#define SENTINEL_U64 UINT64_C(0xdeadbeefcafef00d)

/* Table-driven checks report the input that failed; ASSERT_* would only show the expression. */

static void expect_cl(const char *s, int want_rv, uint64_t want)
{
    uint64_t got = SENTINEL_U64;
    int rv = tt__h1_parse_content_length(s, strlen(s), &got);
    if (rv != want_rv) {
        fail_msg("Content-Length \"%s\": %s, expected %s", s, tether_err_name(rv),
                 tether_err_name(want_rv));
    }
    uint64_t expect = want_rv == 0 ? want : SENTINEL_U64;
    if (got != expect) {
        fail_msg("Content-Length \"%s\": got %" PRIu64 ", expected %" PRIu64, s, got, expect);
    }
}

static void expect_ka_bad(const char *s)
{
    struct tt__h1_keep_alive ka = {true, 11, true, 22};
    int rv = tt__h1_parse_keep_alive(s, strlen(s), &ka);
    if (rv != TETHER_EINVAL) {
        fail_msg("Keep-Alive \"%s\": %s, expected EINVAL", s, tether_err_name(rv));
    }
    if (!ka.has_timeout || ka.timeout_s != 11 || !ka.has_max || ka.max != 22) {
        fail_msg("Keep-Alive \"%s\": output written on failure", s);
    }
}

static void expect_te_bad(const char *s)
{
    struct tt__h1_transfer_encoding te = {true, true, true, 99, true};
    int rv = tt__h1_parse_transfer_encoding(s, strlen(s), &te);
    if (rv != TETHER_EINVAL) {
        fail_msg("Transfer-Encoding \"%s\": %s, expected EINVAL", s, tether_err_name(rv));
    }
    if (te.ncodings != 99 || !te.chunked_final || !te.chunked_twice || !te.chunked_not_final ||
        !te.other_codings) {
        fail_msg("Transfer-Encoding \"%s\": output written on failure", s);
    }
}

static void expect_conn(const char *s, int want_rv, unsigned want)
{
    unsigned got = 0x80u;
    int rv = tt__h1_parse_connection(s, strlen(s), &got);
    if (rv != want_rv) {
        fail_msg("Connection \"%s\": %s, expected %s", s, tether_err_name(rv),
                 tether_err_name(want_rv));
    }
    unsigned expect = want_rv == 0 ? want : 0x80u;
    if (got != expect) {
        fail_msg("Connection \"%s\": got %#x, expected %#x", s, got, expect);
    }
}

/* --- Keep-Alive */

static void test_keep_alive_basic(void **state)
{
    (void)state;
    struct tt__h1_keep_alive ka;
    ASSERT_OK(tt__h1_parse_keep_alive(S("timeout=5, max=100"), &ka));
    assert_true(ka.has_timeout);
    assert_int_equal(ka.timeout_s, 5);
    assert_true(ka.has_max);
    assert_int_equal(ka.max, 100);

    ASSERT_OK(tt__h1_parse_keep_alive(S("timeout=65"), &ka));
    assert_true(ka.has_timeout);
    assert_int_equal(ka.timeout_s, 65);
    assert_false(ka.has_max);
    assert_int_equal(ka.max, 0);

    ASSERT_OK(tt__h1_parse_keep_alive(S("max=3"), &ka));
    assert_false(ka.has_timeout);
    assert_int_equal(ka.timeout_s, 0);
    assert_true(ka.has_max);
    assert_int_equal(ka.max, 3);

    ASSERT_OK(tt__h1_parse_keep_alive(S("timeout=0"), &ka));
    assert_true(ka.has_timeout);
    assert_int_equal(ka.timeout_s, 0);
}

static void test_keep_alive_case_ows_quoted(void **state)
{
    (void)state;
    struct tt__h1_keep_alive ka;
    ASSERT_OK(tt__h1_parse_keep_alive(S(" TimeOut = 5 ,\tMAX\t=\t7 "), &ka));
    assert_true(ka.has_timeout && ka.has_max);
    assert_int_equal(ka.timeout_s, 5);
    assert_int_equal(ka.max, 7);

    ASSERT_OK(tt__h1_parse_keep_alive(S("timeout=\"30\", max=\"007\""), &ka));
    assert_int_equal(ka.timeout_s, 30);
    assert_int_equal(ka.max, 7);

    /* A quoted-pair stands for the octet it escapes. */
    ASSERT_OK(tt__h1_parse_keep_alive(S("timeout=\"1\\2\""), &ka));
    assert_int_equal(ka.timeout_s, 12);

    ASSERT_OK(tt__h1_parse_keep_alive(S("timeout=18446744073709551615"), &ka));
    assert_true(ka.timeout_s == UINT64_MAX);
    ASSERT_OK(tt__h1_parse_keep_alive(S("max=000000000000000000000000001"), &ka));
    assert_int_equal(ka.max, 1);
}

static void test_keep_alive_empty_and_unknown(void **state)
{
    (void)state;
    struct tt__h1_keep_alive ka = {true, 1, true, 1};
    ASSERT_OK(tt__h1_parse_keep_alive(S(""), &ka));
    assert_false(ka.has_timeout);
    assert_false(ka.has_max);
    assert_int_equal(ka.timeout_s, 0);
    assert_int_equal(ka.max, 0);

    ka.has_timeout = true;
    ASSERT_OK(tt__h1_parse_keep_alive(NULL, 0, &ka));
    assert_false(ka.has_timeout);
    ASSERT_OK(tt__h1_parse_keep_alive(S(" \t "), &ka));
    assert_false(ka.has_timeout);
    ASSERT_OK(tt__h1_parse_keep_alive(S(", ,,"), &ka));
    assert_false(ka.has_timeout || ka.has_max);

    /* Unknown parameters are skipped, including quoted values holding commas. */
    ASSERT_OK(tt__h1_parse_keep_alive(S("foo, bar=baz, qux=\"a, b\\\" c\", , timeout=3,x-y = \"\""),
                                      &ka));
    assert_true(ka.has_timeout);
    assert_int_equal(ka.timeout_s, 3);
    assert_false(ka.has_max);

    /* Names must match exactly, not by prefix. */
    ASSERT_OK(tt__h1_parse_keep_alive(S("timeouts=5, maximum=9, max2=1"), &ka));
    assert_false(ka.has_timeout || ka.has_max);
    /* An unknown parameter may carry any token, even a non-number. */
    ASSERT_OK(tt__h1_parse_keep_alive(S("foo=bar, baz=-1"), &ka));
}

static void test_keep_alive_duplicates(void **state)
{
    (void)state;
    struct tt__h1_keep_alive ka;
    ASSERT_OK(tt__h1_parse_keep_alive(S("timeout=5, timeout=\"5\", TIMEOUT=005"), &ka));
    assert_int_equal(ka.timeout_s, 5);
    ASSERT_OK(tt__h1_parse_keep_alive(S("max=9, max=9"), &ka));
    assert_int_equal(ka.max, 9);
    expect_ka_bad("timeout=5, timeout=6");
    expect_ka_bad("timeout=5, max=1, Timeout=50");
    expect_ka_bad("max=1, max=2");
}

static void test_keep_alive_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "timeout",
        "timeout=",
        "timeout =",
        "timeout=abc",
        "timeout=-1",
        "timeout=+1",
        "timeout=5s",
        "timeout=0x10",
        "timeout=1.5",
        "timeout=5 max=3",
        "timeout=5;max=3",
        "timeout==5",
        "timeout=\"\"",
        "timeout=\"5",
        "timeout=\"5\"x",
        "timeout=\"5 \"",
        "timeout=\"5\\\"",
        "timeout=\"\\x\"",
        "timeout=18446744073709551616",
        "max=99999999999999999999",
        "=5",
        "foo=",
        "foo bar",
        "foo=@",
        "foo=a b",
        "foo=\"a\x01\"",
        "foo=\"a\x7f\"",
        "foo=\"abc",
        "tim eout=5",
        "\"timeout\"=5",
        "timeout=5, @",
        "timeout=5, max",
    };
    for (size_t i = 0; i < tt__countof(bad); i++) {
        expect_ka_bad(bad[i]);
    }
}

/* --- Content-Length */

static void test_content_length_values(void **state)
{
    (void)state;
    expect_cl("0", 0, 0);
    expect_cl("5", 0, 5);
    expect_cl("007", 0, 7);
    expect_cl("1234567890", 0, 1234567890);
    expect_cl("000000000000000000000000042", 0, 42);
    expect_cl("18446744073709551615", 0, UINT64_MAX);
    expect_cl("018446744073709551615", 0, UINT64_MAX);
    expect_cl(" 5\t", 0, 5);
    /* The list rule: identical values collapse to one. */
    expect_cl("5,5", 0, 5);
    expect_cl("5, 5", 0, 5);
    expect_cl("5 ,\t5 , 05", 0, 5);
    expect_cl("18446744073709551615, 18446744073709551615", 0, UINT64_MAX);
}

static void test_content_length_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",      " ",     "-1",    "+5",   "5x", " 5x",      "5 5",
        "0x10",  "1.0",   "1e3",   "5,,5", "5,", ",5",       ",",
        "5, 6",  "5,5,6", "\"5\"", "five", "5;", "\xd9\xa5", "18446744073709551616x",
        "5, 5x",
    };
    for (size_t i = 0; i < tt__countof(bad); i++) {
        expect_cl(bad[i], TETHER_EINVAL, 0);
    }
    expect_cl("18446744073709551616", TETHER_ERANGE, 0);
    expect_cl("99999999999999999999999", TETHER_ERANGE, 0);
    expect_cl("5, 18446744073709551616", TETHER_ERANGE, 0);

    /* An embedded NUL is junk, not a terminator. */
    uint64_t n = SENTINEL_U64;
    ASSERT_ERR(tt__h1_parse_content_length(S("5\0"), &n), TETHER_EINVAL);
    assert_true(n == SENTINEL_U64);
    ASSERT_ERR(tt__h1_parse_content_length(NULL, 0, &n), TETHER_EINVAL);
    assert_true(n == SENTINEL_U64);
}

static void test_content_length_respects_len(void **state)
{
    (void)state;
    uint64_t n = 0;
    ASSERT_OK(tt__h1_parse_content_length("55x", 1, &n));
    assert_int_equal(n, 5);
    ASSERT_OK(tt__h1_parse_content_length("5, 5, 6", 4, &n));
    assert_int_equal(n, 5);
}

/* --- Transfer-Encoding */

static void test_transfer_encoding_valid(void **state)
{
    (void)state;
    struct tt__h1_transfer_encoding te;

    ASSERT_OK(tt__h1_parse_transfer_encoding(S("chunked"), &te));
    assert_true(te.chunked_final);
    assert_false(te.chunked_twice);
    assert_false(te.chunked_not_final);
    assert_false(te.other_codings);
    assert_int_equal(te.ncodings, 1);

    ASSERT_OK(tt__h1_parse_transfer_encoding(S("ChUnKeD"), &te));
    assert_true(te.chunked_final);
    assert_int_equal(te.ncodings, 1);

    ASSERT_OK(tt__h1_parse_transfer_encoding(S("gzip, chunked"), &te));
    assert_true(te.chunked_final);
    assert_false(te.chunked_twice);
    assert_false(te.chunked_not_final);
    assert_true(te.other_codings);
    assert_int_equal(te.ncodings, 2);

    ASSERT_OK(tt__h1_parse_transfer_encoding(S("chunked, gzip"), &te));
    assert_false(te.chunked_final);
    assert_false(te.chunked_twice);
    assert_true(te.chunked_not_final);
    assert_true(te.other_codings);
    assert_int_equal(te.ncodings, 2);

    ASSERT_OK(tt__h1_parse_transfer_encoding(S("chunked, chunked"), &te));
    assert_true(te.chunked_final);
    assert_true(te.chunked_twice);
    assert_false(te.chunked_not_final);
    assert_false(te.other_codings);
    assert_int_equal(te.ncodings, 2);

    ASSERT_OK(tt__h1_parse_transfer_encoding(S("chunked,gzip,CHUNKED"), &te));
    assert_true(te.chunked_final);
    assert_true(te.chunked_twice);
    assert_true(te.chunked_not_final);
    assert_true(te.other_codings);
    assert_int_equal(te.ncodings, 3);

    ASSERT_OK(tt__h1_parse_transfer_encoding(S("gzip"), &te));
    assert_false(te.chunked_final);
    assert_false(te.chunked_twice);
    assert_false(te.chunked_not_final);
    assert_true(te.other_codings);
    assert_int_equal(te.ncodings, 1);

    /* "chunked" must be the whole token. */
    ASSERT_OK(tt__h1_parse_transfer_encoding(S("chunked2"), &te));
    assert_false(te.chunked_final);
    assert_true(te.other_codings);
}

static void test_transfer_encoding_params_and_empty(void **state)
{
    (void)state;
    struct tt__h1_transfer_encoding te;

    ASSERT_OK(tt__h1_parse_transfer_encoding(S("gzip;q=1, chunked"), &te));
    assert_int_equal(te.ncodings, 2);
    assert_true(te.chunked_final);

    /* A comma inside a quoted parameter value does not split the list. */
    ASSERT_OK(
        tt__h1_parse_transfer_encoding(S("foo ; a = b ;c=\"x, y\\\" z\"\t;d=\"\", chunked"), &te));
    assert_int_equal(te.ncodings, 2);
    assert_true(te.chunked_final);
    assert_true(te.other_codings);
    assert_false(te.chunked_not_final);

    ASSERT_OK(tt__h1_parse_transfer_encoding(S(" , chunked ,, "), &te));
    assert_int_equal(te.ncodings, 1);
    assert_true(te.chunked_final);
    assert_false(te.other_codings);
}

static void test_transfer_encoding_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        " ",
        ",",
        ", ,",
        "chunked;a=b",
        "chunked ; a=b",
        "CHUNKED;q=1",
        "chunked;",
        "gzip;",
        "gzip;a",
        "gzip;a=",
        "gzip;=b",
        "gzip;a=b c",
        "gzip;a=\"b",
        "gzip;a=\"b\"c",
        "gzip;a=b;",
        "gzip;a=\"\x01\"",
        "gzip chunked",
        "chu nked",
        "gzip/1",
        "\"chunked\"",
        "gzip, @",
        ";a=b",
        "gzip, chunked;foo=bar",
    };
    for (size_t i = 0; i < tt__countof(bad); i++) {
        expect_te_bad(bad[i]);
    }
    struct tt__h1_transfer_encoding te = {true, true, true, 99, true};
    ASSERT_ERR(tt__h1_parse_transfer_encoding(NULL, 0, &te), TETHER_EINVAL);
    assert_int_equal(te.ncodings, 99);
}

/* --- Connection */

static void test_connection(void **state)
{
    (void)state;
    expect_conn("close", 0, TT__H1_CONN_CLOSE);
    expect_conn("Close", 0, TT__H1_CONN_CLOSE);
    expect_conn("Keep-Alive", 0, TT__H1_CONN_KEEP_ALIVE);
    expect_conn("UPGRADE", 0, TT__H1_CONN_UPGRADE);
    expect_conn("upgrade, Close", 0, TT__H1_CONN_UPGRADE | TT__H1_CONN_CLOSE);
    expect_conn("keep-alive,upgrade,close", 0,
                TT__H1_CONN_KEEP_ALIVE | TT__H1_CONN_UPGRADE | TT__H1_CONN_CLOSE);
    expect_conn("close\t,\tupgrade ", 0, TT__H1_CONN_CLOSE | TT__H1_CONN_UPGRADE);
    expect_conn("foo, x-bar, TE", 0, 0);
    expect_conn("closed, keep-alives, upgrade2, clos", 0, 0);
    expect_conn("", 0, 0);
    expect_conn(", ,  ,", 0, 0);
    expect_conn(",close,,keep-alive,", 0, TT__H1_CONN_CLOSE | TT__H1_CONN_KEEP_ALIVE);

    expect_conn("close keep-alive", TETHER_EINVAL, 0);
    expect_conn("close;", TETHER_EINVAL, 0);
    expect_conn("\"close\"", TETHER_EINVAL, 0);
    expect_conn("clo@se", TETHER_EINVAL, 0);
    expect_conn("close, a/b", TETHER_EINVAL, 0);
    expect_conn("close, \x80", TETHER_EINVAL, 0);

    unsigned f = 0x80u;
    ASSERT_OK(tt__h1_parse_connection(NULL, 0, &f));
    assert_int_equal(f, 0);
    ASSERT_OK(tt__h1_parse_connection("close", 4, &f));
    assert_int_equal(f, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep_alive_basic),
        cmocka_unit_test(test_keep_alive_case_ows_quoted),
        cmocka_unit_test(test_keep_alive_empty_and_unknown),
        cmocka_unit_test(test_keep_alive_duplicates),
        cmocka_unit_test(test_keep_alive_errors),
        cmocka_unit_test(test_content_length_values),
        cmocka_unit_test(test_content_length_errors),
        cmocka_unit_test(test_content_length_respects_len),
        cmocka_unit_test(test_transfer_encoding_valid),
        cmocka_unit_test(test_transfer_encoding_params_and_empty),
        cmocka_unit_test(test_transfer_encoding_errors),
        cmocka_unit_test(test_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
