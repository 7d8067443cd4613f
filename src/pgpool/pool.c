/* SPDX-License-Identifier: MIT */
/* The pool: options, the libpq parameters given to every connection (P3), the FIFO queue of
 * queries waiting for a connection (P6), LIFO reuse with validation of connections idle
 * longer than 500 ms (P2, P10), evictions counted by cause (P1, P12), retirements by lifetime,
 * idle limit and the learned server idle kill (P4, P5), and one timer for every deadline. */
#include <stdio.h>
#include <string.h>

#include "pgpool/pgpool_int.h"

static void pool_tick(uv_timer_t *t);

void tether_pgpool_options_init(struct tether_pgpool_options *o)
{
    if (!o) {
        return;
    }
    memset(o, 0, sizeof(*o));
    o->max_size = 10;
    o->connect_timeout_ms = 15000;
    o->acquire_timeout_ms = 30000;
    o->validate_after_idle_ms = 500;
    o->validation_timeout_ms = 5000;
    o->idle_timeout_ms = 600000;
    o->max_lifetime_ms = 1800000;
    o->keepalives_idle_s = 30;
    o->keepalives_interval_s = 10;
    o->keepalives_count = 3;
    o->tcp_user_timeout_ms = 30000;
    o->watch_idle = true;
    o->retry = true;
    o->learn_idle_kill = true;
    o->learn_margin_ms = 1000;
}

void tether_pgpool_options_init_naive(struct tether_pgpool_options *o)
{
    tether_pgpool_options_init(o);
    if (!o) {
        return;
    }
    o->validate_after_idle_ms = UINT64_MAX;
    o->idle_timeout_ms = 10000;
    o->max_lifetime_ms = 0;
    o->keepalives_idle_s = 0;
    o->keepalives_interval_s = 0;
    o->keepalives_count = 0;
    o->tcp_user_timeout_ms = 0;
    o->watch_idle = false;
    o->retry = false;
    o->learn_idle_kill = false;
}

uint64_t tt__pgpool_now(const struct tether_pgpool *p)
{
    return uv_now(p->loop);
}

void tt__pgpool_kick(struct tether_pgpool *p)
{
    if (!p->timer_closed && !uv_is_closing((uv_handle_t *)&p->timer)) {
        uv_timer_start(&p->timer, pool_tick, 0, 0);
    }
}

void tt__pgpool_emit(struct tether_pgpool *p, enum tether_pgevent_type type,
                     const struct tether_pgquery *q, uint64_t idle_ms, const char *reason,
                     const char *sqlstate)
{
    if (!p->on_event) {
        return;
    }
    struct tether_pgevent ev = {.type = type,
                                .query = q,
                                .idle_ms = idle_ms,
                                .reason = reason ? reason : "",
                                .sqlstate = sqlstate ? sqlstate : ""};
    p->on_event(p, &ev);
}

/* ---- libpq parameters ---- */

static int pool_own(struct tether_pgpool *p, const char *s, const char **out)
{
    size_t n = strlen(s);
    char *copy = tether_malloc(n + 1);
    if (!copy) {
        return TETHER_ENOMEM;
    }
    memcpy(copy, s, n + 1);
    p->owned[p->nowned++] = copy;
    *out = copy;
    return 0;
}

/* The user's conninfo, expanded, then the pool's TCP settings for keywords it left unset. */
static int pool_build_params(struct tether_pgpool *p, char *errbuf, size_t errlen)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(p->conninfo, &err);
    if (!opts) {
        char *nl = err ? strchr(err, '\n') : NULL;
        if (nl) {
            *nl = '\0';
        }
        (void)snprintf(errbuf, errlen, "invalid conninfo '%s': %s", p->conninfo,
                       err ? err : "out of memory");
        PQfreemem(err);
        return err ? TETHER_EINVAL : TETHER_ENOMEM;
    }
    size_t n = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        n++;
    }
    enum { EXTRA = 6 };
    p->keys = tether_malloc((n + EXTRA + 1) * sizeof(*p->keys));
    p->values = tether_malloc((n + EXTRA + 1) * sizeof(*p->values));
    p->owned = tether_malloc((2 * (n + EXTRA) + 1) * sizeof(*p->owned));
    int rc = p->keys && p->values && p->owned ? 0 : TETHER_ENOMEM;
    size_t k = 0;
    bool set_ka = false, set_idle = false, set_intvl = false, set_cnt = false, set_uto = false;
    for (PQconninfoOption *o = opts; rc == 0 && o->keyword; o++) {
        if (!o->val) {
            continue;
        }
        set_ka |= strcmp(o->keyword, "keepalives") == 0;
        set_idle |= strcmp(o->keyword, "keepalives_idle") == 0;
        set_intvl |= strcmp(o->keyword, "keepalives_interval") == 0;
        set_cnt |= strcmp(o->keyword, "keepalives_count") == 0;
        set_uto |= strcmp(o->keyword, "tcp_user_timeout") == 0;
        rc = pool_own(p, o->keyword, &p->keys[k]);
        rc = rc ? rc : pool_own(p, o->val, &p->values[k]);
        k++;
    }
    PQconninfoFree(opts);
    struct {
        bool user_set;
        const char *key;
        uint64_t value;
    } extra[] = {
        {set_ka, "keepalives", 1},
        {set_idle, "keepalives_idle", p->o.keepalives_idle_s},
        {set_intvl, "keepalives_interval", p->o.keepalives_interval_s},
        {set_cnt, "keepalives_count", p->o.keepalives_count},
        {set_uto, "tcp_user_timeout", p->o.tcp_user_timeout_ms},
    };
    for (size_t i = 0; rc == 0 && i < tt__countof(extra); i++) {
        if (extra[i].user_set || extra[i].value == 0) {
            continue;
        }
        char num[24];
        (void)snprintf(num, sizeof(num), "%llu", (unsigned long long)extra[i].value);
        rc = pool_own(p, extra[i].key, &p->keys[k]);
        rc = rc ? rc : pool_own(p, num, &p->values[k]);
        k++;
    }
    if (rc == 0) {
        p->keys[k] = NULL;
        p->values[k] = NULL;
    } else {
        (void)snprintf(errbuf, errlen, "out of memory");
    }
    return rc;
}

static void pool_free(struct tether_pgpool *p)
{
    for (size_t i = 0; i < p->nowned; i++) {
        tether_free(p->owned[i]);
    }
    tether_free(p->owned);
    tether_free(p->keys);
    tether_free(p->values);
    tether_free(p->conninfo);
    tether_free(p);
}

static int pool_check_options(const struct tether_pgpool_options *o, char *errbuf, size_t len)
{
    if (!o->conninfo) {
        (void)snprintf(errbuf, len, "no conninfo: pass a postgres:// URL or 'host=... dbname=...'");
        return TETHER_EINVAL;
    }
    if (o->max_size == 0 || o->min_size > o->max_size) {
        (void)snprintf(errbuf, len,
                       "invalid pool size: min_size %u, max_size %u (need 1 <= max, min <= max)",
                       o->min_size, o->max_size);
        return TETHER_EINVAL;
    }
    if (o->tcp_user_timeout_ms > INT32_MAX || o->keepalives_idle_s > INT32_MAX) {
        (void)snprintf(errbuf, len, "tcp_user_timeout_ms or keepalives_idle_s out of range");
        return TETHER_EINVAL;
    }
    return 0;
}

int tether_pgpool_new(uv_loop_t *loop, const struct tether_pgpool_options *o, tether_pgpool **out)
{
    char scratch[8];
    char *errbuf = o && o->errbuf && o->errbuf_len ? o->errbuf : scratch;
    size_t errlen = o && o->errbuf && o->errbuf_len ? o->errbuf_len : sizeof(scratch);
    errbuf[0] = '\0';
    if (!loop || !o || !out) {
        (void)snprintf(errbuf, errlen, "tether_pgpool_new: loop, options and out are required");
        return TETHER_EINVAL;
    }
    *out = NULL;
    int rc = pool_check_options(o, errbuf, errlen);
    if (rc) {
        return rc;
    }
    struct tether_pgpool *p = tether_malloc(sizeof(*p));
    if (!p) {
        (void)snprintf(errbuf, errlen, "out of memory");
        return TETHER_ENOMEM;
    }
    memset(p, 0, sizeof(*p));
    p->loop = loop;
    p->o = *o;
    p->o.errbuf = NULL;
    p->o.errbuf_len = 0;
    size_t n = strlen(o->conninfo);
    p->conninfo = tether_malloc(n + 1);
    if (!p->conninfo) {
        pool_free(p);
        (void)snprintf(errbuf, errlen, "out of memory");
        return TETHER_ENOMEM;
    }
    memcpy(p->conninfo, o->conninfo, n + 1);
    p->o.conninfo = p->conninfo;
    rc = pool_build_params(p, errbuf, errlen);
    if (rc) {
        pool_free(p);
        return rc;
    }
    tt__list_init(&p->queue);
    tt__list_init(&p->queries);
    tt__list_init(&p->idle);
    tt__list_init(&p->active);
    ttx_rng_seed_random(&p->rng);
    uv_timer_init(loop, &p->timer);
    if (o->min_size) {
        tt__pgpool_kick(p);
    }
    *out = p;
    return 0;
}

void *tether_pgpool_get_data(const tether_pgpool *p)
{
    return p ? p->o.data : NULL;
}

void tether_pgpool_on_event(tether_pgpool *p, tether_pgevent_cb cb)
{
    if (p) {
        p->on_event = cb;
    }
}

void tether_pgpool_get_stats(const tether_pgpool *p, struct tether_pgpool_stats *out)
{
    if (!p || !out) {
        return;
    }
    *out = p->stats;
    uint64_t waiting = 0;
    for (struct tt__list *n = p->queue.next; n != &p->queue; n = n->next) {
        waiting++;
    }
    out->waiting = waiting;
    out->open = p->nopen;
    out->idle = p->nidle;
    out->learned_idle_kill_ms = p->learn.kill_ms;
}

/* ---- connections coming and going ---- */

static void pool_close_conn(tether_pgconn *c)
{
    struct tether_pgpool *p = c->pool;
    if (c->state == PGC_IDLE) {
        p->nidle--;
    }
    p->nopen--;
    tt__pgconn_close(c);
    tt__pgpool_kick(p);
}

void tt__pgpool_close_conn(tether_pgconn *c)
{
    pool_close_conn(c);
}

static void pool_retire(tether_pgconn *c, const char *reason, uint64_t now)
{
    struct tether_pgpool *p = c->pool;
    uint64_t idle = now - c->idle_since_ms;
    if (strcmp(reason, "lifetime") == 0) {
        p->stats.retired_lifetime++;
    } else if (strcmp(reason, "idle") == 0) {
        p->stats.retired_idle++;
    } else {
        p->stats.retired_learned++;
    }
    pool_close_conn(c);
    tt__pgpool_emit(p, TETHER_PGEVENT_CONN_RETIRED, NULL, idle, reason, "");
}

void tt__pgpool_evict(tether_pgconn *c, const char *reason, const char *sqlstate)
{
    struct tether_pgpool *p = c->pool;
    uint64_t now = tt__pgpool_now(p);
    uint64_t idle = now - c->idle_since_ms;
    bool was_idle = c->state == PGC_IDLE;
    char state[6];
    (void)snprintf(state, sizeof(state), "%s", sqlstate ? sqlstate : "");
    bool certain = tt__pg_sqlstate_idle_kill(state) || strstr(c->fatal_msg, "client_idle_timeout");
    if (strcmp(reason, "fatal") == 0) {
        p->stats.evicted_fatal++;
    } else if (strcmp(reason, "eof") == 0) {
        p->stats.evicted_eof++;
    } else if (strcmp(reason, "rst") == 0) {
        p->stats.evicted_rst++;
    } else if (strncmp(reason, "validation", 10) == 0) {
        p->stats.evicted_validation++;
    } else {
        p->stats.evicted_broken++;
    }
    /* Learn only from what an idle timeout does: a kill that says so, or a bare close. A
     * shutdown (57P01, 57P02) or a crash says nothing about idle time. */
    bool learn =
        p->o.learn_idle_kill && (was_idle || strncmp(reason, "validation", 10) == 0) &&
        (certain || (!state[0] && (strcmp(reason, "eof") == 0 || strcmp(reason, "rst") == 0 ||
                                   strcmp(reason, "validation") == 0)));
    pool_close_conn(c);
    tt__pgpool_emit(p, TETHER_PGEVENT_CONN_EVICTED, NULL, idle, reason, state);
    if (learn && tt__pglearn_observe(&p->learn, idle, now, certain)) {
        tt__pgpool_emit(p, TETHER_PGEVENT_LEARNED, NULL, p->learn.kill_ms, "idle kill", state);
    }
}

void tt__pgpool_conn_ready(tether_pgconn *c)
{
    struct tether_pgpool *p = c->pool;
    p->stats.connections_opened++;
    p->fill_failures = 0;
    p->connect_error = 0;
    c->idle_since_ms = tt__pgpool_now(p);
    c->lifetime_ms = tt__pg_lifetime_ms(p->o.max_lifetime_ms, ttx_rng_next(&p->rng));
    tt__pgpool_emit(p, TETHER_PGEVENT_CONN_NEW, c->query, 0, "", "");
    if (c->query && !p->closing) {
        tt__pgquery_start(c->query, c);
    } else {
        c->query = NULL;
        tt__pgpool_conn_idle(c);
    }
}

void tt__pgpool_conn_failed(tether_pgconn *c, const char *msg)
{
    struct tether_pgpool *p = c->pool;
    struct tether_pgquery *q = c->query;
    if (!q) {
        /* One opened to keep min_size (or whose query went away): back off the next. */
        p->fill_failures++;
        p->fill_retry_at_ms = tt__pgpool_now(p) + tt__pg_connect_backoff_ms(p->fill_failures);
    }
    char detail[256];
    (void)snprintf(detail, sizeof(detail), "%s", msg && msg[0] ? msg : "connection failed");
    p->stats.connect_failures++;
    p->connect_error = tt__pg_classify_message(detail);
    if (p->connect_error == TETHER_EIO) {
        p->connect_error = TETHER_EHANGUP; /* as a query's own connect reports it */
    }
    p->connect_error_ms = tt__pgpool_now(p);
    (void)snprintf(p->connect_error_msg, sizeof(p->connect_error_msg), "%s", detail);
    pool_close_conn(c);
    tt__pgpool_emit(p, TETHER_PGEVENT_CONNECT_FAILED, q, 0, detail, "");
    if (q) {
        tt__pgquery_conn_failed(q, detail, true);
    }
}

/* Hands `c` to the first queued query, if any. */
static bool pool_hand_over(tether_pgconn *c, uint64_t idle_ms)
{
    struct tether_pgpool *p = c->pool;
    for (struct tt__list *n = p->queue.next; n != &p->queue; n = n->next) {
        struct tether_pgquery *q = tt__container_of(n, struct tether_pgquery, link);
        if (q->force_new || q->explicit_conn) {
            continue;
        }
        p->stats.connections_reused++;
        tt__pgpool_emit(p, TETHER_PGEVENT_CONN_REUSED, q, idle_ms, "", "");
        tt__pgquery_start(q, c);
        return true;
    }
    return false;
}

void tt__pgpool_conn_idle(tether_pgconn *c)
{
    struct tether_pgpool *p = c->pool;
    uint64_t now = tt__pgpool_now(p);
    c->query = NULL;
    c->deadline_ms = 0;
    if (p->closing) {
        pool_close_conn(c);
        return;
    }
    switch (PQtransactionStatus(c->pg)) {
    case PQTRANS_IDLE:
        break;
    case PQTRANS_INTRANS:
    case PQTRANS_INERROR:
        /* P9: left inside a transaction; keep it only if a ROLLBACK succeeds. */
        c->state = PGC_ROLLBACK;
        c->deadline_ms = now + p->o.validation_timeout_ms;
        if (!tt__pgconn_send(c, "ROLLBACK", NULL, 0)) {
            tt__pgpool_evict(c, "rollback failed", "");
        }
        tt__pgpool_kick(p);
        return;
    default:
        tt__pgpool_evict(c, "broken", "");
        return;
    }
    if (c->lifetime_ms && now - c->created_ms >= c->lifetime_ms) {
        c->state = PGC_IDLE;
        p->nidle++;
        tt__list_remove(&c->link);
        tt__list_insert_tail(&p->idle, &c->link);
        pool_retire(c, "lifetime", now);
        return;
    }
    c->state = PGC_BUSY;
    if (pool_hand_over(c, 0)) {
        return;
    }
    c->state = PGC_IDLE;
    p->nidle++;
    tt__list_remove(&c->link);
    tt__list_insert_tail(&p->idle, &c->link);
    tt__pgconn_watch(c);
    tt__pgpool_kick(p); /* re-arm the timer for its retirement */
}

/* The empty query on an idle connection ended: hand it to its query, or evict it and put the
 * query back at the head of the queue. */
void tt__pgpool_validation_done(tether_pgconn *c, bool ok)
{
    struct tether_pgpool *p = c->pool;
    struct tether_pgquery *q = c->query;
    c->query = NULL;
    c->deadline_ms = 0;
    if (ok) {
        p->stats.validated++;
        /* It lived through this much idleness: kills learned at or below it were wrong. */
        tt__pglearn_alive(&p->learn, c->taken_idle_ms);
        tt__pgpool_emit(p, TETHER_PGEVENT_VALIDATED, q, 0, "", "");
        if (q) {
            p->stats.connections_reused++;
            tt__pgpool_emit(p, TETHER_PGEVENT_CONN_REUSED, q, 0, "", "");
            tt__pgquery_start(q, c);
        } else {
            tt__pgpool_conn_idle(c);
        }
        return;
    }
    if (q) {
        q->conn = NULL;
        q->state = PGQ_QUEUED;
        tt__list_remove(&q->link);
        tt__list_insert_tail(p->queue.next, &q->link); /* back at the head */
    }
    tt__pgpool_evict(c, "validation", c->fatal_sqlstate[0] ? c->fatal_sqlstate : c->first_sqlstate);
}

/* ---- the queue ---- */

/* Takes an idle connection for the head query: validated when it idled too long. */
static void pool_take_idle(struct tether_pgpool *p, struct tether_pgquery *q, uint64_t now)
{
    tether_pgconn *c = tt__container_of(p->idle.prev, tether_pgconn, link); /* LIFO */
    uint64_t idle = now - c->idle_since_ms;
    const char *reason = NULL;
    if (c->lifetime_ms && now - c->created_ms >= c->lifetime_ms) {
        pool_retire(c, "lifetime", now);
        return;
    }
    /* The naive policy looks at nothing before use, as most pools. */
    if (p->o.watch_idle && !tt__pgconn_alive(c, &reason)) {
        tt__pgpool_evict(c, reason, c->fatal_sqlstate);
        return;
    }
    p->nidle--;
    tt__list_remove(&c->link);
    tt__list_insert_tail(&p->active, &c->link);
    c->taken_idle_ms = idle;
    if (p->o.validate_after_idle_ms != UINT64_MAX && idle > p->o.validate_after_idle_ms) {
        c->state = PGC_VALIDATING;
        c->query = q;
        c->deadline_ms = now + p->o.validation_timeout_ms;
        q->state = PGQ_BOUND;
        q->conn = c;
        tt__list_remove(&q->link);
        tt__list_insert_tail(&p->queries, &q->link);
        if (!tt__pgconn_send(c, NULL, NULL, 0)) {
            tt__pgpool_validation_done(c, false);
        }
        return;
    }
    c->state = PGC_BUSY;
    p->stats.connections_reused++;
    tt__pgpool_emit(p, TETHER_PGEVENT_CONN_REUSED, q, idle, "", "");
    tt__pgquery_start(q, c);
}

static void pool_open_for(struct tether_pgpool *p, struct tether_pgquery *q)
{
    char err[256];
    tether_pgconn *c = tt__pgconn_start(p, err, sizeof(err));
    tt__list_remove(&q->link);
    tt__list_insert_tail(&p->queries, &q->link);
    q->force_new = false;
    if (!c) {
        p->stats.connect_failures++;
        tt__pgpool_emit(p, TETHER_PGEVENT_CONNECT_FAILED, q, 0, err, "");
        tt__pgquery_conn_failed(q, err, true);
        return;
    }
    p->nopen++;
    tt__list_insert_tail(&p->active, &c->link);
    c->query = q;
    q->conn = c;
    q->state = PGQ_BOUND;
}

/* One step of work, or false when there is none; the caller loops, so nothing here keeps a
 * pointer across a callout. */
static bool pool_dispatch_one(struct tether_pgpool *p, uint64_t now)
{
    if (tt__list_empty(&p->queue)) {
        return false;
    }
    struct tether_pgquery *q = tt__container_of(p->queue.next, struct tether_pgquery, link);
    if (q->explicit_conn) {
        tt__list_remove(&q->link);
        tt__list_insert_tail(&p->queries, &q->link);
        tt__pgquery_start(q, q->explicit_conn);
        return true;
    }
    if (!q->force_new && p->nidle > 0) {
        pool_take_idle(p, q, now);
        return true;
    }
    if (p->nopen < p->o.max_size) {
        pool_open_for(p, q);
        return true;
    }
    if (q->force_new && p->nidle > 0) {
        /* A replay wants a fresh connection and the pool is full: make room. */
        pool_retire(tt__container_of(p->idle.next, tether_pgconn, link), "replay room", now);
        return true;
    }
    return false;
}

/* When an idle connection must go, 0 = never. */
static uint64_t pool_retire_at(const struct tether_pgpool *p, const tether_pgconn *c,
                               const char **why)
{
    uint64_t at = 0;
    *why = "";
    if (c->lifetime_ms) {
        at = c->created_ms + c->lifetime_ms;
        *why = "lifetime";
    }
    if (p->o.idle_timeout_ms && p->nopen > p->o.min_size) {
        uint64_t t = c->idle_since_ms + p->o.idle_timeout_ms;
        if (at == 0 || t < at) {
            at = t;
            *why = "idle";
        }
    }
    if (p->o.learn_idle_kill) {
        uint64_t budget = tt__pglearn_budget_ms(&p->learn, p->o.learn_margin_ms);
        if (budget != UINT64_MAX) {
            uint64_t t = c->idle_since_ms + budget;
            if (at == 0 || t < at) {
                at = t;
                *why = "learned idle kill";
            }
        }
    }
    return at;
}

/* Expired deadlines: one at a time (each may run a callback); false when none is due. Sets
 * *next to the earliest deadline still ahead. */
static bool pool_expire_one(struct tether_pgpool *p, uint64_t now, uint64_t *next)
{
#define NEXT(t)                                                                                    \
    do {                                                                                           \
        if ((t) && (*next == 0 || (t) < *next)) {                                                  \
            *next = (t);                                                                           \
        }                                                                                          \
    } while (0)
    for (struct tt__list *n = p->active.next; n != &p->active; n = n->next) {
        tether_pgconn *c = tt__container_of(n, tether_pgconn, link);
        if (!c->deadline_ms) {
            continue;
        }
        if (c->deadline_ms > now) {
            NEXT(c->deadline_ms);
            continue;
        }
        if (c->state == PGC_CONNECTING) {
            char msg[128];
            (void)snprintf(msg, sizeof(msg), "timeout expired: no connection after %llu ms",
                           (unsigned long long)p->o.connect_timeout_ms);
            tt__pgpool_conn_failed(c, msg);
        } else if (c->state == PGC_VALIDATING) {
            tt__pgpool_validation_done(c, false);
        } else if (c->state == PGC_BUSY) {
            tt__pgquery_deadline(c);
        } else {
            tt__pgpool_evict(c, "rollback timeout", "");
        }
        return true;
    }
    for (struct tt__list *n = p->idle.next; n != &p->idle; n = n->next) {
        tether_pgconn *c = tt__container_of(n, tether_pgconn, link);
        const char *why;
        uint64_t at = pool_retire_at(p, c, &why);
        if (at && at <= now) {
            pool_retire(c, why, now);
            return true;
        }
        NEXT(at);
    }
    for (struct tt__list *n = p->queries.next; n != &p->queries; n = n->next) {
        struct tether_pgquery *q = tt__container_of(n, struct tether_pgquery, link);
        if (q->state != PGQ_BACKOFF) {
            continue;
        }
        if (q->retry_at_ms <= now) {
            q->state = PGQ_QUEUED;
            tt__list_remove(&q->link);
            tt__list_insert_tail(p->queue.next, &q->link);
            return true;
        }
        NEXT(q->retry_at_ms);
    }
    for (struct tt__list *n = p->queue.next; n != &p->queue; n = n->next) {
        struct tether_pgquery *q = tt__container_of(n, struct tether_pgquery, link);
        if (!q->acquire_deadline_ms || q->explicit_conn) {
            continue;
        }
        if (q->acquire_deadline_ms <= now && p->connect_error &&
            p->connect_error_ms >= q->start_ms) {
            /* Connects failed while it waited: that is the failure (the server is down, not
             * busy), with its code, as the queries whose own connects failed get it. */
            char msg[400];
            (void)snprintf(msg, sizeof(msg), "no connection within %llu ms: %s",
                           (unsigned long long)p->o.acquire_timeout_ms, p->connect_error_msg);
            q->failure.phase = TETHER_PHASE_CONNECT;
            q->failure.syscall = TETHER_SYSCALL_CONNECT;
            tt__pgquery_fail(q, p->connect_error, msg);
            return true;
        }
        if (q->acquire_deadline_ms <= now) {
            char msg[160];
            (void)snprintf(msg, sizeof(msg),
                           "timeout acquiring a connection after %llu ms (%u of %u open, all busy)",
                           (unsigned long long)p->o.acquire_timeout_ms, p->nopen, p->o.max_size);
            tt__pgquery_fail(q, TETHER_ETIMEDOUT, msg);
            return true;
        }
        NEXT(q->acquire_deadline_ms);
    }
#undef NEXT
    return false;
}

static void pool_finish_close(struct tether_pgpool *p);

void tt__pgpool_handle_closed(struct tether_pgpool *p)
{
    if (p->closing) {
        pool_finish_close(p);
    } else {
        tt__pgpool_kick(p);
    }
}

static void pool_timer_closed(uv_handle_t *h)
{
    struct tether_pgpool *p = h->data;
    p->timer_closed = true;
    pool_finish_close(p);
}

static void pool_finish_close(struct tether_pgpool *p)
{
    if (!p->timer_closed || p->pending_closes) {
        return;
    }
    tether_pgpool_close_cb cb = p->close_cb;
    void *data = p->close_data;
    pool_free(p);
    if (cb) {
        cb(data);
    }
}

static void pool_close_step(struct tether_pgpool *p)
{
    while (!tt__list_empty(&p->queue) || !tt__list_empty(&p->queries)) {
        struct tt__list *n = !tt__list_empty(&p->queue) ? p->queue.next : p->queries.next;
        struct tether_pgquery *q = tt__container_of(n, struct tether_pgquery, link);
        tt__pgquery_fail(q, TETHER_ECANCELED, "the pool is closing");
    }
    while (!tt__list_empty(&p->idle)) {
        pool_close_conn(tt__container_of(p->idle.next, tether_pgconn, link));
    }
    while (!tt__list_empty(&p->active)) {
        pool_close_conn(tt__container_of(p->active.next, tether_pgconn, link));
    }
    if (!uv_is_closing((uv_handle_t *)&p->timer)) {
        uv_timer_stop(&p->timer);
        p->timer.data = p;
        uv_close((uv_handle_t *)&p->timer, pool_timer_closed);
    }
}

static void pool_tick(uv_timer_t *t)
{
    struct tether_pgpool *p = tt__container_of(t, struct tether_pgpool, timer);
    if (p->closing) {
        pool_close_step(p);
        return;
    }
    uint64_t next;
    for (;;) {
        uint64_t now = tt__pgpool_now(p);
        next = 0;
        if (p->closing) {
            pool_close_step(p);
            return;
        }
        if (pool_expire_one(p, now, &next)) {
            continue;
        }
        if (pool_dispatch_one(p, now)) {
            continue;
        }
        if (p->nopen < p->o.min_size && now >= p->fill_retry_at_ms) {
            /* Keeping min_size open backs off like a query's connects: a server that is down
             * is not dialled in a loop. */
            tether_pgconn *c = tt__pgconn_start(p, (char[64]){0}, 64);
            if (c) {
                p->nopen++;
                tt__list_insert_tail(&p->active, &c->link);
                continue;
            }
            p->stats.connect_failures++;
            p->fill_failures++;
            p->fill_retry_at_ms = now + tt__pg_connect_backoff_ms(p->fill_failures);
        }
        if (p->nopen < p->o.min_size && (next == 0 || p->fill_retry_at_ms < next)) {
            next = p->fill_retry_at_ms;
        }
        break;
    }
    if (next) {
        uint64_t now = tt__pgpool_now(p);
        uv_timer_start(&p->timer, pool_tick, next > now ? next - now : 0, 0);
    }
}

void tether_pgpool_close(tether_pgpool *p, tether_pgpool_close_cb cb, void *data)
{
    if (!p || p->closing) {
        return;
    }
    p->closing = true;
    p->close_cb = cb;
    p->close_data = data;
    tt__pgpool_kick(p);
}

/* ---- blocking use ---- */

int tether_pgpool_new_blocking(const struct tether_pgpool_options *o, tether_pgpool **out)
{
    uv_loop_t *loop = tether_malloc(sizeof(*loop));
    if (!loop) {
        return TETHER_ENOMEM;
    }
    if (uv_loop_init(loop) != 0) {
        tether_free(loop);
        return TETHER_ENOMEM;
    }
    int rc = tether_pgpool_new(loop, o, out);
    if (rc) {
        (void)uv_loop_close(loop);
        tether_free(loop);
        return rc;
    }
    (*out)->own_loop = true;
    return 0;
}

static void blocking_closed(void *data)
{
    *(bool *)data = true;
}

void tether_pgpool_close_blocking(tether_pgpool *p)
{
    if (!p) {
        return;
    }
    if (!p->own_loop) {
        tether_pgpool_close(p, NULL, NULL);
        return;
    }
    uv_loop_t *loop = p->loop;
    bool closed = false;
    tether_pgpool_close(p, blocking_closed, &closed);
    while (!closed) {
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_run(loop, UV_RUN_NOWAIT);
    (void)uv_loop_close(loop);
    tether_free(loop);
}
