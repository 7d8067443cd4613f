/* SPDX-License-Identifier: MIT */
/* The retry decision: methods x failure classes x statuses, server pushback in every form, the
 * pushback cap, the deadline, the attempt limit, and the reason text. */
#include "test.h"

#include "policy/policy.h"

/* Wed, 21 Oct 2015 07:28:00 GMT */
#define NOW_UNIX_MS INT64_C(1445412480000)

struct fixture {
    struct tether_policy policy;
    struct tether_failure failure;
    struct tt__retry_input in;
    struct tt__retry_decision out;
    struct ttx_rng rng;
};

/* A GET's first attempt, default policy but jitter NONE so delays are exact (100 ms). */
static void setup(struct fixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    tether_policy_defaults(&fx->policy);
    fx->policy.jitter = TETHER_JITTER_NONE;
    tether_failure_init(&fx->failure);
    fx->in.policy = &fx->policy;
    fx->in.method = "GET";
    fx->in.failure = &fx->failure;
    fx->in.attempts = 1;
    fx->in.now_ms = 1000;
    fx->in.now_unix_ms = NOW_UNIX_MS;
    fx->in.request_rewindable = true; /* the body fitted the replay buffer */
    ttx_rng_seed(&fx->rng, 7);
}

static void decide(struct fixture *fx)
{
    memset(&fx->out, 0x77, sizeof(fx->out));
    tt__retry_decide(&fx->in, &fx->rng, &fx->out);
}

static void expect(struct fixture *fx, enum tt__retry_verdict verdict, uint64_t delay_ms,
                   uint64_t pushback_ms, const char *reason)
{
    decide(fx);
    if (fx->out.verdict != verdict || fx->out.delay_ms != delay_ms ||
        fx->out.pushback_ms != pushback_ms || strcmp(fx->out.reason, reason) != 0) {
        fail_msg("%s status %d: got verdict %d delay %llu pushback %llu \"%s\", expected %d %llu "
                 "%llu \"%s\"",
                 fx->in.method, fx->in.status, (int)fx->out.verdict,
                 (unsigned long long)fx->out.delay_ms, (unsigned long long)fx->out.pushback_ms,
                 fx->out.reason, (int)verdict, (unsigned long long)delay_ms,
                 (unsigned long long)pushback_ms, reason);
    }
}

static void set_failure(struct fixture *fx, int code, enum tether_syscall sc,
                        enum tether_phase phase, uint64_t sent, uint64_t received)
{
    tether_failure_init(&fx->failure);
    fx->failure.code = code;
    fx->failure.syscall = sc;
    fx->failure.phase = phase;
    fx->failure.bytes_sent = sent;
    fx->failure.bytes_received = received;
    if (sc == TETHER_SYSCALL_CONNECT) {
        snprintf(fx->failure.peer, sizeof(fx->failure.peer), "127.0.0.1:8080");
    }
}

static void test_network_failures(void **state)
{
    (void)state;
    struct fixture fx;
    setup(&fx);
    static const char *const methods[] = {"GET", "PUT", "DELETE", "POST", "PATCH"};
    for (size_t m = 0; m < 5; m++) {
        for (int key = 0; key < 2; key++) {
            fx.in.method = methods[m];
            fx.in.has_idempotency_key = key;
            bool idem = m < 3 || key;

            /* Never sent: any method. */
            set_failure(&fx, TETHER_ECONNREFUSED, TETHER_SYSCALL_CONNECT, TETHER_PHASE_CONNECT, 0,
                        0);
            expect(&fx, TT__RETRY_YES, 100, 0, "connect ECONNREFUSED 127.0.0.1:8080");
            set_failure(&fx, TETHER_EPIPE, TETHER_SYSCALL_WRITE, TETHER_PHASE_WRITE, 0, 0);
            expect(&fx, TT__RETRY_YES, 100, 0, "write EPIPE");

            /* Sent, no response: only idempotent requests. */
            set_failure(&fx, TETHER_ECONNRESET, TETHER_SYSCALL_READ, TETHER_PHASE_READ_HEADERS, 120,
                        0);
            expect(&fx, idem ? TT__RETRY_YES : TT__RETRY_NO, idem ? 100 : 0, 0, "read ECONNRESET");
            set_failure(&fx, TETHER_EHANGUP, TETHER_SYSCALL_NONE, TETHER_PHASE_READ_HEADERS, 120,
                        0);
            expect(&fx, idem ? TT__RETRY_YES : TT__RETRY_NO, idem ? 100 : 0, 0, "socket hang up");

            /* A response cut short: never a blind repeat. */
            set_failure(&fx, TETHER_ECONNRESET, TETHER_SYSCALL_READ, TETHER_PHASE_READ_BODY, 120,
                        4000);
            expect(&fx, TT__RETRY_NO, 0, 0, "read ECONNRESET");
        }
    }

    /* The user's "my POSTs are safe" switch. */
    setup(&fx);
    fx.in.method = "POST";
    fx.policy.retry_non_idempotent = true;
    set_failure(&fx, TETHER_ECONNRESET, TETHER_SYSCALL_READ, TETHER_PHASE_READ_HEADERS, 120, 0);
    expect(&fx, TT__RETRY_YES, 100, 0, "read ECONNRESET");

    /* Errors that will not go away are not retried, even when nothing was sent. */
    setup(&fx);
    set_failure(&fx, TETHER_ENOTFOUND, TETHER_SYSCALL_GETADDRINFO, TETHER_PHASE_DNS, 0, 0);
    snprintf(fx.failure.host, sizeof(fx.failure.host), "example.invalid");
    expect(&fx, TT__RETRY_NO, 0, 0, "getaddrinfo ENOTFOUND example.invalid");
    set_failure(&fx, TETHER_EAI_AGAIN, TETHER_SYSCALL_GETADDRINFO, TETHER_PHASE_DNS, 0, 0);
    snprintf(fx.failure.host, sizeof(fx.failure.host), "example.com");
    expect(&fx, TT__RETRY_YES, 100, 0, "getaddrinfo EAI_AGAIN example.com");
    set_failure(&fx, TETHER_ETLSCERT, TETHER_SYSCALL_HANDSHAKE, TETHER_PHASE_TLS, 0, 0);
    expect(&fx, TT__RETRY_NO, 0, 0, "handshake ETLSCERT");
    set_failure(&fx, TETHER_EDEADLINE, TETHER_SYSCALL_NONE, TETHER_PHASE_READ_HEADERS, 120, 0);
    expect(&fx, TT__RETRY_NO, 0, 0, "deadline exceeded");
    /* End of stream before any response byte is a hang-up. */
    set_failure(&fx, TETHER_EEOF, TETHER_SYSCALL_READ, TETHER_PHASE_READ_HEADERS, 120, 0);
    expect(&fx, TT__RETRY_YES, 100, 0, "read EEOF");
    set_failure(&fx, TETHER_ETIMEDOUT, TETHER_SYSCALL_NONE, TETHER_PHASE_READ_HEADERS, 120, 0);
    expect(&fx, TT__RETRY_YES, 100, 0, "operation timed out");
}

static void test_statuses(void **state)
{
    (void)state;
    struct fixture fx;
    static const char *const methods[] = {"GET", "HEAD",   "OPTIONS", "TRACE",
                                          "PUT", "DELETE", "POST",    "PATCH"};
    static const int statuses[] = {200, 201, 301, 304, 400, 404, 408, 409, 422,
                                   429, 500, 501, 502, 503, 504, 505, 521};
    static const int listed[] = {408, 429, 500, 502, 503, 504};
    for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
        for (int key = 0; key < 2; key++) {
            for (size_t s = 0; s < sizeof(statuses) / sizeof(statuses[0]); s++) {
                setup(&fx);
                fx.in.failure = NULL;
                fx.in.method = methods[m];
                fx.in.has_idempotency_key = key;
                fx.in.status = statuses[s];
                bool in_list = false;
                for (size_t i = 0; i < 6; i++) {
                    in_list |= listed[i] == statuses[s];
                }
                bool idem = m < 6 || key;
                char reason[32];
                snprintf(reason, sizeof(reason), "status %d", statuses[s]);
                if (in_list && idem) {
                    expect(&fx, TT__RETRY_YES, 100, 0, reason);
                } else {
                    expect(&fx, TT__RETRY_NO, 0, 0, reason);
                }
            }
        }
    }

    /* A failure record with code 0 is "a response arrived". */
    setup(&fx);
    fx.in.status = 503;
    expect(&fx, TT__RETRY_YES, 100, 0, "status 503");
    /* A status arrived and then the body failed: the status was judged when its head came
     * (the client drains a response it retries), so the cut body is final; a 200 restarts
     * only when its body is restartable (test_mid_body_restart). */
    set_failure(&fx, TETHER_ECONNRESET, TETHER_SYSCALL_READ, TETHER_PHASE_READ_BODY, 120, 300);
    expect(&fx, TT__RETRY_NO, 0, 0, "read ECONNRESET mid-body");
    fx.in.status = 200;
    expect(&fx, TT__RETRY_NO, 0, 0, "read ECONNRESET mid-body");

    /* The list is the policy's. */
    setup(&fx);
    fx.policy.nretry_statuses = 0;
    fx.in.status = 503;
    expect(&fx, TT__RETRY_NO, 0, 0, "status 503");
    fx.policy.retry_statuses[0] = 409;
    fx.policy.nretry_statuses = 1;
    fx.in.status = 409;
    expect(&fx, TT__RETRY_YES, 100, 0, "status 409");

    /* POST with retry_non_idempotent. */
    setup(&fx);
    fx.in.method = "POST";
    fx.in.status = 502;
    expect(&fx, TT__RETRY_NO, 0, 0, "status 502");
    fx.policy.retry_non_idempotent = true;
    expect(&fx, TT__RETRY_YES, 100, 0, "status 502");

    /* Neither a failure nor a status. */
    setup(&fx);
    expect(&fx, TT__RETRY_NO, 0, 0, "no failure and no response");
}

static void test_pushback(void **state)
{
    (void)state;
    struct fixture fx;

    /* Retry-After in seconds: wait max(backoff 100, 2000). */
    setup(&fx);
    fx.in.status = 503;
    fx.in.retry_after = "2";
    expect(&fx, TT__RETRY_YES, 2000, 2000, "status 503, Retry-After 2s");
    fx.in.status = 429;
    expect(&fx, TT__RETRY_YES, 2000, 2000, "status 429, Retry-After 2s");

    /* Backoff larger than the pushback wins: retry 2 backs off 200 ms. */
    fx.in.attempts = 2;
    fx.in.retry_after = "0";
    expect(&fx, TT__RETRY_YES, 200, 0, "status 429, Retry-After 0s");

    /* Retry-After as an HTTP-date, 3 s ahead, and one in the past. */
    setup(&fx);
    fx.in.status = 503;
    fx.in.retry_after = "Wed, 21 Oct 2015 07:28:03 GMT";
    expect(&fx, TT__RETRY_YES, 3000, 3000, "status 503, Retry-After 3s");
    fx.in.now_unix_ms = NOW_UNIX_MS + 750;
    expect(&fx, TT__RETRY_YES, 2250, 2250, "status 503, Retry-After 2250ms");
    fx.in.retry_after = "Wed, 21 Oct 2015 07:27:00 GMT";
    expect(&fx, TT__RETRY_YES, 100, 0, "status 503, Retry-After 0s");

    /* An unreadable header is ignored, not fatal. */
    fx.in.retry_after = "soon";
    expect(&fx, TT__RETRY_YES, 100, 0, "status 503");

    /* X-RateLimit-Reset: relative seconds, then an absolute Unix time, on 429. */
    setup(&fx);
    fx.in.status = 429;
    fx.in.ratelimit_reset = "30";
    expect(&fx, TT__RETRY_YES, 30000, 30000, "status 429, X-RateLimit-Reset 30s");
    fx.in.ratelimit_reset = "1445412485";
    expect(&fx, TT__RETRY_YES, 5000, 5000, "status 429, X-RateLimit-Reset 5s");
    fx.in.ratelimit_reset = "1.5";
    expect(&fx, TT__RETRY_YES, 1500, 1500, "status 429, X-RateLimit-Reset 1500ms");
    /* Retry-After is the explicit answer and wins over the quota window. */
    fx.in.retry_after = "1";
    expect(&fx, TT__RETRY_YES, 1000, 1000, "status 429, Retry-After 1s");
    /* On a 503 the quota window is unrelated and ignored. */
    setup(&fx);
    fx.in.status = 503;
    fx.in.ratelimit_reset = "3600";
    expect(&fx, TT__RETRY_YES, 100, 0, "status 503");
    /* 403 is how some APIs rate-limit; listed by the user, it honours the reset. */
    fx.policy.retry_statuses[fx.policy.nretry_statuses++] = 403;
    fx.in.status = 403;
    fx.in.ratelimit_reset = "4";
    expect(&fx, TT__RETRY_YES, 4000, 4000, "status 403, X-RateLimit-Reset 4s");

    /* Pushback beyond max_pushback_ms (300 s) ends retrying; exactly the cap is fine. */
    setup(&fx);
    fx.in.status = 503;
    fx.in.retry_after = "301";
    expect(&fx, TT__RETRY_NO_PUSHBACK, 0, 301000, "status 503, Retry-After 301s");
    fx.in.retry_after = "300";
    expect(&fx, TT__RETRY_YES, 300000, 300000, "status 503, Retry-After 300s");
    fx.policy.max_pushback_ms = 1000;
    fx.in.retry_after = "2";
    expect(&fx, TT__RETRY_NO_PUSHBACK, 0, 2000, "status 503, Retry-After 2s");
    /* A number too large to represent asks for more than any that fits: no retry, as for
     * 301 s above, rather than "absent" and a retry within the backoff. */
    setup(&fx);
    fx.in.status = 503;
    fx.in.retry_after = "99999999999999999999";
    expect(&fx, TT__RETRY_NO_PUSHBACK, 0, UINT64_MAX, "status 503, Retry-After beyond any limit");
    fx.in.retry_after = "18446744073709551615";
    expect(&fx, TT__RETRY_NO_PUSHBACK, 0, UINT64_MAX, "status 503, Retry-After beyond any limit");
    fx.in.status = 429;
    fx.in.retry_after = NULL;
    fx.in.ratelimit_reset = "99999999999999999999";
    expect(&fx, TT__RETRY_NO_PUSHBACK, 0, UINT64_MAX,
           "status 429, X-RateLimit-Reset beyond any limit");

    /* Turned off, the headers are not read at all. */
    setup(&fx);
    fx.policy.honour_retry_after = false;
    fx.in.status = 503;
    fx.in.retry_after = "2";
    expect(&fx, TT__RETRY_YES, 100, 0, "status 503");

    /* A non-retryable answer still reports what the server asked for. */
    setup(&fx);
    fx.in.method = "POST";
    fx.in.status = 503;
    fx.in.retry_after = "2";
    expect(&fx, TT__RETRY_NO, 0, 2000, "status 503, Retry-After 2s");
}

static void test_deadline_and_attempts(void **state)
{
    (void)state;
    struct fixture fx;

    /* now 1000, deadline 3000: a 2 s wait would end exactly at the deadline. */
    setup(&fx);
    fx.in.status = 503;
    fx.in.deadline_at_ms = 3000;
    fx.in.retry_after = "2";
    expect(&fx, TT__RETRY_NO_DEADLINE, 2000, 2000, "status 503, Retry-After 2s");
    fx.in.retry_after = "1";
    expect(&fx, TT__RETRY_YES, 1000, 1000, "status 503, Retry-After 1s");
    /* The backoff alone can pass it too. */
    fx.in.retry_after = NULL;
    fx.in.deadline_at_ms = 1100;
    expect(&fx, TT__RETRY_NO_DEADLINE, 100, 0, "status 503");
    fx.in.deadline_at_ms = 1101;
    expect(&fx, TT__RETRY_YES, 100, 0, "status 503");
    /* Already past. */
    fx.in.now_ms = 5000;
    expect(&fx, TT__RETRY_NO_DEADLINE, 100, 0, "status 503");
    /* 0 is no deadline. */
    fx.in.deadline_at_ms = 0;
    expect(&fx, TT__RETRY_YES, 100, 0, "status 503");

    /* Three attempts: after the first and second, yes; after the third, no. */
    setup(&fx);
    set_failure(&fx, TETHER_ECONNRESET, TETHER_SYSCALL_READ, TETHER_PHASE_READ_HEADERS, 120, 0);
    fx.in.attempts = 2;
    expect(&fx, TT__RETRY_YES, 200, 0, "read ECONNRESET");
    fx.in.attempts = 3;
    expect(&fx, TT__RETRY_NO_ATTEMPTS, 0, 0, "read ECONNRESET");
    /* Only when it would otherwise retry: a POST after send is plain NO. */
    fx.in.method = "POST";
    expect(&fx, TT__RETRY_NO, 0, 0, "read ECONNRESET");

    /* The causes are checked in order: pushback and deadline before attempts. */
    setup(&fx);
    fx.in.status = 503;
    fx.in.attempts = 3;
    fx.in.retry_after = "600";
    expect(&fx, TT__RETRY_NO_PUSHBACK, 0, 600000, "status 503, Retry-After 600s");
    fx.in.retry_after = "5";
    fx.in.deadline_at_ms = 2000;
    expect(&fx, TT__RETRY_NO_DEADLINE, 5000, 5000, "status 503, Retry-After 5s");

    /* The naive policy: one attempt, so a retryable failure is NO_ATTEMPTS. */
    setup(&fx);
    tether_policy_naive(&fx.policy);
    fx.in.status = 503;
    decide(&fx);
    assert_int_equal(fx.out.verdict, TT__RETRY_NO_ATTEMPTS);
    fx.in.status = 404;
    decide(&fx);
    assert_int_equal(fx.out.verdict, TT__RETRY_NO);
}

static void test_full_jitter_delay(void **state)
{
    (void)state;
    struct fixture fx;
    setup(&fx);
    fx.policy.jitter = TETHER_JITTER_FULL;
    fx.in.status = 503;
    fx.in.attempts = 3;
    fx.policy.max_attempts = 5;
    /* The delay is the backoff draw for retry 3: the same numbers from the same seed. */
    struct ttx_rng mirror;
    ttx_rng_seed(&mirror, 7);
    for (int i = 0; i < 100; i++) {
        decide(&fx);
        assert_int_equal(fx.out.verdict, TT__RETRY_YES);
        assert_int_equal(fx.out.delay_ms, ttx_rng_below(&mirror, 400));
        assert_true(fx.out.delay_ms < 400);
    }
}

/* A 200 whose body is cut by a reset: repeated from the start only for an idempotent request
 * whose body the client still holds; never for a POST, never once bytes went to the user. */
static void test_mid_body_restart(void **state)
{
    (void)state;
    struct fixture fx;
    setup(&fx);
    set_failure(&fx, TETHER_ECONNRESET, TETHER_SYSCALL_READ, TETHER_PHASE_READ_BODY, 80, 4096);
    fx.in.status = 200;
    fx.in.body_restartable = true;
    expect(&fx, TT__RETRY_YES, 100, 0, "read ECONNRESET mid-body");
    fx.in.body_restartable = false; /* bytes already went to on_body */
    expect(&fx, TT__RETRY_NO, 0, 0, "read ECONNRESET mid-body");
    fx.in.body_restartable = true;
    fx.in.method = "POST";
    expect(&fx, TT__RETRY_NO, 0, 0, "read ECONNRESET mid-body");
    fx.in.has_idempotency_key = true;
    expect(&fx, TT__RETRY_YES, 100, 0, "read ECONNRESET mid-body");
    /* Any other status was judged when its head arrived: a cut body of it is final, even for
     * a status the policy lists (it would be judged, and counted, twice). */
    fx.in.method = "GET";
    fx.in.status = 404;
    expect(&fx, TT__RETRY_NO, 0, 0, "read ECONNRESET mid-body");
    fx.in.status = 503;
    expect(&fx, TT__RETRY_NO, 0, 0, "read ECONNRESET mid-body");
}

/* A request body larger than the replay buffer is not kept: once bytes of it went out (or a
 * response came back), it cannot be sent again, whatever the method or status says. */
static void test_request_body_not_held(void **state)
{
    (void)state;
    struct fixture fx;
    setup(&fx);
    fx.in.method = "PUT";
    fx.in.request_rewindable = false;
    set_failure(&fx, TETHER_ECONNRESET, TETHER_SYSCALL_WRITE, TETHER_PHASE_WRITE, 4096, 0);
    expect(&fx, TT__RETRY_NO, 0, 0, "write ECONNRESET");
    /* Nothing left yet: the body is still unsent, so it can go. */
    set_failure(&fx, TETHER_ECONNREFUSED, TETHER_SYSCALL_CONNECT, TETHER_PHASE_CONNECT, 0, 0);
    expect(&fx, TT__RETRY_YES, 100, 0, "connect ECONNREFUSED 127.0.0.1:8080");
    /* A listed status after the whole body went out. */
    fx.in.failure = NULL;
    fx.in.status = 503;
    expect(&fx, TT__RETRY_NO, 0, 0, "status 503");
    fx.in.request_rewindable = true;
    expect(&fx, TT__RETRY_YES, 100, 0, "status 503");
}

/* policy.md §9.2 item 7: a request that never left costs no budget token, but it is an
 * attempt: max_attempts bounds refused connects, with or without a deadline. Only waiting for
 * a server (connrefused_wait_ms) makes ECONNREFUSED free, with the backoff capped at 1 s, for
 * the window asked for, and never past the deadline or max_attempts 1. */
static void test_never_sent_is_free(void **state)
{
    (void)state;
    struct fixture fx;
    setup(&fx);
    set_failure(&fx, TETHER_ECONNREFUSED, TETHER_SYSCALL_CONNECT, TETHER_PHASE_CONNECT, 0, 0);
    fx.in.attempts = 2;
    expect(&fx, TT__RETRY_YES, 200, 0, "connect ECONNREFUSED 127.0.0.1:8080");
    assert_false(fx.out.costs_budget);
    fx.in.attempts = 3;
    expect(&fx, TT__RETRY_NO_ATTEMPTS, 0, 0, "connect ECONNREFUSED 127.0.0.1:8080");
    fx.in.deadline_at_ms = 60000;
    expect(&fx, TT__RETRY_NO_ATTEMPTS, 0, 0, "connect ECONNREFUSED 127.0.0.1:8080");
    fx.policy.connrefused_wait_ms = TETHER_WAIT_UNTIL_DEADLINE;
    expect(&fx, TT__RETRY_YES, 400, 0, "connect ECONNREFUSED 127.0.0.1:8080");
    assert_false(fx.out.costs_budget);
    fx.in.attempts = 30; /* the backoff is capped at 1 s: the deadline is what ends it */
    expect(&fx, TT__RETRY_YES, 1000, 0, "connect ECONNREFUSED 127.0.0.1:8080");
    fx.in.now_ms = 59500;
    expect(&fx, TT__RETRY_NO_DEADLINE, 1000, 0, "connect ECONNREFUSED 127.0.0.1:8080");
    /* A window: free while the fetch is younger than it, counted after. */
    fx.policy.connrefused_wait_ms = 5000;
    fx.in.started_ms = 1000;
    fx.in.now_ms = 5999;
    expect(&fx, TT__RETRY_YES, 1000, 0, "connect ECONNREFUSED 127.0.0.1:8080");
    fx.in.now_ms = 6000;
    expect(&fx, TT__RETRY_NO_ATTEMPTS, 0, 0, "connect ECONNREFUSED 127.0.0.1:8080");
    fx.in.now_ms = 1000;
    fx.policy.max_attempts = 1;
    expect(&fx, TT__RETRY_NO_ATTEMPTS, 0, 0, "connect ECONNREFUSED 127.0.0.1:8080");
    /* Other never-sent failures are not a server coming up: counted even inside the window. */
    fx.policy.max_attempts = 3;
    fx.in.attempts = 3;
    set_failure(&fx, TETHER_ETIMEDOUT, TETHER_SYSCALL_CONNECT, TETHER_PHASE_CONNECT, 0, 0);
    expect(&fx, TT__RETRY_NO_ATTEMPTS, 0, 0, "connect ETIMEDOUT 127.0.0.1:8080");
    /* Once a byte left, retries are paid for and counted. */
    fx.in.attempts = 1;
    set_failure(&fx, TETHER_ECONNRESET, TETHER_SYSCALL_READ, TETHER_PHASE_READ_HEADERS, 80, 0);
    expect(&fx, TT__RETRY_YES, 100, 0, "read ECONNRESET");
    assert_true(fx.out.costs_budget);
    fx.in.attempts = 3;
    expect(&fx, TT__RETRY_NO_ATTEMPTS, 0, 0, "read ECONNRESET");
}

static void test_retry_safety(void **state)
{
    (void)state;
    struct tether_failure f;
    tether_failure_init(&f);
    f.code = TETHER_ECONNREFUSED;
    f.syscall = TETHER_SYSCALL_CONNECT;
    f.phase = TETHER_PHASE_CONNECT;
    assert_int_equal(tt__retry_safety("POST", false, false, &f), TETHER_RETRY_SAFE_YES);
    f.code = TETHER_ECONNRESET;
    f.syscall = TETHER_SYSCALL_READ;
    f.phase = TETHER_PHASE_READ_HEADERS;
    f.bytes_sent = 10;
    assert_int_equal(tt__retry_safety("POST", false, true, &f), TETHER_RETRY_SAFE_NO);
    assert_int_equal(tt__retry_safety("POST", true, true, &f), TETHER_RETRY_SAFE_YES);
    assert_int_equal(tt__retry_safety("GET", false, true, &f), TETHER_RETRY_SAFE_YES);
    assert_int_equal(tt__retry_safety("PUT", false, false, &f), TETHER_RETRY_SAFE_NO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_network_failures),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_pushback),
        cmocka_unit_test(test_deadline_and_attempts),
        cmocka_unit_test(test_full_jitter_delay),
        cmocka_unit_test(test_mid_body_restart),
        cmocka_unit_test(test_request_body_not_held),
        cmocka_unit_test(test_never_sent_is_free),
        cmocka_unit_test(test_retry_safety),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
