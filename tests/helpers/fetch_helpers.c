/* SPDX-License-Identifier: MIT */
/* Client test shorthands (see fetch_helpers.h). */
#include <stdio.h>
#include <string.h>

#include "fetch_helpers.h"
#include "loop.h"
#include "test.h"

static void ft_done(tether_fetch *f, int status)
{
    struct ft_result *r = tether_fetch_get_data(f);
    const struct tether_failure *fl = tether_fetch_failure(f);
    /* The callback's status is the failure record's code, whatever the outcome. */
    assert_int_equal(status, fl->code);
    r->done = true;
    r->done_calls++;
    r->code = fl->code;
    r->failure = *fl;
    r->msg[0] = '\0';
    if (fl->code) {
        (void)tether_failure_message(fl, r->msg, sizeof(r->msg));
    }
    r->status = tether_fetch_status(f);
    size_t len = 0;
    const char *body = tether_fetch_body(f, &len);
    r->body_len = len;
    if (len >= sizeof(r->body)) {
        len = sizeof(r->body) - 1;
    }
    if (body) {
        memcpy(r->body, body, len);
    }
    r->body[len] = '\0';
    r->attempts = tether_fetch_attempts(f);
    r->retries = tether_fetch_retries(f);
    r->replays = tether_fetch_replays(f);
    r->duration_ms = tether_fetch_duration_ms(f);
    r->retry_after_ms = tether_fetch_retry_after_ms(f);
    r->header_value[0] = '\0';
    if (r->want_header) {
        const char *v = tether_fetch_header(f, r->want_header);
        if (v) {
            (void)snprintf(r->header_value, sizeof(r->header_value), "%s", v);
        }
    }
    tether_fetch_free(f);
}

tether_client *ft_client_new(uv_loop_t *loop, const struct tether_policy *p)
{
    struct tether_client_options co;
    tether_client_options_init(&co);
    if (p) {
        co.policy = *p;
    }
    tether_client *c = NULL;
    ASSERT_OK(tether_client_new(loop, &co, &c));
    return c;
}

tether_fetch *ft_start(tether_client *c, const struct tether_fetch_options *o, struct ft_result *r)
{
    const char *want = r->want_header;
    memset(r, 0, sizeof(*r));
    r->want_header = want;
    struct tether_fetch_options opts = *o;
    opts.data = r;
    tether_fetch *f = NULL;
    ASSERT_OK(tether_client_fetch(c, &opts, ft_done, &f));
    /* The callback never runs inside tether_client_fetch. */
    assert_false(r->done);
    return f;
}

void ft_run(uv_loop_t *loop, tether_client *c, const struct tether_fetch_options *o,
            struct ft_result *r, uint64_t timeout_ms)
{
    (void)ft_start(c, o, r);
    tt_test_loop_run_until(loop, &r->done, timeout_ms);
    assert_int_equal(r->done_calls, 1);
}

void ft_get(uv_loop_t *loop, tether_client *c, const char *url, struct ft_result *r)
{
    struct tether_fetch_options o;
    memset(&o, 0, sizeof(o));
    o.url = url;
    ft_run(loop, c, &o, r, 10000);
}

void ft_env_init(struct ft_env *e, const struct tether_policy *p, ss_request_cb script, void *data)
{
    memset(e, 0, sizeof(*e));
    assert_int_equal(uv_loop_init(&e->loop), 0);
    e->client = ft_client_new(&e->loop, p);
    ft_watch_events(e->client, &e->ev);
    assert_int_equal(ss_start(&e->loop, script, data, &e->ss), 0);
    (void)ft_url(e->url, sizeof(e->url), "http", ss_port(e->ss), "/");
}

void ft_env_done(struct ft_env *e)
{
    ft_close_client(&e->loop, e->client);
    ss_stop(e->ss);
    tt_test_loop_close(&e->loop);
}

const char *ft_url(char *buf, size_t len, const char *scheme, uint16_t port, const char *path)
{
    (void)snprintf(buf, len, "%s://127.0.0.1:%u%s", scheme, (unsigned)port, path);
    return buf;
}

void ft_events_cb(tether_client *c, const struct tether_event *ev)
{
    struct ft_events *e = tether_client_get_data(c);
    unsigned t = (unsigned)ev->type;
    if (t < 16) {
        e->n[t]++;
        e->last_idle_ms[t] = ev->idle_ms;
        e->last_at_ms[t] = tt_test_now_ms();
        (void)snprintf(e->last_reason[t], sizeof(e->last_reason[t]), "%s",
                       ev->reason ? ev->reason : "");
    }
    if (ev->type == TETHER_EVENT_RETRY_SCHEDULED) {
        e->last_delay_ms = ev->delay_ms;
    }
}

static void ft_client_closed(void *data)
{
    *(bool *)data = true;
}

void ft_close_client(uv_loop_t *loop, tether_client *c)
{
    bool closed = false;
    tether_client_close(c, ft_client_closed, &closed);
    tt_test_loop_run_until(loop, &closed, 5000);
}

void ft_watch_events(tether_client *c, struct ft_events *e)
{
    tether_client_set_data(c, e);
    tether_client_on_event(c, ft_events_cb);
}
