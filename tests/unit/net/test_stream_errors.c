/* SPDX-License-Identifier: MIT */
/* TCP streams on loopback when things go wrong: connect failures and timeouts, closing from
 * inside callbacks and twice, read and write errors from a peer's RST, deferred immediate
 * errors, and adopting a raw fd. (test_stream.c has echo, EOF and the three closes.) */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop.h"
#include "net/net.h"
#include "net_peer.h"
#include "stream_fx.h"
#include "test.h"

/* ---- connect failures ---- */

static void test_connect_refused(void **state)
{
    (void)state;
    struct fx fx;
    char msg[128];
    char expect[128];
    uint16_t port;
    /* A port that was just free: bind it, read it back, release it. */
    int tmp = np_socket();
    struct sockaddr_in a = np_loopback(0);
    socklen_t alen = sizeof(a);
    assert_int_equal(bind(tmp, (const struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(tmp, (struct sockaddr *)&a, &alen), 0);
    port = ntohs(a.sin_port);
    close(tmp);

    fx_start(&fx, NULL);
    ASSERT_OK(
        tt__stream_connect(&fx.c, (const struct sockaddr *)&a, 5000, NULL, NULL, fx_on_connect));
    tt_test_loop_run_until(&fx.loop, &fx.done, 5000);
    ASSERT_ERR(fx.connect_status, TETHER_ECONNREFUSED);
    assert_int_equal(fx.failure_c.syscall, TETHER_SYSCALL_CONNECT);
    assert_int_equal(fx.failure_c.phase, TETHER_PHASE_CONNECT);
    assert_int_equal(fx.failure_c.sys_errno, ECONNREFUSED);
    assert_int_equal(fx.failure_c.origin, TETHER_ORIGIN_LIBUV);
    (void)snprintf(expect, sizeof(expect), "connect ECONNREFUSED 127.0.0.1:%u", (unsigned)port);
    assert_true(tether_failure_message(&fx.failure_c, msg, sizeof(msg)) > 0);
    assert_string_equal(msg, expect);
    /* A second connect on the same stream is refused; only closing remains. */
    ASSERT_ERR(tt__stream_connect(&fx.c, (const struct sockaddr *)&a, 0, NULL, NULL, fx_on_connect),
               TETHER_EINVAL);
    fx_finish(&fx);
    assert_int_equal(fx.connects, 1);
    assert_false(fx.rst_c);
}

/* Linux drops SYNs while a listener's accept queue is full, so a connect to it stays in
 * SYN_SENT: a deterministic way to make a loopback connect time out. Skipped where the
 * kernel behaves otherwise. */
static void test_connect_timeout(void **state)
{
    (void)state;
    struct fx fx;
    char msg[128];
    char expect[128];
    uint16_t port;
    int fillers[8];
    int nfill = 0;
    int lfd = np_listen(&port, 0);
    struct sockaddr_in a = np_loopback(port);
    bool queue_full = false;
    while (nfill < 8 && !queue_full) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        assert_true(fd >= 0);
        fillers[nfill++] = fd;
        if (connect(fd, (const struct sockaddr *)&a, sizeof(a)) == 0) {
            continue;
        }
        assert_int_equal(errno, EINPROGRESS);
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        queue_full = poll(&p, 1, 100) == 0;
    }
    fx_start(&fx, NULL);
    uint64_t t0 = tt_test_now_ms();
    ASSERT_OK(
        tt__stream_connect(&fx.c, (const struct sockaddr *)&a, 200, NULL, NULL, fx_on_connect));
    tt_test_loop_run_until(&fx.loop, &fx.done, 5000);
    uint64_t elapsed = tt_test_now_ms() - t0;
    fx_finish(&fx);
    for (int i = 0; i < nfill; i++) {
        close(fillers[i]);
    }
    close(lfd);
    if (!queue_full || fx.connect_status == 0) {
        skip();
    }
    ASSERT_ERR(fx.connect_status, TETHER_ETIMEDOUT);
    assert_true(elapsed >= 190);
    assert_int_equal(fx.failure_c.phase, TETHER_PHASE_CONNECT);
    (void)snprintf(expect, sizeof(expect), "connect ETIMEDOUT 127.0.0.1:%u", (unsigned)port);
    assert_true(tether_failure_message(&fx.failure_c, msg, sizeof(msg)) > 0);
    assert_string_equal(msg, expect);
}

static void test_close_while_connecting(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, NULL);
    struct sockaddr_in a = np_loopback(fx.port);
    ASSERT_OK(
        tt__stream_connect(&fx.c, (const struct sockaddr *)&a, 5000, NULL, NULL, fx_on_connect));
    /* Graceful close on a stream that never connected is a plain close. */
    tt__stream_close_graceful(&fx.c, 5000, 1000, fx_on_closed);
    assert_int_equal(fx.c.state, TT__STREAM_CLOSING);
    tt_test_loop_run_until(&fx.loop, &fx.c_closed, 5000);
    assert_int_equal(fx.connects, 1);
    ASSERT_ERR(fx.connect_status, TETHER_ECANCELED);
    /* The connect callback runs before the close callback. */
    assert_true(fx.connect_seq < fx.close_seq);
    fx_finish(&fx);
}

/* ---- closing from callbacks, twice, and errors ---- */

static void *peer_two_sends_then_recv(void *arg)
{
    struct fx *fx = arg;
    char buf[64];
    int fd = fx_peer_connect(fx);
    if (fd < 0) {
        return NULL;
    }
    (void)send(fd, "first", 5, MSG_NOSIGNAL);
    tt_test_sleep_ms(20);
    (void)send(fd, "second", 6, MSG_NOSIGNAL);
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    fx->peer_eof = n == 0;
    fx->peer_errno = n < 0 ? errno : 0;
    close(fd);
    return NULL;
}

static void close_in_read_cb(struct fx *fx, struct tt__stream *s, int status)
{
    if (status == 0 && fx->reads == 1) {
        tt__stream_close_graceful(s, 5000, 1000, fx_on_closed);
        /* Already closing: these are ignored, and their callbacks never run. */
        tt__stream_close_now(s, NULL);
        tt__stream_close_abort(s, NULL);
        tt__stream_read_stop(s);
        ASSERT_ERR(tt__stream_read_start(s, fx_record_read), TETHER_EINVAL);
    }
}

static void test_close_inside_read_callback(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, fx_reading_accept);
    fx.on_read = close_in_read_cb;
    fx_peer_start(&fx, peer_two_sends_then_recv);
    tt_test_loop_run_until(&fx.loop, &fx.s_closed, 5000);
    fx_finish(&fx);
    /* Nothing was delivered after the close began; "second" was drained, not reset. */
    assert_int_equal(fx.reads, 1);
    assert_int_equal(fx.eofs, 0);
    assert_int_equal(fx.closes_s, 1);
    assert_false(fx.rst_s);
    assert_true(fx.peer_eof);
    assert_int_equal(fx.peer_errno, 0);
}

static int second_close_calls;

static void second_close_cb(struct tt__stream *s, bool rst_sent)
{
    (void)s;
    (void)rst_sent;
    second_close_calls++;
}

static void close_twice_accept(struct fx *fx)
{
    tt__stream_close_graceful(&fx->s, 5000, 1000, fx_on_closed);
    tt__stream_close_now(&fx->s, second_close_cb);
    tt__stream_close_abort(&fx->s, second_close_cb);
    tt__stream_close_graceful(&fx->s, 1, 1, second_close_cb);
}

static void test_close_twice(void **state)
{
    (void)state;
    struct fx fx;
    second_close_calls = 0;
    fx_start(&fx, close_twice_accept);
    /* Writes on a stream that never connected are refused outright. */
    ASSERT_ERR(tt__stream_write(&fx.c, "x", 1, NULL, NULL), TETHER_EINVAL);
    fx_peer_start(&fx, fx_peer_silent_after_fin);
    tt_test_loop_run_until(&fx.loop, &fx.s_closed, 5000);
    /* After the close callback, too. */
    tt__stream_close_now(&fx.s, second_close_cb);
    fx_finish(&fx);
    assert_int_equal(fx.closes_s, 1);
    assert_int_equal(second_close_calls, 0);
    assert_false(fx.rst_s);
    assert_true(fx.peer_eof);
}

/* Sends a byte, waits until the server has read it, then resets the connection. */
static void *peer_send_then_reset(void *arg)
{
    struct fx *fx = arg;
    int fd = fx_peer_connect(fx);
    if (fd < 0) {
        return NULL;
    }
    (void)send(fd, "x", 1, MSG_NOSIGNAL);
    uint64_t end = tt_test_now_ms() + tt_test_scale_ms(5000);
    while (!atomic_load(&fx->server_got_data) && tt_test_now_ms() < end) {
        tt_test_sleep_ms(1);
    }
    np_reset(fd);
    atomic_store(&fx->peer_reset_done, true);
    return NULL;
}

static void close_on_error(struct fx *fx, struct tt__stream *s, int status)
{
    (void)fx;
    if (status < 0) {
        tt__stream_close_now(s, fx_on_closed);
    }
}

static void test_read_reset(void **state)
{
    (void)state;
    struct fx fx;
    char msg[128];
    fx_start(&fx, fx_reading_accept);
    fx.on_read = close_on_error;
    fx_peer_start(&fx, peer_send_then_reset);
    tt_test_loop_run_until(&fx.loop, &fx.s_closed, 5000);
    ASSERT_ERR(fx.last_error, TETHER_ECONNRESET);
    assert_int_equal(fx.errors, 1);
    assert_int_equal(fx.failure_s.syscall, TETHER_SYSCALL_READ);
    assert_int_equal(fx.failure_s.sys_errno, ECONNRESET);
    assert_true(fx.failure_s.peer[0] != '\0');
    assert_string_equal(fx.failure_s.peer, fx.s.peer);
    assert_true(tether_failure_message(&fx.failure_s, msg, sizeof(msg)) > 0);
    assert_string_equal(msg, "read ECONNRESET");
    fx_finish(&fx);
}

static void write_after_reset(struct fx *fx)
{
    if (fx->accepted && atomic_load(&fx->peer_reset_done) && fx->writes_done == 0 &&
        fx->s.state == TT__STREAM_OPEN && fx->s.bytes_queued == 0) {
        static char big[65536];
        ASSERT_OK(tt__stream_write(&fx->s, big, sizeof(big), fx_on_write, NULL));
    }
    if (fx->writes_done == 1) {
        tt__stream_close_now(&fx->s, fx_on_closed);
    }
}

static void *peer_reset_after_accept(void *arg)
{
    struct fx *fx = arg;
    int fd = fx_peer_connect(fx);
    if (fd < 0) {
        return NULL;
    }
    /* Let the server accept first: a reset while queued could be lost with the socket. */
    uint64_t end = tt_test_now_ms() + tt_test_scale_ms(5000);
    while (!atomic_load(&fx->server_got_data) && tt_test_now_ms() < end) {
        tt_test_sleep_ms(1);
    }
    np_reset(fd);
    atomic_store(&fx->peer_reset_done, true);
    return NULL;
}

static void mark_accepted(struct fx *fx)
{
    atomic_store(&fx->server_got_data, true);
}

static void test_write_error(void **state)
{
    (void)state;
    struct fx fx;
    char msg[128];
    fx_start(&fx, mark_accepted); /* not reading: the reset must surface on the write */
    fx.on_poll = write_after_reset;
    fx_peer_start(&fx, peer_reset_after_accept);
    tt_test_loop_run_until(&fx.loop, &fx.s_closed, 5000);
    assert_int_equal(fx.writes_done, 1);
    if (fx.write_status != TETHER_ECONNRESET && fx.write_status != TETHER_EPIPE) {
        fail_msg("write status %s", tether_err_name(fx.write_status));
    }
    assert_int_equal(fx.failure_s.syscall, TETHER_SYSCALL_WRITE);
    assert_true(tether_failure_message(&fx.failure_s, msg, sizeof(msg)) > 0);
    assert_true(strcmp(msg, "write ECONNRESET") == 0 || strcmp(msg, "write EPIPE") == 0);
    assert_int_equal(fx.s.bytes_written, 0);
    fx_finish(&fx);
}

static void close_in_connect_cb(struct tt__stream *s, int status)
{
    fx_on_connect(s, status);
    tt__stream_close_abort(s, fx_on_closed);
}

static void test_close_inside_connect_callback(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, NULL);
    struct sockaddr_in a = np_loopback(fx.port);
    ASSERT_OK(tt__stream_connect(&fx.c, (const struct sockaddr *)&a, 5000, NULL, NULL,
                                 close_in_connect_cb));
    tt_test_loop_run_until(&fx.loop, &fx.c_closed, 5000);
    ASSERT_OK(fx.connect_status);
    assert_int_equal(fx.connects, 1);
    assert_int_equal(fx.closes_c, 1);
    assert_true(fx.rst_c);
    fx_finish(&fx);
}

/* The kernel refuses some connects synchronously (a multicast destination is ENETUNREACH
 * on Linux); the error still arrives through the callback, after the call returned. */
static void test_immediate_connect_error_is_deferred(void **state)
{
    (void)state;
    struct fx fx;
    char msg[128];
    struct sockaddr_in a;
    fx_start(&fx, NULL);
    ASSERT_OK(uv_ip4_addr("224.0.0.1", 9, &a));
    /* Where the kernel does not refuse at once, the 1 s timeout ends the connect instead. */
    ASSERT_OK(
        tt__stream_connect(&fx.c, (const struct sockaddr *)&a, 1000, NULL, NULL, fx_on_connect));
    assert_int_equal(fx.connects, 0);
    tt_test_loop_run_until(&fx.loop, &fx.done, 5000);
    assert_int_equal(fx.connects, 1);
    assert_true(fx.connect_status < 0);
    assert_int_equal(fx.failure_c.syscall, TETHER_SYSCALL_CONNECT);
    assert_string_equal(fx.failure_c.peer, "224.0.0.1:9");
    assert_true(tether_failure_message(&fx.failure_c, msg, sizeof(msg)) > 0);
    assert_true(strncmp(msg, "connect E", 9) == 0);
    assert_non_null(strstr(msg, " 224.0.0.1:9"));
    fx_finish(&fx);
}

/* A descriptor accepted by the caller (as the server does) works like an accepted stream. */
static void test_open_fd(void **state)
{
    (void)state;
    struct fx fx;
    uint16_t port;
    fx_start(&fx, NULL);
    int lfd = np_listen(&port, 4);
    fx.port = port;
    fx_peer_start(&fx, fx_peer_echo_client);
    int fd = accept(lfd, NULL, NULL);
    assert_true(fd >= 0);
    ASSERT_ERR(tt__stream_open_fd(&fx.s, -1), TETHER_EINVAL);
    ASSERT_OK(tt__stream_open_fd(&fx.s, fd));
    assert_int_equal(fx.s.state, TT__STREAM_OPEN);
    assert_true(strncmp(fx.s.peer, "127.0.0.1:", 10) == 0);
    ASSERT_OK(tt__stream_read_start(&fx.s, fx_echo_read));
    tt_test_loop_run_until(&fx.loop, &fx.s_closed, 5000);
    fx_finish(&fx);
    close(lfd);
    assert_true(fx.peer_ok);
    assert_int_equal(fx.eofs, 1);
    assert_false(fx.rst_s);
}

int main(void)
{
    /* libuv writes with write(2); a reset peer must not kill the test with SIGPIPE. */
    (void)signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_close_while_connecting),
        cmocka_unit_test(test_close_inside_read_callback),
        cmocka_unit_test(test_close_twice),
        cmocka_unit_test(test_read_reset),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_close_inside_connect_callback),
        cmocka_unit_test(test_immediate_connect_error_is_deferred),
        cmocka_unit_test(test_open_fd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
