/* SPDX-License-Identifier: MIT */
/* The proxy server and its collection of named proxies: create, update, enable and disable,
 * delete, reset, listeners (with Go's address rules and error texts) and the seedable RNG. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proxy/proxy_int.h"
#include "util/hostport.h"

/* ---- lookups ---- */

struct px_proxy *tt__px_find(struct tether_proxy_server *ps, const char *name)
{
    for (struct tt__list *n = ps->proxies.next; n != &ps->proxies; n = n->next) {
        struct px_proxy *px = tt__container_of(n, struct px_proxy, link);
        if (strcmp(px->name, name) == 0) {
            return px;
        }
    }
    return NULL;
}

struct px_toxic *tt__px_find_type(const struct px_proxy *px, const struct px_toxic_type *type)
{
    for (const struct tt__list *n = px->toxics.next; n != &px->toxics; n = n->next) {
        struct px_toxic *t =
            tt__container_of((struct tt__list *)(uintptr_t)n, struct px_toxic, link);
        if (t->type == type) {
            return t;
        }
    }
    return NULL;
}

/* ---- lifetime ---- */

static void ps_maybe_release(struct tether_proxy_server *ps)
{
    if (!ps->closing || ps->pending > 0) {
        return;
    }
    tether_proxy_server_close_cb cb = ps->close_cb;
    void *data = ps->close_data;
    tt__px_events_free(ps);
    tt__px_pipes_free(ps);
    tt__free(ps->api_host);
    tt__free(ps);
    if (cb) {
        cb(data);
    }
}

void tt__px_server_release(struct tether_proxy_server *ps)
{
    ps->pending--;
    ps_maybe_release(ps);
}

static void ps_defer_closed(struct tt__defer *d)
{
    tt__px_server_release(d->data);
}

static void px_free(struct px_proxy *px)
{
    struct tether_proxy_server *ps = px->ps;
    while (!tt__list_empty(&px->toxics)) {
        struct px_toxic *t = tt__container_of(px->toxics.next, struct px_toxic, link);
        tt__list_remove(&t->link);
        tt__px_toxic_free(t);
    }
    tt__free(px->name);
    tt__free(px->listen);
    tt__free(px->upstream);
    tt__free(px);
    tt__px_server_release(ps);
}

void tt__px_proxy_ref(struct px_proxy *px)
{
    px->refs++;
}

void tt__px_proxy_unref(struct px_proxy *px)
{
    if (--px->refs == 0 && !px->in_collection) {
        px_free(px);
    }
}

static void px_discard(struct px_proxy *px)
{
    px->in_collection = false;
    if (px->refs == 0) {
        px_free(px);
    }
}

static char *dup_str(const char *s)
{
    return tt__strndup(s, strlen(s));
}

static int set_str(char **slot, const char *value)
{
    char *p = dup_str(value);
    if (!p) {
        return TETHER_ENOMEM;
    }
    tt__free(*slot);
    *slot = p;
    return 0;
}

/* ---- listen addresses, the way Go's net.Listen reads them ---- */

struct px_laddr {
    struct sockaddr_storage ss;
    bool wildcard;
    char canon[300]; /* what ResolveTCPAddr(...).String() gives */
};

/* Go's text for the errno values a listen can fail with (syscall.Errno.Error()). */
static const char *go_errno_text(int uv_err)
{
    switch (uv_err) {
    case UV_EADDRINUSE:
        return "address already in use";
    case UV_EADDRNOTAVAIL:
        return "cannot assign requested address";
    case UV_EACCES:
        return "permission denied";
    case UV_EAFNOSUPPORT:
        return "address family not supported by protocol";
    case UV_EMFILE:
        return "too many open files";
    default:
        return uv_strerror(uv_err);
    }
}

/* Reads a listen address the way Go's net.Listen does, with its error texts, except that names
 * other than localhost are refused: resolving one would block the loop that relays every other
 * connection (Toxiproxy users listen on literals and localhost). */
static int laddr_resolve(const char *listen, struct px_laddr *a, char *msg, size_t len)
{
    char host[256];
    struct ttx_hostport hp;
    memset(a, 0, sizeof(*a));
    uint16_t port = 0;
    if (listen[0] != '\0') {
        /* net.Listen("tcp", "") listens on every address, any port. */
        enum ttx_hostport_err e = ttx_hostport_split(listen, strlen(listen), &hp);
        if (e == TTX_HOSTPORT_TOO_MANY_COLONS) {
            (void)snprintf(msg, len, "address %s: too many colons in address", listen);
            return TETHER_EINVAL;
        }
        if (e != TTX_HOSTPORT_OK || !hp.has_port) {
            (void)snprintf(msg, len, "address %s: missing port in address", listen);
            return TETHER_EINVAL;
        }
        /* Go reads an empty port as 0 (any). */
        int rv = hp.port.len == 0 ? 0 : ttx_parse_port(hp.port, &port);
        if (rv == TETHER_ERANGE) {
            (void)snprintf(msg, len, "address %s: invalid port", listen);
            return TETHER_EINVAL;
        }
        if (rv != 0) {
            (void)snprintf(msg, len, "lookup tcp/%.*s: unknown port", (int)hp.port.len,
                           hp.port.ptr);
            return TETHER_EINVAL;
        }
        if (hp.host.len >= sizeof(host)) {
            (void)snprintf(msg, len, "lookup %.64s: no such host", hp.host.ptr);
            return TETHER_EINVAL;
        }
        memcpy(host, hp.host.ptr, hp.host.len);
        host[hp.host.len] = '\0';
    } else {
        host[0] = '\0';
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)(void *)&a->ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&a->ss;
    if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0) {
        /* Go listens on the IPv6 wildcard, dual-stack, for any unspecified address. */
        a->wildcard = true;
        (void)uv_ip6_addr("::", (int)port, in6);
        if (host[0] == '\0') {
            (void)snprintf(a->canon, sizeof(a->canon), ":%u", (unsigned)port);
        } else if (strchr(host, ':')) {
            (void)snprintf(a->canon, sizeof(a->canon), "[::]:%u", (unsigned)port);
        } else {
            (void)snprintf(a->canon, sizeof(a->canon), "0.0.0.0:%u", (unsigned)port);
        }
        return 0;
    }
    if (ttx_str_eq_nocase(host, "localhost")) {
        /* Go picks 127.0.0.1 for localhost on a normal host. */
        memcpy(host, "127.0.0.1", sizeof("127.0.0.1"));
    }
    if (uv_ip4_addr(host, (int)port, in4) != 0 && uv_ip6_addr(host, (int)port, in6) != 0) {
        (void)snprintf(msg, len,
                       "lookup %s: not an IP address (listen addresses must be IP literals or "
                       "localhost)",
                       host);
        return TETHER_EINVAL;
    }
    if (tt__addr_format((const struct sockaddr *)&a->ss, a->canon, sizeof(a->canon)) != 0) {
        (void)snprintf(msg, len, "address %s: invalid address", listen);
        return TETHER_EINVAL;
    }
    return 0;
}

int tt__px_listen_normalize(const char *listen, char *out, size_t len, struct px_err *err)
{
    struct px_laddr a;
    char msg[400];
    if (laddr_resolve(listen, &a, msg, sizeof(msg)) != 0) {
        tt__px_err_set(err, 500, "%s", msg);
        return TETHER_EINVAL;
    }
    (void)snprintf(out, len, "%s", a.canon);
    return 0;
}

static void lis_closed_cb(struct tt__listener *l)
{
    struct px_listener *lis = tt__container_of(l, struct px_listener, l);
    struct px_proxy *px = lis->px;
    tt__free(lis);
    tt__px_proxy_unref(px);
}

/* max_connections "queue" (HAProxy's maxconn): over the limit, clients wait in the kernel's
 * listen queue; tt__px_proxy_recheck resumes accepting when a connection ends. */
static bool lis_may_accept(struct tt__listener *l)
{
    struct px_proxy *px = l->data;
    struct px_toxic *mc = tt__px_find_type(px, &tt__px_type_max_connections);
    return !(mc && strcmp(tt__px_attr_e(mc, "action"), "queue") == 0 &&
             px->nconns >= (uint64_t)tt__px_attr_i(mc, "limit"));
}

static void lis_on_accept(struct tt__listener *l, int fd)
{
    struct px_proxy *px = l->data;
    tt__px_conn_accept(px, fd);
}

int tt__px_listener_open(struct px_proxy *px, struct px_err *err)
{
    struct px_laddr a;
    char msg[400];
    if (laddr_resolve(px->listen, &a, msg, sizeof(msg)) != 0) {
        tt__px_err_set(err, 500, "listen tcp: %s", msg);
        return TETHER_EINVAL;
    }
    struct px_listener *lis = tt__calloc(1, sizeof(*lis));
    if (!lis) {
        tt__px_err_set(err, 500, "out of memory");
        return TETHER_ENOMEM;
    }
    lis->px = px;
    int rv = tt__listener_open(px->ps->loop, &lis->l, (const struct sockaddr *)&a.ss,
                               TT__LISTEN_DEFAULT_BACKLOG);
    if (rv != 0 && lis->l.fail_errno == EAFNOSUPPORT && a.wildcard) {
        /* No IPv6 on this host: the IPv4 wildcard is the next best thing. */
        struct sockaddr_in in4;
        uint16_t port = ntohs(((struct sockaddr_in6 *)(void *)&a.ss)->sin6_port);
        (void)uv_ip4_addr("0.0.0.0", port, &in4);
        rv = tt__listener_open(px->ps->loop, &lis->l, (const struct sockaddr *)&in4,
                               TT__LISTEN_DEFAULT_BACKLOG);
    }
    if (rv != 0) {
        int uv_err = uv_translate_sys_error(lis->l.fail_errno);
        tt__px_err_set(err, 500, "listen tcp %s: %s: %s", a.canon, lis->l.fail_syscall,
                       go_errno_text(uv_err));
        tt__free(lis);
        return rv;
    }
    lis->l.data = px;
    lis->l.may_accept = lis_may_accept;
    tt__px_proxy_ref(px);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    char text[80];
    if (getsockname(lis->l.fd, (struct sockaddr *)&bound, &blen) == 0 &&
        tt__addr_format((const struct sockaddr *)&bound, text, sizeof(text)) == 0) {
        /* proxy.Listen = listener.Addr().String(): port 0 becomes the real port, and a
         * disable/enable cycle binds the same one again. */
        if (set_str(&px->listen, text) != 0) {
            tt__listener_close(&lis->l, lis_closed_cb);
            tt__px_err_set(err, 500, "out of memory");
            return TETHER_ENOMEM;
        }
    }
    px->lis = lis;
    tt__listener_start(&lis->l, lis_on_accept);
    return 0;
}

void tt__px_listener_close(struct px_proxy *px)
{
    struct px_listener *lis = px->lis;
    if (!lis) {
        return;
    }
    px->lis = NULL;
    /* The socket closes at once, so the port can be bound again right away. */
    tt__listener_close(&lis->l, lis_closed_cb);
}

/* ---- proxies ---- */

int tt__px_proxy_start(struct px_proxy *px, struct px_err *err)
{
    if (px->enabled) {
        return 0;
    }
    int rv = tt__px_listener_open(px, err);
    if (rv != 0) {
        return rv;
    }
    px->enabled = true;
    return 0;
}

void tt__px_proxy_stop(struct px_proxy *px)
{
    if (!px->enabled) {
        return;
    }
    px->enabled = false;
    px->limit_refusing = false;
    px->down_refusing = false;
    tt__px_listener_close(px);
    tt__px_probe_stop(px);
    tt__px_conns_close_all(px, px->ps->closing ? PX_HOW_NOW : PX_HOW_FIN);
}

void tt__px_proxy_recheck(struct px_proxy *px)
{
    struct px_err err;
    if (!px->enabled || px->ps->closing) {
        return;
    }
    struct px_toxic *mc = tt__px_find_type(px, &tt__px_type_max_connections);
    const char *action = mc ? tt__px_attr_e(mc, "action") : "";
    bool over = mc && px->nconns >= (uint64_t)tt__px_attr_i(mc, "limit");
    if (over && strcmp(action, "refuse") == 0) {
        if (!px->limit_refusing) {
            px->limit_refusing = true;
            tt__px_listener_close(px);
        }
    } else {
        px->limit_refusing = false;
    }
    if (px->down_refusing) {
        struct px_toxic *ud = tt__px_find_type(px, &tt__px_type_upstream_down);
        if (!ud || strcmp(tt__px_attr_e(ud, "action"), "refuse") != 0) {
            px->down_refusing = false;
            tt__px_probe_stop(px);
        }
    }
    if (!px->lis && !px->limit_refusing && !px->down_refusing) {
        /* Reopening can fail if another socket took the port meanwhile; the proxy then stays
         * closed until the next change (Toxiproxy would have kept it). */
        (void)tt__px_listener_open(px, &err);
    }
    if (px->lis && !(over && strcmp(action, "queue") == 0)) {
        tt__listener_resume(&px->lis->l); /* a queue paused it: the backlog flows again */
    }
}

int tt__px_proxy_create(struct tether_proxy_server *ps, const char *name, const char *listen,
                        const char *upstream, bool enabled, struct tt__list *toxics,
                        struct px_proxy **out, struct px_err *err)
{
    struct px_proxy *existing = tt__px_find(ps, name);
    *out = NULL;
    struct px_proxy *px = tt__calloc(1, sizeof(*px));
    if (!px) {
        tt__px_err_set(err, 500, "out of memory");
        return TETHER_ENOMEM;
    }
    px->ps = ps;
    ps->pending++; /* released by px_free */
    tt__list_init(&px->link);
    tt__list_init(&px->toxics);
    tt__list_init(&px->conns);
    px->name = dup_str(name);
    px->listen = dup_str(listen);
    px->upstream = dup_str(upstream);
    if (!px->name || !px->listen || !px->upstream) {
        px_free(px);
        tt__px_err_set(err, 500, "out of memory");
        return TETHER_ENOMEM;
    }
    if (toxics) {
        while (!tt__list_empty(toxics)) {
            struct px_toxic *t = tt__container_of(toxics->next, struct px_toxic, link);
            tt__list_remove(&t->link);
            t->px = px;
            tt__list_insert_tail(&px->toxics, &t->link);
        }
    }
    if (existing) {
        /* /populate replaces: the old one lets go of its port before the new one binds. */
        tt__px_proxy_stop(existing);
    }
    if (enabled) {
        int rv = tt__px_proxy_start(px, err);
        if (rv != 0) {
            px_discard(px);
            return rv;
        }
    }
    if (existing) {
        tt__px_proxy_remove(existing);
    }
    tt__list_insert_tail(&ps->proxies, &px->link);
    px->in_collection = true;
    *out = px;
    return 0;
}

int tt__px_proxy_update(struct px_proxy *px, const char *listen, const char *upstream, bool enabled,
                        struct px_err *err)
{
    char norm[300];
    int rv = tt__px_listen_normalize(listen, norm, sizeof(norm), err);
    if (rv != 0) {
        return rv;
    }
    if (strcmp(px->listen, norm) != 0 || strcmp(px->upstream, upstream) != 0) {
        /* Go's Update: stop, take the new values as given, start again if enabled. */
        tt__px_proxy_stop(px);
        if (set_str(&px->listen, listen) != 0 || set_str(&px->upstream, upstream) != 0) {
            tt__px_err_set(err, 500, "out of memory");
            return TETHER_ENOMEM;
        }
    }
    if (enabled != px->enabled) {
        if (enabled) {
            return tt__px_proxy_start(px, err);
        }
        tt__px_proxy_stop(px);
    }
    return 0;
}

void tt__px_proxy_remove(struct px_proxy *px)
{
    tt__px_proxy_stop(px);
    tt__list_remove(&px->link);
    px_discard(px);
}

void tt__px_proxy_add_toxic(struct px_proxy *px, struct px_toxic *t)
{
    t->px = px;
    tt__list_insert_tail(&px->toxics, &t->link);
    tt__px_conns_toxic_added(px, t);
    tt__px_proxy_recheck(px);
}

void tt__px_proxy_remove_toxic(struct px_proxy *px, struct px_toxic *t)
{
    tt__list_remove(&t->link);
    tt__px_conns_toxic_removed(px, t);
    tt__px_toxic_free(t);
    tt__px_proxy_recheck(px);
}

void tt__px_proxy_reset_toxics(struct px_proxy *px)
{
    while (!tt__list_empty(&px->toxics)) {
        tt__px_proxy_remove_toxic(px, tt__container_of(px->toxics.next, struct px_toxic, link));
    }
}

void tt__px_proxy_json(struct pj_w *w, const struct px_proxy *px)
{
    bool first = true;
    tt__pj_raw(w, "{");
    tt__pj_key(w, &first, "name");
    tt__pj_str(w, px->name);
    tt__pj_key(w, &first, "listen");
    tt__pj_str(w, px->listen);
    tt__pj_key(w, &first, "upstream");
    tt__pj_str(w, px->upstream);
    tt__pj_key(w, &first, "enabled");
    tt__pj_raw(w, px->enabled ? "true" : "false");
    /* Toxiproxy 2.12 leaks its exported Logger field as {}; kept for byte-level fidelity. */
    tt__pj_key(w, &first, "Logger");
    tt__pj_raw(w, "{}");
    tt__pj_key(w, &first, "toxics");
    tt__pj_raw(w, "[");
    bool tfirst = true;
    /* GetToxicArray: upstream toxics first, then downstream, each in order of addition. */
    for (int dir = PX_UP; dir <= PX_DOWN; dir++) {
        for (const struct tt__list *n = px->toxics.next; n != &px->toxics; n = n->next) {
            const struct px_toxic *t = px_const_container_of(n, struct px_toxic, link);
            if ((int)t->dir != dir) {
                continue;
            }
            if (!tfirst) {
                tt__pj_raw(w, ",");
            }
            tfirst = false;
            tt__px_toxic_json(w, t);
        }
    }
    tt__pj_raw(w, "]}");
}

/* ---- the public API ---- */

void tether_proxy_server_options_init(struct tether_proxy_server_options *o)
{
    memset(o, 0, sizeof(*o));
    o->api_host = "localhost";
    o->api_port = 8474;
    o->connect_timeout_ms = 10000;
}

int tether_proxy_server_new(uv_loop_t *loop, const struct tether_proxy_server_options *o,
                            tether_proxy_server **out)
{
    if (!loop || !o || !out) {
        return TETHER_EINVAL;
    }
    *out = NULL;
    struct tether_proxy_server *ps = tt__calloc(1, sizeof(*ps));
    if (!ps) {
        return TETHER_ENOMEM;
    }
    ps->loop = loop;
    ps->opts = *o;
    ps->opts.errbuf = NULL; /* borrowed for this call only */
    ps->opts.errbuf_len = 0;
    tt__list_init(&ps->proxies);
    if (o->api_host) {
        ps->api_host = dup_str(o->api_host);
        if (!ps->api_host) {
            tt__free(ps);
            return TETHER_ENOMEM;
        }
    }
    ps->opts.api_host = ps->api_host;
    /* Without a seed, the clock and the address keep two servers apart. */
    if (o->has_seed) {
        ttx_rng_seed(&ps->rng, o->seed);
    } else {
        ttx_rng_seed_random(&ps->rng);
    }
    ttx_rng_seed(&ps->request_rng, ps->rng.state ^ 0x5851f42d4c957f2dull);
    /* The API listener is the only step that can fail, and only its first server can (the
     * ::1 twin of localhost is optional): on failure nothing was started, and nothing is left
     * on the loop. */
    if (ps->api_host) {
        int rv = tt__px_api_listen(ps, o->errbuf, o->errbuf_len);
        if (rv != 0) {
            tt__free(ps->api_host);
            tt__free(ps);
            return rv;
        }
    }
    tt__defer_init(loop, &ps->defer);
    ps->defer.data = ps;
    *out = ps;
    return 0;
}

uint16_t tether_proxy_server_api_port(const tether_proxy_server *ps)
{
    return ps ? ps->api_port : 0;
}

int tether_proxy_server_call(tether_proxy_server *ps, const char *method, const char *path,
                             const char *body, size_t body_len, int *status, char **response,
                             size_t *response_len)
{
    if (!ps || !method || !path || !status || (!body && body_len)) {
        return TETHER_EINVAL;
    }
    struct px_resp r;
    tt__px_api(ps, method, path, body ? body : "", body_len, &r);
    if (r.body.err) {
        tt__buf_cleanup(&r.body.buf);
        return TETHER_ENOMEM;
    }
    *status = r.status;
    if (response_len) {
        *response_len = r.body.buf.len;
    }
    if (response) {
        *response = r.body.buf.data; /* NUL-terminated by tt__buf; NULL when empty */
    } else {
        tt__buf_cleanup(&r.body.buf);
    }
    return 0;
}

int tether_proxy_server_proxy_port(const tether_proxy_server *ps, const char *name, uint16_t *port)
{
    if (!ps || !name || !port) {
        return TETHER_EINVAL;
    }
    struct px_proxy *px = tt__px_find((struct tether_proxy_server *)(uintptr_t)ps, name);
    if (!px || !px->lis) {
        return TETHER_EINVAL;
    }
    *port = px->lis->l.port;
    return 0;
}

void tether_proxy_server_close(tether_proxy_server *ps, tether_proxy_server_close_cb cb, void *data)
{
    if (!ps || ps->closing) {
        return;
    }
    ps->closing = true;
    ps->close_cb = cb;
    ps->close_data = data;
    /* This handle's close callback comes on a later turn, so `cb` never runs from inside this
     * call even when nothing else is left to close. */
    ps->pending++;
    tt__defer_close(&ps->defer, ps_defer_closed);
    tt__px_api_close(ps);
    while (!tt__list_empty(&ps->proxies)) {
        tt__px_proxy_remove(tt__container_of(ps->proxies.next, struct px_proxy, link));
    }
}
