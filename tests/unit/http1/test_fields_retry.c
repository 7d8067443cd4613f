/* SPDX-License-Identifier: MIT */
/* Field-value parsers for what retries and resumed downloads read (HTTP-date, Retry-After,
 * X-RateLimit-Reset, Content-Range, ETag): every accepted form with exact results, every
 * rejected form, overflow boundaries, and that a failed parse leaves the caller's output
 * untouched. Framing fields are in test_fields.c. */
#include <inttypes.h>

#include "test.h"

#include "http1/http1.h"
#include "util/etag.h"
#include "util/http_date.h"
#include "util/range.h"

/* A string literal as (pointer, length) so embedded bytes and exact lengths are explicit. */
#define S(lit) (lit), (sizeof(lit) - 1)

#define SENTINEL_U64 UINT64_C(0xdeadbeefcafef00d)

/* Table-driven checks report the input that failed; ASSERT_* would only show the expression. */

static void expect_date(const char *s, int64_t want)
{
    int64_t got = -7;
    int rv = ttx_http_date_parse(s, strlen(s), &got);
    if (rv != 0) {
        fail_msg("HTTP-date \"%s\": %s", s, tether_err_name(rv));
    }
    if (got != want) {
        fail_msg("HTTP-date \"%s\": got %" PRId64 ", expected %" PRId64, s, got, want);
    }
}

static void expect_date_bad(const char *s)
{
    int64_t got = -7;
    int rv = ttx_http_date_parse(s, strlen(s), &got);
    if (rv != TETHER_EINVAL || got != -7) {
        fail_msg("HTTP-date \"%s\": %s, out %" PRId64 ", expected EINVAL and untouched", s,
                 tether_err_name(rv), got);
    }
}

static void expect_retry(const char *s, int64_t now_ms, int want_rv, uint64_t want)
{
    uint64_t got = SENTINEL_U64;
    int rv = tt__h1_parse_retry_after(s, strlen(s), now_ms, &got);
    if (rv != want_rv) {
        fail_msg("Retry-After \"%s\": %s, expected %s", s, tether_err_name(rv),
                 tether_err_name(want_rv));
    }
    uint64_t expect = want_rv == 0 ? want : SENTINEL_U64;
    if (got != expect) {
        fail_msg("Retry-After \"%s\": got %" PRIu64 ", expected %" PRIu64, s, got, expect);
    }
}

static void expect_reset(const char *s, int64_t now_ms, int want_rv, uint64_t want)
{
    uint64_t got = SENTINEL_U64;
    int rv = tt__h1_parse_ratelimit_reset(s, strlen(s), now_ms, &got);
    if (rv != want_rv) {
        fail_msg("X-RateLimit-Reset \"%s\": %s, expected %s", s, tether_err_name(rv),
                 tether_err_name(want_rv));
    }
    uint64_t expect = want_rv == 0 ? want : SENTINEL_U64;
    if (got != expect) {
        fail_msg("X-RateLimit-Reset \"%s\": got %" PRIu64 ", expected %" PRIu64, s, got, expect);
    }
}

static void expect_cr(const char *s, int want_rv, struct ttx_content_range want)
{
    struct ttx_content_range sentinel = {true, 1, 2, true, 3};
    struct ttx_content_range got = sentinel;
    int rv = ttx_content_range_parse(s, strlen(s), &got);
    if (rv != want_rv) {
        fail_msg("Content-Range \"%s\": %s, expected %s", s, tether_err_name(rv),
                 tether_err_name(want_rv));
    }
    struct ttx_content_range expect = want_rv == 0 ? want : sentinel;
    if (got.unsatisfied != expect.unsatisfied || got.first != expect.first ||
        got.last != expect.last || got.has_complete != expect.has_complete ||
        got.complete != expect.complete) {
        fail_msg("Content-Range \"%s\": got {%d, %" PRIu64 ", %" PRIu64 ", %d, %" PRIu64 "}", s,
                 got.unsatisfied, got.first, got.last, got.has_complete, got.complete);
    }
}

static void expect_cr_bad(const char *s)
{
    expect_cr(s, TETHER_EINVAL, (struct ttx_content_range){0});
}

static void expect_etag_bad(const char *s, size_t len)
{
    struct ttx_etag t = {true, {"sentinel", 8}};
    int rv = ttx_etag_parse(s, len, &t);
    if (rv != TETHER_EINVAL) {
        fail_msg("ETag \"%.*s\": %s, expected EINVAL", (int)len, s, tether_err_name(rv));
    }
    if (!t.weak || t.opaque.len != 8 || strcmp(t.opaque.ptr, "sentinel") != 0) {
        fail_msg("ETag \"%.*s\": output written on failure", (int)len, s);
    }
}

static void put_2digits(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

/* --- HTTP-date */

static void test_http_date_three_forms(void **state)
{
    (void)state;
    expect_date("Sun, 06 Nov 1994 08:49:37 GMT", 784111777);
    expect_date("Sunday, 06-Nov-94 08:49:37 GMT", 784111777);
    expect_date("Sun Nov  6 08:49:37 1994", 784111777);
    expect_date("Sun Nov 06 08:49:37 1994", 784111777);
    expect_date("Wed Nov  9 08:49:37 1994", 784370977);
    expect_date("Wednesday, 09-Nov-94 08:49:37 GMT", 784370977);
    expect_date("Wed, 09 Nov 1994 08:49:37 GMT", 784370977);
    /* Surrounding OWS is ignored; the inside is exact. */
    expect_date(" \tSun, 06 Nov 1994 08:49:37 GMT \t", 784111777);

    /* Stops at len: trailing bytes past it are not looked at. */
    int64_t t = 0;
    ASSERT_OK(ttx_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMTxyz", 29, &t));
    assert_int_equal(t, 784111777);
}

static void test_http_date_calendar(void **state)
{
    (void)state;
    expect_date("Thu, 01 Jan 1970 00:00:00 GMT", 0);
    expect_date("Wed, 31 Dec 1969 23:59:59 GMT", -1);
    expect_date("Thu, 29 Feb 2024 12:00:00 GMT", 1709208000);
    expect_date("Tue, 29 Feb 2000 00:00:00 GMT", 951782400);
    expect_date("Thu, 01 Mar 1900 00:00:00 GMT", -2203891200);
    expect_date("Fri, 31 Dec 9999 23:59:59 GMT", INT64_C(253402300799));
    expect_date("Sat, 01 Jan 0000 00:00:00 GMT", INT64_C(-62167219200));
    /* A leap second lands on the next minute (POSIX time has none). */
    expect_date("Sat, 31 Dec 2016 23:59:60 GMT", 1483228800);
    /* The weekday is checked for syntax only, not against the date. */
    expect_date("Mon, 06 Nov 1994 08:49:37 GMT", 784111777);

    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const int64_t first_2021[] = {1609459200, 1612137600, 1614556800, 1617235200,
                                         1619827200, 1622505600, 1625097600, 1627776000,
                                         1630454400, 1633046400, 1635724800, 1638316800};
    static const int last_day[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (size_t m = 0; m < 12; m++) {
        char imf_first[] = "Fri, 01 Mmm 2021 00:00:00 GMT";
        char imf_last[] = "Fri, DD Mmm 2021 23:59:59 GMT";
        char imf_past[] = "Fri, DD Mmm 2021 00:00:00 GMT";
        char rfc850[] = "Friday, 01-Mmm-21 00:00:00 GMT";
        char asc[] = "Fri Mmm  1 00:00:00 2021";
        memcpy(imf_first + 8, months[m], 3);
        memcpy(imf_last + 8, months[m], 3);
        memcpy(imf_past + 8, months[m], 3);
        memcpy(rfc850 + 11, months[m], 3);
        memcpy(asc + 4, months[m], 3);
        put_2digits(imf_last + 5, last_day[m]);
        put_2digits(imf_past + 5, last_day[m] + 1);
        expect_date(imf_first, first_2021[m]);
        expect_date(imf_last, first_2021[m] + (int64_t)last_day[m] * 86400 - 1);
        expect_date_bad(imf_past);
        expect_date(rfc850, first_2021[m]);
        expect_date(asc, first_2021[m]);
    }
}

static void test_http_date_rfc850_pivot(void **state)
{
    (void)state;
    expect_date("Thursday, 01-Jan-70 00:00:00 GMT", 0);
    expect_date("Friday, 31-Dec-99 23:59:59 GMT", 946684799);
    expect_date("Saturday, 01-Jan-00 00:00:00 GMT", 946684800);
    expect_date("Tuesday, 31-Dec-69 23:59:59 GMT", INT64_C(3155759999));
    static const char *const names[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                        "Friday", "Saturday", "Sunday"};
    static const char rest[] = ", 06-Nov-94 08:49:37 GMT";
    for (size_t i = 0; i < tt__countof(names); i++) {
        char buf[64];
        size_t n = strlen(names[i]);
        memcpy(buf, names[i], n);
        memcpy(buf + n, rest, sizeof(rest));
        expect_date(buf, 784111777);
    }
}

static void test_http_date_ranges(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "Sun, 06 Nov 1994 24:00:00 GMT",  "Sun, 06 Nov 1994 23:60:00 GMT",
        "Sun, 06 Nov 1994 23:59:61 GMT",  "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 32 Jan 1994 08:49:37 GMT",  "Sun, 31 Apr 1994 08:49:37 GMT",
        "Sun, 31 Jun 1994 08:49:37 GMT",  "Sun, 31 Sep 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT",  "Sun, 29 Feb 2023 08:49:37 GMT",
        "Sun, 29 Feb 1900 08:49:37 GMT",  "Sun, 30 Feb 2000 08:49:37 GMT",
        "Sun, 99 Nov 1994 99:99:99 GMT",  "Sunday, 00-Nov-94 08:49:37 GMT",
        "Sunday, 31-Nov-94 08:49:37 GMT", "Sunday, 06-Nov-94 24:49:37 GMT",
        "Sunday, 29-Feb-23 08:49:37 GMT", "Sun Nov  0 08:49:37 1994",
        "Sun Feb 29 08:49:37 2023",       "Sun Nov  6 08:60:37 1994",
        "Sun Nov  6 08:49:61 1994",       "Sun Nov 31 08:49:37 1994",
    };
    for (size_t i = 0; i < tt__countof(bad); i++) {
        expect_date_bad(bad[i]);
    }
    expect_date("Sun, 29 Feb 2028 23:59:59 GMT", INT64_C(1835481599));
}

static void test_http_date_syntax_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        /* Not a date at all. */
        "",
        "x",
        "Sun",
        "Sun,",
        "1994",
        "784111777",
        "Sun, 06 Nov 1994",
        /* IMF-fixdate. */
        "sun, 06 Nov 1994 08:49:37 GMT",
        "SUN, 06 Nov 1994 08:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun,06 Nov 1994 08:49:37 GMT",
        "Sun,  06 Nov 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun,  6 Nov 1994 08:49:37 GMT",
        "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 06 NOV 1994 08:49:37 GMT",
        "Sun, 06 Xyz 1994 08:49:37 GMT",
        "Sun, 06-Nov-1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 19940 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 gmt",
        "Sun, 06 Nov 1994 08:49:37 GMT+1",
        "Sun, 06 Nov 1994 08:49:37 GMTx",
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sun, 06 Nov 1994 08.49.37 GMT",
        "Sun, 06 Nov 1994 08:49 GMT",
        "Sun, 06 Nov 1994 08:49:3x GMT",
        "Sun, 06 Nov 1994  08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37  GMT",
        "Sun, 06\tNov 1994 08:49:37 GMT",
        "Sun, 0x Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 199x 08:49:37 GMT",
        "Sun, -6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT GMT",
        /* RFC 850. */
        "Sun, 06-Nov-94 08:49:37 GMT",
        "Sunday, 06 Nov 1994 08:49:37 GMT",
        "sunday, 06-Nov-94 08:49:37 GMT",
        "Sundays, 06-Nov-94 08:49:37 GMT",
        "Funday, 06-Nov-94 08:49:37 GMT",
        "Sunday,06-Nov-94 08:49:37 GMT",
        "Sunday,  06-Nov-94 08:49:37 GMT",
        "Sunday, 6-Nov-94 08:49:37 GMT",
        "Sunday, 06-nov-94 08:49:37 GMT",
        "Sunday, 06 Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov 94 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sunday, 06-Nov-9x 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 UTC",
        "Sunday, 06-Nov-94 08:49:37 GMTx",
        "Sunday, 06-Nov-94 08:49:37",
        "Sunday, 06-Nov-94 08-49-37 GMT",
        "Sunday, 06-Nov-94T08:49:37 GMT",
        /* asctime. */
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov   6 08:49:37 1994",
        "Sun Nov 6  08:49:37 1994",
        "Sun Nov  6 08:49:37 94",
        "Sun Nov  6 08:49:37 1994 GMT",
        "Sun Nov  6 08:49:37 19940",
        "Sunday Nov  6 08:49:37 1994",
        "sun Nov  6 08:49:37 1994",
        "Sun nov  6 08:49:37 1994",
        "Sun  Nov  6 08:49:37 1994",
        "Sun Nov  x 08:49:37 1994",
        "Sun Nov  6 08:49:37 199x",
        "Sun Nov  6 08:49:37\t1994",
        "Sun Nov  6 8:49:37  1994",
        "Sun\tNov  6 08:49:37 1994",
        "Sun Nov \t6 08:49:37 1994",
        "Sun Nov  6T08:49:37 1994",
    };
    for (size_t i = 0; i < tt__countof(bad); i++) {
        expect_date_bad(bad[i]);
    }
    int64_t t = -7;
    ASSERT_ERR(ttx_http_date_parse(NULL, 0, &t), TETHER_EINVAL);
    ASSERT_ERR(ttx_http_date_parse(S("Sun, 06 Nov 1994 08:49:37 GMT\0"), &t), TETHER_EINVAL);
    ASSERT_ERR(ttx_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", 28, &t), TETHER_EINVAL);
    assert_int_equal(t, -7);
}

/* --- Retry-After */

static void test_retry_after_seconds(void **state)
{
    (void)state;
    expect_retry("120", 0, 0, 120000);
    expect_retry("0", 1000, 0, 0);
    expect_retry("007", 0, 0, 7000);
    expect_retry(" 5\t", 0, 0, 5000);
    /* The delay does not depend on the clock. */
    expect_retry("3", INT64_MIN, 0, 3000);
    expect_retry("18446744073709551", 0, 0, UINT64_C(18446744073709551000));
    expect_retry("18446744073709552", 0, TETHER_ERANGE, 0);
    expect_retry("18446744073709551615", 0, TETHER_ERANGE, 0);
    expect_retry("18446744073709551616", 0, TETHER_ERANGE, 0);
    expect_retry("99999999999999999999999", 0, TETHER_ERANGE, 0);

    static const char *const bad[] = {
        "",    " ",   "-1",   "+1",   "1.5", "120s",
        "1 2", "1,2", "0x10", "soon", "1e3", "99999999999999999999x",
    };
    for (size_t i = 0; i < tt__countof(bad); i++) {
        expect_retry(bad[i], 0, TETHER_EINVAL, 0);
    }
}

static void test_retry_after_date(void **state)
{
    (void)state;
    const int64_t when_ms = INT64_C(784111777000);
    expect_retry("Sun, 06 Nov 1994 08:49:37 GMT", when_ms - 10500, 0, 10500);
    expect_retry("Sunday, 06-Nov-94 08:49:37 GMT", when_ms - 1, 0, 1);
    expect_retry("Sun Nov  6 08:49:37 1994", when_ms - 60000, 0, 60000);
    expect_retry("Sun, 06 Nov 1994 08:49:37 GMT", when_ms, 0, 0);
    expect_retry("Sun, 06 Nov 1994 08:49:37 GMT", when_ms + 1, 0, 0);
    expect_retry("Sun, 06 Nov 1994 08:49:37 GMT", INT64_MAX, 0, 0);
    expect_retry("Thu, 01 Jan 1970 00:00:00 GMT", -1000, 0, 1000);
    expect_retry("Wed, 31 Dec 1969 23:59:59 GMT", 0, 0, 0);
    /* The widest gap there is still fits in the unsigned result. */
    expect_retry("Fri, 31 Dec 9999 23:59:59 GMT", INT64_MIN, 0, UINT64_C(9223625439155574808));
    expect_retry(" Sun, 06 Nov 1994 08:49:37 GMT ", when_ms - 2000, 0, 2000);

    expect_retry("Sun, 06 Nov 1994 08:49:37 UTC", 0, TETHER_EINVAL, 0);
    expect_retry("Sun, 31 Nov 1994 08:49:37 GMT", 0, TETHER_EINVAL, 0);
    expect_retry("Sun, 06 Nov 1994 08:49:37 GMT, 5", 0, TETHER_EINVAL, 0);
    expect_retry("5, Sun, 06 Nov 1994 08:49:37 GMT", 0, TETHER_EINVAL, 0);
}

/* --- X-RateLimit-Reset */

static void test_ratelimit_reset_relative(void **state)
{
    (void)state;
    expect_reset("30", 0, 0, 30000);
    expect_reset("0", 12345, 0, 0);
    expect_reset("2.5", 0, 0, 2500);
    expect_reset("2.50", 0, 0, 2500);
    expect_reset("0.001", 0, 0, 1);
    expect_reset("1.2340000", 0, 0, 1234);
    expect_reset("0.0000", 0, 0, 0);
    /* Precision past a millisecond rounds up. */
    expect_reset("0.0001", 0, 0, 1);
    expect_reset("1.2341", 0, 0, 1235);
    expect_reset("0.9999", 0, 0, 1000);
    expect_reset("0.00000000000000000000000001", 0, 0, 1);
    expect_reset(" 7 ", 0, 0, 7000);
    /* Just under the threshold is still a delay, whatever the clock says. */
    expect_reset("999999999", INT64_C(1700000000000), 0, UINT64_C(999999999000));
    expect_reset("999999999.9999", 0, 0, UINT64_C(1000000000000));
}

static void test_ratelimit_reset_absolute(void **state)
{
    (void)state;
    const int64_t reset_ms = INT64_C(1700000000000);
    expect_reset("1700000000", reset_ms - 10000, 0, 10000);
    expect_reset("1700000000", reset_ms, 0, 0);
    expect_reset("1700000000", reset_ms + 1000, 0, 0);
    expect_reset("1700000000.5", reset_ms, 0, 500);
    expect_reset("1700000000.0001", reset_ms, 0, 1);
    expect_reset("1000000000", 0, 0, UINT64_C(1000000000000));
    expect_reset("1000000000", -5, 0, UINT64_C(1000000000005));
    expect_reset("1000000000", INT64_MAX, 0, 0);
    expect_reset("18446744073709551.615", 0, 0, UINT64_MAX);
    expect_reset("18446744073709551.614", 0, 0, UINT64_MAX - 1);
}

static void test_ratelimit_reset_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",     " ",    "-1",    "+1",   ".5",          "5.",
        "1e9",  "1,5",  "1.2.3", "0x10", "abc",         "1 0",
        "1. 5", "1 .5", "NaN",   "inf",  "1700000000Z", "9999999999999999999999x",
    };
    for (size_t i = 0; i < tt__countof(bad); i++) {
        expect_reset(bad[i], 0, TETHER_EINVAL, 0);
    }
    expect_reset("18446744073709551.616", 0, TETHER_ERANGE, 0);
    expect_reset("18446744073709551.6150001", 0, TETHER_ERANGE, 0);
    expect_reset("18446744073709552", 0, TETHER_ERANGE, 0);
    expect_reset("18446744073709551616", 0, TETHER_ERANGE, 0);
    /* A clock before the epoch adds to the wait, which must still fit. */
    expect_reset("18446744073709551.615", -1, TETHER_ERANGE, 0);
    expect_reset("18446744073709551.614", -1, 0, UINT64_MAX);
}

/* --- Content-Range */

static void test_content_range_valid(void **state)
{
    (void)state;
    expect_cr("bytes 0-499/1234", 0, (struct ttx_content_range){false, 0, 499, true, 1234});
    expect_cr("bytes 500-1233/1234", 0, (struct ttx_content_range){false, 500, 1233, true, 1234});
    expect_cr("BYTES 0-0/1", 0, (struct ttx_content_range){false, 0, 0, true, 1});
    expect_cr("Bytes 5-9/*", 0, (struct ttx_content_range){false, 5, 9, false, 0});
    expect_cr("bytes */1234", 0, (struct ttx_content_range){true, 0, 0, true, 1234});
    expect_cr("bytes */0", 0, (struct ttx_content_range){true, 0, 0, true, 0});
    expect_cr("bytes 007-08/09", 0, (struct ttx_content_range){false, 7, 8, true, 9});
    expect_cr(" bytes 1-2/3 ", 0, (struct ttx_content_range){false, 1, 2, true, 3});
    expect_cr("bytes 0-18446744073709551614/18446744073709551615", 0,
              (struct ttx_content_range){false, 0, UINT64_MAX - 1, true, UINT64_MAX});
    expect_cr("bytes 18446744073709551615-18446744073709551615/*", 0,
              (struct ttx_content_range){false, UINT64_MAX, UINT64_MAX, false, 0});
    expect_cr("bytes */18446744073709551615", 0,
              (struct ttx_content_range){true, 0, 0, true, UINT64_MAX});
}

static void test_content_range_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "bytes",
        "bytes ",
        "bytes 0-499",
        "bytes=0-499/1234",
        "bytes  0-499/1234",
        "bytes\t0-499/1234",
        "bytes0-499/1234",
        "items 0-4/5",
        "byte 0-4/5",
        "bytesx 0-4/5",
        "0-4/5",
        "bytes 5-4/10",
        "bytes 0-10/10",
        "bytes 0-9/5",
        "bytes 0-0/0",
        "bytes */*",
        "bytes *",
        "bytes */",
        "bytes * /10",
        "bytes *-5/10",
        "bytes 0-*/10",
        "bytes -5/10",
        "bytes 5-/10",
        "bytes -/10",
        "bytes /10",
        "bytes 0-4/",
        "bytes 0-4/1x",
        "bytes 0-4/-1",
        "bytes 0-4/+9",
        "bytes 0-1-2/10",
        "bytes 0-4/10/11",
        "bytes 0 - 4/10",
        "bytes 0-4 /10",
        "bytes 0-4/ 10",
        "bytes +0-4/10",
        "bytes */-1",
        "bytes 0-4/*5",
        "bytes 0-4/**",
        "bytes **/10",
        "bytes *5/10",
        "bytes 0x0-4/10",
        "bytes 0-4/10, bytes 5-9/10",
        "bytes 18446744073709551616x-1/*",
    };
    for (size_t i = 0; i < tt__countof(bad); i++) {
        expect_cr_bad(bad[i]);
    }
    const struct ttx_content_range zero = {0};
    expect_cr("bytes 0-18446744073709551616/*", TETHER_ERANGE, zero);
    expect_cr("bytes 18446744073709551616-1/*", TETHER_ERANGE, zero);
    expect_cr("bytes */18446744073709551616", TETHER_ERANGE, zero);
    expect_cr("bytes 0-1/18446744073709551616", TETHER_ERANGE, zero);
    /* last < complete with the largest complete-length there is. */
    expect_cr_bad("bytes 0-18446744073709551615/18446744073709551615");

    struct ttx_content_range cr = {true, 1, 2, true, 3};
    ASSERT_ERR(ttx_content_range_parse(NULL, 0, &cr), TETHER_EINVAL);
    ASSERT_ERR(ttx_content_range_parse("bytes 0-4/10", 11, &cr), TETHER_EINVAL);
    assert_int_equal(cr.first, 1);
    ASSERT_OK(ttx_content_range_parse("bytes 0-4/10", 12, &cr));
    assert_int_equal(cr.complete, 10);
}

/* --- ETag */

static void test_etag_valid(void **state)
{
    (void)state;
    struct ttx_etag t;
    const char strong[] = "\"xyzzy\"";
    ASSERT_OK(ttx_etag_parse(strong, sizeof(strong) - 1, &t));
    assert_false(t.weak);
    assert_ptr_equal(t.opaque.ptr, strong + 1);
    ASSERT_SPAN_EQ(t.opaque.ptr, t.opaque.len, "xyzzy");

    const char weak[] = "W/\"xyzzy\"";
    ASSERT_OK(ttx_etag_parse(weak, sizeof(weak) - 1, &t));
    assert_true(t.weak);
    assert_ptr_equal(t.opaque.ptr, weak + 3);
    ASSERT_SPAN_EQ(t.opaque.ptr, t.opaque.len, "xyzzy");

    ASSERT_OK(ttx_etag_parse(S("\"\""), &t));
    assert_false(t.weak);
    assert_int_equal(t.opaque.len, 0);
    ASSERT_OK(ttx_etag_parse(S("W/\"\""), &t));
    assert_true(t.weak);
    assert_int_equal(t.opaque.len, 0);

    /* etagc: %x21 / %x23-7E / obs-text; W/ inside the quotes is just data. */
    ASSERT_OK(ttx_etag_parse(S("\"!#~W/\x80\xff\""), &t));
    ASSERT_SPAN_EQ(t.opaque.ptr, t.opaque.len, "!#~W/\x80\xff");
    ASSERT_OK(ttx_etag_parse(S("\t\"abc\" "), &t));
    ASSERT_SPAN_EQ(t.opaque.ptr, t.opaque.len, "abc");
    ASSERT_OK(ttx_etag_parse("\"abc\"junk", 5, &t));
    ASSERT_SPAN_EQ(t.opaque.ptr, t.opaque.len, "abc");
}

static void test_etag_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "xyz",
        "\"xyz",
        "xyz\"",
        "w/\"xyz\"",
        "W\"xyz\"",
        "W/xyz",
        "W/ \"xyz\"",
        "W /\"xyz\"",
        "\"xy z\"",
        "\"xy\"z\"",
        "\"xyz\"junk",
        "\"xyz\" \"abc\"",
        "\"a\x7f\"",
        "\"a\tb\"",
        "\"a\x01\"",
        "W/",
        "\"",
        "W/\"",
        "'xyz'",
        "*",
        "\"a\", \"b\"",
        "W/W/\"a\"",
        "\"\\\"\"",
    };
    for (size_t i = 0; i < tt__countof(bad); i++) {
        expect_etag_bad(bad[i], strlen(bad[i]));
    }
    expect_etag_bad(S("\"a\0b\""));
    expect_etag_bad(NULL, 0);
    expect_etag_bad("\"abc\"", 4);
}

static void test_etag_strong_eq(void **state)
{
    (void)state;
    struct ttx_etag a, b, wa, wb, c, e1, e2;
    ASSERT_OK(ttx_etag_parse(S("\"abc\""), &a));
    ASSERT_OK(ttx_etag_parse(S(" \"abc\""), &b));
    ASSERT_OK(ttx_etag_parse(S("W/\"abc\""), &wa));
    ASSERT_OK(ttx_etag_parse(S("W/\"abc\""), &wb));
    ASSERT_OK(ttx_etag_parse(S("\"abcd\""), &c));
    ASSERT_OK(ttx_etag_parse(S("\"\""), &e1));
    ASSERT_OK(ttx_etag_parse(S("\"\""), &e2));
    assert_true(ttx_etag_strong_eq(&a, &b));
    assert_true(ttx_etag_strong_eq(&a, &a));
    assert_true(ttx_etag_strong_eq(&e1, &e2));
    assert_false(ttx_etag_strong_eq(&a, &wa));
    assert_false(ttx_etag_strong_eq(&wa, &a));
    assert_false(ttx_etag_strong_eq(&wa, &wb));
    assert_false(ttx_etag_strong_eq(&a, &c));
    assert_false(ttx_etag_strong_eq(&c, &a));
    assert_false(ttx_etag_strong_eq(&a, &e1));

    struct ttx_etag x, y;
    ASSERT_OK(ttx_etag_parse(S("\"abd\""), &x));
    ASSERT_OK(ttx_etag_parse(S("\"ABC\""), &y));
    assert_false(ttx_etag_strong_eq(&a, &x));
    assert_false(ttx_etag_strong_eq(&a, &y));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_date_three_forms),
        cmocka_unit_test(test_http_date_calendar),
        cmocka_unit_test(test_http_date_rfc850_pivot),
        cmocka_unit_test(test_http_date_ranges),
        cmocka_unit_test(test_http_date_syntax_errors),
        cmocka_unit_test(test_retry_after_seconds),
        cmocka_unit_test(test_retry_after_date),
        cmocka_unit_test(test_ratelimit_reset_relative),
        cmocka_unit_test(test_ratelimit_reset_absolute),
        cmocka_unit_test(test_ratelimit_reset_errors),
        cmocka_unit_test(test_content_range_valid),
        cmocka_unit_test(test_content_range_errors),
        cmocka_unit_test(test_etag_valid),
        cmocka_unit_test(test_etag_errors),
        cmocka_unit_test(test_etag_strong_eq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
