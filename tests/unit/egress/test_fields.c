/* SPDX-License-Identifier: MIT */
/* egress's pure rules: hop-by-hop fields (RFC 9110 §7.6.1), where a target goes in each mode,
 * the X-Tether-Deadline syntax, the allow list and the failure's JSON. */
#include <string.h>

#include "test.h"

#include "egress/egress_int.h"

static void test_hop_by_hop(void **state)
{
    (void)state;
    const char *hop[] = {
        "Connection",          "keep-alive",      "TE", "Trailer", "Transfer-Encoding", "Upgrade",
        "Proxy-Authorization", "proxy-connection"};
    for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++) {
        assert_true(tt__eg_hop_by_hop(hop[i], NULL));
    }
    assert_false(tt__eg_hop_by_hop("Content-Type", NULL));
    assert_false(tt__eg_hop_by_hop("Trailers", NULL));
    assert_false(tt__eg_hop_by_hop("X-Proxy", NULL));
    /* Fields the Connection value names, whatever their case and the spaces around them. */
    assert_true(tt__eg_hop_by_hop("X-Hop", "close, x-hop ,other"));
    assert_true(tt__eg_hop_by_hop("other", "close, x-hop ,other"));
    assert_false(tt__eg_hop_by_hop("X-Ho", "close, x-hop"));
    assert_false(tt__eg_hop_by_hop("X-End", ",,"));
}

static void test_duration(void **state)
{
    (void)state;
    uint64_t ms = 0;
    assert_int_equal(tt__eg_parse_duration("250ms", &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(tt__eg_parse_duration("2s", &ms), 0);
    assert_int_equal(ms, 2000);
    assert_int_equal(tt__eg_parse_duration("1.5s", &ms), 0);
    assert_int_equal(ms, 1500);
    assert_int_equal(tt__eg_parse_duration("1m", &ms), 0);
    assert_int_equal(ms, 60000);
    assert_int_equal(tt__eg_parse_duration("2h", &ms), 0);
    assert_int_equal(ms, 7200000);
    const char *bad[] = {"",    "0s",    "0ms", "2",       "s", "-1s",        " 2s",
                         "2s ", "1.5ms", "1.s", "1.0001s", "0", "1234567890s"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ms = 7;
        assert_int_equal(tt__eg_parse_duration(bad[i], &ms), TETHER_EINVAL);
        assert_int_equal(ms, 7);
    }
}

static void test_target_url(void **state)
{
    (void)state;
    char why[256];
    char *u = tt__eg_target_url("http://up:8080", "/a?b=1", why, sizeof(why));
    assert_string_equal(u, "http://up:8080/a?b=1");
    tt__free(u);
    u = tt__eg_target_url("https://up/api", "/v1", why, sizeof(why));
    assert_string_equal(u, "https://up/api/v1");
    tt__free(u);
    /* Reverse mode keeps only the path and query of an absolute-form target. */
    u = tt__eg_target_url("http://up", "http://elsewhere:9/p?q", why, sizeof(why));
    assert_string_equal(u, "http://up/p?q");
    tt__free(u);
    u = tt__eg_target_url("http://up", "http://elsewhere", why, sizeof(why));
    assert_string_equal(u, "http://up/");
    tt__free(u);
    assert_null(tt__eg_target_url("http://up", "*", why, sizeof(why)));
    assert_non_null(strstr(why, "'*'"));
    /* Forward mode: absolute-form only. */
    u = tt__eg_target_url(NULL, "http://h:1/x", why, sizeof(why));
    assert_string_equal(u, "http://h:1/x");
    tt__free(u);
    assert_null(tt__eg_target_url(NULL, "/x", why, sizeof(why)));
    assert_non_null(strstr(why, "'/x' is not an absolute http:// URL"));
    assert_null(tt__eg_target_url(NULL, "ftp://h/x", why, sizeof(why)));
}

static void test_authority_and_allow(void **state)
{
    (void)state;
    char host[256];
    uint16_t port = 0;
    assert_true(tt__eg_url_authority("http://API.Internal:8080/x", host, sizeof(host), &port));
    assert_string_equal(host, "api.internal");
    assert_int_equal(port, 8080);
    assert_true(tt__eg_url_authority("https://h", host, sizeof(host), &port));
    assert_int_equal(port, 443);
    assert_true(tt__eg_url_authority("http://[::1]:81/", host, sizeof(host), &port));
    assert_string_equal(host, "::1");
    assert_false(tt__eg_url_authority("http://u@h/", host, sizeof(host), &port));
    assert_false(tt__eg_url_authority("http:///x", host, sizeof(host), &port));
    assert_false(tt__eg_url_authority("http://h:99999/", host, sizeof(host), &port));

    char a0[] = "api.internal";
    char a1[] = "127.0.0.1:8080";
    char a2[] = "[::1]:81";
    char *allow[] = {a0, a1, a2};
    assert_true(tt__eg_allowed(allow, 0, "anything", 1));
    assert_true(tt__eg_allowed(allow, 3, "api.internal", 9));
    assert_true(tt__eg_allowed(allow, 3, "127.0.0.1", 8080));
    assert_false(tt__eg_allowed(allow, 3, "127.0.0.1", 8081));
    assert_true(tt__eg_allowed(allow, 3, "::1", 81));
    assert_false(tt__eg_allowed(allow, 3, "other", 80));
}

static void test_failure_json(void **state)
{
    (void)state;
    struct tether_failure f;
    tether_failure_init(&f);
    f.code = TETHER_ECONNRESET;
    f.phase = TETHER_PHASE_READ_HEADERS;
    f.retry_safe = TETHER_RETRY_SAFE_NO;
    f.reused = true;
    (void)snprintf(f.detail, sizeof(f.detail), "a \"quoted\"\n detail");
    char buf[1024];
    tt__eg_failure_json(buf, sizeof(buf), "read ECONNRESET", &f, 3, false, true);
    assert_string_equal(buf, "{\"error\":\"read ECONNRESET\",\"code\":\"ECONNRESET\","
                             "\"phase\":\"READ_HEADERS\",\"retry_safe\":\"no\",\"peer\":\"\","
                             "\"detail\":\"a \\\"quoted\\\"\\u000a detail\",\"attempts\":3,"
                             "\"replays\":0,\"reused\":true,\"deadline\":false,"
                             "\"replayable\":false}\n");
    /* Too small a buffer still yields a NUL-terminated string. */
    char small[80];
    tt__eg_failure_json(small, sizeof(small), "read ECONNRESET", &f, 3, false, true);
    assert_true(strlen(small) < sizeof(small));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hop_by_hop),   cmocka_unit_test(test_duration),
        cmocka_unit_test(test_target_url),   cmocka_unit_test(test_authority_and_allow),
        cmocka_unit_test(test_failure_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
