/* SPDX-License-Identifier: MIT */
/*
 * The proxy API against hostile input (the hostile-input review's A1, A2, C3-C6): a path that
 * fills the split buffer, attribute values whose arithmetic would overflow, toxicity beyond
 * float32, NUL inside names, /events cutting a multibyte name, invalid UTF-8 quoted back in an
 * error message and a name listed twice in /populate (both found by proxy_api_fuzz). Each value
 * is either
 * refused with a 400 naming it and the valid range, or handled without undefined behaviour
 * (the ASan+UBSan build turns the latter into a failure).
 */
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "test.h"

#include "loop.h"
#include "net_peer.h"
#include "proxy_fx.h"
#include "tether/proxy.h"

struct reply {
    int status;
    char *body; /* NUL-terminated copy */
};

static struct reply call(struct proxy_fx *fx, const char *method, const char *path,
                         const char *body, size_t body_len)
{
    struct reply r;
    char *resp = NULL;
    size_t len = 0;
    ASSERT_OK(
        tether_proxy_server_call(fx->ps, method, path, body, body_len, &r.status, &resp, &len));
    r.body = malloc(len + 1);
    assert_non_null(r.body);
    if (len) {
        memcpy(r.body, resp, len);
    }
    r.body[len] = '\0';
    tether_free(resp);
    return r;
}

static void expect_has(struct proxy_fx *fx, const char *method, const char *path, const char *body,
                       int status, const char *part)
{
    struct reply r = call(fx, method, path, body, body ? strlen(body) : 0);
    if (r.status != status || !strstr(r.body, part)) {
        fail_msg("%s %s %s -> %d %s\nexpected %d containing %s", method, path, body ? body : "",
                 r.status, r.body, status, part);
    }
    free(r.body);
}

/* A1: a first segment that fills the 2048-byte split buffer, then empty segments, each of
 * which used to write its NUL past the buffer. No route matches such a path. */
static void test_long_path_then_empty_segments(void **state)
{
    (void)state;
    struct proxy_fx *fx = proxy_fx_new(1);
    for (size_t fill = 2040; fill <= 2050; fill++) {
        char path[2100];
        path[0] = '/';
        memset(path + 1, 'a', fill);
        memcpy(path + 1 + fill, "/////", 6);
        expect_has(fx, "GET", path, NULL, 404, "404 page not found");
    }
    proxy_fx_free(fx);
}

/* A2, C3: every integer attribute has a ceiling; above it the answer names the toxic, the
 * attribute, the value and the range. The ceiling itself is accepted. */
static void test_attribute_ranges(void **state)
{
    (void)state;
    struct proxy_fx *fx = proxy_fx_new(1);
    expect_has(fx, "POST", "/proxies",
               "{\"name\":\"p\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:9\"}", 201,
               "\"name\":\"p\"");
    static const struct {
        const char *body;
        const char *msg;
    } bad[] = {
        {"{\"type\":\"latency\",\"attributes\":{\"jitter\":9000000000000000000}}",
         "invalid latency jitter 9000000000000000000: must be between 0 and 31622400000 (366 "
         "days in ms)"},
        {"{\"type\":\"latency\",\"attributes\":{\"latency\":18446744073709552}}",
         "invalid latency latency 18446744073709552: must be between 0 and 31622400000"},
        {"{\"type\":\"latency\",\"attributes\":{\"latency\":9223372036854775807}}",
         "invalid latency latency 9223372036854775807: must be between 0 and 31622400000"},
        {"{\"type\":\"max_lifetime\",\"attributes\":{\"timeout\":18446744073709552}}",
         "invalid max_lifetime timeout 18446744073709552: must be between 0 and 31622400000"},
        {"{\"type\":\"max_lifetime\",\"attributes\":{\"timeout\":1000,\"jitter\":"
         "9000000000000000000}}",
         "invalid max_lifetime jitter 9000000000000000000: must be between 0 and 31622400000"},
        {"{\"type\":\"slicer\",\"attributes\":{\"average_size\":1,\"delay\":31622400000001}}",
         "invalid slicer delay 31622400000001: must be between 0 and 31622400000000 (366 days "
         "in us)"},
        {"{\"type\":\"bandwidth\",\"attributes\":{\"rate\":9007199254740993}}",
         "invalid bandwidth rate 9007199254740993: must be between 0 and 9007199254740992\""},
        {"{\"type\":\"slicer\",\"attributes\":{\"average_size\":0}}",
         "invalid slicer average_size 0: must be between 1 and 9007199254740992"},
        {"{\"type\":\"packet_loss\",\"attributes\":{\"loss_rate\":5}}",
         "invalid packet_loss loss_rate 5: must be between 0 and 1"},
        {"{\"type\":\"packet_loss\",\"attributes\":{\"correlation\":-0.5}}",
         "invalid packet_loss correlation -0.5: must be between 0 and 1"},
        {"{\"type\":\"latency\",\"attributes\":{\"latency\":-1}}",
         "invalid latency latency -1: must be between 0 and 31622400000"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_has(fx, "POST", "/proxies/p/toxics", bad[i].body, 400, bad[i].msg);
    }
    /* The same checks guard an update. */
    expect_has(fx, "POST", "/proxies/p/toxics",
               "{\"name\":\"l\",\"type\":\"latency\",\"attributes\":{\"latency\":31622400000,"
               "\"jitter\":31622400000}}",
               200, "\"jitter\":31622400000");
    expect_has(fx, "POST", "/proxies/p/toxics/l", "{\"attributes\":{\"jitter\":31622400001}}", 400,
               "invalid latency jitter 31622400001: must be between 0 and 31622400000");
    proxy_fx_free(fx);
}

/* C4: a toxicity float32 cannot hold is Go's decode error, not +inf shown as 0; one outside
 * [0, 1] is named too. */
static void test_toxicity_range(void **state)
{
    (void)state;
    struct proxy_fx *fx = proxy_fx_new(1);
    expect_has(fx, "POST", "/proxies",
               "{\"name\":\"p\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:9\"}", 201,
               "\"name\":\"p\"");
    expect_has(fx, "POST", "/proxies/p/toxics", "{\"type\":\"latency\",\"toxicity\":1e39}", 400,
               "cannot unmarshal number 1e+39 into Go struct field "
               "toxics.ToxicWrapper.toxicity of type float32");
    expect_has(fx, "POST", "/proxies/p/toxics", "{\"type\":\"latency\",\"toxicity\":-1e39}", 400,
               "of type float32");
    expect_has(fx, "POST", "/proxies/p/toxics", "{\"type\":\"latency\",\"toxicity\":1.5}", 400,
               "invalid toxicity 1.5: must be between 0 and 1");
    expect_has(fx, "POST", "/proxies/p/toxics", "{\"type\":\"latency\",\"toxicity\":-0.5}", 400,
               "invalid toxicity -0.5: must be between 0 and 1");
    expect_has(fx, "POST", "/proxies/p/toxics",
               "{\"name\":\"t\",\"type\":\"latency\",\"toxicity\":0.5}", 200, "\"toxicity\":0.5");
    expect_has(fx, "PATCH", "/proxies/p/toxics/t", "{\"toxicity\":1e39}", 400, "of type float32");
    expect_has(fx, "PATCH", "/proxies/p/toxics/t", "{\"toxicity\":2}", 400,
               "invalid toxicity 2: must be between 0 and 1");
    expect_has(fx, "GET", "/proxies/p/toxics/t", NULL, 200, "\"toxicity\":0.5");
    proxy_fx_free(fx);
}

/* C6: a NUL inside a string is refused, not silently cut ("a\u0000b" is not "a"). */
static void test_nul_in_names(void **state)
{
    (void)state;
    struct proxy_fx *fx = proxy_fx_new(1);
    expect_has(fx, "POST", "/proxies",
               "{\"name\":\"a\\u0000b\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:9\"}",
               400, "invalid toxiproxy.Proxy.name: a NUL character (\\\\u0000) is not allowed");
    expect_has(fx, "GET", "/proxies", NULL, 200, "{}");
    expect_has(fx, "POST", "/proxies",
               "{\"name\":\"p\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:9\"}", 201,
               "\"name\":\"p\"");
    expect_has(fx, "POST", "/proxies/p/toxics", "{\"name\":\"x\\u0000y\",\"type\":\"latency\"}",
               400, "invalid toxics.ToxicWrapper.name: a NUL character");
    proxy_fx_free(fx);
}

/* Whether `s` is valid UTF-8 (no overlong or surrogate checks needed here: only cut
 * sequences are at stake). */
static bool utf8_complete(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : 3;
        p++;
        for (size_t i = 0; i < n; i++, p++) {
            if ((*p & 0xC0) != 0x80) {
                return false;
            }
        }
    }
    return true;
}

static uint16_t listen_port(const char *body)
{
    const char *p = strstr(body, "\"listen\":\"127.0.0.1:");
    assert_non_null(p);
    return (uint16_t)strtoul(p + strlen("\"listen\":\"127.0.0.1:"), NULL, 10);
}

/* C5: a 128-byte name ending in "é" does not fit the event's 127 bytes; the event keeps the
 * whole characters before it, so /events stays valid UTF-8. */
static void test_events_cut_between_characters(void **state)
{
    (void)state;
    struct proxy_fx *fx = proxy_fx_new(1);
    char name[200];
    memset(name, 'a', 126);
    memcpy(name + 126, "\xc3\xa9", 3);
    char body[400];
    (void)snprintf(body, sizeof(body),
                   "{\"name\":\"%s\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:9\"}",
                   name);
    struct reply r = call(fx, "POST", "/proxies", body, strlen(body));
    assert_int_equal(r.status, 201);
    uint16_t port = listen_port(r.body);
    free(r.body);

    int fd = np_connect(port);
    assert_true(fd >= 0);
    /* The accept event is recorded when the loop accepts: run it until /events has it. */
    char *events = NULL;
    uint64_t deadline = tt_test_now_ms() + tt_test_scale_ms(5000);
    while (!events && tt_test_now_ms() < deadline) {
        tt_test_loop_run_for(&fx->loop, 10);
        r = call(fx, "GET", "/events", NULL, 0);
        if (strstr(r.body, "\"accept\"")) {
            events = r.body;
        } else {
            free(r.body);
        }
    }
    close(fd);
    assert_non_null(events);
    if (!utf8_complete(events)) {
        fail_msg("/events is not valid UTF-8: %s", events);
    }
    char want[160];
    memset(want, 'a', 126);
    memcpy(want + 126, "\",", 3);
    assert_non_null(strstr(events, want)); /* the name without the cut "é" */
    free(events);
    proxy_fx_free(fx);
}

/* ?since= is a number or a 400 naming it: strtoull read "-1" as 2^64-1 and "x" as 0. */
static void test_events_since_checked(void **state)
{
    (void)state;
    struct proxy_fx *fx = proxy_fx_new(1);
    expect_has(fx, "GET", "/events?since=3", NULL, 200, "\"events\":[]");
    expect_has(fx, "GET", "/events?since=-1", NULL, 400,
               "invalid since \\\"-1\\\": expected an event number, 0 to "
               "18446744073709551615");
    expect_has(fx, "GET", "/events?x=1&since=abc&y=2", NULL, 400, "invalid since \\\"abc\\\"");
    expect_has(fx, "GET", "/events?since=18446744073709551616", NULL, 400, "invalid since");
    proxy_fx_free(fx);
}

/* A body whose bad escape is the first byte of a two-byte character: the decoder's message
 * quotes the input up to that byte, a cut sequence. The answer must still be JSON (Go writes
 * invalid UTF-8 as U+FFFD); it was not, so clients could not read the error. */
static void test_error_quoting_invalid_utf8(void **state)
{
    (void)state;
    struct proxy_fx *fx = proxy_fx_new(1);
    static const char body[] = "{\"a\\\xd7\xac\"}";
    struct reply r = call(fx, "POST", "/proxies", body, sizeof(body) - 1);
    assert_int_equal(r.status, 400);
    json_error_t err;
    json_t *v = json_loads(r.body, 0, &err);
    if (!v) {
        fail_msg("error body is not JSON (%s): %s", err.text, r.body);
    }
    assert_non_null(strstr(r.body, "\\ufffd"));
    json_decref(v);
    free(r.body);
    /* Well-formed characters are written as they are. */
    expect_has(fx, "POST", "/proxies", "{\"n\xc3\xa9\\q\"}", 400, "n\xc3\xa9\\\\q");
    proxy_fx_free(fx);
}

/* /populate listing one name twice with different upstreams: the second entry replaces (and
 * frees) the proxy the first made, and the reply read the freed one (ASan: heap-use-after-free).
 * Both entries now report the proxy that remains. */
static void test_populate_same_name_twice(void **state)
{
    (void)state;
    struct proxy_fx *fx = proxy_fx_new(1);
    static const char body[] =
        "[{\"name\":\"b\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:1\"},"
        "{\"name\":\"b\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:2\"}]";
    struct reply r = call(fx, "POST", "/populate", body, sizeof(body) - 1);
    assert_int_equal(r.status, 201);
    json_error_t err;
    json_t *v = json_loads(r.body, 0, &err);
    assert_non_null(v);
    json_t *list = json_object_get(v, "proxies");
    assert_int_equal(json_array_size(list), 2);
    for (size_t i = 0; i < 2; i++) {
        const char *up = json_string_value(json_object_get(json_array_get(list, i), "upstream"));
        assert_non_null(up);
        assert_string_equal(up, "127.0.0.1:2");
    }
    json_decref(v);
    free(r.body);
    expect_has(fx, "GET", "/proxies/b", NULL, 200, "\"upstream\":\"127.0.0.1:2\"");
    proxy_fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_path_then_empty_segments),
        cmocka_unit_test(test_attribute_ranges),
        cmocka_unit_test(test_toxicity_range),
        cmocka_unit_test(test_nul_in_names),
        cmocka_unit_test(test_events_cut_between_characters),
        cmocka_unit_test(test_events_since_checked),
        cmocka_unit_test(test_error_quoting_invalid_utf8),
        cmocka_unit_test(test_populate_same_name_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
