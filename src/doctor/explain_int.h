/* SPDX-License-Identifier: MIT */
/* The explain catalogue's rows (public entry + how to find it in a text) and the errno table. */
#ifndef TETHER_DOCTOR_EXPLAIN_INT_H
#define TETHER_DOCTOR_EXPLAIN_INT_H

#include <stddef.h>

#include "tether/explain.h"

/* How a row's patterns are read. */
enum tt_explain_kind {
    /* Fragments separated by '*', found in order on one line, case-insensitively, with
     * anything (within that line) between them: "connect() failed (*) while connecting to
     * upstream". */
    TT_EXPLAIN_TEXT = 0,
    /* An HAProxy log's termination state: the pattern is its first two characters, matched
     * case-sensitively ("sD" is a server timeout, "SD" a server abort) on a 4-character token
     * followed by the actconn/feconn/beconn/srv_conn/retries counters ("1/1/0/0/0"). */
    TT_EXPLAIN_HAPROXY,
    /* An AWS ALB access-log line: the pattern is elb_status_code ("502"); for 502 the
     * target_status_code must be "-" (the target never answered). */
    TT_EXPLAIN_ALB
};

/* Dropped when a row without this flag matched too: an errno-level text that the specific
 * message next to it explains better (Python's ConnectionResetError under a requests error). */
#define TT_EXPLAIN_GENERIC 1u
/* Dropped when any other row matched: a wrapper that only says "see the cause" (undici's
 * "fetch failed", .NET's "An error occurred while sending the request."). */
#define TT_EXPLAIN_WRAPPER 2u

#define TT_EXPLAIN_MAX_PATTERNS 5

struct tt_explain_row {
    struct tether_explain_entry e;
    enum tt_explain_kind kind;
    unsigned flags;
    const char *patterns[TT_EXPLAIN_MAX_PATTERNS]; /* alternatives (version drift); NULL ends */
};

/* The catalogue, split by ecosystem; each table ends with a row whose id is NULL. */
extern const struct tt_explain_row tt__explain_rows_js[];
extern const struct tt_explain_row tt__explain_rows_native[];
extern const struct tt_explain_row tt__explain_rows_jvm[];
extern const struct tt_explain_row tt__explain_rows_proxy[];

/* The i-th row over every table, or NULL past the last. */
const struct tt_explain_row *tt__explain_row(size_t i);

/* Errno texts for unrecognised input: each with its spellings (POSIX name, strerror text,
 * Windows code and text). */
struct tt_explain_errno_row {
    struct tether_explain_errno e;
    const char *patterns[8];
};
extern const struct tt_explain_errno_row tt__explain_errnos[];

/* Case-insensitive search of the pattern (fragments separated by '*') in one line
 * [lower_line, lower_line + n), which the caller lower-cased (ttx_lower) once for every pattern.
 * Returns 1 and sets *start and *end (offsets within the line) on a match. */
int tt__explain_match_text(const char *lower_line, size_t n, const char *pattern, size_t *start,
                           size_t *end);

/* Shorthands the catalogue files share, so one wording is reviewed once. */
#define TT_REMOTE TETHER_EXPLAIN_SIDE_REMOTE
#define TT_LOCAL TETHER_EXPLAIN_SIDE_LOCAL
#define TT_UNKNOWN TETHER_EXPLAIN_SIDE_UNKNOWN
#define TT_YES TETHER_EXPLAIN_RETRY_YES
#define TT_NO TETHER_EXPLAIN_RETRY_NO
#define TT_DEPENDS TETHER_EXPLAIN_RETRY_DEPENDS

#define TT_RETRY_REUSED                                                                            \
    "safe for idempotent requests (GET, HEAD, PUT, DELETE) and for any request on a reused "       \
    "connection that received no response byte; a POST may already have run"
#define TT_RETRY_NOT_SENT "safe: the request never reached the server"
#define TT_RETRY_PARTIAL                                                                           \
    "safe for idempotent requests only: the server may have processed the request before the "     \
    "response was cut (resume downloads with Range)"
#define TT_RETRY_LOCAL                                                                             \
    "this client gave up by itself: retry an idempotent request with a longer timeout"
#define TT_RETRY_PROXY                                                                             \
    "safe for idempotent requests; beware proxies that retry on their own (Istio replays a "       \
    "POST on 503 by default)"
#define TT_RETRY_DNS "not until the name resolves: retrying the same lookup fails the same way"
#define TT_RETRY_TLS "not until the TLS mismatch is fixed; transient only behind a flaky proxy"
#define TT_RETRY_WRAPPER "depends on the underlying error: explain the cause printed with it"

#define TT_CONFIRM_DOCTOR "tether doctor URL"
#define TT_CONFIRM_GET "tether get -v URL"
#define TT_CONFIRM_ALB                                                                             \
    "tether proxy --listen 127.0.0.1:8081 --upstream BACKEND:PORT --preset aws-alb --scale 0.1"
#define TT_CONFIRM_NLB                                                                             \
    "tether proxy --listen 127.0.0.1:8081 --upstream HOST:PORT --preset aws-nlb --scale 0.01"
#define TT_CONFIRM_FIREWALL                                                                        \
    "tether proxy --listen 127.0.0.1:8081 --upstream HOST:PORT --preset firewall-reset"
#define TT_CONFIRM_DB                                                                              \
    "tether proxy --listen 127.0.0.1:6432 --upstream DBHOST:5432 --preset aws-nlb --scale 0.01"

#endif
