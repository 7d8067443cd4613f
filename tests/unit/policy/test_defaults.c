/* SPDX-License-Identifier: MIT */
/* The built-in policies: every default of DESIGN.md §4, every protection naive turns off, and
 * lookup by name. */
#include <stdlib.h>
#include <unistd.h>

#include "test.h"

#include "policy/policy.h"

static void test_every_default(void **state)
{
    (void)state;
    struct tether_policy p;
    memset(&p, 0xa5, sizeof(p));
    tether_policy_defaults(&p);

    assert_true(p.keep_alive);
    assert_true(p.watch_idle);
    assert_true(p.probe_on_checkout);
    assert_true(p.honour_keep_alive_hint);
    assert_true(p.learn_idle_close);
    assert_int_equal(p.idle_timeout_ms, 4000);
    assert_int_equal(p.hint_margin_ms, 1000);
    assert_int_equal(p.max_idle_timeout_ms, 600000);
    assert_int_equal(p.learn_margin_ms, 250);
    assert_int_equal(p.max_conn_lifetime_ms, 86400000);
    assert_int_equal(p.max_requests_per_conn, 0);
    assert_int_equal(p.max_conns_per_origin, 256);
    assert_true(p.tcp_keepalive);
    assert_int_equal(p.tcp_keepalive_idle_s, 30);
    assert_int_equal(p.tcp_keepalive_interval_s, 10);
    assert_int_equal(p.tcp_keepalive_count, 3);

    assert_int_equal(p.max_replays, 2);
    assert_int_equal(p.replay_buffer_bytes, 262144);

    assert_int_equal(p.max_attempts, 3);
    assert_int_equal(p.backoff_base_ms, 100);
    assert_int_equal(p.backoff_cap_ms, 20000);
    assert_int_equal(p.jitter, TETHER_JITTER_FULL);
    assert_int_equal(p.nretry_statuses, 6);
    static const int want[] = {408, 429, 500, 502, 503, 504};
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(p.retry_statuses[i], want[i]);
    }
    /* The unused tail is zero, not left-over bytes. */
    for (size_t i = 6; i < TETHER_POLICY_MAX_STATUSES; i++) {
        assert_int_equal(p.retry_statuses[i], 0);
    }
    assert_false(p.retry_non_idempotent);
    assert_true(p.honour_retry_after);
    assert_int_equal(p.max_pushback_ms, 300000);
    assert_true(p.budget_ratio == 0.2);
    assert_int_equal(p.budget_window_ms, 10000);
    assert_true(p.budget_min_retries_per_s == 10.0);

    assert_int_equal(p.deadline_ms, 0);
    assert_int_equal(p.connect_timeout_ms, 10000);
    assert_int_equal(p.tls_timeout_ms, 10000);
    assert_int_equal(p.headers_timeout_ms, 300000);
    assert_int_equal(p.body_timeout_ms, 300000);
}

static void test_naive(void **state)
{
    (void)state;
    struct tether_policy p;
    memset(&p, 0xa5, sizeof(p));
    tether_policy_naive(&p);

    assert_true(p.keep_alive);
    assert_false(p.watch_idle);
    assert_false(p.probe_on_checkout);
    assert_false(p.honour_keep_alive_hint);
    assert_false(p.learn_idle_close);
    assert_true(p.idle_timeout_ms == UINT64_MAX);
    assert_int_equal(p.max_conn_lifetime_ms, 0);
    assert_false(p.tcp_keepalive);
    assert_int_equal(p.max_replays, 0);
    assert_int_equal(p.max_attempts, 1);
    assert_int_equal(p.connect_timeout_ms, 10000);
    assert_int_equal(p.deadline_ms, 0);
    /* Retry parameters stay at their defaults, so raising max_attempts alone adds retries. */
    assert_int_equal(p.backoff_base_ms, 100);
    assert_int_equal(p.nretry_statuses, 6);

    /* What the switches mean together: never retired, never replayed, never retried. */
    assert_true(tt__idle_budget_ms(&p, 5, 3000) == UINT64_MAX);
    assert_false(tt__replay_allowed(&p, "GET", false, true, true, 0, 0, TETHER_ECONNRESET, 0));
}

static void test_named(void **state)
{
    (void)state;
    struct tether_policy p, want;
    char err[256] = "junk";

    ASSERT_OK(tether_policy_named("naive", &p, err, sizeof(err)));
    tether_policy_naive(&want);
    assert_memory_equal(&p, &want, sizeof(p));
    assert_string_equal(err, "");

    ASSERT_OK(tether_policy_named("default", &p, err, sizeof(err)));
    tether_policy_defaults(&want);
    assert_memory_equal(&p, &want, sizeof(p));

    char path[] = "/tmp/tether-policy-named-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char body[] = "{\"base\": \"naive\", \"max_attempts\": 4}\n";
    assert_int_equal(write(fd, body, sizeof(body) - 1), (ssize_t)(sizeof(body) - 1));
    close(fd);
    ASSERT_OK(tether_policy_named(path, &p, err, sizeof(err)));
    assert_int_equal(p.max_attempts, 4);
    assert_false(p.watch_idle);
    unlink(path);

    /* A missing file names the path, and the policy is left alone. */
    memset(&p, 0x5a, sizeof(p));
    memcpy(&want, &p, sizeof(p));
    ASSERT_ERR(tether_policy_named("/nonexistent/tether/strict.json", &p, err, sizeof(err)),
               TETHER_EINVAL);
    assert_string_equal(err, "cannot read policy file \"/nonexistent/tether/strict.json\": "
                             "No such file or directory");
    assert_memory_equal(&p, &want, sizeof(p));

    ASSERT_ERR(tether_policy_named("", &p, err, sizeof(err)), TETHER_EINVAL);
    assert_string_equal(err, "policy name is empty (expected naive, default or a file)");
    ASSERT_ERR(tether_policy_named(NULL, &p, NULL, 0), TETHER_EINVAL);
    /* Names are exact: "Naive" is a (missing) file. */
    ASSERT_ERR(tether_policy_named("Naive", &p, err, sizeof(err)), TETHER_EINVAL);
    assert_string_equal(err, "cannot read policy file \"Naive\": No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_default),
        cmocka_unit_test(test_naive),
        cmocka_unit_test(test_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
