/* SPDX-License-Identifier: MIT */
/* TLS over libuv streams with OpenSSL 3: contexts, and per-connection records moved through
 * memory BIOs so libuv keeps owning the socket. */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net/net.h"

/* SSL_read output per call: one full TLS record. */
#define TLS_PLAIN_CHUNK 16384
/* SSL_write and BIO calls take int lengths. */
#define TLS_IO_MAX (1 << 30)

struct tt__tls_ctx {
    SSL_CTX *ctx;
    bool server;
    bool verify;
};

/* Plaintext written before the handshake finished, sent right after it. */
struct tls_pending {
    struct tls_pending *next;
    tt__stream_write_cb cb;
    void *arg;
    size_t len;
    char data[];
};

struct tt__tls {
    SSL *ssl;
    BIO *rbio; /* ciphertext from the socket; owned by ssl */
    BIO *wbio; /* ciphertext for the socket; owned by ssl */
    char *server_name;
    struct tls_pending *pending;
    struct tls_pending **pending_tail;
    size_t pending_bytes;
    bool server;
    bool verify;
    bool failed;
    bool eof_delivered;
    bool answered_plain_http; /* a plain HTTP request got tls_plain_http_answer */
};

/* What nginx answers a plain HTTP request on a TLS port with. OpenSSL recognises such a request
 * (SSL_R_HTTP_REQUEST) but sends no alert, so without an answer the client only sees its
 * connection closed ("socket hang up") and never learns it should have used https://. */
static const char tls_plain_http_answer[] = "HTTP/1.1 400 Bad Request\r\n"
                                            "Content-Type: text/plain\r\n"
                                            "Content-Length: 47\r\n"
                                            "Connection: close\r\n"
                                            "\r\n"
                                            "The plain HTTP request was sent to HTTPS port\r\n";

/* ---- contexts ---- */

static int tls_lib_init(void)
{
    /* Idempotent and thread-safe; the strings make error details readable. */
    if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL) !=
        1) {
        return TETHER_ENOMEM;
    }
    return 0;
}

/* "what file: OpenSSL reason" into detail, draining the error queue. */
/* "cannot load certificate 'c.pem': no start line (not PEM)": the file and OpenSSL's root
 * cause, so a caller never has to guess. Drains the error queue either way. */
static void tls_ctx_detail(char *detail, size_t detail_len, const char *what, const char *file)
{
    char reason[160];
    tt__ssl_reason(reason, sizeof(reason));
    if (!detail || !detail_len) {
        return;
    }
    const char *hint = strcmp(reason, "no start line") == 0 ? " (not PEM)" : "";
    if (file) {
        (void)snprintf(detail, detail_len, "cannot load %s '%s': %s%s", what, file, reason, hint);
    } else {
        (void)snprintf(detail, detail_len, "cannot set up the %s: %s", what, reason);
    }
}

static void tls_ctx_defaults(SSL_CTX *ctx)
{
    (void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Renegotiation would let SSL_write need a read, which a memory-BIO design cannot
     * serve without a second state machine; nothing modern needs it. */
    (void)SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    /* Idle keep-alive connections then hold no record buffers. */
    (void)SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

/* The prologue both roles share: library set-up, a clean error queue, the context with our
 * defaults. Returns 0 with *out, or an error (nothing to free). */
static int tls_ctx_alloc(const SSL_METHOD *method, bool server, char *detail, size_t detail_len,
                         struct tt__tls_ctx **out)
{
    if (detail && detail_len) {
        detail[0] = '\0';
    }
    *out = NULL;
    int rv = tls_lib_init();
    if (rv != 0) {
        return rv;
    }
    ERR_clear_error();
    struct tt__tls_ctx *c = tt__calloc(1, sizeof(*c));
    if (!c) {
        return TETHER_ENOMEM;
    }
    c->server = server;
    c->ctx = SSL_CTX_new(method);
    if (!c->ctx) {
        tt__ssl_reason(NULL, 0);
        tt__free(c);
        return TETHER_ENOMEM;
    }
    tls_ctx_defaults(c->ctx);
    *out = c;
    return 0;
}

int tt__tls_ctx_new_server(const char *cert_file, const char *key_file, struct tt__tls_ctx **out,
                           char *detail, size_t detail_len)
{
    const char *what;
    const char *file;
    struct tt__tls_ctx *c;
    if (!out) {
        return TETHER_EINVAL;
    }
    *out = NULL;
    if (!cert_file || !key_file) {
        return TETHER_EINVAL;
    }
    int rv = tls_ctx_alloc(TLS_server_method(), true, detail, detail_len, &c);
    if (rv != 0) {
        return rv;
    }
    if (SSL_CTX_use_certificate_chain_file(c->ctx, cert_file) != 1) {
        what = "certificate";
        file = cert_file;
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(c->ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        what = "private key";
        file = key_file;
        goto fail;
    }
    if (SSL_CTX_check_private_key(c->ctx) != 1) {
        tt__ssl_reason(NULL, 0);
        if (detail && detail_len) {
            (void)snprintf(detail, detail_len, "private key '%s' does not match certificate '%s'",
                           key_file, cert_file);
        }
        tt__tls_ctx_free(c);
        return TETHER_EINVAL;
    }
    *out = c;
    return 0;
fail:
    tls_ctx_detail(detail, detail_len, what, file);
    tt__tls_ctx_free(c);
    return TETHER_EINVAL;
}

int tt__tls_ctx_new_client(const char *ca_file, bool insecure, struct tt__tls_ctx **out,
                           char *detail, size_t detail_len)
{
    struct tt__tls_ctx *c;
    if (!out) {
        return TETHER_EINVAL;
    }
    *out = NULL;
    int rv = tls_ctx_alloc(TLS_client_method(), false, detail, detail_len, &c);
    if (rv != 0) {
        return rv;
    }
    c->verify = !insecure;
    if (insecure) {
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
    } else {
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
        if (ca_file && SSL_CTX_load_verify_file(c->ctx, ca_file) != 1) {
            tls_ctx_detail(detail, detail_len, "CA file", ca_file);
            tt__tls_ctx_free(c);
            return TETHER_EINVAL;
        }
        if (!ca_file && SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
            tls_ctx_detail(detail, detail_len, "system CA store", NULL);
            tt__tls_ctx_free(c);
            return TETHER_EINVAL;
        }
    }
    *out = c;
    return 0;
}

void tt__tls_ctx_free(struct tt__tls_ctx *ctx)
{
    if (!ctx) {
        return;
    }
    SSL_CTX_free(ctx->ctx);
    tt__free(ctx);
}

/* ---- per connection ---- */

static bool tls_is_ip_literal(const char *name)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

static void tls_free_state(struct tt__tls *t)
{
    if (t->ssl) {
        SSL_free(t->ssl); /* frees both BIOs */
    } else {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
    }
    tt__free(t->server_name);
    tt__free(t);
}

int tt__tls_new(struct tt__stream *s, struct tt__tls_ctx *ctx, const char *server_name)
{
    int rv = TETHER_ENOMEM;
    if (!s || !ctx || s->tls) {
        return TETHER_EINVAL;
    }
    struct tt__tls *t = tt__calloc(1, sizeof(*t));
    if (!t) {
        return TETHER_ENOMEM;
    }
    t->server = ctx->server;
    t->verify = ctx->verify;
    t->pending_tail = &t->pending;
    ERR_clear_error();
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    t->ssl = SSL_new(ctx->ctx);
    if (!t->rbio || !t->wbio || !t->ssl) {
        goto fail;
    }
    /* An empty rbio means "no data yet" (retry), never EOF: the socket's FIN reaches us
     * through libuv, not through OpenSSL. */
    BIO_set_mem_eof_return(t->rbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    if (t->server) {
        SSL_set_accept_state(t->ssl);
    } else {
        SSL_set_connect_state(t->ssl);
        if (server_name && server_name[0]) {
            t->server_name = tt__strndup(server_name, strlen(server_name));
            if (!t->server_name) {
                goto fail;
            }
            rv = TETHER_ETLS;
            bool ip = tls_is_ip_literal(t->server_name);
            /* RFC 6066 §3 forbids IP literals in SNI. */
            if (!ip && SSL_set_tlsext_host_name(t->ssl, t->server_name) != 1) {
                goto fail;
            }
            if (t->verify) {
                if (ip) {
                    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), t->server_name) !=
                        1) {
                        goto fail;
                    }
                } else {
                    SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
                    if (SSL_set1_host(t->ssl, t->server_name) != 1) {
                        goto fail;
                    }
                }
            }
        }
    }
    s->tls = t;
    return 0;
fail:
    (void)tt__err_from_ssl(0, 0, NULL, 0);
    tls_free_state(t);
    return rv;
}

void tt__tls_free(struct tt__stream *s)
{
    struct tt__tls *t = s->tls;
    if (!t) {
        return;
    }
    struct tls_pending *p = t->pending;
    s->tls = NULL;
    t->pending = NULL;
    tls_free_state(t);
    /* The bytes never left: their writers learn it, after the state they could touch is
     * gone. */
    while (p) {
        struct tls_pending *next = p->next;
        tt__stream_write_cb cb = p->cb;
        void *arg = p->arg;
        tt__free(p);
        if (cb) {
            cb(s, TETHER_ECANCELED, arg);
        }
        p = next;
    }
}

bool tt__tls_is_client(const struct tt__stream *s)
{
    return s->tls && !s->tls->server;
}

bool tt__tls_handshake_finished(const struct tt__stream *s)
{
    return s->tls && SSL_is_init_finished(s->tls->ssl);
}

/* X509_NAME_oneline's "/CN=a/O=b" as "CN=a, O=b" (curl's form). */
static void tls_name_text(X509_NAME *name, char *buf, size_t len)
{
    buf[0] = '\0';
    if (!name) {
        return;
    }
    char raw[256];
    if (!X509_NAME_oneline(name, raw, (int)sizeof(raw))) {
        return;
    }
    size_t o = 0;
    for (const char *p = raw[0] == '/' ? raw + 1 : raw; *p && o + 3 < len; p++) {
        if (*p == '/') {
            buf[o++] = ',';
            buf[o++] = ' ';
        } else {
            buf[o++] = *p;
        }
    }
    buf[o] = '\0';
}

bool tt__stream_tls_info(const struct tt__stream *s, struct tt__tls_info *out)
{
    memset(out, 0, sizeof(*out));
    if (!s->tls || !s->tls->ssl || !SSL_is_init_finished(s->tls->ssl)) {
        return false;
    }
    SSL *ssl = s->tls->ssl;
    out->version = SSL_get_version(ssl);
    out->cipher = SSL_get_cipher_name(ssl);
    X509 *cert = SSL_get0_peer_certificate(ssl);
    if (cert) {
        tls_name_text(X509_get_subject_name(cert), out->subject, sizeof(out->subject));
        tls_name_text(X509_get_issuer_name(cert), out->issuer, sizeof(out->issuer));
    }
    return true;
}

bool tt__tls_failed(const struct tt__stream *s)
{
    return s->tls && s->tls->failed;
}

bool tt__tls_answered_plain_http(const struct tt__stream *s)
{
    return s->tls && s->tls->answered_plain_http;
}

bool tt__tls_has_input(const struct tt__stream *s)
{
    const struct tt__tls *t = s->tls;
    return t && !t->failed && !t->eof_delivered &&
           (SSL_has_pending(t->ssl) || BIO_ctrl_pending(t->rbio) > 0);
}

size_t tt__tls_queued_bytes(const struct tt__stream *s)
{
    return s->tls ? s->tls->pending_bytes : 0;
}

/* Moves every ciphertext byte OpenSSL produced into one socket write. The write stands for
 * `plain_len` plaintext bytes and completes through `cb` (both may be zero/NULL). */
static int tls_flush(struct tt__stream *s, size_t plain_len, tt__stream_write_cb cb, void *arg)
{
    struct tt__tls *t = s->tls;
    size_t pending = BIO_ctrl_pending(t->wbio);
    if (pending == 0 && !cb) {
        return 0;
    }
    if (s->state >= TT__STREAM_CLOSING) {
        (void)BIO_reset(t->wbio);
        return TETHER_EPIPE;
    }
    char *buf = tt__stream_wbuf_new(s, pending);
    if (!buf) {
        return TETHER_ENOMEM;
    }
    size_t got = 0;
    while (got < pending) {
        size_t want = pending - got;
        int n = BIO_read(t->wbio, buf + got, want > TLS_IO_MAX ? TLS_IO_MAX : (int)want);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    return tt__stream_wbuf_submit(s, buf, got, plain_len, cb, arg);
}

/* Completes `f` for a TLS-level error and records it as the stream's last error. */
static void tls_record_failure(struct tt__stream *s, struct tether_failure *f, int code,
                               enum tether_syscall syscall, enum tether_phase phase)
{
    struct tt__tls *t = s->tls;
    f->code = code;
    f->syscall = syscall;
    f->phase = phase;
    if (t->server_name) {
        (void)snprintf(f->host, sizeof(f->host), "%s", t->server_name);
    }
    tt__stream_set_failure(s, f);
}

/* Maps an SSL_get_error answer after a failed call into `f`, draining the error queue. */
static int tls_map_error(int ssl_error, struct tether_failure *f)
{
    tether_failure_init(f);
    f->origin = TETHER_ORIGIN_OPENSSL;
    f->origin_code = (long)ERR_peek_error();
    int code = tt__err_from_ssl(ssl_error, 0, f->detail, sizeof(f->detail));
    if (code == 0 || code == TETHER_EAGAIN) {
        code = TETHER_ETLS;
    }
    return code;
}

static void tls_handshake_failed(struct tt__stream *s, int ssl_error)
{
    struct tt__tls *t = s->tls;
    t->failed = true;
    unsigned long first = ERR_peek_error();
    bool plain_http = t->server && ERR_GET_LIB(first) == ERR_LIB_SSL &&
                      ERR_GET_REASON(first) == SSL_R_HTTP_REQUEST;
    struct tether_failure f;
    int code = tls_map_error(ssl_error, &f);
    if (plain_http) {
        /* Ciphertext and plaintext leave through the same BIO: this goes out as it is. */
        int len = (int)sizeof(tls_plain_http_answer) - 1;
        t->answered_plain_http = BIO_write(t->wbio, tls_plain_http_answer, len) == len &&
                                 tls_flush(s, 0, NULL, NULL) == 0;
        (void)snprintf(f.detail, sizeof(f.detail), "a plain HTTP request on a TLS port%s",
                       t->answered_plain_http ? " (answered 400)" : "");
    }
    long vr = SSL_get_verify_result(t->ssl);
    if (code == TETHER_EEOF) {
        code = TETHER_ECONNRESET;
    } else if (vr != X509_V_OK && t->verify && !t->server) {
        /* OpenSSL's queue only says "certificate verify failed"; the verify result says why,
         * in the words Node users know. */
        code = TETHER_ETLSCERT;
        if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH) {
            (void)snprintf(f.detail, sizeof(f.detail),
                           "Hostname/IP does not match certificate's altnames: %s",
                           t->server_name ? t->server_name : "");
        } else {
            (void)snprintf(f.detail, sizeof(f.detail), "%s", X509_verify_cert_error_string(vr));
        }
    }
    tls_record_failure(s, &f, code, TETHER_SYSCALL_NONE, TETHER_PHASE_TLS);
    tt__stream_handshake_done(s, code);
}

/* Ends TLS on this stream after an error already recorded as its failure, and reports it to
 * whoever waits: the connect callback during a client handshake, on_read otherwise. */
static void tls_fatal(struct tt__stream *s, int code)
{
    s->tls->failed = true;
    if (s->state == TT__STREAM_HANDSHAKING) {
        tt__stream_handshake_done(s, code);
    } else {
        tt__stream_deliver(s, code, NULL, 0);
    }
}

/* Records a failure of ours (no OpenSSL error queue involved). */
static void tls_record_local(struct tt__stream *s, int code, enum tether_syscall syscall)
{
    struct tether_failure f;
    tether_failure_init(&f);
    tls_record_failure(s, &f, code, syscall,
                       SSL_is_init_finished(s->tls->ssl) ? TETHER_PHASE_NONE : TETHER_PHASE_TLS);
}

/* Encrypts and queues `len` bytes now that the handshake is done. */
static int tls_write_now(struct tt__stream *s, const char *data, size_t len, tt__stream_write_cb cb,
                         void *arg)
{
    struct tt__tls *t = s->tls;
    size_t off = 0;
    while (off < len) {
        size_t want = len - off;
        ERR_clear_error();
        int n = SSL_write(t->ssl, data + off, want > TLS_IO_MAX ? TLS_IO_MAX : (int)want);
        if (n <= 0) {
            struct tether_failure f;
            int code = tls_map_error(SSL_get_error(t->ssl, n), &f);
            tls_record_failure(s, &f, code, TETHER_SYSCALL_WRITE, TETHER_PHASE_NONE);
            t->failed = true;
            (void)BIO_reset(t->wbio);
            return code;
        }
        off += (size_t)n;
    }
    int rv = tls_flush(s, len, cb, arg);
    if (rv != 0) {
        /* Records half-handed to the socket would corrupt the stream from here on. */
        tls_record_local(s, rv, TETHER_SYSCALL_WRITE);
        t->failed = true;
    }
    return rv;
}

/* Sends what was written during the handshake; reports failures through the callbacks. */
static int tls_flush_pending(struct tt__stream *s)
{
    struct tt__tls *t = s->tls;
    struct tls_pending *p;
    while ((p = t->pending) != NULL) {
        t->pending = p->next;
        if (!t->pending) {
            t->pending_tail = &t->pending;
        }
        t->pending_bytes -= p->len;
        int rv = tls_write_now(s, p->data, p->len, p->cb, p->arg);
        if (rv != 0) {
            tt__stream_write_cb cb = p->cb;
            void *arg = p->arg;
            tt__free(p);
            if (cb) {
                cb(s, rv, arg);
            }
            if (s->state < TT__STREAM_CLOSING && s->tls) {
                tls_fatal(s, rv);
            }
            return rv;
        }
        tt__free(p);
    }
    return 0;
}

int tt__tls_write(struct tt__stream *s, const void *data, size_t len, tt__stream_write_cb cb,
                  void *arg)
{
    struct tt__tls *t = s->tls;
    if (t->failed) {
        return TETHER_EPIPE;
    }
    if (!SSL_is_init_finished(t->ssl)) {
        if (len > SIZE_MAX - sizeof(struct tls_pending)) {
            return TETHER_ENOMEM;
        }
        struct tls_pending *p = tt__malloc(sizeof(*p) + len);
        if (!p) {
            return TETHER_ENOMEM;
        }
        p->next = NULL;
        p->cb = cb;
        p->arg = arg;
        p->len = len;
        if (len) {
            memcpy(p->data, data, len);
        }
        *t->pending_tail = p;
        t->pending_tail = &p->next;
        t->pending_bytes += len;
        return 0;
    }
    return tls_write_now(s, data, len, cb, arg);
}

static void tls_read_loop(struct tt__stream *s)
{
    struct tt__tls *t = s->tls;
    char buf[TLS_PLAIN_CHUNK];
    /* Re-check after every call-out: the user may pause, close or fail the stream. */
    while (s->tls == t && !t->failed && !t->eof_delivered && s->reading &&
           s->state == TT__STREAM_OPEN) {
        ERR_clear_error();
        int n = SSL_read(t->ssl, buf, (int)sizeof(buf));
        if (n > 0) {
            tt__stream_deliver(s, 0, buf, (size_t)n);
            continue;
        }
        int err = SSL_get_error(t->ssl, n);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            break;
        }
        if (err == SSL_ERROR_ZERO_RETURN) {
            /* close_notify: the peer will send nothing more, whatever TCP does next. */
            t->eof_delivered = true;
            tt__stream_deliver(s, TETHER_EEOF, NULL, 0);
            break;
        }
        struct tether_failure f;
        int code = tls_map_error(err, &f);
        t->failed = true;
        tls_record_failure(s, &f, code, TETHER_SYSCALL_READ, TETHER_PHASE_NONE);
        tt__stream_deliver(s, code, NULL, 0);
        return;
    }
    /* SSL_read may have produced records of its own (key updates, alerts). Once a graceful
     * close began, close_notify already took everything and the write side is shut. */
    if (s->tls == t && !t->failed && s->state < TT__STREAM_SHUT_WR &&
        tls_flush(s, 0, NULL, NULL) != 0) {
        t->failed = true;
    }
}

void tt__tls_pump(struct tt__stream *s)
{
    struct tt__tls *t = s->tls;
    if (!t || t->failed || s->state >= TT__STREAM_SHUT_WR) {
        return;
    }
    if (!SSL_is_init_finished(t->ssl)) {
        if (s->state != TT__STREAM_HANDSHAKING) {
            return;
        }
        ERR_clear_error();
        int r = SSL_do_handshake(t->ssl);
        int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
        /* Send what the step produced first: on failure that is the alert telling the peer
         * why. */
        int frv = tls_flush(s, 0, NULL, NULL);
        if (r != 1 && err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
            tls_handshake_failed(s, err);
            return;
        }
        if (frv != 0) {
            tls_record_local(s, frv, TETHER_SYSCALL_WRITE);
            tls_fatal(s, frv);
            return;
        }
        if (r != 1) {
            return;
        }
        if (tls_flush_pending(s) != 0) {
            return;
        }
        tt__stream_handshake_done(s, 0);
        if (s->tls != t || s->state != TT__STREAM_OPEN) {
            return;
        }
    }
    tls_read_loop(s);
}

void tt__tls_feed(struct tt__stream *s, const char *data, size_t len)
{
    struct tt__tls *t = s->tls;
    if (t->failed) {
        return;
    }
    while (len > 0) {
        int n = BIO_write(t->rbio, data, len > TLS_IO_MAX ? TLS_IO_MAX : (int)len);
        if (n <= 0) {
            (void)tt__err_from_ssl(0, 0, NULL, 0);
            tls_record_local(s, TETHER_ENOMEM, TETHER_SYSCALL_READ);
            tls_fatal(s, TETHER_ENOMEM);
            return;
        }
        data += n;
        len -= (size_t)n;
    }
    tt__tls_pump(s);
}

void tt__tls_on_eof(struct tt__stream *s)
{
    struct tt__tls *t = s->tls;
    if (!t || t->failed) {
        return;
    }
    if (!SSL_is_init_finished(t->ssl)) {
        if (s->state != TT__STREAM_HANDSHAKING) {
            return;
        }
        /* Node's "Client network socket disconnected before secure TLS connection was
         * established": ECONNRESET in the TLS phase, whether FIN or RST ended it. */
        t->failed = true;
        struct tether_failure f;
        tether_failure_init(&f);
        f.origin = TETHER_ORIGIN_LIBUV;
        f.origin_code = UV_EOF;
        (void)snprintf(f.detail, sizeof(f.detail),
                       "peer closed the connection during the TLS handshake");
        tls_record_failure(s, &f, TETHER_ECONNRESET, TETHER_SYSCALL_READ, TETHER_PHASE_TLS);
        tt__stream_handshake_done(s, TETHER_ECONNRESET);
        return;
    }
    if (!t->eof_delivered) {
        /* A FIN without close_notify: HTTP framing, not TLS, decides whether that
         * truncated anything. */
        t->eof_delivered = true;
        tt__stream_deliver(s, TETHER_EEOF, NULL, 0);
    }
}

void tt__tls_close_notify(struct tt__stream *s)
{
    struct tt__tls *t = s->tls;
    /* SSL_shutdown must not follow a fatal error, and means nothing before the handshake. */
    if (!t || t->failed || !SSL_is_init_finished(t->ssl)) {
        return;
    }
    ERR_clear_error();
    (void)SSL_shutdown(t->ssl);
    ERR_clear_error();
    if (tls_flush(s, 0, NULL, NULL) != 0) {
        t->failed = true;
    }
}
