/* SPDX-License-Identifier: MIT */
/* URL parsing: origins (the pool key), Host fields, targets, and everything refused. */
#include "test.h"

#include "client/client_int.h"

static void expect_url(const char *in, bool tls, const char *host, unsigned port,
                       const char *host_header, const char *origin, const char *target)
{
    struct tt__url u;
    int rv = tt__url_parse(in, &u, NULL, 0);
    if (rv != 0) {
        fail_msg("%s: %s", in, tether_err_name(rv));
    }
    assert_int_equal(u.tls, tls);
    assert_string_equal(u.host, host);
    assert_int_equal(u.port, port);
    assert_string_equal(u.host_header, host_header);
    assert_string_equal(u.origin, origin);
    assert_string_equal(u.target, target);
    tt__url_cleanup(&u);
}

static void test_good(void **state)
{
    (void)state;
    expect_url("http://127.0.0.1:8080/a/b?c=d#frag", false, "127.0.0.1", 8080, "127.0.0.1:8080",
               "http://127.0.0.1:8080", "/a/b?c=d");
    expect_url("HTTPS://Example.COM", true, "example.com", 443, "example.com",
               "https://example.com:443", "/");
    expect_url("http://h?q=1", false, "h", 80, "h", "http://h:80", "/?q=1");
    expect_url("http://[::1]:9000/x", false, "::1", 9000, "[::1]:9000", "http://[::1]:9000", "/x");
    expect_url("https://[2001:db8::1]/", true, "2001:db8::1", 443, "[2001:db8::1]",
               "https://[2001:db8::1]:443", "/");
    expect_url("http://h:/p", false, "h", 80, "h", "http://h:80", "/p");
    expect_url("http://a-b.c_d:80/%20", false, "a-b.c_d", 80, "a-b.c_d", "http://a-b.c_d:80",
               "/%20");
}

static void test_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {"",
                                      "ftp://h/",
                                      "http:/h/",
                                      "http://",
                                      "http:///x",
                                      "http://h:0",
                                      "http://h:65536",
                                      "http://h:-1",
                                      "http://h:8a",
                                      "http://u:p@h/",
                                      "http://h h",
                                      "http://h/\x01",
                                      "http://h/a\"b",
                                      "http://[::1",
                                      "http://[zz]/",
                                      "http://h/\x80",
                                      "http://[]/",
                                      "//h/",
                                      "h:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tt__url u;
        int rv = tt__url_parse(bad[i], &u, NULL, 0);
        if (rv != TETHER_EINVAL) {
            fail_msg("\"%s\" gave %s", bad[i], tether_err_name(rv));
        }
    }
    struct tt__url u;
    ASSERT_ERR(tt__url_parse(NULL, &u, NULL, 0), TETHER_EINVAL);
}

/* The error names the exact problem and the bad part, so a user fixes it without guessing. */
static void test_messages(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        const char *message;
    } cases[] = {
        {"example.com/x",
         "invalid URL 'example.com/x': missing scheme: write http://example.com/x or "
         "https://example.com/x"},
        {"ftp://h/", "invalid URL 'ftp://h/': scheme 'ftp' is not supported: use http:// or "
                     "https://"},
        {"http://h:70000/", "invalid URL 'http://h:70000/': port 70000 is out of range: the port "
                            "must be 1 to 65535"},
        {"http://h:0/", "invalid URL 'http://h:0/': port 0 is out of range: the port must be 1 "
                        "to 65535"},
        {"http://h:http/", "invalid URL 'http://h:http/': port 'http' is not a number: the port "
                           "must be 1 to 65535"},
        {"http://bob:pw@h/", "invalid URL 'http://bob:pw@h/': user info 'bob:pw@' is not allowed "
                             "(credentials in URLs leak into logs; send them in an Authorization "
                             "header)"},
        {"http:///x", "invalid URL 'http:///x': no host"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tt__url u;
        char err[512] = "";
        ASSERT_ERR(tt__url_parse(cases[i].url, &u, err, sizeof(err)), TETHER_EINVAL);
        assert_string_equal(err, cases[i].message);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
