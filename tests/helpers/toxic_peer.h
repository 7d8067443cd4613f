/* SPDX-License-Identifier: MIT */
/*
 * Socket-level harness for the fault proxy's tests (tests/unit/proxy/):
 *
 * - `pxfix`: a tether_proxy_server (no HTTP API unless asked) on its own uv loop, run by a
 *   background thread. API calls (tether_proxy_server_call) are marshalled onto the loop thread;
 *   the test's main thread is the client, so cmocka assertions only run on the main thread.
 * - `tp_peer`: a scripted upstream TCP server on 127.0.0.1:0 in its own thread (echo, send N
 *   bytes, reply at EOF, sink) that counts connections, bytes and how each connection ended
 *   (FIN vs RST), so a test can check what the *upstream* side of the proxy observed.
 * - `tp_*` client calls: blocking loopback sockets where every wait has a deadline and the
 *   result says how the stream ended (EOF vs ECONNRESET vs nothing), which is what the toxics
 *   are about.
 * - shorthands and the steps the toxic tests share (px_*, tp_connect_ok, tp_echo_ok, ...): in
 *   toxic_steps.c; the rest in toxic_peer.c.
 */
#ifndef TETHER_TEST_TOXIC_PEER_H
#define TETHER_TEST_TOXIC_PEER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "tether/proxy.h"

/* ---- time ---- */

uint64_t tp_now_ms(void); /* CLOCK_MONOTONIC */
void tp_sleep_ms(uint64_t ms);

/* ---- the raw client ---- */

enum tp_end {
    TP_OK = 0,  /* the bytes asked for arrived */
    TP_EOF,     /* orderly end of stream (FIN) */
    TP_RESET,   /* ECONNRESET (or EPIPE on send): the peer sent RST */
    TP_TIMEOUT, /* nothing (more) before the deadline: a stall */
    TP_REFUSED, /* ECONNREFUSED on connect */
    TP_ERROR    /* any other errno */
};
const char *tp_end_name(int e);

/* Connects to 127.0.0.1:port (blocking, TCP_NODELAY). TP_OK with *fd set, TP_REFUSED, or
 * TP_ERROR (*err gets errno when err is not NULL). */
int tp_connect(uint16_t port, int *fd, int *err);
/* Sends everything (MSG_NOSIGNAL). TP_OK, TP_RESET (ECONNRESET/EPIPE) or TP_ERROR. */
int tp_send(int fd, const void *data, size_t len);
int tp_send_str(int fd, const char *s);

/* What one read-until-something call saw. */
struct tp_read {
    int end;           /* enum tp_end */
    size_t bytes;      /* bytes received by this call */
    unsigned reads;    /* recv() calls that returned data */
    size_t max_read;   /* the largest single recv() */
    uint64_t first_ms; /* tp_now_ms() of the first byte (0 = none) */
    uint64_t end_ms;   /* when it returned */
    int err;           /* errno behind TP_ERROR */
};

/* Reads until `want` bytes arrived (TP_OK), the stream ends (TP_EOF/TP_RESET), or timeout_ms
 * passes (TP_TIMEOUT). Stores up to `cap` bytes in buf (may be NULL) and counts the rest. */
int tp_read_n(int fd, void *buf, size_t cap, size_t want, uint64_t timeout_ms, struct tp_read *r);
/* Reads until the stream ends or timeout_ms passes (never returns TP_OK). The timeouts of both
 * read calls are bounds on something expected to happen, so they are scaled by
 * TETHER_TEST_TIMEOUT_MULTIPLIER. */
int tp_read_all(int fd, void *buf, size_t cap, uint64_t timeout_ms, struct tp_read *r);
/* Waits timeout_ms and reports what happened without needing data: TP_TIMEOUT (nothing, a
 * stall), TP_OK (bytes came; they are consumed and counted in r), TP_EOF or TP_RESET. The
 * window is not scaled: nothing may happen in it, and it must end before any timer the test
 * relies on. A test that needs something to have happened waits for that instead. */
int tp_expect_quiet(int fd, uint64_t timeout_ms, struct tp_read *r);

/* A port on 127.0.0.1 where nothing listens (bound, read back, closed). */
uint16_t tp_dead_port(void);

/* Byte i of the pattern that TP_SEND writes (checks order and integrity). */
unsigned char tp_pattern(size_t i);
/* Whether buf[0..n) is pattern bytes from offset `from`. */
bool tp_is_pattern(const void *buf, size_t n, size_t from);

/* ---- the upstream peer ---- */

enum tp_mode {
    TP_ECHO,         /* echo every byte; at EOF flush and close (FIN) */
    TP_SEND,         /* on accept send `send` (or send_bytes of pattern), then see below */
    TP_REPLY_AT_EOF, /* read until EOF, then send "received <n>\n" and close (FIN) */
    TP_SINK          /* read and drop everything; close at EOF */
};

struct tp_peer_opts {
    enum tp_mode mode;
    uint16_t port;      /* 0 = any free port */
    const char *send;   /* TP_SEND: this text, or NULL for send_bytes of tp_pattern() */
    size_t send_bytes;  /* TP_SEND with send == NULL */
    bool close_after;   /* TP_SEND: drain what was received, then close (FIN) after sending */
    bool shut_wr_after; /* TP_SEND: shutdown(SHUT_WR) after sending, keep reading to EOF */
    bool hold_at_eof;   /* keep the socket open after the proxy's FIN (until it is reset or
                           the peer stops), instead of closing it */
};

struct tp_peer_stats {
    unsigned accepted;  /* connections accepted */
    unsigned open;      /* still open */
    unsigned ended_eof; /* ended by the proxy's FIN (or closed by the peer itself) */
    unsigned ended_rst; /* ended by an RST from the proxy (ECONNRESET/EPIPE) */
    uint64_t bytes_in;  /* bytes received, all connections */
};

struct tp_peer;
/* Starts the peer on 127.0.0.1:0 in a thread. Returns 0 or an errno value. */
int tp_peer_start(const struct tp_peer_opts *o, struct tp_peer **out);
uint16_t tp_peer_port(const struct tp_peer *p);
void tp_peer_stats(struct tp_peer *p, struct tp_peer_stats *out);
/* Polls until accepted >= n / ended_eof + ended_rst >= n / bytes_in >= n; false on timeout. */
bool tp_peer_wait_accepted(struct tp_peer *p, unsigned n, uint64_t timeout_ms);
bool tp_peer_wait_ended(struct tp_peer *p, unsigned n, uint64_t timeout_ms);
bool tp_peer_wait_bytes(struct tp_peer *p, uint64_t n, uint64_t timeout_ms);
/* Closes the listener and every connection and joins the thread. NULL is fine. */
void tp_peer_stop(struct tp_peer *p);

/* ---- the proxy fixture ---- */

struct pxfix {
    uv_loop_t loop;
    uv_async_t async;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool thread_started;
    bool loop_exited;
    bool stopped;
    bool close_cb_ran;

    void (*call_fn)(struct pxfix *fx, void *arg);
    void *call_arg;
    bool call_pending;
    bool call_done;

    tether_proxy_server *ps;
    struct tp_peer *peer; /* optional, stopped by pxfix_stop */
};

/* Options for tests: no HTTP API (api_host NULL), seed 1, connect timeout 2 s. */
void pxfix_options(struct tether_proxy_server_options *o);
/* Creates the server with `o` on the fixture's loop and starts the loop thread. A tether error
 * (0 on success). */
int pxfix_start(struct pxfix *fx, const struct tether_proxy_server_options *o);
/* Runs fn(fx, arg) on the loop thread and waits for it. */
void pxfix_run(struct pxfix *fx, void (*fn)(struct pxfix *fx, void *arg), void *arg);

/* One API call's outcome; the body is NUL-terminated (owned, release with px_reply_free). */
struct px_reply {
    int rv; /* tether_proxy_server_call's return value */
    int status;
    char *body;
    size_t len;
};
/* tether_proxy_server_call on the loop thread; body may be NULL. Returns the status (or -1
 * when the call itself failed). */
int pxfix_call(struct pxfix *fx, const char *method, const char *path, const char *body,
               struct px_reply *out);
void px_reply_free(struct px_reply *r);
/* The listen port of proxy `name`, 0 when unknown or not listening. */
uint16_t pxfix_proxy_port(struct pxfix *fx, const char *name);

/* Closes the server (and the peer), waits up to timeout_ms for the loop to run out of handles,
 * joins the thread and closes the loop. 0, -1 when the loop did not exit (the thread is left
 * behind), or uv_loop_close()'s error. Safe to call twice. */
int pxfix_stop(struct pxfix *fx, uint64_t timeout_ms);

/* cmocka glue (include test.h first). pxfix_begin starts a fixture on the heap (failing the
 * test if that fails) with `o` (NULL = pxfix_options), stores it in *state and arms a 60 s
 * (scaled) watchdog alarm; pxfix_end stops it asserting uv_loop_close() == 0; pxfix_teardown
 * (for cmocka_unit_test_teardown) stops what a failed test left running. */
struct pxfix *pxfix_begin(void **state, const struct tether_proxy_server_options *o);
/* pxfix_begin, then a tp_peer with `po` (stopped by pxfix_stop) and proxy "p" in front of it
 * (px_proxy). Returns the proxy's port; *out gets the fixture. */
uint16_t pxfix_begin_peer(void **state, const struct tether_proxy_server_options *o,
                          const struct tp_peer_opts *po, struct pxfix **out);
void pxfix_end(void **state);
int pxfix_teardown(void **state);

/* Test shorthands that fail the test on an unexpected status:
 * px_proxy: POST /proxies {name, listen 127.0.0.1:0, upstream 127.0.0.1:<upstream_port>} → 201,
 *           returns the bound port;
 * px_ok:    the call must return `want` (prints method, path, status and body otherwise);
 * px_toxic: POST /proxies/<proxy>/toxics with `json` → 200. */
uint16_t px_proxy(struct pxfix *fx, const char *name, uint16_t upstream_port);
void px_ok(struct pxfix *fx, const char *method, const char *path, const char *body, int want);
void px_toxic(struct pxfix *fx, const char *proxy, const char *json);

/* ---- the toxic tests' shared steps (tests/unit/proxy/test_toxics_*.c) ---- */

/* Timing rules. A toxic's timer never fires early, so a lower bound only allows for clock
 * granularity between the test's clock and the proxy's: TP_EARLY_MS. An upper bound only says
 * "it did not hang" and gets generous slack, scaled: tp_late_ms(). A read that must see
 * something waits up to TP_WAIT_MS (scaled inside the read calls). Checks that something did
 * NOT wait for a toxic's delay compare with that delay, made large, not with a small guess. */
#define TP_EARLY_MS 50u
#define TP_LATE_MS 1500u
#define TP_WAIT_MS 3000u
uint64_t tp_late_ms(void);

/* Connects to the proxy (fails the test otherwise); returns the socket. */
int tp_connect_ok(uint16_t port);
/* Connects, retrying every 50 ms while refused, for up to timeout_ms (scaled). */
int tp_connect_retry(uint16_t port, uint64_t timeout_ms);
/* Sends msg and reads the same bytes back (an echo peer): fails the test otherwise. */
void tp_echo_ok(int fd, const char *msg);
/* The fixture's peer's counters. */
struct tp_peer_stats pxfix_peer_stats(struct pxfix *fx);
/* Polls the proxy's GET /events until an event of `type` ("expire", "reset", ...) is there,
 * failing the test after timeout_ms (scaled): how a test knows a toxic's timer has fired. */
void pxfix_wait_event(struct pxfix *fx, const char *type, uint64_t timeout_ms);

/* The tp_* call must return `want` (an enum tp_end); prints both names otherwise. */
#define ASSERT_END(expr, want)                                                                     \
    do {                                                                                           \
        int assert_end_rv_ = (expr);                                                               \
        if (assert_end_rv_ != (want)) {                                                            \
            fail_msg("%s returned %s, expected %s", #expr, tp_end_name(assert_end_rv_),            \
                     tp_end_name(want));                                                           \
        }                                                                                          \
    } while (0)

/* lo <= v <= hi, printing all three (times in ms, byte counts...). */
#define ASSERT_IN_RANGE(v, lo, hi)                                                                 \
    do {                                                                                           \
        unsigned long long assert_range_v_ = (unsigned long long)(v);                              \
        unsigned long long assert_range_lo_ = (unsigned long long)(lo);                            \
        unsigned long long assert_range_hi_ = (unsigned long long)(hi);                            \
        if (assert_range_v_ < assert_range_lo_ || assert_range_v_ > assert_range_hi_) {            \
            fail_msg("%s = %llu, expected within [%llu, %llu]", #v, assert_range_v_,               \
                     assert_range_lo_, assert_range_hi_);                                          \
        }                                                                                          \
    } while (0)

#endif
