/* SPDX-License-Identifier: MIT */
/*
 * Constructors of the server and the proxy server: bad options and failed listens are refused
 * with the cause in the caller's error buffer, a failed constructor leaves nothing on the loop
 * (no run needed to clean up), and closing passes the caller's data and accepts NULL.
 */
#include <unistd.h>

#include "test.h"

#include "certs.h"
#include "net_peer.h"

static void on_request(tether_server *srv, tether_request *req)
{
    (void)srv;
    (void)tether_response_send(req, 204, NULL, NULL, 0);
}

/* A loop a failed constructor touched must be closable at once. */
static void assert_loop_untouched(uv_loop_t *loop)
{
    assert_int_equal(uv_loop_alive(loop), 0);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void expect_server_refused(const struct tether_server_options *in, int code,
                                  const char *needle)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct tether_server_options o = *in;
    char why[256];
    why[0] = '\0';
    o.errbuf = why;
    o.errbuf_len = sizeof(why);
    tether_server *srv = (tether_server *)&o; /* must be reset */
    ASSERT_ERR(tether_server_new(&loop, &o, &srv), code);
    assert_null(srv);
    if (!strstr(why, needle)) {
        fail_msg("'%s' does not contain '%s'", why, needle);
    }
    assert_loop_untouched(&loop);
}

static void test_server_refusals(void **state)
{
    (void)state;
    struct tether_server_options o;
    tether_server_options_init(&o);
    expect_server_refused(&o, TETHER_EINVAL, "on_request");
    o.on_request = on_request;
    o.max_fields = 0;
    expect_server_refused(&o, TETHER_EINVAL, "max_fields");
    o.max_fields = 100;
    o.host = "example.com";
    expect_server_refused(&o, TETHER_EINVAL, "'example.com'");
    o.host = "127.0.0.1";

    uint16_t port;
    int fd = np_listen(&port, 1); /* a port in use, so the server's bind fails */
    o.port = port;
    char needle[64];
    (void)snprintf(needle, sizeof(needle), "EADDRINUSE: address already in use 127.0.0.1:%u",
                   (unsigned)port);
    expect_server_refused(&o, TETHER_EADDRINUSE, needle);
    close(fd);
    o.port = 0;

    struct tt_test_certs certs;
    ASSERT_OK(tt_test_certs_create(&certs));
    o.tls_cert_file = certs.cert_file;
    expect_server_refused(&o, TETHER_EINVAL, "both tls_cert_file and tls_key_file");
    o.tls_key_file = "/nonexistent/key.pem";
    expect_server_refused(&o, TETHER_EINVAL, "'/nonexistent/key.pem': no such file");
    o.tls_cert_file = certs.key_file; /* a key is not a certificate */
    o.tls_key_file = certs.key_file;
    expect_server_refused(&o, TETHER_EINVAL, certs.key_file);
    tt_test_certs_remove(&certs);
}

static void closed_with(void *data)
{
    (*(int *)data)++;
}

static void test_server_close_data(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct tether_server_options o;
    tether_server_options_init(&o);
    o.on_request = on_request;
    int marker = 0;
    o.data = &o; /* the options' data is not the close callback's */
    tether_server *srv = NULL;
    ASSERT_OK(tether_server_new(&loop, &o, &srv));
    assert_ptr_equal(tether_server_get_data(srv), &o);
    tether_server_close(srv, closed_with, &marker);
    tether_server_close(srv, closed_with, &marker); /* a second call is ignored */
    assert_int_equal(marker, 0);                    /* never from inside the call */
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(marker, 1);
    assert_int_equal(uv_loop_close(&loop), 0);

    tether_server_close(NULL, NULL, NULL);
    tether_server_shutdown(NULL, NULL);
    struct tether_server_stats st;
    memset(&st, 0xff, sizeof(st));
    tether_server_get_stats(NULL, &st);
    assert_int_equal(st.requests, 0);
    assert_int_equal(tether_server_port(NULL), 0);
    assert_null(tether_server_get_data(NULL));
}

/* reuse_port: two servers on two loops share one port; a server without it cannot join them,
 * and one with it cannot join a socket bound without it. */
static void test_server_reuse_port(void **state)
{
    (void)state;
    uv_loop_t loops[2];
    tether_server *srv[2] = {NULL, NULL};
    struct tether_server_options o;
    tether_server_options_init(&o);
    o.on_request = on_request;
    o.reuse_port = true;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(uv_loop_init(&loops[i]), 0);
        ASSERT_OK(tether_server_new(&loops[i], &o, &srv[i]));
        o.port = tether_server_port(srv[0]); /* the second joins the port the first picked */
    }
    assert_int_equal(tether_server_port(srv[1]), tether_server_port(srv[0]));

    o.reuse_port = false;
    char needle[64];
    (void)snprintf(needle, sizeof(needle), "EADDRINUSE: address already in use 127.0.0.1:%u",
                   (unsigned)o.port);
    expect_server_refused(&o, TETHER_EADDRINUSE, needle);

    uint16_t port;
    int fd = np_listen(&port, 1); /* bound without SO_REUSEPORT: a reuse_port server cannot join */
    o.reuse_port = true;
    o.port = port;
    (void)snprintf(needle, sizeof(needle), "EADDRINUSE: address already in use 127.0.0.1:%u",
                   (unsigned)port);
    expect_server_refused(&o, TETHER_EADDRINUSE, needle);
    close(fd);

    for (int i = 0; i < 2; i++) {
        tether_server_close(srv[i], NULL, NULL);
        assert_int_equal(uv_run(&loops[i], UV_RUN_DEFAULT), 0);
        assert_int_equal(uv_loop_close(&loops[i]), 0);
    }
}

static void test_proxy_server_refusals(void **state)
{
    (void)state;
    uint16_t port;
    int fd = np_listen(&port, 1); /* a port in use, so the server's bind fails */
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct tether_proxy_server_options o;
    tether_proxy_server_options_init(&o);
    o.api_host = "127.0.0.1";
    o.api_port = port;
    char why[256];
    why[0] = '\0';
    o.errbuf = why;
    o.errbuf_len = sizeof(why);
    tether_proxy_server *ps = NULL;
    ASSERT_ERR(tether_proxy_server_new(&loop, &o, &ps), TETHER_EADDRINUSE);
    assert_null(ps);
    assert_non_null(strstr(why, "EADDRINUSE"));
    assert_loop_untouched(&loop);
    close(fd);
    tether_proxy_server_close(NULL, NULL, NULL);
}

static void test_proxy_listen_names_refused(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct tether_proxy_server_options o;
    tether_proxy_server_options_init(&o);
    o.api_host = NULL; /* in-process API only */
    tether_proxy_server *ps = NULL;
    ASSERT_OK(tether_proxy_server_new(&loop, &o, &ps));
    /* A name would need a blocking lookup on the loop: refused at once, with the reason. */
    const char *body = "{\"name\":\"n\",\"listen\":\"db.example.invalid:0\","
                       "\"upstream\":\"127.0.0.1:9\"}";
    int status = 0;
    char *resp = NULL;
    ASSERT_OK(
        tether_proxy_server_call(ps, "POST", "/proxies", body, strlen(body), &status, &resp, NULL));
    assert_int_equal(status, 500);
    assert_non_null(resp);
    assert_non_null(strstr(resp, "db.example.invalid"));
    assert_non_null(strstr(resp, "IP literals or localhost"));
    tether_free(resp);
    /* localhost and literals still work. */
    body = "{\"name\":\"m\",\"listen\":\"localhost:0\",\"upstream\":\"127.0.0.1:9\"}";
    ASSERT_OK(
        tether_proxy_server_call(ps, "POST", "/proxies", body, strlen(body), &status, &resp, NULL));
    assert_int_equal(status, 201);
    tether_free(resp);
    uint16_t port = 0;
    ASSERT_OK(tether_proxy_server_proxy_port(ps, "m", &port));
    assert_true(port != 0);
    tether_proxy_server_close(ps, NULL, NULL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_refusals),
        cmocka_unit_test(test_server_close_data),
        cmocka_unit_test(test_server_reuse_port),
        cmocka_unit_test(test_proxy_server_refusals),
        cmocka_unit_test(test_proxy_listen_names_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
