/* SPDX-License-Identifier: MIT */
/* The pool's pure rules: libpq messages to codes, the retry verdict and retry safety for every
 * kind of failed attempt, lifetime jitter bounds, connect backoff, and learning the server's
 * idle kill (one certain kill, two agreeing bare closes, a restart teaching nothing, a longer
 * survival forgetting). Times are passed in: no clock. */
#include "test.h"

#include "pgpool/rules.h"

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(tt__pg_classify_message("connection to server at \"127.0.0.1\", port 1 "
                                             "failed: Connection refused\n"),
                     TETHER_ECONNREFUSED);
    assert_int_equal(tt__pg_classify_message("server closed the connection unexpectedly\n\tThis "
                                             "probably means the server terminated abnormally"),
                     TETHER_EHANGUP);
    assert_int_equal(tt__pg_classify_message("FATAL:  terminating connection due to "
                                             "administrator command\n"),
                     TETHER_EHANGUP);
    assert_int_equal(tt__pg_classify_message("could not receive data from server: Connection "
                                             "reset by peer\n"),
                     TETHER_ECONNRESET);
    assert_int_equal(tt__pg_classify_message("FATAL:  password authentication failed for user "
                                             "\"x\"\n"),
                     TETHER_EINVAL);
    assert_int_equal(tt__pg_classify_message("FATAL:  database \"nope\" does not exist\n"),
                     TETHER_EINVAL);
    assert_int_equal(tt__pg_classify_message("could not translate host name \"x.invalid\" to "
                                             "address: Name or service not known\n"),
                     TETHER_ENOTFOUND);
    assert_int_equal(tt__pg_classify_message("timeout expired"), TETHER_ETIMEDOUT);
    assert_int_equal(tt__pg_classify_message("ERROR:  division by zero\n"), TETHER_EIO);
    assert_int_equal(tt__pg_classify_message(""), TETHER_EIO);
    assert_true(tt__pg_sqlstate_idle_kill("57P05"));
    assert_true(tt__pg_sqlstate_idle_kill("25P03"));
    assert_false(tt__pg_sqlstate_idle_kill("57P01"));
    assert_false(tt__pg_sqlstate_idle_kill(""));
}

static void test_verdict(void **state)
{
    (void)state;
    struct tt__pg_attempt a = {.retry_enabled = true, .code = TETHER_EHANGUP, .sqlstate = ""};
    /* Connect failures and connections found dead before sending: nothing ran. */
    a.connect_failed = true;
    assert_int_equal(tt__pg_retry_verdict(&a), TT__PG_RETRY);
    assert_int_equal(tt__pg_retry_safety(&a), TETHER_RETRY_SAFE_YES);
    a.code = TETHER_EINVAL; /* a wrong password stays wrong */
    assert_int_equal(tt__pg_retry_verdict(&a), TT__PG_FAIL);
    a.code = TETHER_EHANGUP;
    a.connect_failed = false;
    a.conn_lost = true;
    assert_int_equal(tt__pg_retry_verdict(&a), TT__PG_RETRY);
    /* Sent and lost: only an idempotent statement, only once. */
    a.sent = true;
    assert_int_equal(tt__pg_retry_verdict(&a), TT__PG_FAIL);
    assert_int_equal(tt__pg_retry_safety(&a), TETHER_RETRY_SAFE_NO);
    a.idempotent = true;
    assert_int_equal(tt__pg_retry_verdict(&a), TT__PG_REPLAY);
    assert_int_equal(tt__pg_retry_safety(&a), TETHER_RETRY_SAFE_YES);
    a.replays = 1;
    assert_int_equal(tt__pg_retry_verdict(&a), TT__PG_FAIL);
    /* Killed for idling: the statement never started, whatever it is. */
    a.idempotent = false;
    a.replays = 0;
    a.sqlstate = "57P05";
    assert_int_equal(tt__pg_retry_verdict(&a), TT__PG_RETRY);
    assert_int_equal(tt__pg_retry_safety(&a), TETHER_RETRY_SAFE_YES);
    /* An administrator's kill of a busy backend may come after the commit. */
    a.sqlstate = "57P01";
    assert_int_equal(tt__pg_retry_verdict(&a), TT__PG_FAIL);
    assert_int_equal(tt__pg_retry_safety(&a), TETHER_RETRY_SAFE_NO);
    /* Inside a transaction (a checked-out connection) nothing is repeated. */
    a.explicit_conn = true;
    a.idempotent = true;
    a.sqlstate = "57P05";
    assert_int_equal(tt__pg_retry_verdict(&a), TT__PG_FAIL);
    assert_int_equal(tt__pg_retry_safety(&a), TETHER_RETRY_SAFE_NO);
    /* The server answered with an error on a live connection: reported, never repeated. */
    struct tt__pg_attempt e = {
        .retry_enabled = true, .sent = true, .code = TETHER_EIO, .sqlstate = "22012"};
    assert_int_equal(tt__pg_retry_verdict(&e), TT__PG_FAIL);
    assert_int_equal(tt__pg_retry_safety(&e), TETHER_RETRY_SAFE_YES);
    /* The naive policy repeats nothing. */
    struct tt__pg_attempt n = {.conn_lost = true, .code = TETHER_EHANGUP, .sqlstate = ""};
    assert_int_equal(tt__pg_retry_verdict(&n), TT__PG_FAIL);
}

static void test_lifetime_and_backoff(void **state)
{
    (void)state;
    const uint64_t max = 1800000;
    uint64_t lo = max, hi = 0;
    for (uint64_t r = 0; r < 200000; r += 7) {
        uint64_t l = tt__pg_lifetime_ms(max, r * 2654435761u);
        lo = l < lo ? l : lo;
        hi = l > hi ? l : hi;
    }
    assert_true(lo >= max - max / 40);
    assert_true(hi <= max);
    assert_true(hi - lo > max / 80); /* it does spread */
    assert_int_equal(tt__pg_lifetime_ms(0, 12345), 0);
    assert_int_equal(tt__pg_connect_backoff_ms(0), 0);
    assert_int_equal(tt__pg_connect_backoff_ms(1), 250);
    assert_int_equal(tt__pg_connect_backoff_ms(2), 500);
    assert_int_equal(tt__pg_connect_backoff_ms(3), 1000);
    assert_int_equal(tt__pg_connect_backoff_ms(40), 1000);
}

static void test_learn(void **state)
{
    (void)state;
    struct tt__pglearn l = {0};
    assert_int_equal(tt__pglearn_budget_ms(&l, 1000), UINT64_MAX);
    /* One 57P05 is enough: the server said why. */
    assert_true(tt__pglearn_observe(&l, 2100, 10000, true));
    assert_int_equal(l.kill_ms, 2100);
    assert_int_equal(tt__pglearn_budget_ms(&l, 1000), 1100);
    assert_int_equal(tt__pglearn_budget_ms(&l, 3000), 0);
    /* A longer certain kill does not raise it; a shorter one lowers it. */
    assert_false(tt__pglearn_observe(&l, 2500, 11000, true));
    assert_true(tt__pglearn_observe(&l, 2050, 12000, true));
    assert_int_equal(l.kill_ms, 2050);
    /* Surviving longer idle proves it wrong. */
    tt__pglearn_alive(&l, 3000);
    assert_int_equal(l.kill_ms, 0);

    /* Bare closes: a restart closes everything at one moment, whatever the idle times. */
    struct tt__pglearn r = {0};
    assert_false(tt__pglearn_observe(&r, 4000, 50000, false));
    assert_false(tt__pglearn_observe(&r, 4010, 50000, false));
    assert_false(tt__pglearn_observe(&r, 900, 50000, false));
    assert_int_equal(r.kill_ms, 0);
    /* The same idle time seen again later: a timeout. */
    assert_true(tt__pglearn_observe(&r, 4100, 56000, false));
    assert_int_equal(r.kill_ms, 4000);
    /* Disagreeing observations teach nothing. */
    struct tt__pglearn d = {0};
    assert_false(tt__pglearn_observe(&d, 1000, 1000, false));
    assert_false(tt__pglearn_observe(&d, 5000, 9000, false));
    assert_int_equal(d.kill_ms, 0);
    assert_false(tt__pglearn_observe(&d, 0, 9000, true));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_verdict),
        cmocka_unit_test(test_lifetime_and_backoff),
        cmocka_unit_test(test_learn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
