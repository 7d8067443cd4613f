/* SPDX-License-Identifier: MIT */
/* tether egress: tether's server on the app's side, tether's client on the upstream side, and
 * the relay between them (see tether/egress.h for what the app sees). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "egress/egress_int.h"
#include "util/hostport.h"
#include "util/str.h"

/* Response bytes queued for the app beyond which the upstream read pauses until they drain, so
 * a slow app holds at most about this much per request. */
#define EG_HIGH_WATER ((uint64_t)256 * 1024)
#define EG_DEFAULT_DEADLINE_MS 30000u
#define EG_DEFAULT_REPLAY_LIMIT ((size_t)1024 * 1024)

void tether_egress_options_init(struct tether_egress_options *o)
{
    memset(o, 0, sizeof(*o));
    tether_server_options_init(&o->server);
    /* Bodies stream with flow control both ways, so size costs no memory: no limit unless the
     * operator sets one. */
    o->server.max_body_bytes = 0;
    tether_client_options_init(&o->client);
    o->client.policy.deadline_ms = EG_DEFAULT_DEADLINE_MS;
    o->replay_body_limit = EG_DEFAULT_REPLAY_LIMIT;
}

/* ---- exchanges ---- */

static void eg_release(struct tt__eg_exchange *ex)
{
    if (ex->req || ex->fetch) {
        return;
    }
    tt__list_remove(&ex->link);
    tt__free(ex->url);
    tt__free(ex);
}

/* Answers a request egress will not forward: the reason in the body, one line. */
static void eg_refuse(struct tether_egress *eg, tether_request *req, int status, const char *why)
{
    char body[600];
    int n = snprintf(body, sizeof(body), "tether egress: %s\n", why);
    eg->stats.refused++;
    (void)tether_response_start(req, status);
    (void)tether_response_header(req, "Content-Type", "text/plain");
    (void)tether_response_header(req, "Via", TT__EG_VIA);
    (void)tether_response_end(req, body,
                              n < 0                      ? 0
                              : (size_t)n < sizeof(body) ? (size_t)n
                                                         : sizeof(body) - 1);
}

static void eg_header(tether_request *req, const char *name, const char *value)
{
    /* Ignored on failure: a detached request just frees at the end. */
    (void)tether_response_header(req, name, value);
}

/* The failure of every attempt, told to the app: 504 for the deadline, 502 otherwise. */
static void eg_respond_failure(struct tt__eg_exchange *ex, tether_fetch *f, int status)
{
    struct tether_egress *eg = ex->eg;
    struct tether_failure fl = *tether_fetch_failure(f);
    if (fl.code == 0) {
        fl.code = status;
    }
    bool deadline = fl.code == TETHER_EDEADLINE || status == TETHER_EDEADLINE;
    char msg[320];
    if (tether_failure_message(&fl, msg, sizeof(msg)) < 0 || !msg[0]) {
        (void)snprintf(msg, sizeof(msg), "%s", tether_strerror(fl.code));
    }
    char body[1024];
    unsigned attempts = tether_fetch_attempts(f);
    tt__eg_failure_json(body, sizeof(body), msg, &fl, attempts, deadline, ex->not_replayable);
    char num[16];
    (void)snprintf(num, sizeof(num), "%u", attempts);
    tether_request *req = ex->req;
    *(deadline ? &eg->stats.failed_504 : &eg->stats.failed_502) += 1;
    (void)tether_response_start(req, deadline ? 504 : 502);
    eg_header(req, "Content-Type", "application/json");
    eg_header(req, "Via", TT__EG_VIA);
    eg_header(req, "X-Tether-Error", msg);
    eg_header(req, "X-Tether-Code", tether_err_name(fl.code));
    eg_header(req, "X-Tether-Phase", tether_phase_name(fl.phase));
    eg_header(req, "X-Tether-Retry-Safe", tether_retry_safety_name(fl.retry_safe));
    eg_header(req, "X-Tether-Attempts", num);
    if (ex->not_replayable) {
        eg_header(req, "X-Tether-Retry", "not-replayable");
    }
    (void)tether_response_end(req, body, strlen(body));
}

/* The origin's response head, passed on without its hop-by-hop fields. */
static void eg_start_response(struct tt__eg_exchange *ex)
{
    if (ex->started || !ex->req || !ex->fetch) {
        return;
    }
    ex->started = true;
    tether_fetch *f = ex->fetch;
    tether_request *req = ex->req;
    (void)tether_response_start(req, tether_fetch_status(f));
    const char *connection = tether_fetch_header(f, "Connection");
    const char *name;
    const char *value;
    for (size_t i = 0; tether_fetch_field(f, i, &name, &value); i++) {
        /* The server writes Date on every response itself; a second one would be invalid. */
        if (!tt__eg_hop_by_hop(name, connection) && !ttx_str_eq_nocase(name, "date")) {
            eg_header(req, name, value);
        }
    }
    eg_header(req, "Via", TT__EG_VIA);
    if (ex->not_replayable) {
        eg_header(req, "X-Tether-Retry", "not-replayable");
    }
}

/* The app left (reset, closed mid-body, timed out) before its response was complete: nobody
 * is left to answer, so the upstream fetch stops and its connection goes. */
static void eg_app_gone(struct tt__eg_exchange *ex)
{
    tether_request *req = ex->req;
    ex->req = NULL;
    if (ex->fetch) {
        ex->eg->stats.app_gone += !ex->gone;
        ex->gone = true;
        tether_fetch_free(ex->fetch); /* cancels it: its done callback never runs */
        ex->fetch = NULL;
    }
    if (req) {
        tether_request_abort(req); /* frees the detached request */
    }
    eg_release(ex);
}

static void eg_on_detach(tether_request *req)
{
    eg_app_gone(tether_request_get_data(req));
}

static void eg_on_drain(tether_request *req)
{
    struct tt__eg_exchange *ex = tether_request_get_data(req);
    if (tether_request_is_detached(req)) {
        eg_app_gone(ex);
        return;
    }
    ex->unacked = 0;
    if (ex->paused && ex->fetch) {
        ex->paused = false;
        tether_fetch_pause(ex->fetch, false);
    }
}

static bool eg_fetch_body(tether_fetch *f, const char *data, size_t len)
{
    struct tt__eg_exchange *ex = tether_fetch_get_data(f);
    eg_start_response(ex);
    if (!ex->req || tether_response_write(ex->req, data, len) != 0) {
        /* The app left: stop reading the origin (the fetch ends, its connection goes). */
        ex->eg->stats.app_gone += !ex->gone;
        ex->gone = true;
        return false;
    }
    ex->eg->stats.bytes_down += len;
    ex->unacked += len;
    if (ex->unacked >= EG_HIGH_WATER && !ex->paused) {
        ex->paused = true;
        ex->eg->stats.paused++;
        tether_fetch_pause(f, true);
        tether_response_on_drain(ex->req, eg_on_drain);
    }
    return true;
}

static void eg_fetch_done(tether_fetch *f, int status)
{
    struct tt__eg_exchange *ex = tether_fetch_get_data(f);
    struct tether_egress *eg = ex->eg;
    if (ex->req) {
        tether_request *req = ex->req;
        if (tether_request_is_detached(req)) {
            tether_request_abort(req);
        } else if (status == 0) {
            eg_start_response(ex);
            eg->stats.relayed++;
            (void)tether_response_end(req, NULL, 0);
        } else if (ex->started) {
            /* The head is out: all that is left is to cut the body, which its framing shows. */
            eg->stats.cut++;
            tether_request_abort(req);
        } else {
            eg_respond_failure(ex, f, status);
        }
        ex->req = NULL;
    }
    tether_fetch_free(f);
    ex->fetch = NULL;
    eg_release(ex);
}

/* Whether a request field goes upstream: not hop-by-hop, and not one the client writes
 * itself (Host from the URL, Content-Length from the body, Expect: the app already got its
 * 100 Continue from egress's server). */
static bool eg_forward_field(const char *name, const char *connection, bool xff)
{
    static const char *const own[] = {"host", "content-length", "expect", TT__EG_DEADLINE_FIELD};
    for (size_t i = 0; i < tt__countof(own); i++) {
        if (ttx_str_eq_nocase(name, own[i])) {
            return false;
        }
    }
    if (xff && ttx_str_eq_nocase(name, "x-forwarded-for")) {
        return false; /* rewritten with the app's address appended */
    }
    return !tt__eg_hop_by_hop(name, connection);
}

/* "127.0.0.1:5000" -> "127.0.0.1", "[::1]:5000" -> "::1". */
static void eg_peer_address(const char *peer, char *out, size_t len)
{
    const char *start = peer[0] == '[' ? peer + 1 : peer;
    const char *end = peer[0] == '[' ? strchr(start, ']') : strrchr(start, ':');
    size_t n = end ? (size_t)(end - start) : strlen(start);
    (void)snprintf(out, len, "%.*s", (int)n, start);
}

/* The upstream took what was waiting: read the app's body again. */
static void eg_fetch_drain(tether_fetch *f)
{
    struct tt__eg_exchange *ex = tether_fetch_get_data(f);
    if (ex->req) {
        tether_request_pause_body(ex->req, false);
    }
}

/* Starts the upstream fetch as soon as the head is in: the body (has_body, body_length or
 * TETHER_BODY_LENGTH_UNKNOWN for chunked) streams into it as the app sends it. */
static bool eg_start_fetch(struct tt__eg_exchange *ex, bool has_body, uint64_t body_length)
{
    struct tether_egress *eg = ex->eg;
    tether_request *req = ex->req;
    size_t nfields = tether_request_field_count(req);
    struct tether_header *headers = tt__calloc(nfields + 2, sizeof(*headers));
    if (!headers) {
        tether_request_abort(req);
        ex->req = NULL;
        eg_release(ex);
        return false;
    }
    const char *connection = tether_request_header(req, "Connection");
    size_t n = 0;
    const char *name;
    const char *value;
    for (size_t i = 0; tether_request_field(req, i, &name, &value); i++) {
        if (eg_forward_field(name, connection, eg->forwarded_for)) {
            headers[n++] = (struct tether_header){name, value};
        }
    }
    headers[n++] = (struct tether_header){"Via", TT__EG_VIA};
    char xff[512];
    if (eg->forwarded_for) {
        char addr[64];
        eg_peer_address(tether_request_peer(req), addr, sizeof(addr));
        const char *prior = tether_request_header(req, "X-Forwarded-For");
        (void)snprintf(xff, sizeof(xff), "%.400s%s%s", prior ? prior : "", prior ? ", " : "", addr);
        headers[n++] = (struct tether_header){"X-Forwarded-For", xff};
    }
    struct tether_fetch_options o;
    tether_fetch_options_init(&o);
    o.method = tether_request_method(req);
    o.url = ex->url;
    o.headers = headers;
    o.nheaders = n;
    o.body_stream = has_body;
    o.body_stream_length = body_length;
    o.on_body_drain = eg_fetch_drain;
    o.deadline_ms = ex->deadline_ms;
    o.on_body = eg_fetch_body;
    o.data = ex;
    char why[320];
    why[0] = '\0';
    o.errbuf = why;
    o.errbuf_len = sizeof(why);
    int rv = tether_client_fetch(eg->client, &o, eg_fetch_done, &ex->fetch);
    tt__free(headers);
    if (rv != 0) {
        ex->fetch = NULL;
        if (rv == TETHER_EINVAL) {
            eg_refuse(eg, req, 400, why[0] ? why : tether_strerror(rv));
        } else {
            eg_refuse(eg, req, 503, tether_strerror(rv));
        }
        ex->req = NULL;
        eg_release(ex);
        return false;
    }
    return true;
}

static void eg_on_body(tether_request *req, int status, const char *data, size_t len, bool done)
{
    struct tt__eg_exchange *ex = tether_request_get_data(req);
    if (status != 0) {
        /* Timed out, reset, closed mid-body or over the limit: the server answered or closed
         * already, and the upstream must not wait for the rest. */
        eg_app_gone(ex);
        return;
    }
    struct tether_egress *eg = ex->eg;
    eg->stats.bytes_up += len;
    ex->body_seen += len;
    if (!ex->not_replayable && ex->body_seen > eg->replay_body_limit) {
        ex->not_replayable = true;
        eg->stats.not_replayable++;
    }
    if (!ex->fetch) {
        return;
    }
    /* ECANCELED: the fetch is over (the origin answered early, or it failed): the rest of the
     * body is read and discarded by the server once the response is complete. */
    if (tether_fetch_write(ex->fetch, data, len, done) == 1) {
        tether_request_pause_body(req, true); /* until eg_fetch_drain */
    }
}

/* Whether the request has a body, and its length (TETHER_BODY_LENGTH_UNKNOWN when chunked). */
static bool eg_body_length(const tether_request *req, uint64_t *length)
{
    *length = TETHER_BODY_LENGTH_UNKNOWN;
    if (tether_request_header(req, "Transfer-Encoding")) {
        return true;
    }
    const char *cl = tether_request_header(req, "Content-Length");
    /* The server validated the framing: Content-Length is a plain number here. */
    if (!cl || ttx_parse_u64(cl, strlen(cl), length) != 0) {
        *length = 0;
        return false;
    }
    return *length > 0;
}

/* Bytes an app may send after its CONNECT head before the 200 (it should send none). */
#define EG_TUNNEL_PENDING_MAX 16384

/* CONNECT host:port in forward mode: the socket leaves the server and becomes a tunnel. */
static void eg_connect(struct tether_egress *eg, tether_request *req)
{
    char why[400];
    const char *target = tether_request_target(req);
    struct ttx_hostport hp;
    char host[256];
    uint16_t port = 0;
    if (eg->upstream || eg->closing) {
        eg_refuse(eg, req, eg->closing ? 503 : 501,
                  eg->closing ? "shutting down"
                              : "CONNECT is for forward mode; this egress forwards to one "
                                "upstream");
        return;
    }
    if (ttx_hostport_split(target, strlen(target), &hp) != TTX_HOSTPORT_OK || !hp.has_port ||
        hp.host.len == 0 || hp.host.len >= sizeof(host) || ttx_parse_port(hp.port, &port) != 0 ||
        port == 0) {
        (void)snprintf(why, sizeof(why), "CONNECT target '%.200s' is not HOST:PORT", target);
        eg_refuse(eg, req, 400, why);
        return;
    }
    for (size_t i = 0; i < hp.host.len; i++) {
        host[i] = ttx_lower(hp.host.ptr[i]);
    }
    host[hp.host.len] = '\0';
    if (!tt__eg_allowed(eg->allow, eg->nallow, host, port)) {
        (void)snprintf(why, sizeof(why), "origin '%.200s' is not on the allow list", target);
        eg_refuse(eg, req, 403, why);
        return;
    }
    char pending[EG_TUNNEL_PENDING_MAX];
    size_t pending_len = 0;
    uv_os_sock_t fd;
    int rv = tether_request_take_socket(req, &fd, pending, sizeof(pending), &pending_len);
    if (rv != 0) {
        (void)snprintf(why, sizeof(why), "cannot open a tunnel on this connection: %s",
                       tether_strerror(rv));
        eg_refuse(eg, req, rv == TETHER_ENOTSUP ? 501 : 400, why);
        return;
    }
    /* `req` is gone: the tunnel answers the app itself. */
    if (tt__eg_tunnel_start(eg, fd, host, port, pending, pending_len) != 0) {
        (void)close(fd);
    }
}

/* Checks what only the request can tell (target, allow list, deadline header); answers and
 * returns NULL when it is refused. */
static char *eg_admit(struct tether_egress *eg, tether_request *req, uint64_t *deadline_ms)
{
    char why[400];
    char *url = tt__eg_target_url(eg->upstream, tether_request_target(req), why, sizeof(why));
    if (!url) {
        if (why[0]) {
            eg_refuse(eg, req, 400, why);
        } else {
            tether_request_abort(req);
        }
        return NULL;
    }
    char host[256];
    uint16_t port = 0;
    if (!eg->upstream && eg->nallow &&
        (!tt__eg_url_authority(url, host, sizeof(host), &port) ||
         !tt__eg_allowed(eg->allow, eg->nallow, host, port))) {
        (void)snprintf(why, sizeof(why), "origin '%.200s:%u' is not on the allow list",
                       port ? host : "?", (unsigned)port);
        eg_refuse(eg, req, 403, why);
        tt__free(url);
        return NULL;
    }
    *deadline_ms = eg->deadline_ms;
    const char *dl = tether_request_header(req, TT__EG_DEADLINE_FIELD);
    if (dl) {
        uint64_t ms = 0;
        if (tt__eg_parse_duration(dl, &ms) != 0) {
            (void)snprintf(why, sizeof(why),
                           "invalid " TT__EG_DEADLINE_FIELD " '%.100s': expected a duration "
                           "such as 250ms, 2s or 1m",
                           dl);
            eg_refuse(eg, req, 400, why);
            tt__free(url);
            return NULL;
        }
        /* It may only shorten the deadline, never extend the operator's. */
        if (*deadline_ms == 0 || ms < *deadline_ms) {
            *deadline_ms = ms;
        }
    }
    return url;
}

static void eg_on_request(tether_server *srv, tether_request *req)
{
    struct tether_egress *eg = tether_server_get_data(srv);
    if (eg->stats_path && strcmp(tether_request_target(req), eg->stats_path) == 0 &&
        strcmp(tether_request_method(req), "GET") == 0) {
        char body[2048];
        int n = tether_egress_stats_json(eg, body, sizeof(body));
        size_t len = n < 0 ? 0 : (size_t)n < sizeof(body) ? (size_t)n : sizeof(body) - 1;
        (void)tether_response_send(req, 200, "application/json", body, len);
        return;
    }
    eg->stats.requests++;
    if (strcmp(tether_request_method(req), "CONNECT") == 0) {
        eg_connect(eg, req);
        return;
    }
    uint64_t deadline_ms = 0;
    char *url = eg_admit(eg, req, &deadline_ms);
    if (!url) {
        return;
    }
    struct tt__eg_exchange *ex = tt__calloc(1, sizeof(*ex));
    if (!ex) {
        tt__free(url);
        tether_request_abort(req);
        return;
    }
    ex->eg = eg;
    ex->req = req;
    ex->url = url;
    ex->deadline_ms = deadline_ms;
    tt__list_insert_tail(&eg->live, &ex->link);
    tether_request_set_data(req, ex);
    uint64_t body_length;
    bool has_body = eg_body_length(req, &body_length);
    ex->not_replayable = has_body && body_length != TETHER_BODY_LENGTH_UNKNOWN &&
                         body_length > eg->replay_body_limit;
    eg->stats.not_replayable += ex->not_replayable;
    if (eg_start_fetch(ex, has_body, body_length)) {
        /* The app may leave while the upstream is still working: stop it then. */
        tether_request_on_detach(req, eg_on_detach);
        if (has_body) {
            tether_request_on_body(req, eg_on_body);
        }
    }
}

static void eg_on_event(tether_client *c, const struct tether_event *ev)
{
    struct tether_egress *eg = tether_client_get_data(c);
    if (ev->type == TETHER_EVENT_RESPONSE && ev->fetch) {
        eg_start_response(tether_fetch_get_data(ev->fetch));
    }
    if (eg->user_event) {
        eg->user_event(c, ev);
    }
}

/* ---- the proxy ---- */

static void eg_free(struct tether_egress *eg)
{
    for (size_t i = 0; i < eg->nallow; i++) {
        tt__free(eg->allow[i]);
    }
    tt__free((void *)eg->allow);
    tt__free(eg->upstream);
    tt__free(eg->stats_path);
    tt__free(eg);
}

/* "http://h:p[/prefix]" with nothing after the path; the prefix loses its trailing '/'. */
static int eg_set_upstream(struct tether_egress *eg, const char *up, char *err, size_t err_len)
{
    char host[256];
    uint16_t port;
    bool scheme = ttx_prefix_nocase(up, "http://") || ttx_prefix_nocase(up, "https://");
    if (!scheme || strpbrk(up, "?# \t") || !tt__eg_url_authority(up, host, sizeof(host), &port)) {
        tt__errbuf_set(err, err_len,
                       "invalid upstream '%s': expected http://HOST[:PORT][/PATH] or "
                       "https://HOST[:PORT][/PATH]",
                       up);
        return TETHER_EINVAL;
    }
    size_t len = strlen(up);
    while (len > 0 && up[len - 1] == '/') {
        len--;
    }
    eg->upstream = tt__strndup(up, len);
    return eg->upstream ? 0 : TETHER_ENOMEM;
}

static int eg_set_allow(struct tether_egress *eg, const struct tether_egress_options *o)
{
    if (o->nallow == 0) {
        return 0;
    }
    eg->allow = tt__calloc(o->nallow, sizeof(*eg->allow));
    if (!eg->allow) {
        return TETHER_ENOMEM;
    }
    for (size_t i = 0; i < o->nallow; i++) {
        const char *a = o->allow[i];
        if (!a || !a[0] || strpbrk(a, "/@ \t")) {
            tt__errbuf_set(o->errbuf, o->errbuf_len,
                           "invalid allow entry '%s': expected HOST or HOST:PORT", a ? a : "");
            return TETHER_EINVAL;
        }
        size_t n = strlen(a);
        eg->allow[i] = tt__strndup(a, n);
        if (!eg->allow[i]) {
            return TETHER_ENOMEM;
        }
        eg->nallow++;
        for (size_t k = 0; k < n; k++) {
            eg->allow[i][k] = ttx_lower(eg->allow[i][k]);
        }
    }
    return 0;
}

int tether_egress_new(uv_loop_t *loop, const struct tether_egress_options *o, tether_egress **out)
{
    if (!loop || !o || !out) {
        return TETHER_EINVAL;
    }
    *out = NULL;
    struct tether_egress *eg = tt__calloc(1, sizeof(*eg));
    if (!eg) {
        return TETHER_ENOMEM;
    }
    eg->loop = loop;
    eg->data = o->data;
    eg->forwarded_for = o->forwarded_for;
    eg->replay_body_limit = o->replay_body_limit;
    eg->deadline_ms = o->client.policy.deadline_ms;
    tt__list_init(&eg->live);
    tt__list_init(&eg->tunnels);
    eg->policy = o->client.policy;
    ttx_rng_seed_random(&eg->rng);
    int rv = o->upstream ? eg_set_upstream(eg, o->upstream, o->errbuf, o->errbuf_len) : 0;
    rv = rv ? rv : eg_set_allow(eg, o);
    if (rv == 0 && o->stats_path) {
        if (o->stats_path[0] != '/' || strpbrk(o->stats_path, "?# ")) {
            tt__errbuf_set(o->errbuf, o->errbuf_len,
                           "invalid stats path '%s': expected an absolute path like /_tether/stats",
                           o->stats_path);
            rv = TETHER_EINVAL;
        } else if (!(eg->stats_path = tt__strndup(o->stats_path, strlen(o->stats_path)))) {
            rv = TETHER_ENOMEM;
        }
    }
    if (rv != 0) {
        eg_free(eg);
        return rv;
    }
    /* The server first: its failure (the address in use) is the common one, and then nothing
     * was created. No request reaches it before the loop runs, by then the client exists. */
    struct tether_server_options so = o->server;
    so.on_request = eg_on_request;
    so.data = eg;
    so.accept_connect = true; /* forward mode tunnels CONNECT (tunnel.c) */
    so.errbuf = o->errbuf;
    so.errbuf_len = o->errbuf_len;
    rv = tether_server_new(loop, &so, &eg->srv);
    if (rv != 0) {
        eg_free(eg);
        return rv;
    }
    struct tether_client_options co = o->client;
    co.policy.replay_buffer_bytes = o->replay_body_limit;
    co.data = eg;
    co.errbuf = o->errbuf;
    co.errbuf_len = o->errbuf_len;
    rv = tether_client_new(loop, &co, &eg->client);
    if (rv != 0) {
        /* The server's close completes on a later loop turn; it holds no reference to eg. */
        tether_server_close(eg->srv, NULL, NULL);
        eg_free(eg);
        return rv;
    }
    tether_client_on_event(eg->client, eg_on_event);
    tt__defer_init(loop, &eg->defer);
    *out = eg;
    return 0;
}

uint16_t tether_egress_port(const tether_egress *e)
{
    return e ? tether_server_port(e->srv) : 0;
}

void *tether_egress_get_data(const tether_egress *e)
{
    return e ? e->data : NULL;
}

tether_client *tether_egress_client(const tether_egress *e)
{
    return e ? e->client : NULL;
}

tether_server *tether_egress_server(const tether_egress *e)
{
    return e ? e->srv : NULL;
}

void tether_egress_on_event(tether_egress *e, tether_event_cb cb)
{
    if (e) {
        e->user_event = cb;
    }
}

void tether_egress_get_stats(const tether_egress *e, struct tether_egress_stats *out)
{
    if (!out) {
        return;
    }
    if (!e) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = e->stats;
}

static void eg_defer_closed(struct tt__defer *d)
{
    struct tether_egress *eg = tt__container_of(d, struct tether_egress, defer);
    tether_egress_close_cb cb = eg->close_cb;
    void *cb_data = eg->close_data;
    eg_free(eg);
    if (cb) {
        cb(cb_data);
    }
}

/* The last step, once the server is released and the last tunnel is gone. */
static void eg_finish(struct tether_egress *eg)
{
    if (eg->server_closed && eg->ntunnels == 0) {
        tt__defer_close(&eg->defer, eg_defer_closed);
    }
}

void tt__eg_tunnel_gone(struct tether_egress *eg)
{
    eg->ntunnels--;
    eg_finish(eg);
}

static void eg_server_closed(void *data)
{
    struct tether_egress *eg = data;
    eg->srv = NULL;
    eg->server_closed = true;
    eg_finish(eg);
}

static void eg_client_closed(void *data)
{
    struct tether_egress *eg = data;
    eg->client = NULL;
    tether_server_close(eg->srv, eg_server_closed, eg);
}

/* Every app connection is gone: the fetches left (none, unless the grace ran out) are
 * cancelled with the client, then the server is released. */
static void eg_on_shutdown(tether_server *srv)
{
    struct tether_egress *eg = tether_server_get_data(srv);
    tether_client_close(eg->client, eg_client_closed, eg);
}

void tether_egress_close(tether_egress *e, tether_egress_close_cb cb, void *data)
{
    if (!e || e->closing) {
        return;
    }
    e->closing = true;
    e->close_cb = cb;
    e->close_data = data;
    /* Tunnels carry bytes egress cannot frame: there is no request to let finish. */
    tt__eg_tunnels_close(e);
    tether_server_shutdown(e->srv, eg_on_shutdown);
}

int tether_egress_stats_json(const tether_egress *e, char *buf, size_t len)
{
    if (!e) {
        return TETHER_EINVAL;
    }
    const struct tether_egress_stats *s = &e->stats;
    struct tether_client_stats c;
    struct tether_server_stats v;
    tether_client_get_stats(e->client, &c);
    tether_server_get_stats(e->srv, &v);
#define U(x) ((unsigned long long)(x))
    return snprintf(
        buf, len,
        "{\"egress\":{\"requests\":%llu,\"relayed\":%llu,\"failed_502\":%llu,"
        "\"failed_504\":%llu,\"refused\":%llu,\"cut\":%llu,\"not_replayable\":%llu,"
        "\"bytes_up\":%llu,\"bytes_down\":%llu,\"tunnels\":%llu,\"paused\":%llu,"
        "\"app_gone\":%llu},"
        "\"client\":{\"fetches\":%llu,\"attempts\":%llu,\"retries\":%llu,\"replays\":%llu,"
        "\"connections_opened\":%llu,\"connections_reused\":%llu,\"stale_evictions\":%llu,"
        "\"retired_idle\":%llu,\"budget_exhausted\":%llu},"
        "\"server\":{\"connections_accepted\":%llu,\"connections_open\":%llu,"
        "\"fin_sent\":%llu,\"rst_sent\":%llu}}\n",
        U(s->requests), U(s->relayed), U(s->failed_502), U(s->failed_504), U(s->refused), U(s->cut),
        U(s->not_replayable), U(s->bytes_up), U(s->bytes_down), U(s->tunnels), U(s->paused),
        U(s->app_gone), U(c.fetches), U(c.attempts), U(c.retries), U(c.replays),
        U(c.connections_opened), U(c.connections_reused), U(c.stale_evictions), U(c.retired_idle),
        U(c.budget_exhausted), U(v.connections_accepted), U(v.connections_open), U(v.fin_sent),
        U(v.rst_sent));
#undef U
}
