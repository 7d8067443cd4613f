/* SPDX-License-Identifier: MIT */
/*
 * Presets in-process: the catalogue, every preset applied to a proxy and read back through
 * GET /proxies/NAME/toxics (exactly what `tether proxy --preset` showed before the catalogue
 * moved into the library), the scale and its rounding, and the errors: unknown preset or
 * proxy, bad scales, a second application, and all-or-nothing.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "test.h"

#include "loop.h"
#include "proxy_fx.h"
#include "tether/proxy.h"

/* The proxy server under test (proxy_fx.h), seeded so toxicity rolls repeat. */
static struct proxy_fx *fx_new(void)
{
    return proxy_fx_new(7);
}

/* The API's answer to `method path body`, which must have `status`; caller frees. */
static char *call(struct proxy_fx *fx, const char *method, const char *path, const char *body,
                  int status)
{
    int got = 0;
    char *resp = NULL;
    size_t len = 0;
    ASSERT_OK(tether_proxy_server_call(fx->ps, method, path, body, body ? strlen(body) : 0, &got,
                                       &resp, &len));
    char *text = malloc(len + 1);
    assert_non_null(text);
    if (len) {
        memcpy(text, resp, len);
    }
    text[len] = '\0';
    tether_free(resp);
    if (got != status) {
        fail_msg("%s %s -> %d %s, expected %d", method, path, got, text, status);
    }
    return text;
}

/* A proxy that never listens: toxics do not need a listener. */
static void add_proxy(struct proxy_fx *fx, const char *name)
{
    char body[200];
    snprintf(body, sizeof(body),
             "{\"name\":\"%s\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:1\","
             "\"enabled\":false}",
             name);
    free(call(fx, "POST", "/proxies", body, 201));
}

static void expect_toxics(struct proxy_fx *fx, const char *proxy, const char *want)
{
    char path[128];
    snprintf(path, sizeof(path), "/proxies/%s/toxics", proxy);
    char *got = call(fx, "GET", path, NULL, 200);
    if (strcmp(got, want) != 0) {
        fail_msg("%s toxics:\n got  %s\n want %s", proxy, got, want);
    }
    free(got);
}

#define IDLE(timeout, action, half)                                                                \
    "[{\"attributes\":{\"timeout\":" timeout ",\"action\":\"" action                               \
    "\",\"half_closed_timeout\":" half "},\"name\":\"idle_timeout_downstream\",\"type\":"          \
    "\"idle_timeout\",\"stream\":\"downstream\",\"toxicity\":1}]"
#define CONNTRACK(timeout)                                                                         \
    "[{\"attributes\":{\"timeout\":" timeout ",\"then\":\"blackhole\"},\"name\":"                  \
    "\"conntrack_expiry_downstream\",\"type\":\"conntrack_expiry\",\"stream\":\"downstream\","     \
    "\"toxicity\":1}]"
#define RESET                                                                                      \
    "[{\"attributes\":{\"timeout\":0,\"after_bytes\":0},\"name\":\"reset_downstream\",\"type\":"   \
    "\"reset\",\"stream\":\"downstream\",\"toxicity\":1}]"
#define BLACKHOLE_UP                                                                               \
    "{\"attributes\":{\"stop_reading\":false},\"name\":\"blackhole_upstream\",\"type\":"           \
    "\"blackhole\",\"stream\":\"upstream\",\"toxicity\":1}"
#define BLACKHOLE_DOWN                                                                             \
    "{\"attributes\":{\"stop_reading\":false},\"name\":\"blackhole_downstream\",\"type\":"         \
    "\"blackhole\",\"stream\":\"downstream\",\"toxicity\":1}"
#define DROP "[" BLACKHOLE_UP "," BLACKHOLE_DOWN "]"

/* The catalogue with what each preset lists at scale 1, 0.5 and 0.0001. */
static const struct {
    const char *name;
    const char *at1;
    const char *at_half;
    const char *at_tiny;
} catalogue[] = {
    {"aws-alb", IDLE("60000", "fin", "0"), IDLE("30000", "fin", "0"), IDLE("6", "fin", "0")},
    {"aws-nlb", IDLE("350000", "silent", "0"), IDLE("175000", "silent", "0"),
     IDLE("35", "silent", "0")},
    {"azure-lb", IDLE("240000", "silent", "0"), IDLE("120000", "silent", "0"),
     IDLE("24", "silent", "0")},
    {"azure-lb-rst", IDLE("240000", "rst", "0"), IDLE("120000", "rst", "0"),
     IDLE("24", "rst", "0")},
    {"gcp-nat", CONNTRACK("1200000"), CONNTRACK("600000"), CONNTRACK("120")},
    /* 1000 ms of half_closed_timeout at 0.0001 is 0.1 ms: a non-zero time stays 1 ms. */
    {"haproxy", IDLE("50000", "fin", "1000"), IDLE("25000", "fin", "500"), IDLE("5", "fin", "1")},
    /* Zero stays zero, and after_bytes is a size: never scaled. */
    {"firewall-reset", RESET, RESET, RESET},
    {"firewall-drop", DROP, DROP, DROP},
};
#define NCATALOGUE (sizeof(catalogue) / sizeof(catalogue[0]))

static void test_catalogue(void **state)
{
    (void)state;
    size_t i = 0;
    for (; tether_proxy_preset_name(i); i++) {
        assert_true(i < NCATALOGUE);
        assert_string_equal(tether_proxy_preset_name(i), catalogue[i].name);
        const char *d = tether_proxy_preset_describe(i);
        assert_non_null(d);
        assert_true(strlen(d) > 10 && strlen(d) < 100);
        assert_null(strchr(d, '\n'));
    }
    assert_int_equal(i, NCATALOGUE);
    assert_null(tether_proxy_preset_describe(NCATALOGUE));
    assert_null(tether_proxy_preset_name((size_t)-1));
}

static void apply_all(double scale, size_t which)
{
    struct proxy_fx *fx = fx_new();
    for (size_t i = 0; i < NCATALOGUE; i++) {
        char err[256] = "junk";
        add_proxy(fx, catalogue[i].name);
        ASSERT_OK(tether_proxy_server_apply_preset(fx->ps, catalogue[i].name, catalogue[i].name,
                                                   scale, err, sizeof(err)));
        assert_string_equal(err, "");
        expect_toxics(fx, catalogue[i].name,
                      which == 0 ? catalogue[i].at1
                                 : (which == 1 ? catalogue[i].at_half : catalogue[i].at_tiny));
    }
    proxy_fx_free(fx);
}

static void test_each_preset(void **state)
{
    (void)state;
    apply_all(1.0, 0);
}

static void test_scale(void **state)
{
    (void)state;
    apply_all(0.5, 1);
    apply_all(0.0001, 2);
}

/* The largest scale is allowed; the times grow with it. */
static void test_scale_max(void **state)
{
    (void)state;
    struct proxy_fx *fx = fx_new();
    add_proxy(fx, "p");
    ASSERT_OK(tether_proxy_server_apply_preset(fx->ps, "p", "aws-alb", 1000.0, NULL, 0));
    expect_toxics(fx, "p", IDLE("60000000", "fin", "0"));
    proxy_fx_free(fx);
}

static void expect_einval(struct proxy_fx *fx, const char *proxy, const char *preset, double scale,
                          const char *part)
{
    char err[256] = "";
    ASSERT_ERR(tether_proxy_server_apply_preset(fx->ps, proxy, preset, scale, err, sizeof(err)),
               TETHER_EINVAL);
    if (!strstr(err, part)) {
        fail_msg("errbuf \"%s\" does not contain \"%s\"", err, part);
    }
}

static void test_errors(void **state)
{
    (void)state;
    struct proxy_fx *fx = fx_new();
    add_proxy(fx, "p");
    expect_einval(fx, "p", "aws-elb", 1.0, "unknown preset 'aws-elb'");
    expect_einval(fx, "p", "aws-elb", 1.0, "valid presets: aws-alb, aws-nlb,");
    expect_einval(fx, "nope", "aws-alb", 1.0, "proxy 'nope' not found");
    expect_einval(fx, "p", "aws-alb", 0.0, "invalid scale 0");
    expect_einval(fx, "p", "aws-alb", -1.0, "invalid scale -1");
    expect_einval(fx, "p", "aws-alb", 1000.5, "invalid scale 1000.5");
    expect_einval(fx, "p", "aws-alb", NAN, "invalid scale");
    expect_einval(fx, "p", "aws-alb", INFINITY, "invalid scale");
    ASSERT_ERR(tether_proxy_server_apply_preset(NULL, "p", "aws-alb", 1.0, NULL, 0), TETHER_EINVAL);
    ASSERT_ERR(tether_proxy_server_apply_preset(fx->ps, NULL, "aws-alb", 1.0, NULL, 0),
               TETHER_EINVAL);
    ASSERT_ERR(tether_proxy_server_apply_preset(fx->ps, "p", NULL, 1.0, NULL, 0), TETHER_EINVAL);
    /* None of that added anything. */
    expect_toxics(fx, "p", "[]");

    /* A second application meets the API's own name check. */
    ASSERT_OK(tether_proxy_server_apply_preset(fx->ps, "p", "haproxy", 1.0, NULL, 0));
    expect_einval(fx, "p", "haproxy", 1.0, "toxic already exists");
    expect_einval(fx, "p", "aws-alb", 0.5, "idle_timeout (downstream) of preset 'aws-alb'");
    expect_toxics(fx, "p", IDLE("50000", "fin", "1000"));
    proxy_fx_free(fx);
}

/* firewall-drop has two toxics: when the second cannot be added, neither is. */
static void test_all_or_nothing(void **state)
{
    (void)state;
    struct proxy_fx *fx = fx_new();
    add_proxy(fx, "p");
    free(call(fx, "POST", "/proxies/p/toxics",
              "{\"name\":\"blackhole_downstream\",\"type\":\"latency\",\"attributes\":"
              "{\"latency\":5}}",
              200));
    expect_einval(fx, "p", "firewall-drop", 1.0, "toxic already exists");
    char *got = call(fx, "GET", "/proxies/p/toxics", NULL, 200);
    assert_null(strstr(got, "blackhole_upstream"));
    assert_non_null(strstr(got, "\"type\":\"latency\""));
    free(got);
    proxy_fx_free(fx);
}

/* The API: {"preset", "scale"} on a proxy's toxics adds the preset and answers with what it
 * added; GET /presets lists each preset, what it models and its toxics at scale 1. */
static void test_api(void **state)
{
    (void)state;
    struct proxy_fx *fx = fx_new();
    add_proxy(fx, "p");
    char *got =
        call(fx, "POST", "/proxies/p/toxics", "{\"preset\":\"aws-alb\",\"scale\":0.01}", 200);
    /* The body is the array the toxic list then shows: the same toxics, scaled. */
    assert_string_equal(got, IDLE("600", "fin", "0"));
    free(got);
    expect_toxics(fx, "p", IDLE("600", "fin", "0"));

    add_proxy(fx, "q");
    got = call(fx, "POST", "/proxies/q/toxics", "{\"preset\":\"firewall-drop\"}", 200);
    assert_string_equal(got, DROP); /* no scale: 1 */
    free(got);

    got = call(fx, "POST", "/proxies/p/toxics", "{\"preset\":\"aws-elb\"}", 400);
    assert_non_null(strstr(got, "unknown preset 'aws-elb' (did you mean 'aws-alb'?; valid "
                                "presets: aws-alb, aws-nlb,"));
    free(got);
    got = call(fx, "POST", "/proxies/p/toxics", "{\"preset\":\"aws-nlb\",\"scale\":0}", 400);
    assert_non_null(strstr(got, "invalid scale 0 for preset 'aws-nlb'"));
    free(got);
    got = call(fx, "POST", "/proxies/p/toxics", "{\"preset\":\"aws-alb\"}", 409);
    assert_non_null(strstr(got, "toxic already exists"));
    free(got);
    got = call(fx, "POST", "/proxies/p/toxics", "{\"preset\":\"aws-nlb\",\"sacle\":1}", 400);
    assert_non_null(strstr(got, "a preset body takes \\\"preset\\\" and \\\"scale\\\" only"));
    free(got);
    got = call(fx, "POST", "/proxies/p/toxics", "{\"preset\":7}", 400);
    assert_non_null(strstr(got, "\\\"preset\\\" must be a string"));
    free(got);
    free(call(fx, "POST", "/proxies/nope/toxics", "{\"preset\":\"aws-alb\"}", 404));
    /* None of the failures added anything. */
    expect_toxics(fx, "p", IDLE("600", "fin", "0"));

    json_error_t jerr;
    got = call(fx, "GET", "/presets", NULL, 200);
    json_t *list = json_loads(got, 0, &jerr);
    free(got);
    assert_non_null(list);
    assert_int_equal(json_array_size(list), 8);
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *e = json_array_get(list, i);
        assert_string_equal(json_string_value(json_object_get(e, "name")),
                            tether_proxy_preset_name(i));
        assert_string_equal(json_string_value(json_object_get(e, "description")),
                            tether_proxy_preset_describe(i));
        assert_true(json_array_size(json_object_get(e, "toxics")) >= 1);
    }
    json_t *alb = json_array_get(json_object_get(json_array_get(list, 0), "toxics"), 0);
    assert_string_equal(json_string_value(json_object_get(alb, "type")), "idle_timeout");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(alb, "attributes"), "timeout")), 60000);
    json_decref(list);
    free(call(fx, "POST", "/presets", "{}", 405));
    proxy_fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalogue), cmocka_unit_test(test_each_preset),
        cmocka_unit_test(test_scale),     cmocka_unit_test(test_scale_max),
        cmocka_unit_test(test_errors),    cmocka_unit_test(test_all_or_nothing),
        cmocka_unit_test(test_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
