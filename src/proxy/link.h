/* SPDX-License-Identifier: MIT */
/* Private to src/proxy/: relayed connections (two halves and their stages), upstream addresses,
 * probing and the event log. */
#ifndef TETHER_PROXY_LINK_H
#define TETHER_PROXY_LINK_H

#include "proxy/toxic.h"

/* ---- upstream addresses (upstream.c) ---- */

/* The addresses to try for an upstream: struct tt__addrs (net.h), shared with the client.
 * Resolves `upstream` at once when it is numeric or "localhost" (127.0.0.1, then ::1), else
 * starts a lookup whose request *req (the caller's until `cb` runs) carries `data`. 0 resolved
 * into *out, 1 lookup started, < 0 failure. */
int tt__px_resolve_upstream(uv_loop_t *loop, const char *upstream, struct tt__addrs *out,
                            uv_getaddrinfo_t **req, uv_getaddrinfo_cb cb, void *data);

/* ---- connections (link.c) ---- */

/* A direction that no toxic needs to see moves its bytes socket -> pipe -> socket with
 * splice(2), so they never enter our memory (splice.c). The pipe comes from the server's pool
 * while bytes are in it and goes back when it empties, so idle connections hold none. */
struct px_pipe {
    int rd, wr;       /* the pipe's ends; -1 while the direction holds none */
    size_t held;      /* bytes in the pipe: read from the source, not yet written */
    bool bulk;        /* a read was large enough to be worth splicing (PX_SPLICE_MIN_READ) */
    bool on;          /* this direction splices; its stream is not read */
    bool full;        /* the pipe refused more: the source waits until it drains */
    bool dst_blocked; /* the destination said EAGAIN: wait until it is writable */
};

/* The readiness of one socket for its spliced directions, watched through a duplicate of the
 * fd: libuv allows one watcher per fd, and the stream keeps the original (for userspace writes
 * of the other direction, and for the close). */
struct px_watch {
    uv_poll_t poll;
    int fd;     /* the duplicate; -1 when there is no watcher */
    int events; /* UV_READABLE | UV_WRITABLE asked for now */
};

struct px_half {
    struct px_conn *c;
    enum px_dir dir;
    struct tt__stream *src;
    struct tt__stream *dst;
    struct tt__list stages;
    size_t held;     /* bytes held by the stages */
    uint64_t bytes;  /* bytes read from the source */
    unsigned writes; /* writes to dst not yet completed */
    bool reading;
    bool src_eof;     /* the source sent FIN */
    bool eof_sent;    /* shutdown(SHUT_WR) issued on dst */
    bool done;        /* ... and completed */
    bool rst_pending; /* reset once the queued writes are flushed */
    /* Bytes passed on while dst still had a write queued, coalesced into one write sent when
     * that queue drains: a slicer cutting 1-byte pieces would otherwise queue one write (and
     * its ~260 B of bookkeeping) per byte for a client that does not read. */
    struct tt__buf pend;
    struct px_pipe pipe;
};

enum px_conn_state {
    PX_CONN_ACCEPTED, /* waiting for an accept delay or a connect delay */
    PX_CONN_HUNG,     /* accept "hang": held open, never dialled */
    PX_CONN_DIALING,
    PX_CONN_OPEN,
    PX_CONN_CLOSING
};

struct px_conn {
    struct tt__list link; /* in proxy->conns */
    struct px_proxy *px;
    uint64_t id;
    struct tt__stream client;
    struct tt__stream server;
    struct px_half half[2];
    enum px_conn_state state;
    enum px_mode mode;
    uv_timer_t timer; /* accept delay, connect delay */
    uv_getaddrinfo_t *gai;
    struct tt__addrs addrs;      /* the upstream's addresses, tried in turn */
    struct px_toxic *accept_tox; /* the accept toxic that applies (delay then action) */
    unsigned pending;            /* closes and requests still to complete before free */
    bool counted;                /* counts towards px->nconns */
    bool server_inited;
    bool server_retrying; /* closing a failed attempt before dialling the next address */
    bool server_connected;
    bool client_gone; /* client stream closed (silent/blackhole modes) */
    bool server_gone;
    bool client_fin_sent;
    bool server_fin_sent;
    bool rejected;
    int64_t started_wall_ms;
    const char *reset_by; /* the type name of the toxic that reset or silenced it, or NULL */
    uint64_t bytes_read[2];
    char client_addr[64];
    char upstream_addr[64];
    struct px_watch watch[2]; /* PX_UP's source (the client), PX_DOWN's (the upstream) */
};

/* Writes `len` bytes to h's destination after what is queued (coalesced while it is busy). */
void tt__px_half_write(struct px_half *h, const char *data, size_t len);
/* Bytes (or, with n == 0, a FIN) moved in direction `dir`: the connection-scoped toxics'
 * activity hooks (idle timers) hear of them. */
void tt__px_conn_activity(struct px_conn *c, enum px_dir dir, size_t n);

/* ---- the kernel path (splice.c) ---- */

void tt__px_splice_init(struct px_conn *c);
/* Makes `h` splice when nothing needs to see its bytes (no stages, normal mode, open, no FIN
 * or RST on its way) and stops it otherwise, unloading the pipe into the destination's write
 * queue so no byte is lost or reordered. True while the direction splices: the caller must
 * not read its stream. */
bool tt__px_splice_update(struct px_half *h);
/* Before the streams close: with `flush`, the bytes in the pipes are queued on their
 * destinations (a FIN close sends them); then the watchers and pipes go. */
void tt__px_splice_close(struct px_conn *c, bool flush);
/* Before `s` closes on its own (silent and black-holed flows): its watcher's duplicate fd
 * would keep the socket open, so neither its FIN nor its RST would leave. */
void tt__px_splice_close_watch(struct px_conn *c, struct tt__stream *s);
/* Closes the server's pool of idle pipes. */
void tt__px_pipes_free(struct tether_proxy_server *ps);

/* Takes an accepted connection (the fd is the proxy's from now on). */
void tt__px_conn_accept(struct px_proxy *px, int fd);
void tt__px_conns_toxic_added(struct px_proxy *px, struct px_toxic *t);
void tt__px_conns_toxic_updated(struct px_proxy *px, struct px_toxic *t);
void tt__px_conns_toxic_removed(struct px_proxy *px, struct px_toxic *t);
void tt__px_conns_close_all(struct px_proxy *px, enum px_how how);
struct px_conn *tt__px_conn_find(struct px_proxy *px, uint64_t id);
void tt__px_conn_json(struct pj_w *w, const struct px_conn *c);

/* Upstream probing while upstream_down "refuse" keeps the listener closed. */
struct px_probe;
void tt__px_probe_start(struct px_proxy *px);
void tt__px_probe_stop(struct px_proxy *px);

/* ---- events (events.c) ---- */

enum px_event_type {
    PX_EV_ACCEPT,  /* a client was accepted */
    PX_EV_CONNECT, /* its upstream connection is up */
    PX_EV_CLOSE,   /* the connection ended with FINs (detail: fin, or eof when both ended) */
    PX_EV_RESET,   /* the connection ended with RSTs sent */
    PX_EV_REFUSE,  /* turned away (detail: max_connections, accept, upstream_down) */
    PX_EV_EXPIRE   /* a flow expired (detail: silent, blackhole) */
};
struct px_events;
void tt__px_event(struct px_conn *c, enum px_event_type type, const char *detail);
/* {"cursor":N,"events":[...]} with the events after `since`. */
void tt__px_events_json(struct pj_w *w, struct tether_proxy_server *ps, uint64_t since);
void tt__px_events_free(struct tether_proxy_server *ps);
/* An RFC 3339 UTC time with milliseconds, as a JSON string. */
void tt__px_time_json(struct pj_w *w, int64_t wall_ms);

#endif
