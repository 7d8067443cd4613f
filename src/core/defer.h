/* SPDX-License-Identifier: MIT */
/* "On the next loop turn, after I/O was polled": the one deferral primitive of client, server
 * and proxy. */
#ifndef TETHER_CORE_DEFER_H
#define TETHER_CORE_DEFER_H

#include <stdbool.h>

#include <uv.h>

#include "internal.h"

struct tt__defer_item;
typedef void (*tt__defer_cb)(struct tt__defer_item *it);

/* Embed one in the object to defer; recover the object with tt__container_of. */
struct tt__defer_item {
    struct tt__list link;
    tt__defer_cb cb;
    bool queued;
};

/*
 * A queue of items run on a later loop turn by a uv_check handle, so they run after the loop
 * has polled for I/O (an idle connection a server closed meanwhile is then already seen), and
 * never from inside the call that queued them (STYLE §3's callback contract). A uv_idle handle
 * keeps that poll from blocking while items wait. Not a 0 ms timer: libuv 1.44 runs a 0 ms
 * timer started from a timer callback in the same pass, so a retry started there could spin
 * within one turn. Items queued while a batch runs wait for the next turn.
 */
struct tt__defer {
    uv_check_t check;
    uv_idle_t idle;
    struct tt__list queue;
    unsigned closing_handles;
    bool running; /* a batch is being run */
    bool closing; /* tt__defer_close was called */
    bool closed;  /* both handles are being (or were) closed */
    void (*on_closed)(struct tt__defer *d);
    void *data; /* the owner's */
};

/* Cannot fail (uv_check_init and uv_idle_init always succeed). Pair with tt__defer_close. */
void tt__defer_init(uv_loop_t *loop, struct tt__defer *d);
void tt__defer_item_init(struct tt__defer_item *it, tt__defer_cb cb);
/* Queues `it` to run once on a later turn; a no-op when it is already queued. Allowed while
 * closing (the close waits for the queue), not after `on_closed` ran. */
void tt__defer_queue(struct tt__defer *d, struct tt__defer_item *it);
/* Takes `it` off the queue; harmless when it is not queued. */
void tt__defer_cancel(struct tt__defer_item *it);
/* Runs what is queued (and what that queues) on the following turns, then closes both handles;
 * `cb` (may be NULL) runs once they are closed, never from inside this call. */
void tt__defer_close(struct tt__defer *d, void (*cb)(struct tt__defer *d));

#endif
