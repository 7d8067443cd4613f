/* SPDX-License-Identifier: MIT */
/* The policy engine's internal interface, used by the client: backoff, retry decisions with
 * pushback and deadlines, the replay rule, and per-origin retry budgets. All pure functions of
 * their inputs (clock and RNG are passed in), so every decision is testable. */
#ifndef TETHER_POLICY_POLICY_H
#define TETHER_POLICY_POLICY_H

#include "tether/policy.h"

#include "internal.h"
#include "util/rand.h"

/* Delay before retry number `retry` (1 for the first retry; 0 is taken as 1) under p's backoff
 * and jitter: with d = min(cap, base*2^(retry-1)), FULL draws U[0, d), EQUAL d/2 + U[0, d - d/2),
 * NONE returns d. The cap is applied before the draw. */
uint64_t tt__backoff_delay(const struct tether_policy *p, unsigned retry, struct ttx_rng *rng);

/* Everything known when an attempt has ended and the client asks "again?". */
struct tt__retry_input {
    const struct tether_policy *policy;
    const char *method;
    bool has_idempotency_key;
    const struct tether_failure *failure; /* code 0 when a response arrived */
    int status;                           /* response status, 0 when none */
    const char *retry_after;              /* header values or NULL */
    const char *ratelimit_reset;
    unsigned attempts;       /* attempts made so far, this one included */
    uint64_t now_ms;         /* monotonic */
    int64_t now_unix_ms;     /* wall clock, for HTTP-dates */
    uint64_t deadline_at_ms; /* monotonic; 0 = none */
    uint64_t started_ms;     /* monotonic: when the fetch began (connrefused_wait_ms) */
    /* A body cut short can go on: the client collects it or the caller's sink can start over
     * (so it can be thrown away and the request repeated), or it can be continued with a
     * Range request (the client's resume.c decides which). */
    bool body_restartable;
    /* The client still holds the whole request body (it fitted the replay buffer), so the
     * request can be sent again after bytes of it went out. */
    bool request_rewindable;
};

enum tt__retry_verdict {
    TT__RETRY_NO = 0,      /* not retryable (success, 4xx, non-idempotent after send...) */
    TT__RETRY_YES,         /* retry after delay_ms */
    TT__RETRY_NO_ATTEMPTS, /* retryable but max_attempts reached */
    TT__RETRY_NO_DEADLINE, /* the wait would end after the deadline */
    TT__RETRY_NO_PUSHBACK  /* the server asked for longer than max_pushback_ms */
};

struct tt__retry_decision {
    enum tt__retry_verdict verdict;
    uint64_t delay_ms;    /* max(backoff, pushback) when YES */
    uint64_t pushback_ms; /* what the server asked for (0 = nothing) */
    bool costs_budget;    /* a YES withdraws from the origin's retry budget */
    char reason[64];      /* "read ECONNRESET", "status 503", ... */
};

/* Order: not retryable (class, method, status, a request body no longer held) -> NO; pushback
 * > max_pushback_ms -> NO_PUSHBACK; now + max(backoff, pushback) >= deadline_at_ms ->
 * NO_DEADLINE (delay_ms holds that wait); attempts >= max_attempts -> NO_ATTEMPTS; else YES.
 * Network failures count only when tether_err_is_transient (or EEOF). A failure with a status
 * is a response cut short: a 2xx whose body is restartable starts over (idempotent requests
 * only), any other status decides as if complete. X-RateLimit-Reset is read only on 429/403
 * and only when no valid Retry-After came; an unparsable header counts as absent.
 *
 * A request that never left (TETHER_CLASS_NEVER_SENT) costs no budget token (policy.md §9.2
 * item 7) but counts as an attempt, so max_attempts bounds it and the attempts reported are
 * the attempts made. The one exception is waiting for a server to come up: while the fetch is
 * younger than connrefused_wait_ms, an ECONNREFUSED is free and its backoff is capped at 1 s
 * (the deadline, and max_attempts 1, still end it). `reason` is set in every case. */
void tt__retry_decide(const struct tt__retry_input *in, struct ttx_rng *rng,
                      struct tt__retry_decision *out);

/* client.md §6.2 rule 11: replay on a fresh connection when the attempt ran on a reused
 * connection, received zero response bytes, and either sent zero request bytes (any method)
 * or the method is safe/idempotent or carries an Idempotency-Key and the request body is
 * still held (`request_rewindable`); at most max_replays. */
bool tt__replay_allowed(const struct tether_policy *p, const char *method, bool has_key,
                        bool request_rewindable, bool reused, uint64_t bytes_sent,
                        uint64_t bytes_received, int code, unsigned replays_so_far);

/* Whether repeating the failed request could execute it twice (the failure record's
 * retry_safe): YES when nothing reached the peer, else YES only for an idempotent method or an
 * Idempotency-Key with the body still held. */
enum tether_retry_safety tt__retry_safety(const char *method, bool has_key, bool request_rewindable,
                                          const struct tether_failure *f);

/* Finagle-style budget per origin: retries <= ratio * requests over the window, plus a floor
 * of min_retries_per_s. Deposits expire after the window. */
/* Two counts over a sliding window of window_ms in TT__WINDOW_SLOTS slots (window.c); a window
 * of 0 counts nothing. */
#define TT__WINDOW_SLOTS 10
struct tt__window {
    uint64_t window_ms;
    uint64_t slot_start_ms[TT__WINDOW_SLOTS];
    uint32_t count[2][TT__WINDOW_SLOTS];
};
void tt__window_init(struct tt__window *w, uint64_t window_ms, uint64_t now_ms);
/* Adds `a` to the first count and `b` to the second, in the slot of `now_ms` (saturating). */
void tt__window_add(struct tt__window *w, uint64_t now_ms, uint32_t a, uint32_t b);
/* The counts of the slots within the window before `now_ms`. */
void tt__window_sum(const struct tt__window *w, uint64_t now_ms, uint64_t *a, uint64_t *b);

struct tt__budget {
    double ratio;
    double min_per_s;
    struct tt__window requests_retries; /* counts: requests, retries */
};
void tt__budget_init(struct tt__budget *b, const struct tether_policy *p, uint64_t now_ms);
void tt__budget_deposit(struct tt__budget *b, uint64_t now_ms);
/* True and counted when a retry may go; false when the budget is spent. */
bool tt__budget_withdraw(struct tt__budget *b, uint64_t now_ms);

/* Idle time before an idle connection is retired: hint-aware (Keep-Alive timeout=N ->
 * N s - margin), learned (observed close - learn_margin; the smaller of the two when both),
 * both capped at max_idle_timeout_ms; else idle_timeout_ms. Returns 0 for "do not pool" (a
 * hint or learned close that leaves no time after the margin, or keep_alive off) and
 * UINT64_MAX for "no limit, never retire" (idle_timeout_ms 0 or UINT64_MAX, as in naive).
 * `hint_timeout_s` < 0 when the server sent none; `learned_close_ms` 0 when nothing was
 * learned. */
uint64_t tt__idle_budget_ms(const struct tether_policy *p, int64_t hint_timeout_s,
                            uint64_t learned_close_ms);

#endif
