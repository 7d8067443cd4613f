/* SPDX-License-Identifier: MIT */
/* The per-origin retry budget: the ratio, the per-second floor, expiry after the window, and
 * the off switch. */
#include "test.h"

#include "policy/policy.h"

static void budget(struct tt__budget *b, double ratio, double min_per_s, uint64_t window_ms,
                   uint64_t now_ms)
{
    struct tether_policy p;
    tether_policy_defaults(&p);
    p.budget_ratio = ratio;
    p.budget_min_retries_per_s = min_per_s;
    p.budget_window_ms = window_ms;
    tt__budget_init(b, &p, now_ms);
}

static void deposit(struct tt__budget *b, unsigned n, uint64_t now_ms)
{
    for (unsigned i = 0; i < n; i++) {
        tt__budget_deposit(b, now_ms);
    }
}

/* Exactly `n` withdrawals succeed at `now_ms`, and the next one fails. */
static void expect_withdrawals(struct tt__budget *b, unsigned n, uint64_t now_ms)
{
    for (unsigned i = 0; i < n; i++) {
        if (!tt__budget_withdraw(b, now_ms)) {
            fail_msg("at %llu ms: withdrawal %u of %u refused", (unsigned long long)now_ms, i + 1,
                     n);
        }
    }
    if (tt__budget_withdraw(b, now_ms)) {
        fail_msg("at %llu ms: withdrawal %u allowed, expected only %u", (unsigned long long)now_ms,
                 n + 1, n);
    }
}

static void test_ratio(void **state)
{
    (void)state;
    struct tt__budget b;
    /* 20 % of 10 requests: 2 retries. */
    budget(&b, 0.2, 0, 10000, 0);
    deposit(&b, 10, 0);
    expect_withdrawals(&b, 2, 0);
    /* More traffic, more retries: 20 % of 15 is 3. */
    deposit(&b, 5, 100);
    expect_withdrawals(&b, 1, 100);
    /* 20 % of 14 plus 0.2/s over 1 s is 3 in decimals but 3.0000000000000004 in binary:
     * still exactly 3 retries. */
    budget(&b, 0.2, 0.2, 1000, 0);
    deposit(&b, 14, 0);
    expect_withdrawals(&b, 3, 0);
    /* No traffic, no floor: nothing. */
    budget(&b, 0.2, 0, 10000, 0);
    expect_withdrawals(&b, 0, 0);
    budget(&b, 0, 0, 10000, 0);
    deposit(&b, 1000, 0);
    expect_withdrawals(&b, 0, 0);
}

static void test_floor(void **state)
{
    (void)state;
    struct tt__budget b;
    /* The defaults: 10 retries/s over a 10 s window is 100 retries with no traffic at all. */
    struct tether_policy p;
    tether_policy_defaults(&p);
    tt__budget_init(&b, &p, 5000);
    expect_withdrawals(&b, 100, 5000);
    /* The floor and the ratio add: 100 + 20 % of 50. */
    tt__budget_init(&b, &p, 5000);
    deposit(&b, 50, 5000);
    expect_withdrawals(&b, 110, 5000);
    /* A fractional allowance admits retries while strictly below it: 0.5/s * 3 s = 1.5. */
    budget(&b, 0, 0.5, 3000, 0);
    expect_withdrawals(&b, 2, 0);
}

static void test_expiry(void **state)
{
    (void)state;
    struct tt__budget b;
    /* Window 10 s in slots of 1 s; 50 % of the requests. */
    budget(&b, 0.5, 0, 10000, 0);
    deposit(&b, 10, 0);
    expect_withdrawals(&b, 5, 100);
    /* Still within the window of the t=0 slot. */
    expect_withdrawals(&b, 0, 9999);
    /* At 10 s the t=0 slot's deposits and retries have both expired. */
    expect_withdrawals(&b, 0, 10000);
    deposit(&b, 4, 10000);
    expect_withdrawals(&b, 2, 10000);

    /* Deposits at 0 and 5 s: at 12 s only the later ones count. */
    budget(&b, 0.5, 0, 10000, 0);
    deposit(&b, 10, 0);
    deposit(&b, 10, 5000);
    expect_withdrawals(&b, 5, 12000);

    /* Retries expire with their slot too: 5 spent at 0 s are forgotten at 10 s, while the
     * 5 spent at 5 s still count against the 5 s deposits. */
    budget(&b, 0.5, 0, 10000, 0);
    deposit(&b, 10, 0);
    expect_withdrawals(&b, 5, 0);
    deposit(&b, 10, 5000);
    expect_withdrawals(&b, 5, 5000);
    expect_withdrawals(&b, 0, 10000);
    deposit(&b, 2, 10500);
    expect_withdrawals(&b, 1, 10500);
    /* Long after: everything is gone, and a slot reused by the ring starts from zero. */
    expect_withdrawals(&b, 0, 1000000);
    deposit(&b, 6, 1000000);
    expect_withdrawals(&b, 3, 1000000);

    /* A window shorter than its slot count still works (slots of 1 ms). */
    budget(&b, 1, 0, 5, 0);
    deposit(&b, 2, 0);
    expect_withdrawals(&b, 2, 0);
    expect_withdrawals(&b, 0, 20);
}

static void test_off(void **state)
{
    (void)state;
    struct tt__budget b;
    budget(&b, 0, 0, 0, 0);
    for (int i = 0; i < 1000; i++) {
        assert_true(tt__budget_withdraw(&b, (uint64_t)i));
    }
}

/* The window both the budget and the breaker count in: both counts, expiry between window -
 * window/10 and window, saturation, and off at 0. */
static void test_window(void **state)
{
    (void)state;
    struct tt__window w;
    uint64_t a = 0;
    uint64_t b = 0;
    tt__window_init(&w, 1000, 0);
    tt__window_add(&w, 0, 2, 1);
    tt__window_add(&w, 450, 1, 1);
    tt__window_sum(&w, 899, &a, &b);
    assert_int_equal(a, 3);
    assert_int_equal(b, 2);
    /* The first slot (0..99) expires at 1000, the one of 450 (400..499) at 1400. */
    tt__window_sum(&w, 999, &a, &b);
    assert_int_equal(a, 3);
    tt__window_sum(&w, 1000, &a, &b);
    assert_int_equal(a, 1);
    assert_int_equal(b, 1);
    tt__window_sum(&w, 1400, &a, &b);
    assert_int_equal(a, 0);
    assert_int_equal(b, 0);
    /* The ring position of 0 comes round at 1000: adding there clears the old interval. */
    tt__window_add(&w, 1050, 0, 1);
    tt__window_sum(&w, 1050, &a, &b);
    assert_int_equal(a, 1);
    assert_int_equal(b, 2);
    /* A slot's count saturates (the slot of 450 still adds its 1). */
    tt__window_add(&w, 1050, UINT32_MAX, 0);
    tt__window_add(&w, 1050, 5, 0);
    tt__window_sum(&w, 1050, &a, &b);
    assert_int_equal(a, (uint64_t)UINT32_MAX + 1);
    tt__window_init(&w, 0, 0);
    tt__window_add(&w, 5, 1, 1);
    tt__window_sum(&w, 5, &a, &b);
    assert_int_equal(a + b, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratio), cmocka_unit_test(test_floor),  cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_off),   cmocka_unit_test(test_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
