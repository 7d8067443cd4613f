/* SPDX-License-Identifier: MIT */
/* Relay and proxy lifecycle at the socket level: half-close, disable/enable, delete, upstream
 * change, /reset, killing connections, and -seed determinism of toxicity rolls. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "test.h"
#include "toxic_peer.h"

static const struct tp_peer_opts echo_peer = {.mode = TP_ECHO};

/* An existing connection must end (EOF or RST, not a stall) within timeout_ms. */
static void expect_closed(int fd, uint64_t timeout_ms)
{
    struct tp_read r;
    int e = tp_read_all(fd, NULL, 0, timeout_ms, &r);
    if (e != TP_EOF && e != TP_RESET) {
        fail_msg("the connection was not closed: %s after %zu bytes", tp_end_name(e), r.bytes);
    }
}

/* ---- half-close ---- */

/* request, shutdown(SHUT_WR), then the whole reply: Toxiproxy closes both sockets on the first
 * EOF and loses the reply. */
static void test_half_close_client(void **state)
{
    struct pxfix *fx;
    struct tp_peer_opts po = {.mode = TP_REPLY_AT_EOF};
    uint16_t port = pxfix_begin_peer(state, NULL, &po, &fx);
    int fd = tp_connect_ok(port);
    ASSERT_END(tp_send_str(fd, "request"), TP_OK);
    (void)shutdown(fd, SHUT_WR);
    char buf[64];
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, buf, sizeof(buf), TP_WAIT_MS, &r), TP_EOF);
    ASSERT_SPAN_EQ(buf, r.bytes, "received 7\n");
    close(fd);

    /* A large request: everything reaches the server before its FIN. */
    fd = tp_connect_ok(port);
    static char big[200000];
    memset(big, 'q', sizeof(big));
    ASSERT_END(tp_send(fd, big, sizeof(big)), TP_OK);
    (void)shutdown(fd, SHUT_WR);
    ASSERT_END(tp_read_all(fd, buf, sizeof(buf), 5000, &r), TP_EOF);
    ASSERT_SPAN_EQ(buf, r.bytes, "received 200000\n");
    close(fd);
    pxfix_end(state);
}

/* Toxics in the chain do not break it: the EOF travels behind the delayed data. */
static void test_half_close_through_latency(void **state)
{
    struct pxfix *fx;
    struct tp_peer_opts po = {.mode = TP_REPLY_AT_EOF};
    uint16_t port = pxfix_begin_peer(state, NULL, &po, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"latency\",\"stream\":\"upstream\",\"attributes\":{\"latency\":200}}");
    px_toxic(fx, "p", "{\"type\":\"latency\",\"attributes\":{\"latency\":100}}");
    int fd = tp_connect_ok(port);
    ASSERT_END(tp_send_str(fd, "abcdefghij"), TP_OK);
    (void)shutdown(fd, SHUT_WR);
    char buf[64];
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, buf, sizeof(buf), TP_WAIT_MS, &r), TP_EOF);
    ASSERT_SPAN_EQ(buf, r.bytes, "received 10\n");
    close(fd);
    pxfix_end(state);
}

/* The server half-closes: the client reads EOF and can still send to the server. */
static void test_half_close_server(void **state)
{
    struct pxfix *fx;
    struct tp_peer_opts po = {.mode = TP_SEND, .send = "greeting", .shut_wr_after = true};
    uint16_t port = pxfix_begin_peer(state, NULL, &po, &fx);
    int fd = tp_connect_ok(port);
    char buf[64];
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, buf, sizeof(buf), TP_WAIT_MS, &r), TP_EOF);
    ASSERT_SPAN_EQ(buf, r.bytes, "greeting");
    ASSERT_END(tp_send_str(fd, "late data"), TP_OK);
    assert_true(tp_peer_wait_bytes(fx->peer, 9, TP_WAIT_MS));
    close(fd);
    assert_true(tp_peer_wait_ended(fx->peer, 1, TP_WAIT_MS));
    struct tp_peer_stats s;
    tp_peer_stats(fx->peer, &s);
    assert_int_equal(s.ended_eof, 1);
    assert_int_equal(s.ended_rst, 0);
    pxfix_end(state);
}

/* ---- disable / enable / delete ---- */

/* Disabled: the listener closes (ECONNREFUSED) and existing connections are closed; toxics
 * stay. Enabled again: the same port (listen holds the resolved port). */
static void test_disable_enable(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"noop\"}");
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "a");
    px_ok(fx, "PATCH", "/proxies/p", "{\"enabled\":false}", 200);
    expect_closed(fd, TP_WAIT_MS);
    close(fd);
    ASSERT_END(tp_connect(port, &fd, NULL), TP_REFUSED);
    struct px_reply r;
    assert_int_equal(pxfix_call(fx, "GET", "/proxies/p/toxics", NULL, &r), 200);
    assert_non_null(strstr(r.body, "\"noop_downstream\""));
    px_reply_free(&r);

    px_ok(fx, "POST", "/proxies/p", "{\"enabled\":true}", 200);
    assert_int_equal(pxfix_proxy_port(fx, "p"), port);
    fd = tp_connect_ok(port);
    tp_echo_ok(fd, "b");
    close(fd);
    pxfix_end(state);
}

static void test_delete_closes(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "a");
    px_ok(fx, "DELETE", "/proxies/p", NULL, 204);
    expect_closed(fd, TP_WAIT_MS);
    close(fd);
    ASSERT_END(tp_connect(port, &fd, NULL), TP_REFUSED);
    pxfix_end(state);
}

/* /reset re-enables every proxy and removes every toxic (proxies are kept). */
static void test_reset_endpoint(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"timeout\",\"attributes\":{\"timeout\":0}}");
    px_ok(fx, "PATCH", "/proxies/p", "{\"enabled\":false}", 200);
    px_ok(fx, "POST", "/reset", NULL, 204);
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "clean");
    close(fd);
    pxfix_end(state);
}

/* A new upstream restarts the proxy: existing connections drop, new ones go to the new one. */
static void test_upstream_change_restarts(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    struct tp_peer *other = NULL;
    struct tp_peer_opts po = {.mode = TP_SEND, .send = "other"};
    assert_int_equal(tp_peer_start(&po, &other), 0);
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "a");
    char body[128];
    snprintf(body, sizeof(body), "{\"upstream\":\"127.0.0.1:%u\"}", (unsigned)tp_peer_port(other));
    px_ok(fx, "PATCH", "/proxies/p", body, 200);
    expect_closed(fd, TP_WAIT_MS);
    close(fd);
    uint16_t port2 = pxfix_proxy_port(fx, "p");
    assert_int_equal(port2, port);
    fd = tp_connect_ok(port2);
    char buf[16];
    struct tp_read r;
    ASSERT_END(tp_read_n(fd, buf, sizeof(buf), 5, TP_WAIT_MS, &r), TP_OK);
    ASSERT_SPAN_EQ(buf, r.bytes, "other");
    close(fd);
    tp_peer_stop(other);
    pxfix_end(state);
}

/* §6.2: toxicity is rolled once per connection and direction, not again when the chain changes
 * (Toxiproxy re-rolls on every add, update and removal, PR #143). Connections a 0.5 cut spared
 * stay spared after another toxic is added and the toxic itself is updated. */
static void test_toxicity_not_rerolled(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"limit_data\",\"toxicity\":0.5,\"attributes\":{\"bytes\":0}}");
    enum { N = 12 };
    int fds[N];
    bool spared[N];
    unsigned nspared = 0;
    for (int i = 0; i < N; i++) {
        fds[i] = tp_connect_ok(port);
        ASSERT_END(tp_send_str(fds[i], "x"), TP_OK);
        struct tp_read r;
        int e = tp_read_n(fds[i], NULL, 0, 1, TP_WAIT_MS, &r);
        if (e != TP_OK && e != TP_EOF) {
            fail_msg("connection %d: %s", i, tp_end_name(e));
        }
        spared[i] = e == TP_OK;
        nspared += spared[i];
    }
    if (nspared == 0 || nspared == N) {
        fail_msg("toxicity 0.5 spared %u of %d connections", nspared, N);
    }
    px_toxic(fx, "p", "{\"type\":\"noop\"}");
    px_ok(fx, "PATCH", "/proxies/p/toxics/limit_data_downstream", "{\"attributes\":{\"bytes\":0}}",
          200);
    px_ok(fx, "DELETE", "/proxies/p/toxics/noop_downstream", NULL, 204);
    for (int i = 0; i < N; i++) {
        if (spared[i]) {
            tp_echo_ok(fds[i], "still spared");
        }
        close(fds[i]);
    }
    pxfix_end(state);
}

/* ---- connections (§6.4) ---- */

/* GET /proxies/p/connections lists live connections; DELETE .../connections/{id}?action=rst
 * resets one, ?action=fin closes one gracefully, and both ends see it. */
static void test_connections_list_and_kill(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    int a = tp_connect_ok(port);
    tp_echo_ok(a, "a");
    int b = tp_connect_ok(port);
    tp_echo_ok(b, "b");
    struct px_reply r;
    assert_int_equal(pxfix_call(fx, "GET", "/proxies/p/connections", NULL, &r), 200);
    json_error_t jerr;
    json_t *list = json_loads(r.body, 0, &jerr);
    px_reply_free(&r);
    assert_true(json_is_array(list));
    assert_int_equal(json_array_size(list), 2);
    static const char *const keys[] = {"id",       "client",     "upstream", "started_at",
                                       "bytes_up", "bytes_down", "state",    "toxics_applied"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (json_object_get(json_array_get(list, 0), keys[i]) == NULL) {
            fail_msg("connection entry without \"%s\"", keys[i]);
        }
    }
    json_t *id0 = json_object_get(json_array_get(list, 0), "id");
    json_t *id1 = json_object_get(json_array_get(list, 1), "id");
    char p0[128], p1[128];
    if (json_is_integer(id0)) {
        snprintf(p0, sizeof(p0), "/proxies/p/connections/%lld?action=rst",
                 (long long)json_integer_value(id0));
        snprintf(p1, sizeof(p1), "/proxies/p/connections/%lld?action=fin",
                 (long long)json_integer_value(id1));
    } else {
        snprintf(p0, sizeof(p0), "/proxies/p/connections/%s?action=rst", json_string_value(id0));
        snprintf(p1, sizeof(p1), "/proxies/p/connections/%s?action=fin", json_string_value(id1));
    }
    json_decref(list);
    /* Which socket is which entry is not known: one gets RST, the other FIN. */
    int st = pxfix_call(fx, "DELETE", p0, NULL, &r);
    px_reply_free(&r);
    assert_int_equal(st, 204);
    st = pxfix_call(fx, "DELETE", p1, NULL, &r);
    px_reply_free(&r);
    assert_int_equal(st, 204);
    struct tp_read ra, rb;
    int ea = tp_read_all(a, NULL, 0, TP_WAIT_MS, &ra);
    int eb = tp_read_all(b, NULL, 0, TP_WAIT_MS, &rb);
    if (!((ea == TP_RESET && eb == TP_EOF) || (ea == TP_EOF && eb == TP_RESET))) {
        fail_msg("killed with rst and fin, the clients saw %s and %s", tp_end_name(ea),
                 tp_end_name(eb));
    }
    assert_true(tp_peer_wait_ended(fx->peer, 2, TP_WAIT_MS));
    struct tp_peer_stats s;
    tp_peer_stats(fx->peer, &s);
    assert_int_equal(s.ended_rst, 1);
    assert_int_equal(s.ended_eof, 1);
    close(a);
    close(b);
    pxfix_end(state);
}

/* ---- -seed ---- */

/* 16 connections in sequence through a limit_data{bytes:0} toxic at toxicity 0.5: bit i is 1
 * when connection i was cut (EOF without the echo). */
static unsigned seed_pattern(uint64_t seed)
{
    struct tether_proxy_server_options o;
    pxfix_options(&o);
    o.seed = seed;
    o.has_seed = true;
    struct pxfix *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    ASSERT_OK(pxfix_start(fx, &o));
    assert_int_equal(tp_peer_start(&echo_peer, &fx->peer), 0);
    uint16_t port = px_proxy(fx, "p", tp_peer_port(fx->peer));
    px_toxic(fx, "p", "{\"type\":\"limit_data\",\"toxicity\":0.5,\"attributes\":{\"bytes\":0}}");
    unsigned bits = 0;
    for (unsigned i = 0; i < 16; i++) {
        int fd = tp_connect_ok(port);
        ASSERT_END(tp_send_str(fd, "x"), TP_OK);
        struct tp_read r;
        int e = tp_read_n(fd, NULL, 0, 1, TP_WAIT_MS, &r);
        if (e == TP_EOF) {
            bits |= 1u << i;
        } else if (e != TP_OK) {
            fail_msg("connection %u: %s", i, tp_end_name(e));
        }
        close(fd);
        assert_true(tp_peer_wait_ended(fx->peer, i + 1, TP_WAIT_MS)); /* strictly one at a time */
    }
    int rv = pxfix_stop(fx, 5000);
    free(fx);
    assert_int_equal(rv, 0);
    return bits;
}

/* Same seed, same decisions; both outcomes occur; another seed decides differently (a 1 in
 * 65536 chance of a false failure). Toxiproxy's -seed has no effect. */
static void test_seed_determinism(void **state)
{
    (void)state;
    (void)signal(SIGPIPE, SIG_IGN);
    alarm((unsigned)(tt_test_scale_ms(60000) / 1000u));
    unsigned a = seed_pattern(42);
    unsigned b = seed_pattern(42);
    unsigned c = seed_pattern(4242);
    if (a != b) {
        fail_msg("seed 42 gave %04x then %04x", a, b);
    }
    if (a == 0 || a == 0xffffu) {
        fail_msg("toxicity 0.5 applied to %s of 16 connections", a ? "all" : "none");
    }
    if (a == c) {
        fail_msg("seeds 42 and 4242 both gave %04x", a);
    }
    alarm(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_half_close_client, pxfix_teardown),
        cmocka_unit_test_teardown(test_half_close_through_latency, pxfix_teardown),
        cmocka_unit_test_teardown(test_half_close_server, pxfix_teardown),
        cmocka_unit_test_teardown(test_disable_enable, pxfix_teardown),
        cmocka_unit_test_teardown(test_delete_closes, pxfix_teardown),
        cmocka_unit_test_teardown(test_reset_endpoint, pxfix_teardown),
        cmocka_unit_test_teardown(test_upstream_change_restarts, pxfix_teardown),
        cmocka_unit_test_teardown(test_toxicity_not_rerolled, pxfix_teardown),
        cmocka_unit_test_teardown(test_connections_list_and_kill, pxfix_teardown),
        cmocka_unit_test(test_seed_determinism),
    };
    return cmocka_run_group_tests_name("proxy_toxics_lifecycle", tests, NULL, NULL);
}
