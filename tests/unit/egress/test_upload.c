/* SPDX-License-Identifier: MIT */
/* Streamed request bodies through egress, and the app leaving, on one loop: a tether_client as
 * the app (its own body streamed with tether_fetch_write), a tether_egress in reverse mode, and
 * a raw upstream that parses each request (Content-Length or chunked), checks every body byte
 * against the pattern the app sends, counts the requests it executed (a complete body) and
 * resets a connection at a chosen body byte. Every fault is triggered by what a peer saw, never
 * by a timer: the reset at byte N, the app's body released when the upstream has seen a head,
 * the app leaving when the upstream has seen N bytes or the app the first response bytes. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#include "http1/http1.h"
#include "loop.h"
#include "tether/egress.h"

#define T(ms) tt_test_scale_ms(ms)
#define KIB ((uint64_t)1024)
#define MIB (1024 * KIB)
#define NEVER UINT64_MAX

static unsigned char pattern(uint64_t i)
{
    return (unsigned char)((i * 131u + (i >> 11)) & 0xffu);
}

/* ---- the upstream ---- */

struct up;

struct up_conn {
    uv_tcp_t tcp;
    struct up *up;
    unsigned id;
    char head[8192];
    size_t head_len;
    bool in_body;
    bool chunked;
    uint64_t left; /* Content-Length bytes still to come */
    struct tt__h1_chunked ch;
    uint64_t got; /* body bytes of the request on this connection */
    bool done;
};

struct up {
    uv_tcp_t listener;
    uint16_t port;
    unsigned conns;
    unsigned heads;      /* request heads seen */
    unsigned executed;   /* requests whose whole body arrived (each answered 200) */
    unsigned closed;     /* connections that ended (the peer's FIN or RST, or our reset) */
    unsigned handles;    /* handles still open, for the close */
    uint64_t last_len;   /* the body length of the last executed request */
    bool corrupt;        /* a body byte differed from the pattern */
    uint64_t reset_at;   /* connection 0 resets once it holds this many body bytes */
    bool reset_on_head;  /* connection 0 resets as soon as its head is in */
    bool stall_response; /* answer a head and 64 KiB of a 10 MiB body, then nothing */
    uint64_t notify_at;  /* body bytes on connection 0 at which `at_bytes` runs */
    void (*on_head)(struct up *up, unsigned conn);
    void (*at_bytes)(struct up *up);
    void *data;
};

static void up_closed(uv_handle_t *h)
{
    struct up_conn *c = h->data;
    c->up->handles--;
    tt__free(c);
}

static void up_end(struct up_conn *c, bool reset)
{
    if (uv_is_closing((uv_handle_t *)&c->tcp)) {
        return;
    }
    if (reset) {
        (void)uv_tcp_close_reset(&c->tcp, up_closed);
    } else {
        uv_close((uv_handle_t *)&c->tcp, up_closed);
    }
    c->up->closed++;
}

static void up_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    (void)h;
    buf->base = tt__malloc(size);
    buf->len = buf->base ? size : 0;
}

static void up_write_done(uv_write_t *w, int status)
{
    (void)status;
    tt__free(w);
}

static void up_send(struct up_conn *c, const char *data, size_t len)
{
    uv_write_t *w = tt__malloc(sizeof(*w) + len);
    assert_non_null(w);
    memcpy((char *)(w + 1), data, len);
    uv_buf_t b = uv_buf_init((char *)(w + 1), (unsigned)len);
    assert_int_equal(uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, up_write_done), 0);
}

/* Body bytes: checked against the pattern; returns false once the connection was reset. */
static bool up_body(struct up_conn *c, const char *p, size_t n)
{
    struct up *up = c->up;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)p[i] != pattern(c->got + i)) {
            up->corrupt = true;
        }
    }
    c->got += n;
    if (c->id == 0 && up->at_bytes && c->got >= up->notify_at) {
        void (*fn)(struct up *) = up->at_bytes;
        up->at_bytes = NULL;
        fn(up);
    }
    if (c->id == 0 && c->got >= up->reset_at) {
        up_end(c, true);
        return false;
    }
    return true;
}

static void up_complete(struct up_conn *c)
{
    struct up *up = c->up;
    c->done = true;
    up->executed++;
    up->last_len = c->got;
    if (up->stall_response) {
        static char chunk[64 * 1024];
        const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n";
        up_send(c, head, sizeof(head) - 1);
        up_send(c, chunk, sizeof(chunk));
        return;
    }
    char resp[160];
    char body[64];
    int bn = snprintf(body, sizeof(body), "got %llu", (unsigned long long)c->got);
    int n =
        snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", bn, body);
    up_send(c, resp, (size_t)n);
}

static void up_feed(struct up_conn *c, const char *p, size_t n)
{
    while (n > 0 && !c->done) {
        if (!c->in_body) {
            size_t take =
                n < sizeof(c->head) - c->head_len - 1 ? n : sizeof(c->head) - c->head_len - 1;
            memcpy(c->head + c->head_len, p, take);
            c->head_len += take;
            c->head[c->head_len] = '\0';
            char *end = strstr(c->head, "\r\n\r\n");
            if (!end) {
                return;
            }
            size_t hl = (size_t)(end + 4 - c->head);
            size_t extra = c->head_len - hl;
            c->in_body = true;
            c->up->heads++;
            for (size_t k = 0; k < hl; k++) {
                c->head[k] = (char)tolower((unsigned char)c->head[k]);
            }
            c->chunked = strstr(c->head, "transfer-encoding: chunked") != NULL;
            const char *cl = strstr(c->head, "content-length: ");
            c->left = cl ? strtoull(cl + 16, NULL, 10) : 0;
            tt__h1_chunked_init(&c->ch, NULL);
            if (c->up->on_head) {
                c->up->on_head(c->up, c->id);
            }
            if (c->id == 0 && c->up->reset_on_head) {
                up_end(c, true);
                return;
            }
            p += take - extra; /* the body begins right after the head, in the read itself */
            n = n - take + extra;
            if (!c->chunked && c->left == 0) {
                up_complete(c);
                return;
            }
            continue;
        }
        if (!c->chunked) {
            size_t take = n < c->left ? n : (size_t)c->left;
            c->left -= take;
            if (!up_body(c, p, take)) {
                return;
            }
            p += take;
            n -= take;
            if (c->left == 0) {
                up_complete(c);
            }
            continue;
        }
        struct tt__h1_str span = {NULL, 0};
        size_t used = 0;
        int rv = tt__h1_chunked_decode(&c->ch, p, n, &used, &span);
        assert_true(rv >= 0);
        if (span.len && !up_body(c, span.ptr, span.len)) {
            return;
        }
        p += used;
        n -= used;
        if (rv == TT__H1_CHUNKED_DONE) {
            up_complete(c);
        } else if (used == 0 && span.len == 0) {
            return;
        }
    }
}

static void up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct up_conn *c = s->data;
    if (nread < 0) {
        up_end(c, false);
    } else if (nread > 0) {
        up_feed(c, buf->base, (size_t)nread);
    }
    tt__free(buf->base);
}

static void up_accept(uv_stream_t *server, int status)
{
    struct up *up = server->data;
    assert_int_equal(status, 0);
    struct up_conn *c = tt__calloc(1, sizeof(*c));
    assert_non_null(c);
    c->up = up;
    c->id = up->conns++;
    assert_int_equal(uv_tcp_init(server->loop, &c->tcp), 0);
    c->tcp.data = c;
    up->handles++;
    assert_int_equal(uv_accept(server, (uv_stream_t *)&c->tcp), 0);
    assert_int_equal(uv_read_start((uv_stream_t *)&c->tcp, up_alloc, up_read), 0);
}

static void up_listener_closed(uv_handle_t *h)
{
    struct up *up = h->data;
    up->handles--;
}

static void up_start(uv_loop_t *loop, struct up *up)
{
    up->handles = 1;
    up->port = tt_test_tcp_listen(loop, &up->listener, up, 64, up_accept);
}

/* ---- the app and egress ---- */

struct env {
    uv_loop_t loop;
    struct up up;
    tether_egress *eg;
    tether_client *app;
    tether_fetch *f;
    uint64_t total;     /* the app's body length */
    uint64_t off;       /* supplied so far */
    uint64_t hold_at;   /* the app stops supplying here until released */
    bool pumping;       /* a pump is on the stack */
    unsigned done;      /* the app's fetch finished */
    int status;         /* its status */
    unsigned body_seen; /* the app saw response body bytes */
    bool leave_on_body; /* the app cancels its fetch at the first response bytes */
    unsigned closed;
    const char *deadline; /* X-Tether-Deadline sent by the app, or NULL */
    char rbody[256];      /* the start of the response body the app got */
    size_t rbody_len;
};

static void app_pump(struct env *e)
{
    static char piece[64 * 1024];
    if (e->pumping || !e->f) {
        return;
    }
    e->pumping = true;
    while (e->off < e->total && e->off < e->hold_at) {
        uint64_t n = e->total - e->off;
        n = n < sizeof(piece) ? n : sizeof(piece);
        n = e->off + n > e->hold_at ? e->hold_at - e->off : n;
        for (uint64_t i = 0; i < n; i++) {
            piece[i] = (char)pattern(e->off + i);
        }
        bool last = e->off + n == e->total;
        int rv = tether_fetch_write(e->f, piece, (size_t)n, last);
        if (rv < 0) {
            assert_int_equal(rv, TETHER_ECANCELED); /* answered before the body was complete */
            break;
        }
        e->off += n;
        if (rv == 1) {
            break; /* app_drain continues */
        }
    }
    e->pumping = false;
}

static void app_drain(tether_fetch *f)
{
    app_pump(tether_fetch_get_data(f));
}

static bool app_body(tether_fetch *f, const char *data, size_t len)
{
    struct env *e = tether_fetch_get_data(f);
    size_t room = sizeof(e->rbody) - 1 - e->rbody_len;
    size_t n = len < room ? len : room;
    memcpy(e->rbody + e->rbody_len, data, n);
    e->rbody_len += n;
    e->body_seen++;
    if (e->leave_on_body) {
        e->leave_on_body = false;
        tether_fetch_cancel(f); /* the app's connection is aborted: an RST to egress */
        return false;
    }
    return true;
}

static void app_done(tether_fetch *f, int status)
{
    struct env *e = tether_fetch_get_data(f);
    e->status = status;
    e->done++;
}

static void on_closed(void *data)
{
    struct env *e = data;
    e->closed++;
}

static void env_start(struct env *e, size_t replay_limit)
{
    assert_int_equal(uv_loop_init(&e->loop), 0);
    e->up.reset_at = NEVER;
    e->up.notify_at = NEVER;
    e->up.data = e;
    e->hold_at = NEVER;
    up_start(&e->loop, &e->up);
    char upstream[64];
    (void)snprintf(upstream, sizeof(upstream), "http://127.0.0.1:%u", (unsigned)e->up.port);
    struct tether_egress_options eo;
    tether_egress_options_init(&eo);
    eo.upstream = upstream;
    eo.replay_body_limit = replay_limit;
    eo.client.policy.backoff_base_ms = 1; /* the retry's sleep is not what is tested */
    ASSERT_OK(tether_egress_new(&e->loop, &eo, &e->eg));
    struct tether_client_options co;
    tether_client_options_init(&co);
    tether_policy_naive(&co.policy);
    co.policy.max_attempts = 1;
    co.policy.max_replays = 0;
    ASSERT_OK(tether_client_new(&e->loop, &co, &e->app));
}

/* The app's request: `total` bytes of the pattern, chunked or with Content-Length. */
static void app_start(struct env *e, const char *method, uint64_t total, bool chunked,
                      const char *key)
{
    char url[96];
    (void)snprintf(url, sizeof(url), "http://127.0.0.1:%u/upload",
                   (unsigned)tether_egress_port(e->eg));
    struct tether_fetch_options fo;
    tether_fetch_options_init(&fo);
    fo.method = method;
    fo.url = url;
    fo.idempotency_key = key;
    const struct tether_header dl = {"X-Tether-Deadline", e->deadline};
    fo.headers = e->deadline ? &dl : NULL;
    fo.nheaders = e->deadline ? 1 : 0;
    fo.body_stream = true;
    fo.body_stream_length = chunked ? TETHER_BODY_LENGTH_UNKNOWN : total;
    fo.on_body_drain = app_drain;
    fo.on_body = app_body;
    fo.data = e;
    e->total = total;
    ASSERT_OK(tether_client_fetch(e->app, &fo, app_done, &e->f));
    app_pump(e);
}

static void env_finish(struct env *e)
{
    tether_fetch_free(e->f);
    e->f = NULL;
    tether_client_close(e->app, on_closed, e);
    tether_egress_close(e->eg, on_closed, e);
    tt_test_loop_run_until_count(&e->loop, &e->closed, 2, T(5000));
    /* The upstream's connections ended with egress's close; its listener goes now. */
    uv_close((uv_handle_t *)&e->up.listener, up_listener_closed);
    tt_test_loop_close(&e->loop);
}

static const char *app_header(struct env *e, const char *name)
{
    const char *v = tether_fetch_header(e->f, name);
    return v ? v : "";
}

static void app_body_text(struct env *e, char *out, size_t cap)
{
    (void)snprintf(out, cap, "%.*s", (int)e->rbody_len, e->rbody);
}

/* Larger than the replay limit, with nothing failing: both framings arrive whole. */
static void test_large_bodies_stream(void **state)
{
    (void)state;
    for (int chunked = 0; chunked < 2; chunked++) {
        struct env e;
        memset(&e, 0, sizeof(e));
        env_start(&e, (size_t)MIB);
        app_start(&e, "POST", 5 * MIB + 17, chunked, NULL);
        tt_test_loop_run_until_count(&e.loop, &e.done, 1, T(20000));
        assert_int_equal(e.status, 0);
        assert_int_equal(tether_fetch_status(e.f), 200);
        assert_int_equal(e.up.executed, 1);
        assert_int_equal(e.up.last_len, 5 * MIB + 17);
        assert_false(e.up.corrupt);
        assert_string_equal(app_header(&e, "X-Tether-Retry"), "not-replayable");
        struct tether_egress_stats st;
        tether_egress_get_stats(e.eg, &st);
        assert_int_equal(st.bytes_up, 5 * MIB + 17);
        assert_int_equal(st.not_replayable, 1);
        env_finish(&e);
    }
}

/* The upstream resets the first connection on its head, before any body byte went out (the
 * app holds its body until the second head): the body, over the replay limit but none of it
 * sent, goes again whole on the retry. */
static void release_on_second_head(struct up *up, unsigned conn)
{
    struct env *e = up->data;
    if (conn == 1) {
        e->hold_at = NEVER;
        app_pump(e);
    }
}

static void test_reset_before_body_is_retried(void **state)
{
    (void)state;
    struct env e;
    memset(&e, 0, sizeof(e));
    env_start(&e, (size_t)MIB);
    e.up.reset_on_head = true;
    e.up.on_head = release_on_second_head;
    e.hold_at = 0;
    app_start(&e, "PUT", 3 * MIB, false, NULL);
    tt_test_loop_run_until_count(&e.loop, &e.done, 1, T(20000));
    assert_int_equal(e.status, 0);
    assert_int_equal(tether_fetch_status(e.f), 200);
    assert_int_equal(e.up.heads, 2);
    assert_int_equal(e.up.executed, 1);
    assert_int_equal(e.up.last_len, 3 * MIB);
    assert_false(e.up.corrupt);
    struct tether_client_stats cs;
    tether_client_get_stats(tether_egress_client(e.eg), &cs);
    assert_int_equal(cs.attempts, 2);
    env_finish(&e);
}

/* A keyed POST cut mid-body, under the limit: every byte is still kept, so it is sent again and
 * the upstream gets the whole body once (the cut attempt never completed). Both framings. */
static void test_reset_mid_body_under_limit_is_replayed(void **state)
{
    (void)state;
    for (int chunked = 0; chunked < 2; chunked++) {
        struct env e;
        memset(&e, 0, sizeof(e));
        env_start(&e, (size_t)MIB);
        e.up.reset_at = 200 * KIB;
        app_start(&e, "POST", 700 * KIB, chunked, "key-1");
        tt_test_loop_run_until_count(&e.loop, &e.done, 1, T(20000));
        assert_int_equal(e.status, 0);
        assert_int_equal(tether_fetch_status(e.f), 200);
        assert_int_equal(e.up.heads, 2);
        assert_int_equal(e.up.executed, 1);
        assert_int_equal(e.up.last_len, 700 * KIB);
        assert_false(e.up.corrupt);
        char text[64];
        app_body_text(&e, text, sizeof(text));
        assert_string_equal(text, "got 716800");
        assert_string_equal(app_header(&e, "X-Tether-Retry"), "");
        env_finish(&e);
    }
}

/* Cut mid-body past the limit: bytes that went out are no longer kept, so it is not sent again
 * (even keyed): 502 with X-Tether-Retry: not-replayable and retry-safe no, and the upstream
 * saw one head and executed nothing. Both framings (chunked: the limit is learnt on the way). */
static void test_reset_over_limit_is_not_replayed(void **state)
{
    (void)state;
    for (int chunked = 0; chunked < 2; chunked++) {
        struct env e;
        memset(&e, 0, sizeof(e));
        env_start(&e, (size_t)MIB);
        e.up.reset_at = 3 * MIB / 2;
        app_start(&e, "POST", 3 * MIB, chunked, "key-2");
        tt_test_loop_run_until_count(&e.loop, &e.done, 1, T(20000));
        assert_int_equal(e.status, 0);
        assert_int_equal(tether_fetch_status(e.f), 502);
        assert_string_equal(app_header(&e, "X-Tether-Retry"), "not-replayable");
        assert_string_equal(app_header(&e, "X-Tether-Retry-Safe"), "no");
        assert_int_equal(e.up.heads, 1);
        assert_int_equal(e.up.executed, 0);
        assert_false(e.up.corrupt);
        struct tether_egress_stats st;
        tether_egress_get_stats(e.eg, &st);
        assert_int_equal(st.failed_502, 1);
        assert_int_equal(st.not_replayable, 1);
        env_finish(&e);
    }
}

/* The app leaves mid-request (its connection reset after the upstream saw 100 KiB): egress
 * cancels the fetch and the upstream's connection ends; nothing was executed. */
static void app_leaves(struct up *up)
{
    struct env *e = up->data;
    tether_fetch_cancel(e->f);
}

static void test_app_gone_mid_request(void **state)
{
    (void)state;
    struct env e;
    memset(&e, 0, sizeof(e));
    env_start(&e, (size_t)MIB);
    e.up.notify_at = 100 * KIB;
    e.up.at_bytes = app_leaves;
    app_start(&e, "POST", 8 * MIB, false, NULL);
    tt_test_loop_run_until_count(&e.loop, &e.up.closed, 1, T(20000));
    assert_int_equal(e.status, TETHER_ECANCELED);
    assert_int_equal(e.up.executed, 0);
    struct tether_egress_stats st;
    tether_egress_get_stats(e.eg, &st);
    assert_int_equal(st.app_gone, 1);
    assert_int_equal(st.relayed + st.failed_502 + st.failed_504, 0);
    env_finish(&e);
}

/* The app leaves mid-response (its connection reset at the first body bytes, while the upstream
 * holds the rest of a 10 MiB body): egress cancels the fetch and closes the upstream's
 * connection instead of waiting on it. */
static void test_app_gone_mid_response(void **state)
{
    (void)state;
    struct env e;
    memset(&e, 0, sizeof(e));
    env_start(&e, (size_t)MIB);
    e.up.stall_response = true;
    e.leave_on_body = true;
    app_start(&e, "POST", 10 * KIB, false, NULL);
    tt_test_loop_run_until_count(&e.loop, &e.up.closed, 1, T(20000));
    assert_int_equal(e.up.executed, 1);
    assert_true(e.body_seen >= 1);
    struct tether_egress_stats st;
    tether_egress_get_stats(e.eg, &st);
    assert_int_equal(st.app_gone, 1);
    env_finish(&e);
}

/* The app stalls mid-body: the deadline ends the exchange with a 504 that says the body was
 * still being sent (phase WRITE), and the upstream executed nothing. */
static void test_deadline_mid_upload(void **state)
{
    (void)state;
    struct env e;
    memset(&e, 0, sizeof(e));
    env_start(&e, (size_t)MIB);
    e.deadline = "300ms";
    e.hold_at = 100 * KIB; /* never released */
    app_start(&e, "PUT", MIB, false, NULL);
    tt_test_loop_run_until_count(&e.loop, &e.done, 1, T(20000));
    assert_int_equal(e.status, 0);
    assert_int_equal(tether_fetch_status(e.f), 504);
    assert_string_equal(app_header(&e, "X-Tether-Phase"), "WRITE");
    assert_int_equal(e.up.executed, 0);
    env_finish(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_bodies_stream),
        cmocka_unit_test(test_reset_before_body_is_retried),
        cmocka_unit_test(test_reset_mid_body_under_limit_is_replayed),
        cmocka_unit_test(test_reset_over_limit_is_not_replayed),
        cmocka_unit_test(test_app_gone_mid_request),
        cmocka_unit_test(test_app_gone_mid_response),
        cmocka_unit_test(test_deadline_mid_upload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
