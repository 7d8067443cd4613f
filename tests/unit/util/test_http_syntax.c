/* SPDX-License-Identifier: MIT */
/* The shared helper layer's HTTP syntax: writing HTTP-dates (reading them is covered with the
 * other field parsers), byte ranges, entity-tag lists and If-Range. */
#include <time.h>

#include "test.h"

#include "util/etag.h"
#include "util/http_date.h"
#include "util/range.h"

static void expect_date(int64_t t, const char *text)
{
    char buf[TTX_HTTP_DATE_SIZE];
    ttx_http_date_format(t, buf);
    assert_string_equal(buf, text);
    int64_t back = 0;
    ASSERT_OK(ttx_http_date_parse(buf, strlen(buf), &back));
    assert_true(back == t);
}

static void test_date_format(void **state)
{
    (void)state;
    expect_date(0, "Thu, 01 Jan 1970 00:00:00 GMT");
    expect_date(784111777, "Sun, 06 Nov 1994 08:49:37 GMT"); /* RFC 9110's example */
    expect_date(951782400, "Tue, 29 Feb 2000 00:00:00 GMT");
    expect_date(4133980799, "Fri, 31 Dec 2100 23:59:59 GMT");
    expect_date(-1, "Wed, 31 Dec 1969 23:59:59 GMT");
    /* Every day for 60 years agrees with gmtime_r, weekdays included. */
    for (int64_t t = 0; t < 60LL * 366 * 86400; t += 86400 + 3607) {
        char buf[TTX_HTTP_DATE_SIZE];
        char want[64];
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        (void)strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        ttx_http_date_format(t, buf);
        assert_string_equal(buf, want);
    }
}

static void expect_range(const char *v, uint64_t size, enum ttx_range_result want, uint64_t first,
                         uint64_t last)
{
    uint64_t f = 12345;
    uint64_t l = 12345;
    enum ttx_range_result got = ttx_range_parse(v, strlen(v), size, &f, &l);
    if (got != want) {
        fail_msg("'%s' of %llu: result %d, expected %d", v, (unsigned long long)size, (int)got,
                 (int)want);
    }
    if (want == TTX_RANGE_OK && (f != first || l != last)) {
        fail_msg("'%s': %llu-%llu, expected %llu-%llu", v, (unsigned long long)f,
                 (unsigned long long)l, (unsigned long long)first, (unsigned long long)last);
    }
    if (want != TTX_RANGE_OK) {
        assert_true(f == 12345 && l == 12345);
    }
}

static void test_range(void **state)
{
    (void)state;
    expect_range("bytes=0-99", 1000, TTX_RANGE_OK, 0, 99);
    expect_range("bytes=100-", 1000, TTX_RANGE_OK, 100, 999);
    expect_range("bytes=-500", 1000, TTX_RANGE_OK, 500, 999);
    expect_range("bytes=-5000", 1000, TTX_RANGE_OK, 0, 999);
    expect_range("Bytes= 0-2000 ", 1000, TTX_RANGE_OK, 0, 999);
    expect_range("bytes=1000-", 1000, TTX_RANGE_UNSATISFIABLE, 0, 0);
    expect_range("bytes=-0", 1000, TTX_RANGE_UNSATISFIABLE, 0, 0);
    expect_range("bytes=0-", 0, TTX_RANGE_UNSATISFIABLE, 0, 0);
    expect_range("bytes=5-4", 1000, TTX_RANGE_NONE, 0, 0);
    expect_range("bytes=0-1,5-6", 1000, TTX_RANGE_NONE, 0, 0); /* multi-range: answer 200 */
    expect_range("items=0-1", 1000, TTX_RANGE_NONE, 0, 0);
    expect_range("bytes=", 1000, TTX_RANGE_NONE, 0, 0);
    expect_range("bytes=-", 1000, TTX_RANGE_NONE, 0, 0);
    expect_range("bytes=1-2x", 1000, TTX_RANGE_NONE, 0, 0);
    expect_range("bytes=99999999999999999999-", 1000, TTX_RANGE_NONE, 0, 0);
}

static void test_etag_lists(void **state)
{
    (void)state;
    assert_true(ttx_etag_list_match("\"a\"", "\"a\""));
    assert_true(ttx_etag_list_match(" W/\"a\" ", "\"a\"")); /* weak comparison */
    assert_true(ttx_etag_list_match("\"x\", \"y,z\" ,W/\"a\"", "\"a\""));
    assert_true(ttx_etag_list_match("\"y,z\"", "\"y,z\""));
    assert_true(ttx_etag_list_match("*", "\"anything\""));
    assert_false(ttx_etag_list_match("\"x\", \"y\"", "\"a\""));
    assert_false(ttx_etag_list_match("\"a", "\"a\""));
    assert_false(ttx_etag_list_match("a, \"a\"", "\"a\"")); /* malformed: match nothing */
    assert_false(ttx_etag_list_match("\"x\" \"a\"", "\"a\""));
    assert_false(ttx_etag_list_match("\"a\"", "a")); /* our own tag must be well formed */
}

static void test_if_range(void **state)
{
    (void)state;
    assert_true(ttx_if_range_match("\"v1\"", "\"v1\"", 0));
    assert_false(ttx_if_range_match("W/\"v1\"", "\"v1\"", 0)); /* weak never matches */
    assert_false(ttx_if_range_match("\"v2\"", "\"v1\"", 0));
    assert_true(ttx_if_range_match("Sun, 06 Nov 1994 08:49:37 GMT", "\"v1\"", 784111777));
    assert_true(ttx_if_range_match("Wed, 09 Jun 2021 10:18:14 GMT", NULL, 1623233894));
    assert_false(ttx_if_range_match("Sun, 06 Nov 1994 08:49:38 GMT", "\"v1\"", 784111777));
    assert_false(ttx_if_range_match("garbage", "\"v1\"", 784111777));
    assert_false(ttx_if_range_match(NULL, "\"v1\"", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_format),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_etag_lists),
        cmocka_unit_test(test_if_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
