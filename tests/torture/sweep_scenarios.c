/* SPDX-License-Identifier: MIT */
/* The sweep's scenarios: each exercises one component the way a user does, tolerates any
 * step failing, and always closes what it opened. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "tether/tether.h"

#include "http1/http1.h"
#include "internal.h"
#include "script_server.h"
#include "sweep.h"

/* ---- the raw client ---- */

static void raw_closed(uv_handle_t *h)
{
    struct sweep_raw *raw = h->data;
    raw->done(raw);
}

static void raw_close(struct sweep_raw *raw, int status)
{
    if (!uv_is_closing((uv_handle_t *)&raw->tcp)) {
        raw->status = status;
        uv_close((uv_handle_t *)&raw->tcp, raw_closed);
    }
}

static void raw_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    struct sweep_raw *raw = h->data;
    size_t room = sizeof(raw->buf) - raw->got;
    if (room == 0) {
        raw->got = 0; /* only the end matters: keep reading into the same space */
        room = sizeof(raw->buf);
    }
    buf->base = raw->buf + raw->got;
    buf->len = room;
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    struct sweep_raw *raw = s->data;
    if (n < 0) {
        raw_close(raw, n == UV_EOF ? 0 : (int)n);
        return;
    }
    raw->got += (size_t)n;
}

static void raw_written(uv_write_t *w, int status)
{
    struct sweep_raw *raw = w->data;
    if (status != 0) {
        raw_close(raw, status);
    }
}

static void raw_connected(uv_connect_t *c, int status)
{
    struct sweep_raw *raw = c->data;
    if (status != 0 || uv_is_closing((uv_handle_t *)&raw->tcp)) {
        raw_close(raw, status);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)raw->req, (unsigned)strlen(raw->req));
    raw->write.data = raw;
    int rv = uv_write(&raw->write, (uv_stream_t *)&raw->tcp, &b, 1, raw_written);
    if (rv == 0) {
        rv = uv_read_start((uv_stream_t *)&raw->tcp, raw_alloc, raw_read);
    }
    if (rv != 0) {
        raw_close(raw, rv);
    }
}

void sweep_raw_start(uv_loop_t *loop, struct sweep_raw *raw, uint16_t port, const char *req,
                     void (*done)(struct sweep_raw *raw), void *data)
{
    memset(raw, 0, sizeof(*raw));
    raw->req = req;
    raw->done = done;
    raw->data = data;
    (void)uv_tcp_init(loop, &raw->tcp);
    raw->tcp.data = raw;
    raw->connect.data = raw;
    struct sockaddr_in sa;
    (void)uv_ip4_addr("127.0.0.1", port, &sa);
    int rv = uv_tcp_connect(&raw->connect, &raw->tcp, (const struct sockaddr *)&sa, raw_connected);
    if (rv != 0) {
        raw_close(raw, rv);
    }
}

void sweep_raw_abort(struct sweep_raw *raw)
{
    raw_close(raw, UV_ECANCELED);
}

/* ---- parsing: core buffers, the HTTP/1 writer and parser, the policy reader ---- */

static void parsing_start(struct sweep_run *r)
{
    struct tt__buf b;
    tt__buf_init(&b, 1u << 20);
    for (int i = 0; i < 64; i++) {
        if (tt__buf_appendf(&b, "line %d of the growing buffer\n", i) != 0) {
            r->failed = true;
            break;
        }
    }
    tt__buf_consume(&b, b.len / 2);
    tt__buf_cleanup(&b);

    struct tt__buf out;
    tt__buf_init(&out, 64u * 1024);
    const struct tt__h1_field fields[] = {
        {{"Host", 4}, {"example.test", 12}},
        {{"Transfer-Encoding", 17}, {"chunked", 7}},
    };
    int rv = tt__h1_write_request_head(&out, "POST", "/upload?x=1", fields, 2);
    if (rv == 0) {
        rv = tt__h1_write_chunk(&out, "hello", 5);
    }
    if (rv == 0) {
        rv = tt__h1_write_last_chunk(&out);
    }
    if (rv == 0) {
        struct tt__h1_parser p;
        struct tt__h1_head h;
        struct tt__h1_field parsed[8];
        memset(&h, 0, sizeof(h));
        h.fields = parsed;
        h.fields_cap = 8;
        tt__h1_parser_init(&p, NULL);
        if (tt__h1_parse_request(&p, out.data, out.len, &h) <= 0) {
            r->failed = true;
        }
    } else {
        r->failed = true;
    }
    tt__buf_cleanup(&out);

    static const char json[] =
        "{\"base\":\"default\",\"max_attempts\":4,\"backoff_base_ms\":\"10ms\","
        "\"backoff_cap_ms\":\"2s\",\"retry_statuses\":[429,503],\"deadline_ms\":\"5s\","
        "\"idle_timeout_ms\":\"3s\",\"breaker\":\"on\",\"budget_ratio\":0.1,\"jitter\":\"equal\"}";
    struct tether_policy pol;
    char err[256];
    if (tether_policy_from_json(json, sizeof(json) - 1, &pol, err, sizeof(err)) != 0) {
        if (r->n == 0) {
            fprintf(stderr, "parsing: %s\n", err);
        }
        r->failed = true;
    }
    sweep_finish(r);
}

static void parsing_abort(struct sweep_run *r)
{
    (void)r;
}

const struct sweep_scenario sweep_parsing = {"parsing", parsing_start, parsing_abort};

/* ---- client: fetches with a retry, a replay and a chunked body against a scripted server ---- */

struct client_state {
    struct ss_server *ss;
    tether_client *client;
    unsigned next;
};

static void client_on_request(struct ss_conn *c, unsigned index, const char *req, size_t len,
                              void *data)
{
    (void)len;
    (void)data;
    unsigned seen = ss_requests(ss_conn_server(c));
    if (strncmp(req, "GET /retry", 10) == 0 && seen % 2 == 1) {
        ss_respond(c, 503, "Retry-After: 0\r\n", "busy");
    } else if (strncmp(req, "POST /replay", 12) == 0 && index > 0) {
        ss_close(c); /* a reused connection closed under the request: a replay */
    } else if (strncmp(req, "GET /redirect", 13) == 0) {
        ss_respond(c, 302, "Location: /first?from=redirect\r\n", "moved");
    } else if (strncmp(req, "GET /resume", 11) == 0 && !strstr(req, "Range:")) {
        /* Half the body, then a cut: the client resumes with Range and If-Range. */
        ss_send_str(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nETag: \"v1\"\r\n"
                       "Accept-Ranges: bytes\r\n\r\n01234");
        ss_close(c);
    } else if (strncmp(req, "GET /resume", 11) == 0) {
        ss_send_str(c, "HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\nETag: \"v1\"\r\n"
                       "Content-Range: bytes 5-9/10\r\n\r\n56789");
    } else if (strncmp(req, "GET /chunked", 12) == 0) {
        ss_send_str(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n");
    } else {
        ss_respond(c, 200, "Keep-Alive: timeout=5\r\n", "hello world");
    }
}

static void client_on_event(tether_client *c, const struct tether_event *ev)
{
    (void)c;
    (void)ev; /* installed so the events are built and delivered */
}

static void client_closed(void *data)
{
    struct sweep_run *r = data;
    struct client_state *st = r->state;
    ss_stop(st->ss);
    free(st);
    r->state = NULL;
    sweep_finish(r);
}

static void client_next(struct sweep_run *r);

static void client_done(tether_fetch *f, int status)
{
    struct sweep_run *r = tether_fetch_get_data(f);
    if (status != 0) {
        r->failed = true;
    }
    tether_fetch_free(f);
    client_next(r);
}

static void client_next(struct sweep_run *r)
{
    static const char *const paths[] = {"/first",   "/retry",    "/replay",
                                        "/chunked", "/redirect", "/resume"};
    struct client_state *st = r->state;
    while (st->next < sizeof(paths) / sizeof(paths[0])) {
        const char *path = paths[st->next++];
        char url[96];
        (void)snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)ss_port(st->ss), path);
        struct tether_fetch_options o;
        tether_fetch_options_init(&o);
        o.url = url;
        o.data = r;
        static const struct tether_header h[] = {{"X-Sweep", "1"}};
        o.headers = h;
        o.nheaders = 1;
        o.max_redirects = 2;
        if (strcmp(path, "/replay") == 0) {
            o.method = "POST";
            o.body = "payload";
            o.body_len = 7;
            o.idempotency_key = "sweep-1";
        }
        if (tether_client_fetch(st->client, &o, client_done, NULL) == 0) {
            return;
        }
        r->failed = true;
    }
    tether_client_close(st->client, client_closed, r);
    st->client = NULL;
}

static void client_start(struct sweep_run *r)
{
    struct client_state *st = calloc(1, sizeof(*st));
    if (!st || ss_start(&r->loop, client_on_request, r, &st->ss) != 0) {
        free(st);
        r->failed = true;
        sweep_finish(r);
        return;
    }
    r->state = st;
    struct tether_client_options co;
    tether_client_options_init(&co);
    co.policy.backoff_base_ms = 1;
    co.policy.deadline_ms = 3000;
    co.policy.breaker = TETHER_BREAKER_ON;
    if (tether_client_new(&r->loop, &co, &st->client) != 0) {
        r->failed = true;
        client_closed(r);
        return;
    }
    tether_client_on_event(st->client, client_on_event);
    client_next(r);
}

static void client_abort(struct sweep_run *r)
{
    struct client_state *st = r->state;
    if (st && st->client) {
        tether_client_close(st->client, client_closed, r);
        st->client = NULL;
    }
}

const struct sweep_scenario sweep_client = {"client", client_start, client_abort};

/* ---- server: keep-alive exchanges, a request body, a chunked response, then close ---- */

struct server_state {
    tether_server *srv;
    struct sweep_raw raw;
};

static void server_body(tether_request *req, int status, const char *data, size_t len, bool done)
{
    (void)data;
    (void)len;
    if (status != 0) {
        tether_request_abort(req);
        return;
    }
    if (done) {
        (void)tether_response_send(req, 200, "text/plain", "got it", 6);
    }
}

static void server_on_request(tether_server *srv, tether_request *req)
{
    (void)srv;
    const char *t = tether_request_target(req);
    if (strcmp(t, "/body") == 0) {
        tether_request_on_body(req, server_body);
        return;
    }
    if (strcmp(t, "/chunked") == 0) {
        if (tether_response_start(req, 200) == 0 && tether_response_write(req, "abc", 3) == 0) {
            (void)tether_response_end(req, "def", 3);
        } else {
            (void)tether_response_end(req, NULL, 0);
        }
        return;
    }
    (void)tether_response_send(req, 200, "text/plain", "hello", 5);
}

static void server_closed(void *data)
{
    struct sweep_run *r = data;
    free(r->state);
    r->state = NULL;
    sweep_finish(r);
}

static void server_raw_done(struct sweep_raw *raw)
{
    struct sweep_run *r = raw->data;
    struct server_state *st = r->state;
    if (raw->status != 0 || !strstr(raw->buf, "def")) {
        r->failed = true;
    }
    tether_server_close(st->srv, server_closed, r);
}

static void server_start(struct sweep_run *r)
{
    struct server_state *st = calloc(1, sizeof(*st));
    if (!st) {
        r->failed = true;
        sweep_finish(r);
        return;
    }
    r->state = st;
    struct tether_server_options so;
    tether_server_options_init(&so);
    so.on_request = server_on_request;
    so.data = r;
    so.headers_timeout_ms = 1000;
    so.body_timeout_ms = 1000;
    so.lingering_time_ms = 200;
    so.lingering_timeout_ms = 100;
    if (tether_server_new(&r->loop, &so, &st->srv) != 0) {
        r->failed = true;
        server_closed(r);
        return;
    }
    static const char req[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                              "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                              "POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                              "\r\n3\r\nabc\r\n0\r\n\r\n"
                              "GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    sweep_raw_start(&r->loop, &st->raw, tether_server_port(st->srv), req, server_raw_done, r);
}

static void server_abort(struct sweep_run *r)
{
    struct server_state *st = r->state;
    if (st) {
        sweep_raw_abort(&st->raw);
    }
}

const struct sweep_scenario sweep_server = {"server", server_start, server_abort};

/* ---- proxy: the API, a proxy with toxics, one connection through it ---- */

struct proxy_state {
    struct ss_server *ss;
    tether_proxy_server *ps;
    struct sweep_raw raw;
    bool raw_running;
};

static void proxy_upstream(struct ss_conn *c, unsigned index, const char *req, size_t len,
                           void *data)
{
    (void)index;
    (void)req;
    (void)len;
    (void)data;
    ss_send_str(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    ss_close(c);
}

static void proxy_closed(void *data)
{
    struct sweep_run *r = data;
    struct proxy_state *st = r->state;
    ss_stop(st->ss);
    free(st);
    r->state = NULL;
    sweep_finish(r);
}

static void proxy_raw_done(struct sweep_raw *raw)
{
    struct sweep_run *r = raw->data;
    struct proxy_state *st = r->state;
    st->raw_running = false;
    if (raw->status != 0 || !strstr(raw->buf, "hello")) {
        r->failed = true;
    }
    tether_proxy_server_close(st->ps, proxy_closed, r);
}

/* One API call; false when it could not be made or was refused. */
static bool proxy_call(struct proxy_state *st, const char *method, const char *path,
                       const char *body)
{
    int status = 0;
    char *resp = NULL;
    int rv = tether_proxy_server_call(st->ps, method, path, body, body ? strlen(body) : 0, &status,
                                      &resp, NULL);
    tether_free(resp);
    return rv == 0 && status < 300;
}

static void proxy_start(struct sweep_run *r)
{
    struct proxy_state *st = calloc(1, sizeof(*st));
    if (!st || ss_start(&r->loop, proxy_upstream, r, &st->ss) != 0) {
        free(st);
        r->failed = true;
        sweep_finish(r);
        return;
    }
    r->state = st;
    struct tether_proxy_server_options po;
    tether_proxy_server_options_init(&po);
    po.api_host = NULL;
    po.has_seed = true;
    po.seed = 7;
    if (tether_proxy_server_new(&r->loop, &po, &st->ps) != 0) {
        r->failed = true;
        ss_stop(st->ss);
        free(st);
        r->state = NULL;
        sweep_finish(r);
        return;
    }
    char body[160];
    (void)snprintf(body, sizeof(body),
                   "{\"name\":\"p\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}",
                   (unsigned)ss_port(st->ss));
    uint16_t port = 0;
    bool ok =
        proxy_call(st, "POST", "/proxies", body) &&
        proxy_call(st, "POST", "/proxies/p/toxics",
                   "{\"type\":\"latency\",\"attributes\":{\"latency\":1,\"jitter\":1}}") &&
        proxy_call(st, "POST", "/proxies/p/toxics",
                   "{\"type\":\"slicer\",\"stream\":\"upstream\",\"attributes\":"
                   "{\"average_size\":8,\"size_variation\":4,\"delay\":0}}") &&
        proxy_call(st, "POST", "/proxies/p/toxics",
                   "{\"name\":\"cut\",\"type\":\"limit_data\",\"toxicity\":0.5,"
                   "\"attributes\":{\"bytes\":100000}}") &&
        proxy_call(st, "POST", "/proxies/p/toxics/cut", "{\"attributes\":{\"bytes\":200000}}") &&
        proxy_call(st, "POST", "/proxies/p/toxics",
                   "{\"name\":\"idle\",\"type\":\"idle_timeout\",\"attributes\":"
                   "{\"timeout\":60000,\"action\":\"rst\"}}") &&
        proxy_call(st, "POST", "/proxies/p/toxics", "{\"preset\":\"haproxy\",\"scale\":1}") &&
        proxy_call(st, "GET", "/proxies/p/toxics", NULL) &&
        proxy_call(st, "DELETE", "/proxies/p/toxics/cut", NULL) &&
        proxy_call(st, "GET", "/presets", NULL) && proxy_call(st, "GET", "/version", NULL) &&
        proxy_call(st, "GET", "/proxies", NULL) &&
        tether_proxy_server_proxy_port(st->ps, "p", &port) == 0;
    if (!ok) {
        r->failed = true;
        tether_proxy_server_close(st->ps, proxy_closed, r);
        return;
    }
    st->raw_running = true;
    sweep_raw_start(&r->loop, &st->raw, port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", proxy_raw_done,
                    r);
}

static void proxy_abort(struct sweep_run *r)
{
    struct proxy_state *st = r->state;
    if (st && st->raw_running) {
        sweep_raw_abort(&st->raw);
    }
}

const struct sweep_scenario sweep_proxy = {"proxy", proxy_start, proxy_abort};
