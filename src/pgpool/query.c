/* SPDX-License-Identifier: MIT */
/* A query's life: queued for a connection, sent, its result or its failure; the retry rule
 * (rules.c) applied to each failed attempt; the failure record; checked-out connections for
 * transactions; the blocking wrappers. */
#include <string.h>

#include "pgpool/pgpool_int.h"

void tether_pgquery_options_init(struct tether_pgquery_options *o)
{
    if (o) {
        memset(o, 0, sizeof(*o));
    }
}

static void query_release(struct tether_pgquery *q)
{
    PQclear(q->result);
    tether_free(q); /* its SQL and parameters live in the same block */
}

/* One allocation per query: the struct, then the parameter pointers, then the SQL and the
 * parameters' text (a replay needs them, the caller's are borrowed only for the call). */
static struct tether_pgquery *query_new(struct tether_pgpool *p, const char *sql,
                                        const char *const *params, int nparams)
{
    size_t sql_len = sql ? strlen(sql) + 1 : 0;
    size_t text = sql_len;
    for (int i = 0; i < nparams; i++) {
        text += params[i] ? strlen(params[i]) + 1 : 0;
    }
    size_t ptrs = (size_t)nparams * sizeof(char *);
    struct tether_pgquery *q = tether_malloc(sizeof(*q) + ptrs + text);
    if (!q) {
        return NULL;
    }
    memset(q, 0, sizeof(*q));
    char **param_copies = (char **)(void *)(q + 1);
    char *at = (char *)param_copies + ptrs;
    if (sql) {
        memcpy(at, sql, sql_len);
        q->sql = at;
        at += sql_len;
    }
    for (int i = 0; i < nparams; i++) {
        param_copies[i] = NULL;
        if (params[i]) {
            size_t n = strlen(params[i]) + 1;
            memcpy(at, params[i], n);
            param_copies[i] = at;
            at += n;
        }
    }
    q->params = nparams ? param_copies : NULL;
    q->nparams = nparams;
    q->pool = p;
    tt__list_init(&q->link); /* q->failure is "no failure" already: all zero */
    q->start_ms = tt__pgpool_now(p);
    q->acquire_deadline_ms = p->o.acquire_timeout_ms ? q->start_ms + p->o.acquire_timeout_ms : 0;
    return q;
}

static bool query_conn_usable(struct tether_pgpool *p, tether_pgconn *c)
{
    return c->pool == p && c->state == PGC_HELD;
}

int tether_pgpool_query(tether_pgpool *p, const struct tether_pgquery_options *o,
                        tether_pgquery_done_cb done, tether_pgquery **out)
{
    if (out) {
        *out = NULL;
    }
    if (!p || !o || !o->sql || !done || o->nparams < 0 || (o->nparams && !o->params) ||
        (o->conn && !query_conn_usable(p, o->conn))) {
        return TETHER_EINVAL;
    }
    if (p->closing) {
        return TETHER_ECANCELED;
    }
    struct tether_pgquery *q = query_new(p, o->sql, o->params, o->nparams);
    if (!q) {
        return TETHER_ENOMEM;
    }
    q->idempotent = o->idempotent;
    q->explicit_conn = o->conn;
    q->data = o->data;
    q->done = done;
    if (o->conn) {
        o->conn->state = PGC_BUSY; /* reserved: a second query on it is refused */
    }
    p->stats.queries++;
    tt__list_insert_tail(&p->queue, &q->link);
    tt__pgpool_kick(p);
    if (out) {
        *out = q;
    }
    return 0;
}

int tether_pgpool_acquire(tether_pgpool *p, tether_pgpool_acquire_cb cb, void *data)
{
    if (!p || !cb) {
        return TETHER_EINVAL;
    }
    if (p->closing) {
        return TETHER_ECANCELED;
    }
    struct tether_pgquery *q = query_new(p, NULL, NULL, 0);
    if (!q) {
        return TETHER_ENOMEM;
    }
    q->acquire_only = true;
    q->acquire_cb = cb;
    q->data = data;
    tt__list_insert_tail(&p->queue, &q->link);
    tt__pgpool_kick(p);
    return 0;
}

void tether_pgpool_release(tether_pgconn *c)
{
    if (!c || c->state != PGC_HELD) {
        return;
    }
    c->checked_out = false;
    if (c->broken) {
        tt__pgpool_close_conn(c);
        return;
    }
    tt__pgpool_conn_idle(c);
}

/* A connection died under its query. A pooled one is evicted; a checked-out one stays the
 * caller's (it releases it, which closes it) but is dead from now on. */
static void query_conn_dead(struct tether_pgquery *q, tether_pgconn *c, const char *reason,
                            const char *sqlstate)
{
    if (!q->explicit_conn) {
        tt__pgpool_evict(c, reason, sqlstate);
        return;
    }
    if (!c->broken) {
        c->pool->stats.evicted_broken++;
        tt__pgpool_emit(c->pool, TETHER_PGEVENT_CONN_EVICTED, q, 0, reason, sqlstate);
    }
    c->broken = true;
    c->state = PGC_HELD;
    tt__pgconn_unwatch(c);
}

void tt__pgquery_finish(struct tether_pgquery *q)
{
    struct tether_pgpool *p = q->pool;
    q->state = PGQ_DONE;
    q->end_ms = tt__pgpool_now(p);
    tt__list_remove(&q->link);
    if (q->conn && q->conn->query == q) {
        q->conn->query = NULL;
    }
    q->conn = NULL;
    int status = q->failure.code;
    if (q->acquire_only) {
        tether_pgpool_acquire_cb cb = q->acquire_cb;
        void *data = q->data;
        query_release(q);
        cb(p, NULL, status, data);
        return;
    }
    if (status == 0) {
        p->stats.succeeded++;
    } else {
        p->stats.failed++;
    }
    q->done(q, status);
}

void tt__pgquery_fail(struct tether_pgquery *q, int code, const char *detail)
{
    q->failure.code = code;
    q->failure.attempt = q->attempts;
    q->failure.replays = q->replays;
    if (!q->failure.retry_safe) {
        q->failure.retry_safe = q->attempts ? TETHER_RETRY_SAFE_UNKNOWN : TETHER_RETRY_SAFE_YES;
    }
    /* libpq's messages end with a newline and may hold a second, tab-indented line. */
    (void)snprintf(q->failure.detail, sizeof(q->failure.detail), "%s", detail ? detail : "");
    for (char *s = q->failure.detail; *s; s++) {
        if (*s == '\n' || *s == '\t') {
            *s = s[1] ? ' ' : '\0';
        }
    }
    size_t n = strlen(q->failure.detail);
    while (n && q->failure.detail[n - 1] == ' ') {
        q->failure.detail[--n] = '\0';
    }
    tt__pgquery_finish(q);
}

static void query_mark_acquired(struct tether_pgquery *q)
{
    struct tether_pgpool *p = q->pool;
    if (q->acquired_ms) {
        return;
    }
    q->acquired_ms = tt__pgpool_now(p);
    uint64_t waited = q->acquired_ms - q->start_ms;
    p->stats.acquire_ms_total += waited;
    if (waited > p->stats.acquire_ms_max) {
        p->stats.acquire_ms_max = waited;
    }
}

static void query_peer(struct tether_pgquery *q, tether_pgconn *c)
{
    const char *host = PQhost(c->pg);
    const char *port = PQport(c->pg);
    (void)snprintf(q->failure.peer, sizeof(q->failure.peer), "%s:%s", host ? host : "",
                   port ? port : "");
}

/* A failed attempt: the retry rule says whether it goes again. */
static void query_attempt_failed(struct tether_pgquery *q, struct tt__pg_attempt *a,
                                 const char *msg)
{
    struct tether_pgpool *p = q->pool;
    enum tt__pg_verdict v = tt__pg_retry_verdict(a);
    q->failure.retry_safe = tt__pg_retry_safety(a);
    (void)snprintf(q->sqlstate, sizeof(q->sqlstate), "%s", a->sqlstate ? a->sqlstate : "");
    if (v == TT__PG_FAIL || p->closing) {
        tt__pgquery_fail(q, a->code, msg);
        return;
    }
    uint64_t now = tt__pgpool_now(p);
    if (a->connect_failed) {
        q->connect_failures++;
        uint64_t at = now + tt__pg_connect_backoff_ms(q->connect_failures);
        if (q->acquire_deadline_ms && at >= q->acquire_deadline_ms) {
            tt__pgquery_fail(q, a->code, msg);
            return;
        }
        q->state = PGQ_BACKOFF;
        q->retry_at_ms = at;
        tt__list_remove(&q->link);
        tt__list_insert_tail(&p->queries, &q->link);
        tt__pgpool_kick(p);
        return;
    }
    if (v == TT__PG_REPLAY) {
        q->replays++;
        p->stats.replays++;
        q->force_new = true;
        tt__pgpool_emit(p, TETHER_PGEVENT_REPLAY, q, 0, msg, a->sqlstate);
    } else {
        q->retries++;
        p->stats.retries++;
        tt__pgpool_emit(p, TETHER_PGEVENT_RETRY, q, 0, msg, a->sqlstate);
    }
    q->sqlstate[0] = '\0';
    q->failure.retry_safe = TETHER_RETRY_SAFE_UNKNOWN;
    q->state = PGQ_QUEUED;
    tt__list_remove(&q->link);
    tt__list_insert_tail(p->queue.next, &q->link); /* it keeps its place: the head */
    tt__pgpool_kick(p);
}

void tt__pgquery_conn_failed(struct tether_pgquery *q, const char *msg, bool connect_failed)
{
    struct tether_pgpool *p = q->pool;
    q->conn = NULL;
    q->failure.phase = TETHER_PHASE_CONNECT;
    q->failure.syscall = TETHER_SYSCALL_CONNECT;
    struct tt__pg_attempt a = {
        .retry_enabled = p->o.retry,
        .connect_failed = connect_failed,
        .code = tt__pg_classify_message(msg),
        .sqlstate = "",
        .idempotent = q->idempotent,
        .replays = q->replays,
    };
    if (a.code == TETHER_EIO) {
        a.code = TETHER_EHANGUP; /* the server went away during the startup */
    }
    query_attempt_failed(q, &a, msg);
}

void tt__pgquery_start(struct tether_pgquery *q, tether_pgconn *c)
{
    struct tether_pgpool *p = q->pool;
    query_mark_acquired(q);
    tt__list_remove(&q->link);
    tt__list_insert_tail(&p->queries, &q->link);
    q->conn = c;
    c->query = q;
    if (q->acquire_only) {
        c->query = NULL;
        c->checked_out = true;
        c->state = PGC_HELD;
        tt__pgconn_unwatch(c);
        q->state = PGQ_DONE;
        tt__list_remove(&q->link);
        tether_pgpool_acquire_cb cb = q->acquire_cb;
        void *data = q->data;
        query_release(q);
        cb(p, c, 0, data);
        return;
    }
    q->state = PGQ_RUNNING;
    q->attempts++;
    p->stats.attempts++;
    c->state = PGC_BUSY;
    q->failure.reused = c->taken_idle_ms != 0 || c->idle_since_ms != c->created_ms;
    q->failure.idle_ms = c->taken_idle_ms;
    c->taken_idle_ms = 0;
    q->tx_before = PQtransactionStatus(c->pg);
    const char *reason = NULL;
    if (q->explicit_conn && !tt__pgconn_alive(c, &reason)) {
        c->sent = false;
        (void)snprintf(c->first_error, sizeof(c->first_error), "%s",
                       c->fatal_msg[0] ? c->fatal_msg
                                       : "server closed the connection unexpectedly");
        (void)snprintf(c->first_sqlstate, sizeof(c->first_sqlstate), "%s", c->fatal_sqlstate);
        tt__pgquery_command_done(c, false);
        return;
    }
    if (!tt__pgconn_send(c, q->sql, (const char *const *)q->params, q->nparams)) {
        (void)snprintf(c->first_error, sizeof(c->first_error), "%s", PQerrorMessage(c->pg));
        tt__pgquery_command_done(c, false);
        return;
    }
    if (p->o.statement_deadline_ms) {
        c->deadline_ms = tt__pgpool_now(p) + p->o.statement_deadline_ms;
        tt__pgpool_kick(p); /* the timer learns the new deadline */
    }
}

void tt__pgquery_deadline(tether_pgconn *c)
{
    struct tether_pgpool *p = c->pool;
    c->deadline_ms = 0;
    c->deadline_hit = true;
    PQclear(c->result);
    c->result = NULL;
    (void)snprintf(c->first_error, sizeof(c->first_error),
                   "no result within the statement deadline of %llu ms (connection closed)",
                   (unsigned long long)p->o.statement_deadline_ms);
    c->first_sqlstate[0] = '\0';
    tt__pgquery_command_done(c, false);
}

void tt__pgquery_command_done(tether_pgconn *c, bool conn_ok)
{
    struct tether_pgpool *p = c->pool;
    struct tether_pgquery *q = c->query;
    PGresult *res = c->result;
    c->result = NULL;
    c->query = NULL;
    c->deadline_ms = 0; /* the statement deadline, if any: the command is over */
    bool in_tx = false;
    if (!q) {
        /* Its query was freed while it ran: keep the connection only if it is clean. One the
         * caller holds stays the caller's. */
        PQclear(res);
        if (c->checked_out) {
            c->broken |= !conn_ok || c->unsupported;
            c->state = PGC_HELD;
            tt__pgconn_unwatch(c);
        } else if (conn_ok && !c->unsupported) {
            tt__pgpool_conn_idle(c);
        } else {
            tt__pgpool_evict(c, "broken", "");
        }
        return;
    }
    in_tx =
        q->explicit_conn && (q->tx_before == PQTRANS_INTRANS || q->tx_before == PQTRANS_INERROR);
    q->conn = NULL;
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (conn_ok && !c->unsupported && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)) {
        q->result = res;
        if (q->explicit_conn) {
            c->state = PGC_HELD;
            tt__pgconn_unwatch(c);
            tt__pgquery_finish(q);
            return;
        }
        /* The callback first: a query it starts is then queued when the connection comes
         * back, which hands it over at once instead of on the next loop turn. (Closing the
         * pool from the callback is deferred, so the connection is still there after it.) */
        tt__pgquery_finish(q);
        tt__pgpool_conn_idle(c);
        return;
    }
    PQclear(res);
    query_peer(q, c); /* only a failure reports it: no formatting per successful query */
    char msg[320];
    (void)snprintf(msg, sizeof(msg), "%s",
                   c->first_error[0] ? c->first_error : PQerrorMessage(c->pg));
    struct tt__pg_attempt a = {
        .retry_enabled = p->o.retry,
        .explicit_conn = q->explicit_conn != NULL,
        .sent = c->sent,
        .conn_lost = !conn_ok,
        .idempotent = q->idempotent,
        .sqlstate = c->first_sqlstate,
        .replays = q->replays,
    };
    char state[6];
    (void)snprintf(state, sizeof(state), "%s", c->first_sqlstate);
    a.sqlstate = state;
    q->failure.phase = c->sent ? TETHER_PHASE_READ_HEADERS : TETHER_PHASE_WRITE;
    if (c->unsupported) {
        a.code = TETHER_ENOTSUP;
        a.retry_enabled = false;
        query_conn_dead(q, c, "unsupported", "");
    } else if (conn_ok) {
        /* The server answered with an error; the connection is fine. */
        a.code = TETHER_EIO;
        if (q->explicit_conn) {
            c->state = PGC_HELD;
            tt__pgconn_unwatch(c);
        } else {
            tt__pgpool_conn_idle(c);
        }
    } else if (c->deadline_hit) {
        a.code = TETHER_ETIMEDOUT;
        q->failure.syscall = TETHER_SYSCALL_READ;
        query_conn_dead(q, c, "statement deadline", "");
    } else {
        a.code = tt__pg_classify_message(msg);
        if (a.code == TETHER_EIO || a.code == TETHER_EINVAL) {
            a.code = TETHER_EHANGUP;
        }
        query_conn_dead(q, c, "broken", state);
    }
    if (in_tx && !conn_ok) {
        char tx[320];
        (void)snprintf(tx, sizeof(tx),
                       "connection lost inside a transaction (the server rolled it back): %.200s",
                       msg);
        a.retry_enabled = false;
        q->failure.retry_safe = TETHER_RETRY_SAFE_NO;
        (void)snprintf(q->sqlstate, sizeof(q->sqlstate), "%s", state);
        tt__pgquery_fail(q, a.code, tx);
        return;
    }
    query_attempt_failed(q, &a, msg);
}

void tether_pgquery_free(tether_pgquery *q)
{
    if (!q) {
        return;
    }
    if (q->state != PGQ_DONE) {
        tt__list_remove(&q->link);
        if (q->conn && q->conn->query == q) {
            /* A connection being made or validated goes idle when ready; one running the
             * query drops the result and goes back idle when it arrives. */
            q->conn->query = NULL;
        } else if (q->explicit_conn && q->state == PGQ_QUEUED) {
            q->explicit_conn->state = PGC_HELD; /* never started: the caller keeps it */
        }
    }
    query_release(q);
}

/* ---- outcome ---- */

void *tether_pgquery_get_data(const tether_pgquery *q)
{
    return q ? q->data : NULL;
}

struct pg_result *tether_pgquery_result(const tether_pgquery *q)
{
    return q ? q->result : NULL;
}

const struct tether_failure *tether_pgquery_failure(const tether_pgquery *q)
{
    return q ? &q->failure : NULL;
}

const char *tether_pgquery_sqlstate(const tether_pgquery *q)
{
    return q ? q->sqlstate : "";
}

unsigned tether_pgquery_attempts(const tether_pgquery *q)
{
    return q ? q->attempts : 0;
}

unsigned tether_pgquery_retries(const tether_pgquery *q)
{
    return q ? q->retries : 0;
}

unsigned tether_pgquery_replays(const tether_pgquery *q)
{
    return q ? q->replays : 0;
}

uint64_t tether_pgquery_duration_ms(const tether_pgquery *q)
{
    return q && q->end_ms ? q->end_ms - q->start_ms : 0;
}

uint64_t tether_pgquery_acquire_ms(const tether_pgquery *q)
{
    return q && q->acquired_ms ? q->acquired_ms - q->start_ms : 0;
}

/* ---- blocking ---- */

/* The blocking loops run UV_RUN_ONCE until their flag is set. A completion in the timer
 * phase (a deadline, a failed dispatch) would otherwise let that same iteration block in the
 * poll phase until the next event, possibly minutes away: uv_stop makes it poll without
 * waiting. */
static void blocking_done(tether_pgquery *q, int status)
{
    (void)status;
    uv_stop(q->pool->loop);
}

int tether_pgpool_query_blocking(tether_pgpool *p, const struct tether_pgquery_options *o,
                                 tether_pgquery **out)
{
    if (out) {
        *out = NULL;
    }
    if (!p || !p->own_loop || !out) {
        return TETHER_EINVAL;
    }
    if (p->in_blocking_run) {
        return TETHER_EBUSY;
    }
    tether_pgquery *q = NULL;
    int rc = tether_pgpool_query(p, o, blocking_done, &q);
    if (rc) {
        return rc;
    }
    p->in_blocking_run = true;
    while (q->state != PGQ_DONE) {
        uv_run(p->loop, UV_RUN_ONCE);
    }
    p->in_blocking_run = false;
    *out = q;
    return 0;
}

struct blocking_acquire {
    bool done;
    int status;
    tether_pgconn *conn;
};

static void blocking_acquired(tether_pgpool *p, tether_pgconn *c, int status, void *data)
{
    struct blocking_acquire *b = data;
    uv_stop(p->loop);
    b->done = true;
    b->status = status;
    b->conn = c;
}

int tether_pgpool_acquire_blocking(tether_pgpool *p, tether_pgconn **out)
{
    if (out) {
        *out = NULL;
    }
    if (!p || !p->own_loop || !out) {
        return TETHER_EINVAL;
    }
    if (p->in_blocking_run) {
        return TETHER_EBUSY;
    }
    struct blocking_acquire b = {0};
    int rc = tether_pgpool_acquire(p, blocking_acquired, &b);
    if (rc) {
        return rc;
    }
    p->in_blocking_run = true;
    while (!b.done) {
        uv_run(p->loop, UV_RUN_ONCE);
    }
    p->in_blocking_run = false;
    *out = b.conn;
    return b.status;
}
