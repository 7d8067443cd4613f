/* SPDX-License-Identifier: MIT */
/* egress's private interface: the proxy, one exchange per app request, and the pure rules on
 * fields, targets and deadlines (egress_fields.c) kept apart so unit tests reach them. */
#ifndef TETHER_EGRESS_INT_H
#define TETHER_EGRESS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tether/egress.h"

#include "core/defer.h"
#include "internal.h"
#include "util/rand.h"

/* The request header that may shorten the deadline; consumed, never forwarded. */
#define TT__EG_DEADLINE_FIELD "X-Tether-Deadline"
#define TT__EG_VIA "1.1 tether"

struct tether_egress {
    uv_loop_t *loop;
    tether_server *srv;
    tether_client *client;
    void *data;
    char *upstream; /* "http://h:p" + path prefix without its trailing '/'; NULL = forward */
    size_t replay_body_limit;
    uint64_t deadline_ms; /* the client's policy deadline: the most a request may get */
    bool forwarded_for;
    char *stats_path; /* owned; NULL = none */
    char **allow;     /* lower-cased "host" or "host:port", owned */
    size_t nallow;
    tether_event_cb user_event;
    struct tt__list live;    /* exchanges in flight */
    struct tt__list tunnels; /* CONNECT tunnels (tunnel.c) */
    unsigned ntunnels;
    struct tt__defer defer;      /* the tunnels' streams' next-turn queue */
    struct tether_policy policy; /* the client's: connect attempts, backoff, timeouts */
    struct ttx_rng rng;          /* the tunnels' backoff jitter */
    bool server_closed;          /* the last step of a close waits for the tunnels */
    struct tether_egress_stats stats;
    bool closing;
    tether_egress_close_cb close_cb;
    void *close_data;
};

/* One app request, its fetch and the relay of the response. Freed when both the request (ended
 * or aborted) and the fetch (done) are finished with. */
struct tt__eg_exchange {
    struct tt__list link; /* egress->live */
    struct tether_egress *eg;
    tether_request *req; /* NULL once ended or aborted */
    tether_fetch *fetch; /* NULL until started, and once freed */
    char *url;
    uint64_t deadline_ms;
    uint64_t body_seen;  /* request body bytes passed on to the fetch */
    bool not_replayable; /* the body is larger than replay_body_limit */
    bool started;        /* the response head was begun */
    bool head_method;
    uint64_t unacked; /* response bytes queued since the last drain */
    bool paused;      /* the upstream read is paused until the app's socket drains */
    bool gone;        /* the app left before its response was complete (counted once) */
};

/* ---- tunnel.c ---- */

/* Starts a CONNECT tunnel on the app's socket `fd` (taken from the server; owned from here
 * on) to host:port, sending `pending` (copied) once connected. Answers the app itself: 200
 * Connection Established, or 502 with the failure after the connect attempts. Returns 0 or
 * ENOMEM (then the caller closes fd). */
int tt__eg_tunnel_start(struct tether_egress *eg, uv_os_sock_t fd, const char *host, uint16_t port,
                        const char *pending, size_t pending_len);
/* Ends every tunnel (plain close: FIN unless bytes are unread). */
void tt__eg_tunnels_close(struct tether_egress *eg);
/* A tunnel was freed (egress.c: the close may be waiting for the last one). */
void tt__eg_tunnel_gone(struct tether_egress *eg);

/* ---- egress_fields.c ---- */

/* Whether `name` is hop-by-hop (RFC 9110 §7.6.1): Connection, Keep-Alive, Proxy-*, TE,
 * Trailer, Transfer-Encoding, Upgrade, or a field the message's Connection value lists
 * (`connection` may be NULL). */
bool tt__eg_hop_by_hop(const char *name, const char *connection);

/* A deadline header's value: a duration as the command's flags take it ("250ms", "2s", "1.5s",
 * "1m", "1h"; ttx_parse_duration_ms), more than 0 and at most EG_MAX_DEADLINE_MS. Returns 0 and
 * sets *ms, or TETHER_EINVAL. */
#define EG_MAX_DEADLINE_MS (366ull * 24 * 3600 * 1000)
int tt__eg_parse_duration(const char *text, uint64_t *ms);

/* Where a request goes. Reverse mode (upstream set): upstream + the target's path and query
 * (an absolute-form target keeps only those). Forward mode: the absolute-form target itself;
 * an origin-form target, "*" or a non-http(s) scheme is refused. Returns a URL the caller frees
 * (tt__free), or NULL with the reason in `why` (ENOMEM leaves `why` empty). */
char *tt__eg_target_url(const char *upstream, const char *target, char *why, size_t why_len);

/* The "host" and "host:port" of an http(s) URL, lower-cased, for the allow list. Returns false
 * when the URL has no authority. */
bool tt__eg_url_authority(const char *url, char *host, size_t host_len, uint16_t *port);

/* Whether `host`:`port` is on the list ("host" any port, "host:port" that port). */
bool tt__eg_allowed(char *const *allow, size_t nallow, const char *host, uint16_t port);

/* The JSON body of a failure response (always NUL-terminated). */
void tt__eg_failure_json(char *buf, size_t len, const char *message, const struct tether_failure *f,
                         unsigned attempts, bool deadline, bool not_replayable);

#endif
