/* SPDX-License-Identifier: MIT */
/* An HTTP/1.1 client that never hands out a stale socket, replays only when provably safe,
 * retries inside a budget and a deadline, and says exactly what happened.
 *
 * Threads: a client and its fetches are not thread-safe. Call every function on the thread
 * that runs the client's loop (blocking clients: the thread that calls them); callbacks run
 * there too. Separate clients on separate loops may be used from separate threads.
 *
 * SIGPIPE: a peer that resets while a request is being written makes write(2) raise SIGPIPE,
 * whose default action kills the process. The blocking calls below protect themselves; a
 * program using the loop-driven API must ignore SIGPIPE once, e.g. with
 * tether_ignore_sigpipe() (tether/common.h), as Node.js does for every program. */
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

/* One --resolve entry: see tether_client_options.resolve. */
struct tether_resolve {
    const char *host; /* the URL's host, case-insensitive, IPv6 without brackets */
    uint16_t port;
    const char *address; /* an IP literal, IPv6 without brackets */
};

struct tether_client_options {
    struct tether_policy policy; /* copied; start from tether_policy_defaults */
    const char *ca_file;         /* borrowed, copied; NULL = the system CA store */
    bool insecure;               /* skip TLS verification */
    const char *user_agent;      /* borrowed, copied; NULL = "tether/<version>" */
    void *data;                  /* user context, see tether_client_get_data */
    /* Borrowed; when set, a failed tether_client_new writes why into it (always
     * NUL-terminated), e.g. "cannot load CA file 'x.pem': no such file". As curl's
     * CURLOPT_ERRORBUFFER. */
    char *errbuf;
    size_t errbuf_len;
    /* Borrowed, copied: connections to `host`:`port` dial `address` (an IPv4 or IPv6 literal)
     * instead of resolving the name; the Host field, TLS SNI and certificate verification keep
     * the name. As curl's CURLOPT_RESOLVE ("HOST:PORT:ADDR[,ADDR]"): several entries for one
     * host and port are its addresses, dialled in entry order when a connect fails (as the
     * addresses a name resolves to are, IPv4 first; at most 4). */
    const struct tether_resolve *resolve;
    size_t nresolve;
    /* Borrowed, copied: an HTTP proxy, "[http://][USER:PASSWORD@]HOST[:PORT]" (port 1080 by
     * default, credentials percent-decoded and sent as Proxy-Authorization: Basic); NULL or ""
     * = connect directly. http:// requests go to it in absolute form over connections pooled
     * per proxy (so a 502/503 it answers is judged like the origin's, by the policy); https://
     * requests open a CONNECT tunnel, then TLS with the origin's name. A refused tunnel
     * (non-2xx to CONNECT) fails the fetch with TETHER_EHTTP, "CONNECT tunnel failed, response
     * 403 Forbidden" in the failure's detail, and is not retried. The library never reads
     * http_proxy and friends from the environment: the caller decides (tether get does, as
     * curl). */
    const char *proxy;
    /* Borrowed, copied: hosts reached directly, curl's NO_PROXY syntax: a comma list of names
     * (each also matching its subdomains; a leading dot is optional), IP addresses (exact),
     * CIDR blocks ("10.0.0.0/8", "fd00::/8") for IP hosts, or "*" for every host. */
    const char *no_proxy;
};
/* Fills `o` (borrowed) with tether_policy_defaults and the rest zero. */
TETHER_EXTERN void tether_client_options_init(struct tether_client_options *o);

/* Creates a client on `loop` (borrowed; must outlive the client). Caller owns *out; release
 * with tether_client_close. Never blocks (the system CA store loads at the first https://
 * fetch). Returns TETHER_EINVAL (bad options, an unreadable or bad CA file: see errbuf),
 * TETHER_ENOMEM. On failure nothing is left on the loop. */
TETHER_EXTERN TETHER_NODISCARD int
tether_client_new(uv_loop_t *loop, const struct tether_client_options *o, tether_client **out);

/* The user context: the options' `data` until tether_client_set_data changes it. NULL-safe. */
TETHER_EXTERN void *tether_client_get_data(const tether_client *c);
TETHER_EXTERN void tether_client_set_data(tether_client *c, void *data);

/* Cancels every fetch in progress (their callbacks run with TETHER_ECANCELED), closes every
 * connection and releases the client; `cb` (may be NULL) runs once, on a later loop turn, with
 * `data`. NULL `c` and a second call are harmless. On a blocking client the close completes
 * before the call returns (cb included), or, from inside one of its callbacks, as soon as the
 * running tether_client_fetch_blocking has returned. */
typedef void (*tether_client_close_cb)(void *data);
TETHER_EXTERN void tether_client_close(tether_client *c, tether_client_close_cb cb, void *data);

/* A streamed request body (tether_fetch_options.body_stream) may take more bytes. */
typedef void (*tether_fetch_drain_cb)(tether_fetch *f);
/* body_stream_length for a body of unknown length: sent with Transfer-Encoding: chunked. */
#define TETHER_BODY_LENGTH_UNKNOWN UINT64_MAX
/* Bytes supplied but not yet taken by the kernel beyond which tether_fetch_write asks the
 * caller to wait for on_body_drain. */
#define TETHER_FETCH_WRITE_HIGH_WATER ((size_t)256 * 1024)

/* Streamed response body: data borrowed for the call. Return false to abort the fetch. */
typedef bool (*tether_fetch_body_cb)(tether_fetch *f, const char *data, size_t len);
/* Resumable downloads: the next on_body bytes belong at byte `offset` of the representation;
 * drop whatever the sink holds beyond it (0 = the resource changed or the server ignored the
 * Range: start again, truncate). Called before every resumed or restarted body. Return false
 * to abort the fetch (TETHER_ECANCELED), e.g. when the file cannot be truncated. */
typedef bool (*tether_fetch_restart_cb)(tether_fetch *f, uint64_t offset);

struct tether_fetch_options {
    const char *method;                  /* default "GET" */
    const char *url;                     /* http:// or https://; required */
    const struct tether_header *headers; /* borrowed, copied */
    size_t nheaders;
    const void *body; /* borrowed, copied (so it can be replayed) */
    size_t body_len;
    const char *idempotency_key;  /* sent as Idempotency-Key; makes POST retryable */
    uint64_t deadline_ms;         /* overrides the policy's; 0 = the policy's */
    tether_fetch_body_cb on_body; /* NULL = collect the body in memory */
    size_t max_body_bytes;        /* limit when collecting; default 64 MiB */
    void *data;                   /* see tether_fetch_get_data */
    /* Borrowed; when set, a refused request writes why into it (always NUL-terminated), e.g.
     * "invalid URL 'ftp://x': expected http://HOST[:PORT][/PATH] or https://...". */
    char *errbuf;
    size_t errbuf_len;
    /* Redirects to follow (curl's -L with --max-redirs): 0 = none, a 3xx is the final
     * response. A 301, 302, 303, 307 or 308 with a Location is followed, resolved against the
     * current URL (RFC 3986 §5.2, the fragment dropped, bytes a target may not carry
     * percent-encoded). As curl and browsers do, a POST becomes a body-less GET after 301 and
     * 302, any method but GET and HEAD after 303 (Content-Type dropped with the body); 307 and
     * 308 repeat the method and body. A hop to another origin (scheme, host or port) drops
     * Authorization, Cookie and a user Host field. Hops are not retries: each hop has the
     * policy's attempts, the deadline spans them all. One more redirect than allowed fails the
     * fetch with TETHER_EHTTP ("maximum (N) redirects followed"), the 3xx in
     * tether_fetch_status. TETHER_EVENT_REDIRECT reports each hop. */
    unsigned max_redirects;
    /* Sends Accept-Encoding: gzip, deflate (unless a header sets it) and decodes a gzip or
     * deflate (zlib-wrapped, or raw as some servers send it) body while it streams: on_body
     * and the collected body get decoded bytes, max_body_bytes limits decoded bytes (a
     * decompression bomb stops there), Content-Length stays the encoded size. A corrupt or
     * cut stream, or another Content-Encoding, fails the fetch with TETHER_EHTTP. */
    bool decompress;
    /* With max_redirects: Authorization and Cookie go to every origin a redirect leads to, as
     * with curl's --location-trusted (a user Host field still does not). */
    bool redirect_trusted;
    /* --- resumable downloads (policy field `resume`) ---
     * A GET whose 2xx body is cut mid-way continues with Range: bytes=N- and If-Range (a strong
     * ETag, else a Last-Modified the response's Date proves strong; RFC 9110 §13.1.5), when the
     * response carried Accept-Ranges: bytes and such a validator. A valid 206 continues the body
     * (Content-Range must start at N and keep the total); a 200 restarts it from byte 0; a 416
     * whose total is N says the body is complete. Anything else (no validator, a weak ETag, a
     * 206 that does not continue the body) restarts it from byte 0. Each resume or restart is
     * an attempt of the policy (max_attempts, budget, deadline); after an attempt that made
     * progress the resume goes at once. The collected body follows by itself; a streaming
     * caller needs on_restart for anything but a clean continuation: without it a body that
     * cannot be continued ends the fetch with the cut's error (and a detail saying why when a
     * resume was refused). Never spliced: bytes of two representations never mix. The final
     * status and fields stay those of the response the body began with. With decompress a cut
     * body always starts over (a Range counts encoded bytes; resume_from is refused). */
    tether_fetch_restart_cb on_restart;
    /* The caller already holds this many bytes (curl -C): the first attempt asks for
     * Range: bytes=resume_from- (with If-Range when resume_if_range is set: the ETag or
     * Last-Modified saved with those bytes; without it the Range is sent bare, as curl does).
     * Responses: 206 starting at resume_from (status 206), 200 (on_restart(f, 0) first), or
     * 416 with a total equal to resume_from: already complete (status 416, no body, success). */
    uint64_t resume_from;
    const char *resume_if_range; /* borrowed, copied; NULL = none */
    /* --- streamed request bodies ---
     * With body_stream the body is not `body`/`body_len` (leave them empty): the caller
     * supplies it after tether_client_fetch returned, piece by piece, with tether_fetch_write,
     * while attempts run. body_stream_length is sent as Content-Length;
     * TETHER_BODY_LENGTH_UNKNOWN sends the body chunked. Replay and retries follow the same
     * rules as for a body in memory, for as long as every byte supplied so far is still kept:
     * the client keeps them up to policy.replay_buffer_bytes; once the body grows past that,
     * bytes the kernel has taken are dropped, and from then on a failure after request bytes
     * went out is final (retry_safe no). A failure before any byte went out is still replayed
     * or retried (the unsent bytes are all still held). Not with max_redirects (EINVAL): a
     * redirect would have to send the body again from its first byte. */
    bool body_stream;
    uint64_t body_stream_length;
    /* Runs when the bytes supplied but not yet taken by the kernel fall to a quarter of
     * TETHER_FETCH_WRITE_HIGH_WATER after tether_fetch_write returned 1 (Node's 'drain'). It
     * does not run once the fetch is done. */
    tether_fetch_drain_cb on_body_drain;
};

/* Zeroes `o` (borrowed): a GET with no headers, no body, the policy's deadline, the body
 * collected in memory. */
TETHER_EXTERN void tether_fetch_options_init(struct tether_fetch_options *o);

/* Runs once when the fetch is complete. `status` is 0 on success (a final response arrived,
 * whatever its HTTP status) or the TETHER_E* code of the failure (tether_fetch_failure(f) has
 * the whole record). The fetch stays valid until tether_fetch_free. */
typedef void (*tether_fetch_done_cb)(tether_fetch *f, int status);

/*
 * Starts a request. Returns 0 and runs `done` exactly once later (never before returning), or
 * returns an error and never runs it: TETHER_EINVAL for a bad URL, method or header (o->errbuf
 * says which) or a blocking client, TETHER_ECANCELED once the client is closing,
 * TETHER_ENOMEM. *out (may be NULL) receives the fetch; the caller owns it and frees it with
 * tether_fetch_free once `done` has run (from inside `done` is fine).
 */
TETHER_EXTERN TETHER_NODISCARD int tether_client_fetch(tether_client *c,
                                                       const struct tether_fetch_options *o,
                                                       tether_fetch_done_cb done,
                                                       tether_fetch **out);
/* Stops a fetch in progress; its callback runs with TETHER_ECANCELED. NULL-safe. */
TETHER_EXTERN void tether_fetch_cancel(tether_fetch *f);
/* Releases the fetch. Before `done` has run this cancels it, and `done` then never runs.
 * NULL-safe. */
TETHER_EXTERN void tether_fetch_free(tether_fetch *f);
/* Stops (true) or restarts (false) reading the response while on_body streams it, so a
 * consumer that cannot keep up (a slow socket it relays to) holds the origin back instead of
 * buffering: TCP flow control does the rest. Only while an attempt is reading; a no-op before,
 * after, and for NULL. The response's body-inactivity timeout keeps running while paused. */
TETHER_EXTERN void tether_fetch_pause(tether_fetch *f, bool paused);

/* Supplies the next `len` bytes (copied) of a streamed request body; `last` ends the body
 * (data may then be NULL/0). Returns 0 when the caller may go on, 1 when the bytes were taken
 * but more than TETHER_FETCH_WRITE_HIGH_WATER wait to be sent: supply nothing more until
 * on_body_drain runs (extra bytes are still taken, the memory is the caller's concern).
 * Errors (nothing taken): TETHER_EINVAL (not a streamed fetch, the body already ended, more
 * bytes than body_stream_length, or `last` short of it), TETHER_ECANCELED (the fetch is done:
 * it failed, was cancelled, or the response arrived before the body was complete),
 * TETHER_ENOMEM. */
TETHER_EXTERN int tether_fetch_write(tether_fetch *f, const void *data, size_t len, bool last);

/* --- The outcome (valid once done has run); strings are borrowed from the fetch. --- */
TETHER_EXTERN void *tether_fetch_get_data(const tether_fetch *f);
/* The final response's status, 0 when no response arrived. */
TETHER_EXTERN int tether_fetch_status(const tether_fetch *f);
/* The final response's fields as received: the count, and the i-th (false when i is out of
 * range), like tether_request_field_count/tether_request_field on the server. */
TETHER_EXTERN size_t tether_fetch_field_count(const tether_fetch *f);
TETHER_EXTERN bool tether_fetch_field(const tether_fetch *f, size_t i, const char **name,
                                      const char **value);
/* First response header with that name (case-insensitive), or NULL. */
TETHER_EXTERN const char *tether_fetch_header(const tether_fetch *f, const char *name);
/* The collected body (NULL/0 with on_body). */
TETHER_EXTERN const char *tether_fetch_body(const tether_fetch *f, size_t *len);
/* The failure of the last attempt (code 0 on success); Node's message via
 * tether_failure_message. Borrowed from the fetch. */
TETHER_EXTERN const struct tether_failure *tether_fetch_failure(const tether_fetch *f);
/* Attempts made: 1 + retries + redirects, except that an attempt the circuit breaker refused
 * (TETHER_EBREAKER) was never made: 0 when it refused the first one. */
TETHER_EXTERN unsigned tether_fetch_attempts(const tether_fetch *f);
TETHER_EXTERN unsigned tether_fetch_retries(const tether_fetch *f);
TETHER_EXTERN unsigned tether_fetch_replays(const tether_fetch *f);
/* Attempts that continued a cut body with a Range request (each also counts as a retry). */
TETHER_EXTERN unsigned tether_fetch_resumes(const tether_fetch *f);
TETHER_EXTERN uint64_t tether_fetch_duration_ms(const tether_fetch *f);
/* What the last response asked for with Retry-After or X-RateLimit-Reset, in ms (0 = nothing):
 * reported even when the wait was beyond the deadline and the fetch ended with that response.
 * UINT64_MAX when the header's number was too large to represent (a wait beyond any limit). */
TETHER_EXTERN uint64_t tether_fetch_retry_after_ms(const tether_fetch *f);
/* Redirects followed (curl's %{num_redirects}). */
TETHER_EXTERN unsigned tether_fetch_redirects(const tether_fetch *f);
/* The URL of the last request sent: the options' URL, or where the redirects led (curl's
 * %{url_effective}). Borrowed from the fetch. */
TETHER_EXTERN const char *tether_fetch_url(const tether_fetch *f);

/* --- What went over the wire, for traces such as curl's -v and -w (borrowed from the fetch).
 * Valid from the fetch's first event on. --- */
/* The request head exactly as sent, from the request line to the empty line ("GET / HTTP/1.1\r\n
 * Host: ...\r\n\r\n"); every attempt sends the same. Never NULL; *len (may be NULL) its size. */
TETHER_EXTERN const char *tether_fetch_request_head(const tether_fetch *f, size_t *len);
/* The final response's head exactly as received: status line, fields, the empty line. NULL
 * (*len 0) before one arrived; set from TETHER_EVENT_RESPONSE on. */
TETHER_EXTERN const char *tether_fetch_response_head(const tether_fetch *f, size_t *len);
/* The peer of the connection the last attempt ran on ("127.0.0.1:8080", "[::1]:443"); "" when
 * no connection was made. */
TETHER_EXTERN const char *tether_fetch_remote(const tether_fetch *f);
/* Times from the fetch's start, in microseconds (0 = did not happen), and connections dialled. */
struct tether_fetch_timing {
    uint64_t connect_us;    /* the last new connection was ready (TCP, and TLS for https) */
    uint64_t first_byte_us; /* the final response's head had arrived */
    uint64_t total_us;      /* the fetch finished (so far, while it runs) */
    unsigned connects;      /* new connections made for this fetch */
};
TETHER_EXTERN void tether_fetch_timing(const tether_fetch *f, struct tether_fetch_timing *out);

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
    TETHER_EVENT_RESPONSE,         /* a final response arrived */
    /* The origin's circuit breaker changed state (policy.breaker not OFF); `reason` says why
     * ("5 consecutive failures", "100 of 100 calls failed", "probe failed", "probe timed out",
     * "open interval over", "probe succeeded"), and for OPEN `delay_ms` is how long it stays
     * open. `fetch` is the fetch whose attempt or outcome made the change. */
    TETHER_EVENT_BREAKER_OPEN,
    TETHER_EVENT_BREAKER_HALF_OPEN,
    TETHER_EVENT_BREAKER_CLOSED,
    TETHER_EVENT_REDIRECT,  /* a redirect is followed: status, reason = the new URL */
    TETHER_EVENT_CONNECTED, /* a new connection is ready (TCP, and TLS for https):
                               peer, and the tls_* fields for https */
    TETHER_EVENT_RESUME     /* the next attempt continues the body at `offset` (0 =
                               restarts it); a RETRY_SCHEDULED follows */
};

/* Everything in an event, strings included, is borrowed for the duration of the callback. */
struct tether_event {
    enum tether_event_type type;
    const tether_fetch *fetch; /* may be NULL for pool events */
    const char *origin;        /* "http://127.0.0.1:8080" */
    unsigned attempt;
    bool reused;
    uint64_t idle_ms;                     /* for reused/stale connections */
    uint64_t delay_ms;                    /* RETRY_SCHEDULED */
    int status;                           /* RESPONSE, or the status that caused a retry */
    const char *reason;                   /* short text: "read ECONNRESET", "status 503", ... */
    const struct tether_failure *failure; /* ATTEMPT_FAILED */
    /* CONNECTED (and CONN_REUSED): the peer address, "127.0.0.1:8080" or "[::1]:443". */
    const char *peer;
    /* CONNECTED over TLS (NULL otherwise): the protocol and cipher OpenSSL agreed on
     * ("TLSv1.3", "TLS_AES_256_GCM_SHA384") and the peer certificate's subject and issuer
     * ("CN=localhost"; "" when it sent none). */
    const char *tls_version;
    const char *tls_cipher;
    const char *tls_subject;
    const char *tls_issuer;
    uint64_t offset; /* RESUME: the byte the body continues at */
};
/* The client first, as every tether callback; its context is tether_client_get_data(c). The hook
 * may cancel fetches or close the client. */
typedef void (*tether_event_cb)(tether_client *c, const struct tether_event *ev);
/* Installs (or, with NULL, removes) the event hook. */
TETHER_EXTERN void tether_client_on_event(tether_client *c, tether_event_cb cb);

struct tether_client_stats {
    uint64_t fetches;
    uint64_t succeeded; /* a final response arrived */
    uint64_t failed;
    uint64_t attempts;
    uint64_t retries;
    uint64_t replays;
    uint64_t connections_opened;
    uint64_t connections_reused;
    uint64_t stale_evictions; /* idle connections found closed by the peer */
    uint64_t retired_idle;    /* idle connections retired before the server's close */
    uint64_t budget_exhausted;
    uint64_t breaker_rejected; /* attempts refused by an open circuit breaker (fetches that
                                  then failed with TETHER_EBREAKER, or retries not taken) */
    uint64_t breaker_opened;   /* circuit breaker transitions to open, over all origins */
    uint64_t resumes;          /* Range requests continuing a cut body */
};
TETHER_EXTERN void tether_client_get_stats(const tether_client *c, struct tether_client_stats *out);

/* The state of an origin's circuit breaker as of its latest call: transitions are decided when
 * a call asks, so an OPEN breaker whose interval is over still reads OPEN (retry_in_ms 0). */
enum tether_breaker_state {
    TETHER_BREAKER_STATE_CLOSED = 0,
    TETHER_BREAKER_STATE_OPEN,
    TETHER_BREAKER_STATE_HALF_OPEN
};

/* Per-origin figures (one origin = scheme, host and port). Counters are lifetime totals. */
struct tether_origin_stats {
    const char *origin; /* "http://127.0.0.1:8080"; borrowed, valid until the client closes */
    enum tether_breaker_mode breaker_mode;
    enum tether_breaker_state breaker_state;
    uint64_t breaker_retry_in_ms;     /* OPEN: time left of the open interval */
    uint64_t breaker_window_calls;    /* CLOSED: outcomes in the sliding window now */
    uint64_t breaker_window_failures; /* ... of which failures */
    unsigned breaker_consecutive;     /* CLOSED: failures in a row */
    uint64_t breaker_calls;           /* outcomes counted (success or failure) */
    uint64_t breaker_failures;        /* ... of which failures */
    uint64_t breaker_rejected;        /* calls refused (metrics-only: would have been) */
    uint64_t breaker_opened;          /* transitions to OPEN */
    uint64_t breaker_half_opened;     /* transitions to HALF_OPEN */
    uint64_t breaker_closed;          /* transitions back to CLOSED */
    uint64_t breaker_probes;          /* half-open probes let through */
    uint64_t breaker_probe_timeouts;  /* probes that ran past breaker_probe_timeout_ms */
    /* The idle close learned from this origin's own closes (two observations agreeing, see
     * policy.learn_idle_close), in ms; 0 when nothing is learned (yet, or any more). */
    uint64_t learned_idle_close_ms;
    /* The timeout= of the last `Keep-Alive` header this origin sent, in seconds; -1 when none
     * came. */
    int64_t keep_alive_hint_s;
};
/* The i-th origin this client has fetched from (0 first, in order of first use): fills `out`
 * (borrowed) and returns true, or returns false when i is past the last one (or c or out is
 * NULL). Iterate from 0 until false. */
TETHER_EXTERN bool tether_client_origin_stats(const tether_client *c, size_t i,
                                              struct tether_origin_stats *out);

/* --- Blocking use: the same core on a private loop (never a second code path), as curl's easy
 * interface runs its multi engine. While a blocking call runs, SIGPIPE is blocked for the
 * calling thread only (libpq's technique), so a reset mid-write is an error, not a dead
 * process, and the program's own SIGPIPE disposition is left alone. --- */

/* A client with its own loop: every call on it blocks the calling thread. Release it with
 * tether_client_close_blocking (or tether_client_close). Errors as tether_client_new. */
TETHER_EXTERN TETHER_NODISCARD int tether_client_new_blocking(const struct tether_client_options *o,
                                                              tether_client **out);
/* Runs one fetch to completion on a blocking client; *out as for tether_client_fetch (free it
 * with tether_fetch_free). Returns 0 when the fetch ran (read its outcome), or an error when it
 * could not start: those of tether_client_fetch, TETHER_EINVAL for a client made with
 * tether_client_new, TETHER_EBUSY when called from inside a callback of this client's own
 * blocking run (libuv loops are not reentrant; curl's CURLE_RECURSIVE_API_CALL). */
TETHER_EXTERN TETHER_NODISCARD int
tether_client_fetch_blocking(tether_client *c, const struct tether_fetch_options *o,
                             tether_fetch **out);
/* tether_client_close(c, NULL, NULL): synchronous for a blocking client. NULL-safe. */
TETHER_EXTERN void tether_client_close_blocking(tether_client *c);

TETHER_END_DECLS

#endif
