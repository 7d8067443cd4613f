/* SPDX-License-Identifier: MIT */
/* Private to src/proxy/: the proxy server, its proxies, toxics, relayed connections and the
 * toxic stages each connection's two directions run through. */
#ifndef TETHER_PROXY_INT_H
#define TETHER_PROXY_INT_H

#include <stdarg.h>

#include <jansson.h>

#include "internal.h"
#include "util/rand.h"
#include "net/net.h"
#include "tether/proxy.h"
#include "tether/server.h"

/* tt__container_of for const pointers (list walks in read-only functions). */
#define px_const_container_of(ptr, type, member)                                                   \
    ((const type *)(const void *)((const char *)(ptr)-offsetof(type, member)))

/* ---- limits ---- */

/* Stop reading a source while its destination has this much queued (backpressure). */
#define PX_WRITE_HIGH_WATER (1024u * 1024u)
/* Stop reading a source while the stages of its direction hold this much (latency keeps
 * chunks for a while; Toxiproxy buffers 1024 chunks of 32 KiB for the same reason). */
#define PX_HELD_HIGH_WATER (4u * 1024u * 1024u)
/* A graceful close drains the peer for at most this long in all, and this long per wait. */
#define PX_LINGER_TOTAL_MS 2000
#define PX_LINGER_WAIT_MS 500
/* While upstream_down "refuse" keeps the listener closed, the upstream is probed this often. */
#define PX_PROBE_INTERVAL_MS 500
#define PX_MAX_ATTRS 6
#define PX_API_MAX_BODY (16u * 1024u * 1024u)

struct px_proxy;
struct px_conn;
struct px_half;
struct px_stage;
struct px_toxic;

/* An API failure: the HTTP status and the exact message (api.go's ApiError). */
struct px_err {
    int status;
    char msg[512];
};
void tt__px_err_set(struct px_err *e, int status, const char *fmt, ...) TETHER_PRINTF(3, 4);

/* ---- JSON (json.c) ---- */

/* A JSON writer over a bounded buffer; the first failure sticks in `err`. */
struct pj_w {
    struct tt__buf buf;
    int err;
};
void tt__pj_init(struct pj_w *w);
void tt__pj_raw(struct pj_w *w, const char *s);
void tt__pj_fmt(struct pj_w *w, const char *fmt, ...) TETHER_PRINTF(2, 3);
/* A quoted string, escaped as Go's encoding/json does (HTML characters as \u00XX). */
void tt__pj_str(struct pj_w *w, const char *s);
/* `"key":` preceded by a comma unless *first (which is then cleared). */
void tt__pj_key(struct pj_w *w, bool *first, const char *key);
/* Shortest text that reads back as the same float32 / float64, as Go prints them. */
void tt__pj_float32(struct pj_w *w, float v);
void tt__pj_float64(struct pj_w *w, double v);

/* Go-like decoding of one request body: the first JSON value only (trailing bytes are
 * ignored, as json.Decoder does), "EOF" for an empty body. On failure `err` holds the text
 * that follows "bad request body: ". */
int tt__pj_load(const char *body, size_t len, json_t **out, char *err, size_t errlen);

enum pj_kind { PJ_STRING, PJ_BOOL, PJ_INT64, PJ_FLOAT32, PJ_FLOAT64, PJ_RAW };
struct pj_field {
    const char *name;
    enum pj_kind kind;
    void *dst;     /* const char ** (borrowed from the json), bool *, int64_t *, float *,
                      double *, json_t ** (borrowed) */
    bool *present; /* may be NULL; set when the key appeared with a non-null value */
};
/* Decodes `v` into `fields` as encoding/json would decode into a struct called `go_type`:
 * keys match case-insensitively, unknown keys and null values are ignored, a wrong JSON type
 * (or a fractional number for an integer) is an error worded like Go's. A top-level null is
 * accepted and decodes nothing. */
int tt__pj_decode(const json_t *v, const char *go_type, const struct pj_field *fields, size_t n,
                  char *err, size_t errlen);
/* "string", "number", "bool", "object", "array", "null". */
const char *tt__pj_kind_name(const json_t *v);

/* ---- toxics (toxic_json.c, toxics.c, toxics_lb.c) ---- */

enum px_dir { PX_UP = 0, PX_DOWN = 1 };

enum px_attr_kind { PX_ATTR_INT, PX_ATTR_FLOAT, PX_ATTR_BOOL, PX_ATTR_ENUM };

struct px_attr_def {
    const char *name;
    enum px_attr_kind kind;
    int64_t min_i;              /* PX_ATTR_INT: smallest valid value */
    const char *const *choices; /* PX_ATTR_ENUM: NULL-terminated, [0] is the default */
};

union px_attr_val {
    int64_t i;
    double f;
    bool b;
    int e; /* index into choices */
};

/* What a toxic acts on: one direction's bytes, the whole connection, or the proxy's
 * listener (no stage is created for those). */
enum px_scope { PX_SCOPE_STREAM, PX_SCOPE_CONN, PX_SCOPE_PROXY };

struct px_toxic_type {
    const char *name;
    const char *go_type; /* struct name used in decode error texts */
    enum px_scope scope;
    const struct px_attr_def *attrs;
    size_t nattrs;
    /* Extra checks across attributes; fills `err` (the text after "bad request body: "). */
    int (*validate)(const union px_attr_val *v, char *err, size_t errlen);
    /* Stage hooks, all optional. A NULL pump passes every chunk through. */
    void (*init)(struct px_stage *st);
    void (*pump)(struct px_stage *st);
    void (*timer)(struct px_stage *st);
    void (*update)(struct px_stage *st);
    void (*remove)(struct px_stage *st); /* before held chunks are passed on */
    void (*activity)(struct px_stage *st, enum px_dir dir, size_t n);
    void (*cleanup)(struct px_stage *st);
    bool (*blocks_reading)(const struct px_stage *st);
};

struct px_toxic {
    struct tt__list link; /* in proxy->toxics, in order of addition */
    struct px_proxy *px;
    const struct px_toxic_type *type;
    char *name;
    char *stream; /* as the client spelled it; echoed back like Toxiproxy */
    enum px_dir dir;
    float toxicity;
    union px_attr_val attrs[PX_MAX_ATTRS];
};

const struct px_toxic_type *tt__px_type_find(const char *name);
/* Attribute index by name in `type`, or -1. */
int tt__px_attr_index(const struct px_toxic_type *type, const char *name);
/* The toxic's attribute by name (the type must have it). */
int64_t tt__px_attr_i(const struct px_toxic *t, const char *name);
double tt__px_attr_f(const struct px_toxic *t, const char *name);
bool tt__px_attr_b(const struct px_toxic *t, const char *name);
const char *tt__px_attr_e(const struct px_toxic *t, const char *name);

/* POST /proxies/{p}/toxics (AddToxicJson's order of checks). `existing` lists the toxics
 * whose names are taken (a proxy's list). On success *out is a new toxic not yet linked. */
int tt__px_toxic_from_json(const json_t *v, const struct tt__list *existing, struct px_toxic **out,
                           struct px_err *err);
/* POST/PATCH /proxies/{p}/toxics/{t}: merges attributes and toxicity, all or nothing. */
int tt__px_toxic_update_json(struct px_toxic *t, const json_t *v, struct px_err *err);
void tt__px_toxic_json(struct pj_w *w, const struct px_toxic *t);
void tt__px_toxic_free(struct px_toxic *t);
struct px_toxic *tt__px_toxic_find(const struct tt__list *toxics, const char *name);

extern const struct px_toxic_type tt__px_type_idle_timeout;
extern const struct px_toxic_type tt__px_type_conntrack_expiry;
extern const struct px_toxic_type tt__px_type_max_lifetime;
extern const struct px_toxic_type tt__px_type_reset;
extern const struct px_toxic_type tt__px_type_blackhole;
extern const struct px_toxic_type tt__px_type_max_connections;
extern const struct px_toxic_type tt__px_type_accept;
extern const struct px_toxic_type tt__px_type_upstream_down;
extern const struct px_toxic_type tt__px_type_connect_delay;

/* ---- stages and chunks (link.c) ---- */

enum px_chunk_kind {
    PX_CHUNK_DATA,
    PX_CHUNK_EOF, /* the source sent FIN: becomes shutdown(SHUT_WR) on the destination */
    PX_CHUNK_FIN, /* close the whole connection gracefully once this reaches the end */
    PX_CHUNK_RST  /* reset both sockets once this reaches the end and writes are flushed */
};

struct px_chunk {
    struct tt__list link;
    enum px_chunk_kind kind;
    uint64_t t_us;   /* when it entered the stage holding it */
    uint64_t due_us; /* stage-defined; 0 = not computed yet */
    size_t off;      /* bytes already passed on (slicing, pacing) */
    size_t len;      /* bytes left, from data + off */
    char data[];
};

struct px_chunk *tt__px_chunk_new(enum px_chunk_kind kind, const void *data, size_t len);
void tt__px_chunk_free(struct px_chunk *ch);

/* One toxic's instance on one connection direction. */
struct px_stage {
    struct tt__list link; /* in half->stages */
    struct px_half *h;
    struct px_toxic *tox; /* valid while the stage is in its half's list */
    const struct px_toxic_type *type;
    double roll; /* drawn once: the stage acts while roll < toxicity */
    struct tt__list q;
    size_t held;
    uv_timer_t timer;
    bool removed;
    bool timer_armed;
    union {
        struct {
            uint64_t free_us; /* when the link is free for the next slice */
        } bw;
        struct {
            uint64_t last_us; /* last chunk seen */
        } timeout;
        struct {
            bool fired;
        } reset_peer;
        struct {
            size_t *cuts; /* end offsets of the pieces of the head chunk */
            size_t ncuts;
            size_t next;
            uint64_t next_us;
        } slicer;
        struct {
            uint64_t count;
            bool done;
        } limit;
        struct {
            bool prev_dropped;
        } loss;
        struct {
            uint64_t last_us; /* last byte in either direction */
            bool expired;
        } idle;
        struct {
            uint64_t start_us;
            uint64_t deadline_us;
            uint64_t count;
            bool done;
        } life;
    } s;
};

bool tt__px_stage_active(const struct px_stage *st);
/* Passes `ch` to the next stage, or to the destination after the last one. */
void tt__px_stage_emit(struct px_stage *st, struct px_chunk *ch);
/* Takes the head chunk off the stage's queue (NULL when empty). */
struct px_chunk *tt__px_stage_head(struct px_stage *st);
struct px_chunk *tt__px_stage_pop(struct px_stage *st);
/* Splits the first `n` bytes (n < head's len) off the head chunk into a new chunk. NULL when
 * out of memory. */
struct px_chunk *tt__px_stage_take(struct px_stage *st, size_t n);
/* Passes every held chunk on, in order. */
void tt__px_stage_flush(struct px_stage *st);
/* Runs the type's timer hook (or pump) `delay_us` from now. */
void tt__px_stage_arm(struct px_stage *st, uint64_t delay_us);
void tt__px_stage_disarm(struct px_stage *st);
/* True once the stage must not touch the connection any more (closed or removed). */
bool tt__px_stage_dead(const struct px_stage *st);
uint64_t tt__px_now_us(const struct px_stage *st);
struct tether_proxy_server *tt__px_stage_server(const struct px_stage *st);
struct px_conn *tt__px_stage_conn(const struct px_stage *st);
/* The whole connection ends: FIN (graceful on both sockets) or RST (abortive on both). */
enum px_how { PX_HOW_FIN, PX_HOW_RST, PX_HOW_NOW };
void tt__px_conn_close(struct px_conn *c, enum px_how how);
/* Connection modes after a load-balancer / firewall flow expired. */
enum px_mode { PX_MODE_NORMAL, PX_MODE_SILENT, PX_MODE_BLACKHOLE };
void tt__px_conn_set_mode(struct px_conn *c, enum px_mode mode);
/* Whether either direction has seen its source's FIN. */
bool tt__px_conn_half_closed(const struct px_conn *c);
/* Re-evaluates whether each direction should be reading. */
void tt__px_conn_update_reading(struct px_conn *c);

/* Stage plumbing shared by stage.c and link.c. */
struct px_stage *tt__px_stage_new(struct px_conn *c, struct px_toxic *t);
void tt__px_stage_close(struct px_stage *st);
/* The stage's pump when it applies, else everything held passes on. */
void tt__px_stage_run(struct px_stage *st);
/* Removal under live traffic: the type's remove hook, then held chunks pass on. */
void tt__px_stage_remove(struct px_stage *st);
struct px_stage *tt__px_half_find_stage(struct px_half *h, const struct px_toxic *t);
/* A chunk read from the source enters the direction's first stage. */
void tt__px_half_input(struct px_half *h, struct px_chunk *ch);
/* The end of the chain: writes, shutdown(SHUT_WR), or the connection's close. */
void tt__px_sink(struct px_half *h, struct px_chunk *ch);
void tt__px_half_update_reading(struct px_half *h);
/* One of the connection's handles or requests finished closing. */
void tt__px_conn_unpend(struct px_conn *c);

/* ---- upstream addresses (upstream.c) ---- */

/* The addresses to try for an upstream, in order, as Go's dialer would: IPv4 first. */
#define PX_MAX_ADDRS 4
struct px_addrs {
    struct sockaddr_storage a[PX_MAX_ADDRS];
    size_t n;
    size_t next;
};

/* Resolves `upstream` at once when it is numeric or "localhost" (127.0.0.1, then ::1), else
 * starts a lookup whose request *req (the caller's until `cb` runs) carries `data`. 0 resolved
 * into *out, 1 lookup started, < 0 failure. */
int tt__px_resolve_upstream(uv_loop_t *loop, const char *upstream, struct px_addrs *out,
                            uv_getaddrinfo_t **req, uv_getaddrinfo_cb cb, void *data);
/* Fills `out` from a getaddrinfo answer: IPv4 addresses first, then IPv6. */
void tt__px_addrs_from_gai(const struct addrinfo *res, struct px_addrs *out);

/* ---- connections (link.c) ---- */

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
    struct px_addrs addrs;       /* the upstream's addresses, tried in turn */
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
    uint64_t bytes_read[2];
    char client_addr[64];
    char upstream_addr[64];
};

/* A connection waiting in libuv's accept slot of `px`'s listener is taken. */
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

/* ---- proxies and the collection (collection.c) ---- */

struct px_stats {
    uint64_t accepted;
    uint64_t refused;
    uint64_t resets_sent;
    uint64_t fins_sent;
    uint64_t bytes_up;
    uint64_t bytes_down;
};

struct px_listener {
    struct tt__listener l; /* l.data is the proxy */
    struct px_proxy *px;
};

struct px_proxy {
    struct tt__list link; /* in ps->proxies while in the collection */
    struct tether_proxy_server *ps;
    char *name;
    char *listen;
    char *upstream;
    bool enabled;
    bool in_collection;
    struct px_listener *lis; /* NULL while not listening */
    bool limit_refusing;     /* max_connections "refuse" closed the listener */
    bool down_refusing;      /* upstream_down "refuse" closed the listener */
    struct px_probe *probe;
    struct tt__list toxics;
    struct tt__list conns;
    unsigned nconns; /* connections counted against max_connections */
    unsigned nlive;  /* connections not yet closing */
    uint64_t next_conn_id;
    struct px_stats stats;
    unsigned refs; /* listeners closing, connections, probes */
};

struct tether_proxy_server {
    uv_loop_t *loop;
    struct tether_proxy_server_options opts;
    char *api_host;
    tether_server *api[2];
    unsigned napi;
    uint16_t api_port;
    struct tt__list proxies;
    struct px_events *events; /* allocated at the first event */
    struct ttx_rng rng;         /* toxicity rolls, jitter, slicing: `-seed` replays them */
    struct ttx_rng request_rng; /* API request ids, apart so API traffic never shifts `rng` */
    uv_idle_t defer; /* never started: its close callback is the "later turn" of close */
    bool closing;
    unsigned pending; /* API servers, proxies and `defer` still to be released */
    tether_proxy_server_close_cb close_cb;
    void *close_data;
};

struct px_proxy *tt__px_find(struct tether_proxy_server *ps, const char *name);
/* The first toxic of `type` on the proxy, or NULL. */
struct px_toxic *tt__px_find_type(const struct px_proxy *px, const struct px_toxic_type *type);
/* Creates a proxy (toxics, taking ownership of the list's items, are attached before the
 * listener opens). 409 when the name exists; 500 with Go's text when listening fails. */
int tt__px_proxy_create(struct tether_proxy_server *ps, const char *name, const char *listen,
                        const char *upstream, bool enabled, struct tt__list *toxics,
                        struct px_proxy **out, struct px_err *err);
int tt__px_proxy_update(struct px_proxy *px, const char *listen, const char *upstream, bool enabled,
                        struct px_err *err);
int tt__px_proxy_start(struct px_proxy *px, struct px_err *err);
void tt__px_proxy_stop(struct px_proxy *px);
void tt__px_proxy_remove(struct px_proxy *px);
/* "localhost:0" -> "127.0.0.1:0"; what Differs() compares. 500-style error text. */
int tt__px_listen_normalize(const char *listen, char *out, size_t len, struct px_err *err);
/* Adds a toxic to a live proxy and its connections. */
void tt__px_proxy_add_toxic(struct px_proxy *px, struct px_toxic *t);
void tt__px_proxy_remove_toxic(struct px_proxy *px, struct px_toxic *t);
void tt__px_proxy_reset_toxics(struct px_proxy *px);
/* The connection count, a max_connections or upstream_down toxic changed: accept again,
 * reopen or close the listener as they now say. */
void tt__px_proxy_recheck(struct px_proxy *px);
/* Closes the listener but keeps the proxy enabled (refusing modes). */
void tt__px_listener_close(struct px_proxy *px);
int tt__px_listener_open(struct px_proxy *px, struct px_err *err);
void tt__px_proxy_ref(struct px_proxy *px);
void tt__px_proxy_unref(struct px_proxy *px);
void tt__px_proxy_json(struct pj_w *w, const struct px_proxy *px);

/* ---- API (api.c, api_http.c) ---- */

struct px_resp {
    int status;
    const char *content_type; /* static; NULL for none */
    bool nosniff;             /* X-Content-Type-Options: nosniff (Go's http.Error) */
    struct pj_w body;
};
/* Routes and runs one API request; `out` (caller-owned, tt__buf_cleanup its body) gets the
 * status, content type and body. */
void tt__px_api(struct tether_proxy_server *ps, const char *method, const char *target,
                const char *body, size_t len, struct px_resp *out);
/* Go's http.Error: {"error":msg,"status":N} plus a newline, as text/plain. */
void tt__px_api_error(struct px_resp *r, int status, const char *msg);
/* A plain-text body (404 page not found, the browser block). */
void tt__px_api_plain(struct px_resp *r, int status, const char *text);
/* Starts the API listener(s); on failure none is left running and `errbuf` says why. */
int tt__px_api_listen(struct tether_proxy_server *ps, char *errbuf, size_t errbuf_len);
void tt__px_api_close(struct tether_proxy_server *ps);
void tt__px_server_release(struct tether_proxy_server *ps);

#endif
