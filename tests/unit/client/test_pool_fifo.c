/* SPDX-License-Identifier: MIT */
/*
 * The pool's wait queue is FIFO (the hostile-input review's B2): a waiter woken by a freed
 * connection keeps its turn even when a newer fetch starts in the same loop turn. Before, the
 * newer fetch took the idle connection first and the woken waiter went to the back of the
 * queue, so under contention the oldest request could lose again and again.
 *
 * With one connection per origin: A is on the connection and B waits. While A's body arrives
 * (before A hands the connection back), A's body callback starts C, so C's start is queued
 * ahead of B's wake-up. The completions must still come in the order A, B, C.
 */
#include <signal.h>
#include <stdlib.h>

#include "test.h"

#include "fetch_helpers.h"
#include "loop.h"
#include "tether/server.h"

static void on_request(tether_server *srv, tether_request *req)
{
    const char *t = tether_request_target(req);
    (void)srv;
    (void)tether_response_send(req, 200, "text/plain", t, strlen(t));
}

struct fifo {
    tether_client *client;
    char url_c[128];
    char order[8]; /* the targets' letters in order of completion */
    size_t n;
    bool c_started;
    unsigned failed;
};

static struct fifo fx;

static void fifo_done(tether_fetch *f, int status)
{
    const char *letter = tether_fetch_get_data(f);
    if (status != 0 || tether_fetch_status(f) != 200) {
        fx.failed++;
    }
    if (fx.n + 1 < sizeof(fx.order)) {
        fx.order[fx.n++] = letter[0];
        fx.order[fx.n] = '\0';
    }
    tether_fetch_free(f);
}

static void start(const char *url, const char *letter, tether_fetch_body_cb on_body)
{
    struct tether_fetch_options o;
    memset(&o, 0, sizeof(o));
    o.url = url;
    o.on_body = on_body;
    o.data = (void *)(uintptr_t)letter;
    tether_fetch *f = NULL;
    ASSERT_OK(tether_client_fetch(fx.client, &o, fifo_done, &f));
}

/* A's body: the connection is still A's, so C's start is queued before A frees it. */
static bool a_body(tether_fetch *f, const char *data, size_t len)
{
    (void)f;
    (void)data;
    (void)len;
    if (!fx.c_started) {
        fx.c_started = true;
        start(fx.url_c, "C", NULL);
    }
    return true;
}

static void test_woken_waiter_keeps_its_turn(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof(fx));
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct tether_server_options so;
    tether_server_options_init(&so);
    so.on_request = on_request;
    tether_server *srv = NULL;
    ASSERT_OK(tether_server_new(&loop, &so, &srv));
    uint16_t port = tether_server_port(srv);

    struct tether_policy p;
    tether_policy_defaults(&p);
    p.max_conns_per_origin = 1;
    fx.client = ft_client_new(&loop, &p);
    char url_a[128], url_b[128];
    (void)ft_url(url_a, sizeof(url_a), "http", port, "/a");
    (void)ft_url(url_b, sizeof(url_b), "http", port, "/b");
    (void)ft_url(fx.url_c, sizeof(fx.url_c), "http", port, "/c");

    start(url_a, "A", a_body);
    start(url_b, "B", NULL);
    uint64_t stop = tt_test_now_ms() + tt_test_scale_ms(5000);
    while (fx.n < 3 && tt_test_now_ms() < stop) {
        tt_test_loop_run_for(&loop, 5);
    }
    assert_int_equal(fx.failed, 0);
    assert_string_equal(fx.order, "ABC");
    struct tether_client_stats st;
    tether_client_get_stats(fx.client, &st);
    assert_int_equal(st.connections_opened, 1); /* one connection, handed on in order */

    ft_close_client(&loop, fx.client);
    tether_server_close(srv, NULL, NULL);
    tt_test_loop_close(&loop);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_woken_waiter_keeps_its_turn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
