/* SPDX-License-Identifier: MIT */
/*
 * TLS for the doctor's probe connections: OpenSSL over memory BIOs, driven by probe.c's libuv
 * reads and writes. The handshake never fails on verification: the doctor measures endpoints
 * with self-signed or expired certificates too and reports the verdict as a fact (and a finding)
 * instead of refusing to look.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "doctor/doctor_int.h"
#include "internal.h"
#include "tether/error.h"

struct dtls {
    SSL *ssl;
    BIO *rbio; /* ciphertext from the peer, written by us */
    BIO *wbio; /* ciphertext for the peer, read by us */
};

void *tt__dtls_ctx_new(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        return NULL;
    }
    (void)SSL_CTX_set_default_verify_paths(ctx);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    /* Only HTTP/1.1 is spoken; offering it shows whether the server negotiates ALPN at all. */
    static const unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    (void)SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn));
    return ctx;
}

void tt__dtls_ctx_free(void *ctx)
{
    SSL_CTX_free(ctx);
}

static bool is_ip_literal(const char *host)
{
    unsigned char buf[16];
    return strchr(host, ':') != NULL || uv_inet_pton(AF_INET, host, buf) == 0;
}

struct dtls *tt__dtls_new(void *ctx, const char *host)
{
    struct dtls *t = tt__calloc(1, sizeof(*t));
    if (!t) {
        return NULL;
    }
    t->ssl = SSL_new(ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        SSL_free(t->ssl);
        tt__free(t);
        return NULL;
    }
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    if (!is_ip_literal(host)) {
        (void)SSL_set_tlsext_host_name(t->ssl, host);
    }
    SSL_set_connect_state(t->ssl);
    return t;
}

void tt__dtls_free(struct dtls *t)
{
    if (t) {
        SSL_free(t->ssl); /* frees both BIOs */
        tt__free(t);
    }
}

int tt__dtls_feed(struct dtls *t, const char *data, size_t n)
{
    return BIO_write(t->rbio, data, (int)n) == (int)n ? 0 : TETHER_ENOMEM;
}

/* The last OpenSSL error as text, or `fallback`. */
static void tls_error_text(char *buf, size_t len, const char *fallback)
{
    unsigned long e = ERR_get_error();
    if (e) {
        char tmp[256];
        ERR_error_string_n(e, tmp, sizeof(tmp));
        const char *reason = ERR_reason_error_string(e);
        (void)snprintf(buf, len, "%s", reason ? reason : tmp);
    } else {
        (void)snprintf(buf, len, "%s", fallback);
    }
    ERR_clear_error();
}

int tt__dtls_handshake(struct dtls *t, char *err, size_t errlen)
{
    int rv = SSL_do_handshake(t->ssl);
    if (rv == 1) {
        return 1;
    }
    int e = SSL_get_error(t->ssl, rv);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        return 0;
    }
    tls_error_text(err, errlen, "TLS handshake failed");
    return TETHER_ETLS;
}

int tt__dtls_read(struct dtls *t, char *out, size_t cap, size_t *n)
{
    *n = 0;
    int rv = SSL_read(t->ssl, out, (int)cap);
    if (rv > 0) {
        *n = (size_t)rv;
        return 1;
    }
    int e = SSL_get_error(t->ssl, rv);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        return 0;
    }
    ERR_clear_error();
    return e == SSL_ERROR_ZERO_RETURN ? TETHER_EEOF : TETHER_ETLS;
}

int tt__dtls_write(struct dtls *t, const char *data, size_t n)
{
    int rv = SSL_write(t->ssl, data, (int)n);
    ERR_clear_error();
    return rv == (int)n ? 0 : TETHER_ETLS;
}

size_t tt__dtls_take_output(struct dtls *t, char *buf, size_t cap)
{
    int n = BIO_read(t->wbio, buf, (int)cap);
    return n > 0 ? (size_t)n : 0;
}

size_t tt__dtls_pending_output(const struct dtls *t)
{
    return (size_t)BIO_ctrl_pending(t->wbio);
}

/* "CN=example.com" or the one-line subject when there is no CN. */
static void name_text(X509_NAME *name, char *buf, size_t len)
{
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (i >= 0) {
        ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
        (void)snprintf(buf, len, "CN=%.*s", ASN1_STRING_length(s),
                       (const char *)ASN1_STRING_get0_data(s));
    } else {
        (void)X509_NAME_oneline(name, buf, (int)len);
    }
    for (char *p = buf; *p; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
            *p = '?';
        }
    }
}

void tt__dtls_facts(struct dtls *t, const char *host, struct tether_doctor_result *r)
{
    (void)snprintf(r->tls_version, sizeof(r->tls_version), "%s", SSL_get_version(t->ssl));
    const char *cipher = SSL_get_cipher_name(t->ssl);
    (void)snprintf(r->tls_cipher, sizeof(r->tls_cipher), "%s", cipher ? cipher : "");
    const unsigned char *alpn = NULL;
    unsigned alen = 0;
    SSL_get0_alpn_selected(t->ssl, &alpn, &alen);
    (void)snprintf(r->tls_alpn, sizeof(r->tls_alpn), "%.*s", (int)alen,
                   alpn ? (const char *)alpn : "");
    long vr = SSL_get_verify_result(t->ssl);
    r->tls_verified = vr == X509_V_OK;
    (void)snprintf(r->tls_verify_error, sizeof(r->tls_verify_error), "%s",
                   r->tls_verified ? "" : X509_verify_cert_error_string(vr));
    X509 *leaf = SSL_get1_peer_certificate(t->ssl);
    if (leaf) {
        r->tls_hostname_match = is_ip_literal(host) ? X509_check_ip_asc(leaf, host, 0) == 1
                                                    : X509_check_host(leaf, host, 0, 0, NULL) == 1;
        const ASN1_TIME *na = X509_get0_notAfter(leaf);
        int days = 0;
        int secs = 0;
        if (ASN1_TIME_diff(&days, &secs, NULL, na)) {
            r->tls_expires_in_days = days;
        }
        struct tm tm;
        if (ASN1_TIME_to_tm(na, &tm) == 1) {
            (void)strftime(r->tls_not_after, sizeof(r->tls_not_after), "%Y-%m-%dT%H:%M:%SZ", &tm);
        }
        X509_free(leaf);
    }
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(t->ssl);
    int n = chain ? sk_X509_num(chain) : 0;
    r->tls_nchain = 0;
    for (int i = 0; i < n && r->tls_nchain < TETHER_DOCTOR_MAX_CHAIN; i++) {
        X509 *c = sk_X509_value(chain, i);
        char subject[92];
        char issuer[92];
        name_text(X509_get_subject_name(c), subject, sizeof(subject));
        name_text(X509_get_issuer_name(c), issuer, sizeof(issuer));
        (void)snprintf(r->tls_chain[r->tls_nchain++], sizeof(r->tls_chain[0]), "%s (issuer %s)",
                       subject, issuer);
    }
}
