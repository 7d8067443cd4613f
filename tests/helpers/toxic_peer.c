/* SPDX-License-Identifier: MIT */
/* Proxy test harness: threaded proxy fixture, scripted upstream peer, raw client (toxic_peer.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "net_peer.h"
#include "test.h"
#include "toxic_peer.h"

/* ---- time ---- */

uint64_t tp_now_ms(void)
{
    return tt_test_now_ms();
}

void tp_sleep_ms(uint64_t ms)
{
    tt_test_sleep_ms(ms);
}

/* ---- the raw client ---- */

const char *tp_end_name(int e)
{
    static const char *const names[] = {"OK", "EOF", "RESET", "TIMEOUT", "REFUSED", "ERROR"};
    return e >= 0 && (size_t)e < sizeof(names) / sizeof(names[0]) ? names[e] : "?";
}

int tp_connect(uint16_t port, int *fd_out, int *err)
{
    *fd_out = -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        if (err) {
            *err = errno;
        }
        return TP_ERROR;
    }
    struct timeval tv = {(time_t)(tt_test_scale_ms(5000) / 1000u), 0}; /* a bound: scaled */
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sin = np_loopback(port);
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        int e = errno;
        close(fd);
        if (err) {
            *err = e;
        }
        return e == ECONNREFUSED ? TP_REFUSED : e == ECONNRESET ? TP_RESET : TP_ERROR;
    }
    *fd_out = fd;
    return TP_OK;
}

int tp_send(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno == ECONNRESET || errno == EPIPE ? TP_RESET
                   : errno == EAGAIN                     ? TP_TIMEOUT
                                                         : TP_ERROR;
        }
        p += n;
        len -= (size_t)n;
    }
    return TP_OK;
}

int tp_send_str(int fd, const char *s)
{
    return tp_send(fd, s, strlen(s));
}

/* One bounded read: > 0 bytes, 0 for EOF, or -TP_RESET / -TP_TIMEOUT / -TP_ERROR. */
static long tp_recv_until(int fd, char *buf, size_t cap, uint64_t deadline_ms, int *err)
{
    for (;;) {
        uint64_t now = tp_now_ms();
        if (now >= deadline_ms) {
            return -TP_TIMEOUT;
        }
        struct pollfd pfd = {fd, POLLIN, 0};
        int n = poll(&pfd, 1, (int)(deadline_ms - now));
        if (n < 0 && errno != EINTR) {
            *err = errno;
            return -TP_ERROR;
        }
        if (n <= 0) {
            continue;
        }
        ssize_t got = recv(fd, buf, cap, MSG_DONTWAIT);
        if (got >= 0) {
            return (long)got;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            continue;
        }
        *err = errno;
        return errno == ECONNRESET ? -TP_RESET : -TP_ERROR;
    }
}

static int tp_read_loop(int fd, void *buf, size_t cap, size_t want, uint64_t timeout_ms,
                        struct tp_read *r)
{
    struct tp_read local;
    if (r == NULL) {
        r = &local;
    }
    memset(r, 0, sizeof(*r));
    uint64_t deadline = tp_now_ms() + tt_test_scale_ms(timeout_ms);
    char scratch[65536];
    for (;;) {
        if (want != 0 && r->bytes >= want) {
            r->end = TP_OK;
            break;
        }
        char *dst = scratch;
        size_t room = sizeof(scratch);
        if (buf != NULL && r->bytes < cap) {
            dst = (char *)buf + r->bytes;
            room = cap - r->bytes;
        }
        if (want != 0 && room > want - r->bytes) {
            room = want - r->bytes;
        }
        long n = tp_recv_until(fd, dst, room, deadline, &r->err);
        if (n > 0) {
            if (r->first_ms == 0) {
                r->first_ms = tp_now_ms();
            }
            r->bytes += (size_t)n;
            r->reads++;
            if ((size_t)n > r->max_read) {
                r->max_read = (size_t)n;
            }
            continue;
        }
        r->end = n == 0 ? TP_EOF : (int)-n;
        break;
    }
    r->end_ms = tp_now_ms();
    return r->end;
}

int tp_read_n(int fd, void *buf, size_t cap, size_t want, uint64_t timeout_ms, struct tp_read *r)
{
    return tp_read_loop(fd, buf, cap, want == 0 ? 1 : want, timeout_ms, r);
}

int tp_read_all(int fd, void *buf, size_t cap, uint64_t timeout_ms, struct tp_read *r)
{
    return tp_read_loop(fd, buf, cap, 0, timeout_ms, r);
}

int tp_expect_quiet(int fd, uint64_t timeout_ms, struct tp_read *r)
{
    struct tp_read local;
    if (r == NULL) {
        r = &local;
    }
    memset(r, 0, sizeof(*r));
    char buf[65536];
    /* Not scaled: this is a window in which nothing may happen, and a longer one could reach
     * past the very toxic timer a test is checking has not fired yet. */
    long n = tp_recv_until(fd, buf, sizeof(buf), tp_now_ms() + timeout_ms, &r->err);
    r->end_ms = tp_now_ms();
    if (n > 0) {
        r->bytes = (size_t)n;
        r->reads = 1;
        r->max_read = (size_t)n;
        r->first_ms = r->end_ms;
        r->end = TP_OK;
    } else {
        r->end = n == 0 ? TP_EOF : (int)-n;
    }
    return r->end;
}

uint16_t tp_dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return 0;
    }
    struct sockaddr_in sin = np_loopback(0);
    socklen_t sl = sizeof(sin);
    uint16_t port = 0;
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sin, &sl) == 0) {
        port = ntohs(sin.sin_port);
    }
    close(fd);
    return port;
}

unsigned char tp_pattern(size_t i)
{
    /* Period 251 (a prime), so a lost or repeated block of any power-of-two size shows. */
    return (unsigned char)('!' + (i % 251u) % 90u);
}

bool tp_is_pattern(const void *buf, size_t n, size_t from)
{
    const unsigned char *p = buf;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != tp_pattern(from + i)) {
            return false;
        }
    }
    return true;
}

/* ---- the upstream peer ---- */

#define TP_PEER_CONNS 64
#define TP_PEER_OUT 65536

struct tp_conn {
    int fd;
    bool got_eof;
    bool send_done; /* TP_SEND: everything was written */
    bool close_when_flushed;
    uint64_t received;
    size_t out_off, out_len; /* pending text (echo bytes, reply, send text) */
    size_t pattern_off, pattern_left;
    char out[TP_PEER_OUT];
};

struct tp_peer {
    struct tp_peer_opts o;
    int lfd;
    int wake[2];
    uint16_t port;
    pthread_t thread;
    pthread_mutex_t mu;
    struct tp_peer_stats st;
    struct tp_conn conns[TP_PEER_CONNS];
};

static void tp_peer_end(struct tp_peer *p, struct tp_conn *c, bool rst)
{
    close(c->fd);
    c->fd = -1;
    pthread_mutex_lock(&p->mu);
    p->st.open--;
    if (rst) {
        p->st.ended_rst++;
    } else {
        p->st.ended_eof++;
    }
    pthread_mutex_unlock(&p->mu);
}

static bool tp_conn_has_output(const struct tp_conn *c)
{
    return c->out_off < c->out_len || c->pattern_left > 0;
}

/* Reads until EAGAIN so a close is a FIN, not an RST for unread data. False if it ended. */
static bool tp_conn_drain(struct tp_peer *p, struct tp_conn *c)
{
    char buf[16384];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            c->received += (uint64_t)n;
            pthread_mutex_lock(&p->mu);
            p->st.bytes_in += (uint64_t)n;
            pthread_mutex_unlock(&p->mu);
            continue;
        }
        if (n == 0) {
            return true;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return true;
        }
        tp_peer_end(p, c, true);
        return false;
    }
}

/* Called when the output ran dry: what the mode does next. */
static void tp_conn_flushed(struct tp_peer *p, struct tp_conn *c)
{
    if (p->o.mode == TP_SEND && !c->send_done) {
        c->send_done = true;
        if (p->o.shut_wr_after) {
            (void)shutdown(c->fd, SHUT_WR);
        }
        if (p->o.close_after) {
            c->close_when_flushed = true;
        }
    }
    if (c->close_when_flushed || (c->got_eof && !p->o.hold_at_eof)) {
        if (tp_conn_drain(p, c)) {
            tp_peer_end(p, c, false);
        }
    }
}

static void tp_conn_write(struct tp_peer *p, struct tp_conn *c)
{
    while (tp_conn_has_output(c)) {
        const char *src;
        size_t len;
        char chunk[16384];
        if (c->out_off < c->out_len) {
            src = c->out + c->out_off;
            len = c->out_len - c->out_off;
        } else {
            len = c->pattern_left < sizeof(chunk) ? c->pattern_left : sizeof(chunk);
            for (size_t i = 0; i < len; i++) {
                chunk[i] = (char)tp_pattern(c->pattern_off + i);
            }
            src = chunk;
        }
        ssize_t n = send(c->fd, src, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;
            }
            tp_peer_end(p, c, true);
            return;
        }
        if (c->out_off < c->out_len) {
            c->out_off += (size_t)n;
            if (c->out_off == c->out_len) {
                c->out_off = c->out_len = 0;
            }
        } else {
            c->pattern_off += (size_t)n;
            c->pattern_left -= (size_t)n;
        }
    }
    tp_conn_flushed(p, c);
}

static void tp_conn_read(struct tp_peer *p, struct tp_conn *c)
{
    char tmp[16384];
    char *dst = tmp;
    size_t room = sizeof(tmp);
    if (p->o.mode == TP_ECHO) {
        dst = c->out + c->out_len;
        room = TP_PEER_OUT - c->out_len;
    }
    ssize_t n = recv(c->fd, dst, room, MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            return;
        }
        tp_peer_end(p, c, true);
        return;
    }
    if (n > 0) {
        c->received += (uint64_t)n;
        pthread_mutex_lock(&p->mu);
        p->st.bytes_in += (uint64_t)n;
        pthread_mutex_unlock(&p->mu);
        if (p->o.mode == TP_ECHO) {
            c->out_len += (size_t)n;
            tp_conn_write(p, c);
        }
        return;
    }
    c->got_eof = true;
    if (p->o.mode == TP_REPLY_AT_EOF) {
        int len = snprintf(c->out, TP_PEER_OUT, "received %llu\n", (unsigned long long)c->received);
        c->out_off = 0;
        c->out_len = (size_t)len;
    }
    if (tp_conn_has_output(c)) {
        tp_conn_write(p, c);
    } else if (!p->o.hold_at_eof) {
        tp_peer_end(p, c, false);
    }
}

static void tp_peer_accept(struct tp_peer *p)
{
    int fd = accept(p->lfd, NULL, NULL);
    if (fd < 0) {
        return;
    }
    struct tp_conn *c = NULL;
    for (size_t i = 0; i < TP_PEER_CONNS; i++) {
        if (p->conns[i].fd < 0) {
            c = &p->conns[i];
            break;
        }
    }
    if (c == NULL) {
        close(fd);
        return;
    }
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(c, 0, offsetof(struct tp_conn, out));
    c->fd = fd;
    pthread_mutex_lock(&p->mu);
    p->st.accepted++;
    p->st.open++;
    pthread_mutex_unlock(&p->mu);
    if (p->o.mode == TP_SEND) {
        if (p->o.send != NULL) {
            size_t len = strlen(p->o.send);
            c->out_len = len < TP_PEER_OUT ? len : TP_PEER_OUT;
            memcpy(c->out, p->o.send, c->out_len);
        } else {
            c->pattern_left = p->o.send_bytes;
        }
        tp_conn_write(p, c);
    }
}

static void *tp_peer_main(void *arg)
{
    struct tp_peer *p = arg;
    struct pollfd pfd[TP_PEER_CONNS + 2];
    struct tp_conn *who[TP_PEER_CONNS + 2];
    for (;;) {
        nfds_t n = 0;
        pfd[n] = (struct pollfd){p->wake[0], POLLIN, 0};
        who[n++] = NULL;
        pfd[n] = (struct pollfd){p->lfd, POLLIN, 0};
        who[n++] = NULL;
        for (size_t i = 0; i < TP_PEER_CONNS; i++) {
            struct tp_conn *c = &p->conns[i];
            if (c->fd < 0) {
                continue;
            }
            short ev = 0;
            /* An echo whose buffer is full stops reading, like a real server would. */
            if (!c->got_eof && (p->o.mode != TP_ECHO || c->out_len < TP_PEER_OUT)) {
                ev |= POLLIN;
            }
            if (tp_conn_has_output(c)) {
                ev |= POLLOUT;
            }
            pfd[n] = (struct pollfd){c->fd, ev, 0};
            who[n++] = c;
        }
        int r = poll(pfd, n, 200);
        if (r < 0 && errno != EINTR) {
            break;
        }
        if (r <= 0) {
            continue;
        }
        if (pfd[0].revents != 0) {
            break;
        }
        if (pfd[1].revents & POLLIN) {
            tp_peer_accept(p);
        }
        for (nfds_t i = 2; i < n; i++) {
            struct tp_conn *c = who[i];
            if (c->fd != pfd[i].fd || pfd[i].revents == 0) {
                continue;
            }
            if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP)) {
                if (!c->got_eof) {
                    tp_conn_read(p, c);
                } else if (pfd[i].revents & POLLERR) {
                    tp_peer_end(p, c, true);
                } else if (pfd[i].revents & POLLHUP) {
                    /* Both directions are shut: nothing left to hold. */
                    tp_peer_end(p, c, false);
                }
            }
            if (c->fd >= 0 && (pfd[i].revents & POLLOUT)) {
                tp_conn_write(p, c);
            }
        }
    }
    return NULL;
}

int tp_peer_start(const struct tp_peer_opts *o, struct tp_peer **out)
{
    *out = NULL;
    struct tp_peer *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return ENOMEM;
    }
    p->o = *o;
    p->lfd = -1;
    p->wake[0] = p->wake[1] = -1;
    for (size_t i = 0; i < TP_PEER_CONNS; i++) {
        p->conns[i].fd = -1;
    }
    int err = 0;
    struct sockaddr_in sin = np_loopback(o->port);
    socklen_t sl = sizeof(sin);
    int one = 1;
    p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (p->lfd < 0 || setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(p->lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(p->lfd, 128) != 0 ||
        getsockname(p->lfd, (struct sockaddr *)&sin, &sl) != 0 || pipe(p->wake) != 0) {
        err = errno;
        goto fail;
    }
    p->port = ntohs(sin.sin_port);
    pthread_mutex_init(&p->mu, NULL);
    if ((err = pthread_create(&p->thread, NULL, tp_peer_main, p)) != 0) {
        pthread_mutex_destroy(&p->mu);
        goto fail;
    }
    *out = p;
    return 0;
fail:
    if (p->lfd >= 0) {
        close(p->lfd);
    }
    if (p->wake[0] >= 0) {
        close(p->wake[0]);
        close(p->wake[1]);
    }
    free(p);
    return err ? err : EINVAL;
}

uint16_t tp_peer_port(const struct tp_peer *p)
{
    return p->port;
}

void tp_peer_stats(struct tp_peer *p, struct tp_peer_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->st;
    pthread_mutex_unlock(&p->mu);
}

static bool tp_peer_wait(struct tp_peer *p, int what, uint64_t n, uint64_t timeout_ms)
{
    uint64_t deadline = tp_now_ms() + tt_test_scale_ms(timeout_ms);
    for (;;) {
        struct tp_peer_stats s;
        tp_peer_stats(p, &s);
        uint64_t v = what == 0 ? s.accepted : what == 1 ? s.ended_eof + s.ended_rst : s.bytes_in;
        if (v >= n) {
            return true;
        }
        if (tp_now_ms() >= deadline) {
            return false;
        }
        tp_sleep_ms(5);
    }
}

bool tp_peer_wait_accepted(struct tp_peer *p, unsigned n, uint64_t timeout_ms)
{
    return tp_peer_wait(p, 0, n, timeout_ms);
}

bool tp_peer_wait_ended(struct tp_peer *p, unsigned n, uint64_t timeout_ms)
{
    return tp_peer_wait(p, 1, n, timeout_ms);
}

bool tp_peer_wait_bytes(struct tp_peer *p, uint64_t n, uint64_t timeout_ms)
{
    return tp_peer_wait(p, 2, n, timeout_ms);
}

void tp_peer_stop(struct tp_peer *p)
{
    if (p == NULL) {
        return;
    }
    char b = 1;
    while (write(p->wake[1], &b, 1) < 0 && errno == EINTR) {
    }
    pthread_join(p->thread, NULL);
    for (size_t i = 0; i < TP_PEER_CONNS; i++) {
        if (p->conns[i].fd >= 0) {
            close(p->conns[i].fd);
        }
    }
    close(p->lfd);
    close(p->wake[0]);
    close(p->wake[1]);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* ---- the proxy fixture ---- */

void pxfix_options(struct tether_proxy_server_options *o)
{
    tether_proxy_server_options_init(o);
    o->api_host = NULL;
    o->api_port = 0;
    o->seed = 1;
    o->has_seed = true;
    o->connect_timeout_ms = 2000;
}

static void px_async_cb(uv_async_t *a)
{
    struct pxfix *fx = a->data;
    pthread_mutex_lock(&fx->mu);
    void (*fn)(struct pxfix *, void *) = fx->call_pending ? fx->call_fn : NULL;
    void *arg = fx->call_arg;
    pthread_mutex_unlock(&fx->mu);
    if (fn == NULL) {
        return;
    }
    fn(fx, arg);
    pthread_mutex_lock(&fx->mu);
    fx->call_pending = false;
    fx->call_done = true;
    pthread_cond_broadcast(&fx->cv);
    pthread_mutex_unlock(&fx->mu);
}

static void *px_thread_main(void *arg)
{
    struct pxfix *fx = arg;
    (void)uv_run(&fx->loop, UV_RUN_DEFAULT);
    pthread_mutex_lock(&fx->mu);
    fx->loop_exited = true;
    pthread_cond_broadcast(&fx->cv);
    pthread_mutex_unlock(&fx->mu);
    return NULL;
}

int pxfix_start(struct pxfix *fx, const struct tether_proxy_server_options *o)
{
    memset(fx, 0, sizeof(*fx));
    int rv = uv_loop_init(&fx->loop);
    if (rv != 0) {
        return TETHER_EINVAL;
    }
    pthread_mutex_init(&fx->mu, NULL);
    pthread_cond_init(&fx->cv, NULL);
    fx->async.data = fx;
    (void)uv_async_init(&fx->loop, &fx->async, px_async_cb);
    struct tether_proxy_server_options def;
    if (o == NULL) {
        pxfix_options(&def);
        o = &def;
    }
    rv = tether_proxy_server_new(&fx->loop, o, &fx->ps);
    if (rv != 0) {
        uv_close((uv_handle_t *)&fx->async, NULL);
        (void)uv_run(&fx->loop, UV_RUN_DEFAULT);
        (void)uv_loop_close(&fx->loop);
        pthread_cond_destroy(&fx->cv);
        pthread_mutex_destroy(&fx->mu);
        fx->stopped = true;
        return rv;
    }
    if (pthread_create(&fx->thread, NULL, px_thread_main, fx) != 0) {
        fx->ps = NULL; /* leaked on purpose: cannot happen in practice */
        fx->stopped = true;
        return TETHER_ENOMEM;
    }
    fx->thread_started = true;
    return 0;
}

void pxfix_run(struct pxfix *fx, void (*fn)(struct pxfix *fx, void *arg), void *arg)
{
    pthread_mutex_lock(&fx->mu);
    fx->call_fn = fn;
    fx->call_arg = arg;
    fx->call_pending = true;
    fx->call_done = false;
    pthread_mutex_unlock(&fx->mu);
    (void)uv_async_send(&fx->async);
    pthread_mutex_lock(&fx->mu);
    while (!fx->call_done && !fx->loop_exited) {
        pthread_cond_wait(&fx->cv, &fx->mu);
    }
    pthread_mutex_unlock(&fx->mu);
}

struct px_call_args {
    const char *method, *path, *body;
    struct px_reply *out;
};

static void px_call_on_loop(struct pxfix *fx, void *arg)
{
    struct px_call_args *a = arg;
    char *resp = NULL;
    size_t len = 0;
    int status = 0;
    a->out->rv = tether_proxy_server_call(fx->ps, a->method, a->path, a->body,
                                          a->body ? strlen(a->body) : 0, &status, &resp, &len);
    a->out->status = a->out->rv == 0 ? status : -1;
    a->out->body = malloc(len + 1);
    if (a->out->body != NULL) {
        if (resp != NULL && len > 0) {
            memcpy(a->out->body, resp, len);
        }
        a->out->body[len] = '\0';
        a->out->len = len;
    }
    tether_free(resp);
}

int pxfix_call(struct pxfix *fx, const char *method, const char *path, const char *body,
               struct px_reply *out)
{
    memset(out, 0, sizeof(*out));
    struct px_call_args a = {method, path, body, out};
    pxfix_run(fx, px_call_on_loop, &a);
    return out->status;
}

void px_reply_free(struct px_reply *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

struct px_port_args {
    const char *name;
    uint16_t port;
};

static void px_port_on_loop(struct pxfix *fx, void *arg)
{
    struct px_port_args *a = arg;
    if (tether_proxy_server_proxy_port(fx->ps, a->name, &a->port) != 0) {
        a->port = 0;
    }
}

uint16_t pxfix_proxy_port(struct pxfix *fx, const char *name)
{
    struct px_port_args a = {name, 0};
    pxfix_run(fx, px_port_on_loop, &a);
    return a.port;
}

static void px_close_cb(void *data)
{
    ((struct pxfix *)data)->close_cb_ran = true;
}

static void px_stop_on_loop(struct pxfix *fx, void *arg)
{
    (void)arg;
    if (fx->ps != NULL) {
        tether_proxy_server_close(fx->ps, px_close_cb, fx);
        fx->ps = NULL;
    }
    uv_close((uv_handle_t *)&fx->async, NULL);
}

int pxfix_stop(struct pxfix *fx, uint64_t timeout_ms)
{
    if (fx->stopped) {
        return 0;
    }
    tp_peer_stop(fx->peer);
    fx->peer = NULL;
    fx->stopped = true;
    if (!fx->thread_started) {
        return 0;
    }
    pxfix_run(fx, px_stop_on_loop, NULL);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    uint64_t ms = tt_test_scale_ms(timeout_ms);
    until.tv_sec += (time_t)(ms / 1000u);
    until.tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&fx->mu);
    while (!fx->loop_exited) {
        if (pthread_cond_timedwait(&fx->cv, &fx->mu, &until) == ETIMEDOUT) {
            break;
        }
    }
    bool exited = fx->loop_exited;
    pthread_mutex_unlock(&fx->mu);
    if (!exited) {
        return -1;
    }
    pthread_join(fx->thread, NULL);
    int rv = uv_loop_close(&fx->loop);
    if (rv == 0 && !fx->close_cb_ran) {
        rv = -2;
    }
    pthread_cond_destroy(&fx->cv);
    pthread_mutex_destroy(&fx->mu);
    return rv;
}

struct pxfix *pxfix_begin(void **state, const struct tether_proxy_server_options *o)
{
    (void)signal(SIGPIPE, SIG_IGN);
    struct pxfix *fx = calloc(1, sizeof(*fx));
    if (fx == NULL) {
        fail_msg("out of memory");
    }
    alarm((unsigned)(tt_test_scale_ms(60000) / 1000u));
    int rv = pxfix_start(fx, o);
    if (rv != 0) {
        free(fx);
        fail_msg("tether_proxy_server_new: %s (%d)", tether_err_name(rv), rv);
    }
    *state = fx;
    return fx;
}

uint16_t pxfix_begin_peer(void **state, const struct tether_proxy_server_options *o,
                          const struct tp_peer_opts *po, struct pxfix **out)
{
    struct pxfix *fx = pxfix_begin(state, o);
    int rv = tp_peer_start(po, &fx->peer);
    if (rv != 0) {
        fail_msg("tp_peer_start: %s", strerror(rv));
    }
    *out = fx;
    return px_proxy(fx, "p", tp_peer_port(fx->peer));
}

void pxfix_end(void **state)
{
    struct pxfix *fx = *state;
    int rv = pxfix_stop(fx, 5000);
    *state = NULL;
    free(fx);
    alarm(0);
    if (rv == -1) {
        fail_msg("the proxy's loop did not exit within 5 s after tether_proxy_server_close");
    }
    if (rv == -2) {
        fail_msg("tether_proxy_server_close's callback did not run");
    }
    if (rv != 0) {
        fail_msg("uv_loop_close() == %d (%s): a handle was leaked", rv, uv_err_name(rv));
    }
}

int pxfix_teardown(void **state)
{
    struct pxfix *fx = *state;
    if (fx != NULL) {
        if (pxfix_stop(fx, 5000) == 0) {
            free(fx); /* a fixture whose thread is still running is left alone */
        }
        *state = NULL;
    }
    alarm(0);
    return 0;
}
