/* SPDX-License-Identifier: MIT */
/* Policies from JSON: every field kind, the base, duration forms and aliases, and the exact
 * message of every kind of error (a user reads them to fix a file). */
#include <stdlib.h>
#include <unistd.h>

#include "test.h"

#include "policy/policy.h"

static int parse(const char *json, struct tether_policy *p, char *err, size_t err_len)
{
    return tether_policy_from_json(json, strlen(json), p, err, err_len);
}

/* The parse must fail with exactly `want`, and leave the policy untouched. */
static void expect_error(const char *json, const char *want)
{
    struct tether_policy p, before;
    memset(&p, 0x3c, sizeof(p));
    memcpy(&before, &p, sizeof(p));
    char err[256] = "";
    int rv = parse(json, &p, err, sizeof(err));
    if (rv != TETHER_EINVAL) {
        fail_msg("%s: returned %s, expected EINVAL", json, tether_err_name(rv));
    }
    if (strcmp(err, want) != 0) {
        fail_msg("%s:\n  got      %s\n  expected %s", json, err, want);
    }
    if (memcmp(&p, &before, sizeof(p)) != 0) {
        fail_msg("%s: the policy was written on failure", json);
    }
}

static void test_success_every_kind(void **state)
{
    (void)state;
    struct tether_policy p, want;
    char err[256] = "junk";
    const char *json = "{\"base\": \"naive\", \"max_attempts\": 5, \"retry_statuses\": [503, 429],"
                       " \"deadline\": \"30s\", \"jitter\": \"equal\", \"budget_ratio\": 0.5,"
                       " \"keep_alive\": false, \"connect_timeout_ms\": 2500,"
                       " \"replay_buffer_bytes\": 1024, \"budget_min_retries_per_s\": 2,"
                       " \"tcp_keepalive_count\": 9}";
    ASSERT_OK(parse(json, &p, err, sizeof(err)));
    assert_string_equal(err, "");

    tether_policy_naive(&want);
    want.max_attempts = 5;
    want.retry_statuses[0] = 503;
    want.retry_statuses[1] = 429;
    want.nretry_statuses = 2;
    want.deadline_ms = 30000;
    want.jitter = TETHER_JITTER_EQUAL;
    want.budget_ratio = 0.5;
    want.keep_alive = false;
    want.connect_timeout_ms = 2500;
    want.replay_buffer_bytes = 1024;
    want.budget_min_retries_per_s = 2.0;
    want.tcp_keepalive_count = 9;
    memset(want.retry_statuses + 2, 0, sizeof(int) * (TETHER_POLICY_MAX_STATUSES - 2));
    assert_memory_equal(&p, &want, sizeof(p));
}

/* Every field by its own name, each set away from its default. */
static void test_every_field(void **state)
{
    (void)state;
    const char *json =
        "{\"keep_alive\": false, \"watch_idle\": false, \"probe_on_checkout\": false,"
        " \"honour_keep_alive_hint\": false, \"learn_idle_close\": false,"
        " \"idle_timeout_ms\": 1, \"hint_margin_ms\": 2, \"max_idle_timeout_ms\": 3,"
        " \"learn_margin_ms\": 4, \"max_conn_lifetime_ms\": 5, \"max_requests_per_conn\": 6,"
        " \"max_conns_per_origin\": 7, \"tcp_keepalive\": false, \"tcp_keepalive_idle_s\": 8,"
        " \"tcp_keepalive_interval_s\": 9, \"tcp_keepalive_count\": 10, \"max_replays\": 1,"
        " \"replay_buffer_bytes\": 11, \"max_attempts\": 2, \"backoff_base_ms\": 12,"
        " \"backoff_cap_ms\": 13, \"jitter\": \"none\", \"retry_statuses\": [599],"
        " \"retry_non_idempotent\": true, \"honour_retry_after\": false,"
        " \"max_pushback_ms\": 14, \"budget_ratio\": 1, \"budget_window_ms\": 15,"
        " \"budget_min_retries_per_s\": 0.25, \"deadline_ms\": 16, \"connect_timeout_ms\": 17,"
        " \"tls_timeout_ms\": 18, \"headers_timeout_ms\": 19, \"body_timeout_ms\": 20,"
        " \"connrefused_wait\": \"21ms\"}";
    struct tether_policy p, want;
    char err[256];
    ASSERT_OK(parse(json, &p, err, sizeof(err)));
    tether_policy_defaults(&want);
    want.keep_alive = want.watch_idle = want.probe_on_checkout = false;
    want.honour_keep_alive_hint = want.learn_idle_close = want.tcp_keepalive = false;
    want.idle_timeout_ms = 1;
    want.hint_margin_ms = 2;
    want.max_idle_timeout_ms = 3;
    want.learn_margin_ms = 4;
    want.max_conn_lifetime_ms = 5;
    want.max_requests_per_conn = 6;
    want.max_conns_per_origin = 7;
    want.tcp_keepalive_idle_s = 8;
    want.tcp_keepalive_interval_s = 9;
    want.tcp_keepalive_count = 10;
    want.max_replays = 1;
    want.replay_buffer_bytes = 11;
    want.max_attempts = 2;
    want.backoff_base_ms = 12;
    want.backoff_cap_ms = 13;
    want.jitter = TETHER_JITTER_NONE;
    memset(want.retry_statuses, 0, sizeof(want.retry_statuses));
    want.retry_statuses[0] = 599;
    want.nretry_statuses = 1;
    want.retry_non_idempotent = true;
    want.honour_retry_after = false;
    want.max_pushback_ms = 14;
    want.budget_ratio = 1.0;
    want.budget_window_ms = 15;
    want.budget_min_retries_per_s = 0.25;
    want.deadline_ms = 16;
    want.connect_timeout_ms = 17;
    want.tls_timeout_ms = 18;
    want.headers_timeout_ms = 19;
    want.body_timeout_ms = 20;
    want.connrefused_wait_ms = 21;
    assert_memory_equal(&p, &want, sizeof(p));
}

static void test_base_and_defaults(void **state)
{
    (void)state;
    struct tether_policy p, want;
    char err[128];

    ASSERT_OK(parse("{}", &p, err, sizeof(err)));
    tether_policy_defaults(&want);
    assert_memory_equal(&p, &want, sizeof(p));

    ASSERT_OK(parse("{\"base\": \"default\"}", &p, err, sizeof(err)));
    assert_memory_equal(&p, &want, sizeof(p));

    /* The base applies first even when it comes last. */
    ASSERT_OK(parse("{\"max_attempts\": 4, \"base\": \"naive\"}", &p, err, sizeof(err)));
    assert_int_equal(p.max_attempts, 4);
    assert_false(p.watch_idle);
    assert_int_equal(p.max_replays, 0);

    /* Surrounding whitespace and an empty status list are fine; err may be NULL. */
    ASSERT_OK(parse("  {\"retry_statuses\": []}\n", &p, NULL, 0));
    assert_int_equal(p.nretry_statuses, 0);
}

static void test_durations(void **state)
{
    (void)state;
    struct tether_policy p;
    char err[128];
    ASSERT_OK(parse("{\"idle_timeout_ms\": \"250ms\", \"hint_margin\": \"5s\","
                    " \"backoff_cap_ms\": \"2m\", \"max_conn_lifetime\": \"1h\","
                    " \"deadline_ms\": 1234, \"learn_margin_ms\": 0, \"max_pushback\": \"0s\","
                    " \"body_timeout\": \"8760h\"}",
                    &p, err, sizeof(err)));
    assert_int_equal(p.idle_timeout_ms, 250);
    assert_int_equal(p.hint_margin_ms, 5000);
    assert_int_equal(p.backoff_cap_ms, 120000);
    assert_int_equal(p.max_conn_lifetime_ms, 3600000);
    assert_int_equal(p.deadline_ms, 1234);
    assert_int_equal(p.learn_margin_ms, 0);
    assert_int_equal(p.max_pushback_ms, 0);
    /* 365 days exactly is the largest duration. */
    assert_int_equal(p.body_timeout_ms, UINT64_C(31536000000));

    ASSERT_OK(parse("{\"jitter\": \"none\", \"watch_idle\": true, \"tcp_keepalive\": false}", &p,
                    err, sizeof(err)));
    assert_int_equal(p.jitter, TETHER_JITTER_NONE);
    assert_true(p.watch_idle);
    assert_false(p.tcp_keepalive);
    ASSERT_OK(parse("{\"jitter\": \"full\"}", &p, err, sizeof(err)));
    assert_int_equal(p.jitter, TETHER_JITTER_FULL);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("{\"max_attempts\": \"x\"}", "max_attempts: expected an integer 1..10, got \"x\"");
    expect_error("{\"max_attempts\": 11}", "max_attempts: expected an integer 1..10, got 11");
    expect_error("{\"max_attempts\": 0}", "max_attempts: expected an integer 1..10, got 0");
    expect_error("{\"max_attempts\": 3.0}", "max_attempts: expected an integer 1..10, got 3.0");
    expect_error("{\"max_conns_per_origin\": 0}",
                 "max_conns_per_origin: expected an integer 1..65536, got 0");
    expect_error("{\"tcp_keepalive_count\": 128}",
                 "tcp_keepalive_count: expected an integer 1..127, got 128");
    expect_error("{\"max_replays\": -1}", "max_replays: expected an integer 0..10, got -1");
    expect_error("{\"replay_buffer_bytes\": 1073741825}",
                 "replay_buffer_bytes: expected an integer 0..1073741824, got 1073741825");
    expect_error("{\"foo\": 1}", "unknown key \"foo\"");
    expect_error("{\"nretry_statuses\": 1}", "unknown key \"nretry_statuses\"");
    /* Only duration fields have a short spelling. */
    expect_error("{\"max_attempts_ms\": 1}", "unknown key \"max_attempts_ms\"");
    expect_error("{\"base\": \"fancy\"}", "base: expected \"default\" or \"naive\", got \"fancy\"");
    expect_error("{\"base\": null}", "base: expected \"default\" or \"naive\", got null");
    expect_error("{\"keep_alive\": 1}", "keep_alive: expected true or false, got 1");
    expect_error("{\"honour_retry_after\": \"yes\"}",
                 "honour_retry_after: expected true or false, got \"yes\"");
    expect_error("{\"deadline\": \"5x\"}",
                 "deadline: expected a duration (ms as a number, or \"250ms\" \"5s\" \"2m\" "
                 "\"1h\"), got \"5x\"");
    expect_error("{\"connect_timeout_ms\": \"5\"}",
                 "connect_timeout_ms: expected a duration (ms as a number, or \"250ms\" \"5s\" "
                 "\"2m\" \"1h\"), got \"5\"");
    expect_error("{\"connect_timeout_ms\": \" 5s\"}",
                 "connect_timeout_ms: expected a duration (ms as a number, or \"250ms\" \"5s\" "
                 "\"2m\" \"1h\"), got \" 5s\"");
    expect_error("{\"deadline\": 1.5}",
                 "deadline: expected a duration (ms as a number, or \"250ms\" \"5s\" \"2m\" "
                 "\"1h\"), got 1.5");
    expect_error("{\"deadline_ms\": -1}", "deadline_ms: expected a duration of 0 or more, got -1");
    expect_error("{\"deadline\": \"8761h\"}",
                 "deadline: expected a duration up to 365 days, got \"8761h\"");
    expect_error("{\"deadline\": 31536000001}",
                 "deadline: expected a duration up to 365 days, got 31536000001");
    expect_error("{\"deadline\": \"99999999999999999999h\"}",
                 "deadline: expected a duration up to 365 days, got \"99999999999999999999h\"");
    expect_error("{\"deadline\": \"1s\", \"deadline_ms\": 5}",
                 "deadline_ms: given twice (also as \"deadline\")");
    expect_error("{\"jitter\": \"half\"}",
                 "jitter: expected \"full\", \"equal\" or \"none\", got \"half\"");
    expect_error("{\"retry_statuses\": [503, 700]}",
                 "retry_statuses[1]: expected an integer 100..599, got 700");
    expect_error("{\"retry_statuses\": [\"503\"]}",
                 "retry_statuses[0]: expected an integer 100..599, got \"503\"");
    expect_error("{\"retry_statuses\": 503}",
                 "retry_statuses: expected an array of at most 16 status codes, got 503");
    expect_error("{\"retry_statuses\": [500,501,502,503,504,505,506,507,508,509,510,511,512,513,"
                 "514,515,516]}",
                 "retry_statuses: expected an array of at most 16 status codes, got "
                 "[500,501,502,503,504,505,506,507,508,509,510,511,512,513,514...");
    expect_error("{\"budget_ratio\": 1.5}", "budget_ratio: expected a number 0..1, got 1.5");
    expect_error("{\"budget_ratio\": \"0.2\"}",
                 "budget_ratio: expected a number 0..1, got \"0.2\"");
    expect_error("{\"budget_min_retries_per_s\": -0.5}",
                 "budget_min_retries_per_s: expected a number 0..1000000, got -0.5");
    expect_error("[1, 2]", "expected a JSON object of policy fields, got [1,2]");
    /* Keys and values are shown as JSON, so control bytes cannot reach a terminal raw. */
    expect_error("{\"a\\u001bb\": 1}", "unknown key \"a\\u001Bb\"");
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_error("{\"max_attempts\": 3,}",
                 "invalid JSON at line 1, column 20: string or '}' expected near '}'");
    expect_error("{\n  \"max_attempts\": 3\n  \"jitter\": \"full\"\n}",
                 "invalid JSON at line 3, column 10: '}' expected near '\"jitter\"'");
    expect_error("", "invalid JSON at line 1, column 0: '[' or '{' expected near end of file");
    expect_error("{\"max_attempts\": 1, \"max_attempts\": 2}",
                 "invalid JSON at line 1, column 34: duplicate object key near '\"max_attempts\"'");
    expect_error("{} {}", "invalid JSON at line 1, column 4: end of file expected near '{'");
}

static void test_err_buffer(void **state)
{
    (void)state;
    struct tether_policy p;
    char err[8];
    memset(err, 'x', sizeof(err));
    ASSERT_ERR(parse("{\"foo\": 1}", &p, err, sizeof(err)), TETHER_EINVAL);
    assert_string_equal(err, "unknown");
    /* The length counts: a NUL inside the text ends nothing early. */
    ASSERT_ERR(tether_policy_from_json("{}\0garbage", 10, &p, NULL, 0), TETHER_EINVAL);
    ASSERT_OK(tether_policy_from_json("{}\0garbage", 2, &p, NULL, 0));
    ASSERT_ERR(tether_policy_from_json(NULL, 3, &p, NULL, 0), TETHER_EINVAL);
}

static void write_file(char *path, const char *body)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
    close(fd);
}

static void test_load(void **state)
{
    (void)state;
    struct tether_policy p;
    char err[512];

    char good[] = "/tmp/tether-policy-json-XXXXXX";
    write_file(good, "{\"max_attempts\": 2, \"deadline\": \"15s\"}\n");
    ASSERT_OK(tether_policy_load(good, &p, err, sizeof(err)));
    assert_int_equal(p.max_attempts, 2);
    assert_int_equal(p.deadline_ms, 15000);
    assert_true(p.watch_idle);
    unlink(good);

    /* Errors inside a file are prefixed with its path. */
    char bad[] = "/tmp/tether-policy-json-XXXXXX";
    write_file(bad, "{\"max_attempts\": \"x\"}");
    ASSERT_ERR(tether_policy_load(bad, &p, err, sizeof(err)), TETHER_EINVAL);
    char want[256];
    snprintf(want, sizeof(want), "%s: max_attempts: expected an integer 1..10, got \"x\"", bad);
    assert_string_equal(err, want);
    unlink(bad);

    char empty[] = "/tmp/tether-policy-json-XXXXXX";
    write_file(empty, "");
    ASSERT_ERR(tether_policy_load(empty, &p, err, sizeof(err)), TETHER_EINVAL);
    snprintf(want, sizeof(want),
             "%s: invalid JSON at line 1, column 0: '[' or '{' expected near end of file", empty);
    assert_string_equal(err, want);
    unlink(empty);

    /* Policy files are small; a huge one is refused before parsing. */
    char big[] = "/tmp/tether-policy-json-XXXXXX";
    int fd = mkstemp(big);
    assert_true(fd >= 0);
    static char spaces[64 * 1024];
    memset(spaces, ' ', sizeof(spaces));
    for (int i = 0; i < 16; i++) {
        assert_int_equal(write(fd, spaces, sizeof(spaces)), (ssize_t)sizeof(spaces));
    }
    assert_int_equal(write(fd, "{}", 2), 2);
    close(fd);
    ASSERT_ERR(tether_policy_load(big, &p, err, sizeof(err)), TETHER_EINVAL);
    snprintf(want, sizeof(want), "policy file \"%s\" is larger than 1048576 bytes", big);
    assert_string_equal(err, want);
    unlink(big);

    ASSERT_ERR(tether_policy_load("/nonexistent/p.json", &p, err, sizeof(err)), TETHER_EINVAL);
    assert_string_equal(
        err, "cannot read policy file \"/nonexistent/p.json\": No such file or directory");
    /* A directory opens but does not read. */
    ASSERT_ERR(tether_policy_load("/tmp", &p, err, sizeof(err)), TETHER_EINVAL);
    assert_string_equal(err, "cannot read policy file \"/tmp\": Is a directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_every_kind),
        cmocka_unit_test(test_every_field),
        cmocka_unit_test(test_base_and_defaults),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_err_buffer),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
