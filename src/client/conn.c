/* SPDX-License-Identifier: MIT */
/* One client connection: resolve, dial, handshake, write a request, parse its response
 * (strict parser, 1xx skipped, length/chunked/until-close framing) and hand it back. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "client/client_int.h"

/* Room for a response head (16 KiB) plus one read; body bytes never accumulate here. */
#define CONN_IN_MAX (16384u + 65536u + 1024u)

struct tt__dns {
    uv_getaddrinfo_t req;
    struct tt__cli_conn *conn; /* NULL once the connection gave up waiting */
    struct tether_client *client;
};

static void conn_read_cb(struct tt__stream *s, int status, const char *data, size_t len);

uint64_t tt__cli_conn_idle_ms(const struct tt__cli_conn *c, uint64_t now)
{
    return now > c->idle_since_ms ? now - c->idle_since_ms : 0;
}

/* ---- closing ---- */

static void conn_timer_closed(uv_handle_t *h)
{
    struct tt__cli_conn *c = h->data;
    struct tether_client *client = c->client;
    tt__list_remove(&c->link);
    tt__buf_cleanup(&c->in);
    tt__free(c);
    tt__client_release(client);
}

static void conn_stream_closed(struct tt__stream *s, bool rst_sent)
{
    struct tt__cli_conn *c = tt__container_of(s, struct tt__cli_conn, stream);
    (void)rst_sent;
    /* The timer is the connection's last handle: its close callback frees the memory. */
    uv_close((uv_handle_t *)&c->timer, conn_timer_closed);
}

void tt__cli_conn_close(struct tt__cli_conn *c, bool abort)
{
    if (c->state == TT__CLI_CONN_CLOSING) {
        return;
    }
    /* Out of the idle list before anything else: a closing socket is never handed out. */
    if (c->state == TT__CLI_CONN_IDLE) {
        tt__list_remove(&c->idle_link);
    }
    c->state = TT__CLI_CONN_CLOSING;
    c->owner = NULL;
    uv_timer_stop(&c->timer);
    if (c->dns) {
        c->dns->conn = NULL;
        c->dns = NULL;
    }
    if (c->counted) {
        c->counted = false;
        c->origin->nopen--;
        tt__pool_slot_freed(c->origin);
    }
    if (abort) {
        tt__stream_close_abort(&c->stream, conn_stream_closed);
    } else {
        tt__stream_close_now(&c->stream, conn_stream_closed);
    }
}

/* Ends the exchange with `fail` and tells the owner (which may start another attempt). */
static void conn_fail(struct tt__cli_conn *c, struct tether_failure *fail, bool abort)
{
    struct tether_fetch *f = c->owner;
    if (!fail->peer[0]) {
        memcpy(fail->peer, c->stream.peer, sizeof(fail->peer));
    }
    tt__cli_conn_close(c, abort);
    if (f) {
        tt__fetch_attempt_failed(f, fail);
    }
}

void tt__cli_conn_fail(struct tt__cli_conn *c, struct tether_failure *fail, bool abort)
{
    conn_fail(c, fail, abort);
}

/* ---- request bytes that reached the kernel ---- */

/*
 * How many request bytes of this exchange the kernel accepted. libuv reports a write only as
 * a whole, so partial progress is read from its queue right after the write call: uv_write
 * tries one writev() at once; what it took leaves the queue, and on an error libuv keeps the
 * request's full size queued until just before the callback. So, for plain TCP:
 *   queue 0          -> all of it went;
 *   0 < queue < len  -> len - queue bytes went, the rest waits for POLLOUT;
 *   queue == len     -> nothing went: the writev failed, or found no room at all, which cannot
 *                       happen on a connection whose previous response arrived complete (that
 *                       response acknowledged everything we had sent) or on a new one.
 * TLS turns the request into records of ciphertext whose sizes we do not see, so there a
 * failed write counts as "some bytes went" unless the queue emptied. Anything unproven counts
 * as sent, since "zero bytes sent" licenses replaying any method.
 */
static uint64_t conn_bytes_sent_estimate(const struct tt__cli_conn *c, bool write_failed);

static uint64_t conn_bytes_sent(const struct tt__cli_conn *c, bool write_failed)
{
    /* Writes that completed are proof too (a streamed body makes many). */
    uint64_t acked = c->stream.bytes_written - c->write_base;
    uint64_t est = conn_bytes_sent_estimate(c, write_failed);
    return acked > est ? acked : est;
}

static uint64_t conn_bytes_sent_estimate(const struct tt__cli_conn *c, bool write_failed)
{
    if (c->write_done) {
        return c->write_len;
    }
    if (c->write_len == 0) {
        return 0;
    }
    size_t q = write_failed ? c->write_queue_after : tt__stream_write_queue_size(&c->stream);
    if (c->stream.tls) {
        return q == 0 ? c->write_len : 1;
    }
    if (q >= c->write_len) {
        /* While the write is pending the queue is exact; after the call it was sampled. */
        return write_failed || c->write_queue_after >= c->write_len
                   ? 0
                   : c->write_len - c->write_queue_after;
    }
    return c->write_len - q;
}

static void conn_fill_counts(struct tt__cli_conn *c, struct tether_failure *fail, bool write_failed)
{
    fail->bytes_sent = conn_bytes_sent(c, write_failed);
    fail->bytes_received = c->stream.bytes_read - c->read_base;
}

/* ---- timers ---- */

static void conn_timer_cb(uv_timer_t *t);

void tt__cli_conn_arm_timer(struct tt__cli_conn *c, uint64_t ms)
{
    if (ms == 0) {
        uv_timer_stop(&c->timer);
        return;
    }
    uint64_t now = uv_now(c->timer.loop);
    uint64_t due = now + ms;
    if (uv_is_active((const uv_handle_t *)&c->timer) &&
        now + uv_timer_get_due_in(&c->timer) <= due) {
        c->timer_due = due; /* fires early; conn_timer_cb re-arms for the rest */
        return;
    }
    c->timer_due = due;
    (void)uv_timer_start(&c->timer, conn_timer_cb, ms, 0);
}

static void conn_timeout(struct tt__cli_conn *c, enum tether_syscall sys, enum tether_phase phase,
                         const char *what, uint64_t ms)
{
    struct tether_failure fail;
    tether_failure_init(&fail);
    fail.code = TETHER_ETIMEDOUT;
    fail.syscall = sys;
    fail.phase = phase;
    fail.origin = TETHER_ORIGIN_NONE;
    fail.sys_errno = 0;
    (void)snprintf(fail.detail, sizeof(fail.detail), "%s after %llu ms", what,
                   (unsigned long long)ms);
    if (sys == TETHER_SYSCALL_CONNECT) {
        memcpy(fail.peer, c->stream.peer, sizeof(fail.peer));
    } else {
        conn_fill_counts(c, &fail, false);
    }
    conn_fail(c, &fail, true);
}

static void conn_timer_cb(uv_timer_t *t)
{
    struct tt__cli_conn *c = t->data;
    uint64_t now = uv_now(t->loop);
    if (now < c->timer_due) {
        /* Armed for an earlier deadline that was since pushed back (tt__cli_conn_arm_timer). */
        (void)uv_timer_start(&c->timer, conn_timer_cb, c->timer_due - now, 0);
        return;
    }
    const struct tether_policy *p = &c->client->policy;
    switch (c->state) {
    case TT__CLI_CONN_CONNECTING:
        /* The stream's own timeout covers TCP and TLS together; this one holds the TCP part
         * to connect_timeout_ms. */
        if (c->stream.state == TT__STREAM_CONNECTING) {
            conn_timeout(c, TETHER_SYSCALL_CONNECT, TETHER_PHASE_CONNECT, "connect timeout",
                         p->connect_timeout_ms);
        } else if (c->tunnel_pending) {
            conn_timeout(c, TETHER_SYSCALL_READ, TETHER_PHASE_CONNECT,
                         "no answer from the proxy to CONNECT", p->headers_timeout_ms);
        }
        break;
    case TT__CLI_CONN_ACTIVE:
        if (c->rstate == TT__RS_HEAD && !c->write_done && c->owner && c->owner->upload.on) {
            /* A streamed body made no progress (its caller or the server stalled). */
            conn_timeout(c, TETHER_SYSCALL_WRITE, TETHER_PHASE_WRITE, "request body stalled",
                         p->body_timeout_ms);
        } else if (c->rstate == TT__RS_HEAD) {
            conn_timeout(c, TETHER_SYSCALL_READ, TETHER_PHASE_READ_HEADERS, "no response headers",
                         p->headers_timeout_ms);
        } else {
            conn_timeout(c, TETHER_SYSCALL_READ, TETHER_PHASE_READ_BODY, "response body stalled",
                         p->body_timeout_ms);
        }
        break;
    case TT__CLI_CONN_IDLE:
        tt__pool_idle_timer(c);
        break;
    case TT__CLI_CONN_CLOSING:
        break;
    }
}

/* ---- dialling ---- */

static int conn_connect(struct tt__cli_conn *c, const struct sockaddr *sa);

/* The stream of a failed connect is closed: dial the next address on a fresh one, unless the
 * connection was given up meanwhile (then this close ends it, as conn_stream_closed would). */
static void conn_dial_next_closed(struct tt__stream *s, bool rst_sent)
{
    struct tt__cli_conn *c = tt__container_of(s, struct tt__cli_conn, stream);
    (void)rst_sent;
    if (c->state != TT__CLI_CONN_CONNECTING) {
        uv_close((uv_handle_t *)&c->timer, conn_timer_closed);
        return;
    }
    struct tether_failure fail;
    tether_failure_init(&fail);
    int rv = tt__stream_init(&c->client->defer, &c->stream);
    if (rv == 0) {
        c->stream.data = c;
        rv = conn_connect(c, tt__addrs_next(&c->addrs));
        if (rv == 0) {
            return;
        }
        fail.code = rv;
        fail.syscall = TETHER_SYSCALL_CONNECT;
        fail.phase = TETHER_PHASE_CONNECT;
        conn_fail(c, &fail, false);
        return;
    }
    /* No stream to close: end the connection here. */
    struct tether_fetch *f = c->owner;
    c->state = TT__CLI_CONN_CLOSING;
    c->owner = NULL;
    if (c->counted) {
        c->counted = false;
        c->origin->nopen--;
        tt__pool_slot_freed(c->origin);
    }
    uv_close((uv_handle_t *)&c->timer, conn_timer_closed);
    if (f) {
        fail.code = rv;
        fail.syscall = TETHER_SYSCALL_CONNECT;
        fail.phase = TETHER_PHASE_CONNECT;
        tt__fetch_attempt_failed(f, &fail);
    }
}

static void conn_connected(struct tt__stream *s, int status)
{
    struct tt__cli_conn *c = tt__container_of(s, struct tt__cli_conn, stream);
    if (status == TETHER_ECANCELED || c->state != TT__CLI_CONN_CONNECTING) {
        return; /* our own close */
    }
    uv_timer_stop(&c->timer);
    if (status != 0 && c->stream.state < TT__STREAM_HANDSHAKING && c->addrs.next < c->addrs.n) {
        /* The TCP connect failed and the name has another address: like Go's dialer (and the
         * proxy), dial it on a fresh stream once this one is closed. */
        tt__debug(c->client, TT__DEBUG_NET, "connect to %s failed, trying the next address",
                  s->peer);
        tt__stream_close_now(&c->stream, conn_dial_next_closed);
        return;
    }
    if (status != 0) {
        struct tether_failure fail;
        tt__stream_failure(s, &fail);
        if (fail.code == 0) {
            fail.code = status;
        }
        if (fail.phase == TETHER_PHASE_NONE) {
            fail.phase = TETHER_PHASE_CONNECT;
        }
        if (fail.syscall == TETHER_SYSCALL_NONE) {
            fail.syscall = TETHER_SYSCALL_CONNECT;
        }
        conn_fail(c, &fail, false);
        return;
    }
    const struct tether_policy *p = &c->client->policy;
    (void)tt__sock_set_nodelay(&s->tcp, true);
    if (p->tcp_keepalive) {
        (void)tt__sock_set_keepalive(&s->tcp, true, p->tcp_keepalive_idle_s,
                                     p->tcp_keepalive_interval_s, p->tcp_keepalive_count);
        /* Keepalive probes wait while sent data is unacknowledged, so a request written into a
         * black hole (a DROP rule, a dead peer) would retransmit for ~15 minutes. The same
         * bound as the probes: the connection fails once that long passes without an ACK. */
        uint64_t user_ms = ((uint64_t)p->tcp_keepalive_idle_s +
                            (uint64_t)p->tcp_keepalive_interval_s * p->tcp_keepalive_count) *
                           1000;
        if (user_ms > 0 && user_ms <= UINT32_MAX) {
            (void)tt__sock_set_user_timeout(&s->tcp, (unsigned)user_ms);
        }
    }
    c->client->stats.connections_opened++;
    tt__debug(c->client, TT__DEBUG_NET, "connected to %s (connection %llu)", s->peer,
              (unsigned long long)c->id);
    if (c->owner && c->owner->via == TT__VIA_TUNNEL) {
        tt__proxy_tunnel_start(c); /* CONNECT, then TLS through the tunnel */
    } else if (c->owner) {
        tt__fetch_conn_ready(c->owner, c);
    }
}

static int conn_connect(struct tt__cli_conn *c, const struct sockaddr *sa)
{
    struct tether_client *client = c->client;
    const struct tether_policy *p = &client->policy;
    struct tt__tls_ctx *tls = NULL;
    const char *sni = NULL;
    uint64_t timeout = p->connect_timeout_ms;
    struct tether_fetch *f = c->owner;
    if (f->url.tls && f->via == TT__VIA_DIRECT) {
        tls = client->tls;
        sni = f->url.host;
        if (timeout && p->tls_timeout_ms) {
            timeout += p->tls_timeout_ms;
        } else {
            timeout = 0;
        }
    }
    int rv = tt__stream_connect(&c->stream, sa, timeout, tls, sni, conn_connected);
    if (rv != 0) {
        return rv;
    }
    if (tls && p->connect_timeout_ms) {
        tt__cli_conn_arm_timer(c, p->connect_timeout_ms);
    }
    char peer[64];
    (void)tt__addr_format(sa, peer, sizeof(peer));
    tt__debug(client, TT__DEBUG_NET, "connecting to %s (connection %llu)", peer,
              (unsigned long long)c->id);
    return 0;
}

static void conn_dns_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct tt__dns *d = tt__container_of(req, struct tt__dns, req);
    struct tt__cli_conn *c = d->conn;
    struct tether_client *client = d->client;
    tt__free(d);
    if (c) {
        c->dns = NULL;
    }
    if (!c || c->state != TT__CLI_CONN_CONNECTING) {
        uv_freeaddrinfo(res);
        tt__client_release(client);
        return;
    }
    /* IPv4 first (tt__addrs_from_gai); a failed connect falls back to the next address. */
    c->addrs.n = 0;
    c->addrs.next = 0;
    if (status == 0) {
        tt__addrs_from_gai(res, &c->addrs);
    }
    const struct sockaddr *pick = tt__addrs_next(&c->addrs);
    int rv = TETHER_ENOTFOUND;
    struct tether_failure fail;
    tether_failure_init(&fail);
    if (status != 0 || !pick) {
        fail.code = status != 0 ? tt__err_from_uv(status) : TETHER_ENOTFOUND;
        fail.origin = TETHER_ORIGIN_LIBUV;
        fail.origin_code = status;
        fail.syscall = TETHER_SYSCALL_GETADDRINFO;
        fail.phase = TETHER_PHASE_DNS;
    } else {
        rv = conn_connect(c, pick);
        fail.code = rv;
        fail.syscall = TETHER_SYSCALL_CONNECT;
        fail.phase = TETHER_PHASE_CONNECT;
    }
    uv_freeaddrinfo(res);
    if (fail.code != 0) {
        (void)snprintf(fail.host, sizeof(fail.host), "%s", c->owner ? c->owner->url.host : "");
        conn_fail(c, &fail, false);
    }
    tt__client_release(client);
}

int tt__cli_conn_dial(struct tt__origin *o, struct tether_fetch *f, struct tt__cli_conn **out)
{
    struct tether_client *client = o->client;
    struct tt__cli_conn *c = tt__calloc(1, sizeof(*c));
    if (!c) {
        return TETHER_ENOMEM;
    }
    if (f->url.tls && !client->tls) {
        char detail[256];
        int rv = tt__tls_ctx_new_client(client->ca_file, client->insecure, &client->tls, detail,
                                        sizeof(detail));
        if (rv != 0) {
            tt__free(c);
            return rv == TETHER_ENOMEM ? rv : TETHER_ETLS;
        }
    }
    int rv = tt__stream_init(&client->defer, &c->stream);
    if (rv != 0) {
        tt__free(c);
        return rv;
    }
    (void)uv_timer_init(client->loop, &c->timer);
    c->timer.data = c;
    c->stream.data = c;
    c->client = client;
    c->origin = o;
    c->id = ++client->next_conn_id;
    c->created_ms = tt__client_now(client);
    c->ka_max_left = -1;
    c->hint_timeout_s = -1;
    c->state = TT__CLI_CONN_CONNECTING;
    c->owner = f;
    c->counted = true;
    tt__list_init(&c->idle_link);
    tt__list_insert_tail(&o->conns, &c->link);
    tt__buf_init(&c->in, CONN_IN_MAX);
    tt__h1_parser_init(&c->parser, NULL);
    o->nopen++;
    client->live++;
    *out = c;

    /* Literal addresses skip the resolver (and its thread pool round trip). */
    /* Literal addresses, and names --resolve maps, skip the resolver (and its thread pool
     * round trip); TLS still verifies the URL's name. */
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    bool proxied = f->via != TT__VIA_DIRECT;
    const char *host = proxied ? client->proxy->host : f->url.host;
    uint16_t dport = proxied ? client->proxy->port : f->url.port;
    c->addrs.n = 0;
    c->addrs.next = 0;
    if (tt__client_resolve_all(client, host, dport, &c->addrs) == 0 &&
        (uv_ip4_addr(host, dport, (struct sockaddr_in *)&ss) == 0 ||
         uv_ip6_addr(host, dport, (struct sockaddr_in6 *)&ss) == 0)) {
        tt__addrs_add(&c->addrs, (const struct sockaddr *)&ss);
    }
    if (c->addrs.n > 0) {
        rv = conn_connect(c, tt__addrs_next(&c->addrs));
    } else {
        struct tt__dns *d = tt__calloc(1, sizeof(*d));
        rv = TETHER_ENOMEM;
        if (d) {
            struct addrinfo hints;
            char port[8];
            memset(&hints, 0, sizeof(hints));
            hints.ai_family = AF_UNSPEC;
            hints.ai_socktype = SOCK_STREAM;
            (void)snprintf(port, sizeof(port), "%u", (unsigned)dport);
            d->conn = c;
            d->client = client;
            int r = uv_getaddrinfo(client->loop, &d->req, conn_dns_cb, host, port, &hints);
            if (r == 0) {
                c->dns = d;
                client->live++;
                rv = 0;
            } else {
                tt__free(d);
                rv = tt__err_from_uv(r);
            }
        }
    }
    if (rv != 0) {
        c->owner = NULL;
        tt__cli_conn_close(c, false);
        *out = NULL;
        return rv;
    }
    return 0;
}

/* ---- the exchange ---- */

static void conn_write_cb(struct tt__stream *s, int status, void *arg)
{
    struct tt__cli_conn *c = arg;
    (void)s;
    if (c->state != TT__CLI_CONN_ACTIVE || !c->owner || status == TETHER_ECANCELED) {
        return;
    }
    if (status == 0) {
        c->writes_pending -= c->writes_pending > 0;
        if (c->writes_pending > 0 || c->body_open) {
            /* A streamed body is still going out: each completed write is progress. */
            if (c->rstate == TT__RS_HEAD) {
                tt__cli_conn_arm_timer(c, c->client->policy.body_timeout_ms);
            }
            tt__upload_written(c->owner, c);
            return;
        }
        c->write_done = true;
        if (c->rstate == TT__RS_HEAD) {
            /* The headers timeout counts from the moment the request is out. */
            c->sent_at_ms = tt__client_now(c->client);
            tt__cli_conn_arm_timer(c, c->client->policy.headers_timeout_ms);
        }
        if (c->owner->upload.on) {
            tt__upload_written(c->owner, c);
        }
        return;
    }
    c->reusable = false;
    if (c->stream.bytes_read > c->read_base) {
        /* A response is arriving (a server may answer early and stop reading): let it
         * finish; the connection is not reused. */
        return;
    }
    struct tether_failure fail;
    tt__stream_failure(s, &fail);
    if (fail.code == 0) {
        fail.code = status;
    }
    fail.syscall = TETHER_SYSCALL_WRITE;
    fail.phase = TETHER_PHASE_WRITE;
    conn_fill_counts(c, &fail, true);
    conn_fail(c, &fail, false);
}

void tt__cli_conn_send(struct tt__cli_conn *c, struct tether_fetch *f)
{
    c->state = TT__CLI_CONN_ACTIVE;
    c->owner = f;
    c->requests++;
    c->rstate = TT__RS_HEAD;
    c->reusable = true;
    c->write_done = false;
    c->write_len = f->req.len;
    c->write_base = c->stream.bytes_written;
    c->writes_pending = 1;
    c->body_open = f->upload.on;
    c->read_base = c->stream.bytes_read;
    c->sent_at_ms = tt__client_now(c->client);
    tt__buf_reset(&c->in);
    tt__h1_parser_reset(&c->parser);
    memset(&c->head, 0, sizeof(c->head));
    c->head.fields = c->fields;
    c->head.fields_cap = tt__countof(c->fields);

    struct tether_failure fail;
    tether_failure_init(&fail);
    int rv = c->stream.eof_seen ? TETHER_EPIPE : 0;
    size_t sent = 0;
    if (rv == 0) {
        /* A reused connection usually takes the whole request at once: no write request,
         * copy or callback. What the kernel does not take is queued as before. A streamed
         * body keeps the queued path: its progress is counted by the write callbacks. */
        if (!f->upload.on) {
            rv = tt__stream_try_write(&c->stream, f->req.data, f->req.len, &sent);
        }
        if (rv == 0 && sent == f->req.len) {
            c->writes_pending = 0;
            c->write_done = true;
        } else if (rv == 0) {
            rv = tt__stream_write(&c->stream, f->req.data + sent, f->req.len - sent, conn_write_cb,
                                  c);
        }
    }
    if (rv != 0) {
        fail.code = rv;
        fail.syscall = TETHER_SYSCALL_WRITE;
        fail.phase = TETHER_PHASE_WRITE;
        /* Refused: only what the try-write took went (replay safety counts on this). */
        c->write_queue_after = (size_t)c->write_len - sent;
        conn_fill_counts(c, &fail, true);
        conn_fail(c, &fail, false);
        return;
    }
    c->write_queue_after = tt__stream_write_queue_size(&c->stream);
    rv = tt__stream_read_start(&c->stream, conn_read_cb);
    if (rv != 0) {
        fail.code = rv;
        fail.syscall = TETHER_SYSCALL_READ;
        fail.phase = TETHER_PHASE_READ_HEADERS;
        conn_fill_counts(c, &fail, false);
        conn_fail(c, &fail, false);
        return;
    }
    if (f->upload.on) {
        tt__cli_conn_arm_timer(c, c->client->policy.body_timeout_ms);
        tt__upload_begin(f, c); /* may end the attempt: `c` is not used after it */
        return;
    }
    tt__cli_conn_arm_timer(c, c->client->policy.headers_timeout_ms);
}

int tt__cli_conn_write_more(struct tt__cli_conn *c, const void *data, size_t len)
{
    struct tether_failure fail;
    tether_failure_init(&fail);
    int rv = c->stream.eof_seen && c->rstate == TT__RS_HEAD ? TETHER_EPIPE : 0;
    if (rv == 0) {
        rv = len ? tt__stream_write(&c->stream, data, len, conn_write_cb, c) : 0;
    }
    if (rv != 0) {
        fail.code = rv;
        fail.syscall = TETHER_SYSCALL_WRITE;
        fail.phase = TETHER_PHASE_WRITE;
        conn_fill_counts(c, &fail, true);
        conn_fail(c, &fail, false);
        return rv;
    }
    if (len) {
        c->writes_pending++;
        c->write_len += len;
    }
    c->write_queue_after = tt__stream_write_queue_size(&c->stream);
    if (c->rstate == TT__RS_HEAD) {
        tt__cli_conn_arm_timer(c, c->client->policy.body_timeout_ms);
    }
    return 0;
}

void tt__cli_conn_body_closed(struct tt__cli_conn *c)
{
    c->body_open = false;
    if (c->writes_pending == 0 && !c->write_done) {
        c->write_done = true;
        if (c->rstate == TT__RS_HEAD) {
            c->sent_at_ms = tt__client_now(c->client);
            tt__cli_conn_arm_timer(c, c->client->policy.headers_timeout_ms);
        }
    }
}

uint64_t tt__cli_conn_body_acked(const struct tt__cli_conn *c)
{
    uint64_t done = c->stream.bytes_written - c->write_base;
    size_t head = c->owner ? c->owner->req.len : 0;
    return done > head ? done - head : 0;
}

/* The response is complete: give the connection back (pool or close), then tell the fetch. */
static void conn_complete(struct tt__cli_conn *c)
{
    struct tether_fetch *f = c->owner;
    /* Bytes after the response were not asked for (no pipelining): never parse them as the
     * next response. A response that beat the end of our request leaves the request
     * half-written on the wire. */
    bool reusable = c->reusable && c->head.keep_alive && c->in.len == 0 && c->write_done;
    c->rstate = TT__RS_DONE;
    c->owner = NULL;
    uv_timer_stop(&c->timer);
    tt__pool_release(c, reusable);
    tt__fetch_on_complete(f);
}

static void conn_http_error(struct tt__cli_conn *c, enum tt__h1_error e, enum tether_phase phase)
{
    struct tether_failure fail;
    tether_failure_init(&fail);
    fail.code = TETHER_EHTTP;
    fail.phase = phase;
    fail.origin = TETHER_ORIGIN_HTTP;
    fail.origin_code = (long)e;
    (void)snprintf(fail.detail, sizeof(fail.detail), "%s", tt__h1_err_message(e));
    /* A TLS record (alert 0x15, handshake 0x16) where a status line should be: http:// was
     * sent to a port that speaks TLS. Said plainly, since the parser error alone misleads. */
    bool plain = !c->owner || !c->owner->url.tls;
    if (plain && c->in.len > 0 && (c->in.data[0] == 0x15 || c->in.data[0] == 0x16)) {
        (void)snprintf(fail.detail, sizeof(fail.detail),
                       "server speaks TLS on this port; use https://");
    }
    conn_fill_counts(c, &fail, false);
    conn_fail(c, &fail, true);
}

/* Remembers what the response says about the connection's future. */
static void conn_note_head(struct tt__cli_conn *c)
{
    struct tt__h1_keep_alive ka;
    c->hint_timeout_s = -1;
    c->ka_max_left = -1;
    if (c->head.keep_alive_value.len > 0 &&
        tt__h1_parse_keep_alive(c->head.keep_alive_value.ptr, c->head.keep_alive_value.len, &ka) ==
            0) {
        if (ka.has_timeout) {
            c->hint_timeout_s = ka.timeout_s > INT32_MAX ? INT32_MAX : (int64_t)ka.timeout_s;
            c->origin->hint_seen_s = c->hint_timeout_s + 1; /* for tether_client_origin_stats */
        }
        if (ka.has_max) {
            c->ka_max_left = ka.max > INT32_MAX ? INT32_MAX : (int64_t)ka.max;
        }
    }
    c->body_kind = c->head.body;
    c->body_left = c->head.content_length;
    if (c->body_kind == TT__H1_BODY_CHUNKED) {
        tt__h1_chunked_init(&c->chunked, NULL);
    }
    if (c->body_kind == TT__H1_BODY_UNTIL_CLOSE) {
        c->reusable = false;
    }
}

/* Parses heads until a final one. Returns true when the body phase began. */
static bool conn_parse_head(struct tt__cli_conn *c)
{
    struct tether_fetch *f = c->owner;
    if (!f->url.tls && c->in.len > 0 && (c->in.data[0] == 0x15 || c->in.data[0] == 0x16)) {
        /* No status line starts this way: a TLS record. Fail now, not at the peer's close. */
        conn_http_error(c, TT__H1_ERR_BAD_STATUS_LINE, TETHER_PHASE_READ_HEADERS);
        return false;
    }
    for (;;) {
        int rv = tt__h1_parse_response(&c->parser, c->in.data, c->in.len, &c->head, f->method);
        if (rv == TETHER_EAGAIN) {
            if (c->in.len >= TT__H1_DEFAULT_MAX_HEAD_BYTES + 4) {
                conn_http_error(c, TT__H1_ERR_HEAD_TOO_LARGE, TETHER_PHASE_READ_HEADERS);
            }
            return false;
        }
        if (rv < 0) {
            conn_http_error(c, c->parser.error, TETHER_PHASE_READ_HEADERS);
            return false;
        }
        if (c->head.status >= 100 && c->head.status < 200) {
            if (c->head.status == 101) {
                /* We never ask to switch protocols. */
                conn_http_error(c, TT__H1_ERR_UNEXPECTED_101, TETHER_PHASE_READ_HEADERS);
                return false;
            }
            /* Interim responses (100 Continue, 103 Early Hints) precede the real one. */
            tt__buf_consume(&c->in, (size_t)rv);
            tt__h1_parser_reset(&c->parser);
            memset(&c->head, 0, sizeof(c->head));
            c->head.fields = c->fields;
            c->head.fields_cap = tt__countof(c->fields);
            continue;
        }
        conn_note_head(c);
        if (!tt__fetch_on_head(f, c, &c->head) || c->owner != f) {
            return false;
        }
        tt__buf_consume(&c->in, (size_t)rv);
        c->rstate = TT__RS_BODY;
        tt__cli_conn_arm_timer(c, c->client->policy.body_timeout_ms);
        return true;
    }
}

/* Consumes body bytes from c->in. Returns false when the exchange ended or must wait. */
static bool conn_body_step(struct tt__cli_conn *c)
{
    struct tether_fetch *f = c->owner;
    switch (c->body_kind) {
    case TT__H1_BODY_NONE:
        conn_complete(c);
        return false;
    case TT__H1_BODY_LENGTH: {
        size_t n = c->in.len < c->body_left ? c->in.len : (size_t)c->body_left;
        if (n > 0) {
            c->body_left -= n;
            if (!tt__fetch_on_body(f, c->in.data, n) || c->owner != f) {
                return false;
            }
            tt__buf_consume(&c->in, n);
        }
        if (c->body_left == 0) {
            conn_complete(c);
        }
        return false;
    }
    case TT__H1_BODY_CHUNKED: {
        while (c->in.len > 0) {
            struct tt__h1_str span = {NULL, 0};
            size_t used = 0;
            int rv = tt__h1_chunked_decode(&c->chunked, c->in.data, c->in.len, &used, &span);
            if (rv < 0) {
                conn_http_error(c, c->chunked.error, TETHER_PHASE_READ_BODY);
                return false;
            }
            if (span.len > 0 && (!tt__fetch_on_body(f, span.ptr, span.len) || c->owner != f)) {
                return false;
            }
            tt__buf_consume(&c->in, used);
            if (rv == TT__H1_CHUNKED_DONE) {
                conn_complete(c);
                return false;
            }
            if (used == 0 && span.len == 0) {
                break;
            }
        }
        return false;
    }
    case TT__H1_BODY_UNTIL_CLOSE:
        if (c->in.len > 0) {
            if (!tt__fetch_on_body(f, c->in.data, c->in.len) || c->owner != f) {
                return false;
            }
            tt__buf_reset(&c->in);
        }
        return false;
    }
    return false;
}

static void conn_process(struct tt__cli_conn *c)
{
    if (c->rstate == TT__RS_HEAD && !conn_parse_head(c)) {
        return;
    }
    if (c->rstate == TT__RS_BODY && c->state == TT__CLI_CONN_ACTIVE) {
        (void)conn_body_step(c);
    }
}

static void conn_on_eof(struct tt__cli_conn *c)
{
    c->reusable = false;
    if (c->rstate == TT__RS_BODY && c->body_kind == TT__H1_BODY_UNTIL_CLOSE) {
        conn_complete(c);
        return;
    }
    struct tether_failure fail;
    tether_failure_init(&fail);
    /* Node's "socket hang up": the peer closed before a complete response head (curl's
     * "empty reply" when nothing came at all); a cut body is a truncation. */
    bool head = c->rstate == TT__RS_HEAD;
    fail.code = head ? TETHER_EHANGUP : TETHER_ETRUNCATED;
    fail.phase = head ? TETHER_PHASE_READ_HEADERS : TETHER_PHASE_READ_BODY;
    fail.origin = TETHER_ORIGIN_NONE;
    conn_fill_counts(c, &fail, false);
    conn_fail(c, &fail, false);
}

static void conn_read_cb(struct tt__stream *s, int status, const char *data, size_t len)
{
    struct tt__cli_conn *c = tt__container_of(s, struct tt__cli_conn, stream);
    if (c->state != TT__CLI_CONN_ACTIVE || !c->owner || c->rstate == TT__RS_DONE) {
        return;
    }
    if (status == TETHER_EEOF) {
        conn_on_eof(c);
        return;
    }
    if (status != 0) {
        struct tether_failure fail;
        tt__stream_failure(s, &fail);
        if (fail.code == 0) {
            fail.code = status;
        }
        if (fail.syscall == TETHER_SYSCALL_NONE && fail.phase != TETHER_PHASE_TLS) {
            fail.syscall = TETHER_SYSCALL_READ;
        }
        fail.phase = c->rstate == TT__RS_HEAD ? TETHER_PHASE_READ_HEADERS : TETHER_PHASE_READ_BODY;
        conn_fill_counts(c, &fail, false);
        conn_fail(c, &fail, false);
        return;
    }
    if (c->rstate == TT__RS_BODY) {
        tt__cli_conn_arm_timer(c, c->client->policy.body_timeout_ms);
        /* Body bytes go straight from the read buffer to the fetch when nothing is pending. */
        if (c->in.len == 0 && (c->body_kind == TT__H1_BODY_UNTIL_CLOSE ||
                               (c->body_kind == TT__H1_BODY_LENGTH && len <= c->body_left))) {
            struct tether_fetch *f = c->owner;
            if (c->body_kind == TT__H1_BODY_LENGTH) {
                c->body_left -= len;
            }
            if (!tt__fetch_on_body(f, data, len) || c->owner != f) {
                return;
            }
            if (c->body_kind == TT__H1_BODY_LENGTH && c->body_left == 0) {
                conn_complete(c);
            }
            return;
        }
    }
    int rv = tt__buf_append(&c->in, data, len);
    if (rv != 0) {
        conn_http_error(c, TT__H1_ERR_HEAD_TOO_LARGE,
                        c->rstate == TT__RS_HEAD ? TETHER_PHASE_READ_HEADERS
                                                 : TETHER_PHASE_READ_BODY);
        return;
    }
    conn_process(c);
}

void tether_fetch_pause(tether_fetch *f, bool paused)
{
    struct tt__cli_conn *c = f ? f->att.conn : NULL;
    if (!c || c->state != TT__CLI_CONN_ACTIVE || c->owner != f) {
        return;
    }
    if (paused) {
        tt__stream_read_stop(&c->stream);
    } else {
        /* Should reading not start again, the inactivity timer still armed ends the attempt. */
        (void)tt__stream_read_start(&c->stream, conn_read_cb);
    }
}
