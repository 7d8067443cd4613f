/* SPDX-License-Identifier: MIT */
/* The API over HTTP with tether's own server: bodies collected, Toxiproxy's headers (request
 * id, nosniff, the browser block), and 127.0.0.1 plus ::1 for "localhost". */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proxy/proxy_int.h"

/* ---- HTTP ---- */

struct api_req {
    struct tt__buf body;
    bool too_big;
};

static void api_request_id(struct tether_proxy_server *ps, char out[21])
{
    /* An xid-like 20-character id (base32hex), from its own sequence so that API traffic
     * never shifts the toxics' seeded random numbers. */
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuv";
    uint64_t a = ttx_rng_next(&ps->request_rng);
    uint64_t b = ttx_rng_next(&ps->request_rng);
    for (int i = 0; i < 20; i++) {
        uint64_t src = i < 12 ? a : b;
        out[i] = alphabet[(src >> ((i % 12) * 5)) & 31];
    }
    out[20] = '\0';
}

static void api_send(struct tether_proxy_server *ps, tether_request *req, struct px_resp *r)
{
    char id[21];
    char clen[32];
    api_request_id(ps, id);
    int rv = tether_response_start(req, r->status);
    if (rv == 0 && r->content_type) {
        rv = tether_response_header(req, "Content-Type", r->content_type);
    }
    if (rv == 0 && r->nosniff) {
        rv = tether_response_header(req, "X-Content-Type-Options", "nosniff");
    }
    if (rv == 0) {
        rv = tether_response_header(req, "X-Toxiproxy-Request-Id", id);
    }
    if (rv == 0 && r->status != 204) {
        (void)snprintf(clen, sizeof(clen), "%zu", r->body.buf.len);
        rv = tether_response_header(req, "Content-Length", clen);
    }
    if (rv != 0) {
        /* Detached (the client left) or out of memory: nothing can be answered. */
        tether_request_abort(req);
        return;
    }
    (void)tether_response_end(req, r->body.buf.data, r->status == 204 ? 0 : r->body.buf.len);
}

static void api_req_free(struct api_req *ar)
{
    tt__buf_cleanup(&ar->body);
    tt__free(ar);
}

static void api_on_body(tether_request *req, int status, const char *data, size_t len, bool done)
{
    struct api_req *ar = tether_request_get_data(req);
    tether_server *srv = tether_request_server(req);
    struct tether_proxy_server *ps = tether_server_get_data(srv);
    if (status != 0) {
        tether_request_set_data(req, NULL);
        api_req_free(ar);
        tether_request_abort(req);
        return;
    }
    if (len && !ar->too_big && tt__buf_append(&ar->body, data, len) != 0) {
        ar->too_big = true;
    }
    if (!done) {
        return;
    }
    struct px_resp r;
    if (ar->too_big) {
        tt__pj_init(&r.body);
        tt__px_api_error(&r, 413, "request body too large");
    } else {
        tt__px_api(ps, tether_request_method(req), tether_request_target(req),
                   ar->body.data ? ar->body.data : "", ar->body.len, &r);
        if (r.body.err) {
            tt__buf_reset(&r.body.buf);
            r.body.err = 0;
            tt__px_api_error(&r, 500, "out of memory");
        }
    }
    tether_request_set_data(req, NULL);
    api_req_free(ar);
    api_send(ps, req, &r);
    tt__buf_cleanup(&r.body.buf);
}

static void api_on_request(tether_server *srv, tether_request *req)
{
    struct tether_proxy_server *ps = tether_server_get_data(srv);
    const char *ua = tether_request_header(req, "User-Agent");
    if (ua && strncmp(ua, "Mozilla/", 8) == 0) {
        /* Toxiproxy's guard against browsers (DNS rebinding from a web page). */
        struct px_resp r;
        tt__pj_init(&r.body);
        tt__px_api_plain(&r, 403, "User agent not allowed\n");
        api_send(ps, req, &r);
        tt__buf_cleanup(&r.body.buf);
        return;
    }
    struct api_req *ar = tt__calloc(1, sizeof(*ar));
    if (!ar) {
        tether_request_abort(req);
        return;
    }
    tt__buf_init(&ar->body, PX_API_MAX_BODY);
    tether_request_set_data(req, ar);
    tether_request_on_body(req, api_on_body);
}

static void api_server_closed(void *data)
{
    tt__px_server_release(data);
}

static int api_start_one(struct tether_proxy_server *ps, const char *host, uint16_t port,
                         char *errbuf, size_t errbuf_len)
{
    struct tether_server_options so;
    tether_server_options_init(&so);
    so.host = host;
    so.port = port;
    so.on_request = api_on_request;
    so.data = ps;
    so.max_body_bytes = PX_API_MAX_BODY;
    /* Go's http.Server settings in Toxiproxy: IdleTimeout 60 s, ReadTimeout 15 s. */
    so.keep_alive_timeout_ms = 60000;
    so.headers_timeout_ms = 15000;
    /* Closing the server must not wait long on an API client that keeps its socket open. */
    so.lingering_time_ms = PX_LINGER_TOTAL_MS;
    so.lingering_timeout_ms = PX_LINGER_WAIT_MS;
    so.shutdown_grace_ms = PX_LINGER_TOTAL_MS;
    so.errbuf = errbuf;
    so.errbuf_len = errbuf_len;
    tether_server *srv;
    int rv = tether_server_new(ps->loop, &so, &srv);
    if (rv != 0) {
        return rv;
    }
    ps->api[ps->napi++] = srv;
    ps->pending++;
    if (ps->api_port == 0) {
        ps->api_port = tether_server_port(srv);
    }
    return 0;
}

int tt__px_api_listen(struct tether_proxy_server *ps, char *errbuf, size_t errbuf_len)
{
    const char *host = ps->api_host;
    char bare[256];
    if (strcasecmp(host, "localhost") == 0) {
        /* Go binds one address for localhost; clients resolving it to ::1 then get
         * ECONNREFUSED. Listen on both, same port. */
        int rv = api_start_one(ps, "127.0.0.1", ps->opts.api_port, errbuf, errbuf_len);
        if (rv != 0) {
            return rv;
        }
        (void)api_start_one(ps, "::1", ps->api_port, NULL, 0); /* no IPv6 is fine */
        return 0;
    }
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']' && hl - 2 < sizeof(bare)) {
        memcpy(bare, host + 1, hl - 2);
        bare[hl - 2] = '\0';
        host = bare;
    }
    return api_start_one(ps, host[0] ? host : "0.0.0.0", ps->opts.api_port, errbuf, errbuf_len);
}

void tt__px_api_close(struct tether_proxy_server *ps)
{
    for (unsigned i = 0; i < ps->napi; i++) {
        tether_server_close(ps->api[i], api_server_closed, ps);
    }
    ps->napi = 0;
}
