/* SPDX-License-Identifier: MIT */
/*
 * Transparent replay (client.md §6.2): a request that met a dead reused connection goes out
 * again at once on a new connection, but only when that cannot run it twice: GET (rule 11b),
 * any request with an Idempotency-Key, any request none of whose bytes reached the kernel
 * (rule 11a); never a POST whose bytes may have been delivered.
 */
#include <signal.h>

#include "test.h"

#include "fetch_helpers.h"
#include "loop.h"
#include "script_server.h"

/* The second request on a connection meets a reset after the server read it: the stale race
 * where the request reached the kernel just as the server closed. */
static void script_reset_second(struct ss_conn *c, unsigned index, const char *req, size_t len,
                                void *data)
{
    (void)req;
    (void)len;
    (void)data;
    if (index == 1) {
        ss_reset(c);
        return;
    }
    ss_respond(c, 200, "", "fine");
}

static void second_request(struct ft_env *e, const char *method, const char *key,
                           struct ft_result *r)
{
    struct ft_result first = {0};
    ft_get(&e->loop, e->client, e->url, &first);
    assert_int_equal(first.status, 200);
    struct tether_fetch_options o;
    memset(&o, 0, sizeof(o));
    o.url = e->url;
    o.method = method;
    o.idempotency_key = key;
    if (strcmp(method, "POST") == 0) {
        o.body = "{\"charge\":1}";
        o.body_len = strlen(o.body);
    }
    ft_run(&e->loop, e->client, &o, r, 5000);
}

static void test_get_replayed(void **state)
{
    (void)state;
    struct ft_env e;
    ft_env_init(&e, NULL, script_reset_second, NULL);
    struct ft_result r = {0};
    second_request(&e, "GET", NULL, &r);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "fine");
    /* A replay, not a retry: one attempt, no backoff, no budget. */
    assert_int_equal(r.replays, 1);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.retries, 0);
    assert_int_equal(e.ev.n[TETHER_EVENT_REPLAY], 1);
    assert_string_equal(e.ev.last_reason[TETHER_EVENT_REPLAY], "read ECONNRESET, 0 response bytes");
    struct tether_client_stats st;
    tether_client_get_stats(e.client, &st);
    assert_int_equal(st.replays, 1);
    assert_int_equal(st.retries, 0);
    /* Always on a fresh connection. */
    assert_int_equal(ss_accepted(e.ss), 2);
    ft_env_done(&e);
}

static void test_post_without_key_not_replayed(void **state)
{
    (void)state;
    struct ft_env e;
    ft_env_init(&e, NULL, script_reset_second, NULL);
    struct ft_result r = {0};
    second_request(&e, "POST", NULL, &r);
    assert_string_equal(r.msg, "read ECONNRESET");
    assert_int_equal(r.failure.retry_safe, TETHER_RETRY_SAFE_NO);
    assert_true(r.failure.reused);
    assert_true(r.failure.bytes_sent > 0);
    assert_int_equal(r.failure.bytes_received, 0);
    assert_int_equal(r.replays, 0);
    assert_int_equal(r.attempts, 1);
    /* The server saw the POST once and only once. */
    assert_int_equal(ss_requests(e.ss), 2);
    ft_env_done(&e);
}

static void test_post_with_key_replayed(void **state)
{
    (void)state;
    struct ft_env e;
    ft_env_init(&e, NULL, script_reset_second, NULL);
    struct ft_result r = {0};
    second_request(&e, "POST", "order-42", &r);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.replays, 1);
    ft_env_done(&e);
}

/* Rule 11(a): the server reset the idle connection; with nobody watching or probing, the
 * write fails before a byte reaches the kernel, so even a POST may go again. */
static unsigned idle_resets; /* how many times reset_now has run */

static void reset_now(struct ss_conn *c, void *arg)
{
    (void)arg;
    ss_reset(c);
    idle_resets++;
}

static void script_reset_idle(struct ss_conn *c, unsigned index, const char *req, size_t len,
                              void *data)
{
    (void)index;
    (void)req;
    (void)len;
    (void)data;
    ss_respond(c, 200, "", "fine");
    if (ss_conn_id(c) == 0) {
        ss_after(c, 50, reset_now, NULL);
    }
}

static void test_never_sent_post_replayed(void **state)
{
    (void)state;
    struct tether_policy p;
    tether_policy_defaults(&p);
    p.watch_idle = false;
    p.probe_on_checkout = false;
    struct ft_env e;
    ft_env_init(&e, &p, script_reset_idle, NULL);
    struct ft_result first = {0};
    idle_resets = 0;
    ft_get(&e.loop, e.client, e.url, &first);
    /* The POST must find the connection already reset: wait for the reset itself. */
    tt_test_loop_run_until_count(&e.loop, &idle_resets, 1, 5000);
    struct tether_fetch_options o;
    memset(&o, 0, sizeof(o));
    o.url = e.url;
    o.method = "POST";
    o.body = "x";
    o.body_len = 1;
    struct ft_result r = {0};
    ft_run(&e.loop, e.client, &o, &r, 5000);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.replays, 1);
    assert_int_equal(e.ev.n[TETHER_EVENT_ATTEMPT_FAILED], 1);
    assert_non_null(strstr(e.ev.last_reason[TETHER_EVENT_REPLAY], "write "));
    assert_int_equal(ss_requests(e.ss), 2);
    ft_env_done(&e);
}

/* The naive policy has no replay: the same race is a user-visible failure. */
static void test_naive_does_not_replay(void **state)
{
    (void)state;
    struct tether_policy p;
    tether_policy_naive(&p);
    struct ft_env e;
    ft_env_init(&e, &p, script_reset_second, NULL);
    struct ft_result r = {0};
    second_request(&e, "GET", NULL, &r);
    assert_string_equal(r.msg, "read ECONNRESET");
    assert_int_equal(r.failure.retry_safe, TETHER_RETRY_SAFE_YES);
    assert_int_equal(r.replays, 0);
    ft_env_done(&e);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_replayed),
        cmocka_unit_test(test_post_without_key_not_replayed),
        cmocka_unit_test(test_post_with_key_replayed),
        cmocka_unit_test(test_never_sent_post_replayed),
        cmocka_unit_test(test_naive_does_not_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
