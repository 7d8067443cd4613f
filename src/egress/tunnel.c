/* SPDX-License-Identifier: MIT */
/* CONNECT tunnels in forward mode: TCP-level protections only (the bytes are TLS the proxy
 * cannot read): the connect is retried with full-jitter backoff, TCP keepalive runs on both
 * sides, and each side's close is passed on as it happened, FIN as FIN (a half-close), RST as
 * RST, so the app sees what the origin did. */
#include <stdio.h>
#include <string.h>

#include "egress/egress_int.h"
#include "net/net.h"
#include "policy/policy.h"

/* Bytes queued toward one side beyond which the other side's reads pause. */
#define TUNNEL_HIGH_WATER ((size_t)256 * 1024)
#define TUNNEL_KEEPALIVE_S 60u

struct tt__eg_tunnel {
    struct tt__list link; /* egress->tunnels */
    struct tether_egress *eg;
    struct tt__stream app;
    struct tt__stream *up; /* one per connect attempt (a failed stream can only be closed) */
    uv_getaddrinfo_t gai;
    uv_timer_t backoff;
    struct sockaddr_storage addr;
    char host[256];
    char authority[300]; /* "host:port" for messages */
    uint16_t port;
    unsigned attempt;
    char *pending; /* bytes the app sent after its CONNECT head; owned */
    size_t pending_len;
    unsigned live; /* streams, handles and requests still to be closed or completed */
    bool closing;
    bool app_eof; /* the app sent FIN (passed on to the origin) */
    bool up_eof;  /* the origin sent FIN (passed on to the app) */
};

static void tunnel_release(struct tt__eg_tunnel *t)
{
    if (--t->live > 0) {
        return;
    }
    struct tether_egress *eg = t->eg;
    tt__list_remove(&t->link);
    tt__free(t->pending);
    tt__free(t);
    tt__eg_tunnel_gone(eg);
}

static void tunnel_stream_closed(struct tt__stream *s, bool rst_sent)
{
    struct tt__eg_tunnel *t = s->data;
    (void)rst_sent;
    if (s != &t->app) {
        tt__free(s);
    }
    tunnel_release(t);
}

/* A new upstream stream for the next connect attempt. */
static int tunnel_new_up(struct tt__eg_tunnel *t)
{
    t->up = tt__calloc(1, sizeof(*t->up));
    if (!t->up) {
        return TETHER_ENOMEM;
    }
    int rv = tt__stream_init(&t->eg->defer, t->up);
    t->up->data = t;
    t->live++;
    return rv;
}

/* Closes the current upstream stream, if any. */
static void tunnel_close_up(struct tt__eg_tunnel *t, bool reset)
{
    struct tt__stream *up = t->up;
    t->up = NULL;
    if (up && reset) {
        tt__stream_close_abort(up, tunnel_stream_closed);
    } else if (up) {
        tt__stream_close_now(up, tunnel_stream_closed);
    }
}

static void tunnel_handle_closed(uv_handle_t *h)
{
    tunnel_release(h->data);
}

/* Ends the tunnel. `reset`: the close that ended it was an RST (or an error), so the other
 * side gets one too; otherwise both sides close plainly (their FINs were already passed). */
static void tunnel_close(struct tt__eg_tunnel *t, bool reset)
{
    if (t->closing) {
        return;
    }
    t->closing = true;
    if (reset) {
        tt__stream_close_abort(&t->app, tunnel_stream_closed);
    } else {
        tt__stream_close_now(&t->app, tunnel_stream_closed);
    }
    tunnel_close_up(t, reset);
    uv_timer_stop(&t->backoff);
    uv_close((uv_handle_t *)&t->backoff, tunnel_handle_closed);
    (void)uv_cancel((uv_req_t *)&t->gai); /* a resolution still running ends as cancelled */
}

/* Sends FIN on `s` once its queued writes are out, keeping its read side open. */
static void tunnel_shutdown_cb(uv_shutdown_t *req, int status)
{
    (void)status;
    tt__free(req);
}

static void tunnel_half_close(struct tt__stream *s)
{
    uv_shutdown_t *req = tt__malloc(sizeof(*req));
    if (req && uv_shutdown(req, (uv_stream_t *)&s->tcp, tunnel_shutdown_cb) != 0) {
        tt__free(req);
    }
}

static void tunnel_on_read(struct tt__stream *s, int status, const char *data, size_t len);

static struct tt__stream *tunnel_other(struct tt__eg_tunnel *t, struct tt__stream *s)
{
    return s == &t->app ? t->up : &t->app;
}

/* The side `to` wrote out: resume reading its peer once the queue is short again. */
static void tunnel_write_done(struct tt__stream *to, int status, void *arg)
{
    struct tt__eg_tunnel *t = arg;
    if (t->closing) {
        return;
    }
    if (status != 0) {
        tunnel_close(t, true); /* the side we write to is gone: the other one learns by RST */
        return;
    }
    struct tt__stream *from = tunnel_other(t, to);
    bool from_eof = from == &t->app ? t->app_eof : t->up_eof;
    if (!from->reading && !from_eof && tt__stream_write_queue_size(to) < TUNNEL_HIGH_WATER) {
        (void)tt__stream_read_start(from, tunnel_on_read);
    }
}

static void tunnel_on_read(struct tt__stream *s, int status, const char *data, size_t len)
{
    struct tt__eg_tunnel *t = s->data;
    struct tt__stream *to = tunnel_other(t, s);
    if (status == 0) {
        if (tt__stream_write(to, data, len, tunnel_write_done, t) != 0) {
            tunnel_close(t, true);
            return;
        }
        if (s == &t->app) {
            t->eg->stats.bytes_up += len;
        } else {
            t->eg->stats.bytes_down += len;
        }
        if (tt__stream_write_queue_size(to) >= TUNNEL_HIGH_WATER) {
            tt__stream_read_stop(s);
        }
        return;
    }
    if (status == TETHER_EEOF) {
        /* A FIN: pass it on and keep the other direction open until it ends as well. */
        *(s == &t->app ? &t->app_eof : &t->up_eof) = true;
        if (t->app_eof && t->up_eof) {
            tunnel_close(t, false);
        } else {
            tunnel_half_close(to);
        }
        return;
    }
    tunnel_close(t, true); /* a reset or another error: the other side gets an RST */
}

/* The answer to CONNECT when the origin cannot be reached, then the app's connection ends. */
static void tunnel_fail(struct tt__eg_tunnel *t, const struct tether_failure *f)
{
    char msg[320];
    if (tether_failure_message(f, msg, sizeof(msg)) < 0 || !msg[0]) {
        (void)snprintf(msg, sizeof(msg), "%s", tether_strerror(f->code));
    }
    char body[1024];
    tt__eg_failure_json(body, sizeof(body), msg, f, t->attempt, false, false);
    char head[1024];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\n"
                     "Via: " TT__EG_VIA "\r\nX-Tether-Error: %s\r\nX-Tether-Code: %s\r\n"
                     "X-Tether-Phase: %s\r\nX-Tether-Attempts: %u\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     msg, tether_err_name(f->code), tether_phase_name(f->phase), t->attempt,
                     strlen(body));
    t->eg->stats.failed_502++;
    if (n > 0 && (size_t)n < sizeof(head)) {
        (void)tt__stream_write(&t->app, head, (size_t)n, NULL, NULL);
        (void)tt__stream_write(&t->app, body, strlen(body), NULL, NULL);
    }
    t->closing = true;
    tt__stream_close_graceful(&t->app, 5000, 1000, tunnel_stream_closed);
    tunnel_close_up(t, false);
    uv_timer_stop(&t->backoff);
    uv_close((uv_handle_t *)&t->backoff, tunnel_handle_closed);
}

static void tunnel_dial_timer(uv_timer_t *timer);

/* A connect failed: another attempt after a full-jitter backoff, or the 502. */
static void tunnel_retry_or_fail(struct tt__eg_tunnel *t, const struct tether_failure *f)
{
    const struct tether_policy *p = &t->eg->policy;
    if (t->attempt >= p->max_attempts || !tether_err_is_transient(f->code) ||
        f->code == TETHER_ENOTFOUND) {
        tunnel_fail(t, f);
        return;
    }
    /* The policy's own backoff (base, cap, jitter), as the client's retries use. */
    uint64_t delay = tt__backoff_delay(p, t->attempt, &t->eg->rng);
    /* The failed stream can only be closed: a fresh one takes the next attempt. */
    tunnel_close_up(t, false);
    (void)uv_timer_start(&t->backoff, tunnel_dial_timer, delay, 0);
}

static void tunnel_connected(struct tt__stream *s, int status)
{
    struct tt__eg_tunnel *t = s->data;
    if (t->closing) {
        return;
    }
    if (status != 0) {
        struct tether_failure fail;
        tt__stream_failure(s, &fail);
        tunnel_retry_or_fail(t, &fail);
        return;
    }
    t->eg->stats.tunnels++;
    (void)uv_tcp_keepalive(&t->up->tcp, 1, TUNNEL_KEEPALIVE_S);
    (void)uv_tcp_keepalive(&t->app.tcp, 1, TUNNEL_KEEPALIVE_S);
    static const char ok[] = "HTTP/1.1 200 Connection Established\r\nVia: " TT__EG_VIA "\r\n\r\n";
    int rv = tt__stream_write(&t->app, ok, sizeof(ok) - 1, NULL, NULL);
    if (rv == 0 && t->pending_len) {
        rv = tt__stream_write(t->up, t->pending, t->pending_len, NULL, NULL);
    }
    rv = rv ? rv : tt__stream_read_start(&t->app, tunnel_on_read);
    rv = rv ? rv : tt__stream_read_start(t->up, tunnel_on_read);
    if (rv != 0) {
        tunnel_close(t, true);
    }
}

static void tunnel_dial(struct tt__eg_tunnel *t)
{
    t->attempt++;
    int rv = tunnel_new_up(t);
    if (rv == 0) {
        rv = tt__stream_connect(t->up, (const struct sockaddr *)&t->addr,
                                t->eg->policy.connect_timeout_ms, NULL, NULL, tunnel_connected);
    }
    if (rv != 0) {
        struct tether_failure f;
        tether_failure_init(&f);
        f.code = rv;
        f.phase = TETHER_PHASE_CONNECT;
        f.syscall = TETHER_SYSCALL_CONNECT;
        (void)snprintf(f.peer, sizeof(f.peer), "%.63s", t->authority);
        tunnel_fail(t, &f);
    }
}

static void tunnel_dial_timer(uv_timer_t *timer)
{
    struct tt__eg_tunnel *t = timer->data;
    if (!t->closing) {
        tunnel_dial(t);
    }
}

static void tunnel_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct tt__eg_tunnel *t = req->data;
    if (status == 0 && res && res->ai_addrlen <= sizeof(t->addr)) {
        memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
    }
    if (res) {
        uv_freeaddrinfo(res);
    }
    if (t->closing) {
        tunnel_release(t); /* the resolution's reference, maybe the last */
        return;
    }
    tunnel_release(t); /* the app stream still holds the tunnel */
    if (status != 0 || !t->addr.ss_family) {
        struct tether_failure f;
        tt__failure_from_uv(&f, TETHER_SYSCALL_GETADDRINFO, status ? status : UV_EAI_NONAME);
        f.code = status == UV_EAI_AGAIN ? TETHER_EAI_AGAIN : TETHER_ENOTFOUND;
        f.phase = TETHER_PHASE_DNS;
        (void)snprintf(f.host, sizeof(f.host), "%s", t->host);
        tunnel_fail(t, &f);
        return;
    }
    if (t->addr.ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)&t->addr)->sin6_port = htons(t->port);
    } else {
        ((struct sockaddr_in *)&t->addr)->sin_port = htons(t->port);
    }
    tunnel_dial(t);
}

int tt__eg_tunnel_start(struct tether_egress *eg, uv_os_sock_t fd, const char *host, uint16_t port,
                        const char *pending, size_t pending_len)
{
    struct tt__eg_tunnel *t = tt__calloc(1, sizeof(*t));
    if (!t || (pending_len && !(t->pending = tt__malloc(pending_len)))) {
        tt__free(t);
        return TETHER_ENOMEM;
    }
    t->eg = eg;
    if (pending_len) {
        memcpy(t->pending, pending, pending_len);
    }
    t->pending_len = pending_len;
    (void)snprintf(t->host, sizeof(t->host), "%s", host);
    (void)snprintf(t->authority, sizeof(t->authority), "%s%s%s:%u", strchr(host, ':') ? "[" : "",
                   host, strchr(host, ':') ? "]" : "", (unsigned)port);
    t->port = port;
    int rv = tt__stream_init(&eg->defer, &t->app);
    t->app.data = t;
    rv = rv ? rv : tt__stream_open_fd(&t->app, (int)fd);
    if (rv != 0) {
        tt__free(t->pending);
        tt__free(t);
        return rv;
    }
    tt__list_insert_tail(&eg->tunnels, &t->link);
    eg->ntunnels++;
    t->live = 2; /* app and the backoff timer; each upstream stream adds one */
    (void)uv_timer_init(eg->loop, &t->backoff);
    t->backoff.data = t;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&t->addr) == 0 ||
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&t->addr) == 0) {
        tunnel_dial(t);
        return 0;
    }
    memset(&t->addr, 0, sizeof(t->addr));
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    t->gai.data = t;
    t->live++;
    if (uv_getaddrinfo(eg->loop, &t->gai, tunnel_resolved, host, NULL, &hints) != 0) {
        t->live--;
        struct tether_failure f;
        tether_failure_init(&f);
        f.code = TETHER_ENOTFOUND;
        f.phase = TETHER_PHASE_DNS;
        f.syscall = TETHER_SYSCALL_GETADDRINFO;
        (void)snprintf(f.host, sizeof(f.host), "%s", host);
        tunnel_fail(t, &f);
    }
    return 0;
}

void tt__eg_tunnels_close(struct tether_egress *eg)
{
    struct tt__list *it = eg->tunnels.next;
    while (it != &eg->tunnels) {
        struct tt__eg_tunnel *t = tt__container_of(it, struct tt__eg_tunnel, link);
        it = it->next;
        tunnel_close(t, false);
    }
}
