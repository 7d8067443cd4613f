/* SPDX-License-Identifier: MIT */
/* The request/response API the handler sees; framing and keep-alive are decided here. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server/server_int.h"
#include "util/http_date.h"

/* The response fields a handler adds: far above any real response head, bounded so a handler
 * bug cannot grow it without limit. */
#define REQUEST_RESPONSE_FIELDS_MAX (64u * 1024u)
/* A complete response up to this size leaves in one write with its head. */
#define REQUEST_ONE_WRITE_MAX (64u * 1024u)

struct tether_request *tt__request_new(struct tt__srv_conn *c, const struct tt__h1_head *h)
{
    size_t need = h->method.len + h->target.len + 2;
    for (size_t i = 0; i < h->nfields; i++) {
        need += h->fields[i].name.len + h->fields[i].value.len + 2;
    }
    struct tether_request *req = tt__calloc(1, sizeof(*req));
    char *strings = tt__malloc(need);
    const char **ptrs = tt__calloc(h->nfields ? h->nfields * 2 : 1, sizeof(char *));
    if (!req || !strings || !ptrs) {
        tt__free(req);
        tt__free(strings);
        tt__free((void *)ptrs);
        return NULL;
    }
    /* One copy of the head, NUL-terminated pieces: the connection's buffer moves on. */
    char *p = strings;
#define COPY_SPAN(dst, span)                                                                       \
    do {                                                                                           \
        memcpy(p, (span).ptr, (span).len);                                                         \
        p[(span).len] = '\0';                                                                      \
        (dst) = p;                                                                                 \
        p += (span).len + 1;                                                                       \
    } while (0)
    COPY_SPAN(req->method, h->method);
    COPY_SPAN(req->target, h->target);
    req->names = ptrs;
    req->values = ptrs + h->nfields;
    for (size_t i = 0; i < h->nfields; i++) {
        COPY_SPAN(req->names[i], h->fields[i].name);
        COPY_SPAN(req->values[i], h->fields[i].value);
    }
#undef COPY_SPAN
    req->strings = strings;
    req->nfields = h->nfields;
    req->conn = c;
    req->srv = c->srv;
    req->version_minor = h->version_minor;
    req->index = c->requests;
    req->keep_alive_requested = h->keep_alive;
    req->is_head = strcmp(req->method, "HEAD") == 0;
    req->has_body =
        h->body == TT__H1_BODY_CHUNKED || (h->body == TT__H1_BODY_LENGTH && h->content_length > 0);
    memcpy(req->peer, c->stream.peer, sizeof(req->peer));
    tt__buf_init(&req->fields, REQUEST_RESPONSE_FIELDS_MAX);
    tt__defer_item_init(&req->drain_item, NULL);
    tt__defer_item_init(&req->resume_item, NULL);
    tt__defer_item_init(&req->detach_item, NULL);
    return req;
}

void tt__request_free(struct tether_request *req)
{
    tt__defer_cancel(&req->drain_item);
    tt__defer_cancel(&req->resume_item);
    tt__defer_cancel(&req->detach_item);
    tt__buf_cleanup(&req->fields);
    tt__free(req->strings);
    tt__free((void *)req->names);
    tt__free(req);
}

void tt__request_deliver_body(struct tether_request *req, int status, const char *data, size_t len,
                              bool done)
{
    if (req->body_cb) {
        req->body_cb(req, status, data, len, done);
    }
}

/* Frees a detached request now, or after the callback it is being ended from returns. */
static void request_release(struct tether_request *req)
{
    if (req->in_callback) {
        req->free_pending = true;
        return;
    }
    tt__request_free(req);
}

static void request_run_detach(struct tt__defer_item *it)
{
    struct tether_request *req = tt__container_of(it, struct tether_request, detach_item);
    tether_drain_cb cb = req->detach_cb;
    req->detach_cb = NULL;
    if (cb) {
        cb(req);
    }
}

void tt__request_detach(struct tether_request *req, int status)
{
    bool body_pending = req->has_body && req->conn && req->conn->rstate == TT__SRV_READ_BODY;
    req->conn = NULL;
    /* Every callback the handler waits for fires once more, so a handler that only acts in
     * callbacks learns that the connection is gone and can end (and free) the request. */
    if (body_pending && req->body_cb) {
        tether_body_cb cb = req->body_cb;
        req->body_cb = NULL;
        req->in_callback = true;
        cb(req, status, NULL, 0, true);
        req->in_callback = false;
        if (req->free_pending) {
            tt__request_free(req);
            return;
        }
    }
    if (req->drain_cb) {
        tt__server_defer_drain(req->srv, req);
    }
    if (req->detach_cb) {
        req->detach_item.cb = request_run_detach;
        tt__defer_queue(&req->srv->defer, &req->detach_item);
    }
}

tether_server *tether_request_server(const tether_request *req)
{
    return req->srv;
}

const char *tether_request_method(const tether_request *req)
{
    return req->method;
}

const char *tether_request_target(const tether_request *req)
{
    return req->target;
}

int tether_request_version_minor(const tether_request *req)
{
    return req->version_minor;
}

size_t tether_request_field_count(const tether_request *req)
{
    return req->nfields;
}

bool tether_request_field(const tether_request *req, size_t i, const char **name,
                          const char **value)
{
    if (i >= req->nfields) {
        return false;
    }
    *name = req->names[i];
    *value = req->values[i];
    return true;
}

const char *tether_request_header(const tether_request *req, const char *name)
{
    struct tt__h1_str want = {name, strlen(name)};
    for (size_t i = 0; i < req->nfields; i++) {
        struct tt__h1_str have = {req->names[i], strlen(req->names[i])};
        if (have.len == want.len && tt__h1_str_eq_nocase(have, name)) {
            return req->values[i];
        }
    }
    return NULL;
}

const char *tether_request_peer(const tether_request *req)
{
    return req->peer;
}

unsigned tether_request_index_on_connection(const tether_request *req)
{
    return req->index;
}

void tether_request_on_body(tether_request *req, tether_body_cb cb)
{
    req->body_cb = cb;
}

static void request_run_resume(struct tt__defer_item *it)
{
    struct tether_request *req = tt__container_of(it, struct tether_request, resume_item);
    if (req->conn && !req->body_paused) {
        tt__srv_conn_resume_body(req->conn);
    }
}

void tether_request_pause_body(tether_request *req, bool paused)
{
    if (!req || req->body_paused == paused) {
        return;
    }
    req->body_paused = paused;
    if (paused) {
        tt__defer_cancel(&req->resume_item);
    } else if (req->conn) {
        /* On the next loop turn: body callbacks never run inside the call (STYLE §3). */
        req->resume_item.cb = request_run_resume;
        tt__defer_queue(&req->srv->defer, &req->resume_item);
    }
}

void tether_request_on_detach(tether_request *req, tether_drain_cb cb)
{
    if (!req) {
        return;
    }
    req->detach_cb = cb;
    if (cb && !req->conn) {
        /* Already gone: still told on a later turn, never inside this call. */
        req->detach_item.cb = request_run_detach;
        tt__defer_queue(&req->srv->defer, &req->detach_item);
    }
}

void tether_request_set_data(tether_request *req, void *data)
{
    req->data = data;
}

void *tether_request_get_data(const tether_request *req)
{
    return req->data;
}

bool tether_request_is_detached(const tether_request *req)
{
    return req->conn == NULL;
}

int tether_response_start(tether_request *req, int status)
{
    if (req->started || status < 100 || status > 999 || (status >= 100 && status < 200)) {
        /* Interim responses are the server's business (100 Continue), not the handler's. */
        return TETHER_EINVAL;
    }
    req->started = true;
    req->status = status;
    return req->conn ? 0 : TETHER_ECANCELED;
}

/* 205 Reset Content "MUST NOT generate content" (RFC 9110 §15.3.6); unlike 204 and 304 its
 * framing is still read by clients, so it goes out with Content-Length: 0. */
static bool request_no_body(const struct tether_request *req)
{
    return req->is_head || req->status == 204 || req->status == 205 || req->status == 304;
}

int tether_response_header(tether_request *req, const char *name, const char *value)
{
    size_t nlen = strlen(name);
    size_t vlen = strlen(value);
    struct tt__h1_str n = {name, nlen};
    if (!req->started || req->head_sent) {
        return TETHER_EINVAL;
    }
    if (!tt__h1_is_token(name, nlen) || !tt__h1_is_field_value(value, vlen)) {
        return TETHER_EINVAL;
    }
    /* Framing and connection management stay with the server, so a handler cannot make the
     * response lie about its length or keep a connection the server is closing. */
    if (tt__h1_str_eq_nocase(n, "content-length")) {
        uint64_t cl;
        if (tt__h1_parse_content_length(value, vlen, &cl) != 0) {
            return TETHER_EINVAL;
        }
        req->has_content_length = true;
        req->content_length = cl;
        return 0;
    }
    if (tt__h1_str_eq_nocase(n, "connection")) {
        unsigned flags = 0;
        if (tt__h1_parse_connection(value, vlen, &flags) != 0) {
            return TETHER_EINVAL;
        }
        req->user_close |= (flags & TT__H1_CONN_CLOSE) != 0;
        return 0;
    }
    if (tt__h1_str_eq_nocase(n, "transfer-encoding") || tt__h1_str_eq_nocase(n, "keep-alive")) {
        return TETHER_EINVAL;
    }
    return tt__h1_write_field(&req->fields, name, nlen, value, vlen);
}

/* Decides keep-alive and framing, then queues the head. `final_len` is the whole body when
 * the handler ends without writing first (so Content-Length can be used). */
/* "HTTP/1.1 NNN Reason\r\nDate: ...\r\n" without printf, and the date formatted once a second:
 * this runs for every response, and vsnprintf with its format parsing was 6 % of a profile of
 * `tether serve` under wrk -c100. */
static int request_append_status_date(struct tether_server *srv, struct tt__buf *head, int status)
{
    char line[13] = "HTTP/1.1 ";
    line[9] = (char)('0' + status / 100 % 10);
    line[10] = (char)('0' + status / 10 % 10);
    line[11] = (char)('0' + status % 10);
    line[12] = ' ';
    int64_t now = (int64_t)time(NULL);
    if (now != srv->date_at) {
        ttx_http_date_format(now, srv->date);
        srv->date_at = now;
    }
    int rv = tt__buf_append(head, line, sizeof(line));
    if (rv == 0) {
        rv = tt__buf_append_str(head, tt__h1_status_reason(status));
    }
    if (rv == 0) {
        rv = tt__buf_append(head, "\r\nDate: ", 8);
    }
    if (rv == 0) {
        rv = tt__buf_append_str(head, srv->date);
    }
    if (rv == 0) {
        rv = tt__buf_append(head, "\r\n", 2);
    }
    return rv;
}

static int request_send_head(struct tether_request *req, bool final, size_t final_len,
                             const void *final_body)
{
    struct tt__srv_conn *c = req->conn;
    struct tether_server *srv = req->srv;
    const struct tether_server_options *o = &srv->opts;
    uint64_t now = tt__server_now(srv);

    if (!req->has_content_length && final && req->status != 204 && req->status != 304) {
        req->has_content_length = true;
        req->content_length = final_len;
    }
    if (req->status == 205) {
        req->has_content_length = true;
        req->content_length = 0;
    }
    req->chunked = !req->has_content_length && !request_no_body(req) && req->version_minor == 1;

    enum tether_close_cause cause = TETHER_CLOSE_NOT_KEEP_ALIVE;
    bool keep = o->keep_alive_timeout_ms > 0 && req->keep_alive_requested && !req->user_close &&
                !c->peer_eof;
    /* HTTP/1.0 without a length can only end its body by closing. */
    if (keep && !req->has_content_length && !req->chunked && !request_no_body(req)) {
        keep = false;
    }
    if (keep && srv->shutting_down) {
        keep = false;
        cause = TETHER_CLOSE_SHUTDOWN;
    }
    if (keep && o->max_requests_per_conn && c->requests >= o->max_requests_per_conn) {
        keep = false;
        cause = TETHER_CLOSE_MAX_REQUESTS;
    }
    if (keep && o->max_conn_age_ms && now - c->accepted_at_ms >= o->max_conn_age_ms) {
        keep = false;
        cause = TETHER_CLOSE_MAX_AGE;
    }
    c->close_after_response = !keep;
    c->close_cause = cause;

    struct tt__buf head;
    tt__buf_init(&head, req->fields.len + 1024);
    int rv = request_append_status_date(srv, &head, req->status);
    if (rv == 0 && req->fields.len) {
        rv = tt__buf_append(&head, req->fields.data, req->fields.len);
    }
    if (rv == 0 && req->has_content_length && req->status != 204) {
        rv = tt__buf_append_str(&head, "Content-Length: ");
        if (rv == 0) {
            rv = tt__buf_append_u64(&head, req->content_length);
        }
        if (rv == 0) {
            rv = tt__buf_append(&head, "\r\n", 2);
        }
    } else if (rv == 0 && req->chunked) {
        rv = tt__buf_append_str(&head, "Transfer-Encoding: chunked\r\n");
    }
    if (rv == 0 && keep) {
        rv = tt__buf_append_str(&head, "Connection: keep-alive\r\n");
        /* The hint counts whole seconds: below one second it would say timeout=0, which some
         * clients read as "do not reuse", so none is sent. */
        if (rv == 0 && !o->no_keep_alive_hint && o->keep_alive_timeout_ms >= 1000) {
            /* S1: advertise less than we enforce (the buffer), so clients that honour the hint
             * always retire the socket before we close it. */
            rv = tt__buf_append_str(&head, "Keep-Alive: timeout=");
            if (rv == 0) {
                rv = tt__buf_append_u64(&head, o->keep_alive_timeout_ms / 1000);
            }
            if (rv == 0 && o->max_requests_per_conn) {
                rv = tt__buf_append_str(&head, ", max=");
            }
            if (rv == 0 && o->max_requests_per_conn) {
                rv = tt__buf_append_u64(&head, o->max_requests_per_conn - c->requests);
            }
            if (rv == 0) {
                rv = tt__buf_append(&head, "\r\n", 2);
            }
        }
    } else if (rv == 0) {
        rv = tt__buf_append_str(&head, "Connection: close\r\n");
    }
    if (rv == 0) {
        rv = tt__buf_append(&head, "\r\n", 2);
    }
    /* A small complete response leaves in one write: one segment with nodelay, like nginx's
     * writev, instead of a head segment and a body segment. */
    bool with_body = final && final_body && final_len > 0 && final_len <= REQUEST_ONE_WRITE_MAX &&
                     !req->chunked && !request_no_body(req);
    if (rv == 0 && with_body) {
        head.max_len += final_len;
        rv = tt__buf_append(&head, final_body, final_len);
    }
    if (rv == 0) {
        rv = tt__srv_conn_write(c, head.data, head.len);
    }
    tt__buf_cleanup(&head);
    if (rv == 0 && with_body) {
        req->body_written = final_len;
        req->body_sent_with_head = true;
    }
    if (rv == 0) {
        req->head_sent = true;
        if (req->status / 100 <= 5) {
            srv->stats.responses_by_class[req->status / 100]++;
        }
    }
    return rv;
}

static int request_write_body(struct tether_request *req, const void *data, size_t len)
{
    if (len == 0 || request_no_body(req)) {
        req->body_written += len;
        return 0;
    }
    if (req->has_content_length && len > req->content_length - req->body_written) {
        return TETHER_EINVAL;
    }
    req->body_written += len;
    if (!req->chunked) {
        return tt__srv_conn_write(req->conn, data, len);
    }
    struct tt__buf chunk;
    tt__buf_init(&chunk, len + 32);
    int rv = tt__h1_write_chunk(&chunk, data, len);
    if (rv == 0) {
        rv = tt__srv_conn_write(req->conn, chunk.data, chunk.len);
    }
    tt__buf_cleanup(&chunk);
    return rv;
}

int tether_response_write(tether_request *req, const void *data, size_t len)
{
    if (!req->started || req->ended) {
        return TETHER_EINVAL;
    }
    if (!req->conn) {
        return TETHER_ECANCELED;
    }
    if (!req->head_sent) {
        int rv = request_send_head(req, false, 0, NULL);
        if (rv != 0) {
            return rv;
        }
    }
    return request_write_body(req, data, len);
}

/* Frees the request and lets the connection move on. */
static void request_finish(struct tether_request *req)
{
    struct tt__srv_conn *c = req->conn;
    tt__request_free(req);
    if (c) {
        tt__srv_conn_request_done(c);
    }
}

int tether_response_end(tether_request *req, const void *data, size_t len)
{
    if (!req->started || req->ended) {
        return TETHER_EINVAL;
    }
    req->ended = true;
    if (!req->conn) {
        request_release(req);
        return TETHER_ECANCELED;
    }
    int rv = 0;
    if (!req->head_sent) {
        rv = request_send_head(req, true, len, data);
    }
    if (rv == 0 && !req->body_sent_with_head) {
        rv = request_write_body(req, data, len);
    }
    if (rv == 0 && req->chunked) {
        struct tt__buf last;
        tt__buf_init(&last, 8);
        rv = tt__h1_write_last_chunk(&last);
        if (rv == 0) {
            rv = tt__srv_conn_write(req->conn, last.data, last.len);
        }
        tt__buf_cleanup(&last);
    }
    struct tt__srv_conn *c = req->conn;
    if (rv != 0 || (req->has_content_length && !request_no_body(req) &&
                    req->body_written != req->content_length)) {
        /* A response shorter than it said, or one we failed to queue, leaves the client
         * unable to find the next message: closing is the only honest end. */
        c->close_after_response = true;
        c->close_cause = TETHER_CLOSE_HANDLER_ABORT;
        if (!req->head_sent) {
            c->req = NULL;
            tt__request_free(req);
            tt__srv_conn_fail(c, 500, "response failed", TETHER_CLOSE_HANDLER_ABORT);
            return rv ? rv : TETHER_EINVAL;
        }
    }
    request_finish(req);
    return rv;
}

int tether_response_send(tether_request *req, int status, const char *content_type,
                         const void *body, size_t len)
{
    int rv = tether_response_start(req, status);
    if (rv == 0 && content_type) {
        rv = tether_response_header(req, "Content-Type", content_type);
    }
    if (rv != 0 && rv != TETHER_ECANCELED) {
        /* The caller lets go of `req` whatever this returns: a response that cannot be
         * started ends the exchange here. */
        tether_request_abort(req);
        return rv;
    }
    return tether_response_end(req, body, len);
}

void tether_response_on_drain(tether_request *req, tether_drain_cb cb)
{
    req->drain_cb = cb;
    if (!req->conn || req->conn->writes_pending == 0) {
        /* Nothing in flight will complete to trigger it: defer to the next loop turn, never
         * calling back before this returns (STYLE §3). */
        tt__server_defer_drain(req->srv, req);
    }
}

void tether_request_abort(tether_request *req)
{
    struct tt__srv_conn *c = req->conn;
    if (c) {
        c->req = NULL;
        req->conn = NULL;
        tt__srv_conn_close(c, TETHER_CLOSE_HANDLER_ABORT);
    }
    request_release(req);
}
