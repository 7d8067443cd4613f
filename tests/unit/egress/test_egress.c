/* SPDX-License-Identifier: MIT */
/* The egress API in-process, on one loop: an upstream tether_server, a tether_egress in reverse
 * mode in front of it and a tether_client as the app. What the app gets (status, body, Via,
 * hop-by-hop fields gone), the counters and their JSON, the event hook, a bad upstream refused
 * with a reason, and a close that leaves nothing on the loop. */
#include <string.h>

#include "test.h"

#include "loop.h"
#include "tether/egress.h"

#define T(ms) tt_test_scale_ms(ms)

struct env {
    uv_loop_t loop;
    tether_server *up;
    tether_egress *eg;
    tether_client *app;
    unsigned upstream_requests;
    unsigned responses_seen; /* RESPONSE events through tether_egress_on_event */
    unsigned done;
    unsigned closed;
};

/* The upstream: echoes the target and X-App, and adds a hop-by-hop field egress must drop (its
 * Connection value is the server's own, so a Proxy-* field stands for the rest; the fields a
 * Connection value names are covered by tests/cli/test_egress.sh with a Python upstream). */
static void up_on_request(tether_server *srv, tether_request *req)
{
    struct env *e = tether_server_get_data(srv);
    e->upstream_requests++;
    char body[256];
    const char *app = tether_request_header(req, "X-App");
    const char *via = tether_request_header(req, "Via");
    bool hop = tether_request_header(req, "X-Drop") || tether_request_header(req, "Connection") ||
               tether_request_header(req, "Proxy-Authorization");
    int n = snprintf(body, sizeof(body), "%s %s app=%s via=%s hop=%s", tether_request_method(req),
                     tether_request_target(req), app ? app : "-", via ? via : "-",
                     hop ? "forwarded" : "dropped");
    (void)tether_response_start(req, 201);
    (void)tether_response_header(req, "Proxy-Note", "for the next hop only");
    (void)tether_response_header(req, "X-End", "kept");
    (void)tether_response_end(req, body, (size_t)n);
}

static struct env *g_env; /* the event hook's context: egress's client carries egress's data */

static void count_responses(tether_client *c, const struct tether_event *ev)
{
    (void)c;
    if (ev->type == TETHER_EVENT_RESPONSE) {
        g_env->responses_seen++;
    }
}

static void app_done(tether_fetch *f, int status)
{
    struct env *e = tether_fetch_get_data(f);
    assert_int_equal(status, 0);
    e->done++;
}

static void on_closed(void *data)
{
    struct env *e = data;
    e->closed++;
}

static void test_reverse_mode(void **state)
{
    (void)state;
    struct env e;
    memset(&e, 0, sizeof(e));
    g_env = &e;
    assert_int_equal(uv_loop_init(&e.loop), 0);

    struct tether_server_options so;
    tether_server_options_init(&so);
    so.on_request = up_on_request;
    so.data = &e;
    ASSERT_OK(tether_server_new(&e.loop, &so, &e.up));
    char upstream[64];
    (void)snprintf(upstream, sizeof(upstream), "http://127.0.0.1:%u/base",
                   (unsigned)tether_server_port(e.up));

    /* A bad upstream is refused with the reason, and leaves nothing on the loop. */
    char why[256] = "";
    struct tether_egress_options eo;
    tether_egress_options_init(&eo);
    eo.upstream = "ftp://x";
    eo.errbuf = why;
    eo.errbuf_len = sizeof(why);
    tether_egress *bad = NULL;
    assert_int_equal(tether_egress_new(&e.loop, &eo, &bad), TETHER_EINVAL);
    assert_null(bad);
    assert_non_null(strstr(why, "invalid upstream 'ftp://x'"));

    eo.upstream = upstream;
    eo.data = &e;
    ASSERT_OK(tether_egress_new(&e.loop, &eo, &e.eg));
    assert_ptr_equal(tether_egress_get_data(e.eg), &e);
    assert_non_null(tether_egress_client(e.eg));
    assert_non_null(tether_egress_server(e.eg));
    tether_egress_on_event(e.eg, count_responses);

    struct tether_client_options co;
    tether_client_options_init(&co);
    tether_policy_naive(&co.policy);
    ASSERT_OK(tether_client_new(&e.loop, &co, &e.app));
    char url[96];
    (void)snprintf(url, sizeof(url), "http://127.0.0.1:%u/orders?id=7",
                   (unsigned)tether_egress_port(e.eg));
    const struct tether_header hdrs[] = {
        {"X-App", "yes"}, {"Connection", "X-Drop"}, {"X-Drop", "1"}, {"Proxy-Authorization", "x"}};
    struct tether_fetch_options fo;
    tether_fetch_options_init(&fo);
    fo.url = url;
    fo.headers = hdrs;
    fo.nheaders = 4;
    fo.data = &e;
    tether_fetch *f = NULL;
    ASSERT_OK(tether_client_fetch(e.app, &fo, app_done, &f));
    tt_test_loop_run_until_count(&e.loop, &e.done, 1, T(5000));

    assert_int_equal(tether_fetch_status(f), 201);
    size_t len = 0;
    const char *body = tether_fetch_body(f, &len);
    assert_non_null(body);
    assert_true(len > 0);
    char text[256];
    (void)snprintf(text, sizeof(text), "%.*s", (int)len, body);
    assert_string_equal(text, "GET /base/orders?id=7 app=yes via=1.1 tether hop=dropped");
    assert_string_equal(tether_fetch_header(f, "Via"), "1.1 tether");
    assert_string_equal(tether_fetch_header(f, "X-End"), "kept");
    assert_null(tether_fetch_header(f, "Proxy-Note"));
    tether_fetch_free(f);
    assert_int_equal(e.upstream_requests, 1);
    assert_int_equal(e.responses_seen, 1);

    struct tether_egress_stats st;
    tether_egress_get_stats(e.eg, &st);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.relayed, 1);
    assert_int_equal(st.failed_502 + st.failed_504 + st.refused + st.cut, 0);
    char json[2048];
    int n = tether_egress_stats_json(e.eg, json, sizeof(json));
    assert_true(n > 0 && (size_t)n < sizeof(json));
    assert_non_null(strstr(json, "\"requests\":1,\"relayed\":1,"));
    assert_int_equal(tether_egress_stats_json(NULL, json, sizeof(json)), TETHER_EINVAL);

    /* Everything closes, and nothing is left on the loop. */
    tether_client_close(e.app, on_closed, &e);
    tether_egress_close(e.eg, on_closed, &e);
    tether_egress_close(e.eg, on_closed, &e); /* a second call is harmless */
    tether_server_close(e.up, on_closed, &e);
    tt_test_loop_run_until_count(&e.loop, &e.closed, 3, T(5000));
    tt_test_loop_close(&e.loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reverse_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
