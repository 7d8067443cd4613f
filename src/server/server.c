/* SPDX-License-Identifier: MIT */
/* The server: listening without accept-and-close, connection limits that queue, reclaiming
 * idle connections, graceful shutdown, and the counters of S15. */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "server/server_int.h"

/* How often a full server without a fresh-idle period looks for a slot again. */
#define SERVER_FULL_RETRY_MS 100

static const char *const server_close_cause_names[] = {
#define CAUSE_NAME(name, str) str,
    TETHER_CLOSE_CAUSE_MAP(CAUSE_NAME)
#undef CAUSE_NAME
};

const char *tether_close_cause_name(enum tether_close_cause cause)
{
    return (unsigned)cause < TETHER_CLOSE_CAUSE_COUNT ? server_close_cause_names[cause] : "unknown";
}

void tether_server_options_init(struct tether_server_options *o)
{
    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->backlog = TT__LISTEN_DEFAULT_BACKLOG;
    o->keep_alive_timeout_ms = 65000;
    o->keep_alive_buffer_ms = 1000;
    o->headers_timeout_ms = 10000;
    o->body_timeout_ms = 30000;
    o->request_timeout_ms = 300000;
    o->send_timeout_ms = 60000;
    o->lingering_time_ms = 30000;
    o->lingering_timeout_ms = 5000;
    o->max_head_bytes = TT__H1_DEFAULT_MAX_HEAD_BYTES;
    o->max_fields = TT__H1_DEFAULT_MAX_FIELDS;
    o->max_chunk_ext_bytes = TT__H1_DEFAULT_MAX_CHUNK_EXT_BYTES;
    o->max_body_bytes = 1024ull * 1024 * 1024;
    o->max_connections = 10000;
    o->max_requests_per_conn = 1000;
    o->max_conn_age_ms = 3600000;
    o->fresh_idle_protect_ms = 1000;
    o->shutdown_grace_ms = 30000;
    o->close_style = TETHER_CLOSE_GRACEFUL;
}

uint64_t tt__server_now(const struct tether_server *srv)
{
    return uv_now(srv->loop);
}

static void server_maybe_finish(struct tether_server *srv);

static void server_handle_closed(uv_handle_t *h)
{
    struct tether_server *srv = h->data;
    srv->open_handles--;
    server_maybe_finish(srv);
}

/* The last step of close: every connection and handle is gone, memory can go. */
static void server_maybe_finish(struct tether_server *srv)
{
    if (srv->nconns > 0) {
        return;
    }
    if (srv->shutting_down && srv->shutdown_cb) {
        tether_server_shutdown_cb cb = srv->shutdown_cb;
        srv->shutdown_cb = NULL;
        cb(srv);
    }
    if (!srv->closing || srv->open_handles > 0) {
        return;
    }
    tether_server_close_cb cb = srv->close_cb;
    void *data = srv->close_data;
    tt__tls_ctx_free(srv->tls);
    tt__free(srv->fields);
    tt__free(srv->host);
    tt__free(srv->tls_cert_file);
    tt__free(srv->tls_key_file);
    tt__free(srv);
    if (cb) {
        cb(data);
    }
}

/* S10: make room for a waiting client by closing the least recently idle connection that is
 * past its fresh period (nginx's ngx_drain_connections). One per waiting client: a connection
 * nobody needs is never taken. Its descriptor is closed before the accept that follows. */
static bool server_reclaim_one(struct tether_server *srv)
{
    if (tt__list_empty(&srv->idle)) {
        return false;
    }
    struct tt__srv_conn *c = tt__container_of(srv->idle.next, struct tt__srv_conn, idle_link);
    /* The list is ordered by idle time: if the oldest is fresh, all are. */
    if (tt__server_now(srv) - c->idle_since_ms < srv->opts.fresh_idle_protect_ms) {
        return false;
    }
    tt__srv_conn_close(c, TETHER_CLOSE_RECLAIMED);
    return true;
}

/* Every open descriptor counts, lingering closes included, so max_connections bounds the
 * server's file descriptors (review finding E2), as nginx's worker_connections counts
 * connections in lingering close. Reclaimed idle connections close at once (see
 * tt__srv_conn_close), so reclaiming still frees a slot for the waiting client. */
static bool server_at_limit(const struct tether_server *srv)
{
    return srv->opts.max_connections && srv->nconns >= srv->opts.max_connections;
}

/* S11: asked before every accept. At the limit, a waiting client gets a reclaimed slot or
 * waits in the kernel's backlog (the listener pauses) instead of being accepted and closed. */
static bool server_may_accept(struct tt__listener *l)
{
    struct tether_server *srv = l->data;
    if (srv->shutting_down) {
        return false;
    }
    if (!server_at_limit(srv)) {
        return true;
    }
    return tt__listener_backlog_pending(l) && server_reclaim_one(srv);
}

static void server_on_accept(struct tt__listener *l, int fd)
{
    struct tether_server *srv = l->data;
    srv->stats.connections_accepted++;
    tt__srv_conn_accept(srv, fd);
}

static void server_listener_closed(struct tt__listener *l)
{
    struct tether_server *srv = l->data;
    srv->open_handles--;
    server_maybe_finish(srv);
}

/* Stops listening for good: from now on new clients are refused by the kernel. */
static void server_close_listener(struct tether_server *srv)
{
    if (srv->listener.open) {
        srv->stats.accept_paused += srv->listener.pauses;
        srv->listener.pauses = 0;
        tt__listener_close(&srv->listener, server_listener_closed);
    }
}

static void server_run_drain(struct tt__defer_item *it)
{
    struct tether_request *req = tt__container_of(it, struct tether_request, drain_item);
    tether_drain_cb cb = req->drain_cb;
    req->drain_cb = NULL;
    if (cb) {
        cb(req);
    }
}

void tt__server_defer_drain(struct tether_server *srv, struct tether_request *req)
{
    /* Also while closing: a detached request's handler learns through it that it can let go,
     * and the queue runs it before the server's memory goes. */
    req->drain_item.cb = server_run_drain;
    tt__defer_queue(&srv->defer, &req->drain_item); /* once: a queued item stays where it is */
}

static void server_defer_closed(struct tt__defer *d)
{
    struct tether_server *srv = d->data;
    srv->open_handles--;
    server_maybe_finish(srv);
}

void tt__server_conn_gone(struct tether_server *srv, struct tt__srv_conn *c, bool rst_sent,
                          enum tether_close_cause cause)
{
    srv->nconns--;
    srv->nclosing--;
    srv->stats.closes[cause]++;
    if (c->taken) {
        /* Handed over (tether_request_take_socket): this close sent nothing. */
    } else if (rst_sent) {
        srv->stats.rst_sent++;
    } else if (cause != TETHER_CLOSE_PEER_RESET) {
        /* After the peer's RST the kernel sends nothing more: neither counter applies. */
        srv->stats.fin_sent++;
    }
    if (srv->listener.open && !srv->shutting_down && !server_at_limit(srv)) {
        tt__listener_resume(&srv->listener);
    }
    server_maybe_finish(srv);
}

void tt__server_conn_idle(struct tether_server *srv, struct tt__srv_conn *c, bool idle)
{
    bool listed = !tt__list_empty(&c->idle_link);
    if (idle && !listed) {
        tt__list_insert_tail(&srv->idle, &c->idle_link);
        srv->nidle++;
    } else if (!idle && listed) {
        tt__list_remove(&c->idle_link);
        srv->nidle--;
    }
}

static int server_listen(struct tether_server *srv, char *errbuf, size_t errbuf_len)
{
    char text[300];
    struct sockaddr_storage ss;
    bool v6 = strchr(srv->host, ':') != NULL;
    int n = snprintf(text, sizeof(text), "%s%s%s:%u", v6 ? "[" : "", srv->host, v6 ? "]" : "",
                     (unsigned)srv->opts.port);
    if (n < 0 || (size_t)n >= sizeof(text) || tt__addr_parse(text, NULL, &ss) != 0) {
        tt__errbuf_set(errbuf, errbuf_len,
                       "invalid host '%s': an IP address or localhost (no name resolution)",
                       srv->host);
        return TETHER_EINVAL;
    }
    int rv = tt__listener_open_shared(srv->loop, &srv->listener, (const struct sockaddr *)&ss,
                                      srv->opts.backlog, srv->opts.reuse_port);
    if (rv != 0) {
        /* Node's words, which users search for: "listen EADDRINUSE: address already in use". */
        int uv_err = uv_translate_sys_error(srv->listener.fail_errno);
        tt__errbuf_set(errbuf, errbuf_len, "%s %s: %s %s", srv->listener.fail_syscall,
                       uv_err_name(uv_err), uv_strerror(uv_err), text);
        return rv;
    }
    srv->listener.data = srv;
    srv->listener.may_accept = server_may_accept;
    srv->listener.full_retry_ms =
        srv->opts.fresh_idle_protect_ms ? srv->opts.fresh_idle_protect_ms : SERVER_FULL_RETRY_MS;
    srv->port = srv->listener.port;
    srv->open_handles++;
    return 0;
}

/* Keeps max_connections below what the process can open, so the limit is what pauses
 * accepting, not EMFILE. */
static unsigned server_fd_budget(unsigned wanted)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) {
        return wanted;
    }
    rlim_t reserve = 64;
    rlim_t budget = rl.rlim_cur > reserve * 2 ? rl.rlim_cur - reserve : rl.rlim_cur / 2;
    return wanted && (rlim_t)wanted <= budget ? wanted : (unsigned)budget;
}

static char *server_strdup(const char *s)
{
    return s ? tt__strndup(s, strlen(s)) : NULL;
}

/* The options a server cannot start with, named; NULL when they are fine. */
static const char *server_options_problem(const struct tether_server_options *o)
{
    if (!o->on_request) {
        return "on_request is required";
    }
    if ((!o->tls_cert_file) != (!o->tls_key_file)) {
        return "HTTPS needs both tls_cert_file and tls_key_file";
    }
    if (o->max_head_bytes < 64) {
        return "max_head_bytes must be at least 64";
    }
    if (o->max_fields == 0) {
        return "max_fields must be at least 1";
    }
    return NULL;
}

int tether_server_new(uv_loop_t *loop, const struct tether_server_options *o, tether_server **out)
{
    if (!loop || !o || !out) {
        return TETHER_EINVAL;
    }
    *out = NULL;
    const char *problem = server_options_problem(o);
    if (problem) {
        tt__errbuf_set(o->errbuf, o->errbuf_len, "%s", problem);
        return TETHER_EINVAL;
    }
    struct tether_server *srv = tt__calloc(1, sizeof(*srv));
    if (!srv) {
        return TETHER_ENOMEM;
    }
    int rv = TETHER_ENOMEM;
    srv->loop = loop;
    srv->opts = *o;
    srv->opts.errbuf = NULL; /* borrowed for this call only */
    srv->opts.errbuf_len = 0;
    tt__list_init(&srv->conns);
    tt__list_init(&srv->idle);
    srv->host = server_strdup(o->host ? o->host : "127.0.0.1");
    srv->tls_cert_file = server_strdup(o->tls_cert_file);
    srv->tls_key_file = server_strdup(o->tls_key_file);
    if (!srv->host || (o->tls_cert_file && (!srv->tls_cert_file || !srv->tls_key_file))) {
        goto fail;
    }
    srv->opts.host = srv->host;
    srv->opts.tls_cert_file = srv->tls_cert_file;
    srv->opts.tls_key_file = srv->tls_key_file;
    srv->opts.max_connections = server_fd_budget(o->max_connections);
    srv->limits.max_head_bytes = o->max_head_bytes;
    srv->limits.max_fields = o->max_fields;
    srv->limits.max_chunk_ext_bytes = o->max_chunk_ext_bytes;
    srv->fields = tt__calloc(o->max_fields, sizeof(*srv->fields));
    if (!srv->fields) {
        goto fail;
    }
    if (srv->tls_cert_file) {
        char detail[256];
        detail[0] = '\0';
        rv = tt__tls_ctx_new_server(srv->tls_cert_file, srv->tls_key_file, &srv->tls, detail,
                                    sizeof(detail));
        if (rv != 0) {
            tt__errbuf_set(o->errbuf, o->errbuf_len, "%s", detail[0] ? detail : "TLS setup failed");
            goto fail;
        }
    }
    /* The listener is the last step that can fail and leaves nothing on the loop when it
     * does; the handles below cannot fail to initialise. So a failed constructor returns with
     * everything freed, as a failed uv_*_init does. */
    rv = server_listen(srv, o->errbuf, o->errbuf_len);
    if (rv != 0) {
        goto fail;
    }
    (void)uv_timer_init(loop, &srv->grace_timer);
    srv->grace_timer.data = srv;
    srv->open_handles++;
    tt__defer_init(loop, &srv->defer);
    srv->defer.data = srv;
    srv->open_handles++;
    tt__listener_start(&srv->listener, server_on_accept);
    *out = srv;
    return 0;

fail:
    tt__tls_ctx_free(srv->tls);
    tt__free(srv->fields);
    tt__free(srv->host);
    tt__free(srv->tls_cert_file);
    tt__free(srv->tls_key_file);
    tt__free(srv);
    return rv;
}

uint16_t tether_server_port(const tether_server *server)
{
    return server ? server->port : 0;
}

void *tether_server_get_data(const tether_server *server)
{
    return server ? server->opts.data : NULL;
}

static void server_close_all(struct tether_server *srv, enum tether_close_cause cause)
{
    struct tt__list *n = srv->conns.next;
    while (n != &srv->conns) {
        struct tt__srv_conn *c = tt__container_of(n, struct tt__srv_conn, link);
        n = n->next; /* closing may unlink c */
        tt__srv_conn_close(c, cause);
    }
}

static void server_on_grace_timer(uv_timer_t *t)
{
    struct tether_server *srv = t->data;
    server_close_all(srv, TETHER_CLOSE_SHUTDOWN);
}

void tether_server_shutdown(tether_server *srv, tether_server_shutdown_cb cb)
{
    if (!srv) {
        return;
    }
    if (cb) {
        srv->shutdown_cb = cb;
    }
    if (srv->shutting_down) {
        server_maybe_finish(srv);
        return;
    }
    srv->shutting_down = true;
    /* Idle connections go at once; busy ones finish their request with Connection: close. */
    struct tt__list *n = srv->conns.next;
    while (n != &srv->conns) {
        struct tt__srv_conn *c = tt__container_of(n, struct tt__srv_conn, link);
        n = n->next;
        if (tt__srv_conn_is_idle(c)) {
            tt__srv_conn_close(c, TETHER_CLOSE_SHUTDOWN);
        }
    }
    /* Clients already in the listen queue completed their handshake: closing the listener
     * would reset them. Take them in; each gets one answer with Connection: close, within the
     * grace period. */
    while (tt__listener_backlog_pending(&srv->listener)) {
        int fd = tt__listener_accept_one(&srv->listener);
        if (fd < 0) {
            break;
        }
        server_on_accept(&srv->listener, fd);
    }
    server_close_listener(srv);
    if (srv->nconns > 0) {
        uv_timer_start(&srv->grace_timer, server_on_grace_timer, srv->opts.shutdown_grace_ms, 0);
    }
    server_maybe_finish(srv);
}

void tether_server_close(tether_server *srv, tether_server_close_cb cb, void *data)
{
    if (!srv || srv->closing) {
        return;
    }
    srv->closing = true;
    srv->close_cb = cb;
    srv->close_data = data;
    srv->shutting_down = true;
    server_close_listener(srv);
    uv_close((uv_handle_t *)&srv->grace_timer, server_handle_closed);
    tt__defer_close(&srv->defer, server_defer_closed);
    server_close_all(srv, TETHER_CLOSE_SHUTDOWN);
    server_maybe_finish(srv);
}

void tether_server_get_stats(const tether_server *srv, struct tether_server_stats *out)
{
    if (!out) {
        return;
    }
    if (!srv) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = srv->stats;
    out->accept_paused += srv->listener.pauses;
    out->connections_open = srv->nconns;
    out->connections_idle = srv->nidle;
}
