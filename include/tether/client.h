/* SPDX-License-Identifier: MIT */
/* An HTTP/1.1 client that never hands out a stale socket, replays only when provably safe,
 * retries inside a budget and a deadline, and says exactly what happened. */
#ifndef TETHER_CLIENT_H
#define TETHER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "tether/common.h"
#include "tether/error.h"
#include "tether/policy.h"

TETHER_BEGIN_DECLS

typedef struct tether_client tether_client;
/* One logical request (all its attempts, replays and retries) and, once done, its outcome. */
typedef struct tether_fetch tether_fetch;

struct tether_header {
    const char *name;
    const char *value;
};

struct tether_client_options {
    struct tether_policy policy; /* copied; start from tether_policy_defaults */
    const char *ca_file;         /* borrowed, copied; NULL = the system CA store */
    bool insecure;               /* skip TLS verification */
    const char *user_agent;      /* NULL = "tether/<version>" */
};
/* Fills `o` with tether_policy_defaults and the rest zero. */
TETHER_EXTERN void tether_client_options_init(struct tether_client_options *o);

/* Creates a client on `loop` (borrowed). Caller owns *out; release with tether_client_close.
 * Returns TETHER_EINVAL (bad options, unreadable CA file), TETHER_ENOMEM. */
TETHER_EXTERN TETHER_NODISCARD int tether_client_new(uv_loop_t *loop,
                                                     const struct tether_client_options *o,
                                                     tether_client **out);

/* Cancels every fetch in progress (their callbacks run with TETHER_ECANCELED), closes every
 * connection and releases the client; `cb` (may be NULL) runs once, on a later loop turn. */
typedef void (*tether_client_close_cb)(void *data);
TETHER_EXTERN void tether_client_close(tether_client *c, tether_client_close_cb cb, void *data);

/* Streamed response body: data borrowed for the call. Return false to abort the fetch. */
typedef bool (*tether_fetch_body_cb)(tether_fetch *f, const char *data, size_t len);

struct tether_fetch_options {
    const char *method;                  /* default "GET" */
    const char *url;                     /* http:// or https://; required */
    const struct tether_header *headers; /* borrowed, copied */
    size_t nheaders;
    const void *body;                    /* borrowed, copied (so it can be replayed) */
    size_t body_len;
    const char *idempotency_key;         /* sent as Idempotency-Key; makes POST retryable */
    uint64_t deadline_ms;                /* overrides the policy's; 0 = the policy's */
    tether_fetch_body_cb on_body;        /* NULL = collect the body in memory */
    size_t max_body_bytes;               /* limit when collecting; default 64 MiB */
    void *data;                          /* see tether_fetch_get_data */
};

/* Runs once when the fetch is complete: success (a final response, any status) or failure
 * (tether_fetch_failure(f)->code != 0). The fetch stays valid until tether_fetch_free. */
typedef void (*tether_fetch_done_cb)(tether_fetch *f);

/*
 * Starts a request. Returns 0 and runs `done` exactly once later (never before returning), or
 * returns an error (TETHER_EINVAL for a bad URL, method, header) and never runs it. *out (may be
 * NULL) receives the fetch for cancellation; the caller owns it and frees it with
 * tether_fetch_free once `done` has run (from inside `done` is fine).
 */
TETHER_EXTERN int tether_client_fetch(tether_client *c, const struct tether_fetch_options *o,
                                      tether_fetch_done_cb done, tether_fetch **out);
/* Stops a fetch in progress; its callback runs with TETHER_ECANCELED. */
TETHER_EXTERN void tether_fetch_cancel(tether_fetch *f);
TETHER_EXTERN void tether_fetch_free(tether_fetch *f);

/* --- The outcome (valid once done has run). --- */
TETHER_EXTERN void *tether_fetch_get_data(const tether_fetch *f);
/* The final response's status, 0 when no response arrived. */
TETHER_EXTERN int tether_fetch_status(const tether_fetch *f);
TETHER_EXTERN size_t tether_fetch_header_count(const tether_fetch *f);
TETHER_EXTERN bool tether_fetch_header_at(const tether_fetch *f, size_t i, const char **name,
                                          const char **value);
/* First response header with that name (case-insensitive), or NULL. */
TETHER_EXTERN const char *tether_fetch_header(const tether_fetch *f, const char *name);
/* The collected body (NULL/0 with on_body). */
TETHER_EXTERN const char *tether_fetch_body(const tether_fetch *f, size_t *len);
/* The failure of the last attempt (code 0 on success); Node's message via
 * tether_failure_message. Borrowed from the fetch. */
TETHER_EXTERN const struct tether_failure *tether_fetch_failure(const tether_fetch *f);
TETHER_EXTERN unsigned tether_fetch_attempts(const tether_fetch *f); /* 1 + retries */
TETHER_EXTERN unsigned tether_fetch_retries(const tether_fetch *f);
TETHER_EXTERN unsigned tether_fetch_replays(const tether_fetch *f);
TETHER_EXTERN uint64_t tether_fetch_duration_ms(const tether_fetch *f);
/* What the last response asked for with Retry-After or X-RateLimit-Reset, in ms (0 = nothing):
 * reported even when the wait was beyond the deadline and the fetch ended with that response. */
TETHER_EXTERN uint64_t tether_fetch_retry_after_ms(const tether_fetch *f);

/* --- Events: the lifecycle of every attempt (TETHER_DEBUG=net,http prints the same). --- */
enum tether_event_type {
    TETHER_EVENT_CONN_NEW,         /* a connection was dialled for an attempt */
    TETHER_EVENT_CONN_REUSED,      /* an idle connection was taken from the pool */
    TETHER_EVENT_CONN_STALE,       /* an idle connection was evicted (closed by the peer, ...) */
    TETHER_EVENT_CONN_RETIRED,     /* an idle connection was retired before the server's close */
    TETHER_EVENT_ATTEMPT_FAILED,   /* with the failure and its class */
    TETHER_EVENT_REPLAY,           /* transparent replay on a fresh connection */
    TETHER_EVENT_RETRY_SCHEDULED,  /* with delay_ms and reason */
    TETHER_EVENT_BUDGET_EXHAUSTED, /* a retry was refused by the origin's budget */
    TETHER_EVENT_DEADLINE,         /* the deadline ended the fetch (or a pushback beyond it) */
    TETHER_EVENT_RESPONSE          /* a final response arrived */
};

struct tether_event {
    enum tether_event_type type;
    const tether_fetch *fetch;   /* may be NULL for pool events */
    const char *origin;          /* "http://127.0.0.1:8080" */
    unsigned attempt;
    bool reused;
    uint64_t idle_ms;            /* for reused/stale connections */
    uint64_t delay_ms;           /* RETRY_SCHEDULED */
    int status;                  /* RESPONSE, or the status that caused a retry */
    const char *reason;          /* short text: "read ECONNRESET", "status 503", ... */
    const struct tether_failure *failure; /* ATTEMPT_FAILED */
};
typedef void (*tether_event_cb)(const struct tether_event *ev, void *data);
/* Installs (or, with NULL, removes) the event hook; `data` is passed back. */
TETHER_EXTERN void tether_client_on_event(tether_client *c, tether_event_cb cb, void *data);

struct tether_client_stats {
    uint64_t fetches;
    uint64_t succeeded;          /* a final response arrived */
    uint64_t failed;
    uint64_t attempts;
    uint64_t retries;
    uint64_t replays;
    uint64_t connections_opened;
    uint64_t connections_reused;
    uint64_t stale_evictions;    /* idle connections found closed by the peer */
    uint64_t retired_idle;       /* idle connections retired before the server's close */
    uint64_t budget_exhausted;
};
TETHER_EXTERN void tether_client_get_stats(const tether_client *c,
                                           struct tether_client_stats *out);

/* --- Blocking use: the same core on a private loop (never a second code path). --- */

/* A client with its own loop: every call blocks the calling thread. */
TETHER_EXTERN TETHER_NODISCARD int tether_client_new_blocking(const struct tether_client_options *o,
                                                              tether_client **out);
/* Runs one fetch to completion on a blocking client; *out as for tether_client_fetch (free it
 * with tether_fetch_free). Returns 0 when the fetch ran (check its failure), or an error for
 * bad arguments. */
TETHER_EXTERN int tether_client_fetch_blocking(tether_client *c,
                                               const struct tether_fetch_options *o,
                                               tether_fetch **out);
/* Closes a blocking client (synchronously). */
TETHER_EXTERN void tether_client_free_blocking(tether_client *c);

TETHER_END_DECLS

#endif
