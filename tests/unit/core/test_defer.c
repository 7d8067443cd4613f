/* SPDX-License-Identifier: MIT */
/* The next-loop-turn queue: never inside the call that queues, after I/O was polled, one batch
 * per turn, re-queueing a queued item changes nothing, cancel, and closing after the queue. */
#include <unistd.h>

#include "test.h"

#include "core/defer.h"
#include "loop.h"

struct probe {
    struct tt__defer_item item;
    struct tt__defer *d;
    int runs;
    int order; /* the global sequence number of the last run */
    bool requeue_self;
};

static int seq;

static void probe_run(struct tt__defer_item *it)
{
    struct probe *p = tt__container_of(it, struct probe, item);
    p->runs++;
    p->order = ++seq;
    if (p->requeue_self) {
        p->requeue_self = false;
        tt__defer_queue(p->d, &p->item); /* for the next turn, not this batch */
    }
}

static void probe_init(struct probe *p, struct tt__defer *d)
{
    memset(p, 0, sizeof(*p));
    p->d = d;
    tt__defer_item_init(&p->item, probe_run);
}

static void on_closed(struct tt__defer *d)
{
    *(bool *)d->data = true;
}

static void test_order_and_requeue(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct tt__defer d;
    tt__defer_init(&loop, &d);
    struct probe a, b, c;
    probe_init(&a, &d);
    probe_init(&b, &d);
    probe_init(&c, &d);
    seq = 0;
    tt__defer_queue(&d, &a.item);
    tt__defer_queue(&d, &b.item);
    /* Queueing a queued item again keeps it where it is and keeps the items behind it (the
     * server's drain callbacks once lost everything behind a re-queued request). */
    tt__defer_queue(&d, &a.item);
    tt__defer_queue(&d, &c.item);
    tt__defer_cancel(&c.item);
    assert_int_equal(a.runs + b.runs + c.runs, 0); /* never inside the queueing call */
    a.requeue_self = true;
    assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 1); /* one turn: one batch */
    assert_int_equal(a.runs, 1);
    assert_int_equal(b.runs, 1);
    assert_int_equal(c.runs, 0);
    assert_int_equal(a.order, 1);
    assert_int_equal(b.order, 2);
    (void)uv_run(&loop, UV_RUN_NOWAIT); /* a queued itself again: the next turn runs it */
    assert_int_equal(a.runs, 2);
    assert_int_equal(b.runs, 1);
    /* Nothing queued: the queue holds the loop no longer. */
    assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 0);

    /* Closing runs what is queued first, then calls back on a later turn. */
    bool closed = false;
    d.data = &closed;
    tt__defer_queue(&d, &b.item);
    tt__defer_close(&d, on_closed);
    assert_false(closed);
    tt__defer_close(&d, on_closed); /* a second close is ignored */
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(b.runs, 2);
    assert_true(closed);
    tt_test_loop_close(&loop);
}

static void test_close_when_empty(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct tt__defer d;
    tt__defer_init(&loop, &d);
    bool closed = false;
    d.data = &closed;
    tt__defer_close(&d, on_closed);
    assert_false(closed); /* never inside the call */
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_true(closed);
    tt_test_loop_close(&loop);
}

/* The queue runs after the loop polled for I/O: a socket that became readable before the turn
 * is seen by its watcher before the deferred item runs. */
struct io_order {
    struct tt__defer_item item;
    uv_poll_t poll;
    int fds[2];
    int step;
    int io_at;
    int deferred_at;
};

static void io_deferred(struct tt__defer_item *it)
{
    struct io_order *o = tt__container_of(it, struct io_order, item);
    o->deferred_at = ++o->step;
}

static void io_readable(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    struct io_order *o = p->data;
    if (!o->io_at) {
        o->io_at = ++o->step;
    }
    (void)uv_poll_stop(p);
}

static void test_after_io(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct io_order o;
    memset(&o, 0, sizeof(o));
    assert_int_equal(pipe(o.fds), 0);
    assert_int_equal(uv_poll_init(&loop, &o.poll, o.fds[0]), 0);
    o.poll.data = &o;
    assert_int_equal(uv_poll_start(&o.poll, UV_READABLE, io_readable), 0);
    assert_int_equal(write(o.fds[1], "x", 1), 1);
    struct tt__defer d;
    tt__defer_init(&loop, &d);
    tt__defer_item_init(&o.item, io_deferred);
    tt__defer_queue(&d, &o.item);
    (void)uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(o.io_at, 1);
    assert_int_equal(o.deferred_at, 2);
    uv_close((uv_handle_t *)&o.poll, NULL);
    tt__defer_close(&d, NULL);
    close(o.fds[0]);
    close(o.fds[1]);
    tt_test_loop_close(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_requeue),
        cmocka_unit_test(test_close_when_empty),
        cmocka_unit_test(test_after_io),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
