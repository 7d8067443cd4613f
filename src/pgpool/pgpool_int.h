/* SPDX-License-Identifier: MIT */
/* The pool's private structures, shared by pool.c (the pool, its queue and timer), conn.c (one
 * libpq connection on the loop) and query.c (a query's attempts and outcome). */
#ifndef TETHER_PGPOOL_INT_H
#define TETHER_PGPOOL_INT_H

#include <libpq-fe.h>

#include "internal.h"
#include "pgpool/rules.h"
#include "tether/pgpool.h"
#include "util/rand.h"

enum pgc_state {
    PGC_CONNECTING, /* PQconnectPoll steps */
    PGC_IDLE,       /* in the pool, watched */
    PGC_VALIDATING, /* running the empty query for a query waiting on it */
    PGC_BUSY,       /* running a query */
    PGC_HELD,       /* checked out with tether_pgpool_acquire, no query running */
    PGC_ROLLBACK    /* released inside a transaction: running ROLLBACK */
};

/* The poll handle outlives the connection struct: it closes asynchronously and finishes the
 * PGconn in its close callback, so the socket is never closed while libuv still polls it. */
struct pgc_handle {
    uv_poll_t poll;
    PGconn *pg;
    struct tether_pgpool *pool;
};

struct tether_pgconn {
    struct tether_pgpool *pool;
    PGconn *pg;
    struct pgc_handle *h;
    int fd;
    int events; /* UV_READABLE/UV_WRITABLE being polled */
    enum pgc_state state;
    struct tt__list link; /* pool->idle or pool->active */
    uint64_t created_ms;
    uint64_t lifetime_ms;         /* 0 = no limit */
    uint64_t idle_since_ms;       /* last result received */
    uint64_t taken_idle_ms;       /* how long it had idled when last taken from the pool */
    uint64_t deadline_ms;         /* connect or validation deadline, 0 = none */
    struct tether_pgquery *query; /* the query this connection connects, validates or runs for */
    PGresult *result;             /* the last result of the command running */
    char first_sqlstate[6];       /* the first error result's SQLSTATE */
    char first_error[256];        /* ... and its message */
    /* A FATAL the server sent while nothing ran (libpq hands it to the notice receiver). */
    char fatal_sqlstate[6];
    char fatal_msg[256];
    bool sent;        /* the running command's bytes went to the kernel */
    bool unsupported; /* the command turned into COPY */
    bool broken;      /* checked out and found dead: closed when released */
    bool checked_out; /* the caller holds it (tether_pgpool_acquire until release) */
    /* The statement deadline ended the running command. */
    bool deadline_hit;
};

enum pgq_state {
    PGQ_QUEUED,  /* waiting for a connection */
    PGQ_BOUND,   /* a connection is being made or validated for it */
    PGQ_RUNNING, /* sent (or sending) on a connection */
    PGQ_BACKOFF, /* waiting before the next connect */
    PGQ_DONE
};

struct tether_pgquery {
    struct tether_pgpool *pool;
    struct tt__list link; /* pool->queue (QUEUED) or pool->queries (otherwise) */
    enum pgq_state state;
    /* The SQL and the parameters live in the query's own allocation. */
    char *sql;
    char **params;
    int nparams;
    bool idempotent;
    bool acquire_only; /* tether_pgpool_acquire: hand the connection over, no SQL */
    tether_pgpool_acquire_cb acquire_cb;
    void *data;
    tether_pgquery_done_cb done;
    tether_pgconn *conn; /* bound or running connection */
    tether_pgconn *explicit_conn;
    bool force_new; /* a replay goes to a new connection */
    uint64_t start_ms;
    uint64_t acquire_deadline_ms;
    uint64_t acquired_ms; /* when it got its connection (0 = not yet) */
    uint64_t retry_at_ms; /* PGQ_BACKOFF */
    unsigned attempts;
    unsigned retries;
    unsigned replays;
    unsigned connect_failures;
    PGTransactionStatusType tx_before; /* of its checked-out connection, before it ran */
    uint64_t end_ms;
    PGresult *result;
    char sqlstate[6];
    struct tether_failure failure;
};

struct tether_pgpool {
    uv_loop_t *loop;
    bool own_loop; /* blocking pool */
    bool in_blocking_run;
    struct tether_pgpool_options o;
    char *conninfo;
    /* The keyword/value arrays for PQconnectStartParams: the user's conninfo expanded by
     * PQconninfoParse, then the pool's keepalive settings where the user set none. */
    const char **keys;
    const char **values;
    char **owned; /* strings the arrays point to */
    size_t nowned;
    uv_timer_t timer;        /* one timer: deadlines, retirements, backoffs, deferred work */
    struct tt__list queue;   /* QUEUED queries, FIFO */
    struct tt__list queries; /* other live queries */
    struct tt__list idle;    /* idle connections, most recently used last (LIFO reuse) */
    struct tt__list active;  /* connecting, validating, busy, held */
    unsigned nopen;
    unsigned nidle;
    unsigned pending_closes; /* poll handles still closing */
    struct ttx_rng rng;
    struct tt__pglearn learn;
    unsigned fill_failures;    /* connects for min_size that failed in a row */
    uint64_t fill_retry_at_ms; /* the next one waits until then */
    /* The last connect failure since a connect last succeeded (code 0: none): a waiter whose
     * acquire deadline passes after it is told that, not only that it waited. */
    int connect_error;
    uint64_t connect_error_ms;
    char connect_error_msg[256];
    struct tether_pgpool_stats stats;
    tether_pgevent_cb on_event;
    bool closing;
    bool timer_closed;
    tether_pgpool_close_cb close_cb;
    void *close_data;
};

/* pool.c */
uint64_t tt__pgpool_now(const struct tether_pgpool *p);
/* Run the pool's bookkeeping on the next loop turn (dispatch, deadlines). */
void tt__pgpool_kick(struct tether_pgpool *p);
void tt__pgpool_emit(struct tether_pgpool *p, enum tether_pgevent_type type,
                     const struct tether_pgquery *q, uint64_t idle_ms, const char *reason,
                     const char *sqlstate);
/* A connection finished connecting (ok) or failed (its query, if any, is told). */
void tt__pgpool_conn_ready(tether_pgconn *c);
void tt__pgpool_conn_failed(tether_pgconn *c, const char *msg);
/* An idle connection died or must go: counted under `reason`, closed. */
void tt__pgpool_evict(tether_pgconn *c, const char *reason, const char *sqlstate);
/* Puts a connection whose command finished back in the pool (or closes it). */
void tt__pgpool_conn_idle(tether_pgconn *c);
/* The empty query on a connection ended (ok: PGRES_EMPTY_QUERY on a live connection). */
void tt__pgpool_validation_done(tether_pgconn *c, bool ok);
/* A poll handle finished closing. */
void tt__pgpool_handle_closed(struct tether_pgpool *p);
/* Closes a connection the pool no longer keeps (counted by the caller). */
void tt__pgpool_close_conn(tether_pgconn *c);

/* conn.c */
tether_pgconn *tt__pgconn_start(struct tether_pgpool *p, char *errbuf, size_t errlen);
/* Closes the connection and frees it (the PGconn finishes once libuv let go of its socket). */
void tt__pgconn_close(tether_pgconn *c);
/* Starts a command: sql with params (NULL sql = the empty validation query). false when the
 * send failed at once (connection dead; nothing was sent). */
bool tt__pgconn_send(tether_pgconn *c, const char *sql, const char *const *params, int nparams);
void tt__pgconn_watch(tether_pgconn *c);   /* idle: watch readability */
void tt__pgconn_unwatch(tether_pgconn *c); /* held: stop polling */
/* Zero-cost check before use: false (with `reason`) when the peer already closed or sent a
 * FATAL. */
bool tt__pgconn_alive(tether_pgconn *c, const char **reason);

/* query.c */
/* The connection for `q` is ready (fresh, validated or reused): send or hand over. */
void tt__pgquery_start(struct tether_pgquery *q, tether_pgconn *c);
/* A command on `c` for its query ended: result (NULL on failure), whether the connection
 * survived. */
void tt__pgquery_command_done(tether_pgconn *c, bool conn_ok);
/* The statement deadline expired on the busy connection `c`: the attempt failed (or, with no
 * query left, the connection is closed). */
void tt__pgquery_deadline(tether_pgconn *c);
/* The connection being made or validated for `q` failed. */
void tt__pgquery_conn_failed(struct tether_pgquery *q, const char *msg, bool connect_failed);
/* Ends `q` with a failure code and detail (no retry). Runs done. */
void tt__pgquery_fail(struct tether_pgquery *q, int code, const char *detail);
void tt__pgquery_finish(struct tether_pgquery *q);

#endif
