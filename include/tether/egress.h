/* SPDX-License-Identifier: MIT */
/* A local HTTP/1.1 proxy that gives any program tether's client without changing its code: the
 * app talks to tether's server (keep-alive without resets), and every request goes on through
 * tether's client (stale-proof pool, safe replay, retries in a budget, one deadline).
 *
 * Two modes:
 *  - reverse, for one origin (options.upstream set): the app changes only its base URL;
 *    "GET /orders?id=1" is sent to upstream + "/orders?id=1".
 *  - forward (options.upstream NULL): the app sets HTTP_PROXY; requests arrive in absolute form
 *    ("GET http://host:port/path HTTP/1.1") and go to the origin they name; an origin-form
 *    target gets 400. "CONNECT host:port" (https:// through a proxy) opens a tunnel with
 *    TCP-level protections only, since the bytes are TLS egress cannot read: the connect is
 *    retried (policy.max_attempts, full-jitter backoff; 502 with the failure after the last),
 *    TCP keepalive runs on both sides, and each side's close reaches the other as it came, FIN
 *    as FIN (half-close), RST as RST. Tunnels need a plain-TCP listener (no server TLS files).
 *
 * What the app sees:
 *  - the origin's response, streamed as it arrives, minus hop-by-hop fields (RFC 9110
 *    §7.6.1: Connection and the fields it names, Keep-Alive, Proxy-*, TE, Trailer,
 *    Transfer-Encoding, Upgrade), plus Via: 1.1 tether;
 *  - when every attempt failed: 502 (504 when the deadline ended it) with a JSON body and
 *    X-Tether-Error (Node's message), X-Tether-Code, X-Tether-Phase, X-Tether-Retry-Safe and
 *    X-Tether-Attempts fields;
 *  - X-Tether-Retry: not-replayable on a response to a request whose body is larger than
 *    replay_body_limit: its Content-Length says so from the start; a chunked body once that
 *    many bytes have arrived before the response begins.
 * The request fields go upstream with the same hop-by-hop fields removed, Host, Content-Length
 * and Expect left to the client, X-Tether-Deadline consumed (a duration such as "250ms" or
 * "2s" that may only shorten the deadline), Via: 1.1 tether appended and, with
 * forwarded_for, the app's address appended to X-Forwarded-For.
 *
 * Memory: both bodies stream with flow control, so their size costs no memory. The request
 * body goes upstream as it arrives (the fetch starts at the request head, tether_fetch_write);
 * when the upstream is slower than the app, reading the app's socket pauses
 * (tether_request_pause_body) until the client's queue drains. Up to replay_body_limit the body
 * is also kept, so a failed attempt is replayed or retried under the client's rules; past it,
 * bytes the upstream's kernel took are dropped, and a failure after they went out is final:
 * 502 with X-Tether-Retry: not-replayable and X-Tether-Retry-Safe: no (a failure before any
 * byte went out is still retried). The response is paused the same way for a slow app.
 * An app that leaves before its response is complete (reset, closed mid-body, timed out)
 * cancels the upstream fetch and its connection (stats.app_gone).
 *
 * Threads: as the client and the server, everything runs on the loop's thread. */
#ifndef TETHER_EGRESS_H
#define TETHER_EGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "tether/client.h"
#include "tether/common.h"
#include "tether/server.h"

TETHER_BEGIN_DECLS

typedef struct tether_egress tether_egress;

struct tether_egress_options {
    /* The app side. host/port are where egress listens (default 127.0.0.1, port 0 = any):
     * keep it on loopback unless `allow` limits the origins, or it is an open proxy. Its
     * on_request and data are egress's own and ignored here. */
    struct tether_server_options server;
    /* The upstream side: policy (retries, replay, deadline), CA file, TLS verification, a
     * next-hop proxy. Its data is ignored. tether_egress_options_init sets a 30 s deadline
     * (the library's policy has none; a proxy in front of an app needs one, as tether get
     * sets one); 0 = none. */
    struct tether_client_options client;
    /* "http://host:port" or "https://host:port" (a path prefix is allowed and kept:
     * "http://h/api" sends "/x" to "/api/x"); NULL = forward mode. Borrowed, copied. */
    const char *upstream;
    /* Request bodies stream upstream; up to this size they are also kept so they can be
     * replayed. Past it a failure after body bytes went out is not repeated
     * (X-Tether-Retry: not-replayable). Default 1 MiB. */
    size_t replay_body_limit;
    /* Forward mode: origins that may be reached, "host" (any port) or "host:port", compared
     * case-insensitively; a request for another origin gets 403. NULL/0 = any origin.
     * Borrowed, copied. */
    const char *const *allow;
    size_t nallow;
    bool forwarded_for; /* append the app's address to X-Forwarded-For */
    /* Borrowed, copied: an absolute path ("/_tether/stats") whose GET egress answers itself
     * with tether_egress_stats_json instead of forwarding it; NULL = none. */
    const char *stats_path;
    void *data; /* user context, see tether_egress_get_data */
    /* Borrowed; when set, a failed tether_egress_new writes why into it (always
     * NUL-terminated), e.g. "invalid upstream 'ftp://x': ...". */
    char *errbuf;
    size_t errbuf_len;
};

/* Fills `o` (borrowed): the server's and client's defaults, replay_body_limit 1 MiB, request
 * bodies without a size limit (server.max_body_bytes 0: they stream; set it for a 413 beyond),
 * forward mode. */
TETHER_EXTERN void tether_egress_options_init(struct tether_egress_options *o);

/* Creates the client and the server on `loop` (borrowed; must outlive the egress) and starts
 * listening. Caller owns *out; release it with tether_egress_close. Returns TETHER_EINVAL (bad
 * options or upstream; errbuf says which), TETHER_EADDRINUSE, TETHER_ENOMEM, or what the
 * server or client returned. On failure nothing is left on the loop, except when the client's
 * options fail after the server started (an unreadable CA file): the server's handles then
 * close on the next loop turn. */
TETHER_EXTERN TETHER_NODISCARD int
tether_egress_new(uv_loop_t *loop, const struct tether_egress_options *o, tether_egress **out);

/* The bound port (useful with port 0); 0 for NULL. */
TETHER_EXTERN uint16_t tether_egress_port(const tether_egress *e);
/* The options' data. NULL-safe. */
TETHER_EXTERN void *tether_egress_get_data(const tether_egress *e);
/* The two halves, for their stats and events (tether_client_on_event is egress's own: use
 * tether_egress_on_event instead). Borrowed; valid until the egress is closed. */
TETHER_EXTERN tether_client *tether_egress_client(const tether_egress *e);
TETHER_EXTERN tether_server *tether_egress_server(const tether_egress *e);
/* Receives every client event after egress has seen it (NULL removes the hook). */
TETHER_EXTERN void tether_egress_on_event(tether_egress *e, tether_event_cb cb);

struct tether_egress_stats {
    uint64_t requests;       /* requests the app sent */
    uint64_t relayed;        /* the origin's response was passed on (whatever its status) */
    uint64_t failed_502;     /* every attempt failed: 502 with the failure */
    uint64_t failed_504;     /* the deadline ended the request: 504 with the failure */
    uint64_t refused;        /* answered by egress itself: 400, 403, 501 */
    uint64_t cut;            /* the origin's body broke off mid-way: the app's response is cut */
    uint64_t not_replayable; /* bodies above replay_body_limit */
    uint64_t bytes_up;       /* request body (and tunnel) bytes received from the app */
    uint64_t bytes_down;     /* response body (and tunnel) bytes passed to the app */
    uint64_t tunnels;        /* CONNECT tunnels established (forward mode) */
    uint64_t paused;         /* times a response was held back until the app read it */
    uint64_t app_gone;       /* the app left before its response was complete: the fetch was
                                cancelled and its upstream connection closed */
};
TETHER_EXTERN void tether_egress_get_stats(const tether_egress *e, struct tether_egress_stats *out);
/* The counters as one JSON object (with a newline): "egress" (the fields above), "client"
 * (fetches, attempts, retries, replays, connections_opened, connections_reused,
 * stale_evictions, retired_idle, budget_exhausted) and "server" (connections_accepted,
 * connections_open, fin_sent, rst_sent). Returns the length the whole text needs, as snprintf
 * (`buf` always NUL-terminated when len > 0), or TETHER_EINVAL for a NULL egress. */
TETHER_EXTERN int tether_egress_stats_json(const tether_egress *e, char *buf, size_t len);

/* Graceful stop: tunnels close at once (FIN: there is no request boundary to wait for), the
 * server stops accepting, requests in flight finish (their fetches included) within
 * server.shutdown_grace_ms, then the client and the server are released and
 * `cb` (may be NULL) runs with `data` on a later loop turn. A second call, or NULL, is
 * harmless. */
typedef void (*tether_egress_close_cb)(void *data);
TETHER_EXTERN void tether_egress_close(tether_egress *e, tether_egress_close_cb cb, void *data);

TETHER_END_DECLS

#endif
