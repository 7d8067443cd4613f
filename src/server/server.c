/* SPDX-License-Identifier: MIT */
/* The server: listening without accept-and-close, connection limits that queue, reclaiming
 * idle connections, graceful shutdown, and the counters of S15. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/server_int.h"

/* Accepting pauses this long after EMFILE/ENFILE (nginx's accept_mutex_delay), instead of
 * libuv's trick of accepting and closing, which resets the very clients we could not serve. */
#define SERVER_EMFILE_RETRY_MS 500
/* Connections accepted per wake-up, so a flood cannot starve established connections. */
#define SERVER_ACCEPT_BATCH 64

static const char *const server_close_cause_names[] = {
#define CAUSE_NAME(name, str) str,
    TETHER_CLOSE_CAUSE_MAP(CAUSE_NAME)
#undef CAUSE_NAME
};

const char *tether_close_cause_name(enum tether_close_cause cause)
{
    return (unsigned)cause < TETHER_CLOSE_CAUSE_COUNT ? server_close_cause_names[cause]
                                                      : "unknown";
}

void tether_server_options_init(struct tether_server_options *o)
{
    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->backlog = 511;
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
static void server_start_polling(struct tether_server *srv);

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
    void *data = srv->opts.data;
    tt__tls_ctx_free(srv->tls);
    tt__free(srv->host);
    tt__free(srv->tls_cert_file);
    tt__free(srv->tls_key_file);
    tt__free(srv);
    if (cb) {
        cb(data);
    }
}

static void server_stop_polling(struct tether_server *srv)
{
    if (srv->polling) {
        uv_poll_stop(&srv->listen_poll);
        srv->polling = false;
    }
}

/* True when a client is waiting in the listen queue. */
static bool server_backlog_pending(const struct tether_server *srv)
{
    struct pollfd pfd = {.fd = srv->listen_fd, .events = POLLIN};
    return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

/* S10: make room for a waiting client by closing the least recently idle connection that is
 * past its fresh period (nginx's ngx_drain_connections). One per waiting client: a connection
 * nobody needs is never taken. */
static bool server_reclaim_one(struct tether_server *srv)
{
    if (tt__list_empty(&srv->idle)) {
        return false;
    }
    struct conn *c = tt__container_of(srv->idle.next, struct conn, idle_link);
    /* The list is ordered by idle time: if the oldest is fresh, all are. */
    if (tt__server_now(srv) - c->idle_since_ms < srv->opts.fresh_idle_protect_ms) {
        return false;
    }
    tt__conn_close(c, TETHER_CLOSE_RECLAIMED);
    return true;
}

/* Connections being closed (lingering) do not count: their slot is already given up. */
static bool server_at_limit(const struct tether_server *srv)
{
    return srv->opts.max_connections &&
           srv->nconns - srv->nclosing >= srv->opts.max_connections;
}

/* Makes a slot for a waiting client when at the limit; false when none can be made. */
static bool server_make_room(struct tether_server *srv)
{
    if (!server_at_limit(srv)) {
        return true;
    }
    return server_backlog_pending(srv) && server_reclaim_one(srv);
}

static void server_on_accept_timer(uv_timer_t *t)
{
    struct tether_server *srv = t->data;
    if (srv->shutting_down || !srv->listening) {
        return;
    }
    if (!server_make_room(srv)) {
        uv_timer_start(&srv->accept_timer, server_on_accept_timer,
                       srv->opts.fresh_idle_protect_ms ? srv->opts.fresh_idle_protect_ms : 100, 0);
        return;
    }
    server_start_polling(srv);
}

/* S11: stop accepting instead of accept-and-close; the kernel's backlog queues the rest. */
static void server_pause(struct tether_server *srv, uint64_t retry_ms)
{
    server_stop_polling(srv);
    srv->stats.accept_paused++;
    uv_timer_start(&srv->accept_timer, server_on_accept_timer, retry_ms, 0);
}

/* Accepts one pending connection; false when there is none (or accepting must pause). */
static bool server_accept_one(struct tether_server *srv)
{
    int fd = accept(srv->listen_fd, NULL, NULL);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            server_pause(srv, SERVER_EMFILE_RETRY_MS);
        }
        return false; /* EAGAIN, ECONNABORTED, EINTR: nothing more to take now */
    }
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    srv->stats.connections_accepted++;
    tt__conn_accept(srv, fd);
    return true;
}

static void server_on_listen_readable(uv_poll_t *p, int status, int events)
{
    (void)events;
    struct tether_server *srv = p->data;
    if (status < 0) {
        server_pause(srv, SERVER_EMFILE_RETRY_MS);
        return;
    }
    for (int i = 0; i < SERVER_ACCEPT_BATCH; i++) {
        if (!server_make_room(srv)) {
            server_pause(srv, srv->opts.fresh_idle_protect_ms ? srv->opts.fresh_idle_protect_ms
                                                              : 100);
            return;
        }
        if (!server_accept_one(srv)) {
            return;
        }
    }
}

static void server_start_polling(struct tether_server *srv)
{
    if (!srv->polling && srv->listening && !srv->shutting_down) {
        if (uv_poll_start(&srv->listen_poll, UV_READABLE, server_on_listen_readable) == 0) {
            srv->polling = true;
        }
    }
}

static void server_listener_closed(uv_handle_t *h)
{
    struct tether_server *srv = h->data;
    /* uv_poll does not own the fd, and the fd must outlive the handle: closing it earlier could
     * let a new socket reuse the number while libuv still watches it. */
    close(srv->listen_fd);
    srv->listen_fd = -1;
    srv->open_handles--;
    server_maybe_finish(srv);
}

/* Stops listening for good: from now on new clients are refused by the kernel. */
static void server_close_listener(struct tether_server *srv)
{
    server_stop_polling(srv);
    uv_timer_stop(&srv->accept_timer);
    if (srv->listening) {
        srv->listening = false;
        uv_close((uv_handle_t *)&srv->listen_poll, server_listener_closed);
    }
}

static void server_on_defer(uv_idle_t *h)
{
    struct tether_server *srv = h->data;
    /* Callbacks may defer again: take the current list and run only that. */
    struct tt__list batch;
    tt__list_init(&batch);
    if (!tt__list_empty(&srv->deferred)) {
        batch.next = srv->deferred.next;
        batch.prev = srv->deferred.prev;
        batch.next->prev = &batch;
        batch.prev->next = &batch;
        tt__list_init(&srv->deferred);
    }
    while (!tt__list_empty(&batch)) {
        struct tether_request *req = tt__container_of(batch.next, struct tether_request,
                                                      defer_link);
        tt__list_remove(&req->defer_link);
        tether_drain_cb cb = req->drain_cb;
        req->drain_cb = NULL;
        if (cb) {
            cb(req);
        }
    }
    if (tt__list_empty(&srv->deferred)) {
        uv_idle_stop(&srv->defer_idle);
    }
}

void tt__server_defer_drain(struct tether_server *srv, struct tether_request *req)
{
    if (tt__list_empty(&req->defer_link)) {
        tt__list_insert_tail(&srv->deferred, &req->defer_link);
    }
    if (!srv->closing) {
        uv_idle_start(&srv->defer_idle, server_on_defer);
    }
}

void tt__server_conn_gone(struct tether_server *srv, struct conn *c, bool rst_sent,
                          enum tether_close_cause cause)
{
    (void)c;
    srv->nconns--;
    srv->nclosing--;
    srv->stats.closes[cause]++;
    if (rst_sent) {
        srv->stats.rst_sent++;
    } else if (cause != TETHER_CLOSE_PEER_RESET) {
        /* After the peer's RST the kernel sends nothing more: neither counter applies. */
        srv->stats.fin_sent++;
    }
    if (!srv->polling && srv->listening && !srv->shutting_down && !server_at_limit(srv)) {
        uv_timer_stop(&srv->accept_timer);
        server_start_polling(srv);
    }
    server_maybe_finish(srv);
}

void tt__server_conn_idle(struct tether_server *srv, struct conn *c, bool idle)
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

static int server_listen(struct tether_server *srv)
{
    char text[300];
    struct sockaddr_storage ss;
    int rv;
    if (strchr(srv->host, ':')) {
        rv = snprintf(text, sizeof(text), "[%s]:%u", srv->host, (unsigned)srv->opts.port);
    } else {
        rv = snprintf(text, sizeof(text), "%s:%u", srv->host, (unsigned)srv->opts.port);
    }
    if (rv < 0 || (size_t)rv >= sizeof(text)) {
        return TETHER_EINVAL;
    }
    rv = tt__addr_parse(text, NULL, &ss);
    if (rv != 0) {
        return rv;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0) {
        return tt__err_from_errno(errno);
    }
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    int flags = fcntl(fd, F_GETFL);
    socklen_t slen = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        bind(fd, (struct sockaddr *)&ss, slen) < 0 ||
        listen(fd, srv->opts.backlog > 0 ? srv->opts.backlog : 511) < 0) {
        rv = tt__err_from_errno(errno);
        close(fd);
        return rv;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0) {
        srv->port = ntohs(bound.ss_family == AF_INET6
                              ? ((struct sockaddr_in6 *)&bound)->sin6_port
                              : ((struct sockaddr_in *)&bound)->sin_port);
    }
    rv = uv_poll_init(srv->loop, &srv->listen_poll, fd);
    if (rv != 0) {
        close(fd);
        return tt__err_from_uv(rv);
    }
    srv->listen_poll.data = srv;
    srv->open_handles++;
    srv->listen_fd = fd;
    srv->listening = true;
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

int tether_server_new(uv_loop_t *loop, const struct tether_server_options *o,
                      tether_server **out)
{
    if (!loop || !o || !out || !o->on_request ||
        (!o->tls_cert_file) != (!o->tls_key_file) || o->max_head_bytes < 64 ||
        o->max_fields == 0) {
        return TETHER_EINVAL;
    }
    struct tether_server *srv = tt__calloc(1, sizeof(*srv));
    if (!srv) {
        return TETHER_ENOMEM;
    }
    int rv = TETHER_ENOMEM;
    srv->loop = loop;
    srv->opts = *o;
    srv->listen_fd = -1;
    tt__list_init(&srv->conns);
    tt__list_init(&srv->idle);
    tt__list_init(&srv->deferred);
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
    if (srv->tls_cert_file) {
        char detail[256];
        rv = tt__tls_ctx_new_server(srv->tls_cert_file, srv->tls_key_file, &srv->tls, detail,
                                    sizeof(detail));
        if (rv != 0) {
            goto fail;
        }
    }
    rv = uv_timer_init(loop, &srv->accept_timer);
    if (rv != 0) {
        rv = tt__err_from_uv(rv);
        goto fail;
    }
    srv->accept_timer.data = srv;
    srv->open_handles++;
    uv_timer_init(loop, &srv->grace_timer);
    srv->grace_timer.data = srv;
    srv->open_handles++;
    uv_idle_init(loop, &srv->defer_idle);
    srv->defer_idle.data = srv;
    srv->open_handles++;
    rv = server_listen(srv);
    if (rv != 0) {
        goto fail_handles;
    }
    server_start_polling(srv);
    *out = srv;
    return 0;

fail_handles:
    /* The timers are initialised: they must be closed before the memory goes, which
     * server_maybe_finish does once both close callbacks have run. */
    srv->closing = true;
    uv_close((uv_handle_t *)&srv->accept_timer, server_handle_closed);
    uv_close((uv_handle_t *)&srv->grace_timer, server_handle_closed);
    uv_close((uv_handle_t *)&srv->defer_idle, server_handle_closed);
    return rv;
fail:
    tt__tls_ctx_free(srv->tls);
    tt__free(srv->host);
    tt__free(srv->tls_cert_file);
    tt__free(srv->tls_key_file);
    tt__free(srv);
    return rv;
}

uint16_t tether_server_port(const tether_server *server)
{
    return server->port;
}

void *tether_server_get_data(const tether_server *server)
{
    return server->opts.data;
}

static void server_close_all(struct tether_server *srv, enum tether_close_cause cause)
{
    struct tt__list *n = srv->conns.next;
    while (n != &srv->conns) {
        struct conn *c = tt__container_of(n, struct conn, link);
        n = n->next; /* closing may unlink c */
        tt__conn_close(c, cause);
    }
}

static void server_on_grace_timer(uv_timer_t *t)
{
    struct tether_server *srv = t->data;
    server_close_all(srv, TETHER_CLOSE_SHUTDOWN);
}

void tether_server_shutdown(tether_server *srv, tether_server_shutdown_cb cb)
{
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
        struct conn *c = tt__container_of(n, struct conn, link);
        n = n->next;
        if (tt__conn_is_idle(c)) {
            tt__conn_close(c, TETHER_CLOSE_SHUTDOWN);
        }
    }
    /* Clients already in the listen queue completed their handshake: closing the listener
     * would reset them. Take them in; each gets one answer with Connection: close, within the
     * grace period. */
    if (srv->listening) {
        while (server_backlog_pending(srv) && server_accept_one(srv)) {
        }
    }
    server_close_listener(srv);
    if (srv->nconns > 0) {
        uv_timer_start(&srv->grace_timer, server_on_grace_timer, srv->opts.shutdown_grace_ms, 0);
    }
    server_maybe_finish(srv);
}

void tether_server_close(tether_server *srv, tether_server_close_cb cb)
{
    if (srv->closing) {
        return;
    }
    srv->closing = true;
    srv->close_cb = cb;
    srv->shutting_down = true;
    server_close_listener(srv);
    uv_close((uv_handle_t *)&srv->accept_timer, server_handle_closed);
    uv_close((uv_handle_t *)&srv->grace_timer, server_handle_closed);
    uv_close((uv_handle_t *)&srv->defer_idle, server_handle_closed);
    server_close_all(srv, TETHER_CLOSE_SHUTDOWN);
    server_maybe_finish(srv);
}

void tether_server_get_stats(const tether_server *srv, struct tether_server_stats *out)
{
    *out = srv->stats;
    out->connections_open = srv->nconns;
    out->connections_idle = srv->nidle;
}
