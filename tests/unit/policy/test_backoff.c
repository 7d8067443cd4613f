/* SPDX-License-Identifier: MIT */
/* Backoff: exact ceilings, full jitter's bounds and distribution below the cap and at it, equal
 * jitter and none. Fixed seeds make every number reproducible. */
#include "test.h"

#include "policy/policy.h"

#define SAMPLES 10000

static void test_none_is_exact(void **state)
{
    (void)state;
    struct tether_policy p;
    tether_policy_defaults(&p);
    p.jitter = TETHER_JITTER_NONE;
    struct ttx_rng rng;
    ttx_rng_seed(&rng, 1);
    /* base 100 ms doubling: 100 200 400 ... 12800, then the 20 s cap from retry 9 on. */
    static const uint64_t want[] = {100, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 20000, 20000};
    for (unsigned n = 0; n < sizeof(want) / sizeof(want[0]); n++) {
        uint64_t got = tt__backoff_delay(&p, n, &rng);
        if (got != want[n]) {
            fail_msg("retry %u: %llu, expected %llu", n, (unsigned long long)got,
                     (unsigned long long)want[n]);
        }
    }
    /* A huge retry number neither overflows nor loops for long. */
    assert_int_equal(tt__backoff_delay(&p, 4000000000u, &rng), 20000);
    p.backoff_cap_ms = UINT64_MAX;
    p.backoff_base_ms = UINT64_C(1) << 62;
    assert_true(tt__backoff_delay(&p, 10, &rng) == UINT64_MAX);
    p.backoff_base_ms = 0;
    assert_int_equal(tt__backoff_delay(&p, 4000000000u, &rng), 0);
}

/* Draws SAMPLES delays for retry `n` and checks they lie in [lo, hi) with the given mean
 * (within 2 %) and reach both ends of the range (within 1 % of its width). */
static void check_distribution(struct tether_policy *p, unsigned n, uint64_t lo, uint64_t hi,
                               double want_mean)
{
    struct ttx_rng rng;
    ttx_rng_seed(&rng, 0x7e7e7e7e);
    double sum = 0;
    uint64_t min = UINT64_MAX, max = 0;
    for (int i = 0; i < SAMPLES; i++) {
        uint64_t d = tt__backoff_delay(p, n, &rng);
        if (d < lo || d >= hi) {
            fail_msg("retry %u: %llu outside [%llu, %llu)", n, (unsigned long long)d,
                     (unsigned long long)lo, (unsigned long long)hi);
        }
        sum += (double)d;
        min = d < min ? d : min;
        max = d > max ? d : max;
    }
    double mean = sum / SAMPLES;
    double width = (double)(hi - lo);
    if (mean < want_mean - 0.02 * width || mean > want_mean + 0.02 * width) {
        fail_msg("retry %u: mean %.1f, expected about %.1f", n, mean, want_mean);
    }
    if ((double)(min - lo) > 0.01 * width || (double)(hi - 1 - max) > 0.01 * width) {
        fail_msg("retry %u: range [%llu, %llu] does not fill [%llu, %llu)", n,
                 (unsigned long long)min, (unsigned long long)max, (unsigned long long)lo,
                 (unsigned long long)hi);
    }
}

static void test_full_jitter(void **state)
{
    (void)state;
    struct tether_policy p;
    tether_policy_defaults(&p);
    check_distribution(&p, 1, 0, 100, 49.5);
    check_distribution(&p, 3, 0, 400, 199.5);
    check_distribution(&p, 8, 0, 12800, 6399.5);
    /* At the cap the draw still spans [0, cap): jitter comes after the cap, so clients that
     * have all reached it do not wake together. */
    check_distribution(&p, 9, 0, 20000, 9999.5);
    check_distribution(&p, 30, 0, 20000, 9999.5);

    /* Same seed, same numbers: exactly the RNG's draw below the ceiling. */
    struct ttx_rng a, b;
    ttx_rng_seed(&a, 42);
    ttx_rng_seed(&b, 42);
    for (unsigned n = 1; n <= 12; n++) {
        uint64_t ceiling = n >= 9 ? 20000 : (UINT64_C(100) << (n - 1));
        assert_int_equal(tt__backoff_delay(&p, n, &a), ttx_rng_below(&b, ceiling));
    }
}

static void test_equal_jitter(void **state)
{
    (void)state;
    struct tether_policy p;
    tether_policy_defaults(&p);
    p.jitter = TETHER_JITTER_EQUAL;
    check_distribution(&p, 1, 50, 100, 74.5);
    check_distribution(&p, 4, 400, 800, 599.5);
    check_distribution(&p, 12, 10000, 20000, 14999.5);
    /* An odd ceiling keeps the whole range: [1, 3) for d = 3. */
    p.backoff_base_ms = 3;
    check_distribution(&p, 1, 1, 3, 1.5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_none_is_exact),
        cmocka_unit_test(test_full_jitter),
        cmocka_unit_test(test_equal_jitter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
