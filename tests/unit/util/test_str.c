/* SPDX-License-Identifier: MIT */
/* The shared helper layer's strings and ports: case-insensitive comparisons, OWS trimming,
 * strict numbers, and HOST:PORT splitting (every caller's bracket and colon rules). */
#include "test.h"

#include "util/hostport.h"
#include "util/str.h"

static void test_nocase(void **state)
{
    (void)state;
    assert_true(ttx_str_eq_nocase("Content-Length", "content-length"));
    assert_false(ttx_str_eq_nocase("content-length", "content-lengths"));
    assert_false(ttx_str_eq_nocase("", "a"));
    assert_true(ttx_mem_eq_nocase("KEEP-alive, x", 10, "keep-alive"));
    assert_false(ttx_mem_eq_nocase("keep", 4, "keep-alive"));
    assert_false(ttx_mem_eq_nocase("keep-alive", 10, "keep"));
    assert_true(ttx_prefix_nocase("HTTPS://x", "https://"));
    assert_false(ttx_prefix_nocase("http", "https://"));
    /* Only ASCII letters fold: bytes above 0x7f and punctuation compare as they are. */
    assert_false(ttx_str_eq_nocase("\xc3\x84", "\xc3\xa4"));
    assert_false(ttx_str_eq_nocase("[", "{"));
}

static void test_trim_and_numbers(void **state)
{
    (void)state;
    struct ttx_slice s = ttx_trim_ows(" \t 5s \t", 7);
    ASSERT_SPAN_EQ(s.ptr, s.len, "5s");
    s = ttx_trim_ows("   ", 3);
    assert_int_equal(s.len, 0);
    uint64_t v = 7;
    ASSERT_OK(ttx_parse_u64("0018446744073709551615", 22, &v));
    assert_true(v == UINT64_MAX);
    ASSERT_ERR(ttx_parse_u64("18446744073709551616", 20, &v), TETHER_ERANGE);
    ASSERT_ERR(ttx_parse_u64("99999999999999999999x", 21, &v), TETHER_EINVAL);
    ASSERT_ERR(ttx_parse_u64("", 0, &v), TETHER_EINVAL);
    ASSERT_ERR(ttx_parse_u64("+5", 2, &v), TETHER_EINVAL);
    ASSERT_ERR(ttx_parse_u64(" 5", 2, &v), TETHER_EINVAL);
    assert_true(v == UINT64_MAX); /* untouched by failures */
}

static void expect_split(const char *in, const char *host, bool bracketed, const char *port)
{
    struct ttx_hostport hp;
    enum ttx_hostport_err e = ttx_hostport_split(in, strlen(in), &hp);
    if (e != TTX_HOSTPORT_OK) {
        fail_msg("%s: error %d", in, (int)e);
    }
    ASSERT_SPAN_EQ(hp.host.ptr, hp.host.len, host);
    assert_int_equal(hp.bracketed, bracketed);
    assert_int_equal(hp.has_port, port != NULL);
    if (port) {
        ASSERT_SPAN_EQ(hp.port.ptr, hp.port.len, port);
    }
}

static void test_hostport_split(void **state)
{
    (void)state;
    expect_split("127.0.0.1:8080", "127.0.0.1", false, "8080");
    expect_split("example.com", "example.com", false, NULL);
    expect_split(":8474", "", false, "8474");
    expect_split("[::1]:443", "::1", true, "443");
    expect_split("[fe80::1%eth0]", "fe80::1%eth0", true, NULL);
    expect_split("localhost:", "localhost", false, "");
    expect_split("db:postgres", "db", false, "postgres"); /* service names pass through */
    expect_split("", "", false, NULL);

    struct ttx_hostport hp;
    assert_int_equal(ttx_hostport_split("::1:80", 6, &hp), TTX_HOSTPORT_TOO_MANY_COLONS);
    assert_int_equal(ttx_hostport_split("a:1:2", 5, &hp), TTX_HOSTPORT_TOO_MANY_COLONS);
    assert_int_equal(ttx_hostport_split("[::1", 4, &hp), TTX_HOSTPORT_BAD_BRACKETS);
    assert_int_equal(ttx_hostport_split("[::1]80", 7, &hp), TTX_HOSTPORT_BAD_BRACKETS);
    assert_int_equal(ttx_hostport_split("a]:80", 5, &hp), TTX_HOSTPORT_BAD_BRACKETS);
    /* The length bounds the text: a port after it is not read. */
    expect_split("host", "host", false, NULL);
    assert_int_equal(ttx_hostport_split("host:80", 4, &hp), TTX_HOSTPORT_OK);
    assert_false(hp.has_port);
}

static void test_ports(void **state)
{
    (void)state;
    uint16_t p = 1;
    ASSERT_OK(ttx_parse_port((struct ttx_slice){"65535", 5}, &p));
    assert_int_equal(p, 65535);
    ASSERT_OK(ttx_parse_port((struct ttx_slice){"0", 1}, &p));
    assert_int_equal(p, 0);
    ASSERT_ERR(ttx_parse_port((struct ttx_slice){"65536", 5}, &p), TETHER_ERANGE);
    ASSERT_ERR(ttx_parse_port((struct ttx_slice){"000080", 6}, &p), TETHER_EINVAL);
    ASSERT_ERR(ttx_parse_port((struct ttx_slice){"", 0}, &p), TETHER_EINVAL);
    ASSERT_ERR(ttx_parse_port((struct ttx_slice){"http", 4}, &p), TETHER_EINVAL);
    assert_int_equal(p, 0);
}

/* "Did you mean": the distance counts a swap of neighbours as one edit, and the closest
 * candidate is offered only when it is near enough to be a typo. */
static void test_edit_distance(void **state)
{
    (void)state;
    assert_int_equal(ttx_edit_distance("serve", "serve"), 0);
    assert_int_equal(ttx_edit_distance("srve", "serve"), 1);
    assert_int_equal(ttx_edit_distance("sevre", "serve"), 1); /* transposition */
    assert_int_equal(ttx_edit_distance("SERVE", "serve"), 0);
    assert_int_equal(ttx_edit_distance("", "get"), 3);
    assert_int_equal(ttx_edit_distance("kitten", "sitting"), 3);
    char long_word[80];
    memset(long_word, 'a', sizeof(long_word) - 1);
    long_word[sizeof(long_word) - 1] = '\0';
    assert_true(ttx_edit_distance(long_word, "a") == SIZE_MAX);

    const char *const names[] = {"demo", "serve", NULL, "proxy", "get", "load"};
    assert_string_equal(ttx_closest("sevre", names, 6), "serve");
    assert_string_equal(ttx_closest("proxxy", names, 6), "proxy");
    assert_string_equal(ttx_closest("lod", names, 6), "load");
    assert_null(ttx_closest("frobnicate", names, 6));
    assert_null(ttx_closest("gx", names, 6)); /* short words: one edit at most */
    assert_null(ttx_closest("x", names, 0));
}

static void test_durations(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t ms;
    } good[] = {{"0", 0},       {"0s", 0},       {"250ms", 250}, {"5s", 5000},
                {"2m", 120000}, {"1h", 3600000}, {"1.5s", 1500}, {"0.25m", 15000}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        uint64_t ms = 7;
        assert_int_equal(ttx_parse_duration_ms(good[i].text, 86400000, &ms), 0);
        assert_int_equal(ms, good[i].ms);
    }
    static const char *const bad[] = {"",    "5",   "-1s", " 5s", "5s ",  "1.5ms",
                                      "1.s", ".5s", "5 s", "5S",  "0x5s", "1.0000000001s"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t ms = 7;
        assert_int_equal(ttx_parse_duration_ms(bad[i], 86400000, &ms), TETHER_EINVAL);
        assert_int_equal(ms, 7);
    }
    uint64_t ms = 7;
    assert_int_equal(ttx_parse_duration_ms(NULL, 1000, &ms), TETHER_EINVAL);
    /* Above the limit, however it is written, and without overflowing on the way. */
    assert_int_equal(ttx_parse_duration_ms("25h", 86400000, &ms), TETHER_ERANGE);
    assert_int_equal(ttx_parse_duration_ms("24.001h", 86400000, &ms), TETHER_ERANGE);
    assert_int_equal(ttx_parse_duration_ms("18446744073709551615h", UINT64_MAX, &ms),
                     TETHER_ERANGE);
    assert_int_equal(ttx_parse_duration_ms("99999999999999999999s", UINT64_MAX, &ms),
                     TETHER_EINVAL); /* past UINT64_MAX as a number: not a duration */
    assert_int_equal(ms, 7);
    /* A fraction alone above a small limit (found by input_fuzz: the bound wrapped). */
    assert_int_equal(ttx_parse_duration_ms("0.5s", 0, &ms), TETHER_ERANGE);
    assert_int_equal(ttx_parse_duration_ms("0.5s", 499, &ms), TETHER_ERANGE);
    assert_int_equal(ms, 7);
    assert_int_equal(ttx_parse_duration_ms("24h", 86400000, &ms), 0);
    assert_int_equal(ms, 86400000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nocase),         cmocka_unit_test(test_trim_and_numbers),
        cmocka_unit_test(test_hostport_split), cmocka_unit_test(test_ports),
        cmocka_unit_test(test_edit_distance),  cmocka_unit_test(test_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
