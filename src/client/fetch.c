/* SPDX-License-Identifier: MIT */
/* One logical request (its bytes are built by request.c): acquiring connections, transparent
 * replay on a fresh connection, retries inside the budget and the deadline, the response head
 * and body, and the end of the fetch. */
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"
#include "util/str.h"

#define FETCH_DEFAULT_MAX_BODY (64u * 1024u * 1024u)
/* Header storage for the final response: the parser's own head limit. */
#define FETCH_HEAD_STORE_MAX (2u * TT__H1_DEFAULT_MAX_HEAD_BYTES)

static void fetch_timer_cb(uv_timer_t *t);
static void fetch_finish(struct tether_fetch *f, int code);

/* Copies a C string into a fixed field, cutting it when it does not fit. */
static void fetch_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void fetch_free_memory(struct tether_fetch *f)
{
    tt__free(f->method);
    tt__url_cleanup(&f->url);
    tt__buf_cleanup(&f->req);
    tt__buf_cleanup(&f->head_store);
    tt__buf_cleanup(&f->raw_head);
    tt__buf_cleanup(&f->body);
    tt__free(f->header_offsets);
    tt__free(f->url_text);
    tt__redirect_free(f);
    tt__decoder_free(f->decoder);
    tt__upload_free(f);
    tt__free(f);
}

/* Frees once the user let go, the timer handle is closed and no queue holds the fetch. */
static void fetch_maybe_free(struct tether_fetch *f)
{
    if (f->user_freed && (!f->timer_inited || f->timer_closed) && f->queued == TT__FQ_NONE) {
        fetch_free_memory(f);
    }
}

static void fetch_timer_closed(uv_handle_t *h)
{
    struct tether_fetch *f = h->data;
    struct tether_client *c = f->client;
    f->timer_closed = true;
    f->client = NULL;
    fetch_maybe_free(f);
    tt__client_release(c);
}

void tether_fetch_options_init(struct tether_fetch_options *o)
{
    if (o) {
        memset(o, 0, sizeof(*o));
    }
}

int tether_client_fetch(tether_client *c, const struct tether_fetch_options *o,
                        tether_fetch_done_cb done, tether_fetch **out)
{
    if (out) {
        *out = NULL;
    }
    if (c && c->own_loop && o) {
        /* Nobody runs a blocking client's loop between its calls: the fetch would hang. */
        tt__errbuf_set(o->errbuf, o->errbuf_len,
                       "a blocking client runs fetches with tether_client_fetch_blocking");
        return TETHER_EINVAL;
    }
    return tt__fetch_start(c, o, done, out);
}

int tt__fetch_start(struct tether_client *c, const struct tether_fetch_options *o,
                    tether_fetch_done_cb done, struct tether_fetch **out)
{
    if (out) {
        *out = NULL;
    }
    if (!c || !o || !done) {
        return TETHER_EINVAL;
    }
    if (!o->url) {
        tt__errbuf_set(o->errbuf, o->errbuf_len, "no URL");
        return TETHER_EINVAL;
    }
    if (c->closing) {
        tt__errbuf_set(o->errbuf, o->errbuf_len, "the client is closing");
        return TETHER_ECANCELED;
    }
    const char *method = o->method ? o->method : "GET";
    if (!tt__h1_is_token(method, strlen(method))) {
        tt__errbuf_set(o->errbuf, o->errbuf_len, "invalid method '%s': not an HTTP token", method);
        return TETHER_EINVAL;
    }
    if (o->body_len && !o->body) {
        tt__errbuf_set(o->errbuf, o->errbuf_len, "body_len %zu without a body", o->body_len);
        return TETHER_EINVAL;
    }
    struct tether_fetch *f = tt__calloc(1, sizeof(*f));
    if (!f) {
        return TETHER_ENOMEM;
    }
    f->client = c;
    tt__list_init(&f->link);
    tt__list_init(&f->qlink);
    tt__buf_init(&f->req, SIZE_MAX);
    tt__buf_init(&f->head_store, FETCH_HEAD_STORE_MAX);
    tt__buf_init(&f->raw_head, FETCH_HEAD_STORE_MAX);
    f->started_ns = uv_hrtime();
    f->max_body_bytes = o->max_body_bytes ? o->max_body_bytes : FETCH_DEFAULT_MAX_BODY;
    tt__buf_init(&f->body, f->max_body_bytes);
    f->method = tt__strndup(method, strlen(method));
    f->url_text = tt__strndup(o->url, strlen(o->url));
    f->decompress = o->decompress;
    f->max_redirects = o->max_redirects;
    int rv = f->method && f->url_text ? tt__url_parse(o->url, &f->url, o->errbuf, o->errbuf_len)
                                      : TETHER_ENOMEM;
    rv = rv == 0 ? tt__upload_init(f, o) : rv;
    if (rv == 0) {
        rv = tt__fetch_build(f, o, c->user_agent);
    }
    if (rv == 0 && o->max_redirects > 0) {
        rv = tt__redirect_init(f, o);
    }
    if (rv == 0) {
        rv = tt__resume_init(f, o);
    }
    if (rv == 0) {
        f->origin = tt__pool_origin(c, &f->url);
        f->health = f->origin ? tt__pool_health(c, &f->url, f->origin) : NULL;
        rv = f->health ? 0 : TETHER_ENOMEM;
    }
    if (rv != 0) {
        fetch_free_memory(f);
        return rv;
    }
    f->body_len = o->body_len;
    f->replayable = o->body_len <= c->policy.replay_buffer_bytes;
    f->on_body = o->on_body;
    f->on_restart = o->on_restart;
    f->data = o->data;
    f->done = done;
    (void)uv_timer_init(c->loop, &f->timer);
    f->timer.data = f;
    f->timer_inited = true;
    c->live++;

    uint64_t now = tt__client_now(c);
    uint64_t deadline = o->deadline_ms ? o->deadline_ms : c->policy.deadline_ms;
    f->started_ms = now;
    f->deadline_at_ms = deadline ? now + deadline : 0;
    f->state = TT__FS_QUEUED;
    tt__budget_deposit(&f->health->budget, now);
    c->stats.fetches++;
    tt__list_insert_tail(&c->fetches, &f->link);
    if (deadline) {
        (void)uv_timer_start(&f->timer, fetch_timer_cb, deadline, 0);
    }
    /* The first attempt starts on the next loop turn, after I/O was polled: an idle
     * connection the server closed meanwhile is then already evicted (undici's
     * setImmediate validation), and `done` can never run inside this call. */
    tt__client_defer(c, f, TT__FQ_START);
    if (out) {
        *out = f;
    }
    return 0;
}

/* ---- events ---- */

void tt__fetch_event_init(struct tether_event *ev, enum tether_event_type type,
                          const struct tether_fetch *f)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    ev->fetch = f;
    ev->origin = f->origin->key;
    ev->attempt = f->attempts;
    ev->reused = f->att.reused;
    ev->idle_ms = f->att.idle_ms;
    if (type == TETHER_EVENT_CONN_REUSED && f->remote[0]) {
        ev->peer = f->remote;
    }
}

static void fetch_emit(struct tether_fetch *f, enum tether_event_type type, int status,
                       uint64_t delay_ms, const char *reason, const struct tether_failure *fail)
{
    struct tether_event ev;
    tt__fetch_event_init(&ev, type, f);
    ev.status = status;
    ev.delay_ms = delay_ms;
    ev.reason = reason;
    ev.failure = fail;
    if (type == TETHER_EVENT_BUDGET_EXHAUSTED) {
        ev.origin = f->health->key; /* the budget's origin, also through a forward proxy */
    }
    tt__client_emit(f->client, &ev);
}

/* ---- acquiring a connection ---- */

static uint64_t fetch_now(struct tether_fetch *f)
{
    return tt__client_now(f->client);
}

static bool fetch_deadline_passed(struct tether_fetch *f, uint64_t now)
{
    return f->deadline_at_ms && now >= f->deadline_at_ms;
}

static void fetch_begin_attempt(struct tether_fetch *f, bool replay)
{
    bool fresh = replay || f->retry_fresh;
    f->retry_fresh = false;
    memset(&f->att, 0, sizeof(f->att));
    /* Retries and replays ask the origin's circuit breaker first, as first attempts do. */
    if (!tt__fetch_admit(f)) {
        return;
    }
    f->att.fresh = fresh;
    if (!replay) {
        f->attempts++;
        f->client->stats.attempts++;
    }
    f->att.started_ms = fetch_now(f);
    tt__fetch_acquire(f);
}

void tt__fetch_acquire(struct tether_fetch *f)
{
    struct tether_client *c = f->client;
    struct tt__origin *o = f->origin;
    struct tt__attempt *a = &f->att;
    uint64_t now = fetch_now(f);
    bool woken = f->woken;
    f->woken = false;
    if (f->state == TT__FS_DONE) {
        return;
    }
    if (fetch_deadline_passed(f, now)) {
        fetch_timer_cb(&f->timer);
        if (woken) {
            tt__pool_kick(o); /* the turn it did not use */
        }
        return;
    }
    f->state = TT__FS_QUEUED;
    if (!woken && !tt__list_empty(&o->waiters)) {
        /* FIFO: older fetches are waiting for this origin; this one queues behind them. */
        f->queued = TT__FQ_WAIT;
        tt__list_insert_tail(&o->waiters, &f->qlink);
        tt__pool_kick(o);
        return;
    }
    if (!a->fresh && c->policy.keep_alive) {
        struct tt__cli_conn *conn = tt__pool_checkout(o, now);
        if (f->state == TT__FS_DONE) {
            /* An event hook (a stale eviction's) cancelled us or closed the client. */
            if (conn) {
                tt__cli_conn_close(conn, false);
            }
            return;
        }
        if (conn) {
            a->conn = conn;
            a->reused = true;
            a->idle_ms = tt__cli_conn_idle_ms(conn, now);
            f->state = TT__FS_ACTIVE;
            c->stats.connections_reused++;
            tt__fetch_info_reused(f, conn);
            fetch_emit(f, TETHER_EVENT_CONN_REUSED, 0, 0, NULL, NULL);
            if (f->state != TT__FS_ACTIVE || a->conn != conn) {
                return; /* cancelled from the event hook */
            }
            tt__cli_conn_send(conn, f);
            return;
        }
    }
    if (!tt__pool_can_dial(o, a->fresh)) {
        f->queued = TT__FQ_WAIT;
        /* A woken waiter that still found nothing keeps its turn: back at the front. */
        tt__list_insert_tail(woken ? o->waiters.next : &o->waiters, &f->qlink);
        tt__debug(c, TT__DEBUG_HTTP, "waiting for a connection to %s (%u open)", o->key, o->nopen);
        return;
    }
    a->reused = false;
    a->idle_ms = 0;
    f->state = TT__FS_CONNECTING;
    fetch_emit(f, TETHER_EVENT_CONN_NEW, 0, 0, NULL, NULL);
    if (f->state != TT__FS_CONNECTING) {
        return;
    }
    struct tt__cli_conn *conn = NULL;
    int rv = tt__cli_conn_dial(o, f, &conn);
    if (rv != 0) {
        struct tether_failure fail;
        tether_failure_init(&fail);
        fail.code = rv;
        fail.syscall = rv == TETHER_ETLS ? TETHER_SYSCALL_NONE : TETHER_SYSCALL_CONNECT;
        fail.phase = rv == TETHER_ETLS ? TETHER_PHASE_TLS : TETHER_PHASE_CONNECT;
        fetch_copy(fail.peer, sizeof(fail.peer), o->peer_name);
        fetch_copy(fail.host, sizeof(fail.host), f->url.host);
        tt__fetch_attempt_failed(f, &fail);
        return;
    }
    a->conn = conn;
}

void tt__fetch_conn_ready(struct tether_fetch *f, struct tt__cli_conn *c)
{
    f->state = TT__FS_ACTIVE;
    tt__fetch_info_connected(f, c);
    if (f->state != TT__FS_ACTIVE || f->att.conn != c) {
        return; /* cancelled from the event hook */
    }
    tt__cli_conn_send(c, f);
}

/* ---- outcomes of an attempt ---- */

static enum tether_retry_safety fetch_retry_safety(const struct tether_fetch *f,
                                                   const struct tether_failure *fail)
{
    return tt__retry_safety(f->method, f->has_key, f->replayable, fail);
}

/* Asks the policy whether to go again with every fact it needs; fills `d`. */
static void fetch_decide(struct tether_fetch *f, const struct tether_failure *fail, int status,
                         struct tt__retry_decision *d)
{
    struct tether_client *c = f->client;
    struct tt__retry_input in;
    uv_timeval64_t tv;
    memset(&in, 0, sizeof(in));
    in.policy = &c->policy;
    in.method = f->method;
    in.has_idempotency_key = f->has_key;
    in.failure = fail;
    in.status = status;
    if (status) {
        in.retry_after = tether_fetch_header(f, "Retry-After");
        in.ratelimit_reset = tether_fetch_header(f, "X-RateLimit-Reset");
    }
    in.attempts = f->attempts - f->hop_attempts; /* each redirect hop has its own attempts */
    in.now_ms = fetch_now(f);
    in.now_unix_ms = uv_gettimeofday(&tv) == 0 ? tv.tv_sec * 1000 + tv.tv_usec / 1000 : 0;
    in.deadline_at_ms = f->deadline_at_ms;
    in.started_ms = f->started_ms;
    in.body_restartable = tt__resume_body_restartable(f);
    in.request_rewindable = f->replayable;
    tt__retry_decide(&in, &c->rng, d);
    f->retry_after_ms = d->pushback_ms;
}

/* Applies the budget to a YES that costs it; emits what ends retrying. Returns true to retry. */
static bool fetch_may_retry(struct tether_fetch *f, struct tt__retry_decision *d, int status)
{
    struct tether_client *c = f->client;
    switch (d->verdict) {
    case TT__RETRY_YES:
        if (tt__fetch_breaker_blocks(f, d->delay_ms)) {
            return false; /* the breaker would refuse it: end with this outcome now */
        }
        if (!d->costs_budget || tt__budget_withdraw(&f->health->budget, fetch_now(f))) {
            return true;
        }
        c->stats.budget_exhausted++;
        fetch_emit(f, TETHER_EVENT_BUDGET_EXHAUSTED, status, d->delay_ms, d->reason, NULL);
        return false;
    case TT__RETRY_NO_DEADLINE:
    case TT__RETRY_NO_PUSHBACK:
        fetch_emit(f, TETHER_EVENT_DEADLINE, status, d->pushback_ms ? d->pushback_ms : d->delay_ms,
                   d->verdict == TT__RETRY_NO_DEADLINE ? "the wait would pass the deadline"
                                                       : "the server asked for a longer wait",
                   NULL);
        return false;
    default:
        return false;
    }
}

static void fetch_sleep(struct tether_fetch *f, uint64_t delay_ms, int status, const char *reason)
{
    struct tether_client *c = f->client;
    f->retries++;
    c->stats.retries++;
    tt__buf_reset(&f->raw_head); /* tether_fetch_response_head is the final response's only */
    fetch_emit(f, TETHER_EVENT_RETRY_SCHEDULED, status, delay_ms, reason, NULL);
    if (f->state == TT__FS_DONE) {
        return;
    }
    f->state = TT__FS_SLEEPING;
    f->att.sleep_until_ms = fetch_now(f) + delay_ms;
    uint64_t wait = delay_ms;
    if (f->deadline_at_ms) {
        uint64_t now = fetch_now(f);
        uint64_t left = f->deadline_at_ms > now ? f->deadline_at_ms - now : 0;
        if (left < wait) {
            wait = left;
        }
    }
    /* The timer may be started from a timer callback, where libuv 1.44 would run a 0 ms
     * timer in the same turn; 1 ms keeps the retry on a later turn. */
    (void)uv_timer_start(&f->timer, fetch_timer_cb, wait ? wait : 1, 0);
}

void tt__fetch_attempt_failed(struct tether_fetch *f, struct tether_failure *fail)
{
    struct tether_client *c = f->client;
    struct tt__attempt *a = &f->att;
    bool reused = a->reused;
    a->conn = NULL;
    if (f->state == TT__FS_DONE) {
        return;
    }
    fail->reused = reused;
    fail->idle_ms = a->idle_ms;
    fail->attempt = f->attempts;
    fail->replays = f->replays;
    if (!fail->host[0]) {
        fetch_copy(fail->host, sizeof(fail->host), f->url.host);
    }
    if (!fail->peer[0] && fail->syscall == TETHER_SYSCALL_CONNECT) {
        fetch_copy(fail->peer, sizeof(fail->peer), f->origin->peer_name);
    }
    fail->retry_safe = fetch_retry_safety(f, fail);
    f->failure = *fail;

    char msg[256];
    (void)tether_failure_message(fail, msg, sizeof(msg));
    fetch_emit(f, TETHER_EVENT_ATTEMPT_FAILED, 0, 0, msg, &f->failure);
    if (f->state == TT__FS_DONE) {
        return;
    }
    uint64_t now = fetch_now(f);
    bool stale_sign = reused && fail->bytes_received == 0 && fail->phase >= TETHER_PHASE_WRITE &&
                      (fail->code == TETHER_EHANGUP || fail->code == TETHER_ECONNRESET ||
                       fail->code == TETHER_EPIPE || fail->code == TETHER_EEOF);
    tt__fetch_breaker_settle(f, fail->code, stale_sign);
    if (f->state == TT__FS_DONE) {
        return; /* a breaker event's hook ended the fetch */
    }
    if (stale_sign) {
        /* The pooled connection was closed under us: its siblings idled as long are next. */
        if (c->policy.watch_idle) {
            tt__pool_learn_close(f->origin, a->idle_ms, now);
        }
        /* A plain keep-alive pool (naive) looks at nothing; every protection is opt-in. */
        if (c->policy.watch_idle || c->policy.probe_on_checkout) {
            tt__pool_evict_siblings(f->origin, a->idle_ms, now);
        }
        if (f->state == TT__FS_DONE) {
            return; /* closed from an event hook */
        }
    }

    /* A replay is not a retry: the request provably did not run (or may safely run again),
     * it goes out at once on a new connection and costs no attempt or budget. */
    if (tt__replay_allowed(&c->policy, f->method, f->has_key, f->replayable, reused,
                           fail->bytes_sent, fail->bytes_received, fail->code, f->replays)) {
        f->replays++;
        c->stats.replays++;
        char reason[320];
        (void)snprintf(reason, sizeof(reason), "%s, %llu response bytes", msg,
                       (unsigned long long)fail->bytes_received);
        fetch_emit(f, TETHER_EVENT_REPLAY, 0, 0, reason, &f->failure);
        if (f->state != TT__FS_DONE) {
            fetch_begin_attempt(f, true);
        }
        return;
    }
    if (a->retry_pending) {
        /* The failure hit while draining a response we had already decided to retry. */
        fetch_sleep(f, a->retry_delay_ms, f->status, a->retry_reason);
        return;
    }
    /* The policy judges a body cut short too: resume.c continues it with a Range, or restarts
     * it from byte 0 in a sink that can start over (client.md §6.5). */
    struct tt__retry_decision d;
    fetch_decide(f, &f->failure, a->head_seen ? f->status : 0, &d);
    if (fetch_may_retry(f, &d, 0)) {
        /* The connection broke under the request: its pooled siblings share its path and
         * history (a proxy cutting long transfers, a draining peer), so the next attempt
         * dials, like a replay does. */
        f->retry_fresh = reused && fail->code != TETHER_ETIMEDOUT;
        f->status = 0;
        if (tt__resume_prepare(f, &d)) {
            fetch_sleep(f, d.delay_ms, 0, d.reason[0] ? d.reason : msg);
        }
        return;
    }
    if (f->state != TT__FS_DONE) {
        fetch_finish(f, fail->code);
    }
}

/* Copies the final head's fields so they outlive the connection's buffer. */
static int fetch_store_head(struct tether_fetch *f, const struct tt__h1_head *h)
{
    tt__buf_reset(&f->head_store);
    tt__free(f->header_offsets);
    f->header_offsets = NULL;
    f->nheaders = 0;
    if (h->nfields == 0) {
        return 0;
    }
    f->header_offsets = tt__calloc(h->nfields * 2, sizeof(size_t));
    if (!f->header_offsets) {
        return TETHER_ENOMEM;
    }
    /* One reservation, then copies: this runs for every response. */
    size_t total = 0;
    for (size_t i = 0; i < h->nfields; i++) {
        total += h->fields[i].name.len + h->fields[i].value.len + 2;
    }
    int rv = tt__buf_reserve(&f->head_store, total);
    if (rv != 0) {
        return rv;
    }
    char *p = f->head_store.data;
    for (size_t i = 0; i < h->nfields; i++) {
        const struct tt__h1_field *fl = &h->fields[i];
        f->header_offsets[2 * i] = (size_t)(p - f->head_store.data);
        memcpy(p, fl->name.ptr, fl->name.len);
        p += fl->name.len;
        *p++ = '\0';
        f->header_offsets[2 * i + 1] = (size_t)(p - f->head_store.data);
        if (fl->value.len) {
            memcpy(p, fl->value.ptr, fl->value.len);
            p += fl->value.len;
        }
        *p++ = '\0';
    }
    f->head_store.len = total;
    f->head_store.data[total] = '\0';
    f->nheaders = h->nfields;
    return 0;
}

/* Ends the fetch with a failure found in the response body (size, encoding, redirect). */
static void fetch_fail_body(struct tether_fetch *f, int code, const char *detail)
{
    tether_failure_init(&f->failure);
    f->failure.code = code;
    f->failure.phase = TETHER_PHASE_READ_BODY;
    f->failure.attempt = f->attempts;
    fetch_copy(f->failure.host, sizeof(f->failure.host), f->url.host);
    fetch_copy(f->failure.detail, sizeof(f->failure.detail), detail);
    fetch_finish(f, code);
}

/* The answer to a Range request that continues a cut body (resume.c judged it). */
static bool fetch_resumed_head(struct tether_fetch *f, const struct tt__h1_head *h,
                               enum tt__resume_head rh)
{
    struct tt__attempt *a = &f->att;
    switch (rh) {
    case TT__RH_CONTINUE:
        /* The body is still the first response's: its status and fields stay. */
        f->status = f->resume.first_status;
        a->body_mode = TT__BODY_DELIVER;
        break;
    case TT__RH_COMPLETE:
        a->body_mode = TT__BODY_DISCARD;
        f->status = f->resume.first_status ? f->resume.first_status : h->status;
        if (!f->resume.first_status && fetch_store_head(f, h) != 0) {
            fetch_finish(f, TETHER_ENOMEM);
            return false;
        }
        break;
    case TT__RH_RETRY:
        f->status = h->status;
        a->body_mode = TT__BODY_DISCARD;
        a->retry_pending = true;
        a->retry_delay_ms = 0;
        (void)snprintf(a->retry_reason, sizeof(a->retry_reason), "%d does not continue the body",
                       h->status);
        break;
    case TT__RH_FAIL:
        tt__resume_fail(f);
        return false;
    default:
        return false;
    }
    fetch_emit(f, TETHER_EVENT_RESPONSE, h->status, 0, NULL, NULL);
    return f->state != TT__FS_DONE;
}

bool tt__fetch_on_head(struct tether_fetch *f, struct tt__cli_conn *c, const struct tt__h1_head *h)
{
    struct tt__attempt *a = &f->att;
    uint64_t now = fetch_now(f);
    a->head_seen = true;
    if (a->reused) {
        tt__pool_learn_alive(f->origin, a->idle_ms, now);
    }
    enum tt__resume_head rh = tt__resume_on_head(f, h);
    if (rh != TT__RH_NORMAL && rh != TT__RH_STATUS) {
        return fetch_resumed_head(f, h, rh);
    }
    f->status = h->status;
    if (fetch_store_head(f, h) != 0 || tt__fetch_info_head(f, c->in.data, h->head_len) != 0) {
        fetch_finish(f, TETHER_ENOMEM);
        return false;
    }
    a->body_mode = TT__BODY_DELIVER;
    tt__buf_reset(&f->body);
    /* The policy decides which statuses are worth another attempt; 1xx-3xx never are. */
    if (h->status >= 400) {
        struct tt__retry_decision d;
        fetch_decide(f, NULL, h->status, &d);
        if (fetch_may_retry(f, &d, h->status)) {
            /* Drain this answer quietly (keeping the connection when its framing allows) and
             * sleep once it is complete. */
            a->body_mode = TT__BODY_DISCARD;
            a->retry_pending = true;
            a->retry_delay_ms = d.delay_ms;
            (void)snprintf(a->retry_reason, sizeof(a->retry_reason), "%s",
                           d.reason[0] ? d.reason : "status");
        }
        if (f->state == TT__FS_DONE) {
            return false;
        }
    }
    if (f->redir && h->status >= 300 && h->status < 400) {
        int rv = tt__redirect_check(f, h->status);
        if (rv < 0) {
            fetch_finish(f, rv);
            return false;
        }
        if (rv == 1) {
            a->body_mode = TT__BODY_DISCARD; /* drained, so the connection can carry the next */
            a->redirect_pending = true;
        }
    }
    tt__decoder_free(f->decoder);
    f->decoder = NULL;
    if (f->decompress && a->body_mode == TT__BODY_DELIVER) {
        char why[160];
        int rv = tt__decoder_new(tether_fetch_header(f, "Content-Encoding"), &f->decoder, why,
                                 sizeof(why));
        if (rv != 0) {
            fetch_fail_body(f, rv, why);
            return false;
        }
    }
    if (a->body_mode == TT__BODY_DELIVER) {
        fetch_emit(f, TETHER_EVENT_RESPONSE, h->status, 0, NULL, NULL);
        if (rh == TT__RH_STATUS) {
            a->body_mode = TT__BODY_DISCARD; /* never after the bytes of the cut body */
        }
    }
    return f->state != TT__FS_DONE;
}

/* Decoded body bytes to the user's callback or the collected body. */
static bool fetch_deliver(void *arg, const char *data, size_t len)
{
    struct tether_fetch *f = arg;
    if (f->on_body) {
        if (!f->on_body(f, data, len)) {
            if (f->state != TT__FS_DONE) {
                fetch_finish(f, TETHER_ECANCELED);
            }
            return false;
        }
        f->resume.delivered += len;
        return f->state != TT__FS_DONE;
    }
    if (tt__buf_append(&f->body, data, len) != 0) {
        char detail[96];
        (void)snprintf(detail, sizeof(detail), "response body exceeds max_body_bytes (%zu)%s",
                       f->max_body_bytes, f->decoder ? " once decoded" : "");
        fetch_fail_body(f, TETHER_ETOOBIG, detail);
        return false;
    }
    f->resume.delivered += len;
    return true;
}

bool tt__fetch_on_body(struct tether_fetch *f, const char *data, size_t len)
{
    if (f->state == TT__FS_DONE) {
        return false;
    }
    if (f->att.body_mode == TT__BODY_DISCARD) {
        return true;
    }
    if (!f->decoder) {
        return fetch_deliver(f, data, len);
    }
    char why[160];
    int rv = tt__decoder_feed(f->decoder, data, len, fetch_deliver, f, why, sizeof(why));
    if (rv != 0 && f->state != TT__FS_DONE) {
        fetch_fail_body(f, rv, why);
    }
    return f->state != TT__FS_DONE;
}

void tt__fetch_on_complete(struct tether_fetch *f)
{
    struct tt__attempt *a = &f->att;
    a->conn = NULL;
    if (f->state == TT__FS_DONE) {
        return;
    }
    tt__fetch_breaker_settle(f, 0, false);
    if (f->state == TT__FS_DONE) {
        return;
    }
    if (a->retry_pending) {
        fetch_sleep(f, a->retry_delay_ms, f->status, a->retry_reason);
        return;
    }
    if (f->decoder && !tt__decoder_complete(f->decoder)) {
        fetch_fail_body(f, TETHER_EHTTP, "the compressed body ends before its end mark");
        return;
    }
    if (a->redirect_pending) {
        int status = f->status;
        int rv = tt__redirect_next(f);
        if (rv != 0) {
            fetch_finish(f, rv);
            return;
        }
        fetch_emit(f, TETHER_EVENT_REDIRECT, status, 0, f->url_text, NULL);
        if (f->state == TT__FS_DONE) {
            return;
        }
        /* The next hop starts on the next loop turn, like a first attempt. */
        memset(&f->att, 0, sizeof(f->att));
        f->attempts++;
        f->client->stats.attempts++;
        f->hop_attempts = f->attempts - 1;
        f->att.started_ms = fetch_now(f);
        f->state = TT__FS_QUEUED;
        tt__client_defer(f->client, f, TT__FQ_START);
        return;
    }
    fetch_finish(f, 0);
}

/* ---- the deadline and the sleep ---- */

static void fetch_timer_cb(uv_timer_t *t)
{
    struct tether_fetch *f = t->data;
    uint64_t now = fetch_now(f);
    if (f->state == TT__FS_DONE) {
        return;
    }
    if (f->state == TT__FS_SLEEPING && now >= f->att.sleep_until_ms &&
        !fetch_deadline_passed(f, now)) {
        if (f->deadline_at_ms) {
            (void)uv_timer_start(&f->timer, fetch_timer_cb, f->deadline_at_ms - now, 0);
        }
        fetch_begin_attempt(f, false);
        return;
    }
    if (!fetch_deadline_passed(f, now)) {
        /* Woken early (the loop's clock is coarse): wait for the rest. */
        uint64_t until = f->state == TT__FS_SLEEPING ? f->att.sleep_until_ms : f->deadline_at_ms;
        (void)uv_timer_start(&f->timer, fetch_timer_cb, until > now ? until - now : 1, 0);
        return;
    }
    fetch_emit(f, TETHER_EVENT_DEADLINE, f->status, now - f->started_ms, "deadline exceeded", NULL);
    if (f->state == TT__FS_DONE) {
        return;
    }
    if (f->state != TT__FS_SLEEPING || f->failure.code == 0) {
        /* The deadline cut an attempt short (or the sleep after a retryable status). */
        struct tether_failure fail;
        tether_failure_init(&fail);
        fail.code = TETHER_EDEADLINE;
        fail.phase = f->state == TT__FS_ACTIVE       ? TETHER_PHASE_READ_HEADERS
                     : f->state == TT__FS_CONNECTING ? TETHER_PHASE_CONNECT
                                                     : TETHER_PHASE_NONE;
        if (f->att.conn && f->att.conn->state == TT__CLI_CONN_ACTIVE) {
            fail.phase = f->att.conn->rstate == TT__RS_BODY ? TETHER_PHASE_READ_BODY
                                                            : TETHER_PHASE_READ_HEADERS;
            fail.bytes_received = f->att.conn->stream.bytes_read - f->att.conn->read_base;
            /* Writes that completed went out, a streamed body's first pieces included. */
            fail.bytes_sent = f->att.conn->write_done
                                  ? f->att.conn->write_len
                                  : f->att.conn->stream.bytes_written - f->att.conn->write_base;
            if (!f->att.conn->write_done && f->upload.on && f->att.conn->rstate == TT__RS_HEAD) {
                fail.phase = TETHER_PHASE_WRITE; /* still sending the body */
            }
        }
        fail.reused = f->att.reused;
        fail.idle_ms = f->att.idle_ms;
        fail.attempt = f->attempts;
        fail.replays = f->replays;
        (void)snprintf(fail.detail, sizeof(fail.detail), "after %llu ms",
                       (unsigned long long)(now - f->started_ms));
        fetch_copy(fail.host, sizeof(fail.host), f->url.host);
        fail.retry_safe = fetch_retry_safety(f, &fail);
        f->failure = fail;
    }
    fetch_finish(f, f->failure.code);
}

/* ---- finishing ---- */

static void fetch_finish(struct tether_fetch *f, int code)
{
    struct tether_client *c = f->client;
    if (f->state == TT__FS_DONE) {
        return;
    }
    /* An attempt cut short (deadline, cancel, a body too large) still reports its outcome;
     * the breaker events it may cause run before the fetch is marked done. */
    tt__fetch_breaker_settle(f, code, false);
    if (f->state == TT__FS_DONE) {
        return;
    }
    f->state = TT__FS_DONE;
    f->finished_ms = fetch_now(f);
    f->finished_ns = uv_hrtime();
    struct tt__cli_conn *conn = f->att.conn;
    f->att.conn = NULL;
    if (conn && conn->owner == f) {
        /* Abandoning an exchange midway: the connection cannot carry another request. */
        tt__cli_conn_close(conn, conn->state == TT__CLI_CONN_ACTIVE);
    }
    tt__client_undefer(f);
    tt__upload_free(f); /* a streamed body is of no use once the fetch is over */
    if (code == 0) {
        tether_failure_init(&f->failure);
        c->stats.succeeded++;
    } else {
        if (f->failure.code != code) {
            enum tether_phase phase = f->failure.phase;
            tether_failure_init(&f->failure);
            f->failure.code = code;
            f->failure.phase = phase;
            f->failure.attempt = f->attempts;
            f->failure.replays = f->replays;
            f->failure.reused = f->att.reused;
            f->failure.idle_ms = f->att.idle_ms;
        }
        c->stats.failed++;
    }
    char msg[256];
    if (code == 0) {
        tt__debug(c, TT__DEBUG_HTTP, "%s %s%s -> %d in %llu ms (%u attempts, %u replays)",
                  f->method, f->origin->key, f->url.target, f->status,
                  (unsigned long long)(f->finished_ms - f->started_ms), f->attempts, f->replays);
    } else {
        (void)tether_failure_message(&f->failure, msg, sizeof(msg));
        tt__debug(c, TT__DEBUG_HTTP, "%s %s%s failed: %s (%u attempts, %u replays)", f->method,
                  f->origin->key, f->url.target, msg, f->attempts, f->replays);
    }
    tt__list_remove(&f->link);
    uv_timer_stop(&f->timer);
    uv_close((uv_handle_t *)&f->timer, fetch_timer_closed);
    tt__client_defer(c, f, TT__FQ_DONE);
}

void tt__fetch_abort(struct tether_fetch *f, int code)
{
    if (f->state != TT__FS_DONE) {
        fetch_finish(f, code);
    }
}

void tt__fetch_run_done(struct tether_fetch *f)
{
    if (f->done_ran || f->user_freed) {
        fetch_maybe_free(f);
        return;
    }
    f->done_ran = true;
    f->done(f, f->failure.code); /* may call tether_fetch_free */
}

void tether_fetch_cancel(tether_fetch *f)
{
    if (f && f->state != TT__FS_DONE) {
        fetch_finish(f, TETHER_ECANCELED);
    }
}

void tether_fetch_free(tether_fetch *f)
{
    if (!f) {
        return;
    }
    if (f->state != TT__FS_DONE) {
        /* Freed before `done`: stop it, and it never calls back. */
        f->user_freed = true;
        fetch_finish(f, TETHER_ECANCELED);
    }
    f->user_freed = true;
    fetch_maybe_free(f);
}
