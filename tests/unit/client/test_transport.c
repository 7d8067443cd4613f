/* SPDX-License-Identifier: MIT */
/*
 * Transport options: the fetch option `decompress` (gzip, zlib-wrapped and raw deflate, split
 * across chunks, a cut or corrupt stream, an unknown coding, a decompression bomb held to
 * max_body_bytes, Accept-Encoding sent) and the client option `resolve` (a name that does not
 * resolve dialled at a mapped address, the Host field keeping the name; bad entries refused).
 */
#include <signal.h>
#include <stdlib.h>

#include <zlib.h>

#include "test.h"

#include "fetch_helpers.h"
#include "loop.h"
#include "script_server.h"

#define T(ms) tt_test_scale_ms(ms)

/* ---- compressed bodies from a scripted server ---- */

static char plain[6000];
static size_t plain_len;

static void make_plain(void)
{
    plain_len = 0;
    for (unsigned i = 0; plain_len + 40 < sizeof(plain); i++) {
        plain_len += (size_t)snprintf(plain + plain_len, sizeof(plain) - plain_len,
                                      "line %u of a compressible body\n", i);
    }
}

/* Compresses `in` with the window bits given (31 gzip, 15 zlib, -15 raw). */
static size_t squeeze(const void *in, size_t len, int bits, unsigned char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = cap - z.avail_out;
    (void)deflateEnd(&z);
    return n;
}

static void send_encoded(struct ss_conn *c, const char *coding, const unsigned char *body,
                         size_t len)
{
    char head[256];
    (void)snprintf(head, sizeof(head),
                   "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %zu\r\n\r\n", coding,
                   len);
    ss_send_str(c, head);
    ss_send(c, body, len);
}

static void send_chunk(struct ss_conn *c, const unsigned char *data, size_t len)
{
    char size[32];
    (void)snprintf(size, sizeof(size), "%zx\r\n", len);
    ss_send_str(c, size);
    ss_send(c, data, len);
    ss_send_str(c, "\r\n");
}

static void encoding_cb(struct ss_conn *c, unsigned index, const char *req, size_t len, void *data)
{
    (void)index;
    (void)len;
    (void)data;
    static unsigned char buf[1 << 20];
    const char *path = strchr(req, ' ') + 1;
    size_t n;
    if (strncmp(path, "/gzip ", 6) == 0) {
        n = squeeze(plain, plain_len, 31, buf, sizeof(buf));
        send_encoded(c, "gzip", buf, n);
    } else if (strncmp(path, "/deflate ", 9) == 0) {
        n = squeeze(plain, plain_len, 15, buf, sizeof(buf));
        send_encoded(c, "deflate", buf, n);
    } else if (strncmp(path, "/rawdeflate ", 12) == 0) {
        n = squeeze(plain, plain_len, -15, buf, sizeof(buf));
        send_encoded(c, "Deflate", buf, n);
    } else if (strncmp(path, "/chunked ", 9) == 0) {
        /* Byte-sized chunks first: the decoder gets its input in awkward pieces. */
        n = squeeze(plain, plain_len, 31, buf, sizeof(buf));
        ss_send_str(c, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n");
        for (size_t i = 0; i < 5; i++) {
            send_chunk(c, buf + i, 1);
        }
        send_chunk(c, buf + 5, n - 5);
        ss_send_str(c, "0\r\n\r\n");
    } else if (strncmp(path, "/rawchunked ", 12) == 0) {
        /* Raw deflate whose first two bytes come in separate reads. */
        n = squeeze(plain, plain_len, -15, buf, sizeof(buf));
        ss_send_str(c, "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n");
        send_chunk(c, buf, 1);
        send_chunk(c, buf + 1, 1);
        send_chunk(c, buf + 2, n - 2);
        ss_send_str(c, "0\r\n\r\n");
    } else if (strncmp(path, "/truncated ", 11) == 0) {
        n = squeeze(plain, plain_len, 31, buf, sizeof(buf));
        send_encoded(c, "gzip", buf, n / 2); /* complete framing, half a gzip stream */
    } else if (strncmp(path, "/corrupt ", 9) == 0) {
        n = squeeze(plain, plain_len, 31, buf, sizeof(buf));
        for (size_t i = 20; i < 60; i++) {
            buf[i] ^= 0x5a;
        }
        send_encoded(c, "gzip", buf, n);
    } else if (strncmp(path, "/bomb ", 6) == 0) {
        static unsigned char zeros[1 << 20];
        n = squeeze(zeros, sizeof(zeros), 31, buf, sizeof(buf));
        send_encoded(c, "gzip", buf, n);
    } else if (strncmp(path, "/br ", 4) == 0) {
        send_encoded(c, "br", (const unsigned char *)"xx", 2);
    } else if (strncmp(path, "/identity ", 10) == 0) {
        send_encoded(c, "identity", (const unsigned char *)plain, plain_len);
    } else {
        /* Echo what the client asked for. */
        const char *ae = strstr(req, "Accept-Encoding: ");
        char out[128];
        (void)snprintf(out, sizeof(out), "%.*s", ae ? (int)strcspn(ae, "\r") : 1, ae ? ae : "-");
        ss_respond(c, 200, "", out);
    }
}

static void get_decoded(struct ft_env *e, const char *path, size_t max_body, struct ft_result *r)
{
    char url[128];
    struct tether_fetch_options o;
    tether_fetch_options_init(&o);
    o.url = ft_url(url, sizeof(url), "http", ss_port(e->ss), path);
    o.decompress = true;
    o.max_body_bytes = max_body;
    ft_run(&e->loop, e->client, &o, r, 5000);
}

static void test_decodes_gzip_and_deflate(void **state)
{
    (void)state;
    make_plain();
    struct ft_env e;
    ft_env_init(&e, NULL, encoding_cb, NULL);
    static const char *const paths[] = {"/gzip",    "/deflate",    "/rawdeflate",
                                        "/chunked", "/rawchunked", "/identity"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct ft_result r = {0};
        get_decoded(&e, paths[i], 0, &r);
        if (r.code != 0) {
            fail_msg("%s: %s", paths[i], r.msg);
        }
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, plain_len);
        assert_memory_equal(r.body, plain, plain_len);
    }
    struct ft_result r = {0};
    get_decoded(&e, "/ae", 0, &r);
    assert_string_equal(r.body, "Accept-Encoding: gzip, deflate");
    /* Without the option nothing is asked for or decoded. */
    char url[128];
    memset(&r, 0, sizeof(r));
    ft_get(&e.loop, e.client, ft_url(url, sizeof(url), "http", ss_port(e.ss), "/ae"), &r);
    assert_string_equal(r.body, "-");
    ft_env_done(&e);
}

static void test_bad_streams_fail(void **state)
{
    (void)state;
    make_plain();
    struct ft_env e;
    ft_env_init(&e, NULL, encoding_cb, NULL);
    struct ft_result r = {0};
    get_decoded(&e, "/truncated", 0, &r);
    assert_int_equal(r.code, TETHER_EHTTP);
    assert_string_equal(r.failure.detail, "the compressed body ends before its end mark");
    memset(&r, 0, sizeof(r));
    get_decoded(&e, "/corrupt", 0, &r);
    assert_int_equal(r.code, TETHER_EHTTP);
    assert_non_null(strstr(r.failure.detail, "corrupt gzip body"));
    memset(&r, 0, sizeof(r));
    get_decoded(&e, "/br", 0, &r);
    assert_int_equal(r.code, TETHER_EHTTP);
    assert_non_null(strstr(r.failure.detail, "unsupported Content-Encoding 'br'"));
    /* 1 MiB of zeros in about a kilobyte: stopped at the limit, in decoded bytes. */
    memset(&r, 0, sizeof(r));
    get_decoded(&e, "/bomb", 4096, &r);
    assert_int_equal(r.code, TETHER_ETOOBIG);
    assert_string_equal(r.failure.detail,
                        "response body exceeds max_body_bytes (4096) once decoded");
    /* None of these is retried: the same bytes would come again. */
    assert_int_equal(e.ev.n[TETHER_EVENT_RETRY_SCHEDULED], 0);
    ft_env_done(&e);
}

/* ---- --resolve ---- */

static void host_cb(struct ss_conn *c, unsigned index, const char *req, size_t len, void *data)
{
    (void)index;
    (void)len;
    (void)data;
    const char *h = strstr(req, "Host: ");
    char out[128];
    (void)snprintf(out, sizeof(out), "%.*s", h ? (int)strcspn(h, "\r") : 1, h ? h : "-");
    ss_respond(c, 200, "", out);
}

static void test_resolve_maps_a_name(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct ss_server *ss = NULL;
    assert_int_equal(ss_start(&loop, host_cb, NULL, &ss), 0);
    /* .invalid never resolves (RFC 6761): only the mapping can reach the server. */
    struct tether_resolve map[] = {{"other.invalid", 1, "127.0.0.2"},
                                   {"Tether-Test.invalid", ss_port(ss), "127.0.0.1"}};
    struct tether_client_options co;
    tether_client_options_init(&co);
    co.resolve = map;
    co.nresolve = 2;
    tether_client *c = NULL;
    ASSERT_OK(tether_client_new(&loop, &co, &c));
    char url[128];
    (void)snprintf(url, sizeof(url), "http://tether-test.invalid:%u/", (unsigned)ss_port(ss));
    struct ft_result r = {0};
    ft_get(&loop, c, url, &r);
    assert_int_equal(r.code, 0);
    char want[128];
    (void)snprintf(want, sizeof(want), "Host: tether-test.invalid:%u", (unsigned)ss_port(ss));
    assert_string_equal(r.body, want);
    ft_close_client(&loop, c);

    /* An entry whose address is not an IP literal is refused with the reason. */
    struct tether_resolve bad[] = {{"example.com", 80, "localhost"}};
    char why[256] = "";
    co.resolve = bad;
    co.nresolve = 1;
    co.errbuf = why;
    co.errbuf_len = sizeof(why);
    assert_int_equal(tether_client_new(&loop, &co, &c), TETHER_EINVAL);
    assert_non_null(strstr(why, "invalid resolve entry 0 ('example.com' -> 'localhost')"));
    ss_stop(ss);
    tt_test_loop_close(&loop);
}

/* Review finding E4: a name with several addresses falls back to the next when a connect
 * fails, within the same attempt, as Go's dialer and tether's proxy do. Nothing listens on
 * 127.0.0.2 (the server is bound to 127.0.0.1 only), so its connect is refused at once. */
static void test_connect_falls_back_to_the_next_address(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct ss_server *ss = NULL;
    assert_int_equal(ss_start(&loop, host_cb, NULL, &ss), 0);
    struct tether_resolve map[] = {{"two.invalid", ss_port(ss), "127.0.0.2"},
                                   {"two.invalid", ss_port(ss), "127.0.0.1"}};
    struct tether_client_options co;
    tether_client_options_init(&co);
    co.resolve = map;
    co.nresolve = 2;
    tether_client *c = NULL;
    ASSERT_OK(tether_client_new(&loop, &co, &c));
    char url[128];
    (void)snprintf(url, sizeof(url), "http://two.invalid:%u/", (unsigned)ss_port(ss));
    struct ft_result r = {0};
    ft_get(&loop, c, url, &r);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.attempts, 1); /* the fallback is part of the attempt, not a retry */
    struct tether_client_stats st;
    tether_client_get_stats(c, &st);
    assert_int_equal(st.connections_opened, 1);
    ft_close_client(&loop, c);

    /* Every address refused: the failure is the last connect's, and nothing hangs. */
    struct tether_resolve none[] = {{"two.invalid", ss_port(ss), "127.0.0.2"},
                                    {"two.invalid", ss_port(ss), "127.0.0.3"}};
    co.policy.max_attempts = 1;
    co.resolve = none;
    ASSERT_OK(tether_client_new(&loop, &co, &c));
    memset(&r, 0, sizeof(r));
    ft_get(&loop, c, url, &r);
    assert_int_equal(r.code, TETHER_ECONNREFUSED);
    assert_non_null(strstr(r.failure.peer, "127.0.0.3"));
    ft_close_client(&loop, c);
    ss_stop(ss);
    tt_test_loop_close(&loop);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decodes_gzip_and_deflate),
        cmocka_unit_test(test_bad_streams_fail),
        cmocka_unit_test(test_resolve_maps_a_name),
        cmocka_unit_test(test_connect_falls_back_to_the_next_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
