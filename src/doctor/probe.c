/* SPDX-License-Identifier: MIT */
/*
 * The doctor's measurements on a libuv loop. The first connection times the phases and proves
 * the endpoint reachable; then the other idle connections, the sequential-request connection
 * and the silent-drop probes start together. Every idle connection keeps a read pending, so
 * the close is seen when it happens (EOF = FIN, ECONNRESET = RST), timed with uv_hrtime from
 * the last byte of its response: the instant the server's idle timer starts.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor/doctor_int.h"
#include "internal.h"
#include "tether/error.h"

/* One read; the response buffer holds the largest head the reader accepts plus one read. */
#define DOCTOR_NET_CAP 16384
#define DOCTOR_RX_CAP (65536 + DOCTOR_NET_CAP)
/* How long an idle connection the peer never closed waits for the peer's FIN after ours. */
#define DOCTOR_HANGUP_MS 1000

enum dconn_role { ROLE_IDLE, ROLE_SEQ, ROLE_PROBE };

enum dconn_step {
    STEP_CONNECT,
    STEP_TLS,      /* connected, TLS handshake in progress */
    STEP_RESPONSE, /* request sent, reading its response */
    STEP_IDLE,     /* response read, waiting for the close */
    STEP_PROBE,    /* the probe request after the idle time is out */
    STEP_HANGUP,   /* the idle time ran out: our FIN is sent, the peer's awaited (bounded) */
    STEP_CLOSING,
};

struct dconn {
    struct tether_doctor *d;
    enum dconn_role role;
    size_t index; /* into result idle[] or probes[] */
    enum dconn_step step;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect_req;
    uv_write_t write_req;
    uv_shutdown_t shutdown_req;
    int handles; /* open libuv handles */
    uint64_t t_start, t_connected, t_sent, t_first_byte, t_end;
    bool first; /* the phase-timing connection */
    bool got_byte;
    unsigned responses;
    struct dr_response resp;
    size_t rx_len;
    struct dtls *tls; /* https:// only */
    char net[DOCTOR_NET_CAP];
    char rx[DOCTOR_RX_CAP];
};

struct tether_doctor {
    uv_loop_t *loop;
    struct tether_doctor_options opts;
    char url[2048];
    char port_text[8];
    char request[1600];
    size_t request_len;
    tether_doctor_done_cb done;
    void *arg;
    uv_getaddrinfo_t gai;
    bool gai_pending;
    struct sockaddr_storage addrs[TETHER_DOCTOR_MAX_ADDRS];
    size_t naddrs;
    uint64_t t0;
    uint64_t idle_t0; /* when the first idle wait began, 0 before */
    size_t nconns;
    struct dconn *conns[TETHER_DOCTOR_MAX_CONNS + TETHER_DOCTOR_MAX_PROBES + 1];
    int live; /* connections not yet fully closed */
    bool canceled;
    bool finished;
    char error[320];
    void *ssl_ctx; /* https:// only */
    struct dramp *ramp;
    bool ramp_live;
    struct tether_doctor_result result;
};

static uint64_t ms_since(uint64_t from_ns, uint64_t to_ns)
{
    return to_ns > from_ns ? (to_ns - from_ns) / 1000000u : 0;
}

static double ms_between(uint64_t from_ns, uint64_t to_ns)
{
    return to_ns > from_ns ? (double)(to_ns - from_ns) / 1e6 : 0.0;
}

static void doctor_maybe_done(struct tether_doctor *d);

static void dconn_handle_closed(uv_handle_t *h)
{
    struct dconn *c = h->data;
    if (--c->handles == 0) {
        struct tether_doctor *d = c->d;
        d->live--;
        doctor_maybe_done(d);
    }
}

static void dconn_close(struct dconn *c)
{
    if (c->step == STEP_CLOSING) {
        return;
    }
    c->step = STEP_CLOSING;
    (void)uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, dconn_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, dconn_handle_closed);
}

/* Node's words for a failed syscall on the first connection: "connect ECONNREFUSED 1.2.3.4:80". */
static void doctor_fail(struct tether_doctor *d, const char *syscall, int uv_err)
{
    if (d->error[0]) {
        return;
    }
    if (uv_err == 0) {
        (void)snprintf(d->error, sizeof(d->error), "%s", syscall);
    } else if (strcmp(syscall, "getaddrinfo") == 0) {
        const char *code = (uv_err == UV_EAI_NONAME || uv_err == UV_EAI_NODATA)
                               ? "ENOTFOUND"
                               : uv_err_name(uv_err);
        (void)snprintf(d->error, sizeof(d->error), "getaddrinfo %s %s", code, d->result.host);
    } else {
        (void)snprintf(d->error, sizeof(d->error), "%s %s %s:%u", syscall, uv_err_name(uv_err),
                       d->result.connected[0] ? d->result.connected : d->result.host,
                       (unsigned)d->result.port);
    }
}

static void dconn_start(struct tether_doctor *d, enum dconn_role role, size_t index, bool first);
static void dconn_send(struct dconn *c);

static void dconn_record_idle(struct dconn *c, enum tether_doctor_close how, int uv_err)
{
    struct tether_doctor_idle *i = &c->d->result.idle[c->index];
    i->how = how;
    i->uv_error = uv_err;
    i->ms =
        how == TETHER_DOCTOR_CLOSE_NONE ? c->d->opts.max_idle_ms : ms_since(c->t_end, uv_hrtime());
}

static void dconn_record_probe(struct dconn *c, enum tether_doctor_probe_outcome o,
                               enum tether_doctor_close early)
{
    struct tether_doctor_probe *p = &c->d->result.probes[c->index];
    p->outcome = o;
    p->early_how = early;
    p->ms = o == TETHER_DOCTOR_PROBE_CLOSED_EARLY ? ms_since(c->t_end, uv_hrtime())
                                                  : ms_since(c->t_sent, uv_hrtime());
}

/* The connection ended (EOF or an error) at `step`. */
static void dconn_ended(struct dconn *c, int status)
{
    struct tether_doctor *d = c->d;
    bool eof = status == UV_EOF;
    bool rst = status == UV_ECONNRESET || status == UV_EPIPE;
    enum tether_doctor_close how = eof   ? TETHER_DOCTOR_CLOSE_FIN
                                   : rst ? TETHER_DOCTOR_CLOSE_RST
                                         : TETHER_DOCTOR_CLOSE_ERROR;
    switch (c->step) {
    case STEP_IDLE:
        if (c->role == ROLE_IDLE) {
            dconn_record_idle(c, how, eof ? 0 : status);
        } else if (c->role == ROLE_PROBE) {
            dconn_record_probe(c, TETHER_DOCTOR_PROBE_CLOSED_EARLY, how);
        } else {
            d->result.requests_limit_reached = true;
        }
        break;
    case STEP_TLS:
        if (c->first) {
            doctor_fail(d,
                        "Client network socket disconnected before secure TLS connection was "
                        "established",
                        0);
        }
        if (c->role == ROLE_IDLE) {
            dconn_record_idle(c, TETHER_DOCTOR_CLOSE_ERROR, status);
        } else if (c->role == ROLE_PROBE) {
            dconn_record_probe(c, TETHER_DOCTOR_PROBE_ERROR, TETHER_DOCTOR_CLOSE_NONE);
        }
        break;
    case STEP_RESPONSE:
        if (eof && tt__dr_eof_completes(&c->resp) && c->resp.status) {
            /* A close-delimited body ends here: the response is complete and so is the
             * connection, at 0 ms of idle. */
            c->t_end = uv_hrtime();
            if (c->first) {
                d->result.total_ms = ms_between(c->t_start, c->t_end);
            }
            if (c->role == ROLE_IDLE) {
                dconn_record_idle(c, TETHER_DOCTOR_CLOSE_FIN, 0);
            }
            break;
        }
        if (c->role == ROLE_SEQ && c->responses > 0 && !c->got_byte) {
            d->result.requests_limit_reached = true; /* closed before answering request n+1 */
            break;
        }
        if (c->first) {
            doctor_fail(d, eof ? "socket hang up" : "read", eof ? 0 : status);
        }
        if (c->role == ROLE_IDLE) {
            dconn_record_idle(c, TETHER_DOCTOR_CLOSE_ERROR, status);
        } else if (c->role == ROLE_PROBE) {
            dconn_record_probe(c, TETHER_DOCTOR_PROBE_ERROR, TETHER_DOCTOR_CLOSE_NONE);
        }
        break;
    case STEP_PROBE:
        dconn_record_probe(c,
                           eof   ? TETHER_DOCTOR_PROBE_FIN
                           : rst ? TETHER_DOCTOR_PROBE_RST
                                 : TETHER_DOCTOR_PROBE_ERROR,
                           TETHER_DOCTOR_CLOSE_NONE);
        break;
    default:
        break;
    }
    dconn_close(c);
}

static void dconn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct dconn *c = h->data;
    *buf = uv_buf_init(c->net, sizeof(c->net));
}

/* The first connection's response head: the facts of the report. */
static void doctor_take_head(struct tether_doctor *d, const struct dr_response *r)
{
    struct tether_doctor_result *res = &d->result;
    res->status = r->status;
    (void)snprintf(res->reason, sizeof(res->reason), "%s", r->reason);
    (void)snprintf(res->connection, sizeof(res->connection), "%s", r->connection);
    (void)snprintf(res->keep_alive, sizeof(res->keep_alive), "%s", r->keep_alive);
    res->nhints = r->nhints;
    memcpy(res->hints, r->hints, sizeof(res->hints));
    res->response_close = r->conn_close;
    tt__dr_parse_keep_alive(r->keep_alive, res);
}

/* The rest of the measurements, once the first response proved the endpoint answers. */
static void doctor_start_rest(struct tether_doctor *d)
{
    for (size_t i = 1; i < d->opts.connections; i++) {
        dconn_start(d, ROLE_IDLE, i, false);
    }
    if (d->opts.max_requests > 0) {
        d->result.requests_ran = true;
        dconn_start(d, ROLE_SEQ, 0, false);
    }
    for (size_t i = 0; i < d->opts.silent_probes; i++) {
        d->result.probes[i].idle_ms = d->opts.silent_probe_ms[i];
        dconn_start(d, ROLE_PROBE, i, false);
    }
}

static void dconn_idle_timer(uv_timer_t *t);

static void dconn_response_done(struct dconn *c)
{
    struct tether_doctor *d = c->d;
    c->t_end = uv_hrtime();
    c->responses++;
    (void)uv_timer_stop(&c->timer);
    if (c->first) {
        d->result.total_ms = ms_between(c->t_start, c->t_end);
        doctor_take_head(d, &c->resp);
        if (!d->canceled) {
            doctor_start_rest(d);
        }
    }
    bool closing = c->resp.conn_close;
    if (c->role == ROLE_SEQ) {
        d->result.requests_measured = c->responses;
        if (closing) {
            d->result.requests_limit_reached = true;
            dconn_close(c);
        } else if (c->responses >= d->opts.max_requests || d->canceled) {
            dconn_close(c);
        } else {
            c->step = STEP_IDLE; /* a close now still means "limit reached" */
            dconn_send(c);
        }
        return;
    }
    if (c->role == ROLE_PROBE && c->step == STEP_PROBE) {
        dconn_record_probe(c, TETHER_DOCTOR_PROBE_OK, TETHER_DOCTOR_CLOSE_NONE);
        dconn_close(c);
        return;
    }
    c->step = STEP_IDLE;
    if (d->canceled) {
        if (c->role == ROLE_IDLE) {
            dconn_record_idle(c, TETHER_DOCTOR_CLOSE_NONE, 0);
        } else {
            dconn_record_probe(c, TETHER_DOCTOR_PROBE_ERROR, TETHER_DOCTOR_CLOSE_NONE);
        }
        dconn_close(c);
        return;
    }
    if (c->role == ROLE_IDLE && !d->idle_t0) {
        d->idle_t0 = c->t_end;
    }
    uint64_t wait = c->role == ROLE_IDLE ? d->opts.max_idle_ms : d->result.probes[c->index].idle_ms;
    (void)uv_timer_start(&c->timer, dconn_idle_timer, wait, 0);
}

static void dconn_shut(uv_shutdown_t *req, int status)
{
    struct dconn *c = req->data;
    if (status < 0 && c->step == STEP_HANGUP) {
        dconn_close(c);
    }
}

/* Ends an idle connection the peer never closed: FIN first, then the peer's own close awaited
 * for at most DOCTOR_HANGUP_MS. A server or proxy that counts connections has then let this
 * one go before the connection ramp counts its own (closing at once raced it: the ramp's first
 * connection could arrive while the old one still held a slot, and the limit read one low).
 * The wait is bounded by DOCTOR_HANGUP_MS. */
static void dconn_hang_up(struct dconn *c)
{
    c->step = STEP_HANGUP;
    c->shutdown_req.data = c;
    if (c->tls || uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, dconn_shut) != 0) {
        dconn_close(c);
        return;
    }
    (void)uv_timer_start(&c->timer, dconn_idle_timer, DOCTOR_HANGUP_MS, 0);
}

/* The idle time is out: an idle connection never closed; a probe sends its request now. */
static void dconn_idle_timer(uv_timer_t *t)
{
    struct dconn *c = t->data;
    if (c->step == STEP_HANGUP) {
        dconn_close(c); /* the peer never answered our FIN */
        return;
    }
    if (c->role == ROLE_PROBE) {
        c->step = STEP_PROBE;
        dconn_send(c);
        return;
    }
    dconn_record_idle(c, TETHER_DOCTOR_CLOSE_NONE, 0);
    dconn_hang_up(c);
}

/* Connect or response timeout. */
static void dconn_deadline(uv_timer_t *t)
{
    struct dconn *c = t->data;
    struct tether_doctor *d = c->d;
    if (c->step == STEP_PROBE) {
        dconn_record_probe(c, TETHER_DOCTOR_PROBE_TIMEOUT, TETHER_DOCTOR_CLOSE_NONE);
    } else {
        if (c->first) {
            doctor_fail(d,
                        c->step == STEP_CONNECT ? "connect"
                        : c->step == STEP_TLS   ? "TLS handshake"
                                                : "read",
                        UV_ETIMEDOUT);
        }
        if (c->role == ROLE_IDLE) {
            dconn_record_idle(c, TETHER_DOCTOR_CLOSE_ERROR, UV_ETIMEDOUT);
        } else if (c->role == ROLE_PROBE) {
            dconn_record_probe(c, TETHER_DOCTOR_PROBE_ERROR, TETHER_DOCTOR_CLOSE_NONE);
        }
    }
    dconn_close(c);
}

/* Plaintext bytes of the connection, at most DOCTOR_NET_CAP at a time. */
static void dconn_plain(struct dconn *c, const char *data, size_t n)
{
    if (c->step == STEP_IDLE && c->role != ROLE_SEQ) {
        /* Bytes on an idle connection (a server's 408, say) are not a close: keep waiting. */
        return;
    }
    if (!c->got_byte) {
        c->got_byte = true;
        c->t_first_byte = uv_hrtime();
        if (c->first) {
            c->d->result.first_byte_ms = ms_between(c->t_sent, c->t_first_byte);
        }
        if (c->step == STEP_PROBE) {
            /* The probe's question is answered by the first byte: the path is alive. */
            dconn_record_probe(c, TETHER_DOCTOR_PROBE_OK, TETHER_DOCTOR_CLOSE_NONE);
            dconn_close(c);
            return;
        }
    }
    /* The reader keeps at most its head limit unconsumed, so one read always fits. */
    assert(n <= DOCTOR_RX_CAP - c->rx_len);
    memcpy(c->rx + c->rx_len, data, n);
    c->rx_len += n;
    int rv = tt__dr_feed(&c->resp, c->rx, &c->rx_len);
    if (rv < 0) {
        if (c->first) {
            doctor_fail(c->d, "the response is not valid HTTP/1.x", 0);
        }
        if (c->role == ROLE_IDLE) {
            dconn_record_idle(c, TETHER_DOCTOR_CLOSE_ERROR, UV_EPROTO);
        } else if (c->role == ROLE_PROBE) {
            dconn_record_probe(c, TETHER_DOCTOR_PROBE_ERROR, TETHER_DOCTOR_CLOSE_NONE);
        }
        dconn_close(c);
        return;
    }
    if (rv == 1) {
        dconn_response_done(c);
    }
}

/* A write of TLS records; freed by its callback. */
struct dwrite {
    uv_write_t req;
    struct dconn *c;
    char data[];
};

static void dconn_tls_written(uv_write_t *req, int status)
{
    struct dwrite *w = req->data;
    struct dconn *c = w->c;
    tt__free(w);
    if (status < 0 && c->step != STEP_CLOSING) {
        dconn_ended(c, status);
    }
}

/* Sends the records OpenSSL has produced (handshake messages, the request, alerts). */
static void dconn_flush(struct dconn *c)
{
    size_t n = tt__dtls_pending_output(c->tls);
    if (!n || c->step == STEP_CLOSING) {
        return;
    }
    struct dwrite *w = tt__malloc(sizeof(*w) + n);
    if (!w) {
        dconn_ended(c, UV_ENOMEM);
        return;
    }
    w->c = c;
    w->req.data = w;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)tt__dtls_take_output(c->tls, w->data, n));
    int rv = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, dconn_tls_written);
    if (rv < 0) {
        tt__free(w);
        dconn_ended(c, rv);
    }
}

/* Ciphertext from the peer: the handshake, then the plaintext inside. */
static void dconn_tls_in(struct dconn *c, const char *data, size_t n)
{
    struct tether_doctor *d = c->d;
    if (tt__dtls_feed(c->tls, data, n) != 0) {
        dconn_ended(c, UV_ENOMEM);
        return;
    }
    if (c->step == STEP_TLS) {
        char why[160];
        int rv = tt__dtls_handshake(c->tls, why, sizeof(why));
        dconn_flush(c);
        if (c->step == STEP_CLOSING || rv == 0) {
            return;
        }
        if (rv < 0) {
            if (c->first) {
                char text[200];
                (void)snprintf(text, sizeof(text), "TLS handshake failed: %s", why);
                doctor_fail(d, text, 0);
            }
            dconn_ended(c, UV_EPROTO);
            return;
        }
        if (c->first) {
            d->result.tls_ms = ms_between(c->t_connected, uv_hrtime());
            tt__dtls_facts(c->tls, d->result.host, &d->result);
        }
        c->step = STEP_RESPONSE;
        dconn_send(c);
    }
    char plain[DOCTOR_NET_CAP];
    while (c->step != STEP_CLOSING) {
        size_t got = 0;
        int rv = tt__dtls_read(c->tls, plain, sizeof(plain), &got);
        if (rv == 0) {
            break;
        }
        if (rv < 0) {
            /* close_notify is the TLS form of the FIN: the peer closed gracefully. */
            dconn_ended(c, rv == TETHER_EEOF ? UV_EOF : UV_EPROTO);
            return;
        }
        dconn_plain(c, plain, got);
    }
    dconn_flush(c);
}

static void dconn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct dconn *c = s->data;
    if (c->step == STEP_CLOSING || nread == 0) {
        return;
    }
    if (c->step == STEP_HANGUP) {
        if (nread < 0) {
            dconn_close(c); /* the peer's close: the connection is gone on both sides */
        }
        return;
    }
    if (nread < 0) {
        dconn_ended(c, (int)nread);
        return;
    }
    if (c->tls) {
        dconn_tls_in(c, buf->base, (size_t)nread);
    } else {
        dconn_plain(c, buf->base, (size_t)nread);
    }
}

static void dconn_written(uv_write_t *w, int status)
{
    struct dconn *c = w->data;
    if (status < 0 && c->step != STEP_CLOSING) {
        dconn_ended(c, status);
    }
}

/* Sends the request and waits for its response (the probe request: with its own timeout). */
static void dconn_send(struct dconn *c)
{
    struct tether_doctor *d = c->d;
    tt__dr_reset(&c->resp);
    c->rx_len = 0;
    c->got_byte = false;
    if (c->step != STEP_PROBE && c->step != STEP_IDLE) {
        c->step = STEP_RESPONSE;
    }
    c->t_sent = uv_hrtime();
    if (c->tls) {
        if (tt__dtls_write(c->tls, d->request, d->request_len) != 0) {
            dconn_ended(c, UV_EPROTO);
            return;
        }
        dconn_flush(c);
        if (c->step == STEP_CLOSING) {
            return;
        }
    } else {
        uv_buf_t b = uv_buf_init(d->request, (unsigned)d->request_len);
        c->write_req.data = c;
        int rv = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, dconn_written);
        if (rv < 0) {
            dconn_ended(c, rv);
            return;
        }
    }
    uint64_t limit = c->step == STEP_PROBE ? d->opts.probe_timeout_ms : d->opts.connect_timeout_ms;
    (void)uv_timer_start(&c->timer, dconn_deadline, limit, 0);
}

static void dconn_connected(uv_connect_t *req, int status)
{
    struct dconn *c = req->data;
    struct tether_doctor *d = c->d;
    if (c->step == STEP_CLOSING) {
        return;
    }
    if (status < 0) {
        if (c->first) {
            doctor_fail(d, "connect", status);
        }
        c->step = STEP_RESPONSE;
        dconn_ended(c, status);
        return;
    }
    c->t_connected = uv_hrtime();
    if (c->first) {
        d->result.connect_ms = ms_between(c->t_start, c->t_connected);
    }
    int rv = uv_read_start((uv_stream_t *)&c->tcp, dconn_alloc, dconn_read);
    if (rv < 0) {
        c->step = STEP_RESPONSE;
        dconn_ended(c, rv);
        return;
    }
    if (d->result.tls) {
        c->tls = tt__dtls_new(d->ssl_ctx, d->result.host);
        if (!c->tls) {
            c->step = STEP_RESPONSE;
            dconn_ended(c, UV_ENOMEM);
            return;
        }
        /* The ClientHello; the connect timer goes on bounding the handshake. */
        c->step = STEP_TLS;
        char why[160];
        if (tt__dtls_handshake(c->tls, why, sizeof(why)) < 0) {
            dconn_ended(c, UV_EPROTO);
            return;
        }
        dconn_flush(c);
        return;
    }
    c->step = STEP_RESPONSE;
    dconn_send(c);
}

static void dconn_try_connect(struct dconn *c)
{
    struct tether_doctor *d = c->d;
    /* Every connection uses the first address: the measurement is of one peer. */
    size_t ai = 0;
    const struct sockaddr *sa = (const struct sockaddr *)&d->addrs[ai];
    if (c->first) {
        (void)snprintf(d->result.connected, sizeof(d->result.connected), "%s", d->result.addrs[ai]);
    }
    c->connect_req.data = c;
    int rv = uv_tcp_connect(&c->connect_req, &c->tcp, sa, dconn_connected);
    if (rv < 0) {
        if (c->first) {
            doctor_fail(d, "connect", rv);
        }
        c->step = STEP_RESPONSE;
        dconn_ended(c, rv);
        return;
    }
    (void)uv_timer_start(&c->timer, dconn_deadline, d->opts.connect_timeout_ms, 0);
}

static void dconn_start(struct tether_doctor *d, enum dconn_role role, size_t index, bool first)
{
    struct dconn *c = tt__calloc(1, sizeof(*c));
    if (!c) {
        if (first) {
            doctor_fail(d, "out of memory", 0);
        }
        return;
    }
    c->d = d;
    c->role = role;
    c->index = index;
    c->first = first;
    c->step = STEP_CONNECT;
    c->t_start = uv_hrtime();
    tt__dr_reset(&c->resp);
    (void)uv_tcp_init(d->loop, &c->tcp);
    (void)uv_timer_init(d->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->handles = 2;
    d->conns[d->nconns++] = c;
    d->live++;
    if (role == ROLE_IDLE) {
        d->result.nidle = d->result.nidle > index + 1 ? d->result.nidle : index + 1;
    } else if (role == ROLE_PROBE) {
        d->result.nprobes = d->result.nprobes > index + 1 ? d->result.nprobes : index + 1;
    }
    (void)uv_tcp_nodelay(&c->tcp, 1);
    dconn_try_connect(c);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* min, max, median and the usual way of closing, over the idle connections. */
static void doctor_summarise(struct tether_doctor_result *r)
{
    uint64_t v[TETHER_DOCTOR_MAX_CONNS];
    size_t n = 0;
    size_t count[4] = {0};
    for (size_t i = 0; i < r->nidle; i++) {
        count[r->idle[i].how]++;
        if (r->idle[i].how == TETHER_DOCTOR_CLOSE_FIN ||
            r->idle[i].how == TETHER_DOCTOR_CLOSE_RST) {
            v[n++] = r->idle[i].ms;
        }
    }
    if (n) {
        qsort(v, n, sizeof(v[0]), cmp_u64);
        r->idle_min_ms = v[0];
        r->idle_max_ms = v[n - 1];
        r->idle_median_ms = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
    r->idle_how = TETHER_DOCTOR_CLOSE_NONE;
    size_t best = count[TETHER_DOCTOR_CLOSE_NONE];
    if (count[TETHER_DOCTOR_CLOSE_FIN] && count[TETHER_DOCTOR_CLOSE_FIN] >= best) {
        r->idle_how = TETHER_DOCTOR_CLOSE_FIN;
        best = count[TETHER_DOCTOR_CLOSE_FIN];
    }
    if (count[TETHER_DOCTOR_CLOSE_RST] && count[TETHER_DOCTOR_CLOSE_RST] > best) {
        r->idle_how = TETHER_DOCTOR_CLOSE_RST;
    }
}

static void doctor_ramp_done(void *arg)
{
    struct tether_doctor *d = arg;
    d->ramp_live = false;
    doctor_maybe_done(d);
}

static void doctor_maybe_done(struct tether_doctor *d)
{
    if (d->live > 0 || d->gai_pending || d->finished || d->ramp_live) {
        return;
    }
    if (d->opts.ramp_connections && !d->result.ramp_ran && !d->error[0] && !d->canceled) {
        /* Last, so its load never disturbs the idle measurements. */
        d->result.ramp_ran = true;
        d->ramp = tt__dramp_start(d->loop, &d->addrs[0], d->request, d->request_len,
                                  d->opts.ramp_connections, d->opts.probe_timeout_ms,
                                  &d->result.ramp, doctor_ramp_done, d);
        if (d->ramp) {
            d->ramp_live = true;
            return;
        }
        d->result.ramp_ran = false;
    }
    d->finished = true;
    doctor_summarise(&d->result);
    d->done(d, d->arg);
}

static void doctor_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
    struct tether_doctor *d = req->data;
    d->gai_pending = false;
    d->result.dns_ms = ms_between(d->t0, uv_hrtime());
    if (status < 0 || d->canceled) {
        doctor_fail(d, d->canceled ? "canceled" : "getaddrinfo", d->canceled ? 0 : status);
        uv_freeaddrinfo(ai);
        doctor_maybe_done(d);
        return;
    }
    for (struct addrinfo *p = ai; p && d->naddrs < TETHER_DOCTOR_MAX_ADDRS; p = p->ai_next) {
        if (p->ai_family != AF_INET && p->ai_family != AF_INET6) {
            continue;
        }
        memcpy(&d->addrs[d->naddrs], p->ai_addr, p->ai_addrlen);
        char *text = d->result.addrs[d->naddrs];
        if (p->ai_family == AF_INET) {
            (void)uv_ip4_name((const struct sockaddr_in *)p->ai_addr, text, 48);
        } else {
            (void)uv_ip6_name((const struct sockaddr_in6 *)p->ai_addr, text, 48);
        }
        d->naddrs++;
    }
    uv_freeaddrinfo(ai);
    d->result.naddrs = d->naddrs;
    if (d->naddrs == 0) {
        doctor_fail(d, "getaddrinfo", UV_EAI_NODATA);
        doctor_maybe_done(d);
        return;
    }
    dconn_start(d, ROLE_IDLE, 0, true);
    doctor_maybe_done(d);
}

int tether_doctor_start(uv_loop_t *loop, const struct tether_doctor_options *o,
                        tether_doctor_done_cb done, void *arg, struct tether_doctor **out,
                        char *errbuf, size_t errlen)
{
    *out = NULL;
    if (!loop || !o || !done || !o->url) {
        (void)snprintf(errbuf, errlen, "a loop, options with a URL and a callback are required");
        return TETHER_EINVAL;
    }
    if (o->connections < 1 || o->connections > TETHER_DOCTOR_MAX_CONNS ||
        o->silent_probes > TETHER_DOCTOR_MAX_PROBES || o->max_idle_ms == 0 ||
        o->probe_timeout_ms == 0 || o->connect_timeout_ms == 0) {
        (void)snprintf(errbuf, errlen,
                       "connections must be 1..%d, silent probes at most %d, timeouts above 0",
                       TETHER_DOCTOR_MAX_CONNS, TETHER_DOCTOR_MAX_PROBES);
        return TETHER_EINVAL;
    }
    if (o->ramp_connections > 512) {
        (void)snprintf(errbuf, errlen, "ramp_connections must be 0..512");
        return TETHER_EINVAL;
    }
    if (strlen(o->url) >= sizeof(((struct tether_doctor *)0)->url)) {
        (void)snprintf(errbuf, errlen, "URL is longer than 2047 bytes");
        return TETHER_EINVAL;
    }
    struct tether_doctor *d = tt__calloc(1, sizeof(*d));
    if (!d) {
        (void)snprintf(errbuf, errlen, "out of memory");
        return TETHER_ENOMEM;
    }
    int rv = tt__doctor_parse_url(o->url, &d->result, errbuf, errlen);
    if (rv != 0) {
        tt__free(d);
        return rv;
    }
    if (d->result.tls && o->ramp_connections) {
        (void)snprintf(errbuf, errlen, "the connection ramp measures http:// endpoints only");
        tt__free(d);
        return TETHER_EINVAL;
    }
    if (d->result.tls && !(d->ssl_ctx = tt__dtls_ctx_new())) {
        (void)snprintf(errbuf, errlen, "cannot create a TLS context");
        tt__free(d);
        return TETHER_ENOMEM;
    }
    d->loop = loop;
    d->opts = *o;
    (void)snprintf(d->url, sizeof(d->url), "%s", o->url);
    d->opts.url = d->url;
    d->done = done;
    d->arg = arg;
    bool v6 = strchr(d->result.host, ':') != NULL;
    char host_field[300];
    if (d->result.port == (d->result.tls ? 443 : 80)) {
        (void)snprintf(host_field, sizeof(host_field), v6 ? "[%s]" : "%s", d->result.host);
    } else {
        (void)snprintf(host_field, sizeof(host_field), v6 ? "[%s]:%u" : "%s:%u", d->result.host,
                       (unsigned)d->result.port);
    }
    int n = snprintf(d->request, sizeof(d->request),
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tether-doctor/%s\r\n"
                     "Accept: */*\r\n\r\n",
                     d->result.path, host_field, tether_version());
    if (n < 0 || (size_t)n >= sizeof(d->request)) {
        (void)snprintf(errbuf, errlen, "URL path is too long for the probe request");
        tether_doctor_free(d);
        return TETHER_EINVAL;
    }
    d->request_len = (size_t)n;
    (void)snprintf(d->port_text, sizeof(d->port_text), "%u", (unsigned)d->result.port);
    d->gai.data = d;
    d->t0 = uv_hrtime();
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rv = uv_getaddrinfo(loop, &d->gai, doctor_resolved, d->result.host, d->port_text, &hints);
    if (rv < 0) {
        (void)snprintf(errbuf, errlen, "getaddrinfo %s %s", uv_err_name(rv), d->result.host);
        tether_doctor_free(d);
        return TETHER_EINVAL;
    }
    d->gai_pending = true;
    *out = d;
    return 0;
}

void tether_doctor_cancel(struct tether_doctor *d)
{
    if (!d || d->finished) {
        return;
    }
    d->canceled = true;
    tt__dramp_cancel(d->ramp);
    for (size_t i = 0; i < d->nconns; i++) {
        struct dconn *c = d->conns[i];
        if (c->step == STEP_CLOSING) {
            continue;
        }
        if (c->role == ROLE_IDLE && c->step == STEP_IDLE) {
            dconn_record_idle(c, TETHER_DOCTOR_CLOSE_NONE, 0);
            c->d->result.idle[c->index].ms = ms_since(c->t_end, uv_hrtime());
        } else if (c->role == ROLE_IDLE) {
            dconn_record_idle(c, TETHER_DOCTOR_CLOSE_ERROR, UV_ECANCELED);
        } else if (c->role == ROLE_PROBE) {
            dconn_record_probe(c, TETHER_DOCTOR_PROBE_ERROR, TETHER_DOCTOR_CLOSE_NONE);
        }
        dconn_close(c);
    }
}

const struct tether_doctor_result *tether_doctor_result(const struct tether_doctor *d)
{
    return &d->result;
}

const char *tether_doctor_error(const struct tether_doctor *d)
{
    return d->error[0] ? d->error : NULL;
}

void tether_doctor_progress(const struct tether_doctor *d, uint64_t *idle_elapsed_ms,
                            unsigned *open_idle)
{
    *idle_elapsed_ms = d->idle_t0 ? ms_since(d->idle_t0, uv_hrtime()) : 0;
    unsigned n = 0;
    for (size_t i = 0; i < d->nconns; i++) {
        const struct dconn *c = d->conns[i];
        n += c->role == ROLE_IDLE && c->step == STEP_IDLE;
    }
    *open_idle = n;
}

void tether_doctor_free(struct tether_doctor *d)
{
    if (!d) {
        return;
    }
    for (size_t i = 0; i < d->nconns; i++) {
        tt__dtls_free(d->conns[i]->tls);
        tt__free(d->conns[i]);
    }
    if (d->ssl_ctx) {
        tt__dtls_ctx_free(d->ssl_ctx);
    }
    tt__dramp_free(d->ramp);
    tt__free(d);
}
