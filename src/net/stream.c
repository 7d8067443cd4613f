/* SPDX-License-Identifier: MIT */
/* TCP streams over libuv: dialing with a timeout, reads, copied writes, and the three ways to
 * close (graceful FIN + bounded drain, plain close, abortive RST). */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>

#include "net/net.h"

/* Read size: 64 KiB covers a full TLS record plus headers in one go. */
#define STREAM_READ_SIZE 65536
/* While lingering the bytes are thrown away, so small reads keep memory low (nginx reads
 * NGX_HTTP_LINGERING_BUFFER_SIZE, 4 KiB). */
#define STREAM_DRAIN_SIZE 4096

_Static_assert(sizeof(((struct tt__stream *)0)->peer) == sizeof(((struct tether_failure *)0)->peer),
               "peer buffers must match");

/* A write request and the bytes it carries, in one allocation. */
struct stream_wreq {
    uv_write_t req;
    struct tt__stream *s;
    tt__stream_write_cb cb;
    void *arg;
    size_t len;
    size_t plain_len;
    size_t cap; /* bytes allocated for data */
    char data[];
};

static void stream_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void stream_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);
static void stream_timer_cb(uv_timer_t *t);
static void stream_close_handles(struct tt__stream *s, bool rst);

static char *stream_strdup_or_null(const char *text)
{
    return text[0] != '\0' ? tt__strndup(text, strlen(text)) : NULL;
}

static void stream_clear_failure(struct tt__stream *s)
{
    tt__free(s->err.host);
    tt__free(s->err.detail);
    memset(&s->err, 0, sizeof(s->err));
}

void tt__stream_set_failure(struct tt__stream *s, const struct tether_failure *f)
{
    stream_clear_failure(s);
    s->err.code = f->code;
    s->err.syscall = f->syscall;
    s->err.phase = f->phase;
    s->err.origin = f->origin;
    s->err.origin_code = f->origin_code;
    s->err.sys_errno = f->sys_errno;
    s->err.host = stream_strdup_or_null(f->host);
    s->err.detail = stream_strdup_or_null(f->detail);
}

void tt__stream_failure(const struct tt__stream *s, struct tether_failure *out)
{
    tether_failure_init(out);
    if (s->err.code == 0) {
        return;
    }
    out->code = s->err.code;
    out->syscall = s->err.syscall;
    out->phase = s->err.phase;
    out->origin = s->err.origin;
    out->origin_code = s->err.origin_code;
    out->sys_errno = s->err.sys_errno;
    memcpy(out->peer, s->peer, sizeof(out->peer));
    if (s->err.host) {
        (void)snprintf(out->host, sizeof(out->host), "%s", s->err.host);
    }
    if (s->err.detail) {
        (void)snprintf(out->detail, sizeof(out->detail), "%s", s->err.detail);
    }
}

/* Records a libuv failure as "the last error" of the stream, Node-style. */
static void stream_fail_uv(struct tt__stream *s, enum tether_syscall syscall,
                           enum tether_phase phase, int uv_status)
{
    struct tether_failure f;
    tether_failure_init(&f);
    tt__failure_from_uv(&f, syscall, uv_status);
    f.phase = phase;
    tt__stream_set_failure(s, &f);
}

static enum tether_phase stream_phase(const struct tt__stream *s)
{
    if (s->state == TT__STREAM_CONNECTING) {
        return TETHER_PHASE_CONNECT;
    }
    return s->state == TT__STREAM_HANDSHAKING ? TETHER_PHASE_TLS : TETHER_PHASE_NONE;
}

static void stream_wake_cb(struct tt__defer_item *it);

int tt__stream_init(struct tt__defer *defer, struct tt__stream *s)
{
    if (!defer || !s) {
        return TETHER_EINVAL;
    }
    uv_loop_t *loop = defer->check.loop;
    memset(s, 0, sizeof(*s));
    s->loop = loop;
    s->defer = defer;
    tt__defer_item_init(&s->wake, stream_wake_cb);
    int r = uv_tcp_init(loop, &s->tcp);
    if (r != 0) {
        /* No handle exists, so there is nothing to close: closes are ignored. */
        s->state = TT__STREAM_CLOSED;
        return tt__err_from_uv(r);
    }
    (void)uv_timer_init(loop, &s->timer);
    s->tcp.data = s;
    s->timer.data = s;
    s->pending_handles = 2;
    s->state = TT__STREAM_NEW;
    return 0;
}

/* ---- reading ---- */

/* Whether libuv should be reading now. The user's wish (s->reading) is one input: a client
 * handshake and a graceful close read on their own. */
static bool stream_want_read(const struct tt__stream *s)
{
    if (s->eof_seen || (s->tls && tt__tls_failed(s))) {
        return false;
    }
    switch (s->state) {
    case TT__STREAM_HANDSHAKING:
        return s->reading || s->on_connect != NULL;
    case TT__STREAM_OPEN:
        return s->reading;
    case TT__STREAM_SHUT_WR:
    case TT__STREAM_LINGERING:
        return true;
    default:
        return false;
    }
}

static int stream_update_reading(struct tt__stream *s)
{
    if (s->state == TT__STREAM_NEW || s->state == TT__STREAM_CONNECTING ||
        s->state >= TT__STREAM_CLOSING) {
        /* libuv marks a connecting socket readable, but reading it before the connect
         * completes would only report errors twice. */
        return 0;
    }
    if (stream_want_read(s)) {
        int r = uv_read_start((uv_stream_t *)&s->tcp, stream_alloc_cb, stream_read_cb);
        if (r != 0 && r != UV_EALREADY) {
            return tt__err_from_uv(r);
        }
    } else {
        (void)uv_read_stop((uv_stream_t *)&s->tcp);
    }
    return 0;
}

/*
 * One read buffer per thread, as Node keeps one slab per loop: libuv reads a stream, calls
 * back and only then reads the next, and read data is only borrowed for the callback, so the
 * buffer is free again when the callback returns. A fresh 64 KiB allocation per read made
 * glibc grow and trim the heap on every chunk (the proxy spent its time in page faults). If a
 * callback ever reads while the buffer is lent out, the fallback is the heap.
 */
static _Thread_local char stream_read_buf[STREAM_READ_SIZE];
static _Thread_local bool stream_read_buf_lent;

static void stream_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct tt__stream *s = h->data;
    size_t n = s->state >= TT__STREAM_SHUT_WR ? STREAM_DRAIN_SIZE : STREAM_READ_SIZE;
    (void)suggested;
    if (!stream_read_buf_lent) {
        stream_read_buf_lent = true;
        buf->base = stream_read_buf;
        buf->len = n;
        return;
    }
    buf->base = tt__malloc(n);
    /* A zero length makes libuv report UV_ENOBUFS to the read callback. */
    buf->len = buf->base ? n : 0;
}

static void stream_release_buf(char *base)
{
    if (base == stream_read_buf) {
        stream_read_buf_lent = false;
    } else {
        tt__free(base);
    }
}

void tt__stream_deliver(struct tt__stream *s, int status, const char *data, size_t len)
{
    if (s->state >= TT__STREAM_SHUT_WR || !s->on_read) {
        return;
    }
    if (status == 0) {
        if (len == 0) {
            return;
        }
        s->bytes_read += len;
    }
    s->on_read(s, status, data, len);
}

static void stream_finish(struct tt__stream *s)
{
    size_t unread = 0;
    /* Linux answers close() with RST, not FIN, when received bytes were never read; say so
     * honestly instead of claiming a clean close. */
    (void)tt__sock_unread_bytes(&s->tcp, &unread);
    stream_close_handles(s, unread > 0);
}

/* Sets the lingering timer: the total deadline, and while draining also the wait for the
 * next byte. Both are "no limit" when zero. */
static void stream_linger_arm(struct tt__stream *s)
{
    uint64_t now = uv_now(s->loop);
    uint64_t delay = UINT64_MAX;
    if (s->linger_deadline_ms != UINT64_MAX) {
        delay = s->linger_deadline_ms > now ? s->linger_deadline_ms - now : 0;
    }
    if (s->state == TT__STREAM_LINGERING && s->linger_wait_ms && s->linger_wait_ms < delay) {
        delay = s->linger_wait_ms;
    }
    if (delay == UINT64_MAX) {
        uv_timer_stop(&s->timer);
        return;
    }
    (void)uv_timer_start(&s->timer, stream_timer_cb, delay, 0);
}

/* A read while closing gracefully: discard data, and end the drain at FIN or error. */
static void stream_linger_read(struct tt__stream *s, ssize_t nread)
{
    if (nread > 0) {
        if (s->state == TT__STREAM_LINGERING) {
            stream_linger_arm(s);
        }
        return;
    }
    if (nread == 0) {
        return;
    }
    (void)uv_read_stop((uv_stream_t *)&s->tcp);
    if (nread == UV_EOF) {
        s->eof_seen = true;
        /* Before our FIN is out (SHUT_WR) the shutdown callback finishes the close. */
        if (s->state == TT__STREAM_LINGERING) {
            stream_finish(s);
        }
        return;
    }
    /* The peer reset the connection: there is nothing left to drain or to flush. */
    stream_finish(s);
}

/* True when the kernel holds a connection-reset error for the socket (SO_ERROR). */
static bool stream_pending_reset(struct tt__stream *s)
{
    uv_os_fd_t fd;
    int err = 0;
    socklen_t len = sizeof(err);
    if (uv_fileno((uv_handle_t *)&s->tcp, &fd) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        return false;
    }
    return err == ECONNRESET;
}

static void stream_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct tt__stream *s = st->data;
    if (s->state >= TT__STREAM_SHUT_WR) {
        stream_release_buf(buf->base);
        if (s->state < TT__STREAM_CLOSING) {
            stream_linger_read(s, nread);
        }
        return;
    }
    if (nread > 0) {
        if (s->tls) {
            tt__tls_feed(s, buf->base, (size_t)nread);
            stream_release_buf(buf->base);
            /* The user may have paused, or TLS may have failed, during the call-outs. */
            if (s->state < TT__STREAM_CLOSING) {
                (void)stream_update_reading(s);
            }
            return;
        }
        tt__stream_deliver(s, 0, buf->base, (size_t)nread);
        stream_release_buf(buf->base);
        return;
    }
    stream_release_buf(buf->base);
    if (nread == 0) {
        return;
    }
    if (nread == UV_EOF && stream_pending_reset(s)) {
        /* libuv reports EOF when a hang-up follows data in the same poll, even if the peer
         * reset: the socket's pending error tells the truth, and "read ECONNRESET" is what the
         * user must see, not a clean end. */
        nread = UV_ECONNRESET;
    }
    if (nread == UV_EOF) {
        s->eof_seen = true;
        (void)uv_read_stop(st);
        if (s->tls) {
            tt__tls_on_eof(s);
        } else {
            tt__stream_deliver(s, TETHER_EEOF, NULL, 0);
        }
        return;
    }
    s->reading = false;
    (void)uv_read_stop(st);
    stream_fail_uv(s, TETHER_SYSCALL_READ, stream_phase(s), (int)nread);
    if (s->tls && s->state == TT__STREAM_HANDSHAKING) {
        tt__stream_handshake_done(s, s->err.code);
    } else {
        tt__stream_deliver(s, s->err.code, NULL, 0);
    }
}

int tt__stream_read_start(struct tt__stream *s, tt__stream_read_cb cb)
{
    if (!s || !cb || s->state >= TT__STREAM_SHUT_WR) {
        return TETHER_EINVAL;
    }
    s->on_read = cb;
    s->reading = true;
    int rv = stream_update_reading(s);
    if (rv != 0) {
        s->reading = false;
        return rv;
    }
    /* Plaintext decrypted before a pause waits inside OpenSSL and no socket event will
     * announce it: deliver it on the next loop turn (never from inside this call). The
     * timer is free in these states; a pending connect owns it otherwise. */
    if (s->tls && !s->on_connect && tt__tls_has_input(s) &&
        (s->state == TT__STREAM_OPEN || s->state == TT__STREAM_HANDSHAKING)) {
        tt__defer_queue(s->defer, &s->wake);
    }
    return 0;
}

void tt__stream_read_stop(struct tt__stream *s)
{
    if (!s) {
        return;
    }
    s->reading = false;
    if (s->state < TT__STREAM_SHUT_WR) {
        (void)stream_update_reading(s);
    }
}

/* ---- writing ---- */

/*
 * A bulk writer (a relay, a large response) writes one read-sized buffer per chunk; allocating
 * and freeing 64 KiB each time made glibc grow and trim the heap on every chunk. So each stream
 * keeps one spare buffer of that size for its next write, released when the stream closes.
 * Smaller and larger buffers come from the heap as before.
 */
#define STREAM_WBUF_SPARE_SIZE STREAM_READ_SIZE

static void stream_wreq_release(struct tt__stream *s, struct stream_wreq *w)
{
    if (s && w->cap == STREAM_WBUF_SPARE_SIZE && !s->wbuf_spare && s->state < TT__STREAM_CLOSING) {
        s->wbuf_spare = w;
        return;
    }
    tt__free(w);
}

char *tt__stream_wbuf_new(struct tt__stream *s, size_t len)
{
    if (len > SIZE_MAX - sizeof(struct stream_wreq)) {
        return NULL;
    }
    struct stream_wreq *w;
    if (len <= STREAM_WBUF_SPARE_SIZE && s->wbuf_spare) {
        w = s->wbuf_spare;
        s->wbuf_spare = NULL;
    } else {
        /* Only buffers that a bulk writer would reuse are sized for reuse. */
        size_t cap = len <= STREAM_WBUF_SPARE_SIZE && len > STREAM_WBUF_SPARE_SIZE / 4
                         ? STREAM_WBUF_SPARE_SIZE
                         : len;
        w = tt__malloc(sizeof(*w) + cap);
        if (!w) {
            return NULL;
        }
        w->cap = cap;
    }
    w->len = len;
    return w->data;
}

void tt__stream_wbuf_free(char *buf)
{
    if (buf) {
        tt__free(tt__container_of(buf, struct stream_wreq, data));
    }
}

static void stream_write_cb(uv_write_t *req, int status)
{
    struct stream_wreq *w = tt__container_of(req, struct stream_wreq, req);
    struct tt__stream *s = w->s;
    tt__stream_write_cb cb = w->cb;
    void *arg = w->arg;
    int code = 0;
    if (status == 0) {
        s->bytes_written += w->plain_len;
    } else if (status == UV_ECANCELED) {
        /* Our own close cancelled it: not a network failure worth recording. */
        code = TETHER_ECANCELED;
    } else {
        stream_fail_uv(s, TETHER_SYSCALL_WRITE, stream_phase(s), status);
        code = s->err.code;
    }
    stream_wreq_release(s, w);
    if (cb) {
        cb(s, code, arg);
    }
}

int tt__stream_wbuf_submit(struct tt__stream *s, char *buf, size_t len, size_t plain_len,
                           tt__stream_write_cb cb, void *arg)
{
    struct stream_wreq *w = tt__container_of(buf, struct stream_wreq, data);
    uv_buf_t b;
    w->s = s;
    w->cb = cb;
    w->arg = arg;
    w->plain_len = plain_len;
    b.base = w->data;
    b.len = len;
    int r = uv_write(&w->req, (uv_stream_t *)&s->tcp, &b, 1, stream_write_cb);
    if (r != 0) {
        tt__free(w);
        return tt__err_from_uv(r);
    }
    return 0;
}

int tt__stream_write(struct tt__stream *s, const void *data, size_t len, tt__stream_write_cb cb,
                     void *arg)
{
    int rv;
    if (!s || (!data && len)) {
        return TETHER_EINVAL;
    }
    switch (s->state) {
    case TT__STREAM_CONNECTING:
    case TT__STREAM_HANDSHAKING:
    case TT__STREAM_OPEN:
        /* libuv queues writes made while connecting and sends them once connected. */
        break;
    case TT__STREAM_NEW:
        return TETHER_EINVAL;
    default:
        return TETHER_EPIPE;
    }
    if (s->tls) {
        rv = tt__tls_write(s, data, len, cb, arg);
    } else {
        char *buf = tt__stream_wbuf_new(s, len);
        if (!buf) {
            return TETHER_ENOMEM;
        }
        if (len) {
            memcpy(buf, data, len);
        }
        rv = tt__stream_wbuf_submit(s, buf, len, len, cb, arg);
    }
    if (rv == 0) {
        s->bytes_queued += len;
    }
    return rv;
}

size_t tt__stream_try_write(struct tt__stream *s, const void *data, size_t len)
{
    if (!s || !data || len == 0 || s->tls || s->state != TT__STREAM_OPEN ||
        s->tcp.write_queue_size > 0) {
        return 0;
    }
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)data, (unsigned)(len > UINT_MAX ? UINT_MAX : len));
    int r = uv_try_write((uv_stream_t *)&s->tcp, &b, 1);
    if (r <= 0) {
        return 0;
    }
    s->bytes_queued += (uint64_t)r;
    s->bytes_written += (uint64_t)r;
    return (size_t)r;
}

size_t tt__stream_write_queue_size(const struct tt__stream *s)
{
    if (!s || s->state >= TT__STREAM_CLOSING) {
        return 0;
    }
    /* libuv's count is exact for what it still holds: it drops as bytes enter the kernel. */
    size_t n = s->tcp.write_queue_size;
    if (s->tls) {
        n += tt__tls_queued_bytes(s);
    }
    return n;
}

/* ---- connecting ---- */

static void stream_connect_finish(struct tt__stream *s, int status)
{
    tt__stream_connect_cb cb = s->on_connect;
    if (!cb) {
        return;
    }
    s->on_connect = NULL;
    if (s->state < TT__STREAM_CLOSING) {
        uv_timer_stop(&s->timer);
        if (status == 0) {
            s->state = TT__STREAM_OPEN;
        }
        (void)stream_update_reading(s);
    }
    cb(s, status);
}

static void stream_connect_cb(uv_connect_t *req, int status)
{
    struct tt__stream *s = req->data;
    tt__free(req);
    if (!s->on_connect) {
        return; /* timed out earlier; the caller closes the stream */
    }
    if (status == UV_ECANCELED || s->state >= TT__STREAM_CLOSING) {
        stream_connect_finish(s, TETHER_ECANCELED);
        return;
    }
    if (status < 0) {
        stream_fail_uv(s, TETHER_SYSCALL_CONNECT, TETHER_PHASE_CONNECT, status);
        stream_connect_finish(s, s->err.code);
        return;
    }
    if (!s->tls) {
        stream_connect_finish(s, 0);
        return;
    }
    s->state = TT__STREAM_HANDSHAKING;
    int rv = stream_update_reading(s);
    if (rv != 0) {
        struct tether_failure f;
        tether_failure_init(&f);
        f.code = rv;
        f.syscall = TETHER_SYSCALL_READ;
        f.phase = TETHER_PHASE_TLS;
        tt__stream_set_failure(s, &f);
        stream_connect_finish(s, rv);
        return;
    }
    tt__tls_pump(s); /* sends the ClientHello */
}

/* A connect deadline passed, or a connect error from the kernel waited for its tick. */
static void stream_connect_timeout(struct tt__stream *s)
{
    if (s->state == TT__STREAM_CONNECTING && s->err.code != 0) {
        stream_connect_finish(s, s->err.code);
        return;
    }
    struct tether_failure f;
    tether_failure_init(&f);
    f.code = TETHER_ETIMEDOUT;
    f.syscall = TETHER_SYSCALL_CONNECT;
    f.phase = stream_phase(s);
    f.origin = TETHER_ORIGIN_ERRNO;
    f.origin_code = ETIMEDOUT;
    f.sys_errno = ETIMEDOUT;
    tt__stream_set_failure(s, &f);
    stream_connect_finish(s, TETHER_ETIMEDOUT);
}

int tt__stream_connect(struct tt__stream *s, const struct sockaddr *addr, uint64_t timeout_ms,
                       struct tt__tls_ctx *tls, const char *server_name, tt__stream_connect_cb cb)
{
    if (!s || !addr || !cb || s->state != TT__STREAM_NEW ||
        (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)) {
        return TETHER_EINVAL;
    }
    stream_clear_failure(s);
    (void)tt__addr_format(addr, s->peer, sizeof(s->peer));
    if (tls && !s->tls) {
        int rv = tt__tls_new(s, tls, server_name);
        if (rv != 0) {
            return rv;
        }
    }
    uv_connect_t *req = tt__malloc(sizeof(*req));
    if (!req) {
        return TETHER_ENOMEM;
    }
    req->data = s;
    int r = uv_tcp_connect(req, &s->tcp, addr, stream_connect_cb);
    if (r == UV_EINVAL) {
        tt__free(req);
        return TETHER_EINVAL;
    }
    s->on_connect = cb;
    s->state = TT__STREAM_CONNECTING;
    if (r != 0) {
        /* The kernel refused at once (ENETUNREACH, EADDRNOTAVAIL...). Report it through the
         * callback on the next turn, like every other connect outcome (STYLE §3). */
        tt__free(req);
        stream_fail_uv(s, TETHER_SYSCALL_CONNECT, TETHER_PHASE_CONNECT, r);
        tt__defer_queue(s->defer, &s->wake);
        return 0;
    }
    if (timeout_ms) {
        /* Timers count from the loop's cached time, which may be stale by however long
         * the current callback has run; refresh it so the deadline is never early. */
        uv_update_time(s->loop);
        (void)uv_timer_start(&s->timer, stream_timer_cb, timeout_ms, 0);
    }
    return 0;
}

/* ---- accepting ---- */

static int stream_opened(struct tt__stream *s)
{
    s->state = TT__STREAM_OPEN;
    (void)tt__sock_peer(&s->tcp, s->peer, sizeof(s->peer));
    return 0;
}

int tt__stream_accept(uv_stream_t *listener, struct tt__stream *s)
{
    if (!listener || !s || s->state != TT__STREAM_NEW) {
        return TETHER_EINVAL;
    }
    int r = uv_accept(listener, (uv_stream_t *)&s->tcp);
    if (r != 0) {
        return tt__err_from_uv(r);
    }
    return stream_opened(s);
}

int tt__stream_open_fd(struct tt__stream *s, int fd)
{
    if (!s || fd < 0 || s->state != TT__STREAM_NEW) {
        return TETHER_EINVAL;
    }
    int r = uv_tcp_open(&s->tcp, (uv_os_sock_t)fd);
    if (r != 0) {
        return tt__err_from_uv(r);
    }
    return stream_opened(s);
}

int tt__stream_start_tls_server(struct tt__stream *s, struct tt__tls_ctx *ctx)
{
    if (!s || !ctx || s->state != TT__STREAM_OPEN || s->tls) {
        return TETHER_EINVAL;
    }
    int rv = tt__tls_new(s, ctx, NULL);
    if (rv != 0) {
        return rv;
    }
    if (tt__tls_is_client(s)) {
        tt__tls_free(s);
        return TETHER_EINVAL;
    }
    s->state = TT__STREAM_HANDSHAKING;
    return stream_update_reading(s);
}

int tt__stream_start_tls_client(struct tt__stream *s, struct tt__tls_ctx *ctx,
                                const char *server_name, uint64_t timeout_ms,
                                tt__stream_connect_cb cb)
{
    if (!s || !ctx || !cb || s->state != TT__STREAM_OPEN || s->tls || s->on_connect) {
        return TETHER_EINVAL;
    }
    int rv = tt__tls_new(s, ctx, server_name);
    if (rv != 0) {
        return rv;
    }
    if (!tt__tls_is_client(s)) {
        tt__tls_free(s);
        return TETHER_EINVAL;
    }
    stream_clear_failure(s);
    s->on_connect = cb;
    s->state = TT__STREAM_HANDSHAKING;
    rv = stream_update_reading(s);
    if (rv != 0) {
        s->on_connect = NULL;
        s->state = TT__STREAM_OPEN;
        tt__tls_free(s);
        return rv;
    }
    if (timeout_ms) {
        uv_update_time(s->loop);
        (void)uv_timer_start(&s->timer, stream_timer_cb, timeout_ms, 0);
    }
    tt__tls_pump(s); /* sends the ClientHello */
    return 0;
}

void tt__stream_handshake_done(struct tt__stream *s, int status)
{
    if (status == 0) {
        if (s->state == TT__STREAM_HANDSHAKING) {
            s->state = TT__STREAM_OPEN;
        }
        stream_connect_finish(s, 0);
        return;
    }
    if (s->on_connect) {
        stream_connect_finish(s, status);
    } else {
        tt__stream_deliver(s, status, NULL, 0);
    }
}

/* ---- the timer: connect deadline, TLS resume, lingering deadlines ---- */

/* The stream's next-turn work (tt__defer): a connect the kernel refused at once reports
 * through its callback, and plaintext OpenSSL kept while reading was paused is delivered. */
static void stream_wake_cb(struct tt__defer_item *it)
{
    struct tt__stream *s = tt__container_of(it, struct tt__stream, wake);
    if (s->state == TT__STREAM_CONNECTING && s->on_connect && s->err.code != 0) {
        stream_connect_finish(s, s->err.code);
    } else if (s->tls && (s->state == TT__STREAM_OPEN || s->state == TT__STREAM_HANDSHAKING)) {
        tt__tls_pump(s);
    }
}

static void stream_timer_cb(uv_timer_t *t)
{
    struct tt__stream *s = t->data;
    switch (s->state) {
    case TT__STREAM_CONNECTING:
    case TT__STREAM_HANDSHAKING:
        if (s->on_connect) {
            stream_connect_timeout(s);
        } else if (s->tls) {
            tt__tls_pump(s);
        }
        break;
    case TT__STREAM_OPEN:
        if (s->tls) {
            tt__tls_pump(s);
        }
        break;
    case TT__STREAM_SHUT_WR:
    case TT__STREAM_LINGERING:
        stream_finish(s);
        break;
    default:
        break;
    }
}

/* ---- closing ---- */

static void stream_handle_closed(uv_handle_t *h)
{
    struct tt__stream *s = h->data;
    if (--s->pending_handles > 0) {
        return;
    }
    /* Both handles are gone: finish what the close interrupted, then hand the memory back. */
    stream_connect_finish(s, TETHER_ECANCELED);
    if (s->tls) {
        tt__tls_free(s);
    }
    /* Every write callback has run by now (libuv cancels pending writes before closing). */
    tt__free(s->wbuf_spare);
    s->wbuf_spare = NULL;
    stream_clear_failure(s);
    s->state = TT__STREAM_CLOSED;
    tt__stream_close_cb cb = s->on_close;
    s->on_close = NULL;
    if (cb) {
        cb(s, s->rst_sent); /* may free s */
    }
}

static void stream_close_handles(struct tt__stream *s, bool rst)
{
    s->rst_sent = rst;
    s->state = TT__STREAM_CLOSING;
    s->reading = false;
    uv_timer_stop(&s->timer);
    tt__defer_cancel(&s->wake);
    uv_close((uv_handle_t *)&s->tcp, stream_handle_closed);
    uv_close((uv_handle_t *)&s->timer, stream_handle_closed);
}

/* Only the first close counts (documented in net.h). */
static bool stream_close_begin(struct tt__stream *s, tt__stream_close_cb cb)
{
    if (!s || s->state >= TT__STREAM_SHUT_WR) {
        return false;
    }
    s->on_close = cb;
    return true;
}

void tt__stream_close_now(struct tt__stream *s, tt__stream_close_cb cb)
{
    if (!stream_close_begin(s, cb)) {
        return;
    }
    stream_finish(s);
}

void tt__stream_close_abort(struct tt__stream *s, tt__stream_close_cb cb)
{
    if (!stream_close_begin(s, cb)) {
        return;
    }
    uv_os_fd_t fd;
    /* Only an established connection can be reset; a socket still connecting just goes. */
    if (s->state >= TT__STREAM_HANDSHAKING && uv_fileno((const uv_handle_t *)&s->tcp, &fd) == 0) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, (socklen_t)sizeof(lg)) == 0) {
            stream_close_handles(s, true);
            return;
        }
    }
    stream_finish(s);
}

static void stream_shutdown_cb(uv_shutdown_t *req, int status)
{
    struct tt__stream *s = req->data;
    tt__free(req);
    if (s->state != TT__STREAM_SHUT_WR) {
        return; /* cancelled by the close that followed a deadline or a reset */
    }
    if (status < 0 || s->eof_seen) {
        /* Our FIN is out and the peer's arrived, or the socket failed: nothing to drain. */
        stream_finish(s);
        return;
    }
    s->state = TT__STREAM_LINGERING;
    stream_linger_arm(s);
}

void tt__stream_close_graceful(struct tt__stream *s, uint64_t total_ms, uint64_t wait_ms,
                               tt__stream_close_cb cb)
{
    if (!s || s->state >= TT__STREAM_SHUT_WR) {
        return;
    }
    if (s->state == TT__STREAM_NEW || s->state == TT__STREAM_CONNECTING || s->on_connect) {
        /* No conversation happened yet, so there is nothing to flush or drain. */
        tt__stream_close_now(s, cb);
        return;
    }
    s->on_close = cb;
    tt__defer_cancel(&s->wake); /* no more delivery: the drain discards what arrives */
    uv_update_time(s->loop);    /* see tt__stream_connect */
    uint64_t now = uv_now(s->loop);
    s->linger_deadline_ms = total_ms && total_ms < UINT64_MAX - now ? now + total_ms : UINT64_MAX;
    s->linger_wait_ms = wait_ms;
    s->state = TT__STREAM_SHUT_WR;
    if (s->tls) {
        tt__tls_close_notify(s);
    }
    /* uv_shutdown waits for every queued write, so the FIN follows the last byte of the
     * response; the drain below only starts counting once the FIN is out. */
    uv_shutdown_t *req = tt__malloc(sizeof(*req));
    int r = UV_ENOMEM;
    if (req) {
        req->data = s;
        r = uv_shutdown(req, (uv_stream_t *)&s->tcp, stream_shutdown_cb);
    }
    if (r != 0) {
        tt__free(req);
        stream_finish(s);
        return;
    }
    stream_linger_arm(s);
    if (stream_update_reading(s) != 0) {
        stream_finish(s);
    }
}
