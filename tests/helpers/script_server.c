/* SPDX-License-Identifier: MIT */
/* A scripted TCP server on the test's loop: exact bytes, FIN or RST on demand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>

#include "script_server.h"

struct ss_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct ss_server *srv;
    struct ss_conn *next;
    unsigned id;
    unsigned requests;
    int handles; /* still open */
    bool closing;
    void (*after_fn)(struct ss_conn *c, void *arg);
    void *after_arg;
    size_t len;
    char buf[65536];
};

struct ss_server {
    uv_tcp_t listener;
    uv_loop_t *loop;
    ss_request_cb cb;
    void *data;
    struct ss_conn *conns;
    uint16_t port;
    unsigned accepted;
    unsigned requests;
    bool stopping;
    bool listener_closed;
};

struct ss_write {
    uv_write_t req;
    char data[];
};

static void ss_maybe_free_server(struct ss_server *s)
{
    if (s->stopping && s->listener_closed && !s->conns) {
        free(s);
    }
}

static void ss_handle_closed(uv_handle_t *h)
{
    struct ss_conn *c = h->data;
    if (--c->handles > 0) {
        return;
    }
    struct ss_server *s = c->srv;
    for (struct ss_conn **pp = &s->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    free(c);
    ss_maybe_free_server(s);
}

static void ss_close_handles(struct ss_conn *c, bool reset)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    uv_close((uv_handle_t *)&c->timer, ss_handle_closed);
    if (reset) {
        if (uv_tcp_close_reset(&c->tcp, ss_handle_closed) == 0) {
            return;
        }
    }
    uv_close((uv_handle_t *)&c->tcp, ss_handle_closed);
}

static void ss_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ss_conn *c = h->data;
    (void)suggested;
    buf->base = c->buf + c->len;
    buf->len = sizeof(c->buf) - c->len;
}

/* Length of the first complete request in the buffer, or 0. */
static size_t ss_request_len(const struct ss_conn *c)
{
    const char *end = NULL;
    for (size_t i = 0; i + 3 < c->len; i++) {
        if (memcmp(c->buf + i, "\r\n\r\n", 4) == 0) {
            end = c->buf + i + 4;
            break;
        }
    }
    if (!end) {
        return 0;
    }
    size_t head = (size_t)(end - c->buf);
    size_t body = 0;
    for (size_t i = 0; i + 16 < head; i++) {
        if ((i == 0 || c->buf[i - 1] == '\n') &&
            strncasecmp(c->buf + i, "content-length:", 15) == 0) {
            body = (size_t)strtoul(c->buf + i + 15, NULL, 10);
            break;
        }
    }
    return c->len >= head + body ? head + body : 0;
}

static void ss_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct ss_conn *c = st->data;
    (void)buf;
    if (nread < 0) {
        ss_close_handles(c, false);
        return;
    }
    c->len += (size_t)nread;
    size_t n;
    while (!c->closing && (n = ss_request_len(c)) > 0) {
        /* NUL-terminated, so scripts may strstr() it: valgrind caught one reading past it. */
        char req[sizeof(c->buf) + 1];
        memcpy(req, c->buf, n);
        req[n] = '\0';
        memmove(c->buf, c->buf + n, c->len - n);
        c->len -= n;
        unsigned index = c->requests++;
        c->srv->requests++;
        c->srv->cb(c, index, req, n, c->srv->data);
    }
    if (!c->closing && c->len == sizeof(c->buf)) {
        ss_close_handles(c, true);
    }
}

static void ss_on_connection(uv_stream_t *l, int status)
{
    struct ss_server *s = l->data;
    if (status != 0 || s->stopping) {
        return;
    }
    struct ss_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        return;
    }
    c->srv = s;
    (void)uv_tcp_init(s->loop, &c->tcp);
    (void)uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->handles = 2;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
        ss_close_handles(c, false);
        c->next = s->conns;
        s->conns = c;
        return;
    }
    c->id = s->accepted++;
    c->next = s->conns;
    s->conns = c;
    (void)uv_read_start((uv_stream_t *)&c->tcp, ss_alloc, ss_read);
}

int ss_start(uv_loop_t *loop, ss_request_cb cb, void *data, struct ss_server **out)
{
    struct ss_server *s = calloc(1, sizeof(*s));
    struct sockaddr_in sa;
    struct sockaddr_storage bound;
    int len = (int)sizeof(bound);
    if (!s) {
        return UV_ENOMEM;
    }
    s->loop = loop;
    s->cb = cb;
    s->data = data;
    (void)uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    (void)uv_ip4_addr("127.0.0.1", 0, &sa);
    int r = uv_tcp_bind(&s->listener, (const struct sockaddr *)&sa, 0);
    if (r == 0) {
        r = uv_listen((uv_stream_t *)&s->listener, 128, ss_on_connection);
    }
    if (r == 0) {
        r = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len);
    }
    if (r != 0) {
        s->stopping = true;
        ss_stop(s);
        return r;
    }
    s->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    *out = s;
    return 0;
}

uint16_t ss_port(const struct ss_server *s)
{
    return s->port;
}

unsigned ss_accepted(const struct ss_server *s)
{
    return s->accepted;
}

unsigned ss_requests(const struct ss_server *s)
{
    return s->requests;
}

static void ss_listener_closed(uv_handle_t *h)
{
    struct ss_server *s = h->data;
    s->listener_closed = true;
    ss_maybe_free_server(s);
}

void ss_stop(struct ss_server *s)
{
    if (!s) {
        return;
    }
    s->stopping = true;
    for (struct ss_conn *c = s->conns; c; c = c->next) {
        ss_close_handles(c, false);
    }
    if (!uv_is_closing((uv_handle_t *)&s->listener)) {
        uv_close((uv_handle_t *)&s->listener, ss_listener_closed);
    }
}

struct ss_server *ss_conn_server(const struct ss_conn *c)
{
    return c->srv;
}

unsigned ss_conn_id(const struct ss_conn *c)
{
    return c->id;
}

static void ss_write_done(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

void ss_send(struct ss_conn *c, const void *data, size_t len)
{
    if (c->closing) {
        return;
    }
    struct ss_write *w = malloc(sizeof(*w) + len);
    if (!w) {
        return;
    }
    memcpy(w->data, data, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, ss_write_done) != 0) {
        free(w);
    }
}

void ss_send_str(struct ss_conn *c, const char *s)
{
    ss_send(c, s, strlen(s));
}

void ss_respond(struct ss_conn *c, int status, const char *extra_headers, const char *body)
{
    char head[1024];
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\n%sContent-Length: %zu\r\n\r\n", status,
                     extra_headers ? extra_headers : "", strlen(body));
    ss_send(c, head, (size_t)n);
    ss_send_str(c, body);
}

static void ss_shutdown_done(uv_shutdown_t *req, int status)
{
    struct ss_conn *c = req->data;
    (void)status;
    free(req);
    c->closing = false; /* the shutdown only reserved the close */
    ss_close_handles(c, false);
}

void ss_close(struct ss_conn *c)
{
    if (c->closing) {
        return;
    }
    uv_shutdown_t *req = malloc(sizeof(*req));
    if (req) {
        req->data = c;
        if (uv_shutdown(req, (uv_stream_t *)&c->tcp, ss_shutdown_done) == 0) {
            c->closing = true;
            (void)uv_read_stop((uv_stream_t *)&c->tcp);
            return;
        }
        free(req);
    }
    ss_close_handles(c, false);
}

void ss_reset(struct ss_conn *c)
{
    ss_close_handles(c, true);
}

static void ss_after_fire(uv_timer_t *t)
{
    struct ss_conn *c = t->data;
    if (!c->closing && c->after_fn) {
        c->after_fn(c, c->after_arg);
    }
}

void ss_after(struct ss_conn *c, uint64_t ms, void (*fn)(struct ss_conn *c, void *arg), void *arg)
{
    if (c->closing) {
        return;
    }
    c->after_fn = fn;
    c->after_arg = arg;
    (void)uv_timer_start(&c->timer, ss_after_fire, ms, 0);
}
