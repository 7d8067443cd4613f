/* SPDX-License-Identifier: MIT */
/* Private to src/proxy/: the proxy server, its proxies and the API. The pieces they are made
 * of have their own headers: base.h, json.h, toxic.h, link.h. */
#ifndef TETHER_PROXY_INT_H
#define TETHER_PROXY_INT_H

#include "proxy/link.h"

/* ---- proxies and the collection (collection.c) ---- */

/* RSTs sent because of a toxic, by the toxic's type: types are few, so a short list. */
#define PX_RESET_CAUSES 24

struct px_stats {
    uint64_t accepted;
    uint64_t refused;
    uint64_t resets_sent;
    uint64_t fins_sent;
    uint64_t bytes_up;   /* read from clients */
    uint64_t bytes_down; /* read from the upstream */
    uint64_t sent_up;    /* handed to the upstream socket (Toxiproxy's sent bytes, upstream) */
    uint64_t sent_down;  /* handed to client sockets */
    uint64_t spliced_up; /* of sent_up: moved by splice(2), never copied (splice.c) */
    uint64_t spliced_down;
    struct {
        const char *toxic; /* a type's name (static), NULL for a free slot */
        uint64_t n;
    } toxic_resets[PX_RESET_CAUSES];
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
    struct px_events *events;   /* allocated at the first event */
    struct ttx_rng rng;         /* toxicity rolls, jitter, slicing: `-seed` replays them */
    struct ttx_rng request_rng; /* API request ids, apart so API traffic never shifts `rng` */
    struct tt__defer defer;     /* empty: closing it is the "later turn" of close */
    bool closing;
    /* The toxic type whose hook is running (stage timers and pumps), so a reset it causes is
     * counted against it (GET /metrics); NULL outside toxic code. */
    const struct px_toxic_type *acting;
    unsigned pending; /* API servers, proxies and `defer` still to be released */
    tether_proxy_server_close_cb close_cb;
    void *close_data;
    /* splice(2) said it cannot move socket bytes (EINVAL), or a test turned it off: every
     * direction then reads and writes through userspace buffers. */
    bool splice_off;
    /* Tests: every direction splices from its first byte, not after a large read. */
    bool splice_eager;
    /* Idle pipes for spliced directions (splice.c): taking one costs no syscall. */
    int pipe_pool[16][2];
    unsigned npipes;
};

struct px_proxy *tt__px_find(struct tether_proxy_server *ps, const char *name);
/* Adds preset `preset`'s toxics, times multiplied by `scale`, to `px`: all or none. The
 * toxics added are stored in `added` (room for TT__PX_PRESET_MAX_TOXICS) and counted in
 * *n_added. Returns 0, or an error with `err` set (400 for an unknown preset or a bad scale,
 * 409 when a toxic's name is taken). Used by the API's {"preset": ...} body and by
 * tether_proxy_server_apply_preset. */
#define TT__PX_PRESET_MAX_TOXICS 2
int tt__px_preset_apply(struct px_proxy *px, const char *preset, double scale,
                        struct px_toxic **added, size_t *n_added, struct px_err *err);
/* GET /presets: [{"name","description","toxics":[toxic bodies at scale 1]}]. */
void tt__px_presets_json(struct pj_w *w);
/* The first toxic of `type` on the proxy, or NULL. */
struct px_toxic *tt__px_find_type(const struct px_proxy *px, const struct px_toxic_type *type);
/* Creates a proxy (toxics, taking ownership of the list's items, are attached before the
 * listener opens), replacing one of the same name (/populate's rule; the API's POST /proxies
 * answers 409 for an existing name before calling this). 500 with Go's text when listening
 * fails. */
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
/* GET /metrics: Prometheus text of the enabled groups (metrics.c). */
void tt__px_metrics(struct tether_proxy_server *ps, struct pj_w *w);
/* Counts an RST sent on one of `c`'s sockets against the toxic that caused it, if any. */
void tt__px_count_toxic_reset(struct px_conn *c);
/* Starts the API listener(s); on failure none is left running and `errbuf` says why. */
int tt__px_api_listen(struct tether_proxy_server *ps, char *errbuf, size_t errbuf_len);
void tt__px_api_close(struct tether_proxy_server *ps);
void tt__px_server_release(struct tether_proxy_server *ps);

#endif
