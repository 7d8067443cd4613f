/* SPDX-License-Identifier: MIT */
/*
 * The Toxiproxy API in-process (tether_proxy_server_call): every endpoint's status and JSON on
 * the happy path and for the errors of proxy.md §1.4, populate/reset semantics, toxic defaults
 * and merge-on-update, our validation and extensions; plus one HTTP round trip for the headers
 * only HTTP carries (request id, browser block).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "test.h"

#include "loop.h"
#include "proxy_fx.h"
#include "tether/proxy.h"

/* The proxy server under test (proxy_fx.h), seeded so toxicity rolls repeat. */
static struct proxy_fx *fx_new(void)
{
    return proxy_fx_new(42);
}

struct reply {
    int status;
    char *body; /* NUL-terminated copy ("" when empty) */
};

static struct reply call(struct proxy_fx *fx, const char *method, const char *path,
                         const char *body)
{
    struct reply r;
    char *resp = NULL;
    size_t len = 0;
    ASSERT_OK(tether_proxy_server_call(fx->ps, method, path, body, body ? strlen(body) : 0,
                                       &r.status, &resp, &len));
    r.body = malloc(len + 1);
    assert_non_null(r.body);
    if (len) {
        memcpy(r.body, resp, len);
    }
    r.body[len] = '\0';
    tether_free(resp);
    return r;
}

/* The call must answer `status` with exactly `body` (NULL: any body). */
static void expect(struct proxy_fx *fx, const char *method, const char *path, const char *body,
                   int status, const char *want)
{
    struct reply r = call(fx, method, path, body);
    if (r.status != status || (want && strcmp(r.body, want) != 0)) {
        fail_msg("%s %s -> %d %s\nexpected %d %s", method, path, r.status, r.body, status,
                 want ? want : "(any)");
    }
    free(r.body);
}

/* The call must answer `status` with a body containing `part`. */
static char *expect_has(struct proxy_fx *fx, const char *method, const char *path, const char *body,
                        int status, const char *part)
{
    struct reply r = call(fx, method, path, body);
    if (r.status != status || !strstr(r.body, part)) {
        fail_msg("%s %s -> %d %s\nexpected %d containing %s", method, path, r.status, r.body,
                 status, part);
    }
    return r.body;
}

#define VALID_TYPES                                                                                \
    "latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, noop, packet_loss, " \
    "idle_timeout, conntrack_expiry, max_lifetime, reset, blackhole, max_connections, accept, "    \
    "upstream_down, connect_delay"

static void expect_error(struct proxy_fx *fx, const char *method, const char *path,
                         const char *body, int status, const char *msg)
{
    char want[600];
    snprintf(want, sizeof(want), "{\"error\":\"%s\",\"status\":%d}\n", msg, status);
    expect(fx, method, path, body, status, want);
}

/* "listen":"127.0.0.1:PORT" out of a proxy body. */
static uint16_t listen_port(const char *body)
{
    const char *p = strstr(body, "\"listen\":\"");
    assert_non_null(p);
    p = strchr(p + 10, '"');
    assert_non_null(p);
    const char *colon = p;
    while (*colon != ':') {
        colon--;
    }
    return (uint16_t)strtoul(colon + 1, NULL, 10);
}

static uint16_t create_proxy(struct proxy_fx *fx, const char *name, const char *upstream)
{
    char body[300];
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"%s\"}",
             name, upstream);
    char *resp = expect_has(fx, "POST", "/proxies", body, 201, "\"enabled\":true");
    uint16_t port = listen_port(resp);
    assert_true(port != 0);
    free(resp);
    return port;
}

/* ---- tests ---- */

static void test_version_and_routing(void **state)
{
    (void)state;
    struct proxy_fx *fx = fx_new();
    expect(fx, "GET", "/version", NULL, 200, "{\"version\": \"2.12.0\"}\n");
    expect(fx, "GET", "/proxies", NULL, 200, "{}");
    expect(fx, "PUT", "/proxies", NULL, 405, "");
    expect(fx, "DELETE", "/version", NULL, 405, "");
    expect(fx, "GET", "/reset", NULL, 405, "");
    expect(fx, "GET", "/nope", NULL, 404, "404 page not found\n");
    expect(fx, "GET", "/metrics", NULL, 404, "404 page not found\n");
    expect(fx, "GET", "/proxies/", NULL, 404, "404 page not found\n");
    expect_error(fx, "GET", "/proxies/missing", NULL, 404, "proxy not found");
    expect_error(fx, "GET", "/proxies/missing/toxics", NULL, 404, "proxy not found");
    expect_error(fx, "DELETE", "/proxies/missing", NULL, 404, "proxy not found");
    expect(fx, "PUT", "/proxies/missing", NULL, 405, "");
    proxy_fx_free(fx);
}

static void test_proxy_create_errors(void **state)
{
    (void)state;
    struct proxy_fx *fx = fx_new();
    expect_error(fx, "POST", "/proxies", "", 400, "bad request body: EOF");
    expect_error(fx, "POST", "/proxies", "   ", 400, "bad request body: EOF");
    free(expect_has(fx, "POST", "/proxies", "{\"name\":", 400, "bad request body: "));
    free(expect_has(fx, "POST", "/proxies", "{\"name\":5}", 400,
                    "bad request body: json: cannot unmarshal number into Go struct field"));
    expect_error(fx, "POST", "/proxies", "{\"upstream\":\"x:1\"}", 400,
                 "missing required field: name");
    expect_error(fx, "POST", "/proxies", "{\"name\":\"a\"}", 400,
                 "missing required field: upstream");
    expect_error(fx, "POST", "/proxies", "null", 400, "missing required field: name");
    /* Case-insensitive keys, unknown keys ignored, trailing bytes after the value ignored. */
    char *b = expect_has(fx, "POST", "/proxies",
                         "{\"NAME\":\"a\",\"Upstream\":\"localhost:6379\",\"listen\":"
                         "\"localhost:0\",\"extra\":[1,2],\"toxics\":null} trailing",
                         201, "\"name\":\"a\",\"listen\":\"127.0.0.1:");
    uint16_t port = listen_port(b);
    free(b);
    expect_error(fx, "POST", "/proxies", "{\"name\":\"a\",\"upstream\":\"x:1\"}", 409,
                 "proxy already exists");
    /* A bind failure is a 500 with Go's text, and nothing is created. */
    char body[200], msg[200];
    snprintf(body, sizeof(body),
             "{\"name\":\"b\",\"listen\":\"127.0.0.1:%u\",\"upstream\":\"x:1\"}", port);
    snprintf(msg, sizeof(msg), "listen tcp 127.0.0.1:%u: bind: address already in use", port);
    expect_error(fx, "POST", "/proxies", body, 500, msg);
    expect_error(fx, "GET", "/proxies/b", NULL, 404, "proxy not found");
    free(expect_has(fx, "POST", "/proxies",
                    "{\"name\":\"c\",\"listen\":\"nope\",\"upstream\":\"x:1\"}", 500,
                    "missing port in address"));
    proxy_fx_free(fx);
}

static void test_proxy_shape_and_lifecycle(void **state)
{
    (void)state;
    struct proxy_fx *fx = fx_new();
    uint16_t port = create_proxy(fx, "redis", "localhost:6379");
    char want[400];
    snprintf(want, sizeof(want),
             "{\"name\":\"redis\",\"listen\":\"127.0.0.1:%u\",\"upstream\":\"localhost:6379\","
             "\"enabled\":true,\"Logger\":{},\"toxics\":[]}",
             port);
    expect(fx, "GET", "/proxies/redis", NULL, 200, want);
    char index[500];
    snprintf(index, sizeof(index), "{\"redis\":%s}", want);
    expect(fx, "GET", "/proxies", NULL, 200, index);
    uint16_t got = 0;
    ASSERT_OK(tether_proxy_server_proxy_port(fx->ps, "redis", &got));
    assert_int_equal(got, port);

    /* Disable keeps the resolved listen; enable binds the same port again. */
    free(expect_has(fx, "POST", "/proxies/redis", "{\"enabled\":false}", 200, "\"enabled\":false"));
    ASSERT_ERR(tether_proxy_server_proxy_port(fx->ps, "redis", &got), TETHER_EINVAL);
    free(expect_has(fx, "PATCH", "/proxies/redis", "{\"enabled\":true}", 200, "\"enabled\":true"));
    ASSERT_OK(tether_proxy_server_proxy_port(fx->ps, "redis", &got));
    assert_int_equal(got, port);
    /* The node client's update: same listen, new upstream that does not resolve. */
    char body[300];
    snprintf(body, sizeof(body),
             "{\"enabled\":true,\"listen\":\"127.0.0.1:%u\",\"upstream\":\"somehost:12345\","
             "\"name\":\"ignored\"}",
             port);
    free(expect_has(fx, "POST", "/proxies/redis", body, 200,
                    "\"upstream\":\"somehost:12345\",\"enabled\":true"));
    expect_error(fx, "PATCH", "/proxies/redis", "", 400, "bad request body: EOF");
    expect(fx, "DELETE", "/proxies/redis", NULL, 204, "");
    expect_error(fx, "GET", "/proxies/redis", NULL, 404, "proxy not found");
    /* Created disabled: stored as given, not listening. */
    expect(fx, "POST", "/proxies",
           "{\"name\":\"d\",\"listen\":\"localhost:0\",\"upstream\":\"x:1\",\"enabled\":false}",
           201,
           "{\"name\":\"d\",\"listen\":\"localhost:0\",\"upstream\":\"x:1\",\"enabled\":false,"
           "\"Logger\":{},\"toxics\":[]}");
    proxy_fx_free(fx);
}

static void test_toxic_crud(void **state)
{
    (void)state;
    struct proxy_fx *fx = fx_new();
    create_proxy(fx, "p", "localhost:6379");
    /* Defaults: name <type>_<stream>, stream downstream, toxicity 1, every attribute. */
    expect(fx, "POST", "/proxies/p/toxics", "{\"type\":\"latency\"}", 200,
           "{\"attributes\":{\"latency\":0,\"jitter\":0},\"name\":\"latency_downstream\","
           "\"type\":\"latency\",\"stream\":\"downstream\",\"toxicity\":1}");
    expect_error(fx, "POST", "/proxies/p/toxics", "{\"type\":\"latency\"}", 409,
                 "toxic already exists");
    /* The name is taken whatever the direction. */
    expect_error(fx, "POST", "/proxies/p/toxics",
                 "{\"type\":\"bandwidth\",\"name\":\"latency_downstream\",\"stream\":\"upstream\"}",
                 409, "toxic already exists");
    expect(fx, "POST", "/proxies/p/toxics",
           "{\"type\":\"slicer\",\"stream\":\"UPSTREAM\",\"toxicity\":0.1,\"attributes\":"
           "{\"average_size\":1000,\"size_variation\":1000,\"delay\":1000}}",
           200,
           "{\"attributes\":{\"average_size\":1000,\"size_variation\":1000,\"delay\":1000},"
           "\"name\":\"slicer_UPSTREAM\",\"type\":\"slicer\",\"stream\":\"UPSTREAM\","
           "\"toxicity\":0.1}");
    /* Listing: upstream toxics first, then downstream. */
    char *l = expect_has(fx, "GET", "/proxies/p/toxics", NULL, 200, "[{\"attributes\"");
    assert_true(strstr(l, "slicer_UPSTREAM") < strstr(l, "latency_downstream"));
    free(l);
    free(expect_has(fx, "GET", "/proxies/p", NULL, 200, "\"toxics\":[{\"attributes\""));

    /* Update merges attributes; toxicity stays unless given. */
    expect(fx, "POST", "/proxies/p/toxics/latency_downstream",
           "{\"attributes\":{\"latency\":12345,\"jitter\":42}}", 200,
           "{\"attributes\":{\"latency\":12345,\"jitter\":42},\"name\":\"latency_downstream\","
           "\"type\":\"latency\",\"stream\":\"downstream\",\"toxicity\":1}");
    expect(fx, "PATCH", "/proxies/p/toxics/latency_downstream",
           "{\"attributes\":{\"latency\":7},\"toxicity\":0.5,\"type\":\"bandwidth\"}", 200,
           "{\"attributes\":{\"latency\":7,\"jitter\":42},\"name\":\"latency_downstream\","
           "\"type\":\"latency\",\"stream\":\"downstream\",\"toxicity\":0.5}");
    /* A bad update changes nothing. */
    free(expect_has(fx, "PATCH", "/proxies/p/toxics/latency_downstream",
                    "{\"attributes\":{\"latency\":1.5}}", 400,
                    "bad request body: json: cannot unmarshal number 1.5"));
    free(expect_has(fx, "PATCH", "/proxies/p/toxics/latency_downstream",
                    "{\"attributes\":{\"jitter\":1,\"latency\":-4}}", 400, "bad request body: "));
    free(expect_has(fx, "GET", "/proxies/p/toxics/latency_downstream", NULL, 200,
                    "{\"latency\":7,\"jitter\":42}"));
    expect_error(fx, "PATCH", "/proxies/p/toxics/latency_downstream", "", 400,
                 "bad request body: EOF");
    expect_error(fx, "PATCH", "/proxies/p/toxics/nope", "{}", 404, "toxic not found");
    expect_error(fx, "PATCH", "/proxies/q/toxics/nope", "{}", 404, "proxy not found");
    expect_error(fx, "GET", "/proxies/p/toxics/nope", NULL, 404, "toxic not found");
    expect(fx, "DELETE", "/proxies/p/toxics/latency_downstream", NULL, 204, "");
    expect_error(fx, "DELETE", "/proxies/p/toxics/latency_downstream", NULL, 404,
                 "toxic not found");
    expect_error(fx, "GET", "/proxies/p/toxics/latency_downstream", NULL, 404, "toxic not found");
    proxy_fx_free(fx);
}

static void test_toxic_errors(void **state)
{
    (void)state;
    struct proxy_fx *fx = fx_new();
    create_proxy(fx, "p", "localhost:6379");
    expect_error(fx, "POST", "/proxies/nope/toxics", "{\"type\":\"latency\"}", 404,
                 "proxy not found");
    expect_error(fx, "POST", "/proxies/p/toxics", "", 400, "bad request body: EOF");
    expect_error(fx, "POST", "/proxies/p/toxics", "{\"type\":\"latency\",\"stream\":\"sideways\"}",
                 400, "stream was invalid, can be either upstream or downstream");
    expect_error(fx, "POST", "/proxies/p/toxics", "{\"type\":\"latency\",\"stream\":\"\"}", 400,
                 "stream was invalid, can be either upstream or downstream");
    /* An invalid type: Toxiproxy's text, then the closest type and every valid one. */
    expect_error(fx, "POST", "/proxies/p/toxics", "{\"type\":\"down\"}", 400,
                 "invalid toxic type \\\"down\\\"; valid types: " VALID_TYPES);
    expect_error(fx, "POST", "/proxies/p/toxics", "{\"type\":\"latncy\"}", 400,
                 "invalid toxic type \\\"latncy\\\" (did you mean \\\"latency\\\"?); valid "
                 "types: " VALID_TYPES);
    expect_error(fx, "POST", "/proxies/p/toxics", "{}", 400,
                 "invalid toxic type \\\"\\\"; valid types: " VALID_TYPES);
    /* A misspelt attribute is refused (Toxiproxy ignores it, keeping the default), naming it,
     * the closest attribute and every valid one; keys still match case-insensitively. */
    expect_error(fx, "POST", "/proxies/p/toxics",
                 "{\"type\":\"latency\",\"attributes\":{\"latncy\":100}}", 400,
                 "bad request body: unknown latency attribute \\\"latncy\\\" (did you mean "
                 "\\\"latency\\\"?); valid: latency, jitter");
    expect_error(fx, "POST", "/proxies/p/toxics",
                 "{\"type\":\"idle_timeout\",\"attributes\":{\"timeout\":5,\"mode\":\"fin\"}}", 400,
                 "bad request body: unknown idle_timeout attribute \\\"mode\\\"; valid: timeout, "
                 "action, half_closed_timeout");
    expect_error(fx, "POST", "/proxies/p/toxics", "{\"type\":\"noop\",\"attributes\":{\"x\":1}}",
                 400, "bad request body: unknown noop attribute \\\"x\\\": noop takes none");
    free(expect_has(fx, "POST", "/proxies/p/toxics",
                    "{\"name\":\"cased\",\"type\":\"latency\",\"attributes\":{\"LATENCY\":7}}", 200,
                    "\"latency\":7"));
    struct reply del = call(fx, "DELETE", "/proxies/p/toxics/cased", NULL);
    assert_int_equal(del.status, 204);
    free(del.body);
    /* Go's type errors; fractions for integers; our range checks. */
    free(expect_has(fx, "POST", "/proxies/p/toxics",
                    "{\"type\":\"latency\",\"attributes\":{\"latency\":\"abc\"}}", 400,
                    "bad request body: json: cannot unmarshal string into Go struct field "));
    free(expect_has(fx, "POST", "/proxies/p/toxics",
                    "{\"type\":\"latency\",\"attributes\":{\"latency\":1.5}}", 400,
                    "bad request body: json: cannot unmarshal number 1.5 into Go struct field "));
    free(expect_has(fx, "POST", "/proxies/p/toxics", "{\"type\":\"latency\",\"toxicity\":\"x\"}",
                    400, "bad request body: "));
    free(expect_has(fx, "POST", "/proxies/p/toxics",
                    "{\"type\":\"bandwidth\",\"attributes\":{\"rate\":-1}}", 400,
                    "bad request body: invalid bandwidth rate -1"));
    free(expect_has(fx, "POST", "/proxies/p/toxics",
                    "{\"type\":\"slicer\",\"attributes\":{\"average_size\":0}}", 400,
                    "bad request body: invalid slicer average_size 0"));
    free(expect_has(fx, "POST", "/proxies/p/toxics",
                    "{\"type\":\"limit_data\",\"attributes\":{\"bytes\":5,\"action\":\"boom\"}}",
                    400, "bad request body: invalid limit_data action \\\"boom\\\""));
    free(expect_has(fx, "POST", "/proxies/p/toxics", "{\"type\":\"idle_timeout\"}", 400,
                    "bad request body: invalid idle_timeout timeout 0"));
    free(expect_has(fx, "POST", "/proxies/p/toxics", "{\"type\":\"latency\",\"attributes\":[1]}",
                    400, "bad request body: "));
    /* Integral reals are fine (the Go CLI sends floats); rate 0 is a stall, not an error. */
    free(expect_has(fx, "POST", "/proxies/p/toxics",
                    "{\"type\":\"latency\",\"attributes\":{\"latency\":1000.0}}", 200,
                    "{\"latency\":1000,\"jitter\":0}"));
    free(expect_has(fx, "POST", "/proxies/p/toxics",
                    "{\"type\":\"bandwidth\",\"attributes\":{\"rate\":0}}", 200, "{\"rate\":0}"));
    expect(fx, "GET", "/proxies/p/toxics/nope", NULL, 404,
           "{\"error\":\"toxic not found\",\"status\":404}\n");
    proxy_fx_free(fx);
}

/* Every type registers, with its attributes echoed in full. */
static void test_toxic_types(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"{\"type\":\"bandwidth\",\"attributes\":{\"rate\":1000}}", "{\"rate\":1000}"},
        {"{\"type\":\"slow_close\",\"attributes\":{\"delay\":1000}}", "{\"delay\":1000}"},
        {"{\"type\":\"timeout\",\"attributes\":{\"timeout\":5000}}", "{\"timeout\":5000}"},
        {"{\"type\":\"reset_peer\",\"attributes\":{\"timeout\":1000}}", "{\"timeout\":1000}"},
        {"{\"type\":\"limit_data\",\"attributes\":{\"bytes\":42}}",
         "{\"bytes\":42,\"action\":\"fin\"}"},
        {"{\"type\":\"noop\"}", "{}"},
        {"{\"type\":\"packet_loss\",\"attributes\":{\"loss_rate\":0.25}}",
         "{\"loss_rate\":0.25,\"correlation\":0}"},
        {"{\"type\":\"idle_timeout\",\"attributes\":{\"timeout\":60000,\"action\":\"SILENT\"}}",
         "{\"timeout\":60000,\"action\":\"silent\",\"half_closed_timeout\":0}"},
        {"{\"type\":\"conntrack_expiry\",\"attributes\":{\"timeout\":1}}",
         "{\"timeout\":1,\"then\":\"blackhole\"}"},
        {"{\"type\":\"max_lifetime\",\"attributes\":{\"timeout\":10,\"action\":\"rst\"}}",
         "{\"timeout\":10,\"action\":\"rst\",\"jitter\":0}"},
        {"{\"type\":\"reset\",\"attributes\":{\"after_bytes\":10}}",
         "{\"timeout\":0,\"after_bytes\":10}"},
        {"{\"type\":\"blackhole\",\"attributes\":{\"stop_reading\":true}}",
         "{\"stop_reading\":true}"},
        {"{\"type\":\"max_connections\",\"attributes\":{\"limit\":3}}",
         "{\"limit\":3,\"action\":\"queue\"}"},
        {"{\"type\":\"accept\",\"attributes\":{\"action\":\"hang\"}}",
         "{\"action\":\"hang\",\"delay\":0}"},
        {"{\"type\":\"upstream_down\"}", "{\"action\":\"fin\"}"},
        {"{\"type\":\"connect_delay\",\"attributes\":{\"delay\":5}}", "{\"delay\":5}"},
    };
    struct proxy_fx *fx = fx_new();
    create_proxy(fx, "p", "127.0.0.1:9");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char want[300];
        snprintf(want, sizeof(want), "{\"attributes\":%s,", cases[i][1]);
        free(expect_has(fx, "POST", "/proxies/p/toxics", cases[i][0], 200, want));
    }
    free(expect_has(fx, "GET", "/proxies/p/toxics", NULL, 200, "\"name\":\"connect_delay_"));
    proxy_fx_free(fx);
}

static void test_populate(void **state)
{
    (void)state;
    struct proxy_fx *fx = fx_new();
    expect(fx, "POST", "/populate", "[]", 201, "{\"proxies\":[]}");
    expect(fx, "POST", "/populate", "", 400,
           "{\"error\":\"bad request body: EOF\",\"status\":400,\"proxies\":[]}");
    /* Validation happens before anything is created. */
    expect(fx, "POST", "/populate",
           "[{\"name\":\"a\",\"upstream\":\"x:1\",\"listen\":\"127.0.0.1:0\"},"
           "{\"upstream\":\"x:1\"}]",
           400,
           "{\"error\":\"missing required field: name at proxy 2\",\"status\":400,"
           "\"proxies\":[]}");
    expect(fx, "POST", "/populate", "[{\"name\":\"a\"}]", 400,
           "{\"error\":\"missing required field: upstream at proxy 1\",\"status\":400,"
           "\"proxies\":[]}");
    expect(fx, "GET", "/proxies", NULL, 200, "{}");

    char *b = expect_has(fx, "POST", "/populate",
                         "[{\"name\":\"one\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:1\"},"
                         "{\"name\":\"two\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:2\","
                         "\"enabled\":false}]",
                         201, "{\"proxies\":[{\"name\":\"one\"");
    assert_non_null(strstr(b, "\"name\":\"two\",\"listen\":\"127.0.0.1:0\""));
    uint16_t port1 = listen_port(b);
    free(b);
    /* An identical entry keeps the proxy and its toxics; a different one is replaced. */
    free(expect_has(fx, "POST", "/proxies/one/toxics", "{\"type\":\"noop\"}", 200, "noop"));
    char body[400];
    snprintf(body, sizeof(body),
             "[{\"name\":\"one\",\"listen\":\"localhost:%u\",\"upstream\":\"x:1\"},"
             "{\"name\":\"two\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:3\"}]",
             port1);
    b = expect_has(fx, "POST", "/populate", body, 201, "\"toxics\":[{\"attributes\":{}");
    assert_non_null(strstr(b, "\"upstream\":\"x:3\",\"enabled\":true"));
    free(b);
    /* The first error stops the run; what was created before it is reported. */
    snprintf(body, sizeof(body),
             "[{\"name\":\"three\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:1\"},"
             "{\"name\":\"four\",\"listen\":\"127.0.0.1:%u\",\"upstream\":\"x:1\"}]",
             port1);
    char msg[200];
    snprintf(msg, sizeof(msg),
             "{\"error\":\"listen tcp 127.0.0.1:%u: bind: address already in use\",\"status\":500,"
             "\"proxies\":[{\"name\":\"three\"",
             port1);
    free(expect_has(fx, "POST", "/populate", body, 500, msg));
    free(expect_has(fx, "GET", "/proxies/three", NULL, 200, "\"name\":\"three\""));
    expect_error(fx, "GET", "/proxies/four", NULL, 404, "proxy not found");
    /* Our extension: toxics inside populate entries and POST /proxies. */
    free(expect_has(fx, "POST", "/populate",
                    "[{\"name\":\"five\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:1\","
                    "\"toxics\":[{\"type\":\"latency\",\"attributes\":{\"latency\":5}}]}]",
                    201, "\"toxics\":[{\"attributes\":{\"latency\":5,\"jitter\":0}"));
    free(expect_has(fx, "POST", "/proxies",
                    "{\"name\":\"six\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:1\","
                    "\"toxics\":[{\"type\":\"timeout\",\"stream\":\"upstream\"}]}",
                    201, "\"name\":\"timeout_upstream\""));
    expect_error(fx, "POST", "/proxies",
                 "{\"name\":\"seven\",\"upstream\":\"x:1\",\"toxics\":[{\"type\":\"nope\"}]}", 400,
                 "invalid toxic type \\\"nope\\\"; valid types: " VALID_TYPES);
    expect_error(fx, "GET", "/proxies/seven", NULL, 404, "proxy not found");
    proxy_fx_free(fx);
}

static void test_reset(void **state)
{
    (void)state;
    struct proxy_fx *fx = fx_new();
    uint16_t port = create_proxy(fx, "p", "127.0.0.1:9");
    free(expect_has(fx, "POST", "/proxies/p/toxics", "{\"type\":\"latency\"}", 200, "latency"));
    free(expect_has(fx, "POST", "/proxies/p/toxics",
                    "{\"type\":\"timeout\",\"stream\":\"upstream\"}", 200, "timeout"));
    free(expect_has(fx, "POST", "/proxies/p", "{\"enabled\":false}", 200, "\"enabled\":false"));
    expect(fx, "POST", "/reset", NULL, 204, "");
    char want[300];
    snprintf(want, sizeof(want),
             "{\"name\":\"p\",\"listen\":\"127.0.0.1:%u\",\"upstream\":\"127.0.0.1:9\","
             "\"enabled\":true,\"Logger\":{},\"toxics\":[]}",
             port);
    expect(fx, "GET", "/proxies/p", NULL, 200, want);
    proxy_fx_free(fx);
}

static void test_extra_endpoints(void **state)
{
    (void)state;
    struct proxy_fx *fx = fx_new();
    create_proxy(fx, "p", "127.0.0.1:9");
    expect(fx, "GET", "/proxies/p/connections", NULL, 200, "[]");
    expect(fx, "GET", "/proxies/p/stats", NULL, 200,
           "{\"accepted\":0,\"active\":0,\"refused\":0,\"resets_sent\":0,\"fins_sent\":0,"
           "\"bytes_up\":0,\"bytes_down\":0}");
    expect(fx, "DELETE", "/proxies/p/connections", NULL, 204, "");
    expect(fx, "DELETE", "/proxies/p/connections?action=fin", NULL, 204, "");
    expect_error(fx, "DELETE", "/proxies/p/connections?action=kill", NULL, 400,
                 "invalid action, can be either rst or fin");
    expect_error(fx, "DELETE", "/proxies/p/connections/7", NULL, 404, "connection not found");
    expect_error(fx, "GET", "/proxies/q/stats", NULL, 404, "proxy not found");
    expect(fx, "POST", "/proxies/p/stats", NULL, 405, "");
    expect(fx, "GET", "/events", NULL, 200, "{\"cursor\":0,\"events\":[]}");
    expect(fx, "GET", "/events?since=5", NULL, 200, "{\"cursor\":0,\"events\":[]}");
    expect(fx, "DELETE", "/events", NULL, 405, "");
    proxy_fx_free(fx);
}

/* JSON strings are escaped like Go's (HTML characters too) and round-trip. */
static void test_json_escaping(void **state)
{
    (void)state;
    struct proxy_fx *fx = fx_new();
    expect(fx, "POST", "/proxies",
           "{\"name\":\"a<b>&\\\"\\u00e9\\n\",\"upstream\":\"x:1\",\"listen\":\"l\",\"enabled\":"
           "false}",
           201,
           "{\"name\":\"a\\u003cb\\u003e\\u0026\\\"\xc3\xa9\\n\",\"listen\":\"l\",\"upstream\":\"x:"
           "1\","
           "\"enabled\":false,\"Logger\":{},\"toxics\":[]}");
    expect(fx, "GET", "/proxies/a%3Cb%3E%26%22%C3%A9%0A", NULL, 200, NULL);
    proxy_fx_free(fx);
}

/* ---- over HTTP ---- */

struct http_fx {
    uv_loop_t loop;
    uv_async_t stop;
    tether_proxy_server *ps;
    pthread_t th;
    bool closed;
};

static void http_closed(void *data)
{
    ((struct http_fx *)data)->closed = true;
}

static void http_stop_cb(uv_async_t *a)
{
    struct http_fx *fx = a->data;
    tether_proxy_server_close(fx->ps, http_closed, fx);
    uv_close((uv_handle_t *)a, NULL);
}

static void *http_thread(void *arg)
{
    struct http_fx *fx = arg;
    (void)uv_run(&fx->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* Sends one raw request over IPv4 (or IPv6 loopback) and reads until the peer closes. Returns
 * false when the address family is unavailable. */
static bool http_exchange6(uint16_t port, bool v6, const char *req, char *out, size_t cap)
{
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (fd < 0 && v6) {
        return false;
    }
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 5, .tv_usec = 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_storage ss;
    socklen_t slen;
    memset(&ss, 0, sizeof(ss));
    if (v6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        a6->sin6_addr = in6addr_loopback;
        slen = sizeof(*a6);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        slen = sizeof(*a);
    }
    if (connect(fd, (struct sockaddr *)&ss, slen) != 0) {
        int e = errno;
        close(fd);
        if (v6 && (e == EADDRNOTAVAIL || e == ENETUNREACH || e == EAFNOSUPPORT)) {
            return false;
        }
        fail_msg("connect: %s", strerror(e));
    }
    assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    size_t n = 0;
    for (;;) {
        ssize_t r = recv(fd, out + n, cap - 1 - n, 0);
        if (r <= 0) {
            break;
        }
        n += (size_t)r;
        if (n >= cap - 1) {
            break;
        }
    }
    out[n] = '\0';
    close(fd);
    return true;
}

static void http_exchange(uint16_t port, const char *req, char *out, size_t cap)
{
    (void)http_exchange6(port, false, req, out, cap);
}

static void test_http(void **state)
{
    (void)state;
    struct http_fx fx;
    memset(&fx, 0, sizeof(fx));
    assert_int_equal(uv_loop_init(&fx.loop), 0);
    struct tether_proxy_server_options o;
    tether_proxy_server_options_init(&o);
    o.api_host = "localhost"; /* both 127.0.0.1 and ::1, same port */
    o.api_port = 0;
    ASSERT_OK(tether_proxy_server_new(&fx.loop, &o, &fx.ps));
    uint16_t port = tether_proxy_server_api_port(fx.ps);
    assert_true(port != 0);
    assert_int_equal(uv_async_init(&fx.loop, &fx.stop, http_stop_cb), 0);
    fx.stop.data = &fx;
    assert_int_equal(pthread_create(&fx.th, NULL, http_thread, &fx), 0);

    char buf[8192];
    http_exchange(port, "GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", buf,
                  sizeof(buf));
    assert_non_null(strstr(buf, "HTTP/1.1 200 "));
    assert_non_null(strstr(buf, "X-Toxiproxy-Request-Id: "));
    assert_non_null(strstr(buf, "Content-Type: application/json;charset=utf-8\r\n"));
    assert_non_null(strstr(buf, "\r\n\r\n{\"version\": \"2.12.0\"}\n"));

    if (http_exchange6(port, true, "GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                       buf, sizeof(buf))) {
        assert_non_null(strstr(buf, "\r\n\r\n{\"version\": \"2.12.0\"}\n"));
    }

    http_exchange(port,
                  "GET /proxies HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0\r\n"
                  "Connection: close\r\n\r\n",
                  buf, sizeof(buf));
    assert_non_null(strstr(buf, "HTTP/1.1 403 "));
    assert_non_null(strstr(buf, "\r\n\r\nUser agent not allowed\n"));

    http_exchange(port,
                  "POST /proxies HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"nam\r\n0\r\n\r\n",
                  buf, sizeof(buf));
    assert_non_null(strstr(buf, "HTTP/1.1 400 "));
    assert_non_null(strstr(buf, "Content-Type: text/plain; charset=utf-8\r\n"));
    assert_non_null(strstr(buf, "{\"error\":\"bad request body: "));

    http_exchange(port, "POST /reset HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", buf,
                  sizeof(buf));
    assert_non_null(strstr(buf, "HTTP/1.1 204 "));
    assert_non_null(strstr(buf, "X-Toxiproxy-Request-Id: "));

    assert_int_equal(uv_async_send(&fx.stop), 0);
    assert_int_equal(pthread_join(fx.th, NULL), 0);
    assert_true(fx.closed);
    tt_test_loop_close(&fx.loop);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_and_routing),
        cmocka_unit_test(test_proxy_create_errors),
        cmocka_unit_test(test_proxy_shape_and_lifecycle),
        cmocka_unit_test(test_toxic_crud),
        cmocka_unit_test(test_toxic_errors),
        cmocka_unit_test(test_toxic_types),
        cmocka_unit_test(test_populate),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_extra_endpoints),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_http),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
