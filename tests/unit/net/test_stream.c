/* SPDX-License-Identifier: MIT */
/* TCP streams on loopback: echo, EOF, the three closes (graceful with lingering, abort,
 * plain) as the peer sees them, and writes that skip the queue (tt__stream_try_write). Peers are
 * blocking sockets on a thread (net_peer.h); errors and closing from callbacks are in
 * test_stream_errors.c. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "net/net.h"
#include "net_peer.h"
#include "stream_fx.h"
#include "test.h"

#define RESP_SIZE (256 * 1024)

/* ---- echo, EOF ---- */

static void echo_accept(struct fx *fx)
{
    ASSERT_OK(tt__stream_read_start(&fx->s, fx_echo_read));
}

static void test_echo_and_peer_fin(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, echo_accept);
    fx_peer_start(&fx, fx_peer_echo_client);
    tt_test_loop_run_until(&fx.loop, &fx.s_closed, 5000);
    fx_finish(&fx);
    assert_true(fx.peer_ok);
    assert_int_equal(fx.eofs, 1);
    assert_int_equal(fx.errors, 0);
    assert_int_equal(fx.closes_s, 1);
    assert_false(fx.rst_s);
    assert_int_equal(fx.s.bytes_read, 12);
    assert_int_equal(fx.s.bytes_queued, 12);
    assert_int_equal(fx.s.bytes_written, 12);
    ASSERT_OK(fx.write_status);
}

/* Our client reads what a peer sends before its FIN, sees EEOF once, and a plain close with
 * nothing unread ends with FIN: the peer reads EOF, not a reset. */
static void *peer_send_then_fin(void *arg)
{
    struct fx *fx = arg;
    int fd = accept(fx->peer_listen_fd, NULL, NULL);
    char buf[16];
    if (fd < 0) {
        fx->peer_errno = errno;
        return NULL;
    }
    (void)send(fd, "abc", 3, MSG_NOSIGNAL);
    (void)shutdown(fd, SHUT_WR);
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    fx->peer_eof = n == 0;
    fx->peer_errno = n < 0 ? errno : 0;
    close(fd);
    return NULL;
}

static void client_connected_read(struct tt__stream *s, int status)
{
    fx_on_connect(s, status);
    if (status == 0) {
        ASSERT_OK(tt__stream_read_start(s, fx_record_read));
    }
}

static void close_now_at_eof(struct fx *fx, struct tt__stream *s, int status)
{
    (void)fx;
    if (status == TETHER_EEOF) {
        tt__stream_close_now(s, fx_on_closed);
    }
}

static void test_client_reads_until_eof(void **state)
{
    (void)state;
    struct fx fx;
    uint16_t port;
    fx_start(&fx, NULL);
    int lfd = np_listen(&port, 4);
    fx.peer_listen_fd = lfd;
    fx.on_read = close_now_at_eof;
    fx_peer_start(&fx, peer_send_then_fin);
    struct sockaddr_in a = np_loopback(port);
    ASSERT_OK(tt__stream_connect(&fx.c, (const struct sockaddr *)&a, 5000, NULL, NULL,
                                 client_connected_read));
    tt_test_loop_run_until(&fx.loop, &fx.c_closed, 5000);
    fx_finish(&fx);
    close(lfd);
    ASSERT_OK(fx.connect_status);
    ASSERT_SPAN_EQ(fx.rbuf, fx.rlen, "abc");
    assert_int_equal(fx.eofs, 1);
    assert_int_equal(fx.errors, 0);
    assert_false(fx.rst_c);
    assert_true(fx.peer_eof);
    assert_int_equal(fx.peer_errno, 0);
    assert_int_equal(fx.c.bytes_read, 3);
}

/* Bytes written while the connect is still in flight go out once it completes. */
static void client_read_until_ping(struct fx *fx, struct tt__stream *s, int status)
{
    if (s == &fx->c && status == 0 && fx->rlen >= 4) {
        tt__stream_close_graceful(s, 5000, 1000, fx_on_closed);
    }
}

static void test_write_while_connecting(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, echo_accept);
    fx.on_read = client_read_until_ping;
    struct sockaddr_in a = np_loopback(fx.port);
    ASSERT_OK(tt__stream_connect(&fx.c, (const struct sockaddr *)&a, 5000, NULL, NULL,
                                 client_connected_read));
    assert_int_equal(fx.c.state, TT__STREAM_CONNECTING);
    ASSERT_OK(tt__stream_write(&fx.c, "ping", 4, NULL, NULL));
    assert_int_equal(fx.c.bytes_queued, 4);
    /* The client closes gracefully after the echo; the server sees EOF and does the same. */
    tt_test_loop_run_until(&fx.loop, &fx.c_closed, 5000);
    tt_test_loop_run_until(&fx.loop, &fx.s_closed, 5000);
    fx_finish(&fx);
    assert_false(fx.rst_c);
    assert_false(fx.rst_s);
    assert_int_equal(fx.c.bytes_written, 4);
    assert_int_equal(fx.c.bytes_read, 4);
    assert_int_equal(fx.s.bytes_read, 4);
    assert_int_equal(tt__stream_write_queue_size(&fx.c), 0);
}

/* ---- graceful close: the heart ---- */

/* Sends 1 KiB at a time while collecting the response, until it sees EOF; then closes. */
static void *peer_keeps_sending(void *arg)
{
    struct fx *fx = arg;
    char chunk[1024];
    char buf[16384];
    int fd = fx_peer_connect(fx);
    memset(chunk, 'q', sizeof(chunk));
    if (fd < 0) {
        return NULL;
    }
    uint64_t end = tt_test_now_ms() + tt_test_scale_ms(5000);
    while (!fx->peer_eof && tt_test_now_ms() < end) {
        if (send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL) < 0) {
            fx->peer_errno = errno;
            break;
        }
        for (;;) {
            ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (n > 0) {
                fx->peer_got += (size_t)n;
                continue;
            }
            if (n == 0) {
                fx->peer_eof = true;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                fx->peer_errno = errno;
            }
            break;
        }
        if (fx->peer_errno) {
            break;
        }
        tt_test_sleep_ms(1);
    }
    close(fd);
    return NULL;
}

static void respond_then_close(struct fx *fx, struct tt__stream *s, int status)
{
    if (status != 0 || fx->reads != 1) {
        return;
    }
    char *resp = malloc(RESP_SIZE);
    assert_non_null(resp);
    memset(resp, 'r', RESP_SIZE);
    ASSERT_OK(tt__stream_write(s, resp, RESP_SIZE, fx_on_write, NULL));
    free(resp); /* the stream copied it */
    tt__stream_close_graceful(s, 5000, 2000, fx_on_closed);
    assert_int_equal(s->state, TT__STREAM_SHUT_WR);
    ASSERT_ERR(tt__stream_write(s, "late", 4, NULL, NULL), TETHER_EPIPE);
}

static void test_graceful_close_while_peer_sends(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, fx_reading_accept);
    fx.on_read = respond_then_close;
    fx_peer_start(&fx, peer_keeps_sending);
    tt_test_loop_run_until(&fx.loop, &fx.s_closed, 8000);
    fx_finish(&fx);
    /* The whole response arrived, then FIN; never a reset, and the close was clean. */
    assert_int_equal(fx.peer_errno, 0);
    assert_true(fx.peer_eof);
    assert_int_equal(fx.peer_got, RESP_SIZE);
    assert_int_equal(fx.writes_done, 1);
    ASSERT_OK(fx.write_status);
    assert_int_equal(fx.s.bytes_written, RESP_SIZE);
    assert_false(fx.rst_s);
    assert_int_equal(fx.closes_s, 1);
}

/* ---- abortive and plain closes ---- */

/* Sends one byte, then waits in recv for whatever the server's close produces. */
static void *peer_send_then_recv(void *arg)
{
    struct fx *fx = arg;
    char buf[64];
    int fd = fx_peer_connect(fx);
    if (fd < 0) {
        return NULL;
    }
    (void)send(fd, "unread!", 7, MSG_NOSIGNAL);
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    fx->peer_rv = (int)n;
    fx->peer_errno = n < 0 ? errno : 0;
    close(fd);
    return NULL;
}

static void abort_on_data(struct fx *fx, struct tt__stream *s, int status)
{
    (void)fx;
    if (status == 0) {
        tt__stream_close_abort(s, fx_on_closed);
    }
}

static void test_close_abort_resets_peer(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, fx_reading_accept);
    fx.on_read = abort_on_data;
    fx_peer_start(&fx, peer_send_then_recv);
    tt_test_loop_run_until(&fx.loop, &fx.s_closed, 5000);
    fx_finish(&fx);
    assert_true(fx.rst_s);
    assert_int_equal(fx.peer_rv, -1);
    assert_int_equal(fx.peer_errno, ECONNRESET);
}

static void close_now_when_unread(struct fx *fx)
{
    size_t unread = 0;
    if (fx->accepted && fx->s.state == TT__STREAM_OPEN &&
        tt__sock_unread_bytes(&fx->s.tcp, &unread) == 0 && unread > 0) {
        tt__stream_close_now(&fx->s, fx_on_closed);
    }
}

static void test_close_now_with_unread_sends_rst(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, NULL); /* never reads: the bytes stay in the kernel */
    fx.on_poll = close_now_when_unread;
    fx_peer_start(&fx, peer_send_then_recv);
    tt_test_loop_run_until(&fx.loop, &fx.s_closed, 5000);
    fx_finish(&fx);
    assert_true(fx.rst_s);
    assert_int_equal(fx.peer_rv, -1);
    assert_int_equal(fx.peer_errno, ECONNRESET);
}

/* ---- lingering deadlines ---- */

static void linger_accept_wait(struct fx *fx)
{
    fx->t0_ms = tt_test_now_ms();
    tt__stream_close_graceful(&fx->s, 10000, 200, fx_on_closed);
}

static void test_linger_wait_deadline(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, linger_accept_wait);
    fx_peer_start(&fx, fx_peer_silent_after_fin);
    tt_test_loop_run_until(&fx.loop, &fx.s_closed, 5000);
    fx_finish(&fx);
    uint64_t elapsed = fx.t_closed_ms - fx.t0_ms;
    if (elapsed < 180 || elapsed > tt_test_scale_ms(3000)) {
        fail_msg("closed after %llu ms, expected about 200", (unsigned long long)elapsed);
    }
    assert_true(fx.peer_eof);
    assert_false(fx.rst_s);
}

/* Keeps sending a little every 10 ms, so only the total deadline can end the drain: the
 * per-wait deadline (500 ms) is fifty gaps long, and only a peer stalled for half a second
 * could let it fire first. */
static void *peer_trickles(void *arg)
{
    struct fx *fx = arg;
    int fd = fx_peer_connect(fx);
    if (fd < 0) {
        return NULL;
    }
    uint64_t end = tt_test_now_ms() + tt_test_scale_ms(5000);
    while (!atomic_load(&fx->server_closed) && tt_test_now_ms() < end) {
        if (send(fd, "0123456789abcdef", 16, MSG_NOSIGNAL) < 0) {
            break;
        }
        tt_test_sleep_ms(10);
    }
    close(fd);
    return NULL;
}

static void linger_accept_total(struct fx *fx)
{
    fx->t0_ms = tt_test_now_ms();
    tt__stream_close_graceful(&fx->s, 1000, 500, fx_on_closed);
}

static void test_linger_total_deadline(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, linger_accept_total);
    fx_peer_start(&fx, peer_trickles);
    tt_test_loop_run_until(&fx.loop, &fx.s_closed, 5000);
    fx_finish(&fx);
    uint64_t elapsed = fx.t_closed_ms - fx.t0_ms;
    if (elapsed < 980 || elapsed > 1000 + tt_test_scale_ms(3000)) {
        fail_msg("closed after %llu ms, expected about 1000", (unsigned long long)elapsed);
    }
}

/* ---- tt__stream_try_write: straight to the kernel, never ahead of queued bytes ---- */

#define TRY_BULK ((size_t)32 << 20)

static char *try_bulk;

/* Reads everything to EOF: the total, and whether it began with "ping" and ended with "!". */
static void *peer_read_all(void *arg)
{
    struct fx *fx = arg;
    int fd = np_connect(fx->port);
    static char buf[65536];
    char head[4] = {0};
    char last = 0;
    size_t total = 0;
    if (fd < 0) {
        fx->peer_errno = errno;
        return NULL;
    }
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            fx->peer_eof = n == 0;
            break;
        }
        for (ssize_t i = 0; i < n && total + (size_t)i < sizeof(head); i++) {
            head[total + (size_t)i] = buf[i];
        }
        total += (size_t)n;
        last = buf[n - 1];
    }
    fx->peer_got = total;
    fx->peer_ok = memcmp(head, "ping", 4) == 0 && last == '!';
    close(fd);
    return NULL;
}

static void try_write_accept(struct fx *fx)
{
    size_t written = 99;
    /* Nothing queued: the kernel takes all of it, with no write request. */
    ASSERT_OK(tt__stream_try_write(&fx->s, "ping", 4, &written));
    assert_int_equal(written, 4);
    assert_int_equal(fx->s.bytes_written, 4);
    assert_int_equal(fx->s.bytes_queued, 4);
    /* A small send buffer and a bulk write the peer has not read yet: libuv keeps most of it. */
    ASSERT_OK(uv_send_buffer_size((uv_handle_t *)&fx->s.tcp, &(int){65536}));
    ASSERT_OK(tt__stream_write(&fx->s, try_bulk, TRY_BULK, fx_on_write, fx));
    assert_true(tt__stream_write_queue_size(&fx->s) > 0);
    /* So a try must write nothing: its bytes would overtake the queued ones. */
    ASSERT_OK(tt__stream_try_write(&fx->s, "x", 1, &written));
    assert_int_equal(written, 0);
    ASSERT_OK(tt__stream_write(&fx->s, "!", 1, fx_on_write, fx));
    tt__stream_close_graceful(&fx->s, 20000, 5000, fx_on_closed);
    /* After a close call nothing goes through this way either. */
    ASSERT_OK(tt__stream_try_write(&fx->s, "x", 1, &written));
    assert_int_equal(written, 0);
}

static void test_try_write(void **state)
{
    (void)state;
    struct fx fx;
    try_bulk = malloc(TRY_BULK);
    assert_non_null(try_bulk);
    memset(try_bulk, 'b', TRY_BULK);
    fx_start(&fx, try_write_accept);
    fx_peer_start(&fx, peer_read_all);
    tt_test_loop_run_until(&fx.loop, &fx.s_closed, 20000);
    fx_finish(&fx);
    free(try_bulk);
    assert_true(fx.peer_eof);
    assert_true(fx.peer_ok);
    assert_int_equal(fx.peer_got, 4 + TRY_BULK + 1);
    assert_int_equal(fx.writes_done, 2);
    ASSERT_OK(fx.write_status);
}

int main(void)
{
    /* libuv writes with write(2); a reset peer must not kill the test with SIGPIPE. */
    (void)signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_and_peer_fin),
        cmocka_unit_test(test_client_reads_until_eof),
        cmocka_unit_test(test_write_while_connecting),
        cmocka_unit_test(test_graceful_close_while_peer_sends),
        cmocka_unit_test(test_close_abort_resets_peer),
        cmocka_unit_test(test_close_now_with_unread_sends_rst),
        cmocka_unit_test(test_linger_wait_deadline),
        cmocka_unit_test(test_linger_total_deadline),
        cmocka_unit_test(test_try_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
