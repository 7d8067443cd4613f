/* SPDX-License-Identifier: MIT */
/* The client's private interface: URLs, origins and their pools, connections (one exchange at a
 * time), fetches (attempts, replays, retries), events and the TETHER_DEBUG trace. */
#ifndef TETHER_CLIENT_INT_H
#define TETHER_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "tether/client.h"

#include "core/defer.h"
#include "http1/http1.h"
#include "internal.h"
#include "util/rand.h"
#include "net/net.h"
#include "policy/breaker.h"
#include "policy/policy.h"

/* ---- url.c ---- */

struct tt__url {
    bool tls;
    bool ipv6; /* host is an IPv6 literal (written with brackets in URLs) */
    uint16_t port;
    char host[256];        /* lower-cased, without brackets */
    char host_header[272]; /* the Host field: host, plus ":port" when not the default */
    char origin[288];      /* "http://127.0.0.1:8080": the pool key, always with the port */
    char *target;          /* path and query ("/" at least); owned */
};

/* Parses an absolute http:// or https:// URL. TETHER_EINVAL for anything else (other schemes,
 * user info, bad ports, spaces or control bytes, an empty host), with "invalid URL '...': why"
 * in `err` (may be NULL); TETHER_ENOMEM. On success the caller owns u->target
 * (tt__url_cleanup). */
int tt__url_parse(const char *url, struct tt__url *u, char *err, size_t err_len);
void tt__url_cleanup(struct tt__url *u);

/* ---- the client (client.c) ---- */

#define TT__DEBUG_NET 0x1u
#define TT__DEBUG_HTTP 0x2u

/* Observations of idle closes kept per origin for learning. */
#define TT__LEARN_SLOTS 8
/* An observation older than this is forgotten, so a one-off burst of closes (a server
 * restart) cannot shrink the pool's idle time for ever. */
#define TT__LEARN_TTL_MS (5u * 60u * 1000u)
/* Two observations confirm each other only when made at least this far apart (a burst of
 * closes at one moment is one event, see tt__pool_learned_ms). */
#define TT__LEARN_APART_MS 100u

struct tt__learned {
    uint64_t idle_ms; /* idle time at which the peer closed */
    uint64_t at_ms;   /* when it was observed (0 = empty slot) */
};

/* Everything shared by the requests to one scheme+host+port. Lives as long as the client. */
struct tt__origin {
    struct tt__list link; /* client->origins */
    struct tether_client *client;
    char key[288];           /* "http://127.0.0.1:8080" */
    char peer_name[272];     /* "127.0.0.1:8080" for messages */
    struct tt__list conns;   /* every connection not yet freed */
    struct tt__list idle;    /* IDLE connections, least recently used first */
    struct tt__list waiters; /* fetches waiting for a connection slot */
    unsigned nopen;          /* connections counted against max_conns_per_origin */
    struct tt__budget budget;
    struct tt__breaker breaker;
    struct tt__learned learned[TT__LEARN_SLOTS];
    int64_t hint_seen_s; /* the last Keep-Alive timeout= seen, plus 1 (0 = none seen yet) */
};

/* TT__FQ_WOKEN: a waiter a freed slot woke. It stays in origin->waiters, in its place, until its
 * deferred start runs, so fetches arriving meanwhile queue behind it (FIFO), not ahead. */
enum tt__fetch_queue { TT__FQ_NONE = 0, TT__FQ_START, TT__FQ_WAIT, TT__FQ_DONE, TT__FQ_WOKEN };

struct tt__client_run; /* a blocking call in progress (client.c) */

struct tether_client {
    uv_loop_t *loop;
    uv_loop_t *own_loop;        /* blocking clients: the private loop */
    struct tt__client_run *run; /* set while a blocking call runs that loop */
    void *data;
    struct tether_policy policy;
    bool insecure;
    char *ca_file;
    char *user_agent;
    struct tt__tls_ctx *tls;
    struct tt__defer defer; /* fetches to start (TT__FQ_START) or complete (TT__FQ_DONE) */
    struct tt__list origins;
    struct tt__list fetches; /* fetches not yet finished */
    struct tether_client_stats stats;
    struct ttx_rng rng;
    tether_event_cb on_event;
    unsigned debug; /* TT__DEBUG_* from TETHER_DEBUG */
    unsigned live;  /* handles, connections and DNS requests still to be released */
    uint64_t next_conn_id;
    bool closing;
    bool finalized;
    tether_client_close_cb close_cb;
    void *close_data;
    struct tt__resolve *resolve; /* --resolve entries, owned */
    size_t nresolve;
    struct tt__proxy *proxy; /* the HTTP proxy, owned; NULL = direct */
};

/* One --resolve entry, copied from tether_client_options. */
struct tt__resolve {
    char host[256]; /* lower-cased */
    uint16_t port;
    char address[64];
};

/* Appends to `out` every address --resolve gives `host`:`port`, in entry order; returns how
 * many (0: resolve the name). */
size_t tt__client_resolve_all(const struct tether_client *c, const char *host, uint16_t port,
                              struct tt__addrs *out);

/* ---- proxy_dial.c: an HTTP proxy (absolute-form requests, CONNECT tunnels) ---- */

struct tt__cli_conn;

/* How a request reaches its origin. */
enum tt__via {
    TT__VIA_DIRECT = 0,
    TT__VIA_FORWARD, /* http:// through the proxy: absolute-form target, pooled per proxy */
    TT__VIA_TUNNEL   /* https:// through a CONNECT tunnel, then TLS with the origin's name */
};

struct tt__proxy {
    char host[256]; /* lower-cased, without brackets */
    uint16_t port;
    char name[272]; /* "host:port" for messages and pool keys */
    char auth[512]; /* the Proxy-Authorization value ("Basic ..."), "" = none */
    char *no_proxy; /* the bypass list as given, owned; NULL = none */
};

/* Reads the client options' proxy and no_proxy into c->proxy. EINVAL with the reason in the
 * options' errbuf; ENOMEM. */
int tt__proxy_config(struct tether_client *c, const struct tether_client_options *o);
void tt__proxy_free(struct tt__proxy *p);
/* How `u` is reached: direct when there is no proxy or no_proxy names its host. */
enum tt__via tt__proxy_via(const struct tether_client *c, const struct tt__url *u);
/* curl's NO_PROXY rule: whether the comma list `list` names `host` ("*", an exact name or IP,
 * a domain and its subdomains, with or without a leading dot, an IP host in a CIDR block). */
bool tt__no_proxy_match(const char *list, const char *host);
/* The pool key of `u` reached `via` the proxy (u->origin when direct). */
void tt__proxy_origin_key(const struct tether_client *c, const struct tt__url *u, enum tt__via via,
                          char *key, size_t cap);
/* The connection to the proxy is open: sends CONNECT for the owner's origin, reads the answer,
 * starts TLS through the tunnel, then tt__fetch_conn_ready. Failures go to the fetch. */
void tt__proxy_tunnel_start(struct tt__cli_conn *c);

/* uv_now after refreshing the loop's cached time. */
uint64_t tt__client_now(struct tether_client *c);
/* Queues `f` for the next loop turn, after I/O has been polled: starting (TT__FQ_START) or
 * running its callback (TT__FQ_DONE). */
void tt__client_defer(struct tether_client *c, struct tether_fetch *f, enum tt__fetch_queue q);
/* Marks a waiter TT__FQ_WOKEN: its start is deferred, and it keeps its place in the waiters. */
void tt__client_wake(struct tether_client *c, struct tether_fetch *f);
void tt__client_undefer(struct tether_fetch *f);
/* One of the client's resources was released; frees the client once closing and none left. */
void tt__client_release(struct tether_client *c);
/* Reports an event to the hook and to the TETHER_DEBUG trace. */
void tt__client_emit(struct tether_client *c, const struct tether_event *ev);

/* ---- debug.c: the TETHER_DEBUG trace, the one place the library writes to stderr ---- */

/* Reads TETHER_DEBUG ("net,http", "*", "all"): a mask of TT__DEBUG_*. */
unsigned tt__debug_from_env(void);
void tt__debug(const struct tether_client *c, unsigned category, const char *fmt, ...)
    TETHER_PRINTF(3, 4);
/* The trace line for an event. */
void tt__debug_event(const struct tether_client *c, const struct tether_event *ev);

/* ---- conn.c: one connection, one exchange at a time ---- */

enum tt__cli_conn_state {
    TT__CLI_CONN_CONNECTING = 0, /* resolving, dialling, TLS handshake: owned by one fetch */
    TT__CLI_CONN_ACTIVE,         /* carrying one request: owned by one fetch */
    TT__CLI_CONN_IDLE,           /* in origin->idle, owned by the pool */
    TT__CLI_CONN_CLOSING         /* out of every list but origin->conns; never handed out */
};

enum tt__read_state { TT__RS_HEAD = 0, TT__RS_BODY, TT__RS_DONE };

struct tt__dns;

struct tt__cli_conn {
    struct tt__stream stream; /* first: its memory is the connection's */
    uv_timer_t timer;         /* connect check, headers and body timeouts; idle retirement */
    uint64_t timer_due;       /* loop time (uv_now) the current timeout ends; see arm_timer */
    struct tether_client *client;
    struct tt__origin *origin;
    struct tt__list link;      /* origin->conns */
    struct tt__list idle_link; /* origin->idle while IDLE */
    enum tt__cli_conn_state state;
    struct tether_fetch *owner; /* CONNECTING and ACTIVE */
    struct tt__dns *dns;        /* pending name resolution */
    struct tt__addrs addrs;     /* the addresses to dial in turn (CONNECTING) */
    uint64_t id;
    uint64_t created_ms;
    uint64_t idle_since_ms;
    uint64_t retire_at_ms;  /* 0 = never */
    unsigned requests;      /* requests started on this connection */
    int64_t ka_max_left;    /* Keep-Alive: max from the last response; -1 = none */
    int64_t hint_timeout_s; /* Keep-Alive: timeout from the last response; -1 = none */
    bool stream_inited;
    bool timer_inited;
    bool counted; /* counted in origin->nopen */

    /* The exchange in progress. */
    enum tt__read_state rstate;
    struct tt__buf in;
    struct tt__h1_parser parser;
    struct tt__h1_head head;
    struct tt__h1_field fields[TT__H1_DEFAULT_MAX_FIELDS];
    enum tt__h1_body_kind body_kind;
    uint64_t body_left;
    struct tt__h1_chunked chunked;
    bool reusable; /* framing and fields allow another request */
    bool write_done;
    uint64_t write_len;       /* bytes of the request written in this exchange */
    uint64_t write_base;      /* stream.bytes_written when the exchange began */
    size_t write_queue_after; /* libuv's queue right after the write call (see conn.c) */
    uint64_t read_base;       /* stream.bytes_read when the exchange began */
    uint64_t sent_at_ms;      /* request fully written (or started) */
    bool tunnel_pending;      /* CONNECT sent to the proxy, its answer awaited */
    /* A streamed body (upload.c): the request is complete only once its last byte was queued
     * (body_open false) and every write completed. */
    bool body_open;
    unsigned writes_pending;
};

/* Queues more request bytes of the exchange in progress (a streamed body). Returns 0 or the
 * stream's error (the failure then reaches the fetch through the write callback or the read
 * side, as for the head). */
int tt__cli_conn_write_more(struct tt__cli_conn *c, const void *data, size_t len);
/* The last byte of the streamed body was queued: the request is written once the pending
 * writes complete (then the headers timeout starts). */
void tt__cli_conn_body_closed(struct tt__cli_conn *c);
/* Request body bytes of this exchange whose write completed (the kernel has them). */
uint64_t tt__cli_conn_body_acked(const struct tt__cli_conn *c);
/* Ends the exchange (or the dial) with `fail` and tells the owner. */
void tt__cli_conn_fail(struct tt__cli_conn *c, struct tether_failure *fail, bool abort);
/* Starts a connection for `f` to its origin: resolves, dials and (https) handshakes. The
 * fetch hears back through tt__fetch_conn_ready / tt__fetch_attempt_failed. */
int tt__cli_conn_dial(struct tt__origin *o, struct tether_fetch *f, struct tt__cli_conn **out);
/* Sends f's request on a connected (new or checked-out) connection and reads the response. */
void tt__cli_conn_send(struct tt__cli_conn *c, struct tether_fetch *f);
/* Closes at once (a failed or abandoned exchange, an evicted or retired idle connection).
 * `abort` sends RST. The connection leaves every list first, so it is never handed out. */
void tt__cli_conn_close(struct tt__cli_conn *c, bool abort);
/* Starts the connection's timer (`ms` 0 stops it). A later deadline than the one armed is
 * only recorded: the timer fires at the earlier time and re-arms for the rest, so the usual
 * exchange (headers, then body timeout) moves libuv's timer heap once, not per phase. */
void tt__cli_conn_arm_timer(struct tt__cli_conn *c, uint64_t ms);
/* Milliseconds the connection has been idle. */
uint64_t tt__cli_conn_idle_ms(const struct tt__cli_conn *c, uint64_t now);

/* ---- pool.c: origins, idle connections, the watcher, retirement, learning, waiters ---- */

struct tt__origin *tt__pool_origin(struct tether_client *c, const struct tt__url *u);
/* Where `u`'s retry budget and circuit breaker live: `pool` (u's tt__pool_origin), except
 * through a forward proxy, whose one pool serves every http:// origin: a dead origin must not
 * open the breaker or spend the budget of the others, so they count in the entry of the origin
 * itself (the one a direct connection would use). NULL when out of memory. */
struct tt__origin *tt__pool_health(struct tether_client *c, const struct tt__url *u,
                                   struct tt__origin *pool);
/* Takes the most recently used idle connection that passes the probe, or NULL. Stale ones
 * are evicted on the way (with their idle siblings). */
struct tt__cli_conn *tt__pool_checkout(struct tt__origin *o, uint64_t now);
/* Whether another connection may be opened (a fresh one for a replay may close an idle one
 * to make room). */
bool tt__pool_can_dial(struct tt__origin *o, bool fresh);
/* Hands a connection back after an exchange: pooled (watched, with a retirement deadline) when
 * `reusable` and the policy allows, else closed. */
void tt__pool_release(struct tt__cli_conn *c, bool reusable);
/* A connection stopped counting against the origin's limit: wakes the oldest waiter. */
void tt__pool_slot_freed(struct tt__origin *o);
/* Wakes the oldest waiter when a connection could be had now and no woken waiter is already
 * on its way to it: after a woken waiter left without using its turn, or a fetch queued behind
 * the waiters, so no fetch waits while a slot sits free. */
void tt__pool_kick(struct tt__origin *o);
/* The origin closed an idle connection after `idle_ms`: learn from it. */
void tt__pool_learn_close(struct tt__origin *o, uint64_t idle_ms, uint64_t now);
/* A reused connection answered after idling `idle_ms`: the origin's idle close is later. */
void tt__pool_learn_alive(struct tt__origin *o, uint64_t idle_ms, uint64_t now);
/* Evicts idle connections of `o` that have idled at least `idle_ms` (a sibling went stale). */
void tt__pool_evict_siblings(struct tt__origin *o, uint64_t idle_ms, uint64_t now);
/* The smallest confirmed recent observation, 0 when nothing was learned. */
uint64_t tt__pool_learned_ms(const struct tt__origin *o, uint64_t now);
/* Closes every connection (client close). */
void tt__pool_close_all(struct tether_client *c);
void tt__pool_free_origins(struct tether_client *c);
/* The idle connection's timer fired. */
void tt__pool_idle_timer(struct tt__cli_conn *c);

/* ---- fetch.c: one logical request ---- */

/* tether_client_fetch without the check for a blocking client (which uses it). */
int tt__fetch_start(struct tether_client *c, const struct tether_fetch_options *o,
                    tether_fetch_done_cb done, struct tether_fetch **out);

enum tt__fetch_state {
    TT__FS_QUEUED = 0, /* waiting for the next loop turn or a connection slot */
    TT__FS_CONNECTING, /* att.conn is being dialled */
    TT__FS_ACTIVE,     /* the request is on att.conn */
    TT__FS_SLEEPING,   /* backing off before a retry */
    TT__FS_DONE        /* finished; the callback has run or is queued */
};

/* What the fetch wants done with a response body. */
enum tt__body_mode { TT__BODY_DELIVER = 0, TT__BODY_DISCARD };

struct tt__attempt {
    struct tt__cli_conn *conn;
    bool reused;
    bool fresh;     /* must run on a newly dialled connection (a replay) */
    bool head_seen; /* a final response head arrived in this attempt */
    uint64_t idle_ms;
    uint64_t started_ms;
    enum tt__body_mode body_mode;
    bool retry_pending;      /* the response is being drained before a retry */
    uint64_t retry_delay_ms; /* the backoff decided for a response being drained */
    uint64_t sleep_until_ms; /* while SLEEPING */
    char retry_reason[64];
    struct tt__breaker_ticket breaker; /* counted until the outcome is reported */
    bool redirect_pending;             /* the response is a redirect being drained */
};

/* A body that can be continued with a Range request (resume.c). */
struct tt__resume {
    bool eligible;               /* a bodiless GET without the caller's own Range, resume on */
    bool range_sent;             /* the request carries Range: bytes=<delivered>- */
    bool accept_ranges;          /* the body's response said Accept-Ranges: bytes (or was a 206) */
    bool etag_validator;         /* validator holds a strong entity-tag, not a date */
    int first_status;            /* the status of the response the body belongs to; 0 = none yet */
    size_t head_len;             /* the request as built, before any Range we add */
    uint64_t delivered;          /* bytes of the body the sink holds: where a resume continues */
    uint64_t delivered_at_start; /* ... when the current attempt began */
    uint64_t total;              /* the body's length; UINT64_MAX = unknown */
    unsigned count;              /* Range requests made to continue a cut body */
    char validator[160];         /* the If-Range value; "" = none */
    char why[160];               /* why the body cannot go on, for the failure's detail */
};

struct tether_fetch {
    struct tether_client *client;   /* NULL once the client is gone */
    struct tt__origin *origin;      /* the pool the attempts take connections from */
    struct tt__origin *health;      /* the retry budget and breaker: tt__pool_health */
    uv_timer_t timer;               /* deadline and retry sleeps */
    struct tt__list link;           /* client->fetches until finished */
    struct tt__list qlink;          /* origin->waiters while TT__FQ_WAIT or TT__FQ_WOKEN */
    struct tt__defer_item deferred; /* in client->defer while TT__FQ_START or TT__FQ_DONE */
    enum tt__fetch_queue queued;
    enum tt__fetch_state state;
    bool woken; /* this start came from TT__FQ_WOKEN: it has its turn, ahead of the waiters */

    /* The request, fixed for every attempt. */
    char *method;
    struct tt__url url;
    struct tt__buf req; /* head and body, ready to write */
    size_t body_len;
    bool has_key;
    bool replayable; /* the body fits the replay buffer */
    tether_fetch_body_cb on_body;
    tether_fetch_restart_cb on_restart;
    struct tt__resume resume;
    size_t max_body_bytes;
    void *data;
    tether_fetch_done_cb done;
    bool *blocking_done; /* tether_client_fetch_blocking's flag */

    uint64_t started_ms;
    uint64_t deadline_at_ms; /* 0 = none */
    uint64_t finished_ms;
    struct tt__attempt att;
    unsigned attempts;
    unsigned retries;
    unsigned replays;
    bool retry_fresh; /* the next attempt must dial (the last one lost a reused connection) */

    /* The outcome. */
    struct tether_failure failure;
    int status;
    struct tt__buf head_store; /* NUL-terminated names and values of the final response */
    size_t nheaders;
    size_t *header_offsets; /* 2 per header into head_store */
    struct tt__buf body;
    uint64_t retry_after_ms; /* what the last response asked for */

    /* What went over the wire (fetch_info.c). */
    size_t req_head_len;     /* the head's share of `req` */
    struct tt__buf raw_head; /* the final response head as received */
    char remote[64];         /* the peer of the last attempt's connection */
    uint64_t started_ns;     /* uv_hrtime at the start */
    uint64_t connect_ns;     /* the last new connection was ready */
    uint64_t first_byte_ns;  /* the final head arrived */
    uint64_t finished_ns;
    unsigned connects;

    bool timer_inited;
    bool timer_closed;
    bool user_freed;
    bool done_ran;

    /* Redirects (redirect.c). */
    char *url_text;             /* the URL of the current hop, owned */
    struct tt__redirect *redir; /* what a hop rebuilds the request from; NULL = not following */
    unsigned max_redirects;
    unsigned redirects;
    unsigned hop_attempts; /* f->attempts when this hop began: retries are counted per hop */
    enum tt__via via;      /* how the current URL is reached (set by tt__fetch_build) */
    /* Decoding (decode.c). */
    bool decompress;
    struct tt__decoder *decoder; /* the current response's Content-Encoding; NULL = identity */
    /* A streamed request body (upload.c). */
    struct tt__upload {
        bool on;
        bool chunked;        /* sent with Transfer-Encoding: chunked */
        bool ended;          /* the caller supplied the last piece */
        bool drain_wanted;   /* tether_fetch_write returned 1: on_drain is owed */
        uint64_t length;     /* declared; TETHER_BODY_LENGTH_UNKNOWN when chunked */
        uint64_t supplied;   /* payload bytes the caller supplied */
        uint64_t wire_total; /* body bytes as sent (chunk framing included) produced so far */
        struct tt__buf kept; /* wire bytes [kept_from, wire_total), after kept_skip dropped ones */
        uint64_t kept_from;  /* 0 while every byte is kept (the body can be sent again) */
        size_t kept_skip;    /* bytes at the front of `kept` already dropped, not yet moved out */
        uint64_t sent;       /* wire bytes handed to the current attempt's connection */
        tether_fetch_drain_cb on_drain;
    } upload;
};

/* request.c: writes the request head and body into f->req from `o` (f->method and f->url
 * set). */
int tt__fetch_build(struct tether_fetch *f, const struct tether_fetch_options *o,
                    const char *user_agent);

/* ---- redirect.c: following 3xx responses ---- */

/* Keeps what a hop needs to rebuild the request (headers, the Idempotency-Key). */
int tt__redirect_init(struct tether_fetch *f, const struct tether_fetch_options *o);
void tt__redirect_free(struct tether_fetch *f);
/* A final head arrived: whether it is a redirect to follow. Returns 1 (follow: the body is
 * drained, then tt__redirect_next), 0 (a final response), or a TETHER_E* code with
 * f->failure filled (too many redirects, a bad Location). */
int tt__redirect_check(struct tether_fetch *f, int status);
/* The redirect's response is complete: moves f to the next URL (method, body, headers, origin).
 * Returns 0, or a TETHER_E* code with f->failure filled. */
int tt__redirect_next(struct tether_fetch *f);
/* RFC 3986 §5.2: `ref` against the absolute http(s) URL `base`, fragment dropped, bytes a
 * request target may not carry percent-encoded. Returns a malloc'd URL (tt__free) or NULL:
 * out of memory, or a reference that is not http(s) (*why says so). */
char *tt__url_resolve(const struct tt__url *base, const char *ref, const char **why);

/* ---- decode.c: Content-Encoding ---- */

struct tt__decoder;
/* Where decoded bytes go; false stops decoding (the fetch ended). */
typedef bool (*tt__decode_sink)(void *arg, const char *data, size_t len);
/* A decoder for a Content-Encoding value: *out NULL for none/identity. TETHER_EHTTP for a coding
 * we did not ask for (why says which), TETHER_ENOMEM. */
int tt__decoder_new(const char *coding, struct tt__decoder **out, char *why, size_t why_len);
/* Decodes `len` bytes into `sink`. Returns 0, TETHER_ECANCELED when the sink stopped,
 * TETHER_EHTTP for corrupt data (why says what), TETHER_ENOMEM. */
int tt__decoder_feed(struct tt__decoder *d, const char *in, size_t len, tt__decode_sink sink,
                     void *arg, char *why, size_t why_len);
/* True when the stream ended properly or never began (a response without a body). */
bool tt__decoder_complete(const struct tt__decoder *d);
void tt__decoder_free(struct tt__decoder *d);

/* The connection is ready (connected, handshaked) for the attempt. */
void tt__fetch_conn_ready(struct tether_fetch *f, struct tt__cli_conn *c);

/* ---- upload.c: streamed request bodies ---- */

/* Checks and takes the options' streamed body (before tt__fetch_build writes the head's
 * framing from it). TETHER_EINVAL with o->errbuf set. */
int tt__upload_init(struct tether_fetch *f, const struct tether_fetch_options *o);
/* The head of a new exchange was queued on `c`: send the body from its first byte. */
void tt__upload_begin(struct tether_fetch *f, struct tt__cli_conn *c);
/* A write of the exchange completed: drop what need not be kept, owe a drain. */
void tt__upload_written(struct tether_fetch *f, struct tt__cli_conn *c);
void tt__upload_free(struct tether_fetch *f);

/* ---- fetch_info.c: what went over the wire, for tether_fetch_request_head and friends ---- */

/* A new connection is ready: records its peer and the time, emits TETHER_EVENT_CONNECTED. */
void tt__fetch_info_connected(struct tether_fetch *f, struct tt__cli_conn *c);
/* A pooled connection was taken: records its peer. */
void tt__fetch_info_reused(struct tether_fetch *f, struct tt__cli_conn *c);
/* The final head arrived: keeps its `len` raw bytes at `head`. Returns 0 or TETHER_ENOMEM. */
int tt__fetch_info_head(struct tether_fetch *f, const char *head, size_t len);
/* The attempt failed; `fail` is filled (code, syscall, phase, peer...). The connection, if any,
 * is already closed or closing. */
void tt__fetch_attempt_failed(struct tether_fetch *f, struct tether_failure *fail);
/* A final response head arrived (1xx skipped): copy what is kept, decide what the body is for.
 * Returns false when the fetch finished during the call (the connection is then closed). */
bool tt__fetch_on_head(struct tether_fetch *f, struct tt__cli_conn *c, const struct tt__h1_head *h);
/* Body bytes (delivered or discarded per att.body_mode). Returns false when the fetch ended. */
bool tt__fetch_on_body(struct tether_fetch *f, const char *data, size_t len);
/* The response is complete; `c` has been released to the pool or closed already. */
void tt__fetch_on_complete(struct tether_fetch *f);
/* Finishes the fetch with a failure code (cancel, client close). */
void tt__fetch_abort(struct tether_fetch *f, int code);
/* Starts (or restarts after a wait) acquiring a connection. */
void tt__fetch_acquire(struct tether_fetch *f);
/* Runs the user's callback (from the client's deferred queue). */
void tt__fetch_run_done(struct tether_fetch *f);
/* circuit.c: asks the origin's breaker whether the attempt about to start may go. False when
 * it refused (the fetch then finished with TETHER_EBREAKER) or an event hook ended the fetch. */
bool tt__fetch_admit(struct tether_fetch *f);
/* Reports the attempt's outcome to the breaker, once (later calls do nothing until the next
 * admission). `code` 0 with the response `status`, or the failure's code. */
void tt__fetch_breaker_settle(struct tether_fetch *f, int code, bool stale_reuse);
/* True when a retry would only be refused: the breaker will still be open after `delay_ms`, or
 * the attempt is the half-open probe (which is never retried). */
bool tt__fetch_breaker_blocks(struct tether_fetch *f, uint64_t delay_ms);
/* Fills the common fields of an event about `f`. */
void tt__fetch_event_init(struct tether_event *ev, enum tether_event_type type,
                          const struct tether_fetch *f);

/* ---- resume.c: continuing a cut GET body with Range + If-Range ---- */

/* What a response head means for the body being resumed. */
enum tt__resume_head {
    TT__RH_NORMAL = 0, /* an ordinary response: store it, deliver its body */
    TT__RH_CONTINUE,   /* a valid 206: its body continues ours; the first head stays */
    TT__RH_COMPLETE,   /* a 416 with our length as the total: the body is complete */
    TT__RH_STATUS,     /* another status: judge it, never deliver its body after ours */
    TT__RH_RETRY,      /* not our body: drain it, the next attempt starts from byte 0 */
    TT__RH_FAIL,       /* not our body and no way on: tt__resume_fail */
    TT__RH_ENDED       /* the sink or an event hook ended the fetch */
};

/* Right after the request is built: eligibility, and the caller's resume_from (the first
 * attempt then asks for a range). TETHER_EINVAL (o->errbuf says why) or TETHER_ENOMEM. */
int tt__resume_init(struct tether_fetch *f, const struct tether_fetch_options *o);
/* Whether a body cut now can go on: continued with a Range, or restarted in a sink that can
 * start over (the policy's body_restartable). */
bool tt__resume_body_restartable(const struct tether_fetch *f);
/* A retry was decided after a failure: the next attempt's request continues the body (a
 * resume, at once when this attempt made progress) or starts it over, and the sink is told.
 * False when the fetch ended meanwhile. */
bool tt__resume_prepare(struct tether_fetch *f, struct tt__retry_decision *d);
enum tt__resume_head tt__resume_on_head(struct tether_fetch *f, const struct tt__h1_head *h);
/* Ends the fetch: the body cannot be continued (the cut's code, the reason in the detail). */
void tt__resume_fail(struct tether_fetch *f);

#endif
