/* SPDX-License-Identifier: MIT */
/* One server connection: reading requests, deadlines, keep-alive, and closing without RST. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "server/server_int.h"

/* Reads stop while this much is buffered and unprocessed (pipelined requests waiting for a
 * response), so a client cannot make us buffer without bound. */
#define CONN_READ_HIGH_WATER (64u * 1024u)
/* libuv reads at most this much per callback, which may land on top of the high water mark
 * before reading stops. */
#define CONN_READ_CHUNK_MAX (64u * 1024u)

/* Write back-pressure (like Node's writableNeedDrain pause, nginx reading the next request
 * only after the response is flushed): no further pipelined request is parsed, and reading
 * stops, while the responses not yet taken by the kernel cost more than the high-water mark;
 * it resumes below the low one. Each queued write also holds a uv_write_t and a request, so
 * it is counted at a flat overhead on top of its bytes. */
#define CONN_WRITE_HIGH_WATER (1024u * 1024u)
#define CONN_WRITE_LOW_WATER (256u * 1024u)
#define CONN_WRITE_OVERHEAD 256u

static void conn_process(struct tt__srv_conn *c);
static void conn_on_read(struct tt__stream *s, int status, const char *data, size_t len);

static uint64_t conn_now(const struct tt__srv_conn *c)
{
    return tt__server_now(c->srv);
}

bool tt__srv_conn_is_idle(const struct tt__srv_conn *c)
{
    return !c->closing && !c->req && c->rstate == TT__SRV_READ_IDLE && c->in.len == 0;
}

static void conn_free(struct tt__srv_conn *c)
{
    tt__buf_cleanup(&c->in);
    tt__free(c->chunked);
    tt__free(c);
}

static void conn_timer_closed(uv_handle_t *h)
{
    struct tt__srv_conn *c = h->data;
    c->timer_open = false;
    conn_free(c);
}

/* The cause of a close rides in stream.data until the stream reports how it ended. */
static void conn_stream_closed(struct tt__stream *s, bool rst_sent)
{
    struct tt__srv_conn *c = tt__container_of(s, struct tt__srv_conn, stream);
    struct tether_server *srv = c->srv;
    enum tether_close_cause cause = (enum tether_close_cause)(uintptr_t)s->data;
    tt__list_remove(&c->link);
    tt__server_conn_idle(srv, c, false);
    /* The timer is this connection's last handle; its close callback frees the memory. */
    uv_close((uv_handle_t *)&c->timer, conn_timer_closed);
    tt__server_conn_gone(srv, c, rst_sent, cause);
}

/* Chooses how to close: the graceful path everywhere, unless the operator asked to reproduce
 * another server's idle behaviour. */
void tt__srv_conn_close(struct tt__srv_conn *c, enum tether_close_cause cause)
{
    if (c->closing) {
        return;
    }
    struct tether_server *srv = c->srv;
    c->closing = true;
    srv->nclosing++;
    c->stream.data = (void *)(uintptr_t)cause;
    uv_timer_stop(&c->timer);
    tt__server_conn_idle(srv, c, false);
    if (c->req) {
        struct tether_request *req = c->req;
        c->req = NULL;
        tt__request_detach(req, TETHER_ECANCELED);
    }
    bool idle_path = cause == TETHER_CLOSE_IDLE_TIMEOUT;
    /* A plain close: the reproduction of Node's idle close, or nothing left to say (the peer
     * is gone or not reading). It still ends with FIN unless bytes are unread; for a
     * connection handed over (tether_request_take_socket) it sends nothing, as another
     * descriptor holds the socket. A reclaimed idle connection has nothing unread either, and
     * closing it now (nginx drains idle keep-alive connections the same way) is what keeps
     * the descriptor count within max_connections while a newcomer takes its slot. */
    bool plain = (idle_path && srv->opts.close_style == TETHER_CLOSE_NODE) ||
                 cause == TETHER_CLOSE_PEER_RESET || cause == TETHER_CLOSE_SEND_TIMEOUT ||
                 cause == TETHER_CLOSE_IO_ERROR || cause == TETHER_CLOSE_RECLAIMED || c->taken;
    if (idle_path && srv->opts.close_style == TETHER_CLOSE_RST) {
        tt__stream_close_abort(&c->stream, conn_stream_closed);
    } else if (plain) {
        tt__stream_close_now(&c->stream, conn_stream_closed);
    } else {
        tt__stream_close_graceful(&c->stream, srv->opts.lingering_time_ms,
                                  srv->opts.lingering_timeout_ms, conn_stream_closed);
    }
}

/* Everything the client has yet to take: our queue plus the kernel's unacknowledged bytes.
 * Send progress (S7) is this number going down. */
static size_t conn_unsent(struct tt__srv_conn *c)
{
    size_t kernel = 0;
    (void)tt__sock_unsent_bytes(&c->stream.tcp, &kernel);
    return tt__stream_write_queue_size(&c->stream) + kernel;
}

/* What the unsent responses cost in memory: see CONN_WRITE_HIGH_WATER. */
static size_t conn_write_backlog(const struct tt__srv_conn *c)
{
    return tt__stream_write_queue_size(&c->stream) +
           (size_t)c->writes_pending * CONN_WRITE_OVERHEAD;
}

static void conn_write_done(struct tt__stream *s, int status, void *arg)
{
    struct tt__srv_conn *c = tt__container_of(s, struct tt__srv_conn, stream);
    (void)arg;
    c->writes_pending--;
    if (c->closing) {
        return;
    }
    if (status != 0) {
        tt__srv_conn_close(c, status == TETHER_ECONNRESET ? TETHER_CLOSE_PEER_RESET
                                                          : TETHER_CLOSE_IO_ERROR);
        return;
    }
    size_t queued = tt__stream_write_queue_size(s);
    /* A completed write is progress: restart the send clock without asking the kernel (the
     * timer asks it, when it fires, for the progress a big write makes before completing). */
    if (queued < c->send_check_queue) {
        c->send_check_ms = conn_now(c);
        c->send_check_queue = queued ? conn_unsent(c) : 0;
    }
    if (queued == 0 && c->writes_pending == 0 && c->req && c->req->drain_cb) {
        tether_drain_cb cb = c->req->drain_cb;
        c->req->drain_cb = NULL;
        cb(c->req); /* may end the response, which continues the connection */
    }
    if (!c->closing && c->write_blocked && !c->processing &&
        conn_write_backlog(c) <= CONN_WRITE_LOW_WATER) {
        c->write_blocked = false;
        conn_process(c); /* the next pipelined request, and reading again */
        return;
    }
    if (!c->closing) {
        tt__srv_conn_arm_timer(c);
    }
}

int tt__srv_conn_write(struct tt__srv_conn *c, const void *data, size_t len)
{
    if (c->closing) {
        return TETHER_ECANCELED;
    }
    size_t before = tt__stream_write_queue_size(&c->stream);
    int rv = tt__stream_write(&c->stream, data, len, conn_write_done, NULL);
    if (rv != 0) {
        return rv;
    }
    c->writes_pending++;
    size_t queued = tt__stream_write_queue_size(&c->stream);
    if (queued > c->srv->stats.write_queue_peak) {
        c->srv->stats.write_queue_peak = queued;
    }
    if (before == 0) {
        /* Send progress (S7) is measured from the moment there is something to send. */
        c->send_check_ms = conn_now(c);
        /* Mostly libuv wrote it all at once and nothing is queued: no send deadline runs
         * (conn_deadline), so the kernel is not asked (an ioctl per response otherwise). */
        c->send_check_queue = queued ? conn_unsent(c) : 0;
        tt__srv_conn_arm_timer(c);
    }
    return 0;
}

void tt__srv_conn_fail(struct tt__srv_conn *c, int status, const char *message,
                       enum tether_close_cause cause)
{
    if (c->closing) {
        return;
    }
    if (!c->req && c->rstate == TT__SRV_READ_BODY) {
        /* The handler answered before the body ended and that response is complete: a second
         * response would be read as the answer to a request never sent. Just close. */
        tt__srv_conn_close(c, cause);
        return;
    }
    if (c->req) {
        struct tether_request *req = c->req;
        c->req = NULL;
        bool started = req->head_sent;
        tt__request_detach(req, TETHER_ECANCELED);
        if (started) {
            /* Half a response is on the wire: only closing can tell the client. */
            tt__srv_conn_close(c, cause);
            return;
        }
    }
    char buf[512];
    int n = snprintf(buf, sizeof(buf),
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s\n",
                     status, tt__h1_status_reason(status), strlen(message) + 1, message);
    if (n > 0 && (size_t)n < sizeof(buf)) {
        if (status / 100 <= 5) {
            c->srv->stats.responses_by_class[status / 100]++;
        }
        (void)tt__srv_conn_write(c, buf, (size_t)n);
    }
    /* The lingering close reads what the client is still sending, so it can read our answer
     * instead of losing it to an RST (RFC 9112 §9.6). */
    tt__srv_conn_close(c, cause);
}

/* The handler holds the body back (tether_request_pause_body). */
static bool conn_body_paused(const struct tt__srv_conn *c)
{
    return c->rstate == TT__SRV_READ_BODY && c->req && c->req->body_paused;
}

/* The nearest deadline for the connection's current state, or 0 for none. */
static uint64_t conn_deadline(const struct tt__srv_conn *c, enum tether_close_cause *cause)
{
    const struct tether_server_options *o = &c->srv->opts;
    uint64_t best = 0;
#define CONSIDER(when, why)                                                                        \
    do {                                                                                           \
        uint64_t when_ = (when);                                                                   \
        if (best == 0 || when_ < best) {                                                           \
            best = when_;                                                                          \
            *cause = (why);                                                                        \
        }                                                                                          \
    } while (0)
    if (tt__stream_write_queue_size(&c->stream) > 0 && o->send_timeout_ms) {
        CONSIDER(c->send_check_ms + o->send_timeout_ms, TETHER_CLOSE_SEND_TIMEOUT);
    }
    switch (c->rstate) {
    case TT__SRV_READ_IDLE:
        if (!c->req && c->in.len == 0) {
            /* A new connection waits for its first request as long as a kept-alive one would,
             * or the header timeout when keep-alive is off (nginx's client_header_timeout). */
            uint64_t wait = o->keep_alive_timeout_ms + o->keep_alive_buffer_ms;
            if (c->requests == 0 && o->keep_alive_timeout_ms == 0) {
                wait = o->headers_timeout_ms ? o->headers_timeout_ms : 10000;
            }
            CONSIDER(c->idle_since_ms + wait, TETHER_CLOSE_IDLE_TIMEOUT);
            /* A TLS handshake still under way is part of the head, as nginx's
             * client_header_timeout counts it: half a ClientHello must not hold a connection
             * for the whole idle limit. */
            if (o->headers_timeout_ms && c->stream.tls && !tt__tls_handshake_finished(&c->stream)) {
                CONSIDER(c->accepted_at_ms + o->headers_timeout_ms, TETHER_CLOSE_HEADER_TIMEOUT);
            }
        }
        break;
    case TT__SRV_READ_HEAD:
        if (o->headers_timeout_ms) {
            CONSIDER(c->head_started_ms + o->headers_timeout_ms, TETHER_CLOSE_HEADER_TIMEOUT);
        }
        if (o->request_timeout_ms) {
            CONSIDER(c->head_started_ms + o->request_timeout_ms, TETHER_CLOSE_HEADER_TIMEOUT);
        }
        break;
    case TT__SRV_READ_BODY:
        /* A body the handler paused is not the client being slow. */
        if (o->body_timeout_ms && !conn_body_paused(c)) {
            CONSIDER(c->last_read_ms + o->body_timeout_ms, TETHER_CLOSE_BODY_TIMEOUT);
        }
        if (o->request_timeout_ms) {
            CONSIDER(c->head_started_ms + o->request_timeout_ms, TETHER_CLOSE_BODY_TIMEOUT);
        }
        break;
    case TT__SRV_READ_DONE:
        break;
    }
#undef CONSIDER
    return best;
}

static void conn_on_timer(uv_timer_t *t)
{
    struct tt__srv_conn *c = t->data;
    enum tether_close_cause cause = TETHER_CLOSE_IO_ERROR;
    uint64_t deadline = conn_deadline(c, &cause);
    uint64_t now = conn_now(c);
    if (c->closing || deadline == 0) {
        return;
    }
    if (deadline > now) {
        tt__srv_conn_arm_timer(c);
        return;
    }
    if (cause == TETHER_CLOSE_SEND_TIMEOUT) {
        /* A big write completes only at its end; the queue shrinking is progress too. */
        size_t unsent = conn_unsent(c);
        if (unsent < c->send_check_queue) {
            c->send_check_queue = unsent;
            c->send_check_ms = now;
            tt__srv_conn_arm_timer(c);
            return;
        }
    }
    switch (cause) {
    case TETHER_CLOSE_IDLE_TIMEOUT: {
        size_t unread = 0;
        /* S2: a request may already sit in the kernel, unread because timers run before I/O
         * in a loop turn. Closing now would RST it; serve it instead. */
        if (c->srv->opts.close_style == TETHER_CLOSE_GRACEFUL &&
            tt__sock_unread_bytes(&c->stream.tcp, &unread) == 0 && unread > 0) {
            c->srv->stats.pending_rescued++;
            c->idle_since_ms = now;
            tt__srv_conn_arm_timer(c);
            return;
        }
        tt__srv_conn_close(c, TETHER_CLOSE_IDLE_TIMEOUT);
        return;
    }
    case TETHER_CLOSE_HEADER_TIMEOUT:
        if (c->stream.tls && !tt__tls_handshake_finished(&c->stream)) {
            tt__srv_conn_close(c, TETHER_CLOSE_HEADER_TIMEOUT); /* no session to say 408 in */
            return;
        }
        tt__srv_conn_fail(c, 408, "request header timeout", TETHER_CLOSE_HEADER_TIMEOUT);
        return;
    case TETHER_CLOSE_BODY_TIMEOUT:
        tt__srv_conn_fail(c, 408, "request body timeout", TETHER_CLOSE_BODY_TIMEOUT);
        return;
    default:
        tt__srv_conn_close(c, cause);
        return;
    }
}

/*
 * Coarse timeouts, the way nginx and redis keep them: the deadline is recomputed on every
 * event, but the timer is restarted only when the new deadline is earlier than the one it is
 * armed for. A later deadline (the usual case: every request pushes the idle deadline out)
 * leaves the timer alone; it fires early, conn_on_timer finds the deadline still ahead and
 * re-arms to it. That saves a timer-heap removal and insertion per request for one spurious
 * wake-up per timeout period. No deadline at all also leaves it armed: it fires and finds
 * nothing to do.
 */
void tt__srv_conn_arm_timer(struct tt__srv_conn *c)
{
    enum tether_close_cause cause;
    uint64_t deadline = conn_deadline(c, &cause);
    if (deadline == 0 || c->closing) {
        return;
    }
    if (uv_is_active((uv_handle_t *)&c->timer) && c->timer_due_ms <= deadline) {
        return;
    }
    uint64_t now = conn_now(c);
    c->timer_due_ms = deadline > now ? deadline : now;
    uv_timer_start(&c->timer, conn_on_timer, c->timer_due_ms - now, 0);
}

void tt__srv_conn_accept(struct tether_server *srv, int fd)
{
    struct tt__srv_conn *c = tt__calloc(1, sizeof(*c));
    if (!c || tt__stream_init(&srv->defer, &c->stream) != 0) {
        /* Out of memory: the fd cannot be served; close it before any byte is read, which
         * sends FIN unless the client was fast. */
        tt__free(c);
        close(fd);
        return;
    }
    c->srv = srv;
    tt__list_init(&c->link);
    tt__list_init(&c->idle_link);
    tt__buf_init(&c->in, srv->limits.max_head_bytes + CONN_READ_HIGH_WATER + CONN_READ_CHUNK_MAX);
    tt__h1_parser_init(&c->parser, &srv->limits);
    uv_timer_init(srv->loop, &c->timer);
    c->timer.data = c;
    c->timer_open = true;
    tt__list_insert_tail(&srv->conns, &c->link);
    srv->nconns++;
    c->accepted_at_ms = conn_now(c);
    c->idle_since_ms = c->accepted_at_ms;
    c->stream.data = (void *)(uintptr_t)TETHER_CLOSE_IO_ERROR;
    int rv = tt__stream_open_fd(&c->stream, fd);
    if (rv == 0) {
        (void)tt__sock_set_nodelay(&c->stream.tcp, true);
        (void)tt__sock_set_keepalive(&c->stream.tcp, true, 60, 10, 6);
        if (srv->tls) {
            rv = tt__stream_start_tls_server(&c->stream, srv->tls);
        }
    } else {
        close(fd);
    }
    if (rv == 0) {
        rv = tt__stream_read_start(&c->stream, conn_on_read);
    }
    if (rv != 0) {
        tt__srv_conn_close(c, TETHER_CLOSE_IO_ERROR);
        return;
    }
    /* A fresh connection is idle until its first byte: the keep-alive timer covers clients
     * that connect and never speak. */
    tt__server_conn_idle(srv, c, true);
    tt__srv_conn_arm_timer(c);
}

static void conn_pause_reading(struct tt__srv_conn *c, bool pause)
{
    if (pause && !c->read_paused) {
        tt__stream_read_stop(&c->stream);
        c->read_paused = true;
    } else if (!pause && c->read_paused && !c->closing) {
        c->read_paused = false;
        if (tt__stream_read_start(&c->stream, conn_on_read) != 0) {
            tt__srv_conn_close(c, TETHER_CLOSE_IO_ERROR);
        }
    }
}

static void conn_on_read(struct tt__stream *s, int status, const char *data, size_t len)
{
    struct tt__srv_conn *c = tt__container_of(s, struct tt__srv_conn, stream);
    if (c->closing) {
        return;
    }
    if (status == TETHER_EEOF) {
        c->peer_eof = true;
        /* Idle with nothing pending, or given up mid-request: nobody is left to answer. */
        bool idle = c->rstate == TT__SRV_READ_IDLE && !c->req && c->in.len == 0;
        if (idle || c->rstate == TT__SRV_READ_HEAD || c->rstate == TT__SRV_READ_BODY) {
            tt__srv_conn_close(c, TETHER_CLOSE_PEER_CLOSED);
        }
        /* Otherwise a response is pending: send it, then close (half-close is allowed). */
        return;
    }
    if (status != 0 && tt__tls_answered_plain_http(s)) {
        /* A bad request, answered: closed gracefully so the 400 is read, not reset away. */
        tt__srv_conn_close(c, TETHER_CLOSE_PARSE_ERROR);
        return;
    }
    if (status != 0) {
        tt__srv_conn_close(c, status == TETHER_ECONNRESET ? TETHER_CLOSE_PEER_RESET
                                                          : TETHER_CLOSE_IO_ERROR);
        return;
    }
    c->last_read_ms = conn_now(c);
    if (tt__buf_append(&c->in, data, len) != 0) {
        tt__srv_conn_fail(c, 431, "request too large", TETHER_CLOSE_PARSE_ERROR);
        return;
    }
    conn_process(c);
}

/* Builds the request and hands it to the handler. */
static void conn_start_request(struct tt__srv_conn *c, const struct tt__h1_head *h)
{
    struct tether_server *srv = c->srv;
    /* A 2xx to CONNECT means "the tunnel is open" (RFC 9110 §9.3.6), and this server opens
     * none: a handler answering 200 with a body would tell a proxy client a lie. The bytes
     * after the head may be tunnel data, so the connection closes after the 501. */
    if (!srv->opts.accept_connect && h->method.len == 7 &&
        memcmp(h->method.ptr, "CONNECT", 7) == 0) {
        tt__srv_conn_fail(c, 501, "CONNECT is not supported: this server opens no tunnels",
                          TETHER_CLOSE_PARSE_ERROR);
        return;
    }
    if (h->body == TT__H1_BODY_LENGTH && srv->opts.max_body_bytes &&
        h->content_length > srv->opts.max_body_bytes) {
        tt__srv_conn_fail(c, 413, "request body exceeds the size limit", TETHER_CLOSE_PARSE_ERROR);
        return;
    }
    /* The chunked decoder's state is allocated per chunked body and freed when the connection
     * turns idle (idle keep-alive connections do not carry it); before the request, so a
     * failure leaves nothing half-built. */
    if (h->body == TT__H1_BODY_CHUNKED && !c->chunked) {
        c->chunked = tt__malloc(sizeof(*c->chunked));
        if (!c->chunked) {
            tt__srv_conn_fail(c, 503, "out of memory", TETHER_CLOSE_IO_ERROR);
            return;
        }
    }
    struct tether_request *req = tt__request_new(c, h);
    if (!req) {
        tt__srv_conn_fail(c, 503, "out of memory", TETHER_CLOSE_IO_ERROR);
        return;
    }
    c->requests++;
    srv->stats.requests++;
    c->req = req;
    c->body_received = 0;
    c->body_chunked = h->body == TT__H1_BODY_CHUNKED;
    c->body_remaining = h->body == TT__H1_BODY_LENGTH ? h->content_length : 0;
    if (c->body_chunked) {
        tt__h1_chunked_init(c->chunked, &srv->limits);
    }
    c->rstate = req->has_body ? TT__SRV_READ_BODY : TT__SRV_READ_DONE;
    req->head_len = h->head_len;
    req->in_on_request = true;
    srv->opts.on_request(srv, req);
    if (c->req == req) {
        req->in_on_request = false; /* else the handler took the socket and req is gone */
    }
    /* The body callback promises a final done = true, even when there is no body. */
    if (!c->closing && c->req == req && !req->has_body && req->body_cb) {
        tt__request_deliver_body(req, 0, NULL, 0, true);
    }
    /* RFC 9110 §10.1.1: tell a waiting client to send the body, unless the handler already
     * answered (then the body is read and discarded, or the connection closes). */
    if (!c->closing && c->req == req && h->expect_continue && req->has_body && !req->head_sent &&
        h->version_minor == 1) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        (void)tt__srv_conn_write(c, cont, sizeof(cont) - 1);
    }
}

/* Consumes body bytes from the input buffer. Returns false when processing must stop. */
static bool conn_read_body(struct tt__srv_conn *c)
{
    struct tether_server *srv = c->srv;
    while (c->in.len > 0 && c->rstate == TT__SRV_READ_BODY && !conn_body_paused(c)) {
        const char *data;
        size_t n;
        bool done = false;
        if (c->body_chunked) {
            struct tt__h1_str span;
            size_t used;
            int rv = tt__h1_chunked_decode(c->chunked, c->in.data, c->in.len, &used, &span);
            if (rv < 0) {
                tt__srv_conn_fail(c, tt__h1_err_status(c->chunked->error),
                                  tt__h1_err_message(c->chunked->error), TETHER_CLOSE_PARSE_ERROR);
                return false;
            }
            data = span.ptr;
            n = span.len;
            done = rv == TT__H1_CHUNKED_DONE;
            if (n > 0 && c->req) {
                tt__request_deliver_body(c->req, 0, data, n, false);
            }
            c->body_received += n;
            tt__buf_consume(&c->in, used);
            if (used == 0 && n == 0 && !done) {
                break;
            }
        } else {
            n = c->in.len < c->body_remaining ? c->in.len : (size_t)c->body_remaining;
            if (c->req) {
                tt__request_deliver_body(c->req, 0, c->in.data, n, false);
            }
            c->body_received += n;
            c->body_remaining -= n;
            tt__buf_consume(&c->in, n);
            done = c->body_remaining == 0;
        }
        if (c->closing) {
            return false;
        }
        if (srv->opts.max_body_bytes && c->body_received > srv->opts.max_body_bytes) {
            tt__srv_conn_fail(c, 413, "request body exceeds the size limit",
                              TETHER_CLOSE_PARSE_ERROR);
            return false;
        }
        if (done) {
            c->rstate = TT__SRV_READ_DONE;
            if (c->req) {
                tt__request_deliver_body(c->req, 0, NULL, 0, true);
            }
        }
    }
    return !c->closing;
}

/* After a response: keep the connection for the next request, or close it. */
void tt__srv_conn_request_done(struct tt__srv_conn *c)
{
    c->req = NULL;
    if (c->closing) {
        return;
    }
    if (c->processing) {
        /* Called from a handler that conn_process is running: its loop continues. */
        return;
    }
    conn_process(c);
}

static void conn_process(struct tt__srv_conn *c)
{
    struct tether_server *srv = c->srv;
    bool outer = !c->processing;
    c->processing = true;
    while (!c->closing) {
        switch (c->rstate) {
        case TT__SRV_READ_IDLE:
        case TT__SRV_READ_HEAD: {
            if (c->in.len == 0) {
                goto out;
            }
            if (c->rstate == TT__SRV_READ_IDLE) {
                c->rstate = TT__SRV_READ_HEAD;
                c->head_started_ms = conn_now(c);
                tt__server_conn_idle(srv, c, false);
            }
            struct tt__h1_head h;
            memset(&h, 0, sizeof(h));
            h.fields = srv->fields;
            h.fields_cap = srv->limits.max_fields;
            int rv = tt__h1_parse_request(&c->parser, c->in.data, c->in.len, &h);
            if (rv == TETHER_EAGAIN) {
                goto out;
            }
            if (rv < 0) {
                tt__srv_conn_fail(c, tt__h1_err_status(c->parser.error),
                                  tt__h1_err_message(c->parser.error), TETHER_CLOSE_PARSE_ERROR);
                goto out;
            }
            conn_start_request(c, &h);
            /* The head's spans are no longer needed: the request copied what it keeps. */
            if (!c->closing) {
                tt__buf_consume(&c->in, (size_t)rv);
                tt__h1_parser_reset(&c->parser);
            }
            break;
        }
        case TT__SRV_READ_BODY:
            if (!conn_read_body(c)) {
                goto out;
            }
            if (c->rstate == TT__SRV_READ_BODY) {
                goto out;
            }
            break;
        case TT__SRV_READ_DONE:
            if (c->req) {
                goto out; /* the handler has not finished; pipelined bytes wait */
            }
            if (c->close_after_response || c->peer_eof) {
                tt__srv_conn_close(c, c->close_after_response ? c->close_cause
                                                              : TETHER_CLOSE_PEER_CLOSED);
                goto out;
            }
            if (conn_write_backlog(c) > CONN_WRITE_HIGH_WATER) {
                if (!c->write_blocked) {
                    c->write_blocked = true;
                    srv->stats.write_paused++;
                }
                goto out; /* conn_write_done continues below the low-water mark */
            }
            c->write_blocked = false;
            c->rstate = TT__SRV_READ_IDLE;
            c->idle_since_ms = conn_now(c);
            if (c->in.len == 0) {
                if (srv->shutting_down) {
                    tt__srv_conn_close(c, TETHER_CLOSE_SHUTDOWN);
                    goto out;
                }
                /* Idle keep-alive connections can be most of a server's connections, and most
                 * of their time: hold no buffer while waiting (nginx frees its buffers too).
                 * The next read allocates again. */
                tt__buf_cleanup(&c->in);
                tt__free(c->chunked);
                c->chunked = NULL;
                tt__server_conn_idle(srv, c, true);
            }
            break;
        }
    }
out:
    c->processing = !outer;
    if (c->closing) {
        return;
    }
    /* A paused body still reads up to the high-water mark, so a client that leaves meanwhile
     * (FIN, RST) is seen while there is room: its request is detached then. */
    conn_pause_reading(c, c->in.len >= CONN_READ_HIGH_WATER || c->write_blocked);
    tt__srv_conn_arm_timer(c);
}

void tt__srv_conn_resume_body(struct tt__srv_conn *c)
{
    if (c->closing || c->processing) {
        return;
    }
    /* The body clock restarts: the time it was held back was the handler's, not the client's. */
    c->last_read_ms = conn_now(c);
    conn_process(c);
}
