/* SPDX-License-Identifier: MIT */
/* The pool's pure decisions: what a libpq message or SQLSTATE means, whether a failed query may
 * go again, lifetimes with jitter, and the learned server idle kill. No libpq, no loop, no
 * clock: every time is passed in, so the unit tests drive them directly. */
#ifndef TETHER_PGPOOL_RULES_H
#define TETHER_PGPOOL_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "tether/error.h"

/* TETHER_E* for a libpq error message (connect or query): ECONNREFUSED, ETIMEDOUT, ENOTFOUND,
 * ECONNRESET, EHANGUP (the server closed or terminated the session), EINVAL (authentication,
 * a missing database or role: trying again cannot help), else EIO. */
int tt__pg_classify_message(const char *msg);

/* True for SQLSTATEs that say the server ended the session because it sat idle, before any
 * statement of ours could start: 57P05 idle_session_timeout, 25P03
 * idle_in_transaction_session_timeout. A query lost with one of these never ran. */
bool tt__pg_sqlstate_idle_kill(const char *sqlstate);

/* What happened to one attempt, as the retry rule needs it. */
struct tt__pg_attempt {
    bool retry_enabled;  /* the pool's retry option */
    bool explicit_conn;  /* ran on a checked-out connection (transactions): never repeated */
    bool connect_failed; /* no connection could be made (nothing was sent) */
    bool sent;           /* the query's bytes were handed to the kernel */
    bool conn_lost;      /* the connection died (EOF, RST, FATAL) before the result was complete */
    bool idempotent;
    int code;             /* TETHER_E* of the attempt */
    const char *sqlstate; /* "" when none */
    unsigned replays;     /* replays already made for this query */
};

enum tt__pg_verdict {
    TT__PG_FAIL,  /* report the failure */
    TT__PG_RETRY, /* nothing ran: go again on another connection */
    TT__PG_REPLAY /* it may have run, but it is idempotent: once more on a fresh connection */
};

enum tt__pg_verdict tt__pg_retry_verdict(const struct tt__pg_attempt *a);
/* Whether repeating the failed query could execute it twice, for tether_failure.retry_safe. */
enum tether_retry_safety tt__pg_retry_safety(const struct tt__pg_attempt *a);

/* The lifetime of a new connection: max_ms minus up to 2.5 % (HikariCP's maxLifetime
 * attenuation, so connections opened together are not retired together); `random` is any
 * uniformly drawn number. 0 stays 0 (no limit). */
uint64_t tt__pg_lifetime_ms(uint64_t max_ms, uint64_t random);

/* Backoff before the next connect after `failures` failed ones: 250 ms doubling, at most
 * 1 s (HAProxy's turn-around timer; P8). */
uint64_t tt__pg_connect_backoff_ms(unsigned failures);

/* The server's idle kill as learned from what it did to idle connections. */
#define TT__PGLEARN_SLOTS 4
struct tt__pglearn {
    uint64_t kill_ms; /* confirmed idle kill, 0 = none */
    struct {
        uint64_t idle_ms;
        uint64_t at_ms; /* 0 = empty slot */
    } seen[TT__PGLEARN_SLOTS];
};
/* An idle connection died after `idle_ms` of idleness at `now_ms`. `certain` when the server
 * said why (57P05, 25P03, a pooler's "client_idle_timeout"): one such observation is enough.
 * A bare EOF or RST counts once another one, seen at least 1 s apart, agrees within 10 %
 * (50 ms at least): a restart closes every idle connection at once, whatever their idle
 * times, and must not teach anything. Returns true when kill_ms changed. */
bool tt__pglearn_observe(struct tt__pglearn *l, uint64_t idle_ms, uint64_t now_ms, bool certain);
/* A connection was used fine after idling `idle_ms`: forget kills learned at or below it. */
void tt__pglearn_alive(struct tt__pglearn *l, uint64_t idle_ms);
/* How long a connection may stay idle: kill_ms - margin_ms (0 when the margin eats it all:
 * keep nothing idle), or UINT64_MAX when nothing is learned. */
uint64_t tt__pglearn_budget_ms(const struct tt__pglearn *l, uint64_t margin_ms);

#endif
