/* SPDX-License-Identifier: MIT */
/* Upstream addresses: numeric or resolved with uv_getaddrinfo at dial time (never at create
 * time), and the prober that reopens a listener closed by upstream_down "refuse". */
#include <stdio.h>
#include <string.h>

#include "proxy/proxy_int.h"
#include "util/hostport.h"

/* "host:port" / "[v6]:port" into NUL-terminated parts, like Go's SplitHostPort: the port is
 * required but may be a service name ("http"), which getaddrinfo resolves (a numeric port
 * only for the local shortcut of tt__px_resolve_upstream). */
static bool split_host_port(const char *text, char *host, size_t hlen, char *port, size_t plen)
{
    struct ttx_hostport hp;
    if (ttx_hostport_split(text, strlen(text), &hp) != TTX_HOSTPORT_OK || !hp.has_port ||
        hp.port.len == 0 || hp.host.len >= hlen || hp.port.len >= plen) {
        return false;
    }
    memcpy(host, hp.host.ptr, hp.host.len);
    host[hp.host.len] = '\0';
    memcpy(port, hp.port.ptr, hp.port.len);
    port[hp.port.len] = '\0';
    return true;
}

int tt__px_resolve_upstream(uv_loop_t *loop, const char *upstream, struct tt__addrs *out,
                            uv_getaddrinfo_t **req, uv_getaddrinfo_cb cb, void *data)
{
    char host[256], port[32];
    struct sockaddr_storage ss;
    out->n = 0;
    out->next = 0;
    if (!split_host_port(upstream, host, sizeof(host), port, sizeof(port))) {
        return TETHER_EINVAL;
    }
    if (host[0] == '\0' || ttx_str_eq_nocase(host, "localhost")) {
        /* Go dials the local system for an empty host, and tries both loopbacks for
         * localhost: servers that bind "localhost" often get only ::1 (Node 17+). */
        char text[64];
        int n = snprintf(text, sizeof(text), "127.0.0.1:%s", port);
        if (n > 0 && (size_t)n < sizeof(text) && tt__addr_parse(text, NULL, &ss) == 0) {
            tt__addrs_add(out, (const struct sockaddr *)&ss);
        }
        n = snprintf(text, sizeof(text), "[::1]:%s", port);
        if (n > 0 && (size_t)n < sizeof(text) && tt__addr_parse(text, NULL, &ss) == 0) {
            tt__addrs_add(out, (const struct sockaddr *)&ss);
        }
        return out->n ? 0 : TETHER_EINVAL;
    }
    if (tt__addr_parse(upstream, NULL, &ss) == 0) {
        tt__addrs_add(out, (const struct sockaddr *)&ss);
        return 0;
    }
    uv_getaddrinfo_t *r = tt__malloc(sizeof(*r));
    if (!r) {
        return TETHER_ENOMEM;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    r->data = data;
    if (uv_getaddrinfo(loop, r, cb, host, port, &hints) != 0) {
        tt__free(r);
        return TETHER_EINVAL;
    }
    *req = r;
    return 1;
}

/* ---- probing a down upstream (upstream_down "refuse") ---- */

struct px_probe {
    struct px_proxy *px;
    uv_timer_t timer;
    struct tt__stream s;
    uv_getaddrinfo_t *gai;
    struct tt__addrs addrs;
    unsigned attempt; /* rotates through the addresses, one per tick */
    unsigned pending;
    bool stream_open; /* initialised and not yet closed */
    bool stream_busy; /* its close callback has not run yet */
    bool stopping;
};

static void probe_unpend(struct px_probe *p)
{
    if (--p->pending > 0) {
        return;
    }
    struct px_proxy *px = p->px;
    tt__free(p);
    tt__px_proxy_unref(px);
}

static void probe_handle_closed(uv_handle_t *h)
{
    probe_unpend(h->data);
}

static void probe_stream_closed(struct tt__stream *s, bool rst_sent)
{
    (void)rst_sent;
    struct px_probe *p = s->data;
    p->stream_busy = false;
    probe_unpend(p);
}

static void probe_timer_cb(uv_timer_t *t);

static void probe_result(struct px_probe *p, bool up)
{
    if (p->stream_open) {
        p->stream_open = false;
        tt__stream_close_now(&p->s, probe_stream_closed);
    }
    if (p->stopping) {
        return;
    }
    if (!up) {
        (void)uv_timer_start(&p->timer, probe_timer_cb, PX_PROBE_INTERVAL_MS, 0);
        return;
    }
    struct px_proxy *px = p->px;
    px->down_refusing = false;
    tt__px_probe_stop(px);
    tt__px_proxy_recheck(px);
}

static void probe_connected(struct tt__stream *s, int status)
{
    struct px_probe *p = s->data;
    if (p->stopping && status == TETHER_ECANCELED) {
        return;
    }
    probe_result(p, status == 0);
}

static void probe_connect(struct px_probe *p, const struct sockaddr *sa)
{
    struct px_proxy *px = p->px;
    if (tt__stream_init(&px->ps->defer, &p->s) != 0) {
        probe_result(p, false);
        return;
    }
    p->s.data = p;
    p->stream_open = true;
    p->stream_busy = true;
    p->pending++;
    if (tt__stream_connect(&p->s, sa, px->ps->opts.connect_timeout_ms, NULL, NULL,
                           probe_connected) != 0) {
        probe_result(p, false);
    }
}

static void probe_try(struct px_probe *p)
{
    if (p->addrs.n == 0) {
        probe_result(p, false);
        return;
    }
    probe_connect(p, (const struct sockaddr *)&p->addrs.a[p->attempt++ % p->addrs.n]);
}

static void probe_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct px_probe *p = req->data;
    tt__free(req);
    p->gai = NULL;
    if (!p->stopping) {
        p->addrs.n = 0;
        if (status == 0) {
            tt__addrs_from_gai(res, &p->addrs);
        }
        probe_try(p);
    }
    uv_freeaddrinfo(res);
    probe_unpend(p);
}

static void probe_timer_cb(uv_timer_t *t)
{
    struct px_probe *p = t->data;
    if (p->stopping) {
        return;
    }
    if (p->stream_busy) {
        (void)uv_timer_start(&p->timer, probe_timer_cb, PX_PROBE_INTERVAL_MS, 0);
        return;
    }
    int rv = tt__px_resolve_upstream(p->px->ps->loop, p->px->upstream, &p->addrs, &p->gai,
                                     probe_resolved, p);
    if (rv == 0) {
        probe_try(p);
    } else if (rv == 1) {
        p->pending++;
    } else {
        probe_result(p, false);
    }
}

void tt__px_probe_start(struct px_proxy *px)
{
    if (px->probe) {
        return;
    }
    struct px_probe *p = tt__calloc(1, sizeof(*p));
    if (!p) {
        return;
    }
    p->px = px;
    (void)uv_timer_init(px->ps->loop, &p->timer);
    p->timer.data = p;
    p->pending = 1;
    tt__px_proxy_ref(px);
    px->probe = p;
    (void)uv_timer_start(&p->timer, probe_timer_cb, PX_PROBE_INTERVAL_MS, 0);
}

void tt__px_probe_stop(struct px_proxy *px)
{
    struct px_probe *p = px->probe;
    if (!p) {
        return;
    }
    px->probe = NULL;
    p->stopping = true;
    uv_close((uv_handle_t *)&p->timer, probe_handle_closed);
    if (p->gai) {
        (void)uv_cancel((uv_req_t *)p->gai);
    }
    if (p->stream_open) {
        p->stream_open = false;
        tt__stream_close_now(&p->s, probe_stream_closed);
    }
}
