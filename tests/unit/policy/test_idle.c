/* SPDX-License-Identifier: MIT */
/* Idle budgets: the default, Keep-Alive hints with their margin and cap, learned closes, both
 * together, the switches, and the "never" and "do not pool" answers. */
#include "test.h"

#include "policy/policy.h"

#define NO_HINT (-1)

static void expect_idle(const struct tether_policy *p, int64_t hint, uint64_t learned,
                        uint64_t want)
{
    uint64_t got = tt__idle_budget_ms(p, hint, learned);
    if (got != want) {
        fail_msg("hint %lld, learned %llu: %llu, expected %llu", (long long)hint,
                 (unsigned long long)learned, (unsigned long long)got, (unsigned long long)want);
    }
}

static void test_hint(void **state)
{
    (void)state;
    struct tether_policy p;
    tether_policy_defaults(&p);
    expect_idle(&p, NO_HINT, 0, 4000);
    expect_idle(&p, 5, 0, 4000);
    expect_idle(&p, 65, 0, 64000);
    expect_idle(&p, 2, 0, 1000);
    /* timeout=1 leaves nothing after the 1 s margin: do not pool. */
    expect_idle(&p, 1, 0, 0);
    expect_idle(&p, 0, 0, 0);
    /* Capped at 10 min, however large the hint. */
    expect_idle(&p, 601, 0, 600000);
    expect_idle(&p, 86400, 0, 600000);
    expect_idle(&p, INT64_MAX, 0, 600000);
    /* A hint longer than the default raises it: the server said it keeps sockets longer. */
    expect_idle(&p, 30, 0, 29000);
    p.hint_margin_ms = 250;
    expect_idle(&p, 1, 0, 750);
    /* No cap configured. */
    p.max_idle_timeout_ms = 0;
    expect_idle(&p, 86400, 0, 86399750);
    /* Ignored when not honoured. */
    tether_policy_defaults(&p);
    p.honour_keep_alive_hint = false;
    expect_idle(&p, 65, 0, 4000);
    expect_idle(&p, 1, 0, 4000);
}

static void test_learned(void **state)
{
    (void)state;
    struct tether_policy p;
    tether_policy_defaults(&p);
    /* A server seen closing idle sockets at 3 s: retire 250 ms before. */
    expect_idle(&p, NO_HINT, 3000, 2750);
    expect_idle(&p, NO_HINT, 250, 0);
    expect_idle(&p, NO_HINT, 100, 0);
    expect_idle(&p, NO_HINT, 20000000, 600000);
    /* Both: the earlier close wins. A load balancer closing at 60 s in front of a server
     * that advertises 65 s is the classic case. */
    expect_idle(&p, 65, 60000, 59750);
    expect_idle(&p, 5, 60000, 4000);
    expect_idle(&p, 1, 60000, 0);
    /* Ignored when learning is off. */
    p.learn_idle_close = false;
    expect_idle(&p, NO_HINT, 3000, 4000);
    expect_idle(&p, 65, 3000, 64000);
}

static void test_never_and_off(void **state)
{
    (void)state;
    struct tether_policy p;
    tether_policy_naive(&p);
    expect_idle(&p, NO_HINT, 0, UINT64_MAX);
    expect_idle(&p, 5, 3000, UINT64_MAX);
    expect_idle(&p, 1, 0, UINT64_MAX);

    /* 0 in the field is "never" too, never "do not pool". */
    tether_policy_defaults(&p);
    p.idle_timeout_ms = 0;
    expect_idle(&p, NO_HINT, 0, UINT64_MAX);
    expect_idle(&p, 5, 0, 4000);
    p.idle_timeout_ms = 1234;
    expect_idle(&p, NO_HINT, 0, 1234);

    /* No keep-alive: nothing is pooled. */
    tether_policy_defaults(&p);
    p.keep_alive = false;
    expect_idle(&p, NO_HINT, 0, 0);
    expect_idle(&p, 65, 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hint),
        cmocka_unit_test(test_learned),
        cmocka_unit_test(test_never_and_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
