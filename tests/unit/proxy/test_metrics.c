/* SPDX-License-Identifier: MIT */
/*
 * GET /metrics in-process (tether_proxy_server_call): 404 without the options, Toxiproxy's byte
 * counters with its labels and tether's counters with proxy_metrics, the process metrics with
 * runtime_metrics, each group alone, and label values escaped as the text format requires.
 * Traffic and RSTs by toxic type are checked end to end by tests/cli/test_proxy_metrics.sh.
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"

#include "loop.h"
#include "tether/proxy.h"

struct metrics_fx {
    uv_loop_t loop;
    tether_proxy_server *ps;
    bool closed;
};

static struct metrics_fx *fx_new(bool proxy_metrics, bool runtime_metrics)
{
    struct metrics_fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    struct tether_proxy_server_options o;
    tether_proxy_server_options_init(&o);
    o.api_host = NULL;
    o.proxy_metrics = proxy_metrics;
    o.runtime_metrics = runtime_metrics;
    ASSERT_OK(tether_proxy_server_new(&fx->loop, &o, &fx->ps));
    return fx;
}

static void fx_closed(void *data)
{
    ((struct metrics_fx *)data)->closed = true;
}

static void fx_free(struct metrics_fx *fx)
{
    tether_proxy_server_close(fx->ps, fx_closed, fx);
    tt_test_loop_run_until(&fx->loop, &fx->closed, 5000);
    tt_test_loop_close(&fx->loop);
    free(fx);
}

/* The body of METHOD PATH, which must answer `status`; the caller frees it. */
static char *call(struct metrics_fx *fx, const char *method, const char *path, const char *body,
                  int status)
{
    char *resp = NULL;
    size_t len = 0;
    int got = 0;
    ASSERT_OK(tether_proxy_server_call(fx->ps, method, path, body, body ? strlen(body) : 0, &got,
                                       &resp, &len));
    assert_int_equal(got, status);
    char *text = malloc(len + 1);
    assert_non_null(text);
    if (len) {
        memcpy(text, resp, len);
    }
    text[len] = '\0';
    tether_free(resp);
    return text;
}

static void has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = strstr(text, line); p; p = strstr(p + 1, line)) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n') {
            return;
        }
    }
    fail_msg("no line '%s' in:\n%s", line, text);
}

static void test_off(void **state)
{
    (void)state;
    struct metrics_fx *fx = fx_new(false, false);
    char *body = call(fx, "GET", "/metrics", NULL, 404);
    assert_string_equal(body, "404 page not found\n");
    free(body);
    fx_free(fx);
}

static void test_proxy_metrics(void **state)
{
    (void)state;
    struct metrics_fx *fx = fx_new(true, false);
    /* A name with a quote and a backslash: label values escape both. */
    free(call(fx, "POST", "/proxies",
              "{\"name\":\"we\\\"b\\\\\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:1\","
              "\"enabled\":false}",
              201));
    char *m = call(fx, "GET", "/metrics", NULL, 200);
    has_line(m, "# TYPE toxiproxy_proxy_received_bytes_total counter");
    has_line(m, "# TYPE toxiproxy_proxy_sent_bytes_total counter");
    has_line(m, "toxiproxy_proxy_received_bytes_total{direction=\"upstream\",listener=\"127.0.0.1:"
                "0\",proxy=\"we\\\"b\\\\\",upstream=\"127.0.0.1:1\"} 0");
    has_line(m,
             "toxiproxy_proxy_sent_bytes_total{direction=\"downstream\",listener=\"127.0.0.1:0\","
             "proxy=\"we\\\"b\\\\\",upstream=\"127.0.0.1:1\"} 0");
    has_line(m, "tether_proxy_connections_accepted_total{proxy=\"we\\\"b\\\\\"} 0");
    has_line(m, "tether_proxy_connections_active{proxy=\"we\\\"b\\\\\"} 0");
    has_line(m, "# TYPE tether_proxy_toxic_resets_total counter");
    assert_null(strstr(m, "process_"));
    free(m);
    /* Any method, as Toxiproxy's promhttp handler; no other path is added. */
    free(call(fx, "POST", "/metrics", NULL, 200));
    free(call(fx, "GET", "/metrics/x", NULL, 404));
    fx_free(fx);
}

static void test_runtime_metrics(void **state)
{
    (void)state;
    struct metrics_fx *fx = fx_new(false, true);
    free(call(fx, "POST", "/proxies",
              "{\"name\":\"web\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:1\","
              "\"enabled\":false}",
              201));
    char *m = call(fx, "GET", "/metrics", NULL, 200);
    has_line(m, "# TYPE process_open_fds gauge");
    has_line(m, "# TYPE process_cpu_seconds_total counter");
    has_line(m, "# TYPE process_start_time_seconds gauge");
    has_line(m, "# TYPE tether_build_info gauge");
    assert_non_null(strstr(m, "\nprocess_resident_memory_bytes "));
    assert_null(strstr(m, "toxiproxy_"));
    assert_null(strstr(m, "tether_proxy_"));
    free(m);
    fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off),
        cmocka_unit_test(test_proxy_metrics),
        cmocka_unit_test(test_runtime_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
