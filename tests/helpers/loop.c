/* SPDX-License-Identifier: MIT */
/* Time-bounded libuv loop runs and leak-checked loop teardown for tests. */
#include <netinet/in.h>
#include <stdio.h>

#include <stdlib.h>

#include "loop.h"
#include "test.h"

#include "core/defer.h"

/* The next-turn queues handed out by tt_test_defer, one per loop, closed with the loop. */
#define LOOP_MAX_DEFERS 8
static struct {
    uv_loop_t *loop;
    struct tt__defer *defer;
} loop_defers[LOOP_MAX_DEFERS];

struct tt__defer *tt_test_defer(uv_loop_t *loop)
{
    size_t free_slot = LOOP_MAX_DEFERS;
    for (size_t i = 0; i < LOOP_MAX_DEFERS; i++) {
        if (loop_defers[i].loop == loop) {
            return loop_defers[i].defer;
        }
        if (!loop_defers[i].loop && free_slot == LOOP_MAX_DEFERS) {
            free_slot = i;
        }
    }
    assert_true(free_slot < LOOP_MAX_DEFERS);
    struct tt__defer *d = calloc(1, sizeof(*d));
    assert_non_null(d);
    tt__defer_init(loop, d);
    loop_defers[free_slot].loop = loop;
    loop_defers[free_slot].defer = d;
    return d;
}

static void loop_defer_closed(struct tt__defer *d)
{
    free(d);
}

/* Closes the loop's queue, if it has one; its memory goes in the close callback. */
static void loop_close_defer(uv_loop_t *loop)
{
    for (size_t i = 0; i < LOOP_MAX_DEFERS; i++) {
        if (loop_defers[i].loop == loop) {
            tt__defer_close(loop_defers[i].defer, loop_defer_closed);
            loop_defers[i].loop = NULL;
            loop_defers[i].defer = NULL;
        }
    }
}

static void loop_guard_fired(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

static void loop_guard_closed(uv_handle_t *h)
{
    *(bool *)h->data = true;
}

/* What a guarded run waits for: a flag, a counter reaching a value, or nothing (run_for). */
struct loop_goal {
    const bool *done;
    const unsigned *count;
    unsigned want;
};

static bool loop_goal_met(const struct loop_goal *g)
{
    return (g->done && *g->done) || (g->count && *g->count >= g->want);
}

/* Runs until the goal is met or the guard fires; the guard lives on this frame, so it is
 * closed (and its close callback has run) before returning. */
static bool loop_run_guarded(uv_loop_t *loop, const struct loop_goal *g, uint64_t ms)
{
    uv_timer_t guard;
    bool fired = false;
    bool closed = false;
    (void)uv_timer_init(loop, &guard);
    guard.data = &fired;
    (void)uv_timer_start(&guard, loop_guard_fired, ms, 0);
    while (!loop_goal_met(g) && !fired) {
        (void)uv_run(loop, UV_RUN_ONCE);
    }
    guard.data = &closed;
    uv_close((uv_handle_t *)&guard, loop_guard_closed);
    while (!closed) {
        (void)uv_run(loop, UV_RUN_NOWAIT);
    }
    return loop_goal_met(g);
}

void tt_test_loop_run_until(uv_loop_t *loop, const bool *done, uint64_t timeout_ms)
{
    struct loop_goal g = {done, NULL, 0};
    uint64_t ms = tt_test_scale_ms(timeout_ms);
    if (!loop_run_guarded(loop, &g, ms)) {
        fail_msg("the loop did not finish within %llu ms", (unsigned long long)ms);
    }
}

void tt_test_loop_run_until_count(uv_loop_t *loop, const unsigned *count, unsigned want,
                                  uint64_t timeout_ms)
{
    struct loop_goal g = {NULL, count, want};
    uint64_t ms = tt_test_scale_ms(timeout_ms);
    if (!loop_run_guarded(loop, &g, ms)) {
        fail_msg("the count reached %u, not %u, within %llu ms", *count, want,
                 (unsigned long long)ms);
    }
}

void tt_test_loop_run_for(uv_loop_t *loop, uint64_t ms)
{
    struct loop_goal g = {NULL, NULL, 0};
    (void)loop_run_guarded(loop, &g, ms);
}

static void loop_walk_report(uv_handle_t *h, void *arg)
{
    (void)arg;
    fprintf(stderr, "leaked handle: %s%s\n", uv_handle_type_name(uv_handle_get_type(h)),
            uv_is_closing(h) ? " (closing)" : "");
}

/* How long tt_test_loop_close lets pending closes and requests finish (scaled). */
#define LOOP_CLOSE_MS 2000u

void tt_test_loop_close(uv_loop_t *loop)
{
    /* Close callbacks run one turn after uv_close, and may close more (a chain), or wait for a
     * write or shutdown request to complete first. So the loop runs while anything is still
     * alive - a closing handle, an active request, a pending callback, a referenced handle -
     * bounded by time, not by a number of turns: a busy machine may need more turns, a leak
     * must not hang the test. What is still open afterwards is reported as leaked. */
    uint64_t stop = tt_test_now_ms() + tt_test_scale_ms(LOOP_CLOSE_MS);
    loop_close_defer(loop);
    (void)uv_run(loop, UV_RUN_NOWAIT);
    while (uv_loop_alive(loop) && tt_test_now_ms() < stop) {
        if (uv_run(loop, UV_RUN_NOWAIT) != 0) {
            /* Alive but nothing was ready: wait a little for the kernel or the threadpool
             * rather than spin. */
            uv_sleep(1);
        }
    }
    int r = uv_loop_close(loop);
    if (r != 0) {
        uv_walk(loop, loop_walk_report, NULL);
        fail_msg("uv_loop_close: %s", uv_err_name(r));
    }
}

uint64_t tt_test_now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

uint16_t tt_test_tcp_listen(uv_loop_t *loop, uv_tcp_t *listener, void *data, int backlog,
                            uv_connection_cb on_connection)
{
    struct sockaddr_in addr;
    struct sockaddr_storage ss;
    int len = (int)sizeof(ss);
    ASSERT_OK(uv_ip4_addr("127.0.0.1", 0, &addr));
    ASSERT_OK(uv_tcp_init(loop, listener));
    listener->data = data;
    ASSERT_OK(uv_tcp_bind(listener, (const struct sockaddr *)&addr, 0));
    ASSERT_OK(uv_listen((uv_stream_t *)listener, backlog, on_connection));
    ASSERT_OK(uv_tcp_getsockname(listener, (struct sockaddr *)&ss, &len));
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}
