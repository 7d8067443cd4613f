/* SPDX-License-Identifier: MIT */
/*
 * Socket-level test harness for the server (tests/unit/server/):
 *
 * - `srvfix`: a tether_server on its own uv loop, run by a background thread, with a scripted
 *   request handler (the target picks the behaviour, see below) and a way to run code on the
 *   loop thread (stats, shutdown, stalling the loop). The test's main thread is the client, so
 *   cmocka assertions only ever run on the main thread.
 * - `rc`: a raw HTTP/1.1 client over a blocking loopback socket: every wait has a deadline and
 *   reports how the connection ended (EOF vs ECONNRESET), which is what the S-requirements are
 *   about. The transport can be swapped (TLS tests plug OpenSSL in).
 *
 * Handler targets:
 *   /delay/N   respond 200 "delayed" after N ms (a uv timer on the server's loop)
 *   /big/N     respond 200 with N bytes of 'x' in one tether_response_send (one write)
 *   /echo      collect the request body (tether_request_on_body), then 200 with it as the body
 *   /take      tether_request_take_socket, then write "200 pending=<bytes after the head>" on
 *              the taken descriptor, which the test owns from then on (taken_fd)
 *   /take-late begin the response, then try to take the socket (take_rv), then end it
 *   /status/N  respond N with the target as the body (tether_response_send)
 *   anything   respond 200 at once with the target as the body
 */
#ifndef TETHER_TEST_RAWCLIENT_H
#define TETHER_TEST_RAWCLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "tether/server.h"

/* ---- time ---- */

uint64_t rc_now_ms(void); /* CLOCK_MONOTONIC */
void rc_sleep_ms(uint64_t ms);
void rc_sleep_until(uint64_t t_ms);

/* ---- the raw client ---- */

enum rc_result {
    RC_OK = 0,
    RC_EOF,     /* orderly end of stream (FIN, or TLS close_notify) */
    RC_RESET,   /* ECONNRESET / EPIPE: the peer sent RST */
    RC_TIMEOUT, /* nothing before the deadline */
    RC_DATA,    /* bytes arrived where an end of stream was expected */
    RC_PROTO,   /* malformed response */
    RC_ERROR    /* any other errno (see rc.err) */
};
const char *rc_result_name(int r);

struct rc;
/* Transport hooks: recv returns bytes (> 0), 0 for EOF, or -RC_* (deadline is absolute,
 * rc_now_ms based); send returns RC_OK or an RC_* code. */
struct rc_transport {
    long (*recv)(struct rc *c, char *buf, size_t cap, uint64_t deadline_ms);
    int (*send)(struct rc *c, const void *data, size_t len);
};

struct rc {
    int fd;
    int err; /* errno of the last RC_ERROR / RC_RESET */
    const struct rc_transport *tp;
    void *tp_data;
    size_t len; /* buffered, unconsumed bytes */
    char buf[65536];
};

struct rc_response {
    int status;
    int minor;
    char head[8192]; /* status line and fields, NUL-terminated, without the final CRLF CRLF */
    size_t head_len;
    char body[32768];
    size_t body_len;
    bool chunked;
    bool close_delimited;
    uint64_t at_ms; /* when the response was complete */
};

/* Connects to 127.0.0.1:port (blocking, 5 s send timeout). RC_OK or RC_ERROR. */
int rc_connect(struct rc *c, uint16_t port);
void rc_init_fd(struct rc *c, int fd);
void rc_close(struct rc *c);
/* Sends everything (MSG_NOSIGNAL). RC_OK, RC_RESET (ECONNRESET/EPIPE) or RC_ERROR. */
int rc_send(struct rc *c, const void *data, size_t len);
int rc_send_str(struct rc *c, const char *s);
/* shutdown(SHUT_WR). */
void rc_shutdown_write(struct rc *c);
/* Reads one response (1xx included, as its own response). RC_OK, RC_EOF (closed before a
 * complete response), RC_RESET, RC_TIMEOUT, RC_PROTO. */
int rc_read_response(struct rc *c, struct rc_response *r, uint64_t timeout_ms);
/* Waits for the end of the stream: RC_EOF, RC_RESET, RC_TIMEOUT, or RC_DATA if bytes came. */
int rc_wait_close(struct rc *c, uint64_t timeout_ms);
/* Waits up to timeout_ms for something to read (data, EOF or error) without consuming it. */
bool rc_readable(struct rc *c, uint64_t timeout_ms);
/* Waits up to timeout_ms (scaled) until everything sent has been acknowledged by the peer's
 * kernel, i.e. it sits in the peer's receive queue whether or not the peer reads (SIOCOUTQ is
 * 0). On loopback the ACK may lag send() when softirqs run late on a busy machine. */
bool rc_wait_delivered(struct rc *c, uint64_t timeout_ms);
/* The first field called `name` (case-insensitive), value copied to out. */
bool rc_header(const struct rc_response *r, const char *name, char *out, size_t out_len);
/* Whether field `name` lists `token` (case-insensitive, comma-separated). */
bool rc_header_has_token(const struct rc_response *r, const char *name, const char *token);
/* "GET <target> HTTP/1.1\r\nHost: t\r\n\r\n" */
int rc_send_get(struct rc *c, const char *target);
/* rc_send_get + rc_read_response; fails unless RC_OK with `want_status`. Returns the RC result,
 * or RC_PROTO for another status. */
int rc_get(struct rc *c, const char *target, int want_status, struct rc_response *r,
           uint64_t timeout_ms);

/* ---- the server fixture ---- */

struct srvfix {
    uv_loop_t loop;
    uv_async_t async;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool thread_started;
    bool loop_exited;
    bool stopped;

    /* One pending call at a time, from the main thread to the loop thread. */
    void (*call_fn)(struct srvfix *fx, void *arg);
    void *call_arg;
    bool call_pending;
    bool call_done;
    bool stall_active; /* the loop thread is blocked in srvfix_stall_begin */
    bool stall_release;

    tether_server *srv;
    struct tether_server_options opts;
    uint16_t port;

    /* Written on the loop thread, read with srvfix_snapshot. */
    unsigned requests_seen;
    unsigned body_errors;      /* /echo bodies that failed (status != 0) */
    unsigned responses_failed; /* tether_response_* returned an error other than ECANCELED */
    unsigned responses_canceled;
    bool shutdown_cb_ran;
    uint64_t shutdown_cb_at_ms; /* rc_now_ms() when it ran */
    bool close_cb_ran;
    int take_rv;  /* what tether_request_take_socket returned for /take or /take-late */
    int taken_fd; /* the descriptor /take got (-1 until then); the test closes it */
};

/* Fills `o` with the test defaults: tether defaults, then short timeouts (scaled with
 * tt_test_scale_ms): keep-alive 300 + 100 ms, headers 500 ms, body 300 ms, send 3 s, lingering
 * 3 s total / 1 s per wait, fresh-idle protection 200 ms, shutdown grace 2 s. */
void srvfix_options(struct tether_server_options *o);
/* Creates the server on 127.0.0.1:0 with `o` (on_request and data are set here) and starts the
 * loop thread. Returns a tether error (0 on success). */
int srvfix_start(struct srvfix *fx, const struct tether_server_options *o);
/* Runs fn(fx, arg) on the loop thread and waits for it. */
void srvfix_call(struct srvfix *fx, void (*fn)(struct srvfix *fx, void *arg), void *arg);

struct srvfix_snapshot {
    struct tether_server_stats stats;
    unsigned requests_seen;
    unsigned body_errors;
    unsigned responses_failed;
    unsigned responses_canceled;
    bool shutdown_cb_ran;
    uint64_t shutdown_cb_at_ms;
    int take_rv;
    int taken_fd;
};
void srvfix_snapshot(struct srvfix *fx, struct srvfix_snapshot *out);
/* Polls the stats until connections_open == n; false on timeout. */
bool srvfix_wait_open(struct srvfix *fx, uint64_t n, uint64_t timeout_ms);
/* Waits (5 s, scaled) until no connection is open, takes a snapshot into *s and fails the
 * test unless closes[cause] == n. */
void srvfix_expect_closed(struct srvfix *fx, enum tether_close_cause cause, uint64_t n,
                          struct srvfix_snapshot *s);
/* Polls until the shutdown callback ran; false on timeout. */
bool srvfix_wait_shutdown_cb(struct srvfix *fx, uint64_t timeout_ms);
/* tether_server_shutdown(srv, cb that records shutdown_cb_ran) on the loop thread. */
void srvfix_shutdown(struct srvfix *fx);
/* Blocks the loop thread (it stops running timers and I/O) until srvfix_stall_end, at most
 * max_ms. Returns once the loop thread is blocked. */
void srvfix_stall_begin(struct srvfix *fx, uint64_t max_ms);
void srvfix_stall_end(struct srvfix *fx);
/* Closes the server, waits up to timeout_ms for the loop thread to run out of handles, joins
 * it and closes the loop. Returns 0, or -1 when the loop did not exit in time (a leaked handle
 * or a connection that never finished closing: the thread is then left behind), or the
 * uv_loop_close() error. Safe to call twice. */
int srvfix_stop(struct srvfix *fx, uint64_t timeout_ms);

/* cmocka glue (the test file includes test.h first). srvfix_begin starts a fixture on the heap,
 * failing the test if that fails, stores it in *state and arms a watchdog alarm (60 s, scaled)
 * so no test can hang; srvfix_end stops it, asserting that the loop exited and
 * uv_loop_close() == 0; srvfix_teardown (for cmocka_unit_test_teardown) stops what a failed
 * test left running. */
struct srvfix *srvfix_begin(void **state, const struct tether_server_options *o);
void srvfix_end(void **state);
int srvfix_teardown(void **state);

/* The rc_* call must return `want` (an enum rc_result); prints both names otherwise. */
#define ASSERT_RC(expr, want)                                                                      \
    do {                                                                                           \
        int assert_rc_rv_ = (expr);                                                                \
        if (assert_rc_rv_ != (want)) {                                                             \
            fail_msg("%s returned %s, expected %s", #expr, rc_result_name(assert_rc_rv_),          \
                     rc_result_name(want));                                                        \
        }                                                                                          \
    } while (0)

/* printf-style diagnostics to stderr, prefixed with "# ". */
void rc_note(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

#endif
