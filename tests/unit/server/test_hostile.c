/* SPDX-License-Identifier: MIT */
/*
 * The server against hostile clients (the hostile-input review's B1 and C8): a client that
 * pipelines requests and never reads must not grow the server's write queue past the
 * high-water mark, and is served in full once it reads; CONNECT gets 501 (no tunnel is ever
 * "open"), and a 205 carries no content.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"

#include "net_peer.h"
#include "rawclient.h"

#define T(ms) tt_test_scale_ms(ms)

/* B1 constants: conn.c's high-water mark, and a response the fixture's /big/N sends. */
#define WRITE_HIGH_WATER (1024u * 1024u)
#define RESPONSE_BODY 4096u
#define PIPELINED 4000u /* 16 MB of responses: far past the kernel's buffers and the mark */

static const char pipelined_req[] = "GET /big/4096 HTTP/1.1\r\nHost: t\r\n\r\n";

/* Counts "HTTP/1.1 200 " across reads (the bodies are all 'x', so no false match). */
struct status_counter {
    char tail[16];
    size_t tail_len;
    unsigned count;
};

static void count_statuses(struct status_counter *sc, const char *data, size_t len)
{
    static const char pat[] = "HTTP/1.1 200 ";
    const size_t plen = sizeof(pat) - 1;
    char joined[sizeof(sc->tail) + 65536];
    size_t n = sc->tail_len;
    memcpy(joined, sc->tail, n);
    memcpy(joined + n, data, len);
    n += len;
    for (size_t i = 0; i + plen <= n; i++) {
        if (memcmp(joined + i, pat, plen) == 0) {
            sc->count++;
        }
    }
    /* Keep what could be the start of a match cut by this read. */
    sc->tail_len = n < plen - 1 ? n : plen - 1;
    memcpy(sc->tail, joined + n - sc->tail_len, sc->tail_len);
}

/* Sends as much of the pipelined requests as the socket takes now; returns bytes sent. */
static size_t send_some(int fd, const char *all, size_t len, size_t sent)
{
    while (sent < len) {
        ssize_t n = send(fd, all + sent, len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            assert_true(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
            break;
        }
        sent += (size_t)n;
    }
    return sent;
}

/* B1: 4000 pipelined requests for 4 KiB each, never read. Before the fix the server answered
 * them all into its write queue (about 12 MB beyond what the kernel holds); now it stops
 * reading once the queue passes 1 MiB. When the client reads, every response arrives. */
static void test_pipelining_non_reader_is_bounded(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.max_requests_per_conn = 0;  /* no limit: the limit would otherwise bound it */
    o.send_timeout_ms = T(30000); /* the stall is the test, not a send timeout */
    o.keep_alive_timeout_ms = T(30000);
    struct srvfix *fx = srvfix_begin(state, &o);

    size_t rlen = sizeof(pipelined_req) - 1;
    size_t total = rlen * PIPELINED;
    char *all = malloc(total);
    assert_non_null(all);
    for (size_t i = 0; i < PIPELINED; i++) {
        memcpy(all + i * rlen, pipelined_req, rlen);
    }
    /* A small receive window: the responses pile up on the server's side, where the test
     * looks for them. */
    int fd = np_connect_rcvbuf(fx->port, 4096);

    /* Phase 1: send without reading until the server has paused this connection (or
     * everything is sent and the server has had every request). */
    size_t sent = 0;
    struct srvfix_snapshot s;
    uint64_t deadline = rc_now_ms() + T(10000);
    for (;;) {
        sent = send_some(fd, all, total, sent);
        srvfix_snapshot(fx, &s);
        if (s.stats.write_paused > 0 || s.requests_seen == PIPELINED) {
            break;
        }
        assert_true(rc_now_ms() < deadline);
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        (void)poll(&p, 1, 10);
    }
    srvfix_snapshot(fx, &s);
    rc_note("paused %llu times after %u requests; peak queue %llu bytes",
            (unsigned long long)s.stats.write_paused, s.requests_seen,
            (unsigned long long)s.stats.write_queue_peak);
    assert_true(s.stats.write_paused >= 1);
    assert_true(s.requests_seen < PIPELINED);
    /* The mark, plus the one response whose write crossed it. */
    assert_true(s.stats.write_queue_peak <= WRITE_HIGH_WATER + RESPONSE_BODY + 512);

    /* Phase 2: the client reads (and sends the rest): every request is answered. */
    struct status_counter sc = {.tail_len = 0, .count = 0};
    char buf[65536];
    deadline = rc_now_ms() + T(30000);
    while (sc.count < PIPELINED) {
        assert_true(rc_now_ms() < deadline);
        sent = send_some(fd, all, total, sent);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (sent < total) {
            p.events |= POLLOUT;
        }
        (void)poll(&p, 1, 100);
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (n < 0) {
                assert_true(errno == EAGAIN || errno == EINTR);
                continue;
            }
            assert_true(n > 0); /* no EOF before every response */
            count_statuses(&sc, buf, (size_t)n);
        }
    }
    assert_int_equal(sc.count, PIPELINED);
    srvfix_snapshot(fx, &s);
    assert_int_equal(s.requests_seen, PIPELINED);
    assert_true(s.stats.write_queue_peak <= WRITE_HIGH_WATER + RESPONSE_BODY + 512);
    close(fd);
    free(all);
    srvfix_end(state);
}

/* C8: CONNECT is answered 501 by the server itself and the connection closes; a 2xx would
 * tell the client a tunnel is open. */
static void test_connect_is_501(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_send_str(&c, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
              RC_OK);
    ASSERT_RC(rc_read_response(&c, &r, T(3000)), RC_OK);
    assert_int_equal(r.status, 501);
    assert_true(rc_header_has_token(&r, "Connection", "close"));
    ASSERT_RC(rc_wait_close(&c, T(3000)), RC_EOF);
    rc_close(&c);
    struct srvfix_snapshot s;
    srvfix_snapshot(fx, &s);
    assert_int_equal(s.requests_seen, 0); /* the handler never saw it */
    srvfix_end(state);
}

/* C8: a handler's 205 with a body goes out with Content-Length: 0 and no content, and the
 * connection stays usable. */
static void test_205_has_no_content(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_send_str(&c, "GET /status/205 HTTP/1.1\r\nHost: t\r\n\r\n"
                              "GET /next HTTP/1.1\r\nHost: t\r\n\r\n"),
              RC_OK);
    ASSERT_RC(rc_read_response(&c, &r, T(3000)), RC_OK);
    assert_int_equal(r.status, 205);
    char cl[32];
    assert_true(rc_header(&r, "Content-Length", cl, sizeof(cl)));
    assert_string_equal(cl, "0");
    assert_int_equal(r.body_len, 0);
    /* The next response starts right after the 205's head: no stray body bytes between. */
    ASSERT_RC(rc_read_response(&c, &r, T(3000)), RC_OK);
    assert_int_equal(r.status, 200);
    ASSERT_SPAN_EQ(r.body, r.body_len, "/next");
    rc_close(&c);
    srvfix_end(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_pipelining_non_reader_is_bounded, srvfix_teardown),
        cmocka_unit_test_teardown(test_connect_is_501, srvfix_teardown),
        cmocka_unit_test_teardown(test_205_has_no_content, srvfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
