/* SPDX-License-Identifier: MIT */
/* The keep-alive pool: per-origin idle lists, the idle watcher, the checkout probe, hint-aware
 * and learned idle retirement, Keep-Alive max and lifetimes, and the wait queue. */
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"

/* Sentinel for "never retire" (naive policy: no hint, nothing learned, no idle timeout). */
#define POOL_NEVER UINT64_MAX

static struct tt__origin *pool_find_or_add(struct tether_client *c, const struct tt__url *u,
                                           enum tt__via via)
{
    /* Through a proxy the pool key says so, and the peer is the proxy. */
    char key[sizeof(((struct tt__origin *)0)->key)];
    tt__proxy_origin_key(c, u, via, key, sizeof(key));
    for (struct tt__list *n = c->origins.next; n != &c->origins; n = n->next) {
        struct tt__origin *o = tt__container_of(n, struct tt__origin, link);
        if (strcmp(o->key, key) == 0) {
            return o;
        }
    }
    struct tt__origin *o = tt__calloc(1, sizeof(*o));
    if (!o) {
        return NULL;
    }
    o->client = c;
    memcpy(o->key, key, sizeof(o->key));
    if (via != TT__VIA_DIRECT) {
        (void)snprintf(o->peer_name, sizeof(o->peer_name), "%s", c->proxy->name);
    } else {
        (void)snprintf(o->peer_name, sizeof(o->peer_name), "%s%s%s:%u", u->ipv6 ? "[" : "", u->host,
                       u->ipv6 ? "]" : "", (unsigned)u->port);
    }
    tt__list_init(&o->conns);
    tt__list_init(&o->idle);
    tt__list_init(&o->waiters);
    tt__budget_init(&o->budget, &c->policy, tt__client_now(c));
    tt__breaker_init(&o->breaker, &c->policy);
    tt__list_insert_tail(&c->origins, &o->link);
    return o;
}

struct tt__origin *tt__pool_origin(struct tether_client *c, const struct tt__url *u)
{
    return pool_find_or_add(c, u, tt__proxy_via(c, u));
}

struct tt__origin *tt__pool_health(struct tether_client *c, const struct tt__url *u,
                                   struct tt__origin *pool)
{
    if (tt__proxy_via(c, u) != TT__VIA_FORWARD) {
        return pool;
    }
    return pool_find_or_add(c, u, TT__VIA_DIRECT);
}

void tt__pool_free_origins(struct tether_client *c)
{
    while (!tt__list_empty(&c->origins)) {
        struct tt__origin *o = tt__container_of(c->origins.next, struct tt__origin, link);
        tt__list_remove(&o->link);
        tt__free(o);
    }
}

/* ---- learning the origin's idle close time ---- */

static bool pool_learned_valid(const struct tt__learned *l, uint64_t now)
{
    return l->at_ms != 0 && now - l->at_ms <= TT__LEARN_TTL_MS;
}

/*
 * The smallest confirmed observation. One close proves little: a restart or a load balancer
 * draining closes every idle connection at once, whatever their idle times, and learning
 * from that would stop pooling altogether. A server's idle timeout instead closes each
 * connection after the same idle time, at different moments. So an observation counts once
 * another one, seen at a different moment, agrees with it (within 10 %, at least 50 ms).
 */
uint64_t tt__pool_learned_ms(const struct tt__origin *o, uint64_t now)
{
    uint64_t best = 0;
    for (size_t i = 0; i < TT__LEARN_SLOTS; i++) {
        const struct tt__learned *a = &o->learned[i];
        if (!pool_learned_valid(a, now) || (best != 0 && a->idle_ms >= best)) {
            continue;
        }
        uint64_t tol = a->idle_ms / 10 > 50 ? a->idle_ms / 10 : 50;
        for (size_t j = 0; j < TT__LEARN_SLOTS; j++) {
            const struct tt__learned *b = &o->learned[j];
            if (j == i || !pool_learned_valid(b, now)) {
                continue;
            }
            uint64_t dv =
                a->idle_ms > b->idle_ms ? a->idle_ms - b->idle_ms : b->idle_ms - a->idle_ms;
            uint64_t dt = a->at_ms > b->at_ms ? a->at_ms - b->at_ms : b->at_ms - a->at_ms;
            if (dv <= tol && dt >= TT__LEARN_APART_MS) {
                best = a->idle_ms;
                break;
            }
        }
    }
    return best;
}

/* How long `c` may idle from now on, or POOL_NEVER. 0 means "do not pool". */
static uint64_t pool_idle_budget(struct tt__cli_conn *c, uint64_t now)
{
    const struct tether_policy *p = &c->client->policy;
    int64_t hint = p->honour_keep_alive_hint ? c->hint_timeout_s : -1;
    uint64_t learned = p->learn_idle_close ? tt__pool_learned_ms(c->origin, now) : 0;
    if (hint < 0 && learned == 0 && p->idle_timeout_ms == 0) {
        return POOL_NEVER;
    }
    return tt__idle_budget_ms(p, hint, learned);
}

/* The absolute retirement time for an idle connection (0 = never), budget and lifetime. */
static uint64_t pool_retire_at(struct tt__cli_conn *c, uint64_t budget)
{
    const struct tether_policy *p = &c->client->policy;
    uint64_t at = budget == POOL_NEVER ? 0 : c->idle_since_ms + budget;
    if (p->max_conn_lifetime_ms) {
        uint64_t end = c->created_ms + p->max_conn_lifetime_ms;
        if (at == 0 || end < at) {
            at = end;
        }
    }
    return at;
}

static void pool_arm(struct tt__cli_conn *c, uint64_t now)
{
    if (c->retire_at_ms == 0) {
        uv_timer_stop(&c->timer);
        return;
    }
    uint64_t delay = c->retire_at_ms > now ? c->retire_at_ms - now : 0;
    /* Never 0: a 0 ms timer means "stop" to tt__cli_conn_arm_timer. */
    tt__cli_conn_arm_timer(c, delay ? delay : 1);
}

/* Closes an idle connection and reports why: the event is built first, since closing ends
 * what it describes, and emitted last, since the hook may close the client. */
static void pool_close_idle(struct tt__cli_conn *c, enum tether_event_type type, uint64_t idle,
                            const char *why)
{
    struct tether_client *client = c->client;
    struct tether_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    ev.origin = c->origin->key;
    ev.reused = c->requests > 0;
    ev.idle_ms = idle;
    ev.reason = why;
    tt__cli_conn_close(c, false);
    tt__client_emit(client, &ev);
}

static void pool_retire(struct tt__cli_conn *c, uint64_t now, const char *why)
{
    c->client->stats.retired_idle++;
    pool_close_idle(c, TETHER_EVENT_CONN_RETIRED, tt__cli_conn_idle_ms(c, now), why);
}

/* An idle connection turned out dead or dirty: evict it, count it, maybe learn from it. */
static void pool_evict_stale(struct tt__cli_conn *c, uint64_t now, const char *why, bool closed)
{
    struct tether_client *client = c->client;
    struct tt__origin *o = c->origin;
    uint64_t idle = tt__cli_conn_idle_ms(c, now);
    client->stats.stale_evictions++;
    pool_close_idle(c, TETHER_EVENT_CONN_STALE, idle, why);
    /* Only a close seen while watching is timely enough to measure the server's timeout;
     * without the watcher the close happened at some unknown time before now. */
    if (closed && client->policy.watch_idle) {
        tt__pool_learn_close(o, idle, now);
    }
}

/* Zero-timeout check of an idle connection: for HTTP/1 any readability (bytes, FIN, RST)
 * means it cannot carry the next request (curl's rule). NULL when it looks usable. */
static const char *pool_probe(struct tt__cli_conn *c, bool *closed)
{
    *closed = true;
    if (c->stream.eof_seen) {
        return "closed by peer";
    }
    /* One poll answers the common case (nothing readable: usable); only a readable socket
     * costs the second call that tells unread bytes from a FIN or an RST. */
    uv_os_fd_t fd;
    if (uv_fileno((const uv_handle_t *)&c->stream.tcp, &fd) == 0) {
        struct pollfd pfd;
        pfd.fd = fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, 0) > 0 && pfd.revents) {
            size_t unread = 0;
            if (tt__sock_unread_bytes(&c->stream.tcp, &unread) == 0 && unread > 0) {
                *closed = false;
                return "unsolicited data";
            }
            return (pfd.revents & POLLERR) ? "reset by peer" : "closed by peer";
        }
    }
    return NULL;
}

void tt__pool_learn_close(struct tt__origin *o, uint64_t idle_ms, uint64_t now)
{
    struct tether_client *c = o->client;
    if (!c->policy.learn_idle_close || idle_ms == 0) {
        return;
    }
    size_t slot = 0;
    for (size_t i = 0; i < TT__LEARN_SLOTS; i++) {
        if (o->learned[i].at_ms == 0) {
            slot = i;
            break;
        }
        if (o->learned[i].at_ms < o->learned[slot].at_ms) {
            slot = i;
        }
    }
    uint64_t before = tt__pool_learned_ms(o, now);
    o->learned[slot].idle_ms = idle_ms;
    o->learned[slot].at_ms = now ? now : 1;
    uint64_t after = tt__pool_learned_ms(o, now);
    if (after == before) {
        return;
    }
    tt__debug(c, TT__DEBUG_NET, "learned that %s closes idle connections after %llu ms", o->key,
              (unsigned long long)after);
    /* Connections already idle get the new, shorter deadline too. Deadlines first (no call-
     * outs), then the retirements, rescanning from the head after each one: the event hook
     * may close anything, so no pointer into the list survives an emit. */
    for (struct tt__list *n = o->idle.next; n != &o->idle; n = n->next) {
        struct tt__cli_conn *ic = tt__container_of(n, struct tt__cli_conn, idle_link);
        uint64_t budget = pool_idle_budget(ic, now);
        ic->retire_at_ms = budget == 0 ? now : pool_retire_at(ic, budget);
        if (ic->retire_at_ms > now) {
            pool_arm(ic, now);
        }
    }
    for (;;) {
        struct tt__cli_conn *due = NULL;
        for (struct tt__list *n = o->idle.next; n != &o->idle && !due; n = n->next) {
            struct tt__cli_conn *ic = tt__container_of(n, struct tt__cli_conn, idle_link);
            if (ic->retire_at_ms && ic->retire_at_ms <= now) {
                due = ic;
            }
        }
        if (!due) {
            break;
        }
        pool_retire(due, now, "learned idle close");
    }
}

void tt__pool_learn_alive(struct tt__origin *o, uint64_t idle_ms, uint64_t now)
{
    (void)now;
    /* A connection that worked after idling idle_ms contradicts any close observed sooner
     * (a burst of closes from a restart, say): forget those. */
    for (size_t i = 0; i < TT__LEARN_SLOTS; i++) {
        if (o->learned[i].at_ms && o->learned[i].idle_ms <= idle_ms) {
            o->learned[i].at_ms = 0;
        }
    }
}

void tt__pool_evict_siblings(struct tt__origin *o, uint64_t idle_ms, uint64_t now)
{
    /* Rescans from the head after each eviction: the event hook may close anything. */
    for (;;) {
        struct tt__cli_conn *c = NULL;
        for (struct tt__list *n = o->idle.next; n != &o->idle && !c; n = n->next) {
            struct tt__cli_conn *ic = tt__container_of(n, struct tt__cli_conn, idle_link);
            if (tt__cli_conn_idle_ms(ic, now) >= idle_ms) {
                c = ic;
            }
        }
        if (!c) {
            return;
        }
        bool closed;
        const char *why = pool_probe(c, &closed);
        if (why) {
            pool_evict_stale(c, now, why, closed);
            continue;
        }
        /* Idle at least as long as a connection the server already closed: almost certainly
         * next, so do not wait to find out on a request. */
        struct tether_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.type = TETHER_EVENT_CONN_RETIRED;
        ev.origin = o->key;
        ev.idle_ms = tt__cli_conn_idle_ms(c, now);
        ev.reason = "idle as long as a stale sibling";
        tt__cli_conn_close(c, false);
        tt__client_emit(o->client, &ev);
    }
}

/* ---- the watcher ---- */

static void pool_idle_read(struct tt__stream *s, int status, const char *data, size_t len)
{
    struct tt__cli_conn *c = tt__container_of(s, struct tt__cli_conn, stream);
    (void)data;
    (void)len;
    if (c->state != TT__CLI_CONN_IDLE) {
        return;
    }
    uint64_t now = tt__client_now(c->client);
    if (status == 0) {
        /* An unsolicited "408" or garbage: never parse it as the next response. */
        pool_evict_stale(c, now, "unsolicited data", false);
    } else if (status == TETHER_EEOF) {
        pool_evict_stale(c, now, "closed by peer", true);
    } else {
        pool_evict_stale(c, now, "reset by peer", true);
    }
}

void tt__pool_idle_timer(struct tt__cli_conn *c)
{
    uint64_t now = tt__client_now(c->client);
    if (c->retire_at_ms == 0) {
        return;
    }
    if (now < c->retire_at_ms) {
        pool_arm(c, now);
        return;
    }
    const struct tether_policy *p = &c->client->policy;
    bool aged = p->max_conn_lifetime_ms && now >= c->created_ms + p->max_conn_lifetime_ms;
    pool_retire(c, now, aged ? "lifetime reached" : "idle budget spent");
}

/* ---- checkout and release ---- */

struct tt__cli_conn *tt__pool_checkout(struct tt__origin *o, uint64_t now)
{
    const struct tether_policy *p = &o->client->policy;
    while (!tt__list_empty(&o->idle)) {
        /* Most recently used first: it is the least likely to have been closed. */
        struct tt__cli_conn *c = tt__container_of(o->idle.prev, struct tt__cli_conn, idle_link);
        uint64_t idle = tt__cli_conn_idle_ms(c, now);
        if (c->retire_at_ms && now >= c->retire_at_ms) {
            tt__pool_idle_timer(c);
            continue;
        }
        if (p->probe_on_checkout) {
            bool closed;
            const char *why = pool_probe(c, &closed);
            if (why) {
                pool_evict_stale(c, now, why, closed);
                tt__pool_evict_siblings(o, idle, now);
                continue;
            }
        }
        tt__list_remove(&c->idle_link);
        uv_timer_stop(&c->timer);
        c->state = TT__CLI_CONN_ACTIVE;
        return c;
    }
    return NULL;
}

bool tt__pool_can_dial(struct tt__origin *o, bool fresh)
{
    unsigned max = o->client->policy.max_conns_per_origin;
    if (max == 0 || o->nopen < max) {
        return true;
    }
    if (fresh && !tt__list_empty(&o->idle)) {
        /* A replay needs a new connection: make room by closing the oldest idle one. */
        struct tt__cli_conn *c = tt__container_of(o->idle.next, struct tt__cli_conn, idle_link);
        tt__cli_conn_close(c, false);
        return o->nopen < max;
    }
    return false;
}

/* Wakes the oldest waiter not already woken. Woken ones keep their place in the list until
 * their start runs, so a fetch arriving in between queues behind them instead of taking the
 * freed connection first (which used to send the woken one to the back, again and again). */
static void pool_wake_oldest(struct tt__origin *o)
{
    for (struct tt__list *n = o->waiters.next; n != &o->waiters; n = n->next) {
        struct tether_fetch *f = tt__container_of(n, struct tether_fetch, qlink);
        if (f->queued == TT__FQ_WAIT) {
            tt__client_wake(o->client, f);
            return;
        }
    }
}

void tt__pool_slot_freed(struct tt__origin *o)
{
    if (o->client->closing) {
        return;
    }
    pool_wake_oldest(o);
}

void tt__pool_kick(struct tt__origin *o)
{
    if (o->client->closing) {
        return;
    }
    for (struct tt__list *n = o->waiters.next; n != &o->waiters; n = n->next) {
        if (tt__container_of(n, struct tether_fetch, qlink)->queued == TT__FQ_WOKEN) {
            return; /* one is already on its way to the free slot */
        }
    }
    unsigned max = o->client->policy.max_conns_per_origin;
    if (!tt__list_empty(&o->idle) || max == 0 || o->nopen < max) {
        pool_wake_oldest(o);
    }
}

void tt__pool_release(struct tt__cli_conn *c, bool reusable)
{
    struct tether_client *client = c->client;
    const struct tether_policy *p = &client->policy;
    uint64_t now = tt__client_now(client);
    const char *why = NULL;
    uint64_t budget = 0;
    if (!reusable) {
        why = "the response does not allow reuse";
    } else if (client->closing || !p->keep_alive) {
        why = "keep-alive is off";
    } else if (c->ka_max_left == 0) {
        why = "Keep-Alive max reached";
    } else if (p->max_requests_per_conn && c->requests >= p->max_requests_per_conn) {
        why = "max requests per connection reached";
    } else if (p->max_conn_lifetime_ms && now - c->created_ms >= p->max_conn_lifetime_ms) {
        why = "lifetime reached";
    } else if ((budget = pool_idle_budget(c, now)) == 0) {
        why = "idle budget is zero";
    }
    if (why) {
        tt__debug(client, TT__DEBUG_NET, "closing connection %llu to %s: %s",
                  (unsigned long long)c->id, c->origin->peer_name, why);
        tt__cli_conn_close(c, false);
        return;
    }
    c->state = TT__CLI_CONN_IDLE;
    c->owner = NULL;
    c->idle_since_ms = now;
    c->retire_at_ms = pool_retire_at(c, budget);
    tt__list_insert_tail(&c->origin->idle, &c->idle_link);
    if (p->watch_idle) {
        if (tt__stream_read_start(&c->stream, pool_idle_read) != 0) {
            tt__cli_conn_close(c, false);
            return;
        }
    } else {
        /* A plain keep-alive pool: nobody looks at the socket until it is reused. */
        tt__stream_read_stop(&c->stream);
    }
    pool_arm(c, now);
    tt__pool_slot_freed(c->origin);
}

void tt__pool_close_all(struct tether_client *c)
{
    for (struct tt__list *n = c->origins.next; n != &c->origins; n = n->next) {
        struct tt__origin *o = tt__container_of(n, struct tt__origin, link);
        struct tt__list *cn = o->conns.next;
        while (cn != &o->conns) {
            struct tt__cli_conn *conn = tt__container_of(cn, struct tt__cli_conn, link);
            cn = cn->next;
            tt__cli_conn_close(conn, conn->state == TT__CLI_CONN_ACTIVE);
        }
    }
}
