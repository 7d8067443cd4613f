/* SPDX-License-Identifier: MIT */
/* The next-loop-turn queue (see defer.h). */
#include "core/defer.h"

static void defer_idle_cb(uv_idle_t *h)
{
    /* Only here so that the loop polls without blocking while items are queued. */
    (void)h;
}

static void defer_handle_closed(uv_handle_t *h)
{
    struct tt__defer *d = h->data;
    if (--d->closing_handles == 0 && d->on_closed) {
        d->on_closed(d);
    }
}

static void defer_stop_or_close(struct tt__defer *d)
{
    if (!tt__list_empty(&d->queue)) {
        return;
    }
    (void)uv_idle_stop(&d->idle);
    (void)uv_check_stop(&d->check);
    if (d->closing && !d->closed) {
        d->closed = true;
        d->closing_handles = 2;
        uv_close((uv_handle_t *)&d->check, defer_handle_closed);
        uv_close((uv_handle_t *)&d->idle, defer_handle_closed);
    }
}

static void defer_check_cb(uv_check_t *h)
{
    struct tt__defer *d = h->data;
    struct tt__list batch;
    tt__list_init(&batch);
    tt__list_splice(&batch, &d->queue);
    d->running = true;
    while (!tt__list_empty(&batch)) {
        struct tt__defer_item *it = tt__container_of(batch.next, struct tt__defer_item, link);
        tt__list_remove(&it->link);
        it->queued = false;
        it->cb(it); /* may queue, cancel or close; may free the item */
    }
    d->running = false;
    defer_stop_or_close(d);
}

static void defer_start(struct tt__defer *d)
{
    (void)uv_check_start(&d->check, defer_check_cb);
    (void)uv_idle_start(&d->idle, defer_idle_cb);
}

void tt__defer_init(uv_loop_t *loop, struct tt__defer *d)
{
    d->running = false;
    d->closing = false;
    d->closed = false;
    d->closing_handles = 0;
    d->on_closed = NULL;
    tt__list_init(&d->queue);
    (void)uv_check_init(loop, &d->check);
    (void)uv_idle_init(loop, &d->idle);
    d->check.data = d;
    d->idle.data = d;
}

void tt__defer_item_init(struct tt__defer_item *it, tt__defer_cb cb)
{
    tt__list_init(&it->link);
    it->cb = cb;
    it->queued = false;
}

void tt__defer_queue(struct tt__defer *d, struct tt__defer_item *it)
{
    assert(!d->closed);
    if (it->queued) {
        return;
    }
    it->queued = true;
    tt__list_insert_tail(&d->queue, &it->link);
    defer_start(d);
}

void tt__defer_cancel(struct tt__defer_item *it)
{
    if (it->queued) {
        tt__list_remove(&it->link);
        it->queued = false;
    }
}

void tt__defer_close(struct tt__defer *d, void (*cb)(struct tt__defer *d))
{
    if (d->closing) {
        return;
    }
    d->closing = true;
    d->on_closed = cb;
    if (!d->running) {
        /* Close on the next turn even when nothing is queued, so `cb` never runs inside the
         * caller; with items queued, they run first. */
        defer_start(d);
    }
}
