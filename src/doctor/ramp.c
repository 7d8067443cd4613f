/* SPDX-License-Identifier: MIT */
/*
 * The opt-in connection ramp: open connections one at a time, each sending the probe request
 * and then held open, until one is not answered or the cap is reached. What the first
 * unanswered connection met tells the kind of limit (anchors doctor §5.7): closed or reset after
 * the accept (Node maxConnections, nginx worker_connections), or no answer at all (a full
 * accept queue, HAProxy maxconn queueing). Load on someone else's server, so it runs only when
 * asked, after the other measurements, and one connection at a time.
 */
#include <string.h>

#include "doctor/doctor_int.h"
#include "internal.h"

struct ramp_conn {
    struct dramp *r;
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    bool open; /* handle initialised, not yet closed */
    char buf[4096];
};

struct dramp {
    uv_loop_t *loop;
    struct sockaddr_storage addr;
    char *request; /* the doctor's, alive as long as the ramp */
    size_t request_len;
    unsigned cap;
    uint64_t timeout_ms;
    struct tether_doctor_ramp *out;
    dramp_done_cb done;
    void *arg;
    uv_timer_t timer;
    struct ramp_conn *conns;
    unsigned started;
    unsigned closing; /* handles still to close */
    bool ending;
    bool finished;
};

static void ramp_next(struct dramp *r);

static void ramp_one_closed(struct dramp *r)
{
    if (--r->closing == 0 && !r->finished) {
        r->finished = true;
        r->done(r->arg);
    }
}

static void ramp_timer_closed(uv_handle_t *h)
{
    ramp_one_closed(h->data);
}

static void ramp_conn_closed(uv_handle_t *h)
{
    struct ramp_conn *c = h->data;
    ramp_one_closed(c->r);
}

/* Ends the ramp: every held connection and the timer are closed, then `done` runs. */
static void ramp_end(struct dramp *r)
{
    if (r->ending) {
        return;
    }
    r->ending = true;
    r->closing = 1;
    uv_close((uv_handle_t *)&r->timer, ramp_timer_closed);
    for (unsigned i = 0; i < r->started; i++) {
        if (r->conns[i].open) {
            r->conns[i].open = false;
            r->closing++;
            uv_close((uv_handle_t *)&r->conns[i].tcp, ramp_conn_closed);
        }
    }
}

/* The newest connection was not answered: that is the limit. */
static void ramp_limit(struct dramp *r, enum tether_doctor_probe_outcome how, int uv_err)
{
    r->out->limit_found = true;
    r->out->limit_at = r->out->answered;
    r->out->how = how;
    r->out->uv_error = uv_err;
    ramp_end(r);
}

static void ramp_timeout(uv_timer_t *t)
{
    ramp_limit(t->data, TETHER_DOCTOR_PROBE_TIMEOUT, 0);
}

static void ramp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct ramp_conn *c = h->data;
    *buf = uv_buf_init(c->buf, sizeof(c->buf));
}

static void ramp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct ramp_conn *c = s->data;
    struct dramp *r = c->r;
    if (r->ending || nread == 0) {
        return;
    }
    bool newest = c == &r->conns[r->started - 1];
    if (nread > 0) {
        /* Bytes on an already answered connection are the rest of its response. */
        (void)uv_read_stop(s);
        if (newest) {
            r->out->answered++;
            ramp_next(r);
        }
        return;
    }
    if (newest) {
        ramp_limit(r,
                   nread == UV_EOF          ? TETHER_DOCTOR_PROBE_FIN
                   : nread == UV_ECONNRESET ? TETHER_DOCTOR_PROBE_RST
                                            : TETHER_DOCTOR_PROBE_ERROR,
                   nread == UV_EOF ? 0 : (int)nread);
    }
}

static void ramp_written(uv_write_t *w, int status)
{
    struct ramp_conn *c = w->data;
    if (status < 0 && !c->r->ending && c == &c->r->conns[c->r->started - 1]) {
        ramp_limit(c->r,
                   status == UV_ECONNRESET || status == UV_EPIPE ? TETHER_DOCTOR_PROBE_RST
                                                                 : TETHER_DOCTOR_PROBE_ERROR,
                   status);
    }
}

static void ramp_connected(uv_connect_t *req, int status)
{
    struct ramp_conn *c = req->data;
    struct dramp *r = c->r;
    if (r->ending) {
        return;
    }
    if (status < 0) {
        /* An RST right after the handshake can surface here, before any read. */
        ramp_limit(r, status == UV_ECONNRESET ? TETHER_DOCTOR_PROBE_RST : TETHER_DOCTOR_PROBE_ERROR,
                   status);
        return;
    }
    uv_buf_t b = uv_buf_init(r->request, (unsigned)r->request_len);
    c->write_req.data = c;
    int rv = uv_read_start((uv_stream_t *)&c->tcp, ramp_alloc, ramp_read);
    if (rv == 0) {
        rv = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, ramp_written);
    }
    if (rv < 0) {
        ramp_limit(r, TETHER_DOCTOR_PROBE_ERROR, rv);
    }
}

/* Opens the next connection; the timer bounds how long it may take to be answered. */
static void ramp_next(struct dramp *r)
{
    if (r->started == r->cap) {
        ramp_end(r);
        return;
    }
    struct ramp_conn *c = &r->conns[r->started++];
    r->out->tried = r->started;
    c->r = r;
    (void)uv_tcp_init(r->loop, &c->tcp);
    c->tcp.data = c;
    c->open = true;
    c->connect_req.data = c;
    (void)uv_timer_start(&r->timer, ramp_timeout, r->timeout_ms, 0);
    int rv =
        uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&r->addr, ramp_connected);
    if (rv < 0) {
        ramp_limit(r, TETHER_DOCTOR_PROBE_ERROR, rv);
    }
}

struct dramp *tt__dramp_start(uv_loop_t *loop, const struct sockaddr_storage *addr, char *request,
                              size_t request_len, unsigned cap, uint64_t timeout_ms,
                              struct tether_doctor_ramp *out, dramp_done_cb done, void *arg)
{
    struct dramp *r = tt__calloc(1, sizeof(*r));
    if (!r) {
        return NULL;
    }
    r->conns = tt__calloc(cap, sizeof(*r->conns));
    if (!r->conns) {
        tt__free(r);
        return NULL;
    }
    r->loop = loop;
    r->addr = *addr;
    r->request = request;
    r->request_len = request_len;
    r->cap = cap;
    r->timeout_ms = timeout_ms;
    r->out = out;
    r->done = done;
    r->arg = arg;
    memset(out, 0, sizeof(*out));
    (void)uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    ramp_next(r);
    return r;
}

void tt__dramp_cancel(struct dramp *r)
{
    if (r) {
        ramp_end(r);
    }
}

void tt__dramp_free(struct dramp *r)
{
    if (r) {
        tt__free(r->conns);
        tt__free(r);
    }
}
