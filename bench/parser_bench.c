/* SPDX-License-Identifier: MIT */
/* Head parsing speed: tether's strict HTTP/1.1 parser against libhttp-parser and, when Debian's
 * node-llhttp sources are installed, llhttp (Node's parser), side by side. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <http_parser.h>

#include "http1/http1.h"
#include "parser_peer.h"

#define ROUNDS 5
#define MAX_FIELDS PEER_MAX_FIELDS

/* Seconds per parser, message and round; argv[1] shortens it (profiling, smoke runs). */
static double round_seconds = 0.3;
/* Realistic messages (captured shapes, values made up). */
static const char browser_request[] =
    "GET /search?q=tether+http&source=hp&ei=Zk1mZp3xLdWk5NoP HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "Connection: keep-alive\r\n"
    "sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "sec-ch-ua-platform: \"Linux\"\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-User: ?1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Referer: https://www.example.com/\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: en-US,en;q=0.9,fr;q=0.8\r\n"
    "Cookie: SID=g.a000kAiHzz1MZ6vfQ8Xgqxt9zG3; _ga=GA1.1.1234567890.1716800000; "
    "prefs=theme%3Ddark%26lang%3Den; __Secure-ENID=19.SE=bHVkaWNyb3VzbHlsb25nY29va2ll\r\n"
    "\r\n";

#define API_BODY                                                                                   \
    "{\"amount\":2000,\"currency\":\"usd\",\"source\":\"tok_visa\","                               \
    "\"description\":\"order 1234\"}"
static const char api_request[] =
    "POST /v1/payments HTTP/1.1\r\n"
    "Host: api.example.com\r\n"
    "User-Agent: tether/0.1.0\r\n"
    "Accept: application/json\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 79\r\n"
    "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U\r\n"
    "Idempotency-Key: 8e03978e-40d5-43e8-bc93-6894a57f9324\r\n"
    "X-Request-Id: 5f0c2c1e-9b7a-4c1d-8f3e-2a6b7c8d9e0f\r\n"
    "Accept-Encoding: gzip\r\n"
    "Connection: keep-alive\r\n"
    "\r\n" API_BODY;

static const char response[] = "HTTP/1.1 200 OK\r\n"
                               "Date: Mon, 27 May 2024 10:15:42 GMT\r\n"
                               "Content-Type: application/json; charset=utf-8\r\n"
                               "Content-Length: 1234\r\n"
                               "Cache-Control: private, max-age=0, must-revalidate\r\n"
                               "ETag: W/\"4d2-2fa0b3c1\"\r\n"
                               "Server: nginx/1.22.1\r\n"
                               "Connection: keep-alive\r\n"
                               "Keep-Alive: timeout=5\r\n"
                               "Vary: Accept-Encoding\r\n"
                               "X-Content-Type-Options: nosniff\r\n"
                               "Strict-Transport-Security: max-age=31536000\r\n"
                               "\r\n";

struct message {
    const char *name;
    const char *buf;
    size_t len;
    bool request;
    double tether_ns, hp_ns, ll_ns; /* best round, per message */
};

/* What the http_parser callbacks record. */
#define hp_result peer_result

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct hp_result *r = p->data;
    r->url = (struct tt__h1_str){at, len};
    return 0;
}

static int on_status(http_parser *p, const char *at, size_t len)
{
    struct hp_result *r = p->data;
    r->status = (struct tt__h1_str){at, len};
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct hp_result *r = p->data;
    if (r->nfields == MAX_FIELDS) {
        return 1;
    }
    /* Whole buffers, so a name never arrives in pieces: each call starts a field. */
    r->fields[r->nfields++].name = (struct tt__h1_str){at, len};
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct hp_result *r = p->data;
    r->fields[r->nfields - 1].value = (struct tt__h1_str){at, len};
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct hp_result *r = p->data;
    r->headers_complete = true;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct hp_result *r = p->data;
    r->body = (struct tt__h1_str){at, len};
    return 0;
}

static const http_parser_settings hp_settings = {
    .on_url = on_url,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
};

static volatile size_t sink; /* keeps the work observable */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One message per call, as a server sees them: fresh state, whole buffer, one parse call. */
static int tether_once(const struct message *m, struct tt__h1_parser *p, struct tt__h1_head *h)
{
    tt__h1_parser_reset(p);
    if (m->request) {
        return tt__h1_parse_request(p, m->buf, m->len, h);
    }
    return tt__h1_parse_response(p, m->buf, m->len, h, "GET");
}

static size_t hp_once(const struct message *m, http_parser *p, struct hp_result *r)
{
    http_parser_init(p, m->request ? HTTP_REQUEST : HTTP_RESPONSE);
    p->data = r;
    r->nfields = 0;
    r->headers_complete = false;
    return http_parser_execute(p, &hp_settings, m->buf, m->len);
}

static double time_tether(const struct message *m, long iters)
{
    struct tt__h1_field fields[MAX_FIELDS];
    struct tt__h1_head h = {.fields = fields, .fields_cap = MAX_FIELDS};
    struct tt__h1_parser p;
    tt__h1_parser_init(&p, NULL);
    size_t acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        acc += (size_t)tether_once(m, &p, &h) + h.nfields;
    }
    double t = now_ns() - t0;
    sink += acc;
    return t / (double)iters;
}

static double time_hp(const struct message *m, long iters)
{
    http_parser p;
    struct hp_result r;
    size_t acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        acc += hp_once(m, &p, &r) + r.nfields;
    }
    double t = now_ns() - t0;
    sink += acc;
    return t / (double)iters;
}

#ifdef TETHER_BENCH_LLHTTP
static double time_ll(const struct message *m, long iters)
{
    struct peer_result r;
    size_t acc = 0;
    int err;
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        acc += llhttp_peer_once(m->buf, m->len, m->request, &r, &err) + r.nfields;
    }
    double t = now_ns() - t0;
    sink += acc;
    return t / (double)iters;
}
#endif

/* A peer saw the same head as tether, span for span (same pointers into the buffer). */
static bool same_spans(const struct message *m, const char *peer, const struct tt__h1_head *h,
                       const struct peer_result *r)
{
    if (r->nfields != h->nfields) {
        fprintf(stderr, "%s: tether found %zu fields, %s %zu\n", m->name, h->nfields, peer,
                r->nfields);
        return false;
    }
    for (size_t i = 0; i < h->nfields; i++) {
        if (r->fields[i].name.ptr != h->fields[i].name.ptr ||
            r->fields[i].name.len != h->fields[i].name.len ||
            r->fields[i].value.ptr != h->fields[i].value.ptr) {
            fprintf(stderr, "%s: field %zu differs from %s's\n", m->name, i, peer);
            return false;
        }
    }
    if (m->request && (r->url.ptr != h->target.ptr || r->url.len != h->target.len)) {
        fprintf(stderr, "%s: the targets differ from %s's\n", m->name, peer);
        return false;
    }
    return true;
}

/* Every parser accepts the message and sees the same fields; otherwise the timing means nothing. */
static bool verify(const struct message *m)
{
    struct tt__h1_field fields[MAX_FIELDS];
    struct tt__h1_head h = {.fields = fields, .fields_cap = MAX_FIELDS};
    struct tt__h1_parser p;
    tt__h1_parser_init(&p, NULL);
    int rv = tether_once(m, &p, &h);
    if (rv <= 0) {
        fprintf(stderr, "%s: tether rejected it: %s (%s at byte %zu)\n", m->name,
                tether_err_name(rv), tt__h1_err_name(p.error), p.error_offset);
        return false;
    }
    size_t want = h.head_len + (h.body == TT__H1_BODY_LENGTH ? h.content_length : 0);
    if (m->request && want != m->len) {
        fprintf(stderr, "%s: tether framed %zu bytes of %zu\n", m->name, want, m->len);
        return false;
    }
    http_parser hp;
    struct hp_result r;
    size_t n = hp_once(m, &hp, &r);
    if (HTTP_PARSER_ERRNO(&hp) != HPE_OK || n != m->len || !r.headers_complete) {
        fprintf(stderr, "%s: http_parser rejected it: %s after %zu bytes\n", m->name,
                http_errno_name(HTTP_PARSER_ERRNO(&hp)), n);
        return false;
    }
    if (!same_spans(m, "http_parser", &h, &r)) {
        return false;
    }
#ifdef TETHER_BENCH_LLHTTP
    int err;
    n = llhttp_peer_once(m->buf, m->len, m->request, &r, &err);
    if (err != 0 || n != m->len || !r.headers_complete) {
        fprintf(stderr, "%s: llhttp rejected it: %s after %zu bytes\n", m->name,
                llhttp_peer_error_name(err), n);
        return false;
    }
    if (!same_spans(m, "llhttp", &h, &r)) {
        return false;
    }
#endif
    return true;
}

/* Iterations that take about round_seconds. */
static long calibrate(double ns_per_iter)
{
    double n = round_seconds * 1e9 / (ns_per_iter > 1 ? ns_per_iter : 1);
    return n < 100 ? 100 : (long)n;
}

static double mbps(const struct message *m, double ns)
{
    return (double)m->len / ns * 1e3;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        char *end;
        round_seconds = strtod(argv[1], &end);
        if (*end != '\0' || !(round_seconds > 0 && round_seconds <= 10)) {
            fprintf(stderr, "usage: %s [seconds per round, default 0.3]\n", argv[0]);
            return 2;
        }
    }
    struct message msgs[] = {
        {"browser-request", browser_request, sizeof(browser_request) - 1, true, 0, 0, 0},
        {"api-request", api_request, sizeof(api_request) - 1, true, 0, 0, 0},
        {"response", response, sizeof(response) - 1, false, 0, 0, 0},
    };
    http_parser_set_max_header_size(TT__H1_DEFAULT_MAX_HEAD_BYTES);
    for (size_t i = 0; i < tt__countof(msgs); i++) {
        if (!verify(&msgs[i])) {
            return 1;
        }
    }
    unsigned long v = http_parser_version();
    printf("parser_bench: tether strict HTTP/1.1 parser vs libhttp-parser %lu.%lu.%lu",
           (v >> 16) & 255, (v >> 8) & 255, v & 255);
#ifdef TETHER_BENCH_LLHTTP
    printf(" and llhttp %s", llhttp_peer_version());
#endif
    printf("\nbest of %d alternating rounds of ~%.3g s per parser and message\n\n", ROUNDS,
           round_seconds);
    printf("%-16s %6s %6s  %9s %7s  %11s %7s %5s", "message", "bytes", "fields", "tether ns",
           "MB/s", "http_parser", "MB/s", "ratio");
#ifdef TETHER_BENCH_LLHTTP
    printf("  %9s %7s %5s", "llhttp ns", "MB/s", "ratio");
#endif
    printf("\n");
    for (size_t i = 0; i < tt__countof(msgs); i++) {
        struct message *m = &msgs[i];
        long tn = calibrate(time_tether(m, 2000));
        long hn = calibrate(time_hp(m, 2000));
        m->tether_ns = m->hp_ns = m->ll_ns = 1e300;
#ifdef TETHER_BENCH_LLHTTP
        long ln = calibrate(time_ll(m, 2000));
#endif
        for (int round = 0; round < ROUNDS; round++) {
            /* Each round starts with a different parser, so none always runs on a cold cache. */
            for (int k = 0; k < 3; k++) {
                double t;
                switch ((round + k) % 3) {
                case 0:
                    t = time_tether(m, tn);
                    m->tether_ns = t < m->tether_ns ? t : m->tether_ns;
                    break;
                case 1:
                    t = time_hp(m, hn);
                    m->hp_ns = t < m->hp_ns ? t : m->hp_ns;
                    break;
                default:
#ifdef TETHER_BENCH_LLHTTP
                    t = time_ll(m, ln);
                    m->ll_ns = t < m->ll_ns ? t : m->ll_ns;
#endif
                    break;
                }
            }
        }
        struct tt__h1_field fields[MAX_FIELDS];
        struct tt__h1_head h = {.fields = fields, .fields_cap = MAX_FIELDS};
        struct tt__h1_parser p;
        tt__h1_parser_init(&p, NULL);
        (void)tether_once(m, &p, &h);
        printf("%-16s %6zu %6zu  %9.1f %7.1f  %11.1f %7.1f %5.2f", m->name, m->len, h.nfields,
               m->tether_ns, mbps(m, m->tether_ns), m->hp_ns, mbps(m, m->hp_ns),
               m->hp_ns / m->tether_ns);
#ifdef TETHER_BENCH_LLHTTP
        printf("  %9.1f %7.1f %5.2f", m->ll_ns, mbps(m, m->ll_ns), m->ll_ns / m->tether_ns);
#endif
        printf("\n");
    }
    double req_tt = msgs[0].tether_ns + msgs[1].tether_ns;
    double req_hp = msgs[0].hp_ns + msgs[1].hp_ns;
    printf("\nratio parse-request tether/http_parser: %.2f\n", req_hp / req_tt);
    printf("ratio parse-response tether/http_parser: %.2f\n", msgs[2].hp_ns / msgs[2].tether_ns);
#ifdef TETHER_BENCH_LLHTTP
    for (size_t i = 0; i < tt__countof(msgs); i++) {
        printf("ratio parse-%s tether/llhttp: %.2f\n", msgs[i].name,
               msgs[i].ll_ns / msgs[i].tether_ns);
    }
#endif
    return 0;
}
