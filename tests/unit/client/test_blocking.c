/* SPDX-License-Identifier: MIT */
/*
 * The blocking API cannot be misused silently: wrong-mode calls and nested runs are refused
 * with a reason, a close from inside a callback completes after the run, SIGPIPE is blocked
 * for the calling thread only while it runs, and synchronous refusals name their cause.
 */
#include <signal.h>

#include "test.h"

#include "fetch_helpers.h"
#include "rawclient.h"

static bool thread_blocks_sigpipe(void)
{
    sigset_t now;
    assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &now), 0);
    return sigismember(&now, SIGPIPE) == 1;
}

struct inside {
    tether_client *client;
    const char *url;
    int nested_rv;
    char nested_why[256];
    bool close_from_body;
    bool close_cb_ran;
    bool close_cb_ran_inside; /* must stay false: the close completes after the run */
    bool sigpipe_blocked_inside;
    unsigned bodies;
};

static void inside_closed(void *data)
{
    ((struct inside *)data)->close_cb_ran = true;
}

static bool inside_on_body(tether_fetch *f, const char *data, size_t len)
{
    (void)data;
    (void)len;
    struct inside *in = tether_fetch_get_data(f);
    in->bodies++;
    in->sigpipe_blocked_inside = thread_blocks_sigpipe();
    if (in->bodies == 1) {
        struct tether_fetch_options o;
        memset(&o, 0, sizeof(o));
        o.url = in->url;
        o.errbuf = in->nested_why;
        o.errbuf_len = sizeof(in->nested_why);
        tether_fetch *g = NULL;
        in->nested_rv = tether_client_fetch_blocking(in->client, &o, &g);
        assert_null(g);
        if (in->close_from_body) {
            tether_client_close(in->client, inside_closed, in);
            in->close_cb_ran_inside = in->close_cb_ran;
        }
    }
    return true;
}

static void test_nested_run_refused(void **state)
{
    struct tether_server_options so;
    srvfix_options(&so);
    struct srvfix *fx = srvfix_begin(state, &so);
    assert_false(thread_blocks_sigpipe());
    struct tether_client_options co;
    tether_client_options_init(&co);
    struct inside in;
    memset(&in, 0, sizeof(in));
    ASSERT_OK(tether_client_new_blocking(&co, &in.client));
    char url[128];
    in.url = ft_url(url, sizeof(url), "http", fx->port, "/big/200000");
    struct tether_fetch_options o;
    memset(&o, 0, sizeof(o));
    o.url = in.url;
    o.on_body = inside_on_body;
    o.data = &in;
    tether_fetch *f = NULL;
    ASSERT_OK(tether_client_fetch_blocking(in.client, &o, &f));
    /* The nested call was refused (libuv loops are not reentrant) and said why; the outer
     * fetch went on to the end. */
    ASSERT_ERR(in.nested_rv, TETHER_EBUSY);
    assert_non_null(strstr(in.nested_why, "inside"));
    assert_int_equal(tether_fetch_failure(f)->code, 0);
    assert_int_equal(tether_fetch_status(f), 200);
    assert_true(in.bodies >= 1);
    /* SIGPIPE was blocked for this thread during the run, and the mask is back after it. */
    assert_true(in.sigpipe_blocked_inside);
    assert_false(thread_blocks_sigpipe());
    tether_fetch_free(f);
    tether_client_close_blocking(in.client);
    srvfix_end(state);
}

static void test_close_from_callback(void **state)
{
    struct tether_server_options so;
    srvfix_options(&so);
    struct srvfix *fx = srvfix_begin(state, &so);
    struct tether_client_options co;
    tether_client_options_init(&co);
    struct inside in;
    memset(&in, 0, sizeof(in));
    in.close_from_body = true;
    ASSERT_OK(tether_client_new_blocking(&co, &in.client));
    char url[128];
    in.url = ft_url(url, sizeof(url), "http", fx->port, "/big/200000");
    struct tether_fetch_options o;
    memset(&o, 0, sizeof(o));
    o.url = in.url;
    o.on_body = inside_on_body;
    o.data = &in;
    tether_fetch *f = NULL;
    ASSERT_OK(tether_client_fetch_blocking(in.client, &o, &f));
    /* The close cancelled the fetch, finished once the run was over (the client and its loop
     * are gone: ASan reports a leak otherwise), and its callback ran before the call
     * returned, never inside the callback that asked for it. */
    assert_int_equal(tether_fetch_failure(f)->code, TETHER_ECANCELED);
    assert_false(in.close_cb_ran_inside);
    assert_true(in.close_cb_ran);
    assert_false(thread_blocks_sigpipe());
    tether_fetch_free(f);
    srvfix_end(state);
}

static void never_done(tether_fetch *f, int status)
{
    (void)f;
    (void)status;
    fail_msg("done ran for a refused fetch");
}

static void closed_flag(void *data)
{
    *(bool *)data = true;
}

static void test_wrong_mode_refused(void **state)
{
    (void)state;
    char why[256];
    struct tether_client_options co;
    tether_client_options_init(&co);
    struct tether_fetch_options o;
    memset(&o, 0, sizeof(o));
    o.url = "http://127.0.0.1:1/";
    o.errbuf = why;
    o.errbuf_len = sizeof(why);

    /* A blocking client refuses the loop-driven call: nobody would run its loop. */
    tether_client *b = NULL;
    ASSERT_OK(tether_client_new_blocking(&co, &b));
    tether_fetch *f = (tether_fetch *)&why; /* must be reset to NULL */
    ASSERT_ERR(tether_client_fetch(b, &o, never_done, &f), TETHER_EINVAL);
    assert_null(f);
    assert_non_null(strstr(why, "tether_client_fetch_blocking"));
    /* tether_client_close on a blocking client completes before it returns. */
    bool closed = false;
    tether_client_close(b, closed_flag, &closed);
    assert_true(closed);

    /* An async client refuses the blocking call. */
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    tether_client *a = NULL;
    ASSERT_OK(tether_client_new(&loop, &co, &a));
    why[0] = '\0';
    ASSERT_ERR(tether_client_fetch_blocking(a, &o, &f), TETHER_EINVAL);
    assert_null(f);
    assert_non_null(strstr(why, "tether_client_new_blocking"));
    /* tether_client_close_blocking on an async client starts the ordinary close. */
    tether_client_close_blocking(a);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);

    /* NULL is harmless everywhere. */
    tether_client_close(NULL, NULL, NULL);
    tether_client_close_blocking(NULL);
    tether_fetch_cancel(NULL);
    tether_fetch_free(NULL);
}

static void expect_refusal(tether_client *c, const char *method, const char *url,
                           const struct tether_header *h, size_t nh, const char *needle)
{
    char why[256];
    why[0] = '\0';
    struct tether_fetch_options o;
    memset(&o, 0, sizeof(o));
    o.method = method;
    o.url = url;
    o.headers = h;
    o.nheaders = nh;
    o.errbuf = why;
    o.errbuf_len = sizeof(why);
    tether_fetch *f = NULL;
    ASSERT_ERR(tether_client_fetch_blocking(c, &o, &f), TETHER_EINVAL);
    if (!strstr(why, needle)) {
        fail_msg("%s %s: '%s' does not contain '%s'", method ? method : "GET", url, why, needle);
    }
}

static void test_refusals_name_the_cause(void **state)
{
    (void)state;
    struct tether_client_options co;
    tether_client_options_init(&co);
    tether_client *c = NULL;
    ASSERT_OK(tether_client_new_blocking(&co, &c));
    struct tether_header bad_name = {"Bad Name", "v"};
    struct tether_header bad_value = {"X-Ok", "a\r\nInjected: yes"};
    struct tether_header framing = {"Content-Length", "5"};
    expect_refusal(c, NULL, "ftp://x/", NULL, 0, "invalid URL 'ftp://x/'");
    expect_refusal(c, NULL, "http://user:pw@h/", NULL, 0, "user info");
    expect_refusal(c, NULL, "http://h:99999/", NULL, 0, "port");
    expect_refusal(c, NULL, "http://::1:80/", NULL, 0, "brackets");
    expect_refusal(c, NULL, "http://h/a b", NULL, 0, "path");
    expect_refusal(c, "GE T", "http://h/", NULL, 0, "invalid method 'GE T'");
    expect_refusal(c, NULL, "http://h/", &bad_name, 1, "'Bad Name'");
    expect_refusal(c, NULL, "http://h/", &bad_value, 1, "'X-Ok'");
    expect_refusal(c, NULL, "http://h/", &framing, 1, "'Content-Length'");
    tether_client_close_blocking(c);

    /* A CA file the client cannot use is named with the reason. */
    char why[256];
    why[0] = '\0';
    co.ca_file = "/nonexistent/ca.pem";
    co.errbuf = why;
    co.errbuf_len = sizeof(why);
    c = (tether_client *)&why;
    ASSERT_ERR(tether_client_new_blocking(&co, &c), TETHER_EINVAL);
    assert_null(c);
    assert_non_null(strstr(why, "'/nonexistent/ca.pem'"));
    assert_non_null(strstr(why, "no such file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_nested_run_refused, srvfix_teardown),
        cmocka_unit_test_teardown(test_close_from_callback, srvfix_teardown),
        cmocka_unit_test(test_wrong_mode_refused),
        cmocka_unit_test(test_refusals_name_the_cause),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
