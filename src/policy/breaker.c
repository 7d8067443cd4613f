/* SPDX-License-Identifier: MIT */
/* The per-origin circuit breaker: CLOSED counts outcomes in a sliding window and a streak, OPEN
 * fails calls fast for a growing, jittered interval, HALF_OPEN lets exactly one probe through.
 * Nothing here reads a clock or starts a timer: the client asks at each attempt and reports
 * each outcome, and the transitions follow from the timestamps. */
#include <stdio.h>
#include <string.h>

#include "policy/breaker.h"

enum tt__breaker_outcome tt__breaker_classify(int code, int status, bool pushback_refused,
                                              bool stale_reuse)
{
    if (code == 0) {
        if (status >= 500 || pushback_refused) {
            return TT__BREAKER_FAILURE;
        }
        return status > 0 ? TT__BREAKER_SUCCESS : TT__BREAKER_IGNORE;
    }
    if (stale_reuse) {
        return TT__BREAKER_IGNORE;
    }
    switch (code) {
    /* The origin (or the path to it) failed to carry the exchange. */
    case TETHER_ECONNREFUSED:
    case TETHER_ECONNRESET:
    case TETHER_ECONNABORTED:
    case TETHER_EPIPE:
    case TETHER_EHANGUP:
    case TETHER_EEOF:
    case TETHER_ETRUNCATED:
    case TETHER_EHOSTUNREACH:
    case TETHER_ENETUNREACH:
    case TETHER_EAI_AGAIN:
    case TETHER_ETLS:
    case TETHER_EHTTP:
    /* Timeouts: an overloaded origin's commonest symptom. */
    case TETHER_ETIMEDOUT:
    case TETHER_EDEADLINE:
        return TT__BREAKER_FAILURE;
    default:
        /* ECANCELED (the caller's choice), local limits (EMFILE, EADDRNOTAVAIL, ENOMEM,
         * ETOOBIG), and configuration errors (ENOTFOUND, ETLSCERT): opening the circuit would
         * not protect the origin from any of them. */
        return TT__BREAKER_IGNORE;
    }
}

int tether_breaker_mode_parse(const char *s, enum tether_breaker_mode *out)
{
    static const char *const names[] = {"off", "on", "metrics-only", "forced-open"};
    for (size_t i = 0; s && i < tt__countof(names); i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum tether_breaker_mode)i;
            return 0;
        }
    }
    return TETHER_EINVAL;
}

const char *tether_breaker_mode_name(enum tether_breaker_mode m)
{
    static const char *const names[] = {"off", "on", "metrics-only", "forced-open"};
    return (unsigned)m < tt__countof(names) ? names[m] : "off";
}

const char *tt__breaker_state_name(enum tt__breaker_state s)
{
    static const char *const names[] = {"closed", "open", "half-open"};
    return (unsigned)s < tt__countof(names) ? names[s] : "closed";
}

/* ---- the window (window.c, as the retry budget's) ---- */

void tt__breaker_window(const struct tt__breaker *b, uint64_t now_ms, uint64_t *calls,
                        uint64_t *failures)
{
    tt__window_sum(&b->calls_failures, now_ms, calls, failures);
}

static void breaker_reset_counts(struct tt__breaker *b)
{
    tt__window_init(&b->calls_failures, b->calls_failures.window_ms, 0);
    b->streak = 0;
}

/* ---- transitions ---- */

void tt__breaker_init(struct tt__breaker *b, const struct tether_policy *p)
{
    memset(b, 0, sizeof(*b));
    b->mode = p->breaker;
    b->ratio = p->breaker_failure_ratio;
    b->min_calls = p->breaker_min_calls ? p->breaker_min_calls : 1;
    tt__window_init(&b->calls_failures, p->breaker_window_ms, 0);
    b->streak_limit = p->breaker_consecutive_failures;
    b->open_base_ms = p->breaker_open_ms;
    b->open_max_ms = p->breaker_open_max_ms;
    b->probe_timeout_ms = p->breaker_probe_timeout_ms;
    b->state = TT__BREAKER_CLOSED;
}

static void breaker_note(struct tt__breaker_changes *ch, enum tt__breaker_state to,
                         uint64_t open_ms, const char *reason)
{
    if (ch && ch->n < TT__BREAKER_MAX_CHANGES) {
        ch->at[ch->n].to = to;
        ch->at[ch->n].open_ms = open_ms;
        (void)snprintf(ch->at[ch->n].reason, sizeof(ch->at[ch->n].reason), "%s", reason);
        ch->n++;
    }
}

uint64_t tt__breaker_open_interval(const struct tt__breaker *b, unsigned n, struct ttx_rng *rng)
{
    uint64_t base = b->open_base_ms;
    uint64_t max = b->open_max_ms > base ? b->open_max_ms : base;
    if (n <= 1) {
        return base;
    }
    /* base * 2^(n-1), saturating at max without overflowing. */
    uint64_t d = base;
    for (unsigned i = 1; i < n && d < max; i++) {
        d = d > max / 2 ? max : d * 2;
    }
    if (d > max) {
        d = max;
    }
    uint64_t half = d / 2;
    return half + ttx_rng_below(rng, d - half + 1);
}

static void breaker_open(struct tt__breaker *b, uint64_t now_ms, struct ttx_rng *rng,
                         struct tt__breaker_changes *ch, const char *reason)
{
    if (b->opens_in_row < UINT32_MAX) {
        b->opens_in_row++;
    }
    uint64_t d = tt__breaker_open_interval(b, b->opens_in_row, rng);
    b->state = TT__BREAKER_OPEN;
    b->open_until_ms = now_ms + d;
    b->last_open_ms = d;
    b->probe_out = false;
    breaker_reset_counts(b);
    b->count.opened++;
    breaker_note(ch, TT__BREAKER_OPEN, d, reason);
}

static void breaker_close(struct tt__breaker *b, struct tt__breaker_changes *ch)
{
    b->state = TT__BREAKER_CLOSED;
    b->opens_in_row = 0;
    b->probe_out = false;
    breaker_reset_counts(b);
    b->count.closed++;
    breaker_note(ch, TT__BREAKER_CLOSED, 0, "probe succeeded");
}

static bool breaker_probe_expired(const struct tt__breaker *b, uint64_t now_ms)
{
    return now_ms - b->probe_started_ms >= b->probe_timeout_ms;
}

/* The transitions that only time makes: a hung probe fails, an open interval ends. */
static void breaker_advance(struct tt__breaker *b, uint64_t now_ms, struct ttx_rng *rng,
                            struct tt__breaker_changes *ch)
{
    if (b->state == TT__BREAKER_HALF_OPEN && b->probe_out && breaker_probe_expired(b, now_ms)) {
        b->count.probe_timeouts++;
        breaker_open(b, now_ms, rng, ch, "probe timed out");
    }
    if (b->state == TT__BREAKER_OPEN && now_ms >= b->open_until_ms) {
        b->state = TT__BREAKER_HALF_OPEN;
        b->probe_out = false;
        b->count.half_opened++;
        breaker_note(ch, TT__BREAKER_HALF_OPEN, 0, "open interval over");
    }
}

bool tt__breaker_admit(struct tt__breaker *b, uint64_t now_ms, struct ttx_rng *rng,
                       struct tt__breaker_ticket *t, uint64_t *retry_in_ms,
                       struct tt__breaker_changes *ch)
{
    memset(t, 0, sizeof(*t));
    *retry_in_ms = 0;
    if (b->mode == TETHER_BREAKER_OFF) {
        return true;
    }
    if (b->mode == TETHER_BREAKER_FORCED_OPEN) {
        b->count.rejected++;
        return false;
    }
    breaker_advance(b, now_ms, rng, ch);
    t->counted = true;
    if (b->state == TT__BREAKER_CLOSED) {
        return true;
    }
    if (b->state == TT__BREAKER_HALF_OPEN && !b->probe_out) {
        b->probe_out = true;
        b->probe_started_ms = now_ms;
        b->probe_gen++;
        b->count.probes++;
        t->probe = true;
        t->gen = b->probe_gen;
        return true;
    }
    b->count.rejected++;
    t->counted = b->mode == TETHER_BREAKER_METRICS_ONLY;
    if (b->state == TT__BREAKER_OPEN) {
        *retry_in_ms = b->open_until_ms - now_ms;
    } else {
        uint64_t until = b->probe_started_ms + b->probe_timeout_ms;
        *retry_in_ms = until > now_ms ? until - now_ms : 0;
    }
    /* Shadow mode: the outcome still counts, but only a CLOSED outcome can trip. */
    return b->mode == TETHER_BREAKER_METRICS_ONLY;
}

static void breaker_record_probe(struct tt__breaker *b, const struct tt__breaker_ticket *t,
                                 enum tt__breaker_outcome o, uint64_t now_ms, struct ttx_rng *rng,
                                 struct tt__breaker_changes *ch)
{
    if (b->state != TT__BREAKER_HALF_OPEN || !b->probe_out || t->gen != b->probe_gen) {
        return; /* abandoned: its time limit already re-opened the breaker */
    }
    if (breaker_probe_expired(b, now_ms)) {
        /* It finished, but too late: a probe that hangs this long says the origin is not
         * healthy, whatever it finally answered. */
        b->count.probe_timeouts++;
        breaker_open(b, now_ms, rng, ch, "probe timed out");
    } else if (o == TT__BREAKER_SUCCESS) {
        breaker_close(b, ch);
    } else if (o == TT__BREAKER_FAILURE) {
        breaker_open(b, now_ms, rng, ch, "probe failed");
    } else {
        b->probe_out = false; /* cancelled: the next caller probes instead */
    }
}

void tt__breaker_record(struct tt__breaker *b, const struct tt__breaker_ticket *t,
                        enum tt__breaker_outcome o, uint64_t now_ms, struct ttx_rng *rng,
                        struct tt__breaker_changes *ch)
{
    if (!t->counted || b->mode == TETHER_BREAKER_OFF || b->mode == TETHER_BREAKER_FORCED_OPEN) {
        return;
    }
    if (o != TT__BREAKER_IGNORE) {
        b->count.calls++;
        b->count.failures += o == TT__BREAKER_FAILURE;
    }
    if (t->probe) {
        breaker_record_probe(b, t, o, now_ms, rng, ch);
        return;
    }
    if (o == TT__BREAKER_IGNORE || b->state != TT__BREAKER_CLOSED) {
        return;
    }
    tt__window_add(&b->calls_failures, now_ms, 1, o == TT__BREAKER_FAILURE);
    if (o == TT__BREAKER_SUCCESS) {
        b->streak = 0;
        return;
    }
    b->streak++;
    char reason[64];
    if (b->streak_limit && b->streak >= b->streak_limit) {
        (void)snprintf(reason, sizeof(reason), "%u consecutive failure%s", b->streak,
                       b->streak == 1 ? "" : "s");
        breaker_open(b, now_ms, rng, ch, reason);
        return;
    }
    uint64_t calls;
    uint64_t failures;
    tt__breaker_window(b, now_ms, &calls, &failures);
    /* The tolerance keeps binary rounding from tripping one call late (see budget.c). */
    if (calls >= b->min_calls && (double)failures >= b->ratio * (double)calls - 1e-9) {
        (void)snprintf(reason, sizeof(reason), "%llu of %llu calls failed",
                       (unsigned long long)failures, (unsigned long long)calls);
        breaker_open(b, now_ms, rng, ch, reason);
    }
}

uint64_t tt__breaker_wait_ms(const struct tt__breaker *b, uint64_t now_ms)
{
    if (b->mode == TETHER_BREAKER_FORCED_OPEN) {
        return UINT64_MAX;
    }
    if (b->mode != TETHER_BREAKER_ON || b->state != TT__BREAKER_OPEN) {
        return 0;
    }
    return b->open_until_ms > now_ms ? b->open_until_ms - now_ms : 0;
}
