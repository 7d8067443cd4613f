/* SPDX-License-Identifier: MIT */
/* The circuit breaker with an injected clock: which outcomes count, tripping by ratio and by
 * streak, the jittered growth of the open interval, exactly one half-open probe, the probe's
 * time limit, recovery, the manual modes, and the policy keys. */
#include "test.h"

#include "policy/breaker.h"

#define OPEN_MS 5000u
#define OPEN_MAX_MS 300000u
#define PROBE_MS 10000u

static void breaker(struct tt__breaker *b, enum tether_breaker_mode mode, unsigned streak)
{
    struct tether_policy p;
    tether_policy_defaults(&p);
    p.breaker = mode;
    p.breaker_consecutive_failures = streak;
    tt__breaker_init(b, &p);
}

/* Admits one call at `now`, which must be let through; returns its ticket. */
static struct tt__breaker_ticket admit_ok(struct tt__breaker *b, uint64_t now, struct ttx_rng *r)
{
    struct tt__breaker_ticket t;
    uint64_t retry_in = 99;
    if (!tt__breaker_admit(b, now, r, &t, &retry_in, NULL)) {
        fail_msg("at %llu ms: refused (state %s), expected admitted", (unsigned long long)now,
                 tt__breaker_state_name(b->state));
    }
    return t;
}

/* One whole call: admitted, then its outcome. Returns the transitions the outcome made. */
static unsigned call(struct tt__breaker *b, enum tt__breaker_outcome o, uint64_t now,
                     struct ttx_rng *r, struct tt__breaker_changes *ch)
{
    struct tt__breaker_ticket t = admit_ok(b, now, r);
    ch->n = 0;
    tt__breaker_record(b, &t, o, now, r, ch);
    return ch->n;
}

/* The call at `now` is refused, with this much time said to be left. */
static void expect_refused(struct tt__breaker *b, uint64_t now, struct ttx_rng *r,
                           uint64_t retry_in_ms)
{
    struct tt__breaker_ticket t;
    uint64_t retry_in = 0;
    if (tt__breaker_admit(b, now, r, &t, &retry_in, NULL)) {
        fail_msg("at %llu ms: admitted (state %s), expected refused", (unsigned long long)now,
                 tt__breaker_state_name(b->state));
    }
    assert_false(t.counted);
    assert_int_equal(retry_in, retry_in_ms);
}

static void test_classify(void **state)
{
    (void)state;
    /* Responses: 5xx and pushback refusals fail; every other status succeeds, 4xx included. */
    assert_int_equal(tt__breaker_classify(0, 200, false, false), TT__BREAKER_SUCCESS);
    assert_int_equal(tt__breaker_classify(0, 404, false, false), TT__BREAKER_SUCCESS);
    assert_int_equal(tt__breaker_classify(0, 429, false, false), TT__BREAKER_SUCCESS);
    assert_int_equal(tt__breaker_classify(0, 429, true, false), TT__BREAKER_FAILURE);
    assert_int_equal(tt__breaker_classify(0, 500, false, false), TT__BREAKER_FAILURE);
    assert_int_equal(tt__breaker_classify(0, 503, false, false), TT__BREAKER_FAILURE);
    assert_int_equal(tt__breaker_classify(0, 0, false, false), TT__BREAKER_IGNORE);
    /* Transport failures and timeouts fail, whatever status an earlier head had. */
    static const int failing[] = {TETHER_ECONNRESET, TETHER_ECONNREFUSED, TETHER_EHANGUP,
                                  TETHER_EPIPE,      TETHER_EEOF,         TETHER_ETRUNCATED,
                                  TETHER_ETIMEDOUT,  TETHER_EDEADLINE,    TETHER_ETLS,
                                  TETHER_EHTTP,      TETHER_EHOSTUNREACH, TETHER_EAI_AGAIN};
    for (size_t i = 0; i < sizeof(failing) / sizeof(failing[0]); i++) {
        if (tt__breaker_classify(failing[i], 200, false, false) != TT__BREAKER_FAILURE) {
            fail_msg("%s does not count as a failure", tether_err_name(failing[i]));
        }
    }
    /* A local cancel, local limits, configuration errors and stale reuse say nothing. */
    static const int ignored[] = {TETHER_ECANCELED, TETHER_EMFILE,       TETHER_ENOMEM,
                                  TETHER_ETOOBIG,   TETHER_ENOTFOUND,    TETHER_ETLSCERT,
                                  TETHER_EBREAKER,  TETHER_EADDRNOTAVAIL};
    for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
        if (tt__breaker_classify(ignored[i], 0, false, false) != TT__BREAKER_IGNORE) {
            fail_msg("%s counts, expected ignored", tether_err_name(ignored[i]));
        }
    }
    assert_int_equal(tt__breaker_classify(TETHER_ECONNRESET, 0, false, true), TT__BREAKER_IGNORE);
}

static void test_trip_by_streak(void **state)
{
    (void)state;
    struct ttx_rng r;
    ttx_rng_seed(&r, 1);
    struct tt__breaker b;
    struct tt__breaker_changes ch;
    breaker(&b, TETHER_BREAKER_ON, 5);
    /* Four failures, a success (the streak restarts), then four more: still closed. */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(call(&b, TT__BREAKER_FAILURE, 1000, &r, &ch), 0);
    }
    assert_int_equal(call(&b, TT__BREAKER_SUCCESS, 1000, &r, &ch), 0);
    /* Ignored outcomes neither break nor extend the streak. */
    assert_int_equal(call(&b, TT__BREAKER_IGNORE, 1000, &r, &ch), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(call(&b, TT__BREAKER_FAILURE, 1000, &r, &ch), 0);
        assert_int_equal(call(&b, TT__BREAKER_IGNORE, 1000, &r, &ch), 0);
    }
    assert_int_equal(b.state, TT__BREAKER_CLOSED);
    assert_int_equal(call(&b, TT__BREAKER_FAILURE, 1000, &r, &ch), 1);
    assert_int_equal(ch.at[0].to, TT__BREAKER_OPEN);
    assert_string_equal(ch.at[0].reason, "5 consecutive failures");
    assert_int_equal(ch.at[0].open_ms, OPEN_MS);
    /* Open: refused at once, with the time left. */
    expect_refused(&b, 1000, &r, OPEN_MS);
    expect_refused(&b, 1000 + OPEN_MS - 1, &r, 1);
    assert_int_equal(b.count.rejected, 2);
    assert_int_equal(b.count.opened, 1);
    assert_int_equal(tt__breaker_wait_ms(&b, 3000), OPEN_MS - 2000);
}

static void test_trip_by_ratio(void **state)
{
    (void)state;
    struct ttx_rng r;
    ttx_rng_seed(&r, 2);
    struct tt__breaker b;
    struct tt__breaker_changes ch;
    breaker(&b, TETHER_BREAKER_ON, 0);
    /* 49 failures in 99 calls, alternating so no streak builds: under the minimum. */
    uint64_t now = 0;
    for (int i = 0; i < 99; i++) {
        now = (uint64_t)i * 100;
        assert_int_equal(call(&b, i % 2 ? TT__BREAKER_FAILURE : TT__BREAKER_SUCCESS, now, &r, &ch),
                         0);
    }
    /* The 100th call a success: 49 of 100 is under 50 %. */
    assert_int_equal(call(&b, TT__BREAKER_SUCCESS, now, &r, &ch), 0);
    /* One more failure: 50 of 101 is not 50 %; the next failure makes 51 of 102. */
    assert_int_equal(call(&b, TT__BREAKER_FAILURE, now, &r, &ch), 0);
    assert_int_equal(call(&b, TT__BREAKER_FAILURE, now, &r, &ch), 1);
    assert_string_equal(ch.at[0].reason, "51 of 102 calls failed");

    /* Exactly at the threshold (>=): 50 of 100. */
    breaker(&b, TETHER_BREAKER_ON, 0);
    for (int i = 0; i < 99; i++) {
        assert_int_equal(call(&b, i < 50 ? TT__BREAKER_SUCCESS : TT__BREAKER_FAILURE, 0, &r, &ch),
                         0);
    }
    assert_int_equal(call(&b, TT__BREAKER_FAILURE, 0, &r, &ch), 1);
    assert_string_equal(ch.at[0].reason, "50 of 100 calls failed");

    /* Failures older than the window no longer count: 99 failures, then 30 s later one more
     * is 1 of 1, under the minimum. */
    breaker(&b, TETHER_BREAKER_ON, 0);
    for (int i = 0; i < 99; i++) {
        assert_int_equal(call(&b, TT__BREAKER_FAILURE, 0, &r, &ch), 0);
    }
    assert_int_equal(call(&b, TT__BREAKER_FAILURE, 30000, &r, &ch), 0);
    uint64_t calls;
    uint64_t failures;
    tt__breaker_window(&b, 30000, &calls, &failures);
    assert_int_equal(calls, 1);
    assert_int_equal(failures, 1);
}

static void test_open_interval_growth(void **state)
{
    (void)state;
    struct ttx_rng r;
    ttx_rng_seed(&r, 3);
    struct tt__breaker b;
    breaker(&b, TETHER_BREAKER_ON, 5);
    assert_int_equal(tt__breaker_open_interval(&b, 1, &r), OPEN_MS);
    /* The n-th: equal jitter over min(max, base*2^(n-1)): [d/2, d]. */
    uint64_t lo[] = {0, 0, 5000, 10000, 20000, 40000, 80000, 150000, 150000, 150000};
    uint64_t hi[] = {0, 0, 10000, 20000, 40000, 80000, 160000, 300000, 300000, 300000};
    for (unsigned n = 2; n < 10; n++) {
        uint64_t seen_lo = UINT64_MAX;
        uint64_t seen_hi = 0;
        for (int k = 0; k < 2000; k++) {
            uint64_t d = tt__breaker_open_interval(&b, n, &r);
            if (d < lo[n] || d > hi[n]) {
                fail_msg("open #%u lasted %llu ms, outside [%llu, %llu]", n, (unsigned long long)d,
                         (unsigned long long)lo[n], (unsigned long long)hi[n]);
            }
            seen_lo = d < seen_lo ? d : seen_lo;
            seen_hi = d > seen_hi ? d : seen_hi;
        }
        /* Jittered: the draws spread over most of the range. */
        assert_true(seen_hi - seen_lo > (hi[n] - lo[n]) * 9 / 10);
    }
    /* Huge n saturates instead of overflowing. */
    uint64_t d = tt__breaker_open_interval(&b, 4000000000u, &r);
    assert_true(d >= OPEN_MAX_MS / 2 && d <= OPEN_MAX_MS);

    /* Through the machine: each failed probe opens for longer. */
    struct tt__breaker_changes ch;
    uint64_t now = 0;
    for (int i = 0; i < 5; i++) {
        (void)call(&b, TT__BREAKER_FAILURE, now, &r, &ch);
    }
    assert_int_equal(b.last_open_ms, OPEN_MS);
    for (unsigned n = 2; n < 10; n++) {
        now = b.open_until_ms;
        struct tt__breaker_ticket t = admit_ok(&b, now, &r);
        assert_true(t.probe);
        ch.n = 0;
        tt__breaker_record(&b, &t, TT__BREAKER_FAILURE, now, &r, &ch);
        assert_int_equal(ch.n, 1);
        assert_string_equal(ch.at[0].reason, "probe failed");
        assert_true(b.last_open_ms >= lo[n] && b.last_open_ms <= hi[n]);
        assert_int_equal(ch.at[0].open_ms, b.last_open_ms);
        assert_int_equal(b.open_until_ms, now + b.last_open_ms);
    }
}

/* Open the breaker at 0 (5 failures) and return the time its interval ends. */
static uint64_t trip(struct tt__breaker *b, struct ttx_rng *r)
{
    struct tt__breaker_changes ch;
    for (int i = 0; i < 5; i++) {
        (void)call(b, TT__BREAKER_FAILURE, 0, r, &ch);
    }
    assert_int_equal(b->state, TT__BREAKER_OPEN);
    return b->open_until_ms;
}

static void test_one_probe(void **state)
{
    (void)state;
    struct ttx_rng r;
    ttx_rng_seed(&r, 4);
    struct tt__breaker b;
    breaker(&b, TETHER_BREAKER_ON, 5);
    uint64_t at = trip(&b, &r);
    /* Ten callers arrive together once the interval is over: one probe, nine refused. */
    struct tt__breaker_changes ch = {0};
    struct tt__breaker_ticket t;
    uint64_t retry_in = 0;
    assert_true(tt__breaker_admit(&b, at, &r, &t, &retry_in, &ch));
    assert_true(t.probe);
    assert_int_equal(ch.n, 1);
    assert_int_equal(ch.at[0].to, TT__BREAKER_HALF_OPEN);
    for (int i = 0; i < 9; i++) {
        expect_refused(&b, at + (uint64_t)i, &r, PROBE_MS - (uint64_t)i);
    }
    assert_int_equal(b.count.probes, 1);
    /* An outcome of a call admitted before the breaker opened changes nothing. */
    struct tt__breaker_ticket old = {.counted = true};
    ch.n = 0;
    tt__breaker_record(&b, &old, TT__BREAKER_SUCCESS, at + 10, &r, &ch);
    assert_int_equal(ch.n, 0);
    assert_int_equal(b.state, TT__BREAKER_HALF_OPEN);
    /* A cancelled probe frees the slot: the next caller probes. */
    tt__breaker_record(&b, &t, TT__BREAKER_IGNORE, at + 20, &r, &ch);
    assert_int_equal(ch.n, 0);
    struct tt__breaker_ticket t2 = admit_ok(&b, at + 30, &r);
    assert_true(t2.probe);
    assert_true(t2.gen != t.gen);
    expect_refused(&b, at + 30, &r, PROBE_MS);
    assert_int_equal(b.count.probes, 2);
}

static void test_probe_timeout(void **state)
{
    (void)state;
    struct ttx_rng r;
    ttx_rng_seed(&r, 5);
    struct tt__breaker b;
    breaker(&b, TETHER_BREAKER_ON, 5);
    uint64_t at = trip(&b, &r);
    struct tt__breaker_ticket probe = admit_ok(&b, at, &r);
    assert_true(probe.probe);
    expect_refused(&b, at + PROBE_MS - 1, &r, 1);
    /* The probe hangs: the first call after its limit re-opens the breaker, longer. */
    struct tt__breaker_changes ch = {0};
    struct tt__breaker_ticket t;
    uint64_t retry_in = 0;
    uint64_t now = at + PROBE_MS;
    assert_false(tt__breaker_admit(&b, now, &r, &t, &retry_in, &ch));
    assert_int_equal(ch.n, 1);
    assert_int_equal(ch.at[0].to, TT__BREAKER_OPEN);
    assert_string_equal(ch.at[0].reason, "probe timed out");
    assert_true(b.last_open_ms >= OPEN_MS && b.last_open_ms <= 2 * OPEN_MS);
    assert_int_equal(retry_in, b.last_open_ms);
    assert_int_equal(b.count.probe_timeouts, 1);
    /* Its late success is ignored: the breaker stays open. */
    ch.n = 0;
    tt__breaker_record(&b, &probe, TT__BREAKER_SUCCESS, now + 1, &r, &ch);
    assert_int_equal(ch.n, 0);
    assert_int_equal(b.state, TT__BREAKER_OPEN);

    /* A probe that answers after its limit, before anyone asked, fails too. */
    at = b.open_until_ms;
    probe = admit_ok(&b, at, &r);
    ch.n = 0;
    tt__breaker_record(&b, &probe, TT__BREAKER_SUCCESS, at + PROBE_MS, &r, &ch);
    assert_int_equal(ch.n, 1);
    assert_string_equal(ch.at[0].reason, "probe timed out");
    assert_int_equal(b.count.probe_timeouts, 2);
}

static void test_recovery(void **state)
{
    (void)state;
    struct ttx_rng r;
    ttx_rng_seed(&r, 6);
    struct tt__breaker b;
    breaker(&b, TETHER_BREAKER_ON, 5);
    uint64_t at = trip(&b, &r);
    struct tt__breaker_ticket probe = admit_ok(&b, at, &r);
    struct tt__breaker_changes ch = {0};
    tt__breaker_record(&b, &probe, TT__BREAKER_FAILURE, at, &r, &ch);
    at = b.open_until_ms;
    probe = admit_ok(&b, at, &r);
    ch.n = 0;
    tt__breaker_record(&b, &probe, TT__BREAKER_SUCCESS, at + PROBE_MS - 1, &r, &ch);
    assert_int_equal(ch.n, 1);
    assert_int_equal(ch.at[0].to, TT__BREAKER_CLOSED);
    assert_string_equal(ch.at[0].reason, "probe succeeded");
    /* Closed: everything goes, the counts start over, and the growth is reset. */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(call(&b, TT__BREAKER_FAILURE, at + PROBE_MS, &r, &ch), 0);
    }
    assert_int_equal(call(&b, TT__BREAKER_FAILURE, at + PROBE_MS, &r, &ch), 1);
    assert_int_equal(ch.at[0].open_ms, OPEN_MS);
    assert_int_equal(b.count.opened, 3);
    assert_int_equal(b.count.half_opened, 2);
    assert_int_equal(b.count.closed, 1);
}

static void test_manual_modes(void **state)
{
    (void)state;
    struct ttx_rng r;
    ttx_rng_seed(&r, 7);
    struct tt__breaker b;
    struct tt__breaker_changes ch;
    /* OFF: nothing counts, nothing trips. */
    breaker(&b, TETHER_BREAKER_OFF, 5);
    for (int i = 0; i < 200; i++) {
        struct tt__breaker_ticket t = admit_ok(&b, 0, &r);
        assert_false(t.counted);
        ch.n = 0;
        tt__breaker_record(&b, &t, TT__BREAKER_FAILURE, 0, &r, &ch);
        assert_int_equal(ch.n, 0);
    }
    assert_int_equal(b.count.calls, 0);
    assert_int_equal(tt__breaker_wait_ms(&b, 0), 0);
    /* FORCED_OPEN: everything refused. */
    breaker(&b, TETHER_BREAKER_FORCED_OPEN, 5);
    expect_refused(&b, 0, &r, 0);
    expect_refused(&b, 1000000, &r, 0);
    assert_int_equal(tt__breaker_wait_ms(&b, 0), UINT64_MAX);
    /* METRICS_ONLY: trips and half-opens as ON would, but lets everything through. */
    breaker(&b, TETHER_BREAKER_METRICS_ONLY, 5);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(call(&b, TT__BREAKER_FAILURE, 0, &r, &ch), 0);
    }
    assert_int_equal(call(&b, TT__BREAKER_FAILURE, 0, &r, &ch), 1);
    assert_int_equal(ch.at[0].to, TT__BREAKER_OPEN);
    struct tt__breaker_ticket t = admit_ok(&b, 1, &r);
    assert_false(t.probe);
    assert_int_equal(b.count.rejected, 1);
    assert_int_equal(tt__breaker_wait_ms(&b, 1), 0);
    t = admit_ok(&b, OPEN_MS, &r);
    assert_true(t.probe);
    assert_int_equal(b.state, TT__BREAKER_HALF_OPEN);
}

static void test_policy_keys(void **state)
{
    (void)state;
    struct tether_policy p;
    char err[256];
    tether_policy_defaults(&p);
    assert_int_equal(p.breaker, TETHER_BREAKER_OFF);
    assert_int_equal(p.breaker_min_calls, 100);
    assert_int_equal(p.breaker_window_ms, 30000);
    assert_int_equal(p.breaker_consecutive_failures, 5);
    assert_int_equal(p.breaker_open_ms, OPEN_MS);
    assert_int_equal(p.breaker_open_max_ms, OPEN_MAX_MS);
    assert_int_equal(p.breaker_probe_timeout_ms, PROBE_MS);
    assert_true(p.breaker_failure_ratio == 0.5);
    static const char good[] =
        "{\"breaker\":\"on\",\"breaker_failure_ratio\":0.25,\"breaker_min_calls\":20,"
        "\"breaker_window\":\"10s\",\"breaker_consecutive_failures\":3,\"breaker_open\":\"200ms\","
        "\"breaker_open_max\":\"2s\",\"breaker_probe_timeout\":\"1s\"}";
    ASSERT_OK(tether_policy_from_json(good, sizeof(good) - 1, &p, err, sizeof(err)));
    assert_int_equal(p.breaker, TETHER_BREAKER_ON);
    assert_true(p.breaker_failure_ratio == 0.25);
    assert_int_equal(p.breaker_min_calls, 20);
    assert_int_equal(p.breaker_window_ms, 10000);
    assert_int_equal(p.breaker_consecutive_failures, 3);
    assert_int_equal(p.breaker_open_ms, 200);
    assert_int_equal(p.breaker_open_max_ms, 2000);
    assert_int_equal(p.breaker_probe_timeout_ms, 1000);
    static const char *const modes[] = {"{\"breaker\":false}", "{\"breaker\":true}",
                                        "{\"breaker\":\"metrics-only\"}",
                                        "{\"breaker\":\"forced-open\"}"};
    static const enum tether_breaker_mode want[] = {TETHER_BREAKER_OFF, TETHER_BREAKER_ON,
                                                    TETHER_BREAKER_METRICS_ONLY,
                                                    TETHER_BREAKER_FORCED_OPEN};
    for (size_t i = 0; i < 4; i++) {
        ASSERT_OK(tether_policy_from_json(modes[i], strlen(modes[i]), &p, err, sizeof(err)));
        assert_int_equal(p.breaker, want[i]);
    }
    static const char bad[] = "{\"breaker\":\"sometimes\"}";
    ASSERT_ERR(tether_policy_from_json(bad, sizeof(bad) - 1, &p, err, sizeof(err)), TETHER_EINVAL);
    assert_string_equal(err, "breaker: expected true, false, \"off\", \"on\", \"metrics-only\" or "
                             "\"forced-open\", got \"sometimes\"");
    static const char ratio[] = "{\"breaker_failure_ratio\":0}";
    ASSERT_ERR(tether_policy_from_json(ratio, sizeof(ratio) - 1, &p, err, sizeof(err)),
               TETHER_EINVAL);
    assert_string_equal(err, "breaker_failure_ratio: expected a number 0.01..1, got 0");
    assert_string_equal(tether_breaker_mode_name(TETHER_BREAKER_METRICS_ONLY), "metrics-only");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),      cmocka_unit_test(test_trip_by_streak),
        cmocka_unit_test(test_trip_by_ratio), cmocka_unit_test(test_open_interval_growth),
        cmocka_unit_test(test_one_probe),     cmocka_unit_test(test_probe_timeout),
        cmocka_unit_test(test_recovery),      cmocka_unit_test(test_manual_modes),
        cmocka_unit_test(test_policy_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
