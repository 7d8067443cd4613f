/* SPDX-License-Identifier: MIT */
/* The relay: accepting a client, dialling the upstream without blocking, two directions of
 * toxic stages between the sockets, half-close propagation, backpressure, and every way a
 * connection ends (FIN, RST, silent expiry). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proxy/proxy_int.h"

static void conn_dial(struct px_conn *c);
static void conn_proceed(struct px_conn *c);

static uv_loop_t *conn_loop(const struct px_conn *c)
{
    return c->px->ps->loop;
}

/* ---- the destination end of a direction ---- */

static void sink_flush(struct px_half *h);

static void half_write_cb(struct tt__stream *s, int status, void *arg)
{
    struct px_half *h = arg;
    struct px_conn *c = h->c;
    (void)s;
    h->writes--;
    if (c->state == PX_CONN_CLOSING) {
        return;
    }
    if (status != 0) {
        tt__px_conn_close(c, PX_HOW_FIN);
        return;
    }
    if (h->rst_pending && h->writes == 0) {
        tt__px_conn_close(c, PX_HOW_RST);
        return;
    }
    if (h->pend.len > 0 && tt__stream_write_queue_size(h->dst) == 0) {
        sink_flush(h); /* libuv took everything before: the coalesced bytes go as one write */
        if (c->state == PX_CONN_CLOSING) {
            return;
        }
    }
    tt__px_half_update_reading(h);
}

static void half_shutdown_cb(uv_shutdown_t *req, int status)
{
    struct px_half *h = req->data;
    struct px_conn *c = h->c;
    tt__free(req);
    if (c->state == PX_CONN_CLOSING) {
        return;
    }
    if (status < 0) {
        tt__px_conn_close(c, PX_HOW_FIN);
        return;
    }
    h->done = true;
    if (c->half[PX_UP].done && c->half[PX_DOWN].done) {
        /* Both FINs went both ways: nothing is left to say or to drain. */
        tt__px_conn_close(c, PX_HOW_NOW);
    }
}

/* The source's FIN, passed on as ours: the half-close Toxiproxy turns into a full close. */
static void half_send_eof(struct px_half *h)
{
    struct px_conn *c = h->c;
    h->eof_sent = true;
    uv_shutdown_t *req = tt__malloc(sizeof(*req));
    int r = UV_ENOMEM;
    if (req) {
        req->data = h;
        r = uv_shutdown(req, (uv_stream_t *)&h->dst->tcp, half_shutdown_cb);
    }
    if (r != 0) {
        tt__free(req);
        tt__px_conn_close(c, PX_HOW_FIN);
        return;
    }
    if (h->dst == &c->client) {
        c->client_fin_sent = true;
    } else {
        c->server_fin_sent = true;
    }
    c->px->stats.fins_sent++;
}

static void sink_count_sent(struct px_half *h, size_t len)
{
    if (h->dir == PX_UP) {
        h->c->px->stats.sent_up += len;
    } else {
        h->c->px->stats.sent_down += len;
    }
}

/* What the socket takes at once leaves without a write request (no allocation, no copy, no
 * callback on the next turn: most of a small response's cost in userspace); the rest is
 * queued. */
static void sink_write_now(struct px_half *h, const char *data, size_t len)
{
    size_t done = 0;
    if (tt__stream_try_write(h->dst, data, len, &done) != 0) {
        tt__px_conn_close(h->c, PX_HOW_FIN);
        return;
    }
    sink_count_sent(h, done);
    if (done == len) {
        return;
    }
    if (tt__stream_write(h->dst, data + done, len - done, half_write_cb, h) != 0) {
        tt__px_conn_close(h->c, PX_HOW_FIN);
        return;
    }
    h->writes++;
    sink_count_sent(h, len - done);
}

/* Sends the coalesced bytes as one write. */
static void sink_flush(struct px_half *h)
{
    if (h->pend.len == 0) {
        return;
    }
    struct tt__buf pend = h->pend;
    tt__buf_init(&h->pend, PX_PEND_MAX); /* the memory goes back until the next backlog */
    sink_write_now(h, pend.data, pend.len);
    tt__buf_cleanup(&pend);
}

/* While libuv still holds earlier bytes the socket is not taking more, so a write now would
 * only queue: the bytes join the coalescing buffer instead, in order. So do they once
 * PX_WRITES_DIRECT_MAX writes await their callbacks (each holds its request until the next
 * loop turn, even when the kernel took it at once). Pieces that find the socket writable still
 * leave one write each (what the slicer is for). */
static void sink_write(struct px_half *h, const char *data, size_t len)
{
    if (h->pend.len == 0 && tt__stream_write_queue_size(h->dst) == 0 &&
        h->writes < PX_WRITES_DIRECT_MAX) {
        sink_write_now(h, data, len);
        return;
    }
    if (tt__buf_append(&h->pend, data, len) != 0) {
        tt__px_conn_close(h->c, PX_HOW_FIN);
    }
}

void tt__px_half_write(struct px_half *h, const char *data, size_t len)
{
    sink_write(h, data, len);
}

/* What the destination's backlog costs: see PX_WRITE_HIGH_WATER. */
static size_t half_backlog(const struct px_half *h)
{
    return tt__stream_write_queue_size(h->dst) + h->pend.len +
           (size_t)h->writes * PX_WRITE_OVERHEAD;
}

void tt__px_sink(struct px_half *h, struct px_chunk *ch)
{
    struct px_conn *c = h->c;
    if (c->state == PX_CONN_CLOSING || c->mode != PX_MODE_NORMAL || h->eof_sent || h->rst_pending) {
        tt__px_chunk_free(ch);
        return;
    }
    enum px_chunk_kind kind = ch->kind;
    if (kind == PX_CHUNK_DATA) {
        sink_write(h, ch->data + ch->off, ch->len);
        tt__px_chunk_free(ch);
        return;
    }
    if (kind == PX_CHUNK_RST && ch->by && !c->reset_by) {
        c->reset_by = ch->by->name;
    }
    tt__px_chunk_free(ch);
    sink_flush(h); /* the end must not overtake coalesced bytes */
    if (c->state == PX_CONN_CLOSING) {
        return;
    }
    switch (kind) {
    case PX_CHUNK_EOF:
        half_send_eof(h);
        break;
    case PX_CHUNK_FIN:
        tt__px_conn_close(c, PX_HOW_FIN);
        break;
    default:
        /* An RST must not overtake the bytes before it: closing with SO_LINGER 0 throws away
         * whatever libuv still holds, so wait until the writes reached the kernel. */
        if (h->writes > 0) {
            h->rst_pending = true;
        } else {
            tt__px_conn_close(c, PX_HOW_RST);
        }
        break;
    }
}

/* ---- reading ---- */

static void conn_on_read(struct tt__stream *s, int status, const char *data, size_t len);

static bool half_blocked(const struct px_half *h)
{
    for (const struct tt__list *n = h->stages.next; n != &h->stages; n = n->next) {
        const struct px_stage *st = px_const_container_of(n, struct px_stage, link);
        if (st->type->blocks_reading && st->type->blocks_reading(st)) {
            return true;
        }
    }
    return false;
}

static bool half_src_gone(const struct px_half *h)
{
    const struct px_conn *c = h->c;
    return h->src == &c->client ? c->client_gone : c->server_gone;
}

void tt__px_half_update_reading(struct px_half *h)
{
    struct px_conn *c = h->c;
    if (tt__px_splice_update(h)) {
        return; /* the kernel moves this direction's bytes */
    }
    bool want = c->state == PX_CONN_OPEN && !h->src_eof && !half_src_gone(h);
    if (want && c->mode == PX_MODE_NORMAL) {
        /* Backpressure: a slow destination or a full stage chain pauses the source, so the
         * sender's TCP window closes instead of our memory growing. */
        want = half_backlog(h) < PX_WRITE_HIGH_WATER && h->held < PX_HELD_HIGH_WATER &&
               !half_blocked(h);
    }
    if (want && !h->reading) {
        if (tt__stream_read_start(h->src, conn_on_read) == 0) {
            h->reading = true;
        }
    } else if (!want && h->reading) {
        tt__stream_read_stop(h->src);
        h->reading = false;
    }
}

void tt__px_conn_update_reading(struct px_conn *c)
{
    if (c->state == PX_CONN_CLOSING) {
        return;
    }
    tt__px_half_update_reading(&c->half[PX_UP]);
    if (c->state != PX_CONN_CLOSING) {
        tt__px_half_update_reading(&c->half[PX_DOWN]);
    }
}

void tt__px_conn_activity(struct px_conn *c, enum px_dir dir, size_t n)
{
    for (int i = 0; i < 2; i++) {
        struct px_half *h = &c->half[i];
        for (struct tt__list *p = h->stages.next; p != &h->stages; p = p->next) {
            struct px_stage *st = tt__container_of(p, struct px_stage, link);
            if (st->type->activity) {
                st->type->activity(st, dir, n);
            }
        }
    }
}

/* ---- closing ---- */

static void conn_stream_closed(struct tt__stream *s, bool rst_sent)
{
    struct px_conn *c = s->data;
    bool is_client = s == &c->client;
    bool connected = is_client || c->server_connected;
    if (connected) {
        if (rst_sent) {
            c->px->stats.resets_sent++;
            tt__px_count_toxic_reset(c);
        } else if (!(is_client ? c->client_fin_sent : c->server_fin_sent)) {
            c->px->stats.fins_sent++;
        }
    }
    tt__px_conn_unpend(c);
}

static void conn_close_stream(struct px_conn *c, bool client, enum px_how how)
{
    struct tt__stream *s = client ? &c->client : &c->server;
    bool *gone = client ? &c->client_gone : &c->server_gone;
    if ((!client && (!c->server_inited || c->server_retrying)) || *gone) {
        return; /* never dialled, or a failed attempt already closing */
    }
    *gone = true;
    tt__px_splice_close_watch(c, s);
    switch (how) {
    case PX_HOW_RST:
        tt__stream_close_abort(s, conn_stream_closed);
        break;
    case PX_HOW_FIN:
        /* The net layer drains before closing, so unread bytes never turn the FIN into an
         * RST. */
        tt__stream_close_graceful(s, PX_LINGER_TOTAL_MS, PX_LINGER_WAIT_MS, conn_stream_closed);
        break;
    default:
        tt__stream_close_now(s, conn_stream_closed);
        break;
    }
}

static void conn_timer_closed(uv_handle_t *h)
{
    tt__px_conn_unpend(h->data);
}

void tt__px_conn_close(struct px_conn *c, enum px_how how)
{
    if (c->state == PX_CONN_CLOSING) {
        return;
    }
    struct px_proxy *px = c->px;
    if (how == PX_HOW_RST && !c->reset_by && px->ps->acting) {
        c->reset_by = px->ps->acting->name;
    }
    if (!c->rejected) {
        tt__px_event(c, how == PX_HOW_RST ? PX_EV_RESET : PX_EV_CLOSE,
                     how == PX_HOW_RST ? "rst" : (how == PX_HOW_FIN ? "fin" : "eof"));
    }
    c->state = PX_CONN_CLOSING;
    if (c->counted) {
        c->counted = false;
        px->nconns--;
    }
    px->nlive--;
    (void)uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, conn_timer_closed);
    if (c->gai) {
        (void)uv_cancel((uv_req_t *)c->gai);
    }
    for (int i = 0; i < 2; i++) {
        while (!tt__list_empty(&c->half[i].stages)) {
            tt__px_stage_close(tt__container_of(c->half[i].stages.next, struct px_stage, link));
        }
    }
    tt__px_splice_close(c, how != PX_HOW_RST); /* a FIN close sends what the pipes hold */
    conn_close_stream(c, true, how);
    conn_close_stream(c, false, how);
    tt__px_proxy_recheck(px);
}

void tt__px_conn_unpend(struct px_conn *c)
{
    if (--c->pending > 0) {
        return;
    }
    struct px_proxy *px = c->px;
    tt__list_remove(&c->link);
    tt__buf_cleanup(&c->half[PX_UP].pend);
    tt__buf_cleanup(&c->half[PX_DOWN].pend);
    tt__free(c);
    tt__px_proxy_unref(px);
}

void tt__px_conns_close_all(struct px_proxy *px, enum px_how how)
{
    struct tt__list *n = px->conns.next;
    while (n != &px->conns) {
        struct px_conn *c = tt__container_of(n, struct px_conn, link);
        n = n->next; /* conns are unlinked only when freed, on a later turn */
        tt__px_conn_close(c, how);
    }
}

/* Turns away a connection the toxics say must not be relayed. */
static void conn_reject(struct px_conn *c, enum px_how how, const char *why)
{
    tt__px_event(c, PX_EV_REFUSE, why);
    if (how == PX_HOW_RST) {
        c->reset_by = why; /* the toxic's type name */
    }
    c->rejected = true;
    c->px->stats.refused++;
    tt__px_conn_close(c, how);
}

/* ---- silent and black-holed connections ---- */

bool tt__px_conn_half_closed(const struct px_conn *c)
{
    return c->half[PX_UP].src_eof || c->half[PX_DOWN].src_eof;
}

void tt__px_conn_set_mode(struct px_conn *c, enum px_mode mode)
{
    if (c->state == PX_CONN_CLOSING || c->mode != PX_MODE_NORMAL) {
        return;
    }
    c->mode = mode;
    if (!c->reset_by && c->px->ps->acting) {
        c->reset_by = c->px->ps->acting->name; /* the RSTs a silent flow answers with */
    }
    tt__px_event(c, PX_EV_EXPIRE, mode == PX_MODE_SILENT ? "silent" : "blackhole");
    /* From now on the sockets are read only to notice the peers: a flow that the middlebox
     * forgot answers the next packet with RST, or swallows it. */
    tt__px_conn_update_reading(c);
}

static void conn_mode_read(struct px_conn *c, bool from_client, int status)
{
    struct px_half *h = &c->half[from_client ? PX_UP : PX_DOWN];
    if (status < 0 && status != TETHER_EEOF) {
        conn_close_stream(c, from_client, PX_HOW_NOW);
    } else if (c->mode == PX_MODE_SILENT) {
        /* Any segment, data or FIN, meets a flow table without an entry: RST. */
        h->src_eof = true;
        conn_close_stream(c, from_client, PX_HOW_RST);
    } else if (status == TETHER_EEOF) {
        h->src_eof = true;
    }
    bool client_done = c->client_gone || c->half[PX_UP].src_eof;
    bool server_done = c->server_gone || c->half[PX_DOWN].src_eof;
    if (client_done && server_done) {
        tt__px_conn_close(c, PX_HOW_NOW);
    }
}

/* ---- the read path ---- */

static void conn_on_read(struct tt__stream *s, int status, const char *data, size_t len)
{
    struct px_conn *c = s->data;
    bool from_client = s == &c->client;
    struct px_half *h = &c->half[from_client ? PX_UP : PX_DOWN];
    if (c->state == PX_CONN_CLOSING) {
        return;
    }
    if (status == 0) {
        h->pipe.bulk = h->pipe.bulk || len >= PX_SPLICE_MIN_READ; /* see splice.c */
        h->bytes += len;
        if (from_client) {
            c->px->stats.bytes_up += len;
        } else {
            c->px->stats.bytes_down += len;
        }
    }
    if (status == TETHER_EEOF) {
        h->src_eof = true; /* before the idle toxics hear of it: half_closed_timeout */
    }
    if (status == 0 || status == TETHER_EEOF) {
        tt__px_conn_activity(c, h->dir, len);
    }
    if (c->mode != PX_MODE_NORMAL) {
        if (status != 0 || c->mode == PX_MODE_SILENT) {
            h->reading = false;
        }
        conn_mode_read(c, from_client, status);
        return;
    }
    if (status == 0 && tt__list_empty(&h->stages)) {
        /* No toxics in this direction: straight to the destination, one copy fewer. */
        if (!h->eof_sent && !h->rst_pending) {
            sink_write(h, data, len);
        }
        if (c->state != PX_CONN_CLOSING) {
            tt__px_half_update_reading(h);
        }
        return;
    }
    if (status == 0) {
        struct px_chunk *ch = tt__px_chunk_new(PX_CHUNK_DATA, data, len);
        if (!ch) {
            tt__px_conn_close(c, PX_HOW_FIN);
            return;
        }
        tt__px_half_input(h, ch);
        if (c->state != PX_CONN_CLOSING) {
            tt__px_half_update_reading(h);
        }
        return;
    }
    h->reading = false; /* the net layer stops reading after EOF or an error */
    if (status == TETHER_EEOF) {
        struct px_chunk *ch = tt__px_chunk_new(PX_CHUNK_EOF, NULL, 0);
        if (!ch) {
            tt__px_conn_close(c, PX_HOW_FIN);
            return;
        }
        tt__px_half_input(h, ch);
        return;
    }
    /* A reset or a read error: like Toxiproxy, the other side gets a FIN. */
    tt__px_conn_close(c, PX_HOW_FIN);
}

/* ---- dialling ---- */

static bool conn_roll(struct px_conn *c, const struct px_toxic *t)
{
    return ttx_rng_unit(&c->px->ps->rng) < (double)t->toxicity;
}

static void conn_dial_failed(struct px_conn *c)
{
    struct px_proxy *px = c->px;
    struct px_toxic *t = tt__px_find_type(px, &tt__px_type_upstream_down);
    enum px_how how = PX_HOW_FIN; /* Toxiproxy closes the client when the dial fails */
    bool refuse = false;
    if (t && conn_roll(c, t)) {
        const char *action = tt__px_attr_e(t, "action");
        if (strcmp(action, "rst") == 0) {
            how = PX_HOW_RST;
        } else if (strcmp(action, "refuse") == 0) {
            how = PX_HOW_RST;
            refuse = true;
        }
    }
    if (refuse && px->enabled && !px->down_refusing) {
        /* A completed handshake cannot be refused any more: reset this client, and refuse the
         * next ones at the kernel until the upstream answers again. The listener goes first,
         * so a client that reconnects the moment it sees the RST is already refused. */
        px->down_refusing = true;
        tt__px_listener_close(px);
        tt__px_probe_start(px);
    }
    conn_reject(c, how, "upstream_down");
}

static void conn_connect_next(struct px_conn *c);

/* A failed attempt's stream is closed; the next address gets a fresh one. */
static void conn_retry_closed(struct tt__stream *s, bool rst_sent)
{
    struct px_conn *c = s->data;
    (void)rst_sent;
    c->server_retrying = false;
    c->server_inited = false;
    if (c->state != PX_CONN_CLOSING) {
        conn_connect_next(c);
    }
    tt__px_conn_unpend(c);
}

static void conn_connected(struct tt__stream *s, int status)
{
    struct px_conn *c = s->data;
    if (c->state == PX_CONN_CLOSING) {
        return;
    }
    if (status != 0) {
        if (c->addrs.next < c->addrs.n) {
            /* Like Go's dialer, fall back to the next address (localhost: 127.0.0.1, ::1). */
            c->server_retrying = true;
            tt__stream_close_now(&c->server, conn_retry_closed);
            return;
        }
        conn_dial_failed(c);
        return;
    }
    c->server_connected = true;
    c->state = PX_CONN_OPEN;
    (void)tt__sock_peer(&c->server.tcp, c->upstream_addr, sizeof(c->upstream_addr));
    tt__px_event(c, PX_EV_CONNECT, NULL);
    /* Go's net package turns Nagle off on every TCP connection; Toxiproxy inherits that. */
    (void)tt__sock_set_nodelay(&c->client.tcp, true);
    (void)tt__sock_set_nodelay(&c->server.tcp, true);
    /* Go's net package also turns TCP keepalive on (15 s idle, 15 s apart, 9 probes). Without
     * it a client whose own side a middlebox reset, or whose host died, holds its connection
     * here forever when no packet of it ever arrives again, e.g. a flow the silent
     * idle_timeout forgot (found by make soak's namespace phase). */
    (void)tt__sock_set_keepalive(&c->client.tcp, true, 15, 15, 9);
    (void)tt__sock_set_keepalive(&c->server.tcp, true, 15, 15, 9);
    tt__px_conn_update_reading(c);
}

static void conn_connect_next(struct px_conn *c)
{
    struct tether_proxy_server *ps = c->px->ps;
    if (c->addrs.next >= c->addrs.n) {
        conn_dial_failed(c);
        return;
    }
    const struct sockaddr *sa = (const struct sockaddr *)&c->addrs.a[c->addrs.next++];
    if (tt__stream_init(&c->px->ps->defer, &c->server) != 0) {
        conn_dial_failed(c);
        return;
    }
    c->server_inited = true;
    c->server.data = c;
    c->pending++;
    (void)tt__addr_format(sa, c->upstream_addr, sizeof(c->upstream_addr));
    if (tt__stream_connect(&c->server, sa, ps->opts.connect_timeout_ms, NULL, NULL,
                           conn_connected) != 0) {
        conn_dial_failed(c);
    }
}

static void conn_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct px_conn *c = req->data;
    tt__free(req);
    c->gai = NULL;
    if (c->state != PX_CONN_CLOSING) {
        c->addrs.n = 0;
        if (status == 0) {
            tt__addrs_from_gai(res, &c->addrs);
        }
        conn_connect_next(c);
    }
    uv_freeaddrinfo(res);
    tt__px_conn_unpend(c);
}

static void conn_dial(struct px_conn *c)
{
    c->state = PX_CONN_DIALING;
    int rv = tt__px_resolve_upstream(conn_loop(c), c->px->upstream, &c->addrs, &c->gai,
                                     conn_resolved, c);
    if (rv == 0) {
        conn_connect_next(c);
    } else if (rv == 1) {
        c->pending++;
    } else {
        conn_dial_failed(c);
    }
}

static void conn_timer_cb(uv_timer_t *t)
{
    struct px_conn *c = t->data;
    if (c->state != PX_CONN_ACCEPTED) {
        return;
    }
    if (c->accept_tox) {
        conn_proceed(c);
    } else {
        conn_dial(c);
    }
}

/* After the accept toxic (if any) let it through: connect delays, then the dial. */
static void conn_after_accept(struct px_conn *c)
{
    uint64_t delay = 0;
    struct px_half *h;
    for (int i = 0; i < 2; i++) {
        h = &c->half[i];
        for (struct tt__list *n = h->stages.next; n != &h->stages; n = n->next) {
            struct px_stage *st = tt__container_of(n, struct px_stage, link);
            if (st->type == &tt__px_type_connect_delay && tt__px_stage_active(st)) {
                int64_t d = tt__px_attr_i(st->tox, "delay");
                delay += d > 0 ? (uint64_t)d : 0;
            }
        }
    }
    c->accept_tox = NULL;
    if (delay > 0) {
        c->state = PX_CONN_ACCEPTED;
        uv_update_time(conn_loop(c));
        (void)uv_timer_start(&c->timer, conn_timer_cb, delay, 0);
        return;
    }
    conn_dial(c);
}

/* The accept toxic's action, after its delay. */
static void conn_proceed(struct px_conn *c)
{
    struct px_toxic *t = c->accept_tox;
    if (!t) {
        conn_after_accept(c);
        return;
    }
    const char *action = tt__px_attr_e(t, "action");
    if (strcmp(action, "hang") == 0) {
        c->state = PX_CONN_HUNG; /* accepted, never dialled, never read */
        return;
    }
    conn_reject(c, strcmp(action, "fin") == 0 ? PX_HOW_FIN : PX_HOW_RST, "accept");
}

void tt__px_conn_accept(struct px_proxy *px, int fd)
{
    struct tether_proxy_server *ps = px->ps;
    struct px_conn *c = tt__calloc(1, sizeof(*c));
    if (!c) {
        close(fd); /* out of memory: nothing can serve it; FIN before any byte is read */
        return;
    }
    c->px = px;
    tt__list_init(&c->link);
    tt__px_splice_init(c);
    for (int i = 0; i < 2; i++) {
        c->half[i].c = c;
        c->half[i].dir = (enum px_dir)i;
        tt__list_init(&c->half[i].stages);
        tt__buf_init(&c->half[i].pend, PX_PEND_MAX);
    }
    c->half[PX_UP].src = &c->client;
    c->half[PX_UP].dst = &c->server;
    c->half[PX_DOWN].src = &c->server;
    c->half[PX_DOWN].dst = &c->client;
    if (tt__stream_init(&ps->defer, &c->client) != 0) {
        tt__free(c);
        close(fd);
        return;
    }
    c->client.data = c;
    (void)uv_timer_init(ps->loop, &c->timer);
    c->timer.data = c;
    c->pending = 2; /* the client stream and the timer */
    c->state = PX_CONN_ACCEPTED;
    c->id = ++px->next_conn_id;
    uv_timeval64_t tv;
    if (uv_gettimeofday(&tv) == 0) {
        c->started_wall_ms = tv.tv_sec * 1000 + tv.tv_usec / 1000;
    }
    tt__list_insert_tail(&px->conns, &c->link);
    tt__px_proxy_ref(px);
    px->nlive++;
    if (tt__stream_open_fd(&c->client, fd) != 0) {
        close(fd);
        tt__px_conn_close(c, PX_HOW_NOW);
        return;
    }
    px->stats.accepted++;
    (void)snprintf(c->client_addr, sizeof(c->client_addr), "%s", c->client.peer);
    (void)snprintf(c->upstream_addr, sizeof(c->upstream_addr), "%s", px->upstream);
    tt__px_event(c, PX_EV_ACCEPT, NULL);

    struct px_toxic *mc = tt__px_find_type(px, &tt__px_type_max_connections);
    if (mc && px->nconns >= (uint64_t)tt__px_attr_i(mc, "limit")) {
        const char *action = tt__px_attr_e(mc, "action");
        bool rst = strcmp(action, "rst") == 0;
        if ((rst || strcmp(action, "fin") == 0) && conn_roll(c, mc)) {
            conn_reject(c, rst ? PX_HOW_RST : PX_HOW_FIN, "max_connections");
            return;
        }
    }
    c->counted = true;
    px->nconns++;
    for (struct tt__list *n = px->toxics.next; n != &px->toxics; n = n->next) {
        struct px_toxic *t = tt__container_of(n, struct px_toxic, link);
        if (t->type->scope != PX_SCOPE_PROXY && !tt__px_stage_new(c, t)) {
            tt__px_conn_close(c, PX_HOW_RST);
            return;
        }
    }
    struct px_toxic *at = tt__px_find_type(px, &tt__px_type_accept);
    if (at && conn_roll(c, at)) {
        c->accept_tox = at;
        int64_t delay = tt__px_attr_i(at, "delay");
        if (delay > 0) {
            uv_update_time(ps->loop);
            (void)uv_timer_start(&c->timer, conn_timer_cb, (uint64_t)delay, 0);
        } else {
            conn_proceed(c);
        }
    } else {
        conn_after_accept(c);
    }
    if (c->state != PX_CONN_CLOSING) {
        tt__px_proxy_recheck(px); /* max_connections "refuse" closes the listener at the limit */
    }
}

/* ---- toxics changing under live connections ---- */

void tt__px_conns_toxic_added(struct px_proxy *px, struct px_toxic *t)
{
    if (t->type->scope == PX_SCOPE_PROXY) {
        return;
    }
    for (struct tt__list *n = px->conns.next; n != &px->conns; n = n->next) {
        struct px_conn *c = tt__container_of(n, struct px_conn, link);
        if (c->state == PX_CONN_CLOSING) {
            continue;
        }
        if (!tt__px_stage_new(c, t)) {
            tt__px_conn_close(c, PX_HOW_RST);
            continue;
        }
        tt__px_conn_update_reading(c);
    }
}

void tt__px_conns_toxic_updated(struct px_proxy *px, struct px_toxic *t)
{
    for (struct tt__list *n = px->conns.next; n != &px->conns; n = n->next) {
        struct px_conn *c = tt__container_of(n, struct px_conn, link);
        if (c->state == PX_CONN_CLOSING) {
            continue;
        }
        struct px_stage *st = tt__px_half_find_stage(&c->half[t->dir], t);
        if (st) {
            if (st->type->update) {
                st->type->update(st);
            }
            if (!tt__px_stage_dead(st)) {
                tt__px_stage_run(st);
            }
        }
        tt__px_conn_update_reading(c);
    }
}

void tt__px_conns_toxic_removed(struct px_proxy *px, struct px_toxic *t)
{
    for (struct tt__list *n = px->conns.next; n != &px->conns; n = n->next) {
        struct px_conn *c = tt__container_of(n, struct px_conn, link);
        if (c->state == PX_CONN_CLOSING) {
            continue;
        }
        if (c->accept_tox == t) {
            /* Connections the accept toxic was holding go on as if it never was. */
            (void)uv_timer_stop(&c->timer);
            c->accept_tox = NULL;
            if (c->state == PX_CONN_ACCEPTED || c->state == PX_CONN_HUNG) {
                c->state = PX_CONN_ACCEPTED;
                conn_after_accept(c);
            }
        }
        if (c->state == PX_CONN_CLOSING) {
            continue;
        }
        struct px_stage *st = tt__px_half_find_stage(&c->half[t->dir], t);
        if (st) {
            tt__px_stage_remove(st);
        }
        tt__px_conn_update_reading(c);
    }
}

struct px_conn *tt__px_conn_find(struct px_proxy *px, uint64_t id)
{
    for (struct tt__list *n = px->conns.next; n != &px->conns; n = n->next) {
        struct px_conn *c = tt__container_of(n, struct px_conn, link);
        if (c->id == id) {
            return c;
        }
    }
    return NULL;
}

/* ---- listing ---- */

static const char *conn_state_name(const struct px_conn *c)
{
    switch (c->state) {
    case PX_CONN_ACCEPTED:
        return "accepted";
    case PX_CONN_HUNG:
        return "hung";
    case PX_CONN_DIALING:
        return "connecting";
    case PX_CONN_CLOSING:
        return "closing";
    default:
        break;
    }
    if (c->mode == PX_MODE_SILENT) {
        return "expired";
    }
    if (c->mode == PX_MODE_BLACKHOLE) {
        return "blackholed";
    }
    return tt__px_conn_half_closed(c) ? "half_closed" : "open";
}

void tt__px_conn_json(struct pj_w *w, const struct px_conn *c)
{
    bool first = true;
    tt__pj_raw(w, "{");
    tt__pj_key(w, &first, "id");
    tt__pj_fmt(w, "%llu", (unsigned long long)c->id);
    tt__pj_key(w, &first, "client");
    tt__pj_str(w, c->client_addr);
    tt__pj_key(w, &first, "upstream");
    tt__pj_str(w, c->upstream_addr);
    tt__pj_key(w, &first, "started_at");
    tt__px_time_json(w, c->started_wall_ms);
    tt__pj_key(w, &first, "bytes_up");
    tt__pj_fmt(w, "%llu", (unsigned long long)c->half[PX_UP].bytes);
    tt__pj_key(w, &first, "bytes_down");
    tt__pj_fmt(w, "%llu", (unsigned long long)c->half[PX_DOWN].bytes);
    tt__pj_key(w, &first, "state");
    tt__pj_str(w, conn_state_name(c));
    tt__pj_key(w, &first, "toxics_applied");
    tt__pj_raw(w, "[");
    bool tfirst = true;
    for (int i = 0; i < 2; i++) {
        const struct px_half *h = &c->half[i];
        for (const struct tt__list *n = h->stages.next; n != &h->stages; n = n->next) {
            const struct px_stage *st = px_const_container_of(n, struct px_stage, link);
            if (tt__px_stage_active(st)) {
                if (!tfirst) {
                    tt__pj_raw(w, ",");
                }
                tfirst = false;
                tt__pj_str(w, st->tox->name);
            }
        }
    }
    tt__pj_raw(w, "]}");
}
