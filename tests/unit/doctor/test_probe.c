/* SPDX-License-Identifier: MIT */
/* The probe on a loop against a scripted server on the same loop: closes decided by the
 * server's own timers (FIN, RST, silent), a chunked response, the hint's parameters out of
 * order, bytes on an idle connection, a per-connection limit, cancel, and the blocking call's
 * errors. The measured idle close is checked against the server's timer: never earlier, and
 * late by no more than the loop's latency (scaled). */
#include <string.h>

#include "loop.h"
#include "script_server.h"
#include "test.h"

#include "tether/doctor.h"
#include "tether/error.h"

enum close_mode { CLOSE_FIN, CLOSE_RST, CLOSE_NEVER, CLOSE_AFTER_408 };

struct scenario {
    enum close_mode mode;
    uint64_t idle_ms;    /* the server's idle timer */
    const char *headers; /* extra response fields */
    bool chunked;
    unsigned max_requests; /* Connection: close on this request (1-based), 0 = never */
};

static void close_fin(struct ss_conn *c, void *arg)
{
    (void)arg;
    ss_close(c);
}

static void close_rst(struct ss_conn *c, void *arg)
{
    (void)arg;
    ss_reset(c);
}

static void send_408(struct ss_conn *c, void *arg)
{
    (void)arg;
    ss_send_str(c, "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n");
}

static void on_request(struct ss_conn *c, unsigned index, const char *req, size_t len, void *data)
{
    (void)req;
    (void)len;
    const struct scenario *s = data;
    char extra[256];
    bool last = s->max_requests && index + 1 == s->max_requests;
    (void)snprintf(extra, sizeof(extra), "%s%s", s->headers, last ? "Connection: close\r\n" : "");
    if (s->chunked) {
        char head[512];
        (void)snprintf(
            head, sizeof(head),
            "HTTP/1.1 200 OK\r\n%sTransfer-Encoding: chunked\r\n\r\n3\r\nok\n\r\n0\r\n\r\n", extra);
        ss_send_str(c, head);
    } else {
        ss_respond(c, 200, extra, "ok\n");
    }
    if (last) {
        ss_close(c);
        return;
    }
    /* The idle timer starts when the response is written, as a server's does. */
    if (s->mode == CLOSE_FIN) {
        ss_after(c, s->idle_ms, close_fin, NULL);
    } else if (s->mode == CLOSE_RST) {
        ss_after(c, s->idle_ms, close_rst, NULL);
    } else if (s->mode == CLOSE_AFTER_408) {
        ss_after(c, s->idle_ms / 2, send_408, NULL);
        ss_after(c, s->idle_ms, close_fin, NULL);
    }
}

static void on_done(struct tether_doctor *d, void *arg)
{
    (void)d;
    *(bool *)arg = true;
}

/* Runs the probe against a scripted server; fills *out. */
static void probe(struct scenario *s, struct tether_doctor_options *o,
                  struct tether_doctor_result *out, const char **error)
{
    static char url[64];
    static char err_copy[320];
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct ss_server *srv = NULL;
    assert_int_equal(ss_start(&loop, on_request, s, &srv), 0);
    (void)snprintf(url, sizeof(url), "http://127.0.0.1:%u/x?y", (unsigned)ss_port(srv));
    o->url = url;
    struct tether_doctor *d = NULL;
    bool done = false;
    char errbuf[256];
    ASSERT_OK(tether_doctor_start(&loop, o, on_done, &done, &d, errbuf, sizeof(errbuf)));
    tt_test_loop_run_until(&loop, &done, o->max_idle_ms + 5000);
    *out = *tether_doctor_result(d);
    *error = NULL;
    if (tether_doctor_error(d)) {
        (void)snprintf(err_copy, sizeof(err_copy), "%s", tether_doctor_error(d));
        *error = err_copy;
    }
    tether_doctor_free(d);
    ss_stop(srv);
    tt_test_loop_close(&loop);
}

static void options(struct tether_doctor_options *o)
{
    tether_doctor_options_init(o);
    o->max_idle_ms = 2000;
    o->max_requests = 0;
}

/* Never before the server's timer; late by at most the loop's latency. */
static void assert_close_at(const struct tether_doctor_result *r, uint64_t want,
                            enum tether_doctor_close how)
{
    assert_int_equal(r->nidle, 3);
    for (size_t i = 0; i < r->nidle; i++) {
        if (r->idle[i].how != how || r->idle[i].ms + 1 < want ||
            r->idle[i].ms > want + tt_test_scale_ms(30)) {
            fail_msg("connection %zu: %s after %llu ms, expected %s after %llu ms", i,
                     tether_doctor_close_name(r->idle[i].how), (unsigned long long)r->idle[i].ms,
                     tether_doctor_close_name(how), (unsigned long long)want);
        }
    }
    assert_int_equal(r->idle_how, how);
}

static void test_fin_and_rst(void **state)
{
    (void)state;
    struct tether_doctor_options o;
    struct tether_doctor_result r;
    const char *err;
    struct scenario fin = {CLOSE_FIN, 200, "Keep-Alive: timeout=1, max=50\r\nServer: scripted\r\n",
                           false, 0};
    options(&o);
    probe(&fin, &o, &r, &err);
    assert_null(err);
    assert_close_at(&r, 200, TETHER_DOCTOR_CLOSE_FIN);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.path, "/x?y");
    assert_true(r.hint_has_timeout);
    assert_int_equal(r.hint_timeout_s, 1);
    assert_int_equal(r.hint_max, 50);
    assert_false(r.hint_timeout_not_first);
    assert_string_equal(r.hints[0], "server: scripted");
    assert_string_equal(r.addrs[0], "127.0.0.1");
    assert_false(r.requests_ran);

    struct scenario rst = {CLOSE_RST, 150, "", true, 0};
    probe(&rst, &o, &r, &err);
    assert_null(err);
    assert_close_at(&r, 150, TETHER_DOCTOR_CLOSE_RST);
    assert_false(r.hint_present);
}

static void test_idle_bytes_are_not_a_close(void **state)
{
    (void)state;
    struct tether_doctor_options o;
    struct tether_doctor_result r;
    const char *err;
    struct scenario s = {CLOSE_AFTER_408, 300, "Keep-Alive: max=5, timeout=3\r\n", false, 0};
    options(&o);
    probe(&s, &o, &r, &err);
    assert_null(err);
    assert_close_at(&r, 300, TETHER_DOCTOR_CLOSE_FIN);
    assert_true(r.hint_timeout_not_first);
    assert_int_equal(r.hint_timeout_s, 3);
}

static void test_never_closes_and_probes(void **state)
{
    (void)state;
    struct tether_doctor_options o;
    struct tether_doctor_result r;
    const char *err;
    struct scenario s = {CLOSE_NEVER, 0, "", false, 0};
    options(&o);
    o.max_idle_ms = 300;
    o.connections = 2;
    o.silent_probes = 1;
    o.silent_probe_ms[0] = 100;
    probe(&s, &o, &r, &err);
    assert_null(err);
    assert_int_equal(r.nidle, 2);
    assert_int_equal(r.idle_how, TETHER_DOCTOR_CLOSE_NONE);
    assert_int_equal(r.idle[0].ms, 300);
    assert_int_equal(r.nprobes, 1);
    assert_int_equal(r.probes[0].outcome, TETHER_DOCTOR_PROBE_OK);

    /* A probe whose connection the server closes first. */
    struct scenario fin = {CLOSE_FIN, 100, "", false, 0};
    o.silent_probe_ms[0] = 1000;
    probe(&fin, &o, &r, &err);
    assert_int_equal(r.probes[0].outcome, TETHER_DOCTOR_PROBE_CLOSED_EARLY);
    assert_int_equal(r.probes[0].early_how, TETHER_DOCTOR_CLOSE_FIN);
}

static void test_requests_per_connection(void **state)
{
    (void)state;
    struct tether_doctor_options o;
    struct tether_doctor_result r;
    const char *err;
    struct scenario s = {CLOSE_FIN, 200, "", true, 4};
    options(&o);
    o.max_requests = 10;
    probe(&s, &o, &r, &err);
    assert_null(err);
    assert_true(r.requests_ran);
    assert_int_equal(r.requests_measured, 4);
    assert_true(r.requests_limit_reached);
    /* Our own bound. */
    s.max_requests = 0;
    o.max_requests = 6;
    probe(&s, &o, &r, &err);
    assert_int_equal(r.requests_measured, 6);
    assert_false(r.requests_limit_reached);
}

static void test_cancel(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct scenario s = {CLOSE_NEVER, 0, "", false, 0};
    struct ss_server *srv = NULL;
    assert_int_equal(ss_start(&loop, on_request, &s, &srv), 0);
    char url[64];
    (void)snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)ss_port(srv));
    struct tether_doctor_options o;
    options(&o);
    o.max_idle_ms = 60000;
    o.url = url;
    struct tether_doctor *d = NULL;
    bool done = false;
    char errbuf[256];
    ASSERT_OK(tether_doctor_start(&loop, &o, on_done, &done, &d, errbuf, sizeof(errbuf)));
    /* Wait until every idle connection is idle, then cancel: they end as "none" at once. */
    unsigned open = 0;
    uint64_t elapsed = 0;
    uint64_t deadline = tt_test_now_ms() + tt_test_scale_ms(5000);
    while (open < 3 && tt_test_now_ms() < deadline) {
        (void)uv_run(&loop, UV_RUN_ONCE);
        tether_doctor_progress(d, &elapsed, &open);
    }
    assert_int_equal(open, 3);
    tether_doctor_cancel(d);
    tt_test_loop_run_until(&loop, &done, 2000);
    const struct tether_doctor_result *r = tether_doctor_result(d);
    assert_null(tether_doctor_error(d));
    assert_int_equal(r->idle_how, TETHER_DOCTOR_CLOSE_NONE);
    assert_true(r->idle[0].ms < 60000);
    tether_doctor_free(d);
    ss_stop(srv);
    tt_test_loop_close(&loop);
}

static void test_blocking_errors(void **state)
{
    (void)state;
    struct tether_doctor_options o;
    struct tether_doctor_result r;
    char err[256];
    options(&o);
    o.url = "http://127.0.0.1:1/";
    ASSERT_ERR(tether_doctor_run(&o, &r, err, sizeof(err)), TETHER_EIO);
    assert_string_equal(err, "connect ECONNREFUSED 127.0.0.1:1");
    o.url = "ftp://x/";
    ASSERT_ERR(tether_doctor_run(&o, &r, err, sizeof(err)), TETHER_EINVAL);
    assert_non_null(strstr(err, "'ftp://x/'"));
    static const char *const bad[] = {"http://",     "http://h:0/",  "http://h:99999/",
                                      "http://u@h/", "http://h/a b", "http://[::1/"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o.url = bad[i];
        if (tether_doctor_run(&o, &r, err, sizeof(err)) != TETHER_EINVAL) {
            fail_msg("'%s' accepted", bad[i]);
        }
    }
    o.url = "http://127.0.0.1:1/";
    o.connections = 0;
    ASSERT_ERR(tether_doctor_run(&o, &r, err, sizeof(err)), TETHER_EINVAL);
    o.connections = 3;
    o.ramp_connections = 5;
    o.url = "https://127.0.0.1:1/";
    ASSERT_ERR(tether_doctor_run(&o, &r, err, sizeof(err)), TETHER_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fin_and_rst),
        cmocka_unit_test(test_idle_bytes_are_not_a_close),
        cmocka_unit_test(test_never_closes_and_probes),
        cmocka_unit_test(test_requests_per_connection),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_blocking_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
