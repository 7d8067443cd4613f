/* SPDX-License-Identifier: MIT */
/*
 * The circuit breaker in the client, against a scripted server: 5xx trips it and 4xx does not,
 * an open breaker fails the fetch at once without dialling and with its own message, retries
 * ask it first, exactly one of several concurrent fetches probes when it half-opens, a probe
 * that hangs past its limit re-opens it, a successful probe closes it, and the per-origin
 * stats and events say so.
 */
#include <stdio.h>
#include <stdlib.h>

#include "test.h"

#include "fetch_helpers.h"
#include "loop.h"
#include "script_server.h"

/* The first `fail_first` requests get `fail_status`; later ones 200, or nothing when
 * `silent_after`. */
struct script {
    unsigned fail_first;
    int fail_status;
    bool silent_after;
};

static void script_cb(struct ss_conn *c, unsigned index, const char *req, size_t len, void *data)
{
    struct script *s = data;
    (void)index;
    (void)req;
    (void)len;
    unsigned n = ss_requests(ss_conn_server(c));
    if (n <= s->fail_first) {
        ss_respond(c, s->fail_status, "", "busy");
    } else if (!s->silent_after) {
        ss_respond(c, 200, "", "ok");
    }
}

/* Breaker on, tripping after `streak` failures, open for `open_ms`; no retries. */
static void breaker_policy(struct tether_policy *p, unsigned streak, uint64_t open_ms)
{
    tether_policy_defaults(p);
    p->max_attempts = 1;
    p->breaker = TETHER_BREAKER_ON;
    p->breaker_consecutive_failures = streak;
    p->breaker_open_ms = open_ms;
    p->breaker_open_max_ms = open_ms;
    p->breaker_probe_timeout_ms = 60000;
}

static void origin_stats(tether_client *c, struct tether_origin_stats *os)
{
    assert_true(tether_client_origin_stats(c, 0, os));
    struct tether_origin_stats none;
    assert_false(tether_client_origin_stats(c, 1, &none));
}

static void test_trips_and_fails_fast(void **state)
{
    (void)state;
    struct tether_policy p;
    breaker_policy(&p, 3, 600000);
    struct script s = {100, 503, false};
    struct ft_env e;
    ft_env_init(&e, &p, script_cb, &s);
    struct ft_result r;
    for (int i = 0; i < 3; i++) {
        memset(&r, 0, sizeof(r));
        ft_get(&e.loop, e.client, e.url, &r);
        assert_int_equal(r.code, 0);
        assert_int_equal(r.status, 503);
    }
    assert_int_equal(e.ev.n[TETHER_EVENT_BREAKER_OPEN], 1);
    assert_string_equal(e.ev.last_reason[TETHER_EVENT_BREAKER_OPEN], "3 consecutive failures");
    /* Open: the fetch fails at once with its own error and is never dialled. */
    memset(&r, 0, sizeof(r));
    ft_get(&e.loop, e.client, e.url, &r);
    assert_int_equal(r.code, TETHER_EBREAKER);
    assert_int_equal(r.attempts, 0);
    assert_int_equal(r.failure.retry_safe, TETHER_RETRY_SAFE_YES);
    char origin[64];
    (void)snprintf(origin, sizeof(origin), "http://127.0.0.1:%u", (unsigned)ss_port(e.ss));
    char want[128];
    (void)snprintf(want, sizeof(want), "circuit open for %s, retry in ", origin);
    if (strncmp(r.msg, want, strlen(want)) != 0) {
        fail_msg("message \"%s\", expected it to start with \"%s\"", r.msg, want);
    }
    unsigned long retry_in = strtoul(r.msg + strlen(want), NULL, 10);
    assert_true(retry_in > 0 && retry_in <= 600000);
    assert_string_equal(r.msg + strlen(r.msg) - 3, " ms");
    assert_int_equal(ss_requests(e.ss), 3);
    assert_int_equal(e.ev.n[TETHER_EVENT_CONN_NEW], 1);

    struct tether_origin_stats os;
    origin_stats(e.client, &os);
    assert_string_equal(os.origin, origin);
    assert_int_equal(os.breaker_mode, TETHER_BREAKER_ON);
    assert_int_equal(os.breaker_state, TETHER_BREAKER_STATE_OPEN);
    assert_true(os.breaker_retry_in_ms > 0 && os.breaker_retry_in_ms <= 600000);
    assert_int_equal(os.breaker_calls, 3);
    assert_int_equal(os.breaker_failures, 3);
    assert_int_equal(os.breaker_rejected, 1);
    assert_int_equal(os.breaker_opened, 1);
    struct tether_client_stats st;
    tether_client_get_stats(e.client, &st);
    assert_int_equal(st.breaker_rejected, 1);
    assert_int_equal(st.breaker_opened, 1);
    assert_int_equal(st.failed, 1);
    ft_env_done(&e);
}

static void test_4xx_never_trips(void **state)
{
    (void)state;
    struct tether_policy p;
    breaker_policy(&p, 3, 600000);
    struct script s = {100, 404, false};
    struct ft_env e;
    ft_env_init(&e, &p, script_cb, &s);
    for (int i = 0; i < 10; i++) {
        struct ft_result r = {0};
        ft_get(&e.loop, e.client, e.url, &r);
        assert_int_equal(r.status, 404);
    }
    assert_int_equal(e.ev.n[TETHER_EVENT_BREAKER_OPEN], 0);
    struct tether_origin_stats os;
    origin_stats(e.client, &os);
    assert_int_equal(os.breaker_state, TETHER_BREAKER_STATE_CLOSED);
    assert_int_equal(os.breaker_calls, 10);
    assert_int_equal(os.breaker_failures, 0);
    assert_int_equal(os.breaker_window_calls, 10);
    ft_env_done(&e);
}

static void test_retry_asks_breaker(void **state)
{
    (void)state;
    struct tether_policy p;
    breaker_policy(&p, 2, 600000);
    p.max_attempts = 5;
    p.backoff_base_ms = 1;
    p.backoff_cap_ms = 5;
    struct script s = {100, 503, false};
    struct ft_env e;
    ft_env_init(&e, &p, script_cb, &s);
    struct ft_result r = {0};
    ft_get(&e.loop, e.client, e.url, &r);
    /* The second 503 opened the breaker; the retry already scheduled is refused, not sent. */
    assert_int_equal(r.code, TETHER_EBREAKER);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(ss_requests(e.ss), 2);
    assert_int_equal(e.ev.n[TETHER_EVENT_BREAKER_OPEN], 1);
    ft_env_done(&e);
}

/* Three fetches run side by side. */
struct many {
    struct ft_result r[3];
    unsigned done;
};

static void run_three(struct ft_env *e, struct many *m)
{
    memset(m, 0, sizeof(*m));
    struct tether_fetch_options o;
    tether_fetch_options_init(&o);
    o.url = e->url;
    for (int i = 0; i < 3; i++) {
        assert_non_null(ft_start(e->client, &o, &m->r[i]));
    }
}

static unsigned count_code(const struct many *m, int code)
{
    unsigned n = 0;
    for (int i = 0; i < 3; i++) {
        n += m->r[i].done && m->r[i].code == code;
    }
    return n;
}

static void test_one_probe_then_recovery(void **state)
{
    (void)state;
    struct tether_policy p;
    breaker_policy(&p, 3, 50);
    struct script s = {3, 503, false};
    struct ft_env e;
    ft_env_init(&e, &p, script_cb, &s);
    for (int i = 0; i < 3; i++) {
        struct ft_result r = {0};
        ft_get(&e.loop, e.client, e.url, &r);
    }
    assert_int_equal(e.ev.n[TETHER_EVENT_BREAKER_OPEN], 1);
    /* Once the open interval is over, three fetches at once: one probe goes, two are refused. */
    tt_test_loop_run_for(&e.loop, 60);
    struct many m;
    run_three(&e, &m);
    unsigned done = 0;
    while (done < 3) {
        tt_test_loop_run_until(&e.loop, &m.r[done].done, 5000);
        done++;
    }
    assert_int_equal(count_code(&m, TETHER_EBREAKER), 2);
    assert_int_equal(count_code(&m, 0), 1);
    assert_int_equal(ss_requests(e.ss), 4);
    assert_int_equal(e.ev.n[TETHER_EVENT_BREAKER_HALF_OPEN], 1);
    assert_int_equal(e.ev.n[TETHER_EVENT_BREAKER_CLOSED], 1);
    assert_string_equal(e.ev.last_reason[TETHER_EVENT_BREAKER_CLOSED], "probe succeeded");
    /* Closed again: everything goes. */
    run_three(&e, &m);
    for (int i = 0; i < 3; i++) {
        tt_test_loop_run_until(&e.loop, &m.r[i].done, 5000);
    }
    assert_int_equal(count_code(&m, 0), 3);
    struct tether_origin_stats os;
    origin_stats(e.client, &os);
    assert_int_equal(os.breaker_state, TETHER_BREAKER_STATE_CLOSED);
    assert_int_equal(os.breaker_probes, 1);
    assert_int_equal(os.breaker_rejected, 2);
    ft_env_done(&e);
}

static void test_probe_timeout(void **state)
{
    (void)state;
    struct tether_policy p;
    breaker_policy(&p, 3, 30);
    p.breaker_probe_timeout_ms = 50;
    struct script s = {3, 503, true};
    struct ft_env e;
    ft_env_init(&e, &p, script_cb, &s);
    for (int i = 0; i < 3; i++) {
        struct ft_result r = {0};
        ft_get(&e.loop, e.client, e.url, &r);
    }
    tt_test_loop_run_for(&e.loop, 40);
    /* The probe is sent and never answered. */
    struct ft_result probe = {0};
    struct tether_fetch_options o;
    tether_fetch_options_init(&o);
    o.url = e.url;
    tether_fetch *pf = ft_start(e.client, &o, &probe);
    tt_test_loop_run_until_count(&e.loop, &e.ev.n[TETHER_EVENT_BREAKER_HALF_OPEN], 1, 5000);
    tt_test_loop_run_for(&e.loop, 60);
    /* Past its limit: the next caller finds the probe failed and the breaker open again. */
    struct ft_result r = {0};
    ft_get(&e.loop, e.client, e.url, &r);
    assert_int_equal(r.code, TETHER_EBREAKER);
    assert_int_equal(e.ev.n[TETHER_EVENT_BREAKER_OPEN], 2);
    assert_string_equal(e.ev.last_reason[TETHER_EVENT_BREAKER_OPEN], "probe timed out");
    struct tether_origin_stats os;
    origin_stats(e.client, &os);
    assert_int_equal(os.breaker_probe_timeouts, 1);
    /* The hung probe, cancelled, changes nothing. */
    tether_fetch_cancel(pf);
    tt_test_loop_run_until(&e.loop, &probe.done, 5000);
    assert_int_equal(probe.code, TETHER_ECANCELED);
    origin_stats(e.client, &os);
    assert_int_equal(os.breaker_state, TETHER_BREAKER_STATE_OPEN);
    assert_int_equal(os.breaker_probes, 1);
    assert_int_equal(e.ev.n[TETHER_EVENT_BREAKER_HALF_OPEN], 1);
    ft_env_done(&e);
}

static void test_forced_open_and_off(void **state)
{
    (void)state;
    struct tether_policy p;
    breaker_policy(&p, 3, 50);
    p.breaker = TETHER_BREAKER_FORCED_OPEN;
    struct script s = {0, 503, false};
    struct ft_env e;
    ft_env_init(&e, &p, script_cb, &s);
    struct ft_result r = {0};
    ft_get(&e.loop, e.client, e.url, &r);
    assert_int_equal(r.code, TETHER_EBREAKER);
    char want[128];
    (void)snprintf(want, sizeof(want), "circuit open for http://127.0.0.1:%u (forced open)",
                   (unsigned)ss_port(e.ss));
    assert_string_equal(r.msg, want);
    assert_int_equal(ss_requests(e.ss), 0);
    ft_env_done(&e);

    /* The library's default: off, however many 503s. */
    tether_policy_defaults(&p);
    p.max_attempts = 1;
    struct script s2 = {100, 503, false};
    ft_env_init(&e, &p, script_cb, &s2);
    for (int i = 0; i < 8; i++) {
        memset(&r, 0, sizeof(r));
        ft_get(&e.loop, e.client, e.url, &r);
        assert_int_equal(r.status, 503);
    }
    assert_int_equal(e.ev.n[TETHER_EVENT_BREAKER_OPEN], 0);
    struct tether_origin_stats os;
    origin_stats(e.client, &os);
    assert_int_equal(os.breaker_mode, TETHER_BREAKER_OFF);
    assert_int_equal(os.breaker_calls, 0);
    ft_env_done(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trips_and_fails_fast), cmocka_unit_test(test_4xx_never_trips),
        cmocka_unit_test(test_retry_asks_breaker),   cmocka_unit_test(test_one_probe_then_recovery),
        cmocka_unit_test(test_probe_timeout),        cmocka_unit_test(test_forced_open_and_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
