/* SPDX-License-Identifier: MIT */
/* One libpq connection on the caller's loop: the non-blocking connect (PQconnectStartParams,
 * PQconnectPoll), commands sent with PQsendQueryParams and read with PQconsumeInput as uv_poll
 * reports the socket ready, and the watch on an idle connection that notices at once when the
 * server closes it or sends a FATAL (P1). libpq closes its socket by itself when it finds the
 * connection broken, so after every libpq call the poll handle is re-bound to PQsocket. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "pgpool/pgpool_int.h"

static void conn_poll_cb(uv_poll_t *handle, int status, int events);

/* What a connection waits for between writes: data, or the peer's FIN (EPOLLRDHUP). */
#define CONN_READ (UV_READABLE | UV_DISCONNECT)

static void handle_closed(uv_handle_t *handle)
{
    struct pgc_handle *h = tt__container_of(handle, struct pgc_handle, poll);
    struct tether_pgpool *p = h->pool;
    if (h->pg) {
        PQfinish(h->pg);
    }
    tether_free(h);
    p->pending_closes--;
    tt__pgpool_handle_closed(p);
}

/* Stops polling and lets the handle go; `finish` hands it the PGconn to finish once closed. */
static void conn_drop_handle(tether_pgconn *c, bool finish)
{
    struct pgc_handle *h = c->h;
    if (!h) {
        return;
    }
    c->h = NULL;
    c->fd = -1;
    c->events = 0;
    h->pg = finish ? c->pg : NULL;
    h->poll.data = NULL;
    c->pool->pending_closes++;
    uv_close((uv_handle_t *)&h->poll, handle_closed);
}

/* Polls `events` on the connection's current socket, binding a new handle when libpq changed
 * (or closed) it. The stale registration is dropped first: libuv allows one handle per fd. */
static void conn_poll(tether_pgconn *c, int events)
{
    int fd = PQsocket(c->pg);
    if (c->h && fd == c->fd && events && events == c->events && c->state != PGC_CONNECTING) {
        return; /* already polled: no epoll_ctl per query */
    }
    if (c->h && fd != c->fd) {
        uv_poll_stop(&c->h->poll);
        conn_drop_handle(c, false);
    }
    if (fd < 0) {
        return;
    }
    if (!c->h) {
        struct pgc_handle *h = tether_malloc(sizeof(*h));
        if (!h) {
            return; /* the deadline or the next use finds the connection unusable */
        }
        memset(h, 0, sizeof(*h));
        h->pool = c->pool;
        if (uv_poll_init(c->pool->loop, &h->poll, fd) != 0) {
            tether_free(h);
            return;
        }
        h->poll.data = c;
        c->h = h;
        c->fd = fd;
        c->events = 0;
    }
    /* uv_poll_start re-registers the fd every time, which also covers libpq reopening a
     * socket under the same number while it tries the next address. */
    c->events = events;
    if (events) {
        uv_poll_start(&c->h->poll, events, conn_poll_cb);
    } else {
        uv_poll_stop(&c->h->poll);
    }
}

/* After libpq found the connection broken its socket is gone: stop polling it at once. */
static void conn_sync(tether_pgconn *c)
{
    if (c->h && PQsocket(c->pg) != c->fd) {
        uv_poll_stop(&c->h->poll);
        conn_drop_handle(c, false);
    }
}

/* libpq hands an ErrorResponse that arrives while no command runs to the notice receiver:
 * that is the server saying why it is about to close an idle session. */
static void conn_notice(void *arg, const PGresult *res)
{
    tether_pgconn *c = arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (!c || !sev || (strcmp(sev, "FATAL") != 0 && strcmp(sev, "PANIC") != 0)) {
        return;
    }
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorMessage(res);
    (void)snprintf(c->fatal_sqlstate, sizeof(c->fatal_sqlstate), "%s", state ? state : "");
    (void)snprintf(c->fatal_msg, sizeof(c->fatal_msg), "%s", msg ? msg : "");
}

tether_pgconn *tt__pgconn_start(struct tether_pgpool *p, char *errbuf, size_t errlen)
{
    tether_pgconn *c = tether_malloc(sizeof(*c));
    if (!c) {
        (void)snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    memset(c, 0, sizeof(*c));
    c->pool = p;
    c->fd = -1;
    c->state = PGC_CONNECTING;
    tt__list_init(&c->link);
    c->pg = PQconnectStartParams(p->keys, p->values, 0);
    if (!c->pg) {
        tether_free(c);
        (void)snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        (void)snprintf(errbuf, errlen, "%s", PQerrorMessage(c->pg));
        PQfinish(c->pg);
        tether_free(c);
        return NULL;
    }
    PQsetNoticeReceiver(c->pg, conn_notice, c);
    uint64_t now = tt__pgpool_now(p);
    c->created_ms = now;
    c->deadline_ms = p->o.connect_timeout_ms ? now + p->o.connect_timeout_ms : 0;
    /* PQconnectStartParams documents the first wait as "as if PGRES_POLLING_WRITING". */
    conn_poll(c, UV_WRITABLE);
    if (!c->h) {
        PQfinish(c->pg);
        tether_free(c);
        (void)snprintf(errbuf, errlen, "cannot poll the connection's socket");
        return NULL;
    }
    return c;
}

void tt__pgconn_close(tether_pgconn *c)
{
    tt__list_remove(&c->link);
    if (c->h) {
        uv_poll_stop(&c->h->poll);
        conn_drop_handle(c, true);
    } else {
        PQfinish(c->pg);
    }
    PQclear(c->result);
    tether_free(c);
}

static void conn_connect_step(tether_pgconn *c)
{
    PostgresPollingStatusType st = PQconnectPoll(c->pg);
    switch (st) {
    case PGRES_POLLING_READING:
        conn_poll(c, UV_READABLE);
        break;
    case PGRES_POLLING_WRITING:
        conn_poll(c, UV_WRITABLE);
        break;
    case PGRES_POLLING_OK:
        if (PQsetnonblocking(c->pg, 1) != 0) {
            tt__pgpool_conn_failed(c, PQerrorMessage(c->pg));
            return;
        }
        conn_poll(c, 0);
        c->deadline_ms = 0;
        tt__pgpool_conn_ready(c);
        break;
    default:
        conn_sync(c);
        tt__pgpool_conn_failed(c, PQerrorMessage(c->pg));
        break;
    }
}

bool tt__pgconn_send(tether_pgconn *c, const char *sql, const char *const *params, int nparams)
{
    PQclear(c->result);
    c->result = NULL;
    c->first_sqlstate[0] = '\0';
    c->first_error[0] = '\0';
    c->sent = false;
    int ok = sql ? PQsendQueryParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0)
                 : PQsendQuery(c->pg, "");
    conn_sync(c);
    if (!ok) {
        return false;
    }
    c->sent = true;
    int f = PQflush(c->pg);
    conn_sync(c);
    conn_poll(c, CONN_READ | (f == 1 ? UV_WRITABLE : 0));
    return true;
}

/* Reads what arrived and collects results; on the command's end hands over to the pool. */
static void conn_command_io(tether_pgconn *c, int events, bool socket_error)
{
    bool lost = false;
    if (events & UV_WRITABLE) {
        int f = PQflush(c->pg);
        conn_sync(c);
        lost = f < 0;
        if (f == 0 && c->h) {
            conn_poll(c, CONN_READ);
        }
    }
    if ((events & UV_READABLE) && !lost) {
        /* 0 when the flush it starts with or the read failed: the connection is gone even if
         * PQstatus still says OK (a write into a closed socket), and PQgetResult then reports
         * the error at once instead of waiting. */
        lost = PQconsumeInput(c->pg) == 0;
        conn_sync(c);
    }
    /* libuv reported POLLERR (a reset): what could be read is read, the rest never comes. */
    lost |= socket_error;
    while (lost || !PQisBusy(c->pg)) {
        PGresult *r = PQgetResult(c->pg);
        conn_sync(c);
        if (!r) {
            break;
        }
        ExecStatusType st = PQresultStatus(r);
        if ((st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR) && !c->first_error[0]) {
            const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            (void)snprintf(c->first_sqlstate, sizeof(c->first_sqlstate), "%s", state ? state : "");
            (void)snprintf(c->first_error, sizeof(c->first_error), "%s", PQresultErrorMessage(r));
        }
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
            /* COPY is not supported through the pool; the connection is in the middle of it
             * and cannot be reused: it is closed with the query's failure. */
            PQclear(r);
            conn_poll(c, 0);
            c->unsupported = true;
            (void)snprintf(c->first_error, sizeof(c->first_error),
                           "COPY is not supported by the pool");
            tt__pgquery_command_done(c, false);
            return;
        }
        PQclear(c->result);
        c->result = r;
    }
    if (!lost && PQisBusy(c->pg) && PQstatus(c->pg) != CONNECTION_BAD) {
        return; /* more to come */
    }
    /* Still polled for reading: the next command or the idle watch wants the same. */
    conn_poll(c, lost ? 0 : CONN_READ);
    bool ok = !lost && PQstatus(c->pg) == CONNECTION_OK;
    if (!ok && !c->first_error[0]) {
        (void)snprintf(c->first_error, sizeof(c->first_error), "%s",
                       c->fatal_msg[0] ? c->fatal_msg : PQerrorMessage(c->pg));
        (void)snprintf(c->first_sqlstate, sizeof(c->first_sqlstate), "%s", c->fatal_sqlstate);
    }
    c->idle_since_ms = tt__pgpool_now(c->pool);
    ExecStatusType st = c->result ? PQresultStatus(c->result) : PGRES_FATAL_ERROR;
    switch (c->state) {
    case PGC_VALIDATING:
        tt__pgpool_validation_done(c, ok && st == PGRES_EMPTY_QUERY);
        break;
    case PGC_ROLLBACK:
        if (ok && st == PGRES_COMMAND_OK) {
            tt__pgpool_conn_idle(c);
        } else {
            tt__pgpool_evict(c, "rollback failed", c->first_sqlstate);
        }
        break;
    default:
        tt__pgquery_command_done(c, ok);
        break;
    }
}

/* What a readable idle socket means: nothing (EAGAIN, a NOTIFY), or the reason it is dead. */
static const char *conn_check(tether_pgconn *c)
{
    if (c->fd < 0 || PQstatus(c->pg) != CONNECTION_OK) {
        return "broken";
    }
    char b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) {
        return "eof";
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            return NULL;
        }
        return errno == ECONNRESET ? "rst" : "error";
    }
    int ok = PQconsumeInput(c->pg);
    conn_sync(c);
    PGnotify *nt;
    while ((nt = PQnotifies(c->pg)) != NULL) {
        PQfreemem(nt);
    }
    if (c->fatal_sqlstate[0] || c->fatal_msg[0]) {
        return "fatal";
    }
    if (!ok || PQstatus(c->pg) != CONNECTION_OK) {
        return "eof";
    }
    return NULL;
}

bool tt__pgconn_alive(tether_pgconn *c, const char **reason)
{
    *reason = conn_check(c);
    return *reason == NULL;
}

void tt__pgconn_watch(tether_pgconn *c)
{
    conn_poll(c, c->pool->o.watch_idle ? CONN_READ : 0);
}

void tt__pgconn_unwatch(tether_pgconn *c)
{
    conn_poll(c, 0);
}

static void conn_poll_cb(uv_poll_t *handle, int status, int events)
{
    tether_pgconn *c = handle->data;
    if (!c) {
        return;
    }
    if (status < 0) {
        /* POLLERR: libuv has stopped the handle. Let libpq read what it can and find out. */
        c->events = 0;
        events = UV_READABLE;
    }
    if (events & UV_DISCONNECT) {
        events |= UV_READABLE; /* a FIN: reading finds it */
    }
    switch (c->state) {
    case PGC_CONNECTING:
        conn_connect_step(c);
        break;
    case PGC_IDLE: {
        const char *reason = conn_check(c);
        if (reason) {
            tt__pgpool_evict(c, reason, c->fatal_sqlstate);
        }
        break;
    }
    case PGC_VALIDATING:
    case PGC_BUSY:
    case PGC_ROLLBACK:
        conn_command_io(c, events, status < 0);
        break;
    case PGC_HELD:
        conn_poll(c, 0);
        break;
    }
}
