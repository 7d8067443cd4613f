/* SPDX-License-Identifier: MIT */
/* The doctor's private parts shared by probe.c, response.c and findings.c. */
#ifndef TETHER_DOCTOR_INT_H
#define TETHER_DOCTOR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tether/doctor.h"

/* An incremental reader of one HTTP/1.1 response at a time: head, then the body by
 * Content-Length, chunked coding, or until the close. Bytes are consumed from the front of the
 * caller's buffer; the head is kept until the next response starts. */
enum dr_state {
    DR_HEAD = 0,
    DR_BODY_LENGTH,
    DR_CHUNK_SIZE,
    DR_CHUNK_DATA,
    DR_CHUNK_CRLF,
    DR_TRAILERS,
    DR_BODY_UNTIL_CLOSE,
    DR_DONE,
};

struct dr_response {
    enum dr_state state;
    int status;
    char reason[64];
    bool conn_close;     /* Connection: close, or a close-delimited body */
    bool conn_keepalive; /* Connection: keep-alive (HTTP/1.0) */
    bool http10;
    uint64_t remaining; /* body or chunk bytes still to come */
    char connection[128];
    char keep_alive[128];
    size_t nhints;
    char hints[TETHER_DOCTOR_MAX_HINTS][192];
};

/* Resets `r` for the next response. */
void tt__dr_reset(struct dr_response *r);
/* Consumes what it can of buf[0..*len) (moving the rest to the front). Returns 1 when the
 * response is complete (state DR_DONE), 0 when it needs more, TETHER_EHTTP on a malformed
 * response. */
int tt__dr_feed(struct dr_response *r, char *buf, size_t *len);
/* The close ends a close-delimited body: true when `r` is complete with it. */
bool tt__dr_eof_completes(const struct dr_response *r);

/* Parses a Keep-Alive field value ("timeout=5, max=100") into the hint fields of `out`. */
void tt__dr_parse_keep_alive(const char *value, struct tether_doctor_result *out);

/* http[s]://HOST[:PORT][/PATH] into r->host, port, path and tls; errbuf says what is wrong. */
int tt__doctor_parse_url(const char *url, struct tether_doctor_result *r, char *errbuf,
                         size_t errlen);

/* TLS over memory BIOs (tls.c). The context is an SSL_CTX, kept opaque here. */
struct dtls;
void *tt__dtls_ctx_new(void);
void tt__dtls_ctx_free(void *ctx);
struct dtls *tt__dtls_new(void *ctx, const char *host);
void tt__dtls_free(struct dtls *t);
/* Ciphertext received from the peer. */
int tt__dtls_feed(struct dtls *t, const char *data, size_t n);
/* 1 when the handshake is complete, 0 when it needs more input, TETHER_ETLS (reason in err). */
int tt__dtls_handshake(struct dtls *t, char *err, size_t errlen);
/* Plaintext: 1 with *n bytes, 0 when none is ready, TETHER_EEOF on close_notify, TETHER_ETLS. */
int tt__dtls_read(struct dtls *t, char *out, size_t cap, size_t *n);
int tt__dtls_write(struct dtls *t, const char *data, size_t n);
/* Ciphertext to send: how much is waiting, and up to `cap` bytes of it. */
size_t tt__dtls_pending_output(const struct dtls *t);
size_t tt__dtls_take_output(struct dtls *t, char *buf, size_t cap);
/* Version, cipher, ALPN, verification, hostname match, expiry and chain into `r`. */
void tt__dtls_facts(struct dtls *t, const char *host, struct tether_doctor_result *r);

/* The connection ramp (ramp.c): `done(arg)` runs once every handle is closed. */
struct dramp;
typedef void (*dramp_done_cb)(void *arg);
struct dramp *tt__dramp_start(uv_loop_t *loop, const struct sockaddr_storage *addr, char *request,
                              size_t request_len, unsigned cap, uint64_t timeout_ms,
                              struct tether_doctor_ramp *out, dramp_done_cb done, void *arg);
void tt__dramp_cancel(struct dramp *r);
void tt__dramp_free(struct dramp *r);

#endif
