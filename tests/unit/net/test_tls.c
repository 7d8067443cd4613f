/* SPDX-License-Identifier: MIT */
/* TLS streams on loopback with a certificate generated at test time: handshake, echo,
 * graceful close, verification, and peers that vanish mid-handshake. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "certs.h"
#include "loop.h"
#include "net/net.h"
#include "net_peer.h"
#include "test.h"

#define BIG_SIZE (1024 * 1024)

static struct tt_test_certs certs;

static const char node_tls_msg[] =
    "Client network socket disconnected before secure TLS connection was established";

static unsigned char pattern(size_t i)
{
    return (unsigned char)((i * 7 + 3) & 0xff);
}

/* ---- fixture: TLS server stream fx->side[0] accepted from a listener, client fx->side[1] */

struct side {
    struct tt__stream st;
    char buf[4096];
    size_t len;
    int reads;
    int eofs;
    int errors;
    int last_error;
    struct tether_failure failure; /* copied when the stream reported an error */
    int closes;
    bool closed;
    bool rst;
    int writes_done;
    int write_status;
    size_t total;    /* bytes seen, for the big transfer */
    bool pattern_ok; /* they matched pattern() */
    bool paused;
    uint64_t paused_at_ms;
};

struct fx;
typedef void (*fx_read_hook)(struct fx *fx, struct side *sd, int status);

struct fx {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_timer_t poll;
    uint16_t port;
    struct side side[2];
    struct tt__tls_ctx *server_ctx;
    struct tt__tls_ctx *client_ctx;
    fx_read_hook on_read;
    void (*on_accept)(struct fx *fx);
    void (*on_poll)(struct fx *fx);
    bool accepted;
    bool connected;
    int connect_status;
    int connects;
    bool all_closed;
    pthread_t thread;
    bool thread_started;
};

#define SRV(fx) (&(fx)->side[0])
#define CLI(fx) (&(fx)->side[1])

static struct fx *fx_of(struct tt__stream *s)
{
    return s->data;
}

static struct side *side_of(struct tt__stream *s)
{
    return tt__container_of(s, struct side, st);
}

static void fx_on_closed(struct tt__stream *s, bool rst_sent)
{
    struct fx *fx = fx_of(s);
    struct side *sd = side_of(s);
    sd->closes++;
    sd->closed = true;
    sd->rst = rst_sent;
    fx->all_closed = SRV(fx)->closed && CLI(fx)->closed;
}

static void fx_on_read(struct tt__stream *s, int status, const char *data, size_t len)
{
    struct fx *fx = fx_of(s);
    struct side *sd = side_of(s);
    if (status == 0) {
        sd->reads++;
        if (sd->len + len <= sizeof(sd->buf)) {
            memcpy(sd->buf + sd->len, data, len);
            sd->len += len;
        }
        for (size_t i = 0; i < len; i++) {
            if ((unsigned char)data[i] != pattern(sd->total + i)) {
                sd->pattern_ok = false;
            }
        }
        sd->total += len;
    } else if (status == TETHER_EEOF) {
        sd->eofs++;
    } else {
        sd->errors++;
        sd->last_error = status;
        tt__stream_failure(&sd->st, &sd->failure);
    }
    if (fx->on_read) {
        fx->on_read(fx, sd, status);
    }
}

static void fx_on_write(struct tt__stream *s, int status, void *arg)
{
    struct side *sd = side_of(s);
    (void)arg;
    sd->writes_done++;
    sd->write_status = status;
}

static void fx_on_connection(uv_stream_t *l, int status)
{
    struct fx *fx = l->data;
    if (status != 0 || fx->accepted) {
        return;
    }
    ASSERT_OK(tt__stream_accept(l, &SRV(fx)->st));
    fx->accepted = true;
    ASSERT_OK(tt__stream_start_tls_server(&SRV(fx)->st, fx->server_ctx));
    assert_int_equal(SRV(fx)->st.state, TT__STREAM_HANDSHAKING);
    ASSERT_OK(tt__stream_read_start(&SRV(fx)->st, fx_on_read));
    if (fx->on_accept) {
        fx->on_accept(fx);
    }
}

static void fx_poll_cb(uv_timer_t *t)
{
    struct fx *fx = t->data;
    if (fx->on_poll) {
        fx->on_poll(fx);
    }
}

static void fx_on_connect(struct tt__stream *s, int status)
{
    struct fx *fx = fx_of(s);
    fx->connects++;
    fx->connect_status = status;
    fx->connected = true;
    if (status != 0) {
        tt__stream_failure(s, &tt__container_of(s, struct side, st)->failure);
    }
    if (status == 0) {
        ASSERT_OK(tt__stream_read_start(s, fx_on_read));
    }
}

static void fx_start(struct fx *fx, const char *ca_file, bool insecure)
{
    char detail[256];
    memset(fx, 0, sizeof(*fx));
    ASSERT_OK(uv_loop_init(&fx->loop));
    fx->port = tt_test_tcp_listen(&fx->loop, &fx->listener, fx, 16, fx_on_connection);
    ASSERT_OK(uv_timer_init(&fx->loop, &fx->poll));
    fx->poll.data = fx;
    ASSERT_OK(uv_timer_start(&fx->poll, fx_poll_cb, 2, 2));
    for (int i = 0; i < 2; i++) {
        ASSERT_OK(tt__stream_init(tt_test_defer(&fx->loop), &fx->side[i].st));
        fx->side[i].st.data = fx;
        fx->side[i].pattern_ok = true;
    }
    ASSERT_OK(tt__tls_ctx_new_server(certs.cert_file, certs.key_file, &fx->server_ctx, detail,
                                     sizeof(detail)));
    ASSERT_OK(tt__tls_ctx_new_client(ca_file, insecure, &fx->client_ctx, detail, sizeof(detail)));
}

static void fx_connect(struct fx *fx, const char *server_name)
{
    struct sockaddr_in a = np_loopback(fx->port);
    ASSERT_OK(tt__stream_connect(&CLI(fx)->st, (const struct sockaddr *)&a, 5000, fx->client_ctx,
                                 server_name, fx_on_connect));
}

static void fx_finish(struct fx *fx)
{
    for (int i = 0; i < 2; i++) {
        tt__stream_close_now(&fx->side[i].st, fx_on_closed);
    }
    tt_test_loop_run_until(&fx->loop, &fx->all_closed, 5000);
    uv_close((uv_handle_t *)&fx->listener, NULL);
    uv_close((uv_handle_t *)&fx->poll, NULL);
    if (fx->thread_started) {
        assert_int_equal(pthread_join(fx->thread, NULL), 0);
    }
    tt_test_loop_close(&fx->loop);
    tt__tls_ctx_free(fx->server_ctx);
    tt__tls_ctx_free(fx->client_ctx);
}

/* Server side: echo what arrives (through the hook's caller), close gracefully at EOF or
 * error. Client side: close gracefully once `echo_want` bytes are back. */
static size_t echo_want;

static void srv_echo_read(struct tt__stream *s, int status, const char *data, size_t len)
{
    if (status == 0) {
        ASSERT_OK(tt__stream_write(s, data, len, fx_on_write, NULL));
    }
    fx_on_read(s, status, data, len);
}

static void echo_accept(struct fx *fx)
{
    /* Replaces the recording callback with the echoing one. */
    ASSERT_OK(tt__stream_read_start(&SRV(fx)->st, srv_echo_read));
}

static void echo_hook(struct fx *fx, struct side *sd, int status)
{
    if (sd == SRV(fx)) {
        if (status != 0) {
            tt__stream_close_graceful(&sd->st, 5000, 1000, fx_on_closed);
        }
        return;
    }
    if (status == 0 && sd->len >= echo_want) {
        tt__stream_close_graceful(&sd->st, 5000, 1000, fx_on_closed);
    } else if (status != 0) {
        tt__stream_close_now(&sd->st, fx_on_closed);
    }
}

/* Connects, sends `msg` and expects it back, then both sides close gracefully. */
static void run_echo(struct fx *fx, const char *server_name, const char *msg)
{
    fx->on_accept = echo_accept;
    fx->on_read = echo_hook;
    echo_want = strlen(msg);
    fx_connect(fx, server_name);
    /* Before the handshake the bytes wait; they are sent once it completes. */
    ASSERT_OK(tt__stream_write(&CLI(fx)->st, msg, strlen(msg), fx_on_write, NULL));
    assert_int_equal(tt__stream_write_queue_size(&CLI(fx)->st), strlen(msg));
    tt_test_loop_run_until(&fx->loop, &fx->all_closed, 5000);
    ASSERT_OK(fx->connect_status);
    ASSERT_SPAN_EQ(CLI(fx)->buf, CLI(fx)->len, msg);
    ASSERT_SPAN_EQ(SRV(fx)->buf, SRV(fx)->len, msg);
    /* close_notify reached the server as a clean EOF; nobody reset anything. */
    assert_int_equal(SRV(fx)->eofs, 1);
    assert_int_equal(SRV(fx)->errors, 0);
    assert_int_equal(CLI(fx)->errors, 0);
    assert_false(SRV(fx)->rst);
    assert_false(CLI(fx)->rst);
    assert_int_equal(CLI(fx)->writes_done, 1);
    ASSERT_OK(CLI(fx)->write_status);
    assert_int_equal(CLI(fx)->st.bytes_written, strlen(msg));
    assert_int_equal(SRV(fx)->st.bytes_read, strlen(msg));
    assert_int_equal(SRV(fx)->st.bytes_written, strlen(msg));
    assert_int_equal(CLI(fx)->st.bytes_read, strlen(msg));
}

static void test_handshake_echo_graceful_close(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, certs.cert_file, false);
    run_echo(&fx, "localhost", "hello over tls");
    fx_finish(&fx);
}

static void test_verify_ip_address(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, certs.cert_file, false);
    run_echo(&fx, "127.0.0.1", "by address");
    fx_finish(&fx);
}

static void test_insecure_skips_verification(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, NULL, true);
    run_echo(&fx, "wrong.example", "anything goes");
    fx_finish(&fx);
}

/* Both sides close at once on any error. */
static void close_on_error_hook(struct fx *fx, struct side *sd, int status)
{
    (void)fx;
    if (status != 0) {
        tt__stream_close_now(&sd->st, fx_on_closed);
    }
}

static void connect_fail_close(struct tt__stream *s, int status)
{
    fx_on_connect(s, status);
    if (status != 0) {
        tt__stream_close_now(s, fx_on_closed);
    }
}

/* Runs a handshake expected to fail on the client; returns when both sides closed. */
static void run_failing_handshake(struct fx *fx, const char *server_name)
{
    struct sockaddr_in a = np_loopback(fx->port);
    fx->on_read = close_on_error_hook;
    ASSERT_OK(tt__stream_connect(&CLI(fx)->st, (const struct sockaddr *)&a, 5000, fx->client_ctx,
                                 server_name, connect_fail_close));
    ASSERT_OK(tt__stream_write(&CLI(fx)->st, "never sent", 10, fx_on_write, NULL));
    tt_test_loop_run_until(&fx->loop, &fx->all_closed, 5000);
    assert_int_equal(fx->connects, 1);
    /* The write that waited for the handshake was cancelled, not lost silently. */
    assert_int_equal(CLI(fx)->writes_done, 1);
    ASSERT_ERR(CLI(fx)->write_status, TETHER_ECANCELED);
}

static void test_wrong_name_fails_verification(void **state)
{
    (void)state;
    struct fx fx;
    char msg[512];
    fx_start(&fx, certs.cert_file, false);
    run_failing_handshake(&fx, "example.com");
    ASSERT_ERR(fx.connect_status, TETHER_ETLSCERT);
    struct tether_failure *f = &CLI(&fx)->failure;
    assert_int_equal(f->phase, TETHER_PHASE_TLS);
    assert_string_equal(f->host, "example.com");
    assert_non_null(strstr(f->detail, "does not match"));
    assert_true(tether_failure_message(f, msg, sizeof(msg)) > 0);
    assert_non_null(strstr(msg, "certificate"));
    /* The server learnt it from the client's alert, during its handshake. */
    assert_int_equal(SRV(&fx)->errors, 1);
    assert_int_equal(SRV(&fx)->failure.phase, TETHER_PHASE_TLS);
    assert_int_equal(SRV(&fx)->reads, 0);
    fx_finish(&fx);
}

static void test_untrusted_certificate(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, NULL, false); /* the system store does not know our certificate */
    run_failing_handshake(&fx, "localhost");
    ASSERT_ERR(fx.connect_status, TETHER_ETLSCERT);
    assert_non_null(strstr(CLI(&fx)->failure.detail, "self"));
    fx_finish(&fx);
}

/* ---- peers that vanish during the handshake ---- */

struct raw_peer {
    uint16_t port;
    int listen_fd;
    bool reset;
    ssize_t got;
};

/* Connects with plain TCP, sends half a ClientHello, then hangs up (FIN or RST). */
static void *raw_client(void *arg)
{
    struct raw_peer *p = arg;
    struct sockaddr_in a = np_loopback(p->port);
    static const char partial[] = "\x16\x03\x01\x01\x00\x01\x00\x00\xfc\x03\x03";
    int fd = np_socket();
    if (connect(fd, (const struct sockaddr *)&a, sizeof(a)) == 0) {
        (void)send(fd, partial, sizeof(partial) - 1, MSG_NOSIGNAL);
    }
    /* Give the server time to read the partial record, so the hang-up lands mid-handshake
     * (the assertions hold either way). */
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000000L};
    (void)nanosleep(&ts, NULL);
    if (p->reset) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    close(fd);
    return NULL;
}

static void run_raw_client(bool reset)
{
    struct fx fx;
    struct raw_peer peer;
    char msg[256];
    fx_start(&fx, certs.cert_file, false);
    fx.on_read = close_on_error_hook;
    peer.port = fx.port;
    peer.reset = reset;
    assert_int_equal(pthread_create(&fx.thread, NULL, raw_client, &peer), 0);
    fx.thread_started = true;
    tt_test_loop_run_until(&fx.loop, &SRV(&fx)->closed, 5000);
    ASSERT_ERR(SRV(&fx)->last_error, TETHER_ECONNRESET);
    assert_int_equal(SRV(&fx)->errors, 1);
    struct tether_failure *f = &SRV(&fx)->failure;
    assert_int_equal(f->phase, TETHER_PHASE_TLS);
    assert_int_equal(f->syscall, TETHER_SYSCALL_READ);
    if (reset) {
        assert_int_equal(f->sys_errno, ECONNRESET);
    }
    assert_true(tether_failure_message(f, msg, sizeof(msg)) > 0);
    assert_string_equal(msg, node_tls_msg);
    fx_finish(&fx);
}

static void test_plain_peer_fin_mid_handshake(void **state)
{
    (void)state;
    run_raw_client(false);
}

static void test_plain_peer_rst_mid_handshake(void **state)
{
    (void)state;
    run_raw_client(true);
}

/* A "server" that reads the ClientHello and hangs up. */
static void *raw_server(void *arg)
{
    struct raw_peer *p = arg;
    char buf[4096];
    int fd = accept(p->listen_fd, NULL, NULL);
    if (fd >= 0) {
        p->got = recv(fd, buf, sizeof(buf), 0);
        close(fd);
    }
    return NULL;
}

static void test_server_hangs_up_mid_handshake(void **state)
{
    (void)state;
    struct fx fx;
    struct raw_peer peer;
    char msg[256];
    struct sockaddr_in a = np_loopback(0);
    socklen_t alen = sizeof(a);
    fx_start(&fx, certs.cert_file, false);
    peer.listen_fd = np_socket();
    assert_int_equal(bind(peer.listen_fd, (const struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(peer.listen_fd, 4), 0);
    assert_int_equal(getsockname(peer.listen_fd, (struct sockaddr *)&a, &alen), 0);
    assert_int_equal(pthread_create(&fx.thread, NULL, raw_server, &peer), 0);
    fx.thread_started = true;
    ASSERT_OK(tt__stream_connect(&CLI(&fx)->st, (const struct sockaddr *)&a, 5000, fx.client_ctx,
                                 "localhost", connect_fail_close));
    tt_test_loop_run_until(&fx.loop, &CLI(&fx)->closed, 5000);
    ASSERT_ERR(fx.connect_status, TETHER_ECONNRESET);
    struct tether_failure *f = &CLI(&fx)->failure;
    assert_int_equal(f->phase, TETHER_PHASE_TLS);
    assert_true(tether_failure_message(f, msg, sizeof(msg)) > 0);
    assert_string_equal(msg, node_tls_msg);
    fx_finish(&fx);
    /* Read once fx_finish joined the thread that wrote it (ThreadSanitizer: a data race
     * before the join, whatever the socket's FIN or RST said). */
    assert_true(peer.got > 0); /* it did see a ClientHello */
    close(peer.listen_fd);
}

/* A "server" that accepts and never answers: the connect timeout covers the handshake. */
static void *raw_silent_server(void *arg)
{
    struct raw_peer *p = arg;
    char buf[4096];
    int fd = accept(p->listen_fd, NULL, NULL);
    if (fd >= 0) {
        p->got = recv(fd, buf, sizeof(buf), 0);
        /* Wait for the client to give up (its FIN), then leave. */
        while (recv(fd, buf, sizeof(buf), 0) > 0) {
        }
        close(fd);
    }
    return NULL;
}

static void test_handshake_timeout(void **state)
{
    (void)state;
    struct fx fx;
    struct raw_peer peer;
    char msg[256];
    char expect[128];
    struct sockaddr_in a = np_loopback(0);
    socklen_t alen = sizeof(a);
    fx_start(&fx, certs.cert_file, false);
    peer.listen_fd = np_socket();
    assert_int_equal(bind(peer.listen_fd, (const struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(peer.listen_fd, 4), 0);
    assert_int_equal(getsockname(peer.listen_fd, (struct sockaddr *)&a, &alen), 0);
    assert_int_equal(pthread_create(&fx.thread, NULL, raw_silent_server, &peer), 0);
    fx.thread_started = true;
    uint64_t t0 = tt_test_now_ms();
    ASSERT_OK(tt__stream_connect(&CLI(&fx)->st, (const struct sockaddr *)&a, 200, fx.client_ctx,
                                 "localhost", connect_fail_close));
    tt_test_loop_run_until(&fx.loop, &CLI(&fx)->closed, 5000);
    assert_true(tt_test_now_ms() - t0 >= 190);
    ASSERT_ERR(fx.connect_status, TETHER_ETIMEDOUT);
    struct tether_failure *f = &CLI(&fx)->failure;
    assert_int_equal(f->phase, TETHER_PHASE_TLS);
    (void)snprintf(expect, sizeof(expect), "connect ETIMEDOUT 127.0.0.1:%u",
                   (unsigned)ntohs(a.sin_port));
    assert_true(tether_failure_message(f, msg, sizeof(msg)) > 0);
    assert_string_equal(msg, expect);
    fx_finish(&fx);
    close(peer.listen_fd);
    assert_true(peer.got > 0);
}

/* ---- writes before the handshake, pauses, closes inside callbacks ---- */

static void greet_accept(struct fx *fx)
{
    assert_int_equal(SRV(fx)->st.state, TT__STREAM_HANDSHAKING);
    ASSERT_OK(tt__stream_write(&SRV(fx)->st, "greeting", 8, fx_on_write, NULL));
}

static void greet_hook(struct fx *fx, struct side *sd, int status)
{
    if (sd == CLI(fx) && status == 0 && sd->len >= 8) {
        tt__stream_close_graceful(&sd->st, 5000, 1000, fx_on_closed);
    } else if (sd == SRV(fx) && status != 0) {
        tt__stream_close_graceful(&sd->st, 5000, 1000, fx_on_closed);
    }
}

static void test_server_writes_before_handshake(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, certs.cert_file, false);
    fx.on_accept = greet_accept;
    fx.on_read = greet_hook;
    fx_connect(&fx, "localhost");
    tt_test_loop_run_until(&fx.loop, &fx.all_closed, 5000);
    ASSERT_SPAN_EQ(CLI(&fx)->buf, CLI(&fx)->len, "greeting");
    assert_int_equal(SRV(&fx)->writes_done, 1);
    ASSERT_OK(SRV(&fx)->write_status);
    assert_int_equal(SRV(&fx)->eofs, 1);
    assert_false(SRV(&fx)->rst);
    assert_false(CLI(&fx)->rst);
    fx_finish(&fx);
}

/* The server pauses after every fourth read and resumes 10 ms later; plaintext that OpenSSL
 * already decrypted must still arrive, in order. */
static void pause_hook(struct fx *fx, struct side *sd, int status)
{
    if (sd == SRV(fx)) {
        if (status == 0 && !sd->paused && sd->reads % 4 == 0) {
            tt__stream_read_stop(&sd->st);
            sd->paused = true;
            sd->paused_at_ms = tt_test_now_ms();
        }
        if (status == 0 && sd->total == BIG_SIZE) {
            tt__stream_close_graceful(&sd->st, 5000, 1000, fx_on_closed);
        } else if (status != 0) {
            tt__stream_close_now(&sd->st, fx_on_closed);
        }
        return;
    }
    if (status != 0) {
        tt__stream_close_graceful(&sd->st, 5000, 1000, fx_on_closed);
    }
}

static void resume_poll(struct fx *fx)
{
    struct side *sd = SRV(fx);
    if (sd->paused && tt_test_now_ms() - sd->paused_at_ms >= 10 &&
        sd->st.state == TT__STREAM_OPEN) {
        sd->paused = false;
        ASSERT_OK(tt__stream_read_start(&sd->st, fx_on_read));
    }
}

static void big_connected(struct tt__stream *s, int status)
{
    fx_on_connect(s, status);
    ASSERT_OK(status);
    char *big = malloc(BIG_SIZE);
    assert_non_null(big);
    for (size_t i = 0; i < BIG_SIZE; i++) {
        big[i] = (char)pattern(i);
    }
    ASSERT_OK(tt__stream_write(s, big, BIG_SIZE, fx_on_write, NULL));
    free(big);
}

static void test_large_transfer_with_pauses(void **state)
{
    (void)state;
    struct fx fx;
    struct sockaddr_in a;
    fx_start(&fx, certs.cert_file, false);
    fx.on_read = pause_hook;
    fx.on_poll = resume_poll;
    a = np_loopback(fx.port);
    ASSERT_OK(tt__stream_connect(&CLI(&fx)->st, (const struct sockaddr *)&a, 5000, fx.client_ctx,
                                 "localhost", big_connected));
    tt_test_loop_run_until(&fx.loop, &fx.all_closed, 8000);
    assert_int_equal(SRV(&fx)->total, BIG_SIZE);
    assert_true(SRV(&fx)->pattern_ok);
    assert_int_equal(SRV(&fx)->st.bytes_read, BIG_SIZE);
    assert_int_equal(CLI(&fx)->st.bytes_written, BIG_SIZE);
    assert_int_equal(CLI(&fx)->eofs, 1);
    assert_false(SRV(&fx)->rst);
    assert_false(CLI(&fx)->rst);
    fx_finish(&fx);
}

static void close_now_on_data(struct fx *fx, struct side *sd, int status)
{
    if (sd == SRV(fx) && status == 0) {
        tt__stream_close_now(&sd->st, fx_on_closed);
        /* Ignored: the first close counts. */
        tt__stream_close_graceful(&sd->st, 1, 1, NULL);
    } else if (sd == CLI(fx) && status != 0) {
        tt__stream_close_now(&sd->st, fx_on_closed);
    }
}

static void test_close_inside_tls_read_callback(void **state)
{
    (void)state;
    struct fx fx;
    fx_start(&fx, certs.cert_file, false);
    fx.on_read = close_now_on_data;
    fx_connect(&fx, "localhost");
    ASSERT_OK(tt__stream_write(&CLI(&fx)->st, "bye", 3, NULL, NULL));
    tt_test_loop_run_until(&fx.loop, &fx.all_closed, 5000);
    assert_int_equal(SRV(&fx)->reads, 1);
    assert_int_equal(SRV(&fx)->closes, 1);
    /* No close_notify from a plain close, but the FIN still reads as the end. */
    assert_int_equal(CLI(&fx)->eofs, 1);
    assert_false(SRV(&fx)->rst);
    fx_finish(&fx);
}

/* ---- contexts ---- */

static void test_context_errors(void **state)
{
    (void)state;
    struct tt__tls_ctx *ctx = (struct tt__tls_ctx *)&ctx;
    char detail[256];
    ASSERT_ERR(tt__tls_ctx_new_server("/nonexistent/cert.pem", certs.key_file, &ctx, detail,
                                      sizeof(detail)),
               TETHER_EINVAL);
    assert_null(ctx);
    assert_non_null(strstr(detail, "/nonexistent/cert.pem"));
    /* A key file that holds a certificate, not a key. */
    ASSERT_ERR(
        tt__tls_ctx_new_server(certs.cert_file, certs.cert_file, &ctx, detail, sizeof(detail)),
        TETHER_EINVAL);
    assert_true(detail[0] != '\0');
    ASSERT_ERR(tt__tls_ctx_new_client("/nonexistent/ca.pem", false, &ctx, detail, sizeof(detail)),
               TETHER_EINVAL);
    assert_non_null(strstr(detail, "CA file"));
    ASSERT_ERR(tt__tls_ctx_new_server(NULL, NULL, &ctx, NULL, 0), TETHER_EINVAL);
    ASSERT_OK(tt__tls_ctx_new_server(certs.cert_file, certs.key_file, &ctx, NULL, 0));
    tt__tls_ctx_free(ctx);
    ASSERT_OK(tt__tls_ctx_new_client(NULL, false, &ctx, NULL, 0));
    /* A client context cannot serve. */
    uv_loop_t loop;
    struct tt__stream s;
    ASSERT_OK(uv_loop_init(&loop));
    ASSERT_OK(tt__stream_init(tt_test_defer(&loop), &s));
    ASSERT_ERR(tt__stream_start_tls_server(&s, ctx), TETHER_EINVAL);
    tt__stream_close_now(&s, NULL);
    tt_test_loop_close(&loop);
    tt__tls_ctx_free(ctx);
    tt__tls_ctx_free(NULL);
}

static int group_setup(void **state)
{
    (void)state;
    return tt_test_certs_create(&certs);
}

static int group_teardown(void **state)
{
    (void)state;
    tt_test_certs_remove(&certs);
    return 0;
}

int main(void)
{
    (void)signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_echo_graceful_close),
        cmocka_unit_test(test_verify_ip_address),
        cmocka_unit_test(test_insecure_skips_verification),
        cmocka_unit_test(test_wrong_name_fails_verification),
        cmocka_unit_test(test_untrusted_certificate),
        cmocka_unit_test(test_plain_peer_fin_mid_handshake),
        cmocka_unit_test(test_plain_peer_rst_mid_handshake),
        cmocka_unit_test(test_server_hangs_up_mid_handshake),
        cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_server_writes_before_handshake),
        cmocka_unit_test(test_large_transfer_with_pauses),
        cmocka_unit_test(test_close_inside_tls_read_callback),
        cmocka_unit_test(test_context_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
