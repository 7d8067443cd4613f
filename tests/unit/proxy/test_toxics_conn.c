/* SPDX-License-Identifier: MIT */
/* Socket-level acceptance of the connection-setup toxics: max_connections, accept, upstream_down,
 * connect_delay. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "toxic_peer.h"

static const struct tp_peer_opts echo_peer = {.mode = TP_ECHO};

/* ---- max_connections ---- */

/* queue: like HAProxy maxconn, the extra connect completes in the kernel backlog but is not
 * served until a slot frees. */
static void test_max_connections_queue(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"max_connections\",\"attributes\":{\"limit\":1}}");
    int a = tp_connect_ok(port);
    tp_echo_ok(a, "a");
    int b = tp_connect_ok(port);
    ASSERT_END(tp_send_str(b, "b"), TP_OK);
    ASSERT_END(tp_expect_quiet(b, 600, NULL), TP_TIMEOUT); /* stalled, not refused or closed */
    assert_int_equal(pxfix_peer_stats(fx).accepted, 1);
    close(a);
    char buf[8];
    struct tp_read r;
    ASSERT_END(tp_read_n(b, buf, sizeof(buf), 1, TP_WAIT_MS, &r), TP_OK);
    ASSERT_SPAN_EQ(buf, r.bytes, "b");
    assert_int_equal(pxfix_peer_stats(fx).accepted, 2);
    close(b);
    pxfix_end(state);
}

static void test_max_connections_rst(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"max_connections\",\"attributes\":{\"limit\":1,\"action\":\"rst\"}}");
    int a = tp_connect_ok(port);
    tp_echo_ok(a, "a");
    int b = tp_connect_ok(port);
    struct tp_read r;
    ASSERT_END(tp_read_all(b, NULL, 0, TP_WAIT_MS, &r), TP_RESET);
    assert_int_equal(r.bytes, 0);
    tp_echo_ok(a, "a still served");
    assert_int_equal(pxfix_peer_stats(fx).accepted, 1);
    close(b);
    close(a);
    pxfix_end(state);
}

static void test_max_connections_fin(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"max_connections\",\"attributes\":{\"limit\":1,\"action\":\"fin\"}}");
    int a = tp_connect_ok(port);
    tp_echo_ok(a, "a");
    int b = tp_connect_ok(port);
    struct tp_read r;
    ASSERT_END(tp_read_all(b, NULL, 0, TP_WAIT_MS, &r), TP_EOF);
    assert_int_equal(r.bytes, 0);
    tp_echo_ok(a, "a");
    close(b);
    close(a);
    pxfix_end(state);
}

/* refuse: the listener is closed while over the limit, so connects get ECONNREFUSED; it
 * reopens (same port) when a slot frees. */
static void test_max_connections_refuse(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"max_connections\",\"attributes\":{\"limit\":1,\"action\":\"refuse\"}}");
    int a = tp_connect_ok(port);
    tp_echo_ok(a, "a");
    int b = -1;
    ASSERT_END(tp_connect(port, &b, NULL), TP_REFUSED);
    close(a);
    int c = tp_connect_retry(port, 2000);
    tp_echo_ok(c, "c");
    close(c);
    pxfix_end(state);
}

static void test_max_connections_toxicity_zero(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"max_connections\",\"toxicity\":0,"
             "\"attributes\":{\"limit\":1,\"action\":\"rst\"}}");
    int a = tp_connect_ok(port);
    tp_echo_ok(a, "a");
    int b = tp_connect_ok(port);
    tp_echo_ok(b, "b");
    close(b);
    close(a);
    pxfix_end(state);
}

/* ---- accept ---- */

static void test_accept_rst(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    int old = tp_connect_ok(port); /* only new connections are affected */
    tp_echo_ok(old, "old");
    px_toxic(fx, "p", "{\"type\":\"accept\",\"attributes\":{\"action\":\"rst\"}}");
    int fd = tp_connect_ok(port);
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_RESET);
    tp_echo_ok(old, "old");
    assert_int_equal(pxfix_peer_stats(fx).accepted, 1); /* never dialled */
    close(fd);
    close(old);
    pxfix_end(state);
}

static void test_accept_fin(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"accept\",\"attributes\":{\"action\":\"fin\"}}");
    int fd = tp_connect_ok(port);
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_EOF);
    assert_int_equal(r.bytes, 0);
    assert_int_equal(pxfix_peer_stats(fx).accepted, 0);
    close(fd);
    pxfix_end(state);
}

/* hang: accepted, never dialled or forwarded, never closed. */
static void test_accept_hang(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"accept\",\"attributes\":{\"action\":\"hang\"}}");
    int fd = tp_connect_ok(port);
    ASSERT_END(tp_send_str(fd, "x"), TP_OK);
    ASSERT_END(tp_expect_quiet(fd, 800, NULL), TP_TIMEOUT);
    assert_int_equal(pxfix_peer_stats(fx).accepted, 0);
    close(fd);
    pxfix_end(state);
}

static void test_accept_delay(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"accept\",\"attributes\":{\"action\":\"fin\",\"delay\":400}}");
    uint64_t t0 = tp_now_ms();
    int fd = tp_connect_ok(port);
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_EOF);
    ASSERT_IN_RANGE(r.end_ms - t0, 400 - TP_EARLY_MS, 400 + tp_late_ms());
    close(fd);
    pxfix_end(state);
}

static void test_accept_toxicity_zero(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"accept\",\"toxicity\":0,\"attributes\":{\"action\":\"rst\"}}");
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "served");
    close(fd);
    pxfix_end(state);
}

/* ---- upstream_down ---- */

/* A proxy in front of a port where nothing listens (the upstream is dead). */
static uint16_t dead_proxy(void **state, struct pxfix **out)
{
    struct pxfix *fx = pxfix_begin(state, NULL);
    *out = fx;
    return px_proxy(fx, "p", tp_dead_port());
}

/* Without the toxic: Toxiproxy's behaviour, a connect that succeeds and then EOF. */
static void test_upstream_dead_default_fin(void **state)
{
    struct pxfix *fx;
    uint16_t port = dead_proxy(state, &fx);
    int fd = tp_connect_ok(port);
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_EOF);
    close(fd);
    pxfix_end(state);
}

static void test_upstream_down_fin(void **state)
{
    struct pxfix *fx;
    uint16_t port = dead_proxy(state, &fx);
    px_toxic(fx, "p", "{\"type\":\"upstream_down\",\"attributes\":{\"action\":\"fin\"}}");
    int fd = tp_connect_ok(port);
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_EOF);
    close(fd);
    pxfix_end(state);
}

static void test_upstream_down_rst(void **state)
{
    struct pxfix *fx;
    uint16_t port = dead_proxy(state, &fx);
    px_toxic(fx, "p", "{\"type\":\"upstream_down\",\"attributes\":{\"action\":\"rst\"}}");
    for (int i = 0; i < 2; i++) {
        int fd = tp_connect_ok(port);
        struct tp_read r;
        ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_RESET);
        close(fd);
    }
    pxfix_end(state);
}

/* refuse (#265): connects to a proxy whose upstream is dead are refused. The proxy can only
 * learn that by dialling, so the first connection may be accepted (and must then end without
 * data); within a few attempts connects get ECONNREFUSED. */
static void test_upstream_down_refuse(void **state)
{
    struct pxfix *fx;
    uint16_t port = dead_proxy(state, &fx);
    px_toxic(fx, "p", "{\"type\":\"upstream_down\",\"attributes\":{\"action\":\"refuse\"}}");
    bool refused = false;
    for (int i = 0; i < 10 && !refused; i++) {
        int fd = -1;
        int rv = tp_connect(port, &fd, NULL);
        if (rv == TP_REFUSED) {
            refused = true;
            break;
        }
        ASSERT_END(rv, TP_OK);
        struct tp_read r;
        int e = tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r);
        close(fd);
        if (e != TP_EOF && e != TP_RESET) {
            fail_msg("attempt %d: accepted connection ended with %s", i, tp_end_name(e));
        }
        assert_int_equal(r.bytes, 0);
        tp_sleep_ms(100);
    }
    assert_true(refused);
    pxfix_end(state);
}

/* refuse reopens the listener, same port, once the upstream answers again (it is probed
 * every PX_PROBE_INTERVAL_MS, 500 ms). */
static void test_upstream_down_refuse_recovers(void **state)
{
    struct pxfix *fx = pxfix_begin(state, NULL);
    uint16_t dead = tp_dead_port();
    uint16_t port = px_proxy(fx, "p", dead);
    px_toxic(fx, "p", "{\"type\":\"upstream_down\",\"attributes\":{\"action\":\"refuse\"}}");
    for (int i = 0; i < 10; i++) {
        int fd = -1;
        if (tp_connect(port, &fd, NULL) == TP_REFUSED) {
            break;
        }
        (void)tp_read_all(fd, NULL, 0, TP_WAIT_MS, NULL);
        close(fd);
        tp_sleep_ms(100);
    }
    /* The upstream comes back on its port: the probe sees it and the listener reopens. */
    struct tp_peer_opts po = {.mode = TP_ECHO, .port = dead};
    assert_int_equal(tp_peer_start(&po, &fx->peer), 0);
    int fd = tp_connect_retry(port, 3000);
    tp_echo_ok(fd, "back");
    close(fd);
    pxfix_end(state);
}

static void test_upstream_down_toxicity_zero(void **state)
{
    struct pxfix *fx;
    uint16_t port = dead_proxy(state, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"upstream_down\",\"toxicity\":0,\"attributes\":{\"action\":\"rst\"}}");
    int fd = tp_connect_ok(port);
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_EOF); /* the default, not the RST */
    close(fd);
    pxfix_end(state);
}

/* The toxic only matters when the dial fails. */
static void test_upstream_down_live_upstream(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"upstream_down\",\"attributes\":{\"action\":\"refuse\"}}");
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "fine");
    close(fd);
    pxfix_end(state);
}

/* ---- connect_delay ---- */

/* The client's handshake completes at once; the dial, and so the first byte, waits. */
static void test_connect_delay(void **state)
{
    struct pxfix *fx;
    struct tp_peer_opts po = {.mode = TP_SEND, .send = "hello"};
    uint16_t port = pxfix_begin_peer(state, NULL, &po, &fx);
    px_toxic(fx, "p", "{\"type\":\"connect_delay\",\"attributes\":{\"delay\":1000}}");
    uint64_t t0 = tp_now_ms();
    int fd = tp_connect_ok(port);
    /* The kernel completes the handshake: connect() returns long before the 1 s dial delay
     * (a bound this wide only fails if connect waited for the dial). */
    ASSERT_IN_RANGE(tp_now_ms() - t0, 0, 1000 - TP_EARLY_MS);
    char buf[16];
    struct tp_read r;
    ASSERT_END(tp_read_n(fd, buf, sizeof(buf), 5, 1000 + TP_WAIT_MS, &r), TP_OK);
    ASSERT_SPAN_EQ(buf, r.bytes, "hello");
    ASSERT_IN_RANGE(r.first_ms - t0, 1000 - TP_EARLY_MS, 1000 + tp_late_ms());
    close(fd);
    pxfix_end(state);
}

/* Bytes the client sends before the dial completes are not lost. */
static void test_connect_delay_keeps_early_data(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"connect_delay\",\"stream\":\"upstream\",\"attributes\":{\"delay\":300}}");
    uint64_t t0 = tp_now_ms();
    int fd = tp_connect_ok(port);
    ASSERT_END(tp_send_str(fd, "early"), TP_OK);
    char buf[16];
    struct tp_read r;
    ASSERT_END(tp_read_n(fd, buf, sizeof(buf), 5, TP_WAIT_MS, &r), TP_OK);
    ASSERT_SPAN_EQ(buf, r.bytes, "early");
    ASSERT_IN_RANGE(r.first_ms - t0, 300 - TP_EARLY_MS, 300 + tp_late_ms());
    close(fd);
    pxfix_end(state);
}

static void test_connect_delay_toxicity_zero(void **state)
{
    struct pxfix *fx;
    struct tp_peer_opts po = {.mode = TP_SEND, .send = "hello"};
    uint16_t port = pxfix_begin_peer(state, NULL, &po, &fx);
    /* A delay no read here waits for: had the toxic applied, the read would time out. */
    px_toxic(fx, "p",
             "{\"type\":\"connect_delay\",\"toxicity\":0,\"attributes\":{\"delay\":600000}}");
    uint64_t t0 = tp_now_ms();
    int fd = tp_connect_ok(port);
    struct tp_read r;
    ASSERT_END(tp_read_n(fd, NULL, 0, 5, TP_WAIT_MS, &r), TP_OK);
    ASSERT_IN_RANGE(r.first_ms - t0, 0, tp_late_ms() + TP_WAIT_MS);
    close(fd);
    pxfix_end(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_max_connections_queue, pxfix_teardown),
        cmocka_unit_test_teardown(test_max_connections_rst, pxfix_teardown),
        cmocka_unit_test_teardown(test_max_connections_fin, pxfix_teardown),
        cmocka_unit_test_teardown(test_max_connections_refuse, pxfix_teardown),
        cmocka_unit_test_teardown(test_max_connections_toxicity_zero, pxfix_teardown),
        cmocka_unit_test_teardown(test_accept_rst, pxfix_teardown),
        cmocka_unit_test_teardown(test_accept_fin, pxfix_teardown),
        cmocka_unit_test_teardown(test_accept_hang, pxfix_teardown),
        cmocka_unit_test_teardown(test_accept_delay, pxfix_teardown),
        cmocka_unit_test_teardown(test_accept_toxicity_zero, pxfix_teardown),
        cmocka_unit_test_teardown(test_upstream_dead_default_fin, pxfix_teardown),
        cmocka_unit_test_teardown(test_upstream_down_fin, pxfix_teardown),
        cmocka_unit_test_teardown(test_upstream_down_rst, pxfix_teardown),
        cmocka_unit_test_teardown(test_upstream_down_refuse, pxfix_teardown),
        cmocka_unit_test_teardown(test_upstream_down_refuse_recovers, pxfix_teardown),
        cmocka_unit_test_teardown(test_upstream_down_toxicity_zero, pxfix_teardown),
        cmocka_unit_test_teardown(test_upstream_down_live_upstream, pxfix_teardown),
        cmocka_unit_test_teardown(test_connect_delay, pxfix_teardown),
        cmocka_unit_test_teardown(test_connect_delay_keeps_early_data, pxfix_teardown),
        cmocka_unit_test_teardown(test_connect_delay_toxicity_zero, pxfix_teardown),
    };
    return cmocka_run_group_tests_name("proxy_toxics_conn", tests, NULL, NULL);
}
