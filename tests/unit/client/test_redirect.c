/* SPDX-License-Identifier: MIT */
/*
 * Redirects (fetch option max_redirects): RFC 3986 §5.4's reference resolution examples, a
 * chain through 301/302/303/307/308 with relative and absolute Locations, the method and body
 * rules (POST becomes GET after 301/302/303, 307/308 repeat it), Authorization and Cookie
 * dropped on a hop to another origin and kept on the same one, a loop stopped after the limit,
 * and 0 = the 3xx is the final response.
 */
#include <signal.h>
#include <stdlib.h>
#include <strings.h>

#include "test.h"

#include "client/client_int.h"
#include "fetch_helpers.h"
#include "loop.h"
#include "script_server.h"

#define T(ms) tt_test_scale_ms(ms)

/* ---- resolution ---- */

static void check_resolve(const struct tt__url *base, const char *ref, const char *want)
{
    const char *why = NULL;
    char *got = tt__url_resolve(base, ref, &why);
    if (!want) {
        assert_null(got);
        assert_non_null(why);
        return;
    }
    assert_non_null(got);
    if (strcmp(got, want) != 0) {
        fail_msg("'%s' resolved to '%s', want '%s'", ref, got, want);
    }
    tt__free(got);
}

static void test_resolve_rfc3986(void **state)
{
    (void)state;
    struct tt__url base;
    ASSERT_OK(tt__url_parse("http://a/b/c/d;p?q", &base, NULL, 0));
    static const char *const cases[][2] = {
        {"g", "http://a/b/c/g"},
        {"./g", "http://a/b/c/g"},
        {"g/", "http://a/b/c/g/"},
        {"/g", "http://a/g"},
        {"//g", "http://g"},
        {"?y", "http://a/b/c/d;p?y"},
        {"g?y", "http://a/b/c/g?y"},
        {"#s", "http://a/b/c/d;p?q"},
        {"g#s", "http://a/b/c/g"},
        {"g?y#s", "http://a/b/c/g?y"},
        {";x", "http://a/b/c/;x"},
        {"", "http://a/b/c/d;p?q"},
        {".", "http://a/b/c/"},
        {"./", "http://a/b/c/"},
        {"..", "http://a/b/"},
        {"../", "http://a/b/"},
        {"../g", "http://a/b/g"},
        {"../..", "http://a/"},
        {"../../", "http://a/"},
        {"../../g", "http://a/g"},
        {"../../../g", "http://a/g"},
        {"../../../../g", "http://a/g"},
        {"/./g", "http://a/g"},
        {"/../g", "http://a/g"},
        {"g.", "http://a/b/c/g."},
        {".g", "http://a/b/c/.g"},
        {"g..", "http://a/b/c/g.."},
        {"..g", "http://a/b/c/..g"},
        {"./../g", "http://a/b/g"},
        {"./g/.", "http://a/b/c/g/"},
        {"g/./h", "http://a/b/c/g/h"},
        {"g/../h", "http://a/b/c/h"},
        {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
        {"g;x=1/../y", "http://a/b/c/y"},
        {"g?y/./x", "http://a/b/c/g?y/./x"},
        /* Beyond the RFC's table: what servers send. */
        {"HTTPS://Other:8443/x", "https://Other:8443/x"},
        {"  /spaced path?a b  ", "http://a/spaced%20path?a%20b"},
        {"/caf\xc3\xa9", "http://a/caf%C3%A9"},
        {"ftp://a/b", NULL},
        {"g:h", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_resolve(&base, cases[i][0], cases[i][1]);
    }
    tt__url_cleanup(&base);
    /* A base with a port and no path. */
    ASSERT_OK(tt__url_parse("https://h:8443", &base, NULL, 0));
    check_resolve(&base, "x", "https://h:8443/x");
    check_resolve(&base, "?q", "https://h:8443/?q");
    tt__url_cleanup(&base);
}

/* ---- following: a scripted origin (and a second one for cross-origin hops) ---- */

#define MAX_SEEN 16

struct seen {
    char line[MAX_SEEN][128]; /* request lines */
    char auth[MAX_SEEN][64];  /* Authorization values, "-" when absent */
    char cookie[MAX_SEEN][64];
    char ctype[MAX_SEEN][64];
    char body[MAX_SEEN][64];
    unsigned n;
    uint16_t other_port; /* the second origin */
};

/* The value of header `name` in the request head, or "-". */
static void header_of(const char *req, size_t len, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *end = req + len;
    (void)snprintf(out, cap, "-");
    for (const char *p = strstr(req, "\r\n"); p && p + 2 < end; p = strstr(p + 2, "\r\n")) {
        const char *h = p + 2;
        if (h[0] == '\r') {
            return;
        }
        if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
            const char *v = h + nl + 1;
            while (*v == ' ') {
                v++;
            }
            size_t vl = strcspn(v, "\r");
            (void)snprintf(out, cap, "%.*s", (int)vl, v);
            return;
        }
    }
}

static void record(struct seen *s, const char *req, size_t len)
{
    if (s->n >= MAX_SEEN) {
        return;
    }
    unsigned i = s->n++;
    (void)snprintf(s->line[i], sizeof(s->line[i]), "%.*s", (int)strcspn(req, "\r"), req);
    header_of(req, len, "Authorization", s->auth[i], sizeof(s->auth[i]));
    header_of(req, len, "Cookie", s->cookie[i], sizeof(s->cookie[i]));
    header_of(req, len, "Content-Type", s->ctype[i], sizeof(s->ctype[i]));
    const char *b = strstr(req, "\r\n\r\n");
    size_t bl = b ? len - (size_t)(b + 4 - req) : 0;
    (void)snprintf(s->body[i], sizeof(s->body[i]), "%.*s", (int)bl, b ? b + 4 : "");
}

static void redirect_to(struct ss_conn *c, int status, const char *location)
{
    char head[256];
    (void)snprintf(head, sizeof(head), "Location: %s\r\n", location);
    ss_respond(c, status, head, "moved");
}

static void origin_cb(struct ss_conn *c, unsigned index, const char *req, size_t len, void *data)
{
    struct seen *s = data;
    (void)index;
    record(s, req, len);
    const char *path = strchr(req, ' ') + 1;
    char abs[128];
    if (strncmp(path, "/a ", 3) == 0) {
        redirect_to(c, 301, "/b");
    } else if (strncmp(path, "/b ", 3) == 0) {
        redirect_to(c, 302, "c?x=1"); /* relative to /b */
    } else if (strncmp(path, "/c?x=1 ", 7) == 0) {
        (void)snprintf(abs, sizeof(abs), "http://127.0.0.1:%u/d",
                       (unsigned)ss_port(ss_conn_server(c)));
        redirect_to(c, 303, abs);
    } else if (strncmp(path, "/d ", 3) == 0) {
        redirect_to(c, 307, "/e");
    } else if (strncmp(path, "/e ", 3) == 0) {
        redirect_to(c, 308, "/f#frag");
    } else if (strncmp(path, "/p307 ", 6) == 0) {
        redirect_to(c, 307, "/p308");
    } else if (strncmp(path, "/p308 ", 6) == 0) {
        redirect_to(c, 308, "/final");
    } else if (strncmp(path, "/away ", 6) == 0) {
        (void)snprintf(abs, sizeof(abs), "http://127.0.0.1:%u/there", (unsigned)s->other_port);
        redirect_to(c, 302, abs);
    } else if (strncmp(path, "/bounce ", 8) == 0) {
        (void)snprintf(abs, sizeof(abs), "http://127.0.0.1:%u/back", (unsigned)s->other_port);
        redirect_to(c, 302, abs);
    } else if (strncmp(path, "/back ", 6) == 0) {
        (void)snprintf(abs, sizeof(abs), "http://127.0.0.1:%u/home", (unsigned)s->other_port);
        redirect_to(c, 302, abs);
    } else if (strncmp(path, "/loop ", 6) == 0) {
        redirect_to(c, 302, "/loop");
    } else if (strncmp(path, "/bad ", 5) == 0) {
        redirect_to(c, 302, "ftp://127.0.0.1/x");
    } else if (strncmp(path, "/noloc ", 7) == 0) {
        ss_respond(c, 302, "", "no location");
    } else {
        ss_respond(c, 200, "", "final");
    }
}

static void fetch_opts(struct tether_fetch_options *o, const char *url, unsigned max)
{
    tether_fetch_options_init(o);
    o->url = url;
    o->max_redirects = max;
}

static void test_chain_of_every_kind(void **state)
{
    (void)state;
    struct seen s = {0};
    struct ft_env e;
    ft_env_init(&e, NULL, origin_cb, &s);
    char url[128];
    struct tether_fetch_options o;
    fetch_opts(&o, ft_url(url, sizeof(url), "http", ss_port(e.ss), "/a"), 10);
    struct tether_header hs[] = {{"Content-Type", "text/plain"}, {"Authorization", "Bearer t"}};
    o.method = "POST";
    o.body = "payload";
    o.body_len = 7;
    o.headers = hs;
    o.nheaders = 2;
    struct ft_result r = {0};
    ft_run(&e.loop, e.client, &o, &r, 5000);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "final");
    assert_int_equal(s.n, 6);
    assert_string_equal(s.line[0], "POST /a HTTP/1.1");
    assert_string_equal(s.body[0], "payload");
    /* 301 after POST: GET, no body, no Content-Type; same origin keeps Authorization. */
    assert_string_equal(s.line[1], "GET /b HTTP/1.1");
    assert_string_equal(s.body[1], "");
    assert_string_equal(s.ctype[1], "-");
    assert_string_equal(s.auth[1], "Bearer t");
    assert_string_equal(s.line[2], "GET /c?x=1 HTTP/1.1");
    assert_string_equal(s.line[3], "GET /d HTTP/1.1");
    assert_string_equal(s.line[4], "GET /e HTTP/1.1");
    assert_string_equal(s.line[5], "GET /f HTTP/1.1"); /* the fragment stays with the client */
    assert_int_equal(e.ev.n[TETHER_EVENT_REDIRECT], 5);
    assert_int_equal(e.ev.n[TETHER_EVENT_RESPONSE], 1);
    /* Every hop drained its 3xx and reused the one connection. */
    assert_int_equal(ss_accepted(e.ss), 1);
    ft_env_done(&e);
}

/* Outcome accessors need the fetch: a done callback that checks them before freeing. */
struct outcome {
    bool done;
    int code;
    int status;
    unsigned redirects;
    unsigned attempts;
    char url[160];
    char detail[256];
};

static void outcome_done(tether_fetch *f, int code)
{
    struct outcome *o = tether_fetch_get_data(f);
    o->done = true;
    o->code = code;
    o->status = tether_fetch_status(f);
    o->redirects = tether_fetch_redirects(f);
    o->attempts = tether_fetch_attempts(f);
    (void)snprintf(o->url, sizeof(o->url), "%s", tether_fetch_url(f));
    (void)snprintf(o->detail, sizeof(o->detail), "%s", tether_fetch_failure(f)->detail);
    tether_fetch_free(f);
}

static void run_outcome(struct ft_env *e, struct tether_fetch_options *o, struct outcome *out)
{
    o->data = out;
    ASSERT_OK(tether_client_fetch(e->client, o, outcome_done, NULL));
    tt_test_loop_run_until(&e->loop, &out->done, T(5000));
    assert_true(out->done);
}

static void test_post_kept_by_307_308(void **state)
{
    (void)state;
    struct seen s = {0};
    struct ft_env e;
    ft_env_init(&e, NULL, origin_cb, &s);
    char url[128];
    struct tether_fetch_options o;
    fetch_opts(&o, ft_url(url, sizeof(url), "http", ss_port(e.ss), "/p307"), 5);
    struct tether_header hs[] = {{"Content-Type", "text/plain"}};
    o.method = "POST";
    o.body = "again";
    o.body_len = 5;
    o.headers = hs;
    o.nheaders = 1;
    struct outcome out = {0};
    run_outcome(&e, &o, &out);
    assert_int_equal(out.code, 0);
    assert_int_equal(out.status, 200);
    assert_int_equal(out.redirects, 2);
    assert_int_equal(out.attempts, 3);
    char want[160];
    assert_string_equal(out.url, ft_url(want, sizeof(want), "http", ss_port(e.ss), "/final"));
    assert_int_equal(s.n, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_string_equal(s.body[i], "again");
        assert_string_equal(s.ctype[i], "text/plain");
    }
    assert_string_equal(s.line[2], "POST /final HTTP/1.1");
    ft_env_done(&e);
}

static void test_cross_origin_drops_credentials(void **state)
{
    (void)state;
    struct seen s = {0};
    struct seen other = {0};
    struct ft_env e;
    ft_env_init(&e, NULL, origin_cb, &s);
    struct ss_server *ss2 = NULL;
    assert_int_equal(ss_start(&e.loop, origin_cb, &other, &ss2), 0);
    s.other_port = ss_port(ss2);
    char url[128];
    struct tether_fetch_options o;
    fetch_opts(&o, ft_url(url, sizeof(url), "http", ss_port(e.ss), "/away"), 5);
    struct tether_header hs[] = {
        {"Authorization", "Bearer secret"}, {"Cookie", "sid=1"}, {"X-Keep", "yes"}};
    o.headers = hs;
    o.nheaders = 3;
    struct outcome out = {0};
    run_outcome(&e, &o, &out);
    assert_int_equal(out.code, 0);
    assert_int_equal(out.status, 200);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.auth[0], "Bearer secret");
    assert_string_equal(s.cookie[0], "sid=1");
    assert_int_equal(other.n, 1);
    assert_string_equal(other.line[0], "GET /there HTTP/1.1");
    assert_string_equal(other.auth[0], "-");
    assert_string_equal(other.cookie[0], "-");
    /* Away and back: the credentials are the first origin's, so they go to it again (curl
     * compares with the first host too), never to the other. */
    other.other_port = ss_port(e.ss);
    fetch_opts(&o, ft_url(url, sizeof(url), "http", ss_port(e.ss), "/bounce"), 5);
    o.headers = hs;
    o.nheaders = 3;
    memset(&out, 0, sizeof(out));
    run_outcome(&e, &o, &out);
    assert_int_equal(out.code, 0);
    assert_int_equal(out.redirects, 2);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.line[2], "GET /home HTTP/1.1");
    assert_string_equal(s.auth[2], "Bearer secret");
    assert_int_equal(other.n, 2);
    assert_string_equal(other.line[1], "GET /back HTTP/1.1");
    assert_string_equal(other.auth[1], "-");
    /* redirect_trusted (curl's --location-trusted): they go everywhere. */
    fetch_opts(&o, ft_url(url, sizeof(url), "http", ss_port(e.ss), "/away"), 5);
    o.headers = hs;
    o.nheaders = 3;
    o.redirect_trusted = true;
    memset(&out, 0, sizeof(out));
    run_outcome(&e, &o, &out);
    assert_int_equal(out.code, 0);
    assert_int_equal(other.n, 3);
    assert_string_equal(other.auth[2], "Bearer secret");
    assert_string_equal(other.cookie[2], "sid=1");
    ss_stop(ss2);
    ft_env_done(&e);
}

static void test_loop_stops_at_the_limit(void **state)
{
    (void)state;
    struct seen s = {0};
    struct ft_env e;
    ft_env_init(&e, NULL, origin_cb, &s);
    char url[128];
    struct tether_fetch_options o;
    fetch_opts(&o, ft_url(url, sizeof(url), "http", ss_port(e.ss), "/loop"), 3);
    struct outcome out = {0};
    run_outcome(&e, &o, &out);
    assert_int_equal(out.code, TETHER_EHTTP);
    assert_int_equal(out.status, 302);
    assert_int_equal(out.redirects, 3);
    assert_string_equal(out.detail, "maximum (3) redirects followed");
    assert_int_equal(s.n, 4); /* the first request and three hops */
    ft_env_done(&e);
}

static void test_not_followed(void **state)
{
    (void)state;
    struct seen s = {0};
    struct ft_env e;
    ft_env_init(&e, NULL, origin_cb, &s);
    char url[128];
    /* max_redirects 0: the 3xx is the final response, body and all. */
    struct tether_fetch_options o;
    fetch_opts(&o, ft_url(url, sizeof(url), "http", ss_port(e.ss), "/a"), 0);
    struct ft_result r = {0};
    ft_run(&e.loop, e.client, &o, &r, 5000);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.status, 301);
    assert_string_equal(r.body, "moved");
    /* A 3xx without Location is final too. */
    fetch_opts(&o, ft_url(url, sizeof(url), "http", ss_port(e.ss), "/noloc"), 5);
    memset(&r, 0, sizeof(r));
    ft_run(&e.loop, e.client, &o, &r, 5000);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.status, 302);
    assert_string_equal(r.body, "no location");
    /* A Location to another scheme is refused with the reason. */
    fetch_opts(&o, ft_url(url, sizeof(url), "http", ss_port(e.ss), "/bad"), 5);
    struct outcome out = {0};
    run_outcome(&e, &o, &out);
    assert_int_equal(out.code, TETHER_EHTTP);
    assert_non_null(strstr(out.detail, "not an http:// or https:// URL"));
    assert_int_equal(e.ev.n[TETHER_EVENT_REDIRECT], 0);
    ft_env_done(&e);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_rfc3986),
        cmocka_unit_test(test_chain_of_every_kind),
        cmocka_unit_test(test_post_kept_by_307_308),
        cmocka_unit_test(test_cross_origin_drops_credentials),
        cmocka_unit_test(test_loop_stops_at_the_limit),
        cmocka_unit_test(test_not_followed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
