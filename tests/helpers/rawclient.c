/* SPDX-License-Identifier: MIT */
/* Raw loopback HTTP/1.1 client and the threaded server fixture (rawclient.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "rawclient.h"
#include "test.h"

/* ---- time ---- */

uint64_t rc_now_ms(void)
{
    return tt_test_now_ms();
}

void rc_sleep_ms(uint64_t ms)
{
    tt_test_sleep_ms(ms);
}

void rc_sleep_until(uint64_t t_ms)
{
    uint64_t now = rc_now_ms();
    if (t_ms > now) {
        rc_sleep_ms(t_ms - now);
    }
}

void rc_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("# ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

const char *rc_result_name(int r)
{
    static const char *const names[] = {"OK", "EOF", "RESET", "TIMEOUT", "DATA", "PROTO", "ERROR"};
    return r >= 0 && (size_t)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

/* ---- plain TCP transport ---- */

static long rc_tcp_recv(struct rc *c, char *buf, size_t cap, uint64_t deadline_ms)
{
    for (;;) {
        uint64_t now = rc_now_ms();
        if (now >= deadline_ms) {
            return -RC_TIMEOUT;
        }
        struct pollfd pfd = {c->fd, POLLIN, 0};
        int n = poll(&pfd, 1, (int)(deadline_ms - now));
        if (n < 0 && errno != EINTR) {
            c->err = errno;
            return -RC_ERROR;
        }
        if (n <= 0) {
            continue;
        }
        ssize_t got = recv(c->fd, buf, cap, MSG_DONTWAIT);
        if (got >= 0) {
            return (long)got;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            continue;
        }
        c->err = errno;
        return errno == ECONNRESET ? -RC_RESET : -RC_ERROR;
    }
}

static int rc_tcp_send(struct rc *c, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            c->err = errno;
            if (errno == ECONNRESET || errno == EPIPE) {
                return RC_RESET;
            }
            return errno == EAGAIN || errno == EWOULDBLOCK ? RC_TIMEOUT : RC_ERROR;
        }
        p += n;
        len -= (size_t)n;
    }
    return RC_OK;
}

static const struct rc_transport rc_tcp = {rc_tcp_recv, rc_tcp_send};

void rc_init_fd(struct rc *c, int fd)
{
    c->fd = fd;
    c->err = 0;
    c->tp = &rc_tcp;
    c->tp_data = NULL;
    c->len = 0;
}

int rc_connect(struct rc *c, uint16_t port)
{
    rc_init_fd(c, -1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        c->err = errno;
        return RC_ERROR;
    }
    struct timeval tv = {(time_t)(tt_test_scale_ms(5000) / 1000u), 0}; /* a bound: scaled */
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        c->err = errno;
        close(fd);
        return RC_ERROR;
    }
    c->fd = fd;
    return RC_OK;
}

void rc_close(struct rc *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    c->len = 0;
}

int rc_send(struct rc *c, const void *data, size_t len)
{
    return c->tp->send(c, data, len);
}

int rc_send_str(struct rc *c, const char *s)
{
    return rc_send(c, s, strlen(s));
}

void rc_shutdown_write(struct rc *c)
{
    (void)shutdown(c->fd, SHUT_WR);
}

/* Reads more into c->buf. */
static int rc_fill(struct rc *c, uint64_t deadline_ms)
{
    if (c->len == sizeof(c->buf)) {
        return RC_PROTO;
    }
    long n = c->tp->recv(c, c->buf + c->len, sizeof(c->buf) - c->len, deadline_ms);
    if (n > 0) {
        c->len += (size_t)n;
        return RC_OK;
    }
    return n == 0 ? RC_EOF : (int)-n;
}

static void rc_consume(struct rc *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

static const char *rc_find(const char *p, size_t len, const char *needle)
{
    size_t nl = strlen(needle);
    for (size_t i = 0; i + nl <= len; i++) {
        if (memcmp(p + i, needle, nl) == 0) {
            return p + i;
        }
    }
    return NULL;
}

/* Makes sure at least n bytes are buffered. */
static int rc_need(struct rc *c, size_t n, uint64_t deadline_ms)
{
    while (c->len < n) {
        int rv = rc_fill(c, deadline_ms);
        if (rv != RC_OK) {
            return rv;
        }
    }
    return RC_OK;
}

static int rc_body_append(struct rc_response *r, const char *p, size_t n)
{
    if (n > sizeof(r->body) - 1 - r->body_len) {
        return RC_PROTO;
    }
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return RC_OK;
}

/* A CRLF-terminated line (without the CRLF) is at the front of the buffer; returns its length. */
static int rc_line(struct rc *c, size_t *line_len, uint64_t deadline_ms)
{
    for (;;) {
        const char *e = rc_find(c->buf, c->len, "\r\n");
        if (e) {
            *line_len = (size_t)(e - c->buf);
            return RC_OK;
        }
        int rv = rc_fill(c, deadline_ms);
        if (rv != RC_OK) {
            return rv;
        }
    }
}

static int rc_read_chunked(struct rc *c, struct rc_response *r, uint64_t deadline_ms)
{
    for (;;) {
        size_t ll;
        int rv = rc_line(c, &ll, deadline_ms);
        if (rv != RC_OK) {
            return rv;
        }
        char hex[32];
        size_t hl = 0;
        while (hl < ll && hl < sizeof(hex) - 1 && c->buf[hl] != ';') {
            hex[hl] = c->buf[hl];
            hl++;
        }
        hex[hl] = '\0';
        char *end;
        unsigned long size = strtoul(hex, &end, 16);
        if (end == hex) {
            return RC_PROTO;
        }
        rc_consume(c, ll + 2);
        if (size == 0) {
            for (;;) { /* trailer section up to the empty line */
                rv = rc_line(c, &ll, deadline_ms);
                if (rv != RC_OK) {
                    return rv;
                }
                rc_consume(c, ll + 2);
                if (ll == 0) {
                    return RC_OK;
                }
            }
        }
        rv = rc_need(c, size + 2, deadline_ms);
        if (rv != RC_OK) {
            return rv;
        }
        if (memcmp(c->buf + size, "\r\n", 2) != 0) {
            return RC_PROTO;
        }
        rv = rc_body_append(r, c->buf, size);
        if (rv != RC_OK) {
            return rv;
        }
        rc_consume(c, size + 2);
    }
}

int rc_read_response(struct rc *c, struct rc_response *r, uint64_t timeout_ms)
{
    uint64_t deadline = rc_now_ms() + timeout_ms;
    r->status = 0;
    r->minor = -1;
    r->head_len = 0;
    r->head[0] = '\0';
    r->body_len = 0;
    r->body[0] = '\0';
    r->chunked = false;
    r->close_delimited = false;
    r->at_ms = 0;
    const char *end;
    while (!(end = rc_find(c->buf, c->len, "\r\n\r\n"))) {
        if (c->len >= sizeof(r->head)) {
            return RC_PROTO;
        }
        int rv = rc_fill(c, deadline);
        if (rv != RC_OK) {
            return rv;
        }
    }
    size_t hl = (size_t)(end - c->buf);
    if (hl >= sizeof(r->head)) {
        return RC_PROTO;
    }
    memcpy(r->head, c->buf, hl);
    r->head[hl] = '\0';
    r->head_len = hl;
    rc_consume(c, hl + 4);
    if (hl < 12 || memcmp(r->head, "HTTP/1.", 7) != 0 || r->head[8] != ' ') {
        return RC_PROTO;
    }
    r->minor = r->head[7] - '0';
    r->status = atoi(r->head + 9);
    if (r->status < 100 || r->status > 999) {
        return RC_PROTO;
    }
    int rv = RC_OK;
    char cl[32];
    if (r->status / 100 == 1 || r->status == 204 || r->status == 304) {
        /* no body */
    } else if (rc_header_has_token(r, "Transfer-Encoding", "chunked")) {
        r->chunked = true;
        rv = rc_read_chunked(c, r, deadline);
    } else if (rc_header(r, "Content-Length", cl, sizeof(cl))) {
        size_t n = (size_t)strtoull(cl, NULL, 10);
        rv = rc_need(c, n, deadline);
        if (rv == RC_OK) {
            rv = rc_body_append(r, c->buf, n);
            rc_consume(c, n);
        }
    } else {
        r->close_delimited = true;
        for (;;) {
            rv = rc_fill(c, deadline);
            if (rv != RC_OK) {
                break;
            }
        }
        if (rv == RC_EOF) {
            rv = rc_body_append(r, c->buf, c->len);
            rc_consume(c, c->len);
        }
    }
    r->at_ms = rc_now_ms();
    return rv;
}

int rc_wait_close(struct rc *c, uint64_t timeout_ms)
{
    if (c->len > 0) {
        return RC_DATA;
    }
    int rv = rc_fill(c, rc_now_ms() + timeout_ms);
    return rv == RC_OK ? RC_DATA : rv;
}

bool rc_readable(struct rc *c, uint64_t timeout_ms)
{
    if (c->len > 0) {
        return true;
    }
    struct pollfd pfd = {c->fd, POLLIN, 0};
    return poll(&pfd, 1, (int)timeout_ms) > 0;
}

bool rc_wait_delivered(struct rc *c, uint64_t timeout_ms)
{
    uint64_t stop = rc_now_ms() + tt_test_scale_ms(timeout_ms);
    for (;;) {
        int unacked = 0;
        if (ioctl(c->fd, SIOCOUTQ, &unacked) != 0) {
            return false;
        }
        if (unacked == 0) {
            return true;
        }
        if (rc_now_ms() >= stop) {
            return false;
        }
        rc_sleep_ms(1);
    }
}

static const char *rc_trim(const char *p, const char *e, const char **out_end)
{
    while (p < e && (*p == ' ' || *p == '\t')) {
        p++;
    }
    while (e > p && (e[-1] == ' ' || e[-1] == '\t')) {
        e--;
    }
    *out_end = e;
    return p;
}

bool rc_header(const struct rc_response *r, const char *name, char *out, size_t out_len)
{
    size_t nl = strlen(name);
    const char *p = strstr(r->head, "\r\n");
    while (p) {
        p += 2;
        const char *eol = strstr(p, "\r\n");
        const char *e = eol ? eol : p + strlen(p);
        const char *colon = memchr(p, ':', (size_t)(e - p));
        if (colon && (size_t)(colon - p) == nl && strncasecmp(p, name, nl) == 0) {
            const char *ve;
            const char *v = rc_trim(colon + 1, e, &ve);
            size_t vl = (size_t)(ve - v);
            if (vl >= out_len) {
                vl = out_len - 1;
            }
            memcpy(out, v, vl);
            out[vl] = '\0';
            return true;
        }
        p = eol;
    }
    return false;
}

bool rc_header_has_token(const struct rc_response *r, const char *name, const char *token)
{
    char v[512];
    if (!rc_header(r, name, v, sizeof(v))) {
        return false;
    }
    size_t tl = strlen(token);
    const char *p = v;
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *e = comma ? comma : p + strlen(p);
        const char *te;
        const char *t = rc_trim(p, e, &te);
        if ((size_t)(te - t) == tl && strncasecmp(t, token, tl) == 0) {
            return true;
        }
        if (!comma) {
            break;
        }
        p = comma + 1;
    }
    return false;
}

int rc_send_get(struct rc *c, const char *target)
{
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", target);
    if (n < 0 || (size_t)n >= sizeof(req)) {
        return RC_ERROR;
    }
    return rc_send(c, req, (size_t)n);
}

int rc_get(struct rc *c, const char *target, int want_status, struct rc_response *r,
           uint64_t timeout_ms)
{
    int rv = rc_send_get(c, target);
    if (rv == RC_OK) {
        rv = rc_read_response(c, r, timeout_ms);
    }
    if (rv == RC_OK && r->status != want_status) {
        rc_note("GET %s: status %d, expected %d", target, r->status, want_status);
        return RC_PROTO;
    }
    return rv;
}

/* ---- the server fixture: handler ---- */

static void fx_respond(struct srvfix *fx, tether_request *req, int status, const void *body,
                       size_t len)
{
    int rv = tether_response_send(req, status, "text/plain", body, len);
    if (rv == TETHER_ECANCELED) {
        fx->responses_canceled++;
    } else if (rv != 0) {
        fx->responses_failed++;
    }
}

struct fx_delay {
    uv_timer_t timer; /* first: the handle's memory is the struct's */
    struct srvfix *fx;
    tether_request *req;
};

static void fx_delay_closed(uv_handle_t *h)
{
    free(h->data);
}

static void fx_delay_fire(uv_timer_t *t)
{
    struct fx_delay *d = t->data;
    fx_respond(d->fx, d->req, 200, "delayed", 7);
    uv_close((uv_handle_t *)&d->timer, fx_delay_closed);
}

struct fx_echo {
    struct srvfix *fx;
    char *buf;
    size_t len;
    size_t cap;
};

static void fx_echo_free(struct fx_echo *e)
{
    free(e->buf);
    free(e);
}

static void fx_echo_body(tether_request *req, int status, const char *data, size_t len, bool done)
{
    struct fx_echo *e = tether_request_get_data(req);
    if (status != 0) {
        e->fx->body_errors++;
        fx_echo_free(e);
        tether_request_abort(req);
        return;
    }
    if (len > 0) {
        if (e->len + len > e->cap) {
            size_t cap = (e->len + len) * 2;
            char *nb = realloc(e->buf, cap);
            if (!nb) {
                fx_echo_free(e);
                tether_request_abort(req);
                return;
            }
            e->buf = nb;
            e->cap = cap;
        }
        memcpy(e->buf + e->len, data, len);
        e->len += len;
    }
    if (done) {
        fx_respond(e->fx, req, 200, e->buf ? e->buf : "", e->len);
        fx_echo_free(e);
    }
}

/* /take: the socket leaves the server; a response written on it says what came after the head. */
static void fx_take(struct srvfix *fx, tether_request *req)
{
    char pending[256];
    size_t n = 0;
    uv_os_sock_t fd;
    fx->take_rv = tether_request_take_socket(req, &fd, pending, sizeof(pending), &n);
    if (fx->take_rv != 0) {
        fx_respond(fx, req, 500, "not taken", 9);
        return;
    }
    char resp[512];
    int len =
        snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\npending=%.*s",
                 8 + n, (int)n, pending);
    if (write(fd, resp, (size_t)len) != len) {
        fx->responses_failed++;
    }
    fx->taken_fd = fd;
}

static void fx_on_request(tether_server *server, tether_request *req)
{
    struct srvfix *fx = tether_server_get_data(server);
    fx->requests_seen++;
    const char *target = tether_request_target(req);
    if (strncmp(target, "/delay/", 7) == 0) {
        struct fx_delay *d = calloc(1, sizeof(*d));
        if (!d) {
            fx_respond(fx, req, 500, "oom", 3);
            return;
        }
        d->fx = fx;
        d->req = req;
        uv_timer_init(&fx->loop, &d->timer);
        d->timer.data = d;
        uv_timer_start(&d->timer, fx_delay_fire, strtoull(target + 7, NULL, 10), 0);
        return;
    }
    if (strncmp(target, "/big/", 5) == 0) {
        size_t n = (size_t)strtoull(target + 5, NULL, 10);
        char *body = malloc(n ? n : 1);
        if (!body) {
            fx_respond(fx, req, 500, "oom", 3);
            return;
        }
        memset(body, 'x', n);
        fx_respond(fx, req, 200, body, n);
        free(body);
        return;
    }
    if (strcmp(target, "/take") == 0) {
        fx_take(fx, req);
        return;
    }
    if (strcmp(target, "/take-late") == 0) {
        (void)tether_response_start(req, 200);
        char pending[16];
        size_t n = 0;
        uv_os_sock_t fd;
        fx->take_rv = tether_request_take_socket(req, &fd, pending, sizeof(pending), &n);
        (void)tether_response_end(req, "late", 4);
        return;
    }
    if (strncmp(target, "/status/", 8) == 0) {
        fx_respond(fx, req, atoi(target + 8), target, strlen(target));
        return;
    }
    if (strcmp(target, "/echo") == 0) {
        struct fx_echo *e = calloc(1, sizeof(*e));
        if (!e) {
            fx_respond(fx, req, 500, "oom", 3);
            return;
        }
        e->fx = fx;
        tether_request_set_data(req, e);
        tether_request_on_body(req, fx_echo_body);
        return;
    }
    fx_respond(fx, req, 200, target, strlen(target));
}

/* ---- the server fixture: threading ---- */

static void fx_lock(struct srvfix *fx)
{
    pthread_mutex_lock(&fx->mu);
}

static void fx_unlock(struct srvfix *fx)
{
    pthread_mutex_unlock(&fx->mu);
}

/* Waits on the condition until `*flag == want` or the deadline; false on timeout. */
static bool fx_wait_flag(struct srvfix *fx, const bool *flag, bool want, uint64_t timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (timeout_ms % 1000u) * 1000000u;
    ts.tv_sec += (time_t)(timeout_ms / 1000u + ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    while (*flag != want) {
        if (pthread_cond_timedwait(&fx->cv, &fx->mu, &ts) == ETIMEDOUT) {
            return *flag == want;
        }
    }
    return true;
}

static void fx_async_cb(uv_async_t *a)
{
    struct srvfix *fx = a->data;
    fx_lock(fx);
    void (*fn)(struct srvfix *, void *) = fx->call_pending ? fx->call_fn : NULL;
    void *arg = fx->call_arg;
    fx->call_pending = false;
    fx_unlock(fx);
    if (!fn) {
        return;
    }
    fn(fx, arg);
    fx_lock(fx);
    fx->call_done = true;
    pthread_cond_broadcast(&fx->cv);
    fx_unlock(fx);
}

static void *fx_thread(void *arg)
{
    struct srvfix *fx = arg;
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    fx_lock(fx);
    fx->loop_exited = true;
    pthread_cond_broadcast(&fx->cv);
    fx_unlock(fx);
    return NULL;
}

static void fx_post(struct srvfix *fx, void (*fn)(struct srvfix *fx, void *arg), void *arg)
{
    fx_lock(fx);
    fx->call_fn = fn;
    fx->call_arg = arg;
    fx->call_pending = true;
    fx->call_done = false;
    fx_unlock(fx);
    uv_async_send(&fx->async);
}

void srvfix_call(struct srvfix *fx, void (*fn)(struct srvfix *fx, void *arg), void *arg)
{
    fx_post(fx, fn, arg);
    fx_lock(fx);
    bool ok = fx_wait_flag(fx, &fx->call_done, true, tt_test_scale_ms(20000));
    fx_unlock(fx);
    if (!ok) {
        fprintf(stderr, "srvfix_call: the loop thread did not answer in time\n");
        abort();
    }
}

void srvfix_options(struct tether_server_options *o)
{
    tether_server_options_init(o);
    o->host = "127.0.0.1";
    o->port = 0;
    o->keep_alive_timeout_ms = tt_test_scale_ms(300);
    o->keep_alive_buffer_ms = tt_test_scale_ms(100);
    o->headers_timeout_ms = tt_test_scale_ms(500);
    o->body_timeout_ms = tt_test_scale_ms(300);
    o->send_timeout_ms = tt_test_scale_ms(3000);
    o->lingering_time_ms = tt_test_scale_ms(3000);
    o->lingering_timeout_ms = tt_test_scale_ms(1000);
    o->fresh_idle_protect_ms = tt_test_scale_ms(200);
    o->shutdown_grace_ms = tt_test_scale_ms(2000);
}

int srvfix_start(struct srvfix *fx, const struct tether_server_options *o)
{
    memset(fx, 0, sizeof(*fx));
    fx->taken_fd = -1;
    pthread_mutex_init(&fx->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&fx->cv, &ca);
    pthread_condattr_destroy(&ca);
    int rv = uv_loop_init(&fx->loop);
    if (rv != 0) {
        return TETHER_ENOMEM;
    }
    fx->opts = *o;
    fx->opts.on_request = fx_on_request;
    fx->opts.data = fx;
    rv = tether_server_new(&fx->loop, &fx->opts, &fx->srv);
    if (rv != 0) {
        uv_run(&fx->loop, UV_RUN_DEFAULT);
        uv_loop_close(&fx->loop);
        fx->stopped = true;
        return rv;
    }
    fx->port = tether_server_port(fx->srv);
    uv_async_init(&fx->loop, &fx->async, fx_async_cb);
    fx->async.data = fx;
    if (pthread_create(&fx->thread, NULL, fx_thread, fx) != 0) {
        abort();
    }
    fx->thread_started = true;
    return 0;
}

static void fx_snapshot_fn(struct srvfix *fx, void *arg)
{
    struct srvfix_snapshot *s = arg;
    tether_server_get_stats(fx->srv, &s->stats);
    s->requests_seen = fx->requests_seen;
    s->body_errors = fx->body_errors;
    s->responses_failed = fx->responses_failed;
    s->responses_canceled = fx->responses_canceled;
    s->shutdown_cb_ran = fx->shutdown_cb_ran;
    s->shutdown_cb_at_ms = fx->shutdown_cb_at_ms;
    s->take_rv = fx->take_rv;
    s->taken_fd = fx->taken_fd;
}

void srvfix_snapshot(struct srvfix *fx, struct srvfix_snapshot *out)
{
    memset(out, 0, sizeof(*out));
    srvfix_call(fx, fx_snapshot_fn, out);
}

void srvfix_expect_closed(struct srvfix *fx, enum tether_close_cause cause, uint64_t n,
                          struct srvfix_snapshot *s)
{
    if (!srvfix_wait_open(fx, 0, tt_test_scale_ms(5000))) {
        fail_msg("connections were still open after %llu ms",
                 (unsigned long long)tt_test_scale_ms(5000));
    }
    srvfix_snapshot(fx, s);
    if (s->stats.closes[cause] != n) {
        fail_msg("closes[%s] = %llu, expected %llu", tether_close_cause_name(cause),
                 (unsigned long long)s->stats.closes[cause], (unsigned long long)n);
    }
}

bool srvfix_wait_open(struct srvfix *fx, uint64_t n, uint64_t timeout_ms)
{
    uint64_t deadline = rc_now_ms() + timeout_ms;
    struct srvfix_snapshot s;
    for (;;) {
        srvfix_snapshot(fx, &s);
        if (s.stats.connections_open == n) {
            return true;
        }
        if (rc_now_ms() >= deadline) {
            rc_note("connections_open is %llu, waited for %llu",
                    (unsigned long long)s.stats.connections_open, (unsigned long long)n);
            return false;
        }
        rc_sleep_ms(5);
    }
}

bool srvfix_wait_shutdown_cb(struct srvfix *fx, uint64_t timeout_ms)
{
    uint64_t deadline = rc_now_ms() + timeout_ms;
    struct srvfix_snapshot s;
    for (;;) {
        srvfix_snapshot(fx, &s);
        if (s.shutdown_cb_ran) {
            return true;
        }
        if (rc_now_ms() >= deadline) {
            return false;
        }
        rc_sleep_ms(5);
    }
}

static void fx_shutdown_cb(tether_server *server)
{
    struct srvfix *fx = tether_server_get_data(server);
    fx->shutdown_cb_ran = true;
    fx->shutdown_cb_at_ms = rc_now_ms();
}

static void fx_shutdown_fn(struct srvfix *fx, void *arg)
{
    (void)arg;
    tether_server_shutdown(fx->srv, fx_shutdown_cb);
}

void srvfix_shutdown(struct srvfix *fx)
{
    srvfix_call(fx, fx_shutdown_fn, NULL);
}

static void fx_stall_fn(struct srvfix *fx, void *arg)
{
    uint64_t max_ms = *(const uint64_t *)arg;
    fx_lock(fx);
    fx->stall_active = true;
    pthread_cond_broadcast(&fx->cv);
    (void)fx_wait_flag(fx, &fx->stall_release, true, max_ms);
    fx->stall_active = false;
    fx->stall_release = false;
    fx_unlock(fx);
}

void srvfix_stall_begin(struct srvfix *fx, uint64_t max_ms)
{
    static uint64_t stall_max;
    stall_max = max_ms;
    fx_post(fx, fx_stall_fn, &stall_max);
    fx_lock(fx);
    bool ok = fx_wait_flag(fx, &fx->stall_active, true, tt_test_scale_ms(20000));
    fx_unlock(fx);
    if (!ok) {
        fprintf(stderr, "srvfix_stall_begin: the loop thread did not stall\n");
        abort();
    }
}

void srvfix_stall_end(struct srvfix *fx)
{
    fx_lock(fx);
    fx->stall_release = true;
    pthread_cond_broadcast(&fx->cv);
    bool ok = fx_wait_flag(fx, &fx->call_done, true, tt_test_scale_ms(20000));
    fx_unlock(fx);
    if (!ok) {
        fprintf(stderr, "srvfix_stall_end: the loop thread did not resume\n");
        abort();
    }
}

static void fx_close_cb(void *data)
{
    struct srvfix *fx = data;
    fx->close_cb_ran = true;
}

static void fx_stop_fn(struct srvfix *fx, void *arg)
{
    (void)arg;
    tether_server_close(fx->srv, fx_close_cb, fx);
    fx->srv = NULL;
    uv_close((uv_handle_t *)&fx->async, NULL);
}

int srvfix_stop(struct srvfix *fx, uint64_t timeout_ms)
{
    if (fx->stopped) {
        return 0;
    }
    fx->stopped = true;
    if (!fx->thread_started) {
        return 0;
    }
    srvfix_call(fx, fx_stop_fn, NULL);
    fx_lock(fx);
    bool exited = fx_wait_flag(fx, &fx->loop_exited, true, timeout_ms);
    fx_unlock(fx);
    if (!exited) {
        rc_note("the server's loop did not run out of handles within %llu ms",
                (unsigned long long)timeout_ms);
        return -1;
    }
    pthread_join(fx->thread, NULL);
    if (!fx->close_cb_ran) {
        rc_note("the server's close callback did not run");
    }
    int rv = uv_loop_close(&fx->loop);
    if (rv != 0) {
        rc_note("uv_loop_close: %s", uv_strerror(rv));
        uv_print_all_handles(&fx->loop, stderr);
    }
    pthread_mutex_destroy(&fx->mu);
    pthread_cond_destroy(&fx->cv);
    return rv != 0 ? rv : (fx->close_cb_ran ? 0 : -1);
}

/* ---- cmocka glue ---- */

struct srvfix *srvfix_begin(void **state, const struct tether_server_options *o)
{
    struct srvfix *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    /* The server writes with write(2): a client that resets must not kill the test. */
    (void)signal(SIGPIPE, SIG_IGN);
    alarm((unsigned)(tt_test_scale_ms(60000) / 1000u));
    int rv = srvfix_start(fx, o);
    if (rv != 0) {
        free(fx);
        fail_msg("tether_server_new: %s (%d)", tether_err_name(rv), rv);
    }
    *state = fx;
    return fx;
}

void srvfix_end(void **state)
{
    struct srvfix *fx = *state;
    *state = NULL;
    int rv = srvfix_stop(fx, tt_test_scale_ms(10000));
    if (rv == -1 && !fx->loop_exited) {
        fail_msg("the server's loop did not exit: a handle or connection leaked");
    }
    free(fx);
    alarm(0);
    if (rv != 0) {
        fail_msg("closing the server's loop failed (uv_loop_close == %d)", rv);
    }
}

int srvfix_teardown(void **state)
{
    struct srvfix *fx = *state;
    if (fx) {
        *state = NULL;
        if (srvfix_stop(fx, tt_test_scale_ms(10000)) == 0 || fx->loop_exited) {
            free(fx); /* otherwise the loop thread still uses it: leak it */
        }
    }
    alarm(0);
    return 0;
}
