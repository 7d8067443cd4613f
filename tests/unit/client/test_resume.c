/* SPDX-License-Identifier: MIT */
/*
 * Resumable downloads (client.md §6.5 items 23-25): a GET body cut by a reset at chosen offsets
 * goes on with Range + If-Range and ends byte-exact, or ends with an explicit error; it is never
 * spliced from two representations. A scripted origin serves a representation with a strong
 * ETag, a weak one, only Last-Modified, no validator, ignores Range, changes between attempts,
 * or answers a resume with a 206 that does not continue the body.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#include "fetch_helpers.h"
#include "loop.h"
#include "script_server.h"
#include "util/etag.h"
#include "util/rand.h"

#define REP_LEN 6000
#define MAX_REQ 16

/* The origin: one representation per version, the validators it sends, where it cuts. */
struct origin {
    char rep[2][REP_LEN];
    size_t len[2];
    unsigned change_at;    /* from this request number (1-based) on, version 1; 0 = never */
    const char *fields[2]; /* extra header lines per version */
    const char *etag[2];   /* what If-Range is compared with (NULL = none) */
    int64_t lm[2];         /* Last-Modified as seconds (0 = none) */
    bool ignore_range;     /* always a full 200 */
    int bad_206;           /* 1: starts one byte late; 2: announces another total */
    size_t cuts[MAX_REQ];  /* reset after this many body bytes of request i (0 = none) */
    char range[MAX_REQ][64];
    char if_range[MAX_REQ][80];
    unsigned n;
};

/* The value of a request header as the client writes it ("Name: value\r\n"), or "". */
static void req_field(const char *req, size_t len, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    char pat[40];
    (void)snprintf(pat, sizeof(pat), "\r\n%s: ", name);
    const char *end = req + len;
    const char *p = req;
    size_t plen = strlen(pat);
    while (p + plen <= end && memcmp(p, pat, plen) != 0) {
        p++;
    }
    if (p + plen > end) {
        return;
    }
    p += plen;
    size_t n = 0;
    while (p + n < end && p[n] != '\r' && n + 1 < cap) {
        n++;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

static void origin_cb(struct ss_conn *c, unsigned index, const char *req, size_t len, void *data)
{
    (void)index;
    struct origin *o = data;
    unsigned i = o->n++;
    assert_true(i < MAX_REQ);
    unsigned v = (o->change_at && o->n >= o->change_at) ? 1 : 0;
    req_field(req, len, "Range", o->range[i], sizeof(o->range[i]));
    req_field(req, len, "If-Range", o->if_range[i], sizeof(o->if_range[i]));
    size_t total = o->len[v];
    size_t first = 0;
    int status = 200;
    char cr[96] = "";
    bool ranged = o->range[i][0] && !o->ignore_range &&
                  (!o->if_range[i][0] || ttx_if_range_match(o->if_range[i], o->etag[v], o->lm[v]));
    if (ranged) {
        first = strtoull(o->range[i] + strlen("bytes="), NULL, 10);
        if (first >= total) {
            char head[256];
            (void)snprintf(head, sizeof(head),
                           "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */%zu\r\n"
                           "Content-Length: 0\r\n\r\n",
                           total);
            ss_send_str(c, head);
            return;
        }
        status = 206;
        size_t shown = o->bad_206 == 1 ? first + 1 : first;
        size_t shown_total = o->bad_206 == 2 ? total + 1 : total;
        (void)snprintf(cr, sizeof(cr), "Content-Range: bytes %zu-%zu/%zu\r\n", shown,
                       shown_total - 1, shown_total);
        first = shown;
    }
    size_t body = total - first;
    char head[512];
    (void)snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n%s%sContent-Length: %zu\r\n\r\n", status,
                   status == 206 ? "Partial Content" : "OK", o->fields[v], cr, body);
    ss_send_str(c, head);
    size_t cut = o->cuts[i];
    if (cut > 0 && cut < body) {
        ss_send(c, o->rep[v] + first, cut);
        ss_reset(c);
        return;
    }
    ss_send(c, o->rep[v] + first, body);
}

static void origin_init(struct origin *o, uint64_t seed, const char *fields)
{
    memset(o, 0, sizeof(*o));
    struct ttx_rng rng;
    ttx_rng_seed(&rng, seed);
    for (int v = 0; v < 2; v++) {
        o->len[v] = REP_LEN - (size_t)v * 1000;
        for (size_t i = 0; i < o->len[v]; i++) {
            o->rep[v][i] = (char)('a' + ttx_rng_below(&rng, 26));
        }
        o->fields[v] = fields;
    }
}

/* Three cuts at random offsets of the running download (each inside what is left). */
static void origin_random_cuts(struct origin *o, uint64_t seed, unsigned ncuts)
{
    struct ttx_rng rng;
    ttx_rng_seed(&rng, seed * 7919 + 1);
    size_t left = o->len[0];
    for (unsigned i = 0; i < ncuts && left > 2; i++) {
        o->cuts[i] = 1 + ttx_rng_below(&rng, left / 2);
        left -= o->cuts[i];
    }
}

/* A streaming sink that follows on_restart as a file would (seek + truncate). */
static struct sink {
    char data[REP_LEN + 16];
    size_t len;
    unsigned restarts; /* on_restart calls */
    uint64_t offsets[MAX_REQ];
    bool refuse_restart;
} g_sink;

static bool sink_body(tether_fetch *f, const char *data, size_t len)
{
    (void)f;
    assert_true(g_sink.len + len <= sizeof(g_sink.data));
    memcpy(g_sink.data + g_sink.len, data, len);
    g_sink.len += len;
    return true;
}

static bool sink_restart(tether_fetch *f, uint64_t offset)
{
    (void)f;
    assert_true(offset <= g_sink.len);
    if (g_sink.restarts < MAX_REQ) {
        g_sink.offsets[g_sink.restarts] = offset;
    }
    g_sink.restarts++;
    g_sink.len = (size_t)offset;
    return !g_sink.refuse_restart;
}

static void policy_for_resume(struct tether_policy *p)
{
    tether_policy_defaults(p);
    p->backoff_base_ms = 1;
    p->backoff_cap_ms = 5;
    p->max_attempts = 10;
}

/* Runs one streamed GET against `o`; the outcome in r, the bytes in g_sink. */
static void run_streamed(struct origin *o, const struct tether_policy *p, bool with_restart,
                         struct ft_result *r, struct ft_events *ev_out, unsigned *resumes)
{
    struct ft_env e;
    ft_env_init(&e, p, origin_cb, o);
    memset(&g_sink, 0, sizeof(g_sink));
    struct tether_fetch_options fo;
    tether_fetch_options_init(&fo);
    fo.url = e.url;
    fo.on_body = sink_body;
    fo.on_restart = with_restart ? sink_restart : NULL;
    memset(r, 0, sizeof(*r));
    ft_run(&e.loop, e.client, &fo, r, 10000);
    assert_true(r->done);
    struct tether_client_stats st;
    tether_client_get_stats(e.client, &st);
    *resumes = (unsigned)st.resumes;
    if (ev_out) {
        *ev_out = e.ev;
    }
    ft_env_done(&e);
}

static void assert_sink_is(const struct origin *o, unsigned v)
{
    assert_int_equal(g_sink.len, o->len[v]);
    assert_memory_equal(g_sink.data, o->rep[v], o->len[v]);
}

#define STRONG "ETag: \"v1\"\r\nAccept-Ranges: bytes\r\n"

static void test_strong_etag_random_cuts(void **state)
{
    (void)state;
    struct tether_policy p;
    policy_for_resume(&p);
    for (uint64_t seed = 1; seed <= 6; seed++) {
        struct origin o;
        origin_init(&o, seed, STRONG);
        o.etag[0] = "\"v1\"";
        origin_random_cuts(&o, seed, 3);
        struct ft_result r;
        struct ft_events ev;
        unsigned resumes;
        run_streamed(&o, &p, true, &r, &ev, &resumes);
        assert_int_equal(r.code, 0);
        assert_int_equal(r.status, 200); /* the body is still the first response's */
        assert_sink_is(&o, 0);
        assert_int_equal(resumes, 3);
        assert_int_equal(ev.n[TETHER_EVENT_RESUME], 3);
        assert_int_equal(r.attempts, 4);
        assert_int_equal(o.n, 4);
        size_t at = 0;
        for (unsigned i = 0; i < 3; i++) {
            at += o.cuts[i];
            char want[64];
            (void)snprintf(want, sizeof(want), "bytes=%zu-", at);
            assert_string_equal(o.range[i + 1], want);
            assert_string_equal(o.if_range[i + 1], "\"v1\"");
            assert_int_equal(g_sink.offsets[i], at); /* told before each continuation */
        }
        assert_string_equal(o.range[0], "");
    }
}

/* Without on_restart a sink can still be continued: bytes only ever append. */
static void test_strong_etag_without_on_restart(void **state)
{
    (void)state;
    struct tether_policy p;
    policy_for_resume(&p);
    struct origin o;
    origin_init(&o, 11, STRONG);
    o.etag[0] = "\"v1\"";
    origin_random_cuts(&o, 11, 2);
    struct ft_result r;
    unsigned resumes;
    run_streamed(&o, &p, false, &r, NULL, &resumes);
    assert_int_equal(r.code, 0);
    assert_sink_is(&o, 0);
    assert_int_equal(resumes, 2);
}

/* RFC 9110 §13.1.5: a weak ETag never goes in If-Range, and rules out the date as well. */
static void test_weak_etag_restarts(void **state)
{
    (void)state;
    struct tether_policy p;
    policy_for_resume(&p);
    struct origin o;
    origin_init(&o, 21,
                "ETag: W/\"v1\"\r\nAccept-Ranges: bytes\r\n"
                "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                "Date: Mon, 07 Nov 1994 08:49:37 GMT\r\n");
    o.etag[0] = "W/\"v1\"";
    origin_random_cuts(&o, 21, 2);
    struct ft_result r;
    struct ft_events ev;
    unsigned resumes;
    run_streamed(&o, &p, true, &r, &ev, &resumes);
    assert_int_equal(r.code, 0);
    assert_sink_is(&o, 0);
    assert_int_equal(resumes, 0);
    assert_int_equal(o.n, 3);
    for (unsigned i = 0; i < o.n; i++) {
        assert_string_equal(o.range[i], "");
    }
    /* Each cut truncated the sink to 0 before the body came again. */
    assert_int_equal(g_sink.restarts, 2);
    assert_int_equal(g_sink.offsets[0], 0);
    assert_int_equal(g_sink.offsets[1], 0);
    assert_int_equal(ev.n[TETHER_EVENT_RESUME], 2);
    assert_string_equal(ev.last_reason[TETHER_EVENT_RESUME],
                        "starting the body again: no strong validator");

    /* Streamed without on_restart, a body that cannot be continued is an error, not a
     * restart the sink cannot follow. */
    origin_init(&o, 21, "ETag: W/\"v1\"\r\nAccept-Ranges: bytes\r\n");
    origin_random_cuts(&o, 21, 1);
    run_streamed(&o, &p, false, &r, NULL, &resumes);
    assert_true(r.code == TETHER_ECONNRESET || r.code == TETHER_ETRUNCATED);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(g_sink.len, o.cuts[0]);
}

#define LM "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
#define LM_S 784111777

static void test_last_modified_only(void **state)
{
    (void)state;
    struct tether_policy p;
    policy_for_resume(&p);
    struct origin o;
    /* Date a day later: the date is a strong validator (§8.8.2.2). */
    origin_init(&o, 31, LM "Date: Mon, 07 Nov 1994 08:49:37 GMT\r\nAccept-Ranges: bytes\r\n");
    o.lm[0] = LM_S;
    origin_random_cuts(&o, 31, 2);
    struct ft_result r;
    unsigned resumes;
    run_streamed(&o, &p, true, &r, NULL, &resumes);
    assert_int_equal(r.code, 0);
    assert_sink_is(&o, 0);
    assert_int_equal(resumes, 2);
    assert_string_equal(o.if_range[1], "Sun, 06 Nov 1994 08:49:37 GMT");

    /* Date in the same second as Last-Modified: weak, so the body starts over. */
    origin_init(&o, 32, LM "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nAccept-Ranges: bytes\r\n");
    o.lm[0] = LM_S;
    origin_random_cuts(&o, 32, 1);
    run_streamed(&o, &p, true, &r, NULL, &resumes);
    assert_int_equal(r.code, 0);
    assert_sink_is(&o, 0);
    assert_int_equal(resumes, 0);
    assert_string_equal(o.range[1], "");
}

static void test_no_validator_restarts(void **state)
{
    (void)state;
    struct tether_policy p;
    policy_for_resume(&p);
    for (uint64_t seed = 41; seed <= 43; seed++) {
        struct origin o;
        origin_init(&o, seed, "Accept-Ranges: bytes\r\n");
        origin_random_cuts(&o, seed, 2);
        struct ft_result r;
        unsigned resumes;
        run_streamed(&o, &p, true, &r, NULL, &resumes);
        assert_int_equal(r.code, 0);
        assert_sink_is(&o, 0);
        assert_int_equal(resumes, 0);
        assert_string_equal(o.range[1], "");
    }
}

/* A server that advertises ranges but answers 200: the sink is truncated, the whole body
 * comes again; without on_restart the fetch ends with an error naming the 200. */
static void test_server_ignores_range(void **state)
{
    (void)state;
    struct tether_policy p;
    policy_for_resume(&p);
    struct origin o;
    origin_init(&o, 51, STRONG);
    o.etag[0] = "\"v1\"";
    o.ignore_range = true;
    origin_random_cuts(&o, 51, 2);
    struct ft_result r;
    unsigned resumes;
    run_streamed(&o, &p, true, &r, NULL, &resumes);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.status, 200);
    assert_sink_is(&o, 0);
    assert_int_equal(resumes, 2);
    assert_int_equal(g_sink.offsets[1], 0); /* continue at the cut, then the 200 truncates */

    origin_init(&o, 52, STRONG);
    o.etag[0] = "\"v1\"";
    o.ignore_range = true;
    origin_random_cuts(&o, 52, 1);
    run_streamed(&o, &p, false, &r, NULL, &resumes);
    assert_true(r.code == TETHER_ECONNRESET || r.code == TETHER_ETRUNCATED);
    assert_non_null(strstr(r.failure.detail, "answered 200, not 206"));
    assert_int_equal(g_sink.len, o.cuts[0]); /* nothing of the 200 was appended */
}

/* The resource changes between attempts: If-Range no longer matches, the new version comes
 * whole, and the sink holds exactly it. */
static void test_resource_changes(void **state)
{
    (void)state;
    struct tether_policy p;
    policy_for_resume(&p);
    const char *etags[2] = {"\"v1\"", "\"v2\""};
    struct origin o;
    origin_init(&o, 61, STRONG);
    o.fields[1] = "ETag: \"v2\"\r\nAccept-Ranges: bytes\r\n";
    o.etag[0] = etags[0];
    o.etag[1] = etags[1];
    o.change_at = 2;
    origin_random_cuts(&o, 61, 1);
    struct ft_result r;
    unsigned resumes;
    run_streamed(&o, &p, true, &r, NULL, &resumes);
    assert_int_equal(r.code, 0);
    assert_sink_is(&o, 1);
    assert_string_equal(o.if_range[1], "\"v1\"");

    /* The same with Last-Modified as the validator. */
    origin_init(&o, 62, LM "Date: Mon, 07 Nov 1994 08:49:37 GMT\r\nAccept-Ranges: bytes\r\n");
    o.fields[1] = "Last-Modified: Mon, 07 Nov 1994 08:49:37 GMT\r\n"
                  "Date: Tue, 08 Nov 1994 08:49:37 GMT\r\nAccept-Ranges: bytes\r\n";
    o.lm[0] = LM_S;
    o.lm[1] = LM_S + 86400;
    o.change_at = 2;
    origin_random_cuts(&o, 62, 2);
    run_streamed(&o, &p, true, &r, NULL, &resumes);
    assert_int_equal(r.code, 0);
    assert_sink_is(&o, 1);
}

/* A 206 that does not continue the body is never written: the next attempt starts over. */
static void test_bad_206_restarts(void **state)
{
    (void)state;
    struct tether_policy p;
    policy_for_resume(&p);
    for (int bad = 1; bad <= 2; bad++) {
        struct origin o;
        origin_init(&o, 70 + (uint64_t)bad, STRONG);
        o.etag[0] = "\"v1\"";
        o.bad_206 = bad;
        origin_random_cuts(&o, 70 + (uint64_t)bad, 1);
        struct ft_result r;
        struct ft_events ev;
        unsigned resumes;
        run_streamed(&o, &p, true, &r, &ev, &resumes);
        assert_int_equal(r.code, 0);
        assert_sink_is(&o, 0);
        assert_int_equal(o.n, 3); /* cut, bad 206, then a plain GET */
        assert_string_equal(o.range[2], "");
        assert_non_null(strstr(ev.last_reason[TETHER_EVENT_RESUME], "206"));

        /* Out of attempts, the same is an explicit error. */
        struct tether_policy p2 = p;
        p2.max_attempts = 2;
        origin_init(&o, 70 + (uint64_t)bad, STRONG);
        o.etag[0] = "\"v1\"";
        o.bad_206 = bad;
        origin_random_cuts(&o, 70 + (uint64_t)bad, 1);
        run_streamed(&o, &p2, true, &r, NULL, &resumes);
        assert_true(r.code == TETHER_ECONNRESET || r.code == TETHER_ETRUNCATED);
        assert_non_null(strstr(r.failure.detail, "cannot resume the body at byte"));
    }
}

/* Each resume is an attempt of the policy. */
static void test_resumes_count_as_attempts(void **state)
{
    (void)state;
    struct tether_policy p;
    policy_for_resume(&p);
    p.max_attempts = 3;
    struct origin o;
    origin_init(&o, 81, STRONG);
    o.etag[0] = "\"v1\"";
    origin_random_cuts(&o, 81, 3);
    struct ft_result r;
    unsigned resumes;
    run_streamed(&o, &p, true, &r, NULL, &resumes);
    assert_true(r.code == TETHER_ECONNRESET || r.code == TETHER_ETRUNCATED);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(resumes, 2);

    /* Resuming off (the naive policy's choice): the collected body starts over. */
    policy_for_resume(&p);
    p.resume = false;
    origin_init(&o, 82, STRONG);
    o.etag[0] = "\"v1\"";
    origin_random_cuts(&o, 82, 2);
    run_streamed(&o, &p, true, &r, NULL, &resumes);
    assert_int_equal(r.code, 0);
    assert_sink_is(&o, 0);
    assert_int_equal(resumes, 0);
    assert_string_equal(o.range[1], "");
}

/* The body collected in memory follows resumes and restarts by itself. */
static void test_collected_body(void **state)
{
    (void)state;
    struct tether_policy p;
    policy_for_resume(&p);
    struct origin o;
    origin_init(&o, 91, STRONG);
    o.etag[0] = "\"v1\"";
    origin_random_cuts(&o, 91, 3);
    struct ft_env e;
    ft_env_init(&e, &p, origin_cb, &o);
    struct ft_result r = {0};
    ft_get(&e.loop, e.client, e.url, &r);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.body_len, o.len[0]);
    assert_memory_equal(r.body, o.rep[0], o.len[0]);
    assert_int_equal(e.ev.n[TETHER_EVENT_RESUME], 3);
    ft_env_done(&e);

    origin_init(&o, 92, STRONG);
    o.fields[1] = "ETag: \"v2\"\r\nAccept-Ranges: bytes\r\n";
    o.etag[0] = "\"v1\"";
    o.etag[1] = "\"v2\"";
    o.change_at = 3;
    origin_random_cuts(&o, 92, 2);
    ft_env_init(&e, &p, origin_cb, &o);
    memset(&r, 0, sizeof(r));
    ft_get(&e.loop, e.client, e.url, &r);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.body_len, o.len[1]);
    assert_memory_equal(r.body, o.rep[1], o.len[1]);
    ft_env_done(&e);
}

/* resume_from: the caller holds bytes from an earlier run (curl -C -). */
static void run_resume_from(struct origin *o, uint64_t from, const char *if_range,
                            struct ft_result *r)
{
    struct tether_policy p;
    policy_for_resume(&p);
    struct ft_env e;
    ft_env_init(&e, &p, origin_cb, o);
    memset(&g_sink, 0, sizeof(g_sink));
    memcpy(g_sink.data, o->rep[0], (size_t)from);
    g_sink.len = (size_t)from;
    struct tether_fetch_options fo;
    tether_fetch_options_init(&fo);
    fo.url = e.url;
    fo.on_body = sink_body;
    fo.on_restart = sink_restart;
    fo.resume_from = from;
    fo.resume_if_range = if_range;
    memset(r, 0, sizeof(*r));
    ft_run(&e.loop, e.client, &fo, r, 10000);
    ft_env_done(&e);
}

static void test_resume_from(void **state)
{
    (void)state;
    struct origin o;
    origin_init(&o, 101, STRONG);
    o.etag[0] = "\"v1\"";
    o.cuts[0] = 700; /* and the continuation is cut too */
    struct ft_result r;
    run_resume_from(&o, 2500, NULL, &r);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.status, 206);
    assert_sink_is(&o, 0);
    assert_string_equal(o.range[0], "bytes=2500-");
    assert_string_equal(o.if_range[0], ""); /* no validator known: a bare Range, as curl */
    assert_string_equal(o.range[1], "bytes=3200-");
    assert_string_equal(o.if_range[1], "\"v1\""); /* learned from the 206 */

    /* A validator saved with the bytes that no longer matches: the whole body again. */
    origin_init(&o, 102, STRONG);
    o.etag[0] = "\"v1\"";
    run_resume_from(&o, 2500, "\"v0\"", &r);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.status, 200);
    assert_sink_is(&o, 0);
    assert_int_equal(g_sink.offsets[0], 0);

    /* Already complete: 416 with our length as the total. */
    origin_init(&o, 103, STRONG);
    o.etag[0] = "\"v1\"";
    run_resume_from(&o, REP_LEN, NULL, &r);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.status, 416);
    assert_sink_is(&o, 0);
    assert_int_equal(o.n, 1);

    /* More bytes than the resource has: 416 with another total, so the body starts over. */
    origin_init(&o, 104, STRONG);
    o.etag[0] = "\"v1\"";
    o.len[0] = 5000;
    run_resume_from(&o, 5500, NULL, &r);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.status, 200);
    assert_sink_is(&o, 0);
    assert_int_equal(o.n, 2);
    assert_string_equal(o.range[1], "");
}

static void done_unexpected(tether_fetch *f, int status)
{
    (void)f;
    (void)status;
    fail_msg("a refused fetch must never call back");
}

static void test_resume_options_checked(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    tether_client *c = ft_client_new(&loop, NULL);
    char why[256];
    struct tether_fetch_options fo;
    tether_fetch_options_init(&fo);
    fo.url = "http://127.0.0.1:1/";
    fo.errbuf = why;
    fo.errbuf_len = sizeof(why);
    fo.resume_from = 10;
    fo.resume_if_range = "W/\"x\"";
    tether_fetch *f = NULL;
    assert_int_equal(tether_client_fetch(c, &fo, done_unexpected, &f), TETHER_EINVAL);
    assert_non_null(strstr(why, "weak"));
    fo.resume_if_range = "yesterday";
    assert_int_equal(tether_client_fetch(c, &fo, done_unexpected, &f), TETHER_EINVAL);
    assert_non_null(strstr(why, "'yesterday'"));
    fo.resume_if_range = NULL;
    fo.on_body = sink_body;
    assert_int_equal(tether_client_fetch(c, &fo, done_unexpected, &f), TETHER_EINVAL);
    assert_non_null(strstr(why, "on_restart"));
    fo.on_body = NULL;
    fo.method = "POST";
    assert_int_equal(tether_client_fetch(c, &fo, done_unexpected, &f), TETHER_EINVAL);
    assert_non_null(strstr(why, "GET"));
    ft_close_client(&loop, c);
    tt_test_loop_close(&loop);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strong_etag_random_cuts),
        cmocka_unit_test(test_strong_etag_without_on_restart),
        cmocka_unit_test(test_weak_etag_restarts),
        cmocka_unit_test(test_last_modified_only),
        cmocka_unit_test(test_no_validator_restarts),
        cmocka_unit_test(test_server_ignores_range),
        cmocka_unit_test(test_resource_changes),
        cmocka_unit_test(test_bad_206_restarts),
        cmocka_unit_test(test_resumes_count_as_attempts),
        cmocka_unit_test(test_collected_body),
        cmocka_unit_test(test_resume_from),
        cmocka_unit_test(test_resume_options_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
