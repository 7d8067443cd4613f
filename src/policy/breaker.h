/* SPDX-License-Identifier: MIT */
/* The per-origin circuit breaker (policy.md §9.2 items 19-24) as a pure state machine: the
 * caller passes the monotonic time and the RNG, so every transition is testable with an
 * injected clock. There are no timers: OPEN -> HALF_OPEN and a hung probe's failure are decided
 * when the next call asks (resilience4j's automaticTransitionFromOpenToHalfOpenEnabled=false). */
#ifndef TETHER_POLICY_BREAKER_H
#define TETHER_POLICY_BREAKER_H

#include "tether/policy.h"

#include "internal.h"
#include "policy/policy.h"
#include "util/rand.h"

/* Which attempt outcomes say something about the origin's health (item 20). */
enum tt__breaker_outcome {
    TT__BREAKER_IGNORE = 0, /* says nothing: a local cancel, a local resource limit, ... */
    TT__BREAKER_SUCCESS,
    TT__BREAKER_FAILURE
};

/*
 * code: the attempt's TETHER_E* (0 when a response completed); status: the response status (0
 * when none); pushback_refused: the response asked the client to back off (a 429 or 503 with
 * Retry-After or X-RateLimit-Reset); stale_reuse: a failure on a pooled connection before any
 * response byte (the idle-close race the pool and replay handle, not the origin's health).
 *
 * FAILURE: transport failures (reset, refused, hang-up, EOF, truncation, unreachable, TLS
 * handshake, HTTP protocol errors), timeouts (ETIMEDOUT, EDEADLINE), 5xx, pushback refusals.
 * IGNORE: ECANCELED and every other local error (EMFILE, ENOMEM, ETOOBIG, ...), a name that
 * does not resolve or a certificate that does not verify (configuration, not load), stale
 * reuse. SUCCESS: any other response, 4xx included.
 */
enum tt__breaker_outcome tt__breaker_classify(int code, int status, bool pushback_refused,
                                              bool stale_reuse);

enum tt__breaker_state { TT__BREAKER_CLOSED = 0, TT__BREAKER_OPEN, TT__BREAKER_HALF_OPEN };

/* "closed", "open", "half-open". */
const char *tt__breaker_state_name(enum tt__breaker_state s);

#define TT__BREAKER_MAX_CHANGES 3

/* The transitions one call made, in order, for the caller to report as events. */
struct tt__breaker_changes {
    unsigned n;
    struct {
        enum tt__breaker_state to;
        uint64_t open_ms; /* the interval just started, when `to` is OPEN */
        char reason[64];  /* "5 consecutive failures", "probe timed out", ... */
    } at[TT__BREAKER_MAX_CHANGES];
};

/* Lifetime counters, reported per origin. */
struct tt__breaker_counters {
    uint64_t calls;          /* outcomes counted (success or failure) */
    uint64_t failures;       /* of those, failures */
    uint64_t rejected;       /* calls refused (in metrics-only mode: that would have been) */
    uint64_t opened;         /* transitions to OPEN */
    uint64_t half_opened;    /* transitions to HALF_OPEN */
    uint64_t closed;         /* transitions back to CLOSED */
    uint64_t probes;         /* probe calls let through */
    uint64_t probe_timeouts; /* probes that ran past the probe time limit */
};

struct tt__breaker {
    /* The policy's tunables, copied. */
    enum tether_breaker_mode mode;
    double ratio;
    unsigned min_calls;
    unsigned streak_limit;
    uint64_t open_base_ms;
    uint64_t open_max_ms;
    uint64_t probe_timeout_ms;

    enum tt__breaker_state state;
    /* The CLOSED state's window (window.c, as the retry budget's): calls, failures. */
    struct tt__window calls_failures;
    unsigned streak;        /* consecutive failures while CLOSED */
    unsigned opens_in_row;  /* opens since the last close: drives the interval's growth */
    uint64_t open_until_ms; /* while OPEN */
    uint64_t last_open_ms;  /* the latest open interval */
    bool probe_out;         /* HALF_OPEN: the one probe is in flight */
    uint64_t probe_started_ms;
    uint64_t probe_gen; /* tells the current probe from an earlier, abandoned one */
    struct tt__breaker_counters count;
};

/* What admission gave a call; handed back with its outcome. */
struct tt__breaker_ticket {
    bool counted; /* the outcome feeds the breaker */
    bool probe;   /* this call is the half-open probe */
    uint64_t gen;
};

void tt__breaker_init(struct tt__breaker *b, const struct tether_policy *p);

/*
 * May a call go now? Applies the lazy transitions first (a probe past its time limit -> OPEN,
 * an open interval over -> HALF_OPEN), then: CLOSED admits; HALF_OPEN admits exactly one
 * probe at a time; OPEN, a half-open breaker with its probe out, and FORCED_OPEN refuse, with
 * *retry_in_ms set to the time until the state can change (0 for FORCED_OPEN). OFF admits
 * without counting. METRICS_ONLY runs the same machine but admits what it would refuse
 * (counted as rejected). `t` always written; `ch` (may be NULL) receives the transitions.
 */
bool tt__breaker_admit(struct tt__breaker *b, uint64_t now_ms, struct ttx_rng *rng,
                       struct tt__breaker_ticket *t, uint64_t *retry_in_ms,
                       struct tt__breaker_changes *ch);

/*
 * The outcome of an admitted call. CLOSED: counted in the window and the streak, then trips
 * to OPEN when streak >= streak_limit (when not 0) or calls >= min_calls and failures >= ratio *
 * calls. The current probe: SUCCESS closes (window, streak and growth reset), FAILURE or
 * finishing after the probe time limit re-opens with a longer interval, IGNORE frees the probe
 * slot for the next caller. Outcomes of calls admitted before the breaker opened, and of
 * abandoned probes, count in the counters but change nothing. `ch` may be NULL.
 */
void tt__breaker_record(struct tt__breaker *b, const struct tt__breaker_ticket *t,
                        enum tt__breaker_outcome o, uint64_t now_ms, struct ttx_rng *rng,
                        struct tt__breaker_changes *ch);

/* How long from now until a call could be admitted, without changing anything: 0 when one
 * could go now (or may, once a probe in flight resolves), UINT64_MAX when FORCED_OPEN. Lets a
 * retry that would only meet an open breaker end at once instead of sleeping first. */
uint64_t tt__breaker_wait_ms(const struct tt__breaker *b, uint64_t now_ms);

/* The CLOSED window's sums at `now` (what the ratio test sees). */
void tt__breaker_window(const struct tt__breaker *b, uint64_t now_ms, uint64_t *calls,
                        uint64_t *failures);

/* The n-th open interval since the last close (n >= 1): base for n = 1, then with
 * d = min(max, base*2^(n-1)): d/2 + U[0, d - d/2] (equal jitter, Finagle's markDeadFor). */
uint64_t tt__breaker_open_interval(const struct tt__breaker *b, unsigned n, struct ttx_rng *rng);

#endif
