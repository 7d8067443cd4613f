/* SPDX-License-Identifier: MIT */
/*
 * HTTPS with a certificate generated at test time: a verifying OpenSSL client gets its
 * responses over keep-alive, and the idle close arrives as close_notify + FIN, not RST.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "test.h"

#include "certs.h"
#include "rawclient.h"

#define T(ms) tt_test_scale_ms(ms)

static struct tt_test_certs certs;

/* How the last TLS read ended. */
enum tls_end { TLS_END_NONE, TLS_END_CLOSE_NOTIFY, TLS_END_BARE_EOF, TLS_END_RESET };
static enum tls_end tls_last_end;

static long tls_recv(struct rc *c, char *buf, size_t cap, uint64_t deadline_ms)
{
    SSL *ssl = c->tp_data;
    for (;;) {
        uint64_t now = rc_now_ms();
        if (now >= deadline_ms) {
            return -RC_TIMEOUT;
        }
        if (SSL_pending(ssl) == 0) {
            struct pollfd pfd = {c->fd, POLLIN, 0};
            int n = poll(&pfd, 1, (int)(deadline_ms - now));
            if (n <= 0) {
                continue;
            }
        }
        ERR_clear_error();
        errno = 0;
        int n = SSL_read(ssl, buf, cap > INT_MAX ? INT_MAX : (int)cap);
        if (n > 0) {
            return n;
        }
        int e = SSL_get_error(ssl, n);
        int sys = errno;
        switch (e) {
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
            continue;
        case SSL_ERROR_ZERO_RETURN:
            tls_last_end = TLS_END_CLOSE_NOTIFY;
            return 0;
        case SSL_ERROR_SYSCALL:
            if (sys == EAGAIN || sys == EWOULDBLOCK || sys == EINTR) {
                continue;
            }
            if (sys == ECONNRESET) {
                tls_last_end = TLS_END_RESET;
                c->err = sys;
                return -RC_RESET;
            }
            if (sys == 0) {
                tls_last_end = TLS_END_BARE_EOF;
                return 0;
            }
            c->err = sys;
            return -RC_ERROR;
        default:
            if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
                tls_last_end = TLS_END_BARE_EOF;
                return 0;
            }
            if (sys == ECONNRESET) {
                tls_last_end = TLS_END_RESET;
                c->err = sys;
                return -RC_RESET;
            }
            return -RC_ERROR;
        }
    }
}

static int tls_send(struct rc *c, const void *data, size_t len)
{
    SSL *ssl = c->tp_data;
    const char *p = data;
    while (len > 0) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_write(ssl, p, len > INT_MAX ? INT_MAX : (int)len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        int e = SSL_get_error(ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            continue;
        }
        c->err = errno;
        return errno == ECONNRESET || errno == EPIPE ? RC_RESET : RC_ERROR;
    }
    return RC_OK;
}

static const struct rc_transport tls_transport = {tls_recv, tls_send};

struct tls_client {
    SSL_CTX *ctx;
    SSL *ssl;
};

/* Connects and completes a verifying handshake for "localhost" against the test certificate. */
static int tls_connect(struct rc *c, struct tls_client *t, uint16_t port)
{
    memset(t, 0, sizeof(*t));
    int rv = rc_connect(c, port);
    if (rv != RC_OK) {
        return rv;
    }
    struct timeval tv = {5, 0}; /* bounds the blocking handshake */
    (void)setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (!t->ctx || SSL_CTX_load_verify_locations(t->ctx, certs.cert_file, NULL) != 1) {
        return RC_ERROR;
    }
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    t->ssl = SSL_new(t->ctx);
    if (!t->ssl || SSL_set_fd(t->ssl, c->fd) != 1 || SSL_set1_host(t->ssl, "localhost") != 1 ||
        SSL_set_tlsext_host_name(t->ssl, "localhost") != 1) {
        return RC_ERROR;
    }
    if (SSL_connect(t->ssl) != 1) {
        char detail[256];
        ERR_error_string_n(ERR_get_error(), detail, sizeof(detail));
        rc_note("TLS handshake failed: %s (verify: %s)", detail,
                X509_verify_cert_error_string(SSL_get_verify_result(t->ssl)));
        return RC_ERROR;
    }
    c->tp = &tls_transport;
    c->tp_data = t->ssl;
    tls_last_end = TLS_END_NONE;
    return RC_OK;
}

static void tls_close(struct rc *c, struct tls_client *t)
{
    SSL_free(t->ssl);
    SSL_CTX_free(t->ctx);
    t->ssl = NULL;
    t->ctx = NULL;
    rc_close(c);
}

static void tls_options(struct tether_server_options *o)
{
    srvfix_options(o);
    o->tls_cert_file = certs.cert_file;
    o->tls_key_file = certs.key_file;
}

/* Two requests over one verified TLS connection, then the idle close: close_notify and EOF. */
static void test_https_keep_alive_and_idle_close_notify(void **state)
{
    struct tether_server_options o;
    tls_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct tls_client t;
    struct rc_response r;
    ASSERT_RC(tls_connect(&c, &t, fx->port), RC_OK);
    ASSERT_RC(rc_get(&c, "/one", 200, &r, T(2000)), RC_OK);
    assert_string_equal(r.body, "/one");
    assert_true(rc_header_has_token(&r, "Connection", "keep-alive"));
    ASSERT_RC(rc_get(&c, "/two", 200, &r, T(2000)), RC_OK);
    assert_string_equal(r.body, "/two");
    int end = rc_wait_close(&c, T(3000));
    uint64_t waited = rc_now_ms() - r.at_ms;
    ASSERT_RC(end, RC_EOF);
    assert_true(waited >= o.keep_alive_timeout_ms);
    if (tls_last_end != TLS_END_CLOSE_NOTIFY) {
        fail_msg("idle close over TLS ended without close_notify (%d)", (int)tls_last_end);
    }
    tls_close(&c, &t);
    assert_true(srvfix_wait_open(fx, 0, T(3000)));
    struct srvfix_snapshot s;
    srvfix_snapshot(fx, &s);
    assert_int_equal(s.stats.closes[TETHER_CLOSE_IDLE_TIMEOUT], 1);
    assert_int_equal(s.stats.rst_sent, 0);
    assert_int_equal(s.stats.requests, 2);
    srvfix_end(state);
}

/* A TLS parse error: 400 over TLS, then close_notify; the client reads the whole response. */
static void test_https_bad_request_then_close_notify(void **state)
{
    struct tether_server_options o;
    tls_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct tls_client t;
    struct rc_response r;
    ASSERT_RC(tls_connect(&c, &t, fx->port), RC_OK);
    ASSERT_RC(rc_send_str(&c, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), RC_OK);
    ASSERT_RC(rc_read_response(&c, &r, T(2000)), RC_OK);
    assert_int_equal(r.status, 400);
    ASSERT_RC(rc_wait_close(&c, T(3000)), RC_EOF);
    assert_int_equal(tls_last_end, TLS_END_CLOSE_NOTIFY);
    tls_close(&c, &t);
    assert_true(srvfix_wait_open(fx, 0, T(3000)));
    struct srvfix_snapshot s;
    srvfix_snapshot(fx, &s);
    assert_int_equal(s.stats.closes[TETHER_CLOSE_PARSE_ERROR], 1);
    assert_int_equal(s.stats.rst_sent, 0);
    srvfix_end(state);
}

/* Plain HTTP sent to the HTTPS port: answered in clear text with nginx's 400 "The plain HTTP
 * request was sent to HTTPS port" and closed with FIN (so the answer is read, not reset away);
 * the server stays up for real TLS clients. */
static void test_plaintext_to_https_port_is_answered(void **state)
{
    struct tether_server_options o;
    tls_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_send_str(&c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"), RC_OK);
    struct rc_response plain;
    ASSERT_RC(rc_read_response(&c, &plain, T(3000)), RC_OK);
    assert_int_equal(plain.status, 400);
    assert_true(rc_header_has_token(&plain, "Connection", "close"));
    assert_int_equal(plain.body_len, 47);
    assert_memory_equal(plain.body, "The plain HTTP request was sent to HTTPS port\r\n", 47);
    ASSERT_RC(rc_wait_close(&c, T(3000)), RC_EOF);
    rc_close(&c);

    struct tls_client t;
    struct rc_response r;
    ASSERT_RC(tls_connect(&c, &t, fx->port), RC_OK);
    ASSERT_RC(rc_get(&c, "/after", 200, &r, T(2000)), RC_OK);
    tls_close(&c, &t);
    assert_true(srvfix_wait_open(fx, 0, T(3000)));
    srvfix_end(state);
}

/* E1 of the hostile-input review: half a ClientHello, then nothing. The handshake counts
 * against the header timeout (500 ms here), not the idle limit (30 s here): the connection
 * is closed once it passes, with no 408 (there is no TLS session to send it in). */
static void test_stalled_handshake_hits_header_timeout(void **state)
{
    struct tether_server_options o;
    tls_options(&o);
    o.keep_alive_timeout_ms = T(30000);
    o.headers_timeout_ms = T(500);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    /* A handshake record header announcing 512 bytes, and only 4 of them. */
    ASSERT_RC(rc_send(&c, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc", 9), RC_OK);
    ASSERT_RC(rc_wait_close(&c, T(5000)), RC_EOF);
    rc_close(&c);
    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_HEADER_TIMEOUT, 1, &s);
    srvfix_end(state);
}

static int group_setup(void **state)
{
    (void)state;
    if (tt_test_certs_create(&certs) != 0) {
        fprintf(stderr, "could not generate the test certificate\n");
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tt_test_certs_remove(&certs);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_https_keep_alive_and_idle_close_notify, srvfix_teardown),
        cmocka_unit_test_teardown(test_https_bad_request_then_close_notify, srvfix_teardown),
        cmocka_unit_test_teardown(test_plaintext_to_https_port_is_answered, srvfix_teardown),
        cmocka_unit_test_teardown(test_stalled_handshake_hits_header_timeout, srvfix_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
