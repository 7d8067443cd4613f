/* SPDX-License-Identifier: MIT */
/*
 * Streamed request bodies (body_stream, tether_fetch_write) against a scripted server: the
 * keep-alive race replays a keyed streamed POST while its body is still kept, and does not
 * once the body passed the replay buffer (its bytes went out and were dropped); the bad calls
 * are refused with TETHER_EINVAL; a streamed body arrives whole with its Content-Length.
 */
#include "test.h"

#include "fetch_helpers.h"
#include "loop.h"
#include "script_server.h"

#define BODY "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" /* 64 bytes */

static unsigned bodies_ok; /* requests whose body the server got whole */

/* The second request on a connection meets a reset after the server read it (the stale race);
 * every other request is answered, and its body checked. */
static void script_reset_second(struct ss_conn *c, unsigned index, const char *req, size_t len,
                                void *data)
{
    (void)len;
    (void)data;
    if (index == 1) {
        ss_reset(c);
        return;
    }
    const char *body = strstr(req, "\r\n\r\n");
    if (body && strcmp(body + 4, BODY) == 0) {
        bodies_ok++;
    }
    ss_respond(c, 200, "", "fine");
}

struct run {
    unsigned done;
    int status;
};

static void on_done(tether_fetch *f, int status)
{
    struct run *r = tether_fetch_get_data(f);
    r->status = status;
    r->done++;
}

/* A streamed POST whose whole body is supplied right after the fetch starts. */
static tether_fetch *streamed_post(struct ft_env *e, const char *key, struct run *r)
{
    struct tether_fetch_options o;
    tether_fetch_options_init(&o);
    o.url = e->url;
    o.method = "POST";
    o.idempotency_key = key;
    o.body_stream = true;
    o.body_stream_length = strlen(BODY);
    o.data = r;
    tether_fetch *f = NULL;
    ASSERT_OK(tether_client_fetch(e->client, &o, on_done, &f));
    assert_int_equal(tether_fetch_write(f, BODY, 20, false), 0);
    assert_int_equal(tether_fetch_write(f, BODY + 20, strlen(BODY) - 20, true), 0);
    /* The body has ended: more is refused. */
    assert_int_equal(tether_fetch_write(f, "x", 1, true), TETHER_EINVAL);
    tt_test_loop_run_until_count(&e->loop, &r->done, 1, tt_test_scale_ms(5000));
    return f;
}

static void race(size_t replay_buffer, struct run *r, tether_fetch **out, struct ft_env *e)
{
    struct tether_policy p;
    tether_policy_defaults(&p);
    p.watch_idle = false; /* the race must reach the fetch: nobody evicts the connection */
    p.probe_on_checkout = false;
    p.replay_buffer_bytes = replay_buffer;
    bodies_ok = 0;
    ft_env_init(e, &p, script_reset_second, NULL);
    struct ft_result first = {0};
    ft_get(&e->loop, e->client, e->url, &first);
    assert_int_equal(first.status, 200);
    *out = streamed_post(e, "order-7", r);
}

static void test_kept_body_is_replayed(void **state)
{
    (void)state;
    struct ft_env e;
    struct run r = {0};
    tether_fetch *f = NULL;
    race(1024, &r, &f, &e);
    assert_int_equal(r.status, 0);
    assert_int_equal(tether_fetch_status(f), 200);
    assert_int_equal(tether_fetch_replays(f), 1);
    assert_int_equal(bodies_ok, 1); /* the replay carried the whole body */
    tether_fetch_free(f);
    ft_env_done(&e);
}

static void test_dropped_body_is_not_replayed(void **state)
{
    (void)state;
    struct ft_env e;
    struct run r = {0};
    tether_fetch *f = NULL;
    race(16, &r, &f, &e); /* 64 bytes > 16: the bytes that went out were dropped */
    assert_int_equal(r.status, TETHER_ECONNRESET);
    const struct tether_failure *fl = tether_fetch_failure(f);
    assert_int_equal(fl->retry_safe, TETHER_RETRY_SAFE_NO);
    assert_true(fl->bytes_sent > 0);
    assert_int_equal(tether_fetch_replays(f), 0);
    assert_int_equal(tether_fetch_attempts(f), 1);
    assert_int_equal(ss_requests(e.ss), 2); /* the server saw it once */
    tether_fetch_free(f);
    ft_env_done(&e);
}

static void test_bad_calls_refused(void **state)
{
    (void)state;
    struct ft_env e;
    ft_env_init(&e, NULL, script_reset_second, NULL);
    char why[256] = "";
    struct tether_fetch_options o;
    tether_fetch_options_init(&o);
    o.url = e.url;
    o.method = "POST";
    o.errbuf = why;
    o.errbuf_len = sizeof(why);
    o.body_stream = true;
    o.body_stream_length = 4;
    o.max_redirects = 3;
    tether_fetch *f = NULL;
    assert_int_equal(tether_client_fetch(e.client, &o, on_done, &f), TETHER_EINVAL);
    assert_non_null(strstr(why, "max_redirects with a streamed body"));
    o.max_redirects = 0;
    o.body = "abcd";
    o.body_len = 4;
    assert_int_equal(tether_client_fetch(e.client, &o, on_done, &f), TETHER_EINVAL);
    assert_non_null(strstr(why, "body_stream and a body in memory"));
    o.body = NULL;
    o.body_len = 0;
    struct run r = {0};
    o.data = &r;
    ASSERT_OK(tether_client_fetch(e.client, &o, on_done, &f));
    assert_int_equal(tether_fetch_write(f, "abcde", 5, false), TETHER_EINVAL); /* over 4 */
    assert_int_equal(tether_fetch_write(f, "abc", 3, true), TETHER_EINVAL);    /* short */
    assert_int_equal(tether_fetch_write(f, NULL, 3, false), TETHER_EINVAL);
    assert_int_equal(tether_fetch_write(NULL, "a", 1, false), TETHER_EINVAL);
    tether_fetch_cancel(f);
    assert_int_equal(tether_fetch_write(f, "abcd", 4, true), TETHER_ECANCELED);
    tt_test_loop_run_until_count(&e.loop, &r.done, 1, tt_test_scale_ms(5000));
    assert_int_equal(r.status, TETHER_ECANCELED);
    tether_fetch_free(f);
    /* A fetch without body_stream takes no streamed bytes. */
    struct run g = {0};
    tether_fetch_options_init(&o);
    o.url = e.url;
    o.data = &g;
    ASSERT_OK(tether_client_fetch(e.client, &o, on_done, &f));
    assert_int_equal(tether_fetch_write(f, "a", 1, true), TETHER_EINVAL);
    tt_test_loop_run_until_count(&e.loop, &g.done, 1, tt_test_scale_ms(5000));
    assert_int_equal(g.status, 0);
    tether_fetch_free(f);
    ft_env_done(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kept_body_is_replayed),
        cmocka_unit_test(test_dropped_body_is_not_replayed),
        cmocka_unit_test(test_bad_calls_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
