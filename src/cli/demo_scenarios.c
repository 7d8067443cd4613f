/* SPDX-License-Identifier: MIT */
/* `tether demo`: the scenarios - the seed's causes of ECONNRESET, reproduced on loopback, and
 * the first of them again with the naive client behind `tether egress`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/range.h"
#include "util/str.h"

#include "demo.h"

/* ---- shared pieces ---- */

#define DEMO_BLOB_SIZE 65536u
#define DEMO_BLOB_ETAG "\"demo-blob-1\""
/* Connections cut by limit_data are reset after this many response bytes: half-way through
 * the second 64 KiB response, so the cut always lands inside a body. */
#define DEMO_CUT_BYTES (DEMO_BLOB_SIZE + DEMO_BLOB_SIZE / 2)
#define DEMO_CUT_TOXICITY "0.3"
#define DEMO_RATE_PER_WINDOW 20u
#define DEMO_RATE_WINDOW_MS 1000u
#define DEMO_POST_LOST_RESPONSE "0.2"
#define DEMO_POST_LOST_REQUEST "0.1"

static char demo_blob[DEMO_BLOB_SIZE];
static bool demo_blob_ready;

/* Every byte depends on its offset, so a resumed download spliced at the wrong place, or a
 * truncated one, never passes the check. */
static void demo_blob_init(void)
{
    if (demo_blob_ready) {
        return;
    }
    for (unsigned i = 0; i < DEMO_BLOB_SIZE; i++) {
        demo_blob[i] = (char)('a' + (i ^ (i >> 8) ^ (i >> 13)) % 26u);
    }
    demo_blob_ready = true;
}

static uint64_t demo_clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

static uint64_t demo_duration(const struct demo_scen *sc)
{
    return (uint64_t)(sc->opts->seconds * 1000.0 + 0.5);
}

/* The idle time the two idle scenarios race against: 1 s normally, shorter for short runs
 * so that every user still gets a few idle gaps in. */
static void demo_plan_idle(struct demo_scen *sc)
{
    sc->duration_ms = demo_duration(sc);
    sc->t_ms = demo_clamp(sc->duration_ms / 4, 250, 1000);
}

static void demo_plan_plain(struct demo_scen *sc)
{
    sc->duration_ms = demo_duration(sc);
    sc->t_ms = 0;
}

static void demo_ok(tether_request *req)
{
    (void)tether_response_send(req, 200, "text/plain", "ok\n", 3);
}

static void demo_handle_ok(struct demo_lane *l, tether_request *req)
{
    (void)l;
    demo_ok(req);
}

static const char *demo_request_get(struct demo_scen *sc, struct demo_worker *w,
                                    struct tether_fetch_options *fo)
{
    (void)sc;
    w->hdrs[0].name = "X-Request-Id";
    w->hdrs[0].value = w->reqid;
    fo->method = "GET";
    fo->headers = w->hdrs;
    fo->nheaders = 1;
    return "/";
}

/* ---- 1. keep-alive race ---- */

static void demo_race_describe(const struct demo_scen *sc, char *buf, size_t len)
{
    (void)snprintf(buf, len,
                   "the server closes idle connections after %.2f s with no Keep-Alive hint (old "
                   "Node.js); %u users pause %llu..%llu ms between requests",
                   (double)sc->t_ms / 1000.0, sc->def->workers,
                   (unsigned long long)(sc->t_ms * 99 / 100),
                   (unsigned long long)(sc->t_ms * 101 / 100));
}

static void demo_race_server(struct demo_scen *sc, struct tether_server_options *o)
{
    o->close_style = TETHER_CLOSE_NODE;
    o->no_keep_alive_hint = true;
    o->keep_alive_timeout_ms = sc->t_ms;
    o->keep_alive_buffer_ms = 0;
}

static uint64_t demo_race_gap(struct demo_scen *sc, struct demo_worker *w)
{
    (void)w;
    return demo_rand_range(sc, sc->t_ms * 99 / 100, sc->t_ms * 101 / 100);
}

/* ---- 7. the keep-alive race, the naive client through tether egress ---- */

static void demo_egress_describe(const struct demo_scen *sc, char *buf, size_t len)
{
    (void)snprintf(buf, len,
                   "keepalive-race's server (closes idle connections after %.2f s, no hint); the "
                   "egress row is the naive client pointed at tether egress; pause %llu..%llu ms",
                   (double)sc->t_ms / 1000.0, (unsigned long long)(sc->t_ms * 99 / 100),
                   (unsigned long long)(sc->t_ms * 101 / 100));
}

/* ---- 2. load-balancer idle timeout ---- */

static void demo_lb_describe(const struct demo_scen *sc, char *buf, size_t len)
{
    (void)snprintf(
        buf, len,
        "a load balancer resets connections idle for %.2f s (idle_timeout, action rst); the "
        "server would keep them 65 s; %u users pause %llu..%llu ms",
        (double)sc->t_ms / 1000.0, sc->def->workers, (unsigned long long)(sc->t_ms * 98 / 100),
        (unsigned long long)(sc->t_ms * 102 / 100));
}

static int demo_lb_toxics(struct demo_scen *sc, const char *proxy)
{
    char path[128];
    char body[256];
    (void)snprintf(path, sizeof(path), "/proxies/%s/toxics", proxy);
    (void)snprintf(body, sizeof(body),
                   "{\"name\":\"lb_idle\",\"type\":\"idle_timeout\",\"stream\":\"downstream\","
                   "\"toxicity\":1,\"attributes\":{\"timeout\":%llu,\"action\":\"rst\"}}",
                   (unsigned long long)sc->t_ms);
    return demo_proxy_call(sc, "POST", path, body);
}

static uint64_t demo_lb_gap(struct demo_scen *sc, struct demo_worker *w)
{
    (void)w;
    return demo_rand_range(sc, sc->t_ms * 98 / 100, sc->t_ms * 102 / 100);
}

/* ---- 3. server crash and restart ---- */

static void demo_restart_plan(struct demo_scen *sc)
{
    sc->duration_ms = demo_duration(sc);
    sc->t_ms = sc->duration_ms * 3 / 10; /* when the crash happens */
    sc->outage_ms = demo_clamp(sc->duration_ms / 4, 300, 1000);
}

static void demo_restart_describe(const struct demo_scen *sc, char *buf, size_t len)
{
    (void)snprintf(
        buf, len,
        "at %.1f s every connection is reset (the server crashed), new ones are refused for "
        "%.1f s, then it is back; %u users, 20..60 ms apart; tether waits for it "
        "(--retry-connrefused)",
        (double)sc->t_ms / 1000.0, (double)sc->outage_ms / 1000.0, sc->def->workers);
}

static void demo_restart_call(struct demo_scen *sc, const char *method, const char *suffix,
                              const char *body)
{
    for (int i = 0; i < DEMO_NLANES; i++) {
        for (unsigned k = 0; k < sc->lanes[i].norigins; k++) {
            char path[128];
            (void)snprintf(path, sizeof(path), "/proxies/%s%s", sc->lanes[i].proxy_names[k],
                           suffix);
            if (demo_proxy_call(sc, method, path, body) != 0) {
                fprintf(stderr, "tether demo: server-restart: %s\n", sc->error);
            }
        }
    }
}

static uint64_t demo_restart_event(struct demo_scen *sc)
{
    switch (sc->event_step) {
    case 0:
        return sc->t_ms > 0 ? sc->t_ms : 1;
    case 1:
        /* The crash: every connection, idle or busy, gets an RST; then the port refuses. */
        demo_restart_call(sc, "DELETE", "/connections?action=rst", NULL);
        demo_restart_call(sc, "PATCH", "", "{\"enabled\":false}");
        return sc->outage_ms;
    case 2:
        demo_restart_call(sc, "PATCH", "", "{\"enabled\":true}");
        return 0;
    default:
        return 0;
    }
}

static uint64_t demo_busy_gap(struct demo_scen *sc, struct demo_worker *w)
{
    (void)w;
    return demo_rand_range(sc, 20, 60);
}

/* ---- 4. reset mid-response ---- */

static void demo_cut_describe(const struct demo_scen *sc, char *buf, size_t len)
{
    (void)snprintf(buf, len,
                   "GET of a 64 KiB body; %d %% of connections are reset after %u KiB (limit_data, "
                   "action rst), in the middle of a body; the server closes after 4 requests",
                   (int)(atof(DEMO_CUT_TOXICITY) * 100.0 + 0.5), DEMO_CUT_BYTES / 1024u);
    (void)sc;
}

static void demo_cut_server(struct demo_scen *sc, struct tether_server_options *o)
{
    (void)sc;
    /* New connections keep coming, so the cut keeps hitting someone. */
    o->max_requests_per_conn = 4;
}

static int demo_cut_toxics(struct demo_scen *sc, const char *proxy)
{
    char path[128];
    char body[256];
    (void)snprintf(path, sizeof(path), "/proxies/%s/toxics", proxy);
    (void)snprintf(body, sizeof(body),
                   "{\"name\":\"cut\",\"type\":\"limit_data\",\"stream\":\"downstream\","
                   "\"toxicity\":%s,\"attributes\":{\"bytes\":%u,\"action\":\"rst\"}}",
                   DEMO_CUT_TOXICITY, DEMO_CUT_BYTES);
    return demo_proxy_call(sc, "POST", path, body);
}

static uint64_t demo_cut_gap(struct demo_scen *sc, struct demo_worker *w)
{
    (void)w;
    return demo_rand_range(sc, 5, 25);
}

static const char *demo_cut_request(struct demo_scen *sc, struct demo_worker *w,
                                    struct tether_fetch_options *fo)
{
    (void)demo_request_get(sc, w, fo);
    return "/blob";
}

static bool demo_cut_check(struct demo_worker *w, tether_fetch *f, char *msg, size_t len)
{
    (void)w;
    size_t n = 0;
    const char *body = tether_fetch_body(f, &n);
    if (n != DEMO_BLOB_SIZE || !body || memcmp(body, demo_blob, DEMO_BLOB_SIZE) != 0) {
        (void)snprintf(msg, len, "corrupt body (%zu bytes, expected %u intact)", n, DEMO_BLOB_SIZE);
        return false;
    }
    return true;
}

static void demo_cut_handle(struct demo_lane *l, tether_request *req)
{
    (void)l;
    uint64_t first = 0;
    uint64_t last = DEMO_BLOB_SIZE - 1;
    const char *range = tether_request_header(req, "Range");
    const char *if_range = tether_request_header(req, "If-Range");
    /* Anything but one satisfiable range (or a stale If-Range) gets the whole body, which a
     * client must accept. */
    bool partial =
        range && (!if_range || strcmp(if_range, DEMO_BLOB_ETAG) == 0) &&
        ttx_range_parse(range, strlen(range), DEMO_BLOB_SIZE, &first, &last) == TTX_RANGE_OK;
    if (!partial) {
        first = 0;
        last = DEMO_BLOB_SIZE - 1;
    }
    unsigned start = (unsigned)first;
    unsigned end = (unsigned)last;
    char clen[24];
    char crange[64];
    (void)snprintf(clen, sizeof(clen), "%u", end - start + 1);
    (void)snprintf(crange, sizeof(crange), "bytes %u-%u/%u", start, end, DEMO_BLOB_SIZE);
    int rv = tether_response_start(req, partial ? 206 : 200);
    if (rv == 0) {
        rv = tether_response_header(req, "Content-Type", "application/octet-stream");
    }
    if (rv == 0) {
        rv = tether_response_header(req, "ETag", DEMO_BLOB_ETAG);
    }
    if (rv == 0) {
        rv = tether_response_header(req, "Accept-Ranges", "bytes");
    }
    if (rv == 0 && partial) {
        rv = tether_response_header(req, "Content-Range", crange);
    }
    if (rv == 0) {
        rv = tether_response_header(req, "Content-Length", clen);
    }
    if (rv != 0) {
        tether_request_abort(req);
        return;
    }
    (void)tether_response_end(req, demo_blob + start, end - start + 1);
}

/* ---- 5. rate limiting ---- */

static void demo_rate_describe(const struct demo_scen *sc, char *buf, size_t len)
{
    (void)snprintf(buf, len,
                   "the server allows %u requests per second and answers the rest 503 with "
                   "Retry-After: 1; %u users, 10..30 ms apart",
                   DEMO_RATE_PER_WINDOW, sc->def->workers);
}

static uint64_t demo_rate_gap(struct demo_scen *sc, struct demo_worker *w)
{
    (void)w;
    return demo_rand_range(sc, 10, 30);
}

static void demo_rate_handle(struct demo_lane *l, tether_request *req)
{
    uint64_t window = demo_elapsed_ms(l->sc) / DEMO_RATE_WINDOW_MS;
    if (window != l->rl_window) {
        l->rl_window = window;
        l->rl_count = 0;
    }
    if (++l->rl_count <= DEMO_RATE_PER_WINDOW) {
        demo_ok(req);
        return;
    }
    static const char msg[] = "rate limit exceeded, retry in 1 s\n";
    int rv = tether_response_start(req, 503);
    if (rv == 0) {
        rv = tether_response_header(req, "Retry-After", "1");
    }
    if (rv == 0) {
        rv = tether_response_header(req, "Content-Type", "text/plain");
    }
    if (rv != 0) {
        tether_request_abort(req);
        return;
    }
    (void)tether_response_end(req, msg, sizeof(msg) - 1);
}

/* ---- 6. non-idempotent safety ---- */

static void demo_post_describe(const struct demo_scen *sc, char *buf, size_t len)
{
    (void)snprintf(buf, len,
                   "POST /orders, every other one with an Idempotency-Key; resets lose %d %% of "
                   "responses (after the server ran the order) and %d %% of requests; %u users",
                   (int)(atof(DEMO_POST_LOST_RESPONSE) * 100.0 + 0.5),
                   (int)(atof(DEMO_POST_LOST_REQUEST) * 100.0 + 0.5), sc->def->workers);
}

static void demo_post_server(struct demo_scen *sc, struct tether_server_options *o)
{
    (void)sc;
    /* One request per connection, so every order has the same chance of meeting a reset. */
    o->keep_alive_timeout_ms = 0;
}

static int demo_post_toxics(struct demo_scen *sc, const char *proxy)
{
    char path[128];
    char body[256];
    (void)snprintf(path, sizeof(path), "/proxies/%s/toxics", proxy);
    /* reset_peer drops the first chunk of its direction and resets: downstream that is the
     * response of an order the server has already run; upstream it is the request itself.
     * The client cannot tell the two apart. */
    (void)snprintf(body, sizeof(body),
                   "{\"name\":\"lost_response\",\"type\":\"reset_peer\",\"stream\":\"downstream\","
                   "\"toxicity\":%s,\"attributes\":{\"timeout\":0}}",
                   DEMO_POST_LOST_RESPONSE);
    if (demo_proxy_call(sc, "POST", path, body) != 0) {
        return -1;
    }
    (void)snprintf(body, sizeof(body),
                   "{\"name\":\"lost_request\",\"type\":\"reset_peer\",\"stream\":\"upstream\","
                   "\"toxicity\":%s,\"attributes\":{\"timeout\":0}}",
                   DEMO_POST_LOST_REQUEST);
    return demo_proxy_call(sc, "POST", path, body);
}

static const char *demo_post_request(struct demo_scen *sc, struct demo_worker *w,
                                     struct tether_fetch_options *fo)
{
    static const char order[] = "{\"item\":\"book\",\"qty\":1}";
    (void)sc;
    w->hdrs[0].name = "X-Request-Id";
    w->hdrs[0].value = w->reqid;
    w->hdrs[1].name = "Content-Type";
    w->hdrs[1].value = "application/json";
    fo->method = "POST";
    fo->headers = w->hdrs;
    fo->nheaders = 2;
    fo->body = order;
    fo->body_len = sizeof(order) - 1;
    w->keyed = (w->seq % 2) == 1;
    if (w->keyed) {
        (void)snprintf(w->key, sizeof(w->key), "order-%s-%llu", w->lane->name,
                       (unsigned long long)w->seq);
        fo->idempotency_key = w->key;
    }
    return "/orders";
}

/* Runs the order once the whole body is in: the execution the server counts. */
static void demo_post_body(tether_request *req, int status, const char *data, size_t len, bool done)
{
    (void)data;
    (void)len;
    if (status != 0 || !done) {
        return; /* the body failed: the server aborts the exchange, nothing ran */
    }
    struct demo_lane *l = tether_server_get_data(tether_request_server(req));
    const char *id = tether_request_header(req, "X-Request-Id");
    const char *key = tether_request_header(req, "Idempotency-Key");
    uint64_t seq = 0;
    struct demo_exec *e =
        (id && ttx_parse_u64(id, strlen(id), &seq) == 0) ? demo_lane_exec(l, seq) : NULL;
    if (!e) {
        (void)tether_response_send(req, 400, "text/plain", "bad X-Request-Id\n", 17);
        return;
    }
    char out[96];
    int n;
    if (key && e->count > 0) {
        /* A repeat of a keyed order: answered from the key store, not run again. */
        l->res->deduplicated++;
        n = snprintf(out, sizeof(out), "{\"order\":%llu,\"replayed\":true}\n",
                     (unsigned long long)seq);
        (void)tether_response_send(req, 200, "application/json", out, (size_t)n);
        return;
    }
    e->count++;
    e->keyed = key != NULL;
    n = snprintf(out, sizeof(out), "{\"order\":%llu}\n", (unsigned long long)seq);
    (void)tether_response_send(req, 201, "application/json", out, (size_t)n);
}

static void demo_post_handle(struct demo_lane *l, tether_request *req)
{
    if (strcmp(tether_request_method(req), "POST") != 0) {
        demo_handle_ok(l, req);
        return;
    }
    tether_request_on_body(req, demo_post_body);
}

/* ---- the table ---- */

static void demo_cut_plan(struct demo_scen *sc)
{
    demo_blob_init();
    demo_plan_plain(sc);
}

const struct demo_scenario demo_scenarios[DEMO_NSCENARIOS] = {
    {
        .name = "keepalive-race",
        .workers = 8,
        .via_proxy = false,
        .origin_per_worker = true,
        .plan = demo_plan_idle,
        .describe = demo_race_describe,
        .server_options = demo_race_server,
        .gap_ms = demo_race_gap,
        .request = demo_request_get,
        .handle = demo_handle_ok,
    },
    {
        .name = "lb-idle-timeout",
        .workers = 8,
        .via_proxy = true,
        .origin_per_worker = true,
        .plan = demo_plan_idle,
        .describe = demo_lb_describe,
        .toxics = demo_lb_toxics,
        .gap_ms = demo_lb_gap,
        .request = demo_request_get,
        .handle = demo_handle_ok,
    },
    {
        .name = "server-restart",
        .workers = 4,
        .via_proxy = true,
        .plan = demo_restart_plan,
        .describe = demo_restart_describe,
        .event = demo_restart_event,
        .gap_ms = demo_busy_gap,
        .request = demo_request_get,
        .handle = demo_handle_ok,
        /* A restart is the case for waiting: the client asks for it, as a user would with
         * --retry-connrefused. */
        .waits_for_server = true,
    },
    {
        .name = "mid-response-reset",
        .workers = 4,
        .via_proxy = true,
        .plan = demo_cut_plan,
        .describe = demo_cut_describe,
        .server_options = demo_cut_server,
        .toxics = demo_cut_toxics,
        .gap_ms = demo_cut_gap,
        .request = demo_cut_request,
        .check = demo_cut_check,
        .handle = demo_cut_handle,
    },
    {
        .name = "rate-limit",
        .workers = 4,
        .via_proxy = false,
        .plan = demo_plan_plain,
        .describe = demo_rate_describe,
        .gap_ms = demo_rate_gap,
        .request = demo_request_get,
        .handle = demo_rate_handle,
    },
    {
        .name = "post-safety",
        .workers = 4,
        .via_proxy = true,
        .posts = true,
        .plan = demo_plan_plain,
        .describe = demo_post_describe,
        .server_options = demo_post_server,
        .toxics = demo_post_toxics,
        .gap_ms = demo_cut_gap,
        .request = demo_post_request,
        .handle = demo_post_handle,
    },
    {
        .name = "egress",
        .workers = 8,
        .via_proxy = false,
        .origin_per_worker = true,
        .plan = demo_plan_idle,
        .describe = demo_egress_describe,
        .server_options = demo_race_server,
        .gap_ms = demo_race_gap,
        .request = demo_request_get,
        .handle = demo_handle_ok,
        .via_egress = true,
    },
    {
        .name = "db-idle",
        .workers = 4,
        .database = true,
    },
};
