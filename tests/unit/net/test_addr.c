/* SPDX-License-Identifier: MIT */
/* Address text: parsing "host:port" forms and formatting socket addresses. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "net/net.h"
#include "test.h"

struct parse_case {
    const char *text;
    const char *default_host;
    int rv;
    const char *formatted; /* expected tt__addr_format of the result when rv == 0 */
};

static void test_parse_table(void **state)
{
    (void)state;
    static const struct parse_case cases[] = {
        {"127.0.0.1:8080", NULL, 0, "127.0.0.1:8080"},
        {"0.0.0.0:0", NULL, 0, "0.0.0.0:0"},
        {"[::1]:8080", NULL, 0, "[::1]:8080"},
        {"[::]:443", NULL, 0, "[::]:443"},
        {"[2001:db8::1]:65535", NULL, 0, "[2001:db8::1]:65535"},
        {"localhost:80", NULL, 0, "127.0.0.1:80"},
        {"LOCALHOST:80", NULL, 0, "127.0.0.1:80"},
        {"8080", "127.0.0.1", 0, "127.0.0.1:8080"},
        {"8080", "::", 0, "[::]:8080"},
        {"8080", "[::1]", 0, "[::1]:8080"},
        {"8080", "localhost", 0, "127.0.0.1:8080"},
        {":9000", "0.0.0.0", 0, "0.0.0.0:9000"},
        {"0", "127.0.0.1", 0, "127.0.0.1:0"},
        {"10.1.2.3:00080", NULL, 0, "10.1.2.3:80"},
        /* Errors. */
        {"", "127.0.0.1", TETHER_EINVAL, NULL},
        {"8080", NULL, TETHER_EINVAL, NULL},
        {"127.0.0.1:65536", NULL, TETHER_EINVAL, NULL},
        {"127.0.0.1:99999", NULL, TETHER_EINVAL, NULL},
        {"127.0.0.1:", NULL, TETHER_EINVAL, NULL},
        {"127.0.0.1:8o", NULL, TETHER_EINVAL, NULL},
        {"127.0.0.1:-1", NULL, TETHER_EINVAL, NULL},
        {"127.0.0.1: 80", NULL, TETHER_EINVAL, NULL},
        {"127.0.0.1:123456", NULL, TETHER_EINVAL, NULL},
        {"127.0.0.1", NULL, TETHER_EINVAL, NULL},
        {"example.com:80", NULL, TETHER_EINVAL, NULL},
        {"256.0.0.1:80", NULL, TETHER_EINVAL, NULL},
        {"::1:8080", NULL, TETHER_EINVAL, NULL},
        {"[::1]", NULL, TETHER_EINVAL, NULL},
        {"[::1]8080", NULL, TETHER_EINVAL, NULL},
        {"[::1:8080", NULL, TETHER_EINVAL, NULL},
        {"[127.0.0.1]:80", NULL, TETHER_EINVAL, NULL},
        {"[]:80", NULL, TETHER_EINVAL, NULL},
        {"abc", "127.0.0.1", TETHER_EINVAL, NULL},
        {"70000", "127.0.0.1", TETHER_EINVAL, NULL},
        {"8080", "not-an-ip", TETHER_EINVAL, NULL},
    };
    for (size_t i = 0; i < tt__countof(cases); i++) {
        struct sockaddr_storage ss;
        char buf[64];
        int rv = tt__addr_parse(cases[i].text, cases[i].default_host, &ss);
        if (rv != cases[i].rv) {
            fail_msg("parse \"%s\" (default %s): got %s, expected %s", cases[i].text,
                     cases[i].default_host ? cases[i].default_host : "NULL", tether_err_name(rv),
                     tether_err_name(cases[i].rv));
        }
        if (rv == 0) {
            ASSERT_OK(tt__addr_format((const struct sockaddr *)&ss, buf, sizeof(buf)));
            assert_string_equal(buf, cases[i].formatted);
        }
    }
    struct sockaddr_storage ss;
    ASSERT_ERR(tt__addr_parse(NULL, "127.0.0.1", &ss), TETHER_EINVAL);
    ASSERT_ERR(tt__addr_parse("1", "127.0.0.1", NULL), TETHER_EINVAL);
}

static void test_format(void **state)
{
    (void)state;
    char buf[64];
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
    ASSERT_OK(uv_ip4_addr("192.168.1.20", 54321, &in));
    ASSERT_OK(tt__addr_format((const struct sockaddr *)&in, buf, sizeof(buf)));
    assert_string_equal(buf, "192.168.1.20:54321");

    ASSERT_OK(uv_ip6_addr("fe80::1", 443, &in6));
    in6.sin6_scope_id = 2;
    ASSERT_OK(tt__addr_format((const struct sockaddr *)&in6, buf, sizeof(buf)));
    assert_string_equal(buf, "[fe80::1%2]:443");

    /* Too small: EINVAL and an empty, terminated buffer rather than a truncated address. */
    char small[8];
    ASSERT_ERR(tt__addr_format((const struct sockaddr *)&in, small, sizeof(small)), TETHER_EINVAL);
    assert_string_equal(small, "");

    struct sockaddr_storage unknown;
    memset(&unknown, 0, sizeof(unknown));
    unknown.ss_family = AF_UNIX;
    ASSERT_ERR(tt__addr_format((const struct sockaddr *)&unknown, buf, sizeof(buf)), TETHER_EINVAL);
    assert_string_equal(buf, "");
    ASSERT_ERR(tt__addr_format(NULL, buf, sizeof(buf)), TETHER_EINVAL);
    ASSERT_ERR(tt__addr_format((const struct sockaddr *)&in, NULL, 10), TETHER_EINVAL);
    ASSERT_ERR(tt__addr_format((const struct sockaddr *)&in, buf, 0), TETHER_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
