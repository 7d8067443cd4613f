/* SPDX-License-Identifier: MIT */
/* A PostgreSQL connection pool over libpq that never hands out a connection it knows is dead:
 * idle connections stay watched on the loop (a FATAL, EOF or RST evicts them at once), a
 * connection idle longer than 500 ms is validated with an empty query before use, TCP
 * keepalives 30/10/3 and tcp_user_timeout 30 s are set on every connection, lifetimes carry
 * jitter, and the pool learns the server's idle kill (idle_session_timeout, a pooler's
 * client_idle_timeout) to retire connections before it. A query is retried only when that
 * cannot run it twice (seed fix 7; docs/internals/pgpool.md).
 *
 * Built as its own library, libtether-pgpool (pkg-config tether-pgpool), only where libpq is
 * available: libtether itself never needs libpq.
 *
 * Threads: as the client (tether/client.h): one pool, one loop thread. SIGPIPE: libpq blocks
 * it around its own writes, so no handler is needed for the pool. */
#ifndef TETHER_PGPOOL_H
#define TETHER_PGPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "tether/common.h"
#include "tether/error.h"

TETHER_BEGIN_DECLS

/* libpq's result type; include <libpq-fe.h> to read it. */
struct pg_result;

typedef struct tether_pgpool tether_pgpool;
/* One query (all its attempts) and, once done, its outcome. */
typedef struct tether_pgquery tether_pgquery;
/* A connection checked out with tether_pgpool_acquire, for transactions. */
typedef struct tether_pgconn tether_pgconn;

struct tether_pgpool_options {
    /* Borrowed, copied: a libpq connection string, "postgres://user@host:5432/db?..." or
     * "host=... dbname=...". Required. Keywords it sets itself win over the pool's (a
     * keepalives_idle=60 in it is kept). */
    const char *conninfo;
    unsigned min_size; /* connections kept open even when idle too long; default 0 */
    unsigned max_size; /* connections open at most; default 10 */
    /* Per connection attempt (TCP, TLS, startup, authentication); default 15000. */
    uint64_t connect_timeout_ms;
    /* How long a query may wait for a connection (queue + connect + validation); default
     * 30000. Waiters are served first come, first served. Failed connects are retried (with
     * backoff) until then, which carries queries across a server restart; a waiter whose time
     * runs out after a connect failed gets that failure's code and message ("no connection
     * within 30000 ms: ... Connection refused"), not a timeout that blames a busy pool. */
    uint64_t acquire_timeout_ms;
    /* A connection idle longer than this is validated before use (an empty query); default
     * 500; UINT64_MAX never validates. */
    uint64_t validate_after_idle_ms;
    uint64_t validation_timeout_ms; /* default 5000 */
    /* Idle connections above min_size are closed after this; default 600000 (10 min); 0 =
     * never. */
    uint64_t idle_timeout_ms;
    /* A connection is retired (when idle) after this minus up to 2.5 % random; default
     * 1800000 (30 min); 0 = never. */
    uint64_t max_lifetime_ms;
    /* Set through libpq on every connection: keepalives_idle/interval/count in seconds
     * (default 30/10/3) and tcp_user_timeout in ms (default 30000); 0 = the system's. */
    unsigned keepalives_idle_s;
    unsigned keepalives_interval_s;
    unsigned keepalives_count;
    uint64_t tcp_user_timeout_ms;
    /* Keep every idle connection's socket on the loop and evict it when the server closes it
     * or sends a FATAL; default true. */
    bool watch_idle;
    /* Retry a query that never reached the server, replay an idempotent one once; default
     * true. */
    bool retry;
    /* Learn the server's idle kill from what it does and retire idle connections
     * learn_margin_ms before it; default true, margin 1000. */
    bool learn_idle_kill;
    uint64_t learn_margin_ms;
    void *data; /* user context, see tether_pgpool_get_data */
    /* Borrowed; a failed tether_pgpool_new writes why here, e.g. "invalid conninfo
     * 'host=': missing "=" after "host=" in connection info string". */
    char *errbuf;
    size_t errbuf_len;
    /* A statement whose result has not arrived this long after it was sent fails with
     * TETHER_ETIMEDOUT, detail "no result within the statement deadline of N ms", and its
     * connection is closed (a link that swallows bytes while still ACKing them, such as a
     * userspace proxy gone silent, never trips tcp_user_timeout). The statement may have run:
     * an idempotent one is replayed once on a fresh connection, any other fails with
     * retry_safe no. The server is not told (a cancel request would meet the same silence);
     * it ends the statement when it finds the socket closed. Covers transactions' statements
     * and the ROLLBACK of a release. Default 0: none. */
    uint64_t statement_deadline_ms;
};

/* Fills `o` (borrowed) with the defaults above. */
TETHER_EXTERN void tether_pgpool_options_init(struct tether_pgpool_options *o);
/* What most pools do (node-postgres pg.Pool): no idle watch, no validation, no retry, no
 * learning, libpq's keepalive timings, no lifetime; idle limit 10 s as pg.Pool. For
 * comparisons (tether load --policy naive). */
TETHER_EXTERN void tether_pgpool_options_init_naive(struct tether_pgpool_options *o);

/* Creates a pool on `loop` (borrowed; must outlive the pool). Checks the conninfo; opens
 * min_size connections in the background (nothing is dialled before the call returns).
 * Returns TETHER_EINVAL (a bad conninfo or option, see errbuf), TETHER_ENOMEM. */
TETHER_EXTERN TETHER_NODISCARD int
tether_pgpool_new(uv_loop_t *loop, const struct tether_pgpool_options *o, tether_pgpool **out);
TETHER_EXTERN void *tether_pgpool_get_data(const tether_pgpool *p);

/* Fails every waiting or running query with TETHER_ECANCELED, closes every connection and
 * frees the pool; `cb` (may be NULL) runs once, on a later loop turn. Checked-out connections
 * are closed too (using one afterwards is an error the caller must avoid: release them
 * first). NULL-safe. */
typedef void (*tether_pgpool_close_cb)(void *data);
TETHER_EXTERN void tether_pgpool_close(tether_pgpool *p, tether_pgpool_close_cb cb, void *data);

struct tether_pgquery_options {
    const char *sql; /* borrowed for the call (copied); one statement; required */
    /* Text-format parameters $1..$n, borrowed, copied (a replay needs them); NULL = SQL NULL. */
    const char *const *params;
    int nparams;
    /* The statement may run twice without harm (a SELECT, an upsert): a query lost after it
     * was sent is replayed once on a fresh connection. Never applies inside a transaction. */
    bool idempotent;
    /* Run on this checked-out connection (tether_pgpool_acquire) instead of one from the pool:
     * no retry, no replay; a connection lost inside a transaction fails the query with
     * retry_safe no and the detail "connection lost inside a transaction ...". */
    tether_pgconn *conn;
    void *data; /* see tether_pgquery_get_data */
};
TETHER_EXTERN void tether_pgquery_options_init(struct tether_pgquery_options *o);

/* Runs once when the query is complete: 0 with a result (PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK), or the failure's code (tether_pgquery_failure has the record). */
typedef void (*tether_pgquery_done_cb)(tether_pgquery *q, int status);

/* Starts a query. Returns 0 and runs `done` exactly once later (never before returning), or
 * an error and never runs it: TETHER_EINVAL (no SQL, a connection that is not checked out),
 * TETHER_ECANCELED (the pool is closing), TETHER_ENOMEM. *out receives the query (caller owns
 * it: tether_pgquery_free once done has run, from inside done is fine). */
TETHER_EXTERN TETHER_NODISCARD int tether_pgpool_query(tether_pgpool *p,
                                                       const struct tether_pgquery_options *o,
                                                       tether_pgquery_done_cb done,
                                                       tether_pgquery **out);
/* Releases a query; before done has run it is cancelled and done never runs. NULL-safe. */
TETHER_EXTERN void tether_pgquery_free(tether_pgquery *q);

/* --- The outcome, valid once done has run; borrowed from the query. --- */
TETHER_EXTERN void *tether_pgquery_get_data(const tether_pgquery *q);
/* libpq's result as received, without copying (read it with PQntuples, PQgetvalue,
 * PQcmdTuples, ...; not const because PQcmdStatus and PQcmdTuples take it so); owned by the
 * query, valid until tether_pgquery_free. NULL when the query failed. */
TETHER_EXTERN struct pg_result *tether_pgquery_result(const tether_pgquery *q);
/* The failure (code 0 on success). code: TETHER_EHANGUP "server closed the connection",
 * TETHER_ECONNRESET, TETHER_ETIMEDOUT (acquire or connect timeout), TETHER_ECONNREFUSED,
 * TETHER_ENOTFOUND, TETHER_EIO (the server answered with an error: detail is libpq's
 * message, sqlstate its SQLSTATE), TETHER_EINVAL (authentication or a missing database:
 * not retried). detail holds libpq's or the server's message, retry_safe whether running the
 * query again could execute it twice. */
TETHER_EXTERN const struct tether_failure *tether_pgquery_failure(const tether_pgquery *q);
/* The SQLSTATE of the failure ("57P01"), "" when there is none. */
TETHER_EXTERN const char *tether_pgquery_sqlstate(const tether_pgquery *q);
TETHER_EXTERN unsigned tether_pgquery_attempts(const tether_pgquery *q);
/* Attempts repeated because nothing had reached the server. */
TETHER_EXTERN unsigned tether_pgquery_retries(const tether_pgquery *q);
/* Idempotent queries sent again after the connection was lost with them in flight. */
TETHER_EXTERN unsigned tether_pgquery_replays(const tether_pgquery *q);
/* From tether_pgpool_query to done, and the part spent waiting for a connection. */
TETHER_EXTERN uint64_t tether_pgquery_duration_ms(const tether_pgquery *q);
TETHER_EXTERN uint64_t tether_pgquery_acquire_ms(const tether_pgquery *q);

/* --- Transactions: check a connection out, run queries with options.conn, release it. --- */
typedef void (*tether_pgpool_acquire_cb)(tether_pgpool *p, tether_pgconn *conn, int status,
                                         void *data);
/* `cb` runs once, later, with a connection (status 0; validated as for a query) or a failure
 * (conn NULL): TETHER_ETIMEDOUT after acquire_timeout_ms, the connect failure, or
 * TETHER_ECANCELED when the pool closes. Returns TETHER_ECANCELED or TETHER_ENOMEM without
 * running cb. */
TETHER_EXTERN TETHER_NODISCARD int tether_pgpool_acquire(tether_pgpool *p,
                                                         tether_pgpool_acquire_cb cb, void *data);
/* Gives the connection back. One left inside a transaction is rolled back first (kept only
 * when the ROLLBACK succeeds); a lost one is closed. A connection found dead while checked out
 * stays the caller's until this call (every statement on it fails at once). Ignored while a
 * query runs on it. */
TETHER_EXTERN void tether_pgpool_release(tether_pgconn *conn);

/* --- Events and stats. --- */
enum tether_pgevent_type {
    TETHER_PGEVENT_CONN_NEW,       /* a connection is ready (after authentication) */
    TETHER_PGEVENT_CONN_REUSED,    /* an idle connection was taken */
    TETHER_PGEVENT_CONN_EVICTED,   /* a dead connection was dropped: reason, sqlstate */
    TETHER_PGEVENT_CONN_RETIRED,   /* a live idle connection was closed: reason */
    TETHER_PGEVENT_VALIDATED,      /* an idle connection passed the empty query */
    TETHER_PGEVENT_RETRY,          /* a query goes again on another connection: reason */
    TETHER_PGEVENT_REPLAY,         /* an idempotent query is sent again: reason */
    TETHER_PGEVENT_CONNECT_FAILED, /* reason = libpq's message */
    TETHER_PGEVENT_LEARNED         /* the server's idle kill is learned: idle_ms */
};

/* Strings are borrowed for the duration of the callback. */
struct tether_pgevent {
    enum tether_pgevent_type type;
    const tether_pgquery *query; /* NULL for pool events */
    uint64_t idle_ms;            /* how long the connection had been idle */
    const char *reason;          /* "eof", "rst", "fatal", "validation", "lifetime", ... */
    const char *sqlstate;        /* "57P05" or "" */
};
typedef void (*tether_pgevent_cb)(tether_pgpool *p, const struct tether_pgevent *ev);
TETHER_EXTERN void tether_pgpool_on_event(tether_pgpool *p, tether_pgevent_cb cb);

struct tether_pgpool_stats {
    uint64_t queries;
    uint64_t succeeded;
    uint64_t failed;
    uint64_t attempts;
    uint64_t retries; /* nothing had reached the server */
    uint64_t replays; /* idempotent, sent again once */
    uint64_t connections_opened;
    uint64_t connections_reused;
    uint64_t connect_failures;
    uint64_t validated;          /* empty-query checks passed */
    uint64_t evicted_fatal;      /* the server sent a FATAL to an idle connection (57P01, ...) */
    uint64_t evicted_eof;        /* an idle connection's server closed it */
    uint64_t evicted_rst;        /* ... reset it */
    uint64_t evicted_validation; /* failed the empty query */
    uint64_t evicted_broken;     /* found dead when used (lost mid-query, send failed) */
    uint64_t retired_lifetime;
    uint64_t retired_idle;     /* idle longer than idle_timeout_ms */
    uint64_t retired_learned;  /* before the learned server idle kill */
    uint64_t waiting;          /* queries waiting for a connection now */
    uint64_t open;             /* connections open now (idle + busy + connecting) */
    uint64_t idle;             /* idle now */
    uint64_t acquire_ms_total; /* summed wait for a connection, for a mean */
    uint64_t acquire_ms_max;
    uint64_t learned_idle_kill_ms; /* the learned server idle kill, 0 = none */
};
TETHER_EXTERN void tether_pgpool_get_stats(const tether_pgpool *p, struct tether_pgpool_stats *out);

/* --- Blocking use: the same core on a private loop. --- */
TETHER_EXTERN TETHER_NODISCARD int tether_pgpool_new_blocking(const struct tether_pgpool_options *o,
                                                              tether_pgpool **out);
/* Runs one query to completion; *out as for tether_pgpool_query. Returns 0 when it ran (read
 * its outcome), the errors of tether_pgpool_query, TETHER_EINVAL on a pool made with
 * tether_pgpool_new, TETHER_EBUSY from inside one of the pool's callbacks. */
TETHER_EXTERN TETHER_NODISCARD int
tether_pgpool_query_blocking(tether_pgpool *p, const struct tether_pgquery_options *o,
                             tether_pgquery **out);
/* Checks a connection out and back in on a blocking pool. */
TETHER_EXTERN TETHER_NODISCARD int tether_pgpool_acquire_blocking(tether_pgpool *p,
                                                                  tether_pgconn **out);
/* Closes a blocking pool (synchronously). NULL-safe. */
TETHER_EXTERN void tether_pgpool_close_blocking(tether_pgpool *p);

TETHER_END_DECLS

#endif
