/* SPDX-License-Identifier: MIT */
/*
 * Retries (policy.md §9.2 items 1-18): a retryable status then success, Retry-After honoured
 * and never cut short, pushback beyond the deadline ends retrying with the server's answer,
 * POST is not retried, the per-origin budget bounds a retry storm, and one deadline spans
 * every attempt and sleep.
 */
#include <signal.h>
#include <stdlib.h>

#include "test.h"

#include "fetch_helpers.h"
#include "loop.h"
#include "script_server.h"

#define T(ms) tt_test_scale_ms(ms)

/* What the scripted server answers: the first `fail_first` requests get `fail_head`. */
struct script {
    unsigned fail_first;
    int fail_status;
    const char *fail_head;
    bool silent;
};

static void script_cb(struct ss_conn *c, unsigned index, const char *req, size_t len, void *data)
{
    struct script *s = data;
    (void)index;
    (void)req;
    (void)len;
    if (s->silent) {
        return;
    }
    unsigned n = ss_requests(ss_conn_server(c));
    if (n <= s->fail_first) {
        ss_respond(c, s->fail_status, s->fail_head, "busy");
    } else {
        ss_respond(c, 200, "", "ok");
    }
}

static void fast_backoff(struct tether_policy *p)
{
    tether_policy_defaults(p);
    p->backoff_base_ms = 10;
    p->backoff_cap_ms = 50;
}

static void test_503_then_200(void **state)
{
    (void)state;
    struct tether_policy p;
    fast_backoff(&p);
    struct script s = {1, 503, "", false};
    struct ft_env e;
    ft_env_init(&e, &p, script_cb, &s);
    struct ft_result r = {0};
    ft_get(&e.loop, e.client, e.url, &r);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok");
    assert_int_equal(r.retries, 1);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(e.ev.n[TETHER_EVENT_RETRY_SCHEDULED], 1);
    assert_string_equal(e.ev.last_reason[TETHER_EVENT_RETRY_SCHEDULED], "status 503");
    /* Only the final response is delivered. */
    assert_int_equal(e.ev.n[TETHER_EVENT_RESPONSE], 1);
    struct tether_client_stats st;
    tether_client_get_stats(e.client, &st);
    assert_int_equal(st.retries, 1);
    assert_int_equal(st.attempts, 2);
    /* The 503's body was drained and its connection kept. */
    assert_int_equal(ss_accepted(e.ss), 1);
    ft_env_done(&e);
}

static void test_retry_after_honoured(void **state)
{
    (void)state;
    struct tether_policy p;
    fast_backoff(&p);
    struct script s = {1, 503, "Retry-After: 1\r\n", false};
    struct ft_env e;
    ft_env_init(&e, &p, script_cb, &s);
    struct ft_result r = {0};
    ft_get(&e.loop, e.client, e.url, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.retries, 1);
    assert_true(e.ev.last_delay_ms >= 1000);
    assert_true(r.duration_ms >= 1000);
    ft_env_done(&e);
}

static void test_retry_after_beyond_deadline(void **state)
{
    (void)state;
    struct tether_policy p;
    fast_backoff(&p);
    p.deadline_ms = 5000;
    struct script s = {100, 503, "Retry-After: 10\r\n", false};
    struct ft_env e;
    ft_env_init(&e, &p, script_cb, &s);
    struct ft_result r = {0};
    r.want_header = "Retry-After";
    ft_get(&e.loop, e.client, e.url, &r);
    /* Ends now with the server's answer, reporting what it asked for; never retries early. */
    assert_int_equal(r.code, 0);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "busy");
    assert_string_equal(r.header_value, "10");
    assert_int_equal(r.retry_after_ms, 10000);
    assert_int_equal(r.retries, 0);
    /* Had it slept towards the 10 s it was asked for, the deadline would have ended it. */
    assert_true(r.duration_ms < p.deadline_ms);
    assert_int_equal(e.ev.n[TETHER_EVENT_DEADLINE], 1);
    ft_env_done(&e);
}

static void test_post_503_not_retried(void **state)
{
    (void)state;
    struct tether_policy p;
    fast_backoff(&p);
    struct script s = {1, 503, "", false};
    struct ft_env e;
    ft_env_init(&e, &p, script_cb, &s);
    struct tether_fetch_options o;
    memset(&o, 0, sizeof(o));
    o.url = e.url;
    o.method = "POST";
    o.body = "x";
    o.body_len = 1;
    struct ft_result r = {0};
    ft_run(&e.loop, e.client, &o, &r, 5000);
    assert_int_equal(r.status, 503);
    assert_int_equal(r.attempts, 1);
    /* With an Idempotency-Key the same POST is retried. */
    s.fail_first = 2;
    o.idempotency_key = "k1";
    ft_run(&e.loop, e.client, &o, &r, 5000);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.retries, 1);
    ft_env_done(&e);
}

/* The first response on each new connection is cut mid-body with a reset. */
static void script_cut_body(struct ss_conn *c, unsigned index, const char *req, size_t len,
                            void *data)
{
    (void)index;
    (void)len;
    (void)data;
    (void)req;
    if (ss_conn_id(c) == 0) {
        ss_send_str(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234");
        ss_reset(c);
        return;
    }
    ss_respond(c, 200, "", "0123456789");
}

static bool count_body(tether_fetch *f, const char *data, size_t len)
{
    (void)f;
    (void)data;
    (void)len;
    return true;
}

static void test_mid_body_reset_restarts_collected(void **state)
{
    (void)state;
    struct tether_policy p;
    fast_backoff(&p);
    struct ft_env e;
    memset(&e, 0, sizeof(e));
    assert_int_equal(uv_loop_init(&e.loop), 0);
    struct tether_client_options co;
    tether_client_options_init(&co);
    co.policy = p;
    ASSERT_OK(tether_client_new(&e.loop, &co, &e.client));
    ft_watch_events(e.client, &e.ev);
    assert_int_equal(ss_start(&e.loop, script_cut_body, NULL, &e.ss), 0);
    (void)ft_url(e.url, sizeof(e.url), "http", ss_port(e.ss), "/");
    /* A collected body never reached the user: the GET starts over and the caller sees only
     * the complete body. */
    struct ft_result r = {0};
    ft_get(&e.loop, e.client, e.url, &r);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.body, "0123456789");
    assert_int_equal(r.retries, 1);
    ft_env_done(&e);

    /* Streamed to on_body, the first bytes are gone to the user: no blind restart. */
    memset(&e, 0, sizeof(e));
    assert_int_equal(uv_loop_init(&e.loop), 0);
    ASSERT_OK(tether_client_new(&e.loop, &co, &e.client));
    ft_watch_events(e.client, &e.ev);
    assert_int_equal(ss_start(&e.loop, script_cut_body, NULL, &e.ss), 0);
    (void)ft_url(e.url, sizeof(e.url), "http", ss_port(e.ss), "/");
    struct tether_fetch_options o;
    memset(&o, 0, sizeof(o));
    o.url = e.url;
    o.on_body = count_body;
    ft_run(&e.loop, e.client, &o, &r, 5000);
    /* RST or FIN after the partial body, depending on how the kernel delivered it. */
    assert_true(r.code == TETHER_ECONNRESET || r.code == TETHER_ETRUNCATED);
    assert_int_equal(r.failure.phase, TETHER_PHASE_READ_BODY);
    assert_int_equal(r.attempts, 1);
    ft_env_done(&e);
}

#define STORM 20

static void test_budget_bounds_storm(void **state)
{
    (void)state;
    struct tether_policy p;
    fast_backoff(&p);
    p.budget_min_retries_per_s = 0; /* only the 20 % ratio */
    struct script s = {1000000, 503, "", false};
    struct ft_env e;
    ft_env_init(&e, &p, script_cb, &s);
    struct tether_fetch_options o;
    memset(&o, 0, sizeof(o));
    o.url = e.url;
    struct ft_result *r = calloc(STORM, sizeof(*r));
    for (int i = 0; i < STORM; i++) {
        (void)ft_start(e.client, &o, &r[i]);
    }
    for (int i = 0; i < STORM; i++) {
        tt_test_loop_run_until(&e.loop, &r[i].done, 10000);
        assert_int_equal(r[i].status, 503);
    }
    struct tether_client_stats st;
    tether_client_get_stats(e.client, &st);
    /* 20 requests deposit 20; 20 % of that is 4 retries. The rest are refused, and each
     * refusal is counted and reported with the last real answer. */
    assert_true(st.retries <= 4);
    assert_true(st.retries >= 3);
    assert_true(st.budget_exhausted >= STORM - 4);
    assert_int_equal(st.budget_exhausted, e.ev.n[TETHER_EVENT_BUDGET_EXHAUSTED]);
    free(r);
    ft_env_done(&e);
}

static void test_deadline_across_attempts(void **state)
{
    (void)state;
    struct tether_policy p;
    tether_policy_defaults(&p);
    p.jitter = TETHER_JITTER_NONE;
    p.backoff_base_ms = 100;
    p.max_attempts = 10;
    p.deadline_ms = 3000;
    struct script s = {1000000, 503, "", false};
    struct ft_env e;
    ft_env_init(&e, &p, script_cb, &s);
    struct ft_result r = {0};
    ft_get(&e.loop, e.client, e.url, &r);
    /* 503s at 0, ~100, ~300, ~700 and ~1500 (sleeps 100, 200, 400, 800); the next sleep,
     * 1600 ms, would pass the 3 s deadline, so the fetch ends there with the last answer.
     * Sleeps never end early, so a sixth attempt could not start before 3.1 s on any machine,
     * and the fifth has 1.5 s of slack before the deadline: the count is exact, not lucky. */
    assert_int_equal(r.status, 503);
    assert_int_equal(r.attempts, 5);
    assert_true(r.duration_ms >= 1500 && r.duration_ms < p.deadline_ms);
    assert_int_equal(e.ev.n[TETHER_EVENT_DEADLINE], 1);
    ft_env_done(&e);

    /* The deadline also cuts an attempt short. */
    struct script silent = {0, 0, "", true};
    p.deadline_ms = 400;
    ft_env_init(&e, &p, script_cb, &silent);
    ft_get(&e.loop, e.client, e.url, &r);
    assert_int_equal(r.code, TETHER_EDEADLINE);
    assert_true(r.duration_ms >= 390 && r.duration_ms < T(1500));
    ft_env_done(&e);

    /* A per-fetch deadline overrides the policy's. */
    p.deadline_ms = 0;
    ft_env_init(&e, &p, script_cb, &silent);
    struct tether_fetch_options o;
    memset(&o, 0, sizeof(o));
    o.url = e.url;
    o.deadline_ms = 200;
    ft_run(&e.loop, e.client, &o, &r, 5000);
    assert_int_equal(r.code, TETHER_EDEADLINE);
    ft_env_done(&e);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_503_then_200),
        cmocka_unit_test(test_retry_after_honoured),
        cmocka_unit_test(test_retry_after_beyond_deadline),
        cmocka_unit_test(test_post_503_not_retried),
        cmocka_unit_test(test_budget_bounds_storm),
        cmocka_unit_test(test_mid_body_reset_restarts_collected),
        cmocka_unit_test(test_deadline_across_attempts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
