/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer, stateful: tether's client fetching from a server that answers every connection with
 * the fuzzed bytes, then ends it with FIN or RST. The first byte picks the request and the
 * ending (bit 0: POST with a body, else GET; bit 1: decompress; bit 2: RST; bits 3-4: redirects
 * to follow; bit 5: an Idempotency-Key). With the default policy (retries, replays, the
 * breaker) and a 2 s deadline, the fetch must end exactly once, and:
 *   - success means a status of three digits (100..999) and a body within max_body_bytes;
 *   - failure means a failure record whose code is the callback's status, whose message renders,
 *     and whose retry safety is stated;
 *   - attempts never exceed the policy's, redirects never the limit;
 *   - the client closes with nothing left on the loop, nothing leaked (ASan).
 * No byte leaves the machine: names never resolve (getaddrinfo is replaced) and connect(2)
 * reaches only this server's port (a redirect elsewhere is refused).
 *
 * Time is virtual: the monotonic clocks (the ones libuv's timers read) run ahead by a skew, and
 * when the loop has no I/O ready and waits only for a timer (a retry's backoff, the deadline),
 * the skew jumps to that timer instead of the process sleeping. The client sees the same
 * sequence of events as in real time; an input takes as long as its bytes take to exchange.
 */
#define _DEFAULT_SOURCE /* syscall(2) */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <tether/client.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT 16384
#define MAX_ATTEMPTS 3u
/* Loop turns one input may take before it counts as a hang (each turn handles an event or
 * jumps to a timer, so a finished fetch needs far fewer). */
#define MAX_TURNS 100000
/* A timer further away than this is jumped to only after the sockets have had 1 ms of real
 * time to deliver what may still be in flight; nearer ones (backoffs) are jumped to at once. */
#define FAR_TIMER_MS 100
/* While a request is active (a name lookup on libuv's thread pool, a connect, a write), the
 * loop waits up to this long in real time for it to complete before time jumps. */
#define REQ_WAIT_MS 1000

static uv_loop_t loop;
static uv_tcp_t listener;
static uint16_t port;
static const uint8_t *answer;
static size_t answer_len;
static bool answer_rst;

/* Every name is unknown: the fuzzer never makes a DNS query. */
int getaddrinfo(const char *restrict node, const char *restrict service,
                const struct addrinfo *restrict hints, struct addrinfo **restrict res)
{
    (void)node;
    (void)service;
    (void)hints;
    *res = NULL;
    return EAI_NONAME;
}

static uint64_t skew_ns; /* virtual time added to the monotonic clocks */

/* libuv reads its loop time here (CLOCK_MONOTONIC or _COARSE); this definition takes the place
 * of libc's. The real clock is read with the system call, never through this function. */
int clock_gettime(clockid_t id, struct timespec *ts)
{
    int rc = (int)syscall(SYS_clock_gettime, id, ts);
    if (rc == 0 && (id == CLOCK_MONOTONIC || id == CLOCK_MONOTONIC_COARSE) && skew_ns > 0) {
        uint64_t ns = (uint64_t)ts->tv_nsec + skew_ns % 1000000000u;
        ts->tv_sec += (time_t)(skew_ns / 1000000000u + ns / 1000000000u);
        ts->tv_nsec = (long)(ns % 1000000000u);
    }
    return rc;
}

/* Whether the loop has an event ready, waiting up to `ms` of real time for one. */
static bool loop_ready(int ms)
{
    struct pollfd pfd = {.fd = uv_backend_fd(&loop), .events = POLLIN};
    return poll(&pfd, 1, ms) > 0;
}

/* One turn of the loop without sleeping: when nothing is ready and only a timer is pending,
 * virtual time jumps to it. A request still active (a name lookup finishes on another thread,
 * however loaded the machine) is waited for in real time first, so time never jumps past an
 * event that is merely late. Returns false when the loop has nothing left to wait for. */
static bool turn(void)
{
    int timeout = uv_backend_timeout(&loop); /* 0: work pending; -1: no timer */
    if (timeout != 0 && !loop_ready(0)) {
        bool late = (loop.active_reqs.count > 0 && loop_ready(REQ_WAIT_MS)) ||
                    (timeout > FAR_TIMER_MS && loop_ready(1));
        if (late) {
            timeout = 0; /* something arrived after all */
        }
        if (timeout < 0) {
            return false; /* no event, no request, no timer: nothing will ever happen */
        }
        skew_ns += (uint64_t)timeout * 1000000u;
    }
    (void)uv_run(&loop, UV_RUN_NOWAIT);
    return true;
}

/* Only this fuzzer's server is reachable: a redirect to any other address or port is refused
 * before a packet is sent. */
int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    if (sa->sa_family != AF_INET || len < sizeof(*in) || in->sin_port != htons(port) ||
        in->sin_addr.s_addr != htonl(INADDR_LOOPBACK)) {
        errno = ECONNREFUSED;
        return -1;
    }
    return (int)syscall(SYS_connect, fd, sa, len);
}

struct peer {
    uv_tcp_t tcp;
    uv_write_t w;
    uv_shutdown_t sd;
    char *copy;
};

static void peer_closed(uv_handle_t *h)
{
    struct peer *p = h->data;
    free(p->copy);
    free(p);
}

static void peer_shut(uv_shutdown_t *req, int status)
{
    (void)status;
    uv_close((uv_handle_t *)req->handle, peer_closed);
}

static void peer_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    static char sink[65536];
    *buf = uv_buf_init(sink, sizeof(sink));
}

/* The request is read and thrown away, so a client writing a body is never stuck. */
static void peer_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)s;
    (void)n;
    (void)buf;
}

static void peer_written(uv_write_t *req, int status)
{
    struct peer *p = req->data;
    if (status != 0 || answer_rst) {
        (void)uv_tcp_close_reset(&p->tcp, peer_closed);
        return;
    }
    p->sd.data = p;
    if (uv_shutdown(&p->sd, (uv_stream_t *)&p->tcp, peer_shut) != 0) {
        uv_close((uv_handle_t *)&p->tcp, peer_closed);
    }
}

static void on_connection(uv_stream_t *l, int status)
{
    if (status != 0) {
        return;
    }
    struct peer *p = calloc(1, sizeof(*p));
    FUZZ_CHECK(p != NULL);
    FUZZ_CHECK(uv_tcp_init(&loop, &p->tcp) == 0);
    p->tcp.data = p;
    if (uv_accept(l, (uv_stream_t *)&p->tcp) != 0) {
        uv_close((uv_handle_t *)&p->tcp, peer_closed);
        return;
    }
    (void)uv_read_start((uv_stream_t *)&p->tcp, peer_alloc, peer_read);
    p->copy = malloc(answer_len ? answer_len : 1);
    FUZZ_CHECK(p->copy != NULL);
    memcpy(p->copy, answer, answer_len);
    uv_buf_t b = uv_buf_init(p->copy, (unsigned)answer_len);
    p->w.data = p;
    if (uv_write(&p->w, (uv_stream_t *)&p->tcp, &b, 1, peer_written) != 0) {
        uv_close((uv_handle_t *)&p->tcp, peer_closed);
    }
}

static void server_start(void)
{
    FUZZ_CHECK(uv_loop_init(&loop) == 0);
    FUZZ_CHECK(uv_tcp_init(&loop, &listener) == 0);
    struct sockaddr_in sa;
    FUZZ_CHECK(uv_ip4_addr("127.0.0.1", 0, &sa) == 0);
    FUZZ_CHECK(uv_tcp_bind(&listener, (const struct sockaddr *)&sa, 0) == 0);
    FUZZ_CHECK(uv_listen((uv_stream_t *)&listener, 128, on_connection) == 0);
    struct sockaddr_storage ss;
    int n = sizeof(ss);
    FUZZ_CHECK(uv_tcp_getsockname(&listener, (struct sockaddr *)&ss, &n) == 0);
    port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

struct result {
    int calls;
    int status;
    unsigned redirects_allowed;
};

static void on_done(tether_fetch *f, int status)
{
    struct result *r = tether_fetch_get_data(f);
    r->calls++;
    r->status = status;
    const struct tether_failure *fl = tether_fetch_failure(f);
    FUZZ_CHECK(fl != NULL && fl->code == status);
    FUZZ_CHECK(tether_fetch_attempts(f) <= MAX_ATTEMPTS * (r->redirects_allowed + 1));
    FUZZ_CHECK(tether_fetch_redirects(f) <= r->redirects_allowed);
    if (status == 0) {
        int code = tether_fetch_status(f);
        FUZZ_CHECK(code >= 100 && code <= 999); /* the parser's range, as llhttp's */
        size_t len = 0;
        const char *body = tether_fetch_body(f, &len);
        FUZZ_CHECK(len == 0 || body != NULL);
        FUZZ_CHECK(len <= 65536);
    } else {
        char msg[512];
        FUZZ_CHECK(tether_failure_message(fl, msg, sizeof(msg)) > 0 && msg[0] != '\0');
        FUZZ_CHECK(fl->retry_safe == TETHER_RETRY_SAFE_YES ||
                   fl->retry_safe == TETHER_RETRY_SAFE_NO ||
                   fl->retry_safe == TETHER_RETRY_SAFE_UNKNOWN);
    }
    tether_fetch_free(f);
}

static void client_closed(void *data)
{
    *(bool *)data = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MAX_INPUT) {
        return 0;
    }
    if (port == 0) {
        server_start();
    }
    uint8_t flags = data[0];
    answer = data + 1;
    answer_len = size - 1;
    answer_rst = (flags & 4) != 0;

    struct tether_client_options co;
    tether_client_options_init(&co);
    co.policy.max_attempts = MAX_ATTEMPTS;
    /* Zero backoff and pushback: a retry is still scheduled through the backoff timer, but due
     * at once, so an input never waits for real time to pass (1 ms backoffs made most of this
     * target's time sleep). Retry-After: 0 is still honoured; any longer one ends retrying. */
    co.policy.backoff_base_ms = 0;
    co.policy.backoff_cap_ms = 0;
    co.policy.max_pushback_ms = 0;
    co.policy.deadline_ms = 2000;
    tether_client *client = NULL;
    FUZZ_CHECK(tether_client_new(&loop, &co, &client) == 0);

    char url[64];
    (void)snprintf(url, sizeof(url), "http://127.0.0.1:%u/fuzz", (unsigned)port);
    struct result r = {0, 0, (flags >> 3) & 3u};
    struct tether_fetch_options fo;
    tether_fetch_options_init(&fo);
    fo.url = url;
    fo.data = &r;
    fo.max_body_bytes = 65536;
    fo.decompress = (flags & 2) != 0;
    fo.max_redirects = r.redirects_allowed;
    if (flags & 1) {
        fo.method = "POST";
        fo.body = "fuzz=1";
        fo.body_len = 6;
    }
    if (flags & 32) {
        fo.idempotency_key = "fuzz-key";
    }
    tether_fetch *f = NULL;
    FUZZ_CHECK(tether_client_fetch(client, &fo, on_done, &f) == 0);
    /* The deadline bounds the fetch; the loop turns until the callback ran. */
    for (int i = 0; i < MAX_TURNS && r.calls == 0 && turn(); i++) {
    }
    FUZZ_CHECK(r.calls == 1);
    bool closed = false;
    tether_client_close(client, client_closed, &closed);
    for (int i = 0; i < MAX_TURNS && !closed && turn(); i++) {
    }
    FUZZ_CHECK(closed);
    /* The server's side of every connection finishes closing too. */
    for (int i = 0; i < 16; i++) {
        (void)uv_run(&loop, UV_RUN_NOWAIT);
    }
    return 0;
}
