/* SPDX-License-Identifier: MIT */
/* A sliding window of two counts, shared by the retry budget (requests, retries) and the
 * circuit breaker (calls, failures).
 *
 * The window is a ring of TT__WINDOW_SLOTS slots of window/10 each. A slot holds the counts of
 * one slot-length interval, tagged with that interval's start; a slot whose interval ended a
 * window ago is stale and is ignored when summing and cleared when its ring position comes round
 * again. So a count expires between window - window/10 and window after it was made — the price
 * of fixed memory and O(10) work per call, the same trade Finagle's WindowedAdder makes. Times
 * are monotonic milliseconds and must not go backwards. */
#include <string.h>

#include "policy/policy.h"

static uint64_t window_slot_ms(const struct tt__window *w)
{
    uint64_t s = w->window_ms / TT__WINDOW_SLOTS;
    return s ? s : 1;
}

/* The slot for `now`, cleared first when it still holds an interval from a window ago. */
static size_t window_current(struct tt__window *w, uint64_t now_ms)
{
    uint64_t s = window_slot_ms(w);
    uint64_t start = now_ms / s * s;
    size_t i = (size_t)((now_ms / s) % TT__WINDOW_SLOTS);
    if (w->slot_start_ms[i] != start) {
        w->slot_start_ms[i] = start;
        w->count[0][i] = 0;
        w->count[1][i] = 0;
    }
    return i;
}

void tt__window_init(struct tt__window *w, uint64_t window_ms, uint64_t now_ms)
{
    memset(w, 0, sizeof(*w));
    w->window_ms = window_ms;
    /* Empty slots are harmless whatever their tag (all counts are zero); tagging the current
     * one just makes the first count skip a clear. */
    if (window_ms != 0) {
        (void)window_current(w, now_ms);
    }
}

void tt__window_add(struct tt__window *w, uint64_t now_ms, uint32_t a, uint32_t b)
{
    if (w->window_ms == 0) {
        return;
    }
    size_t i = window_current(w, now_ms);
    /* Saturating: a count this large already decides every question asked of it. */
    w->count[0][i] = a > UINT32_MAX - w->count[0][i] ? UINT32_MAX : w->count[0][i] + a;
    w->count[1][i] = b > UINT32_MAX - w->count[1][i] ? UINT32_MAX : w->count[1][i] + b;
}

void tt__window_sum(const struct tt__window *w, uint64_t now_ms, uint64_t *a, uint64_t *b)
{
    *a = 0;
    *b = 0;
    if (w->window_ms == 0) {
        return;
    }
    uint64_t span = window_slot_ms(w) * TT__WINDOW_SLOTS;
    for (size_t i = 0; i < TT__WINDOW_SLOTS; i++) {
        if (w->slot_start_ms[i] + span > now_ms && w->slot_start_ms[i] <= now_ms) {
            *a += w->count[0][i];
            *b += w->count[1][i];
        }
    }
}
