/* SPDX-License-Identifier: MIT */
/* Failure classes by commit point, idempotent methods, and the transparent-replay rule
 * (client.md §6.2 rule 11) as a full truth table. */
#include "test.h"

#include "policy/policy.h"

struct class_case {
    const char *what;
    int code;
    enum tether_phase phase;
    uint64_t sent, received;
    enum tether_failure_class want;
};

static void test_classify_table(void **state)
{
    (void)state;
    static const struct class_case cases[] = {
        {"no failure", 0, TETHER_PHASE_READ_BODY, 10, 10, TETHER_CLASS_NONE},
        {"dns", TETHER_ENOTFOUND, TETHER_PHASE_DNS, 0, 0, TETHER_CLASS_NEVER_SENT},
        {"refused", TETHER_ECONNREFUSED, TETHER_PHASE_CONNECT, 0, 0, TETHER_CLASS_NEVER_SENT},
        {"connect timeout", TETHER_ETIMEDOUT, TETHER_PHASE_CONNECT, 0, 0, TETHER_CLASS_NEVER_SENT},
        /* Handshake bytes are not request bytes. */
        {"tls reset", TETHER_ECONNRESET, TETHER_PHASE_TLS, 517, 1200, TETHER_CLASS_NEVER_SENT},
        {"first write EPIPE", TETHER_EPIPE, TETHER_PHASE_WRITE, 0, 0, TETHER_CLASS_NEVER_SENT},
        {"first write reset", TETHER_ECONNRESET, TETHER_PHASE_WRITE, 0, 0, TETHER_CLASS_NEVER_SENT},
        {"partial write", TETHER_ECONNRESET, TETHER_PHASE_WRITE, 10, 0,
         TETHER_CLASS_SENT_NO_RESPONSE},
        {"read reset", TETHER_ECONNRESET, TETHER_PHASE_READ_HEADERS, 120, 0,
         TETHER_CLASS_SENT_NO_RESPONSE},
        {"hang up", TETHER_EHANGUP, TETHER_PHASE_READ_HEADERS, 120, 0,
         TETHER_CLASS_SENT_NO_RESPONSE},
        {"headers timeout", TETHER_ETIMEDOUT, TETHER_PHASE_READ_HEADERS, 120, 0,
         TETHER_CLASS_SENT_NO_RESPONSE},
        /* A read-phase record with no byte count cannot prove nothing was sent. */
        {"read, no count", TETHER_ECONNRESET, TETHER_PHASE_READ_HEADERS, 0, 0,
         TETHER_CLASS_SENT_NO_RESPONSE},
        {"no phase", TETHER_ETIMEDOUT, TETHER_PHASE_NONE, 0, 0, TETHER_CLASS_SENT_NO_RESPONSE},
        {"reset mid-head", TETHER_ECONNRESET, TETHER_PHASE_READ_HEADERS, 120, 5,
         TETHER_CLASS_RESPONDED},
        {"truncated body", TETHER_ETRUNCATED, TETHER_PHASE_READ_BODY, 120, 1000,
         TETHER_CLASS_RESPONDED},
        {"write phase, answered", TETHER_EPIPE, TETHER_PHASE_WRITE, 0, 40, TETHER_CLASS_RESPONDED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct class_case *c = &cases[i];
        struct tether_failure f;
        tether_failure_init(&f);
        f.code = c->code;
        f.phase = c->phase;
        f.bytes_sent = c->sent;
        f.bytes_received = c->received;
        enum tether_failure_class got = tether_failure_classify(&f);
        if (got != c->want) {
            fail_msg("%s: class %d, expected %d", c->what, (int)got, (int)c->want);
        }
    }
    assert_int_equal(tether_failure_classify(NULL), TETHER_CLASS_NONE);
}

static void test_idempotent_methods(void **state)
{
    (void)state;
    static const char *const yes[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
    static const char *const no[] = {"POST", "PATCH", "CONNECT", "get",     "Put",
                                     "",     "GETX",  "GE",      "PROPFIND"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (!tether_method_is_idempotent(yes[i])) {
            fail_msg("%s should be idempotent", yes[i]);
        }
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        if (tether_method_is_idempotent(no[i])) {
            fail_msg("\"%s\" should not be idempotent", no[i]);
        }
    }
    assert_false(tether_method_is_idempotent(NULL));
}

static void test_replay_truth_table(void **state)
{
    (void)state;
    struct tether_policy p;
    tether_policy_defaults(&p);
    static const char *const methods[] = {"GET", "PUT", "POST", "PATCH"};
    static const int codes[] = {TETHER_ECONNRESET, TETHER_ETIMEDOUT};
    unsigned allowed = 0;
    /* reused x response bytes x request bytes x method x key x code: 128 rows. Written out as
     * rule 11 states it, independently of how the code orders its checks. */
    for (int reused = 0; reused < 2; reused++) {
        for (int recv = 0; recv < 2; recv++) {
            for (int sent = 0; sent < 2; sent++) {
                for (size_t m = 0; m < 4; m++) {
                    for (int key = 0; key < 2; key++) {
                        for (size_t c = 0; c < 2; c++) {
                            bool safe = m < 2 || key;
                            bool loss = codes[c] == TETHER_ECONNRESET;
                            bool want = reused && !recv && loss && (!sent || safe);
                            bool got =
                                tt__replay_allowed(&p, methods[m], key, true, reused,
                                                   sent ? 100u : 0u, recv ? 1u : 0u, codes[c], 0);
                            if (got != want) {
                                fail_msg("reused=%d recv=%d sent=%d %s key=%d %s: got %d", reused,
                                         recv, sent, methods[m], key, tether_err_name(codes[c]),
                                         got);
                            }
                            allowed += got;
                        }
                    }
                }
            }
        }
    }
    /* Rows allowed: sent=0 (4 methods x 2 keys) + sent=1 (GET, PUT any key; POST, PATCH with
     * key: 6). */
    assert_int_equal(allowed, 14);
}

static void test_replay_codes_and_bounds(void **state)
{
    (void)state;
    struct tether_policy p;
    tether_policy_defaults(&p);
    static const int loss[] = {TETHER_ECONNRESET, TETHER_EPIPE, TETHER_EHANGUP, TETHER_EEOF,
                               TETHER_ECONNABORTED};
    static const int other[] = {TETHER_ETIMEDOUT,  TETHER_ECONNREFUSED, TETHER_EHTTP,
                                TETHER_ETRUNCATED, TETHER_ETLS,         0};
    for (size_t i = 0; i < sizeof(loss) / sizeof(loss[0]); i++) {
        if (!tt__replay_allowed(&p, "GET", false, true, true, 50, 0, loss[i], 0)) {
            fail_msg("%s should allow a replay", tether_err_name(loss[i]));
        }
    }
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        if (tt__replay_allowed(&p, "GET", false, true, true, 0, 0, other[i], 0)) {
            fail_msg("%s should not allow a replay", tether_err_name(other[i]));
        }
    }
    /* At most max_replays (2). */
    assert_true(tt__replay_allowed(&p, "GET", false, true, true, 0, 0, TETHER_ECONNRESET, 1));
    assert_false(tt__replay_allowed(&p, "GET", false, true, true, 0, 0, TETHER_ECONNRESET, 2));
    assert_false(tt__replay_allowed(&p, "GET", false, true, true, 0, 0, TETHER_ECONNRESET, 3));
    p.max_replays = 0;
    assert_false(tt__replay_allowed(&p, "GET", false, true, true, 0, 0, TETHER_ECONNRESET, 0));

    /* retry_non_idempotent does not extend to silent replays of a sent POST. */
    tether_policy_defaults(&p);
    p.retry_non_idempotent = true;
    assert_false(tt__replay_allowed(&p, "POST", false, true, true, 10, 0, TETHER_ECONNRESET, 0));
    assert_true(tt__replay_allowed(&p, "POST", false, true, true, 0, 0, TETHER_EPIPE, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_table),
        cmocka_unit_test(test_idempotent_methods),
        cmocka_unit_test(test_replay_truth_table),
        cmocka_unit_test(test_replay_codes_and_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
