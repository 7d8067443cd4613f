/* SPDX-License-Identifier: MIT */
/* Socket-level acceptance of the data-shaping toxics: reset_peer, limit_data, slicer, packet_loss.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "toxic_peer.h"

static const struct tp_peer_opts echo_peer = {.mode = TP_ECHO};

/* ---- reset_peer ---- */

/* Nothing happens before the first chunk; `timeout` ms after it the client reads ECONNRESET,
 * the chunk is lost, and the upstream socket is reset too (SO_LINGER 0 on both sockets). */
static void test_reset_peer_after_first_chunk(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"reset_peer\",\"stream\":\"upstream\",\"attributes\":{\"timeout\":300}}");
    int fd = tp_connect_ok(port);
    ASSERT_END(tp_expect_quiet(fd, 500, NULL), TP_TIMEOUT); /* data-gated: no reset yet */
    uint64_t t1 = tp_now_ms();
    ASSERT_END(tp_send_str(fd, "hi"), TP_OK);
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_RESET);
    assert_int_equal(r.bytes, 0);
    ASSERT_IN_RANGE(r.end_ms - t1, 300 - TP_EARLY_MS, 300 + tp_late_ms());
    assert_true(tp_peer_wait_ended(fx->peer, 1, TP_WAIT_MS));
    struct tp_peer_stats s;
    tp_peer_stats(fx->peer, &s);
    assert_int_equal(s.bytes_in, 0);
    assert_int_equal(s.ended_rst, 1);
    close(fd);
    pxfix_end(state);
}

/* Downstream: the server's first reply is the chunk that arms it, and is lost. */
static void test_reset_peer_downstream(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"reset_peer\",\"attributes\":{\"timeout\":200}}");
    int fd = tp_connect_ok(port);
    uint64_t t1 = tp_now_ms();
    ASSERT_END(tp_send_str(fd, "hi"), TP_OK);
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_RESET);
    assert_int_equal(r.bytes, 0);
    ASSERT_IN_RANGE(r.end_ms - t1, 200 - TP_EARLY_MS, 200 + tp_late_ms());
    close(fd);
    pxfix_end(state);
}

/* Ours: the RST is set up when the reset fires, so a connection that existed before the toxic
 * was added is reset too (Toxiproxy sends a FIN there). */
static void test_reset_peer_existing_connection(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "before");
    px_toxic(fx, "p",
             "{\"type\":\"reset_peer\",\"stream\":\"upstream\",\"attributes\":{\"timeout\":100}}");
    ASSERT_END(tp_send_str(fd, "after"), TP_OK);
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_RESET);
    assert_int_equal(r.bytes, 0);
    close(fd);
    pxfix_end(state);
}

/* Toxiproxy #603: a reset_peer at toxicity 0 turns every ordinary close into an RST. Ours must
 * not: a close from either side stays a FIN on the other side. */
static void test_reset_peer_toxicity_zero_keeps_fin(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"reset_peer\",\"toxicity\":0,\"attributes\":{\"timeout\":100}}");
    px_toxic(fx, "p",
             "{\"type\":\"reset_peer\",\"stream\":\"upstream\",\"toxicity\":0,"
             "\"attributes\":{\"timeout\":100}}");

    /* The client closes first: the server must see a FIN. */
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "one");
    tp_sleep_ms(300); /* past the toxic's timeout, had it applied */
    tp_echo_ok(fd, "two");
    close(fd);
    assert_true(tp_peer_wait_ended(fx->peer, 1, TP_WAIT_MS));
    struct tp_peer_stats s;
    tp_peer_stats(fx->peer, &s);
    assert_int_equal(s.ended_rst, 0);
    assert_int_equal(s.ended_eof, 1);

    /* The client half-closes, the echo server closes: the client must see EOF, not RST. */
    fd = tp_connect_ok(port);
    tp_echo_ok(fd, "three");
    (void)shutdown(fd, SHUT_WR);
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_EOF);
    assert_true(tp_peer_wait_ended(fx->peer, 2, TP_WAIT_MS));
    tp_peer_stats(fx->peer, &s);
    assert_int_equal(s.ended_rst, 0);
    close(fd);
    pxfix_end(state);
}

/* ---- limit_data ---- */

static void test_limit_data_fin_after_n_bytes(void **state)
{
    struct pxfix *fx;
    struct tp_peer_opts po = {.mode = TP_SEND, .send_bytes = 5000};
    uint16_t port = pxfix_begin_peer(state, NULL, &po, &fx);
    px_toxic(fx, "p", "{\"type\":\"limit_data\",\"attributes\":{\"bytes\":1000}}");
    int fd = tp_connect_ok(port);
    static char buf[8192];
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, buf, sizeof(buf), TP_WAIT_MS, &r), TP_EOF);
    assert_int_equal(r.bytes, 1000); /* exactly: the chunk crossing the limit is truncated */
    assert_true(tp_is_pattern(buf, r.bytes, 0));
    close(fd);
    pxfix_end(state);
}

/* The `action:"rst"` extension: reset instead of FIN once the limit is reached. */
static void test_limit_data_rst(void **state)
{
    struct pxfix *fx;
    struct tp_peer_opts po = {.mode = TP_SEND, .send_bytes = 5000};
    uint16_t port = pxfix_begin_peer(state, NULL, &po, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"limit_data\",\"attributes\":{\"bytes\":1000,\"action\":\"rst\"}}");
    int fd = tp_connect_ok(port);
    static char buf[8192];
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, buf, sizeof(buf), TP_WAIT_MS, &r), TP_RESET);
    ASSERT_IN_RANGE(r.bytes, 0, 1000);
    assert_true(tp_is_pattern(buf, r.bytes, 0));
    close(fd);
    pxfix_end(state);
}

/* Upstream: the server gets exactly N bytes, then the connection is closed with FIN (closing a
 * stream closes the connection, as Toxiproxy's stub.Close(); whether the echo of the N bytes
 * still makes it back is not specified). */
static void test_limit_data_upstream(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"limit_data\",\"stream\":\"upstream\",\"attributes\":{\"bytes\":10}}");
    int fd = tp_connect_ok(port);
    char data[100];
    memset(data, 'd', sizeof(data));
    ASSERT_END(tp_send(fd, data, sizeof(data)), TP_OK);
    assert_true(tp_peer_wait_bytes(fx->peer, 10, TP_WAIT_MS));
    struct tp_read r;
    char buf[256];
    ASSERT_END(tp_read_all(fd, buf, sizeof(buf), TP_WAIT_MS, &r), TP_EOF);
    ASSERT_IN_RANGE(r.bytes, 0, 10);
    struct tp_peer_stats s;
    tp_peer_stats(fx->peer, &s);
    assert_int_equal(s.bytes_in, 10);
    close(fd);
    pxfix_end(state);
}

/* bytes 0 closes on the first chunk, not at once. */
static void test_limit_data_zero_closes_on_first_chunk(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"limit_data\",\"attributes\":{\"bytes\":0}}");
    int fd = tp_connect_ok(port);
    ASSERT_END(tp_expect_quiet(fd, 400, NULL), TP_TIMEOUT);
    ASSERT_END(tp_send_str(fd, "x"), TP_OK);
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_EOF);
    assert_int_equal(r.bytes, 0);
    close(fd);
    pxfix_end(state);
}

static void test_limit_data_toxicity_zero(void **state)
{
    struct pxfix *fx;
    struct tp_peer_opts po = {.mode = TP_SEND, .send_bytes = 5000};
    uint16_t port = pxfix_begin_peer(state, NULL, &po, &fx);
    px_toxic(fx, "p", "{\"type\":\"limit_data\",\"toxicity\":0,\"attributes\":{\"bytes\":1000}}");
    int fd = tp_connect_ok(port);
    static char buf[8192];
    struct tp_read r;
    ASSERT_END(tp_read_n(fd, buf, sizeof(buf), 5000, TP_WAIT_MS, &r), TP_OK);
    assert_true(tp_is_pattern(buf, 5000, 0));
    ASSERT_END(tp_expect_quiet(fd, 300, NULL), TP_TIMEOUT);
    close(fd);
    pxfix_end(state);
}

/* ---- slicer ---- */

/* Pieces of at most average_size + size_variation bytes, `delay` µs apart (not ms: 134+ pieces
 * at 2 ms each take about 0.3 s, at 2 s each the test would time out), all bytes intact. */
static void test_slicer_small_pieces(void **state)
{
    struct pxfix *fx;
    struct tp_peer_opts po = {.mode = TP_SEND, .send_bytes = 2000, .close_after = true};
    uint16_t port = pxfix_begin_peer(state, NULL, &po, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"slicer\",\"attributes\":{\"average_size\":10,"
             "\"size_variation\":5,\"delay\":2000}}");
    uint64_t t0 = tp_now_ms();
    int fd = tp_connect_ok(port);
    static char buf[4096];
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, buf, sizeof(buf), 8000, &r), TP_EOF);
    assert_int_equal(r.bytes, 2000);
    assert_true(tp_is_pattern(buf, r.bytes, 0));
    /* How many reads the client needed depends on how often it ran, so the slicing is proven by
     * time instead: pieces of at most 15 bytes are at least 134, with 133 delays of 2 ms between
     * them, and a timer never fires early. Bigger pieces or no delay would end sooner. */
    ASSERT_IN_RANGE(r.end_ms - t0, 133 * 2, 3000 + tp_late_ms());
    close(fd);
    pxfix_end(state);
}

static void test_slicer_toxicity_zero(void **state)
{
    struct pxfix *fx;
    struct tp_peer_opts po = {.mode = TP_SEND, .send_bytes = 2000, .close_after = true};
    uint16_t port = pxfix_begin_peer(state, NULL, &po, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"slicer\",\"toxicity\":0,\"attributes\":{\"average_size\":1,"
             "\"size_variation\":0,\"delay\":100000}}");
    uint64_t t0 = tp_now_ms();
    int fd = tp_connect_ok(port);
    static char buf[4096];
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, buf, sizeof(buf), TP_WAIT_MS, &r), TP_EOF);
    assert_int_equal(r.bytes, 2000);
    assert_true(tp_is_pattern(buf, r.bytes, 0));
    /* Applied, the toxic would take 200 s (2000 one-byte pieces, 100 ms apart). */
    ASSERT_IN_RANGE(r.end_ms - t0, 0, tp_late_ms() + TP_WAIT_MS);
    close(fd);
    pxfix_end(state);
}

/* ---- packet_loss ---- */

static void test_packet_loss_all(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"packet_loss\",\"attributes\":{\"loss_rate\":1}}");
    int fd = tp_connect_ok(port);
    for (int i = 0; i < 3; i++) {
        ASSERT_END(tp_send_str(fd, "lost"), TP_OK);
        tp_sleep_ms(50);
    }
    /* All twelve bytes reached the server: wait for them, the proxy thread may be slow. */
    assert_true(tp_peer_wait_bytes(fx->peer, 12, TP_WAIT_MS));
    ASSERT_END(tp_expect_quiet(fd, 600, NULL), TP_TIMEOUT); /* dropped, yet not closed */
    struct tp_peer_stats s;
    tp_peer_stats(fx->peer, &s);
    assert_int_equal(s.bytes_in, 12);
    close(fd);
    pxfix_end(state);
}

static void test_packet_loss_none(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"packet_loss\",\"attributes\":{\"loss_rate\":0}}");
    px_toxic(fx, "p",
             "{\"name\":\"off\",\"type\":\"packet_loss\",\"toxicity\":0,"
             "\"stream\":\"upstream\",\"attributes\":{\"loss_rate\":1}}");
    int fd = tp_connect_ok(port);
    for (int i = 0; i < 5; i++) {
        tp_echo_ok(fd, "kept");
    }
    close(fd);
    pxfix_end(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_reset_peer_after_first_chunk, pxfix_teardown),
        cmocka_unit_test_teardown(test_reset_peer_downstream, pxfix_teardown),
        cmocka_unit_test_teardown(test_reset_peer_existing_connection, pxfix_teardown),
        cmocka_unit_test_teardown(test_reset_peer_toxicity_zero_keeps_fin, pxfix_teardown),
        cmocka_unit_test_teardown(test_limit_data_fin_after_n_bytes, pxfix_teardown),
        cmocka_unit_test_teardown(test_limit_data_rst, pxfix_teardown),
        cmocka_unit_test_teardown(test_limit_data_upstream, pxfix_teardown),
        cmocka_unit_test_teardown(test_limit_data_zero_closes_on_first_chunk, pxfix_teardown),
        cmocka_unit_test_teardown(test_limit_data_toxicity_zero, pxfix_teardown),
        cmocka_unit_test_teardown(test_slicer_small_pieces, pxfix_teardown),
        cmocka_unit_test_teardown(test_slicer_toxicity_zero, pxfix_teardown),
        cmocka_unit_test_teardown(test_packet_loss_all, pxfix_teardown),
        cmocka_unit_test_teardown(test_packet_loss_none, pxfix_teardown),
    };
    return cmocka_run_group_tests_name("proxy_toxics_data", tests, NULL, NULL);
}
