/* SPDX-License-Identifier: MIT */
/* What the client does about stale connections, failures and retries: one options struct. */
#ifndef TETHER_POLICY_H
#define TETHER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tether/common.h"
#include "tether/error.h"

TETHER_BEGIN_DECLS

/* Where a failed attempt got to: this, not the error code alone, decides what is safe. */
enum tether_failure_class {
    TETHER_CLASS_NONE = 0,
    TETHER_CLASS_NEVER_SENT,       /* no request byte reached the peer's kernel */
    TETHER_CLASS_SENT_NO_RESPONSE, /* request (partly) sent, no response byte received */
    TETHER_CLASS_RESPONDED         /* a response arrived (its status decides) */
};

enum tether_jitter {
    TETHER_JITTER_FULL = 0, /* U[0, min(cap, base*2^(n-1))), jitter after the cap */
    TETHER_JITTER_EQUAL,    /* d/2 + U[0, d/2) */
    TETHER_JITTER_NONE      /* min(cap, base*2^(n-1)) exactly (tests, comparisons) */
};

#define TETHER_POLICY_MAX_STATUSES 16

/* The circuit breaker's mode. Off in the library by default. */
enum tether_breaker_mode {
    TETHER_BREAKER_OFF = 0,      /* disabled: no counting, no events, every call goes */
    TETHER_BREAKER_ON,           /* counts, trips, fails fast while open, probes */
    TETHER_BREAKER_METRICS_ONLY, /* shadow mode: counts, trips and emits events as ON would,
                                    but never refuses a call */
    TETHER_BREAKER_FORCED_OPEN   /* refuses every call (an operator's manual hold-open) */
};

/*
 * Every protection, with the README's defaults (tether_policy_defaults). tether_policy_naive
 * turns them all off: a plain keep-alive pool with no watching, no hint, no replay and no
 * retries, the baseline most clients ship with. Plain data: copy it, change fields, pass it.
 */
struct tether_policy {
    /* --- pool --- */
    bool keep_alive;                /* reuse connections at all; default true */
    bool watch_idle;                /* evict idle sockets on readability/EOF/RST at once; true */
    bool probe_on_checkout;         /* zero-timeout probe before reuse; true */
    bool honour_keep_alive_hint;    /* Keep-Alive: timeout=N -> retire idle at N s - margin */
    bool learn_idle_close;          /* learn each origin's idle close time from observed closes */
    uint64_t idle_timeout_ms;       /* without a hint; default 4000; 0 or UINT64_MAX = never
                                       retire (naive uses UINT64_MAX) */
    uint64_t hint_margin_ms;        /* default 1000 */
    uint64_t max_idle_timeout_ms;   /* cap on hint-derived idle time; default 600000 */
    uint64_t learn_margin_ms;       /* retire this long before a learned close; default 250 */
    uint64_t max_conn_lifetime_ms;  /* default 86400000 (24 h); 0 = none */
    unsigned max_requests_per_conn; /* 0 = none (Keep-Alive: max=N is honoured regardless) */
    unsigned max_conns_per_origin;  /* default 256; requests wait when all are busy */
    /* Default true: idle 30 s, interval 10 s, 3 probes; also sets TCP_USER_TIMEOUT to
     * idle + interval x probes (60 s), so a request written into a black hole fails then too
     * (keepalive probes wait while sent data is unacknowledged). */
    bool tcp_keepalive;
    unsigned tcp_keepalive_idle_s;
    unsigned tcp_keepalive_interval_s;
    unsigned tcp_keepalive_count;

    /* --- transparent replay: not counted as retries, always reported --- */
    unsigned max_replays;       /* default 2; 0 = off */
    size_t replay_buffer_bytes; /* request bodies up to this size can be replayed; 256 KiB */

    /* --- retries --- */
    unsigned max_attempts;     /* total attempts, first included; default 3; 1 = no retry */
    uint64_t backoff_base_ms;  /* default 100 */
    uint64_t backoff_cap_ms;   /* default 20000 */
    enum tether_jitter jitter; /* default FULL */
    int retry_statuses[TETHER_POLICY_MAX_STATUSES]; /* default 408 429 500 502 503 504 */
    size_t nretry_statuses;
    bool retry_non_idempotent;       /* retry POST/PATCH without Idempotency-Key; default false */
    bool honour_retry_after;         /* Retry-After (both forms) and X-RateLimit-Reset; true */
    uint64_t max_pushback_ms;        /* a longer server-asked wait ends retrying; default 300000 */
    double budget_ratio;             /* retries <= ratio * requests over the window; 0.2 */
    uint64_t budget_window_ms;       /* default 10000 */
    double budget_min_retries_per_s; /* floor; default 10 */

    /* --- deadlines and phase timeouts --- */
    uint64_t deadline_ms;        /* one deadline over every attempt and sleep; 0 = none */
    uint64_t connect_timeout_ms; /* default 10000 */
    uint64_t tls_timeout_ms;     /* default 10000 */
    uint64_t headers_timeout_ms; /* from request sent to response head; default 300000 */
    uint64_t body_timeout_ms;    /* between body reads; default 300000 */

    /* --- circuit breaker, per origin ---
     * Trips when breaker_failure_ratio of at least breaker_min_calls attempts in the last
     * breaker_window_ms failed, or after breaker_consecutive_failures failures in a row. Only
     * transport failures, timeouts, 5xx and pushback refusals count (never other 4xx, never a
     * local cancel). Open, it fails fetches at once with TETHER_EBREAKER; after the open
     * interval one probe goes through (half-open): a response closes the breaker, a failure
     * or a probe running past breaker_probe_timeout_ms re-opens it. The n-th open in a row
     * lasts breaker_open_ms for n = 1, then equal-jittered min(max, open*2^(n-1)) (Finagle's
     * markDeadFor), reset by a close. Every transition is decided lazily from timestamps when
     * a call asks; there are no timers. */
    enum tether_breaker_mode breaker;      /* default OFF */
    double breaker_failure_ratio;          /* default 0.5 (trips at >=) */
    unsigned breaker_min_calls;            /* default 100 */
    uint64_t breaker_window_ms;            /* default 30000, 10 buckets */
    unsigned breaker_consecutive_failures; /* default 5; 0 = trip by ratio only */
    uint64_t breaker_open_ms;              /* default 5000 */
    uint64_t breaker_open_max_ms;          /* default 300000 */
    uint64_t breaker_probe_timeout_ms;     /* default 10000 */
    /* --- waiting for a server to come up --- */
    /* While the fetch is younger than this, a refused connect (ECONNREFUSED: nothing listens
     * yet) is retried without counting against max_attempts, after a backoff capped at 1 s;
     * the deadline still ends it. 0 (the default) = a refused connect is an attempt like any
     * other; TETHER_WAIT_UNTIL_DEADLINE = for as long as the deadline allows (curl's
     * --retry-connrefused). */
    uint64_t connrefused_wait_ms;
    /* --- resumable downloads --- */
    bool resume; /* continue a cut GET body with Range + If-Range; default true, naive false */
};
#define TETHER_WAIT_UNTIL_DEADLINE UINT64_MAX

/* Fills `p` (borrowed) with the defaults. */
TETHER_EXTERN void tether_policy_defaults(struct tether_policy *p);
/* Fills `p` with every protection off (the "naive" named policy). Idle connections are not
 * watched or probed, so bytes a server sends unasked on an idle connection (a stray or late
 * response) are read as the answer to the next request sent on it: the desync a naive pool
 * suffers, kept on purpose as the baseline. The default policy evicts such a connection. */
TETHER_EXTERN void tether_policy_naive(struct tether_policy *p);

/*
 * Reads a policy from JSON: an object whose keys are the field names above (e.g.
 * {"base":"default","max_attempts":5,"retry_statuses":[503],"deadline":"30s"}); "base" is
 * "default" (the default) or "naive"; durations are numbers of ms or strings like "250ms",
 * "5s", "2m", "1h", and a duration field may drop its "_ms" suffix ("deadline" for
 * "deadline_ms"). Unknown keys and bad values are errors naming the key and value in `err`
 * (borrowed buffer, always NUL-terminated). Returns 0 or TETHER_EINVAL; `p` is written only on
 * success.
 */
TETHER_EXTERN TETHER_NODISCARD int tether_policy_from_json(const char *json, size_t len,
                                                           struct tether_policy *p, char *err,
                                                           size_t err_len);
/* The same from a file; a missing, unreadable or bad file is TETHER_EINVAL with the path in
 * `err` (TETHER_ENOMEM if memory runs out while reading it). */
TETHER_EXTERN TETHER_NODISCARD int tether_policy_load(const char *path, struct tether_policy *p,
                                                      char *err, size_t err_len);
/* "naive", "default", or a file path. */
TETHER_EXTERN TETHER_NODISCARD int
tether_policy_named(const char *name_or_path, struct tether_policy *p, char *err, size_t err_len);

/* "off", "on", "metrics-only", "forced-open" <-> the mode: the spelling of the policy key
 * "breaker" and of `tether get --breaker=MODE`. Parse returns 0 or TETHER_EINVAL (`out`
 * untouched); the name of an unknown value is "off". */
TETHER_EXTERN TETHER_NODISCARD int tether_breaker_mode_parse(const char *s,
                                                             enum tether_breaker_mode *out);
TETHER_EXTERN const char *tether_breaker_mode_name(enum tether_breaker_mode m);

/* Pure decisions, exposed so users and tests can see exactly what the client will do. */
TETHER_EXTERN enum tether_failure_class tether_failure_classify(const struct tether_failure *f);
/* GET HEAD OPTIONS TRACE PUT DELETE (RFC 9110 §9.2.2). */
TETHER_EXTERN bool tether_method_is_idempotent(const char *method);

TETHER_END_DECLS

#endif
