/* SPDX-License-Identifier: MIT */
/* What a fetch exposes about the wire for traces (curl's -v, -i, -w): the request head as
 * sent, the final response head as received (not an interim 1xx, not a retried 503), the
 * peer, the CONNECTED event, and the timings. */
#include <stdio.h>
#include <string.h>

#include "test.h"

#include "fetch_helpers.h"
#include "loop.h"
#include "script_server.h"

#define T(ms) tt_test_scale_ms(ms)

/* Everything copied while the fetch is alive. */
struct info {
    bool done;
    int code;
    unsigned connected;
    char peer_at_connect[64];
    char req_at_connect[512];
    char resp_at_response[512];
    char req[512];
    char resp[512];
    char remote[64];
    struct tether_fetch_timing timing;
    bool resp_null_before;
};

static void copy_head(char *dst, size_t cap, const char *head, size_t len)
{
    size_t n = head ? (len < cap - 1 ? len : cap - 1) : 0;
    if (n) {
        memcpy(dst, head, n);
    }
    dst[n] = '\0';
}

static void on_event(tether_client *c, const struct tether_event *ev)
{
    struct info *in = tether_client_get_data(c);
    size_t len = 0;
    const char *head;
    if (ev->type == TETHER_EVENT_CONNECTED) {
        in->connected++;
        (void)snprintf(in->peer_at_connect, sizeof(in->peer_at_connect), "%s",
                       ev->peer ? ev->peer : "(null)");
        assert_null(ev->tls_version); /* plain TCP */
        head = tether_fetch_request_head(ev->fetch, &len);
        copy_head(in->req_at_connect, sizeof(in->req_at_connect), head, len);
        in->resp_null_before = tether_fetch_response_head(ev->fetch, &len) == NULL && len == 0;
    } else if (ev->type == TETHER_EVENT_RESPONSE) {
        head = tether_fetch_response_head(ev->fetch, &len);
        copy_head(in->resp_at_response, sizeof(in->resp_at_response), head, len);
    }
}

static void on_done(tether_fetch *f, int code)
{
    struct info *in = tether_fetch_get_data(f);
    size_t len = 0;
    const char *head = tether_fetch_request_head(f, &len);
    copy_head(in->req, sizeof(in->req), head, len);
    head = tether_fetch_response_head(f, &len);
    copy_head(in->resp, sizeof(in->resp), head, len);
    (void)snprintf(in->remote, sizeof(in->remote), "%s", tether_fetch_remote(f));
    tether_fetch_timing(f, &in->timing);
    in->code = code;
    in->done = true;
    tether_fetch_free(f);
}

static void run(uv_loop_t *loop, tether_client *client, const char *url, const char *body,
                struct info *in)
{
    struct tether_fetch_options o;
    tether_fetch_options_init(&o);
    o.url = url;
    o.method = body ? "POST" : "GET";
    o.body = body;
    o.body_len = body ? strlen(body) : 0;
    o.data = in;
    tether_client_set_data(client, in);
    tether_client_on_event(client, on_event);
    ASSERT_OK(tether_client_fetch(client, &o, on_done, NULL));
    tt_test_loop_run_until(loop, &in->done, T(10000));
    assert_true(in->done);
}

/* 100 Continue first, then the real answer. */
static void script_interim(struct ss_conn *c, unsigned index, const char *req, size_t len,
                           void *data)
{
    (void)index, (void)req, (void)len, (void)data;
    ss_send_str(c, "HTTP/1.1 100 Continue\r\n\r\n"
                   "HTTP/1.1 201 Made It\r\nX-A:  spaced \r\nContent-Length: 2\r\n\r\nhi");
}

static void test_heads_peer_timing(void **state)
{
    (void)state;
    struct ft_env e;
    ft_env_init(&e, NULL, script_interim, NULL);
    struct info in;
    memset(&in, 0, sizeof(in));
    run(&e.loop, e.client, e.url, "x=1", &in);
    assert_int_equal(in.code, 0);
    char peer[64];
    (void)snprintf(peer, sizeof(peer), "127.0.0.1:%u", (unsigned)ss_port(e.ss));
    /* CONNECTED came once, with the peer, before any response. */
    assert_int_equal(in.connected, 1);
    assert_string_equal(in.peer_at_connect, peer);
    assert_true(in.resp_null_before);
    assert_string_equal(in.remote, peer);
    /* The request head as sent: the request line to the empty line, no body. */
    assert_non_null(strstr(in.req, "POST / HTTP/1.1\r\n"));
    assert_non_null(strstr(in.req, "Content-Length: 3\r\n"));
    assert_int_equal(strcmp(in.req + strlen(in.req) - 4, "\r\n\r\n"), 0);
    assert_null(strstr(in.req, "x=1"));
    assert_string_equal(in.req, in.req_at_connect);
    /* The final head byte for byte (the field's spaces kept), never the 100. */
    const char *want = "HTTP/1.1 201 Made It\r\nX-A:  spaced \r\nContent-Length: 2\r\n\r\n";
    assert_string_equal(in.resp, want);
    assert_string_equal(in.resp_at_response, want);
    /* Times are ordered and counted from the start. */
    assert_int_equal(in.timing.connects, 1);
    assert_true(in.timing.connect_us > 0);
    assert_true(in.timing.connect_us <= in.timing.first_byte_us);
    assert_true(in.timing.first_byte_us <= in.timing.total_us);
    ft_env_done(&e);
}

/* A 503 then a 200 on the same connection: the head kept is the final one. */
static void script_503_then_ok(struct ss_conn *c, unsigned index, const char *req, size_t len,
                               void *data)
{
    (void)req, (void)len, (void)data;
    if (index == 0) {
        ss_send_str(c, "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n");
    } else {
        ss_send_str(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    }
}

static void test_final_head_after_retry(void **state)
{
    (void)state;
    struct tether_policy p;
    tether_policy_defaults(&p);
    p.backoff_base_ms = 1;
    struct ft_env e;
    ft_env_init(&e, &p, script_503_then_ok, NULL);
    struct info in;
    memset(&in, 0, sizeof(in));
    run(&e.loop, e.client, e.url, NULL, &in);
    assert_int_equal(in.code, 0);
    assert_string_equal(in.resp, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(in.timing.connects, 1); /* the retry reused the connection */
    ft_env_done(&e);
}

/* A 503, then resets until the attempts run out: the fetch failed, and the 503's head is not
 * reported as its response. */
static void script_503_then_reset(struct ss_conn *c, unsigned index, const char *req, size_t len,
                                  void *data)
{
    (void)index, (void)req, (void)len;
    unsigned *seen = data;
    if ((*seen)++ == 0) {
        ss_send_str(c, "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n");
    } else {
        ss_reset(c);
    }
}

static void test_no_head_after_failed_retry(void **state)
{
    (void)state;
    struct tether_policy p;
    tether_policy_defaults(&p);
    p.backoff_base_ms = 1;
    unsigned seen = 0;
    struct ft_env e;
    ft_env_init(&e, &p, script_503_then_reset, &seen);
    struct info in;
    memset(&in, 0, sizeof(in));
    run(&e.loop, e.client, e.url, NULL, &in);
    assert_int_not_equal(in.code, 0);
    assert_true(seen >= 2);
    assert_string_equal(in.resp, "");
    ft_env_done(&e);
}

/* Nothing listens: no peer, no head, no connection, but a total time. */
static void test_refused_has_none(void **state)
{
    (void)state;
    struct tether_policy p;
    tether_policy_defaults(&p);
    p.max_attempts = 1;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    tether_client *c = ft_client_new(&loop, &p);
    struct info in;
    memset(&in, 0, sizeof(in));
    run(&loop, c, "http://127.0.0.1:1/", NULL, &in);
    assert_int_equal(in.code, TETHER_ECONNREFUSED);
    assert_string_equal(in.remote, "");
    assert_string_equal(in.resp, "");
    assert_int_equal(in.connected, 0);
    assert_int_equal(in.timing.connects, 0);
    assert_int_equal(in.timing.connect_us, 0);
    assert_int_equal(in.timing.first_byte_us, 0);
    assert_non_null(strstr(in.req, "GET / HTTP/1.1\r\n"));
    ft_close_client(&loop, c);
    tt_test_loop_close(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heads_peer_timing),
        cmocka_unit_test(test_final_head_after_retry),
        cmocka_unit_test(test_no_head_after_failed_retry),
        cmocka_unit_test(test_refused_has_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
