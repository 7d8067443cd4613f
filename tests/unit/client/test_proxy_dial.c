/* SPDX-License-Identifier: MIT */
/*
 * The client option `proxy` against a scripted proxy: http:// requests in absolute form with
 * Proxy-Authorization, pooled on one connection to the proxy whatever the origin; no_proxy
 * hosts reached directly (curl's matching rules, table-tested); a refused CONNECT tunnel fails
 * with its status and is not retried; bad proxy URLs are refused with the reason. The tunnel's
 * TLS through a real proxy is tests/cli/test_get_transport.sh's (tinyproxy).
 */
#include <signal.h>
#include <stdlib.h>

#include "test.h"

#include "client/client_int.h"
#include "fetch_helpers.h"
#include "loop.h"
#include "script_server.h"

#define T(ms) tt_test_scale_ms(ms)

static void test_no_proxy_rules(void **state)
{
    (void)state;
    static const struct {
        const char *list;
        const char *host;
        bool match;
    } cases[] = {
        {"*", "anything.example", true},
        {"example.com", "example.com", true},
        {"example.com", "www.example.com", true},
        {".example.com", "example.com", true},
        {".example.com", "a.b.example.com", true},
        {"example.com", "badexample.com", false},
        {"example.com", "example.com.evil", false},
        {"EXAMPLE.com", "example.COM", true},
        {" a.test , example.com ", "www.example.com", true},
        {"a.test,b.test", "c.test", false},
        {"127.0.0.1", "127.0.0.1", true},
        {"127.0.0.1", "127.0.0.10", false},
        {"[::1]", "::1", true},
        {"", "example.com", false},
        {",,", "example.com", false},
        {"*.example.com", "www.example.com", false}, /* curl has no wildcard labels */
        {"10.0.0.0/8", "10.200.3.4", true},
        {"10.0.0.0/8", "11.0.0.1", false},
        {"192.168.1.0/23", "192.168.0.9", true},
        {"192.168.1.0/24", "192.168.0.9", false},
        {"0.0.0.0/0", "1.2.3.4", true},
        {"10.0.0.0/8", "ten.example", false},
        {"10.0.0.0/33", "10.0.0.1", false},
        {"fd00::/8", "fd12::1", true},
        {"fd00::/8", "fe80::1", false},
        {"fd00::/8", "10.0.0.1", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (tt__no_proxy_match(cases[i].list, cases[i].host) != cases[i].match) {
            fail_msg("no_proxy '%s' and host '%s': want %s", cases[i].list, cases[i].host,
                     cases[i].match ? "a match" : "no match");
        }
    }
}

#define MAX_SEEN 8

struct seen {
    char line[MAX_SEEN][160];
    char host[MAX_SEEN][96];
    char auth[MAX_SEEN][96];
    unsigned n;
    bool refuse_connect;
};

static void field(const char *req, const char *name, char *out, size_t cap)
{
    const char *p = strstr(req, name);
    (void)snprintf(out, cap, "%.*s", p ? (int)strcspn(p + strlen(name), "\r") : 1,
                   p ? p + strlen(name) : "-");
}

static void proxy_cb(struct ss_conn *c, unsigned index, const char *req, size_t len, void *data)
{
    struct seen *s = data;
    (void)index;
    (void)len;
    if (s->n < MAX_SEEN) {
        (void)snprintf(s->line[s->n], sizeof(s->line[0]), "%.*s", (int)strcspn(req, "\r"), req);
        field(req, "\r\nHost: ", s->host[s->n], sizeof(s->host[0]));
        field(req, "\r\nProxy-Authorization: ", s->auth[s->n], sizeof(s->auth[0]));
        s->n++;
    }
    if (strncmp(req, "CONNECT ", 8) == 0) {
        ss_respond(c, 403, "", "no tunnels here");
        return;
    }
    ss_respond(c, 200, "", "via proxy");
}

static tether_client *proxied_client(uv_loop_t *loop, const char *proxy, const char *no_proxy)
{
    struct tether_client_options co;
    tether_client_options_init(&co);
    co.proxy = proxy;
    co.no_proxy = no_proxy;
    tether_client *c = NULL;
    ASSERT_OK(tether_client_new(loop, &co, &c));
    return c;
}

static void test_forward_absolute_form_pooled(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct seen s = {0};
    struct ss_server *proxy = NULL;
    assert_int_equal(ss_start(&loop, proxy_cb, &s, &proxy), 0);
    char purl[96];
    /* Percent-encoded credentials are decoded before Basic encoding: "us er:p@ss". */
    (void)snprintf(purl, sizeof(purl), "http://us%%20er:p%%40ss@127.0.0.1:%u",
                   (unsigned)ss_port(proxy));
    tether_client *c = proxied_client(&loop, purl, NULL);
    /* Names that never resolve: only the proxy can reach them. */
    struct ft_result r = {0};
    ft_get(&loop, c, "http://a.invalid:8081/x?q=1", &r);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.body, "via proxy");
    memset(&r, 0, sizeof(r));
    ft_get(&loop, c, "http://B.invalid/y", &r);
    assert_int_equal(r.code, 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.line[0], "GET http://a.invalid:8081/x?q=1 HTTP/1.1");
    assert_string_equal(s.host[0], "a.invalid:8081");
    assert_string_equal(s.auth[0], "Basic dXMgZXI6cEBzcw==");
    assert_string_equal(s.line[1], "GET http://b.invalid/y HTTP/1.1");
    assert_string_equal(s.host[1], "b.invalid");
    /* Two origins, one pooled connection to the proxy. */
    assert_int_equal(ss_accepted(proxy), 1);
    ft_close_client(&loop, c);
    ss_stop(proxy);
    tt_test_loop_close(&loop);
}

/* The forward proxy answers 503 for down.invalid, 200 for anything else. */
static void health_cb(struct ss_conn *c, unsigned index, const char *req, size_t len, void *data)
{
    struct seen *s = data;
    (void)index;
    (void)len;
    if (s->n < MAX_SEEN) {
        (void)snprintf(s->line[s->n], sizeof(s->line[0]), "%.*s", (int)strcspn(req, "\r"), req);
        s->n++;
    }
    bool down = strstr(req, "http://down.invalid/") != NULL;
    ss_respond(c, down ? 503 : 200, "", down ? "down" : "up");
}

/* Through a forward proxy every http:// origin shares the proxy's pool, but the circuit breaker
 * (and the retry budget) belong to each origin: down.invalid opening its breaker refuses its
 * requests without a byte to the proxy, while up.invalid goes on through the same proxy. */
static void test_forward_breaker_per_origin(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct seen s = {0};
    struct ss_server *proxy = NULL;
    assert_int_equal(ss_start(&loop, health_cb, &s, &proxy), 0);
    char purl[64];
    (void)snprintf(purl, sizeof(purl), "http://127.0.0.1:%u", (unsigned)ss_port(proxy));
    struct tether_client_options co;
    tether_client_options_init(&co);
    co.proxy = purl;
    co.policy.max_attempts = 1;
    co.policy.breaker = TETHER_BREAKER_ON;
    co.policy.breaker_consecutive_failures = 2;
    co.policy.breaker_open_ms = 60000;
    tether_client *c = NULL;
    ASSERT_OK(tether_client_new(&loop, &co, &c));

    struct ft_result r = {0};
    for (int i = 0; i < 2; i++) {
        memset(&r, 0, sizeof(r));
        ft_get(&loop, c, "http://down.invalid/x", &r);
        assert_int_equal(r.code, 0);
        assert_int_equal(r.status, 503);
    }
    assert_int_equal(s.n, 2);
    memset(&r, 0, sizeof(r));
    ft_get(&loop, c, "http://down.invalid/x", &r);
    assert_int_equal(r.code, TETHER_EBREAKER);
    assert_non_null(strstr(r.failure.detail, "circuit open for http://down.invalid"));
    assert_int_equal(s.n, 2); /* refused before the proxy saw it */
    memset(&r, 0, sizeof(r));
    ft_get(&loop, c, "http://up.invalid/y", &r);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.line[2], "GET http://up.invalid/y HTTP/1.1");

    /* The per-origin figures name the origin whose breaker opened. */
    bool found = false;
    struct tether_origin_stats os;
    for (size_t i = 0; tether_client_origin_stats(c, i, &os); i++) {
        if (strstr(os.origin, "down.invalid")) {
            found = true;
            assert_int_equal(os.breaker_state, TETHER_BREAKER_STATE_OPEN);
        } else {
            assert_int_equal(os.breaker_state, TETHER_BREAKER_STATE_CLOSED);
        }
    }
    assert_true(found);
    ft_close_client(&loop, c);
    ss_stop(proxy);
    tt_test_loop_close(&loop);
}

static void origin_cb(struct ss_conn *c, unsigned index, const char *req, size_t len, void *data)
{
    (void)index;
    (void)len;
    (void)data;
    char line[160];
    (void)snprintf(line, sizeof(line), "direct: %.*s", (int)strcspn(req, "\r"), req);
    ss_respond(c, 200, "", line);
}

static void test_no_proxy_goes_direct(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct seen s = {0};
    struct ss_server *proxy = NULL;
    struct ss_server *origin = NULL;
    assert_int_equal(ss_start(&loop, proxy_cb, &s, &proxy), 0);
    assert_int_equal(ss_start(&loop, origin_cb, NULL, &origin), 0);
    char purl[64];
    (void)snprintf(purl, sizeof(purl), "127.0.0.1:%u", (unsigned)ss_port(proxy));
    tether_client *c = proxied_client(&loop, purl, "localhost, 127.0.0.1");
    char url[96];
    struct ft_result r = {0};
    ft_get(&loop, c, ft_url(url, sizeof(url), "http", ss_port(origin), "/d"), &r);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.body, "direct: GET /d HTTP/1.1");
    assert_int_equal(s.n, 0);
    ft_close_client(&loop, c);
    ss_stop(proxy);
    ss_stop(origin);
    tt_test_loop_close(&loop);
}

static void test_refused_tunnel_not_retried(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct seen s = {0};
    struct ss_server *proxy = NULL;
    assert_int_equal(ss_start(&loop, proxy_cb, &s, &proxy), 0);
    char purl[64];
    (void)snprintf(purl, sizeof(purl), "http://127.0.0.1:%u/", (unsigned)ss_port(proxy));
    tether_client *c = proxied_client(&loop, purl, NULL);
    struct ft_result r = {0};
    ft_get(&loop, c, "https://secure.invalid/z", &r);
    assert_int_equal(r.code, TETHER_EHTTP);
    assert_int_equal(r.status, 0); /* the proxy's answer is not the origin's */
    assert_string_equal(r.failure.detail, "CONNECT tunnel failed, response 403 Forbidden");
    assert_int_equal(r.failure.phase, TETHER_PHASE_CONNECT);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.line[0], "CONNECT secure.invalid:443 HTTP/1.1");
    assert_string_equal(s.host[0], "secure.invalid:443");
    assert_string_equal(s.auth[0], "-");
    ft_close_client(&loop, c);
    ss_stop(proxy);
    tt_test_loop_close(&loop);
}

static void test_bad_proxy_refused(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    static const char *const bad[][2] = {
        {"socks5://127.0.0.1:1080", "only http:// proxies are supported"},
        {"https://127.0.0.1:3128", "only http:// proxies are supported"},
        {"http://127.0.0.1:99999", "the port must be 1 to 65535"},
        {"http://127.0.0.1:3128/path", "a proxy URL has no path"},
        {"http://:3128", "expected [http://][USER:PASSWORD@]HOST[:PORT]"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tether_client_options co;
        tether_client_options_init(&co);
        char why[256] = "";
        co.proxy = bad[i][0];
        co.errbuf = why;
        co.errbuf_len = sizeof(why);
        tether_client *c = NULL;
        assert_int_equal(tether_client_new(&loop, &co, &c), TETHER_EINVAL);
        char want[256];
        (void)snprintf(want, sizeof(want), "invalid proxy '%s': %s", bad[i][0], bad[i][1]);
        assert_string_equal(why, want);
    }
    tt_test_loop_close(&loop);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_proxy_rules),
        cmocka_unit_test(test_forward_absolute_form_pooled),
        cmocka_unit_test(test_forward_breaker_per_origin),
        cmocka_unit_test(test_no_proxy_goes_direct),
        cmocka_unit_test(test_refused_tunnel_not_retried),
        cmocka_unit_test(test_bad_proxy_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
