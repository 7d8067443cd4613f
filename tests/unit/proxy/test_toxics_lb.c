/* SPDX-License-Identifier: MIT */
/* Socket-level acceptance of the load-balancer and firewall toxics: idle_timeout, conntrack_expiry,
 * max_lifetime, reset, blackhole. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "toxic_peer.h"

static const struct tp_peer_opts echo_peer = {.mode = TP_ECHO};

/* Echo traffic every `gap_ms` until the connection ends or `max_ms` passes. Returns how it
 * ended (TP_TIMEOUT = still open), *t_end when, *echoed how many echoes came back first. */
static int busy_until_end(int fd, uint64_t gap_ms, uint64_t max_ms, uint64_t *t_end,
                          unsigned *echoed)
{
    uint64_t stop = tp_now_ms() + tt_test_scale_ms(max_ms);
    *echoed = 0;
    while (tp_now_ms() < stop) {
        int s = tp_send_str(fd, "b");
        if (s == TP_RESET) { /* the send consumed the RST's error: reads now see EOF */
            *t_end = tp_now_ms();
            return s;
        }
        struct tp_read r;
        int e = tp_read_n(fd, NULL, 0, 1, gap_ms, &r);
        if (e == TP_OK) {
            (*echoed)++;
            tp_sleep_ms(gap_ms / 2);
            continue;
        }
        if (e == TP_TIMEOUT && s == TP_OK) {
            continue;
        }
        *t_end = r.end_ms;
        return e == TP_TIMEOUT ? s : e;
    }
    *t_end = tp_now_ms();
    return TP_TIMEOUT;
}

/* ---- idle_timeout ---- */

/* fin: both sides are closed gracefully `timeout` ms after the last byte (ALB, HAProxy). */
static void test_idle_timeout_fin(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"idle_timeout\",\"attributes\":{\"timeout\":400}}");
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "a");
    uint64_t t1 = tp_now_ms();
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_EOF);
    ASSERT_IN_RANGE(r.end_ms - t1, 400 - TP_EARLY_MS, 400 + tp_late_ms());
    assert_true(tp_peer_wait_ended(fx->peer, 1, TP_WAIT_MS));
    assert_int_equal(pxfix_peer_stats(fx).ended_rst, 0);
    close(fd);
    pxfix_end(state);
}

/* Any byte in either direction resets the timer: echoes every 20 ms for one and a half
 * timeouts keep the connection open (a client stalled for most of a second between two
 * echoes could see it close, nothing less); it closes a timeout after the last byte. */
static void test_idle_timeout_activity_keeps_open(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"idle_timeout\",\"attributes\":{\"timeout\":1000,\"action\":\"fin\"}}");
    int fd = tp_connect_ok(port);
    uint64_t t0 = tp_now_ms();
    uint64_t t_last = 0;
    while (tp_now_ms() - t0 < 1500) {
        t_last = tp_now_ms();
        tp_echo_ok(fd, "k");
        tp_sleep_ms(20);
    }
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_EOF);
    /* From the last send: its bytes (and their echo) came through the proxy after it. */
    ASSERT_IN_RANGE(r.end_ms - t_last, 1000 - TP_EARLY_MS, 1000 + tp_late_ms());
    close(fd);
    pxfix_end(state);
}

/* rst: RST to both ends at the timeout (Azure with TCP reset on idle). */
static void test_idle_timeout_rst(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"idle_timeout\",\"attributes\":{\"timeout\":400,\"action\":\"rst\"}}");
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "a");
    uint64_t t1 = tp_now_ms();
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_RESET);
    ASSERT_IN_RANGE(r.end_ms - t1, 400 - TP_EARLY_MS, 400 + tp_late_ms());
    assert_true(tp_peer_wait_ended(fx->peer, 1, TP_WAIT_MS));
    assert_int_equal(pxfix_peer_stats(fx).ended_rst, 1);
    close(fd);
    pxfix_end(state);
}

/* silent: nothing at the timeout; the next data gets an RST and is not forwarded (AWS NLB). */
static void test_idle_timeout_silent(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"idle_timeout\",\"attributes\":{\"timeout\":300,\"action\":\"silent\"}}");
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "a");
    /* The proxy's timer decides when the flow is forgotten: wait for its expire event, then
     * make sure the expiry sent nothing either way. */
    pxfix_wait_event(fx, "expire", TP_WAIT_MS);
    ASSERT_END(tp_expect_quiet(fd, 300, NULL), TP_TIMEOUT); /* no FIN, no RST at expiry */
    assert_int_equal(pxfix_peer_stats(fx).open, 1);
    int s = tp_send_str(fd, "late");
    struct tp_read r;
    int e = s == TP_OK ? tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r) : s;
    ASSERT_END(e, TP_RESET);
    assert_int_equal(pxfix_peer_stats(fx).bytes_in, 1);
    close(fd);
    pxfix_end(state);
}

/* half_closed_timeout applies once a side has sent FIN (HAProxy client-fin/server-fin). */
static void test_idle_timeout_half_closed(void **state)
{
    struct pxfix *fx;
    struct tp_peer_opts po = {.mode = TP_SEND, .send = "hello", .hold_at_eof = true};
    uint16_t port = pxfix_begin_peer(state, NULL, &po, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"idle_timeout\",\"attributes\":{\"timeout\":5000,"
             "\"action\":\"fin\",\"half_closed_timeout\":300}}");
    int fd = tp_connect_ok(port);
    char buf[16];
    struct tp_read r;
    ASSERT_END(tp_read_n(fd, buf, sizeof(buf), 5, TP_WAIT_MS, &r), TP_OK);
    (void)shutdown(fd, SHUT_WR);
    uint64_t t1 = tp_now_ms();
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_EOF);
    ASSERT_IN_RANGE(r.end_ms - t1, 300 - TP_EARLY_MS, 300 + tp_late_ms());
    close(fd);
    pxfix_end(state);
}

static void test_idle_timeout_toxicity_zero(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"idle_timeout\",\"toxicity\":0,"
             "\"attributes\":{\"timeout\":300,\"action\":\"rst\"}}");
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "a");
    ASSERT_END(tp_expect_quiet(fd, 800, NULL), TP_TIMEOUT);
    tp_echo_ok(fd, "still here");
    close(fd);
    pxfix_end(state);
}

/* ---- conntrack_expiry ---- */

/* blackhole: after the flow expired, sends succeed but nothing is forwarded or answered, and
 * the connection is never closed (AWS Network Firewall, Cloud NAT). */
static void test_conntrack_expiry_blackhole(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"conntrack_expiry\",\"attributes\":{\"timeout\":300}}");
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "a");
    pxfix_wait_event(fx, "expire", TP_WAIT_MS);
    ASSERT_END(tp_expect_quiet(fd, 300, NULL), TP_TIMEOUT);
    ASSERT_END(tp_send_str(fd, "b"), TP_OK);
    ASSERT_END(tp_expect_quiet(fd, 800, NULL), TP_TIMEOUT);
    ASSERT_END(tp_send_str(fd, "c"), TP_OK);
    ASSERT_END(tp_expect_quiet(fd, 300, NULL), TP_TIMEOUT);
    struct tp_peer_stats s = pxfix_peer_stats(fx);
    assert_int_equal(s.bytes_in, 1);
    assert_int_equal(s.open, 1);
    close(fd);
    pxfix_end(state);
}

static void test_conntrack_expiry_rst_on_next(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"conntrack_expiry\",\"attributes\":{\"timeout\":300,"
             "\"then\":\"rst_on_next\"}}");
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "a");
    pxfix_wait_event(fx, "expire", TP_WAIT_MS);
    ASSERT_END(tp_expect_quiet(fd, 300, NULL), TP_TIMEOUT);
    int s = tp_send_str(fd, "b");
    struct tp_read r;
    ASSERT_END(s == TP_OK ? tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r) : s, TP_RESET);
    assert_int_equal(pxfix_peer_stats(fx).bytes_in, 1);
    close(fd);
    pxfix_end(state);
}

static void test_conntrack_expiry_toxicity_zero(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"conntrack_expiry\",\"toxicity\":0,\"attributes\":{\"timeout\":300}}");
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "a");
    ASSERT_END(tp_expect_quiet(fd, 700, NULL), TP_TIMEOUT);
    tp_echo_ok(fd, "b");
    close(fd);
    pxfix_end(state);
}

/* ---- max_lifetime ---- */

/* Closes `timeout` ms after accept even while data flows (#195's reviewer found constant
 * traffic kept limit_time from firing). */
static void test_max_lifetime_fin_when_busy(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"max_lifetime\",\"attributes\":{\"timeout\":600}}");
    uint64_t t0 = tp_now_ms();
    int fd = tp_connect_ok(port);
    uint64_t t_end = 0;
    unsigned echoed = 0;
    ASSERT_END(busy_until_end(fd, 100, 3000, &t_end, &echoed), TP_EOF);
    ASSERT_IN_RANGE(t_end - t0, 600 - TP_EARLY_MS, 600 + tp_late_ms());
    /* Busy when it closed: echoes were flowing (how many fit in 600 ms is the machine's). */
    ASSERT_IN_RANGE(echoed, 1, 1000);
    close(fd);
    pxfix_end(state);
}

static void test_max_lifetime_rst(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"max_lifetime\",\"attributes\":{\"timeout\":500,\"action\":\"rst\"}}");
    uint64_t t0 = tp_now_ms();
    int fd = tp_connect_ok(port);
    uint64_t t_end = 0;
    unsigned echoed = 0;
    ASSERT_END(busy_until_end(fd, 100, 3000, &t_end, &echoed), TP_RESET);
    ASSERT_IN_RANGE(t_end - t0, 500 - TP_EARLY_MS, 500 + tp_late_ms());
    assert_true(tp_peer_wait_ended(fx->peer, 1, TP_WAIT_MS));
    assert_int_equal(pxfix_peer_stats(fx).ended_rst, 1);
    close(fd);
    pxfix_end(state);
}

/* A connection that existed before the toxic lives `timeout` ms from the toxic's addition. */
static void test_max_lifetime_existing_connection(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "a");
    tp_sleep_ms(500); /* the connection is 500 ms old: its lifetime must count from the toxic */
    uint64_t t1 = tp_now_ms();
    px_toxic(fx, "p", "{\"type\":\"max_lifetime\",\"attributes\":{\"timeout\":400}}");
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_EOF);
    ASSERT_IN_RANGE(r.end_ms - t1, 400 - TP_EARLY_MS, 400 + tp_late_ms());
    close(fd);
    pxfix_end(state);
}

static void test_max_lifetime_jitter(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"max_lifetime\",\"attributes\":{\"timeout\":500,\"jitter\":200}}");
    uint64_t t0 = tp_now_ms();
    int fd = tp_connect_ok(port);
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_EOF);
    ASSERT_IN_RANGE(r.end_ms - t0, 300 - TP_EARLY_MS, 700 + tp_late_ms());
    close(fd);
    pxfix_end(state);
}

static void test_max_lifetime_toxicity_zero(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"max_lifetime\",\"toxicity\":0,\"attributes\":{\"timeout\":300}}");
    int fd = tp_connect_ok(port);
    uint64_t t_end = 0;
    unsigned echoed = 0;
    ASSERT_END(busy_until_end(fd, 100, 1000, &t_end, &echoed), TP_TIMEOUT);
    close(fd);
    pxfix_end(state);
}

/* ---- reset ---- */

/* RST both sockets `timeout` ms after connect, no data needed (unlike reset_peer). */
static void test_reset_after_timeout(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"reset\",\"attributes\":{\"timeout\":300}}");
    uint64_t t0 = tp_now_ms();
    int fd = tp_connect_ok(port);
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_RESET);
    ASSERT_IN_RANGE(r.end_ms - t0, 300 - TP_EARLY_MS, 300 + tp_late_ms());
    assert_true(tp_peer_wait_ended(fx->peer, 1, TP_WAIT_MS));
    assert_int_equal(pxfix_peer_stats(fx).ended_rst, 1);
    close(fd);
    pxfix_end(state);
}

/* after_bytes counts the toxic's stream: downstream here. */
static void test_reset_after_bytes_downstream(void **state)
{
    struct pxfix *fx;
    struct tp_peer_opts po = {.mode = TP_SEND, .send_bytes = 1000};
    uint16_t port = pxfix_begin_peer(state, NULL, &po, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"reset\",\"attributes\":{\"timeout\":60000,\"after_bytes\":100}}");
    int fd = tp_connect_ok(port);
    char buf[2048];
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, buf, sizeof(buf), TP_WAIT_MS, &r), TP_RESET);
    ASSERT_IN_RANGE(r.bytes, 0, 100);
    assert_true(tp_is_pattern(buf, r.bytes, 0));
    close(fd);
    pxfix_end(state);
}

static void test_reset_after_bytes_upstream(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"reset\",\"stream\":\"upstream\","
             "\"attributes\":{\"timeout\":60000,\"after_bytes\":50}}");
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "0123456789012345678901234567890123456789"); /* 40 of 50 */
    int s = tp_send_str(fd, "0123456789012345678901234567890123456789");
    struct tp_read r;
    ASSERT_END(s == TP_OK ? tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r) : s, TP_RESET);
    ASSERT_IN_RANGE(pxfix_peer_stats(fx).bytes_in, 40, 50);
    close(fd);
    pxfix_end(state);
}

/* timeout 0 on a live connection is the firewall-reset preset: RST at once. */
static void test_reset_existing_connection_now(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "a");
    uint64_t t1 = tp_now_ms();
    px_toxic(fx, "p", "{\"type\":\"reset\",\"attributes\":{\"timeout\":0}}");
    struct tp_read r;
    ASSERT_END(tp_read_all(fd, NULL, 0, TP_WAIT_MS, &r), TP_RESET);
    ASSERT_IN_RANGE(r.end_ms - t1, 0, tp_late_ms());
    close(fd);
    pxfix_end(state);
}

static void test_reset_toxicity_zero(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"reset\",\"toxicity\":0,\"attributes\":{\"timeout\":100}}");
    int fd = tp_connect_ok(port);
    ASSERT_END(tp_expect_quiet(fd, 600, NULL), TP_TIMEOUT);
    tp_echo_ok(fd, "alive");
    close(fd);
    pxfix_end(state);
}

/* ---- blackhole ---- */

/* Drops its direction and never closes; removing it does not close either (unlike timeout),
 * and later data flows again. */
static void test_blackhole_downstream(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"blackhole\"}");
    int fd = tp_connect_ok(port);
    ASSERT_END(tp_send_str(fd, "x"), TP_OK);
    ASSERT_END(tp_expect_quiet(fd, 800, NULL), TP_TIMEOUT);
    assert_int_equal(pxfix_peer_stats(fx).bytes_in, 1);
    px_ok(fx, "DELETE", "/proxies/p/toxics/blackhole_downstream", NULL, 204);
    ASSERT_END(tp_expect_quiet(fd, 400, NULL), TP_TIMEOUT);
    tp_echo_ok(fd, "y");
    close(fd);
    pxfix_end(state);
}

static void test_blackhole_upstream(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"blackhole\",\"stream\":\"upstream\"}");
    int fd = tp_connect_ok(port);
    /* The proxy dials the peer on accept: wait for that before checking what it received. */
    assert_true(tp_peer_wait_accepted(fx->peer, 1, TP_WAIT_MS));
    ASSERT_END(tp_send_str(fd, "x"), TP_OK);
    ASSERT_END(tp_expect_quiet(fd, 800, NULL), TP_TIMEOUT);
    struct tp_peer_stats s = pxfix_peer_stats(fx);
    assert_int_equal(s.bytes_in, 0);
    assert_int_equal(s.open, 1);
    close(fd);
    pxfix_end(state);
}

/* stop_reading: the proxy stops recv(), so the sender's window fills and its writes block. */
static void test_blackhole_stop_reading(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"blackhole\",\"stream\":\"upstream\","
             "\"attributes\":{\"stop_reading\":true}}");
    int fd = tp_connect_ok(port);
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    static char chunk[65536];
    memset(chunk, 'w', sizeof(chunk));
    size_t total = 0;
    bool blocked = false;
    uint64_t stop = tp_now_ms() + tt_test_scale_ms(TP_WAIT_MS);
    while (!blocked && total < (64u << 20) && tp_now_ms() < stop) {
        ssize_t n = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL);
        if (n > 0) {
            total += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            tp_sleep_ms(100); /* let the window settle; blocked if it is still full */
            blocked = send(fd, chunk, 1, MSG_NOSIGNAL) < 0 && errno == EAGAIN;
        } else {
            fail_msg("send failed: errno %d", errno);
        }
    }
    if (!blocked) {
        fail_msg("%zu bytes were accepted without the sender ever blocking", total);
    }
    assert_int_equal(pxfix_peer_stats(fx).bytes_in, 0);
    close(fd);
    pxfix_end(state);
}

static void test_blackhole_toxicity_zero(void **state)
{
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &echo_peer, &fx);
    px_toxic(fx, "p", "{\"type\":\"blackhole\",\"toxicity\":0}");
    int fd = tp_connect_ok(port);
    tp_echo_ok(fd, "through");
    close(fd);
    pxfix_end(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_idle_timeout_fin, pxfix_teardown),
        cmocka_unit_test_teardown(test_idle_timeout_activity_keeps_open, pxfix_teardown),
        cmocka_unit_test_teardown(test_idle_timeout_rst, pxfix_teardown),
        cmocka_unit_test_teardown(test_idle_timeout_silent, pxfix_teardown),
        cmocka_unit_test_teardown(test_idle_timeout_half_closed, pxfix_teardown),
        cmocka_unit_test_teardown(test_idle_timeout_toxicity_zero, pxfix_teardown),
        cmocka_unit_test_teardown(test_conntrack_expiry_blackhole, pxfix_teardown),
        cmocka_unit_test_teardown(test_conntrack_expiry_rst_on_next, pxfix_teardown),
        cmocka_unit_test_teardown(test_conntrack_expiry_toxicity_zero, pxfix_teardown),
        cmocka_unit_test_teardown(test_max_lifetime_fin_when_busy, pxfix_teardown),
        cmocka_unit_test_teardown(test_max_lifetime_rst, pxfix_teardown),
        cmocka_unit_test_teardown(test_max_lifetime_existing_connection, pxfix_teardown),
        cmocka_unit_test_teardown(test_max_lifetime_jitter, pxfix_teardown),
        cmocka_unit_test_teardown(test_max_lifetime_toxicity_zero, pxfix_teardown),
        cmocka_unit_test_teardown(test_reset_after_timeout, pxfix_teardown),
        cmocka_unit_test_teardown(test_reset_after_bytes_downstream, pxfix_teardown),
        cmocka_unit_test_teardown(test_reset_after_bytes_upstream, pxfix_teardown),
        cmocka_unit_test_teardown(test_reset_existing_connection_now, pxfix_teardown),
        cmocka_unit_test_teardown(test_reset_toxicity_zero, pxfix_teardown),
        cmocka_unit_test_teardown(test_blackhole_downstream, pxfix_teardown),
        cmocka_unit_test_teardown(test_blackhole_upstream, pxfix_teardown),
        cmocka_unit_test_teardown(test_blackhole_stop_reading, pxfix_teardown),
        cmocka_unit_test_teardown(test_blackhole_toxicity_zero, pxfix_teardown),
    };
    return cmocka_run_group_tests_name("proxy_toxics_lb", tests, NULL, NULL);
}
