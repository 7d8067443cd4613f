/* SPDX-License-Identifier: MIT */
/* The client's side of the per-origin circuit breaker: every attempt (first, retry, replay)
 * asks it before anything is dialled, every attempt's outcome is reported once, and its
 * transitions become events. The state machine itself is policy/breaker.c. */
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"

static void circuit_emit(struct tether_fetch *f, const struct tt__breaker_changes *ch)
{
    struct tether_client *c = f->client;
    for (unsigned i = 0; i < ch->n && f->state != TT__FS_DONE; i++) {
        static const enum tether_event_type types[] = {
            TETHER_EVENT_BREAKER_CLOSED, TETHER_EVENT_BREAKER_OPEN, TETHER_EVENT_BREAKER_HALF_OPEN};
        enum tt__breaker_state to = ch->at[i].to;
        if (to == TT__BREAKER_OPEN) {
            c->stats.breaker_opened++;
        }
        struct tether_event ev;
        tt__fetch_event_init(&ev, types[to], f);
        ev.origin = f->health->key; /* the origin itself, also through a forward proxy */
        ev.delay_ms = ch->at[i].open_ms;
        ev.reason = ch->at[i].reason;
        tt__client_emit(c, &ev);
    }
}

bool tt__fetch_admit(struct tether_fetch *f)
{
    struct tether_client *c = f->client;
    struct tt__breaker *b = &f->health->breaker;
    struct tt__breaker_changes ch;
    uint64_t retry_in = 0;
    ch.n = 0;
    bool go = tt__breaker_admit(b, tt__client_now(c), &c->rng, &f->att.breaker, &retry_in, &ch);
    circuit_emit(f, &ch);
    if (f->state == TT__FS_DONE) {
        return false; /* an event hook cancelled the fetch or closed the client */
    }
    if (go) {
        return true;
    }
    c->stats.breaker_rejected++;
    /* Never dialled: the record says so, and that a new call is safe. */
    struct tether_failure *fl = &f->failure;
    tether_failure_init(fl);
    fl->code = TETHER_EBREAKER;
    fl->attempt = f->attempts;
    fl->replays = f->replays;
    fl->retry_safe = TETHER_RETRY_SAFE_YES;
    (void)snprintf(fl->host, sizeof(fl->host), "%s", f->url.host);
    if (b->mode == TETHER_BREAKER_FORCED_OPEN) {
        (void)snprintf(fl->detail, sizeof(fl->detail), "circuit open for %.200s (forced open)",
                       f->health->key);
    } else {
        (void)snprintf(fl->detail, sizeof(fl->detail), "circuit open for %.200s, retry in %llu ms",
                       f->health->key, (unsigned long long)retry_in);
    }
    tt__debug(c, TT__DEBUG_HTTP, "%s", fl->detail);
    tt__fetch_abort(f, TETHER_EBREAKER);
    return false;
}

void tt__fetch_breaker_settle(struct tether_fetch *f, int code, bool stale_reuse)
{
    struct tt__breaker_ticket t = f->att.breaker;
    if (!t.counted) {
        return;
    }
    memset(&f->att.breaker, 0, sizeof(f->att.breaker));
    struct tether_client *c = f->client;
    int status = f->att.head_seen ? f->status : 0;
    /* fetch_decide keeps what the last >= 400 response asked for; a 2xx/3xx asks nothing. */
    bool pushback = status >= 400 && f->retry_after_ms > 0;
    enum tt__breaker_outcome o = tt__breaker_classify(code, status, pushback, stale_reuse);
    struct tt__breaker_changes ch;
    ch.n = 0;
    tt__breaker_record(&f->health->breaker, &t, o, tt__client_now(c), &c->rng, &ch);
    circuit_emit(f, &ch);
}

bool tt__fetch_breaker_blocks(struct tether_fetch *f, uint64_t delay_ms)
{
    const struct tt__breaker *b = &f->health->breaker;
    /* The half-open probe is one bounded attempt: its answer, whatever it is, is the fetch's
     * outcome (and decides the breaker), never the start of a retry series. */
    if (f->att.breaker.probe && b->mode == TETHER_BREAKER_ON) {
        return true;
    }
    uint64_t wait = tt__breaker_wait_ms(b, tt__client_now(f->client));
    if (wait <= delay_ms) {
        return false;
    }
    f->client->stats.breaker_rejected++;
    return true;
}

bool tether_client_origin_stats(const tether_client *c, size_t i, struct tether_origin_stats *out)
{
    if (!c || !out) {
        return false;
    }
    size_t k = 0;
    for (struct tt__list *n = c->origins.next; n != &c->origins; n = n->next, k++) {
        if (k != i) {
            continue;
        }
        const struct tt__origin *o = tt__container_of(n, struct tt__origin, link);
        const struct tt__breaker *b = &o->breaker;
        uint64_t now = uv_now(c->loop);
        memset(out, 0, sizeof(*out));
        out->origin = o->key;
        out->breaker_mode = b->mode;
        out->breaker_state = b->state == TT__BREAKER_OPEN        ? TETHER_BREAKER_STATE_OPEN
                             : b->state == TT__BREAKER_HALF_OPEN ? TETHER_BREAKER_STATE_HALF_OPEN
                                                                 : TETHER_BREAKER_STATE_CLOSED;
        if (b->state == TT__BREAKER_OPEN && b->open_until_ms > now) {
            out->breaker_retry_in_ms = b->open_until_ms - now;
        }
        tt__breaker_window(b, now, &out->breaker_window_calls, &out->breaker_window_failures);
        out->breaker_consecutive = b->streak;
        out->breaker_calls = b->count.calls;
        out->breaker_failures = b->count.failures;
        out->breaker_rejected = b->count.rejected;
        out->breaker_opened = b->count.opened;
        out->breaker_half_opened = b->count.half_opened;
        out->breaker_closed = b->count.closed;
        out->breaker_probes = b->count.probes;
        out->breaker_probe_timeouts = b->count.probe_timeouts;
        out->learned_idle_close_ms = tt__pool_learned_ms(o, now);
        out->keep_alive_hint_s = o->hint_seen_s - 1;
        return true;
    }
    return false;
}
