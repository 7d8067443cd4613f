/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer, stateful: tether's server fed fuzzed bytes over a real loopback connection. The
 * input is cut into writes by a schedule that follows its hash (the server sees every kind of
 * segmentation), then the client half-closes and reads until the server ends the connection.
 * Whatever arrives, the server answers only well-formed HTTP/1.1: every response parses with
 * the strict response parser, its status is 100..599, its framing is honoured exactly (the
 * next byte starts another response or nothing), never more final responses than requests
 * plus one error answer, nor more interim ones (100 Continue) than requests; and the connection
 * ends with nothing left open (connections_open returns to 0), no leak (ASan), no hang (each
 * input has a 5 s budget, which only a hang uses up).
 *
 * The handler picks a behaviour from the request target's last byte: answer at once, stream a
 * chunked body, read the request body and answer with its size, or abort.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tether/server.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT 8192
#define MAX_OUTPUT (1u << 20)
/* How long one input may take before it counts as a hang: well under libFuzzer's -timeout, so
 * a stuck connection is reported by the check that names it. Nothing waits for this to pass:
 * every wait ends as soon as the client socket or the server's loop has something to do. */
#define INPUT_BUDGET_MS 5000u

static uv_loop_t loop;
static tether_server *srv;
static uint16_t port;

struct body_count {
    size_t bytes;
};

static void on_body(tether_request *req, int status, const char *d, size_t len, bool done)
{
    (void)d;
    struct body_count *bc = tether_request_get_data(req);
    bc->bytes += len;
    if (status != 0) {
        free(bc);
        tether_request_abort(req);
        return;
    }
    if (done) {
        char text[32];
        int n = snprintf(text, sizeof(text), "%zu\n", bc->bytes);
        free(bc);
        (void)tether_response_send(req, 200, "text/plain", text, (size_t)n);
    }
}

static void on_request(tether_server *server, tether_request *req)
{
    (void)server;
    const char *t = tether_request_target(req);
    size_t n = strlen(t);
    switch (n > 0 ? (unsigned char)t[n - 1] % 4 : 0) {
    case 0:
        (void)tether_response_send(req, 200, "text/plain", "ok\n", 3);
        break;
    case 1:
        (void)tether_response_start(req, 201);
        (void)tether_response_write(req, "chunk one,", 10);
        (void)tether_response_write(req, "chunk two", 9);
        (void)tether_response_end(req, NULL, 0);
        break;
    case 2: {
        struct body_count *bc = calloc(1, sizeof(*bc));
        FUZZ_CHECK(bc != NULL);
        tether_request_set_data(req, bc);
        tether_request_on_body(req, on_body);
        break;
    }
    default:
        tether_request_abort(req);
        break;
    }
}

static void server_start(void)
{
    FUZZ_CHECK(uv_loop_init(&loop) == 0);
    struct tether_server_options o;
    tether_server_options_init(&o);
    o.on_request = on_request;
    o.max_head_bytes = 2048; /* small limits, so inputs reach them */
    o.max_fields = 16;
    o.max_body_bytes = 4096;
    o.max_requests_per_conn = 8;
    o.lingering_timeout_ms = 200;
    o.lingering_time_ms = 500;
    FUZZ_CHECK(tether_server_new(&loop, &o, &srv) == 0);
    port = tether_server_port(srv);
}

/* Cuts the next write: 1..64 bytes, or the rest, as the schedule says. */
static size_t next_cut(uint64_t *sched, size_t left)
{
    *sched = *sched * 6364136223846793005ull + 1442695040888963407ull;
    unsigned pick = (unsigned)(*sched >> 58); /* 0..63 */
    size_t n = pick >= 56 ? left : (size_t)pick + 1;
    return n < left ? n : left;
}

struct out {
    char *buf;
    size_t len;
    bool ended;
};

/* Reads what the server sent so far; notes the end (EOF or reset). */
static void drain(int fd, struct out *o)
{
    for (;;) {
        char tmp[4096];
        ssize_t n = read(fd, tmp, sizeof(tmp));
        if (n > 0) {
            size_t keep = o->len + (size_t)n <= MAX_OUTPUT ? (size_t)n : MAX_OUTPUT - o->len;
            memcpy(o->buf + o->len, tmp, keep);
            o->len += keep;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            o->ended = true;
        }
        return;
    }
}

static void turn(int fd, struct out *o)
{
    (void)uv_run(&loop, UV_RUN_NOWAIT);
    drain(fd, o);
}

/* Blocks until the client socket is ready for `events`, the server's loop has an event or a due
 * timer, or the input's budget runs out; returns false once the budget is spent. Waiting on
 * both sides, instead of a fixed 1 ms nap on the client's side alone, is what lets an input
 * finish as fast as the two sockets can exchange bytes. */
static bool wait_ready(int fd, short events, uint64_t deadline_ns)
{
    uint64_t now = uv_hrtime();
    if (now >= deadline_ns) {
        return false;
    }
    int wait_ms = uv_backend_timeout(&loop); /* 0: work already pending; -1: no timer */
    uint64_t left_ms = (deadline_ns - now) / 1000000u + 1;
    if (wait_ms < 0 || (uint64_t)wait_ms > left_ms) {
        wait_ms = (int)left_ms;
    }
    struct pollfd pfd[2] = {{.fd = uv_backend_fd(&loop), .events = POLLIN}, {.fd = fd}};
    pfd[1].events = events;
    (void)poll(pfd, fd >= 0 ? 2 : 1, wait_ms);
    return true;
}

/* The end of the chunked body starting at b[0..len), or 0 when it does not end there. */
static size_t chunked_end(const char *b, size_t len)
{
    struct tt__h1_chunked c;
    tt__h1_chunked_init(&c, NULL);
    size_t off = 0;
    while (off < len) {
        size_t used = 0;
        struct tt__h1_str span;
        int rc = tt__h1_chunked_decode(&c, b + off, len - off, &used, &span);
        off += used;
        if (rc == TT__H1_CHUNKED_DONE) {
            return off;
        }
        if (rc != 0 || used == 0) {
            return 0;
        }
    }
    return 0;
}

/* One response at b[0..len) as an answer to `method`: its length, or 0 when it is not one. */
static size_t one_response(const char *b, size_t len, const char *method, int *status)
{
    struct tt__h1_field fields[64];
    struct tt__h1_head h = {.fields = fields, .fields_cap = 64};
    struct tt__h1_parser p;
    tt__h1_parser_init(&p, NULL);
    int rv = tt__h1_parse_response(&p, b, len, &h, method);
    if (rv <= 0) {
        return 0;
    }
    *status = h.status;
    size_t head = (size_t)rv;
    switch (h.body) {
    case TT__H1_BODY_NONE:
        return head;
    case TT__H1_BODY_LENGTH:
        return h.content_length <= len - head ? head + (size_t)h.content_length : 0;
    case TT__H1_BODY_CHUNKED: {
        size_t end = chunked_end(b + head, len - head);
        return end > 0 ? head + end : 0;
    }
    case TT__H1_BODY_UNTIL_CLOSE:
        /* An HTTP/1.0 client gets a streamed body delimited by the close: it is the last. */
        return h.keep_alive ? 0 : len;
    }
    return 0;
}

/* Every byte the server sent is a sequence of whole, well-formed responses. */
static void check_output(const struct out *o, uint64_t requests)
{
    size_t off = 0, responses = 0, interim = 0;
    bool saw_error = false;
    while (off < o->len && o->len < MAX_OUTPUT) {
        int status = 0;
        /* A HEAD request's response has no body; which one was HEAD is the server's business,
         * so a response must be whole under one of the two readings. */
        size_t n = one_response(o->buf + off, o->len - off, "GET", &status);
        if (n == 0 || (off + n < o->len && memcmp(o->buf + off + n, "HTTP/1.1 ", 9) != 0)) {
            n = one_response(o->buf + off, o->len - off, "HEAD", &status);
        }
        if (n == 0) {
            fprintf(stderr, "server_conn_fuzz: not a response at byte %zu of %zu: %.*s\n", off,
                    o->len, (int)(o->len - off > 200 ? 200 : o->len - off), o->buf + off);
        }
        FUZZ_CHECK(n > 0);
        FUZZ_CHECK(status >= 100 && status <= 599);
        saw_error |= status >= 400;
        off += n;
        /* A 100 Continue is an interim response before the final one (RFC 9110 §15.2). */
        if (status < 200 && status != 101) {
            interim++;
        } else {
            responses++;
        }
    }
    /* Every final response answers a request the server counted, or is its one error answer;
     * at most one interim response per request. */
    FUZZ_CHECK(responses <= requests + (saw_error ? 1 : 0));
    FUZZ_CHECK(interim <= requests);
}

/* Connects the non-blocking socket fd; returns 0 or an errno. A signal (libFuzzer's timer)
 * interrupting the connect leaves it going on in the background, so that is waited for too. */
static int connect_now(int fd, const struct sockaddr_in *sa)
{
    if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0) {
        return 0;
    }
    if (errno != EINPROGRESS && errno != EINTR) {
        return errno;
    }
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    int n;
    while ((n = poll(&pfd, 1, INPUT_BUDGET_MS)) < 0 && errno == EINTR) {
    }
    if (n == 0) {
        return ETIMEDOUT;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    FUZZ_CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
    return err;
}

/* A new non-blocking connection to the server. At thousands of connections a second the
 * client's side leaves as many in TIME_WAIT, and other programs on the machine use ephemeral
 * ports too, so a connect may find no free local port for a moment (EADDRNOTAVAIL): that is
 * retried, anything else fails the input with the reason. */
static int client_connect(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int tries = 0;; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        FUZZ_CHECK(fd >= 0);
        FUZZ_CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
        int err = connect_now(fd, &sa);
        if (err == 0) {
            return fd;
        }
        close(fd);
        if (err != EADDRNOTAVAIL || tries == 100) {
            fprintf(stderr, "server_conn_fuzz: connect: %s\n", strerror(err));
            fuzz_fail("connect to the server", __FILE__, __LINE__);
        }
        (void)poll(NULL, 0, 10);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    if (!srv) {
        server_start();
    }
    struct tether_server_stats before;
    tether_server_get_stats(srv, &before);
    int fd = client_connect();

    static char outbuf[MAX_OUTPUT];
    struct out o = {outbuf, 0, false};
    uint64_t deadline = uv_hrtime() + (uint64_t)INPUT_BUDGET_MS * 1000000u;
    uint64_t sched = fuzz_hash(data, size);
    size_t off = 0;
    bool in_time = true;
    while (off < size && !o.ended && in_time) {
        size_t n = next_cut(&sched, size - off);
        ssize_t w = write(fd, data + off, n);
        if (w > 0) {
            off += (size_t)w;
        } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            break; /* the server closed or reset: the rest is not wanted */
        }
        turn(fd, &o);
        if (w <= 0) {
            in_time = wait_ready(fd, POLLIN | POLLOUT, deadline);
        }
    }
    (void)shutdown(fd, SHUT_WR);
    for (turn(fd, &o); !o.ended && wait_ready(fd, POLLIN, deadline);) {
        turn(fd, &o);
    }
    FUZZ_CHECK(o.ended); /* the server ends every connection the client half-closed */
    close(fd);
    struct tether_server_stats after;
    for (;;) {
        tether_server_get_stats(srv, &after);
        if (after.connections_open == 0 || !wait_ready(-1, 0, deadline)) {
            break;
        }
        (void)uv_run(&loop, UV_RUN_NOWAIT);
    }
    FUZZ_CHECK(after.connections_open == 0);
    check_output(&o, after.requests - before.requests);
    return 0;
}
