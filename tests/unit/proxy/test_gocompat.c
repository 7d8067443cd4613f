/* SPDX-License-Identifier: MIT */
/* The Toxiproxy Go client's expectations (api_test.go, the client package) of the API, in-process
 * and over HTTP: exact error strings and statuses, populate, toxic CRUD, JSON key order, transport.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "rawclient.h"
#include "test.h"
#include "toxic_peer.h"

/* ---- JSON helpers ---- */

static json_t *parse_or_fail(const char *what, const char *body)
{
    json_error_t err;
    json_t *v = json_loads(body, JSON_DECODE_ANY, &err);
    if (v == NULL) {
        fail_msg("%s: not JSON (%s): \"%s\"", what, err.text, body);
    }
    return v;
}

/* The call must answer `want` with a JSON body; returns it (json_decref it). */
static json_t *call_json(struct pxfix *fx, const char *method, const char *path, const char *body,
                         int want)
{
    struct px_reply r;
    int st = pxfix_call(fx, method, path, body, &r);
    if (st != want) {
        char copy[512];
        snprintf(copy, sizeof(copy), "%s", r.body);
        px_reply_free(&r);
        fail_msg("%s %s -> %d %s, expected %d", method, path, st, copy, want);
    }
    json_t *v = parse_or_fail(path, r.body);
    px_reply_free(&r);
    return v;
}

/* Object keys in order, "Logger" (Toxiproxy's accidental field) skipped. */
static void assert_keys(const json_t *o, const char *const *keys, size_t n)
{
    assert_true(json_is_object(o));
    size_t i = 0;
    for (void *it = json_object_iter((json_t *)(uintptr_t)o); it != NULL;
         it = json_object_iter_next((json_t *)(uintptr_t)o, it)) {
        const char *k = json_object_iter_key(it);
        if (strcmp(k, "Logger") == 0) {
            continue;
        }
        if (i >= n || strcmp(k, keys[i]) != 0) {
            char *dump = json_dumps(o, JSON_PRESERVE_ORDER);
            fail_msg("key %zu is \"%s\", expected \"%s\" in %s", i, k, i < n ? keys[i] : "(end)",
                     dump ? dump : "?");
        }
        i++;
    }
    if (i != n) {
        fail_msg("%zu keys, expected %zu", i, n);
    }
}

static const char *const proxy_keys[] = {"name", "listen", "upstream", "enabled", "toxics"};
static const char *const toxic_keys[] = {"attributes", "name", "type", "stream", "toxicity"};
static const char *const error_keys[] = {"error", "status"};

static const char *str_of(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (s == NULL) {
        fail_msg("\"%s\" is not a string", key);
    }
    return s;
}

/* An error body whose "error" is msg (or starts with it) and "status" the status; returned for
 * more checks (json_decref it). */
static json_t *expect_error_ex(struct pxfix *fx, const char *method, const char *path,
                               const char *body, int status, const char *msg, bool prefix)
{
    json_t *v = call_json(fx, method, path, body, status);
    const char *e = str_of(v, "error");
    if (prefix ? strncmp(e, msg, strlen(msg)) != 0 : strcmp(e, msg) != 0) {
        fail_msg("%s %s: error \"%s\", expected %s\"%s\"", method, path, e,
                 prefix ? "a prefix " : "", msg);
    }
    assert_int_equal(json_integer_value(json_object_get(v, "status")), status);
    return v;
}

static void expect_error(struct pxfix *fx, const char *method, const char *path, const char *body,
                         int status, const char *msg)
{
    json_t *v = expect_error_ex(fx, method, path, body, status, msg, false);
    assert_keys(v, error_keys, 2);
    json_decref(v);
}

static void expect_error_prefix(struct pxfix *fx, const char *method, const char *path,
                                const char *body, int status, const char *prefix)
{
    json_decref(expect_error_ex(fx, method, path, body, status, prefix, true));
}

/* 204 with an empty body. */
static void expect_204(struct pxfix *fx, const char *method, const char *path, const char *body)
{
    struct px_reply r;
    int st = pxfix_call(fx, method, path, body, &r);
    size_t len = r.len;
    px_reply_free(&r);
    assert_int_equal(st, 204);
    assert_int_equal(len, 0);
}

static int64_t attr_i(const json_t *toxic, const char *name)
{
    const json_t *v = json_object_get(json_object_get(toxic, "attributes"), name);
    if (!json_is_integer(v)) {
        fail_msg("attribute %s is missing or not an integer", name);
    }
    return (int64_t)json_integer_value(v);
}

static struct pxfix *begin(void **state)
{
    return pxfix_begin(state, NULL);
}

/* ---- proxies ---- */

static void test_proxy_create_shape(void **state)
{
    struct pxfix *fx = begin(state);
    json_t *v = call_json(fx, "GET", "/proxies", NULL, 200);
    assert_true(json_is_object(v) && json_object_size(v) == 0);
    json_decref(v);

    v = call_json(fx, "POST", "/proxies",
                  "{\"name\":\"redis\",\"listen\":\"localhost:0\",\"upstream\":\"localhost:6379\"}",
                  201);
    assert_keys(v, proxy_keys, 5);
    assert_string_equal(str_of(v, "name"), "redis");
    uint16_t port = pxfix_proxy_port(fx, "redis");
    assert_int_not_equal(port, 0);
    char want[64];
    snprintf(want, sizeof(want), "127.0.0.1:%u", (unsigned)port); /* the bound address */
    assert_string_equal(str_of(v, "listen"), want);
    assert_string_equal(str_of(v, "upstream"), "localhost:6379");
    assert_true(json_is_true(json_object_get(v, "enabled"))); /* defaults to true */
    assert_true(json_is_array(json_object_get(v, "toxics")));
    assert_int_equal(json_array_size(json_object_get(v, "toxics")), 0);
    json_decref(v);

    v = call_json(fx, "GET", "/proxies", NULL, 200);
    assert_int_equal(json_object_size(v), 1);
    assert_keys(json_object_get(v, "redis"), proxy_keys, 5);
    json_decref(v);
    v = call_json(fx, "GET", "/proxies/redis", NULL, 200);
    assert_keys(v, proxy_keys, 5);
    json_decref(v);
    pxfix_end(state);
}

/* A disabled proxy that never started keeps the listen string it was given. */
static void test_proxy_create_disabled(void **state)
{
    struct pxfix *fx = begin(state);
    json_t *v = call_json(fx, "POST", "/proxies",
                          "{\"name\":\"d\",\"listen\":\"localhost:0\",\"upstream\":\"x:1\","
                          "\"enabled\":false,\"toxics\":null}",
                          201);
    assert_string_equal(str_of(v, "listen"), "localhost:0");
    assert_true(json_is_false(json_object_get(v, "enabled")));
    json_decref(v);
    assert_int_equal(pxfix_proxy_port(fx, "d"), 0);
    pxfix_end(state);
}

static void test_proxy_errors(void **state)
{
    struct pxfix *fx = begin(state);
    const char *body = "{\"name\":\"a\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:1\"}";
    json_decref(call_json(fx, "POST", "/proxies", body, 201));
    expect_error(fx, "POST", "/proxies", body, 409, "proxy already exists");
    expect_error(fx, "POST", "/proxies", "{\"upstream\":\"x:1\"}", 400,
                 "missing required field: name");
    expect_error(fx, "POST", "/proxies", "{\"name\":\"b\"}", 400,
                 "missing required field: upstream");
    expect_error(fx, "POST", "/proxies", "", 400, "bad request body: EOF");
    expect_error_prefix(fx, "POST", "/proxies", "{", 400, "bad request body: ");
    expect_error_prefix(fx, "POST", "/proxies", "{\"name\":1,\"upstream\":\"x:1\"}", 400,
                        "bad request body: json: cannot unmarshal");
    expect_error(fx, "GET", "/proxies/nope", NULL, 404, "proxy not found");
    expect_error(fx, "DELETE", "/proxies/nope", NULL, 404, "proxy not found");
    expect_error(fx, "PATCH", "/proxies/nope", "{}", 404, "proxy not found");
    expect_error(fx, "GET", "/proxies/nope/toxics", NULL, 404, "proxy not found");
    expect_error(fx, "POST", "/proxies/nope/toxics", "{\"type\":\"latency\"}", 404,
                 "proxy not found");
    expect_error(fx, "GET", "/proxies/nope/toxics/t", NULL, 404, "proxy not found");
    /* Case-insensitive keys and ignored unknown keys, as encoding/json. */
    json_t *v = call_json(fx, "POST", "/proxies",
                          "{\"NAME\":\"c\",\"Listen\":\"127.0.0.1:0\",\"upstream\":\"x:1\","
                          "\"whatever\":[1,2]}",
                          201);
    assert_string_equal(str_of(v, "name"), "c");
    json_decref(v);
    expect_204(fx, "DELETE", "/proxies/a", NULL);
    expect_error(fx, "DELETE", "/proxies/a", NULL, 404, "proxy not found");
    pxfix_end(state);
}

/* A bind failure is a 500 with Go's error text, and the proxy is not created. */
static void test_proxy_bind_failure(void **state)
{
    struct pxfix *fx = begin(state);
    json_decref(call_json(fx, "POST", "/proxies",
                          "{\"name\":\"a\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:1\"}", 201));
    unsigned port = pxfix_proxy_port(fx, "a");
    char body[128], msg[128];
    snprintf(body, sizeof(body),
             "{\"name\":\"b\",\"listen\":\"127.0.0.1:%u\",\"upstream\":\"x:1\"}", port);
    snprintf(msg, sizeof(msg), "listen tcp 127.0.0.1:%u: bind: address already in use", port);
    expect_error(fx, "POST", "/proxies", body, 500, msg);
    expect_error(fx, "GET", "/proxies/b", NULL, 404, "proxy not found");
    pxfix_end(state);
}

/* Update: omitted fields keep their values; `name` in the body is ignored; POST = PATCH. */
static void test_proxy_update(void **state)
{
    struct pxfix *fx = begin(state);
    json_decref(call_json(fx, "POST", "/proxies",
                          "{\"name\":\"a\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:1\"}", 201));
    json_t *v =
        call_json(fx, "PATCH", "/proxies/a", "{\"name\":\"zzz\",\"upstream\":\"y:2\"}", 200);
    assert_keys(v, proxy_keys, 5);
    assert_string_equal(str_of(v, "name"), "a");
    assert_string_equal(str_of(v, "upstream"), "y:2");
    assert_true(json_is_true(json_object_get(v, "enabled")));
    json_decref(v);
    v = call_json(fx, "POST", "/proxies/a", "{\"enabled\":false}", 200);
    assert_true(json_is_false(json_object_get(v, "enabled")));
    assert_string_equal(str_of(v, "upstream"), "y:2");
    json_decref(v);
    expect_error(fx, "GET", "/proxies/zzz", NULL, 404, "proxy not found");
    expect_error_prefix(fx, "PATCH", "/proxies/a", "[", 400, "bad request body: ");
    pxfix_end(state);
}

/* ---- toxics ---- */

static void test_toxic_create_defaults_and_shape(void **state)
{
    struct pxfix *fx = begin(state);
    json_decref(call_json(fx, "POST", "/proxies",
                          "{\"name\":\"p\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:1\"}", 201));
    json_t *v = call_json(fx, "POST", "/proxies/p/toxics",
                          "{\"type\":\"latency\",\"attributes\":{\"latency\":100}}", 200);
    assert_keys(v, toxic_keys, 5);
    assert_string_equal(str_of(v, "name"), "latency_downstream");
    assert_string_equal(str_of(v, "type"), "latency");
    assert_string_equal(str_of(v, "stream"), "downstream");
    assert_true(json_number_value(json_object_get(v, "toxicity")) == 1.0);
    assert_int_equal(attr_i(v, "latency"), 100);
    assert_int_equal(attr_i(v, "jitter"), 0); /* every attribute present, zero values too */
    json_decref(v);

    v = call_json(fx, "POST", "/proxies/p/toxics",
                  "{\"type\":\"latency\",\"stream\":\"upstream\",\"toxicity\":0}", 200);
    assert_string_equal(str_of(v, "name"), "latency_upstream");
    assert_true(json_number_value(json_object_get(v, "toxicity")) == 0.0); /* 0 is kept */
    json_decref(v);

    v = call_json(fx, "POST", "/proxies/p/toxics", "{\"name\":\"n\",\"type\":\"noop\"}", 200);
    assert_true(json_is_object(json_object_get(v, "attributes")));
    assert_int_equal(json_object_size(json_object_get(v, "attributes")), 0);
    json_decref(v);

    v = call_json(fx, "GET", "/proxies/p/toxics", NULL, 200);
    assert_true(json_is_array(v));
    assert_int_equal(json_array_size(v), 3);
    assert_keys(json_array_get(v, 0), toxic_keys, 5);
    json_decref(v);
    v = call_json(fx, "GET", "/proxies/p", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(v, "toxics")), 3);
    json_decref(v);
    v = call_json(fx, "GET", "/proxies/p/toxics/latency_upstream", NULL, 200);
    assert_keys(v, toxic_keys, 5);
    assert_string_equal(str_of(v, "stream"), "upstream");
    json_decref(v);
    pxfix_end(state);
}

/* AddToxicJson's order of checks: proxy, body, stream, type, name, attributes. */
static void test_toxic_errors(void **state)
{
    struct pxfix *fx = begin(state);
    json_decref(call_json(fx, "POST", "/proxies",
                          "{\"name\":\"p\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:1\"}", 201));
    const char *t = "/proxies/p/toxics";
    json_decref(call_json(fx, "POST", t, "{\"type\":\"latency\"}", 200));
    expect_error(fx, "POST", t, "{\"type\":\"latency\"}", 409, "toxic already exists");
    /* The name is taken in either direction. */
    expect_error(fx, "POST", t,
                 "{\"name\":\"latency_downstream\",\"type\":\"latency\",\"stream\":\"upstream\"}",
                 409, "toxic already exists");
    /* Toxiproxy's text comes first; what follows names the valid types. */
    expect_error_prefix(fx, "POST", t, "{\"type\":\"down\"}", 400, "invalid toxic type \"down\"");
    expect_error_prefix(fx, "POST", t, "{\"type\":\"bogus\"}", 400, "invalid toxic type");
    expect_error_prefix(fx, "POST", t, "{}", 400, "invalid toxic type");
    const char *bad_stream = "stream was invalid, can be either upstream or downstream";
    expect_error(fx, "POST", t, "{\"type\":\"latency\",\"stream\":\"sideways\"}", 400, bad_stream);
    expect_error(fx, "POST", t, "{\"type\":\"latency\",\"stream\":\"\"}", 400, bad_stream);
    expect_error(fx, "POST", t, "{\"type\":\"bogus\",\"stream\":\"sideways\"}", 400, bad_stream);
    expect_error_prefix(fx, "POST", t, "{\"name\":\"latency_downstream\",\"type\":\"bogus\"}", 400,
                        "invalid toxic type");
    expect_error(fx, "POST", t,
                 "{\"name\":\"latency_downstream\",\"type\":\"latency\","
                 "\"attributes\":{\"latency\":\"x\"}}",
                 409, "toxic already exists");
    expect_error(fx, "POST", t, "", 400, "bad request body: EOF");
    expect_error_prefix(fx, "POST", t,
                        "{\"type\":\"latency\",\"name\":\"f\","
                        "\"attributes\":{\"latency\":1.5}}",
                        400, "bad request body: json: cannot unmarshal");
    expect_error_prefix(fx, "POST", t,
                        "{\"type\":\"latency\",\"name\":\"s\","
                        "\"attributes\":{\"latency\":\"x\"}}",
                        400, "bad request body: ");
    /* Values Toxiproxy crashes or hangs on are rejected (§6.2). */
    expect_error_prefix(fx, "POST", t, "{\"type\":\"bandwidth\",\"attributes\":{\"rate\":-1}}", 400,
                        "bad request body: ");
    expect_error_prefix(fx, "POST", t, "{\"type\":\"slicer\",\"attributes\":{\"average_size\":0}}",
                        400, "bad request body: ");
    /* Case-insensitive stream. */
    json_t *v = call_json(fx, "POST", t,
                          "{\"name\":\"ci\",\"type\":\"latency\",\"stream\":\"UpStream\"}", 200);
    json_decref(v);
    v = call_json(fx, "GET", "/proxies/p/toxics/ci", NULL, 200);
    json_decref(v);
    expect_error(fx, "GET", "/proxies/p/toxics/nope", NULL, 404, "toxic not found");
    expect_error(fx, "PATCH", "/proxies/p/toxics/nope", "{}", 404, "toxic not found");
    expect_error(fx, "DELETE", "/proxies/p/toxics/nope", NULL, 404, "toxic not found");
    pxfix_end(state);
}

/* Update merges attributes into the existing ones, keeps toxicity when absent, and cannot
 * change name, type or stream. PATCH (Go client) and POST (node client) alike. */
static void test_toxic_update_merge(void **state)
{
    struct pxfix *fx = begin(state);
    json_decref(call_json(fx, "POST", "/proxies",
                          "{\"name\":\"p\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:1\"}", 201));
    json_decref(call_json(fx, "POST", "/proxies/p/toxics",
                          "{\"type\":\"latency\",\"toxicity\":0.25,"
                          "\"attributes\":{\"latency\":100,\"jitter\":10}}",
                          200));
    const char *path = "/proxies/p/toxics/latency_downstream";
    json_t *v = call_json(fx, "PATCH", path, "{\"attributes\":{\"jitter\":5}}", 200);
    assert_keys(v, toxic_keys, 5);
    assert_int_equal(attr_i(v, "latency"), 100);
    assert_int_equal(attr_i(v, "jitter"), 5);
    assert_true(json_number_value(json_object_get(v, "toxicity")) == 0.25);
    json_decref(v);
    v = call_json(fx, "POST", path,
                  "{\"name\":\"x\",\"type\":\"bandwidth\",\"stream\":\"upstream\",\"toxicity\":0.5,"
                  "\"attributes\":{\"latency\":1000}}",
                  200);
    assert_string_equal(str_of(v, "name"), "latency_downstream");
    assert_string_equal(str_of(v, "type"), "latency");
    assert_string_equal(str_of(v, "stream"), "downstream");
    assert_true(json_number_value(json_object_get(v, "toxicity")) == 0.5);
    assert_int_equal(attr_i(v, "latency"), 1000);
    assert_int_equal(attr_i(v, "jitter"), 5);
    json_decref(v);
    expect_error_prefix(fx, "PATCH", path, "{\"attributes\":{\"latency\":\"slow\"}}", 400,
                        "bad request body: ");
    v = call_json(fx, "GET", path, NULL, 200); /* a failed update changes nothing */
    assert_int_equal(attr_i(v, "latency"), 1000);
    json_decref(v);
    expect_204(fx, "DELETE", path, NULL);
    expect_error(fx, "GET", path, NULL, 404, "toxic not found");
    expect_error(fx, "DELETE", path, NULL, 404, "toxic not found");
    pxfix_end(state);
}

/* ---- populate ---- */

static void test_populate(void **state)
{
    struct pxfix *fx = begin(state);
    json_t *v = call_json(fx, "POST", "/populate", "[]", 201);
    assert_true(json_is_array(json_object_get(v, "proxies"))); /* [] where Toxiproxy has null */
    assert_int_equal(json_array_size(json_object_get(v, "proxies")), 0);
    json_decref(v);

    v = call_json(fx, "POST", "/populate",
                  "[{\"name\":\"a\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:1\"},"
                  "{\"name\":\"b\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:2\","
                  "\"enabled\":false}]",
                  201);
    json_t *list = json_object_get(v, "proxies");
    assert_int_equal(json_array_size(list), 2);
    assert_keys(json_array_get(list, 0), proxy_keys, 5);
    assert_true(json_is_true(json_object_get(json_array_get(list, 0), "enabled")));
    assert_true(json_is_false(json_object_get(json_array_get(list, 1), "enabled")));
    json_decref(v);

    /* An identical proxy (same resolved listen, same upstream) is kept: toxics and enabled
     * state included. */
    unsigned port = pxfix_proxy_port(fx, "a");
    px_toxic(fx, "a", "{\"type\":\"latency\"}");
    json_decref(call_json(fx, "PATCH", "/proxies/a", "{\"enabled\":false}", 200));
    char body[256];
    snprintf(body, sizeof(body),
             "[{\"name\":\"a\",\"listen\":\"127.0.0.1:%u\",\"upstream\":\"x:1\"}]", port);
    json_decref(call_json(fx, "POST", "/populate", body, 201));
    v = call_json(fx, "GET", "/proxies/a", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(v, "toxics")), 1);
    assert_true(json_is_false(json_object_get(v, "enabled")));
    json_decref(v);

    /* A different one is replaced by a fresh proxy without toxics (no 409). */
    json_decref(call_json(fx, "POST", "/populate",
                          "[{\"name\":\"a\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:9\"}]",
                          201));
    v = call_json(fx, "GET", "/proxies/a", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(v, "toxics")), 0);
    assert_string_equal(str_of(v, "upstream"), "x:9");
    assert_true(json_is_true(json_object_get(v, "enabled")));
    json_decref(v);
    pxfix_end(state);
}

static void test_populate_errors(void **state)
{
    struct pxfix *fx = begin(state);
    /* Every entry is validated before anything is created; N is 1-based. */
    json_decref(expect_error_ex(fx, "POST", "/populate",
                                "[{\"name\":\"a\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:1\"},"
                                "{\"name\":\"b\",\"listen\":\"127.0.0.1:0\"}]",
                                400, "missing required field: upstream at proxy 2", false));
    json_decref(expect_error_ex(fx, "POST", "/populate",
                                "[{\"name\":\"a\",\"upstream\":\"x:1\"},{\"upstream\":\"x:1\"}]",
                                400, "missing required field: name at proxy 2", false));
    expect_error(fx, "GET", "/proxies/a", NULL, 404, "proxy not found");
    expect_error_prefix(fx, "POST", "/populate", "{}", 400, "bad request body: ");
    /* /populate's errors carry "proxies" too (the ones created before the error). */
    json_decref(expect_error_ex(fx, "POST", "/populate", "", 400, "bad request body: EOF", false));

    /* The first failure stops the run: the proxies created before it are returned. */
    json_decref(call_json(fx, "POST", "/proxies",
                          "{\"name\":\"busy\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:1\"}",
                          201));
    unsigned port = pxfix_proxy_port(fx, "busy");
    char body[512], msg[128];
    snprintf(body, sizeof(body),
             "[{\"name\":\"one\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:1\"},"
             "{\"name\":\"two\",\"listen\":\"127.0.0.1:%u\",\"upstream\":\"x:1\"},"
             "{\"name\":\"three\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:1\"}]",
             port);
    snprintf(msg, sizeof(msg), "listen tcp 127.0.0.1:%u: bind: address already in use", port);
    json_t *v = expect_error_ex(fx, "POST", "/populate", body, 500, msg, false);
    json_t *list = json_object_get(v, "proxies");
    assert_true(json_is_array(list));
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(str_of(json_array_get(list, 0), "name"), "one");
    json_decref(v);
    json_decref(call_json(fx, "GET", "/proxies/one", NULL, 200));
    expect_error(fx, "GET", "/proxies/two", NULL, 404, "proxy not found");
    expect_error(fx, "GET", "/proxies/three", NULL, 404, "proxy not found");
    pxfix_end(state);
}

/* ---- misc routes ---- */

static void test_routes(void **state)
{
    struct pxfix *fx = begin(state);
    json_decref(call_json(fx, "POST", "/proxies",
                          "{\"name\":\"p\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:1\"}", 201));
    px_toxic(fx, "p", "{\"type\":\"latency\"}");
    json_decref(call_json(fx, "PATCH", "/proxies/p", "{\"enabled\":false}", 200));
    expect_204(fx, "POST", "/reset", NULL);
    expect_204(fx, "POST", "/reset", "");
    json_t *v = call_json(fx, "GET", "/proxies/p", NULL, 200);
    assert_true(json_is_true(json_object_get(v, "enabled")));
    assert_int_equal(json_array_size(json_object_get(v, "toxics")), 0);
    json_decref(v);

    struct px_reply r;
    assert_int_equal(pxfix_call(fx, "GET", "/version", NULL, &r), 200);
    assert_true(r.len > 0 && r.body[r.len - 1] == '\n');
    v = parse_or_fail("/version", r.body);
    assert_true(strncmp(str_of(v, "version"), TETHER_PROXY_TOXIPROXY_VERSION,
                        strlen(TETHER_PROXY_TOXIPROXY_VERSION)) == 0);
    json_decref(v);
    px_reply_free(&r);

    assert_int_equal(pxfix_call(fx, "GET", "/nope", NULL, &r), 404);
    assert_true(strncmp(r.body, "404 page not found", 18) == 0);
    px_reply_free(&r);
    assert_int_equal(pxfix_call(fx, "GET", "/proxies/p/toxics/t/x", NULL, &r), 404);
    px_reply_free(&r);
    assert_int_equal(pxfix_call(fx, "DELETE", "/reset", NULL, &r), 405);
    assert_int_equal(r.len, 0);
    px_reply_free(&r);
    assert_int_equal(pxfix_call(fx, "GET", "/populate", NULL, &r), 405);
    px_reply_free(&r);
    assert_int_equal(pxfix_call(fx, "PUT", "/proxies/p", "{}", &r), 405);
    px_reply_free(&r);
    pxfix_end(state);
}

/* ---- over HTTP ---- */

static void api_port_on_loop(struct pxfix *fx, void *arg)
{
    *(uint16_t *)arg = tether_proxy_server_api_port(fx->ps);
}

static struct pxfix *begin_http(void **state, uint16_t *api_port)
{
    struct tether_proxy_server_options o;
    pxfix_options(&o);
    o.api_host = "127.0.0.1";
    o.api_port = 0;
    struct pxfix *fx = pxfix_begin(state, &o);
    pxfix_run(fx, api_port_on_loop, api_port);
    assert_int_not_equal(*api_port, 0);
    return fx;
}

static int http(struct rc *c, const char *method, const char *target, const char *ua,
                const char *body, struct rc_response *resp)
{
    char req[2048];
    snprintf(req, sizeof(req),
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: %s\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             method, target, ua, body ? strlen(body) : 0, body ? body : "");
    if (rc_send_str(c, req) != RC_OK) {
        return RC_ERROR;
    }
    return rc_read_response(c, resp, 3000);
}

static void assert_request_id(const struct rc_response *r)
{
    char id[128];
    if (!rc_header(r, "X-Toxiproxy-Request-Id", id, sizeof(id)) || id[0] == '\0') {
        fail_msg("no X-Toxiproxy-Request-Id in:\n%s", r->head);
    }
}

static void test_http_transport(void **state)
{
    uint16_t api;
    (void)begin_http(state, &api);
    static struct rc c;
    static struct rc_response r;
    char hv[256];
    ASSERT_RC(rc_connect(&c, api), RC_OK);

    ASSERT_RC(http(&c, "GET", "/version", "toxiproxy-cli", NULL, &r), RC_OK);
    assert_int_equal(r.status, 200);
    assert_request_id(&r);
    assert_true(rc_header(&r, "Content-Type", hv, sizeof(hv)));
    assert_string_equal(hv, "application/json;charset=utf-8");

    /* Keep-alive: the same connection serves create, conflict and delete. */
    const char *body = "{\"name\":\"h\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"x:1\"}";
    ASSERT_RC(http(&c, "POST", "/proxies", "toxiproxy-cli", body, &r), RC_OK);
    assert_int_equal(r.status, 201);
    assert_request_id(&r);
    ASSERT_RC(http(&c, "POST", "/proxies", "toxiproxy-cli", body, &r), RC_OK);
    assert_int_equal(r.status, 409);
    assert_request_id(&r);
    r.body[r.body_len < sizeof(r.body) ? r.body_len : sizeof(r.body) - 1] = '\0';
    json_t *v = parse_or_fail("409 body", r.body); /* JSON body, text/plain type (http.Error) */
    assert_string_equal(str_of(v, "error"), "proxy already exists");
    json_decref(v);
    assert_true(rc_header(&r, "Content-Type", hv, sizeof(hv)));
    assert_string_equal(hv, "text/plain; charset=utf-8");
    assert_true(rc_header(&r, "X-Content-Type-Options", hv, sizeof(hv)));
    assert_string_equal(hv, "nosniff");

    ASSERT_RC(http(&c, "DELETE", "/proxies/h", "toxiproxy-cli", NULL, &r), RC_OK);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body_len, 0);
    assert_request_id(&r);

    /* POST /reset with no body and no Content-Type (node-client 4.1.0). */
    ASSERT_RC(rc_send_str(&c, "POST /reset HTTP/1.1\r\nHost: h\r\ncontent-length: 0\r\n\r\n"),
              RC_OK);
    ASSERT_RC(rc_read_response(&c, &r, 3000), RC_OK);
    assert_int_equal(r.status, 204);

    /* A chunked request body. */
    ASSERT_RC(rc_send_str(&c, "POST /proxies HTTP/1.1\r\nHost: h\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n"
                              "10\r\n{\"name\":\"ch\",\"li\r\n"
                              "25\r\nsten\":\"127.0.0.1:0\",\"upstream\":\"x:1\"}\r\n0\r\n\r\n"),
              RC_OK);
    ASSERT_RC(rc_read_response(&c, &r, 3000), RC_OK);
    assert_int_equal(r.status, 201);

    ASSERT_RC(http(&c, "GET", "/nowhere", "toxiproxy-cli", NULL, &r), RC_OK);
    assert_int_equal(r.status, 404);
    ASSERT_RC(http(&c, "DELETE", "/version", "toxiproxy-cli", NULL, &r), RC_OK);
    assert_int_equal(r.status, 405);
    rc_close(&c);
    pxfix_end(state);
}

static void test_http_browser_blocked(void **state)
{
    uint16_t api;
    (void)begin_http(state, &api);
    static struct rc c;
    static struct rc_response r;
    ASSERT_RC(rc_connect(&c, api), RC_OK);
    ASSERT_RC(http(&c, "GET", "/proxies", "Mozilla/5.0 (X11; Linux x86_64)", NULL, &r), RC_OK);
    assert_int_equal(r.status, 403);
    ASSERT_SPAN_EQ(r.body, r.body_len < 22 ? r.body_len : 22, "User agent not allowed");
    rc_close(&c);
    ASSERT_RC(rc_connect(&c, api), RC_OK);
    ASSERT_RC(http(&c, "GET", "/proxies", "curl/8.0", NULL, &r), RC_OK);
    assert_int_equal(r.status, 200);
    rc_close(&c);
    pxfix_end(state);
}

/* Connects to [::1]:port; false when the host has no IPv6 loopback. */
static bool connect6(uint16_t port, int *fd)
{
    *fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*fd < 0) {
        return false;
    }
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    sin6.sin6_addr = in6addr_loopback;
    if (connect(*fd, (struct sockaddr *)&sin6, sizeof(sin6)) != 0) {
        close(*fd);
        *fd = -1;
        return false;
    }
    return true;
}

static bool ipv6_loopback_usable(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr = in6addr_loopback;
    bool ok = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
    close(fd);
    return ok;
}

/* "localhost" binds 127.0.0.1 and ::1 on the same port (Toxiproxy binds one of them). */
static void test_http_localhost_both_families(void **state)
{
    struct tether_proxy_server_options o;
    pxfix_options(&o);
    o.api_host = "localhost";
    o.api_port = 0;
    struct pxfix *fx = pxfix_begin(state, &o);
    uint16_t api = 0;
    pxfix_run(fx, api_port_on_loop, &api);
    assert_int_not_equal(api, 0);
    static struct rc c;
    static struct rc_response r;
    ASSERT_RC(rc_connect(&c, api), RC_OK);
    ASSERT_RC(http(&c, "GET", "/version", "toxiproxy-cli", NULL, &r), RC_OK);
    assert_int_equal(r.status, 200);
    rc_close(&c);
    if (ipv6_loopback_usable()) {
        int fd = -1;
        if (!connect6(api, &fd)) {
            fail_msg("[::1]:%u refused: localhost must bind ::1 too", (unsigned)api);
        }
        rc_init_fd(&c, fd);
        ASSERT_RC(http(&c, "GET", "/version", "toxiproxy-cli", NULL, &r), RC_OK);
        assert_int_equal(r.status, 200);
        rc_close(&c);
    } else {
        rc_note("no IPv6 loopback here: the ::1 half is skipped");
    }
    pxfix_end(state);
}

int main(void)
{
    (void)signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_proxy_create_shape, pxfix_teardown),
        cmocka_unit_test_teardown(test_proxy_create_disabled, pxfix_teardown),
        cmocka_unit_test_teardown(test_proxy_errors, pxfix_teardown),
        cmocka_unit_test_teardown(test_proxy_bind_failure, pxfix_teardown),
        cmocka_unit_test_teardown(test_proxy_update, pxfix_teardown),
        cmocka_unit_test_teardown(test_toxic_create_defaults_and_shape, pxfix_teardown),
        cmocka_unit_test_teardown(test_toxic_errors, pxfix_teardown),
        cmocka_unit_test_teardown(test_toxic_update_merge, pxfix_teardown),
        cmocka_unit_test_teardown(test_populate, pxfix_teardown),
        cmocka_unit_test_teardown(test_populate_errors, pxfix_teardown),
        cmocka_unit_test_teardown(test_routes, pxfix_teardown),
        cmocka_unit_test_teardown(test_http_transport, pxfix_teardown),
        cmocka_unit_test_teardown(test_http_browser_blocked, pxfix_teardown),
        cmocka_unit_test_teardown(test_http_localhost_both_families, pxfix_teardown),
    };
    return cmocka_run_group_tests_name("proxy_gocompat", tests, NULL, NULL);
}
