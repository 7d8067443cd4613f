/* SPDX-License-Identifier: MIT */
/* Error codes, their names and messages, and the structured record of a failed operation. */
#ifndef TETHER_ERROR_H
#define TETHER_ERROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tether/common.h"

TETHER_BEGIN_DECLS

/*
 * Every fallible tether function returns 0 or one of these negative codes. The names are the
 * ones Node.js puts in `err.code`, so the strings users already search for keep working.
 * Append only: never renumber or delete (a retired code becomes TETHER_EOBSOLETEnn).
 */
#define TETHER_ERR_MAP(X)                                                                          \
    X(EINVAL, -1, "invalid argument")                                                              \
    X(ENOMEM, -2, "out of memory")                                                                 \
    X(ECANCELED, -3, "operation canceled")                                                         \
    X(ETIMEDOUT, -4, "operation timed out")                                                        \
    X(ECONNREFUSED, -5, "connection refused")                                                      \
    X(ECONNRESET, -6, "connection reset by peer")                                                  \
    X(ETLS, -7, "TLS handshake failed")                                                            \
    X(EHTTP, -8, "HTTP protocol error")                                                            \
    X(EPIPE, -9, "broken pipe")                                                                    \
    X(ENOTFOUND, -10, "host not found")                                                            \
    X(EHANGUP, -11, "socket hang up")                                                              \
    X(ETRUNCATED, -12, "connection closed before the body was complete")                           \
    X(EAGAIN, -13, "more input needed")                                                            \
    X(ETOOBIG, -14, "size limit exceeded")                                                         \
    X(EHOSTUNREACH, -15, "host is unreachable")                                                    \
    X(ENETUNREACH, -16, "network is unreachable")                                                  \
    X(ECONNABORTED, -17, "connection aborted")                                                     \
    X(EADDRINUSE, -18, "address already in use")                                                   \
    X(EADDRNOTAVAIL, -19, "address not available")                                                 \
    X(EAI_AGAIN, -20, "temporary failure in name resolution")                                      \
    X(ETLSCERT, -21, "TLS certificate verification failed")                                        \
    X(EMFILE, -22, "too many open files")                                                          \
    X(EIO, -23, "input/output error")                                                              \
    X(EBUSY, -24, "resource busy")                                                                 \
    X(ENOTSUP, -25, "operation not supported")                                                     \
    X(ERANGE, -26, "value out of range")                                                           \
    X(EDEADLINE, -27, "deadline exceeded")                                                         \
    X(EBUDGET, -28, "retry budget exhausted")                                                      \
    X(EBREAKER, -29, "circuit breaker is open")                                                    \
    X(EREWIND, -30, "request body cannot be replayed")                                             \
    X(EEOF, -31, "end of stream")                                                                  \
    X(EUNKNOWN, -32, "unknown error")

#define TETHER_ERR_ENUM_ENTRY(name, code, msg) TETHER_##name = (code),
enum tether_errno { TETHER_OK = 0, TETHER_ERR_MAP(TETHER_ERR_ENUM_ENTRY) TETHER_ERR_LAST = -33 };
#undef TETHER_ERR_ENUM_ENTRY

/* The code's name, e.g. "ECONNRESET"; "UNKNOWN" for a value not in the table. Static string. */
TETHER_EXTERN const char *tether_err_name(int code);

/* A short English description, e.g. "connection reset by peer". Static string. */
TETHER_EXTERN const char *tether_strerror(int code);

/* True for failures that may succeed when tried again: timeouts, refused or reset connections,
 * hang-ups, truncated bodies, name-resolution hiccups. TLS verification failures, EINVAL and
 * protocol errors are not transient. Retry logic asks this and nothing else. */
TETHER_EXTERN bool tether_err_is_transient(int code);

/* The system call an operation was in when it failed, as Node reports it in `err.syscall`. */
enum tether_syscall {
    TETHER_SYSCALL_NONE = 0,
    TETHER_SYSCALL_CONNECT,
    TETHER_SYSCALL_READ,
    TETHER_SYSCALL_WRITE,
    TETHER_SYSCALL_GETADDRINFO,
    TETHER_SYSCALL_HANDSHAKE,
    TETHER_SYSCALL_ACCEPT,
    TETHER_SYSCALL_LISTEN
};

/* Where in a request's life it failed; decides whether it can be retried safely. */
enum tether_phase {
    TETHER_PHASE_NONE = 0,
    TETHER_PHASE_DNS,
    TETHER_PHASE_CONNECT,
    TETHER_PHASE_TLS,
    TETHER_PHASE_WRITE,
    TETHER_PHASE_READ_HEADERS,
    TETHER_PHASE_READ_BODY
};

/* Whether repeating the failed request could execute it twice on the server. */
enum tether_retry_safety {
    TETHER_RETRY_SAFE_UNKNOWN = 0,
    TETHER_RETRY_SAFE_YES,
    TETHER_RETRY_SAFE_NO
};

/* Where `origin_code` came from. */
enum tether_err_origin {
    TETHER_ORIGIN_NONE = 0,
    TETHER_ORIGIN_ERRNO,   /* a positive errno value */
    TETHER_ORIGIN_LIBUV,   /* a negative UV_E* value */
    TETHER_ORIGIN_OPENSSL, /* an OpenSSL error-queue code (ERR_get_error) */
    TETHER_ORIGIN_GAI,     /* a getaddrinfo EAI_* value */
    TETHER_ORIGIN_HTTP     /* a parser error; see the detail text */
};

/*
 * Everything known about one failed attempt: the C counterpart of Node's error object plus what
 * Node never tells (was the socket reused, how long had it idled, how many request bytes reached
 * the kernel). Plain data, copied by value; all strings are NUL-terminated and owned by the
 * record.
 */
struct tether_failure {
    int code;                    /* TETHER_E* */
    enum tether_syscall syscall; /* TETHER_SYSCALL_NONE when not tied to one call */
    enum tether_phase phase;
    enum tether_err_origin origin;
    long origin_code;        /* the foreign code, as `origin` says */
    int sys_errno;           /* positive errno when known (104 for ECONNRESET on Linux), else 0 */
    char peer[64];           /* "127.0.0.1:8080" or "[::1]:443"; empty when unknown */
    char host[256];          /* the name being resolved or verified; empty when unknown */
    bool reused;             /* the attempt ran on a pooled keep-alive connection */
    uint64_t idle_ms;        /* how long that connection had been idle before the attempt */
    uint64_t bytes_sent;     /* request bytes the kernel accepted in this attempt */
    uint64_t bytes_received; /* response bytes received in this attempt */
    unsigned attempt;        /* 1 for the first attempt */
    unsigned replays;        /* transparent replays before this failure */
    enum tether_retry_safety retry_safe;
    char detail[256]; /* extra text: an OpenSSL reason, a parser error; may be empty */
};

/* Resets `f` to "no failure" (code 0, every field zero or empty). `f` is borrowed. */
TETHER_EXTERN void tether_failure_init(struct tether_failure *f);

/*
 * Writes the message Node.js would print for this failure into `buf` (borrowed, `len` bytes,
 * always NUL-terminated when len > 0): "read ECONNRESET", "write EPIPE", "socket hang up",
 * "connect ECONNREFUSED 127.0.0.1:8080", "getaddrinfo ENOTFOUND example.invalid",
 * "Client network socket disconnected before secure TLS connection was established", ...
 * Returns the length the full message needs (like snprintf), or TETHER_EINVAL.
 */
TETHER_EXTERN int tether_failure_message(const struct tether_failure *f, char *buf, size_t len);

/* Names for the enums, for logs and JSON: "read", "READ_HEADERS", "yes"/"no"/"unknown". */
TETHER_EXTERN const char *tether_syscall_name(enum tether_syscall s);
TETHER_EXTERN const char *tether_phase_name(enum tether_phase p);
TETHER_EXTERN const char *tether_retry_safety_name(enum tether_retry_safety s);

TETHER_END_DECLS

#endif
